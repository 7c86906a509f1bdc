/*
 * json_schema_str.c - grammar rules for JSON Schema strings, numbers and
 * object keys: pattern/format/length as automata, integer ranges digit by
 * digit.
 *
 * Strings: pattern and format are DFAs over code points (regex.c); several
 * are intersected; minLength/maxLength become a counter next to the DFA
 * state; each (state, count) pair is one right-linear rule.  Labels are
 * written as JSON text: characters that JSON must escape are produced in
 * their escaped form, so the grammar's strings decode to exactly what the
 * automaton accepted.  Lengths count code points, as JSON Schema (and ajv)
 * do.
 *
 * Numbers: digits are bounded (15 significant digits, exponent at most two
 * digits) so every number parses to a finite double and integers stay exact.
 * minimum/maximum become digit-range rules (the classic construction: a
 * range of equal-length digit strings splits at the first differing digit).
 * Non-integer bounds are rounded inward, which only narrows the output.
 */
#include "grammar/json_schema_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JS_MAX_NODES 20000u       /* rules for one constrained string */
#define JS_MAX_PLAIN_LEN 10000u   /* longer maxLength: capped (a subset) */
#define JS_INT_LIMIT 999999999999999LL /* 15 digits: exact in a double */

/* ---- GBNF text helpers ---- */

static tlm_status put_utf8(tlm_buf *b, uint32_t cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return tlm_buf_append(b, u, n);
}

/* One code point inside a GBNF [class]. */
static tlm_status class_char(tlm_buf *b, uint32_t cp) {
    if (cp == '\\' || cp == ']' || cp == '[' || cp == '^' || cp == '-' || cp == '"')
        return tlm_buf_appendf(b, "\\%c", (char)cp);
    if (cp < 0x20 || cp == 0x7F) return tlm_buf_appendf(b, "\\x%02X", cp);
    if (cp >= 0xD800 && cp <= 0xDFFF) return tlm_buf_appendf(b, "\\u%04X", cp);
    return put_utf8(b, cp);
}

tlm_status js_lit(tlm_buf *b, const char *s, size_t len) {
    tlm_status st = tlm_buf_append(b, "\"", 1);
    for (size_t i = 0; i < len && !st; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            st = tlm_buf_appendf(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            st = tlm_buf_appendf(b, "\\x%02X", c);
        else
            st = tlm_buf_append(b, &s[i], 1);
    }
    return st ? st : tlm_buf_append(b, "\"", 1);
}

tlm_status js_json_lit(tlm_buf *b, const json_t *v) {
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (!txt) return TLM_ERR_NOMEM;
    tlm_status st = js_lit(b, txt, strlen(txt));
    free(txt);
    return st;
}

/* Writes the JSON text of a set of code points (sorted disjoint ranges) as
 * a GBNF expression: a class of the characters JSON allows raw, plus the
 * escaped forms of '"', '\' and control characters. */
static tlm_status json_label(js_ctx *c, tlm_buf *b, const rx_tr *r, uint32_t n) {
    static const char *const short_esc[32] = {['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n",
                                              ['\r'] = "\\r", ['\t'] = "\\t"};
    uint64_t cover = 0; /* non-surrogate code points, to spot "anything" */
    for (uint32_t i = 0; i < n; i++) {
        cover += (uint64_t)r[i].hi - r[i].lo + 1;
        uint32_t a = TLM_MAX(r[i].lo, 0xD800u), z = TLM_MIN(r[i].hi, 0xDFFFu);
        if (a <= z) cover -= (uint64_t)z - a + 1;
    }
    if (cover == 0x110000 - 0x800) return tlm_buf_appendf(b, "%s", js_prim(c, "char"));
    tlm_buf cls = {0}, esc = {0};
    tlm_status st = TLM_OK;
    /* Pieces JSON cannot hold raw: the quote, the backslash, surrogates. */
    static const rx_tr holes[] = {{'"', '"', 0}, {'\\', '\\', 0}, {0xD800, 0xDFFF, 0}};
    for (uint32_t i = 0; i < n && !st; i++) {
        for (uint32_t cp = r[i].lo; cp <= r[i].hi && cp < 0x20 && !st; cp++) {
            if (short_esc[cp])
                st = tlm_buf_appendf(&esc, " | \"\\%s\"", short_esc[cp]);
            else
                st = tlm_buf_appendf(&esc, " | \"\\\\u00%02X\"", cp);
        }
        if (r[i].hi < 0x20) continue;
        uint32_t lo = TLM_MAX(r[i].lo, 0x20u), hi = r[i].hi;
        for (int h = 0; h < 3 && !st; h++) {
            if (holes[h].lo >= lo && holes[h].lo <= hi && h < 2)
                st = tlm_buf_appendf(&esc, " | \"\\\\%s\"", h == 0 ? "\\\"" : "\\\\");
        }
        for (uint32_t cp = lo; cp <= hi && !st;) {
            uint32_t end = hi;
            for (int h = 0; h < 3; h++) {
                if (cp >= holes[h].lo && cp <= holes[h].hi) {
                    cp = holes[h].hi + 1;
                    end = UINT32_MAX;
                    break;
                }
                if (holes[h].lo > cp && holes[h].lo - 1 < end) end = holes[h].lo - 1;
            }
            if (end == UINT32_MAX) continue;
            st = class_char(&cls, cp);
            if (!st && end > cp) st = tlm_buf_append(&cls, "-", 1);
            if (!st && end > cp) st = class_char(&cls, end);
            cp = end + 1;
        }
    }
    if (!st) {
        if (cls.len && !esc.len)
            st = tlm_buf_appendf(b, "[%s]", cls.data);
        else if (cls.len)
            st = tlm_buf_appendf(b, "([%s]%s)", cls.data, esc.data);
        else
            st = tlm_buf_appendf(b, "(%s)", esc.len ? esc.data + 3 : "\"\"");
    }
    tlm_buf_free(&cls);
    tlm_buf_free(&esc);
    return st;
}

/* ---- Automata as rules ---- */

typedef struct pnode {
    uint32_t state, count;
} pnode;

/* Rules for the strings d accepts with min <= length <= max (max may be
 * UINT32_MAX), one per reachable live (state, count) pair.  *out names the
 * start rule (the string's content, without quotes). */
static tlm_status emit_dfa(js_ctx *c, const rx_dfa *d, uint32_t min, uint32_t max, const char *hint,
                           const char **out) {
    bool counted = min > 0 || max != UINT32_MAX;
    uint32_t top = max != UINT32_MAX ? max : min; /* counts saturate at min when unbounded */
    if (counted && (uint64_t)d->n_states * (top + 1) > JS_MAX_NODES) {
        if (max == UINT32_MAX || (uint64_t)d->n_states * (min + 1) > JS_MAX_NODES)
            return js_fail(c, TLM_ERR_UNSUPPORTED, "pattern/format with minLength %u is too large", min);
        top = max = (uint32_t)(JS_MAX_NODES / d->n_states) - 1; /* fewer lengths: still valid */
        if (max < min) return js_fail(c, TLM_ERR_UNSUPPORTED, "pattern/format with these lengths is too large");
    }
    uint32_t stride = counted ? top + 1 : 1, total = d->n_states * stride;
    int32_t *id = tlm_malloc((size_t)total * 4);
    pnode *q = tlm_malloc((size_t)total * sizeof *q);
    uint8_t *live = tlm_calloc(total, 1);
    const char **names = tlm_calloc(total, sizeof *names);
    tlm_status st = id && q && live && names ? TLM_OK : js_fail(c, TLM_ERR_NOMEM, "out of memory");
    uint32_t nq = 0;
#define PIDX(s, k) ((s)*stride + (counted ? (k) : 0))
#define NEXTK(k) (!counted ? 0 : max != UINT32_MAX ? (k) + 1 : TLM_MIN((k) + 1, min))
#define ACCEPTS(s, k) (d->accept[s] && (!counted || (k) >= min))
    if (!st) {
        for (uint32_t i = 0; i < total; i++) id[i] = -1;
        id[PIDX(d->start, 0)] = 0;
        q[nq++] = (pnode){d->start, 0};
    }
    for (uint32_t i = 0; i < nq && !st; i++) { /* reachable pairs, breadth first */
        pnode p = q[i];
        if (counted && max != UINT32_MAX && p.count == max) continue;
        for (uint32_t k = d->tr_off[p.state]; k < d->tr_off[p.state + 1]; k++) {
            uint32_t to = PIDX(d->tr[k].to, NEXTK(p.count));
            if (id[to] < 0) {
                id[to] = (int32_t)nq;
                q[nq++] = (pnode){d->tr[k].to, NEXTK(p.count)};
            }
        }
    }
    /* Live: can still reach acceptance.  Reverse breadth-first order is not
     * enough with loops, so iterate to a fixpoint (sizes are capped). */
    for (bool changed = !st; changed;) {
        changed = false;
        for (uint32_t i = nq; i-- > 0;) {
            pnode p = q[i];
            uint32_t me = PIDX(p.state, p.count);
            if (live[me]) continue;
            bool l = ACCEPTS(p.state, p.count);
            if (!(counted && max != UINT32_MAX && p.count == max))
                for (uint32_t k = d->tr_off[p.state]; k < d->tr_off[p.state + 1] && !l; k++)
                    l = live[PIDX(d->tr[k].to, NEXTK(p.count))];
            if (l) live[me] = changed = true;
        }
    }
    if (!st && !live[PIDX(d->start, 0)])
        st = js_fail(c, TLM_ERR_UNSUPPORTED, "no string satisfies pattern/format together with minLength/maxLength");
    for (uint32_t i = 0; i < nq && !st; i++)
        if (live[PIDX(q[i].state, q[i].count)]) st = js_rule_reserve(c, hint, &names[PIDX(q[i].state, q[i].count)]);
    tlm_buf body = {0};
    for (uint32_t i = 0; i < nq && !st; i++) {
        pnode p = q[i];
        if (!live[PIDX(p.state, p.count)]) continue;
        body.len = 0;
        bool full = counted && max != UINT32_MAX && p.count == max;
        /* One alternative per target: its intervals form one label. */
        for (uint32_t k = d->tr_off[p.state]; k < d->tr_off[p.state + 1] && !full && !st; k++) {
            uint32_t tgt = d->tr[k].to, to = PIDX(tgt, NEXTK(p.count));
            bool first = true;
            for (uint32_t j = d->tr_off[p.state]; j < k; j++) first &= d->tr[j].to != tgt;
            if (!first || !live[to]) continue;
            rx_tr lab[64];
            uint32_t nl = 0;
            for (uint32_t j = k; j < d->tr_off[p.state + 1] && nl < 64; j++)
                if (d->tr[j].to == tgt) lab[nl++] = d->tr[j];
            if (body.len) st = tlm_buf_append(&body, " | ", 3);
            if (!st) st = json_label(c, &body, lab, nl);
            if (!st) st = tlm_buf_appendf(&body, " %s", names[to]);
        }
        if (!st && ACCEPTS(p.state, p.count)) st = tlm_buf_appendf(&body, "%s\"\"", body.len ? " | " : "");
        if (!st) st = js_rule_define(c, names[PIDX(p.state, p.count)], body.data);
    }
    if (!st) *out = names[PIDX(d->start, 0)];
#undef PIDX
#undef NEXTK
#undef ACCEPTS
    tlm_buf_free(&body);
    free(id);
    free(q);
    free(live);
    free(names);
    return st;
}

/* ---- Formats ----
 * Each is a regex for a subset of what ajv-formats accepts (its "full"
 * mode): valid calendar dates (29 February is left out rather than
 * checking leap years), times with a time zone, and so on. */

#define RX_DATE "[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
#define RX_TIME "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
#define RX_LABEL "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?"
#define RX_HOST RX_LABEL "(?:\\." RX_LABEL "){0,3}"
#define RX_PATH "(?:/[a-zA-Z0-9._~-]{0,30}){0,5}"
#define RX_OCTET "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

static const struct {
    const char *name, *regex;
} formats[] = {
    {"date", "^" RX_DATE "$"},
    {"time", "^" RX_TIME "$"},
    {"iso-time", "^" RX_TIME "$"},
    {"date-time", "^" RX_DATE "T" RX_TIME "$"},
    {"iso-date-time", "^" RX_DATE "T" RX_TIME "$"},
    {"duration", "^P(?:[0-9]{1,4}Y)?(?:[0-9]{1,2}M)?[0-9]{1,3}D(?:T[0-9]{1,2}H(?:[0-9]{1,2}M)?)?$"},
    {"uuid", "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},
    {"email", "^[a-zA-Z0-9_+-]{1,32}(?:\\.[a-zA-Z0-9_+-]{1,32}){0,3}@" RX_LABEL "(?:\\." RX_LABEL "){1,3}$"},
    {"idn-email", "^[a-zA-Z0-9_+-]{1,32}(?:\\.[a-zA-Z0-9_+-]{1,32}){0,3}@" RX_LABEL "(?:\\." RX_LABEL "){1,3}$"},
    {"hostname", "^" RX_HOST "$"},
    {"idn-hostname", "^" RX_HOST "$"},
    {"ipv4", "^" RX_OCTET "(?:\\." RX_OCTET "){3}$"},
    {"ipv6", "^(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}$"},
    {"uri", "^https?://" RX_HOST RX_PATH "$"},
    {"iri", "^https?://" RX_HOST RX_PATH "$"},
    {"uri-reference", "^https?://" RX_HOST RX_PATH "$"},
    {"iri-reference", "^https?://" RX_HOST RX_PATH "$"},
    {"uri-template", "^https?://" RX_HOST RX_PATH "$"},
    {"url", "^https?://[a-z0-9]{1,20}(?:\\.[a-z0-9]{1,20}){0,2}\\.[a-z]{2,6}" RX_PATH "$"},
    {"json-pointer", "^(?:/[a-zA-Z0-9_]{0,20}){0,5}$"},
    {"json-pointer-uri-fragment", "^#(?:/[a-zA-Z0-9_]{0,20}){0,5}$"},
    {"relative-json-pointer", "^(?:0|[1-9][0-9]{0,3})(?:/[a-zA-Z0-9_]{0,20}){0,5}$"},
    {"regex", "^[a-zA-Z0-9 ]{0,30}$"},
    {"byte", "^(?:[A-Za-z0-9+/]{4}){0,20}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"},
};

/* Formats that do not constrain strings (ajv-formats: always valid, or
 * number formats). */
static bool format_is_free(const char *f) {
    static const char *const free_fmts[] = {"password", "binary", "int32", "int64", "float", "double",
                                            "textarea", "markdown", "color", "phone", NULL};
    for (const char *const *p = free_fmts; *p; p++)
        if (!strcmp(f, *p)) return true;
    return false;
}

/* Intersects *acc with the DFA of pattern (acc empty: becomes it). */
static tlm_status add_regex(js_ctx *c, rx_dfa *acc, bool *have, const char *pattern) {
    rx_dfa d;
    char where[300];
    snprintf(where, sizeof where, "schema %s", c->path[0] ? c->path : "#");
    tlm_status st = rx_compile(pattern, where, &d, c->err);
    if (st) return st;
    if (!*have) {
        *acc = d;
        *have = true;
        return TLM_OK;
    }
    rx_dfa both;
    st = rx_dfa_intersect(acc, &d, &both, c->err);
    rx_dfa_free(&d);
    if (st) return st;
    rx_dfa_free(acc);
    *acc = both;
    return TLM_OK;
}

static tlm_status length_bounds(js_ctx *c, json_t *s, uint32_t *min, uint32_t *max) {
    json_t *a = json_object_get(s, "minLength"), *b = json_object_get(s, "maxLength");
    *min = 0;
    *max = UINT32_MAX;
    if (a && (!json_is_number(a) || json_number_value(a) < 0))
        return js_fail(c, TLM_ERR_FORMAT, "minLength must be a non-negative number");
    if (b && (!json_is_number(b) || json_number_value(b) < 0))
        return js_fail(c, TLM_ERR_FORMAT, "maxLength must be a non-negative number");
    if (a) {
        double v = ceil(json_number_value(a));
        if (v > JS_MAX_PLAIN_LEN) return js_fail(c, TLM_ERR_UNSUPPORTED, "minLength %.0f is too large", v);
        *min = (uint32_t)v;
    }
    if (b) {
        double v = floor(json_number_value(b));
        /* A longer limit can never bind within a generation budget; strings
         * up to the cap are still valid. */
        *max = v > JS_MAX_PLAIN_LEN ? JS_MAX_PLAIN_LEN : (uint32_t)v;
    }
    if (*max < *min) return js_fail(c, TLM_ERR_UNSUPPORTED, "maxLength is below minLength: no string fits");
    return TLM_OK;
}

tlm_status js_gen_string(js_ctx *c, json_t *s, const char *hint, const char **out) {
    uint32_t min = 0, max = 0;
    tlm_status st = length_bounds(c, s, &min, &max);
    if (st) return st;
    rx_dfa acc = {0};
    bool have = false;
    json_t *pat = json_object_get(s, "pattern"), *fmt = json_object_get(s, "format");
    if (pat && !json_is_string(pat)) return js_fail(c, TLM_ERR_FORMAT, "pattern must be a string");
    if (pat) st = add_regex(c, &acc, &have, json_string_value(pat));
    json_t *more = json_object_get(s, "$tlm_patterns"); /* from allOf merging */
    size_t i;
    json_t *v;
    json_array_foreach(more, i, v) if (!st && json_is_string(v)) st = add_regex(c, &acc, &have, json_string_value(v));
    if (!st && json_is_string(fmt) && !format_is_free(json_string_value(fmt))) {
        const char *f = json_string_value(fmt);
        size_t k = 0;
        while (k < TLM_ARRAY_LEN(formats) && strcmp(formats[k].name, f)) k++;
        if (k < TLM_ARRAY_LEN(formats))
            st = add_regex(c, &acc, &have, formats[k].regex);
        else
            js_warn(c, "unknown format \"%s\" ignored", f);
    }
    tlm_buf b = {0};
    const char *content = NULL;
    if (!st && have) {
        /* Lengths the automaton already guarantees need no counter. */
        uint32_t dmin, dmax;
        rx_dfa_lengths(&acc, &dmin, &dmax);
        if (dmin >= min) min = 0;
        if (dmax <= max) max = UINT32_MAX;
        st = emit_dfa(c, &acc, min, max, hint, &content);
        if (!st) st = tlm_buf_appendf(&b, "\"\\\"\" %s \"\\\"\"", content);
    } else if (!st && (min > 0 || max != UINT32_MAX)) {
        const char *ch = js_prim(c, "char");
        if (max == UINT32_MAX)
            st = tlm_buf_appendf(&b, "\"\\\"\" %s{%u,} \"\\\"\"", ch, min);
        else
            st = tlm_buf_appendf(&b, "\"\\\"\" %s{%u,%u} \"\\\"\"", ch, min, max);
    } else if (!st) {
        *out = js_prim(c, "string");
    }
    if (!st && b.len) st = js_rule_add(c, hint, b.data, out);
    tlm_buf_free(&b);
    if (have) rx_dfa_free(&acc);
    return st;
}

/* ---- Integer ranges ---- */

/* Digit strings from lo to hi, both n digits long, lo <= hi. */
static tlm_status digits_range(tlm_buf *b, const char *lo, const char *hi, size_t n) {
    size_t i = 0;
    while (i < n && lo[i] == hi[i]) i++;
    tlm_status st = i ? js_lit(b, lo, i) : TLM_OK;
    if (st || i == n) return st;
    lo += i;
    hi += i;
    size_t m = n - i;
    if (i) st = tlm_buf_append(b, " ", 1);
    if (!st && m == 1) return tlm_buf_appendf(b, "[%c-%c]", lo[0], hi[0]);
    char zeros[24], nines[24];
    memset(zeros, '0', m - 1);
    memset(nines, '9', m - 1);
    bool lz = !memcmp(lo + 1, zeros, m - 1), h9 = !memcmp(hi + 1, nines, m - 1);
    char a0 = lz ? lo[0] : (char)(lo[0] + 1), b0 = h9 ? hi[0] : (char)(hi[0] - 1);
    const char *sep = "";
    if (!st) st = tlm_buf_append(b, "(", 1);
    if (!st && !lz) {
        st = tlm_buf_appendf(b, "\"%c\" ", lo[0]);
        if (!st) st = digits_range(b, lo + 1, nines, m - 1);
        sep = " | ";
    }
    if (!st && a0 <= b0) {
        st = tlm_buf_appendf(b, "%s[%c-%c] [0-9]{%zu}", sep, a0, b0, m - 1);
        sep = " | ";
    }
    if (!st && !h9) {
        st = tlm_buf_appendf(b, "%s\"%c\" ", sep, hi[0]);
        if (!st) st = digits_range(b, zeros, hi + 1, m - 1);
    }
    return st ? st : tlm_buf_append(b, ")", 1);
}

/* Decimal numerals (no sign, no leading zeros) of a..b, 0 <= a <= b. */
static tlm_status uint_range(tlm_buf *b, long long a, long long hi) {
    tlm_status st = tlm_buf_append(b, "(", 1);
    long long p = 1;
    const char *sep = "";
    for (int len = 1; len <= 16 && !st; len++, p *= 10) {
        long long lo_l = len == 1 ? 0 : p, hi_l = p * 10 - 1;
        long long x = TLM_MAX(a, lo_l), y = TLM_MIN(hi, hi_l);
        if (x > y) continue;
        char xs[24], ys[24];
        snprintf(xs, sizeof xs, "%lld", x);
        snprintf(ys, sizeof ys, "%lld", y);
        st = tlm_buf_appendf(b, "%s", sep);
        if (!st) st = digits_range(b, xs, ys, strlen(xs));
        sep = " | ";
    }
    return st ? st : tlm_buf_append(b, ")", 1);
}

/* Integers lo..hi as an expression. */
static tlm_status int_range(tlm_buf *b, long long lo, long long hi) {
    tlm_status st = tlm_buf_append(b, "(", 1);
    if (!st && hi >= 0) st = uint_range(b, TLM_MAX(lo, 0), hi);
    if (!st && lo < 0) {
        st = tlm_buf_appendf(b, "%s\"-\" ", hi >= 0 ? " | " : "");
        if (!st) st = uint_range(b, TLM_MAX(1, -hi), -lo);
    }
    return st ? st : tlm_buf_append(b, ")", 1);
}

/* ---- Numbers ---- */

typedef struct bounds {
    double lo, hi; /* -inf / +inf when absent */
    bool lo_x, hi_x; /* exclusive */
} bounds;

static tlm_status read_bounds(js_ctx *c, json_t *s, bounds *bd) {
    *bd = (bounds){-INFINITY, INFINITY, false, false};
    json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
    json_t *xmn = json_object_get(s, "exclusiveMinimum"), *xmx = json_object_get(s, "exclusiveMaximum");
    if ((mn && !json_is_number(mn)) || (mx && !json_is_number(mx)))
        return js_fail(c, TLM_ERR_FORMAT, "minimum/maximum must be numbers");
    if (mn) bd->lo = json_number_value(mn);
    if (mx) bd->hi = json_number_value(mx);
    /* Draft 4: a boolean that makes minimum exclusive; later: a number. */
    if (json_is_boolean(xmn)) bd->lo_x = json_is_true(xmn) && mn;
    if (json_is_boolean(xmx)) bd->hi_x = json_is_true(xmx) && mx;
    if (json_is_number(xmn) && json_number_value(xmn) >= bd->lo) bd->lo = json_number_value(xmn), bd->lo_x = true;
    if (json_is_number(xmx) && json_number_value(xmx) <= bd->hi) bd->hi = json_number_value(xmx), bd->hi_x = true;
    /* ajv-formats checks int32 on numbers: its range is a bound too. */
    const char *f = json_string_value(json_object_get(s, "format"));
    if (f && !strcmp(f, "int32")) {
        if (bd->lo < -2147483648.0) bd->lo = -2147483648.0, bd->lo_x = false;
        if (bd->hi > 2147483647.0) bd->hi = 2147483647.0, bd->hi_x = false;
    }
    return TLM_OK;
}

/* The integer bounds [*a, *b] inside bd, clamped to 15 digits. */
static void int_bounds(const bounds *bd, long long *a, long long *b) {
    double lo = bd->lo_x ? floor(bd->lo) + 1 : ceil(bd->lo);
    double hi = bd->hi_x ? ceil(bd->hi) - 1 : floor(bd->hi);
    *a = lo < (double)-JS_INT_LIMIT ? -JS_INT_LIMIT : lo > (double)JS_INT_LIMIT ? JS_INT_LIMIT + 1 : (long long)lo;
    *b = hi > (double)JS_INT_LIMIT ? JS_INT_LIMIT : hi < (double)-JS_INT_LIMIT ? -JS_INT_LIMIT - 1 : (long long)hi;
}

/* multipleOf: integers only (and, for 10^k, trailing zeros).  Division of
 * an integer below 10^6 by 1/k is exact in doubles, which is how ajv
 * checks it. */
static tlm_status multiple_of(js_ctx *c, json_t *s, bool *integer, long long *a, long long *b,
                              const char **suffix) {
    json_t *m = json_object_get(s, "multipleOf");
    *suffix = "";
    if (!m) return TLM_OK;
    double v = json_number_value(m);
    if (!json_is_number(m) || v <= 0) return js_fail(c, TLM_ERR_FORMAT, "multipleOf must be a positive number");
    double inv = 1 / v;
    if (v < 1 && fabs(inv - round(inv)) < 1e-9) {
        *integer = true;
        *a = TLM_MAX(*a, -999999);
        *b = TLM_MIN(*b, 999999);
        return TLM_OK;
    }
    static const char *const zeros[] = {"", "\"0\"", "\"00\"", "\"000\"", "\"0000\"", "\"00000\""};
    for (int k = 0; k < 6; k++)
        if (v == pow(10, k)) {
            *integer = true;
            *suffix = zeros[k];
            long long p = (long long)v;
            /* n * 10^k is in [a, b] iff n is in [ceil(a/p), floor(b/p)]. */
            *a = *a >= 0 ? (*a + p - 1) / p : -((-*a) / p);
            *b = *b >= 0 ? *b / p : -((-*b + p - 1) / p);
            return TLM_OK;
        }
    return js_fail(c, TLM_ERR_UNSUPPORTED, "multipleOf %g is not supported (only 10^k and 1/k)", v);
}

static long long clamp_ll(double v) {
    return v < (double)-JS_INT_LIMIT ? -JS_INT_LIMIT - 1 : v > (double)JS_INT_LIMIT ? JS_INT_LIMIT + 1 : (long long)v;
}

/* Appends "sep digits-range tail" when lo..hi is not empty. */
static tlm_status range_alt(tlm_buf *e, const char **sep, const char *sign, long long lo, long long hi,
                            const char *tail) {
    lo = TLM_MAX(lo, 0);
    hi = TLM_MIN(hi, JS_INT_LIMIT);
    if (lo > hi) return TLM_OK;
    tlm_status st = tlm_buf_appendf(e, "%s%s", *sep, sign);
    if (!st) st = uint_range(e, lo, hi);
    if (!st) st = tlm_buf_appendf(e, "%s", tail);
    *sep = " | ";
    return st;
}

/* Decimals (no exponent) within the bounds: "I" exactly, or "I.f" which
 * lies in [I, I+1); negatives mirror that, and "-0.f" covers (-1, 0]. */
static tlm_status decimal_range(js_ctx *c, const bounds *bd, tlm_buf *e) {
    double lo = bd->lo, hi = bd->hi;
    bool lo_int = isfinite(lo) && lo == floor(lo), hi_int = isfinite(hi) && hi == floor(hi);
    long long lo_i = clamp_ll(bd->lo_x ? floor(lo) + 1 : ceil(lo)); /* smallest integer allowed */
    long long hi_i = clamp_ll(bd->hi_x ? ceil(hi) - 1 : floor(hi)); /* largest integer allowed */
    long long pf_hi = clamp_ll(hi_int ? hi - 1 : floor(hi) - 1);    /* largest I for "I.f" */
    long long nf_hi = clamp_ll(lo_int ? -lo - 1 : floor(-lo) - 1);  /* largest I for "-I.f" */
    long long ne_lo = TLM_MAX(1, clamp_ll(bd->hi_x ? floor(-hi) + 1 : ceil(-hi)));
    long long ne_hi = clamp_ll(bd->lo_x ? ceil(-lo) - 1 : floor(-lo));
    const char *frac = " (\".\" [0-9]{1,15})?", *sep = "";
    tlm_status st = tlm_buf_append(e, "(", 1);
    if (!st) st = range_alt(e, &sep, "", lo_i, hi_i, "");
    if (!st) st = range_alt(e, &sep, "", lo_i, pf_hi, frac);
    if (!st) st = range_alt(e, &sep, "\"-\" ", ne_lo, ne_hi, "");
    if (!st) st = range_alt(e, &sep, "\"-\" ", ne_lo, nf_hi, frac);
    if (!st && lo <= -1 && (hi > 0 || (hi == 0 && !bd->hi_x)))
        st = tlm_buf_appendf(e, "%s\"-0.\" [0-9]{1,15}", sep), sep = " | ";
    if (!st) st = tlm_buf_append(e, ")", 1);
    if (!st && !*sep) st = js_fail(c, TLM_ERR_UNSUPPORTED, "no decimal number satisfies minimum/maximum");
    return st;
}

tlm_status js_gen_number(js_ctx *c, json_t *s, bool integer, const char *hint, const char **out) {
    bounds bd;
    tlm_status st = read_bounds(c, s, &bd);
    if (st) return st;
    bool bounded = isfinite(bd.lo) || isfinite(bd.hi);
    const char *fmt = json_string_value(json_object_get(s, "format"));
    if (fmt && (!strcmp(fmt, "int32") || !strcmp(fmt, "int64"))) integer = true; /* ajv: Number.isInteger */
    long long a, b;
    int_bounds(&bd, &a, &b);
    const char *suffix;
    if ((st = multiple_of(c, s, &integer, &a, &b, &suffix))) return st;
    if (!bounded && !json_object_get(s, "multipleOf")) {
        *out = js_prim(c, integer ? "integer" : "number");
        return TLM_OK;
    }
    tlm_buf e = {0};
    if (integer) {
        if (a > b) return js_fail(c, TLM_ERR_UNSUPPORTED, "no integer satisfies minimum/maximum");
        if (!*suffix) {
            st = int_range(&e, a, b);
        } else {
            /* Multiples of 10^k: n followed by k zeros, and 0 alone. */
            const char *sep = "";
            st = tlm_buf_append(&e, "(", 1);
            if (!st && b >= 1) st = uint_range(&e, TLM_MAX(a, 1), b), st = st ? st : tlm_buf_appendf(&e, " %s", suffix), sep = " | ";
            if (!st && a <= -1) {
                st = tlm_buf_appendf(&e, "%s\"-\" ", sep);
                if (!st) st = uint_range(&e, TLM_MAX(1, -b), -a);
                if (!st) st = tlm_buf_appendf(&e, " %s", suffix);
                sep = " | ";
            }
            if (!st && a <= 0 && b >= 0) st = tlm_buf_appendf(&e, "%s\"0\"", sep);
            if (!st) st = tlm_buf_append(&e, ")", 1);
        }
    } else {
        st = decimal_range(c, &bd, &e);
    }
    if (!st) st = js_rule_add(c, hint, e.data, out);
    tlm_buf_free(&e);
    return st;
}

/* ---- Keys other than the declared ones ---- */

typedef struct knode {
    uint32_t cp;
    int32_t first_child, next_sibling;
    bool end;
} knode;

static int32_t trie_child(knode **t, uint32_t *n, int32_t at, uint32_t cp) {
    for (int32_t k = (*t)[at].first_child; k >= 0; k = (*t)[k].next_sibling)
        if ((*t)[k].cp == cp) return k;
    knode *q = tlm_realloc(*t, (*n + 1) * sizeof *q);
    if (!q) return -1;
    *t = q;
    q[*n] = (knode){cp, -1, q[at].first_child, false};
    q[at].first_child = (int32_t)*n;
    return (int32_t)(*n)++;
}

static tlm_status key_rule(js_ctx *c, knode *t, int32_t at, const char *kc, const char **out) {
    tlm_buf b = {0}, cls = {0};
    const char *sep = "";
    tlm_status st = TLM_OK;
    if (!t[at].end) st = tlm_buf_append(&b, "\"\"", 2), sep = " | ";
    for (int32_t k = t[at].first_child; k >= 0 && !st; k = t[k].next_sibling) st = class_char(&cls, t[k].cp);
    if (!st) st = tlm_buf_appendf(&b, "%s[^\"\\\\\\x00-\\x1F%s] %s*", sep, cls.data ? cls.data : "", kc);
    for (int32_t k = t[at].first_child; k >= 0 && !st; k = t[k].next_sibling) {
        const char *sub;
        tlm_buf l = {0};
        st = put_utf8(&l, t[k].cp);
        if (!st) st = key_rule(c, t, k, kc, &sub);
        if (!st) st = tlm_buf_append(&b, " | ", 3);
        if (!st) st = js_lit(&b, l.data, l.len);
        if (!st) st = tlm_buf_appendf(&b, " %s", sub);
        tlm_buf_free(&l);
    }
    if (!st) st = js_rule_add(c, "key", b.data, out);
    tlm_buf_free(&b);
    tlm_buf_free(&cls);
    return st;
}

tlm_status js_gen_other_key(js_ctx *c, json_t *avoid, const char **out) {
    const char *kc;
    tlm_status st = js_rule_add(c, "key-char", "[^\"\\\\\\x00-\\x1F]", &kc);
    knode *t = tlm_malloc(sizeof *t);
    uint32_t n = 1;
    if (!t) return js_fail(c, TLM_ERR_NOMEM, "out of memory");
    t[0] = (knode){0, -1, -1, false};
    size_t i;
    json_t *v;
    json_array_foreach(avoid, i, v) {
        const unsigned char *s = (const unsigned char *)json_string_value(v);
        if (!s || st) continue;
        int32_t at = 0;
        for (size_t k = 0; s[k] && at >= 0;) {
            uint32_t cp = s[k];
            int len = cp < 0x80 ? 1 : (cp & 0xE0) == 0xC0 ? 2 : (cp & 0xF0) == 0xE0 ? 3 : 4;
            if (len > 1) cp &= 0x3Fu >> (len - 1);
            for (int j = 1; j < len && s[k + (size_t)j]; j++) cp = (cp << 6) | (s[k + (size_t)j] & 0x3F);
            k += (size_t)len;
            /* Keys we cannot produce raw need no exclusion. */
            if (cp < 0x20 || cp == '"' || cp == '\\') at = -2;
            else at = trie_child(&t, &n, at, cp);
        }
        if (at == -1) st = js_fail(c, TLM_ERR_NOMEM, "out of memory");
        if (at >= 0) t[at].end = true;
    }
    const char *content = NULL;
    if (!st) st = key_rule(c, t, 0, kc, &content);
    tlm_buf b = {0};
    if (!st) st = tlm_buf_appendf(&b, "\"\\\"\" %s \"\\\"\"", content);
    if (!st) st = js_rule_add(c, "other-key", b.data, out);
    tlm_buf_free(&b);
    free(t);
    return st;
}
