/*
 * kquant_avx512.h - AVX-512 unpacking of K-quant levels, shared by the
 * one-token (matmul_gemv_k_avx512.c, matmul_x16_avx512.c) and many-token
 * (matmul_gemm_avx512.c, matmul_x16_amx_avx512.c) products so they read a
 * block the same way (and, for X16 Q4_K, take the same minima and float
 * step).
 * Internal to src/tensor/; include only from files built for AVX-512.
 *
 * Each level helper returns the 64 levels of elements 64c .. 64c+63 of a block
 * (one per byte), unsigned as stored: the callers differ in how they take
 * the offsets (Q3_K 4, Q5_K 0, Q6_K 32) off.
 */
#ifndef TLM_TENSOR_KQUANT_AVX512_H
#define TLM_TENSOR_KQUANT_AVX512_H

#include "tensor/blocks.h"
#include "tensor/simd_x86.h"

/* Low and high nibbles of 32 bytes: elements 0-31, then 32-63. */
static inline __m512i tlm_kq_nibbles64(__m256i y) {
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(y), _mm256_srli_epi16(y, 4), 1);
    return _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
}

/* Q2_K/Q3_K: the 2-bit fields of group c (qs points at the block's qs). */
static inline __m512i tlm_kq_crumbs64(const uint8_t *qs, int c) {
    __m256i y = _mm256_loadu_si256((const __m256i *)(qs + 32 * (c / 2)));
    int sh = 4 * (c % 2);
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(y, sh)),
                                   _mm256_srli_epi16(y, sh + 2), 1);
    return _mm512_and_si512(z, _mm512_set1_epi8(3));
}

/* Q3_K/Q5_K: adds `add` to the levels of group c whose high bit is set
 * (bits 2c and 2c+1 of the 32 high-bit bytes hb). */
static inline __m512i tlm_kq_high_bits(__m512i z, __m256i hb, int c, char add) {
    __mmask32 m1 = _mm256_test_epi8_mask(hb, _mm256_set1_epi8((char)(1 << (2 * c))));
    __mmask32 m2 = _mm256_test_epi8_mask(hb, _mm256_set1_epi8((char)(1 << (2 * c + 1))));
    return _mm512_mask_add_epi8(z, _mm512_kunpackd(m2, m1), z, _mm512_set1_epi8(add));
}

/* Q6_K: the four groups of 6-bit levels (0..63) of a block. */
static inline void tlm_kq_q6_levels(const tlm_block_q6_K *b, __m512i u[4]) {
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    const __m512i m0f = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    TLM_UNROLL for (int h = 0; h < 2; h++) {
        __m512i ql = _mm512_loadu_si512(b->ql + 64 * h);
        __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b->qh + 32 * h)));
        __m512i hl = _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m30);
        __m512i hh = _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m30);
        u[2 * h] = _mm512_ternarylogic_epi32(ql, m0f, hl, 0xea); /* (ql & m) | hl */
        u[2 * h + 1] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), m0f, hh, 0xea);
    }
}

/* Q6_K in X16 (repack.h): the four level vectors of quad q of a half,
 * from its lines A (ql 0-31), B (ql 32-63) and H (qh); l[k] holds
 * elements 32k + 4q + j of the half, unsigned.  Crumbs 1 and 3 (bits 0-1,
 * 4-5 of H) and 2 and 4 (bits 2-3, 6-7) are shifted so the wanted one sits
 * at bits 4-5 and the other falls where the select takes the nibble (bits
 * 0-3) or out of the byte; 0xca = c ? nibble : crumb. */
static inline void tlm_kq_x16_q6_levels(__m512i A, __m512i B, __m512i H, __m512i l[4]) {
    const __m512i c0f = _mm512_set1_epi8(0x0f), c33 = _mm512_set1_epi8(0x33);
    __m512i H13 = _mm512_and_si512(H, c33), H24 = _mm512_andnot_si512(c33, H);
    l[0] = _mm512_ternarylogic_epi32(c0f, A, _mm512_slli_epi16(H13, 4), 0xca);
    l[1] = _mm512_ternarylogic_epi32(c0f, B, _mm512_slli_epi16(H24, 2), 0xca);
    l[2] = _mm512_ternarylogic_epi32(c0f, _mm512_srli_epi16(A, 4), H13, 0xca);
    l[3] = _mm512_ternarylogic_epi32(c0f, _mm512_srli_epi16(B, 4), _mm512_srli_epi16(H24, 2), 0xca);
}

/* Q4_K in X16: a 256-block's minima (side bytes 192-319 at aux, the
 * minima of sub-blocks 2k and 2k+1 side by side per row), one int16 pair
 * per row per pair of sub-blocks. */
static inline void tlm_kq_x16_q4k_mins(const uint8_t *aux, __m512i mn[4]) {
    TLM_UNROLL for (int k = 0; k < 4; k++)
        mn[k] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(aux + 192 + 32 * k)));
}

/* imin = sum_j m_j * (bsums[2j] + bsums[2j+1]) per row, two sub-blocks per
 * vpdpwssd (each bsum pair is at most 32 x 127 in magnitude: an int16). */
static inline __m512i tlm_kq_x16_q4k_imin(const __m512i mn[4], const int16_t bsums[16]) {
    __m512i im = _mm512_setzero_si512();
    TLM_UNROLL for (int k = 0; k < 4; k++) {
        const int16_t *b = bsums + 4 * k;
        uint32_t bs = (uint16_t)(b[0] + b[1]) | (uint32_t)(uint16_t)(b[2] + b[3]) << 16;
        im = _mm512_dpwssd_epi32(im, mn[k], _mm512_set1_epi32((int)bs));
    }
    return im;
}

/* The reference's float term of a Q4_K block (quant.h):
 * (d * dy) * isum - (dmin * dy) * imin. */
static inline __m512 tlm_kq_q4k_term(__m512 dv, __m512 dm, __m512 dy, __m512i isum, __m512i imin) {
    __m512 f = _mm512_mul_ps(_mm512_mul_ps(dv, dy), _mm512_cvtepi32_ps(isum));
    return _mm512_sub_ps(f, _mm512_mul_ps(_mm512_mul_ps(dm, dy), _mm512_cvtepi32_ps(imin)));
}

#endif /* TLM_TENSOR_KQUANT_AVX512_H */
