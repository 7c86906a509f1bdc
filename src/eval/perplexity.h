/*
 * perplexity.h - perplexity of a model over a text, in fixed-size chunks as
 * llama.cpp's perplexity tool computes it, plus saving the logits and
 * comparing against saved logits (KL divergence), which is how one judges a
 * quantization (F16 against Q4_K_M) or compares two engines on one file.
 *
 * Method: the text is tokenized once (with BOS when the model wants it);
 * the tokens are cut into n_chunks = n_tokens / n_ctx chunks of n_ctx
 * tokens (the tail is dropped).  Each chunk is evaluated from an empty
 * cache, its first token replaced by BOS when the model uses one, and only
 * the second half is scored: for j in [n_ctx/2, n_ctx - 1) the negative
 * log-likelihood of token j+1 under the logits at j, so every scored token
 * sees at least n_ctx/2 tokens of context.  PPL = exp(mean NLL).
 *
 * The logits file format is described in docs/FORMATS.md.
 */
#ifndef TLM_EVAL_PERPLEXITY_H
#define TLM_EVAL_PERPLEXITY_H

#include "tinylm.h"

#include <stdint.h>

#define TLM_LOGITS_MAGIC "TLMLOGIT"
#define TLM_LOGITS_VERSION 1u

typedef struct tlm_ppl_params {
    int32_t n_ctx;             /* chunk size in tokens (default 512) */
    int32_t n_batch;           /* tokens per decode (default min(512, n_ctx)) */
    int32_t n_threads;         /* 0 = all cores */
    int32_t max_chunks;        /* 0 = every chunk */
    const char *save_logits;   /* write the scored rows' logits here (NULL = no) */
    const char *kl_base;       /* compare against logits saved earlier (NULL = no) */
    /* Called after each chunk with the running perplexity (may be NULL). */
    void (*progress)(void *user, int32_t chunk, int32_t n_chunks, double ppl);
    void *user;
} tlm_ppl_params;

tlm_ppl_params tlm_ppl_default_params(void);

typedef struct tlm_ppl_result {
    int32_t n_tokens;          /* tokens of the whole text */
    int32_t n_chunks;          /* chunks evaluated */
    int64_t n_scored;          /* tokens scored */
    double nll;                /* mean negative log-likelihood (nats) */
    double ppl;                /* exp(nll) */
    double ppl_err;            /* standard error of ppl (delta method) */
    double seconds;
    /* With kl_base: */
    int has_kl;
    double base_ppl;           /* perplexity under the saved logits */
    double kl_mean;            /* mean KL(base || this), nats */
    double kl_p99;             /* 99th percentile of the per-token KL */
    double kl_max;
    double top1;               /* fraction of tokens where both argmaxes agree */
    double rms_dp;             /* RMS of p_this(next) - p_base(next) */
} tlm_ppl_result;

/* Runs the evaluation of text[0, len) with model.  TLM_ERR_RANGE when the
 * text has fewer than n_ctx tokens; TLM_ERR_FORMAT when the kl_base file is
 * malformed or was made from other tokens, another vocabulary size or
 * another chunk size; TLM_ERR_IO on file errors. */
tlm_status tlm_perplexity(tlm_model *model, const char *text, size_t len,
                          const tlm_ppl_params *params, tlm_ppl_result *out, tlm_error *err);

#endif /* TLM_EVAL_PERPLEXITY_H */
