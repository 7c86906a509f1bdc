/*
 * walk.c - random walks through a grammar under a real vocabulary's token
 * masks, and the mask-cost benchmark built on them.
 *
 * A random-weight model is, as far as the grammar can tell, a uniform
 * choice among the tokens the mask allows.  Walking that way is the
 * strongest test of the engine: whatever the walk produces must be a
 * sentence of the grammar (and, for a JSON Schema grammar, a document the
 * schema accepts), whatever odd tokens it picks on the way.  The walk uses
 * the budget mask at every step, as a sampler honouring max_tokens would.
 */
#include "grammar/grammar_impl.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng_next(uint64_t *s) {
    /* xorshift64*: fast, and plenty for choosing tokens. */
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* The k-th (0-based) allowed token of mask. */
static int32_t nth_allowed(const uint32_t *mask, size_t words, int32_t k) {
    for (size_t w = 0; w < words; w++) {
        int32_t c = __builtin_popcount(mask[w]);
        if (k >= c) {
            k -= c;
            continue;
        }
        uint32_t x = mask[w];
        while (k--) x &= x - 1;
        return (int32_t)(w * 32 + (uint32_t)__builtin_ctz(x));
    }
    return -1;
}

tlm_status tlm_grammar_random_walk(tlm_grammar_matcher *m, uint64_t *rng, uint32_t max_tokens,
                                   tlm_buf *out, tlm_grammar_walk_stats *stats, tlm_error *err) {
    tlm_grammar_walk_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!m->v) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "random walk: matcher has no vocabulary");
    const tlm_grammar_vocab *v = m->v;
    size_t words = tlm_grammar_mask_words(v->n_vocab);
    uint32_t *mask = tlm_malloc(words * 4);
    if (!mask) return tlm_error_set(err, TLM_ERR_NOMEM, "random walk: out of memory");
    tlm_status st = TLM_OK;
    for (uint32_t step = 0; step < max_tokens && !st; step++) {
        if (tlm_grammar_matcher_is_done(m)) {
            stats->complete = true;
            break;
        }
        int32_t n = 0;
        uint64_t t0 = tlm_time_ns();
        st = tlm_grammar_matcher_mask_budget(m, max_tokens - step - 1, mask, &n, err);
        stats->mask_ns += tlm_time_ns() - t0;
        stats->n_masks++;
        if (st) break;
        if (n == 0) {
            st = tlm_error_set(err, TLM_ERR_RANGE,
                               "random walk: no completion fits in %u tokens (needs %u bytes)",
                               max_tokens - step, tlm_grammar_matcher_min_completion(m));
            break;
        }
        int32_t id = nth_allowed(mask, words, (int32_t)(rng_next(rng) % (uint64_t)n));
        stats->n_tokens++;
        if ((st = tlm_grammar_matcher_accept_token(m, id, err))) break;
        if (v->kind[id] == TLM_GTOK_EOG) {
            stats->complete = true;
            break;
        }
        uint32_t len;
        const char *b = tlm_grammar_vocab_token(v, id, &len);
        if (tlm_buf_append(out, b, len)) st = tlm_error_set(err, TLM_ERR_NOMEM, "random walk: out of memory");
    }
    if (!st && !stats->complete) {
        if (tlm_grammar_matcher_is_complete(m))
            stats->complete = true;
        else
            st = tlm_error_set(err, TLM_ERR_RANGE, "random walk: ran out of tokens before completion");
    }
    free(mask);
    return st;
}

tlm_status tlm_grammar_bench_mask(const tlm_grammar *g, const tlm_grammar_vocab *v,
                                  uint32_t n_walks, uint32_t max_tokens, uint64_t seed,
                                  tlm_grammar_bench *out, tlm_error *err) {
    memset(out, 0, sizeof *out);
    tlm_grammar_matcher *m;
    tlm_status st = tlm_grammar_matcher_create(g, v, &m, err);
    if (st) return st;
    size_t words = tlm_grammar_mask_words(v->n_vocab);
    uint32_t *mask = tlm_malloc(words * 4);
    uint64_t rng = seed ? seed : 1, total_ns = 0, miss_ns = 0, tokens = 0;
    if (!mask) st = tlm_error_set(err, TLM_ERR_NOMEM, "bench: out of memory");
    for (uint32_t w = 0; w < n_walks && !st; w++) {
        tlm_grammar_matcher_reset(m);
        for (uint32_t step = 0; step < max_tokens && !st; step++) {
            if (tlm_grammar_matcher_is_done(m)) break;
            uint64_t hits = m->stats.n_mask_hits;
            int32_t n = 0;
            uint64_t t0 = tlm_time_ns();
            st = tlm_grammar_matcher_mask_budget(m, max_tokens - step - 1, mask, &n, err);
            uint64_t dt = tlm_time_ns() - t0;
            if (st || n == 0) break;
            total_ns += dt;
            out->n_masks++;
            if (m->stats.n_mask_hits == hits) {
                out->n_misses++;
                miss_ns += dt;
            }
            if (dt / 1e3 > out->max_us) out->max_us = dt / 1e3;
            int32_t id = nth_allowed(mask, words, (int32_t)(rng_next(&rng) % (uint64_t)n));
            tokens++;
            if (v->kind[id] == TLM_GTOK_EOG) break;
            st = tlm_grammar_matcher_accept_token(m, id, err);
        }
    }
    if (out->n_masks) out->mean_us = total_ns / 1e3 / out->n_masks;
    if (out->n_misses) out->mean_miss_us = miss_ns / 1e3 / out->n_misses;
    if (n_walks) out->tokens_per_walk = (double)tokens / n_walks;
    free(mask);
    tlm_grammar_matcher_free(m);
    return st;
}
