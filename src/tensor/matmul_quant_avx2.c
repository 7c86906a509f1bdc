/*
 * matmul_quant_avx2.c - AVX2 products of the quantized weight types (see
 * matmul_avx2.c for the tile scheme).  Per block, each row's levels are
 * unpacked once into 32 bytes and multiplied with every token of the tile:
 *   - nibble and 5-bit levels are the unsigned side of vpmaddubsw; their
 *     offset (-8, -16) is applied once per row from the activation block
 *     sums, the Q4_1/Q5_1 minimum from the Q8_1 s fields;
 *   - Q8_0 moves the weight's sign onto the activation (|w| x sign(x, w));
 *   - K-quants apply the sub-block scales with vpmaddwd on the 16-bit pair
 *     sums, so a 256-block accumulates in int32 before one float step.
 */
#include "tensor/matmul_avx2.h"

#include "core/util.h"
#include "tensor/types.h"
#include "tensor/simd_x86.h"

#include <stdbool.h>

#define INLINE static inline __attribute__((always_inline))
#define TR 4  /* rows per tile */
#define TQ 3  /* tokens per tile */

/* Byte k of the result is 0xff when bit k of m is set. */
INLINE __m256i bits_to_bytes(uint32_t m) {
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)m),
                                    _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                     2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

INLINE __m256i nibbles32(__m128i q) {
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
}

/* ---- 32-element blocks ---- */

typedef struct leg {
    int bs, qs_ofs, qh_ofs, m_ofs, off;
    bool q8;
} leg;

INLINE leg leg_of(tlm_type wt) {
    switch (wt) {
    case TLM_TYPE_Q4_0: return (leg){18, 2, -1, -1, 8, false};
    case TLM_TYPE_Q4_1: return (leg){20, 4, -1, 2, 0, false};
    case TLM_TYPE_Q5_0: return (leg){22, 6, 2, -1, 16, false};
    case TLM_TYPE_Q5_1: return (leg){24, 8, 4, 2, 0, false};
    default:            return (leg){34, 2, -1, -1, 0, true};
    }
}

INLINE void leg_tile(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t, int T) {
    const leg L = leg_of(wt);
    const int64_t nb = a->nb32;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[TR][3];
    float cor[TR][3];
    TLM_UNROLL for (int i = 0; i < R; i++) TLM_UNROLL for (int j = 0; j < T; j++) {
        acc[i][j] = _mm256_setzero_ps();
        cor[i][j] = 0.0f;
    }
    for (int64_t b = 0; b < nb; b++) {
        __m256i xb[3];
        float dy[3];
        TLM_UNROLL for (int j = 0; j < T; j++) {
            xb[j] = _mm256_loadu_si256((const __m256i *)(a->qx + (t + j) * a->cols + 32 * b));
            dy[j] = a->qd[(t + j) * nb + b];
        }
        TLM_UNROLL for (int i = 0; i < R; i++) {
            const uint8_t *blk = a->w + (size_t)(r + i) * a->w_row_size + b * L.bs;
            /* Next tile's rows: more lines in flight (see matmul_avx512.c). */
            _mm_prefetch((const char *)(blk + TR * a->w_row_size), _MM_HINT_T0);
            const float dw = tlm_x86_f16(*(const tlm_f16 *)blk);
            __m256i w;
            if (L.q8) {
                w = _mm256_loadu_si256((const __m256i *)(blk + 2));
            } else {
                w = nibbles32(_mm_loadu_si128((const __m128i *)(blk + L.qs_ofs)));
                if (L.qh_ofs >= 0)
                    w = _mm256_or_si256(w, _mm256_and_si256(bits_to_bytes(tlm_x86_load_u32(blk + L.qh_ofs)),
                                                            _mm256_set1_epi8(16)));
            }
            const __m256i aw = L.q8 ? _mm256_sign_epi8(w, w) : w;
            TLM_UNROLL for (int j = 0; j < T; j++) {
                __m256i xs = L.q8 ? _mm256_sign_epi8(xb[j], w) : xb[j];
                __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, xs), ones);
                float s = dw * dy[j];
                acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(s), acc[i][j]);
                if (L.off)
                    cor[i][j] += s * (float)a->qsum[(t + j) * nb + b];
                else if (L.m_ofs >= 0)
                    cor[i][j] += tlm_x86_f16(*(const tlm_f16 *)(blk + L.m_ofs)) * a->qs[(t + j) * nb + b];
            }
        }
    }
    TLM_UNROLL for (int i = 0; i < R; i++) TLM_UNROLL for (int j = 0; j < T; j++) {
        float v = tlm_x86_hsum256(acc[i][j]);
        a->y[(t + j) * a->rows + r + i] = L.off ? v - (float)L.off * cor[i][j] : v + cor[i][j];
    }
}

#define LEG_MM(name, WT)                                                                     \
    void name(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {        \
        TLM_AVX2_TILE_WALK(TR, TQ, LT_##WT)                                                  \
    }
#define LT_Q4_0(R, T) leg_tile(TLM_TYPE_Q4_0, a, r, R, t, T)
#define LT_Q4_1(R, T) leg_tile(TLM_TYPE_Q4_1, a, r, R, t, T)
#define LT_Q5_0(R, T) leg_tile(TLM_TYPE_Q5_0, a, r, R, t, T)
#define LT_Q5_1(R, T) leg_tile(TLM_TYPE_Q5_1, a, r, R, t, T)
#define LT_Q8_0(R, T) leg_tile(TLM_TYPE_Q8_0, a, r, R, t, T)
LEG_MM(tlm_mm_avx2_q4_0, Q4_0)
LEG_MM(tlm_mm_avx2_q4_1, Q4_1)
LEG_MM(tlm_mm_avx2_q5_0, Q5_0)
LEG_MM(tlm_mm_avx2_q5_1, Q5_1)
LEG_MM(tlm_mm_avx2_q8_0, Q8_0)

/* ---- K-quants ---- */

/* Q4_K/Q5_K six-bit scales and minimums as 8 bytes each. */
INLINE void k4_scales(const uint8_t *s, uint64_t *sc, uint64_t *mn) {
    uint32_t A = tlm_x86_load_u32(s), B = tlm_x86_load_u32(s + 4), C = tlm_x86_load_u32(s + 8);
    uint32_t sc_lo = A & 0x3f3f3f3fu, sc_hi = (C & 0x0f0f0f0fu) | ((A >> 6) & 0x03030303u) << 4;
    uint32_t m_lo = B & 0x3f3f3f3fu, m_hi = ((C >> 4) & 0x0f0f0f0fu) | ((B >> 6) & 0x03030303u) << 4;
    *sc = sc_lo | (uint64_t)sc_hi << 32;
    *mn = m_lo | (uint64_t)m_hi << 32;
}

/* Q4_K / Q5_K: one row, one 256-block, T tokens. */
INLINE void k4_block(bool q5, const uint8_t *blk, const tlm_block_q8_K *const *xb, int T,
                     __m256 *acc, __m256 *macc) {
    uint64_t sc8, mn8;
    k4_scales(blk + 4, &sc8, &mn8);
    const uint8_t *qs = blk + (q5 ? 48 : 16);
    __m256i qh = q5 ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
    __m256i iacc[3];
    TLM_UNROLL for (int j = 0; j < T; j++) iacc[j] = _mm256_setzero_si256();
    TLM_UNROLL for (int c = 0; c < 4; c++) {
        __m256i y = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i lo = _mm256_and_si256(y, _mm256_set1_epi8(0x0f));
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(y, 4), _mm256_set1_epi8(0x0f));
        if (q5) {
            const __m256i one = _mm256_set1_epi8(1);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
        }
        __m256i slo = _mm256_set1_epi16((short)((sc8 >> (16 * c)) & 0xff));
        __m256i shi = _mm256_set1_epi16((short)((sc8 >> (16 * c + 8)) & 0xff));
        TLM_UNROLL for (int j = 0; j < T; j++) {
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(xb[j]->qs + 64 * c));
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(xb[j]->qs + 64 * c + 32));
            iacc[j] = _mm256_add_epi32(iacc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(lo, x0), slo));
            iacc[j] = _mm256_add_epi32(iacc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(hi, x1), shi));
        }
    }
    __m128i mw = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
    __m256i mpair = _mm256_set_m128i(_mm_unpackhi_epi16(mw, mw), _mm_unpacklo_epi16(mw, mw));
    float d = tlm_x86_f16(*(const tlm_f16 *)blk), dmin = tlm_x86_f16(*(const tlm_f16 *)(blk + 2));
    TLM_UNROLL for (int j = 0; j < T; j++) {
        __m256i mins = _mm256_madd_epi16(mpair, _mm256_loadu_si256((const __m256i *)xb[j]->bsums));
        acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[j]), _mm256_set1_ps(d * xb[j]->d), acc[j]);
        macc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dmin * xb[j]->d), macc[j]);
    }
}

/* Scale words for a 32-element group of two 16-element sub-blocks. */
INLINE __m256i two_scales(int a, int b) {
    return _mm256_set_m128i(_mm_set1_epi16((short)b), _mm_set1_epi16((short)a));
}

INLINE void q6_block(const tlm_block_q6_K *blk, const tlm_block_q8_K *const *xb, int T,
                     __m256 *acc) {
    const __m256i m0f = _mm256_set1_epi8(0x0f), m03 = _mm256_set1_epi8(0x03), m30 = _mm256_set1_epi8(0x30);
    __m256i iacc[3];
    TLM_UNROLL for (int j = 0; j < T; j++) iacc[j] = _mm256_setzero_si256();
    TLM_UNROLL for (int h = 0; h < 2; h++) {
        __m256i ql0 = _mm256_loadu_si256((const __m256i *)(blk->ql + 64 * h));
        __m256i ql1 = _mm256_loadu_si256((const __m256i *)(blk->ql + 64 * h + 32));
        __m256i qh = _mm256_loadu_si256((const __m256i *)(blk->qh + 32 * h));
        __m256i e[4];
        e[0] = _mm256_or_si256(_mm256_and_si256(ql0, m0f), _mm256_slli_epi16(_mm256_and_si256(qh, m03), 4));
        e[1] = _mm256_or_si256(_mm256_and_si256(ql1, m0f), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
        e[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m0f), _mm256_and_si256(qh, m30));
        e[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m0f),
                               _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
        const int8_t *sc = blk->scales + 8 * h;
        TLM_UNROLL for (int k = 0; k < 4; k++) {
            __m256i sv = two_scales(sc[2 * k], sc[2 * k + 1]);
            TLM_UNROLL for (int j = 0; j < T; j++) {
                __m256i x = _mm256_loadu_si256((const __m256i *)(xb[j]->qs + 128 * h + 32 * k));
                iacc[j] = _mm256_add_epi32(iacc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(e[k], x), sv));
            }
        }
    }
    /* The stored levels are q + 32: take 32 * sum(sc_j * bsum_j) off. */
    __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)blk->scales));
    float d = tlm_x86_f16(blk->d);
    TLM_UNROLL for (int j = 0; j < T; j++) {
        __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb[j]->bsums));
        __m256i v = _mm256_sub_epi32(iacc[j], _mm256_slli_epi32(off, 5));
        acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(d * xb[j]->d), acc[j]);
    }
}

/* Q2_K / Q3_K: 2-bit fields (Q3_K adds its hmask bit as 4 and subtracts
 * 4 afterwards), 16 sub-blocks of 16 with integer scales. */
INLINE void k16_block(bool q3, const uint8_t *blk, const tlm_block_q8_K *const *xb, int T,
                      __m256 *acc, __m256 *macc) {
    int16_t sc[16], mn[16];
    if (q3) {
        const uint8_t *s = blk + 96;
        for (int j = 0; j < 16; j++) {
            int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
            sc[j] = (int16_t)((lo | ((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32);
        }
    } else {
        for (int j = 0; j < 16; j++) sc[j] = (int16_t)(blk[j] & 15), mn[j] = (int16_t)(blk[j] >> 4);
    }
    const uint8_t *qs = blk + (q3 ? 32 : 16);
    __m256i hm = q3 ? _mm256_loadu_si256((const __m256i *)blk) : _mm256_setzero_si256();
    __m256i iacc[3];
    TLM_UNROLL for (int j = 0; j < T; j++) iacc[j] = _mm256_setzero_si256();
    TLM_UNROLL for (int n = 0; n < 2; n++) {
        __m256i y = _mm256_loadu_si256((const __m256i *)(qs + 32 * n));
        TLM_UNROLL for (int k = 0; k < 4; k++) {
            __m256i e = _mm256_and_si256(_mm256_srli_epi16(y, 2 * k), _mm256_set1_epi8(3));
            if (q3) {
                __m256i h = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * n + k), _mm256_set1_epi8(1));
                e = _mm256_or_si256(e, _mm256_slli_epi16(h, 2));
            }
            int g = 8 * n + 2 * k;
            __m256i sv = two_scales(sc[g], sc[g + 1]);
            TLM_UNROLL for (int j = 0; j < T; j++) {
                __m256i x = _mm256_loadu_si256((const __m256i *)(xb[j]->qs + 128 * n + 32 * k));
                iacc[j] = _mm256_add_epi32(iacc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(e, x), sv));
            }
        }
    }
    float d = tlm_x86_f16(*(const tlm_f16 *)(blk + (q3 ? 108 : 80)));
    float dmin = q3 ? 0.0f : tlm_x86_f16(*(const tlm_f16 *)(blk + 82));
    __m256i sc16 = _mm256_loadu_si256((const __m256i *)sc);
    TLM_UNROLL for (int j = 0; j < T; j++) {
        __m256i bs = _mm256_loadu_si256((const __m256i *)xb[j]->bsums);
        __m256i v = iacc[j];
        if (q3) v = _mm256_sub_epi32(v, _mm256_slli_epi32(_mm256_madd_epi16(sc16, bs), 2));
        else {
            __m256i mins = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)mn), bs);
            macc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dmin * xb[j]->d), macc[j]);
        }
        acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(d * xb[j]->d), acc[j]);
    }
}

INLINE void k_tile(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t, int T) {
    const int64_t nsb = a->cols / TLM_QK_K;
    const size_t bs = tlm_type_row_size(wt, TLM_QK_K);
    __m256 acc[TR][3], macc[TR][3];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++) acc[i][j] = macc[i][j] = _mm256_setzero_ps();
    for (int64_t s = 0; s < nsb; s++) {
        const tlm_block_q8_K *xb[3];
        TLM_UNROLL for (int j = 0; j < T; j++)
            xb[j] = (const tlm_block_q8_K *)(a->q + (size_t)(t + j) * a->q_row_size) + s;
        for (int i = 0; i < R; i++) {
            const uint8_t *blk = a->w + (size_t)(r + i) * a->w_row_size + (size_t)s * bs;
            for (size_t o = 0; o < bs; o += 64)
                _mm_prefetch((const char *)(blk + TR * a->w_row_size + o), _MM_HINT_T0);
            if (wt == TLM_TYPE_Q6_K) q6_block((const tlm_block_q6_K *)blk, xb, T, acc[i]);
            else if (wt == TLM_TYPE_Q2_K || wt == TLM_TYPE_Q3_K)
                k16_block(wt == TLM_TYPE_Q3_K, blk, xb, T, acc[i], macc[i]);
            else k4_block(wt == TLM_TYPE_Q5_K, blk, xb, T, acc[i], macc[i]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int j = 0; j < T; j++)
            a->y[(t + j) * a->rows + r + i] = tlm_x86_hsum256(acc[i][j]) - tlm_x86_hsum256(macc[i][j]);
}

#define K_MM(name, WT)                                                                       \
    void name(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {        \
        TLM_AVX2_TILE_WALK(TR, TQ, KT_##WT)                                                  \
    }
#define KT_Q4_K(R, T) k_tile(TLM_TYPE_Q4_K, a, r, R, t, T)
#define KT_Q5_K(R, T) k_tile(TLM_TYPE_Q5_K, a, r, R, t, T)
#define KT_Q6_K(R, T) k_tile(TLM_TYPE_Q6_K, a, r, R, t, T)
#define KT_Q2_K(R, T) k_tile(TLM_TYPE_Q2_K, a, r, R, t, T)
#define KT_Q3_K(R, T) k_tile(TLM_TYPE_Q3_K, a, r, R, t, T)
K_MM(tlm_mm_avx2_q4_K, Q4_K)
K_MM(tlm_mm_avx2_q5_K, Q5_K)
K_MM(tlm_mm_avx2_q6_K, Q6_K)
K_MM(tlm_mm_avx2_q2_K, Q2_K)
K_MM(tlm_mm_avx2_q3_K, Q3_K)
