/*
 * jinja_strmeth.c - Python's str methods as templates call them
 * (message.content.strip(), s.split(","), "{}".format(x), "%s" % x ...).
 *
 * Positions and lengths are in code points, as in Python; results match
 * CPython's for valid UTF-8.  Formatting covers the printf-style
 * conversions (s r d i x X o e f g c %) and str.format fields with
 * conversions and the common format specs (fill, align, sign, width,
 * grouping, precision, types s d b o x X e f g %).
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
#define METHOD(name) static tlm_status name(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out)

static tlm_status nomem(tlm_jctx *c) { return tlm_jerr(c, TLM_ERR_NOMEM, "out of memory"); }

static tlm_status buf_done(tlm_jctx *c, tlm_buf *b, tlm_status st, tlm_jv *out) {
    if (st != TLM_OK) {
        tlm_buf_free(b);
        return st == TLM_ERR_NOMEM ? nomem(c) : st;
    }
    return tlm_jv_strbuf(c, b, out);
}

static tlm_status need_str(tlm_jctx *c, const char *fn, tlm_jv v) {
    if (v.kind == TLM_JV_STR) return TLM_OK;
    return tlm_jerr(c, TLM_ERR_TYPE, "%s() argument must be str, not %s", fn, tlm_jv_type_name(v));
}

static bool is_int(tlm_jv v) { return v.kind == TLM_JV_INT || v.kind == TLM_JV_BOOL; }
static int64_t ival(tlm_jv v) { return v.kind == TLM_JV_BOOL ? v.u.b : v.u.i; }

/* Byte range of the code point range [start, end) given as optional
 * Python slice bounds (args i and i+1). */
static tlm_status cp_range(tlm_jctx *c, tlm_jv s, const tlm_jargs *a, size_t i, size_t *lo,
                           size_t *hi) {
    TRY(tlm_jcharge(c, s.u.s.len));
    int64_t n = (int64_t)tlm_ustr_count(s.u.s.p, s.u.s.len), b[2] = {0, n};
    for (int k = 0; k < 2; k++) {
        tlm_jv v;
        if (!tlm_jarg(a, i + (size_t)k, NULL, &v) || v.kind == TLM_JV_NONE) continue;
        if (!is_int(v)) return tlm_jerr(c, TLM_ERR_TYPE, "slice indices must be integers or None");
        int64_t x = ival(v);
        if (x < 0) x = x + n < 0 ? 0 : x + n;
        b[k] = x > n ? n : x;
    }
    *lo = tlm_ustr_offset(s.u.s.p, s.u.s.len, (size_t)b[0]);
    *hi = b[1] < b[0] ? *lo : tlm_ustr_offset(s.u.s.p, s.u.s.len, (size_t)b[1]);
    return TLM_OK;
}

/* ---- Case and predicates ---- */

static tlm_status map_case(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, char mode) {
    TRY(tlm_jargs_check(c, "str method", a, 0, NULL));
    tlm_buf b = {0};
    return buf_done(c, &b, tlm_ustr_case(&b, self.u.s.p, self.u.s.len, mode), out);
}
METHOD(s_upper) { return map_case(c, self, a, out, 'u'); }
METHOD(s_lower) { return map_case(c, self, a, out, 'l'); }
METHOD(s_title) { return map_case(c, self, a, out, 't'); }
METHOD(s_capitalize) { return map_case(c, self, a, out, 'c'); }

static tlm_status predicate(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, char kind) {
    TRY(tlm_jargs_check(c, "str method", a, 0, NULL));
    bool ok = self.u.s.len > 0, cased = false;
    for (size_t i = 0; ok && i < self.u.s.len;) {
        uint32_t cp = tlm_ustr_next(self.u.s.p, self.u.s.len, &i);
        switch (kind) {
        case 'd': ok = tlm_ucp_isdigit(cp); break;
        case 'a': ok = tlm_ucp_isalpha(cp); break;
        case 'n': ok = tlm_ucp_isalpha(cp) || tlm_ucp_isword(cp); break;
        case 's': ok = tlm_ucp_isspace(cp); break;
        case 'u': ok = !tlm_ucp_islower(cp), cased |= tlm_ucp_isupper(cp); break;
        default: ok = !tlm_ucp_isupper(cp), cased |= tlm_ucp_islower(cp); break;
        }
    }
    if (kind == 'n' && ok) /* isalnum: \w minus "_" */
        ok = memchr(self.u.s.p, '_', self.u.s.len) == NULL;
    *out = tlm_jv_bool(ok && (kind == 'u' || kind == 'l' ? cased : true));
    return TLM_OK;
}
METHOD(s_isdigit) { return predicate(c, self, a, out, 'd'); }
METHOD(s_isalpha) { return predicate(c, self, a, out, 'a'); }
METHOD(s_isalnum) { return predicate(c, self, a, out, 'n'); }
METHOD(s_isspace) { return predicate(c, self, a, out, 's'); }
METHOD(s_isupper) { return predicate(c, self, a, out, 'u'); }
METHOD(s_islower) { return predicate(c, self, a, out, 'l'); }

/* ---- strip / split / join ---- */

static tlm_status strip(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, char which) {
    static const char *const names[] = {"chars", NULL};
    TRY(tlm_jargs_check(c, "strip", a, 1, names));
    tlm_jv chars = tlm_jv_none();
    tlm_jarg(a, 0, "chars", &chars);
    if (chars.kind != TLM_JV_NONE && chars.kind != TLM_JV_STR)
        return tlm_jerr(c, TLM_ERR_TYPE, "strip arg must be None or str");
    size_t s, e;
    tlm_ustr_strip(self.u.s.p, self.u.s.len, chars.kind == TLM_JV_STR ? chars.u.s.p : NULL,
                   chars.kind == TLM_JV_STR ? chars.u.s.len : 0, which, &s, &e);
    *out = tlm_jv_strref(self.u.s.p + s, e - s);
    return TLM_OK;
}
METHOD(s_strip) { return strip(c, self, a, out, 'b'); }
METHOD(s_lstrip) { return strip(c, self, a, out, 'l'); }
METHOD(s_rstrip) { return strip(c, self, a, out, 'r'); }

static size_t ws_end(const char *s, size_t len, size_t i, bool want_space) {
    while (i < len) {
        size_t j = i;
        if (tlm_ucp_isspace(tlm_ustr_next(s, len, &j)) != want_space) break;
        i = j;
    }
    return i;
}

/* Start of the code point ending at i, and whether it is a space. */
static size_t ws_back(const char *s, size_t len, size_t i, bool want_space) {
    while (i > 0) {
        size_t k = i - 1;
        while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
        size_t j = k;
        if (tlm_ucp_isspace(tlm_ustr_next(s, len, &j)) != want_space) break;
        i = k;
    }
    return i;
}

static tlm_status push_piece(tlm_jctx *c, tlm_jv *list, const char *p, size_t n) {
    return tlm_jv_list_push(c, list, tlm_jv_strref(p, n));
}

static tlm_status split_ws(tlm_jctx *c, tlm_jv self, int64_t max, bool right, tlm_jv *out) {
    const char *s = self.u.s.p;
    size_t len = self.u.s.len;
    if (!right) {
        size_t i = 0;
        for (; max != 0; max--) {
            i = ws_end(s, len, i, true);
            if (i == len) break;
            size_t j = ws_end(s, len, i, false);
            TRY(push_piece(c, out, s + i, j - i));
            i = j;
        }
        i = ws_end(s, len, i, true);
        return i < len ? push_piece(c, out, s + i, len - i) : TLM_OK;
    }
    size_t i = len;
    for (; max != 0; max--) {
        i = ws_back(s, len, i, true);
        if (i == 0) break;
        size_t j = ws_back(s, len, i, false);
        TRY(push_piece(c, out, s + j, i - j));
        i = j;
    }
    i = ws_back(s, len, i, true);
    return i > 0 ? push_piece(c, out, s, i) : TLM_OK;
}

static tlm_status split_sep(tlm_jctx *c, tlm_jv self, tlm_jv sep, int64_t max, bool right,
                            tlm_jv *out) {
    const char *s = self.u.s.p;
    size_t len = self.u.s.len, n = sep.u.s.len;
    if (!right) {
        size_t i = 0, at;
        for (; max != 0 && (at = tlm_ustr_find(s, len, sep.u.s.p, n, i)) != SIZE_MAX; max--) {
            TRY(push_piece(c, out, s + i, at - i));
            i = at + n;
        }
        return push_piece(c, out, s + i, len - i);
    }
    size_t end = len, at;
    for (; max != 0 && (at = tlm_ustr_rfind(s, end, sep.u.s.p, n)) != SIZE_MAX; max--) {
        TRY(push_piece(c, out, s + at + n, end - at - n));
        end = at;
    }
    return push_piece(c, out, s, end);
}

static tlm_status split(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, bool right) {
    static const char *const names[] = {"sep", "maxsplit", NULL};
    TRY(tlm_jargs_check(c, "split", a, 2, names));
    tlm_jv sep = tlm_jv_none(), maxv = tlm_jv_int(-1);
    tlm_jarg(a, 0, "sep", &sep);
    tlm_jarg(a, 1, "maxsplit", &maxv);
    if (!is_int(maxv)) return tlm_jerr(c, TLM_ERR_TYPE, "maxsplit must be an integer");
    if (sep.kind != TLM_JV_NONE) TRY(need_str(c, "split", sep));
    if (sep.kind == TLM_JV_STR && sep.u.s.len == 0)
        return tlm_jerr(c, TLM_ERR_INVALID_ARG, "empty separator");
    TRY(tlm_jv_list(c, 0, out));
    int64_t max = ival(maxv) < 0 ? -1 : ival(maxv);
    TRY(sep.kind == TLM_JV_NONE ? split_ws(c, self, max, right, out)
                                : split_sep(c, self, sep, max, right, out));
    if (right) { /* collected back to front */
        tlm_jlist *l = out->u.list;
        for (size_t i = 0; i < l->n / 2; i++) {
            tlm_jv t = l->items[i];
            l->items[i] = l->items[l->n - 1 - i];
            l->items[l->n - 1 - i] = t;
        }
    }
    return TLM_OK;
}
METHOD(s_split) { return split(c, self, a, out, false); }
METHOD(s_rsplit) { return split(c, self, a, out, true); }

METHOD(s_splitlines) {
    static const char *const names[] = {"keepends", NULL};
    TRY(tlm_jargs_check(c, "splitlines", a, 1, names));
    tlm_jv keep = tlm_jv_bool(false);
    tlm_jarg(a, 0, "keepends", &keep);
    TRY(tlm_jv_list(c, 0, out));
    const char *s = self.u.s.p;
    size_t len = self.u.s.len, start = 0;
    for (size_t i = 0; i < len;) {
        size_t at = i;
        uint32_t cp = tlm_ustr_next(s, len, &i);
        bool brk = cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c || (cp >= 0x1c && cp <= 0x1e) ||
                   cp == 0x85 || cp == 0x2028 || cp == 0x2029;
        if (!brk) continue;
        if (cp == '\r' && i < len && s[i] == '\n') i++;
        TRY(push_piece(c, out, s + start, (tlm_jv_truthy(keep) ? i : at) - start));
        start = i;
    }
    return start < len ? push_piece(c, out, s + start, len - start) : TLM_OK;
}

METHOD(s_join) {
    tlm_jv seq;
    const tlm_jv *items;
    size_t n;
    if (a->n_pos != 1 || a->n_kw) return tlm_jerr(c, TLM_ERR_TYPE, "join() takes exactly one argument");
    seq = a->pos[0];
    TRY(tlm_jv_iterate(c, seq, &items, &n));
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    for (size_t i = 0; st == TLM_OK && i < n; i++) {
        if (items[i].kind != TLM_JV_STR)
            st = tlm_jerr(c, TLM_ERR_TYPE, "sequence item %zu: expected str instance, %s found", i,
                          tlm_jv_type_name(items[i]));
        if (st == TLM_OK && i) st = tlm_buf_append(&b, self.u.s.p, self.u.s.len);
        if (st == TLM_OK) st = tlm_buf_append(&b, items[i].u.s.p, items[i].u.s.len);
        if (st == TLM_OK) st = tlm_jcheck_size(c, &b);
    }
    return buf_done(c, &b, st, out);
}

/* ---- Searching ---- */

static tlm_status prefix_test(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, bool end) {
    tlm_jv pre;
    size_t lo, hi;
    if (!tlm_jarg(a, 0, NULL, &pre) || a->n_kw)
        return tlm_jerr(c, TLM_ERR_TYPE, "%s takes at least 1 argument", end ? "endswith" : "startswith");
    TRY(cp_range(c, self, a, 1, &lo, &hi));
    const tlm_jv *cands = &pre;
    size_t n = 1;
    if (pre.kind == TLM_JV_TUPLE) cands = pre.u.list->items, n = pre.u.list->n;
    bool hit = false;
    for (size_t i = 0; i < n; i++) {
        if (cands[i].kind != TLM_JV_STR)
            return tlm_jerr(c, TLM_ERR_TYPE, "%s first arg must be str or a tuple of str, not %s",
                            end ? "endswith" : "startswith", tlm_jv_type_name(cands[i]));
        size_t k = cands[i].u.s.len;
        if (k <= hi - lo &&
            memcmp(self.u.s.p + (end ? hi - k : lo), cands[i].u.s.p, k) == 0)
            hit = true;
    }
    *out = tlm_jv_bool(hit);
    return TLM_OK;
}
METHOD(s_startswith) { return prefix_test(c, self, a, out, false); }
METHOD(s_endswith) { return prefix_test(c, self, a, out, true); }

/* find/rfind/index/rindex/count: mode 'f','r','i','j','c' */
static tlm_status search(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, char mode) {
    tlm_jv sub;
    size_t lo, hi;
    if (!tlm_jarg(a, 0, NULL, &sub) || a->n_kw) return tlm_jerr(c, TLM_ERR_TYPE, "expected a substring");
    TRY(need_str(c, "find", sub));
    TRY(cp_range(c, self, a, 1, &lo, &hi));
    const char *s = self.u.s.p + lo;
    size_t len = hi - lo, at;
    if (mode == 'c') {
        int64_t n = 0;
        if (sub.u.s.len == 0) n = (int64_t)tlm_ustr_count(s, len) + 1;
        else
            for (size_t i = 0; (at = tlm_ustr_find(s, len, sub.u.s.p, sub.u.s.len, i)) != SIZE_MAX; n++)
                i = at + sub.u.s.len;
        *out = tlm_jv_int(n);
        return TLM_OK;
    }
    at = (mode == 'f' || mode == 'i') ? tlm_ustr_find(s, len, sub.u.s.p, sub.u.s.len, 0)
                                      : tlm_ustr_rfind(s, len, sub.u.s.p, sub.u.s.len);
    if (at == SIZE_MAX && (mode == 'i' || mode == 'j'))
        return tlm_jerr(c, TLM_ERR_NOT_FOUND, "substring not found");
    *out = tlm_jv_int(at == SIZE_MAX ? -1
                                     : (int64_t)tlm_ustr_count(self.u.s.p, lo + at));
    return TLM_OK;
}
METHOD(s_find) { return search(c, self, a, out, 'f'); }
METHOD(s_rfind) { return search(c, self, a, out, 'r'); }
METHOD(s_index) { return search(c, self, a, out, 'i'); }
METHOD(s_rindex) { return search(c, self, a, out, 'j'); }
METHOD(s_count) { return search(c, self, a, out, 'c'); }

METHOD(s_replace) {
    tlm_jv old, rep, cnt = tlm_jv_int(-1);
    if (!tlm_jarg(a, 0, NULL, &old) || !tlm_jarg(a, 1, NULL, &rep))
        return tlm_jerr(c, TLM_ERR_TYPE, "replace expected at least 2 arguments");
    tlm_jarg(a, 2, "count", &cnt);
    TRY(need_str(c, "replace", old));
    TRY(need_str(c, "replace", rep));
    if (!is_int(cnt)) return tlm_jerr(c, TLM_ERR_TYPE, "count must be an integer");
    int64_t left = ival(cnt) < 0 ? INT64_MAX : ival(cnt);
    const char *s = self.u.s.p;
    size_t len = self.u.s.len, i = 0;
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    if (old.u.s.len == 0) { /* "ab".replace("", "-") == "-a-b-" */
        while (st == TLM_OK && left-- > 0) {
            st = tlm_buf_append(&b, rep.u.s.p, rep.u.s.len);
            if (st == TLM_OK) st = tlm_jcheck_size(c, &b);
            if (i >= len) break;
            size_t j = i;
            tlm_ustr_next(s, len, &j);
            if (st == TLM_OK) st = tlm_buf_append(&b, s + i, j - i);
            i = j;
        }
    } else {
        size_t at;
        while (st == TLM_OK && left-- > 0 &&
               (at = tlm_ustr_find(s, len, old.u.s.p, old.u.s.len, i)) != SIZE_MAX) {
            st = tlm_buf_append(&b, s + i, at - i);
            if (st == TLM_OK) st = tlm_buf_append(&b, rep.u.s.p, rep.u.s.len);
            if (st == TLM_OK) st = tlm_jcheck_size(c, &b);
            i = at + old.u.s.len;
        }
    }
    if (st == TLM_OK) st = tlm_buf_append(&b, s + i, len - i);
    return buf_done(c, &b, st, out);
}

static tlm_status affix(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, bool suffix) {
    tlm_jv x;
    if (!tlm_jarg(a, 0, NULL, &x)) return tlm_jerr(c, TLM_ERR_TYPE, "expected 1 argument");
    TRY(need_str(c, suffix ? "removesuffix" : "removeprefix", x));
    size_t k = x.u.s.len, n = self.u.s.len;
    *out = self;
    if (k && k <= n && !memcmp(self.u.s.p + (suffix ? n - k : 0), x.u.s.p, k))
        *out = tlm_jv_strref(self.u.s.p + (suffix ? 0 : k), n - k);
    return TLM_OK;
}
METHOD(s_removeprefix) { return affix(c, self, a, out, false); }
METHOD(s_removesuffix) { return affix(c, self, a, out, true); }

static tlm_status partition(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, bool right) {
    tlm_jv sep;
    if (!tlm_jarg(a, 0, NULL, &sep)) return tlm_jerr(c, TLM_ERR_TYPE, "expected 1 argument");
    TRY(need_str(c, "partition", sep));
    if (!sep.u.s.len) return tlm_jerr(c, TLM_ERR_INVALID_ARG, "empty separator");
    const char *s = self.u.s.p;
    size_t n = self.u.s.len;
    size_t at = right ? tlm_ustr_rfind(s, n, sep.u.s.p, sep.u.s.len)
                      : tlm_ustr_find(s, n, sep.u.s.p, sep.u.s.len, 0);
    TRY(tlm_jv_tuple(c, 3, out));
    tlm_jv *it = out->u.list->items;
    tlm_jv empty = tlm_jv_strref("", 0);
    if (at == SIZE_MAX) {
        it[0] = right ? empty : self;
        it[1] = empty;
        it[2] = right ? self : empty;
    } else {
        it[0] = tlm_jv_strref(s, at);
        it[1] = sep;
        it[2] = tlm_jv_strref(s + at + sep.u.s.len, n - at - sep.u.s.len);
    }
    return TLM_OK;
}
METHOD(s_partition) { return partition(c, self, a, out, false); }
METHOD(s_rpartition) { return partition(c, self, a, out, true); }

/* ---- Padding ---- */

static tlm_status pad(tlm_jctx *c, tlm_jv self, const tlm_jargs *a, tlm_jv *out, char how) {
    tlm_jv w, fill = tlm_jv_strref(" ", 1);
    if (!tlm_jarg(a, 0, NULL, &w) || !is_int(w)) return tlm_jerr(c, TLM_ERR_TYPE, "width must be an integer");
    tlm_jarg(a, 1, NULL, &fill);
    if (fill.kind != TLM_JV_STR || tlm_ustr_count(fill.u.s.p, fill.u.s.len) != 1)
        return tlm_jerr(c, TLM_ERR_TYPE, "The fill character must be exactly one character long");
    int64_t len = (int64_t)tlm_ustr_count(self.u.s.p, self.u.s.len), width = ival(w);
    if (width > 1 << 20) return tlm_jerr(c, TLM_ERR_RANGE, "width too large");
    if (width <= len) {
        *out = self;
        return TLM_OK;
    }
    int64_t marg = width - len, left = how == 'l' ? 0 : how == 'r' || how == 'z' ? marg
                                                      : marg / 2 + (marg & width & 1);
    const char *s = self.u.s.p;
    size_t n = self.u.s.len, skip = 0;
    tlm_buf b = {0};
    tlm_status st = TLM_OK;
    if (how == 'z') {
        fill = tlm_jv_strref("0", 1);
        if (n && (s[0] == '-' || s[0] == '+')) st = tlm_buf_append(&b, s, 1), skip = 1;
    }
    for (int64_t i = 0; st == TLM_OK && i < left; i++) st = tlm_buf_append(&b, fill.u.s.p, fill.u.s.len);
    if (st == TLM_OK) st = tlm_buf_append(&b, s + skip, n - skip);
    for (int64_t i = left; st == TLM_OK && i < marg; i++) st = tlm_buf_append(&b, fill.u.s.p, fill.u.s.len);
    return buf_done(c, &b, st, out);
}
METHOD(s_ljust) { return pad(c, self, a, out, 'l'); }
METHOD(s_rjust) { return pad(c, self, a, out, 'r'); }
METHOD(s_center) { return pad(c, self, a, out, 'c'); }
METHOD(s_zfill) { return pad(c, self, a, out, 'z'); }

METHOD(s_format) { return tlm_jformat_brace(c, self, a, out); }

static const struct {
    const char *name;
    tlm_jbuiltin fn;
} str_methods[] = {
    {"upper", s_upper},           {"lower", s_lower},
    {"casefold", s_lower},        {"title", s_title},
    {"capitalize", s_capitalize}, {"strip", s_strip},
    {"lstrip", s_lstrip},         {"rstrip", s_rstrip},
    {"split", s_split},           {"rsplit", s_rsplit},
    {"splitlines", s_splitlines}, {"join", s_join},
    {"startswith", s_startswith}, {"endswith", s_endswith},
    {"find", s_find},             {"rfind", s_rfind},
    {"index", s_index},           {"rindex", s_rindex},
    {"count", s_count},           {"replace", s_replace},
    {"removeprefix", s_removeprefix}, {"removesuffix", s_removesuffix},
    {"partition", s_partition},   {"rpartition", s_rpartition},
    {"ljust", s_ljust},           {"rjust", s_rjust},
    {"center", s_center},         {"zfill", s_zfill},
    {"isdigit", s_isdigit},       {"isdecimal", s_isdigit},
    {"isnumeric", s_isdigit},     {"isalpha", s_isalpha},
    {"isalnum", s_isalnum},       {"isspace", s_isspace},
    {"isupper", s_isupper},       {"islower", s_islower},
    {"format", s_format},
};

tlm_status tlm_jstr_method(tlm_jctx *c, tlm_jv obj, const char *name, tlm_jv *out) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(str_methods); i++)
        if (!strcmp(str_methods[i].name, name))
            return tlm_jv_func(c, str_methods[i].name, str_methods[i].fn, obj, out);
    *out = tlm_jv_undef(NULL);
    return TLM_OK;
}
