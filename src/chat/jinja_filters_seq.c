/*
 * jinja_filters_seq.c - jinja2's filters over sequences: first, last,
 * list, join, reverse, sort, dictsort, unique, min, max, sum, batch, map,
 * select, reject, selectattr and rejectattr.
 *
 * Where jinja2 returns a generator (map, select*, reject*, unique, items,
 * reverse of a list, batch) this returns a one-pass iterator, so a second
 * loop over it sees nothing, `|length` on it fails and it is always true,
 * exactly as in Python.  Sorting is stable and `reverse=true` keeps equal
 * items in their original order, as Python's sorted() does.
 */
#include "chat/jinja.h"

#include <string.h>

#define TRY(x)                                                               \
    do {                                                                     \
        tlm_status s_ = (x);                                                 \
        if (s_ != TLM_OK) return s_;                                         \
    } while (0)
#define FILTER(name) static tlm_status name(tlm_jctx *c, tlm_jv v, const tlm_jargs *a, tlm_jv *out)

static const char *const no_args[] = {NULL};

static tlm_status lower_if_str(tlm_jctx *c, tlm_jv v, tlm_jv *out) {
    if (v.kind != TLM_JV_STR) {
        *out = v;
        return TLM_OK;
    }
    tlm_buf b = {0};
    if (tlm_ustr_case(&b, v.u.s.p, v.u.s.len, 'l') != TLM_OK) {
        tlm_buf_free(&b);
        return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    }
    return tlm_jv_strbuf(c, &b, out);
}

/* jinja2's make_attrgetter: "a.b.0" looked up with getitem part by part;
 * a default replaces an Undefined after any part. */
static tlm_status attr_get(tlm_jctx *c, tlm_jv item, tlm_jv path, const tlm_jv *deflt, tlm_jv *out) {
    if (path.kind != TLM_JV_STR) {
        TRY(tlm_jgetitem(c, item, path, out));
        if (deflt && out->kind == TLM_JV_UNDEF) *out = *deflt;
        return TLM_OK;
    }
    const char *p = path.u.s.p, *end = p + path.u.s.len;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
        bool digits = n > 0;
        int64_t idx = 0;
        for (size_t i = 0; i < n && digits; i++) {
            digits = p[i] >= '0' && p[i] <= '9' && idx < INT64_MAX / 10;
            idx = idx * 10 + (p[i] - '0');
        }
        TRY(tlm_jgetitem(c, item, digits ? tlm_jv_int(idx) : tlm_jv_strref(p, n), &item));
        if (deflt && item.kind == TLM_JV_UNDEF) item = *deflt;
        if (!dot) break;
        p = dot + 1;
    }
    *out = item;
    return TLM_OK;
}

/* Sort keys: the item itself or its attribute(s), lower-cased unless
 * case_sensitive.  "a,b" gives a list key, compared element-wise. */
static tlm_status sort_key(tlm_jctx *c, tlm_jv item, tlm_jv attr, bool fold, tlm_jv *out) {
    if (attr.kind == TLM_JV_NONE || attr.kind == TLM_JV_UNDEF) return fold ? lower_if_str(c, item, out) : (*out = item, TLM_OK);
    if (attr.kind == TLM_JV_STR && memchr(attr.u.s.p, ',', attr.u.s.len)) {
        TRY(tlm_jv_list(c, 0, out));
        const char *p = attr.u.s.p, *end = p + attr.u.s.len;
        for (;;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
            tlm_jv k;
            TRY(attr_get(c, item, tlm_jv_strref(p, n), NULL, &k));
            if (fold) TRY(lower_if_str(c, k, &k));
            TRY(tlm_jv_list_push(c, out, k));
            if (!comma) return TLM_OK;
            p = comma + 1;
        }
    }
    TRY(attr_get(c, item, attr, NULL, out));
    return fold ? lower_if_str(c, *out, out) : TLM_OK;
}

static tlm_status key_less(tlm_jctx *c, tlm_jv x, tlm_jv y, bool *out) {
    int r;
    TRY(tlm_jv_compare(c, x, y, &r));
    *out = r == -1;
    return TLM_OK;
}

/* Stable merge sort of idx by keys; reverse compares the other way round,
 * which keeps equal items in order (Python's sorted(reverse=True)). */
static tlm_status merge_sort(tlm_jctx *c, size_t *idx, size_t *tmp, size_t n, const tlm_jv *keys,
                             bool reverse) {
    if (n < 2) return TLM_OK;
    size_t h = n / 2;
    TRY(merge_sort(c, idx, tmp, h, keys, reverse));
    TRY(merge_sort(c, idx + h, tmp, n - h, keys, reverse));
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        bool take_right;
        TRY(tlm_jstep(c));
        TRY(reverse ? key_less(c, keys[idx[i]], keys[idx[j]], &take_right)
                    : key_less(c, keys[idx[j]], keys[idx[i]], &take_right));
        tmp[k++] = take_right ? idx[j++] : idx[i++];
    }
    while (i < h) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
    return TLM_OK;
}

static tlm_status sorted(tlm_jctx *c, const tlm_jv *items, size_t n, const tlm_jv *keys, bool reverse,
                         tlm_jv *out) {
    size_t *idx = tlm_jarena_alloc(c->arena, (n + 1) * sizeof *idx);
    size_t *tmp = tlm_jarena_alloc(c->arena, (n + 1) * sizeof *tmp);
    if (!idx || !tmp) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) idx[i] = i;
    TRY(merge_sort(c, idx, tmp, n, keys, reverse));
    TRY(tlm_jv_list(c, n, out));
    for (size_t i = 0; i < n; i++) out->u.list->items[i] = items[idx[i]];
    return TLM_OK;
}

FILTER(f_sort) {
    static const char *const names[] = {"reverse", "case_sensitive", "attribute", NULL};
    TRY(tlm_jargs_check(c, "sort", a, 3, names));
    tlm_jv rev = tlm_jv_bool(false), cs = tlm_jv_bool(false), attr = tlm_jv_none();
    tlm_jarg(a, 0, "reverse", &rev);
    tlm_jarg(a, 1, "case_sensitive", &cs);
    tlm_jarg(a, 2, "attribute", &attr);
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    tlm_jv *keys = tlm_jarena_alloc(c->arena, (n + 1) * sizeof *keys);
    if (!keys) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    bool multi = attr.kind == TLM_JV_STR && memchr(attr.u.s.p, ',', attr.u.s.len);
    for (size_t i = 0; i < n; i++) {
        TRY(sort_key(c, items[i], attr, !tlm_jv_truthy(cs), &keys[i]));
        if (!multi) { /* make_multi_attrgetter: keys are always lists */
            tlm_jv one;
            TRY(tlm_jv_list(c, 1, &one));
            one.u.list->items[0] = keys[i];
            keys[i] = one;
        }
    }
    return sorted(c, items, n, keys, tlm_jv_truthy(rev), out);
}

FILTER(f_dictsort) {
    static const char *const names[] = {"case_sensitive", "by", "reverse", NULL};
    TRY(tlm_jargs_check(c, "dictsort", a, 3, names));
    tlm_jv cs = tlm_jv_bool(false), by = tlm_jv_strref("key", 3), rev = tlm_jv_bool(false);
    tlm_jarg(a, 0, "case_sensitive", &cs);
    tlm_jarg(a, 1, "by", &by);
    tlm_jarg(a, 2, "reverse", &rev);
    bool by_value = tlm_jv_is_str(by, "value");
    if (!by_value && !tlm_jv_is_str(by, "key"))
        return tlm_jerr(c, TLM_ERR_INVALID_ARG, "You can only sort by either \"key\" or \"value\"");
    if (v.kind != TLM_JV_DICT)
        return tlm_jerr(c, TLM_ERR_TYPE, "'%s' object has no attribute 'items'", tlm_jv_type_name(v));
    size_t n = v.u.dict->n;
    tlm_jv *pairs = tlm_jarena_alloc(c->arena, (n + 1) * sizeof *pairs);
    tlm_jv *keys = tlm_jarena_alloc(c->arena, (n + 1) * sizeof *keys);
    if (!pairs || !keys) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        TRY(tlm_jv_tuple(c, 2, &pairs[i]));
        pairs[i].u.list->items[0] = v.u.dict->keys[i];
        pairs[i].u.list->items[1] = v.u.dict->vals[i];
        keys[i] = by_value ? v.u.dict->vals[i] : v.u.dict->keys[i];
        if (!tlm_jv_truthy(cs)) TRY(lower_if_str(c, keys[i], &keys[i]));
    }
    return sorted(c, pairs, n, keys, tlm_jv_truthy(rev), out);
}

FILTER(f_unique) {
    static const char *const names[] = {"case_sensitive", "attribute", NULL};
    TRY(tlm_jargs_check(c, "unique", a, 2, names));
    tlm_jv cs = tlm_jv_bool(false), attr = tlm_jv_none(), kept, seen;
    tlm_jarg(a, 0, "case_sensitive", &cs);
    tlm_jarg(a, 1, "attribute", &attr);
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    TRY(tlm_jv_list(c, 0, &kept));
    TRY(tlm_jv_list(c, 0, &seen));
    for (size_t i = 0; i < n; i++) {
        tlm_jv key;
        TRY(sort_key(c, items[i], attr, !tlm_jv_truthy(cs), &key));
        if (!tlm_jv_hashable(key)) return tlm_jerr(c, TLM_ERR_TYPE, "unhashable type: '%s'", tlm_jv_type_name(key));
        bool dup = false;
        for (size_t k = 0; k < seen.u.list->n && !dup; k++) {
            TRY(tlm_jstep(c));
            dup = tlm_jv_equal(seen.u.list->items[k], key);
        }
        if (dup) continue;
        TRY(tlm_jv_list_push(c, &seen, key));
        TRY(tlm_jv_list_push(c, &kept, items[i]));
    }
    return tlm_jv_iter(c, kept.u.list->items, kept.u.list->n, out);
}

static tlm_status min_max(tlm_jctx *c, tlm_jv v, const tlm_jargs *a, tlm_jv *out, bool want_max) {
    static const char *const names[] = {"case_sensitive", "attribute", NULL};
    TRY(tlm_jargs_check(c, want_max ? "max" : "min", a, 2, names));
    tlm_jv cs = tlm_jv_bool(false), attr = tlm_jv_none(), best_key;
    tlm_jarg(a, 0, "case_sensitive", &cs);
    tlm_jarg(a, 1, "attribute", &attr);
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    if (n == 0) {
        *out = tlm_jv_undef("No aggregated item, sequence was empty.");
        return TLM_OK;
    }
    *out = items[0];
    TRY(sort_key(c, items[0], attr, !tlm_jv_truthy(cs), &best_key));
    for (size_t i = 1; i < n; i++) {
        tlm_jv key;
        bool better;
        TRY(sort_key(c, items[i], attr, !tlm_jv_truthy(cs), &key));
        TRY(want_max ? key_less(c, best_key, key, &better) : key_less(c, key, best_key, &better));
        if (better) *out = items[i], best_key = key;
    }
    return TLM_OK;
}
FILTER(f_min) { return min_max(c, v, a, out, false); }
FILTER(f_max) { return min_max(c, v, a, out, true); }

FILTER(f_sum) {
    static const char *const names[] = {"attribute", "start", NULL};
    TRY(tlm_jargs_check(c, "sum", a, 2, names));
    tlm_jv attr = tlm_jv_none(), total = tlm_jv_int(0);
    tlm_jarg(a, 0, "attribute", &attr);
    tlm_jarg(a, 1, "start", &total);
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    for (size_t i = 0; i < n; i++) {
        tlm_jv x = items[i];
        if (attr.kind != TLM_JV_NONE) TRY(attr_get(c, x, attr, NULL, &x));
        TRY(tlm_jbinop(c, OP_ADD, total, x, &total));
    }
    *out = total;
    return TLM_OK;
}

FILTER(f_join) {
    static const char *const names[] = {"d", "attribute", NULL};
    TRY(tlm_jargs_check(c, "join", a, 2, names));
    tlm_jv sep = tlm_jv_strref("", 0), attr = tlm_jv_none();
    tlm_jarg(a, 0, "d", &sep);
    tlm_jarg(a, 1, "attribute", &attr);
    TRY(tlm_jv_to_str(c, sep, &sep));
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    for (size_t i = 0; st == TLM_OK && i < n; i++) {
        tlm_jv x = items[i];
        if (attr.kind != TLM_JV_NONE) st = attr_get(c, x, attr, NULL, &x);
        if (st == TLM_OK && i) st = tlm_buf_append(&b, sep.u.s.p, sep.u.s.len);
        if (st == TLM_OK) st = tlm_jv_write_str(c, &b, x);
    }
    if (st != TLM_OK) {
        tlm_buf_free(&b);
        return st == TLM_ERR_NOMEM ? tlm_jerr(c, st, "out of memory") : st;
    }
    return tlm_jv_strbuf(c, &b, out);
}

/* ---- first, last, list, reverse, batch ---- */

FILTER(f_first) {
    TRY(tlm_jargs_check(c, "first", a, 0, no_args));
    const tlm_jv *items;
    size_t n;
    if (v.kind == TLM_JV_ITER) { /* next(iter(gen)) takes only one */
        tlm_jiter *it = v.u.iter;
        *out = it->pos < it->n ? it->items[it->pos++] : tlm_jv_undef("No first item, sequence was empty.");
        return TLM_OK;
    }
    TRY(tlm_jv_iterate(c, v, &items, &n));
    *out = n ? items[0] : tlm_jv_undef("No first item, sequence was empty.");
    return TLM_OK;
}

FILTER(f_last) {
    TRY(tlm_jargs_check(c, "last", a, 0, no_args));
    if (v.kind == TLM_JV_ITER) return tlm_jerr(c, TLM_ERR_TYPE, "'generator' object is not reversible");
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    *out = n ? items[n - 1] : tlm_jv_undef("No last item, sequence was empty.");
    return TLM_OK;
}

static tlm_status copy_list(tlm_jctx *c, const tlm_jv *items, size_t n, tlm_jv *out) {
    TRY(tlm_jv_list(c, n, out));
    if (n) memcpy(out->u.list->items, items, n * sizeof *items);
    return TLM_OK;
}

FILTER(f_list) {
    TRY(tlm_jargs_check(c, "list", a, 0, no_args));
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    return copy_list(c, items, n, out);
}

FILTER(f_reverse) {
    TRY(tlm_jargs_check(c, "reverse", a, 0, no_args));
    const tlm_jv *items;
    size_t n;
    if (v.kind == TLM_JV_STR) {
        TRY(tlm_jv_iterate(c, v, &items, &n));
        tlm_buf b = {0};
        for (size_t i = n; i-- > 0;)
            if (tlm_buf_append(&b, items[i].u.s.p, items[i].u.s.len) != TLM_OK) {
                tlm_buf_free(&b);
                return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
            }
        return tlm_jv_strbuf(c, &b, out);
    }
    bool gen = v.kind == TLM_JV_ITER; /* reversed() fails; jinja2 falls back to a list */
    if (v.kind != TLM_JV_LIST && v.kind != TLM_JV_TUPLE && v.kind != TLM_JV_DICT &&
        v.kind != TLM_JV_UNDEF && !gen)
        return tlm_jerr(c, TLM_ERR_TYPE, "argument must be iterable");
    TRY(tlm_jv_iterate(c, v, &items, &n));
    tlm_jv list;
    TRY(tlm_jv_list(c, n, &list));
    for (size_t i = 0; i < n; i++) list.u.list->items[i] = items[n - 1 - i];
    if (gen) {
        *out = list;
        return TLM_OK;
    }
    return tlm_jv_iter(c, list.u.list->items, n, out);
}

FILTER(f_batch) {
    static const char *const names[] = {"linecount", "fill_with", NULL};
    TRY(tlm_jargs_check(c, "batch", a, 2, names));
    tlm_jv count, fill = tlm_jv_none(), batches, cur;
    if (!tlm_jarg(a, 0, "linecount", &count) || (count.kind != TLM_JV_INT && count.kind != TLM_JV_BOOL))
        return tlm_jerr(c, TLM_ERR_TYPE, "batch needs an integer linecount");
    tlm_jarg(a, 1, "fill_with", &fill);
    int64_t per = count.kind == TLM_JV_BOOL ? count.u.b : count.u.i;
    const tlm_jv *items;
    size_t n;
    TRY(tlm_jv_iterate(c, v, &items, &n));
    TRY(tlm_jv_list(c, 0, &batches));
    TRY(tlm_jv_list(c, 0, &cur));
    for (size_t i = 0; i < n; i++) {
        if ((int64_t)cur.u.list->n == per) {
            TRY(tlm_jv_list_push(c, &batches, cur));
            TRY(tlm_jv_list(c, 0, &cur));
        }
        TRY(tlm_jv_list_push(c, &cur, items[i]));
    }
    if (cur.u.list->n) {
        while (fill.kind != TLM_JV_NONE && (int64_t)cur.u.list->n < per) TRY(tlm_jv_list_push(c, &cur, fill));
        TRY(tlm_jv_list_push(c, &batches, cur));
    }
    return tlm_jv_iter(c, batches.u.list->items, batches.u.list->n, out);
}

/* ---- map / select / reject ---- */

/* The arguments after the first `skip` positionals, for passing on. */
static tlm_jargs rest(const tlm_jargs *a, size_t skip) {
    tlm_jargs r = *a;
    r.pos += skip <= a->n_pos ? skip : a->n_pos;
    r.n_pos = skip <= a->n_pos ? a->n_pos - skip : 0;
    return r;
}

static tlm_status name_arg(tlm_jctx *c, tlm_jv v, char *buf, size_t size) {
    if (v.kind != TLM_JV_STR || v.u.s.len >= size || memchr(v.u.s.p, 0, v.u.s.len))
        return tlm_jerr(c, TLM_ERR_TYPE, "filter or test name must be a string");
    memcpy(buf, v.u.s.p, v.u.s.len);
    buf[v.u.s.len] = '\0';
    return TLM_OK;
}

FILTER(f_map) {
    const tlm_jv *items;
    size_t n;
    tlm_jv res, attr, deflt = tlm_jv_none(), fname;
    char name[64];
    bool by_attr = a->n_pos == 0 && tlm_jarg(a, SIZE_MAX, "attribute", &attr);
    if (by_attr) {
        for (size_t k = 0; k < a->n_kw; k++)
            if (strcmp(a->kw_names[k], "attribute") && strcmp(a->kw_names[k], "default"))
                return tlm_jerr(c, TLM_ERR_INVALID_ARG, "Unexpected keyword argument '%s'", a->kw_names[k]);
        tlm_jarg(a, SIZE_MAX, "default", &deflt);
    } else {
        if (!tlm_jarg(a, 0, NULL, &fname)) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "map requires a filter argument");
        TRY(name_arg(c, fname, name, sizeof name));
    }
    if (!tlm_jv_truthy(v)) return tlm_jv_iter(c, NULL, 0, out); /* jinja2: `if value:` */
    TRY(tlm_jv_iterate(c, v, &items, &n));
    TRY(tlm_jv_list(c, n, &res));
    tlm_jargs more = rest(a, 1);
    for (size_t i = 0; i < n; i++) {
        tlm_jv *dst = &res.u.list->items[i];
        if (by_attr) TRY(attr_get(c, items[i], attr, deflt.kind == TLM_JV_NONE ? NULL : &deflt, dst));
        else TRY(tlm_jcall_filter(c, name, items[i], &more, dst));
    }
    return tlm_jv_iter(c, res.u.list->items, n, out);
}

static tlm_status select_reject(tlm_jctx *c, tlm_jv v, const tlm_jargs *a, tlm_jv *out,
                                bool by_attr, bool keep) {
    const tlm_jv *items;
    size_t n, off = by_attr ? 1 : 0;
    tlm_jv attr, tname, kept;
    char name[64];
    if (by_attr && !tlm_jarg(a, 0, NULL, &attr))
        return tlm_jerr(c, TLM_ERR_INVALID_ARG, "Missing parameter for attribute name");
    bool has_test = tlm_jarg(a, off, NULL, &tname);
    if (has_test) TRY(name_arg(c, tname, name, sizeof name));
    tlm_jargs more = rest(a, off + 1);
    if (!tlm_jv_truthy(v)) return tlm_jv_iter(c, NULL, 0, out); /* jinja2: `if value:` */
    TRY(tlm_jv_iterate(c, v, &items, &n));
    TRY(tlm_jv_list(c, 0, &kept));
    for (size_t i = 0; i < n; i++) {
        tlm_jv x = items[i];
        bool r;
        if (by_attr) TRY(attr_get(c, x, attr, NULL, &x));
        if (has_test) TRY(tlm_jcall_test(c, name, x, &more, &r));
        else r = tlm_jv_truthy(x);
        if (r == keep) TRY(tlm_jv_list_push(c, &kept, items[i]));
    }
    return tlm_jv_iter(c, kept.u.list->items, kept.u.list->n, out);
}
FILTER(f_select) { return select_reject(c, v, a, out, false, true); }
FILTER(f_reject) { return select_reject(c, v, a, out, false, false); }
FILTER(f_selectattr) { return select_reject(c, v, a, out, true, true); }
FILTER(f_rejectattr) { return select_reject(c, v, a, out, true, false); }

static const struct {
    const char *name;
    tlm_jbuiltin fn;
} seq_filters[] = {
    {"batch", f_batch},       {"dictsort", f_dictsort}, {"first", f_first},
    {"join", f_join},         {"last", f_last},         {"list", f_list},
    {"map", f_map},           {"max", f_max},           {"min", f_min},
    {"reject", f_reject},     {"rejectattr", f_rejectattr}, {"reverse", f_reverse},
    {"select", f_select},     {"selectattr", f_selectattr}, {"sort", f_sort},
    {"sum", f_sum},           {"unique", f_unique},
};

tlm_jbuiltin tlm_jfilter_seq_find(const char *name) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(seq_filters); i++)
        if (!strcmp(seq_filters[i].name, name)) return seq_filters[i].fn;
    return NULL;
}
