/*
 * matmul_avx512.h - entry points shared between the two AVX-512 kernel
 * files (matmul_avx512.c holds the table and GEMV, matmul_gemm_avx512.c the
 * many-token products).  Internal to src/tensor/.
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

/* Many-token products of F32, F16 and BF16 weights. */
void tlm_mm_avx512_gemm_float(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                              int64_t t1);

#endif /* TLM_TENSOR_MATMUL_AVX512_H */
