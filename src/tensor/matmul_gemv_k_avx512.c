/*
 * matmul_gemv_k_avx512.c - one-token products of the K-quants (Q2_K to
 * Q6_K) with AVX-512 (BW + VNNI).
 *
 * They follow the reference order of quant.h, as the many-token kernels of
 * matmul_gemm_avx512.c do, so one token's outputs are the same bits
 * whether it is decoded alone or inside a batch: per row and 256-block the
 * exact integer sums isum (and imin for types with minimums), then
 *   acc = acc + ((d*dy) * isum - (dmin*dy) * imin).
 * Integer work, per row and block: unsigned levels times the Q8_K bytes
 * with vpmaddubsw (pair sums cannot saturate: levels <= 63), then vpdpwssd
 * with the sub-block scales; a level offset (Q3_K +4, Q6_K +32) comes off
 * once per block through the activation bsums.  The 16-lane partial sums
 * of sixteen rows are then reduced together by a transposing tree, so the
 * float steps run with one lane per row, a handful of instructions per
 * sixteen row-blocks.
 */
#include "tensor/matmul_avx512.h"

#include "core/util.h"
#include "tensor/kquant_avx512.h"
#include "tensor/simd_x86.h"

#include <stdbool.h>

#define INLINE static inline __attribute__((always_inline))
#define GR TLM_AVX512_GV_ROWS

/* The token's Q8_K block: 256 bytes in 4 zmm, its bsums and scale. */
typedef struct kact {
    __m512i x[4];
    __m256i bsums;
} kact;

/* Word-permute indices spreading scale first + i/per over word i. */
INLINE __m512i word_idx(int first, int per) {
    uint16_t v[32];
    for (int i = 0; i < 32; i++) v[i] = (uint16_t)(first + i / per);
    return _mm512_loadu_si512(v);
}

/* The 8 six-bit scales and mins of a Q4_K/Q5_K block as bytes. */
INLINE void k4_scales(const uint8_t *s, uint64_t *sc, uint64_t *mn) {
    uint32_t A = tlm_x86_load_u32(s), B = tlm_x86_load_u32(s + 4), C = tlm_x86_load_u32(s + 8);
    uint32_t sc_lo = A & 0x3f3f3f3fu, sc_hi = (C & 0x0f0f0f0fu) | ((A >> 6) & 0x03030303u) << 4;
    uint32_t m_lo = B & 0x3f3f3f3fu, m_hi = ((C >> 4) & 0x0f0f0f0fu) | ((B >> 6) & 0x03030303u) << 4;
    *sc = sc_lo | (uint64_t)sc_hi << 32;
    *mn = m_lo | (uint64_t)m_hi << 32;
}

/* The 16 signed six-bit scales of a Q3_K block as int16. */
INLINE __m256i q3_scales(const uint8_t *s) {
    uint64_t A;
    memcpy(&A, s, 8);
    uint32_t H = tlm_x86_load_u32(s + 8);
    const uint64_t m4 = 0x0f0f0f0f0f0f0f0full;
    uint64_t h0 = (uint64_t)(H & 0x03030303u) | (uint64_t)((H >> 2) & 0x03030303u) << 32;
    uint64_t h1 = (uint64_t)((H >> 4) & 0x03030303u) | (uint64_t)((H >> 6) & 0x03030303u) << 32;
    uint64_t lo = (A & m4) | h0 << 4, hi = ((A >> 4) & m4) | h1 << 4;
    __m128i b = _mm_sub_epi8(_mm_set_epi64x((long long)hi, (long long)lo), _mm_set1_epi8(32));
    return _mm256_cvtepi8_epi16(b);
}

/* isum's 16 partial lanes folded to 8, next to imin's 8 lanes. */
INLINE __m512i pack_sums(__m512i iacc, __m256i imin) {
    __m256i s = _mm256_add_epi32(_mm512_castsi512_si256(iacc), _mm512_extracti64x4_epi64(iacc, 1));
    return _mm512_inserti64x4(_mm512_castsi256_si512(s), imin, 1);
}

/* Q4_K/Q5_K, one row and block: [isum partials | imin partials]. */
INLINE __m512i k4_row(bool q5, const uint8_t *blk, const kact *x, const __m512i idx[4]) {
    uint64_t sc8, mn8;
    k4_scales(blk + 4, &sc8, &mn8);
    __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
    __m128i mw = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
    __m256i h = q5 ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
    const uint8_t *qs = blk + (q5 ? 48 : 16);
    __m512i iacc = _mm512_setzero_si512();
    TLM_UNROLL for (int c = 0; c < 4; c++) {
        __m512i z = tlm_kq_nibbles64(_mm256_loadu_si256((const __m256i *)(qs + 32 * c)));
        if (q5) z = tlm_kq_high_bits(z, h, c, 16);
        iacc = _mm512_dpwssd_epi32(iacc, _mm512_maddubs_epi16(z, x->x[c]),
                                   _mm512_permutexvar_epi16(idx[c], sc16));
    }
    __m256i mpair = _mm256_set_m128i(_mm_unpackhi_epi16(mw, mw), _mm_unpacklo_epi16(mw, mw));
    return pack_sums(iacc, _mm256_madd_epi16(mpair, x->bsums));
}

/* Q2_K/Q3_K/Q6_K (16 sub-blocks of 16), one row and block. */
INLINE __m512i k16_row(tlm_type wt, const uint8_t *blk, const kact *x, const __m512i idx[4]) {
    __m512i u[4];
    __m256i sc, imin = _mm256_setzero_si256();
    int off_shift = 0; /* levels are stored + (1 << off_shift) */
    if (wt == TLM_TYPE_Q2_K) {
        __m256i s = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)blk));
        sc = _mm256_and_si256(s, _mm256_set1_epi16(15));
        imin = _mm256_madd_epi16(_mm256_srli_epi16(s, 4), x->bsums);
        TLM_UNROLL for (int c = 0; c < 4; c++) u[c] = tlm_kq_crumbs64(blk + 16, c);
    } else if (wt == TLM_TYPE_Q3_K) {
        __m256i hm = _mm256_loadu_si256((const __m256i *)blk);
        TLM_UNROLL for (int c = 0; c < 4; c++) u[c] = tlm_kq_high_bits(tlm_kq_crumbs64(blk + 32, c), hm, c, 4);
        sc = q3_scales(blk + 96);
        off_shift = 2;
    } else {
        const tlm_block_q6_K *b = (const tlm_block_q6_K *)blk;
        tlm_kq_q6_levels(b, u);
        sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
        off_shift = 5;
    }
    __m512i sc16 = _mm512_castsi256_si512(sc), iacc = _mm512_setzero_si512();
    TLM_UNROLL for (int c = 0; c < 4; c++)
        iacc = _mm512_dpwssd_epi32(iacc, _mm512_maddubs_epi16(u[c], x->x[c]),
                                   _mm512_permutexvar_epi16(idx[c], sc16));
    if (off_shift) {
        __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc, x->bsums), off_shift);
        iacc = _mm512_sub_epi32(iacc, _mm512_zextsi256_si512(off));
    }
    return pack_sums(iacc, imin);
}

INLINE bool has_mins(tlm_type wt) {
    return wt == TLM_TYPE_Q2_K || wt == TLM_TYPE_Q4_K || wt == TLM_TYPE_Q5_K;
}

/* Offset of the f16 d in a block (dmin, where present, follows it). */
INLINE int d_offset(tlm_type wt) {
    return wt == TLM_TYPE_Q2_K ? 80 : wt == TLM_TYPE_Q3_K ? 108 : wt == TLM_TYPE_Q6_K ? 208 : 0;
}

/* Rows [r, r + R) (R <= 16) of token t. */
INLINE void k_gemv_group(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t,
                         tlm_mm_rows pf) {
    const bool mins = has_mins(wt), k4 = wt == TLM_TYPE_Q4_K || wt == TLM_TYPE_Q5_K;
    const size_t bs = tlm_type_row_size(wt, TLM_QK_K), rsz = a->w_row_size;
    const int dof = d_offset(wt), lines = (int)(bs + 63) / 64 + 1;
    const int64_t nsb = a->cols / TLM_QK_K;
    const tlm_block_q8_K *xb = (const tlm_block_q8_K *)(a->q + (size_t)t * a->q_row_size);
    const uint8_t *w = a->w + (size_t)r * rsz;
    __m512i idx[4];
    TLM_UNROLL for (int c = 0; c < 4; c++) idx[c] = k4 ? word_idx(2 * c, 16) : word_idx(4 * c, 8);
    _Alignas(64) int32_t ib[GR][16];
    _Alignas(64) uint32_t dd[GR];
    if (R < GR) {
        memset(ib, 0, sizeof ib);
        memset(dd, 0, sizeof dd);
    }
    __m512 facc = _mm512_setzero_ps();
    for (int64_t s = 0; s < nsb; s++) {
        kact x;
        TLM_UNROLL for (int c = 0; c < 4; c++) x.x[c] = _mm512_loadu_si512(xb[s].qs + 64 * c);
        x.bsums = _mm256_loadu_si256((const __m256i *)xb[s].bsums);
        for (int i = 0; i < R; i++) {
            const uint8_t *blk = w + i * rsz + (size_t)s * bs;
            tlm_avx512_pf_lines(pf, i, (size_t)s * bs, lines);
            __m512i v = k4 ? k4_row(wt == TLM_TYPE_Q5_K, blk, &x, idx) : k16_row(wt, blk, &x, idx);
            _mm512_store_si512(ib[i], v);
            uint16_t d16[2] = {0, 0};
            memcpy(d16, blk + dof, mins ? 4 : 2);
            dd[i] = d16[0] | (uint32_t)d16[1] << 16;
        }
        __m512i v[16], isum, imin;
        TLM_UNROLL for (int i = 0; i < 16; i++) v[i] = _mm512_load_si512(ib[i]);
        tlm_x86_sum_halves16(v, &isum, &imin);
        __m512i ddv = _mm512_load_si512(dd);
        __m512 dy = _mm512_set1_ps(xb[s].d);
        __m512 dv = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(ddv));
        __m512 f = _mm512_mul_ps(_mm512_mul_ps(dv, dy), _mm512_cvtepi32_ps(isum));
        if (mins) {
            __m512 dm = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(ddv, 16)));
            f = _mm512_sub_ps(f, _mm512_mul_ps(_mm512_mul_ps(dm, dy), _mm512_cvtepi32_ps(imin)));
        }
        facc = _mm512_add_ps(facc, f);
    }
    _mm512_mask_storeu_ps(a->y + t * a->rows + r, (__mmask16)((1u << R) - 1), facc);
}

#define K_GEMV(name, WT)                                                                    \
    void name(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {       \
        TLM_AVX512_GEMV_GROUPS(k_gemv_group, WT, a, r0, r1, t0, t1);                         \
    }
K_GEMV(tlm_mm_avx512_gemv_q2_K, TLM_TYPE_Q2_K)
K_GEMV(tlm_mm_avx512_gemv_q3_K, TLM_TYPE_Q3_K)
K_GEMV(tlm_mm_avx512_gemv_q4_K, TLM_TYPE_Q4_K)
K_GEMV(tlm_mm_avx512_gemv_q5_K, TLM_TYPE_Q5_K)
K_GEMV(tlm_mm_avx512_gemv_q6_K, TLM_TYPE_Q6_K)
