/*
 * jinja_strfmt.c - Python string formatting: printf-style `"%s" % args`
 * (also the `format` filter) and `"{}".format(...)`.
 *
 * Both funnel into one number/padding core that follows CPython's rules:
 * a sign goes before a 0x prefix and zero padding, %d truncates floats,
 * %x of a negative number is "-ff" (not two's complement), strings pad
 * right with % and left with format().  Floating-point digits come from
 * the C library, which rounds the same way CPython does.
 */
#include "chat/jinja.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(x)                                                               \
    do {                                                                     \
        tlm_status s_ = (x);                                                 \
        if (s_ != TLM_OK) return s_;                                         \
    } while (0)

typedef struct spec {
    char fill[8];
    size_t fill_len;
    char align;    /* '<' '>' '^' '=' or 0 for the default */
    char sign;     /* '+', ' ' or 0 */
    bool alt;      /* '#' */
    bool zero;     /* '0' flag */
    int64_t width; /* -1: none */
    int64_t prec;  /* -1: none */
    char grouping; /* ',' '_' or 0 */
    char type;     /* 0 for none */
} spec;

static void spec_init(spec *s) {
    memset(s, 0, sizeof *s);
    s->fill[0] = ' ';
    s->fill_len = 1;
    s->width = s->prec = -1;
}

static bool is_int(tlm_jv v) { return v.kind == TLM_JV_INT || v.kind == TLM_JV_BOOL; }
static int64_t ival(tlm_jv v) { return v.kind == TLM_JV_BOOL ? v.u.b : v.u.i; }

/* Appends body padded to the spec's width; for '=' the padding goes after
 * the first `prefix` bytes (sign and 0x). */
static tlm_status pad_out(tlm_buf *b, const spec *s, const char *body, size_t len, size_t prefix,
                          char default_align) {
    size_t n = tlm_ustr_count(body, len);
    int64_t pad = s->width > (int64_t)n ? s->width - (int64_t)n : 0;
    char align = s->align ? s->align : default_align;
    int64_t left = align == '>' ? pad : align == '^' ? pad / 2 : 0;
    int64_t mid = align == '=' ? pad : 0, right = pad - left - mid;
    tlm_status st = TLM_OK;
    for (int64_t i = 0; st == TLM_OK && i < left; i++) st = tlm_buf_append(b, s->fill, s->fill_len);
    if (st == TLM_OK) st = tlm_buf_append(b, body, mid ? prefix : 0);
    for (int64_t i = 0; st == TLM_OK && i < mid; i++) st = tlm_buf_append(b, s->fill, s->fill_len);
    if (st == TLM_OK) st = tlm_buf_append(b, body + (mid ? prefix : 0), len - (mid ? prefix : 0));
    for (int64_t i = 0; st == TLM_OK && i < right; i++) st = tlm_buf_append(b, s->fill, s->fill_len);
    return st;
}

static void group_digits(char *digits, size_t cap, char sep) {
    size_t n = strlen(digits), int_len = strcspn(digits, ".eE%");
    if (!sep || int_len <= 3) return;
    size_t extra = (int_len - 1) / 3;
    if (n + extra + 1 > cap) return;
    memmove(digits + int_len + extra, digits + int_len, n - int_len + 1);
    for (size_t src = int_len, dst = int_len + extra, k = 0; src > 0; k++) {
        if (k && k % 3 == 0) digits[--dst] = sep;
        digits[--dst] = digits[--src];
    }
}

/* A number rendered as sign + prefix + digits, then padded. */
static tlm_status fmt_number(tlm_jctx *c, tlm_buf *b, tlm_jv v, spec *s, char default_align) {
    char digits[400], text[440];
    const char *prefix = "";
    bool neg;
    char t = s->type ? s->type : (v.kind == TLM_JV_FLOAT ? 'r' : 'd');
    if (strchr("dioxXbuc", t) && t != 'c') {
        if (!is_int(v)) {
            if (v.kind != TLM_JV_FLOAT || t != 'd')
                return tlm_jerr(c, TLM_ERR_TYPE, "%%%c format: an integer is required, not %s", t,
                                tlm_jv_type_name(v));
            if (!isfinite(v.u.f)) return tlm_jerr(c, TLM_ERR_RANGE, "cannot convert float to integer");
            v = tlm_jv_int((int64_t)v.u.f);
        }
        int64_t x = ival(v);
        neg = x < 0;
        uint64_t mag = neg ? 0 - (uint64_t)x : (uint64_t)x;
        int base = (t == 'x' || t == 'X') ? 16 : t == 'o' ? 8 : t == 'b' ? 2 : 10;
        char tmp[80];
        size_t k = sizeof tmp;
        tmp[--k] = '\0';
        do {
            tmp[--k] = (t == 'X' ? "0123456789ABCDEF" : "0123456789abcdef")[mag % (uint64_t)base];
            mag /= (uint64_t)base;
        } while (mag);
        size_t nd = sizeof tmp - 1 - k;
        size_t zeros = s->prec > (int64_t)nd && s->prec < 300 ? (size_t)s->prec - nd : 0;
        memset(digits, '0', zeros);
        memcpy(digits + zeros, tmp + k, nd + 1);
        if (s->alt && base != 10) prefix = t == 'x' ? "0x" : t == 'X' ? "0X" : t == 'o' ? "0o" : "0b";
        group_digits(digits, sizeof digits, s->grouping);
    } else {
        double f = v.kind == TLM_JV_FLOAT ? v.u.f : (double)ival(v);
        neg = signbit(f) && !isnan(f);
        double mag = fabs(f);
        if (t == 'r') {
            if (s->prec < 0) tlm_jfloat_repr(mag, digits, sizeof digits);
            else { /* format(x, ".3"): like g, but keep a ".0" */
                snprintf(digits, sizeof digits, "%.*g", (int)(s->prec ? s->prec : 1), mag);
                if (isfinite(mag) && !strpbrk(digits, ".e")) strcat(digits, ".0");
            }
        } else {
            char cfmt[16];
            int prec = s->prec < 0 ? 6 : (int)TLM_MIN(s->prec, 300);
            snprintf(cfmt, sizeof cfmt, "%%%s.*%c", s->alt ? "#" : "", t == '%' ? 'f' : t);
            snprintf(digits, sizeof digits - 2, cfmt, prec, t == '%' ? mag * 100 : mag);
            if (t == '%') strcat(digits, "%");
        }
        group_digits(digits, sizeof digits, s->grouping);
    }
    snprintf(text, sizeof text, "%s%s%s", neg ? "-" : s->sign == '+' ? "+" : s->sign == ' ' ? " " : "",
             prefix, digits);
    size_t prefix_len = (neg || s->sign ? 1 : 0) + strlen(prefix);
    if (s->zero && !s->align) {
        s->fill[0] = '0';
        s->fill_len = 1;
        s->align = '=';
    }
    return pad_out(b, s, text, strlen(text), prefix_len, default_align);
}

static tlm_status fmt_string(tlm_buf *b, tlm_jv str, const spec *s, char default_align) {
    size_t len = str.u.s.len;
    if (s->prec >= 0) len = tlm_ustr_offset(str.u.s.p, str.u.s.len, (size_t)s->prec);
    return pad_out(b, s, str.u.s.p, len, 0, default_align);
}

/* ---- printf style ---- */

static tlm_status next_arg(tlm_jctx *c, const tlm_jv *items, size_t n, size_t *i, tlm_jv *out) {
    if (*i >= n) return tlm_jerr(c, TLM_ERR_TYPE, "not enough arguments for format string");
    *out = items[(*i)++];
    return TLM_OK;
}

static tlm_status percent_one(tlm_jctx *c, tlm_buf *b, char type, tlm_jv v, spec *s) {
    if (type == 's' || type == 'r' || type == 'a') {
        tlm_buf tmp = {0};
        tlm_status st = type == 's' ? tlm_jv_write_str(c, &tmp, v) : tlm_jv_write_repr(c, &tmp, v);
        if (st == TLM_OK) st = fmt_string(b, tlm_jv_strref(tmp.data ? tmp.data : "", tmp.len), s,
                                          s->align == '<' ? '<' : '>');
        tlm_buf_free(&tmp);
        return st;
    }
    if (type == 'c') {
        char ch[8];
        size_t n;
        if (is_int(v) && ival(v) >= 0 && ival(v) <= 0x10ffff) n = tlm_ustr_put(ch, (uint32_t)ival(v));
        else if (v.kind == TLM_JV_STR && tlm_ustr_count(v.u.s.p, v.u.s.len) == 1) n = v.u.s.len, memcpy(ch, v.u.s.p, n);
        else return tlm_jerr(c, TLM_ERR_TYPE, "%%c requires an int or a unicode character");
        return fmt_string(b, tlm_jv_strref(ch, n), s, '>');
    }
    if (v.kind != TLM_JV_INT && v.kind != TLM_JV_BOOL && v.kind != TLM_JV_FLOAT)
        return tlm_jerr(c, TLM_ERR_TYPE, "%%%c format: a real number is required, not %s", type,
                        tlm_jv_type_name(v));
    s->type = type == 'i' || type == 'u' ? 'd' : type;
    if (s->zero && s->align == '<') s->zero = false;
    return fmt_number(c, b, v, s, '>');
}

static int64_t read_int(const char *s, size_t len, size_t *i) {
    int64_t v = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9' && v < 100000000) v = v * 10 + (s[(*i)++] - '0');
    return v;
}

static tlm_status percent_spec(tlm_jctx *c, tlm_buf *b, const char *f, size_t len, size_t *pi,
                               tlm_jv args, const tlm_jv *items, size_t n, size_t *argi) {
    size_t i = *pi;
    spec s;
    spec_init(&s);
    tlm_jv v, key = {.kind = TLM_JV_UNDEF};
    if (i < len && f[i] == '(') {
        size_t start = ++i;
        for (int depth = 1; i < len && depth; i++) depth += f[i] == '(' ? 1 : f[i] == ')' ? -1 : 0;
        if (i > len || f[i - 1] != ')') return tlm_jerr(c, TLM_ERR_INVALID_ARG, "incomplete format key");
        key = tlm_jv_strref(f + start, i - 1 - start);
        if (args.kind != TLM_JV_DICT) return tlm_jerr(c, TLM_ERR_TYPE, "format requires a mapping");
    }
    for (; i < len && strchr("-+ #0", f[i]); i++) {
        if (f[i] == '-') s.align = '<';
        else if (f[i] == '+') s.sign = '+';
        else if (f[i] == ' ' && s.sign != '+') s.sign = ' ';
        else if (f[i] == '#') s.alt = true;
        else s.zero = true;
    }
    if (i < len && f[i] == '*') {
        i++;
        TRY(next_arg(c, items, n, argi, &v));
        if (!is_int(v)) return tlm_jerr(c, TLM_ERR_TYPE, "* wants int");
        s.width = ival(v) < 0 ? -ival(v) : ival(v);
        if (ival(v) < 0) s.align = '<';
    } else s.width = read_int(f, len, &i);
    if (i < len && f[i] == '.') {
        i++;
        if (i < len && f[i] == '*') {
            i++;
            TRY(next_arg(c, items, n, argi, &v));
            if (!is_int(v)) return tlm_jerr(c, TLM_ERR_TYPE, "* wants int");
            s.prec = ival(v) < 0 ? 0 : ival(v);
        } else s.prec = read_int(f, len, &i);
    }
    while (i < len && (f[i] == 'h' || f[i] == 'l' || f[i] == 'L')) i++;
    if (i >= len) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "incomplete format");
    char type = f[i++];
    *pi = i;
    if (type == '%') return tlm_buf_append(b, "%", 1);
    if (!strchr("sradiuoxXeEfFgGc", type))
        return tlm_jerr(c, TLM_ERR_INVALID_ARG, "unsupported format character '%c' (0x%x) at index %zu",
                        type, (unsigned char)type, i - 1);
    if (key.kind == TLM_JV_STR) {
        const tlm_jv *found = tlm_jv_dict_get(args.u.dict, key);
        if (!found) return tlm_jerr(c, TLM_ERR_NOT_FOUND, "KeyError: '%.*s'", (int)key.u.s.len, key.u.s.p);
        v = *found;
    } else {
        TRY(next_arg(c, items, n, argi, &v));
    }
    if (s.width > 1 << 20 || s.prec > 1 << 20) return tlm_jerr(c, TLM_ERR_RANGE, "format width too large");
    return percent_one(c, b, type, v, &s);
}

tlm_status tlm_jformat_percent(tlm_jctx *c, tlm_jv fmt, tlm_jv args, tlm_jv *out) {
    const tlm_jv *items = &args;
    size_t n = 1, argi = 0;
    if (args.kind == TLM_JV_TUPLE) items = args.u.list->items, n = args.u.list->n;
    /* Python treats any non-tuple with __getitem__ as a mapping, which
     * excuses unused arguments. */
    bool mapping = args.kind == TLM_JV_DICT || args.kind == TLM_JV_LIST || args.kind == TLM_JV_UNDEF;
    const char *f = fmt.u.s.p;
    size_t len = fmt.u.s.len;
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    for (size_t i = 0; st == TLM_OK && i < len;) {
        const char *pct = memchr(f + i, '%', len - i);
        size_t run = pct ? (size_t)(pct - (f + i)) : len - i;
        st = tlm_buf_append(&b, f + i, run);
        i += run;
        if (st != TLM_OK || i >= len) break;
        i++;
        st = percent_spec(c, &b, f, len, &i, args, items, n, &argi);
        if (st == TLM_OK) st = tlm_jcheck_size(c, &b);
    }
    if (st == TLM_OK && argi < n && !mapping)
        st = tlm_jerr(c, TLM_ERR_TYPE, "not all arguments converted during string formatting");
    if (st != TLM_OK) {
        tlm_buf_free(&b);
        return st == TLM_ERR_NOMEM ? tlm_jerr(c, st, "out of memory") : st;
    }
    return tlm_jv_strbuf(c, &b, out);
}

/* ---- str.format ---- */

static tlm_status parse_format_spec(tlm_jctx *c, const char *p, size_t len, spec *s) {
    size_t i = 0;
    spec_init(s);
    size_t first = 0;
    if (len) {
        size_t j = 0;
        tlm_ustr_next(p, len, &j);
        first = j;
    }
    if (first && first < len && strchr("<>=^", p[first])) {
        memcpy(s->fill, p, first);
        s->fill_len = first;
        s->align = p[first];
        i = first + 1;
    } else if (i < len && strchr("<>=^", p[i])) {
        s->align = p[i++];
    }
    if (i < len && strchr("+- ", p[i])) s->sign = p[i] == '-' ? 0 : p[i], i++;
    if (i < len && p[i] == '#') s->alt = true, i++;
    if (i < len && p[i] == '0') s->zero = true, i++;
    if (i < len && p[i] >= '0' && p[i] <= '9') s->width = read_int(p, len, &i);
    if (i < len && (p[i] == ',' || p[i] == '_')) s->grouping = p[i++];
    if (i < len && p[i] == '.') {
        i++;
        if (i >= len || p[i] < '0' || p[i] > '9')
            return tlm_jerr(c, TLM_ERR_INVALID_ARG, "Format specifier missing precision");
        s->prec = read_int(p, len, &i);
    }
    if (i < len) s->type = p[i++];
    if (i < len) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "Invalid format specifier");
    if (s->width > 1 << 20 || s->prec > 1 << 20) return tlm_jerr(c, TLM_ERR_RANGE, "format width too large");
    return TLM_OK;
}

static tlm_status apply_spec(tlm_jctx *c, tlm_buf *b, tlm_jv v, const char *p, size_t len) {
    if (len == 0) return tlm_jv_write_str(c, b, v);
    spec s;
    TRY(parse_format_spec(c, p, len, &s));
    if (v.kind == TLM_JV_STR) {
        if ((s.type && s.type != 's') || s.sign || s.alt || s.align == '=')
            return tlm_jerr(c, TLM_ERR_INVALID_ARG, "invalid format specifier for a string");
        if (s.zero && !s.align) s.fill[0] = '0', s.align = '<';
        return fmt_string(b, v, &s, '<');
    }
    bool num = v.kind == TLM_JV_INT || v.kind == TLM_JV_BOOL || v.kind == TLM_JV_FLOAT;
    if (!num)
        return tlm_jerr(c, TLM_ERR_TYPE, "unsupported format string passed to %s.__format__",
                        tlm_jv_type_name(v));
    char t = s.type;
    if (t == 'n') s.type = 'd';
    if (is_int(v) && t && strchr("eEfFgG%", t)) v = tlm_jv_float((double)ival(v));
    if ((v.kind == TLM_JV_FLOAT && t && !strchr("eEfFgG%", t)) ||
        (is_int(v) && t && !strchr("dnbcoxX", t)))
        return tlm_jerr(c, TLM_ERR_INVALID_ARG, "Unknown format code '%c' for object of type '%s'", t,
                        tlm_jv_type_name(v));
    if (t == 'c') {
        s.type = 0;
        char ch[8];
        if (ival(v) < 0 || ival(v) > 0x10ffff) return tlm_jerr(c, TLM_ERR_RANGE, "%%c arg not in range(0x110000)");
        size_t n = tlm_ustr_put(ch, (uint32_t)ival(v));
        return fmt_string(b, tlm_jv_strref(ch, n), &s, '<');
    }
    return fmt_number(c, b, v, &s, '>');
}

static tlm_status field_value(tlm_jctx *c, const char *p, size_t len, const tlm_jargs *a,
                              int *mode, size_t *auto_i, tlm_jv *out) {
    size_t i = 0;
    while (i < len && p[i] != '.' && p[i] != '[') i++;
    bool digits = i > 0;
    for (size_t k = 0; k < i; k++) digits &= p[k] >= '0' && p[k] <= '9';
    if (i == 0 || digits) {
        int want = i == 0 ? 1 : 2;
        if (*mode && *mode != want)
            return tlm_jerr(c, TLM_ERR_INVALID_ARG, want == 1
                                ? "cannot switch from manual field specification to automatic field numbering"
                                : "cannot switch from automatic field numbering to manual field specification");
        *mode = want;
        size_t k = 0, idx = i == 0 ? (*auto_i)++ : (size_t)read_int(p, len, &k);
        if (idx >= a->n_pos)
            return tlm_jerr(c, TLM_ERR_RANGE, "Replacement index %zu out of range for positional args tuple", idx);
        *out = a->pos[idx];
    } else {
        size_t k = 0;
        while (k < a->n_kw && (strlen(a->kw_names[k]) != i || memcmp(a->kw_names[k], p, i))) k++;
        if (k == a->n_kw) return tlm_jerr(c, TLM_ERR_NOT_FOUND, "KeyError: '%.*s'", (int)i, p);
        *out = a->kw[k];
    }
    while (i < len) { /* .attr and [key] chains, through the sandbox rules */
        bool dot = p[i] == '.';
        size_t start = ++i;
        while (i < len && (dot ? (p[i] != '.' && p[i] != '[') : p[i] != ']')) i++;
        if (!dot && i >= len) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "Missing ']' in format string");
        char *name = tlm_jarena_strndup(c->arena, p + start, i - start);
        if (!name) return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory");
        if (dot) TRY(tlm_jgetattr(c, *out, name, out));
        else {
            size_t k = 0;
            int64_t n = read_int(name, i - start, &k);
            tlm_jv key = k == i - start && k ? tlm_jv_int(n) : tlm_jv_strref(name, i - start);
            TRY(tlm_jgetitem(c, *out, key, out));
            i++;
        }
    }
    return TLM_OK;
}

static tlm_status brace_field(tlm_jctx *c, tlm_buf *b, const char *p, size_t len,
                              const tlm_jargs *a, int *mode, size_t *auto_i) {
    size_t name_end = 0;
    for (int br = 0; name_end < len; name_end++) {
        if (p[name_end] == '[') br = 1;
        else if (p[name_end] == ']') br = 0;
        else if (!br && (p[name_end] == '!' || p[name_end] == ':')) break;
    }
    char conv = 0;
    size_t i = name_end;
    if (i < len && p[i] == '!') {
        if (i + 1 >= len || (i + 2 < len && p[i + 2] != ':'))
            return tlm_jerr(c, TLM_ERR_INVALID_ARG, "expected ':' after conversion specifier");
        conv = p[i + 1];
        i += 2;
    }
    const char *sp = i < len ? p + i + 1 : p + len;
    size_t sp_len = i < len ? len - i - 1 : 0;
    if (memchr(sp, '{', sp_len)) return tlm_jerr(c, TLM_ERR_UNSUPPORTED, "nested format fields are not supported");
    tlm_jv v;
    TRY(field_value(c, p, name_end, a, mode, auto_i, &v));
    if (conv) {
        if (!strchr("sra", conv))
            return tlm_jerr(c, TLM_ERR_INVALID_ARG, "Unknown conversion specifier %c", conv);
        tlm_buf t = {0};
        tlm_status st = conv == 's' ? tlm_jv_write_str(c, &t, v) : tlm_jv_write_repr(c, &t, v);
        if (st == TLM_OK) st = tlm_jv_strbuf(c, &t, &v);
        else tlm_buf_free(&t);
        TRY(st);
    }
    return apply_spec(c, b, v, sp, sp_len);
}

tlm_status tlm_jformat_brace(tlm_jctx *c, tlm_jv fmt, const tlm_jargs *a, tlm_jv *out) {
    const char *f = fmt.u.s.p;
    size_t len = fmt.u.s.len, auto_i = 0;
    int mode = 0;
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    for (size_t i = 0; st == TLM_OK && i < len;) {
        char ch = f[i];
        if ((ch == '{' || ch == '}') && i + 1 < len && f[i + 1] == ch) {
            st = tlm_buf_append(&b, &ch, 1);
            i += 2;
        } else if (ch == '}') {
            st = tlm_jerr(c, TLM_ERR_INVALID_ARG, "Single '}' encountered in format string");
        } else if (ch == '{') {
            size_t j = i + 1;
            for (int depth = 1; j < len; j++) {
                depth += f[j] == '{' ? 1 : f[j] == '}' ? -1 : 0;
                if (!depth) break;
            }
            if (j >= len) st = tlm_jerr(c, TLM_ERR_INVALID_ARG, "expected '}' before end of string");
            else st = brace_field(c, &b, f + i + 1, j - i - 1, a, &mode, &auto_i);
            if (st == TLM_OK) st = tlm_jcheck_size(c, &b);
            i = j + 1;
        } else {
            st = tlm_buf_append(&b, &ch, 1);
            i++;
        }
    }
    if (st != TLM_OK) {
        tlm_buf_free(&b);
        return st == TLM_ERR_NOMEM ? tlm_jerr(c, st, "out of memory") : st;
    }
    return tlm_jv_strbuf(c, &b, out);
}
