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

#include "core/util.h"
#include "tensor/matmul_kernels.h"

#include <immintrin.h>

/* Builds the 16-token activation panel `tile` (layout in the .c file). */
void tlm_mm_avx512_prep(const tlm_mm_args *a, int64_t tile);

/* Many-token products of the 32-block types and of the K-quants. */
void tlm_mm_avx512_gemm_legacy(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                               int64_t t1);
/* Many-token products of X16 Q8_0, Q4_0, Q5_0, Q4_K and Q6_K weights with AMX
 * (the caller has checked tlm_simd_amx()), from the panel that
 * tlm_mm_amx_prep_x16 builds in apa. */
void tlm_mm_amx_gemm_x16(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void tlm_mm_amx_prep_x16(const tlm_mm_args *a, int64_t tile);
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

/* One-token products of X16 weights (repack.h; rows in whole groups). */
void tlm_mm_avx512_gemv_x16_q8_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                                 int64_t t1);
void tlm_mm_avx512_gemv_x16_q4_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                                 int64_t t1);
void tlm_mm_avx512_gemv_x16_q5_0(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                                 int64_t t1);
void tlm_mm_avx512_gemv_x16_q4_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                                 int64_t t1);
void tlm_mm_avx512_gemv_x16_q6_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                                 int64_t t1);

/* tlm_x16_pack_group and tlm_x16_unpack with vector code (same bytes). */
void tlm_mm_avx512_pack_x16(tlm_type wt, const void *rows, int64_t cols, void *grp);
void tlm_mm_avx512_unpack_x16(tlm_type wt, const void *grp, int64_t cols, void *dst);

/* Rows per one-token pass: sixteen rows are sixteen memory streams, and
 * their per-block sums fill one zmm (lane = row) for the float steps. */
#define TLM_AVX512_GV_ROWS 16

/* Cache level the one-token products prefetch the next rows into. */
#ifndef TLM_GV_PF_HINT
#define TLM_GV_PF_HINT _MM_HINT_T1
#endif

/* The rows the one-token group at r (rows [r, r + 16) of a chunk ending
 * at r1) prefetches while it works: the next group of the chunk, or at the
 * chunk's end the first rows of the thread's next chunk. */
static inline __attribute__((always_inline)) tlm_mm_rows
tlm_avx512_pf_rows(const tlm_mm_args *a, int64_t r, int64_t r1) {
    if (r + TLM_AVX512_GV_ROWS < r1)
        return (tlm_mm_rows){a->w + (size_t)(r + TLM_AVX512_GV_ROWS) * a->w_row_size, a->w_row_size};
    return tlm_mm_next_rows;
}

/* The body of a one-token kernel: rows [r0, r1) of tokens [t0, t1) in
 * groups of 16, each group told which rows to prefetch.  group(WT, a, r,
 * R, t, pf) is the kernel's group function (always inline). */
#define TLM_AVX512_GEMV_GROUPS(group, WT, a, r0, r1, t0, t1)                                   \
    for (int64_t t_ = (t0); t_ < (t1); t_++)                                                \
        for (int64_t r_ = (r0); r_ < (r1); r_ += TLM_AVX512_GV_ROWS)                        \
            group(WT, a, r_, (int)TLM_MIN(TLM_AVX512_GV_ROWS, (r1) - r_), t_,                \
                  tlm_avx512_pf_rows(a, r_, r1))

/* Prefetches n lines from byte `ofs` of row i of pf.  A hint may point
 * past the matrix (a next chunk shorter than 16 rows), so the address is
 * formed in integers.  Both helpers are forced inline: a prefetch has no
 * side effect GCC can see, so an out-of-line function that only prefetches
 * is pure to it and GCC 12 deleted every call (no prefetcht1 in the
 * object), which cost a third of the bandwidth. */
static inline __attribute__((always_inline)) void
tlm_avx512_pf_lines(tlm_mm_rows pf, int i, size_t ofs, int n) {
    if (!pf.w) return;
    uintptr_t p = (uintptr_t)pf.w + (uintptr_t)i * pf.row_size + ofs;
    for (int l = 0; l < n; l++) _mm_prefetch((const char *)(p + 64 * (uintptr_t)l), TLM_GV_PF_HINT);
}

#endif /* TLM_TENSOR_MATMUL_AVX512_H */
