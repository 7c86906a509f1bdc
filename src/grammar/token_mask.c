/*
 * token_mask.c - which tokens may come next: the vocabulary trie and the
 * mask walk.
 *
 * The vocabulary's byte strings are stored as a trie in depth-first
 * pre-order, so shared prefixes are matched once and a dead prefix skips
 * its whole subtree with one jump.  A mask is one pass over that array:
 * each node looks up its parent's parse state's cached transition for its
 * byte class (matcher.c), so after the first few masks of a generation a
 * node costs a couple of array reads.  The finished mask is cached per
 * parse state; inside free text the state repeats token after token, and
 * the same schema reuses states across generations.
 *
 * Budget masks (steering to a short completion) use the same walk with one
 * more test where a token ends: the shortest completion of the state after
 * the token must fit the remaining budget.  Each cached mask remembers the
 * largest such completion among its tokens, so the extra walk only happens
 * when the budget is actually tight.
 */
#include "grammar/grammar_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Vocabulary ---- */

void tlm_grammar_vocab_free(tlm_grammar_vocab *v) {
    if (!v) return;
    free(v->kind);
    free(v->tok_off);
    free(v->tok_bytes);
    free(v->node_byte);
    free(v->node_depth);
    free(v->node_next);
    free(v->node_tok);
    free(v->tok_same);
    free(v->eog);
    free(v);
}

static int tok_cmp(const tlm_grammar_vocab *v, int32_t a, int32_t b) {
    uint32_t la = v->tok_off[a + 1] - v->tok_off[a], lb = v->tok_off[b + 1] - v->tok_off[b];
    int c = memcmp(v->tok_bytes + v->tok_off[a], v->tok_bytes + v->tok_off[b], TLM_MIN(la, lb));
    if (c) return c;
    return la < lb ? -1 : la > lb ? 1 : (a < b ? -1 : a > b);
}

/* Bottom-up merge sort of token ids by their bytes (qsort has no context
 * argument in C11). */
static int32_t *sort_tokens(const tlm_grammar_vocab *v, int32_t *ids, int32_t n) {
    int32_t *tmp = tlm_malloc((size_t)n * sizeof *tmp + 4);
    if (!tmp) return NULL;
    int32_t *src = ids, *dst = tmp;
    for (int32_t w = 1; w < n; w *= 2) {
        for (int32_t lo = 0; lo < n; lo += 2 * w) {
            int32_t mid = TLM_MIN(lo + w, n), hi = TLM_MIN(lo + 2 * w, n), i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = tok_cmp(v, src[i], src[j]) <= 0 ? src[i++] : src[j++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        int32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != ids) memcpy(ids, src, (size_t)n * sizeof *ids);
    free(tmp);
    return ids;
}

static tlm_status build_trie(tlm_grammar_vocab *v, int32_t *ids, int32_t n) {
    uint64_t total = 0;
    for (int32_t i = 0; i < n; i++) total += v->tok_off[ids[i] + 1] - v->tok_off[ids[i]];
    v->node_byte = tlm_malloc(total + 1);
    v->node_depth = tlm_malloc((total + 1) * sizeof(uint16_t));
    v->node_next = tlm_malloc((total + 1) * sizeof(uint32_t));
    v->node_tok = tlm_malloc((total + 1) * sizeof(int32_t));
    uint32_t *path = tlm_malloc(((size_t)v->max_depth + 1) * sizeof(uint32_t));
    if (!v->node_byte || !v->node_depth || !v->node_next || !v->node_tok || !path) {
        free(path);
        return TLM_ERR_NOMEM;
    }
    uint32_t nn = 0, depth = 0;
    int32_t prev = -1;
    for (int32_t i = 0; i < n; i++) {
        int32_t t = ids[i];
        const char *b = v->tok_bytes + v->tok_off[t];
        uint32_t len = v->tok_off[t + 1] - v->tok_off[t], l = 0;
        if (prev >= 0) {
            const char *pb = v->tok_bytes + v->tok_off[prev];
            uint32_t pl = v->tok_off[prev + 1] - v->tok_off[prev];
            while (l < len && l < pl && b[l] == pb[l]) l++;
        }
        /* Close the subtrees we leave, then open the new suffix. */
        for (; depth > l; depth--) v->node_next[path[depth - 1]] = nn;
        for (; depth < len; depth++) {
            v->node_byte[nn] = (uint8_t)b[depth];
            v->node_depth[nn] = (uint16_t)(depth + 1);
            v->node_tok[nn] = -1;
            path[depth] = nn++;
        }
        uint32_t end = path[len - 1];
        v->tok_same[t] = v->node_tok[end];
        v->node_tok[end] = t;
        prev = t;
    }
    for (; depth > 0; depth--) v->node_next[path[depth - 1]] = nn;
    v->n_nodes = nn;
    free(path);
    return TLM_OK;
}

tlm_status tlm_grammar_vocab_create(int32_t n_vocab, const char *const *tok, const uint32_t *tok_len,
                                    const uint8_t *kind, tlm_grammar_vocab **out, tlm_error *err) {
    *out = NULL;
    if (n_vocab <= 0 || !tok || !tok_len)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grammar vocab: empty vocabulary");
    tlm_grammar_vocab *v = tlm_calloc(1, sizeof *v);
    int32_t *ids = NULL;
    tlm_status st = TLM_ERR_NOMEM;
    if (!v) goto fail;
    v->n_vocab = n_vocab;
    v->kind = tlm_malloc((size_t)n_vocab);
    v->tok_off = tlm_malloc(((size_t)n_vocab + 1) * sizeof(uint32_t));
    v->tok_same = tlm_malloc((size_t)n_vocab * sizeof(int32_t));
    v->eog = tlm_malloc((size_t)n_vocab * sizeof(int32_t));
    ids = tlm_malloc((size_t)n_vocab * sizeof(int32_t));
    if (!v->kind || !v->tok_off || !v->tok_same || !v->eog || !ids) goto fail;
    uint64_t total = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        if (tok_len[i] > 0xFFFF) {
            st = tlm_error_set(err, TLM_ERR_RANGE, "grammar vocab: token %d is longer than 65535 bytes",
                               (int)i);
            goto fail;
        }
        total += tok[i] ? tok_len[i] : 0;
    }
    if (total > UINT32_MAX / 2) {
        st = tlm_error_set(err, TLM_ERR_RANGE, "grammar vocab: too many token bytes");
        goto fail;
    }
    v->tok_bytes = tlm_malloc(total + 1);
    if (!v->tok_bytes) goto fail;
    int32_t n_text = 0;
    uint32_t off = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        uint8_t k = kind ? kind[i] : TLM_GTOK_TEXT;
        uint32_t len = tok[i] ? tok_len[i] : 0;
        v->kind[i] = k <= TLM_GTOK_NEVER ? k : TLM_GTOK_NEVER;
        v->tok_off[i] = off;
        if (len) memcpy(v->tok_bytes + off, tok[i], len);
        off += len;
        v->tok_same[i] = -1;
        if (v->kind[i] == TLM_GTOK_EOG) v->eog[v->n_eog++] = i;
        if (v->kind[i] == TLM_GTOK_TEXT && len) {
            ids[n_text++] = i;
            if (len > v->max_depth) v->max_depth = len;
        }
    }
    v->tok_off[n_vocab] = off;
    if (!sort_tokens(v, ids, n_text)) goto fail;
    if ((st = build_trie(v, ids, n_text))) goto fail;
    free(ids);
    *out = v;
    return TLM_OK;
fail:
    if (st == TLM_ERR_NOMEM) tlm_error_set(err, st, "grammar vocab: out of memory");
    free(ids);
    tlm_grammar_vocab_free(v);
    return st;
}

int32_t tlm_grammar_vocab_size(const tlm_grammar_vocab *v) { return v->n_vocab; }

const char *tlm_grammar_vocab_token(const tlm_grammar_vocab *v, int32_t id, uint32_t *out_len) {
    if (id < 0 || id >= v->n_vocab) return NULL;
    *out_len = v->tok_off[id + 1] - v->tok_off[id];
    return v->tok_bytes + v->tok_off[id];
}

tlm_gtok_kind tlm_grammar_vocab_kind(const tlm_grammar_vocab *v, int32_t id) {
    return id < 0 || id >= v->n_vocab ? TLM_GTOK_NEVER : (tlm_gtok_kind)v->kind[id];
}

/* ---- Masks ---- */

void tlm_grammar_mask_apply(const uint32_t *mask, float *logits, int32_t n_vocab) {
    for (int32_t i = 0; i < n_vocab; i++)
        if (!tlm_grammar_mask_test(mask, i)) logits[i] = -INFINITY;
}

int32_t tlm_grammar_mask_count(const uint32_t *mask, int32_t n_vocab) {
    int32_t n = 0;
    size_t words = tlm_grammar_mask_words(n_vocab);
    for (size_t i = 0; i < words; i++) n += __builtin_popcount(mask[i]);
    return n;
}

static void over_add(gm_over *o, uint32_t ml, int32_t tok) {
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 1024;
        uint64_t *v = tlm_realloc(o->v, cap * sizeof *v);
        if (!v) {
            o->failed = true;
            return;
        }
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = (uint64_t)ml << 32 | (uint32_t)tok;
}

uint32_t gm_walk(tlm_grammar_matcher *m, int32_t q, uint32_t budget, uint32_t *mask,
                 uint32_t *min_rejected, gm_over *over) {
    const tlm_grammar_vocab *v = m->v;
    const uint8_t *cls = m->g->cls;
    memset(mask, 0, tlm_grammar_mask_words(v->n_vocab) * 4);
    int32_t *ws = m->w_state;
    int32_t **wt = m->w_trans;
    uint32_t max_after = 0, rejected = UINT32_MAX;
    *min_rejected = UINT32_MAX;
    ws[0] = q;
    if (!(wt[0] = gm_trans_table(m, q))) return 0;
    const uint8_t *nb = v->node_byte;
    const uint16_t *nd = v->node_depth;
    const uint32_t *nx = v->node_next;
    const int32_t *nt = v->node_tok;
    uint64_t visited = 0;
    for (uint32_t i = 0, n = v->n_nodes; i < n;) {
        uint32_t d = nd[i], c = cls[nb[i]];
        visited++;
        int32_t r = wt[d - 1][c];
        if (r == GM_UNKNOWN) r = gm_compute(m, ws[d - 1], c);
        if (r < 0) {
            i = nx[i];
            continue;
        }
        if (nt[i] >= 0) {
            uint32_t ml = m->st[r].minlen;
            if (ml <= budget) {
                for (int32_t t = nt[i]; t >= 0; t = v->tok_same[t]) {
                    mask[t >> 5] |= 1u << (t & 31);
                    if (over && ml > over->above) over_add(over, ml, t);
                }
                if (ml > max_after) max_after = ml;
            } else if (ml < rejected) {
                rejected = ml;
            }
        }
        if (nx[i] != i + 1) {
            ws[d] = r;
            int32_t *tt = m->st[r].trans;
            if (!tt && !(tt = gm_trans_table(m, r))) {
                i = nx[i];
                continue;
            }
            wt[d] = tt;
        }
        i++;
    }
    m->stats.n_trie_nodes += visited;
    *min_rejected = rejected;
    return max_after;
}

static void add_eog(const tlm_grammar_matcher *m, uint32_t *mask) {
    if (!m->st[m->cur].accepting) return;
    for (int32_t k = 0; k < m->v->n_eog; k++) {
        int32_t t = m->v->eog[k];
        mask[t >> 5] |= 1u << (t & 31);
    }
}

/* A mask slot for state q (kind 0: plain, 1: budget), evicting the oldest
 * use of the slot; NULL on out of memory. */
static uint32_t *take_slot(tlm_grammar_matcher *m, int32_t q, int kind, int32_t *out_slot) {
    uint32_t slot = m->next_slot++ % m->n_slots;
    int32_t owner = m->slot_owner[slot];
    if (owner >= 0) {
        gm_state *o = &m->st[owner >> 1];
        if (owner & 1)
            o->bmask_slot = -1;
        else
            o->mask_slot = -1;
    }
    m->slot_owner[slot] = -1;
    if (!m->slots[slot]) m->slots[slot] = tlm_malloc(tlm_grammar_mask_words(m->v->n_vocab) * 4);
    if (!m->slots[slot]) return NULL;
    m->slot_owner[slot] = q * 2 + kind;
    *out_slot = (int32_t)slot;
    return m->slots[slot];
}

/* The cached mask of the current state, computing it on a miss. */
static const uint32_t *state_mask(tlm_grammar_matcher *m, tlm_error *err) {
    gm_state *s = &m->st[m->cur];
    m->stats.n_mask_calls++;
    if (s->mask_slot >= 0) {
        m->stats.n_mask_hits++;
        return m->slots[s->mask_slot];
    }
    int32_t slot;
    uint32_t *mask = take_slot(m, m->cur, 0, &slot), rejected;
    if (!mask) {
        tlm_error_set(err, TLM_ERR_NOMEM, "grammar mask: out of memory");
        return NULL;
    }
    uint32_t max_after = gm_walk(m, m->cur, UINT32_MAX, mask, &rejected, NULL);
    add_eog(m, mask);
    s = &m->st[m->cur]; /* the walk may have moved the state array */
    s->mask_slot = slot;
    s->mask_max_after = max_after;
    return mask;
}

static int u64_desc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The tokens of the current state that lengthen its shortest completion,
 * collected by one more walk the first time a budget binds there. */
static bool collect_over(tlm_grammar_matcher *m, uint32_t *scratch) {
    gm_state *s = &m->st[m->cur];
    if (s->over || s->mask_max_after <= s->minlen) return true;
    gm_over o = {.above = s->minlen};
    uint32_t rejected;
    gm_walk(m, m->cur, UINT32_MAX, scratch, &rejected, &o);
    if (o.failed) {
        free(o.v);
        return false;
    }
    qsort(o.v, o.n, sizeof *o.v, u64_desc);
    s = &m->st[m->cur];
    s->over = o.v;
    s->n_over = (uint32_t)o.n;
    return true;
}

/* The budget mask of the current state for max_bytes, into out.  With
 * max_bytes >= the state's own shortest completion, it is the plain mask
 * less the listed tokens that would overrun; tighter than that (the last
 * forced steps), a walk with the budget, cached for the budgets that give
 * the same tokens. */
static tlm_status budget_mask(tlm_grammar_matcher *m, uint32_t max_bytes, uint32_t *out, tlm_error *err) {
    size_t words = tlm_grammar_mask_words(m->v->n_vocab);
    gm_state *s = &m->st[m->cur];
    if (max_bytes >= s->minlen) {
        if (!collect_over(m, out)) return tlm_error_set(err, TLM_ERR_NOMEM, "grammar mask: out of memory");
        const uint32_t *plain = state_mask(m, err);
        if (!plain) return TLM_ERR_NOMEM;
        memcpy(out, plain, words * 4);
        s = &m->st[m->cur];
        for (uint32_t i = 0; i < s->n_over && (uint32_t)(s->over[i] >> 32) > max_bytes; i++) {
            uint32_t t = (uint32_t)s->over[i];
            out[t >> 5] &= ~(1u << (t & 31));
        }
        return TLM_OK;
    }
    if (s->bmask_slot >= 0 && s->b_lo <= max_bytes && max_bytes <= s->b_hi) {
        memcpy(out, m->slots[s->bmask_slot], words * 4);
        return TLM_OK;
    }
    if (s->bmask_slot >= 0) { /* a stale range: give the slot back */
        m->slot_owner[s->bmask_slot] = -1;
        s->bmask_slot = -1;
    }
    int32_t slot;
    uint32_t *mask = take_slot(m, m->cur, 1, &slot), rejected;
    if (!mask) return tlm_error_set(err, TLM_ERR_NOMEM, "grammar mask: out of memory");
    uint32_t max_after = gm_walk(m, m->cur, max_bytes, mask, &rejected, NULL);
    add_eog(m, mask);
    s = &m->st[m->cur];
    s->bmask_slot = slot;
    s->b_lo = max_after;
    s->b_hi = rejected - 1;
    memcpy(out, mask, words * 4);
    return TLM_OK;
}

/* Handles the cases with no walk (no vocab, dead, finished): true when it
 * did, with the status in *st. */
static bool mask_trivial(tlm_grammar_matcher *m, uint32_t *mask, tlm_status *st, tlm_error *err) {
    *st = TLM_OK;
    if (!m->v) {
        *st = tlm_error_set(err, TLM_ERR_INVALID_ARG, "grammar mask: matcher has no vocabulary");
        return true;
    }
    gm_maybe_flush(m);
    if (m->cur >= 0 && !m->finished) return false;
    memset(mask, 0, tlm_grammar_mask_words(m->v->n_vocab) * 4);
    if (m->cur < 0) *st = tlm_error_set(err, TLM_ERR_INTERNAL, "grammar mask: matcher is dead");
    return true;
}

tlm_status tlm_grammar_matcher_mask(tlm_grammar_matcher *m, uint32_t *mask, tlm_error *err) {
    tlm_status st;
    if (mask_trivial(m, mask, &st, err)) return st;
    const uint32_t *c = state_mask(m, err);
    if (!c) return TLM_ERR_NOMEM;
    memcpy(mask, c, tlm_grammar_mask_words(m->v->n_vocab) * 4);
    return TLM_OK;
}

tlm_status tlm_grammar_matcher_mask_budget(tlm_grammar_matcher *m, uint32_t max_bytes,
                                           uint32_t *mask, int32_t *out_n_allowed, tlm_error *err) {
    if (out_n_allowed) *out_n_allowed = 0;
    tlm_status st;
    if (mask_trivial(m, mask, &st, err)) return st;
    const uint32_t *c = state_mask(m, err);
    if (!c) return TLM_ERR_NOMEM;
    if (m->st[m->cur].mask_max_after <= max_bytes)
        memcpy(mask, c, tlm_grammar_mask_words(m->v->n_vocab) * 4);
    else if ((st = budget_mask(m, max_bytes, mask, err)))
        return st;
    if (out_n_allowed) *out_n_allowed = tlm_grammar_mask_count(mask, m->v->n_vocab);
    return TLM_OK;
}
