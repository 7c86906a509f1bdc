/*
 * matcher.c - the incremental grammar matcher: a set of pushdown stacks
 * advanced one byte at a time (in the manner of llama.cpp's stack-set
 * matcher, Earley-like without left recursion), made fast by interning.
 *
 * Every distinct set of stacks is stored once and gets an id; the state
 * reached from id q on byte class c is computed once and remembered in q's
 * transition table.  The matcher is therefore a DFA built lazily, only for
 * the states that generation (or a token-trie walk) actually reaches.  That
 * is what lets token_mask.c walk 150k tokens in a millisecond.
 *
 * Advancing a stack over a byte: pop its top (a byte set that contains the
 * byte), then "settle" the rest: an element at the end of an alternative
 * pops to the enclosing continuation, a rule reference is replaced by each
 * of the rule's live alternatives (a tail reference pushes no continuation,
 * so repetitions written as right recursion do not grow the stack), until
 * every stack has a byte set on top or is empty.
 *
 * Limits keep hostile grammars bounded: a transition whose work or result
 * exceeds them is treated as dead (never allowed) and flagged in
 * m->overflow, and the caches are dropped when they outgrow their budget.
 */
#include "grammar/grammar_impl.h"

#include <stdlib.h>
#include <string.h>

#define GM_MAX_WORK 2000000u   /* settle steps per transition */
#define GM_MAX_STACKS 20000u   /* stacks per state */
#define GM_MAX_STATES 100000u  /* before the caches are flushed */
#define GM_MAX_POOL (16u << 20) /* words of serialised stacks before a flush */
#define GM_MASK_BYTES (32u << 20) /* memory for cached masks */

static tlm_status grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return TLM_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = tlm_realloc(*p, c * elem);
    if (!q) return TLM_ERR_NOMEM;
    *p = q;
    *cap = c;
    return TLM_OK;
}

static tlm_status grow32(void **p, uint32_t *cap, size_t need, size_t elem) {
    size_t c = *cap;
    if (need > UINT32_MAX / 2) return TLM_ERR_NOMEM;
    tlm_status st = grow(p, &c, need, elem);
    *cap = (uint32_t)c;
    return st;
}

static uint32_t hash_words(const uint32_t *w, uint32_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (uint32_t i = 0; i < n; i++) h = (h ^ w[i]) * 0xFF51AFD7ED558CCDull;
    return (uint32_t)(h ^ (h >> 32));
}

/* ---- Interning ---- */

static tlm_status htab_grow(tlm_grammar_matcher *m) {
    uint32_t cap = m->hcap ? m->hcap * 2 : 1024;
    uint32_t *t = tlm_calloc(cap, 4);
    if (!t) return TLM_ERR_NOMEM;
    for (uint32_t i = 0; i < m->n_st; i++) {
        uint32_t h = m->st[i].hash & (cap - 1);
        while (t[h]) h = (h + 1) & (cap - 1);
        t[h] = i + 1;
    }
    free(m->htab);
    m->htab = t;
    m->hcap = cap;
    return TLM_OK;
}

/* Sum of the shortest completions of each level of the stack at w. */
static uint32_t stack_minlen(const tlm_grammar *g, const uint32_t *w, uint32_t len) {
    uint64_t s = 0;
    for (uint32_t i = 0; i < len; i++) s += g->suffix_min[w[i]];
    return s > G_INF ? G_INF : (uint32_t)s;
}

/* Id of the state serialised in w[0..n), adding it if new; -1 on OOM. */
static int32_t intern(tlm_grammar_matcher *m, const uint32_t *w, uint32_t n) {
    if ((m->n_st + 1) * 2 > m->hcap && htab_grow(m)) return GM_DEAD;
    uint32_t h = hash_words(w, n), mask = m->hcap - 1, i = h & mask;
    for (; m->htab[i]; i = (i + 1) & mask) {
        gm_state *s = &m->st[m->htab[i] - 1];
        if (s->hash == h && s->len == n && !memcmp(m->pool + s->off, w, n * 4u))
            return (int32_t)(m->htab[i] - 1);
    }
    if (grow32((void **)&m->st, &m->cap_st, m->n_st + 1, sizeof(gm_state)) ||
        grow((void **)&m->pool, &m->pool_cap, m->pool_len + n, 4))
        return GM_DEAD;
    gm_state *s = &m->st[m->n_st];
    memset(s, 0, sizeof *s);
    s->off = (uint32_t)m->pool_len;
    s->len = n;
    s->hash = h;
    s->mask_slot = -1;
    s->bmask_slot = -1;
    memcpy(m->pool + m->pool_len, w, n * 4u);
    m->pool_len += n;
    s->minlen = G_INF;
    uint32_t k = 1;
    for (uint32_t j = 0; j < w[0]; j++) {
        uint32_t len = w[k];
        uint32_t ml = stack_minlen(m->g, w + k + 1, len);
        if (ml < s->minlen) s->minlen = ml;
        if (len == 0) s->accepting = 1;
        k += len + 1;
    }
    s->done = s->accepting && w[0] == 1;
    m->htab[i] = m->n_st + 1;
    m->stats.n_states++;
    return (int32_t)m->n_st++;
}

int32_t *gm_trans_table(tlm_grammar_matcher *m, int32_t q) {
    gm_state *s = &m->st[q];
    if (!s->trans) {
        s->trans = tlm_malloc(m->g->n_cls * sizeof(int32_t));
        if (!s->trans) return NULL;
        for (uint32_t c = 0; c < m->g->n_cls; c++) s->trans[c] = GM_UNKNOWN;
    }
    return s->trans;
}

/* ---- Settling stacks ----
 * Stacks under construction are linked lists of nodes (element, parent) so
 * that all alternatives of a rule share their common continuation. */

static int32_t node_new(tlm_grammar_matcher *m, uint32_t elem, int32_t parent) {
    if (grow((void **)&m->nd, &m->cap_nd, m->n_nd + 1, sizeof(gm_node))) return -2;
    m->nd[m->n_nd] = (gm_node){(int32_t)elem, parent};
    return (int32_t)m->n_nd++;
}

static bool work_push(tlm_grammar_matcher *m, int32_t node, uint32_t pos) {
    if (grow((void **)&m->work, &m->cap_work, m->n_work + 2, 4)) return false;
    m->work[m->n_work++] = node;
    m->work[m->n_work++] = (int32_t)pos;
    return true;
}

static bool out_push(tlm_grammar_matcher *m, int32_t node) {
    if (m->n_out >= GM_MAX_STACKS * 8u) return false;
    if (grow((void **)&m->out, &m->cap_out, m->n_out + 1, 4)) return false;
    m->out[m->n_out++] = node;
    return true;
}

/* Settles everything on the work list into m->out.  False on a limit or
 * out of memory. */
static bool settle(tlm_grammar_matcher *m) {
    const tlm_grammar *g = m->g;
    uint32_t steps = 0;
    while (m->n_work) {
        uint32_t pos = (uint32_t)m->work[--m->n_work];
        int32_t node = m->work[--m->n_work];
        if (++steps > GM_MAX_WORK) return false;
        uint32_t e = g->elems[pos];
        if (GE_IS_END(e)) {
            /* End of an alternative: continue where the enclosing one left off. */
            if (node < 0) {
                if (!out_push(m, -1)) return false;
            } else if (!work_push(m, m->nd[node].parent, (uint32_t)m->nd[node].elem)) {
                return false;
            }
        } else if (GE_KIND(e) == GE_BYTES) {
            int32_t n = node_new(m, pos, node);
            if (n < 0 || !out_push(m, n)) return false;
        } else {
            uint32_t r = GE_ARG(e);
            int32_t base = node;
            if (!GE_IS_END(g->elems[pos + 1]) && (base = node_new(m, pos + 1, node)) < 0)
                return false;
            for (uint32_t k = g->alt_off[r]; k < g->alt_off[r + 1]; k++)
                if (!work_push(m, base, g->alts[k])) return false;
        }
    }
    return true;
}

static int key_cmp(const void *a, const void *b) {
    const gm_key *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
}

/* Serialises m->out into canonical form (stacks sorted by hash, duplicates
 * removed) and interns it.  Different stacks with equal 64-bit hashes may
 * sort either way; that can only split one state into two equal ones. */
static int32_t intern_out(tlm_grammar_matcher *m) {
    if (m->n_out == 0) return GM_DEAD;
    if (grow((void **)&m->keys, &m->cap_keys, m->n_out, sizeof(gm_key))) return GM_DEAD;
    size_t used = 0;
    for (size_t i = 0; i < m->n_out; i++) {
        uint32_t len = 0;
        for (int32_t n = m->out[i]; n >= 0; n = m->nd[n].parent) len++;
        if (grow((void **)&m->ser, &m->cap_ser, used + len, 4)) return GM_DEAD;
        uint32_t k = len;
        for (int32_t n = m->out[i]; n >= 0; n = m->nd[n].parent) m->ser[used + --k] = (uint32_t)m->nd[n].elem;
        uint64_t h = 0xCBF29CE484222325ull ^ len;
        for (uint32_t j = 0; j < len; j++) h = (h ^ m->ser[used + j]) * 0x100000001B3ull;
        m->keys[i] = (gm_key){h ^ (h >> 31), (uint32_t)used, len};
        used += len;
    }
    qsort(m->keys, m->n_out, sizeof(gm_key), key_cmp);
    if (grow((void **)&m->ser2, &m->cap_ser2, used + 2 * m->n_out + 1, 4)) return GM_DEAD;
    uint32_t n = 0, w = 1;
    for (size_t i = 0; i < m->n_out; i++) {
        const gm_key *k = &m->keys[i];
        bool dup = false;
        for (size_t j = i; j-- > 0 && m->keys[j].hash == k->hash;)
            /* Empty stacks compare equal without touching ser, which may
             * still be NULL when every stack so far was empty. */
            if (m->keys[j].len == k->len &&
                (k->len == 0 || !memcmp(m->ser + m->keys[j].off, m->ser + k->off, k->len * 4u))) {
                dup = true;
                break;
            }
        if (dup) continue;
        m->ser2[w++] = k->len;
        if (k->len) memcpy(m->ser2 + w, m->ser + k->off, k->len * 4u);
        w += k->len;
        n++;
    }
    if (n > GM_MAX_STACKS) return GM_DEAD;
    m->ser2[0] = n;
    return intern(m, m->ser2, w);
}

int32_t gm_compute(tlm_grammar_matcher *m, int32_t q, uint32_t cls) {
    const tlm_grammar *g = m->g;
    uint8_t b = g->cls_rep[cls];
    m->n_nd = m->n_work = m->n_out = 0;
    const gm_state *s = &m->st[q];
    const uint32_t *w = m->pool + s->off;
    bool ok = true;
    for (uint32_t j = 0, k = 1; j < w[0] && ok; j++, k += w[k] + 1) {
        uint32_t len = w[k];
        if (len == 0) continue;
        uint32_t top = w[k + len];
        if (!g_set_has(g, GE_ARG(g->elems[top]), b)) continue;
        int32_t parent = -1;
        for (uint32_t i = 0; i + 1 < len && parent >= -1; i++) parent = node_new(m, w[k + 1 + i], parent);
        ok = parent >= -1 && work_push(m, parent, top + 1) && settle(m);
    }
    int32_t r = GM_DEAD;
    if (!ok)
        m->overflow = true;
    else
        r = intern_out(m);
    /* intern may have moved m->st; the table itself does not move. */
    int32_t *t = gm_trans_table(m, q);
    if (t) t[cls] = r;
    return r;
}

/* ---- Life cycle ---- */

static int32_t start_state(tlm_grammar_matcher *m) {
    if (m->start >= 0) return m->start;
    m->n_nd = m->n_work = m->n_out = 0;
    if (!work_push(m, -1, 0) || !settle(m)) {
        m->overflow = true;
        return GM_DEAD;
    }
    m->start = intern_out(m);
    return m->start;
}

static void drop_caches(tlm_grammar_matcher *m) {
    for (uint32_t i = 0; i < m->n_st; i++) {
        free(m->st[i].trans);
        free(m->st[i].over);
    }
    m->n_st = 0;
    m->pool_len = 0;
    if (m->htab) memset(m->htab, 0, (size_t)m->hcap * 4);
    for (uint32_t i = 0; i < m->n_slots; i++) m->slot_owner[i] = -1;
    m->start = -1;
    m->stats.n_flushes++;
}

void gm_maybe_flush(tlm_grammar_matcher *m) {
    if (m->n_st < GM_MAX_STATES && m->pool_len < GM_MAX_POOL) return;
    uint32_t *keep = NULL, n = 0;
    if (m->cur >= 0) {
        n = m->st[m->cur].len;
        keep = tlm_malloc((size_t)n * 4 + 4);
        if (keep) memcpy(keep, m->pool + m->st[m->cur].off, (size_t)n * 4);
    }
    drop_caches(m);
    m->cur = keep ? intern(m, keep, n) : GM_DEAD;
    free(keep);
}

tlm_status tlm_grammar_matcher_create(const tlm_grammar *g, const tlm_grammar_vocab *vocab,
                                      tlm_grammar_matcher **out, tlm_error *err) {
    *out = NULL;
    tlm_grammar_matcher *m = tlm_calloc(1, sizeof *m);
    if (!m) return tlm_error_set(err, TLM_ERR_NOMEM, "grammar matcher: out of memory");
    m->g = g;
    m->v = vocab;
    m->start = m->cur = -1;
    if (vocab) {
        size_t mask_bytes = tlm_grammar_mask_words(vocab->n_vocab) * 4;
        m->n_slots = (uint32_t)TLM_MIN(4096, TLM_MAX(16, GM_MASK_BYTES / TLM_MAX(mask_bytes, 1)));
        m->slots = tlm_calloc(m->n_slots, sizeof(uint32_t *));
        m->slot_owner = tlm_malloc(m->n_slots * sizeof(int32_t));
        m->w_state = tlm_malloc((vocab->max_depth + 2) * sizeof(int32_t));
        m->w_trans = tlm_malloc((vocab->max_depth + 2) * sizeof(int32_t *));
        if (!m->slots || !m->slot_owner || !m->w_state || !m->w_trans) {
            tlm_grammar_matcher_free(m);
            return tlm_error_set(err, TLM_ERR_NOMEM, "grammar matcher: out of memory");
        }
        for (uint32_t i = 0; i < m->n_slots; i++) m->slot_owner[i] = -1;
    }
    m->cur = start_state(m);
    if (m->cur < 0) {
        tlm_grammar_matcher_free(m);
        return tlm_error_set(err, TLM_ERR_RANGE, "grammar matcher: the start state is too large");
    }
    *out = m;
    return TLM_OK;
}

void tlm_grammar_matcher_free(tlm_grammar_matcher *m) {
    if (!m) return;
    for (uint32_t i = 0; i < m->n_st; i++) {
        free(m->st[i].trans);
        free(m->st[i].over);
    }
    for (uint32_t i = 0; i < m->n_slots && m->slots; i++) free(m->slots[i]);
    free(m->slots);
    free(m->slot_owner);
    free(m->w_state);
    free(m->w_trans);
    free(m->st);
    free(m->pool);
    free(m->htab);
    free(m->nd);
    free(m->work);
    free(m->out);
    free(m->keys);
    free(m->ser);
    free(m->ser2);
    free(m);
}

void tlm_grammar_matcher_reset(tlm_grammar_matcher *m) {
    gm_maybe_flush(m);
    m->cur = start_state(m);
    m->finished = false;
}

/* ---- Advancing ---- */

static int32_t run_bytes(tlm_grammar_matcher *m, int32_t q, const char *s, size_t n) {
    for (size_t i = 0; i < n && q >= 0; i++) q = gm_step(m, q, (uint8_t)s[i]);
    return q;
}

tlm_status tlm_grammar_matcher_accept_bytes(tlm_grammar_matcher *m, const char *s, size_t n,
                                            tlm_error *err) {
    gm_maybe_flush(m);
    if (m->cur < 0 || m->finished)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grammar: the sentence is already finished");
    int32_t q = run_bytes(m, m->cur, s, n);
    if (q < 0) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grammar: text not allowed here");
    m->cur = q;
    return TLM_OK;
}

bool tlm_grammar_matcher_can_accept(tlm_grammar_matcher *m, const char *s, size_t n) {
    gm_maybe_flush(m);
    return m->cur >= 0 && !m->finished && run_bytes(m, m->cur, s, n) >= 0;
}

tlm_status tlm_grammar_matcher_accept_token(tlm_grammar_matcher *m, int32_t id, tlm_error *err) {
    const tlm_grammar_vocab *v = m->v;
    if (!v || id < 0 || id >= v->n_vocab)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grammar: token id %d out of range", (int)id);
    if (v->kind[id] == TLM_GTOK_EOG) {
        if (m->cur < 0 || !m->st[m->cur].accepting || m->finished)
            return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                                 "grammar: end of generation before the sentence is complete");
        m->finished = true;
        return TLM_OK;
    }
    uint32_t a = v->tok_off[id], b = v->tok_off[id + 1];
    if (v->kind[id] != TLM_GTOK_TEXT || a == b)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grammar: token %d is never allowed", (int)id);
    return tlm_grammar_matcher_accept_bytes(m, v->tok_bytes + a, b - a, err);
}

bool tlm_grammar_matcher_is_complete(const tlm_grammar_matcher *m) {
    return m->finished || (m->cur >= 0 && m->st[m->cur].accepting);
}

bool tlm_grammar_matcher_is_done(const tlm_grammar_matcher *m) {
    return m->finished || (m->cur >= 0 && m->st[m->cur].done);
}

/* ---- Shortest completion ---- */

uint32_t tlm_grammar_matcher_min_completion(tlm_grammar_matcher *m) {
    if (m->finished) return 0;
    return m->cur >= 0 ? m->st[m->cur].minlen : UINT32_MAX;
}

/* A readable byte of set s: letters and digits first, then the rest. */
static uint8_t pick_byte(const tlm_grammar *g, uint32_t s) {
    static const char pref[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ";
    for (const char *p = pref; *p; p++)
        if (g_set_has(g, s, (uint8_t)*p)) return (uint8_t)*p;
    for (int b = 0x21; b < 0x7F; b++)
        if (g_set_has(g, s, (uint8_t)b)) return (uint8_t)b;
    for (int b = 0; b < 256; b++)
        if (g_set_has(g, s, (uint8_t)b)) return (uint8_t)b;
    return 0;
}

tlm_status tlm_grammar_matcher_shortest_completion(tlm_grammar_matcher *m, tlm_buf *out,
                                                   tlm_error *err) {
    if (m->finished) return TLM_OK;
    if (m->cur < 0) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grammar: matcher is dead");
    const tlm_grammar *g = m->g;
    const gm_state *s = &m->st[m->cur];
    const uint32_t *w = m->pool + s->off;
    uint32_t best = 0, best_len = G_INF + 1u;
    for (uint32_t j = 0, k = 1; j < w[0]; j++, k += w[k] + 1) {
        uint32_t ml = stack_minlen(g, w + k + 1, w[k]);
        if (ml < best_len) {
            best_len = ml;
            best = k;
        }
    }
    /* Expand the cheapest stack depth first, following each rule's best
     * alternative; the explicit stack holds positions still to produce. */
    uint32_t *todo = NULL;
    size_t n = 0, cap = 0;
    tlm_status st = grow((void **)&todo, &cap, w[best] + 1, 4);
    for (uint32_t i = 0; i < w[best] && !st; i++) todo[n++] = w[best + 1 + i];
    while (n && !st) {
        uint32_t pos = todo[--n], e = g->elems[pos];
        if (GE_IS_END(e)) continue;
        if ((st = grow((void **)&todo, &cap, n + 2, 4))) break;
        todo[n++] = pos + 1;
        if (GE_KIND(e) == GE_BYTES) {
            uint8_t b = pick_byte(g, GE_ARG(e));
            st = tlm_buf_append(out, &b, 1);
        } else {
            todo[n++] = g->best_alt[GE_ARG(e)];
        }
    }
    free(todo);
    return st ? tlm_error_set(err, st, "grammar: out of memory") : TLM_OK;
}

void tlm_grammar_matcher_stats(const tlm_grammar_matcher *m, tlm_grammar_stats *out) {
    *out = m->stats;
    out->n_states = m->n_st;
}

bool tlm_grammar_matches(const tlm_grammar *g, const char *text, size_t len) {
    tlm_grammar_matcher *m;
    if (tlm_grammar_matcher_create(g, NULL, &m, NULL)) return false;
    bool ok = !tlm_grammar_matcher_accept_bytes(m, text, len, NULL) &&
              tlm_grammar_matcher_is_complete(m);
    tlm_grammar_matcher_free(m);
    return ok;
}
