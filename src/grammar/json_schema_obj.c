/*
 * json_schema_obj.c - grammar rules for JSON Schema objects and arrays.
 *
 * Objects: properties come out in the order the schema declares them;
 * required ones always, optional ones maybe.  With properties p1..pn, two
 * families of rules get the commas right without ambiguity:
 *   first_i: the properties i..n when none has been written yet,
 *   rest_i:  the properties i..n after at least one (each preceded by ",").
 * Additional properties (when additionalProperties allows them) follow the
 * declared ones, with keys that differ from every declared key.  Keywords
 * that restrict which properties appear (min/maxProperties, dependencies,
 * propertyNames) are met by promoting or dropping optional properties, which
 * keeps every output valid.
 *
 * Arrays: a tuple part (prefixItems, or items as an array) and a repeated
 * part, with minItems/maxItems as repetition bounds.
 */
#include "grammar/json_schema_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JS_MAX_ITEMS 1000u /* larger maxItems is capped: a subset */

typedef struct prop {
    const char *name;
    json_t *schema; /* owned reference */
    bool required, dropped;
} prop;

enum { ADDL_NONE, ADDL_ANY, ADDL_SCHEMA };

typedef struct objgen {
    prop *p;
    size_t n;
    int mode;
    json_t *addl;  /* the additionalProperties schema (borrowed) */
    json_t *avoid; /* keys additional properties must not use */
} objgen;

static bool is_empty_schema(json_t *s) { return json_is_true(s) || (json_is_object(s) && !json_object_size(s)); }

static prop *find_prop(objgen *o, const char *name) {
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->p[i].name, name)) return &o->p[i];
    return NULL;
}

static tlm_status add_prop(js_ctx *c, objgen *o, const char *name, json_t *schema, bool req) {
    if (json_is_false(schema)) {
        if (req) return js_fail(c, TLM_ERR_UNSUPPORTED, "required property '%.60s' has schema false", name);
        json_array_append_new(o->avoid, json_string(name));
        return TLM_OK;
    }
    prop *q = tlm_realloc(o->p, (o->n + 1) * sizeof *q);
    if (!q) return js_fail(c, TLM_ERR_NOMEM, "out of memory");
    o->p = q;
    o->p[o->n++] = (prop){name, json_incref(schema), req, false};
    json_array_append_new(o->avoid, json_string(name));
    return TLM_OK;
}

static bool name_required(json_t *req, const char *name) {
    size_t i;
    json_t *v;
    json_array_foreach(req, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), name)) return true;
    return false;
}

/* A property that must be present but is not declared takes the
 * additionalProperties schema. */
static tlm_status require(js_ctx *c, objgen *o, const char *name) {
    prop *p = find_prop(o, name);
    if (p) {
        if (p->dropped) return js_fail(c, TLM_ERR_UNSUPPORTED, "property '%.60s' is both required and excluded", name);
        p->required = true;
        return TLM_OK;
    }
    if (json_is_false(o->addl))
        return js_fail(c, TLM_ERR_UNSUPPORTED, "required property '%.60s' is not allowed by additionalProperties", name);
    return add_prop(c, o, name, json_is_object(o->addl) ? o->addl : json_true(), true);
}

static tlm_status collect(js_ctx *c, json_t *s, objgen *o) {
    json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    json_t *uneval = json_object_get(s, "unevaluatedProperties");
    if (props && !json_is_object(props)) return js_fail(c, TLM_ERR_FORMAT, "properties must be an object");
    if (req && !json_is_array(req)) {
        js_warn(c, "'required' that is not an array ignored");
        req = NULL;
    }
    o->addl = json_object_get(s, "additionalProperties");
    if (uneval && !is_empty_schema(uneval) && !json_is_false(uneval))
        return js_fail(c, TLM_ERR_UNSUPPORTED, "keyword 'unevaluatedProperties' with a schema is not supported");
    /* Only declared properties are generated, and the generated ones are
     * all evaluated, so unevaluatedProperties:false acts like this: */
    if (json_is_false(uneval) && !o->addl) o->addl = json_false();
    if (json_is_false(o->addl))
        o->mode = ADDL_NONE;
    else if (json_is_object(o->addl) && json_object_size(o->addl))
        o->mode = ADDL_SCHEMA;
    else if (o->addl)
        o->mode = ADDL_ANY;
    else
        o->mode = props || req ? ADDL_NONE : ADDL_ANY;
    const char *k;
    json_t *v;
    tlm_status st = TLM_OK;
    json_object_foreach(props, k, v) if (!st) st = add_prop(c, o, k, v, name_required(req, k));
    size_t i;
    json_array_foreach(req, i, v) if (!st && json_is_string(v)) st = require(c, o, json_string_value(v));
    return st;
}

/* patternProperties: a declared property whose name matches a pattern must
 * satisfy both schemas; no additional keys are generated. */
static tlm_status pattern_props(js_ctx *c, json_t *s, objgen *o) {
    json_t *pp = json_object_get(s, "patternProperties");
    if (!pp || !json_object_size(pp)) return TLM_OK;
    o->mode = ADDL_NONE;
    const char *pat;
    json_t *ps;
    json_object_foreach(pp, pat, ps) {
        rx_dfa d;
        tlm_status st = rx_compile(pat, "patternProperties", &d, c->err);
        if (st) return st;
        for (size_t i = 0; i < o->n; i++)
            if (rx_dfa_matches(&d, o->p[i].name, strlen(o->p[i].name))) {
                json_t *both = json_pack("{s:[O,O]}", "allOf", o->p[i].schema, ps);
                json_decref(o->p[i].schema);
                o->p[i].schema = both;
            }
        rx_dfa_free(&d);
    }
    return TLM_OK;
}

static uint32_t cp_count(const char *s) {
    uint32_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* propertyNames: checks each declared name against the simple keywords;
 * failing optional properties are dropped. */
static tlm_status property_names(js_ctx *c, json_t *s, objgen *o) {
    json_t *pn = json_object_get(s, "propertyNames");
    if (!pn || is_empty_schema(pn)) return TLM_OK;
    if (!json_is_object(pn)) return js_fail(c, TLM_ERR_UNSUPPORTED, "propertyNames false: no property allowed");
    o->mode = ADDL_NONE;
    const char *k;
    json_t *v;
    json_object_foreach(pn, k, v) if (strcmp(k, "pattern") && strcmp(k, "minLength") && strcmp(k, "maxLength") &&
                                       strcmp(k, "type") && strcmp(k, "description") && strcmp(k, "title"))
        return js_fail(c, TLM_ERR_UNSUPPORTED, "propertyNames with '%s' is not supported", k);
    rx_dfa d;
    json_t *pat = json_object_get(pn, "pattern");
    if (json_is_string(pat)) {
        tlm_status st = rx_compile(json_string_value(pat), "propertyNames", &d, c->err);
        if (st) return st;
    }
    double mn = json_number_value(json_object_get(pn, "minLength"));
    json_t *mxj = json_object_get(pn, "maxLength");
    double mx = mxj ? json_number_value(mxj) : INFINITY;
    tlm_status st = TLM_OK;
    for (size_t i = 0; i < o->n && !st; i++) {
        uint32_t len = cp_count(o->p[i].name);
        bool ok = len >= mn && len <= mx &&
                  (!json_is_string(pat) || rx_dfa_matches(&d, o->p[i].name, strlen(o->p[i].name)));
        if (ok) continue;
        if (o->p[i].required)
            st = js_fail(c, TLM_ERR_UNSUPPORTED, "required property '%.60s' violates propertyNames", o->p[i].name);
        o->p[i].dropped = true;
    }
    if (json_is_string(pat)) rx_dfa_free(&d);
    return st;
}

/* dependencies / dependentRequired / dependentSchemas. */
static tlm_status dependencies(js_ctx *c, json_t *s, objgen *o) {
    static const char *const kws[] = {"dependencies", "dependentRequired", "dependentSchemas"};
    for (size_t kw = 0; kw < 3; kw++) {
        json_t *deps = json_object_get(s, kws[kw]);
        const char *trig;
        json_t *d;
        json_object_foreach(deps, trig, d) {
            prop *t = find_prop(o, trig);
            if (!t || t->dropped) {
                json_array_append_new(o->avoid, json_string(trig)); /* never an additional key */
                continue;
            }
            bool all_req = json_is_array(d);
            size_t i;
            json_t *x;
            json_array_foreach(d, i, x) {
                prop *q = json_is_string(x) ? find_prop(o, json_string_value(x)) : NULL;
                all_req &= q && q->required && !q->dropped;
            }
            if (all_req) continue;
            if (t->required && json_is_array(d)) {
                json_array_foreach(d, i, x) if (json_is_string(x)) {
                    tlm_status st = require(c, o, json_string_value(x));
                    if (st) return st;
                }
            } else if (t->required) {
                return js_fail(c, TLM_ERR_UNSUPPORTED, "keyword '%s' with a schema on required property '%.60s' is not supported",
                               kws[kw], trig);
            } else {
                t->dropped = true; /* leaving the trigger out satisfies it */
            }
        }
    }
    return TLM_OK;
}

/* minProperties / maxProperties, by promoting or dropping optional ones. */
static tlm_status property_counts(js_ctx *c, json_t *s, objgen *o) {
    json_t *mn = json_object_get(s, "minProperties"), *mx = json_object_get(s, "maxProperties");
    size_t req = 0;
    for (size_t i = 0; i < o->n; i++) req += o->p[i].required && !o->p[i].dropped;
    if (json_is_number(mn)) {
        double want = json_number_value(mn);
        for (size_t i = 0; i < o->n && req < want; i++)
            if (!o->p[i].required && !o->p[i].dropped) o->p[i].required = true, req++;
        if (req < want) return js_fail(c, TLM_ERR_UNSUPPORTED, "keyword 'minProperties' needs more properties than are declared");
    }
    if (json_is_number(mx)) {
        double cap = json_number_value(mx);
        if (req > cap) return js_fail(c, TLM_ERR_UNSUPPORTED, "maxProperties is below the number of required properties");
        o->mode = ADDL_NONE;
        size_t opt_left = (size_t)(cap - req);
        for (size_t i = 0; i < o->n; i++)
            if (!o->p[i].required && !o->p[i].dropped) {
                if (opt_left)
                    opt_left--;
                else
                    o->p[i].dropped = true;
            }
    }
    return TLM_OK;
}

/* "KEY" ws ":" ws VALUE for one declared property. */
static tlm_status kv_expr(js_ctx *c, const prop *p, const char *hint, tlm_buf *out) {
    json_t *js = json_string(p->name);
    char *key = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    if (!key) return js_fail(c, TLM_ERR_FORMAT, "property name is not valid UTF-8");
    size_t mark = js_path_push(c, "/properties/", p->name);
    const char *val;
    char sub[80];
    snprintf(sub, sizeof sub, "%s-%s", hint, p->name);
    tlm_status st = js_gen(c, p->schema, sub, &val);
    c->path[mark] = '\0';
    const char *ws = js_prim(c, "ws");
    if (!st) st = js_lit(out, key, strlen(key));
    if (!st) st = tlm_buf_appendf(out, " %s \":\" %s %s", ws, ws, val);
    free(key);
    return st;
}

/* Joins parts into a rule (or "" when the expression is empty). */
static tlm_status seq_rule(js_ctx *c, const char *hint, const char *expr, const char **out) {
    if (!*expr) {
        *out = "";
        return TLM_OK;
    }
    return js_rule_add(c, hint, expr, out);
}

static tlm_status object_rules(js_ctx *c, objgen *o, const char *hint, const char **out) {
    const char *ws = js_prim(c, "ws"), *rest = "", *first = "";
    tlm_buf e = {0}, kv = {0};
    tlm_status st = TLM_OK;
    char h[80];
    if (o->mode != ADDL_NONE) {
        const char *key, *val;
        size_t mark = js_path_push(c, "/additionalProperties", NULL);
        st = js_gen_other_key(c, o->avoid, &key);
        if (!st) st = o->mode == ADDL_SCHEMA ? js_gen(c, o->addl, hint, &val) : ((val = js_prim(c, "value")), TLM_OK);
        c->path[mark] = '\0';
        if (!st) st = tlm_buf_appendf(&kv, "%s %s \":\" %s %s", key, ws, ws, val);
        snprintf(h, sizeof h, "%s-more", hint);
        if (!st) st = tlm_buf_appendf(&e, "( %s \",\" %s %s )*", ws, ws, kv.data);
        if (!st) st = seq_rule(c, h, e.data, &rest);
        e.len = 0;
        if (!st) st = tlm_buf_appendf(&e, "( %s ( %s \",\" %s %s )* )?", kv.data, ws, ws, kv.data);
        if (!st) st = seq_rule(c, h, e.data, &first);
    }
    for (size_t i = o->n; i-- > 0 && !st;) {
        const prop *p = &o->p[i];
        if (p->dropped) continue;
        kv.len = 0;
        if ((st = kv_expr(c, p, hint, &kv))) {
            /* Leaving an optional property out keeps the output valid. */
            if (p->required || st == TLM_ERR_NOMEM) break;
            js_warn(c, "optional property '%s' left out: %s", p->name, c->err ? c->err->msg : "");
            st = TLM_OK;
            continue;
        }
        snprintf(h, sizeof h, "%s-%s-rest", hint, p->name);
        e.len = 0;
        st = p->required ? tlm_buf_appendf(&e, "%s \",\" %s %s %s", ws, ws, kv.data, rest)
                         : tlm_buf_appendf(&e, "( %s \",\" %s %s )? %s", ws, ws, kv.data, rest);
        const char *new_rest = "";
        if (!st) st = seq_rule(c, h, e.data, &new_rest);
        snprintf(h, sizeof h, "%s-%s", hint, p->name);
        e.len = 0;
        if (!st && p->required)
            st = tlm_buf_appendf(&e, "%s %s", kv.data, rest);
        else if (!st && !*first)
            st = tlm_buf_appendf(&e, "( %s %s )?", kv.data, rest);
        else if (!st)
            st = tlm_buf_appendf(&e, "%s %s | %s", kv.data, rest, first);
        if (!st) st = seq_rule(c, h, e.data, &first);
        rest = new_rest;
    }
    e.len = 0;
    if (!st) st = *first ? tlm_buf_appendf(&e, "\"{\" %s %s %s \"}\"", ws, first, ws) : tlm_buf_appendf(&e, "\"{\" %s \"}\"", ws);
    if (!st) st = js_rule_add(c, hint, e.data, out);
    tlm_buf_free(&e);
    tlm_buf_free(&kv);
    return st;
}

tlm_status js_gen_object(js_ctx *c, json_t *s, const char *hint, const char **out) {
    objgen o = {.avoid = json_array()};
    tlm_status st = o.avoid ? collect(c, s, &o) : js_fail(c, TLM_ERR_NOMEM, "out of memory");
    if (!st) st = pattern_props(c, s, &o);
    if (!st) st = property_names(c, s, &o);
    if (!st) st = dependencies(c, s, &o);
    if (!st) st = property_counts(c, s, &o);
    if (!st) st = object_rules(c, &o, hint, out);
    for (size_t i = 0; i < o.n; i++) json_decref(o.p[i].schema);
    free(o.p);
    json_decref(o.avoid);
    return st;
}

/* ---- Arrays ---- */

static tlm_status array_bounds(js_ctx *c, json_t *s, uint32_t *min, uint32_t *max) {
    json_t *a = json_object_get(s, "minItems"), *b = json_object_get(s, "maxItems");
    double lo = json_is_number(a) ? ceil(json_number_value(a)) : 0;
    double hi = json_is_number(b) ? floor(json_number_value(b)) : INFINITY;
    if (lo > JS_MAX_ITEMS) return js_fail(c, TLM_ERR_UNSUPPORTED, "minItems %.0f is too large", lo);
    *min = lo > 0 ? (uint32_t)lo : 0;
    *max = hi > JS_MAX_ITEMS ? UINT32_MAX : hi < 0 ? 0 : (uint32_t)hi;
    json_t *u = json_object_get(s, "uniqueItems");
    if (json_is_true(u) && *max > 1)
        return js_fail(c, TLM_ERR_UNSUPPORTED, "keyword 'uniqueItems' is not supported (unless maxItems <= 1)");
    if (json_object_get(s, "contains")) return js_fail(c, TLM_ERR_UNSUPPORTED, "keyword 'contains' is not supported");
    return TLM_OK;
}

/* ( ws "," ws item ){lo,hi} */
static tlm_status more_items(tlm_buf *e, const char *ws, const char *item, uint32_t lo, uint32_t hi) {
    if (hi == 0) return TLM_OK;
    if (hi == UINT32_MAX) return tlm_buf_appendf(e, " ( %s \",\" %s %s ){%u,}", ws, ws, item, lo);
    return tlm_buf_appendf(e, " ( %s \",\" %s %s ){%u,%u}", ws, ws, item, lo, hi);
}

tlm_status js_gen_array(js_ctx *c, json_t *s, const char *hint, const char **out) {
    uint32_t min = 0, max = 0;
    tlm_status st = array_bounds(c, s, &min, &max);
    if (st) return st;
    json_t *prefix = json_object_get(s, "prefixItems"), *items = json_object_get(s, "items");
    json_t *rest = prefix ? items : json_is_array(items) ? json_object_get(s, "additionalItems") : items;
    if (!prefix && json_is_array(items)) prefix = items;
    json_t *uneval = json_object_get(s, "unevaluatedItems");
    if (uneval && !is_empty_schema(uneval) && !json_is_false(uneval))
        return js_fail(c, TLM_ERR_UNSUPPORTED, "keyword 'unevaluatedItems' with a schema is not supported");
    if (!rest && json_is_false(uneval)) rest = json_false();
    uint32_t k = (uint32_t)json_array_size(prefix);
    if (json_is_false(rest) && max > k) max = k;
    if (min > max) return js_fail(c, TLM_ERR_UNSUPPORTED, "minItems cannot be met: no array fits");
    if (max == UINT32_MAX && min > 0 && JS_MAX_ITEMS < min) max = min;
    const char *ws = js_prim(c, "ws"), *r = NULL;
    char h[80];
    snprintf(h, sizeof h, "%s-item", hint);
    if (max > k) {
        size_t mark = js_path_push(c, "/items", NULL);
        st = rest ? js_gen(c, rest, h, &r) : ((r = js_prim(c, "value")), TLM_OK);
        if (st && st != TLM_ERR_NOMEM && min <= k) { /* no items past the tuple: still valid */
            js_warn(c, "array items left out: %s", c->err ? c->err->msg : "");
            st = TLM_OK;
            r = NULL;
            max = k;
        }
        c->path[mark] = '\0';
        if (st) return st;
    }
    uint32_t kmax = TLM_MIN(k, max);
    tlm_buf e = {0};
    const char *t = ""; /* the elements from position i on, after element i-1 */
    /* The repeated part after the tuple. */
    if (r) {
        uint32_t lo = min > kmax ? min - kmax : 0, hi = max == UINT32_MAX ? UINT32_MAX : max - kmax;
        if (kmax == 0) {
            st = tlm_buf_appendf(&e, "%s", r);
            if (!st) st = more_items(&e, ws, r, lo ? lo - 1 : 0, hi == UINT32_MAX ? hi : hi - 1);
        } else {
            st = more_items(&e, ws, r, lo, hi);
        }
        if (!st && e.len) st = seq_rule(c, h, e.data, &t);
    }
    for (uint32_t i = kmax; i-- > 0 && !st;) {
        char idx[16];
        snprintf(idx, sizeof idx, "%u", i);
        size_t mark = js_path_push(c, "/prefixItems/", idx);
        const char *pi;
        st = js_gen(c, json_array_get(prefix, i), h, &pi);
        c->path[mark] = '\0';
        e.len = 0;
        if (!st && i + 1 == kmax)
            st = tlm_buf_appendf(&e, "%s %s", pi, t);
        else if (!st)
            st = tlm_buf_appendf(&e, i + 1 < min ? "%s %s \",\" %s %s" : "%s ( %s \",\" %s %s )?", pi, ws, ws, t);
        if (!st) st = seq_rule(c, h, e.data, &t);
    }
    e.len = 0;
    if (!st && !*t)
        st = tlm_buf_appendf(&e, "\"[\" %s \"]\"", ws);
    else if (!st)
        st = tlm_buf_appendf(&e, min > 0 ? "\"[\" %s %s %s \"]\"" : "\"[\" %s ( %s %s )? \"]\"", ws, t, ws);
    if (!st) st = js_rule_add(c, hint, e.data, out);
    tlm_buf_free(&e);
    return st;
}
