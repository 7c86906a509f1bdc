/*
 * results.c - the results file: one JSON line per finished item, written
 * and flushed the moment its verdict is known, so an interrupted run loses
 * at most the items in flight.  Reopening with resume reads the lines back,
 * cuts off a torn last line, and answers "is (target, task, sample) done?"
 * from a hash index so the runner skips finished items.
 */
#include "eval/eval.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct tlm_eval_results {
    FILE *f; /* NULL: memory only */
    pthread_mutex_t mu;
    tlm_eval_record *recs;
    size_t n, cap;
    uint32_t *slots; /* open addressing: record index + 1, 0 = empty */
    size_t n_slots;
    json_t *targets; /* target name -> its info (load time, memory, ...), owned */
};

/* ---- Index ---- */

static uint64_t key_hash(const char *target, const char *task, int sample) {
    uint64_t h = 1469598103934665603ull;
    for (const char *s = target; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ 0x1f) * 1099511628211ull;
    for (const char *s = task; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ (uint64_t)(unsigned)sample) * 1099511628211ull;
}

static bool rec_is(const tlm_eval_record *r, const char *target, const char *task, int sample) {
    return r->sample == sample && !strcmp(r->task_id, task) && !strcmp(r->target, target);
}

static bool index_insert(tlm_eval_results *r, size_t idx);

static bool index_grow(tlm_eval_results *r) {
    size_t n = r->n_slots ? r->n_slots * 2 : 1024;
    uint32_t *s = tlm_calloc(n, sizeof *s);
    if (!s) return false;
    tlm_free(r->slots);
    r->slots = s;
    r->n_slots = n;
    for (size_t i = 0; i < r->n; i++) index_insert(r, i);
    return true;
}

static bool index_insert(tlm_eval_results *r, size_t idx) {
    if ((idx + 1) * 2 > r->n_slots && !index_grow(r)) return false;
    const tlm_eval_record *rec = &r->recs[idx];
    size_t mask = r->n_slots - 1, i = key_hash(rec->target, rec->task_id, rec->sample) & mask;
    while (r->slots[i]) {
        if (rec_is(&r->recs[r->slots[i] - 1], rec->target, rec->task_id, rec->sample)) {
            r->slots[i] = (uint32_t)idx + 1; /* a re-run replaces the older line */
            return true;
        }
        i = (i + 1) & mask;
    }
    r->slots[i] = (uint32_t)idx + 1;
    return true;
}

bool tlm_eval_results_done(tlm_eval_results *r, const char *target, const char *task_id,
                           int sample) {
    if (!r || !target || !task_id) return false;
    pthread_mutex_lock(&r->mu);
    bool found = false;
    if (r->n_slots) {
        size_t mask = r->n_slots - 1, i = key_hash(target, task_id, sample) & mask;
        for (; r->slots[i] && !found; i = (i + 1) & mask)
            found = rec_is(&r->recs[r->slots[i] - 1], target, task_id, sample);
    }
    pthread_mutex_unlock(&r->mu);
    return found;
}

/* ---- Records ---- */

static void rec_clear(tlm_eval_record *rec) {
    tlm_free(rec->target);
    tlm_free(rec->suite);
    tlm_free(rec->task_id);
    tlm_free(rec->kind);
    tlm_free(rec->language);
}

static double num_or(const json_t *o, const char *k, double dflt) {
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static char *str_or(const json_t *o, const char *k, const char *dflt) {
    const char *s = json_string_value(json_object_get(o, k));
    return tlm_strdup(s ? s : dflt);
}

static tlm_status rec_from_json(const json_t *o, tlm_eval_record *rec) {
    memset(rec, 0, sizeof *rec);
    const char *v = json_string_value(json_object_get(o, "verdict"));
    if (!v || tlm_eval_verdict_parse(v, &rec->verdict) != TLM_OK ||
        !json_object_get(o, "task_id") || !json_object_get(o, "target"))
        return TLM_ERR_FORMAT;
    rec->target = str_or(o, "target", "");
    rec->suite = str_or(o, "suite", "");
    rec->task_id = str_or(o, "task_id", "");
    rec->kind = str_or(o, "kind", "task");
    rec->language = str_or(o, "language", "en");
    rec->sample = (int)num_or(o, "sample", 0);
    rec->json_valid = (int)num_or(o, "json_valid", -1);
    rec->fields_ok = (int)num_or(o, "fields_ok", 0);
    rec->fields_total = (int)num_or(o, "fields_total", 0);
    rec->prompt_tokens = (int64_t)num_or(o, "prompt_tokens", -1);
    rec->completion_tokens = (int64_t)num_or(o, "completion_tokens", -1);
    rec->ttft_ms = num_or(o, "ttft_ms", -1);
    rec->total_ms = num_or(o, "total_ms", -1);
    rec->gen_tok_s = num_or(o, "gen_tok_s", -1);
    rec->prompt_tok_s = num_or(o, "prompt_tok_s", -1);
    if (!rec->target || !rec->suite || !rec->task_id || !rec->kind || !rec->language) {
        rec_clear(rec);
        return TLM_ERR_NOMEM;
    }
    return TLM_OK;
}

static tlm_status add_record(tlm_eval_results *r, tlm_eval_record *rec) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        tlm_eval_record *v = tlm_realloc(r->recs, cap * sizeof *v);
        if (!v) return TLM_ERR_NOMEM;
        r->recs = v;
        r->cap = cap;
    }
    r->recs[r->n++] = *rec;
    if (!index_insert(r, r->n - 1)) {
        r->n--; /* the caller still owns rec */
        return TLM_ERR_NOMEM;
    }
    return TLM_OK;
}

/* ---- Opening and resuming ---- */

/* A {"record":"target"} line: its fields are merged into the target's info
 * (a later line adds to or overrides an earlier one). */
static bool merge_target_info(tlm_eval_results *r, const json_t *o) {
    const char *name = json_string_value(json_object_get(o, "target"));
    if (!name) return false;
    json_t *cur = json_object_get(r->targets, name);
    if (!cur) {
        cur = json_object();
        if (!cur || json_object_set_new(r->targets, name, cur)) return false;
    }
    json_object_update(cur, (json_t *)o);
    json_object_del(cur, "record");
    return true;
}

static bool is_target_line(const json_t *o) {
    const char *k = json_string_value(json_object_get(o, "record"));
    return k && !strcmp(k, "target");
}

/* Reads records from f; a torn last line is cut off (the file truncated
 * there) only when truncate is set. */
static tlm_status read_back(tlm_eval_results *r, FILE *f, const char *path, bool truncate,
                            tlm_error *err) {
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    off_t good_end = 0;
    ssize_t n;
    tlm_status st = TLM_OK;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        bool torn = line[n - 1] != '\n';
        json_t *o = torn ? NULL : json_loadb(line, (size_t)n, 0, NULL);
        if (o && is_target_line(o)) {
            bool ok = merge_target_info(r, o);
            json_decref(o);
            if (!ok) {
                st = tlm_error_set(err, TLM_ERR_FORMAT, "%s:%zu: bad target record", path, lineno);
                break;
            }
            good_end += n;
            continue;
        }
        tlm_eval_record rec;
        tlm_status rs = o ? rec_from_json(o, &rec) : TLM_ERR_FORMAT;
        json_decref(o);
        if (rs == TLM_ERR_FORMAT) { /* a torn last line is cut off; elsewhere it is an error */
            int c = getc(f);
            if (torn || c == EOF) break;
            ungetc(c, f);
        }
        if (rs != TLM_OK) {
            st = tlm_error_set(err, rs, "%s:%zu: %s", path, lineno,
                               rs == TLM_ERR_NOMEM ? "out of memory" : "not a results record");
            break;
        }
        if ((st = add_record(r, &rec)) != TLM_OK) {
            rec_clear(&rec);
            tlm_error_set(err, st, "out of memory");
            break;
        }
        good_end += n;
    }
    free(line);
    if (!truncate) return st;
    if (st == TLM_OK && ftruncate(fileno(f), good_end) != 0)
        st = tlm_error_set(err, TLM_ERR_IO, "%s: cannot truncate: %s", path, strerror(errno));
    if (st == TLM_OK) fseeko(f, good_end, SEEK_SET);
    return st;
}

tlm_status tlm_eval_results_load(tlm_eval_results *r, const char *path, tlm_error *err) {
    if (!r || !path) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "results: no file");
    FILE *f = fopen(path, "r");
    if (!f) return tlm_error_set(err, TLM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    pthread_mutex_lock(&r->mu);
    tlm_status st = read_back(r, f, path, false, err);
    pthread_mutex_unlock(&r->mu);
    fclose(f);
    return st;
}

tlm_status tlm_eval_results_open(const char *path, bool resume, tlm_eval_results **out,
                                 tlm_error *err) {
    if (!out) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "results: no output");
    *out = NULL;
    tlm_eval_results *r = tlm_calloc(1, sizeof *r);
    if (!r) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    tlm_status st = TLM_OK;
    if (!(r->targets = json_object())) st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    if (st == TLM_OK && path) {
        r->f = fopen(path, resume ? "a+" : "w");
        if (!r->f) {
            st = tlm_error_set(err, TLM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        } else if (resume) {
            /* "a+" reads from the start; writes still go to the end. */
            rewind(r->f);
            st = read_back(r, r->f, path, true, err);
        }
    }
    if (st != TLM_OK) {
        tlm_eval_results_close(r);
        return st;
    }
    *out = r;
    return TLM_OK;
}

void tlm_eval_results_close(tlm_eval_results *r) {
    if (!r) return;
    if (r->f) fclose(r->f);
    for (size_t i = 0; i < r->n; i++) rec_clear(&r->recs[i]);
    tlm_free(r->recs);
    tlm_free(r->slots);
    json_decref(r->targets);
    pthread_mutex_destroy(&r->mu);
    tlm_free(r);
}

size_t tlm_eval_results_count(const tlm_eval_results *r) { return r ? r->n : 0; }

const tlm_eval_record *tlm_eval_results_get(const tlm_eval_results *r, size_t i) {
    return r && i < r->n ? &r->recs[i] : NULL;
}

/* ---- Appending ---- */

/* Model output may hold invalid UTF-8, which JSON cannot carry: such bytes
 * become U+FFFD.  Returns a new string (tlm_free). */
static char *utf8_clean(const char *s) {
    tlm_buf b = {0};
    if (tlm_buf_append(&b, "", 0)) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = p[0] < 0x80             ? 1
                : (p[0] & 0xe0) == 0xc0 ? 2
                : (p[0] & 0xf0) == 0xe0 ? 3
                : (p[0] & 0xf8) == 0xf0 ? 4
                                        : 0;
        bool ok = n > 0;
        for (int i = 1; ok && i < n; i++) ok = (p[i] & 0xc0) == 0x80;
        if (ok && n == 2) ok = p[0] >= 0xc2;
        if (ok && n == 3) ok = !(p[0] == 0xe0 && p[1] < 0xa0) && !(p[0] == 0xed && p[1] >= 0xa0);
        if (ok && n == 4)
            ok = !(p[0] == 0xf0 && p[1] < 0x90) && !(p[0] == 0xf4 && p[1] >= 0x90) && p[0] <= 0xf4;
        if (tlm_buf_append(&b, ok ? (const char *)p : "\xef\xbf\xbd", ok ? (size_t)n : 3)) {
            tlm_buf_free(&b);
            return NULL;
        }
        p += ok ? n : 1;
    }
    return b.data;
}

static void set_str(json_t *o, const char *k, const char *v) {
    if (!v) {
        json_object_set_new(o, k, json_null());
        return;
    }
    char *c = utf8_clean(v);
    json_object_set_new(o, k, c ? json_string(c) : json_null());
    tlm_free(c);
}

static void set_num(json_t *o, const char *k, double v) {
    json_object_set_new(o, k, v >= 0 ? json_real(v) : json_null());
}

static void set_int(json_t *o, const char *k, int64_t v) {
    json_object_set_new(o, k, v >= 0 ? json_integer(v) : json_null());
}

static json_t *item_json(const tlm_eval_item *it) {
    const tlm_eval_task *t = it->task;
    const tlm_eval_answer *a = it->answer;
    const tlm_eval_grade *g = it->grade;
    json_t *o = json_object();
    if (!o) return NULL;
    set_str(o, "target", it->target);
    set_str(o, "suite", t->suite);
    set_str(o, "task_id", t->id);
    set_str(o, "kind", t->kind);
    set_str(o, "language", t->language);
    json_object_set_new(o, "sample", json_integer(it->sample));
    set_str(o, "verdict", tlm_eval_verdict_name(g->verdict));
    json_object_set_new(o, "passed", json_boolean(g->verdict == TLM_EVAL_PASS));
    set_str(o, "detail", g->detail);
    set_str(o, "method", g->method);
    set_str(o, "prompt", t->prompt);
    set_str(o, "answer", a ? a->text : NULL);
    set_str(o, "tool_calls", a ? a->tool_calls : NULL);
    set_str(o, "extracted", g->extracted);
    if (t->grader == TLM_EVAL_GRADER_EXEC) {
        json_object_set_new(o, "exit_code", json_integer(g->exit_code));
        json_object_set_new(o, "run_ms", json_real(g->run_ms));
    }
    json_object_set_new(o, "json_valid", json_integer(g->json_valid));
    json_object_set_new(o, "schema_valid", json_integer(g->schema_valid));
    json_object_set_new(o, "fields_ok", json_integer(g->fields_ok));
    json_object_set_new(o, "fields_total", json_integer(g->fields_total));
    set_int(o, "prompt_tokens", a ? a->prompt_tokens : -1);
    set_int(o, "completion_tokens", a ? a->completion_tokens : -1);
    set_num(o, "ttft_ms", a ? a->ttft_ms : -1);
    set_num(o, "total_ms", a ? a->total_ms : -1);
    set_num(o, "prompt_tok_s", a ? a->prompt_tok_s : -1);
    set_num(o, "gen_tok_s", a ? a->gen_tok_s : -1);
    set_str(o, "finish_reason", a ? a->finish_reason : NULL);
    json_object_set_new(o, "time", json_integer((json_int_t)time(NULL)));
    return o;
}

tlm_status tlm_eval_results_append(tlm_eval_results *r, const tlm_eval_item *item, tlm_error *err) {
    if (!r || !item || !item->task || !item->grade || !item->target)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "results: incomplete item");
    json_t *o = item_json(item);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    tlm_eval_record rec;
    tlm_status st = line ? rec_from_json(o, &rec) : TLM_ERR_NOMEM;
    json_decref(o);
    if (st != TLM_OK) {
        free(line);
        return tlm_error_set(err, TLM_ERR_NOMEM, "results: out of memory");
    }
    pthread_mutex_lock(&r->mu);
    if (r->f && (fprintf(r->f, "%s\n", line) < 0 || fflush(r->f) != 0))
        st = tlm_error_set(err, TLM_ERR_IO, "results: write failed: %s", strerror(errno));
    if (st == TLM_OK && (st = add_record(r, &rec)) != TLM_OK)
        tlm_error_set(err, st, "results: out of memory");
    pthread_mutex_unlock(&r->mu);
    if (st != TLM_OK) rec_clear(&rec);
    free(line);
    return st;
}

/* ---- Target information ---- */

tlm_status tlm_eval_results_set_target_info(tlm_eval_results *r, const char *target,
                                            const json_t *info, tlm_error *err) {
    if (!r || !target || !json_is_object(info))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "results: bad target info");
    json_t *o = json_deep_copy(info);
    tlm_status st = TLM_OK;
    if (!o || json_object_set_new(o, "record", json_string("target")) ||
        json_object_set_new(o, "target", json_string(target))) {
        json_decref(o);
        return tlm_error_set(err, TLM_ERR_NOMEM, "results: out of memory");
    }
    char *line = json_dumps(o, JSON_COMPACT);
    pthread_mutex_lock(&r->mu);
    if (!line || !merge_target_info(r, o))
        st = tlm_error_set(err, TLM_ERR_NOMEM, "results: out of memory");
    else if (r->f && (fprintf(r->f, "%s\n", line) < 0 || fflush(r->f) != 0))
        st = tlm_error_set(err, TLM_ERR_IO, "results: write failed: %s", strerror(errno));
    pthread_mutex_unlock(&r->mu);
    free(line);
    json_decref(o);
    return st;
}

const json_t *tlm_eval_results_target_info(const tlm_eval_results *r) {
    return r ? r->targets : NULL;
}
