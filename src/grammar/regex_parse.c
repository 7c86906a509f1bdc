/*
 * regex_parse.c - the parser half of regex.c: ECMAScript pattern text to a
 * syntax tree (sets of code-point ranges, concatenation, alternation,
 * repetition).  What is not supported fails here with a message naming the
 * construct, so a schema using it is refused rather than misread.
 */
#include "grammar/json_schema_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Syntax tree ---- */

void rx_node_free(rx_node *n) {
    if (!n) return;
    for (uint32_t i = 0; i < n->n_kids; i++) rx_node_free(n->kids[i]);
    free(n->kids);
    free(n->set);
    free(n);
}

rx_node *rx_fail(rx_parser *p, tlm_status code, const char *what) {
    if (!p->st)
        p->st = tlm_error_set(p->err, code, "%s: pattern /%.80s/ at offset %zu: %s", p->where, p->s,
                              p->pos, what);
    return NULL;
}

static rx_node *node_new(rx_parser *p, int kind) {
    if (++p->n_nodes > RX_MAX_NFA) return rx_fail(p, TLM_ERR_UNSUPPORTED, "pattern too large");
    rx_node *n = tlm_calloc(1, sizeof *n);
    if (!n) return rx_fail(p, TLM_ERR_NOMEM, "out of memory");
    n->kind = kind;
    return n;
}

static bool kid_add(rx_parser *p, rx_node *n, rx_node *k) {
    rx_node **q = tlm_realloc(n->kids, (n->n_kids + 1) * sizeof *q);
    if (!q) {
        rx_node_free(k);
        rx_fail(p, TLM_ERR_NOMEM, "out of memory");
        return false;
    }
    n->kids = q;
    n->kids[n->n_kids++] = k;
    return true;
}

static bool set_add(rx_parser *p, rx_node *n, uint32_t lo, uint32_t hi) {
    rx_range *q = tlm_realloc(n->set, (n->n_set + 1) * sizeof *q);
    if (!q) {
        rx_fail(p, TLM_ERR_NOMEM, "out of memory");
        return false;
    }
    n->set = q;
    n->set[n->n_set++] = (rx_range){lo, hi};
    return true;
}

static int range_cmp(const void *a, const void *b) {
    const rx_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges; with negate, replaces the set by its complement. */
static bool set_normalise(rx_parser *p, rx_node *n, bool negate) {
    if (n->n_set) qsort(n->set, n->n_set, sizeof *n->set, range_cmp); /* [] has no set */
    uint32_t k = 0;
    for (uint32_t i = 0; i < n->n_set; i++) {
        if (k && n->set[i].lo <= n->set[k - 1].hi + 1) {
            if (n->set[i].hi > n->set[k - 1].hi) n->set[k - 1].hi = n->set[i].hi;
        } else {
            n->set[k++] = n->set[i];
        }
    }
    n->n_set = k;
    if (!negate) return true;
    rx_range *old = n->set;
    uint32_t no = n->n_set, next = 0;
    n->set = NULL;
    n->n_set = 0;
    bool ok = true;
    for (uint32_t i = 0; i < no && ok; i++) {
        if (old[i].lo > next) ok = set_add(p, n, next, old[i].lo - 1);
        next = old[i].hi + 1;
    }
    if (ok && next <= RX_CP_MAX) ok = set_add(p, n, next, RX_CP_MAX);
    free(old);
    return ok;
}

int rx_peek(const rx_parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static int32_t next_cp(rx_parser *p) {
    const unsigned char *s = (const unsigned char *)p->s + p->pos;
    uint32_t c = s[0];
    int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!n || p->pos + (size_t)n > p->len) return rx_fail(p, TLM_ERR_FORMAT, "invalid UTF-8"), -1;
    if (n > 1) c &= 0x3Fu >> (n - 1);
    for (int i = 1; i < n; i++) c = (c << 6) | (s[i] & 0x3F);
    p->pos += (size_t)n;
    return (int32_t)c;
}

static int hexv(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int32_t read_hex(rx_parser *p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        int h = hexv(rx_peek(p));
        if (h < 0) return rx_fail(p, TLM_ERR_FORMAT, "expected a hex digit"), -1;
        v = v * 16 + (uint32_t)h;
        p->pos++;
    }
    return (int32_t)v;
}

/* Adds the class \d \w \s (or their negations) to n. */
static bool add_class_escape(rx_parser *p, rx_node *n, int e) {
    static const rx_range d[] = {{'0', '9'}};
    static const rx_range w[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
    static const rx_range s[] = {{9, 13}, {32, 32}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
                                 {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
                                 {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
    const rx_range *r = e == 'd' || e == 'D' ? d : e == 'w' || e == 'W' ? w : s;
    uint32_t k = e == 'd' || e == 'D' ? 1 : e == 'w' || e == 'W' ? 4 : 10;
    bool neg = e == 'D' || e == 'W' || e == 'S';
    if (!neg) {
        for (uint32_t i = 0; i < k; i++)
            if (!set_add(p, n, r[i].lo, r[i].hi)) return false;
        return true;
    }
    uint32_t next = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (r[i].lo > next && !set_add(p, n, next, r[i].lo - 1)) return false;
        next = r[i].hi + 1;
    }
    return set_add(p, n, next, RX_CP_MAX);
}

/* One escaped character after '\' (not a class escape); -1 on error. */
static int32_t char_escape(rx_parser *p, bool in_class) {
    int e = rx_peek(p);
    if (e < 0) return rx_fail(p, TLM_ERR_FORMAT, "pattern ends after '\\'"), -1;
    p->pos++;
    switch (e) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0': return 0;
    case 'x': return read_hex(p, 2);
    case 'c': {
        int c = rx_peek(p);
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return rx_fail(p, TLM_ERR_FORMAT, "bad \\c escape"), -1;
        p->pos++;
        return c % 32;
    }
    case 'u':
        if (rx_peek(p) == '{') {
            p->pos++;
            uint32_t v = 0;
            int nd = 0;
            while (hexv(rx_peek(p)) >= 0 && nd < 7) v = v * 16 + (uint32_t)hexv(p->s[p->pos++]), nd++;
            if (rx_peek(p) != '}' || !nd || v > RX_CP_MAX) return rx_fail(p, TLM_ERR_FORMAT, "bad \\u{...} escape"), -1;
            p->pos++;
            return (int32_t)v;
        }
        return read_hex(p, 4);
    case 'b':
        if (in_class) return 8;
        return rx_fail(p, TLM_ERR_UNSUPPORTED, "word boundary \\b is not supported"), -1;
    case 'B': return rx_fail(p, TLM_ERR_UNSUPPORTED, "\\B is not supported"), -1;
    case 'p':
    case 'P': return rx_fail(p, TLM_ERR_UNSUPPORTED, "Unicode property escapes \\p{...} are not supported"), -1;
    case 'k': return rx_fail(p, TLM_ERR_UNSUPPORTED, "backreferences are not supported"), -1;
    default:
        if (e >= '1' && e <= '9') return rx_fail(p, TLM_ERR_UNSUPPORTED, "backreferences are not supported"), -1;
        if (e < 0x80 && !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')))
            return e;
        return rx_fail(p, TLM_ERR_FORMAT, "unknown escape"), -1;
    }
}

static bool is_class_esc(int c) { return c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S'; }

static rx_node *parse_class(rx_parser *p) {
    rx_node *n = node_new(p, RN_SET);
    if (!n) return NULL;
    p->pos++; /* [ */
    bool neg = rx_peek(p) == '^';
    if (neg) p->pos++;
    while (rx_peek(p) != ']') {
        if (rx_peek(p) < 0) return rx_node_free(n), rx_fail(p, TLM_ERR_FORMAT, "unterminated class");
        int32_t lo;
        if (rx_peek(p) == '\\' && p->pos + 1 < p->len && is_class_esc((unsigned char)p->s[p->pos + 1])) {
            p->pos += 2;
            if (!add_class_escape(p, n, p->s[p->pos - 1])) return rx_node_free(n), NULL;
            continue;
        }
        if (rx_peek(p) == '\\') {
            p->pos++;
            lo = char_escape(p, true);
        } else {
            lo = next_cp(p);
        }
        if (lo < 0) return rx_node_free(n), NULL;
        int32_t hi = lo;
        if (rx_peek(p) == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] != ']') {
            p->pos++;
            if (rx_peek(p) == '\\' && p->pos + 1 < p->len && is_class_esc((unsigned char)p->s[p->pos + 1]))
                return rx_node_free(n), rx_fail(p, TLM_ERR_FORMAT, "class escape as a range end");
            if (rx_peek(p) == '\\') {
                p->pos++;
                hi = char_escape(p, true);
            } else {
                hi = next_cp(p);
            }
            if (hi < 0) return rx_node_free(n), NULL;
            if (hi < lo) return rx_node_free(n), rx_fail(p, TLM_ERR_FORMAT, "class range out of order");
        }
        if (!set_add(p, n, (uint32_t)lo, (uint32_t)hi)) return rx_node_free(n), NULL;
    }
    p->pos++;
    if (!set_normalise(p, n, neg)) return rx_node_free(n), NULL;
    return n;
}

static rx_node *parse_alt(rx_parser *p, int depth);

static rx_node *parse_atom(rx_parser *p, int depth) {
    int c = rx_peek(p);
    if (c == '(') {
        p->pos++;
        if (rx_peek(p) == '?') {
            const char *q = p->s + p->pos;
            if (p->len - p->pos >= 2 && q[1] == ':')
                p->pos += 2;
            else if (p->len - p->pos >= 3 && q[1] == '<' && q[2] != '=' && q[2] != '!') {
                const char *e = memchr(q, '>', p->len - p->pos);
                if (!e) return rx_fail(p, TLM_ERR_FORMAT, "unterminated group name");
                p->pos += (size_t)(e - q) + 1;
            } else {
                return rx_fail(p, TLM_ERR_UNSUPPORTED, "lookahead/lookbehind assertions are not supported");
            }
        }
        rx_node *n = parse_alt(p, depth + 1);
        if (!n) return NULL;
        if (rx_peek(p) != ')') return rx_node_free(n), rx_fail(p, TLM_ERR_FORMAT, "expected ')'");
        p->pos++;
        return n;
    }
    if (c == '[') return parse_class(p);
    rx_node *n = node_new(p, RN_SET);
    if (!n) return NULL;
    bool ok;
    if (c == '.') {
        p->pos++;
        ok = set_add(p, n, 0, 9) && set_add(p, n, 11, 12) && set_add(p, n, 14, 0x2027) &&
             set_add(p, n, 0x202A, RX_CP_MAX);
    } else if (c == '\\' && p->pos + 1 < p->len && is_class_esc((unsigned char)p->s[p->pos + 1])) {
        p->pos += 2;
        ok = add_class_escape(p, n, p->s[p->pos - 1]) && set_normalise(p, n, false);
    } else {
        int32_t ch;
        if (c == '\\') {
            p->pos++;
            ch = char_escape(p, false);
        } else {
            ch = next_cp(p);
        }
        ok = ch >= 0 && set_add(p, n, (uint32_t)ch, (uint32_t)ch);
    }
    if (!ok) return rx_node_free(n), NULL;
    return n;
}

/* {n}, {n,}, {n,m}: true when one was read.  A '{' that starts none of them
 * is a literal, as browsers treat it. */
static bool parse_braces(rx_parser *p, uint32_t *min, uint32_t *max) {
    size_t save = p->pos++;
    uint64_t a = 0, b = 0;
    int na = 0, nb = 0;
    while (rx_peek(p) >= '0' && rx_peek(p) <= '9') {
        uint64_t dgt = (uint64_t)(p->s[p->pos++] - '0');
        a = TLM_MIN(a * 10 + dgt, 1u << 20);
        na++;
    }
    bool comma = rx_peek(p) == ',';
    if (comma) {
        p->pos++;
        while (rx_peek(p) >= '0' && rx_peek(p) <= '9') {
            uint64_t dgt = (uint64_t)(p->s[p->pos++] - '0');
            b = TLM_MIN(b * 10 + dgt, 1u << 20);
            nb++;
        }
    }
    if (!na || rx_peek(p) != '}') {
        p->pos = save;
        return false;
    }
    p->pos++;
    *min = (uint32_t)a;
    *max = !comma ? (uint32_t)a : nb ? (uint32_t)b : UINT32_MAX;
    return true;
}

rx_node *rx_parse_cat(rx_parser *p, int depth) {
    rx_node *cat = node_new(p, RN_CAT);
    if (!cat) return NULL;
    for (;;) {
        int c = rx_peek(p);
        if (c < 0 || c == '|' || c == ')') return cat;
        /* A final '$' of a top-level alternative is for rx_compile. */
        if (c == '$' && depth == 0 && (p->pos + 1 == p->len || p->s[p->pos + 1] == '|')) return cat;
        if (c == '^' || c == '$')
            return rx_node_free(cat), rx_fail(p, TLM_ERR_UNSUPPORTED, "anchor inside the pattern is not supported");
        if (c == '*' || c == '+' || c == '?') return rx_node_free(cat), rx_fail(p, TLM_ERR_FORMAT, "nothing to repeat");
        rx_node *a = parse_atom(p, depth);
        if (!a) return rx_node_free(cat), NULL;
        for (;;) {
            uint32_t min, max;
            c = rx_peek(p);
            if (c == '*' || c == '+' || c == '?') {
                p->pos++;
                min = c == '+';
                max = c == '?' ? 1 : UINT32_MAX;
            } else if (c != '{' || !parse_braces(p, &min, &max)) {
                break;
            }
            if (max < min) return rx_node_free(a), rx_node_free(cat), rx_fail(p, TLM_ERR_FORMAT, "{n,m} with m < n");
            if (rx_peek(p) == '?') p->pos++; /* lazy: same language */
            rx_node *r = node_new(p, RN_REP);
            if (!r || !kid_add(p, r, a)) return rx_node_free(r), rx_node_free(cat), NULL;
            r->min = min;
            r->max = max;
            a = r;
        }
        if (c == '{') { /* a literal '{' */
            p->pos++;
            rx_node *l = node_new(p, RN_SET);
            if (!l || !set_add(p, l, '{', '{') || !kid_add(p, cat, a) || !kid_add(p, cat, l))
                return rx_node_free(cat), NULL;
            continue;
        }
        if (!kid_add(p, cat, a)) return rx_node_free(cat), NULL;
    }
}

static rx_node *parse_alt(rx_parser *p, int depth) {
    if (depth > 100) return rx_fail(p, TLM_ERR_UNSUPPORTED, "groups nested too deeply");
    rx_node *alt = node_new(p, RN_ALT);
    if (!alt) return NULL;
    for (;;) {
        rx_node *c = rx_parse_cat(p, depth);
        if (!c || !kid_add(p, alt, c)) return rx_node_free(alt), NULL;
        if (rx_peek(p) != '|') return alt;
        p->pos++;
    }
}

