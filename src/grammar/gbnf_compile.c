/*
 * gbnf_compile.c - turns the parser's code-point rules into the byte-level
 * grammar the matcher runs (grammar_impl.h), and checks it.
 *
 * - Every code-point set becomes UTF-8 byte sequences (the usual range
 *   splitting: each sequence is a run of byte ranges), sequences that differ
 *   only in their first byte share one alternative.  ASCII-only sets stay a
 *   single byte set inline.
 * - Shortest-completion lengths are computed with Knuth's generalisation of
 *   Dijkstra's algorithm to grammars; a rule that can never finish (rule_min
 *   infinite) is useless, and every alternative that refers to one is
 *   dropped.  After that, every prefix the matcher accepts can be completed.
 * - Left recursion (a rule reaching itself without consuming a byte) would
 *   make the stack expansion loop forever, so it is an error, reported with
 *   the rule's name.
 * - Bytes that no set tells apart form one class, so the matcher's cached
 *   transition tables have one column per class, not per byte.
 */
#include "grammar/grammar_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct compiler {
    const gir *ir;
    tlm_grammar *g;
    uint32_t cap_elems, cap_sets;
    uint32_t *set_hash; /* open addressing: byte set index + 1 */
    uint32_t set_hash_cap;
    uint32_t *ir_set_elem; /* IR set -> element to emit (BYTES or REF), 0 = not yet */
    uint32_t n_rules, cap_rules;
    uint32_t *rule_first; /* first element of each compiled rule */
    uint32_t *alt_start, *alt_rule, n_alts, cap_alts, cap_alts2;
    tlm_error *err;
} compiler;

static tlm_status grow(void **p, uint32_t *cap, uint64_t need, size_t elem) {
    if (need <= *cap) return TLM_OK;
    if (need > UINT32_MAX / 2) return TLM_ERR_RANGE;
    uint32_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = tlm_realloc(*p, (size_t)c * elem);
    if (!q) return TLM_ERR_NOMEM;
    *p = q;
    *cap = c;
    return TLM_OK;
}

static tlm_status emit(compiler *c, uint32_t e) {
    tlm_status st = grow((void **)&c->g->elems, &c->cap_elems, (uint64_t)c->g->n_elems + 1, 4);
    if (st) return st;
    if (c->g->n_elems >= GE_ARG(~0u)) return TLM_ERR_RANGE;
    c->g->elems[c->g->n_elems++] = e;
    return TLM_OK;
}

static tlm_status begin_alt(compiler *c, uint32_t rule) {
    tlm_status st = grow((void **)&c->alt_start, &c->cap_alts, (uint64_t)c->n_alts + 1, 4);
    if (!st) st = grow((void **)&c->alt_rule, &c->cap_alts2, (uint64_t)c->n_alts + 1, 4);
    if (st) return st;
    c->alt_start[c->n_alts] = c->g->n_elems;
    c->alt_rule[c->n_alts++] = rule;
    return TLM_OK;
}

static uint32_t set_hash(const uint64_t s[4]) {
    uint64_t h = s[0] * 0x9E3779B97F4A7C15ull ^ s[1] * 0xC2B2AE3D27D4EB4Full ^
                 s[2] * 0x165667B19E3779F9ull ^ s[3] * 0x27D4EB2F165667C5ull;
    return (uint32_t)(h ^ (h >> 29));
}

/* Index of byte set s in the grammar's table, adding it if new. */
static tlm_status intern_set(compiler *c, const uint64_t s[4], uint32_t *out) {
    tlm_grammar *g = c->g;
    if ((uint64_t)(g->n_sets + 1) * 2 > c->set_hash_cap) {
        uint32_t cap = c->set_hash_cap ? c->set_hash_cap * 2 : 256;
        uint32_t *t = tlm_calloc(cap, 4);
        if (!t) return TLM_ERR_NOMEM;
        for (uint32_t i = 0; i < g->n_sets; i++) {
            uint32_t h = set_hash(g->sets[i]) & (cap - 1);
            while (t[h]) h = (h + 1) & (cap - 1);
            t[h] = i + 1;
        }
        free(c->set_hash);
        c->set_hash = t;
        c->set_hash_cap = cap;
    }
    uint32_t mask = c->set_hash_cap - 1, h = set_hash(s) & mask;
    for (; c->set_hash[h]; h = (h + 1) & mask)
        if (!memcmp(g->sets[c->set_hash[h] - 1], s, 32)) {
            *out = c->set_hash[h] - 1;
            return TLM_OK;
        }
    tlm_status st = grow((void **)&g->sets, &c->cap_sets, (uint64_t)g->n_sets + 1, 32);
    if (st) return st;
    memcpy(g->sets[g->n_sets], s, 32);
    c->set_hash[h] = g->n_sets + 1;
    *out = g->n_sets++;
    return TLM_OK;
}

static void set_add_range(uint64_t s[4], unsigned lo, unsigned hi) {
    for (unsigned b = lo; b <= hi; b++) s[b >> 6] |= 1ull << (b & 63);
}

/* ---- UTF-8 sequences of a code-point set ---- */

typedef struct useq {
    uint8_t n;
    uint8_t lo[4], hi[4];
} useq;

typedef struct useqs {
    useq *v;
    uint32_t n, cap;
} useqs;

static void utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
    } else if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    } else {
        out[0] = (uint8_t)(0xF0 | cp >> 18);
        out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    }
}

/* Splits [lo, hi] (all of one encoded length n) until every byte position of
 * a piece is a plain range: then the piece is one sequence. */
static tlm_status split_same_len(useqs *q, uint32_t lo, uint32_t hi, int n) {
    for (int i = 1; i < n; i++) {
        uint32_t m = (1u << (6 * i)) - 1;
        if ((lo & ~m) != (hi & ~m)) {
            if (lo & m) {
                tlm_status st = split_same_len(q, lo, lo | m, n);
                return st ? st : split_same_len(q, (lo | m) + 1, hi, n);
            }
            if ((hi & m) != m) {
                tlm_status st = split_same_len(q, lo, (hi & ~m) - 1, n);
                return st ? st : split_same_len(q, hi & ~m, hi, n);
            }
        }
    }
    tlm_status st = grow((void **)&q->v, &q->cap, (uint64_t)q->n + 1, sizeof(useq));
    if (st) return st;
    useq *s = &q->v[q->n++];
    s->n = (uint8_t)n;
    utf8_encode(lo, s->lo);
    utf8_encode(hi, s->hi);
    return TLM_OK;
}

static tlm_status split_range(useqs *q, uint32_t lo, uint32_t hi) {
    static const uint32_t top[4] = {0x7F, 0x7FF, 0xFFFF, TLM_CP_MAX};
    for (int n = 1; n <= 4 && lo <= hi; n++) {
        if (lo > top[n - 1]) continue;
        uint32_t h = hi < top[n - 1] ? hi : top[n - 1];
        tlm_status st = split_same_len(q, lo, h, n);
        if (st) return st;
        lo = h + 1;
    }
    return TLM_OK;
}

/* Emits a rule whose alternatives match exactly the UTF-8 encodings of the
 * code points in IR set `set`. */
static tlm_status emit_utf8_rule(compiler *c, uint32_t set, uint32_t rule) {
    const gir *ir = c->ir;
    useqs q = {0};
    tlm_status st = TLM_OK;
    for (uint32_t i = ir->set_off[set]; i < ir->set_off[set + 1] && !st; i++)
        st = split_range(&q, ir->ranges[i].lo, ir->ranges[i].hi);
    bool *done = st ? NULL : tlm_calloc(q.n + 1, 1);
    if (!st && !done) st = TLM_ERR_NOMEM;
    c->rule_first[rule] = c->g->n_elems;
    bool any = false;
    for (uint32_t i = 0; i < q.n && !st; i++) {
        if (done[i]) continue;
        uint64_t first[4] = {0};
        /* Sequences with the same tail share one alternative. */
        for (uint32_t j = i; j < q.n; j++) {
            const useq *a = &q.v[i], *b = &q.v[j];
            if (done[j] || a->n != b->n || memcmp(a->lo + 1, b->lo + 1, a->n - 1u) ||
                memcmp(a->hi + 1, b->hi + 1, a->n - 1u))
                continue;
            set_add_range(first, b->lo[0], b->hi[0]);
            done[j] = true;
        }
        if (any) st = emit(c, GE_MAKE(GE_ALT, 0));
        if (!st) st = begin_alt(c, rule);
        any = true;
        uint32_t si;
        if (!st) st = intern_set(c, first, &si);
        if (!st) st = emit(c, GE_MAKE(GE_BYTES, si));
        for (int k = 1; k < q.v[i].n && !st; k++) {
            uint64_t s[4] = {0};
            set_add_range(s, q.v[i].lo[k], q.v[i].hi[k]);
            if (!(st = intern_set(c, s, &si))) st = emit(c, GE_MAKE(GE_BYTES, si));
        }
    }
    /* An empty set leaves a rule with no alternative: useless, pruned later. */
    if (!st) st = emit(c, GE_MAKE(GE_END, 0));
    free(done);
    free(q.v);
    return st;
}

/* The element standing for IR set `set`: a byte set if it is ASCII only,
 * else a reference to a new rule of UTF-8 sequences. */
static tlm_status set_element(compiler *c, uint32_t set, uint32_t *out) {
    if (c->ir_set_elem[set]) {
        *out = c->ir_set_elem[set];
        return TLM_OK;
    }
    const gir *ir = c->ir;
    uint32_t a = ir->set_off[set], b = ir->set_off[set + 1];
    if (a < b && ir->ranges[b - 1].hi < 0x80) {
        uint64_t s[4] = {0};
        for (uint32_t i = a; i < b; i++) set_add_range(s, ir->ranges[i].lo, ir->ranges[i].hi);
        uint32_t si;
        tlm_status st = intern_set(c, s, &si);
        if (st) return st;
        *out = c->ir_set_elem[set] = GE_MAKE(GE_BYTES, si);
        return TLM_OK;
    }
    tlm_status st = grow((void **)&c->rule_first, &c->cap_rules, (uint64_t)c->n_rules + 1, 4);
    if (st) return st;
    *out = c->ir_set_elem[set] = GE_MAKE(GE_REF, c->n_rules);
    c->n_rules++;
    return TLM_OK;
}

static tlm_status emit_ir_rules(compiler *c, uint32_t root) {
    const gir *ir = c->ir;
    tlm_status st = emit(c, GE_MAKE(GE_REF, root));
    if (!st) st = emit(c, GE_MAKE(GE_END, 0));
    for (uint32_t r = 0; r < ir->n_rules && !st; r++) {
        c->rule_first[r] = c->g->n_elems;
        st = begin_alt(c, r);
        for (uint32_t i = 0; i < ir->rules[r].n && !st; i++) {
            uint32_t it = ir->rules[r].items[i], e = 0;
            switch (GIR_KIND(it)) {
            case GIR_SET: st = set_element(c, GIR_ARG(it), &e); break;
            case GIR_REF: e = GE_MAKE(GE_REF, GIR_ARG(it)); break;
            default:
                st = emit(c, GE_MAKE(GE_ALT, 0));
                if (!st) st = begin_alt(c, r);
                continue;
            }
            if (!st) st = emit(c, e);
        }
        if (!st) st = emit(c, GE_MAKE(GE_END, 0));
    }
    /* UTF-8 rules were numbered after the IR rules as sets were met. */
    for (uint32_t s = 0; s < ir->n_sets && !st; s++)
        if (GE_KIND(c->ir_set_elem[s]) == GE_REF) st = emit_utf8_rule(c, s, GE_ARG(c->ir_set_elem[s]));
    return st;
}

/* ---- Shortest completions (Knuth 1977) ---- */

typedef struct heap {
    uint64_t *v;
    uint32_t n, cap;
} heap;

static tlm_status heap_push(heap *h, uint64_t x) {
    tlm_status st = grow((void **)&h->v, &h->cap, (uint64_t)h->n + 1, 8);
    if (st) return st;
    uint32_t i = h->n++;
    while (i && h->v[(i - 1) / 2] > x) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = x;
    return TLM_OK;
}

static uint64_t heap_pop(heap *h) {
    uint64_t top = h->v[0], x = h->v[--h->n];
    uint32_t i = 0;
    for (;;) {
        uint32_t k = 2 * i + 1;
        if (k >= h->n) break;
        if (k + 1 < h->n && h->v[k + 1] < h->v[k]) k++;
        if (h->v[k] >= x) break;
        h->v[i] = h->v[k];
        i = k;
    }
    if (h->n) h->v[i] = x;
    return top;
}

static tlm_status min_lengths(compiler *c) {
    tlm_grammar *g = c->g;
    uint32_t na = c->n_alts, nr = c->n_rules;
    uint32_t *pending = tlm_calloc(na, 4), *occ_off = tlm_calloc(nr + 1, 4);
    uint64_t *sum = tlm_calloc(na, 8);
    uint32_t *occ = NULL;
    heap h = {0};
    tlm_status st = pending && occ_off && sum ? TLM_OK : TLM_ERR_NOMEM;
    for (uint32_t a = 0; a < na && !st; a++)
        for (uint32_t e = c->alt_start[a]; !GE_IS_END(g->elems[e]); e++)
            if (GE_KIND(g->elems[e]) == GE_REF) {
                pending[a]++;
                occ_off[GE_ARG(g->elems[e]) + 1]++;
            } else {
                sum[a]++;
            }
    for (uint32_t r = 0; r < nr && !st; r++) occ_off[r + 1] += occ_off[r];
    if (!st && !(occ = tlm_malloc((size_t)occ_off[nr] * 4 + 4))) st = TLM_ERR_NOMEM;
    uint32_t *fill = st ? NULL : tlm_calloc(nr + 1, 4);
    if (!st && !fill) st = TLM_ERR_NOMEM;
    for (uint32_t a = 0; a < na && !st; a++) {
        for (uint32_t e = c->alt_start[a]; !GE_IS_END(g->elems[e]); e++)
            if (GE_KIND(g->elems[e]) == GE_REF) {
                uint32_t s = GE_ARG(g->elems[e]);
                occ[occ_off[s] + fill[s]++] = a;
            }
        if (!pending[a]) st = heap_push(&h, sum[a] << 32 | a);
    }
    for (uint32_t r = 0; r < nr; r++) g->rule_min[r] = G_INF;
    while (!st && h.n) {
        uint64_t top = heap_pop(&h);
        uint32_t a = (uint32_t)top, r = c->alt_rule[a], v = (uint32_t)(top >> 32);
        if (g->rule_min[r] != G_INF) continue;
        g->rule_min[r] = v;
        g->best_alt[r] = c->alt_start[a];
        for (uint32_t k = occ_off[r]; k < occ_off[r + 1] && !st; k++) {
            uint32_t b = occ[k];
            sum[b] += v;
            if (sum[b] > G_INF - 1) sum[b] = G_INF - 1;
            if (--pending[b] == 0) st = heap_push(&h, sum[b] << 32 | b);
        }
    }
    free(pending);
    free(occ_off);
    free(sum);
    free(occ);
    free(fill);
    free(h.v);
    return st;
}

/* Keeps only alternatives whose rules all finish, grouped by rule (UTF-8
 * rules were emitted in set order, not rule order: counting sort). */
static tlm_status live_alternatives(compiler *c) {
    tlm_grammar *g = c->g;
    g->alt_off = tlm_calloc(c->n_rules + 1, 4);
    g->alts = tlm_malloc((size_t)c->n_alts * 4 + 4);
    uint32_t *fill = tlm_calloc(c->n_rules + 1, 4);
    bool *live = tlm_calloc(c->n_alts + 1, 1);
    if (!g->alt_off || !g->alts || !fill || !live) return free(fill), free(live), TLM_ERR_NOMEM;
    for (uint32_t a = 0; a < c->n_alts; a++) {
        live[a] = true;
        for (uint32_t e = c->alt_start[a]; !GE_IS_END(g->elems[e]) && live[a]; e++)
            if (GE_KIND(g->elems[e]) == GE_REF && g->rule_min[GE_ARG(g->elems[e])] == G_INF) live[a] = false;
        if (live[a]) g->alt_off[c->alt_rule[a] + 1]++;
    }
    for (uint32_t r = 0; r < c->n_rules; r++) g->alt_off[r + 1] += g->alt_off[r];
    for (uint32_t a = 0; a < c->n_alts; a++)
        if (live[a]) g->alts[g->alt_off[c->alt_rule[a]] + fill[c->alt_rule[a]]++] = c->alt_start[a];
    free(fill);
    free(live);
    return TLM_OK;
}

static void suffix_lengths(tlm_grammar *g) {
    uint32_t next = 0;
    for (uint32_t e = g->n_elems; e-- > 0;) {
        uint32_t x = g->elems[e], v;
        if (GE_IS_END(x))
            v = 0;
        else if (GE_KIND(x) == GE_BYTES)
            v = next + 1;
        else
            v = next + g->rule_min[GE_ARG(x)];
        g->suffix_min[e] = v > G_INF ? G_INF : v;
        next = g->suffix_min[e];
    }
}

/* Depth-first search for a cycle of "r starts with s" edges (s can be
 * reached from the start of r without consuming a byte). */
static tlm_status check_left_recursion(compiler *c) {
    tlm_grammar *g = c->g;
    uint32_t nr = c->n_rules, n_edges = 0, cap_edges = 0;
    uint32_t *edge_off = tlm_calloc(nr + 1, 4), *edges = NULL;
    uint8_t *color = tlm_calloc(nr, 1);
    uint32_t *stk = tlm_malloc((size_t)nr * 8 + 8);
    tlm_status st = edge_off && color && stk ? TLM_OK : TLM_ERR_NOMEM;
    for (uint32_t r = 0; r < nr && !st; r++) {
        for (uint32_t k = g->alt_off[r]; k < g->alt_off[r + 1] && !st; k++)
            for (uint32_t e = g->alts[k]; GE_KIND(g->elems[e]) == GE_REF; e++) {
                uint32_t s = GE_ARG(g->elems[e]);
                if ((st = grow((void **)&edges, &cap_edges, (uint64_t)n_edges + 1, 4))) break;
                edges[n_edges++] = s;
                if (g->rule_min[s] != 0) break;
            }
        edge_off[r + 1] = n_edges;
    }
    for (uint32_t r0 = 0; r0 < nr && !st; r0++) {
        if (color[r0]) continue;
        uint32_t sp = 0;
        stk[sp++] = r0;
        stk[sp++] = edge_off[r0];
        color[r0] = 1;
        while (sp && !st) {
            uint32_t r = stk[sp - 2], k = stk[sp - 1];
            if (k == edge_off[r + 1]) {
                color[r] = 2;
                sp -= 2;
                continue;
            }
            stk[sp - 1]++;
            uint32_t s = edges[k];
            if (color[s] == 1)
                st = tlm_error_set(c->err, TLM_ERR_FORMAT,
                                   "grammar: rule '%.100s' is left-recursive (it can reach itself "
                                   "without consuming input; a rule named a.N is a group or "
                                   "repetition inside rule a)",
                                   g->names[s]);
            else if (color[s] == 0) {
                color[s] = 1;
                stk[sp++] = s;
                stk[sp++] = edge_off[s];
            }
        }
    }
    free(edge_off);
    free(edges);
    free(color);
    free(stk);
    return st;
}

/* Refines the partition of the 256 byte values by every set in turn. */
static void byte_classes(tlm_grammar *g) {
    memset(g->cls, 0, sizeof g->cls);
    uint32_t n = 1;
    for (uint32_t s = 0; s < g->n_sets; s++) {
        int16_t map[256][2];
        memset(map, -1, sizeof map);
        uint32_t m = 0;
        uint8_t next[256];
        for (int b = 0; b < 256; b++) {
            int in = g_set_has(g, s, (uint8_t)b);
            int16_t *slot = &map[g->cls[b]][in];
            if (*slot < 0) *slot = (int16_t)m++;
            next[b] = (uint8_t)*slot;
        }
        memcpy(g->cls, next, sizeof next);
        n = m;
    }
    g->n_cls = n;
    bool seen[256] = {false};
    for (int b = 0; b < 256; b++)
        if (!seen[g->cls[b]]) {
            seen[g->cls[b]] = true;
            g->cls_rep[g->cls[b]] = (uint8_t)b;
        }
}

void tlm_grammar_free(tlm_grammar *g) {
    if (!g) return;
    if (g->names)
        for (uint32_t r = 0; r < g->n_rules; r++) free(g->names[r]);
    free(g->names);
    free(g->elems);
    free(g->sets);
    free(g->alt_off);
    free(g->alts);
    free(g->rule_min);
    free(g->best_alt);
    free(g->suffix_min);
    free(g);
}

static tlm_status copy_names(compiler *c) {
    tlm_grammar *g = c->g;
    g->names = tlm_calloc(c->n_rules, sizeof(char *));
    if (!g->names) return TLM_ERR_NOMEM;
    for (uint32_t r = 0; r < c->n_rules; r++) {
        g->names[r] = tlm_strdup(r < c->ir->n_rules ? c->ir->rules[r].name : "(utf-8 class)");
        if (!g->names[r]) return TLM_ERR_NOMEM;
    }
    return TLM_OK;
}

tlm_status tlm_grammar_compile(const gir *ir, uint32_t root, tlm_grammar **out, tlm_error *err) {
    *out = NULL;
    compiler c = {.ir = ir, .err = err, .n_rules = ir->n_rules};
    c.g = tlm_calloc(1, sizeof *c.g);
    c.ir_set_elem = tlm_calloc(ir->n_sets + 1, 4);
    c.cap_rules = ir->n_rules + 16;
    c.rule_first = tlm_malloc((size_t)c.cap_rules * 4);
    tlm_status st = c.g && c.ir_set_elem && c.rule_first ? TLM_OK : TLM_ERR_NOMEM;
    if (!st) st = emit_ir_rules(&c, root);
    tlm_grammar *g = c.g;
    if (!st) {
        g->n_rules = c.n_rules;
        g->rule_min = tlm_malloc((size_t)c.n_rules * 4 + 4);
        g->best_alt = tlm_calloc(c.n_rules + 1, 4);
        g->suffix_min = tlm_malloc((size_t)g->n_elems * 4 + 4);
        st = g->rule_min && g->best_alt && g->suffix_min ? copy_names(&c) : TLM_ERR_NOMEM;
    }
    if (!st) st = min_lengths(&c);
    if (!st) st = live_alternatives(&c);
    if (!st && g->rule_min[root] == G_INF)
        st = tlm_error_set(err, TLM_ERR_FORMAT,
                           "grammar: rule '%.100s' matches no string (every alternative needs a "
                           "rule that never finishes)",
                           ir->rules[root].name);
    if (!st) st = check_left_recursion(&c);
    if (!st) {
        suffix_lengths(g);
        byte_classes(g);
    }
    free(c.set_hash);
    free(c.ir_set_elem);
    free(c.rule_first);
    free(c.alt_start);
    free(c.alt_rule);
    if (st) {
        if (st == TLM_ERR_NOMEM) tlm_error_set(err, st, "grammar: out of memory");
        if (st == TLM_ERR_RANGE) tlm_error_set(err, st, "grammar: too large");
        tlm_grammar_free(g);
        return st;
    }
    *out = g;
    return TLM_OK;
}

uint32_t tlm_grammar_n_rules(const tlm_grammar *g) { return g->n_rules; }
uint32_t tlm_grammar_n_elems(const tlm_grammar *g) { return g->n_elems; }
