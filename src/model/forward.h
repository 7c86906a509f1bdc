/*
 * forward.h - state shared by the two drivers of the forward pass
 * (internal): forward.c runs any batch as a sequence of parallel steps,
 * forward_one.c runs a batch of one token as a single parallel step with a
 * few barriers per layer.  Both use the same per-token helpers, so they
 * give the same bits.
 */
#ifndef TLM_MODEL_FORWARD_H
#define TLM_MODEL_FORWARD_H

#include "model/ctx.h"

#include <stdint.h>

typedef struct fwd {
    tlm_ctx *ctx;
    const tlm_model *m;
    const tlm_batch *batch;
    tlm_pool *bar;            /* pool to synchronise on; NULL when run inline */
    int32_t n;                /* tokens in the batch */
    int32_t layer;
    int32_t n_rows;           /* rows the row steps work on */
    int32_t n_att;            /* rows that attend (n, or the output rows) */
    const int32_t *att_rows;  /* batch index of each attending row; NULL = same */
    int32_t n_blk;            /* blocks of attending rows (one sequence each) */
    const int32_t *blk;       /* (n_blk + 1) first attending row of each block */
    int32_t n_sub;            /* attention jobs per (block, key head) */
    const float *norm_w;      /* weight of the norm after a residual add */
    int64_t att_cells;        /* cells attended over the batch, for sizing steps */
} fwd;

/* Bias, RoPE and the cache store of batch token b's q, k and v (layer
 * f->layer). */
void tlm_fwd_prepare_qkv(const fwd *f, int64_t b);

/* Cuts the attending rows into blocks of consecutive rows of one sequence
 * (at most ctx->att_rows_max rows), into ctx->att_blk. */
void tlm_fwd_make_blocks(fwd *f);

/* Attention job u of f->n_blk blocks x n_head_kv x f->n_sub. */
void tlm_fwd_attend_unit(const fwd *f, int64_t u, float *scratch);

/* How many jobs each (row, key head) is split into so that every thread
 * has work; the split changes no result. */
int32_t tlm_fwd_attention_split(const fwd *f);

/* The whole forward pass of a one-token batch (embedding already done,
 * ctx->xn row 0 holds the first layer's normalised input). */
void tlm_forward_one(fwd *f);

#endif /* TLM_MODEL_FORWARD_H */
