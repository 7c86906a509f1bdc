/*
 * jinja_filters.c - jinja2's built-in filters that work on single values
 * (strings, numbers, dicts), the filter table, and tojson as transformers
 * redefines it.  Filters over sequences are in jinja_filters_seq.c.
 *
 * Each filter mirrors jinja2's filters.py: e.g. `trim`, `upper` and
 * friends first turn the value into a string (so `none|upper` is "NONE"),
 * `int` falls back to int(float(x)) and then to its default, `indent`
 * requires a string, and `default` replaces only Undefined unless its
 * boolean flag is set.
 */
#include "chat/jinja.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(x)                                                               \
    do {                                                                     \
        tlm_status s_ = (x);                                                 \
        if (s_ != TLM_OK) return s_;                                         \
    } while (0)
#define FILTER(name) static tlm_status name(tlm_jctx *c, tlm_jv v, const tlm_jargs *a, tlm_jv *out)

static bool is_int(tlm_jv v) { return v.kind == TLM_JV_INT || v.kind == TLM_JV_BOOL; }
static int64_t ival(tlm_jv v) { return v.kind == TLM_JV_BOOL ? v.u.b : v.u.i; }

static tlm_status buf_done(tlm_jctx *c, tlm_buf *b, tlm_status st, tlm_jv *out) {
    if (st != TLM_OK) {
        tlm_buf_free(b);
        return st == TLM_ERR_NOMEM ? tlm_jerr(c, st, "out of memory") : st;
    }
    return tlm_jv_strbuf(c, b, out);
}

/* Calls a str method on str(v), the way filters like `trim` do. */
static tlm_status str_method(tlm_jctx *c, tlm_jv v, const char *name, const tlm_jargs *a, tlm_jv *out) {
    tlm_jv s, m;
    TRY(tlm_jv_to_str(c, v, &s));
    TRY(tlm_jstr_method(c, s, name, &m));
    return tlm_jcall_value(c, m, a, out);
}

/* ---- Text ---- */

static const char *const no_args[] = {NULL};

FILTER(f_upper) { TRY(tlm_jargs_check(c, "upper", a, 0, no_args)); return str_method(c, v, "upper", a, out); }
FILTER(f_lower) { TRY(tlm_jargs_check(c, "lower", a, 0, no_args)); return str_method(c, v, "lower", a, out); }
FILTER(f_capitalize) {
    TRY(tlm_jargs_check(c, "capitalize", a, 0, no_args));
    return str_method(c, v, "capitalize", a, out);
}
FILTER(f_title) {
    tlm_jv s;
    TRY(tlm_jargs_check(c, "title", a, 0, no_args));
    TRY(tlm_jv_to_str(c, v, &s));
    tlm_buf b = {0};
    return buf_done(c, &b, tlm_ustr_case(&b, s.u.s.p, s.u.s.len, 'j'), out);
}
FILTER(f_trim) {
    static const char *const names[] = {"chars", NULL};
    TRY(tlm_jargs_check(c, "trim", a, 1, names));
    return str_method(c, v, "strip", a, out);
}
FILTER(f_string) {
    TRY(tlm_jargs_check(c, "string", a, 0, no_args));
    return tlm_jv_to_str(c, v, out);
}
FILTER(f_center) {
    static const char *const names[] = {"width", NULL};
    TRY(tlm_jargs_check(c, "center", a, 1, names));
    tlm_jv w = tlm_jv_int(80);
    tlm_jarg(a, 0, "width", &w);
    tlm_jargs one = {&w, 1, NULL, NULL, 0};
    return str_method(c, v, "center", &one, out);
}

FILTER(f_replace) {
    static const char *const names[] = {"old", "new", "count", NULL};
    TRY(tlm_jargs_check(c, "replace", a, 3, names));
    tlm_jv args[3] = {{0}, {0}, tlm_jv_int(-1)};
    if (!tlm_jarg(a, 0, "old", &args[0]) || !tlm_jarg(a, 1, "new", &args[1]))
        return tlm_jerr(c, TLM_ERR_TYPE, "replace filter needs old and new");
    tlm_jarg(a, 2, "count", &args[2]);
    if (args[2].kind == TLM_JV_NONE) args[2] = tlm_jv_int(-1);
    TRY(tlm_jv_to_str(c, args[0], &args[0]));
    TRY(tlm_jv_to_str(c, args[1], &args[1]));
    tlm_jargs three = {args, 3, NULL, NULL, 0};
    return str_method(c, v, "replace", &three, out);
}

static tlm_status html_escape(tlm_jctx *c, tlm_jv v, tlm_jv *out) {
    tlm_jv s;
    TRY(tlm_jv_to_str(c, v, &s));
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    for (size_t i = 0; st == TLM_OK && i < s.u.s.len; i++) {
        const char *e = NULL;
        switch (s.u.s.p[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&#34;"; break;
        case '\'': e = "&#39;"; break;
        }
        st = e ? tlm_buf_append(&b, e, strlen(e)) : tlm_buf_append(&b, s.u.s.p + i, 1);
    }
    return buf_done(c, &b, st, out);
}
FILTER(f_escape) { TRY(tlm_jargs_check(c, "escape", a, 0, no_args)); return html_escape(c, v, out); }
FILTER(f_safe) { TRY(tlm_jargs_check(c, "safe", a, 0, no_args)); return tlm_jv_to_str(c, v, out); }

FILTER(f_indent) {
    static const char *const names[] = {"width", "first", "blank", NULL};
    TRY(tlm_jargs_check(c, "indent", a, 3, names));
    tlm_jv width = tlm_jv_int(4), first = tlm_jv_bool(false), blank = tlm_jv_bool(false), ind;
    tlm_jarg(a, 0, "width", &width);
    tlm_jarg(a, 1, "first", &first);
    tlm_jarg(a, 2, "blank", &blank);
    if (v.kind != TLM_JV_STR) {
        if (v.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, v);
        return tlm_jerr(c, TLM_ERR_TYPE, "unsupported operand type(s) for +=: '%s' and 'str'",
                        tlm_jv_type_name(v));
    }
    if (width.kind == TLM_JV_STR) ind = width;
    else {
        tlm_jv sp = tlm_jv_strref(" ", 1);
        TRY(tlm_jbinop(c, OP_MUL, sp, width, &ind));
    }
    /* jinja2 appends "\n" and splits with str.splitlines() */
    tlm_jv text, lines, m;
    tlm_jargs none = {0};
    TRY(tlm_jbinop(c, OP_ADD, v, tlm_jv_strref("\n", 1), &text));
    TRY(tlm_jstr_method(c, text, "splitlines", &m));
    TRY(tlm_jcall_value(c, m, &none, &lines));
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    const tlm_jlist *l = lines.u.list;
    bool blank_too = tlm_jv_truthy(blank);
    if (tlm_jv_truthy(first)) st = tlm_buf_append(&b, ind.u.s.p, ind.u.s.len);
    for (size_t i = 0; st == TLM_OK && i < l->n; i++) {
        if (i) st = tlm_buf_append(&b, "\n", 1);
        if (st == TLM_OK && i && (blank_too || l->items[i].u.s.len))
            st = tlm_buf_append(&b, ind.u.s.p, ind.u.s.len);
        if (st == TLM_OK) st = tlm_buf_append(&b, l->items[i].u.s.p, l->items[i].u.s.len);
        if (st == TLM_OK) st = tlm_jcheck_size(c, &b);
    }
    return buf_done(c, &b, st, out);
}

FILTER(f_wordcount) {
    tlm_jv s;
    TRY(tlm_jargs_check(c, "wordcount", a, 0, no_args));
    TRY(tlm_jv_to_str(c, v, &s));
    int64_t n = 0;
    bool in_word = false;
    for (size_t i = 0; i < s.u.s.len;) {
        bool w = tlm_ucp_isword(tlm_ustr_next(s.u.s.p, s.u.s.len, &i));
        n += w && !in_word;
        in_word = w;
    }
    *out = tlm_jv_int(n);
    return TLM_OK;
}

FILTER(f_truncate) {
    static const char *const names[] = {"length", "killwords", "end", "leeway", NULL};
    TRY(tlm_jargs_check(c, "truncate", a, 4, names));
    tlm_jv length = tlm_jv_int(255), kill = tlm_jv_bool(false), end = tlm_jv_strref("...", 3),
           leeway = tlm_jv_int(5);
    tlm_jarg(a, 0, "length", &length);
    tlm_jarg(a, 1, "killwords", &kill);
    tlm_jarg(a, 2, "end", &end);
    tlm_jarg(a, 3, "leeway", &leeway);
    if (leeway.kind == TLM_JV_NONE) leeway = tlm_jv_int(5);
    size_t n;
    if (!is_int(length) || !is_int(leeway) || end.kind != TLM_JV_STR)
        return tlm_jerr(c, TLM_ERR_TYPE, "truncate: bad arguments");
    TRY(tlm_jv_len(c, v, &n));
    int64_t end_n = (int64_t)tlm_ustr_count(end.u.s.p, end.u.s.len);
    if (ival(length) < end_n) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "expected length >= %lld, got %lld",
                                               (long long)end_n, (long long)ival(length));
    if (ival(leeway) < 0) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "expected leeway >= 0");
    if ((int64_t)n <= ival(length) + ival(leeway)) { /* returned as is, whatever it is */
        *out = v;
        return TLM_OK;
    }
    if (v.kind != TLM_JV_STR) return tlm_jerr(c, TLM_ERR_TYPE, "truncate needs a string");
    size_t cut = tlm_ustr_offset(v.u.s.p, v.u.s.len, (size_t)(ival(length) - end_n));
    if (!tlm_jv_truthy(kill)) { /* back to the last space: rsplit(" ", 1)[0] */
        size_t sp = tlm_ustr_rfind(v.u.s.p, cut, " ", 1);
        if (sp != SIZE_MAX) cut = sp;
    }
    tlm_buf b = {0};
    tlm_status st = tlm_buf_append(&b, v.u.s.p, cut);
    if (st == TLM_OK) st = tlm_buf_append(&b, end.u.s.p, end.u.s.len);
    return buf_done(c, &b, st, out);
}

FILTER(f_format) {
    tlm_jv s, args;
    if (a->n_pos && a->n_kw)
        return tlm_jerr(c, TLM_ERR_INVALID_ARG, "can't handle positional and keyword arguments at the same time");
    TRY(tlm_jv_to_str(c, v, &s));
    if (a->n_kw) {
        TRY(tlm_jv_dict(c, &args));
        for (size_t i = 0; i < a->n_kw; i++)
            TRY(tlm_jv_dict_set(c, &args, tlm_jv_strref(a->kw_names[i], strlen(a->kw_names[i])), a->kw[i]));
    } else {
        TRY(tlm_jv_tuple(c, a->n_pos, &args));
        for (size_t i = 0; i < a->n_pos; i++) args.u.list->items[i] = a->pos[i];
    }
    return tlm_jformat_percent(c, s, args, out);
}

/* ---- Numbers ---- */

/* Python's float(str): surrounding whitespace, underscores between digits,
 * "inf" and "nan" allowed. */
static bool parse_float(tlm_jv s, double *out) {
    size_t a, z;
    tlm_ustr_strip(s.u.s.p, s.u.s.len, NULL, 0, 'b', &a, &z);
    char tmp[128];
    size_t n = 0;
    for (size_t i = a; i < z; i++) {
        char ch = s.u.s.p[i];
        if (ch == '_') {
            bool ok = i > a && i + 1 < z && s.u.s.p[i - 1] >= '0' && s.u.s.p[i - 1] <= '9' &&
                      s.u.s.p[i + 1] >= '0' && s.u.s.p[i + 1] <= '9';
            if (!ok) return false;
            continue;
        }
        if (n + 1 >= sizeof tmp || !strchr("0123456789+-.eEinfatyINFATY", ch)) return false;
        tmp[n++] = ch;
    }
    tmp[n] = '\0';
    if (!n || strstr(tmp, "0x") || strstr(tmp, "0X")) return false;
    char *end;
    *out = strtod(tmp, &end);
    return *end == '\0';
}

static bool parse_int(tlm_jv s, int base, int64_t *out) {
    size_t a, z;
    tlm_ustr_strip(s.u.s.p, s.u.s.len, NULL, 0, 'b', &a, &z);
    char tmp[80];
    size_t n = 0;
    for (size_t i = a; i < z; i++) {
        char ch = s.u.s.p[i];
        if (ch == '_' && i > a && i + 1 < z && s.u.s.p[i - 1] != '_' && s.u.s.p[i - 1] != '-' &&
            s.u.s.p[i - 1] != '+')
            continue;
        if (n + 1 >= sizeof tmp || ch == ' ' || ch == '_') return false;
        tmp[n++] = ch;
    }
    tmp[n] = '\0';
    if (!n) return false;
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, base);
    if (*end || errno || end == tmp || tmp[n - 1] == '+' || tmp[n - 1] == '-') return false;
    *out = v;
    return true;
}

FILTER(f_int) {
    static const char *const names[] = {"default", "base", NULL};
    TRY(tlm_jargs_check(c, "int", a, 2, names));
    tlm_jv def = tlm_jv_int(0), base = tlm_jv_int(10);
    tlm_jarg(a, 0, "default", &def);
    tlm_jarg(a, 1, "base", &base);
    int64_t i;
    double f;
    if (v.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, v); /* Undefined.__int__ raises */
    if (is_int(v)) *out = tlm_jv_int(ival(v));
    else if (v.kind == TLM_JV_STR && is_int(base) && parse_int(v, (int)ival(base), &i)) *out = tlm_jv_int(i);
    else if ((v.kind == TLM_JV_FLOAT && (f = v.u.f, 1)) || (v.kind == TLM_JV_STR && parse_float(v, &f))) {
        if (isnan(f) || isinf(f)) return tlm_jerr(c, TLM_ERR_RANGE, "cannot convert float %s to integer",
                                                  isnan(f) ? "NaN" : "infinity");
        if (fabs(f) >= 9.2e18) return tlm_jerr(c, TLM_ERR_RANGE, "integer overflow");
        *out = tlm_jv_int((int64_t)f);
    } else *out = def;
    return TLM_OK;
}

FILTER(f_float) {
    static const char *const names[] = {"default", NULL};
    TRY(tlm_jargs_check(c, "float", a, 1, names));
    tlm_jv def = tlm_jv_float(0.0);
    tlm_jarg(a, 0, "default", &def);
    double f;
    if (v.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, v); /* Undefined.__float__ raises */
    if (is_int(v)) *out = tlm_jv_float((double)ival(v));
    else if (v.kind == TLM_JV_FLOAT) *out = v;
    else if (v.kind == TLM_JV_STR && parse_float(v, &f)) *out = tlm_jv_float(f);
    else *out = def;
    return TLM_OK;
}

FILTER(f_abs) {
    TRY(tlm_jargs_check(c, "abs", a, 0, no_args));
    if (v.kind == TLM_JV_FLOAT) *out = tlm_jv_float(fabs(v.u.f));
    else if (is_int(v)) {
        if (ival(v) == INT64_MIN) return tlm_jerr(c, TLM_ERR_RANGE, "integer overflow");
        *out = tlm_jv_int(ival(v) < 0 ? -ival(v) : ival(v));
    } else if (v.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, v);
    else return tlm_jerr(c, TLM_ERR_TYPE, "bad operand type for abs(): '%s'", tlm_jv_type_name(v));
    return TLM_OK;
}

/* Python's round(x, n): correctly rounded, ties to even. */
static double round_digits(double x, int64_t n) {
    if (!isfinite(x) || n > 320) return x;
    if (n < -320) return 0.0 * x;
    if (n >= 0) {
        char buf[400];
        snprintf(buf, sizeof buf, "%.*f", (int)n, x);
        return strtod(buf, NULL);
    }
    double p = pow(10.0, (double)-n), y = nearbyint(x / p) * p;
    return y;
}

FILTER(f_round) {
    static const char *const names[] = {"precision", "method", NULL};
    TRY(tlm_jargs_check(c, "round", a, 2, names));
    tlm_jv prec = tlm_jv_int(0), method = tlm_jv_strref("common", 6);
    tlm_jarg(a, 0, "precision", &prec);
    tlm_jarg(a, 1, "method", &method);
    bool common = tlm_jv_is_str(method, "common"), fl = tlm_jv_is_str(method, "floor");
    if (!common && !fl && !tlm_jv_is_str(method, "ceil"))
        return tlm_jerr(c, TLM_ERR_INVALID_ARG, "method must be common, ceil or floor");
    if (!is_int(prec)) return tlm_jerr(c, TLM_ERR_TYPE, "precision must be an integer");
    if (v.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, v);
    if (!is_int(v) && v.kind != TLM_JV_FLOAT)
        return tlm_jerr(c, TLM_ERR_TYPE, "type %s doesn't define __round__ method", tlm_jv_type_name(v));
    int64_t n = ival(prec);
    if (common) {
        if (v.kind == TLM_JV_FLOAT) *out = tlm_jv_float(round_digits(v.u.f, n));
        else if (n >= 0) *out = tlm_jv_int(ival(v));
        else *out = tlm_jv_int((int64_t)round_digits((double)ival(v), n));
        return TLM_OK;
    }
    double p = pow(10.0, (double)n), x = v.kind == TLM_JV_FLOAT ? v.u.f : (double)ival(v);
    *out = tlm_jv_float((fl ? floor(x * p) : ceil(x * p)) / p);
    return TLM_OK;
}

/* ---- Mappings and misc ---- */

FILTER(f_length) {
    size_t n;
    TRY(tlm_jargs_check(c, "length", a, 0, no_args));
    TRY(tlm_jv_len(c, v, &n));
    *out = tlm_jv_int((int64_t)n);
    return TLM_OK;
}

FILTER(f_default) {
    static const char *const names[] = {"default_value", "boolean", NULL};
    TRY(tlm_jargs_check(c, "default", a, 2, names));
    tlm_jv def = tlm_jv_strref("", 0), boolean = tlm_jv_bool(false);
    tlm_jarg(a, 0, "default_value", &def);
    tlm_jarg(a, 1, "boolean", &boolean);
    bool use = v.kind == TLM_JV_UNDEF || (tlm_jv_truthy(boolean) && !tlm_jv_truthy(v));
    *out = use ? def : v;
    return TLM_OK;
}

FILTER(f_items) {
    TRY(tlm_jargs_check(c, "items", a, 0, no_args));
    tlm_jv list;
    if (v.kind == TLM_JV_UNDEF) return tlm_jv_iter(c, NULL, 0, out);
    if (v.kind != TLM_JV_DICT) return tlm_jerr(c, TLM_ERR_TYPE, "Can only get item pairs from a mapping.");
    TRY(tlm_jv_list(c, v.u.dict->n, &list));
    for (size_t i = 0; i < v.u.dict->n; i++) {
        tlm_jv pair;
        TRY(tlm_jv_tuple(c, 2, &pair));
        pair.u.list->items[0] = v.u.dict->keys[i];
        pair.u.list->items[1] = v.u.dict->vals[i];
        list.u.list->items[i] = pair;
    }
    return tlm_jv_iter(c, list.u.list->items, list.u.list->n, out);
}

FILTER(f_attr) {
    tlm_jv name;
    if (!tlm_jarg(a, 0, "name", &name)) return tlm_jerr(c, TLM_ERR_TYPE, "attr filter needs a name");
    TRY(tlm_jv_to_str(c, name, &name));
    char *z = tlm_jarena_strndup(c->arena, name.u.s.p, name.u.s.len);
    if (!z) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
    if (v.kind == TLM_JV_UNDEF) return tlm_jerr_undef(c, v);
    if (v.kind == TLM_JV_NS || v.kind == TLM_JV_LOOP) return tlm_jgetattr(c, v, z, out);
    TRY(tlm_jmethod_find(c, v, z, out)); /* attributes only: no item fallback */
    if (out->kind == TLM_JV_UNDEF && !out->u.undef)
        return tlm_jv_undef_fmt(c, out, "'%s object' has no attribute '%.100s'", tlm_jv_type_name(v), z);
    return TLM_OK;
}

/* transformers' tojson: json.dumps(x, ensure_ascii=False, indent=None,
 * separators=None, sort_keys=False). */
FILTER(f_tojson) {
    static const char *const names[] = {"ensure_ascii", "indent", "separators", "sort_keys", NULL};
    TRY(tlm_jargs_check(c, "tojson", a, 4, names));
    tlm_jv ascii = tlm_jv_bool(false), indent = tlm_jv_none(), seps = tlm_jv_none(), sort = tlm_jv_bool(false);
    tlm_jarg(a, 0, "ensure_ascii", &ascii);
    tlm_jarg(a, 1, "indent", &indent);
    tlm_jarg(a, 2, "separators", &seps);
    tlm_jarg(a, 3, "sort_keys", &sort);
    tlm_jjson_opts o = {.ensure_ascii = tlm_jv_truthy(ascii), .sort_keys = tlm_jv_truthy(sort),
                        .item_sep = ", ", .item_sep_len = 2, .key_sep = ": ", .key_sep_len = 2};
    tlm_jv ind_str;
    if (indent.kind != TLM_JV_NONE) {
        o.indent_set = true;
        o.item_sep = ",";
        o.item_sep_len = 1;
        if (indent.kind == TLM_JV_STR) ind_str = indent;
        else if (is_int(indent)) TRY(tlm_jbinop(c, OP_MUL, tlm_jv_strref(" ", 1), indent, &ind_str));
        else return tlm_jerr(c, TLM_ERR_TYPE, "can't multiply sequence by non-int of type '%s'",
                             tlm_jv_type_name(indent));
        o.indent = ind_str.u.s.p;
        o.indent_len = ind_str.u.s.len;
    }
    if (seps.kind != TLM_JV_NONE) {
        const tlm_jv *it;
        size_t n;
        TRY(tlm_jv_iterate(c, seps, &it, &n));
        if (n != 2 || it[0].kind != TLM_JV_STR || it[1].kind != TLM_JV_STR)
            return tlm_jerr(c, TLM_ERR_TYPE, "separators must be a pair of strings");
        o.item_sep = it[0].u.s.p, o.item_sep_len = it[0].u.s.len;
        o.key_sep = it[1].u.s.p, o.key_sep_len = it[1].u.s.len;
    }
    tlm_buf b = {0};
    return buf_done(c, &b, tlm_jv_write_json(c, &b, v, &o), out);
}

/* ---- Table ---- */

static const struct {
    const char *name;
    tlm_jbuiltin fn;
} filters[] = {
    {"abs", f_abs},         {"attr", f_attr},       {"capitalize", f_capitalize},
    {"center", f_center},   {"count", f_length},    {"d", f_default},
    {"default", f_default}, {"e", f_escape},        {"escape", f_escape},
    {"float", f_float},     {"forceescape", f_escape}, {"format", f_format},
    {"indent", f_indent},   {"int", f_int},         {"items", f_items},
    {"length", f_length},   {"lower", f_lower},     {"replace", f_replace},
    {"round", f_round},     {"safe", f_safe},       {"string", f_string},
    {"title", f_title},     {"tojson", f_tojson},   {"trim", f_trim},
    {"truncate", f_truncate}, {"upper", f_upper},   {"wordcount", f_wordcount},
};

/* Filters jinja2 has that chat templates do not use. */
static const char *const known_elsewhere[] = {"filesizeformat", "groupby", "pprint", "random",
                                              "slice", "striptags", "urlencode", "urlize",
                                              "wordwrap", "xmlattr", NULL};

tlm_jbuiltin tlm_jfilter_find(const char *name) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(filters); i++)
        if (!strcmp(filters[i].name, name)) return filters[i].fn;
    return tlm_jfilter_seq_find(name);
}

bool tlm_jfilter_known(const char *name) {
    if (tlm_jfilter_find(name)) return true;
    for (size_t i = 0; known_elsewhere[i]; i++)
        if (!strcmp(known_elsewhere[i], name)) return true;
    return false;
}

tlm_status tlm_jcall_filter(tlm_jctx *c, const char *name, tlm_jv v, const tlm_jargs *a,
                            tlm_jv *out) {
    tlm_jbuiltin fn = tlm_jfilter_find(name);
    if (!fn)
        return tlm_jerr(c, TLM_ERR_UNSUPPORTED,
                        tlm_jfilter_known(name) ? "filter '%s' is not supported" : "No filter named '%s'.",
                        name);
    return fn(c, v, a, out);
}
