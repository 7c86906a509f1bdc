/*
 * jinja_format.c - how values turn into text: Python's str() and repr()
 * (what {{ value }} prints) and json.dumps (the tojson filter as
 * transformers defines it: ensure_ascii=False, optional indent,
 * separators and sort_keys).
 *
 * Both must match CPython byte for byte, so the details follow CPython:
 * repr picks its quote character by content and escapes non-printable code
 * points; floats print as the shortest string that reads back exactly, with
 * an exponent only below 1e-4 or from 1e16 on; json escapes only control
 * characters, quotes and backslashes unless ensure_ascii is set.
 */
#include "chat/jinja.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPEND(b, s) tlm_buf_append((b), (s), strlen(s))

static tlm_status nomem(tlm_jctx *c) { return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory"); }

/* Rendering never grows past the output limit, even inside captures and
 * filters, so a template cannot build a huge string and then drop it. */
tlm_status tlm_jcheck_size(tlm_jctx *c, const tlm_buf *b) {
    if (c->lim && c->lim->max_output && b->len > c->lim->max_output)
        return tlm_jerr(c, TLM_ERR_RANGE, "output exceeds the limit of %zu bytes",
                        c->lim->max_output);
    return TLM_OK;
}

/* ---- Floats ---- */

void tlm_jfloat_repr(double f, char *buf, size_t size) {
    if (isnan(f)) {
        snprintf(buf, size, "nan");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, size, f < 0 ? "-inf" : "inf");
        return;
    }
    if (f == 0) {
        snprintf(buf, size, signbit(f) ? "-0.0" : "0.0");
        return;
    }
    /* Shortest digit string that reads back as the same double. */
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f) break;
    }
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg) p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && nd < sizeof digits - 1) digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    int decpt = exp10 + 1;
    char out[64];
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (decpt > 16 || decpt < -3) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        snprintf(out + o, sizeof out - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (decpt <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -decpt; i++) out[o++] = '0';
        memcpy(out + o, digits, nd + 1);
    } else if ((size_t)decpt >= nd) {
        memcpy(out + o, digits, nd);
        o += nd;
        for (size_t i = nd; i < (size_t)decpt; i++) out[o++] = '0';
        memcpy(out + o, ".0", 3);
    } else {
        memcpy(out + o, digits, (size_t)decpt);
        o += (size_t)decpt;
        out[o++] = '.';
        memcpy(out + o, digits + decpt, nd - (size_t)decpt + 1);
    }
    snprintf(buf, size, "%s", out);
}

/* ---- repr / str ---- */

static tlm_status repr_string(tlm_buf *b, const char *s, size_t len) {
    bool has_sq = memchr(s, '\'', len) != NULL, has_dq = memchr(s, '"', len) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    tlm_status st = tlm_buf_append(b, &q, 1);
    for (size_t i = 0; st == TLM_OK && i < len;) {
        size_t start = i;
        uint32_t cp = tlm_ustr_next(s, len, &i);
        char esc[16];
        if (cp == (uint32_t)q || cp == '\\') {
            esc[0] = '\\';
            esc[1] = (char)cp;
            st = tlm_buf_append(b, esc, 2);
        } else if (cp == '\t' || cp == '\n' || cp == '\r') {
            st = APPEND(b, cp == '\t' ? "\\t" : cp == '\n' ? "\\n" : "\\r");
        } else if (cp < 0x20 || cp == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
            st = APPEND(b, esc);
        } else if (cp < 0x7f || tlm_ucp_isprintable(cp)) {
            st = tlm_buf_append(b, s + start, i - start);
        } else {
            snprintf(esc, sizeof esc, cp <= 0xff ? "\\x%02x" : cp <= 0xffff ? "\\u%04x" : "\\U%08x",
                     (unsigned)cp);
            st = APPEND(b, esc);
        }
    }
    if (st == TLM_OK) st = tlm_buf_append(b, &q, 1);
    return st;
}

static tlm_status write_value(tlm_jctx *c, tlm_buf *b, tlm_jv v, bool repr, int depth);

static tlm_status write_seq(tlm_jctx *c, tlm_buf *b, const tlm_jv *items, size_t n,
                            const char *open, const char *close, bool one_comma, int depth) {
    tlm_status st = APPEND(b, open);
    for (size_t i = 0; st == TLM_OK && i < n; i++) {
        if (i) st = APPEND(b, ", ");
        if (st == TLM_OK) st = write_value(c, b, items[i], true, depth + 1);
        if (st == TLM_OK) st = tlm_jcheck_size(c, b);
    }
    if (st == TLM_OK && one_comma && n == 1) st = APPEND(b, ",");
    if (st == TLM_OK) st = APPEND(b, close);
    return st;
}

static tlm_status write_dict(tlm_jctx *c, tlm_buf *b, const tlm_jdict *d, int depth) {
    tlm_status st = APPEND(b, "{");
    for (size_t i = 0; st == TLM_OK && i < d->n; i++) {
        if (i) st = APPEND(b, ", ");
        if (st == TLM_OK) st = write_value(c, b, d->keys[i], true, depth + 1);
        if (st == TLM_OK) st = APPEND(b, ": ");
        if (st == TLM_OK) st = write_value(c, b, d->vals[i], true, depth + 1);
        if (st == TLM_OK) st = tlm_jcheck_size(c, b);
    }
    if (st == TLM_OK) st = APPEND(b, "}");
    return st;
}

static tlm_status write_list(tlm_jctx *c, tlm_buf *b, tlm_jv v, int depth) {
    const tlm_jlist *l = v.u.list;
    if (v.kind == TLM_JV_TUPLE) return write_seq(c, b, l->items, l->n, "(", ")", true, depth);
    if (!v.flags) return write_seq(c, b, l->items, l->n, "[", "]", false, depth);
    /* dict_items([...]) and friends */
    tlm_status st = APPEND(b, tlm_jv_type_name(v));
    if (st == TLM_OK) st = write_seq(c, b, l->items, l->n, "([", "])", false, depth);
    return st;
}

static tlm_status write_value(tlm_jctx *c, tlm_buf *b, tlm_jv v, bool repr, int depth) {
    char num[64];
    if (depth > 500) /* Python's RecursionError, but without the stack overflow */
        return tlm_jerr(c, TLM_ERR_RANGE, "maximum recursion depth exceeded while getting the repr");
    switch ((tlm_jv_kind)v.kind) {
    case TLM_JV_UNDEF: return repr ? APPEND(b, "Undefined") : TLM_OK;
    case TLM_JV_NONE: return APPEND(b, "None");
    case TLM_JV_BOOL: return APPEND(b, v.u.b ? "True" : "False");
    case TLM_JV_INT:
        snprintf(num, sizeof num, "%" PRId64, v.u.i);
        return APPEND(b, num);
    case TLM_JV_FLOAT:
        tlm_jfloat_repr(v.u.f, num, sizeof num);
        return APPEND(b, num);
    case TLM_JV_STR:
        return repr ? repr_string(b, v.u.s.p, v.u.s.len) : tlm_buf_append(b, v.u.s.p, v.u.s.len);
    case TLM_JV_LIST:
    case TLM_JV_TUPLE: return write_list(c, b, v, depth);
    case TLM_JV_DICT: return write_dict(c, b, v.u.dict, depth);
    case TLM_JV_NS: {
        tlm_status st = APPEND(b, "<Namespace ");
        if (st == TLM_OK) st = write_dict(c, b, v.u.dict, depth);
        return st == TLM_OK ? APPEND(b, ">") : st;
    }
    case TLM_JV_LOOP:
        snprintf(num, sizeof num, "<LoopContext %zu/%zu>", v.u.loop->index0 + 1, v.u.loop->n);
        return APPEND(b, num);
    case TLM_JV_ITER:
        /* Python prints an address here, which no two runs share. */
        return APPEND(b, "<generator object>");
    case TLM_JV_FUNC:
        snprintf(num, sizeof num, "<function %.40s>", v.u.fn->name ? v.u.fn->name : "?");
        return APPEND(b, num);
    default: return TLM_ERR_INTERNAL;
    }
}

tlm_status tlm_jv_write_str(tlm_jctx *c, tlm_buf *b, tlm_jv v) {
    tlm_status st = write_value(c, b, v, false, 0);
    if (st == TLM_ERR_NOMEM) return nomem(c);
    return st == TLM_OK ? tlm_jcheck_size(c, b) : st;
}

tlm_status tlm_jv_write_repr(tlm_jctx *c, tlm_buf *b, tlm_jv v) {
    tlm_status st = write_value(c, b, v, true, 0);
    if (st == TLM_ERR_NOMEM) return nomem(c);
    return st == TLM_OK ? tlm_jcheck_size(c, b) : st;
}

tlm_status tlm_jv_to_str(tlm_jctx *c, tlm_jv v, tlm_jv *out) {
    if (v.kind == TLM_JV_STR) {
        *out = v;
        return TLM_OK;
    }
    if (v.kind == TLM_JV_UNDEF) {
        *out = tlm_jv_strref("", 0);
        return TLM_OK;
    }
    tlm_buf b = {0};
    tlm_status st = tlm_jv_write_str(c, &b, v);
    if (st != TLM_OK) {
        tlm_buf_free(&b);
        return st;
    }
    return tlm_jv_strbuf(c, &b, out);
}

/* ---- json.dumps ---- */

static tlm_status json_str_out(tlm_buf *b, const char *s, size_t len, bool ascii) {
    tlm_status st = tlm_buf_append(b, "\"", 1);
    size_t run = 0; /* bytes copied verbatim, flushed before each escape */
    for (size_t i = 0; st == TLM_OK && i < len;) {
        size_t start = i;
        uint32_t cp = tlm_ustr_next(s, len, &i);
        char esc[16];
        const char *e = NULL;
        switch (cp) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        default:
            if (cp < 0x20 || (ascii && cp >= 0x7f && cp <= 0xffff)) {
                snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
                e = esc;
            } else if (ascii && cp > 0xffff) {
                uint32_t v = cp - 0x10000;
                snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xd800 + (unsigned)(v >> 10),
                         0xdc00 + (unsigned)(v & 0x3ff));
                e = esc;
            }
        }
        if (!e) {
            run += i - start;
            continue;
        }
        st = tlm_buf_append(b, s + start - run, run);
        run = 0;
        if (st == TLM_OK) st = APPEND(b, e);
    }
    if (st == TLM_OK) st = tlm_buf_append(b, s + len - run, run);
    if (st == TLM_OK) st = tlm_buf_append(b, "\"", 1);
    return st;
}

static tlm_status json_newline(tlm_buf *b, const tlm_jjson_opts *o, int level) {
    tlm_status st = tlm_buf_append(b, "\n", 1);
    for (int i = 0; st == TLM_OK && i < level; i++) st = tlm_buf_append(b, o->indent, o->indent_len);
    return st;
}

static tlm_status json_value(tlm_jctx *c, tlm_buf *b, tlm_jv v, const tlm_jjson_opts *o,
                             int level);

/* A dict key as json.dumps converts it: only scalars are allowed. */
static tlm_status json_key(tlm_jctx *c, tlm_buf *b, tlm_jv k, const tlm_jjson_opts *o) {
    char num[64];
    switch ((tlm_jv_kind)k.kind) {
    case TLM_JV_STR: return json_str_out(b, k.u.s.p, k.u.s.len, o->ensure_ascii);
    case TLM_JV_NONE: return APPEND(b, "\"null\"");
    case TLM_JV_BOOL: return APPEND(b, k.u.b ? "\"true\"" : "\"false\"");
    case TLM_JV_INT: snprintf(num, sizeof num, "\"%" PRId64 "\"", k.u.i); return APPEND(b, num);
    case TLM_JV_FLOAT: {
        char f[48];
        if (isnan(k.u.f)) snprintf(f, sizeof f, "NaN");
        else if (isinf(k.u.f)) snprintf(f, sizeof f, k.u.f < 0 ? "-Infinity" : "Infinity");
        else tlm_jfloat_repr(k.u.f, f, sizeof f);
        snprintf(num, sizeof num, "\"%s\"", f);
        return APPEND(b, num);
    }
    default:
        return tlm_jerr(c, TLM_ERR_TYPE, "keys must be str, int, float, bool or None, not %s",
                        tlm_jv_type_name(k));
    }
}

/* Stable insertion sort of key indices (dicts are small); Python raises for
 * keys it cannot order, and so do we. */
static tlm_status sorted_keys(tlm_jctx *c, const tlm_jdict *d, size_t *idx) {
    for (size_t i = 0; i < d->n; i++) {
        size_t j = i;
        idx[j] = i;
        while (j > 0) {
            int r;
            tlm_status st = tlm_jv_compare(c, d->keys[idx[j - 1]], d->keys[i], &r);
            if (st != TLM_OK) return st;
            if (r <= 0) break;
            idx[j] = idx[j - 1];
            idx[--j] = i;
        }
    }
    return TLM_OK;
}

static tlm_status json_dict(tlm_jctx *c, tlm_buf *b, const tlm_jdict *d, const tlm_jjson_opts *o,
                            int level) {
    if (d->n == 0) return APPEND(b, "{}");
    size_t *idx = NULL;
    if (o->sort_keys) {
        idx = tlm_jarena_alloc(c->arena, d->n * sizeof *idx);
        if (!idx) return nomem(c);
        tlm_status st = sorted_keys(c, d, idx);
        if (st != TLM_OK) return st;
    }
    tlm_status st = APPEND(b, "{");
    for (size_t i = 0; st == TLM_OK && i < d->n; i++) {
        size_t k = idx ? idx[i] : i;
        if (i) st = tlm_buf_append(b, o->item_sep, o->item_sep_len);
        if (st == TLM_OK && o->indent_set) st = json_newline(b, o, level + 1);
        if (st == TLM_OK) st = json_key(c, b, d->keys[k], o);
        if (st == TLM_OK) st = tlm_buf_append(b, o->key_sep, o->key_sep_len);
        if (st == TLM_OK) st = json_value(c, b, d->vals[k], o, level + 1);
    }
    if (st == TLM_OK && o->indent_set) st = json_newline(b, o, level);
    if (st == TLM_OK) st = APPEND(b, "}");
    return st;
}

static tlm_status json_list(tlm_jctx *c, tlm_buf *b, const tlm_jlist *l, const tlm_jjson_opts *o,
                            int level) {
    if (l->n == 0) return APPEND(b, "[]");
    tlm_status st = APPEND(b, "[");
    for (size_t i = 0; st == TLM_OK && i < l->n; i++) {
        if (i) st = tlm_buf_append(b, o->item_sep, o->item_sep_len);
        if (st == TLM_OK && o->indent_set) st = json_newline(b, o, level + 1);
        if (st == TLM_OK) st = json_value(c, b, l->items[i], o, level + 1);
    }
    if (st == TLM_OK && o->indent_set) st = json_newline(b, o, level);
    if (st == TLM_OK) st = APPEND(b, "]");
    return st;
}

static tlm_status json_value(tlm_jctx *c, tlm_buf *b, tlm_jv v, const tlm_jjson_opts *o,
                             int level) {
    char num[64];
    if (level > 200) return tlm_jerr(c, TLM_ERR_RANGE, "tojson: nesting too deep");
    tlm_status st = tlm_jcheck_size(c, b);
    if (st != TLM_OK) return st;
    switch ((tlm_jv_kind)v.kind) {
    case TLM_JV_NONE: return APPEND(b, "null");
    case TLM_JV_BOOL: return APPEND(b, v.u.b ? "true" : "false");
    case TLM_JV_INT: snprintf(num, sizeof num, "%" PRId64, v.u.i); return APPEND(b, num);
    case TLM_JV_FLOAT:
        if (isnan(v.u.f)) return APPEND(b, "NaN");
        if (isinf(v.u.f)) return APPEND(b, v.u.f < 0 ? "-Infinity" : "Infinity");
        tlm_jfloat_repr(v.u.f, num, sizeof num);
        return APPEND(b, num);
    case TLM_JV_STR: return json_str_out(b, v.u.s.p, v.u.s.len, o->ensure_ascii);
    case TLM_JV_LIST:
        if (v.flags) break; /* dict views are not serializable */
        return json_list(c, b, v.u.list, o, level);
    case TLM_JV_TUPLE: return json_list(c, b, v.u.list, o, level);
    case TLM_JV_DICT: return json_dict(c, b, v.u.dict, o, level);
    default: break;
    }
    return tlm_jerr(c, TLM_ERR_TYPE, "Object of type %s is not JSON serializable",
                    tlm_jv_type_name(v));
}

tlm_status tlm_jv_write_json(tlm_jctx *c, tlm_buf *b, tlm_jv v, const tlm_jjson_opts *o) {
    tlm_status st = json_value(c, b, v, o, 0);
    if (st == TLM_ERR_NOMEM) return nomem(c);
    return st == TLM_OK ? tlm_jcheck_size(c, b) : st;
}
