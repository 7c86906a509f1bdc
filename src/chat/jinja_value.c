/*
 * jinja_value.c - the value model of the Jinja interpreter: the arena that
 * owns every value of a render, constructors, and the Python semantics that
 * templates rely on (truthiness, ==, ordering, len(), iteration).
 *
 * Python is the reference: `1 == 1.0 == True`, a tuple never equals a list,
 * dicts keep insertion order, len() of a str counts code points, and
 * ordering mixed types raises TypeError.  Each rule below says where it
 * differs from what a C programmer would guess.
 */
#include "chat/jinja.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Arena ---- */

typedef struct tlm_jchunk {
    struct tlm_jchunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} tlm_jchunk;

struct tlm_jarena {
    tlm_jchunk *head;
    size_t total;
    size_t limit;
};

tlm_jarena *tlm_jarena_create(size_t limit) {
    tlm_jarena *a = tlm_calloc(1, sizeof *a);
    if (a) a->limit = limit;
    return a;
}

void tlm_jarena_free(tlm_jarena *a) {
    if (!a) return;
    for (tlm_jchunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *tlm_jarena_alloc(tlm_jarena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    tlm_jchunk *h = a->head;
    if (!h || h->size - h->used < n) {
        /* Chunks double so that a render making many values does few
         * mallocs; a big request gets a chunk of its own size. */
        size_t want = h ? h->size * 2 : 4096;
        if (want > ((size_t)1 << 24)) want = (size_t)1 << 24;
        if (want < n) want = n;
        if (a->limit && a->total + want > a->limit) {
            if (a->total + n > a->limit) return NULL;
            want = n;
        }
        tlm_jchunk *c = tlm_calloc(1, sizeof *c + want);
        if (!c) return NULL;
        c->size = want;
        c->next = a->head;
        a->head = c;
        a->total += want;
        h = c;
    }
    void *p = h->data + h->used;
    h->used += n;
    return p;
}

char *tlm_jarena_strndup(tlm_jarena *a, const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *p = tlm_jarena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

size_t tlm_jarena_used(const tlm_jarena *a) { return a->total; }

/* ---- Errors ---- */

tlm_status tlm_jerr(tlm_jctx *c, tlm_status code, const char *fmt, ...) {
    if (c->err) {
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        tlm_error_set(c->err, code, "template line %d: %s", c->line, msg);
    }
    return code;
}

tlm_status tlm_jerr_undef(tlm_jctx *c, tlm_jv v) {
    return tlm_jerr(c, TLM_ERR_NOT_FOUND, "%s", v.u.undef ? v.u.undef : "value is undefined");
}

static tlm_status nomem(tlm_jctx *c) {
    return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory (render memory limit is %zu bytes)",
                    c->lim ? c->lim->max_memory : (size_t)0);
}

/* ---- Constructors ---- */

tlm_status tlm_jv_str(tlm_jctx *c, const char *p, size_t len, tlm_jv *out) {
    tlm_status st = tlm_jcharge(c, len);
    if (st != TLM_OK) return st;
    char *s = tlm_jarena_strndup(c->arena, p, len);
    if (!s) return nomem(c);
    *out = tlm_jv_strref(s, len);
    return TLM_OK;
}

tlm_status tlm_jv_strbuf(tlm_jctx *c, tlm_buf *b, tlm_jv *out) {
    tlm_status st = tlm_jv_str(c, b->data ? b->data : "", b->len, out);
    tlm_buf_free(b);
    return st;
}

static tlm_status seq_new(tlm_jctx *c, tlm_jv_kind kind, size_t n, tlm_jv *out) {
    tlm_jlist *l = tlm_jarena_alloc(c->arena, sizeof *l);
    if (!l || n > SIZE_MAX / sizeof(tlm_jv)) return nomem(c);
    if (n) {
        l->items = tlm_jarena_alloc(c->arena, n * sizeof(tlm_jv));
        if (!l->items) return nomem(c);
        for (size_t i = 0; i < n; i++) l->items[i].kind = TLM_JV_NONE;
    }
    l->n = l->cap = n;
    out->kind = (uint8_t)kind;
    out->flags = 0;
    out->u.list = l;
    return TLM_OK;
}

tlm_status tlm_jv_list(tlm_jctx *c, size_t n, tlm_jv *out) {
    return seq_new(c, TLM_JV_LIST, n, out);
}

tlm_status tlm_jv_tuple(tlm_jctx *c, size_t n, tlm_jv *out) {
    return seq_new(c, TLM_JV_TUPLE, n, out);
}

tlm_status tlm_jv_list_push(tlm_jctx *c, tlm_jv *list, tlm_jv item) {
    tlm_jlist *l = list->u.list;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        tlm_jv *items = tlm_jarena_alloc(c->arena, cap * sizeof *items);
        if (!items) return nomem(c);
        if (l->n) memcpy(items, l->items, l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = item;
    return TLM_OK;
}

tlm_status tlm_jv_dict(tlm_jctx *c, tlm_jv *out) {
    tlm_jdict *d = tlm_jarena_alloc(c->arena, sizeof *d);
    if (!d) return nomem(c);
    out->kind = TLM_JV_DICT;
    out->flags = 0;
    out->u.dict = d;
    return TLM_OK;
}

/* Appends without looking for the key: for keys known to be new. */
static tlm_status dict_append(tlm_jctx *c, tlm_jv *dict, tlm_jv key, tlm_jv val) {
    tlm_jdict *d = dict->u.dict;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        tlm_jv *keys = tlm_jarena_alloc(c->arena, cap * sizeof *keys);
        tlm_jv *vals = tlm_jarena_alloc(c->arena, cap * sizeof *vals);
        if (!keys || !vals) return nomem(c);
        if (d->n) {
            memcpy(keys, d->keys, d->n * sizeof *keys);
            memcpy(vals, d->vals, d->n * sizeof *vals);
        }
        d->keys = keys;
        d->vals = vals;
        d->cap = cap;
    }
    d->keys[d->n] = key;
    d->vals[d->n] = val;
    d->n++;
    return TLM_OK;
}

tlm_status tlm_jv_dict_set(tlm_jctx *c, tlm_jv *dict, tlm_jv key, tlm_jv val) {
    tlm_jdict *d = dict->u.dict;
    for (size_t i = 0; i < d->n; i++) {
        if (tlm_jv_equal(d->keys[i], key)) {
            /* Python keeps the first key object and the last value. */
            d->vals[i] = val;
            return TLM_OK;
        }
    }
    /* Lookups are linear (dicts in chat data are small); charge big
     * dicts to the step budget so that building one cannot stall. */
    if (c->lim && c->lim->max_steps && d->n >= 64) {
        c->steps += d->n / 64;
        tlm_status st = tlm_jstep(c);
        if (st != TLM_OK) return st;
    }
    return dict_append(c, dict, key, val);
}

tlm_status tlm_jv_iter(tlm_jctx *c, const tlm_jv *items, size_t n, tlm_jv *out) {
    tlm_jiter *it = tlm_jarena_alloc(c->arena, sizeof *it);
    if (!it) return nomem(c);
    it->items = (tlm_jv *)items;
    it->n = n;
    out->kind = TLM_JV_ITER;
    out->flags = 0;
    out->u.iter = it;
    return TLM_OK;
}

tlm_status tlm_jv_func(tlm_jctx *c, const char *name, tlm_jbuiltin fn, tlm_jv self, tlm_jv *out) {
    tlm_jfunc *f = tlm_jarena_alloc(c->arena, sizeof *f);
    if (!f) return nomem(c);
    f->name = name;
    f->fn = fn;
    f->self = self;
    out->kind = TLM_JV_FUNC;
    out->flags = 0;
    out->u.fn = f;
    return TLM_OK;
}

tlm_status tlm_jv_undef_fmt(tlm_jctx *c, tlm_jv *out, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
    char *s = tlm_jarena_strndup(c->arena, msg, (size_t)n);
    if (!s) return nomem(c);
    *out = tlm_jv_undef(s);
    return TLM_OK;
}

/* ---- Lookups and predicates ---- */

const tlm_jv *tlm_jv_dict_get(const tlm_jdict *d, tlm_jv key) {
    for (size_t i = 0; i < d->n; i++)
        if (tlm_jv_equal(d->keys[i], key)) return &d->vals[i];
    return NULL;
}

const tlm_jv *tlm_jv_dict_getz(const tlm_jdict *d, const char *key) {
    size_t len = strlen(key);
    for (size_t i = 0; i < d->n; i++) {
        const tlm_jv *k = &d->keys[i];
        if (k->kind == TLM_JV_STR && k->u.s.len == len && memcmp(k->u.s.p, key, len) == 0)
            return &d->vals[i];
    }
    return NULL;
}

bool tlm_jv_is_str(tlm_jv v, const char *z) {
    size_t len = strlen(z);
    return v.kind == TLM_JV_STR && v.u.s.len == len && memcmp(v.u.s.p, z, len) == 0;
}

bool tlm_jv_truthy(tlm_jv v) {
    switch ((tlm_jv_kind)v.kind) {
    case TLM_JV_UNDEF:
    case TLM_JV_NONE: return false;
    case TLM_JV_BOOL: return v.u.b;
    case TLM_JV_INT: return v.u.i != 0;
    case TLM_JV_FLOAT: return v.u.f != 0.0;
    case TLM_JV_STR: return v.u.s.len != 0;
    case TLM_JV_LIST:
    case TLM_JV_TUPLE: return v.u.list->n != 0;
    case TLM_JV_DICT: return v.u.dict->n != 0;
    default: return true; /* generators, namespaces, functions */
    }
}

const char *tlm_jv_type_name(tlm_jv v) {
    static const char *const names[TLM_JV_KIND_COUNT] = {
        [TLM_JV_UNDEF] = "Undefined", [TLM_JV_NONE] = "NoneType", [TLM_JV_BOOL] = "bool",
        [TLM_JV_INT] = "int",         [TLM_JV_FLOAT] = "float",   [TLM_JV_STR] = "str",
        [TLM_JV_LIST] = "list",       [TLM_JV_TUPLE] = "tuple",   [TLM_JV_DICT] = "dict",
        [TLM_JV_ITER] = "generator",  [TLM_JV_NS] = "Namespace",  [TLM_JV_FUNC] = "function",
        [TLM_JV_LOOP] = "LoopContext",
    };
    if (v.kind == TLM_JV_LIST && v.flags == TLM_JV_VIEW_ITEMS) return "dict_items";
    if (v.kind == TLM_JV_LIST && v.flags == TLM_JV_VIEW_KEYS) return "dict_keys";
    if (v.kind == TLM_JV_LIST && v.flags == TLM_JV_VIEW_VALUES) return "dict_values";
    return v.kind < TLM_JV_KIND_COUNT ? names[v.kind] : "?";
}

static bool is_number(tlm_jv v) {
    return v.kind == TLM_JV_BOOL || v.kind == TLM_JV_INT || v.kind == TLM_JV_FLOAT;
}

static int64_t as_int(tlm_jv v) { return v.kind == TLM_JV_BOOL ? (int64_t)v.u.b : v.u.i; }

/* Exact int/float comparison, as Python does it (no rounding of big ints). */
static int cmp_int_float(int64_t i, double f) {
    if (isnan(f)) return 2; /* unordered */
    if (f >= 9223372036854775808.0) return -1;
    if (f < -9223372036854775808.0) return 1;
    double fl = floor(f);
    int64_t fi = (int64_t)fl;
    if (i < fi) return -1;
    if (i > fi) return 1;
    return fl < f ? -1 : 0;
}

static int cmp_numbers(tlm_jv a, tlm_jv b) {
    if (a.kind != TLM_JV_FLOAT && b.kind != TLM_JV_FLOAT) {
        int64_t x = as_int(a), y = as_int(b);
        return x < y ? -1 : x > y;
    }
    if (a.kind == TLM_JV_FLOAT && b.kind == TLM_JV_FLOAT) {
        if (isnan(a.u.f) || isnan(b.u.f)) return 2;
        return a.u.f < b.u.f ? -1 : a.u.f > b.u.f;
    }
    if (a.kind == TLM_JV_FLOAT) {
        int r = cmp_int_float(as_int(b), a.u.f);
        return r == 2 ? 2 : -r;
    }
    return cmp_int_float(as_int(a), b.u.f);
}

static bool str_eq(tlm_jv a, tlm_jv b) {
    return a.u.s.len == b.u.s.len && (a.u.s.len == 0 || memcmp(a.u.s.p, b.u.s.p, a.u.s.len) == 0);
}

/* Nesting beyond this is only reachable by templates built to crash us;
 * Python itself gives up with a RecursionError there. */
#define MAX_NEST 500

static bool equal_at(tlm_jv a, tlm_jv b, int depth);

bool tlm_jv_equal(tlm_jv a, tlm_jv b) { return equal_at(a, b, 0); }

static bool hashable_at(tlm_jv v, int depth) {
    if (v.kind == TLM_JV_LIST || v.kind == TLM_JV_DICT || depth > MAX_NEST) return false;
    if (v.kind == TLM_JV_TUPLE)
        for (size_t i = 0; i < v.u.list->n; i++)
            if (!hashable_at(v.u.list->items[i], depth + 1)) return false;
    return true;
}

bool tlm_jv_hashable(tlm_jv v) { return hashable_at(v, 0); }

static bool equal_at(tlm_jv a, tlm_jv b, int depth) {
    if (depth > MAX_NEST) return false;
    if (is_number(a) && is_number(b)) return cmp_numbers(a, b) == 0;
    if (a.kind != b.kind) return false;
    switch ((tlm_jv_kind)a.kind) {
    case TLM_JV_UNDEF:
    case TLM_JV_NONE: return true;
    case TLM_JV_STR: return str_eq(a, b);
    case TLM_JV_LIST:
    case TLM_JV_TUPLE: {
        const tlm_jlist *x = a.u.list, *y = b.u.list;
        if (x->n != y->n) return false;
        for (size_t i = 0; i < x->n; i++)
            if (!equal_at(x->items[i], y->items[i], depth + 1)) return false;
        return true;
    }
    case TLM_JV_DICT: {
        const tlm_jdict *x = a.u.dict, *y = b.u.dict;
        if (x->n != y->n) return false;
        for (size_t i = 0; i < x->n; i++) {
            const tlm_jv *o = tlm_jv_dict_get(y, x->keys[i]);
            if (!o || !equal_at(x->vals[i], *o, depth + 1)) return false;
        }
        return true;
    }
    case TLM_JV_ITER: return a.u.iter == b.u.iter;
    case TLM_JV_NS: return a.u.dict == b.u.dict;
    case TLM_JV_FUNC: return a.u.fn == b.u.fn;
    case TLM_JV_LOOP: return a.u.loop == b.u.loop;
    default: return false;
    }
}

static tlm_status cmp_fail(tlm_jctx *c, tlm_jv a, tlm_jv b) {
    if (a.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, a);
    if (b.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, b);
    return tlm_jerr(c, TLM_ERR_TYPE, "comparison not supported between instances of '%s' and '%s'",
                    tlm_jv_type_name(a), tlm_jv_type_name(b));
}

static tlm_status compare_at(tlm_jctx *c, tlm_jv a, tlm_jv b, int *out, int depth);

tlm_status tlm_jv_compare(tlm_jctx *c, tlm_jv a, tlm_jv b, int *out) {
    return compare_at(c, a, b, out, 0);
}

static tlm_status compare_at(tlm_jctx *c, tlm_jv a, tlm_jv b, int *out, int depth) {
    if (depth > MAX_NEST)
        return tlm_jerr(c, TLM_ERR_RANGE, "maximum recursion depth exceeded in comparison");
    if (is_number(a) && is_number(b)) {
        int r = cmp_numbers(a, b);
        /* NaN: every ordering test is false; report "greater" for < and
         * callers treat 2 as unordered. */
        *out = r;
        return TLM_OK;
    }
    if (a.kind != b.kind) return cmp_fail(c, a, b);
    if (a.kind == TLM_JV_STR) {
        /* UTF-8 byte order is code point order. */
        size_t n = TLM_MIN(a.u.s.len, b.u.s.len);
        int r = n ? memcmp(a.u.s.p, b.u.s.p, n) : 0;
        if (r == 0) r = a.u.s.len < b.u.s.len ? -1 : a.u.s.len > b.u.s.len;
        *out = r < 0 ? -1 : r > 0;
        return TLM_OK;
    }
    if (a.kind == TLM_JV_LIST || a.kind == TLM_JV_TUPLE) {
        const tlm_jlist *x = a.u.list, *y = b.u.list;
        for (size_t i = 0; i < x->n && i < y->n; i++) {
            if (equal_at(x->items[i], y->items[i], depth + 1)) continue;
            return compare_at(c, x->items[i], y->items[i], out, depth + 1);
        }
        *out = x->n < y->n ? -1 : x->n > y->n;
        return TLM_OK;
    }
    return cmp_fail(c, a, b);
}

/* ---- len() and iteration ---- */

tlm_status tlm_jv_len(tlm_jctx *c, tlm_jv v, size_t *out) {
    switch ((tlm_jv_kind)v.kind) {
    case TLM_JV_UNDEF: *out = 0; return TLM_OK;
    case TLM_JV_STR:
        *out = tlm_ustr_count(v.u.s.p, v.u.s.len);
        return tlm_jcharge(c, v.u.s.len);
    case TLM_JV_LIST:
    case TLM_JV_TUPLE: *out = v.u.list->n; return TLM_OK;
    case TLM_JV_DICT: *out = v.u.dict->n; return TLM_OK;
    default:
        return tlm_jerr(c, TLM_ERR_TYPE, "object of type '%s' has no len()", tlm_jv_type_name(v));
    }
}

static tlm_status string_chars(tlm_jctx *c, tlm_jv v, const tlm_jv **items, size_t *n) {
    tlm_status st = tlm_jcharge(c, v.u.s.len);
    if (st != TLM_OK) return st;
    size_t count = tlm_ustr_count(v.u.s.p, v.u.s.len);
    tlm_jv *arr = count ? tlm_jarena_alloc(c->arena, count * sizeof *arr) : NULL;
    if (count && !arr) return nomem(c);
    size_t i = 0, k = 0;
    while (i < v.u.s.len) {
        size_t start = i;
        tlm_ustr_next(v.u.s.p, v.u.s.len, &i);
        arr[k++] = tlm_jv_strref(v.u.s.p + start, i - start);
    }
    *items = arr;
    *n = k;
    return TLM_OK;
}

tlm_status tlm_jv_iterate(tlm_jctx *c, tlm_jv v, const tlm_jv **items, size_t *n) {
    *items = NULL;
    *n = 0;
    switch ((tlm_jv_kind)v.kind) {
    case TLM_JV_UNDEF: return TLM_OK;
    case TLM_JV_LIST:
    case TLM_JV_TUPLE:
        *items = v.u.list->items;
        *n = v.u.list->n;
        return TLM_OK;
    case TLM_JV_DICT:
        *items = v.u.dict->keys;
        *n = v.u.dict->n;
        return TLM_OK;
    case TLM_JV_STR: return string_chars(c, v, items, n);
    case TLM_JV_ITER: {
        /* A generator yields its items once; a second pass sees nothing. */
        tlm_jiter *it = v.u.iter;
        *items = it->pos < it->n ? it->items + it->pos : NULL;
        *n = it->n - it->pos;
        it->pos = it->n;
        return TLM_OK;
    }
    default:
        return tlm_jerr(c, TLM_ERR_TYPE, "'%s' object is not iterable", tlm_jv_type_name(v));
    }
}

/* ---- JSON input ---- */

tlm_status tlm_jv_from_json(tlm_jctx *c, const json_t *j, tlm_jv *out) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        tlm_status st = tlm_jv_dict(c, out);
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)j, key, val) {
            tlm_jv k, v;
            if (st == TLM_OK) st = tlm_jv_str(c, key, strlen(key), &k);
            if (st == TLM_OK) st = tlm_jv_from_json(c, val, &v);
            if (st == TLM_OK) st = dict_append(c, out, k, v); /* JSON keys are unique */
        }
        return st;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        tlm_status st = tlm_jv_list(c, n, out);
        for (size_t i = 0; st == TLM_OK && i < n; i++)
            st = tlm_jv_from_json(c, json_array_get(j, i), &out->u.list->items[i]);
        return st;
    }
    case JSON_STRING: return tlm_jv_str(c, json_string_value(j), json_string_length(j), out);
    case JSON_INTEGER: *out = tlm_jv_int((int64_t)json_integer_value(j)); return TLM_OK;
    case JSON_REAL: *out = tlm_jv_float(json_real_value(j)); return TLM_OK;
    case JSON_TRUE: *out = tlm_jv_bool(true); return TLM_OK;
    case JSON_FALSE: *out = tlm_jv_bool(false); return TLM_OK;
    default: *out = tlm_jv_none(); return TLM_OK;
    }
}
