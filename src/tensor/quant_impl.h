/*
 * quant_impl.h - the per-type conversion routines behind the traits table
 * in quant.c.  Internal to src/tensor/: other code goes through quant.h
 * (tlm_quant_info, tlm_quantize_row, ...), which checks nothing either, so
 * every function here expects n to be a multiple of its type's block.
 *
 * Naming mirrors the traits fields: tlm_quant_<t>_to_float (t -> F32),
 * tlm_quant_<t>_from_float (F32 -> t), tlm_quant_<t>_dot (a weight row of t
 * with an activation row of its vec-dot type).  No function allocates.
 */
#ifndef TLM_TENSOR_QUANT_IMPL_H
#define TLM_TENSOR_QUANT_IMPL_H

#include "tensor/blocks.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- Shared scalar helpers ---- */

/* Round to nearest, ties to even: the rounding the K-quant reference uses.
 * Out-of-range and NaN inputs give a clamped value instead of undefined
 * behaviour, so corrupt weights cannot crash the quantizer. */
static inline int tlm_quant_nearest(float v) {
    if (!(v > -8388608.0f)) return -8388608;
    if (v > 8388607.0f) return 8388607;
    return (int)rintf(v);
}

/* Truncate toward zero and clamp to [lo, hi]; NaN gives lo.  The legacy
 * quantizers add 0.5 (or 8.5) and truncate, so this reproduces them. */
static inline int tlm_quant_trunc_clamp(float v, int lo, int hi) {
    if (!(v > (float)lo)) return lo;
    if (v >= (float)hi) return hi;
    return (int)v;
}

static inline int tlm_quant_clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- F32, F16, BF16 rows (quant_float.c) ---- */
void tlm_quant_f32_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_f32_from_float(const float *src, void *dst, int64_t n);
float tlm_quant_f32_dot(int64_t n, const void *x, const void *y);
void tlm_quant_f16_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_f16_from_float(const float *src, void *dst, int64_t n);
float tlm_quant_f16_dot(int64_t n, const void *x, const void *y);
void tlm_quant_bf16_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_bf16_from_float(const float *src, void *dst, int64_t n);
float tlm_quant_bf16_dot(int64_t n, const void *x, const void *y);

/* ---- Legacy 32-element blocks (quant_legacy.c) ---- */
void tlm_quant_q4_0_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q4_0_from_float(const float *src, void *dst, int64_t n);
float tlm_quant_q4_0_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q4_1_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q4_1_from_float(const float *src, void *dst, int64_t n);
float tlm_quant_q4_1_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q5_0_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q5_0_from_float(const float *src, void *dst, int64_t n);
float tlm_quant_q5_0_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q5_1_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q5_1_from_float(const float *src, void *dst, int64_t n);
float tlm_quant_q5_1_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q8_0_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q8_0_from_float(const float *src, void *dst, int64_t n);
float tlm_quant_q8_0_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q8_1_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q8_1_from_float(const float *src, void *dst, int64_t n);

/* ---- K-quants, 256-element super-blocks (quant_k.c, quant_k_search.c) ---- */
void tlm_quant_q2_K_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q2_K_from_float(const float *src, void *dst, int64_t n);
void tlm_quant_q2_K_from_float_plain(const float *src, void *dst, int64_t n);
float tlm_quant_q2_K_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q3_K_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q3_K_from_float(const float *src, void *dst, int64_t n);
void tlm_quant_q3_K_from_float_plain(const float *src, void *dst, int64_t n);
float tlm_quant_q3_K_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q4_K_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q4_K_from_float(const float *src, void *dst, int64_t n);
void tlm_quant_q4_K_from_float_plain(const float *src, void *dst, int64_t n);
float tlm_quant_q4_K_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q5_K_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q5_K_from_float(const float *src, void *dst, int64_t n);
void tlm_quant_q5_K_from_float_plain(const float *src, void *dst, int64_t n);
float tlm_quant_q5_K_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q6_K_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q6_K_from_float(const float *src, void *dst, int64_t n);
void tlm_quant_q6_K_from_float_plain(const float *src, void *dst, int64_t n);
float tlm_quant_q6_K_dot(int64_t n, const void *x, const void *y);
void tlm_quant_q8_K_to_float(const void *src, float *dst, int64_t n);
void tlm_quant_q8_K_from_float(const float *src, void *dst, int64_t n);

/* Q4_K/Q5_K: the 6-bit scale and min of sub-block j from the 12 packed
 * bytes s, and the inverse (quant_k.c; also used by repack.c). */
void tlm_quant_k4_scale_min(const uint8_t *s, int j, int *sc, int *m);
void tlm_quant_k4_pack(const uint8_t sc[8], const uint8_t m[8], uint8_t s[12]);

/* ---- Scale searches shared by the K-quants (quant_k_search.c) ----
 * x: n values, w: n non-negative importance weights.  Both write the
 * chosen levels to q and return the scale. */

/* Affine grid y = scale*q - min, q in [0, nmax], min >= 0 (the grid always
 * reaches zero or below).  Minimises sum w*(y-x)^2 over a grid of nstep
 * candidate scales, each refitted by least squares; *out_min gets min. */
float tlm_quant_search_affine(int n, int nmax, const float *x, const float *w, uint8_t *q,
                              float *out_min, int nstep);

/* Symmetric grid y = scale*q, q in [-nmax, nmax-1] (the signed scale puts
 * the largest magnitude on the -nmax side).  q is stored offset by +nmax. */
float tlm_quant_search_symmetric(int n, int nmax, const float *x, const float *w, uint8_t *q,
                                 int nstep);

/* The round-to-nearest baselines of the two searches (range / levels, no
 * refit): what tlm_quantize_row_plain uses. */
float tlm_quant_plain_affine(int n, int nmax, const float *x, uint8_t *q, float *out_min);
float tlm_quant_plain_symmetric(int n, int nmax, const float *x, uint8_t *q);

#endif /* TLM_TENSOR_QUANT_IMPL_H */
