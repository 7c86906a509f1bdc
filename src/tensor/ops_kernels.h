/*
 * ops_kernels.h - the inner loops of the operators (ops.c) that have SIMD
 * versions: one table per path, chosen once by tlm_simd_active().  The
 * exp-based loops use the same polynomial on every path.  Internal to
 * src/tensor/.
 */
#ifndef TLM_TENSOR_OPS_KERNELS_H
#define TLM_TENSOR_OPS_KERNELS_H

#include "tensor/blocks.h"
#include "tensor/simd.h"

#include <stdint.h>

typedef struct tlm_ops_kernels {
    void (*f16_to_f32)(const tlm_f16 *src, float *dst, int64_t n);
    float (*dot)(const float *a, const float *b, int64_t n);
    void (*axpy)(float *y, float a, const float *x, int64_t n);       /* y += a x */
    void (*scale)(float *y, float s, int64_t n);                      /* y *= s */
    /* y = act(g) * u (u may be NULL: y = act(g)); y may alias g or u. */
    void (*silu_mul)(float *y, const float *g, const float *u, int64_t n);
    void (*gelu_mul)(float *y, const float *g, const float *u, int64_t n);
    /* x = exp(x - m) in place; returns the sum of the results in double. */
    double (*exp_sub)(float *x, float m, int64_t n);
    /* Attention scores against keys stored transposed: for each of nq
     * queries (rows of q, ldq apart) and key c < m, s[i * lds + c] =
     * scale * sum_d q[i][d] * kt[d * ld + c], the sum over d < hd in
     * order.  ld is a multiple of 16 and columns [m, ld) of kt are
     * readable (zeros): a kernel may compute them and store only m.  A
     * score's bits depend on nothing but its query and key. */
    void (*scores_t)(float *s, int64_t lds, const float *q, int64_t ldq, int64_t nq,
                     const float *kt, int64_t ld, int64_t m, int64_t hd, float scale);
    /* o[d] += p[c] * v[c * hd + d] for c < m in order, d < hd: m calls of
     * axpy, bit for bit, with o kept in registers. */
    void (*axpy_rows)(float *o, const float *p, const float *v, int64_t m, int64_t hd);
    /* Sums n words read as 4 interleaved sequential streams (n a multiple
     * of 32): the memory-bandwidth probe of `tinylm bench --kernels`. */
    uint64_t (*read_sum)(const uint64_t *p, int64_t n);
} tlm_ops_kernels;

extern const tlm_ops_kernels tlm_ops_kernels_scalar;
#if defined(__x86_64__)
extern const tlm_ops_kernels tlm_ops_kernels_avx2;
extern const tlm_ops_kernels tlm_ops_kernels_avx512;
#endif

/* The table of a path; the scalar one where a path has none. */
const tlm_ops_kernels *tlm_ops_kernels_get(tlm_simd s);

/* Constants of the shared exp polynomial (Cody-Waite reduction by ln 2,
 * degree-6 minimax on [-ln2/2, ln2/2]). */
#define TLM_EXP_HI 88.7228317f
#define TLM_EXP_LO -87.3365479f
#define TLM_LOG2E 1.44269504089f
#define TLM_LN2_HI 0.693359375f
#define TLM_LN2_LO -2.12194440e-4f
#define TLM_EXP_P0 1.9875691500e-4f
#define TLM_EXP_P1 1.3981999507e-3f
#define TLM_EXP_P2 8.3334519073e-3f
#define TLM_EXP_P3 4.1665795894e-2f
#define TLM_EXP_P4 1.6666665459e-1f
#define TLM_EXP_P5 5.0000001201e-1f
#define TLM_GELU_K 0.7978845608f /* sqrt(2/pi) */
#define TLM_GELU_C 0.044715f

#endif /* TLM_TENSOR_OPS_KERNELS_H */
