/*
 * regex.c - ECMAScript regular expressions (the subset JSON Schema
 * patterns use in practice) compiled to DFAs over Unicode code points.
 *
 * Why a DFA and not a direct translation to grammar rules: JSON Schema
 * patterns are unanchored searches, and a string keyword often carries
 * pattern, format and minLength/maxLength together.  With DFAs, search
 * semantics is just a free loop before and after, the intersection of two
 * patterns is a product automaton, and length limits are a counter beside
 * the state (json_schema_str.c), all exact.
 *
 * Pipeline: pattern -> syntax tree -> Thompson NFA (epsilon edges, edges
 * labelled with code-point range sets) -> subset construction on the
 * elementary intervals of the labels -> dead-state pruning.  Sizes are
 * capped so a hostile pattern fails cleanly instead of exploding.
 */
#include "grammar/json_schema_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_MAX_DFA 2000u

/* ---- Thompson NFA ---- */

typedef struct nfa {
    uint32_t n_states;
    uint32_t *e_from, *e_to;
    int32_t *e_set; /* -1: epsilon */
    uint32_t n_edges, cap_edges;
    rx_range *ranges;           /* all label sets */
    uint32_t *set_off, n_sets;  /* set i = ranges[set_off[i] .. set_off[i+1]) */
    uint32_t n_ranges, cap_ranges, cap_sets;
    uint32_t *adj_off, *adj;    /* edges by source, after nfa_index */
    tlm_status st;
} nfa;

static bool nfa_edge(nfa *a, uint32_t from, uint32_t to, int32_t set) {
    if (a->n_edges == a->cap_edges) {
        uint32_t cap = a->cap_edges ? a->cap_edges * 2 : 256;
        uint32_t *f = tlm_realloc(a->e_from, cap * 4), *t = f ? tlm_realloc(a->e_to, cap * 4) : NULL;
        if (f) a->e_from = f;
        if (t) a->e_to = t;
        int32_t *s = t ? tlm_realloc(a->e_set, cap * 4) : NULL;
        if (!s) return a->st = TLM_ERR_NOMEM, false;
        a->e_set = s;
        a->cap_edges = cap;
    }
    a->e_from[a->n_edges] = from;
    a->e_to[a->n_edges] = to;
    a->e_set[a->n_edges++] = set;
    return true;
}

static bool nfa_state(nfa *a, uint32_t *out) {
    if (a->n_states >= RX_MAX_NFA) return a->st = TLM_ERR_UNSUPPORTED, false;
    *out = a->n_states++;
    return true;
}

static int32_t nfa_set(nfa *a, const rx_range *r, uint32_t n) {
    if (a->n_ranges + n > a->cap_ranges) {
        uint32_t cap = TLM_MAX(a->cap_ranges * 2, a->n_ranges + n + 64);
        rx_range *q = tlm_realloc(a->ranges, cap * sizeof *q);
        if (!q) return a->st = TLM_ERR_NOMEM, -1;
        a->ranges = q;
        a->cap_ranges = cap;
    }
    if (a->n_sets + 2 > a->cap_sets) {
        uint32_t cap = a->cap_sets ? a->cap_sets * 2 : 64;
        uint32_t *q = tlm_realloc(a->set_off, cap * 4);
        if (!q) return a->st = TLM_ERR_NOMEM, -1;
        a->set_off = q;
        a->cap_sets = cap;
        if (a->n_sets == 0) a->set_off[0] = 0;
    }
    if (n) memcpy(a->ranges + a->n_ranges, r, n * sizeof *r); /* an empty class has no r */
    a->n_ranges += n;
    a->set_off[++a->n_sets] = a->n_ranges;
    return (int32_t)(a->n_sets - 1);
}

/* Adds paths from state x to state y matching node n. */
static bool nfa_build(nfa *a, const rx_node *n, uint32_t x, uint32_t y) {
    uint32_t s, t;
    switch (n->kind) {
    case RN_SET: {
        int32_t id = nfa_set(a, n->set, n->n_set);
        return id >= 0 && nfa_edge(a, x, y, id);
    }
    case RN_ALT:
        for (uint32_t i = 0; i < n->n_kids; i++)
            if (!nfa_build(a, n->kids[i], x, y)) return false;
        return true;
    case RN_CAT:
        for (uint32_t i = 0; i < n->n_kids; i++) {
            if (i + 1 == n->n_kids) return nfa_build(a, n->kids[i], x, y);
            if (!nfa_state(a, &s) || !nfa_build(a, n->kids[i], x, s)) return false;
            x = s;
        }
        return nfa_edge(a, x, y, -1);
    case RN_REP:
        for (uint32_t i = 0; i < n->min; i++) {
            if (!nfa_state(a, &s) || !nfa_build(a, n->kids[0], x, s)) return false;
            x = s;
        }
        if (n->max == UINT32_MAX) {
            /* A fresh loop state, so the loop cannot leak into siblings. */
            return nfa_state(a, &s) && nfa_edge(a, x, s, -1) && nfa_build(a, n->kids[0], s, s) &&
                   nfa_edge(a, s, y, -1);
        }
        for (uint32_t i = n->min; i < n->max; i++) {
            if (!nfa_edge(a, x, y, -1) || !nfa_state(a, &t) || !nfa_build(a, n->kids[0], x, t)) return false;
            x = t;
        }
        return nfa_edge(a, x, y, -1);
    default:
        return nfa_edge(a, x, y, -1);
    }
}

static bool nfa_index(nfa *a) {
    a->adj_off = tlm_calloc(a->n_states + 1, 4);
    a->adj = tlm_malloc((size_t)a->n_edges * 4 + 4);
    uint32_t *fill = tlm_calloc(a->n_states + 1, 4);
    if (!a->adj_off || !a->adj || !fill) return free(fill), a->st = TLM_ERR_NOMEM, false;
    for (uint32_t e = 0; e < a->n_edges; e++) a->adj_off[a->e_from[e] + 1]++;
    for (uint32_t s = 0; s < a->n_states; s++) a->adj_off[s + 1] += a->adj_off[s];
    for (uint32_t e = 0; e < a->n_edges; e++) a->adj[a->adj_off[a->e_from[e]] + fill[a->e_from[e]]++] = e;
    free(fill);
    return true;
}

static void nfa_free(nfa *a) {
    free(a->e_from);
    free(a->e_to);
    free(a->e_set);
    free(a->ranges);
    free(a->set_off);
    free(a->adj_off);
    free(a->adj);
}

static bool set_has(const nfa *a, int32_t set, uint32_t cp) {
    uint32_t lo = a->set_off[set], hi = a->set_off[set + 1];
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (a->ranges[mid].hi < cp)
            lo = mid + 1;
        else if (a->ranges[mid].lo > cp)
            hi = mid;
        else
            return true;
    }
    return false;
}

/* ---- DFA construction ----
 * States are keyed by a list of words (a sorted NFA state set, or a pair of
 * states for a product); transitions are appended state by state. */

typedef struct dfab {
    uint32_t *pool;
    size_t pool_len, pool_cap;
    uint32_t *key_off, *key_len;
    uint8_t *accept;
    uint32_t n, cap;
    uint32_t *htab, hcap;
    rx_tr *tr;
    uint32_t n_tr, cap_tr;
    uint32_t *tr_off;
    uint32_t max_states;
    tlm_status st;
} dfab;

static uint32_t key_hash(const uint32_t *k, uint32_t n) {
    uint32_t h = 2166136261u ^ n;
    for (uint32_t i = 0; i < n; i++) h = (h ^ k[i]) * 16777619u;
    return h;
}

/* Id of the state with key k (added if new), or UINT32_MAX on failure. */
static uint32_t dfab_state(dfab *d, const uint32_t *k, uint32_t n, bool accept) {
    if ((d->n + 1) * 2 > d->hcap) {
        uint32_t cap = d->hcap ? d->hcap * 2 : 64, *t = tlm_calloc(cap, 4);
        if (!t) return d->st = TLM_ERR_NOMEM, UINT32_MAX;
        for (uint32_t i = 0; i < d->n; i++) {
            uint32_t h = key_hash(d->pool + d->key_off[i], d->key_len[i]) & (cap - 1);
            while (t[h]) h = (h + 1) & (cap - 1);
            t[h] = i + 1;
        }
        free(d->htab);
        d->htab = t;
        d->hcap = cap;
    }
    uint32_t h = key_hash(k, n) & (d->hcap - 1);
    for (; d->htab[h]; h = (h + 1) & (d->hcap - 1)) {
        uint32_t i = d->htab[h] - 1;
        if (d->key_len[i] == n && !memcmp(d->pool + d->key_off[i], k, n * 4u)) return i;
    }
    if (d->n >= d->max_states) return d->st = TLM_ERR_UNSUPPORTED, UINT32_MAX;
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 64;
        uint32_t *o = tlm_realloc(d->key_off, cap * 4);
        if (o) d->key_off = o;
        uint32_t *l = o ? tlm_realloc(d->key_len, cap * 4) : NULL;
        if (l) d->key_len = l;
        uint8_t *a = l ? tlm_realloc(d->accept, cap) : NULL;
        if (a) d->accept = a;
        uint32_t *t = a ? tlm_realloc(d->tr_off, (cap + 1) * 4) : NULL;
        if (!t) return d->st = TLM_ERR_NOMEM, UINT32_MAX;
        d->tr_off = t;
        d->cap = cap;
    }
    if (d->pool_len + n > d->pool_cap) {
        size_t cap = TLM_MAX(d->pool_cap * 2, d->pool_len + n + 64);
        uint32_t *p = tlm_realloc(d->pool, cap * 4);
        if (!p) return d->st = TLM_ERR_NOMEM, UINT32_MAX;
        d->pool = p;
        d->pool_cap = cap;
    }
    memcpy(d->pool + d->pool_len, k, n * 4u);
    d->key_off[d->n] = (uint32_t)d->pool_len;
    d->key_len[d->n] = n;
    d->accept[d->n] = accept;
    d->pool_len += n;
    d->htab[h] = d->n + 1;
    return d->n++;
}

static bool dfab_tr(dfab *d, uint32_t lo, uint32_t hi, uint32_t to) {
    if (d->n_tr && d->tr[d->n_tr - 1].to == to && d->tr[d->n_tr - 1].hi + 1 == lo) {
        d->tr[d->n_tr - 1].hi = hi; /* extend the previous interval */
        return true;
    }
    if (d->n_tr == d->cap_tr) {
        uint32_t cap = d->cap_tr ? d->cap_tr * 2 : 256;
        rx_tr *t = tlm_realloc(d->tr, cap * sizeof *t);
        if (!t) return d->st = TLM_ERR_NOMEM, false;
        d->tr = t;
        d->cap_tr = cap;
    }
    d->tr[d->n_tr++] = (rx_tr){lo, hi, to};
    return true;
}

static void dfab_free(dfab *d) {
    free(d->pool);
    free(d->key_off);
    free(d->key_len);
    free(d->accept);
    free(d->htab);
    free(d->tr);
    free(d->tr_off);
}

/* Keeps the states that can reach acceptance; renumbers them into out. */
static tlm_status dfab_finish(dfab *d, uint32_t start, rx_dfa *out) {
    memset(out, 0, sizeof *out);
    uint32_t n = d->n;
    uint8_t *live = tlm_calloc(n + 1, 1);
    uint32_t *map = tlm_malloc((n + 1) * 4);
    if (!live || !map) return free(live), free(map), TLM_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) live[i] = d->accept[i];
    for (bool changed = true; changed;) { /* small DFAs: a fixpoint is fine */
        changed = false;
        for (uint32_t s = 0; s < n; s++)
            for (uint32_t k = d->tr_off[s]; k < d->tr_off[s + 1] && !live[s]; k++)
                if (live[d->tr[k].to]) live[s] = changed = 1;
    }
    tlm_status st = TLM_OK;
    if (!live[start]) {
        st = TLM_ERR_UNSUPPORTED;
        goto done;
    }
    uint32_t m = 0, nt = 0;
    for (uint32_t s = 0; s < n; s++) map[s] = live[s] ? m++ : UINT32_MAX;
    out->accept = tlm_malloc(m);
    out->tr_off = tlm_malloc((m + 1) * 4);
    out->tr = tlm_malloc((size_t)d->n_tr * sizeof(rx_tr) + sizeof(rx_tr));
    if (!out->accept || !out->tr_off || !out->tr) {
        rx_dfa_free(out);
        st = TLM_ERR_NOMEM;
        goto done;
    }
    for (uint32_t s = 0; s < n; s++) {
        if (!live[s]) continue;
        out->accept[map[s]] = d->accept[s];
        out->tr_off[map[s]] = nt;
        for (uint32_t k = d->tr_off[s]; k < d->tr_off[s + 1]; k++)
            if (live[d->tr[k].to]) out->tr[nt++] = (rx_tr){d->tr[k].lo, d->tr[k].hi, map[d->tr[k].to]};
    }
    out->tr_off[m] = nt;
    out->n_states = m;
    out->start = map[start];
done:
    free(live);
    free(map);
    return st;
}

void rx_dfa_free(rx_dfa *d) {
    free(d->accept);
    free(d->tr_off);
    free(d->tr);
    memset(d, 0, sizeof *d);
}

static int u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct closure_buf {
    uint32_t *list, *stack, *mark, gen;
    uint32_t n;
} closure_buf;

/* Replaces list[0..n) by its epsilon closure, sorted. */
static void closure(const nfa *a, closure_buf *cb) {
    cb->gen++;
    uint32_t sp = 0;
    for (uint32_t i = 0; i < cb->n; i++)
        if (cb->mark[cb->list[i]] != cb->gen) {
            cb->mark[cb->list[i]] = cb->gen;
            cb->stack[sp++] = cb->list[i];
        }
    cb->n = 0;
    while (sp) {
        uint32_t s = cb->stack[--sp];
        cb->list[cb->n++] = s;
        for (uint32_t k = a->adj_off[s]; k < a->adj_off[s + 1]; k++) {
            uint32_t e = a->adj[k];
            if (a->e_set[e] < 0 && cb->mark[a->e_to[e]] != cb->gen) {
                cb->mark[a->e_to[e]] = cb->gen;
                cb->stack[sp++] = a->e_to[e];
            }
        }
    }
    if (cb->n) qsort(cb->list, cb->n, 4, u32_cmp);
}

static bool has_u32(const uint32_t *v, uint32_t n, uint32_t x) {
    return bsearch(&x, v, n, 4, u32_cmp) != NULL;
}

/* Subset construction over the elementary intervals of the edge labels. */
static tlm_status subset_construct(const nfa *a, uint32_t start, uint32_t final, rx_dfa *out) {
    dfab d = {.max_states = RX_MAX_DFA};
    closure_buf cb = {0};
    uint32_t ns = a->n_states;
    cb.list = tlm_malloc(((size_t)ns + a->n_edges) * 4 + 4);
    cb.stack = tlm_malloc((size_t)ns * 4 + 4);
    cb.mark = tlm_calloc(ns + 1, 4);
    uint32_t *bounds = NULL, *cur = tlm_malloc((size_t)ns * 4 + 4);
    size_t cap_b = 0;
    tlm_status st = cb.list && cb.stack && cb.mark && cur ? TLM_OK : TLM_ERR_NOMEM;
    if (!st) {
        cb.list[0] = start;
        cb.n = 1;
        closure(a, &cb);
        if (dfab_state(&d, cb.list, cb.n, has_u32(cb.list, cb.n, final)) == UINT32_MAX) st = d.st;
    }
    for (uint32_t i = 0; i < d.n && !st; i++) {
        d.tr_off[i] = d.n_tr;
        uint32_t nk = d.key_len[i], nb = 0;
        memcpy(cur, d.pool + d.key_off[i], nk * 4u); /* the pool may move */
        for (uint32_t j = 0; j < nk; j++)
            for (uint32_t k = a->adj_off[cur[j]]; k < a->adj_off[cur[j] + 1]; k++) {
                int32_t set = a->e_set[a->adj[k]];
                if (set < 0) continue;
                uint32_t need = nb + 2 * (a->set_off[set + 1] - a->set_off[set]);
                if (need > cap_b) {
                    cap_b = TLM_MAX(need, cap_b * 2);
                    uint32_t *q = tlm_realloc(bounds, cap_b * 4);
                    if (!q) return free(bounds), free(cur), free(cb.list), free(cb.stack), free(cb.mark), dfab_free(&d), TLM_ERR_NOMEM;
                    bounds = q;
                }
                for (uint32_t r = a->set_off[set]; r < a->set_off[set + 1]; r++) {
                    bounds[nb++] = a->ranges[r].lo;
                    bounds[nb++] = a->ranges[r].hi + 1;
                }
            }
        if (nb) qsort(bounds, nb, 4, u32_cmp);
        for (uint32_t b = 0; b + 1 < nb && !st; b++) {
            if (bounds[b] == bounds[b + 1]) continue;
            cb.n = 0;
            for (uint32_t j = 0; j < nk; j++)
                for (uint32_t k = a->adj_off[cur[j]]; k < a->adj_off[cur[j] + 1]; k++) {
                    uint32_t e = a->adj[k];
                    if (a->e_set[e] >= 0 && set_has(a, a->e_set[e], bounds[b])) cb.list[cb.n++] = a->e_to[e];
                }
            if (!cb.n) continue;
            closure(a, &cb);
            uint32_t to = dfab_state(&d, cb.list, cb.n, has_u32(cb.list, cb.n, final));
            if (to == UINT32_MAX || !dfab_tr(&d, bounds[b], bounds[b + 1] - 1, to)) st = d.st;
        }
    }
    if (!st) {
        d.tr_off[d.n] = d.n_tr;
        st = dfab_finish(&d, 0, out);
    }
    free(bounds);
    free(cur);
    free(cb.list);
    free(cb.stack);
    free(cb.mark);
    dfab_free(&d);
    return st;
}

/* ---- Entry points ---- */

static const rx_range any_cp = {0, RX_CP_MAX};

/* A free loop state between x and y: any string. */
static bool nfa_any_loop(nfa *a, uint32_t x, uint32_t y) {
    uint32_t s;
    int32_t set = nfa_set(a, &any_cp, 1);
    return set >= 0 && nfa_state(a, &s) && nfa_edge(a, x, s, -1) && nfa_edge(a, s, s, set) &&
           nfa_edge(a, s, y, -1);
}

tlm_status rx_compile(const char *pattern, const char *where, rx_dfa *out, tlm_error *err) {
    memset(out, 0, sizeof *out);
    rx_parser p = {.s = pattern, .len = strlen(pattern), .where = where, .err = err};
    nfa a = {0};
    uint32_t start = 0, final = 0;
    nfa_state(&a, &start);
    nfa_state(&a, &final);
    /* Top-level alternatives, each with its own ^ and $. */
    while (!p.st) {
        bool bol = rx_peek(&p) == '^';
        if (bol) p.pos++;
        rx_node *cat = rx_parse_cat(&p, 0);
        if (!cat) break;
        bool eol = rx_peek(&p) == '$';
        if (eol) p.pos++;
        uint32_t x, y;
        bool ok = nfa_state(&a, &x) && nfa_state(&a, &y) &&
                  (bol ? nfa_edge(&a, start, x, -1) : nfa_any_loop(&a, start, x)) &&
                  nfa_build(&a, cat, x, y) &&
                  (eol ? nfa_edge(&a, y, final, -1) : nfa_any_loop(&a, y, final));
        rx_node_free(cat);
        if (!ok) {
            p.st = tlm_error_set(err, a.st ? a.st : TLM_ERR_UNSUPPORTED, "%s: pattern /%.80s/ is too large",
                                 where, pattern);
            break;
        }
        if (rx_peek(&p) == '|') {
            p.pos++;
            continue;
        }
        if (rx_peek(&p) == ')') rx_fail(&p, TLM_ERR_FORMAT, "unmatched ')'");
        break;
    }
    tlm_status st = p.st;
    if (!st && !nfa_index(&a)) st = tlm_error_set(err, TLM_ERR_NOMEM, "%s: out of memory", where);
    if (!st) {
        st = subset_construct(&a, start, final, out);
        if (st == TLM_ERR_UNSUPPORTED)
            tlm_error_set(err, st, "%s: pattern /%.80s/ is too complex or matches nothing", where, pattern);
        else if (st)
            tlm_error_set(err, st, "%s: out of memory", where);
    }
    nfa_free(&a);
    return st;
}

tlm_status rx_dfa_intersect(const rx_dfa *a, const rx_dfa *b, rx_dfa *out, tlm_error *err) {
    dfab d = {.max_states = 20000};
    uint32_t key[2] = {a->start, b->start};
    tlm_status st = dfab_state(&d, key, 2, a->accept[a->start] && b->accept[b->start]) == UINT32_MAX
                        ? d.st
                        : TLM_OK;
    for (uint32_t i = 0; i < d.n && !st; i++) {
        d.tr_off[i] = d.n_tr;
        uint32_t sa = d.pool[d.key_off[i]], sb = d.pool[d.key_off[i] + 1];
        uint32_t ka = a->tr_off[sa], kb = b->tr_off[sb];
        /* Both lists are sorted and disjoint: walk them like a merge. */
        while (ka < a->tr_off[sa + 1] && kb < b->tr_off[sb + 1] && !st) {
            const rx_tr *x = &a->tr[ka], *y = &b->tr[kb];
            uint32_t lo = TLM_MAX(x->lo, y->lo), hi = TLM_MIN(x->hi, y->hi);
            if (lo <= hi) {
                key[0] = x->to;
                key[1] = y->to;
                uint32_t to = dfab_state(&d, key, 2, a->accept[x->to] && b->accept[y->to]);
                if (to == UINT32_MAX || !dfab_tr(&d, lo, hi, to)) st = d.st;
            }
            if (x->hi < y->hi)
                ka++;
            else
                kb++;
        }
    }
    if (!st) {
        d.tr_off[d.n] = d.n_tr;
        st = dfab_finish(&d, 0, out);
    }
    dfab_free(&d);
    if (st == TLM_ERR_UNSUPPORTED)
        return tlm_error_set(err, st, "the string constraints together match nothing (or are too complex)");
    if (st) return tlm_error_set(err, st, "out of memory");
    return TLM_OK;
}

bool rx_dfa_matches(const rx_dfa *d, const char *s, size_t len) {
    uint32_t q = d->start;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t c = u[i];
        int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        if (i + (size_t)n > len) return false;
        if (n > 1) c &= 0x3Fu >> (n - 1);
        for (int k = 1; k < n; k++) c = (c << 6) | (u[i + (size_t)k] & 0x3F);
        i += (size_t)n;
        uint32_t lo = d->tr_off[q], hi = d->tr_off[q + 1];
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (d->tr[mid].hi < c)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == d->tr_off[q + 1] || d->tr[lo].lo > c) return false;
        q = d->tr[lo].to;
    }
    return d->accept[q];
}

void rx_dfa_lengths(const rx_dfa *d, uint32_t *min, uint32_t *max) {
    /* All states can reach acceptance (dfab_finish pruned the rest), so
     * a cycle anywhere reachable means unbounded length. */
    uint32_t n = d->n_states;
    uint32_t *lo = tlm_malloc((size_t)n * 4 + 4), *hi = tlm_malloc((size_t)n * 4 + 4);
    uint8_t *color = tlm_calloc(n + 1, 1);
    uint32_t *stk = tlm_malloc((size_t)n * 8 + 8);
    *min = 0;
    *max = UINT32_MAX;
    if (!lo || !hi || !color || !stk) goto done;
    /* Depth-first post-order: hi = longest from each state, and cycles. */
    uint32_t sp = 0;
    stk[sp++] = d->start;
    stk[sp++] = d->tr_off[d->start];
    color[d->start] = 1;
    bool cyclic = false;
    while (sp) {
        uint32_t s = stk[sp - 2], k = stk[sp - 1];
        if (k < d->tr_off[s + 1]) {
            stk[sp - 1]++;
            uint32_t t = d->tr[k].to;
            if (color[t] == 1) cyclic = true;
            if (color[t] == 0) {
                color[t] = 1;
                stk[sp++] = t;
                stk[sp++] = d->tr_off[t];
            }
            continue;
        }
        hi[s] = 0;
        for (uint32_t j = d->tr_off[s]; j < d->tr_off[s + 1]; j++) {
            uint32_t t = d->tr[j].to;
            if (color[t] == 2 && hi[t] + 1 > hi[s]) hi[s] = hi[t] + 1; /* exact when acyclic */
        }
        color[s] = 2;
        sp -= 2;
    }
    *max = cyclic ? UINT32_MAX : hi[d->start];
    /* The shortest length by breadth-first search (the post-order above
     * does not see through cycles); lo is reused as the queue. */
    uint32_t qh = 0, qt = 0;
    for (uint32_t i = 0; i < n; i++) hi[i] = UINT32_MAX;
    hi[d->start] = 0;
    lo[qt++] = d->start;
    *min = UINT32_MAX;
    while (qh < qt) {
        uint32_t s = lo[qh++];
        if (d->accept[s] && hi[s] < *min) *min = hi[s];
        for (uint32_t j = d->tr_off[s]; j < d->tr_off[s + 1]; j++)
            if (hi[d->tr[j].to] == UINT32_MAX) {
                hi[d->tr[j].to] = hi[s] + 1;
                lo[qt++] = d->tr[j].to;
            }
    }
done:
    free(lo);
    free(hi);
    free(color);
    free(stk);
}
