/*
 * gbnf_parse.c - reads GBNF grammar text (the format of llama.cpp's
 * grammars/README.md) into the intermediate form of grammar_impl.h.
 *
 * Accepted syntax:
 *   rule   ::= name "::=" alternates          (name: [A-Za-z0-9_-]+)
 *   alternates ::= sequence ("|" sequence)*
 *   element: "literal" | [class] | [^class] | . | name | ( alternates )
 *            followed by any of ? * + {m} {m,} {m,n} {,n}
 *   escapes in literals and classes: \n \r \t \\ \" \[ \] \- \xNN \uNNNN
 *   \UNNNNNNNN (and other punctuation stands for itself); # comments.
 * Unlike llama.cpp, a rule body may continue over several lines anywhere:
 * a rule ends where the next "name ::=" begins.  That accepts every grammar
 * llama.cpp accepts and a few more.
 *
 * Groups and repetitions become generated rules named "parent.N"; the dot
 * cannot appear in a user's name, so they never collide.  {m,n} is expanded
 * into m copies and a chain of n-m nested optionals (not n-m independent
 * optionals, which would be ambiguous and multiply the parse stacks).
 */
#include "grammar/grammar_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The intermediate form ---- */

void gir_deinit(gir *ir) {
    for (uint32_t i = 0; i < ir->n_rules; i++) {
        free(ir->rules[i].name);
        free(ir->rules[i].items);
    }
    free(ir->rules);
    free(ir->ranges);
    free(ir->set_off);
    free(ir->names);
    memset(ir, 0, sizeof *ir);
}

static tlm_status grow(void **p, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap) return TLM_OK;
    uint32_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > UINT32_MAX / 2) return TLM_ERR_NOMEM;
        c *= 2;
    }
    void *q = tlm_realloc(*p, (size_t)c * elem);
    if (!q) return TLM_ERR_NOMEM;
    *p = q;
    *cap = c;
    return TLM_OK;
}

static int range_cmp(const void *a, const void *b) {
    const gir_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

/* Sorts and merges r[0..n) in place; returns the new count. */
static uint32_t ranges_normalise(gir_range *r, uint32_t n) {
    qsort(r, n, sizeof *r, range_cmp);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k && r[i].lo <= r[k - 1].hi + 1) {
            if (r[i].hi > r[k - 1].hi) r[k - 1].hi = r[i].hi;
        } else {
            r[k++] = r[i];
        }
    }
    return k;
}

tlm_status gir_add_set(gir *ir, const gir_range *r, uint32_t n, bool negate, uint32_t *out) {
    gir_range *tmp = tlm_malloc(((size_t)n * 2 + 4) * sizeof *tmp);
    if (!tmp) return TLM_ERR_NOMEM;
    if (n) memcpy(tmp, r, (size_t)n * sizeof *tmp);
    n = ranges_normalise(tmp, n);
    if (negate) {
        /* The complement of sorted disjoint ranges is the gaps between them. */
        gir_range *neg = tmp + n;
        uint32_t k = 0, next = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (tmp[i].lo > next) neg[k++] = (gir_range){next, tmp[i].lo - 1};
            next = tmp[i].hi + 1;
        }
        if (next <= TLM_CP_MAX) neg[k++] = (gir_range){next, TLM_CP_MAX};
        memmove(tmp, neg, k * sizeof *tmp);
        n = k;
    }
    /* Surrogates cannot be encoded in UTF-8, so no text contains them. */
    uint32_t k = 0;
    gir_range *res = tmp + n;
    for (uint32_t i = 0; i < n; i++) {
        gir_range x = tmp[i];
        if (x.hi < 0xD800 || x.lo > 0xDFFF) {
            res[k++] = x;
            continue;
        }
        if (x.lo < 0xD800) res[k++] = (gir_range){x.lo, 0xD7FF};
        if (x.hi > 0xDFFF) res[k++] = (gir_range){0xE000, x.hi};
    }
    tlm_status st = grow((void **)&ir->ranges, &ir->cap_ranges, ir->n_ranges + k, sizeof(gir_range));
    if (!st) st = grow((void **)&ir->set_off, &ir->cap_sets, ir->n_sets + 2, sizeof(uint32_t));
    if (st) {
        free(tmp);
        return st;
    }
    if (ir->n_sets == 0) ir->set_off[0] = 0;
    if (k) memcpy(ir->ranges + ir->n_ranges, res, k * sizeof *res);
    ir->n_ranges += k;
    *out = ir->n_sets++;
    ir->set_off[ir->n_sets] = ir->n_ranges;
    free(tmp);
    return TLM_OK;
}

static uint32_t name_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Keeps the name table at most half full; generated names are not in it. */
static tlm_status names_grow(gir *ir) {
    uint32_t cap = ir->names_cap ? ir->names_cap * 2 : 64;
    uint32_t *t = tlm_calloc(cap, sizeof *t);
    if (!t) return TLM_ERR_NOMEM;
    for (uint32_t i = 0; i < ir->names_cap; i++) {
        uint32_t v = ir->names[i];
        if (!v) continue;
        const char *nm = ir->rules[v - 1].name;
        uint32_t h = name_hash(nm, strlen(nm)) & (cap - 1);
        while (t[h]) h = (h + 1) & (cap - 1);
        t[h] = v;
    }
    free(ir->names);
    ir->names = t;
    ir->names_cap = cap;
    return TLM_OK;
}

static tlm_status rule_append(gir *ir, uint32_t *out) {
    if (ir->n_rules >= GIR_MAX_RULES) return TLM_ERR_RANGE;
    tlm_status st = grow((void **)&ir->rules, &ir->cap_rules, ir->n_rules + 1, sizeof(gir_rule));
    if (st) return st;
    memset(&ir->rules[ir->n_rules], 0, sizeof(gir_rule));
    *out = ir->n_rules++;
    return TLM_OK;
}

tlm_status gir_rule_get(gir *ir, const char *name, size_t len, uint32_t *out) {
    if (ir->names_cap == 0 && names_grow(ir)) return TLM_ERR_NOMEM;
    uint32_t mask = ir->names_cap - 1, h = name_hash(name, len) & mask;
    for (; ir->names[h]; h = (h + 1) & mask) {
        const char *nm = ir->rules[ir->names[h] - 1].name;
        if (strlen(nm) == len && !memcmp(nm, name, len)) {
            *out = ir->names[h] - 1;
            return TLM_OK;
        }
    }
    char *copy = tlm_strndup(name, len);
    if (!copy) return TLM_ERR_NOMEM;
    tlm_status st = rule_append(ir, out);
    if (st) {
        free(copy);
        return st;
    }
    ir->rules[*out].name = copy;
    ir->names[h] = *out + 1;
    if (++ir->names_used * 2 > ir->names_cap) return names_grow(ir);
    return TLM_OK;
}

tlm_status gir_rule_new(gir *ir, const char *base, uint32_t *out) {
    /* The base may itself be generated ("a.3"): keep only its user part. */
    size_t blen = strcspn(base, ".");
    size_t n = blen + 16;
    char *name = tlm_malloc(n);
    if (!name) return TLM_ERR_NOMEM;
    snprintf(name, n, "%.*s.%u", (int)blen, base, ir->n_rules);
    tlm_status st = rule_append(ir, out);
    if (st) {
        free(name);
        return st;
    }
    ir->rules[*out].name = name;
    ir->rules[*out].defined = true;
    return TLM_OK;
}

tlm_status gir_push(gir *ir, uint32_t rule, uint32_t item) {
    if (ir->n_items >= GIR_MAX_ITEMS) return TLM_ERR_RANGE;
    gir_rule *r = &ir->rules[rule];
    tlm_status st = grow((void **)&r->items, &r->cap, r->n + 1, sizeof(uint32_t));
    if (st) return st;
    r->items[r->n++] = item;
    ir->n_items++;
    return TLM_OK;
}

/* ---- The parser ---- */

typedef struct parser {
    const char *s;
    size_t len, pos;
    gir *ir;
    tlm_error *err;
    tlm_status st; /* first error, sticky */
} parser;

static void line_col(const char *s, size_t off, unsigned *line, unsigned *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)s[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

/* Records the first error with the position of p->pos. */
static tlm_status fail_at(parser *p, size_t off, tlm_status code, const char *what) {
    if (p->st) return p->st;
    unsigned line, col;
    line_col(p->s, off, &line, &col);
    char got[16];
    if (off >= p->len)
        snprintf(got, sizeof got, "end of text");
    else if ((unsigned char)p->s[off] < 0x20)
        snprintf(got, sizeof got, "byte 0x%02x", (unsigned char)p->s[off]);
    else
        snprintf(got, sizeof got, "'%c'", p->s[off]);
    tlm_error_set(p->err, code, "grammar: line %u, column %u: %s (got %s)", line, col, what, got);
    p->st = code;
    return code;
}

static tlm_status fail_status(parser *p, tlm_status st) {
    if (st == TLM_ERR_RANGE)
        return fail_at(p, p->pos, st, "grammar too large after expanding repetitions");
    if (st == TLM_ERR_NOMEM && !p->st) {
        p->st = tlm_error_set(p->err, st, "grammar: out of memory");
        return st;
    }
    return st ? fail_at(p, p->pos, st, "internal error") : TLM_OK;
}

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static bool is_name_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Skips blanks, newlines and # comments. */
static void skip_space(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            p->pos++;
        } else if (c == '#') {
            while (p->pos < p->len && p->s[p->pos] != '\n') p->pos++;
        } else {
            break;
        }
    }
}

static size_t name_end(const parser *p, size_t at) {
    while (at < p->len && is_name_char((unsigned char)p->s[at])) at++;
    return at;
}

/* Whether a rule definition "name ::=" starts at the current position. */
static bool at_rule_start(parser *p) {
    size_t e = name_end(p, p->pos);
    if (e == p->pos) return false;
    size_t save = p->pos;
    p->pos = e;
    skip_space(p);
    bool yes = p->len - p->pos >= 3 && !memcmp(p->s + p->pos, "::=", 3);
    p->pos = save;
    return yes;
}

/* Decodes one UTF-8 code point; -1 when invalid. */
static int32_t utf8_next(parser *p) {
    const unsigned char *s = (const unsigned char *)p->s + p->pos;
    size_t left = p->len - p->pos;
    uint32_t c = s[0];
    int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (!n || (size_t)n > left) return -1;
    if (n > 1) c &= 0x3Fu >> (n - 1);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min_cp[n] || c > TLM_CP_MAX || (c >= 0xD800 && c <= 0xDFFF)) return -1;
    p->pos += (size_t)n;
    return (int32_t)c;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character of a literal or class, escapes included; -1 on error. */
static int32_t parse_char(parser *p) {
    size_t start = p->pos;
    if (peek(p) != '\\') {
        int32_t c = utf8_next(p);
        if (c < 0) fail_at(p, start, TLM_ERR_FORMAT, "invalid UTF-8");
        return c;
    }
    p->pos++;
    int e = peek(p);
    if (e < 0) return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected an escape after '\\'"), -1;
    p->pos++;
    int ndig = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (ndig) {
        uint32_t v = 0;
        for (int i = 0; i < ndig; i++) {
            int h = hexval(peek(p));
            if (h < 0) return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected a hex digit"), -1;
            v = v * 16 + (uint32_t)h;
            p->pos++;
        }
        if (v > TLM_CP_MAX || (v >= 0xD800 && v <= 0xDFFF))
            return fail_at(p, start, TLM_ERR_FORMAT, "escape is not a Unicode scalar value"), -1;
        return (int32_t)v;
    }
    switch (e) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case '0': return 0;
    default:
        if (e > 0x20 && e < 0x7F && !(e >= 'a' && e <= 'z') && !(e >= 'A' && e <= 'Z') && !(e >= '0' && e <= '9'))
            return e;
    }
    return fail_at(p, start, TLM_ERR_FORMAT, "unknown escape"), -1;
}

static tlm_status push(parser *p, uint32_t rule, uint32_t item) {
    tlm_status st = gir_push(p->ir, rule, item);
    return st ? fail_status(p, st) : TLM_OK;
}

static tlm_status push_set(parser *p, uint32_t rule, const gir_range *r, uint32_t n, bool neg) {
    uint32_t set;
    tlm_status st = gir_add_set(p->ir, r, n, neg, &set);
    if (st) return fail_status(p, st);
    return push(p, rule, GIR_ITEM(GIR_SET, set));
}

static tlm_status parse_literal(parser *p, uint32_t rule) {
    size_t start = p->pos++;
    while (peek(p) != '"') {
        if (peek(p) < 0) return fail_at(p, start, TLM_ERR_FORMAT, "unterminated string literal");
        int32_t c = parse_char(p);
        if (c < 0) return p->st;
        gir_range r = {(uint32_t)c, (uint32_t)c};
        if (push_set(p, rule, &r, 1, false)) return p->st;
    }
    p->pos++;
    return TLM_OK;
}

static tlm_status parse_class(parser *p, uint32_t rule) {
    size_t start = p->pos++;
    bool neg = peek(p) == '^';
    if (neg) p->pos++;
    gir_range *r = NULL;
    uint32_t n = 0, cap = 0;
    while (peek(p) != ']') {
        if (peek(p) < 0) {
            free(r);
            return fail_at(p, start, TLM_ERR_FORMAT, "unterminated character class");
        }
        size_t at = p->pos;
        int32_t lo = parse_char(p), hi = lo;
        if (lo >= 0 && peek(p) == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] != ']') {
            p->pos++;
            hi = parse_char(p);
            if (hi >= 0 && hi < lo) fail_at(p, at, TLM_ERR_FORMAT, "character range out of order");
        }
        if (lo < 0 || hi < 0 || p->st || grow((void **)&r, &cap, n + 1, sizeof *r)) {
            free(r);
            return p->st ? p->st : fail_status(p, TLM_ERR_NOMEM);
        }
        r[n++] = (gir_range){(uint32_t)lo, (uint32_t)hi};
    }
    p->pos++;
    tlm_status st = push_set(p, rule, r, n, neg);
    free(r);
    return st;
}

static tlm_status parse_alternates(parser *p, uint32_t rule, bool nested, int depth);

/* Replaces items[from..] of rule by one reference to a new rule holding
 * them, so that a repetition always applies to a single item. */
static tlm_status wrap_tail(parser *p, uint32_t rule, uint32_t from, uint32_t *out_item) {
    gir_rule *r = &p->ir->rules[rule];
    if (r->n - from == 1) {
        *out_item = r->items[from];
        r->n--;
        p->ir->n_items--;
        return TLM_OK;
    }
    uint32_t nr;
    tlm_status st = gir_rule_new(p->ir, p->ir->rules[rule].name, &nr);
    if (st) return fail_status(p, st);
    r = &p->ir->rules[rule]; /* the rules array may have moved */
    for (uint32_t i = from; i < r->n; i++)
        if (push(p, nr, r->items[i])) return p->st;
    r = &p->ir->rules[rule];
    p->ir->n_items -= r->n - from;
    r->n = from;
    *out_item = GIR_ITEM(GIR_REF, nr);
    return TLM_OK;
}

/* Appends x{min,max} (max = UINT32_MAX: unbounded) to rule. */
static tlm_status emit_repeat(parser *p, uint32_t rule, uint32_t x, uint32_t min, uint32_t max) {
    for (uint32_t i = 0; i < min; i++)
        if (push(p, rule, x)) return p->st;
    if (max == min) return TLM_OK;
    uint32_t nr;
    tlm_status st = gir_rule_new(p->ir, p->ir->rules[rule].name, &nr);
    if (st) return fail_status(p, st);
    if (push(p, rule, GIR_ITEM(GIR_REF, nr))) return p->st;
    if (max == UINT32_MAX) /* nr ::= x nr | "" */
        return push(p, nr, x) || push(p, nr, GIR_ITEM(GIR_REF, nr)) ||
                       push(p, nr, GIR_ITEM(GIR_ALT, 0))
                   ? p->st
                   : TLM_OK;
    /* nr ::= x next | "" ... the last one: x | "" */
    for (uint32_t k = max - min; k > 0; k--) {
        if (push(p, nr, x)) return p->st;
        uint32_t next = 0;
        if (k > 1) {
            st = gir_rule_new(p->ir, p->ir->rules[rule].name, &next);
            if (st) return fail_status(p, st);
            if (push(p, nr, GIR_ITEM(GIR_REF, next))) return p->st;
        }
        if (push(p, nr, GIR_ITEM(GIR_ALT, 0))) return p->st;
        nr = next;
    }
    return TLM_OK;
}

static bool parse_uint(parser *p, uint32_t *out) {
    if (peek(p) < '0' || peek(p) > '9') return false;
    uint64_t v = 0;
    while (peek(p) >= '0' && peek(p) <= '9') {
        v = v * 10 + (uint64_t)(peek(p) - '0');
        if (v > GIR_MAX_REPEAT) v = GIR_MAX_REPEAT + 1;
        p->pos++;
    }
    *out = (uint32_t)v;
    return true;
}

/* Parses {m}, {m,}, {m,n} or {,n} after an element. */
static tlm_status parse_braces(parser *p, uint32_t *min, uint32_t *max) {
    size_t start = p->pos++;
    skip_space(p);
    bool has_min = parse_uint(p, min);
    if (!has_min) *min = 0;
    skip_space(p);
    if (peek(p) == ',') {
        p->pos++;
        skip_space(p);
        if (!parse_uint(p, max)) *max = UINT32_MAX;
        if (!has_min && *max == UINT32_MAX)
            return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected a count in {}");
    } else if (has_min) {
        *max = *min;
    } else {
        return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected a count in {}");
    }
    skip_space(p);
    if (peek(p) != '}') return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected '}'");
    p->pos++;
    if (*min > GIR_MAX_REPEAT || (*max != UINT32_MAX && *max > GIR_MAX_REPEAT))
        return fail_at(p, start, TLM_ERR_RANGE, "repetition count too large (limit 100000)");
    if (*max < *min) return fail_at(p, start, TLM_ERR_FORMAT, "repetition {m,n} with n < m");
    return TLM_OK;
}

static tlm_status parse_repetition(parser *p, uint32_t rule, uint32_t elem_start) {
    int c = peek(p);
    uint32_t min = 0, max = 0;
    if (p->ir->rules[rule].n == elem_start)
        return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected an element before the repetition");
    if (c == '{') {
        if (parse_braces(p, &min, &max)) return p->st;
    } else {
        p->pos++;
        min = c == '+' ? 1 : 0;
        max = c == '?' ? 1 : UINT32_MAX;
    }
    uint32_t x = 0;
    if (wrap_tail(p, rule, elem_start, &x)) return p->st;
    return emit_repeat(p, rule, x, min, max);
}

static tlm_status parse_sequence(parser *p, uint32_t rule, bool nested, int depth) {
    uint32_t elem_start = UINT32_MAX;
    for (;;) {
        skip_space(p);
        int c = peek(p);
        if (c < 0 || c == '|' || c == ')') return TLM_OK; /* the caller checks ')' */
        if (!nested && at_rule_start(p)) return TLM_OK;
        if (c == '*' || c == '+' || c == '?' || c == '{') {
            if (elem_start == UINT32_MAX)
                return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected an element before the repetition");
            if (parse_repetition(p, rule, elem_start)) return p->st;
            elem_start = UINT32_MAX; /* "x**" is an error, as in llama.cpp */
            continue;
        }
        elem_start = p->ir->rules[rule].n;
        if (c == '"') {
            if (parse_literal(p, rule)) return p->st;
        } else if (c == '[') {
            if (parse_class(p, rule)) return p->st;
        } else if (c == '.') {
            p->pos++;
            gir_range none = {0, 0};
            if (push_set(p, rule, &none, 0, true)) return p->st;
        } else if (c == '(') {
            size_t open = p->pos++;
            uint32_t g;
            tlm_status st = gir_rule_new(p->ir, p->ir->rules[rule].name, &g);
            if (st) return fail_status(p, st);
            if (parse_alternates(p, g, true, depth + 1)) return p->st;
            if (peek(p) != ')') return fail_at(p, open, TLM_ERR_FORMAT, "unclosed '(' (expected ')')");
            p->pos++;
            if (push(p, rule, GIR_ITEM(GIR_REF, g))) return p->st;
        } else if (is_name_char(c)) {
            size_t e = name_end(p, p->pos);
            uint32_t ref;
            tlm_status st = gir_rule_get(p->ir, p->s + p->pos, e - p->pos, &ref);
            if (st) return fail_status(p, st);
            if (!p->ir->rules[ref].defined && !p->ir->rules[ref].ref_off)
                p->ir->rules[ref].ref_off = (uint32_t)p->pos + 1;
            p->pos = e;
            if (push(p, rule, GIR_ITEM(GIR_REF, ref))) return p->st;
        } else {
            return fail_at(p, p->pos, TLM_ERR_FORMAT,
                           "expected a literal, class, rule name, '(' or end of rule");
        }
    }
}

static tlm_status parse_alternates(parser *p, uint32_t rule, bool nested, int depth) {
    if (depth > 200) return fail_at(p, p->pos, TLM_ERR_FORMAT, "groups nested too deeply");
    for (;;) {
        if (parse_sequence(p, rule, nested, depth)) return p->st;
        if (peek(p) != '|') return TLM_OK;
        p->pos++;
        if (push(p, rule, GIR_ITEM(GIR_ALT, 0))) return p->st;
    }
}

static tlm_status parse_rules(parser *p) {
    for (;;) {
        skip_space(p);
        if (p->pos >= p->len) break;
        size_t start = p->pos, e = name_end(p, p->pos);
        if (e == start) return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected a rule name");
        p->pos = e;
        skip_space(p);
        if (p->len - p->pos < 3 || memcmp(p->s + p->pos, "::=", 3))
            return fail_at(p, p->pos, TLM_ERR_FORMAT, "expected '::='");
        p->pos += 3;
        uint32_t rule;
        tlm_status st = gir_rule_get(p->ir, p->s + start, e - start, &rule);
        if (st) return fail_status(p, st);
        if (p->ir->rules[rule].defined) return fail_at(p, start, TLM_ERR_FORMAT, "rule defined twice");
        p->ir->rules[rule].defined = true;
        if (parse_alternates(p, rule, false, 0)) return p->st;
        if (peek(p) == ')') return fail_at(p, p->pos, TLM_ERR_FORMAT, "unmatched ')'");
    }
    for (uint32_t i = 0; i < p->ir->n_rules; i++)
        if (!p->ir->rules[i].defined) {
            char what[160];
            snprintf(what, sizeof what, "undefined rule '%.100s'", p->ir->rules[i].name);
            return fail_at(p, p->ir->rules[i].ref_off - 1, TLM_ERR_FORMAT, what);
        }
    return TLM_OK;
}

tlm_status tlm_grammar_parse(const char *text, size_t len, const char *root, tlm_grammar **out,
                             tlm_error *err) {
    *out = NULL;
    if (!text) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grammar: no text");
    gir ir = {0};
    parser p = {.s = text, .len = len, .ir = &ir, .err = err};
    tlm_status st = parse_rules(&p);
    if (!st) {
        const char *rn = root ? root : "root";
        uint32_t r;
        for (r = 0; r < ir.n_rules; r++)
            if (!strcmp(ir.rules[r].name, rn)) break;
        if (r == ir.n_rules)
            st = tlm_error_set(err, TLM_ERR_FORMAT, "grammar: no rule named '%.100s'", rn);
        else
            st = tlm_grammar_compile(&ir, r, out, err);
    }
    gir_deinit(&ir);
    return st;
}
