/*
 * matmul_avx512.h - entry points shared between the AVX-512 kernel files:
 * matmul_avx512.c (the table, activation quantizers, float weights and the
 * one-token products of the 32-block types), matmul_gemv_k_avx512.c (the
 * one-token K-quant products) and matmul_gemm_avx512.c (the many-token
 * quantized products).  Internal to src/tensor/.
 *
 * Contract between them: for every quantized type, the one-token product
 * of an output equals the many-token product bit for bit, because both
 * follow the reference order of quant.h (exact integer block sums, then
 * the same float steps block by block).  So a token's logits do not depend
 * on how tokens are grouped into a batch.
 */
#ifndef TLM_TENSOR_MATMUL_AVX512_H
#define TLM_TENSOR_MATMUL_AVX512_H

#include "tensor/matmul_kernels.h"

/* Builds the 16-token activation panel `tile` (layout in the .c file). */
void tlm_mm_avx512_prep(const tlm_mm_args *a, int64_t tile);

/* Many-token products of the 32-block types and of the K-quants. */
void tlm_mm_avx512_gemm_legacy(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                               int64_t t1);
void tlm_mm_avx512_gemm_k(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);

/* One-token products of the K-quants (any row and token range). */
void tlm_mm_avx512_gemv_q2_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                             int64_t t1);
void tlm_mm_avx512_gemv_q3_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                             int64_t t1);
void tlm_mm_avx512_gemv_q4_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                             int64_t t1);
void tlm_mm_avx512_gemv_q5_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                             int64_t t1);
void tlm_mm_avx512_gemv_q6_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                             int64_t t1);

/* Rows per one-token pass: sixteen rows are sixteen memory streams, and
 * their per-block sums fill one zmm (lane = row) for the float steps. */
#define TLM_AVX512_GV_ROWS 16

/* Cache level the one-token products prefetch the next rows into. */
#ifndef TLM_GV_PF_HINT
#define TLM_GV_PF_HINT _MM_HINT_T1
#endif

/* How many rows ahead the one-token products prefetch. */
#ifndef TLM_GV_PF_DIST
#define TLM_GV_PF_DIST TLM_AVX512_GV_ROWS
#endif

#endif /* TLM_TENSOR_MATMUL_AVX512_H */
