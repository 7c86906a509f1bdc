/*
 * json_schema_branch.c - anyOf and oneOf.
 *
 * anyOf: each branch (merged with the keywords beside it) becomes one
 * alternative; a branch that cannot be generated is left out, which keeps
 * the output a valid subset.
 *
 * oneOf: a document must match exactly one branch, so overlapping branches
 * are a real risk (with optional properties, "{}" often matches them all).
 * Before generating, each branch is narrowed until it is provably disjoint
 * from every other branch: an optional property the other branch forbids,
 * or whose values differ from the other's (a discriminator), is made
 * required; a property the other branch requires is left out.  A branch
 * that cannot be separated this way is not generated.  The proof is
 * conservative (types, enum/const values, required and forbidden
 * properties), so what is generated is sound.
 */
#include "grammar/json_schema_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Disjointness ---- */

enum { T_STR = 1, T_NUM = 2, T_INT = 4, T_BOOL = 8, T_NULL = 16, T_OBJ = 32, T_ARR = 64, T_ALL = 127 };

static unsigned type_bit(const char *t, bool gen) {
    if (!strcmp(t, "string")) return T_STR;
    if (!strcmp(t, "number")) return T_NUM | T_INT;
    if (!strcmp(t, "integer")) return T_INT;
    if (!strcmp(t, "boolean")) return T_BOOL;
    if (!strcmp(t, "null")) return T_NULL;
    if (!strcmp(t, "object")) return T_OBJ;
    if (!strcmp(t, "array")) return T_ARR;
    return gen ? 0 : T_ALL;
}

static unsigned value_bits(const json_t *v) {
    if (json_is_string(v)) return T_STR;
    if (json_is_integer(v)) return T_INT;
    if (json_is_real(v)) return json_real_value(v) == (double)(long long)json_real_value(v) ? T_INT : T_NUM;
    if (json_is_boolean(v)) return T_BOOL;
    if (json_is_null(v)) return T_NULL;
    return json_is_object(v) ? T_OBJ : T_ARR;
}

static json_t *values_of(json_t *s) {
    json_t *cv = json_object_get(s, "const");
    if (cv) return json_pack("[O]", cv);
    json_t *ev = json_object_get(s, "enum");
    return json_is_array(ev) ? json_incref(ev) : NULL;
}

/* The JSON types s lets through (gen: the types the generator would
 * produce for s, which follows js_gen's choices). */
static unsigned types_mask(json_t *s, bool gen) {
    if (!json_is_object(s)) return json_is_false(s) ? 0 : T_ALL;
    unsigned m = 0;
    json_t *t = json_object_get(s, "type");
    json_t *list = t ? js_types_of(t) : gen ? js_implied_types(s) : NULL;
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) if (json_is_string(x)) m |= type_bit(json_string_value(x), gen);
    if (!list || (!t && !json_array_size(list))) m = T_ALL;
    else if (json_is_true(json_object_get(s, "nullable"))) m |= T_NULL;
    json_decref(list);
    json_t *vals = values_of(s);
    if (vals) {
        unsigned v = 0;
        json_array_foreach(vals, i, x) v |= value_bits(x);
        m &= v;
        json_decref(vals);
    }
    return m;
}

static bool only_declared(json_t *g) {
    json_t *a = json_object_get(g, "additionalProperties");
    if (json_object_get(g, "patternProperties")) return true; /* js_gen_object adds no extra keys then */
    if (json_is_false(a)) return true;
    return !a && (json_object_get(g, "properties") || json_object_get(g, "required"));
}

static bool listed(json_t *arr, const char *k) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), k)) return true;
    return false;
}

static bool disjoint(json_t *g, json_t *s, int depth);

/* Both objects: does a property tell them apart? */
static bool objects_disjoint(json_t *g, json_t *s, int depth) {
    json_t *gp = json_object_get(g, "properties"), *sp = json_object_get(s, "properties");
    json_t *greq = json_object_get(g, "required"), *sreq = json_object_get(s, "required");
    bool s_closed = json_is_false(json_object_get(s, "additionalProperties")) &&
                    !json_object_get(s, "patternProperties");
    size_t i;
    json_t *v;
    json_array_foreach(greq, i, v) {
        const char *p = json_string_value(v);
        if (!p) continue;
        json_t *sv = json_object_get(sp, p), *gv = json_object_get(gp, p);
        if (s_closed && !sv) return true;
        if (sv && disjoint(gv ? gv : json_true(), sv, depth + 1)) return true;
    }
    json_array_foreach(sreq, i, v) {
        const char *r = json_string_value(v);
        if (!r) continue;
        json_t *gv = json_object_get(gp, r);
        if (json_is_false(gv) || (only_declared(g) && !gv && !listed(greq, r))) return true;
    }
    return false;
}

/* True only if no document generated for g can validate against s. */
static bool disjoint(json_t *g, json_t *s, int depth) {
    if (depth > 8 || json_is_false(g)) return json_is_false(g);
    if (json_is_false(s)) return true;
    unsigned gm = types_mask(g, true), sm = types_mask(s, false);
    if (!(gm & sm)) return true;
    json_t *gv = values_of(g), *sv = values_of(s);
    bool apart = false;
    if (gv && sv) {
        apart = true;
        size_t i, j;
        json_t *a, *b;
        json_array_foreach(gv, i, a) json_array_foreach(sv, j, b) apart &= !json_equal(a, b);
    }
    /* s = {not: X}: g's values all inside X's enum. */
    json_t *xv = values_of(json_object_get(s, "not"));
    if (!apart && gv && xv) {
        apart = true;
        size_t i, j;
        json_t *a, *b;
        json_array_foreach(gv, i, a) {
            bool in = false;
            json_array_foreach(xv, j, b) in |= json_equal(a, b);
            apart &= in;
        }
    }
    json_decref(xv);
    json_decref(gv);
    json_decref(sv);
    if (apart) return true;
    return gm == T_OBJ && json_is_object(s) && objects_disjoint(g, s, depth);
}

/* Narrows g (a private deep copy) one step towards being disjoint from s;
 * false if no step was found. */
static bool separate(json_t *g, json_t *s) {
    if (types_mask(g, true) != T_OBJ || !json_is_object(s)) return false;
    json_t *gp = json_object_get(g, "properties"), *sp = json_object_get(s, "properties");
    json_t *greq = json_object_get(g, "required");
    if (!json_is_array(greq)) json_object_set_new(g, "required", greq = json_array());
    bool s_closed = json_is_false(json_object_get(s, "additionalProperties")) &&
                    !json_object_get(s, "patternProperties");
    const char *k;
    json_t *v;
    /* Make required a property the other branch rejects. */
    json_object_foreach(gp, k, v) {
        if (json_is_false(v) || listed(greq, k)) continue;
        json_t *sv = json_object_get(sp, k);
        if ((s_closed && !sv) || (sv && disjoint(v, sv, 1))) {
            json_array_append_new(greq, json_string(k));
            return true;
        }
    }
    /* g accepts any value for a property it does not declare: give it one
     * of a type the other branch's schema for it rejects. */
    bool g_open = !json_object_get(g, "additionalProperties") && !json_object_get(g, "patternProperties") &&
                  !json_object_get(g, "propertyNames") && !json_object_get(g, "maxProperties");
    if (!gp) json_object_set_new(g, "properties", gp = json_object());
    json_object_foreach(sp, k, v) {
        if (!g_open || json_object_get(gp, k)) continue;
        static const char *const order[] = {"null", "boolean", "integer", "string", "array", "object"};
        unsigned allowed = types_mask(v, false);
        for (int t = 0; t < 6; t++)
            if (!(allowed & type_bit(order[t], true))) {
                json_t *val = json_pack("{s:s}", "type", order[t]);
                if (!strcmp(order[t], "array")) json_object_set_new(val, "maxItems", json_integer(0));
                json_object_set_new(gp, k, val);
                json_array_append_new(greq, json_string(k));
                return true;
            }
    }
    /* Leave out a property the other branch requires. */
    size_t i;
    json_array_foreach(json_object_get(s, "required"), i, v) {
        const char *r = json_string_value(v);
        if (!r || listed(greq, r) || !only_declared(g) || !json_object_get(gp, r)) continue;
        json_object_set_new(gp, r, json_false());
        return true;
    }
    return false;
}

/* ---- Generation ---- */

/* Narrows gen[i] until it is disjoint from every other branch; false if
 * that failed and the branch must be left out. */
static bool make_exclusive(js_ctx *c, json_t *g, json_t **raw, size_t n, size_t i) {
    for (size_t j = 0; j < n; j++) {
        if (j == i) continue;
        json_t *other = raw[j] ? raw[j] : json_true();
        for (int tries = 0; !disjoint(g, other, 0); tries++)
            if (tries > 32 || !separate(g, other)) {
                js_warn(c, "oneOf branch %zu overlaps branch %zu: left out", i, j);
                return false;
            }
    }
    return true;
}

tlm_status js_gen_branches(js_ctx *c, json_t *s, const char *hint, const char **out) {
    json_t *any = json_object_get(s, "anyOf"), *one = json_object_get(s, "oneOf");
    if (any && one) return js_fail(c, TLM_ERR_UNSUPPORTED, "anyOf together with oneOf is not supported");
    json_t *arr = any ? any : one;
    if (!json_is_array(arr) || !json_array_size(arr))
        return js_fail(c, TLM_ERR_FORMAT, "%s must be a non-empty array", any ? "anyOf" : "oneOf");
    json_t *base = json_copy(s);
    json_object_del(base, "anyOf");
    json_object_del(base, "oneOf");
    bool constrained = js_has_constraints(base);
    size_t n = json_array_size(arr), k = 0;
    const char **names = tlm_calloc(n, sizeof *names);
    json_t **raw = tlm_calloc(n, sizeof *raw), **gen = tlm_calloc(n, sizeof *gen);
    tlm_status st = names && raw && gen ? TLM_OK : js_fail(c, TLM_ERR_NOMEM, "out of memory");
    tlm_status first_err = TLM_OK;
    tlm_error saved = {0};
    for (size_t i = 0; i < n && !st; i++) { /* each branch, with the keywords beside it */
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        size_t mark = js_path_push(c, any ? "/anyOf/" : "/oneOf/", idx);
        raw[i] = js_flatten(c, json_array_get(arr, i), 0);
        json_t *sub = raw[i] && constrained ? js_merge(c, base, raw[i]) : json_incref(raw[i]);
        gen[i] = sub ? json_deep_copy(sub) : NULL;
        json_decref(sub);
        if (!gen[i] && !first_err) {
            first_err = c->err ? c->err->code : TLM_ERR_UNSUPPORTED;
            if (c->err) saved = *c->err;
        }
        c->path[mark] = '\0';
    }
    for (size_t i = 0; i < n && !st && one; i++)
        if (gen[i] && !make_exclusive(c, gen[i], raw, n, i)) {
            json_decref(gen[i]);
            gen[i] = NULL;
        }
    for (size_t i = 0; i < n && !st; i++) {
        if (!gen[i]) continue;
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        size_t mark = js_path_push(c, any ? "/anyOf/" : "/oneOf/", idx);
        tlm_status bs = js_gen(c, gen[i], hint, &names[k]);
        if (bs == TLM_ERR_NOMEM) st = bs;
        if (!bs) k++;
        /* A branch that cannot be generated is left out: the rest is still
         * a valid subset.  Only when none is left is it an error. */
        if (bs && !first_err) {
            first_err = bs;
            if (c->err) saved = *c->err;
        }
        if (bs && bs != TLM_ERR_NOMEM) js_warn(c, "branch left out: %s", c->err ? c->err->msg : "error");
        c->path[mark] = '\0';
    }
    if (!st && !k) {
        st = first_err ? first_err : js_fail(c, TLM_ERR_UNSUPPORTED, "oneOf: no branch could be kept apart from the others");
        if (c->err && first_err) *c->err = saved;
    }
    if (!st) st = js_alternatives(c, hint, names, k, out);
    for (size_t i = 0; i < n; i++) {
        if (raw) json_decref(raw[i]);
        if (gen) json_decref(gen[i]);
    }
    free(raw);
    free(gen);
    free(names);
    json_decref(base);
    return st;
}
