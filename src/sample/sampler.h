/*
 * sampler.h - internal API of the sampler chain (sampler.c) beyond the
 * public tlm_sampler_* functions: creation without a model (tests, tools
 * that only have logits), the final distribution of a step, and top-N
 * log-probabilities for the server's `logprobs`/`top_logprobs`.
 *
 * The chain, in order (the order of Hugging Face's logits warpers, which is
 * also what OpenAI-style clients expect: temperature widens or narrows the
 * distribution before it is truncated):
 *   1. logit bias              logit += bias (-INFINITY bans)
 *   2. penalties               over the last penalty_last_n accepted tokens:
 *                              repetition (CTRL: positive logits divided,
 *                              negative multiplied), then
 *                              logit -= count * frequency + presence
 *   3. constraint->apply       masks tokens with -INFINITY
 *   4. temperature             logits / T; T <= 0 is greedy (argmax, ties to
 *                              the lowest id) and skips 5-8
 *   5. top_k                   keep the k most likely
 *   6. top_p                   keep the smallest most-likely prefix whose
 *                              mass (renormalised after 5) reaches p
 *   7. min_p                   keep tokens with p >= min_p * p_max
 *   8. typical_p               locally typical sampling (Meister et al.):
 *                              keep tokens closest to the entropy until
 *                              their mass reaches typical_p
 *   9. draw                    one uniform from the sampler's own xoshiro256**
 *                              stream (src/core/rng.h), inverse CDF over the
 *                              kept tokens in a fixed order
 * Ties between equal logits are always broken by the lower token id, so a
 * seed and settings give the same tokens on every run and machine.
 *
 * Speed: nothing is sorted over the whole vocabulary.  top_k keeps a heap
 * of the k best raw logits in one pass (almost every token costs one
 * comparison), so exp() runs on k tokens only.  Otherwise tokens more than
 * 24 nats below the best (probability ratio < 4e-11) are dropped before any
 * exp(), and top_p histograms the mass by logit and selects exactly inside
 * one bucket.  About 0.1 ms per token for the default chain on a 151,936
 * vocabulary; about 1 ms for top_p alone on logits so flat that the whole
 * vocabulary is within 24 nats of the best.
 */
#ifndef TLM_SAMPLE_SAMPLER_H
#define TLM_SAMPLE_SAMPLER_H

#include "tinylm.h"

#include <stdint.h>

/* As tlm_sampler_create() but for a bare vocabulary size (no model needed).
 * The caller owns *out; free with tlm_sampler_free(). */
tlm_status tlm_sampler_create_n(int32_t n_vocab, const tlm_sampler_params *params,
                                tlm_sampler **out, tlm_error *err);

int32_t tlm_sampler_n_vocab(const tlm_sampler *s);
/* The settings the sampler runs with (logit_bias points to its own copy). */
const tlm_sampler_params *tlm_sampler_params_get(const tlm_sampler *s);

/* The final distribution of one step: the kept tokens and their
 * probabilities (summing to 1), in the sampler's fixed draw order (not
 * sorted).  Arrays are borrowed from the sampler, valid until its next
 * call.  For greedy sampling it is the softmax of the processed logits
 * (steps 1-3) over the tokens within 24 nats of the best. */
typedef struct tlm_sample_dist {
    const tlm_token *ids;
    const float *probs;
    int32_t n;
} tlm_sample_dist;

/* Runs steps 1-8 on logits (not modified) without drawing or accepting:
 * for tests and for callers that want to inspect the distribution.
 * n == 0 when every token was masked. */
void tlm_sampler_dist(tlm_sampler *s, const float *logits, tlm_sample_dist *out);

/* The n most likely tokens of the distribution the last tlm_sampler_sample
 * or tlm_sampler_dist call built (see tlm_sample_dist), most likely first,
 * with natural-log probabilities.  Returns how many were written
 * (<= n, fewer when fewer tokens were kept). */
int32_t tlm_sampler_top(tlm_sampler *s, int32_t n, tlm_token *ids, float *logprobs);

/* Top-n tokens by log_softmax(logits) of the raw model output, as OpenAI's
 * top_logprobs reports them (independent of sampling settings), most likely
 * first.  Returns the count written (<= n). */
int32_t tlm_logits_top(const float *logits, int32_t n_vocab, int32_t n, tlm_token *ids,
                       float *logprobs);

/* log_softmax(logits)[token]; NAN when token is out of range. */
float tlm_logits_logprob(const float *logits, int32_t n_vocab, tlm_token token);

#endif /* TLM_SAMPLE_SAMPLER_H */
