/*
 * tasks.c - the native task format (one JSON object per line, documented in
 * docs/EVAL.md), suite files (plain or gzip) and the built-in suites under
 * data/suites/.  Upstream formats (HumanEval, MBPP, GSM8K) are converted
 * record by record in tasks_import.c; this file detects which one a file is.
 *
 * Parsing is strict on purpose: an unknown key or a task whose grader lacks
 * what it needs is an error naming the line, so a typo in a user's suite
 * cannot silently turn into an ungradable task.
 */
#include "eval/eval.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char *const grader_names[TLM_EVAL_GRADER_COUNT] = {
    [TLM_EVAL_GRADER_EXEC] = "exec",           [TLM_EVAL_GRADER_NUMERIC] = "numeric",
    [TLM_EVAL_GRADER_JSON] = "json",           [TLM_EVAL_GRADER_RUBRIC] = "rubric",
    [TLM_EVAL_GRADER_TOOL_CALL] = "tool_call",
};

const char *tlm_eval_grader_name(tlm_eval_grader g) {
    return (unsigned)g < TLM_EVAL_GRADER_COUNT ? grader_names[g] : NULL;
}

static const char *const builtin_suites[] = {"basics", "code", "json", "tools", "math", NULL};

const char *const *tlm_eval_builtin_suites(void) { return builtin_suites; }

void tlm_eval_task_clear(tlm_eval_task *t) {
    if (!t) return;
    char **strs[] = {&t->id,     &t->suite,     &t->kind,        &t->language, &t->system,
                     &t->prompt, &t->reference, &t->entry_point, &t->stub,     &t->prelude,
                     &t->test,   &t->test_call, &t->answer};
    for (size_t i = 0; i < TLM_ARRAY_LEN(strs); i++) tlm_free(*strs[i]);
    for (size_t i = 0; i < t->n_fixtures; i++) {
        tlm_free(t->fixtures[i].name);
        tlm_free(t->fixtures[i].data);
    }
    tlm_free(t->fixtures);
    json_decref(t->schema);
    json_decref(t->expected);
    json_decref(t->tools);
    json_decref(t->rubric);
    memset(t, 0, sizeof *t);
}

void tlm_eval_suite_free(tlm_eval_suite *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_tasks; i++) tlm_eval_task_clear(&s->tasks[i]);
    tlm_free(s->tasks);
    tlm_free(s->name);
    tlm_free(s);
}

/* ---- One native record ---- */

static const char *const known_keys[] = {
    "id",          "suite",  "kind",     "language", "system",    "prompt", "grader",   "reference",
    "entry_point", "stub",   "prelude",  "test",     "test_call", "script", "fixtures", "timeout_s",
    "answer",      "schema", "expected", "tools",    "rubric",    "src",    "meta",     "tags",
};

static tlm_status get_str(const json_t *rec, const char *key, bool required, char **out,
                          tlm_error *err) {
    json_t *v = json_object_get(rec, key);
    if (!v || json_is_null(v)) {
        if (required) return tlm_error_set(err, TLM_ERR_FORMAT, "missing \"%s\"", key);
        return TLM_OK;
    }
    if (!json_is_string(v))
        return tlm_error_set(err, TLM_ERR_FORMAT, "\"%s\" must be a string", key);
    *out = tlm_strndup(json_string_value(v), json_string_length(v));
    return *out ? TLM_OK : tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
}

static json_t *get_json(const json_t *rec, const char *key) {
    json_t *v = json_object_get(rec, key);
    return v ? json_incref(v) : NULL;
}

static tlm_status parse_fixtures(const json_t *rec, tlm_eval_task *t, tlm_error *err) {
    json_t *fx = json_object_get(rec, "fixtures");
    if (!fx) return TLM_OK;
    if (!json_is_array(fx) || json_array_size(fx) > TLM_SANDBOX_MAX_FILES)
        return tlm_error_set(err, TLM_ERR_FORMAT, "\"fixtures\" must be an array of at most %d",
                             TLM_SANDBOX_MAX_FILES);
    t->fixtures = tlm_calloc(json_array_size(fx), sizeof *t->fixtures);
    if (!t->fixtures) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    size_t i;
    json_t *f;
    json_array_foreach (fx, i, f) {
        json_t *name = json_object_get(f, "name"), *content = json_object_get(f, "content");
        if (!json_is_string(name) || !json_is_string(content))
            return tlm_error_set(err, TLM_ERR_FORMAT, "fixture %zu needs \"name\" and \"content\"",
                                 i);
        t->fixtures[i].name = tlm_strdup(json_string_value(name));
        t->fixtures[i].data = tlm_strndup(json_string_value(content), json_string_length(content));
        t->fixtures[i].len = json_string_length(content);
        t->n_fixtures = i + 1;
        if (!t->fixtures[i].name || !t->fixtures[i].data)
            return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    return TLM_OK;
}

static tlm_eval_grader default_grader(const char *kind) {
    if (!kind) return TLM_EVAL_GRADER_EXEC;
    if (!strcmp(kind, "math")) return TLM_EVAL_GRADER_NUMERIC;
    if (!strcmp(kind, "json")) return TLM_EVAL_GRADER_JSON;
    if (!strcmp(kind, "tool")) return TLM_EVAL_GRADER_TOOL_CALL;
    if (!strcmp(kind, "explain")) return TLM_EVAL_GRADER_RUBRIC;
    return TLM_EVAL_GRADER_EXEC;
}

static tlm_status parse_grader(const json_t *rec, tlm_eval_task *t, tlm_error *err) {
    json_t *g = json_object_get(rec, "grader");
    t->grader = default_grader(t->kind);
    if (!g) return TLM_OK;
    for (int i = 0; i < TLM_EVAL_GRADER_COUNT; i++)
        if (json_is_string(g) && !strcmp(json_string_value(g), grader_names[i])) {
            t->grader = (tlm_eval_grader)i;
            return TLM_OK;
        }
    return tlm_error_set(err, TLM_ERR_FORMAT,
                         "unknown grader (exec, numeric, json, rubric, tool_call)");
}

/* Each grader needs its own fields; say which is missing. */
static tlm_status check_grader_fields(const json_t *rec, const tlm_eval_task *t, tlm_error *err) {
    switch (t->grader) {
    case TLM_EVAL_GRADER_EXEC:
        if (!t->test && !t->test_call)
            return tlm_error_set(err, TLM_ERR_FORMAT, "exec task needs \"test\" or \"test_call\"");
        break;
    case TLM_EVAL_GRADER_NUMERIC:
        if (!t->answer) return tlm_error_set(err, TLM_ERR_FORMAT, "numeric task needs \"answer\"");
        break;
    case TLM_EVAL_GRADER_JSON:
        if (!t->schema && !t->expected)
            return tlm_error_set(err, TLM_ERR_FORMAT, "json task needs \"schema\" or \"expected\"");
        if (t->expected && !json_is_object(t->expected))
            return tlm_error_set(err, TLM_ERR_FORMAT,
                                 "json \"expected\" maps JSON pointers to values");
        break;
    case TLM_EVAL_GRADER_TOOL_CALL:
        if (!json_is_array(t->tools) || !json_object_get(rec, "expected"))
            return tlm_error_set(err, TLM_ERR_FORMAT,
                                 "tool_call task needs \"tools\" and \"expected\"");
        break;
    case TLM_EVAL_GRADER_RUBRIC: {
        json_t *pts = json_object_get(t->rubric, "points");
        if (!json_is_array(pts) || !json_array_size(pts))
            return tlm_error_set(err, TLM_ERR_FORMAT,
                                 "rubric task needs \"rubric\": {\"points\": [...]}");
        break;
    }
    default: break;
    }
    return TLM_OK;
}

static tlm_status check_keys(const json_t *rec, tlm_error *err) {
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)rec, key, v) {
        bool known = false;
        for (size_t i = 0; i < TLM_ARRAY_LEN(known_keys) && !known; i++)
            known = !strcmp(key, known_keys[i]);
        if (!known) return tlm_error_set(err, TLM_ERR_FORMAT, "unknown key \"%s\"", key);
    }
    return TLM_OK;
}

tlm_status tlm_eval_task_from_json(const json_t *rec, tlm_eval_task *t, tlm_error *err) {
    memset(t, 0, sizeof *t);
    if (!json_is_object(rec)) return tlm_error_set(err, TLM_ERR_FORMAT, "a task must be an object");
    tlm_status st = check_keys(rec, err);
    struct {
        const char *key;
        char **dst;
        bool req;
    } strs[] = {
        {"id", &t->id, true},
        {"suite", &t->suite, false},
        {"kind", &t->kind, false},
        {"language", &t->language, false},
        {"system", &t->system, false},
        {"prompt", &t->prompt, true},
        {"reference", &t->reference, true},
        {"entry_point", &t->entry_point, false},
        {"stub", &t->stub, false},
        {"prelude", &t->prelude, false},
        {"test", &t->test, false},
        {"test_call", &t->test_call, false},
        {"answer", &t->answer, false},
    };
    for (size_t i = 0; st == TLM_OK && i < TLM_ARRAY_LEN(strs); i++)
        st = get_str(rec, strs[i].key, strs[i].req, strs[i].dst, err);
    if (st == TLM_OK && !t->language) t->language = tlm_strdup("en");
    if (st == TLM_OK && !t->kind) t->kind = tlm_strdup("task");
    if (st == TLM_OK && (!t->language || !t->kind))
        st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    if (st == TLM_OK) st = parse_grader(rec, t, err);
    if (st == TLM_OK) st = parse_fixtures(rec, t, err);
    if (st == TLM_OK) {
        json_t *sc = json_object_get(rec, "script"), *to = json_object_get(rec, "timeout_s");
        t->script = json_is_true(sc);
        t->timeout_s = json_is_number(to) ? json_number_value(to) : 0.0;
        if (to && (!json_is_number(to) || t->timeout_s < 0 || t->timeout_s > 3600))
            st = tlm_error_set(err, TLM_ERR_FORMAT, "\"timeout_s\" must be a number of seconds");
        t->schema = get_json(rec, "schema");
        t->expected = get_json(rec, "expected");
        t->tools = get_json(rec, "tools");
        t->rubric = get_json(rec, "rubric");
    }
    if (st == TLM_OK) st = check_grader_fields(rec, t, err);
    if (st != TLM_OK) tlm_eval_task_clear(t);
    return st;
}

/* ---- Files ---- */

#define MAX_SUITE_BYTES (512u << 20)

/* Reads a whole file; gzip files (by magic, not name) are inflated. */
static tlm_status read_file(const char *path, char **out, size_t *out_len, tlm_error *err) {
    *out = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) return tlm_error_set(err, TLM_ERR_IO, "cannot open %s", path);
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    char chunk[65536];
    for (;;) {
        int n = gzread(f, chunk, sizeof chunk);
        if (n < 0) {
            int zerr;
            st = tlm_error_set(err, TLM_ERR_IO, "%s: %s", path, gzerror(f, &zerr));
            break;
        }
        if (n == 0) break;
        if (b.len + (size_t)n > MAX_SUITE_BYTES) {
            st = tlm_error_set(err, TLM_ERR_RANGE, "%s: larger than %u MiB", path,
                               MAX_SUITE_BYTES >> 20);
            break;
        }
        if (tlm_buf_append(&b, chunk, (size_t)n)) {
            st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
            break;
        }
    }
    gzclose(f);
    if (st != TLM_OK) {
        tlm_buf_free(&b);
        return st;
    }
    if (!b.data && tlm_buf_append(&b, "", 0))
        return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    *out = b.data;
    *out_len = b.len;
    return TLM_OK;
}

/* A record list: a JSON array (sanitized MBPP) or JSON lines. */
typedef struct records {
    json_t **v;
    size_t *line;
    size_t n, cap;
} records;

static void records_free(records *r) {
    for (size_t i = 0; i < r->n; i++) json_decref(r->v[i]);
    tlm_free(r->v);
    tlm_free(r->line);
}

static bool records_push(records *r, json_t *v, size_t line) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        json_t **nv = tlm_realloc(r->v, cap * sizeof *nv);
        if (!nv) return false;
        r->v = nv;
        size_t *nl = tlm_realloc(r->line, cap * sizeof *nl);
        if (!nl) return false;
        r->line = nl;
        r->cap = cap;
    }
    r->v[r->n] = v;
    r->line[r->n++] = line;
    return true;
}

static tlm_status split_records(const char *text, size_t len, const char *origin, records *r,
                                tlm_error *err) {
    size_t skip = strspn(text, " \t\r\n");
    if (skip < len && text[skip] == '[') {
        json_error_t je;
        json_t *arr = json_loadb(text, len, 0, &je);
        if (!json_is_array(arr)) {
            json_decref(arr);
            return tlm_error_set(err, TLM_ERR_FORMAT, "%s:%d: %s", origin, je.line, je.text);
        }
        size_t i;
        json_t *v;
        json_array_foreach (arr, i, v)
            if (!records_push(r, json_incref(v), i + 1)) {
                json_decref(v);
                json_decref(arr);
                return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
            }
        json_decref(arr);
        return TLM_OK;
    }
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + 1;
        lineno++;
        size_t lead = 0;
        while (lead < n && (s[lead] == ' ' || s[lead] == '\t' || s[lead] == '\r')) lead++;
        if (lead == n || s[lead] == '#') continue;
        json_error_t je;
        json_t *v = json_loadb(s, n, 0, &je);
        /* HumanEval+ test inputs hold integers beyond 64 bits; only the
         * string fields are used, so such records are read as reals. */
        if (!v) v = json_loadb(s, n, JSON_DECODE_INT_AS_REAL, NULL);
        if (!v) return tlm_error_set(err, TLM_ERR_FORMAT, "%s:%zu: %s", origin, lineno, je.text);
        if (!records_push(r, v, lineno)) {
            json_decref(v);
            return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
        }
    }
    return TLM_OK;
}

static const char *detect_format(const json_t *rec) {
    if (json_object_get(rec, "canonical_solution") && json_object_get(rec, "entry_point"))
        return "humaneval";
    if (json_object_get(rec, "test_list")) return "mbpp";
    if (json_object_get(rec, "question") && json_object_get(rec, "answer")) return "gsm8k";
    return "tlm";
}

static char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strcspn(b, ".");
    return tlm_strndup(b, n ? n : strlen(b));
}

/* Upstream MBPP's test split is task ids 11-510; the rest is train, validation
 * and few-shot prompts.  Sanitized MBPP is kept whole. */
static bool mbpp_in_test_split(const json_t *rec) {
    if (json_object_get(rec, "prompt")) return true;
    json_int_t id = json_integer_value(json_object_get(rec, "task_id"));
    return id >= 11 && id <= 510;
}

static tlm_status convert(const char *fmt, const json_t *rec, size_t index, tlm_eval_task *t,
                          tlm_error *err) {
    if (!strcmp(fmt, "humaneval")) return tlm_eval_task_from_humaneval(rec, t, err);
    if (!strcmp(fmt, "mbpp")) return tlm_eval_task_from_mbpp(rec, t, err);
    if (!strcmp(fmt, "gsm8k")) return tlm_eval_task_from_gsm8k(rec, index, t, err);
    if (!strcmp(fmt, "tlm")) return tlm_eval_task_from_json(rec, t, err);
    return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                         "unknown format \"%s\" (tlm, humaneval, mbpp, gsm8k)", fmt);
}

static tlm_status build_suite(const records *r, const char *fmt, const char *origin,
                              const char *default_name, tlm_eval_suite **out, tlm_error *err) {
    tlm_eval_suite *s = tlm_calloc(1, sizeof *s);
    if (s) s->tasks = tlm_calloc(r->n ? r->n : 1, sizeof *s->tasks);
    if (!s || !s->tasks) {
        tlm_eval_suite_free(s);
        return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    tlm_status st = TLM_OK;
    for (size_t i = 0; i < r->n && st == TLM_OK; i++) {
        if (!strcmp(fmt, "mbpp") && !mbpp_in_test_split(r->v[i])) continue;
        tlm_error e = {0};
        st = convert(fmt, r->v[i], i, &s->tasks[s->n_tasks], &e);
        if (st != TLM_OK) {
            st = tlm_error_set(err, st, "%s:%zu: %s", origin, r->line[i], e.msg);
            break;
        }
        tlm_eval_task *t = &s->tasks[s->n_tasks++];
        for (size_t j = 0; j + 1 < s->n_tasks && st == TLM_OK; j++)
            if (!strcmp(s->tasks[j].id, t->id))
                st = tlm_error_set(err, TLM_ERR_FORMAT, "%s:%zu: duplicate id \"%s\"", origin,
                                   r->line[i], t->id);
    }
    if (st == TLM_OK) {
        const char *name = s->n_tasks && s->tasks[0].suite ? s->tasks[0].suite : default_name;
        s->name = tlm_strdup(name ? name : fmt);
        for (size_t i = 0; i < s->n_tasks && s->name; i++)
            if (!s->tasks[i].suite && !(s->tasks[i].suite = tlm_strdup(s->name)))
                st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
        if (!s->name) st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    if (st != TLM_OK) {
        tlm_eval_suite_free(s);
        return st;
    }
    *out = s;
    return TLM_OK;
}

static tlm_status load_text(const char *text, size_t len, const char *origin, const char *format,
                            const char *default_name, tlm_eval_suite **out, tlm_error *err) {
    *out = NULL;
    records r = {0};
    tlm_status st = split_records(text, len, origin, &r, err);
    if (st == TLM_OK && r.n == 0) st = tlm_error_set(err, TLM_ERR_FORMAT, "%s: no tasks", origin);
    if (st == TLM_OK) {
        const char *fmt = format ? format : detect_format(r.v[0]);
        st = build_suite(&r, fmt, origin, strcmp(fmt, "tlm") ? fmt : default_name, out, err);
    }
    records_free(&r);
    return st;
}

tlm_status tlm_eval_suite_parse(const char *text, size_t len, const char *origin,
                                tlm_eval_suite **out, tlm_error *err) {
    if (!out || !text) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "suite: no input");
    return load_text(text, len, origin ? origin : "tasks", "tlm", "tasks", out, err);
}

tlm_status tlm_eval_suite_load(const char *path, const char *format, tlm_eval_suite **out,
                               tlm_error *err) {
    if (!out || !path) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "suite: no path");
    *out = NULL;
    char *text, *name = base_name(path);
    size_t len;
    if (!name) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    tlm_status st = read_file(path, &text, &len, err);
    if (st == TLM_OK) {
        st = load_text(text, len, path, format, name, out, err);
        tlm_free(text);
    }
    tlm_free(name);
    return st;
}

/* ---- Built-in suites ---- */

static bool try_dir(const char *dir, const char *name, char *path, size_t cap) {
    if ((size_t)snprintf(path, cap, "%s/suites/%s.jsonl", dir, name) >= cap) return false;
    return access(path, R_OK) == 0;
}

static bool find_builtin(const char *name, char *path, size_t cap) {
    const char *env = getenv("TLM_DATA_DIR");
    if (env && *env && try_dir(env, name, path, cap)) return true;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        static const char *const rel[] = {"../share/tinylm", "../data", "../../data", "data"};
        for (size_t i = 0; i < TLM_ARRAY_LEN(rel); i++) {
            char dir[PATH_MAX + 32];
            snprintf(dir, sizeof dir, "%s/%s", exe, rel[i]);
            if (try_dir(dir, name, path, cap)) return true;
        }
    }
    return try_dir("data", name, path, cap);
}

tlm_status tlm_eval_suite_load_builtin(const char *name, const char *data_dir, tlm_eval_suite **out,
                                       tlm_error *err) {
    if (!out || !name) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "suite: no name");
    *out = NULL;
    bool known = false;
    for (size_t i = 0; builtin_suites[i]; i++) known |= !strcmp(name, builtin_suites[i]);
    if (!known)
        return tlm_error_set(err, TLM_ERR_NOT_FOUND,
                             "no built-in suite \"%s\" (basics, code, json, tools, math)", name);
    char path[PATH_MAX + 64];
    bool found = data_dir ? try_dir(data_dir, name, path, sizeof path)
                          : find_builtin(name, path, sizeof path);
    if (!found)
        return tlm_error_set(
            err, TLM_ERR_NOT_FOUND,
            "built-in suite \"%s\" not found (set TLM_DATA_DIR to the data/ directory)", name);
    return tlm_eval_suite_load(path, "tlm", out, err);
}
