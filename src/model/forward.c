/*
 * forward.c - the forward pass over a batch whose tokens ctx.c has checked
 * and placed in the KV cache.  A one-token batch with several threads goes
 * to forward_one.c instead, which runs the same helpers in one parallel
 * step.
 *
 * Every matrix product takes the whole batch (the matrix-matrix kernels for
 * prefill, matrix-vector for one token); the small operators between them
 * run as a few parallel steps per layer, split by rows:
 *   embed+norm | Q K V | bias+RoPE+store, barrier, attention | O |
 *   add+norm | gate up | GLU | down | add+norm
 * Only rows whose logits were asked for go through the last layer's
 * attention output and FFN and the output head, as the other rows only
 * need their keys and values.
 *
 * Determinism: every row (and every attention head) is computed by one
 * thread with arithmetic fixed by the code, and matmul gives the same bits
 * for any thread count, so the logits do not depend on the thread count;
 * attention reads a token's own sequence only (kv_cache.h), so they do not
 * depend on the other sequences in the batch either.
 */
#include "core/util.h"
#include "model/ctx.h"
#include "model/forward.h"
#include "model/layer_ops.h"
#include "tensor/matmul.h"
#include "tensor/quant.h"
#include "tensor/repack.h"

#include <math.h>
#include <string.h>

/* Element-wise work below this many values (~10 us) costs less than
 * waking the other threads and waiting for them. */
#define INLINE_WORK 32768

static void run(fwd *f, tlm_pool_fn fn, int64_t work) {
    if (tlm_pool_n_threads(f->ctx->pool) == 1 || work < INLINE_WORK) {
        f->bar = NULL;
        fn(f, 0, 1);
    } else {
        f->bar = f->ctx->pool;
        tlm_pool_run(f->ctx->pool, fn, f);
    }
}

static void matmul(fwd *f, const tlm_weight *w, const float *x, int32_t n, float *y) {
    tlm_status st = tlm_weight_matmul(f->ctx->pool, w, 0, w->rows, x, n, y, f->ctx->mm_scratch);
    TLM_ASSERT(st == TLM_OK);
}

/* ---- Steps ---- */

static void step_embed(void *arg, int ith, int nth) {
    fwd *f = arg;
    const tlm_model *m = f->m;
    const tlm_hparams *hp = &m->hp;
    tlm_ctx *c = f->ctx;
    int64_t lo, hi, D = hp->n_embd;
    tlm_pool_split(f->n, 1, ith, nth, &lo, &hi);
    for (int64_t b = lo; b < hi; b++) {
        float *x = c->x + b * D;
        const tlm_weight *e = &m->tok_embd;
        tlm_token tok = f->batch->token[b];
        if (e->layout == TLM_MM_X16) {
            tlm_x16_dequantize_row(e->type, e->data, D, tok, x);
        } else {
            const uint8_t *row = (const uint8_t *)e->data + (size_t)tok * e->row_size;
            if (e->type == TLM_TYPE_F32) memcpy(x, row, sizeof(float) * (size_t)D);
            else tlm_dequantize_row(e->type, row, x, D);
        }
        if (m->arch->scale_embd) {
            float s = sqrtf((float)D);
            for (int64_t i = 0; i < D; i++) x[i] *= s;
        }
        tlm_lo_rope_table(c->rope + b * hp->n_rot, c->tok[b].pos, hp->n_rot, hp->rope_base,
                          hp->rope_freq_scale, m->rope_freqs);
        tlm_lo_rmsnorm(c->xn + b * D, x, m->layers[0].attn_norm, (int32_t)D, hp->eps);
    }
}

static void add_bias(float *y, const float *b, int32_t n) {
    if (b)
        for (int32_t i = 0; i < n; i++) y[i] += b[i];
}

/* Bias, RoPE and the cache store of one token's q, k and v. */
void tlm_fwd_prepare_qkv(const fwd *f, int64_t b) {
    const tlm_hparams *hp = &f->m->hp;
    const tlm_layer *L = &f->m->layers[f->layer];
    tlm_ctx *c = f->ctx;
    int32_t hd = hp->head_dim, nq = hp->n_head * hd, nkv = hp->n_head_kv * hd;
    float *q = c->q + b * nq, *k = c->k + b * nkv, *v = c->v + b * nkv;
    const double *cs = c->rope + b * hp->n_rot;
    bool neox = f->m->arch->rope_neox;
    add_bias(q, L->bq, nq);
    add_bias(k, L->bk, nkv);
    add_bias(v, L->bv, nkv);
    for (int32_t h = 0; h < hp->n_head; h++) tlm_lo_rope(q + h * hd, cs, hp->n_rot, neox);
    for (int32_t h = 0; h < hp->n_head_kv; h++) tlm_lo_rope(k + h * hd, cs, hp->n_rot, neox);
    int32_t cell = c->tok[b].cell;
    tlm_kv_store_row(&c->kv, k, tlm_kv_k_row(&c->kv, f->layer, cell));
    tlm_kv_store_row(&c->kv, v, tlm_kv_v_row(&c->kv, f->layer, cell));
}

void tlm_fwd_make_blocks(fwd *f) {
    tlm_ctx *c = f->ctx;
    int32_t n = 0, prev_seq = -1, rows = 0;
    for (int32_t i = 0; i < f->n_att; i++) {
        int32_t seq = c->tok[f->att_rows ? f->att_rows[i] : i].seq;
        if (seq != prev_seq || rows == c->att_rows_max) {
            c->att_blk[n++] = i;
            rows = 0;
            prev_seq = seq;
        }
        rows++;
    }
    c->att_blk[n] = f->n_att;
    f->blk = c->att_blk;
    f->n_blk = n;
}

void tlm_fwd_attend_unit(const fwd *f, int64_t u, float *scratch) {
    const tlm_hparams *hp = &f->m->hp;
    tlm_ctx *c = f->ctx;
    int32_t hd = hp->head_dim, nq = hp->n_head * hd, group = hp->n_head / hp->n_head_kv;
    int64_t per_blk = (int64_t)hp->n_head_kv * f->n_sub, g0, g1;
    int32_t bi = (int32_t)(u / per_blk), kh = (int32_t)(u % per_blk / f->n_sub);
    tlm_pool_split(group, 1, (int)(u % f->n_sub), f->n_sub, &g0, &g1);
    if (g0 == g1) return;
    tlm_attn_job job = {
        .kv = &c->kv, .layer = f->layer, .head_dim = hd, .kh = kh,
        .h0 = kh * group + (int32_t)g0, .h1 = kh * group + (int32_t)g1,
        .scale = 1.0f / sqrtf((float)hd), .n_rows = f->blk[bi + 1] - f->blk[bi],
    };
    for (int32_t r = 0; r < job.n_rows; r++) {
        int32_t i = f->blk[bi] + r, b = f->att_rows ? f->att_rows[i] : i;
        job.view = c->tok[b].view;
        job.n_vis[r] = c->tok[b].n_visible;
        job.q[r] = c->q + (size_t)b * nq;
        job.out[r] = c->att + (size_t)i * nq;
    }
    tlm_lo_attend(&job, scratch);
}

/* Phase 1 writes the batch's keys and values; phase 2 reads them, so the
 * two are separated by a barrier. */
static void step_attention(void *arg, int ith, int nth) {
    fwd *f = arg;
    int64_t lo, hi;
    tlm_pool_split(f->n, 1, ith, nth, &lo, &hi);
    for (int64_t b = lo; b < hi; b++) tlm_fwd_prepare_qkv(f, b);
    tlm_pool_barrier(f->bar);
    int64_t units = (int64_t)f->n_blk * f->m->hp.n_head_kv * f->n_sub;
    float *scratch = f->ctx->att_scratch + (size_t)ith * f->ctx->att_scratch_per_thread;
    tlm_pool_split(units, 1, ith, nth, &lo, &hi);
    for (int64_t u = lo; u < hi; u++) tlm_fwd_attend_unit(f, u, scratch);
}

static void step_add_norm(void *arg, int ith, int nth) {
    fwd *f = arg;
    int64_t lo, hi, D = f->m->hp.n_embd;
    tlm_pool_split(f->n_rows, 1, ith, nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        float *x = f->ctx->x + i * D, *t = f->ctx->tmp + i * D;
        for (int64_t j = 0; j < D; j++) x[j] += t[j];
        tlm_lo_rmsnorm(f->ctx->xn + i * D, x, f->norm_w, (int32_t)D, f->m->hp.eps);
    }
}

static void step_glu(void *arg, int ith, int nth) {
    fwd *f = arg;
    int64_t lo, hi, F = f->m->hp.n_ff;
    tlm_pool_split(f->n_rows, 1, ith, nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++)
        tlm_lo_glu(f->ctx->ffn_a + i * F, f->ctx->ffn_b + i * F, F, f->m->arch->act);
}

/* ---- The layer loop ---- */

/* Enough attention jobs to keep every thread busy when few rows attend
 * (decode); the split changes no result. */
int32_t tlm_fwd_attention_split(const fwd *f) {
    const tlm_hparams *hp = &f->m->hp;
    int32_t group = hp->n_head / hp->n_head_kv, nth = tlm_pool_n_threads(f->ctx->pool);
    int64_t units = (int64_t)f->n_blk * hp->n_head_kv;
    int32_t sub = 1;
    while (units * sub < 2 * nth && sub < group) sub++;
    while ((group + sub - 1) / sub > TLM_ATTN_MAX_HEADS) sub++;
    return sub;
}

/* Keeps only the output rows of x (for the last layer). */
static void compact_rows(fwd *f) {
    const tlm_ctx *c = f->ctx;
    int64_t D = f->m->hp.n_embd;
    for (int32_t i = 0; i < c->n_outputs; i++)
        if (c->out_ids[i] != i)
            memcpy(c->x + i * D, c->x + (int64_t)c->out_ids[i] * D, sizeof(float) * (size_t)D);
}

static void run_layer(fwd *f, int32_t l) {
    const tlm_hparams *hp = &f->m->hp;
    const tlm_layer *L = &f->m->layers[l];
    tlm_ctx *c = f->ctx;
    bool last = l == hp->n_layer - 1, all = c->n_outputs == f->n;
    int32_t nq = hp->n_head * hp->head_dim;
    f->layer = l;
    matmul(f, &L->wq, c->xn, f->n, c->q);
    matmul(f, &L->wk, c->xn, f->n, c->k);
    matmul(f, &L->wv, c->xn, f->n, c->v);
    f->n_att = last && !all ? c->n_outputs : f->n;
    f->att_rows = last && !all ? c->out_ids : NULL;
    tlm_fwd_make_blocks(f);
    f->n_sub = tlm_fwd_attention_split(f);
    run(f, step_attention, (int64_t)f->n * nq * 4 + f->att_cells * nq * 2);
    if (last && !all) compact_rows(f);
    f->n_rows = f->n_att;
    if (f->n_rows == 0) return;
    matmul(f, &L->wo, c->att, f->n_rows, c->tmp);
    f->norm_w = L->ffn_norm;
    run(f, step_add_norm, (int64_t)f->n_rows * hp->n_embd);
    matmul(f, &L->gate, c->xn, f->n_rows, c->ffn_a);
    matmul(f, &L->up, c->xn, f->n_rows, c->ffn_b);
    run(f, step_glu, (int64_t)f->n_rows * hp->n_ff);
    matmul(f, &L->down, c->ffn_a, f->n_rows, c->tmp);
    f->norm_w = last ? f->m->out_norm : f->m->layers[l + 1].attn_norm;
    run(f, step_add_norm, (int64_t)f->n_rows * hp->n_embd);
}

void tlm_forward(tlm_ctx *ctx, const tlm_batch *batch) {
    fwd f = {.ctx = ctx, .m = ctx->model, .batch = batch, .n = batch->n_tokens};
    for (int32_t b = 0; b < f.n; b++) f.att_cells += ctx->tok[b].n_visible;
    run(&f, step_embed, (int64_t)f.n * ctx->model->hp.n_embd * 8);
    if (f.n == 1 && tlm_pool_n_threads(ctx->pool) > 1) {
        tlm_forward_one(&f);
        return;
    }
    for (int32_t l = 0; l < f.m->hp.n_layer; l++) run_layer(&f, l);
    if (ctx->n_outputs > 0)
        matmul(&f, &f.m->output, ctx->xn, ctx->n_outputs, ctx->logits);
}
