/*
 * jinja_builtins.c - what a template can call besides filters: the global
 * functions of transformers' chat environment (range, dict, namespace,
 * raise_exception, strftime_now), jinja2's tests (`x is defined`, ...),
 * and the Python methods of dicts, lists and the loop object.  String
 * methods live in jinja_strmeth.c.
 *
 * The sandbox refuses methods that mutate (list.append, dict.update...):
 * those resolve to an Undefined that fails when called, and, as in jinja2,
 * they still hide a dict key of the same name.
 */
#include "chat/jinja.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define TRY(x)                                                               \
    do {                                                                     \
        tlm_status s_ = (x);                                                 \
        if (s_ != TLM_OK) return s_;                                         \
    } while (0)

/* ---- Argument helpers ---- */

bool tlm_jarg(const tlm_jargs *a, size_t i, const char *name, tlm_jv *out) {
    if (i < a->n_pos) {
        *out = a->pos[i];
        return true;
    }
    for (size_t k = 0; name && k < a->n_kw; k++)
        if (!strcmp(a->kw_names[k], name)) {
            *out = a->kw[k];
            return true;
        }
    return false;
}

tlm_status tlm_jargs_check(tlm_jctx *c, const char *fn, const tlm_jargs *a, size_t max_pos,
                           const char *const *names) {
    if (a->n_pos > max_pos)
        return tlm_jerr(c, TLM_ERR_TYPE, "%s() takes at most %zu positional argument(s) (%zu given)",
                        fn, max_pos, a->n_pos);
    for (size_t k = 0; k < a->n_kw; k++) {
        size_t j = 0;
        while (names && names[j] && strcmp(names[j], a->kw_names[k])) j++;
        if (!names || !names[j])
            return tlm_jerr(c, TLM_ERR_TYPE, "%s() got an unexpected keyword argument '%s'", fn,
                            a->kw_names[k]);
        if (j < a->n_pos)
            return tlm_jerr(c, TLM_ERR_TYPE, "%s() got multiple values for argument '%s'", fn,
                            a->kw_names[k]);
    }
    return TLM_OK;
}

static bool is_int(tlm_jv v) { return v.kind == TLM_JV_INT || v.kind == TLM_JV_BOOL; }
static int64_t ival(tlm_jv v) { return v.kind == TLM_JV_BOOL ? v.u.b : v.u.i; }

/* ---- Globals ---- */

static tlm_status g_range(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out) {
    int64_t v[3] = {0, 0, 1};
    if (a->n_kw) return tlm_jerr(c, TLM_ERR_TYPE, "range() takes no keyword arguments");
    if (a->n_pos < 1 || a->n_pos > 3)
        return tlm_jerr(c, TLM_ERR_TYPE, "range expected 1 to 3 arguments, got %zu", a->n_pos);
    for (size_t i = 0; i < a->n_pos; i++) {
        if (!is_int(a->pos[i]))
            return tlm_jerr(c, TLM_ERR_TYPE, "'%s' object cannot be interpreted as an integer",
                            tlm_jv_type_name(a->pos[i]));
        v[a->n_pos == 1 ? 1 : i] = ival(a->pos[i]);
    }
    if (v[2] == 0) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "range() arg 3 must not be zero");
    uint64_t n = 0; /* unsigned arithmetic: differences of int64s always fit */
    if (v[2] > 0 && v[0] < v[1]) n = ((uint64_t)v[1] - (uint64_t)v[0] - 1) / (uint64_t)v[2] + 1;
    if (v[2] < 0 && v[0] > v[1]) n = ((uint64_t)v[0] - (uint64_t)v[1] - 1) / (0 - (uint64_t)v[2]) + 1;
    if (n > 100000)
        return tlm_jerr(c, TLM_ERR_RANGE, "Range too big. The sandbox blocks ranges larger than "
                                          "MAX_RANGE (100000).");
    TRY(tlm_jv_list(c, n, out));
    for (size_t i = 0; i < n; i++) out->u.list->items[i] = tlm_jv_int(v[0] + (int64_t)i * v[2]);
    return TLM_OK;
}

/* dict(mapping_or_pairs, **kwargs), shared by dict() and namespace(). */
static tlm_status build_dict(tlm_jctx *c, const char *fn, const tlm_jargs *a, tlm_jv *out) {
    TRY(tlm_jv_dict(c, out));
    if (a->n_pos > 1)
        return tlm_jerr(c, TLM_ERR_TYPE, "%s expected at most 1 argument, got %zu", fn, a->n_pos);
    if (a->n_pos == 1) {
        tlm_jv src = a->pos[0];
        if (src.kind == TLM_JV_DICT || src.kind == TLM_JV_NS) {
            for (size_t i = 0; i < src.u.dict->n; i++)
                TRY(tlm_jv_dict_set(c, out, src.u.dict->keys[i], src.u.dict->vals[i]));
        } else {
            const tlm_jv *items;
            size_t n;
            TRY(tlm_jv_iterate(c, src, &items, &n));
            for (size_t i = 0; i < n; i++) {
                const tlm_jv *pair;
                size_t pn;
                TRY(tlm_jv_iterate(c, items[i], &pair, &pn));
                if (pn != 2)
                    return tlm_jerr(c, TLM_ERR_INVALID_ARG,
                                    "dictionary update sequence element #%zu has length %zu; 2 is required",
                                    i, pn);
                TRY(tlm_jv_dict_set(c, out, pair[0], pair[1]));
            }
        }
    }
    for (size_t k = 0; k < a->n_kw; k++)
        TRY(tlm_jv_dict_set(c, out, tlm_jv_strref(a->kw_names[k], strlen(a->kw_names[k])), a->kw[k]));
    return TLM_OK;
}

static tlm_status g_dict(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out) {
    return build_dict(c, "dict", a, out);
}

static tlm_status g_namespace(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out) {
    TRY(build_dict(c, "namespace", a, out));
    out->kind = TLM_JV_NS;
    return TLM_OK;
}

static tlm_status g_raise(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out) {
    tlm_jv msg = tlm_jv_strref("", 0);
    if (a->n_pos) TRY(tlm_jv_to_str(c, a->pos[0], &msg));
    return tlm_jerr(c, TLM_ERR_INVALID_ARG, "raise_exception: %.*s", (int)TLM_MIN(msg.u.s.len, 300),
                    msg.u.s.p);
}

static tlm_status g_strftime_now(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out) {
    tlm_jv fmt;
    if (!tlm_jarg(a, 0, "format", &fmt) || fmt.kind != TLM_JV_STR)
        return tlm_jerr(c, TLM_ERR_TYPE, "strftime_now() needs a format string");
    time_t now = c->lim->now >= 0 ? (time_t)c->lim->now : time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char *f = tlm_jarena_strndup(c->arena, fmt.u.s.p, fmt.u.s.len), buf[512];
    if (!f) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    size_t n = fmt.u.s.len ? strftime(buf, sizeof buf, f, &tm) : 0;
    if (fmt.u.s.len && n == 0 && buf[0] != '\0')
        return tlm_jerr(c, TLM_ERR_RANGE, "strftime_now(): result too long");
    return tlm_jv_str(c, buf, n, out);
}

static tlm_status g_unsupported(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out) {
    return tlm_jerr(c, TLM_ERR_UNSUPPORTED, "this global function is not supported");
}

tlm_status tlm_jglobals_install(tlm_jctx *c, tlm_jframe *f) {
    static const struct {
        const char *name;
        tlm_jbuiltin fn;
    } globals[] = {
        {"range", g_range},         {"dict", g_dict},
        {"namespace", g_namespace}, {"raise_exception", g_raise},
        {"strftime_now", g_strftime_now}, {"lipsum", g_unsupported},
        {"cycler", g_unsupported},  {"joiner", g_unsupported},
    };
    for (size_t i = 0; i < TLM_ARRAY_LEN(globals); i++) {
        tlm_jv v;
        TRY(tlm_jv_func(c, globals[i].name, globals[i].fn, tlm_jv_none(), &v));
        TRY(tlm_jframe_set(c, f, globals[i].name, v));
    }
    return TLM_OK;
}

/* ---- Tests ---- */

#define TEST_FN(name) static tlm_status name(tlm_jctx *c, tlm_jv v, const tlm_jargs *a, bool *out)

static tlm_status test_arg(tlm_jctx *c, const char *test, const tlm_jargs *a, tlm_jv *arg) {
    if (!tlm_jarg(a, 0, NULL, arg))
        return tlm_jerr(c, TLM_ERR_TYPE, "test '%s' needs an argument", test);
    return TLM_OK;
}

static tlm_status modulo_is(tlm_jctx *c, tlm_jv v, tlm_jv m, int64_t want, bool *out) {
    tlm_jv r;
    TRY(tlm_jbinop(c, OP_MOD, v, m, &r));
    *out = tlm_jv_equal(r, tlm_jv_int(want));
    return TLM_OK;
}

TEST_FN(t_odd) { return modulo_is(c, v, tlm_jv_int(2), 1, out); }
TEST_FN(t_even) { return modulo_is(c, v, tlm_jv_int(2), 0, out); }
TEST_FN(t_divisibleby) {
    tlm_jv n;
    TRY(test_arg(c, "divisibleby", a, &n));
    return modulo_is(c, v, n, 0, out);
}
TEST_FN(t_defined) { *out = v.kind != TLM_JV_UNDEF; return TLM_OK; }
TEST_FN(t_undefined) { *out = v.kind == TLM_JV_UNDEF; return TLM_OK; }
TEST_FN(t_none) { *out = v.kind == TLM_JV_NONE; return TLM_OK; }
TEST_FN(t_boolean) { *out = v.kind == TLM_JV_BOOL; return TLM_OK; }
TEST_FN(t_true) { *out = v.kind == TLM_JV_BOOL && v.u.b; return TLM_OK; }
TEST_FN(t_false) { *out = v.kind == TLM_JV_BOOL && !v.u.b; return TLM_OK; }
TEST_FN(t_integer) { *out = v.kind == TLM_JV_INT; return TLM_OK; }
TEST_FN(t_float) { *out = v.kind == TLM_JV_FLOAT; return TLM_OK; }
TEST_FN(t_number) {
    *out = v.kind == TLM_JV_INT || v.kind == TLM_JV_FLOAT || v.kind == TLM_JV_BOOL;
    return TLM_OK;
}
TEST_FN(t_string) { *out = v.kind == TLM_JV_STR; return TLM_OK; }
TEST_FN(t_mapping) { *out = v.kind == TLM_JV_DICT; return TLM_OK; }
/* Undefined defines __iter__, __len__ and __getitem__, so it passes both. */
TEST_FN(t_iterable) {
    *out = v.kind == TLM_JV_STR || v.kind == TLM_JV_LIST || v.kind == TLM_JV_TUPLE ||
           v.kind == TLM_JV_DICT || v.kind == TLM_JV_ITER || v.kind == TLM_JV_UNDEF;
    return TLM_OK;
}
TEST_FN(t_sequence) {
    *out = v.kind == TLM_JV_STR || v.kind == TLM_JV_LIST || v.kind == TLM_JV_TUPLE ||
           v.kind == TLM_JV_DICT || v.kind == TLM_JV_UNDEF;
    return TLM_OK;
}
TEST_FN(t_callable) { *out = v.kind == TLM_JV_FUNC || v.kind == TLM_JV_UNDEF; return TLM_OK; }
TEST_FN(t_escaped) { *out = false; return TLM_OK; }

static bool case_test(tlm_jv v, bool upper) {
    bool cased = false;
    for (size_t i = 0; v.kind == TLM_JV_STR && i < v.u.s.len;) {
        uint32_t cp = tlm_ustr_next(v.u.s.p, v.u.s.len, &i);
        if (upper ? tlm_ucp_islower(cp) : tlm_ucp_isupper(cp)) return false;
        cased |= upper ? tlm_ucp_isupper(cp) : tlm_ucp_islower(cp);
    }
    return cased;
}

TEST_FN(t_lower) {
    tlm_jv s;
    TRY(tlm_jv_to_str(c, v, &s));
    *out = case_test(s, false);
    return TLM_OK;
}
TEST_FN(t_upper) {
    tlm_jv s;
    TRY(tlm_jv_to_str(c, v, &s));
    *out = case_test(s, true);
    return TLM_OK;
}
TEST_FN(t_sameas) {
    tlm_jv o;
    TRY(test_arg(c, "sameas", a, &o));
    if (v.kind != o.kind) *out = false;
    else if (v.kind == TLM_JV_NONE || v.kind == TLM_JV_UNDEF) *out = true;
    else if (v.kind == TLM_JV_BOOL) *out = v.u.b == o.u.b;
    else *out = memcmp(&v.u, &o.u, sizeof v.u) == 0;
    return TLM_OK;
}
TEST_FN(t_in) {
    tlm_jv seq;
    TRY(test_arg(c, "in", a, &seq));
    return tlm_jcontains(c, seq, v, out);
}
TEST_FN(t_filter) {
    char name[64];
    snprintf(name, sizeof name, "%.*s", v.kind == TLM_JV_STR ? (int)TLM_MIN(v.u.s.len, 63) : 0,
             v.kind == TLM_JV_STR ? v.u.s.p : "");
    *out = v.kind == TLM_JV_STR && tlm_jfilter_known(name);
    return TLM_OK;
}
TEST_FN(t_test) {
    char name[64];
    snprintf(name, sizeof name, "%.*s", v.kind == TLM_JV_STR ? (int)TLM_MIN(v.u.s.len, 63) : 0,
             v.kind == TLM_JV_STR ? v.u.s.p : "");
    *out = v.kind == TLM_JV_STR && tlm_jtest_known(name);
    return TLM_OK;
}

static tlm_status compare_test(tlm_jctx *c, tlm_jv v, const tlm_jargs *a, bool *out, tlm_jop op) {
    tlm_jv o;
    TRY(test_arg(c, "comparison", a, &o));
    if (op == OP_EQ || op == OP_NE) {
        *out = tlm_jv_equal(v, o) == (op == OP_EQ);
        return TLM_OK;
    }
    int r;
    TRY(tlm_jv_compare(c, v, o, &r));
    *out = r != 2 && (op == OP_LT ? r < 0 : op == OP_LE ? r <= 0 : op == OP_GT ? r > 0 : r >= 0);
    return TLM_OK;
}
TEST_FN(t_eq) { return compare_test(c, v, a, out, OP_EQ); }
TEST_FN(t_ne) { return compare_test(c, v, a, out, OP_NE); }
TEST_FN(t_lt) { return compare_test(c, v, a, out, OP_LT); }
TEST_FN(t_le) { return compare_test(c, v, a, out, OP_LE); }
TEST_FN(t_gt) { return compare_test(c, v, a, out, OP_GT); }
TEST_FN(t_ge) { return compare_test(c, v, a, out, OP_GE); }

static const struct {
    const char *name;
    tlm_jtest_fn fn;
} tests[] = {
    {"odd", t_odd},         {"even", t_even},         {"divisibleby", t_divisibleby},
    {"defined", t_defined}, {"undefined", t_undefined}, {"none", t_none},
    {"boolean", t_boolean}, {"true", t_true},         {"false", t_false},
    {"integer", t_integer}, {"float", t_float},       {"number", t_number},
    {"string", t_string},   {"mapping", t_mapping},   {"iterable", t_iterable},
    {"sequence", t_sequence}, {"callable", t_callable}, {"sameas", t_sameas},
    {"escaped", t_escaped}, {"lower", t_lower},       {"upper", t_upper},
    {"in", t_in},           {"filter", t_filter},     {"test", t_test},
    {"==", t_eq},           {"eq", t_eq},             {"equalto", t_eq},
    {"!=", t_ne},           {"ne", t_ne},             {">", t_gt},
    {"gt", t_gt},           {"greaterthan", t_gt},    {">=", t_ge},
    {"ge", t_ge},           {"<", t_lt},              {"lt", t_lt},
    {"lessthan", t_lt},     {"<=", t_le},             {"le", t_le},
};

tlm_jtest_fn tlm_jtest_find(const char *name) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(tests); i++)
        if (!strcmp(tests[i].name, name)) return tests[i].fn;
    return NULL;
}

bool tlm_jtest_known(const char *name) { return tlm_jtest_find(name) != NULL; }

tlm_status tlm_jcall_test(tlm_jctx *c, const char *name, tlm_jv v, const tlm_jargs *a, bool *out) {
    tlm_jtest_fn fn = tlm_jtest_find(name);
    if (!fn) return tlm_jerr(c, TLM_ERR_UNSUPPORTED, "No test named '%s'.", name);
    return fn(c, v, a, out);
}

/* ---- Dict, list and loop methods ---- */

#define METHOD(name) static tlm_status name(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out)

METHOD(d_get) {
    TRY(tlm_jargs_check(c, "get", a, 2, NULL));
    tlm_jv key, def = tlm_jv_none();
    if (!tlm_jarg(a, 0, NULL, &key)) return tlm_jerr(c, TLM_ERR_TYPE, "get expected at least 1 argument");
    tlm_jarg(a, 1, NULL, &def);
    TRY(tlm_jcharge(c, self.u.dict->n * 16));
    const tlm_jv *v = tlm_jv_dict_get(self.u.dict, key);
    *out = v ? *v : def;
    return TLM_OK;
}

static tlm_status view(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, int which) {
    const tlm_jdict *d = self.u.dict;
    TRY(tlm_jargs_check(c, "view", a, 0, NULL));
    TRY(tlm_jv_list(c, d->n, out));
    out->flags = (uint8_t)which;
    for (size_t i = 0; i < d->n; i++) {
        if (which == TLM_JV_VIEW_KEYS) out->u.list->items[i] = d->keys[i];
        else if (which == TLM_JV_VIEW_VALUES) out->u.list->items[i] = d->vals[i];
        else {
            tlm_jv pair;
            TRY(tlm_jv_tuple(c, 2, &pair));
            pair.u.list->items[0] = d->keys[i];
            pair.u.list->items[1] = d->vals[i];
            out->u.list->items[i] = pair;
        }
    }
    return TLM_OK;
}
METHOD(d_items) { return view(c, self, a, out, TLM_JV_VIEW_ITEMS); }
METHOD(d_keys) { return view(c, self, a, out, TLM_JV_VIEW_KEYS); }
METHOD(d_values) { return view(c, self, a, out, TLM_JV_VIEW_VALUES); }
METHOD(d_copy) {
    TRY(tlm_jargs_check(c, "copy", a, 0, NULL));
    TRY(tlm_jv_dict(c, out));
    for (size_t i = 0; i < self.u.dict->n; i++)
        TRY(tlm_jv_dict_set(c, out, self.u.dict->keys[i], self.u.dict->vals[i]));
    return TLM_OK;
}

METHOD(l_index) {
    tlm_jv x;
    if (!tlm_jarg(a, 0, NULL, &x)) return tlm_jerr(c, TLM_ERR_TYPE, "index expected at least 1 argument");
    TRY(tlm_jcharge(c, self.u.list->n * 16));
    for (size_t i = 0; i < self.u.list->n; i++)
        if (tlm_jv_equal(self.u.list->items[i], x)) {
            *out = tlm_jv_int((int64_t)i);
            return TLM_OK;
        }
    return tlm_jerr(c, TLM_ERR_NOT_FOUND, "value is not in %s", tlm_jv_type_name(self));
}
METHOD(l_count) {
    tlm_jv x;
    int64_t n = 0;
    if (!tlm_jarg(a, 0, NULL, &x)) return tlm_jerr(c, TLM_ERR_TYPE, "count() takes exactly one argument");
    TRY(tlm_jcharge(c, self.u.list->n * 16));
    for (size_t i = 0; i < self.u.list->n; i++) n += tlm_jv_equal(self.u.list->items[i], x);
    *out = tlm_jv_int(n);
    return TLM_OK;
}

METHOD(loop_cycle) {
    if (a->n_pos == 0) return tlm_jerr(c, TLM_ERR_TYPE, "no items for cycling given");
    *out = a->pos[self.u.loop->index0 % a->n_pos];
    return TLM_OK;
}
METHOD(loop_changed) {
    tlm_jv now;
    TRY(tlm_jv_tuple(c, a->n_pos, &now));
    for (size_t i = 0; i < a->n_pos; i++) now.u.list->items[i] = a->pos[i];
    tlm_jloop *l = self.u.loop;
    bool changed = !l->has_changed || !tlm_jv_equal(l->last_changed, now);
    l->last_changed = now;
    l->has_changed = true;
    *out = tlm_jv_bool(changed);
    return TLM_OK;
}

static const struct {
    uint8_t kind;
    const char *name;
    tlm_jbuiltin fn; /* NULL: exists in Python but the sandbox blocks it */
} methods[] = {
    {TLM_JV_DICT, "get", d_get},       {TLM_JV_DICT, "items", d_items},
    {TLM_JV_DICT, "keys", d_keys},     {TLM_JV_DICT, "values", d_values},
    {TLM_JV_DICT, "copy", d_copy},     {TLM_JV_DICT, "pop", NULL},
    {TLM_JV_DICT, "popitem", NULL},    {TLM_JV_DICT, "update", NULL},
    {TLM_JV_DICT, "setdefault", NULL}, {TLM_JV_DICT, "clear", NULL},
    {TLM_JV_DICT, "fromkeys", NULL},   {TLM_JV_LIST, "index", l_index},
    {TLM_JV_LIST, "count", l_count},   {TLM_JV_LIST, "append", NULL},
    {TLM_JV_LIST, "extend", NULL},     {TLM_JV_LIST, "insert", NULL},
    {TLM_JV_LIST, "pop", NULL},        {TLM_JV_LIST, "remove", NULL},
    {TLM_JV_LIST, "clear", NULL},      {TLM_JV_LIST, "sort", NULL},
    {TLM_JV_LIST, "reverse", NULL},    {TLM_JV_LIST, "copy", NULL},
    {TLM_JV_TUPLE, "index", l_index},  {TLM_JV_TUPLE, "count", l_count},
    {TLM_JV_LOOP, "cycle", loop_cycle}, {TLM_JV_LOOP, "changed", loop_changed},
};

tlm_status tlm_jmethod_find(tlm_jctx *c, tlm_jv obj, const char *name, tlm_jv *out) {
    *out = tlm_jv_undef(NULL);
    if (obj.kind == TLM_JV_STR) return tlm_jstr_method(c, obj, name, out);
    uint8_t kind = obj.kind;
    if (kind == TLM_JV_LIST && obj.flags) return TLM_OK; /* dict views have no such methods */
    for (size_t i = 0; i < TLM_ARRAY_LEN(methods); i++) {
        if (methods[i].kind != kind || strcmp(methods[i].name, name)) continue;
        if (!methods[i].fn)
            return tlm_jv_undef_fmt(c, out, "access to attribute '%s' of '%s' object is unsafe.",
                                    name, tlm_jv_type_name(obj));
        return tlm_jv_func(c, methods[i].name, methods[i].fn, obj, out);
    }
    return TLM_OK;
}
