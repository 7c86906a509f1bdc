/*
 * matmul_scalar.c - the portable kernel table: every weight type, built on
 * the reference dot products of quant.h, so this path *is* the reference
 * the SIMD paths are tested against.  Not fast, but it still walks rows in
 * the outer loop so a weight row stays in cache for all tokens of a chunk.
 */
#include "tensor/matmul_kernels.h"

#include "tensor/quant.h"

#include <stdbool.h>
#include <string.h>

void tlm_mm_quant_act_scalar(tlm_type act_type, const float *x, int64_t n, uint8_t *q,
                             const tlm_act_side *side) {
    tlm_quantize_row(act_type, x, q, n);
    if (act_type != TLM_TYPE_Q8_0 && act_type != TLM_TYPE_Q8_1) return;
    const bool q81 = act_type == TLM_TYPE_Q8_1;
    for (int64_t i = 0; i < n / TLM_QK; i++) {
        const tlm_block_q8_0 *b0 = (const tlm_block_q8_0 *)q + i;
        const tlm_block_q8_1 *b1 = (const tlm_block_q8_1 *)q + i;
        const int8_t *qs = q81 ? b1->qs : b0->qs;
        int acc = 0;
        for (int j = 0; j < TLM_QK; j++) acc += qs[j];
        side->d[i] = tlm_f16_to_f32(q81 ? b1->d : b0->d);
        side->sum[i] = acc;
        side->s[i] = q81 ? tlm_f16_to_f32(b1->s) : 0.0f;
        memcpy(side->qx + i * TLM_QK, qs, TLM_QK);
    }
}

static void mm_ref(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    tlm_vec_dot_fn dot = tlm_quant_info(a->wtype)->vec_dot_ref;
    bool quantized = a->act_type != TLM_TYPE_F32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = a->w + (size_t)r * a->w_row_size;
        for (int64_t t = t0; t < t1; t++) {
            const void *xt = quantized ? (const void *)(a->q + (size_t)t * a->q_row_size)
                                       : (const void *)(a->x + t * a->cols);
            a->y[t * a->rows + r] = dot(a->cols, wr, xt);
        }
    }
}

#define ALL_TYPES(fn)                                                                      \
    {                                                                                      \
        [TLM_TYPE_F32] = fn, [TLM_TYPE_F16] = fn, [TLM_TYPE_BF16] = fn,                    \
        [TLM_TYPE_Q4_0] = fn, [TLM_TYPE_Q4_1] = fn, [TLM_TYPE_Q5_0] = fn,                  \
        [TLM_TYPE_Q5_1] = fn, [TLM_TYPE_Q8_0] = fn, [TLM_TYPE_Q2_K] = fn,                  \
        [TLM_TYPE_Q3_K] = fn, [TLM_TYPE_Q4_K] = fn, [TLM_TYPE_Q5_K] = fn,                  \
        [TLM_TYPE_Q6_K] = fn,                                                              \
    }

const tlm_mm_kernels tlm_mm_kernels_scalar = {
    .quant_act = tlm_mm_quant_act_scalar,
    .gemv = ALL_TYPES(mm_ref),
    .gemm = ALL_TYPES(mm_ref),
};
