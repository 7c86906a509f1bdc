/*
 * forward_one.c - the forward pass of a one-token batch (decoding one
 * sequence) as a single parallel step over the whole model.
 *
 * With one token every product is a matrix-vector product that streams its
 * weights once; what else costs time is synchronisation, paid per step.
 * Here each thread takes a fixed slice of every matrix (rows split at
 * multiples of 64, each slice multiplied alone with tlm_matmul), so a layer
 * costs six barriers instead of nine parallel steps, and a thread reads the
 * same part of the weights every token.  Each thread keeps its own copy of
 * the residual stream and repeats the cheap add + norm rather than waiting
 * for one thread to do it; gate and up are split alike, so each thread
 * applies the activation to its own rows without waiting.  A thread that
 * reaches a barrier first reads ahead into its next slice while it waits.
 *
 * Same bits as forward.c: matmul gives a row the same bits in any chunk
 * that starts at a multiple of 64 rows, and the per-token helpers are
 * forward.c's.
 */
#include "core/util.h"
#include "model/forward.h"
#include "model/layer_ops.h"
#include "tensor/matmul.h"

#include <string.h>

#define SLICE_ALIGN 64

/* y[lo..hi) = rows [lo, hi) of w times x, this thread's share. */
static void slice(const tlm_weight *w, const float *x, float *y, int ith, int nth,
                  void *scratch) {
    int64_t lo, hi;
    tlm_pool_split(w->rows, SLICE_ALIGN, ith, nth, &lo, &hi);
    if (lo == hi) return;
    tlm_status st = tlm_weight_matmul(NULL, w, lo, hi, x, 1, y + lo, scratch);
    TLM_ASSERT(st == TLM_OK);
}

/* How much of its next slice a thread prefetches while it waits at a
 * barrier: a few microseconds of reading, well inside a core's L2 (128 KiB
 * to 1 MiB measured the same). */
#define WARM_BYTES (256 * 1024)

/* Waits for the other threads while prefetching the start of this
 * thread's slice of w, the matrix it multiplies next: a thread that
 * arrives first would otherwise leave its share of the memory bandwidth
 * unused, and one core alone cannot use the whole. */
static void barrier_before(tlm_ctx *c, const tlm_weight *w, int ith, int nth) {
    int64_t lo, hi;
    tlm_pool_split(w->rows, SLICE_ALIGN, ith, nth, &lo, &hi);
    size_t bytes = (size_t)(hi - lo) * w->row_size;
    tlm_pool_barrier_warm(c->pool, (const uint8_t *)w->data + (size_t)lo * w->row_size,
                          TLM_MIN(bytes, (size_t)WARM_BYTES));
}

static void add_norm(const fwd *f, float *x, float *xn, const float *w) {
    int32_t D = f->m->hp.n_embd;
    const float *t = f->ctx->tmp;
    for (int32_t i = 0; i < D; i++) x[i] += t[i];
    tlm_lo_rmsnorm(xn, x, w, D, f->m->hp.eps);
}

/* Gate and up for this thread's rows of n_ff, then the activation on them. */
static void ffn_up(const tlm_layer *L, const fwd *f, const float *xn, int ith, int nth,
                   void *scratch) {
    tlm_ctx *c = f->ctx;
    int64_t lo, hi;
    slice(&L->gate, xn, c->ffn_a, ith, nth, scratch);
    slice(&L->up, xn, c->ffn_b, ith, nth, scratch);
    tlm_pool_split(L->gate.rows, SLICE_ALIGN, ith, nth, &lo, &hi);
    if (hi > lo) tlm_lo_glu(c->ffn_a + lo, c->ffn_b + lo, hi - lo, f->m->arch->act);
}

/* One layer; returns false when the rest of the pass is not needed (the
 * last layer of a batch that wants no logits only stores keys and values). */
static bool layer(fwd *me, int32_t l, float *x, float *xn, int ith, int nth, void *scratch) {
    tlm_ctx *c = me->ctx;
    const tlm_layer *L = &me->m->layers[l];
    bool last = l == me->m->hp.n_layer - 1;
    me->layer = l;
    slice(&L->wq, xn, c->q, ith, nth, scratch);
    slice(&L->wk, xn, c->k, ith, nth, scratch);
    slice(&L->wv, xn, c->v, ith, nth, scratch);
    barrier_before(c, &L->wo, ith, nth);
    if (ith == 0) tlm_fwd_prepare_qkv(me, 0);
    barrier_before(c, &L->wo, ith, nth);
    if (last && c->n_outputs == 0) return false;
    int64_t lo, hi;
    tlm_pool_split((int64_t)me->m->hp.n_head_kv * me->n_sub, 1, ith, nth, &lo, &hi);
    float *att_scratch = c->att_scratch + (size_t)ith * c->att_scratch_per_thread;
    for (int64_t u = lo; u < hi; u++) tlm_fwd_attend_unit(me, u, att_scratch);
    barrier_before(c, &L->wo, ith, nth);
    slice(&L->wo, c->att, c->tmp, ith, nth, scratch);
    barrier_before(c, &L->gate, ith, nth);
    add_norm(me, x, xn, L->ffn_norm);
    ffn_up(L, me, xn, ith, nth, scratch);
    barrier_before(c, &L->down, ith, nth);
    slice(&L->down, c->ffn_a, c->tmp, ith, nth, scratch);
    barrier_before(c, last ? &me->m->output : &me->m->layers[l + 1].wq, ith, nth);
    add_norm(me, x, xn, last ? me->m->out_norm : me->m->layers[l + 1].attn_norm);
    return true;
}

static void one_worker(void *arg, int ith, int nth) {
    fwd me = *(const fwd *)arg; /* private: layer changes as we go */
    tlm_ctx *c = me.ctx;
    int32_t D = me.m->hp.n_embd;
    float *x = c->one_x + (size_t)ith * 2 * (size_t)D, *xn = x + D;
    void *scratch = (uint8_t *)c->one_scratch + (size_t)ith * c->one_scratch_size;
    memcpy(x, c->x, sizeof(float) * (size_t)D);
    memcpy(xn, c->xn, sizeof(float) * (size_t)D);
    for (int32_t l = 0; l < me.m->hp.n_layer; l++)
        if (!layer(&me, l, x, xn, ith, nth, scratch)) return;
    slice(&me.m->output, xn, c->logits, ith, nth, scratch);
}

void tlm_forward_one(fwd *f) {
    f->n_att = 1;
    f->n_rows = 1;
    f->att_rows = NULL;
    tlm_fwd_make_blocks(f);
    f->n_sub = tlm_fwd_attention_split(f);
    tlm_pool_run(f->ctx->pool, one_worker, f);
}
