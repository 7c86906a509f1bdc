/*
 * json_schema.c - JSON Schema to GBNF: the rule table, $ref resolution,
 * allOf merging and the dispatch on keywords.  Objects and arrays are in
 * json_schema_obj.c, strings and numbers in json_schema_str.c.
 *
 * Principle: the grammar may accept less than the schema (any generated
 * document must validate), never more.  So where the schema allows a
 * choice, a simpler subset is generated: declared properties only (unless
 * additionalProperties says otherwise), bounded whitespace, at most 15
 * digits, oneOf as anyOf over the branches.  Where no sound subset is known
 * the keyword is an error naming it (fail closed), and pure annotations are
 * skipped.
 *
 * Decisions, documented once here:
 *   - Annotations (title, description, default, examples, $comment,
 *     readOnly, deprecated, content*, discriminator, ...) are ignored
 *     silently.  Keywords no JSON Schema draft defines are ignored with a
 *     warning, as validators do.
 *   - Unknown formats are ignored with a warning (ajv ignores them too);
 *     every format ajv-formats checks is generated as a valid subset.
 *   - not, if/then/else, contains, $dynamicRef and friends: errors.
 *     uniqueItems: true is only accepted where it cannot bind.
 *   - No type: the types the keywords imply (object keywords -> object, ...),
 *     or any JSON value when none do.
 *   - Whitespace between tokens: nothing, one space, or a newline and up to
 *     20 spaces/tabs.  The document ends right after the root value.
 */
#include "grammar/json_schema_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JS_MAX_DEPTH 64
#define JS_MAX_BRANCHES 64

/* ---- Messages ---- */

tlm_status js_fail(js_ctx *c, tlm_status code, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tlm_error_set(c->err, code, "json schema at %s: %s", c->path[0] ? c->path : "#", msg);
}

void js_warn(js_ctx *c, const char *fmt, ...) {
    if (!c->warnings) return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tlm_buf_appendf(c->warnings, "json schema at %s: %s\n", c->path[0] ? c->path : "#", msg);
}

/* Appends "/seg" to the path; returns the old length to restore. */
size_t js_path_push(js_ctx *c, const char *a, const char *b) {
    size_t n = strlen(c->path);
    snprintf(c->path + n, sizeof c->path - n, "%s%s%s", n ? "" : "#", a, b ? b : "");
    return n;
}

/* ---- The rule table ---- */

static tlm_status rule_append(js_ctx *c, char *name, char *body, uint32_t *out) {
    if (c->n_rules == c->cap_rules) {
        uint32_t cap = c->cap_rules ? c->cap_rules * 2 : 64;
        js_rule *r = tlm_realloc(c->rules, cap * sizeof *r);
        if (!r) return TLM_ERR_NOMEM;
        c->rules = r;
        c->cap_rules = cap;
    }
    c->rules[c->n_rules] = (js_rule){name, body, 0};
    *out = c->n_rules++;
    return TLM_OK;
}

/* A name not used yet, made of the hint's letters, digits and dashes. */
static char *unique_name(js_ctx *c, const char *hint) {
    char base[48];
    size_t n = 0;
    for (const char *p = hint; *p && n < 40; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (ok)
            base[n++] = ch;
        else if (n && base[n - 1] != '-')
            base[n++] = '-';
    }
    while (n && base[n - 1] == '-') n--;
    if (!n) base[n++] = 'r';
    base[n] = '\0';
    /* Remember the next free suffix per base: probing from 1 each time
     * would be quadratic in the rules of one hint. */
    json_t *next = json_object_get(c->hints, base);
    json_int_t k = json_integer_value(next);
    char cand[64];
    for (;; k++) {
        if (k)
            snprintf(cand, sizeof cand, "%s-%lld", base, (long long)k);
        else
            snprintf(cand, sizeof cand, "%s", base);
        if (!json_object_get(c->names, cand)) break;
    }
    json_object_set_new(c->hints, base, json_integer(k + 1));
    json_object_set_new(c->names, cand, json_integer(c->n_rules));
    return tlm_strdup(cand);
}

tlm_status js_rule_reserve(js_ctx *c, const char *hint, const char **out) {
    char *name = unique_name(c, hint);
    uint32_t i;
    if (!name || rule_append(c, name, NULL, &i)) {
        free(name);
        return js_fail(c, TLM_ERR_NOMEM, "out of memory");
    }
    *out = c->rules[i].name;
    return TLM_OK;
}

tlm_status js_rule_define(js_ctx *c, const char *name, const char *body) {
    json_t *idx = json_object_get(c->names, name);
    if (!idx) return js_fail(c, TLM_ERR_INTERNAL, "rule %s was not reserved", name);
    js_rule *r = &c->rules[json_integer_value(idx)];
    free(r->body);
    r->body = tlm_strdup(body);
    return r->body ? TLM_OK : js_fail(c, TLM_ERR_NOMEM, "out of memory");
}

tlm_status js_rule_add(js_ctx *c, const char *hint, const char *body, const char **out) {
    json_t *bodies = c->bodies;
    json_t *same = json_object_get(bodies, body);
    if (same) {
        *out = c->rules[json_integer_value(same)].name;
        return TLM_OK;
    }
    tlm_status st = js_rule_reserve(c, hint, out);
    if (!st) st = js_rule_define(c, *out, body);
    if (!st) json_object_set_new(bodies, body, json_integer(c->n_rules - 1));
    return st;
}

const char *js_prim(js_ctx *c, const char *which) {
    static const struct {
        const char *name, *body;
    } prims[] = {
        {"ws", "( \" \" | \"\\n\" [ \\t]{0,20} )?"},
        {"char", "[^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" ( [0-9a-cA-C] [0-9a-fA-F]{3} | "
                 "[dD] [0-7] [0-9a-fA-F]{2} | [eEfF] [0-9a-fA-F]{3} ) )"},
        {"string", "\"\\\"\" @char* \"\\\"\""},
        {"integer", "\"-\"? ( \"0\" | [1-9] [0-9]{0,14} )"},
        {"number", "\"-\"? ( \"0\" | [1-9] [0-9]{0,14} ) ( \".\" [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,2} )?"},
        {"boolean", "\"true\" | \"false\""},
        {"null", "\"null\""},
        {"value", "@object | @array | @string | @number | @boolean | @null"},
        {"object", "\"{\" @ws ( @string @ws \":\" @ws @value ( @ws \",\" @ws @string @ws \":\" @ws @value )* @ws )? \"}\""},
        {"array", "\"[\" @ws ( @value ( @ws \",\" @ws @value )* @ws )? \"]\""},
    };
    json_t *pn = c->prims;
    json_t *have = json_object_get(pn, which);
    if (have) return c->rules[json_integer_value(have)].name;
    size_t k = 0;
    while (k < TLM_ARRAY_LEN(prims) && strcmp(prims[k].name, which)) k++;
    const char *name;
    if (k == TLM_ARRAY_LEN(prims) || js_rule_reserve(c, which, &name)) return "ws"; /* OOM: error later */
    json_object_set_new(pn, which, json_integer(c->n_rules - 1));
    /* Bodies name other primitives as @name: resolve them (recursion is
     * safe, the name is registered already). */
    tlm_buf b = {0};
    for (const char *p = prims[k].body; *p;) {
        if (*p != '@') {
            tlm_buf_append(&b, p++, 1);
            continue;
        }
        char dep[16];
        size_t n = 0;
        for (p++; *p >= 'a' && *p <= 'z' && n < 15; p++) dep[n++] = *p;
        dep[n] = '\0';
        tlm_buf_appendf(&b, "%s", js_prim(c, dep));
    }
    js_rule_define(c, name, b.data ? b.data : "\"\"");
    tlm_buf_free(&b);
    return name;
}

/* ---- $ref ---- */

/* The schema a local reference points at (borrowed), or NULL with an
 * error.  Only references into the same document: "#" and JSON pointers. */
/* The subschema whose $id/id is ref ("#name") or whose $anchor is name. */
static json_t *find_anchor(json_t *at, const char *ref, int depth) {
    if (depth > 64) return NULL;
    if (json_is_object(at)) {
        const char *id = json_string_value(json_object_get(at, "$id"));
        const char *id4 = json_string_value(json_object_get(at, "id"));
        const char *anchor = json_string_value(json_object_get(at, "$anchor"));
        if ((id && !strcmp(id, ref)) || (id4 && !strcmp(id4, ref)) || (anchor && !strcmp(anchor, ref + 1)))
            return at;
    }
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_object(at)) json_object_foreach(at, k, v) {
            json_t *r = find_anchor(v, ref, depth + 1);
            if (r) return r;
        }
    if (json_is_array(at)) json_array_foreach(at, i, v) {
            json_t *r = find_anchor(v, ref, depth + 1);
            if (r) return r;
        }
    return NULL;
}

static json_t *resolve(js_ctx *c, const char *ref) {
    if (ref[0] == '#' && ref[1] && ref[1] != '/') {
        json_t *t = find_anchor(c->root, ref, 0);
        if (!t) js_fail(c, TLM_ERR_FORMAT, "$ref \"%.100s\": no subschema has that $id or $anchor", ref);
        return t;
    }
    if (ref[0] != '#') {
        js_fail(c, TLM_ERR_UNSUPPORTED, "$ref \"%.100s\": only references inside the schema (#/...) are supported", ref);
        return NULL;
    }
    json_t *at = c->root;
    const char *p = ref + 1;
    while (*p == '/' && at) {
        char seg[256];
        size_t n = 0;
        for (p++; *p && *p != '/' && n < sizeof seg - 1; p++) {
            char ch = *p;
            if (ch == '~' && (p[1] == '0' || p[1] == '1')) {
                ch = p[1] == '0' ? '~' : '/';
                p++;
            } else if (ch == '%' && p[1] && p[2]) {
                unsigned v;
                if (sscanf(p + 1, "%2x", &v) == 1) {
                    ch = (char)v;
                    p += 2;
                }
            }
            seg[n++] = ch;
        }
        seg[n] = '\0';
        if (json_is_array(at)) {
            char *end;
            long i = strtol(seg, &end, 10);
            at = *end || i < 0 ? NULL : json_array_get(at, (size_t)i);
        } else {
            at = json_object_get(at, seg);
        }
    }
    if (!at || *p) {
        js_fail(c, TLM_ERR_FORMAT, "$ref \"%.100s\" points at nothing", ref);
        return NULL;
    }
    return at;
}

/* A rule for the referenced schema, made once per reference string, so
 * recursive schemas become recursive rules. */
static tlm_status gen_ref(js_ctx *c, const char *ref, const char **out) {
    json_t *have = json_object_get(c->refs, ref);
    if (have) {
        *out = c->rules[json_integer_value(have)].name;
        return TLM_OK;
    }
    json_t *target = resolve(c, ref);
    if (!target) return c->err ? c->err->code : TLM_ERR_FORMAT;
    const char *slash = strrchr(ref, '/');
    const char *name, *body;
    tlm_status st = js_rule_reserve(c, slash ? slash + 1 : "ref", &name);
    if (st) return st;
    json_object_set_new(c->refs, ref, json_integer(c->n_rules - 1));
    char saved[sizeof c->path];
    memcpy(saved, c->path, sizeof saved);
    snprintf(c->path, sizeof c->path, "%s", ref);
    st = js_gen(c, target, slash ? slash + 1 : "ref", &body);
    memcpy(c->path, saved, sizeof saved);
    if (!st) {
        st = js_rule_define(c, name, body);
        if (!st) *out = name;
        return st;
    }
    /* The caller may drop what failed and go on (an optional property, a
     * branch): the rule must exist, and match nothing. */
    json_object_del(c->refs, ref);
    if (js_rule_define(c, name, "[^\\x00-\\U0010FFFF]") == TLM_ERR_NOMEM) return TLM_ERR_NOMEM;
    return st;
}

/* ---- Keyword classes ---- */

static bool in_list(const char *k, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(k, *list)) return true;
    return false;
}

static const char *const kw_handled[] = {
    "type", "enum", "const", "properties", "required", "additionalProperties", "items", "prefixItems",
    "additionalItems", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "$ref", "$defs", "definitions",
    "anyOf", "oneOf", "allOf", "nullable", "minProperties", "maxProperties", "dependentRequired",
    "dependencies", "dependentSchemas", "patternProperties", "propertyNames", "uniqueItems",
    "multipleOf", "contains", "unevaluatedProperties", "unevaluatedItems", "$tlm_patterns", NULL};
static const char *const kw_annotation[] = {
    "title", "description", "default", "examples", "example", "$schema", "$id", "id", "$comment",
    "readOnly", "writeOnly", "deprecated", "contentEncoding", "contentMediaType", "contentSchema",
    "$anchor", "$vocabulary", "$dynamicAnchor", "discriminator", "xml", "externalDocs", "then",
    "else", NULL};
static const char *const kw_unsupported[] = {"not", "minContains", "maxContains", "$dynamicRef",
                                             "$recursiveRef", "$recursiveAnchor", NULL};

/* Errors for keywords that cannot be enforced; warnings for unknown ones. */
static tlm_status check_keywords(js_ctx *c, json_t *s) {
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v) {
        if (in_list(k, kw_unsupported) ||
            (!strcmp(k, "if") && (json_object_get(s, "then") || json_object_get(s, "else"))))
            return js_fail(c, TLM_ERR_UNSUPPORTED, "keyword '%s' is not supported", k);
        if (!in_list(k, kw_handled) && !in_list(k, kw_annotation) && strcmp(k, "if"))
            js_warn(c, "unknown keyword '%s' ignored", k);
    }
    return TLM_OK;
}

/* Whether s has any keyword other than annotations and definitions. */
bool js_has_constraints(json_t *s) {
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v) if (!in_list(k, kw_annotation) && strcmp(k, "$defs") && strcmp(k, "definitions")) return true;
    return false;
}

/* ---- allOf: merging schemas ---- */

json_t *js_types_of(json_t *t) {
    if (json_is_string(t)) return json_pack("[O]", t);
    return json_is_array(t) ? json_incref(t) : NULL;
}

/* The intersection of two "type" values (integer within number). */
static json_t *merge_types(json_t *a, json_t *b) {
    json_t *x = js_types_of(a), *y = js_types_of(b), *r = json_array();
    size_t i, j;
    json_t *u, *v;
    json_array_foreach(x, i, u) json_array_foreach(y, j, v) {
        const char *p = json_string_value(u), *q = json_string_value(v);
        if (!p || !q) continue;
        if (!strcmp(p, q) || (!strcmp(p, "integer") && !strcmp(q, "number")))
            json_array_append(r, u);
        else if (!strcmp(p, "number") && !strcmp(q, "integer"))
            json_array_append(r, v);
    }
    json_decref(x);
    json_decref(y);
    return r;
}

static json_t *all_of2(json_t *a, json_t *b) { return json_pack("{s:[O,O]}", "allOf", a, b); }

/* Folds keyword k of b into r (a copy of a). */
static tlm_status merge_key(js_ctx *c, json_t *r, const char *k, json_t *vb) {
    json_t *va = json_object_get(r, k);
    if (!va) return json_object_set(r, k, vb) ? js_fail(c, TLM_ERR_NOMEM, "out of memory") : TLM_OK;
    if (json_equal(va, vb) || in_list(k, kw_annotation) || !strcmp(k, "$defs") || !strcmp(k, "definitions"))
        return TLM_OK;
    static const char *const mins[] = {"minLength", "minItems", "minProperties", "minimum", NULL};
    static const char *const maxs[] = {"maxLength", "maxItems", "maxProperties", "maximum", NULL};
    if (in_list(k, mins) || (!strcmp(k, "exclusiveMinimum") && json_is_number(va) && json_is_number(vb))) {
        if (json_number_value(vb) > json_number_value(va)) json_object_set(r, k, vb);
        return TLM_OK;
    }
    if (in_list(k, maxs) || (!strcmp(k, "exclusiveMaximum") && json_is_number(va) && json_is_number(vb))) {
        if (json_number_value(vb) < json_number_value(va)) json_object_set(r, k, vb);
        return TLM_OK;
    }
    if (!strcmp(k, "type")) {
        json_t *t = merge_types(va, vb);
        if (!json_array_size(t)) {
            json_decref(t);
            return js_fail(c, TLM_ERR_UNSUPPORTED, "allOf: the types do not intersect; no value fits");
        }
        json_object_set_new(r, k, t);
        return TLM_OK;
    }
    if (!strcmp(k, "required") && json_is_array(va) && json_is_array(vb)) {
        json_t *u = json_copy(va);
        size_t i;
        json_t *x;
        json_array_foreach(vb, i, x) {
            size_t j;
            json_t *y;
            bool dup = false;
            json_array_foreach(u, j, y) dup |= json_equal(x, y);
            if (!dup) json_array_append(u, x);
        }
        json_object_set_new(r, k, u);
        return TLM_OK;
    }
    if (!strcmp(k, "properties") && json_is_object(va) && json_is_object(vb)) {
        json_t *u = json_copy(va);
        const char *pk;
        json_t *pv;
        json_object_foreach(vb, pk, pv) {
            json_t *old = json_object_get(u, pk);
            json_object_set_new(u, pk, old ? all_of2(old, pv) : json_incref(pv));
        }
        json_object_set_new(r, k, u);
        return TLM_OK;
    }
    if (!strcmp(k, "pattern") || !strcmp(k, "$tlm_patterns")) {
        json_t *more = json_object_get(r, "$tlm_patterns");
        if (!more) json_object_set_new(r, "$tlm_patterns", more = json_array());
        if (json_is_array(vb))
            json_array_extend(more, vb);
        else
            json_array_append(more, vb);
        return TLM_OK;
    }
    if (!strcmp(k, "enum") && json_is_array(va) && json_is_array(vb)) {
        json_t *u = json_array();
        size_t i, j;
        json_t *x, *y;
        json_array_foreach(va, i, x) json_array_foreach(vb, j, y) if (json_equal(x, y)) {
            json_array_append(u, x);
            break;
        }
        json_object_set_new(r, k, u);
        return json_array_size(u) ? TLM_OK : js_fail(c, TLM_ERR_UNSUPPORTED, "allOf: the enums share no value");
    }
    if (!strcmp(k, "additionalProperties") || !strcmp(k, "items") || !strcmp(k, "additionalItems")) {
        if (json_is_false(va) || json_is_true(vb)) return TLM_OK;
        if (json_is_false(vb) || json_is_true(va)) return json_object_set(r, k, vb), TLM_OK;
        if (json_is_object(va) && json_is_object(vb)) return json_object_set_new(r, k, all_of2(va, vb)), TLM_OK;
    }
    if (!strcmp(k, "allOf") && json_is_array(va) && json_is_array(vb)) {
        json_t *u = json_copy(va);
        json_array_extend(u, vb);
        json_object_set_new(r, k, u);
        return TLM_OK;
    }
    if ((!strcmp(k, "anyOf") || !strcmp(k, "oneOf")) && json_is_array(va) && json_is_array(vb)) {
        if (json_array_size(va) * json_array_size(vb) > JS_MAX_BRANCHES)
            return js_fail(c, TLM_ERR_UNSUPPORTED, "allOf: too many %s combinations", k);
        json_t *u = json_array();
        size_t i, j;
        json_t *x, *y;
        json_array_foreach(va, i, x) json_array_foreach(vb, j, y) json_array_append_new(u, all_of2(x, y));
        json_object_set_new(r, k, u);
        return TLM_OK;
    }
    return js_fail(c, TLM_ERR_UNSUPPORTED, "allOf: cannot combine two different '%s'", k);
}

json_t *js_merge(js_ctx *c, json_t *a, json_t *b) {
    if (json_is_true(b) || (json_is_object(b) && !json_object_size(b))) return json_incref(a);
    if (json_is_true(a) || (json_is_object(a) && !json_object_size(a))) return json_incref(b);
    if (!json_is_object(a) || !json_is_object(b)) {
        js_fail(c, TLM_ERR_UNSUPPORTED, "allOf with a 'false' schema: no value fits");
        return NULL;
    }
    json_t *r = json_copy(a);
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) if (merge_key(c, r, k, v)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* s with top-level $ref and allOf folded in (new reference). */
json_t *js_flatten(js_ctx *c, json_t *s, int depth) {
    if (depth > JS_MAX_DEPTH) {
        js_fail(c, TLM_ERR_UNSUPPORTED, "$ref/allOf nested too deeply (recursive allOf?)");
        return NULL;
    }
    if (!json_is_object(s)) return json_incref(s);
    json_t *ref = json_object_get(s, "$ref"), *all = json_object_get(s, "allOf");
    if (!json_is_string(ref) && !json_is_array(all)) return json_incref(s);
    json_t *base = json_copy(s);
    json_object_del(base, "$ref");
    json_object_del(base, "allOf");
    json_t *acc = base;
    if (json_is_string(ref)) {
        json_t *t = resolve(c, json_string_value(ref));
        json_t *ft = t ? js_flatten(c, t, depth + 1) : NULL;
        json_t *m = ft ? js_merge(c, ft, acc) : NULL;
        json_decref(ft);
        json_decref(acc);
        acc = m;
    }
    size_t i;
    json_t *member;
    json_array_foreach(all, i, member) {
        if (!acc) break;
        json_t *fm = js_flatten(c, member, depth + 1);
        json_t *m = fm ? js_merge(c, acc, fm) : NULL;
        json_decref(fm);
        json_decref(acc);
        acc = m;
    }
    return acc;
}

/* ---- Dispatch ---- */

tlm_status js_alternatives(js_ctx *c, const char *hint, const char **names, size_t n, const char **out) {
    if (n == 1) {
        *out = names[0];
        return TLM_OK;
    }
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    for (size_t i = 0; i < n && !st; i++) st = tlm_buf_appendf(&b, "%s%s", i ? " | " : "", names[i]);
    if (!st) st = js_rule_add(c, hint, b.data, out);
    tlm_buf_free(&b);
    return st;
}

static bool type_matches(const json_t *v, const char *t) {
    if (!strcmp(t, "string")) return json_is_string(v);
    if (!strcmp(t, "number")) return json_is_number(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v) || (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
    if (!strcmp(t, "boolean")) return json_is_boolean(v);
    if (!strcmp(t, "null")) return json_is_null(v);
    if (!strcmp(t, "object")) return json_is_object(v);
    if (!strcmp(t, "array")) return json_is_array(v);
    return false;
}

static tlm_status gen_enum(js_ctx *c, json_t *s, const char *hint, const char **out) {
    json_t *cv = json_object_get(s, "const"), *ev = json_object_get(s, "enum");
    json_t *vals = cv ? json_pack("[O]", cv) : json_incref(ev);
    if (!json_is_array(vals)) {
        json_decref(vals);
        return js_fail(c, TLM_ERR_FORMAT, "enum must be an array");
    }
    json_t *types = js_types_of(json_object_get(s, "type"));
    if (types && json_is_true(json_object_get(s, "nullable"))) json_array_append_new(types, json_string("null"));
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    size_t i, j, n = 0;
    json_t *v, *t;
    json_array_foreach(vals, i, v) {
        if (st) break;
        bool ok = !types;
        json_array_foreach(types, j, t) ok |= json_is_string(t) && type_matches(v, json_string_value(t));
        if (cv && ev) { /* both: the constant must also be in the enum */
            bool in = false;
            json_array_foreach(ev, j, t) in |= json_equal(t, v);
            ok &= in;
        }
        if (!ok) continue;
        if (n++) st = tlm_buf_append(&b, " | ", 3);
        if (!st) st = js_json_lit(&b, v);
    }
    if (!st && !n) st = js_fail(c, TLM_ERR_UNSUPPORTED, "no enum/const value has an allowed type");
    if (!st) st = js_rule_add(c, hint, b.data, out);
    tlm_buf_free(&b);
    json_decref(vals);
    json_decref(types);
    return st;
}

/* The types to generate when "type" is absent: those the keywords imply. */
json_t *js_implied_types(json_t *s) {
    static const char *const obj[] = {"properties", "required", "additionalProperties", "patternProperties",
                                      "minProperties", "maxProperties", "dependencies", "dependentRequired",
                                      "propertyNames", "unevaluatedProperties", NULL};
    static const char *const arr[] = {"items", "prefixItems", "additionalItems", "minItems", "maxItems",
                                      "uniqueItems", "contains", "unevaluatedItems", NULL};
    static const char *const str[] = {"minLength", "maxLength", "pattern", NULL};
    static const char *const num[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", NULL};
    json_t *t = json_array();
    const char *k;
    json_t *v;
    bool o = false, a = false, st = false, nu = false;
    json_object_foreach(s, k, v) {
        o |= in_list(k, obj);
        a |= in_list(k, arr);
        st |= in_list(k, str) || (!strcmp(k, "format") && json_is_string(v));
        nu |= in_list(k, num);
    }
    if (o) json_array_append_new(t, json_string("object"));
    if (a) json_array_append_new(t, json_string("array"));
    if (st) json_array_append_new(t, json_string("string"));
    if (nu) json_array_append_new(t, json_string("number"));
    return t;
}

static tlm_status gen_type(js_ctx *c, json_t *s, const char *t, const char *hint, const char **out) {
    if (!strcmp(t, "string")) return js_gen_string(c, s, hint, out);
    if (!strcmp(t, "number") || !strcmp(t, "integer")) return js_gen_number(c, s, !strcmp(t, "integer"), hint, out);
    if (!strcmp(t, "object")) return js_gen_object(c, s, hint, out);
    if (!strcmp(t, "array")) return js_gen_array(c, s, hint, out);
    if (!strcmp(t, "boolean") || !strcmp(t, "null")) {
        *out = js_prim(c, t);
        return TLM_OK;
    }
    return js_fail(c, TLM_ERR_FORMAT, "unknown type '%.40s'", t);
}

static tlm_status gen_types(js_ctx *c, json_t *s, const char *hint, const char **out) {
    json_t *types = json_object_get(s, "type") ? js_types_of(json_object_get(s, "type")) : js_implied_types(s);
    if (!types) return js_fail(c, TLM_ERR_FORMAT, "type must be a string or an array");
    if (json_is_true(json_object_get(s, "nullable"))) json_array_append_new(types, json_string("null"));
    if (!json_array_size(types)) {
        json_decref(types);
        *out = js_prim(c, "value");
        return TLM_OK;
    }
    bool has_number = false;
    size_t i, n = 0;
    json_t *t;
    json_array_foreach(types, i, t) has_number |= json_is_string(t) && !strcmp(json_string_value(t), "number");
    const char **names = tlm_calloc(json_array_size(types), sizeof *names);
    tlm_status st = names ? TLM_OK : js_fail(c, TLM_ERR_NOMEM, "out of memory");
    json_array_foreach(types, i, t) {
        if (st) break;
        const char *tn = json_string_value(t);
        if (!tn) {
            st = js_fail(c, TLM_ERR_FORMAT, "type names must be strings");
            break;
        }
        if (has_number && !strcmp(tn, "integer")) continue; /* number covers it */
        bool dup = false;
        for (size_t j = 0; j < i; j++) dup |= json_equal(json_array_get(types, j), t);
        if (!dup) st = gen_type(c, s, tn, hint, &names[n++]);
    }
    if (!st) st = js_alternatives(c, hint, names, n, out);
    free(names);
    json_decref(types);
    return st;
}

tlm_status js_gen(js_ctx *c, json_t *s, const char *hint, const char **out) {
    if (json_is_true(s) || (json_is_object(s) && !js_has_constraints(s))) {
        if (json_is_object(s)) check_keywords(c, s);
        *out = js_prim(c, "value");
        return TLM_OK;
    }
    if (json_is_false(s)) return js_fail(c, TLM_ERR_UNSUPPORTED, "schema 'false' allows no value");
    if (!json_is_object(s)) return js_fail(c, TLM_ERR_FORMAT, "a schema must be an object or a boolean");
    if (++c->depth > JS_MAX_DEPTH) {
        c->depth--;
        return js_fail(c, TLM_ERR_UNSUPPORTED, "schema nested too deeply");
    }
    tlm_status st = check_keywords(c, s);
    json_t *ref = json_object_get(s, "$ref");
    if (!st && json_is_string(ref)) {
        json_t *rest = json_copy(s);
        json_object_del(rest, "$ref");
        bool alone = !js_has_constraints(rest);
        json_decref(rest);
        if (alone) {
            st = gen_ref(c, json_string_value(ref), out);
            c->depth--;
            return st;
        }
    }
    if (!st && (json_is_string(ref) || json_object_get(s, "allOf"))) {
        json_t *flat = js_flatten(c, s, 0);
        st = flat ? js_gen(c, flat, hint, out) : (c->err ? c->err->code : TLM_ERR_UNSUPPORTED);
        json_decref(flat);
    } else if (!st && (json_object_get(s, "anyOf") || json_object_get(s, "oneOf"))) {
        st = js_gen_branches(c, s, hint, out);
    } else if (!st && (json_object_get(s, "const") || json_object_get(s, "enum"))) {
        st = gen_enum(c, s, hint, out);
    } else if (!st) {
        st = gen_types(c, s, hint, out);
    }
    c->depth--;
    return st;
}

/* ---- Entry points ---- */

static void ctx_free(js_ctx *c) {
    for (uint32_t i = 0; i < c->n_rules; i++) {
        free(c->rules[i].name);
        free(c->rules[i].body);
    }
    free(c->rules);
    json_decref(c->names);
    json_decref(c->hints);
    json_decref(c->bodies);
    json_decref(c->prims);
    json_decref(c->refs);
}

tlm_status tlm_json_schema_to_gbnf(const char *schema, size_t len, char **out_gbnf, tlm_buf *warnings,
                                   tlm_error *err) {
    *out_gbnf = NULL;
    json_error_t je;
    json_t *root = json_loadb(schema, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!root)
        return tlm_error_set(err, TLM_ERR_FORMAT, "json schema: invalid JSON at line %d, column %d: %s", je.line,
                             je.column, je.text);
    js_ctx c = {.root = root, .warnings = warnings, .err = err};
    c.names = json_object();
    c.hints = json_object();
    c.bodies = json_object();
    c.prims = json_object();
    c.refs = json_object();
    const char *root_name, *top;
    tlm_status st = c.names && c.hints && c.bodies && c.prims && c.refs ? js_rule_reserve(&c, "root", &root_name)
                                                             : tlm_error_set(err, TLM_ERR_NOMEM, "json schema: out of memory");
    if (!st) st = js_gen(&c, root, "root", &top);
    if (!st) st = js_rule_define(&c, root_name, top);
    tlm_buf b = {0};
    for (uint32_t i = 0; i < c.n_rules && !st; i++) {
        if (!c.rules[i].body) st = js_fail(&c, TLM_ERR_INTERNAL, "rule %s has no body", c.rules[i].name);
        else st = tlm_buf_appendf(&b, "%s ::= %s\n", c.rules[i].name, c.rules[i].body);
    }
    ctx_free(&c);
    json_decref(root);
    if (st) {
        tlm_buf_free(&b);
        return st;
    }
    *out_gbnf = b.data;
    return TLM_OK;
}

const char *tlm_json_object_gbnf(void) {
    return "root ::= object\n"
           "value ::= object | array | string | number | \"true\" | \"false\" | \"null\"\n"
           "object ::= \"{\" ws ( string ws \":\" ws value ( ws \",\" ws string ws \":\" ws value )* ws )? \"}\"\n"
           "array ::= \"[\" ws ( value ( ws \",\" ws value )* ws )? \"]\"\n"
           "string ::= \"\\\"\" char* \"\\\"\"\n"
           "char ::= [^\"\\\\\\x00-\\x1F] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" ( [0-9a-cA-C] [0-9a-fA-F]{3} | "
           "[dD] [0-7] [0-9a-fA-F]{2} | [eEfF] [0-9a-fA-F]{3} ) )\n"
           "number ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,14} ) ( \".\" [0-9]{1,15} )? ( [eE] [-+]? [0-9]{1,2} )?\n"
           "ws ::= ( \" \" | \"\\n\" [ \\t]{0,20} )?\n";
}
