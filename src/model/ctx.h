/*
 * ctx.h - an inference context (internal): the KV cache, every activation
 * buffer the forward pass needs, and the thread pool that runs it.
 *
 * Everything is sized by tlm_ctx_create from the model and the context
 * parameters (n_batch tokens at most per decode), so decoding allocates
 * nothing.  The one exception is the logits buffer: it starts with room for
 * n_seq_max rows and grows, once, the first time a batch asks for more rows
 * of logits than any batch before it (a perplexity run asking for all 512).
 */
#ifndef TLM_MODEL_CTX_H
#define TLM_MODEL_CTX_H

#include "core/threads.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "tinylm.h"

#include <stdint.h>

/* What the attention step needs to know about one batch token. */
typedef struct tlm_tok_info {
    int32_t pos;
    int32_t seq;
    int32_t cell;           /* where its keys and values go */
    int32_t n_visible;      /* leading entries of view it attends to */
    const int32_t *view;    /* its sequence's cells sorted by position */
} tlm_tok_info;

struct tlm_ctx {
    tlm_model *model;
    tlm_ctx_params params;  /* with defaults resolved */
    tlm_pool *pool;         /* owned */
    tlm_kv_cache kv;        /* owned */

    /* Every buffer from x to row_of below lies in bufs, one mapping of
     * bufs_size bytes (ctx.c's carve_buffers); owned. */
    void *bufs;
    size_t bufs_size;

    /* Activations, one row per batch token. */
    float *x;               /* (n_batch, n_embd) residual stream */
    float *xn;              /* (n_batch, n_embd) normalised input of the next product */
    float *q;               /* (n_batch, n_head * head_dim) */
    float *k, *v;           /* (n_batch, n_head_kv * head_dim) */
    float *att;             /* (n_batch, n_head * head_dim) attention output */
    float *ffn_a, *ffn_b;   /* (n_batch, n_ff) gate and up projections */
    float *tmp;             /* (n_batch, n_embd) output of attn_output and ffn_down */
    double *rope;           /* (n_batch, n_rot / 2, 2) cos and sin per token */
    float *att_scratch;     /* (n_threads, att_scratch_per_thread) */
    size_t att_scratch_per_thread;   /* floats */
    int32_t att_rows_max;   /* query rows per attention job */
    int32_t *att_blk;       /* (n_batch + 1) attention blocks of the current layer */
    void *mm_scratch;       /* tlm_matmul scratch, mm_scratch_size bytes */
    size_t mm_scratch_size;
    /* Per-thread state of the one-token pass (forward_one.c). */
    float *one_x;           /* (n_threads, 2, n_embd) residual and its norm */
    void *one_scratch;      /* (n_threads) x one_scratch_size bytes */
    size_t one_scratch_size;

    /* The last batch. */
    tlm_tok_info *tok;      /* (n_batch) */
    int32_t *cells;         /* (n_batch) */
    int32_t *out_ids;       /* (n_batch) batch index of each logits row */
    int32_t *row_of;        /* (n_batch) logits row of each batch token, -1 = none */
    int32_t n_tokens;       /* tokens in the last batch */
    int32_t n_outputs;      /* logits rows of the last batch */

    float *logits;          /* (logits_cap, n_vocab), owned */
    int32_t logits_cap;
    uint64_t scratch_bytes; /* everything above except the KV cache */
};

/* The forward pass over one validated batch (forward.c).  Cells for the
 * batch's tokens are already occupied and ctx->tok filled. */
void tlm_forward(tlm_ctx *ctx, const tlm_batch *batch);

#endif /* TLM_MODEL_CTX_H */
