/*
 * matmul_avx2.h - the quantized AVX2 products (matmul_quant_avx2.c) the
 * AVX2 kernel table (matmul_avx2.c) points to, and the tile walk both files
 * use.  Internal to src/tensor/.
 */
#ifndef TLM_TENSOR_MATMUL_AVX2_H
#define TLM_TENSOR_MATMUL_AVX2_H

#include "tensor/matmul_kernels.h"

#include <stdbool.h>

/* Walks [r0, r1) x [t0, t1) in tiles of up to MR rows x MT (<= 3) tokens;
 * tile(R, T) is a macro computing the tile at (r, t) with compile-time R
 * (MR or 1) and T (1..3).  Expects r0, r1, t0, t1 in scope. */
#define TLM_AVX2_TILE_WALK(MR, MT, tile)                                                    \
    for (int64_t t = t0; t < t1;) {                                                         \
        int64_t nt = t1 - t < (MT) ? t1 - t : (MT);                                         \
        for (int64_t r = r0; r < r1;) {                                                     \
            bool full = r1 - r >= (MR);                                                     \
            if (full && nt == 3) tile(MR, 3);                                               \
            else if (full && nt == 2) tile(MR, 2);                                          \
            else if (full) tile(MR, 1);                                                     \
            else if (nt == 3) tile(1, 3);                                                   \
            else if (nt == 2) tile(1, 2);                                                   \
            else tile(1, 1);                                                                \
            r += full ? (MR) : 1;                                                           \
        }                                                                                   \
        t += nt;                                                                            \
    }

/* Each handles any row and token range, one token or many. */
void tlm_mm_avx2_q4_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q4_1(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q5_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q5_1(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q8_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q4_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q5_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q2_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q3_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_avx2_q6_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);

#endif /* TLM_TENSOR_MATMUL_AVX2_H */
