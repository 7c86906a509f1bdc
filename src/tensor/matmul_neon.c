/*
 * matmul_neon.c - AArch64 Advanced SIMD kernels (baseline ARMv8.0: no
 * dot-product extension needed).  Compiled only on aarch64.
 *
 *   - F32/F16/BF16: dot-product tiles of 4 rows x 2 tokens, one 4-lane
 *     accumulator per output, so the bits do not depend on the tile.
 *   - Q8_0/Q4_0/Q5_0: each row's block is unpacked once to 32 signed
 *     levels and multiplied with every token of the tile (vmull_s8 +
 *     pairwise adds); the block's integer sum then enters the float sum
 *     exactly as in the scalar reference, so these agree with it bit for
 *     bit.
 * Other types use the scalar table (the dispatcher's fallback).
 */
#include "tensor/matmul_kernels.h"

#include "core/util.h"
#include "tensor/quant.h"

#include <arm_neon.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")
#define NR 4
#define NT 2

/* ---- Float weights ---- */

INLINE float32x4_t load_wf(tlm_type wt, const uint8_t *row, int64_t k) {
    if (wt == TLM_TYPE_F16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(row + 2 * k))));
    if (wt == TLM_TYPE_BF16)
        return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)(row + 2 * k)), 16));
    return vld1q_f32((const float *)(row + 4 * k));
}

INLINE float load_wf1(tlm_type wt, const uint8_t *row, int64_t k) {
    uint16_t h;
    memcpy(&h, row + 2 * k, 2);
    if (wt == TLM_TYPE_F16) return tlm_f16_to_f32(h);
    if (wt == TLM_TYPE_BF16) return tlm_bf16_to_f32(h);
    float f;
    memcpy(&f, row + 4 * k, 4);
    return f;
}

INLINE void fdot_tile(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t, int T) {
    float32x4_t acc[NR][NT];
    UNROLL for (int i = 0; i < R; i++) UNROLL for (int j = 0; j < T; j++) acc[i][j] = vdupq_n_f32(0.0f);
    const int64_t n = a->cols, n4 = n & ~(int64_t)3;
    const float *x = a->x + t * n;
    const uint8_t *w = a->w + (size_t)r * a->w_row_size;
    for (int64_t k = 0; k < n4; k += 4) {
        float32x4_t xv[NT];
        UNROLL for (int j = 0; j < T; j++) xv[j] = vld1q_f32(x + j * n + k);
        UNROLL for (int i = 0; i < R; i++) {
            float32x4_t wv = load_wf(wt, w + i * a->w_row_size, k);
            UNROLL for (int j = 0; j < T; j++) acc[i][j] = vfmaq_f32(acc[i][j], wv, xv[j]);
        }
    }
    UNROLL for (int i = 0; i < R; i++) UNROLL for (int j = 0; j < T; j++) {
        float s = vaddvq_f32(acc[i][j]);
        for (int64_t k = n4; k < n; k++) s = fmaf(load_wf1(wt, w + i * a->w_row_size, k), x[j * n + k], s);
        a->y[(t + j) * a->rows + r + i] = s;
    }
}

#define TILE_WALK(tile)                                                                     \
    for (int64_t t = t0; t < t1;) {                                                         \
        int64_t nt = TLM_MIN(NT, t1 - t);                                                   \
        for (int64_t r = r0; r < r1;) {                                                     \
            bool full = r1 - r >= NR;                                                       \
            if (full && nt == 2) tile(NR, 2);                                               \
            else if (full) tile(NR, 1);                                                     \
            else if (nt == 2) tile(1, 2);                                                   \
            else tile(1, 1);                                                                \
            r += full ? NR : 1;                                                             \
        }                                                                                   \
        t += nt;                                                                            \
    }

static void mm_f32(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define FT(R, T) fdot_tile(TLM_TYPE_F32, a, r, R, t, T)
    TILE_WALK(FT)
#undef FT
}
static void mm_f16(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define FT(R, T) fdot_tile(TLM_TYPE_F16, a, r, R, t, T)
    TILE_WALK(FT)
#undef FT
}
static void mm_bf16(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define FT(R, T) fdot_tile(TLM_TYPE_BF16, a, r, R, t, T)
    TILE_WALK(FT)
#undef FT
}

/* ---- Q8_0, Q4_0, Q5_0 ---- */

/* The 32 signed levels of one block (the reference's qx), as two halves. */
INLINE void levels(tlm_type wt, const uint8_t *blk, int8x16_t *lo, int8x16_t *hi) {
    if (wt == TLM_TYPE_Q8_0) {
        *lo = vld1q_s8((const int8_t *)(blk + 2));
        *hi = vld1q_s8((const int8_t *)(blk + 18));
        return;
    }
    uint8x16_t q = vld1q_u8(blk + (wt == TLM_TYPE_Q5_0 ? 6 : 2));
    uint8x16_t l = vandq_u8(q, vdupq_n_u8(0x0f)), h = vshrq_n_u8(q, 4);
    if (wt == TLM_TYPE_Q5_0) {
        uint32_t qh;
        memcpy(&qh, blk + 2, 4);
        uint8_t bl[16], bh[16];
        for (int j = 0; j < 16; j++) {
            bl[j] = (uint8_t)(((qh >> j) & 1u) << 4);
            bh[j] = (uint8_t)(((qh >> (j + 16)) & 1u) << 4);
        }
        l = vorrq_u8(l, vld1q_u8(bl));
        h = vorrq_u8(h, vld1q_u8(bh));
    }
    int8x16_t o = vdupq_n_s8(wt == TLM_TYPE_Q5_0 ? 16 : 8);
    *lo = vsubq_s8(vreinterpretq_s8_u8(l), o);
    *hi = vsubq_s8(vreinterpretq_s8_u8(h), o);
}

INLINE int32_t dot32(int8x16_t wl, int8x16_t wh, const int8_t *x) {
    int8x16_t xl = vld1q_s8(x), xh = vld1q_s8(x + 16);
    int16x8_t p0 = vmull_s8(vget_low_s8(wl), vget_low_s8(xl));
    int16x8_t p1 = vmull_high_s8(wl, xl);
    int16x8_t p2 = vmull_s8(vget_low_s8(wh), vget_low_s8(xh));
    int16x8_t p3 = vmull_high_s8(wh, xh);
    int32x4_t s = vpaddlq_s16(p0);
    s = vpadalq_s16(s, p1);
    s = vpadalq_s16(s, p2);
    s = vpadalq_s16(s, p3);
    return vaddvq_s32(s);
}

INLINE void leg_tile(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t, int T) {
    const size_t bs = tlm_type_row_size(wt, TLM_QK);
    const int64_t nb = a->nb32;
    float acc[NR][NT] = {{0}};
    for (int64_t b = 0; b < nb; b++) {
        UNROLL for (int i = 0; i < R; i++) {
            const uint8_t *blk = a->w + (size_t)(r + i) * a->w_row_size + (size_t)b * bs;
            int8x16_t wl, wh;
            levels(wt, blk, &wl, &wh);
            float dw = tlm_f16_to_f32(*(const tlm_f16 *)blk);
            UNROLL for (int j = 0; j < T; j++) {
                int32_t isum = dot32(wl, wh, a->qx + (t + j) * a->cols + 32 * b);
                acc[i][j] += (float)isum * (dw * a->qd[(t + j) * nb + b]);
            }
        }
    }
    UNROLL for (int i = 0; i < R; i++) UNROLL for (int j = 0; j < T; j++)
        a->y[(t + j) * a->rows + r + i] = acc[i][j];
}

static void mm_q8_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define LT(R, T) leg_tile(TLM_TYPE_Q8_0, a, r, R, t, T)
    TILE_WALK(LT)
#undef LT
}
static void mm_q4_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define LT(R, T) leg_tile(TLM_TYPE_Q4_0, a, r, R, t, T)
    TILE_WALK(LT)
#undef LT
}
static void mm_q5_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define LT(R, T) leg_tile(TLM_TYPE_Q5_0, a, r, R, t, T)
    TILE_WALK(LT)
#undef LT
}

const tlm_mm_kernels tlm_mm_kernels_neon = {
    .quant_act = NULL, /* the scalar quantizer (exact by definition) */
    .prep_gemm = NULL,
    .gemv = {[TLM_TYPE_F32] = mm_f32, [TLM_TYPE_F16] = mm_f16, [TLM_TYPE_BF16] = mm_bf16,
             [TLM_TYPE_Q8_0] = mm_q8_0, [TLM_TYPE_Q4_0] = mm_q4_0, [TLM_TYPE_Q5_0] = mm_q5_0},
    .gemm = {[TLM_TYPE_F32] = mm_f32, [TLM_TYPE_F16] = mm_f16, [TLM_TYPE_BF16] = mm_bf16,
             [TLM_TYPE_Q8_0] = mm_q8_0, [TLM_TYPE_Q4_0] = mm_q4_0, [TLM_TYPE_Q5_0] = mm_q5_0},
};
