/*
 * grade_json.c - the JSON and tool-call graders and the JSON Schema subset
 * they validate against.  JSON answers are scored on three separate counts
 * (parsed, schema-valid, expected fields equal) so reports can show
 * validity and field accuracy apart; tool calls are read from the target's
 * structured tool_calls when it has them, else from <tool_call> tags or a
 * bare {"name", "arguments"} object in the text.
 *
 * The validator is ours rather than a library's because graders must fail
 * closed: a keyword outside the subset is reported as unsupported (a harness
 * error), never silently ignored.  tests/eval cross-checks it against ajv.
 */
#include "eval/grade_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- Value comparison ---- */

static bool strings_match(const char *a, const char *b) {
    while (isspace((unsigned char)*a)) a++;
    while (isspace((unsigned char)*b)) b++;
    size_t na = strlen(a), nb = strlen(b);
    while (na && isspace((unsigned char)a[na - 1])) na--;
    while (nb && isspace((unsigned char)b[nb - 1])) nb--;
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return false;
    return true;
}

bool tlm_eval_values_match(const json_t *e, const json_t *a) {
    if (!e || !a) return false;
    const json_t *alts = json_object_size(e) == 1 ? json_object_get(e, "$any") : NULL;
    if (json_is_array(alts)) {
        size_t i;
        json_t *alt;
        json_array_foreach (alts, i, alt)
            if (tlm_eval_values_match(alt, a)) return true;
        return false;
    }
    if (json_is_number(e) && json_is_number(a)) {
        double x = json_number_value(e), y = json_number_value(a);
        return fabs(x - y) <= 1e-9 * TLM_MAX(1.0, fabs(x));
    }
    if (json_is_string(e) && json_is_string(a))
        return strings_match(json_string_value(e), json_string_value(a));
    if (json_is_array(e) && json_is_array(a)) {
        if (json_array_size(e) != json_array_size(a)) return false;
        for (size_t i = 0; i < json_array_size(e); i++)
            if (!tlm_eval_values_match(json_array_get(e, i), json_array_get(a, i))) return false;
        return true;
    }
    if (json_is_object(e) && json_is_object(a)) {
        if (json_object_size(e) != json_object_size(a)) return false;
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)e, k, v)
            if (!tlm_eval_values_match(v, json_object_get(a, k))) return false;
        return true;
    }
    return json_typeof(e) == json_typeof(a) && (json_is_boolean(e) || json_is_null(e));
}

/* Exact JSON equality with numbers by value: enum and const semantics. */
static bool values_equal(const json_t *x, const json_t *y) {
    if (json_is_number(x) && json_is_number(y)) return json_number_value(x) == json_number_value(y);
    if (json_is_array(x) && json_is_array(y)) {
        if (json_array_size(x) != json_array_size(y)) return false;
        for (size_t i = 0; i < json_array_size(x); i++)
            if (!values_equal(json_array_get(x, i), json_array_get(y, i))) return false;
        return true;
    }
    if (json_is_object(x) && json_is_object(y)) {
        if (json_object_size(x) != json_object_size(y)) return false;
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)x, k, v)
            if (!values_equal(v, json_object_get(y, k))) return false;
        return true;
    }
    return json_equal((json_t *)x, (json_t *)y);
}

const json_t *tlm_eval_json_pointer(const json_t *doc, const char *ptr) {
    if (!ptr || !*ptr) return doc;
    if (*ptr != '/') return NULL;
    const json_t *cur = doc;
    char seg[256];
    while (cur && *ptr == '/') {
        ptr++;
        size_t n = 0;
        while (*ptr && *ptr != '/' && n + 1 < sizeof seg) {
            if (ptr[0] == '~' && (ptr[1] == '0' || ptr[1] == '1')) {
                seg[n++] = ptr[1] == '0' ? '~' : '/';
                ptr += 2;
            } else {
                seg[n++] = *ptr++;
            }
        }
        seg[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long idx = strtoul(seg, &end, 10);
            cur = (n && !*end && isdigit((unsigned char)seg[0])) ? json_array_get(cur, idx) : NULL;
        } else {
            cur = NULL;
        }
    }
    return cur;
}

/* ---- JSON Schema subset ---- */

typedef struct vctx {
    tlm_error *err;
    int depth;
} vctx;

static const char *const annotations[] = {"title",     "description", "examples", "default",
                                          "$schema",   "$id",         "$comment", "readOnly",
                                          "writeOnly", "deprecated",  "format"};
static const char *const keywords[] = {"type",
                                       "properties",
                                       "required",
                                       "additionalProperties",
                                       "items",
                                       "enum",
                                       "const",
                                       "minItems",
                                       "maxItems",
                                       "minLength",
                                       "maxLength",
                                       "minimum",
                                       "maximum",
                                       "exclusiveMinimum",
                                       "exclusiveMaximum",
                                       "pattern",
                                       "anyOf",
                                       "oneOf",
                                       "allOf",
                                       "uniqueItems",
                                       "multipleOf"};

static tlm_status validate(const json_t *s, const json_t *v, const char *path, vctx *c);

static tlm_status fail(vctx *c, const char *path, const char *what) {
    return tlm_error_set(c->err, TLM_ERR_TYPE, "%s: %s", *path ? path : "(root)", what);
}

static bool type_matches(const char *t, const json_t *v) {
    if (!strcmp(t, "object")) return json_is_object(v);
    if (!strcmp(t, "array")) return json_is_array(v);
    if (!strcmp(t, "string")) return json_is_string(v);
    if (!strcmp(t, "number")) return json_is_number(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v) ||
               (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
    if (!strcmp(t, "boolean")) return json_is_boolean(v);
    if (!strcmp(t, "null")) return json_is_null(v);
    return false;
}

static tlm_status check_type(const json_t *type, const json_t *v, const char *path, vctx *c) {
    if (json_is_string(type))
        return type_matches(json_string_value(type), v) ? TLM_OK : fail(c, path, "wrong type");
    size_t i;
    json_t *t;
    json_array_foreach (type, i, t)
        if (json_is_string(t) && type_matches(json_string_value(t), v)) return TLM_OK;
    return fail(c, path, "wrong type");
}

static size_t utf8_length(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static tlm_status check_pattern(const char *pattern, const char *str, const char *path, vctx *c) {
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &off, NULL);
    if (!re)
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED, "%s: pattern does not compile", path);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = md ? pcre2_match(re, (PCRE2_SPTR)str, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL) : -1;
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0 ? TLM_OK : fail(c, path, "does not match pattern");
}

static tlm_status check_scalar(const json_t *s, const json_t *v, const char *path, vctx *c) {
    json_t *k;
    if (json_is_string(v)) {
        size_t len = utf8_length(json_string_value(v));
        if ((k = json_object_get(s, "minLength")) && len < (size_t)json_integer_value(k))
            return fail(c, path, "string too short");
        if ((k = json_object_get(s, "maxLength")) && len > (size_t)json_integer_value(k))
            return fail(c, path, "string too long");
        if ((k = json_object_get(s, "pattern")) && json_is_string(k))
            return check_pattern(json_string_value(k), json_string_value(v), path, c);
    }
    if (json_is_number(v)) {
        double x = json_number_value(v);
        if ((k = json_object_get(s, "minimum")) && x < json_number_value(k))
            return fail(c, path, "below minimum");
        if ((k = json_object_get(s, "maximum")) && x > json_number_value(k))
            return fail(c, path, "above maximum");
        if ((k = json_object_get(s, "exclusiveMinimum")) && x <= json_number_value(k))
            return fail(c, path, "not above exclusiveMinimum");
        if ((k = json_object_get(s, "exclusiveMaximum")) && x >= json_number_value(k))
            return fail(c, path, "not below exclusiveMaximum");
        if ((k = json_object_get(s, "multipleOf")) && json_number_value(k) > 0) {
            double q = x / json_number_value(k);
            if (fabs(q - round(q)) > 1e-9) return fail(c, path, "not a multiple");
        }
    }
    return TLM_OK;
}

static tlm_status check_object(const json_t *s, const json_t *v, const char *path, vctx *c) {
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    json_t *addl = json_object_get(s, "additionalProperties");
    size_t i;
    json_t *r;
    json_array_foreach (req, i, r)
        if (json_is_string(r) && !json_object_get(v, json_string_value(r))) {
            char what[300];
            snprintf(what, sizeof what, "missing required \"%.200s\"", json_string_value(r));
            return fail(c, path, what);
        }
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)v, key, val) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%.200s", path, key);
        json_t *ps = json_object_get(props, key);
        tlm_status st = TLM_OK;
        if (ps)
            st = validate(ps, val, sub, c);
        else if (json_is_false(addl))
            st = fail(c, sub, "property not allowed");
        else if (json_is_object(addl))
            st = validate(addl, val, sub, c);
        if (st != TLM_OK) return st;
    }
    return TLM_OK;
}

static tlm_status check_array(const json_t *s, const json_t *v, const char *path, vctx *c) {
    json_t *k;
    size_t n = json_array_size(v);
    if ((k = json_object_get(s, "minItems")) && n < (size_t)json_integer_value(k))
        return fail(c, path, "too few items");
    if ((k = json_object_get(s, "maxItems")) && n > (size_t)json_integer_value(k))
        return fail(c, path, "too many items");
    if (json_is_true(json_object_get(s, "uniqueItems")))
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (values_equal(json_array_get(v, i), json_array_get(v, j)))
                    return fail(c, path, "items not unique");
    json_t *items = json_object_get(s, "items");
    if (items && !json_is_object(items) && !json_is_boolean(items))
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED, "%s: tuple \"items\" not supported",
                             path);
    for (size_t i = 0; items && i < n; i++) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%zu", path, i);
        tlm_status st = validate(items, json_array_get(v, i), sub, c);
        if (st != TLM_OK) return st;
    }
    return TLM_OK;
}

static tlm_status check_combinators(const json_t *s, const json_t *v, const char *path, vctx *c) {
    json_t *all = json_object_get(s, "allOf"), *any = json_object_get(s, "anyOf"),
           *one = json_object_get(s, "oneOf");
    size_t i;
    json_t *sub;
    json_array_foreach (all, i, sub) {
        tlm_status st = validate(sub, v, path, c);
        if (st != TLM_OK) return st;
    }
    for (int pass = 0; pass < 2; pass++) {
        json_t *list = pass ? one : any;
        if (!list) continue;
        int ok = 0;
        json_array_foreach (list, i, sub) {
            tlm_status st = validate(sub, v, path, &(vctx){NULL, c->depth});
            if (st == TLM_ERR_UNSUPPORTED) return validate(sub, v, path, c);
            ok += st == TLM_OK;
        }
        if (pass ? ok != 1 : ok == 0)
            return fail(c, path, pass ? "not exactly one of oneOf" : "none of anyOf");
    }
    return TLM_OK;
}

static tlm_status known_keywords(const json_t *s, const char *path, vctx *c) {
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)s, key, val) {
        bool known = false;
        for (size_t i = 0; i < TLM_ARRAY_LEN(keywords) && !known; i++)
            known = !strcmp(key, keywords[i]);
        for (size_t i = 0; i < TLM_ARRAY_LEN(annotations) && !known; i++)
            known = !strcmp(key, annotations[i]);
        if (!known)
            return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED,
                                 "%s: unsupported schema keyword \"%s\"", *path ? path : "(root)",
                                 key);
    }
    return TLM_OK;
}

static tlm_status validate(const json_t *s, const json_t *v, const char *path, vctx *c) {
    if (json_is_true(s)) return TLM_OK;
    if (json_is_false(s)) return fail(c, path, "schema false");
    if (!json_is_object(s))
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED, "%s: schema is not an object", path);
    if (++c->depth > 64)
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED, "schema nested too deeply");
    tlm_status st = known_keywords(s, path, c);
    json_t *k;
    if (st == TLM_OK && (k = json_object_get(s, "type"))) st = check_type(k, v, path, c);
    if (st == TLM_OK && (k = json_object_get(s, "const")) && !values_equal(k, v))
        st = fail(c, path, "not the const value");
    if (st == TLM_OK && (k = json_object_get(s, "enum"))) {
        bool hit = false;
        size_t i;
        json_t *e;
        json_array_foreach (k, i, e) hit |= values_equal(e, v);
        if (!hit) st = fail(c, path, "not one of enum");
    }
    if (st == TLM_OK) st = check_scalar(s, v, path, c);
    if (st == TLM_OK && json_is_object(v)) st = check_object(s, v, path, c);
    if (st == TLM_OK && json_is_array(v)) st = check_array(s, v, path, c);
    if (st == TLM_OK) st = check_combinators(s, v, path, c);
    c->depth--;
    return st;
}

tlm_status tlm_eval_schema_validate(const json_t *schema, const json_t *value, tlm_error *err) {
    if (!schema || !value)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "schema: nothing to validate");
    vctx c = {err, 0};
    return validate(schema, value, "", &c);
}

/* ---- The JSON grader ---- */

static tlm_status schema_step(const json_t *schema, const json_t *v, tlm_eval_grade *g,
                              bool *failed) {
    tlm_error e = {0};
    tlm_status st = tlm_eval_schema_validate(schema, v, &e);
    g->schema_valid = st == TLM_OK;
    *failed = st != TLM_OK;
    if (st == TLM_ERR_UNSUPPORTED)
        return tlm_eval_grade_set(g, TLM_EVAL_HARNESS_ERROR, "%s", e.msg);
    if (st != TLM_OK) return tlm_eval_grade_set(g, TLM_EVAL_FAIL_FORMAT, "schema: %s", e.msg);
    return TLM_OK;
}

/* Counts expected fields that match; the first mismatch becomes the detail. */
static void count_fields(const json_t *expected, const json_t *v, tlm_eval_grade *g, char *why,
                         size_t cap) {
    const char *ptr;
    json_t *want;
    why[0] = '\0';
    json_object_foreach ((json_t *)expected, ptr, want) {
        g->fields_total++;
        const json_t *got = tlm_eval_json_pointer(v, ptr);
        if (tlm_eval_values_match(want, got)) {
            g->fields_ok++;
        } else if (!why[0]) {
            char *ws = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
            char *gs = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            snprintf(why, cap, "%s: got %.120s, expected %.120s", ptr, gs ? gs : "nothing",
                     ws ? ws : "?");
            free(ws);
            free(gs);
        }
    }
}

tlm_status tlm_eval_grade_json(const tlm_eval_task *t, const char *text, tlm_eval_grade *g) {
    bool found;
    json_t *v = tlm_eval_extract_json(text, &found);
    g->method = "json";
    g->json_valid = v != NULL;
    if (t->expected) g->fields_total = (int)json_object_size(t->expected);
    if (!v)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_FORMAT,
                                  found ? "invalid JSON" : "no JSON in the answer");
    char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    g->extracted = dump ? tlm_strdup(dump) : NULL;
    free(dump);
    tlm_status st = TLM_OK;
    bool schema_failed = false;
    if (t->schema) st = schema_step(t->schema, v, g, &schema_failed);
    char why[320] = "";
    if (st == TLM_OK && t->expected) {
        g->fields_total = 0;
        count_fields(t->expected, v, g, why, sizeof why);
    }
    json_decref(v);
    if (st != TLM_OK || schema_failed) return st;
    if (g->fields_ok < g->fields_total)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER, "%s", why);
    return tlm_eval_grade_set(g, TLM_EVAL_PASS, NULL);
}

/* ---- Tool calls ---- */

typedef struct call {
    const char *name;
    json_t *args; /* owned */
    bool bad_args;
} call;

/* One call from {"name","arguments"}, {"function":{...}} or "parameters". */
static bool read_call(const json_t *c, call *out) {
    const json_t *f = json_object_get(c, "function");
    if (json_is_object(f)) c = f;
    const json_t *name = json_object_get(c, "name");
    if (!json_is_string(name)) return false;
    const json_t *args = json_object_get(c, "arguments");
    if (!args) args = json_object_get(c, "parameters");
    out->name = json_string_value(name);
    out->bad_args = false;
    if (json_is_string(args)) {
        out->args = json_loads(json_string_value(args), 0, NULL);
        out->bad_args = !json_is_object(out->args);
    } else if (!args) {
        out->args = json_object();
    } else {
        out->args = json_incref((json_t *)args);
        out->bad_args = !json_is_object(args);
    }
    return true;
}

/* Parsed calls are kept alive through `keep` (their names point into it). */
static int collect_calls(const char *text, const char *tool_calls, json_t *keep, call *calls,
                         int cap, bool *malformed) {
    int n = 0;
    *malformed = false;
    json_t *arr = tool_calls ? json_loads(tool_calls, 0, NULL) : NULL;
    if (json_is_array(arr) && json_array_size(arr)) {
        json_array_append_new(keep, arr);
        for (size_t i = 0; i < json_array_size(arr) && n < cap; i++)
            if (read_call(json_array_get(arr, i), &calls[n]))
                n++;
            else
                *malformed = true;
        return n;
    }
    json_decref(arr);
    for (const char *p = strstr(text, "<tool_call>"); p && n < cap; p = strstr(p, "<tool_call>")) {
        p += 11;
        const char *e = strstr(p, "</tool_call>");
        char *inner = e ? tlm_strndup(p, (size_t)(e - p)) : NULL;
        json_t *v = tlm_eval_extract_json(inner ? inner : p, NULL);
        tlm_free(inner);
        if (v && read_call(v, &calls[n]))
            n++;
        else
            *malformed = true;
        if (v) json_array_append_new(keep, v);
        if (!e) break;
        p = e;
    }
    if (n || *malformed) return n;
    json_t *v = tlm_eval_extract_json(text, NULL);
    if (json_is_object(v) && read_call(v, &calls[n])) n++;
    for (size_t i = 0; json_is_array(v) && i < json_array_size(v) && n < cap; i++)
        if (read_call(json_array_get(v, i), &calls[n])) n++;
    if (v) json_array_append_new(keep, v);
    return n;
}

static const json_t *find_tool(const json_t *tools, const char *name) {
    size_t i;
    json_t *t;
    json_array_foreach (tools, i, t) {
        const json_t *f = json_object_get(t, "function");
        if (!f) f = t;
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && !strcmp(n, name)) return f;
    }
    return NULL;
}

static tlm_status check_call(const tlm_eval_task *t, const call *c, tlm_eval_grade *g) {
    const char *want = json_string_value(json_object_get(t->expected, "name"));
    const json_t *want_args = json_object_get(t->expected, "arguments");
    if (!want)
        return tlm_eval_grade_set(g, TLM_EVAL_HARNESS_ERROR, "task's expected call has no name");
    if (c->bad_args)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_FORMAT, "arguments are not a JSON object");
    g->fields_total = 1 + (int)json_object_size(want_args);
    if (strcmp(c->name, want) != 0)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER, "called %.100s, expected %.100s",
                                  c->name, want);
    g->fields_ok = 1;
    const json_t *tool = find_tool(t->tools, c->name);
    const json_t *params = json_object_get(tool, "parameters");
    tlm_error e = {0};
    tlm_status st = params ? tlm_eval_schema_validate(params, c->args, &e) : TLM_OK;
    g->schema_valid = st == TLM_OK;
    if (st == TLM_ERR_UNSUPPORTED)
        return tlm_eval_grade_set(g, TLM_EVAL_HARNESS_ERROR, "%s", e.msg);
    char why[320] = "";
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)want_args, key, val) {
        const json_t *got = json_object_get(c->args, key);
        if (tlm_eval_values_match(val, got))
            g->fields_ok++;
        else if (!why[0])
            snprintf(why, sizeof why, "argument \"%.100s\" differs", key);
    }
    if (st != TLM_OK)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER, "arguments: %s", e.msg);
    if (why[0]) return tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER, "%s", why);
    return tlm_eval_grade_set(g, TLM_EVAL_PASS, NULL);
}

tlm_status tlm_eval_grade_tool_call(const tlm_eval_task *t, const char *text,
                                    const char *tool_calls, tlm_eval_grade *g) {
    call calls[8];
    bool malformed;
    json_t *keep = json_array();
    if (!keep) return TLM_ERR_NOMEM;
    int n = collect_calls(text, tool_calls, keep, calls, 8, &malformed);
    g->method = tool_calls ? "tool_calls" : "text";
    tlm_status st;
    bool expect_none = !t->expected || json_is_null(t->expected);
    if (n > 0) {
        json_t *shown = json_pack("{s:s, s:O}", "name", calls[0].name, "arguments",
                                  calls[0].args ? calls[0].args : json_null());
        char *dump = shown ? json_dumps(shown, JSON_COMPACT) : NULL;
        g->extracted = dump ? tlm_strdup(dump) : NULL;
        free(dump);
        json_decref(shown);
    } else {
        g->extracted = tlm_strdup("(no call)");
    }
    if (malformed && n == 0)
        st = tlm_eval_grade_set(g, TLM_EVAL_FAIL_FORMAT, "malformed tool call");
    else if (expect_none)
        st = n ? tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER,
                                    "called %.100s; no call was expected", calls[0].name)
               : tlm_eval_grade_set(g, TLM_EVAL_PASS, NULL);
    else if (n == 0)
        st = tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER, "no tool call");
    else
        st = check_call(t, &calls[0], g);
    for (int i = 0; i < n; i++) json_decref(calls[i].args);
    json_decref(keep);
    return st;
}
