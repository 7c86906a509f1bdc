/*
 * layer_ops.c - per-row operators of the forward pass (see layer_ops.h).
 *
 * Built on the tensor module's vector primitives (ops_kernels.h); the order
 * of every floating-point sum is fixed by the code, never by the thread that
 * runs it or by the other rows of a job.
 */
#include "model/layer_ops.h"

#include "core/util.h"
#include "tensor/ops.h"
#include "tensor/ops_kernels.h"
#include "tensor/quant.h"
#include "tensor/simd.h"

#include <math.h>
#include <string.h>

void tlm_lo_rmsnorm(float *out, const float *x, const float *w, int32_t n, float eps) {
    /* Double accumulation, as the reference does: a row is a few thousand
     * values, and this keeps the norm exact to the last bit it can be. */
    double ss = 0;
    for (int32_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int32_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

void tlm_lo_rope_table(double *cs, int32_t pos, int32_t n_rot, float base, float freq_scale,
                       const float *freq_factors) {
    for (int32_t i = 0; i < n_rot / 2; i++) {
        double theta = pos * (double)freq_scale * pow(base, -2.0 * i / n_rot);
        if (freq_factors) theta /= freq_factors[i];
        cs[2 * i] = cos(theta);
        cs[2 * i + 1] = sin(theta);
    }
}

void tlm_lo_rope(float *v, const double *cs, int32_t n_rot, bool neox) {
    int32_t half = n_rot / 2;
    for (int32_t i = 0; i < half; i++) {
        int32_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
        double x0 = v[a], x1 = v[b], c = cs[2 * i], s = cs[2 * i + 1];
        v[a] = (float)(x0 * c - x1 * s);
        v[b] = (float)(x0 * s + x1 * c);
    }
}

void tlm_lo_glu(float *a, const float *b, int64_t n, tlm_ffn_act act) {
    if (act == TLM_ACT_GELU_TANH) tlm_geglu(NULL, a, a, b, n);
    else tlm_swiglu(NULL, a, a, b, n);
}

/* ---- Attention ---- */

/* Head kh of cells view[c0 .. c0+n), as n rows of hd floats. */
static void load_cells(const tlm_ops_kernels *k, const tlm_attn_job *j, bool values, int32_t c0,
                       int32_t n, float *dst) {
    const tlm_kv_cache *kv = j->kv;
    int32_t hd = j->head_dim;
    for (int32_t c = 0; c < n; c++, dst += hd) {
        int32_t cell = j->view[c0 + c];
        const uint8_t *row = values ? tlm_kv_v_row(kv, j->layer, cell)
                                    : tlm_kv_k_row(kv, j->layer, cell);
        if (kv->type == TLM_KV_Q8_0) {
            const tlm_block_q8_0 *b = (const tlm_block_q8_0 *)row + (size_t)j->kh * hd / TLM_QK;
            tlm_dequantize_row(TLM_TYPE_Q8_0, b, dst, hd);
        } else {
            k->f16_to_f32((const tlm_f16 *)row + (size_t)j->kh * hd, dst, hd);
        }
    }
}

size_t tlm_lo_attend_scratch(int32_t n_rows, int32_t n_heads, int32_t n_cells,
                             int32_t head_dim) {
    return (size_t)n_rows * (size_t)n_heads * (size_t)n_cells +
           2 * TLM_ATTN_CHUNK * (size_t)head_dim + 16;
}

typedef struct att_bufs {
    float *s;       /* (n_rows, n_heads, n_max) scores, then probabilities */
    float *kv;      /* (CHUNK, head_dim) key or value rows of one chunk */
    float *kt;      /* (head_dim, CHUNK) the key rows transposed, zero-padded */
    int32_t n_max;  /* most cells any row sees */
} att_bufs;

static float *scores_of(const tlm_attn_job *j, const att_bufs *b, int32_t r, int32_t h) {
    return b->s + ((size_t)r * (size_t)(j->h1 - j->h0) + (size_t)h) * (size_t)b->n_max;
}

/* Keys [c0, c0 + cnt) as floats, a column per key, the columns up to
 * CHUNK zero. */
static void load_keys_t(const tlm_ops_kernels *k, const tlm_attn_job *j, int32_t c0, int32_t cnt,
                        const att_bufs *b) {
    int32_t hd = j->head_dim;
    load_cells(k, j, false, c0, cnt, b->kv);
    for (int32_t d = 0; d < hd; d++) {
        float *row = b->kt + (size_t)d * TLM_ATTN_CHUNK;
        for (int32_t c = 0; c < cnt; c++) row[c] = b->kv[(size_t)c * hd + d];
        for (int32_t c = cnt; c < TLM_ATTN_CHUNK; c++) row[c] = 0.0f;
    }
}

/* Scores q.k * scale, chunk by chunk.  Keys lie transposed, so a score is
 * a run of FMAs over the head's dimensions with no reduction at the end
 * (a dot product per key spent more on its reduction than on its FMAs at
 * head size 64), and one call covers all of a row's heads, which share
 * each key vector. */
static void attend_scores(const tlm_ops_kernels *k, const tlm_attn_job *j, const att_bufs *b) {
    int32_t hd = j->head_dim, nh = j->h1 - j->h0;
    for (int32_t c0 = 0; c0 < b->n_max; c0 += TLM_ATTN_CHUNK) {
        int32_t cnt = TLM_MIN(TLM_ATTN_CHUNK, b->n_max - c0);
        load_keys_t(k, j, c0, cnt, b);
        for (int32_t r = 0; r < j->n_rows; r++) {
            int32_t m = TLM_MIN(cnt, j->n_vis[r] - c0);
            if (m > 0)
                k->scores_t(scores_of(j, b, r, 0) + c0, b->n_max, j->q[r] + (size_t)j->h0 * hd, hd,
                            nh, b->kt, TLM_ATTN_CHUNK, m, hd, j->scale);
        }
    }
}

/* out += p . V, chunk by chunk, each row and head by one call that adds
 * the row's visible cells of the chunk in order. */
static void attend_values(const tlm_ops_kernels *k, const tlm_attn_job *j, const att_bufs *b) {
    int32_t hd = j->head_dim, nh = j->h1 - j->h0;
    for (int32_t c0 = 0; c0 < b->n_max; c0 += TLM_ATTN_CHUNK) {
        int32_t cnt = TLM_MIN(TLM_ATTN_CHUNK, b->n_max - c0);
        load_cells(k, j, true, c0, cnt, b->kv);
        for (int32_t r = 0; r < j->n_rows; r++) {
            int32_t m = TLM_MIN(cnt, j->n_vis[r] - c0);
            for (int32_t h = 0; m > 0 && h < nh; h++)
                k->axpy_rows(j->out[r] + (size_t)(j->h0 + h) * hd, scores_of(j, b, r, h) + c0,
                             b->kv, m, hd);
        }
    }
}

/* Two passes over the visible cells: scores, softmax per row and head
 * (sum in double), then the weighted values. */
void tlm_lo_attend(const tlm_attn_job *j, float *scratch) {
    const tlm_ops_kernels *k = tlm_ops_kernels_get(tlm_simd_active());
    int32_t hd = j->head_dim, nh = j->h1 - j->h0;
    att_bufs b = {.n_max = 0};
    for (int32_t r = 0; r < j->n_rows; r++) b.n_max = TLM_MAX(b.n_max, j->n_vis[r]);
    b.s = scratch;
    b.kv = scratch + (size_t)j->n_rows * (size_t)nh * (size_t)b.n_max;
    b.kt = b.kv + (size_t)TLM_ATTN_CHUNK * hd;
    attend_scores(k, j, &b);
    float inv[TLM_ATTN_MAX_ROWS][TLM_ATTN_MAX_HEADS];
    for (int32_t r = 0; r < j->n_rows; r++)
        for (int32_t h = 0; h < nh; h++) {
            float *s = scores_of(j, &b, r, h), mx = tlm_max(s, j->n_vis[r]);
            double sum = j->n_vis[r] > 0 ? k->exp_sub(s, mx, j->n_vis[r]) : 0.0;
            inv[r][h] = sum > 0 ? (float)(1.0 / sum) : 0.0f;
            memset(j->out[r] + (size_t)(j->h0 + h) * hd, 0, sizeof(float) * (size_t)hd);
        }
    attend_values(k, j, &b);
    for (int32_t r = 0; r < j->n_rows; r++)
        for (int32_t h = 0; h < nh; h++)
            k->scale(j->out[r] + (size_t)(j->h0 + h) * hd, inv[r][h], hd);
}
