/*
 * layer_ops.c - per-row operators of the forward pass (see layer_ops.h).
 *
 * Portable C written so the compiler can vectorise the inner loops (fixed
 * groups of independent accumulators rather than one running sum); the
 * order of every floating-point sum is fixed by the code, never by the
 * thread that runs it.
 */
#include "model/layer_ops.h"

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

/* Head kh of a cache row, as floats. */
static void load_head(const tlm_ops_kernels *k, const tlm_kv_cache *kv, const uint8_t *row,
                      int32_t kh, int32_t hd, float *dst) {
    if (kv->type == TLM_KV_Q8_0) {
        const tlm_block_q8_0 *b = (const tlm_block_q8_0 *)row + (size_t)kh * (size_t)hd / TLM_QK;
        tlm_dequantize_row(TLM_TYPE_Q8_0, b, dst, hd);
        return;
    }
    k->f16_to_f32((const tlm_f16 *)row + (size_t)kh * (size_t)hd, dst, hd);
}

size_t tlm_lo_attend_scratch(int32_t n_heads, int32_t n_cells, int32_t head_dim) {
    return (size_t)n_heads * (size_t)n_cells + 2 * (size_t)head_dim + 16;
}

/* Two passes over the visible cells: scores (each key row converted once
 * for every query head of the group), then the value rows weighted by the
 * softmax.  The vector primitives come from the tensor module's kernel
 * table, so the arithmetic is the same for every caller and thread. */
void tlm_lo_attend(const tlm_attn_job *j, float *scratch) {
    const tlm_ops_kernels *k = tlm_ops_kernels_get(tlm_simd_active());
    const int32_t hd = j->head_dim, nh = j->h1 - j->h0, n = j->n;
    float *scores = scratch, *kbuf = scratch + (size_t)nh * (size_t)n, *vbuf = kbuf + hd;
    for (int32_t c = 0; c < n; c++) {
        load_head(k, j->kv, tlm_kv_k_row(j->kv, j->layer, j->view[c]), j->kh, hd, kbuf);
        for (int32_t h = 0; h < nh; h++) {
            const float *q = j->q + (size_t)(j->h0 + h) * hd;
            scores[(size_t)h * n + c] = k->dot(q, kbuf, hd) * j->scale;
        }
    }
    float inv_sum[TLM_ATTN_MAX_HEADS];
    for (int32_t h = 0; h < nh; h++) {
        float *s = scores + (size_t)h * n, mx = -INFINITY;
        for (int32_t c = 0; c < n; c++) mx = s[c] > mx ? s[c] : mx;
        double sum = k->exp_sub(s, mx, n);
        inv_sum[h] = sum > 0 ? (float)(1.0 / sum) : 0.0f;
        memset(j->out + (size_t)(j->h0 + h) * hd, 0, sizeof(float) * (size_t)hd);
    }
    for (int32_t c = 0; c < n; c++) {
        load_head(k, j->kv, tlm_kv_v_row(j->kv, j->layer, j->view[c]), j->kh, hd, vbuf);
        for (int32_t h = 0; h < nh; h++)
            k->axpy(j->out + (size_t)(j->h0 + h) * hd, scores[(size_t)h * n + c], vbuf, hd);
    }
    for (int32_t h = 0; h < nh; h++) k->scale(j->out + (size_t)(j->h0 + h) * hd, inv_sum[h], hd);
}
