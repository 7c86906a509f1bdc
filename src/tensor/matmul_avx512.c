/*
 * matmul_avx512.c - AVX-512 (F/BW/VL/DQ + VNNI) kernels: the activation
 * quantizers, the one-token products (GEMV) and the float-weight products;
 * the kernel table of the path.  Many-token quantized products live in
 * matmul_gemm_avx512.c; Q2_K/Q3_K one-token products reuse the AVX2 ones.
 *
 * GEMV reads W in its GGUF layout exactly once, so it is bound by memory
 * bandwidth as long as the per-block work stays under a few instructions:
 *   - nibble types take 4 blocks per step: two 64-byte loads and one word
 *     permute gather their 4 x 16 bytes of levels (every block field is
 *     word aligned), split into low/high nibble planes for two vpdpbusd;
 *     Q8_0 takes 2 blocks per zmm with the activations biased to unsigned;
 *   - the 16 weight scales of 16 blocks are gathered once, multiplied by
 *     the activation scales and permuted into place per step;
 *   - the nibble offset (-8, -16) and Q4_1/Q5_1 minimums are applied once
 *     per row from per-block activation sums, not per element;
 *   - K-quants use maddubs (u8 x s8 -> s16 pairs) then vpdpwssd with the
 *     sub-block scales, so a whole 256-block accumulates in int32.
 * Eight rows share each activation load.  Results differ from the scalar
 * reference only by float summation order (lanes, then a tree).
 */
#include "tensor/matmul_avx512.h"

#include "core/util.h"
#include "tensor/matmul_avx2.h"
#include "tensor/quant.h"
#include "tensor/simd_x86.h"

#include <stdbool.h>

#define INLINE static inline __attribute__((always_inline))

/* Rows per GEMV pass.  Eight rows are eight concurrent memory streams, and
 * each pass prefetches the same bytes of the next eight rows: on machines
 * where one stream per core cannot saturate memory (high latency, e.g.
 * virtualised), this is what keeps enough cache-line fills in flight. */
#define GV_R 8
#define PF_LINES(p, n)                                                                      \
    do {                                                                                    \
        for (int pf_ = 0; pf_ < (n); pf_++)                                                 \
            _mm_prefetch((const char *)(p) + 64 * pf_, _MM_HINT_T0);                        \
    } while (0)

/* ---- Activation quantizers (bit-exact with quant.h) ---- */

/* One q8 lane group: NaN -> 0, clamp to +-127, roundf. */
INLINE __m512i q8_lanes(__m512 v) {
    __mmask16 ord = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
    v = _mm512_maskz_mov_ps(ord, v);
    v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
    return _mm512_cvttps_epi32(tlm_x86_round_away(v));
}

/* Max |x| over n16 vectors, NaN ignored (as `fabsf(x) > amax` does). */
INLINE float absmax(const __m512 *v, int n16) {
    __m512 m = _mm512_setzero_ps();
    for (int i = 0; i < n16; i++) m = _mm512_max_ps(_mm512_abs_ps(v[i]), m);
    return _mm512_reduce_max_ps(m);
}

static void q8_block32(const float *x, int8_t *qs, float *d_out, int *sum_out) {
    __m512 v[2] = {_mm512_loadu_ps(x), _mm512_loadu_ps(x + 16)};
    float d = absmax(v, 2) / 127.0f;
    __m512 id = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    __m512i i0 = q8_lanes(_mm512_mul_ps(v[0], id)), i1 = q8_lanes(_mm512_mul_ps(v[1], id));
    _mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(i0));
    _mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtepi32_epi8(i1));
    *sum_out = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
    *d_out = d;
}

static void q8_K_block(const float *x, tlm_block_q8_K *b) {
    __m512 v[16];
    for (int i = 0; i < 16; i++) v[i] = _mm512_loadu_ps(x + 16 * i);
    float amax = absmax(v, 16);
    if (!(amax > 0.0f)) {
        memset(b, 0, sizeof *b);
        return;
    }
    float max = 0.0f; /* the first element of largest magnitude, with its sign */
    for (int i = 0; i < 16; i++) {
        __mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(v[i]), _mm512_set1_ps(amax), _CMP_EQ_OQ);
        if (m) {
            max = x[16 * i + __builtin_ctz(m)];
            break;
        }
    }
    float iscale = -127.0f / max;
    __m512 vs = _mm512_set1_ps(iscale);
    for (int i = 0; i < 16; i++) {
        __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v[i], vs)); /* round to nearest even */
        q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(-127)), _mm512_set1_epi32(127));
        _mm_storeu_si128((__m128i *)(b->qs + 16 * i), _mm512_cvtepi32_epi8(q));
        b->bsums[i] = (int16_t)_mm512_reduce_add_epi32(q);
    }
    b->d = 1.0f / iscale;
}

static void quant_act(tlm_type act, const float *x, int64_t n, uint8_t *q,
                      const tlm_act_side *side) {
    if (act == TLM_TYPE_Q8_K) {
        for (int64_t i = 0; i < n / TLM_QK_K; i++)
            q8_K_block(x + i * TLM_QK_K, (tlm_block_q8_K *)q + i);
        return;
    }
    for (int64_t i = 0; i < n / TLM_QK; i++) {
        float df;
        int isum;
        int8_t *qs;
        if (act == TLM_TYPE_Q8_0) {
            tlm_block_q8_0 *b = (tlm_block_q8_0 *)q + i;
            qs = b->qs;
            q8_block32(x + i * TLM_QK, qs, &df, &isum);
            b->d = tlm_x86_to_f16(df);
            side->d[i] = tlm_x86_f16(b->d);
            side->s[i] = 0.0f;
        } else {
            tlm_block_q8_1 *b = (tlm_block_q8_1 *)q + i;
            qs = b->qs;
            q8_block32(x + i * TLM_QK, qs, &df, &isum);
            b->d = tlm_x86_to_f16(df);
            b->s = tlm_x86_to_f16((float)isum * df);
            side->d[i] = tlm_x86_f16(b->d);
            side->s[i] = tlm_x86_f16(b->s);
        }
        side->sum[i] = isum;
        memcpy(side->qx + i * TLM_QK, qs, TLM_QK);
    }
}

/* ---- Float weights (F32, F16, BF16): dot-product tiles ----
 * Each output keeps one 16-lane accumulator over k, reduced at the end, so
 * its bits do not depend on the tile it is computed in: GEMV and GEMM agree
 * exactly for these types. */

INLINE __m512 load_wf(tlm_type wt, const uint8_t *row, int64_t k, __mmask16 m, bool tail) {
    switch (wt) {
    case TLM_TYPE_F16: {
        const void *p = row + 2 * k;
        __m256i h = tail ? _mm256_maskz_loadu_epi16(m, p) : _mm256_loadu_si256(p);
        return _mm512_cvtph_ps(h);
    }
    case TLM_TYPE_BF16: {
        const void *p = row + 2 * k;
        __m256i h = tail ? _mm256_maskz_loadu_epi16(m, p) : _mm256_loadu_si256(p);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    default: {
        const float *p = (const float *)(row + 4 * k);
        return tail ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
    }
    }
}

/* R rows of one token: one 16-lane accumulator per row. */
INLINE void fdot_rows(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t) {
    __m512 acc[GV_R];
    TLM_UNROLL for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps();
    const int64_t n = a->cols;
    const int es = wt == TLM_TYPE_F32 ? 4 : 2;
    const float *x = a->x + t * n;
    const uint8_t *w = a->w + (size_t)r * a->w_row_size;
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 xv = _mm512_loadu_ps(x + k);
        TLM_UNROLL for (int i = 0; i < R; i++) {
            PF_LINES(w + (i + GV_R) * a->w_row_size + k * es, 1);
            acc[i] = _mm512_fmadd_ps(load_wf(wt, w + i * a->w_row_size, k, 0, false), xv, acc[i]);
        }
    }
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
        TLM_UNROLL for (int i = 0; i < R; i++)
            acc[i] = _mm512_fmadd_ps(load_wf(wt, w + i * a->w_row_size, k, m, true), xv, acc[i]);
    }
    TLM_UNROLL for (int i = 0; i < R; i++) a->y[t * a->rows + r + i] = _mm512_reduce_add_ps(acc[i]);
}

INLINE void fdot_range(tlm_type wt, const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                       int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
        int64_t r = r0;
        for (; r + GV_R <= r1; r += GV_R) fdot_rows(wt, a, r, GV_R, t);
        for (; r < r1; r++) fdot_rows(wt, a, r, 1, t);
    }
}

static void mm_f32(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    fdot_range(TLM_TYPE_F32, a, r0, r1, t0, t1);
}
static void mm_f16(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    fdot_range(TLM_TYPE_F16, a, r0, r1, t0, t1);
}
static void mm_bf16(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    fdot_range(TLM_TYPE_BF16, a, r0, r1, t0, t1);
}

/* ---- Legacy 32-blocks, one token ---- */

typedef struct leg_layout {
    int bs;      /* block bytes */
    int qs_ofs;  /* offset of qs in the block */
    int qh_ofs;  /* offset of qh (5-bit types), else -1 */
    int m_ofs;   /* offset of the f16 minimum (Q4_1/Q5_1), else -1 */
    int off;     /* value subtracted from the stored level (0: none) */
    bool q8;     /* signed bytes, not nibbles */
} leg_layout;

INLINE leg_layout leg_of(tlm_type wt) {
    switch (wt) {
    case TLM_TYPE_Q4_0: return (leg_layout){18, 2, -1, -1, 8, false};
    case TLM_TYPE_Q4_1: return (leg_layout){20, 4, -1, 2, 0, false};
    case TLM_TYPE_Q5_0: return (leg_layout){22, 6, 2, -1, 16, false};
    case TLM_TYPE_Q5_1: return (leg_layout){24, 8, 4, 2, 0, false};
    default:            return (leg_layout){34, 2, -1, -1, 0, true};
    }
}

/* Q8_0: the signed levels of blocks b and b+1 (b+1 only if two). */
INLINE __m512i q8_pair(const uint8_t *wb, bool two) {
    __m256i lo = _mm256_loadu_si256((const __m256i *)(wb + 2));
    if (!two) return _mm512_zextsi256_si512(lo);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo),
                              _mm256_loadu_si256((const __m256i *)(wb + 34 + 2)), 1);
}

/* Loads 128 bytes from p, zero past `avail` bytes (no access there). */
INLINE void load128(const uint8_t *p, int64_t avail, __m512i *A, __m512i *B) {
    if (avail >= 128) {
        *A = _mm512_loadu_si512(p);
        *B = _mm512_loadu_si512(p + 64);
        return;
    }
    __mmask64 ma = avail >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << avail) - 1;
    __mmask64 mb = avail <= 64 ? 0 : ((__mmask64)1 << (avail - 64)) - 1;
    *A = _mm512_maskz_loadu_epi8(ma, p);
    *B = _mm512_maskz_loadu_epi8(mb, p + 64);
}

/* Word indices that pull the 16 qs bytes of 4 consecutive blocks (block
 * bytes even, so every field is word aligned) out of 128 loaded bytes. */
INLINE __m512i quad_qs_idx(const leg_layout L) {
    uint16_t v[32];
    for (int w = 0; w < 32; w++) v[w] = (uint16_t)((w / 8) * (L.bs / 2) + L.qs_ofs / 2 + w % 8);
    return _mm512_loadu_si512(v);
}

/* ... and their qh words: low halves of blocks 0-3, then high halves. */
INLINE __m512i quad_qh_idx(const leg_layout L) {
    uint16_t v[32] = {0};
    for (int w = 0; w < 8; w++) v[w] = (uint16_t)((w % 4) * (L.bs / 2) + L.qh_ofs / 2 + w / 4);
    return _mm512_loadu_si512(v);
}

/* One row, 4 blocks from wb: levels as lo/hi nibble planes, lane k of each
 * 16-byte quarter belonging to block k: [b0 b1 b2 b3] elements 0-15 (lo)
 * and 16-31 (hi).  Returns the int32 dot with the matching activations. */
INLINE __m512i nib_quad(const leg_layout L, const uint8_t *wb, int64_t avail, __m512i iq,
                        __m512i ih, __m512i xlo, __m512i xhi) {
    __m512i A, B;
    load128(wb, avail, &A, &B);
    __m512i q = _mm512_permutex2var_epi16(A, iq, B);
    const __m512i m = _mm512_set1_epi8(0x0f);
    __m512i lo = _mm512_and_si512(q, m), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m);
    if (L.qh_ofs >= 0) {
        __m128i h = _mm512_castsi512_si128(_mm512_permutex2var_epi16(A, ih, B));
        lo = _mm512_mask_add_epi8(lo, (__mmask64)_mm_cvtsi128_si64(h), lo, _mm512_set1_epi8(16));
        hi = _mm512_mask_add_epi8(hi, (__mmask64)_mm_extract_epi64(h, 1), hi, _mm512_set1_epi8(16));
    }
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xlo), hi, xhi);
}

INLINE void leg_gemv_rows(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t) {
    const leg_layout L = leg_of(wt);
    const int64_t nb = a->nb32;
    const int8_t *qx = a->qx + t * a->cols;
    const float *dy = a->qd + t * nb;
    const int32_t *xsum = a->qsum + t * nb;
    const float *sy = a->qs + t * nb;
    const uint8_t *w = a->w + (size_t)r * a->w_row_size;
    const int64_t rsz = (int64_t)a->w_row_size;
    const __m512i gidx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(L.bs));
    const __m512i pbase = L.q8 ? _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
                               : _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m512i iq = quad_qs_idx(L), ih = L.qh_ofs >= 0 ? quad_qh_idx(L) : iq;
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    __m512 acc[8], cor[8];
    TLM_UNROLL for (int i = 0; i < R; i++) acc[i] = cor[i] = _mm512_setzero_ps();

    for (int64_t b0 = 0; b0 < nb; b0 += 16) {
        int nblk = (int)TLM_MIN(16, nb - b0);
        __mmask16 km = (__mmask16)((1u << nblk) - 1);
        __m512 dyv = _mm512_maskz_loadu_ps(km, dy + b0);
        __m512 sc[8];
        TLM_UNROLL for (int i = 0; i < R; i++) {
            const uint8_t *base = w + i * a->w_row_size + b0 * L.bs;
            __m512i g = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), km, gidx, base, 1);
            sc[i] = _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(g)), dyv);
            if (L.off) {
                __m512 xs = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(km, xsum + b0));
                cor[i] = _mm512_fmadd_ps(sc[i], xs, cor[i]);
            } else if (L.m_ofs >= 0) {
                __m512i gm = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), km, gidx,
                                                         base + L.m_ofs, 1);
                __m512 mw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(gm));
                cor[i] = _mm512_fmadd_ps(mw, _mm512_maskz_loadu_ps(km, sy + b0), cor[i]);
            }
        }
        if (L.q8) {
            for (int p = 0; 2 * p < nblk; p++) {
                const bool two = 2 * p + 1 < nblk;
                const int64_t b = b0 + 2 * p;
                __m512i xv = _mm512_maskz_loadu_epi8(two ? ~(__mmask64)0 : 0xffffffffu, qx + 32 * b);
                xv = _mm512_xor_si512(xv, bias);
                __m512i pidx = _mm512_add_epi32(pbase, _mm512_set1_epi32(2 * p));
                TLM_UNROLL for (int i = 0; i < R; i++) {
                    PF_LINES(w + (i + GV_R) * a->w_row_size + b * 34, 2);
                    __m512i wv = q8_pair(w + i * a->w_row_size + b * 34, two);
                    __m512i d = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), xv, wv),
                                                 _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, wv));
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d),
                                             _mm512_permutexvar_ps(pidx, sc[i]), acc[i]);
                }
            }
            continue;
        }
        for (int p = 0; 4 * p < nblk; p++) {
            const int64_t b = b0 + 4 * p;
            int64_t xav = TLM_MIN(128, 32 * (nb - b));
            __m512i XA, XB;
            load128((const uint8_t *)(qx + 32 * b), xav, &XA, &XB);
            __m512i xlo = _mm512_shuffle_i64x2(XA, XB, 0x88), xhi = _mm512_shuffle_i64x2(XA, XB, 0xdd);
            __m512i pidx = _mm512_add_epi32(pbase, _mm512_set1_epi32(4 * p));
            TLM_UNROLL for (int i = 0; i < R; i++) {
                PF_LINES(w + (i + GV_R) * a->w_row_size + b * L.bs, 2);
                __m512i d = nib_quad(L, w + i * a->w_row_size + b * L.bs, rsz - b * L.bs, iq, ih,
                                     xlo, xhi);
                acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_permutexvar_ps(pidx, sc[i]),
                                         acc[i]);
            }
        }
    }
    TLM_UNROLL for (int i = 0; i < R; i++) {
        float v = _mm512_reduce_add_ps(acc[i]), c = _mm512_reduce_add_ps(cor[i]);
        a->y[t * a->rows + r + i] = L.off ? v - (float)L.off * c : v + c;
    }
}

#define LEG_GEMV(name, T)                                                                   \
    static void name(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) { \
        for (int64_t t = t0; t < t1; t++) {                                                 \
            int64_t r = r0;                                                                 \
            for (; r + GV_R <= r1; r += GV_R) leg_gemv_rows(T, a, r, GV_R, t);             \
            for (; r < r1; r++) leg_gemv_rows(T, a, r, 1, t);                               \
        }                                                                                   \
    }
LEG_GEMV(gemv_q4_0, TLM_TYPE_Q4_0)
LEG_GEMV(gemv_q4_1, TLM_TYPE_Q4_1)
LEG_GEMV(gemv_q5_0, TLM_TYPE_Q5_0)
LEG_GEMV(gemv_q5_1, TLM_TYPE_Q5_1)
LEG_GEMV(gemv_q8_0, TLM_TYPE_Q8_0)

/* ---- K-quants, one token ---- */

/* The 8 six-bit scales and mins of a Q4_K/Q5_K block as bytes. */
INLINE void k4_scales(const uint8_t *s, uint64_t *sc, uint64_t *mn) {
    uint32_t A = tlm_x86_load_u32(s), B = tlm_x86_load_u32(s + 4), C = tlm_x86_load_u32(s + 8);
    uint32_t sc_lo = A & 0x3f3f3f3fu, sc_hi = (C & 0x0f0f0f0fu) | ((A >> 6) & 0x03030303u) << 4;
    uint32_t m_lo = B & 0x3f3f3f3fu, m_hi = ((C >> 4) & 0x0f0f0f0fu) | ((B >> 6) & 0x03030303u) << 4;
    *sc = sc_lo | (uint64_t)sc_hi << 32;
    *mn = m_lo | (uint64_t)m_hi << 32;
}

/* Word-permute indices that spread scale j over the 16 words of a group. */
INLINE __m512i word_idx(int first, int per) {
    uint16_t v[32];
    for (int i = 0; i < 32; i++) v[i] = (uint16_t)(first + i / per);
    return _mm512_loadu_si512(v);
}

INLINE void k4_gemv_rows(bool q5, const tlm_mm_args *a, int64_t r, int R, int64_t t) {
    const int bs = q5 ? 176 : 144, qs_ofs = q5 ? 48 : 16;
    const int64_t nsb = a->cols / TLM_QK_K;
    const tlm_block_q8_K *xb = (const tlm_block_q8_K *)(a->q + (size_t)t * a->q_row_size);
    const uint8_t *w = a->w + (size_t)r * a->w_row_size;
    __m512i idx[4];
    TLM_UNROLL for (int c = 0; c < 4; c++) idx[c] = word_idx(2 * c, 16);
    __m512 acc[GV_R];
    __m256 macc[GV_R];
    TLM_UNROLL for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps(), macc[i] = _mm256_setzero_ps();
    for (int64_t s = 0; s < nsb; s++) {
        __m512i x[4];
        TLM_UNROLL for (int c = 0; c < 4; c++) x[c] = _mm512_loadu_si512(xb[s].qs + 64 * c);
        __m256i bsums = _mm256_loadu_si256((const __m256i *)xb[s].bsums);
        const float dy = xb[s].d;
        TLM_UNROLL for (int i = 0; i < R; i++) {
            const uint8_t *blk = w + i * a->w_row_size + s * bs;
            PF_LINES(blk + GV_R * a->w_row_size, 3);
            uint64_t sc8, mn8;
            k4_scales(blk + 4, &sc8, &mn8);
            __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
            __m128i mw = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
            __m256i h = q5 ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
            __m512i iacc = _mm512_setzero_si512();
            TLM_UNROLL for (int c = 0; c < 4; c++) {
                __m256i y = _mm256_loadu_si256((const __m256i *)(blk + qs_ofs + 32 * c));
                __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(y), _mm256_srli_epi16(y, 4), 1);
                z = _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
                if (q5) {
                    __mmask32 m1 = _mm256_test_epi8_mask(h, _mm256_set1_epi8((char)(1 << (2 * c))));
                    __mmask32 m2 = _mm256_test_epi8_mask(h, _mm256_set1_epi8((char)(1 << (2 * c + 1))));
                    z = _mm512_mask_add_epi8(z, _mm512_kunpackd(m2, m1), z, _mm512_set1_epi8(16));
                }
                __m512i prod = _mm512_maddubs_epi16(z, x[c]);
                iacc = _mm512_dpwssd_epi32(iacc, prod, _mm512_permutexvar_epi16(idx[c], sc16));
            }
            __m256i mpair = _mm256_set_m128i(_mm_unpackhi_epi16(mw, mw), _mm_unpacklo_epi16(mw, mw));
            __m256i mins = _mm256_madd_epi16(mpair, bsums);
            float d = tlm_x86_f16(*(const tlm_f16 *)blk) * dy;
            float dmin = tlm_x86_f16(*(const tlm_f16 *)(blk + 2)) * dy;
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc), _mm512_set1_ps(d), acc[i]);
            macc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dmin), macc[i]);
        }
    }
    TLM_UNROLL for (int i = 0; i < R; i++)
        a->y[t * a->rows + r + i] = _mm512_reduce_add_ps(acc[i]) - tlm_x86_hsum256(macc[i]);
}

INLINE void q6_gemv_rows(const tlm_mm_args *a, int64_t r, int R, int64_t t) {
    const int64_t nsb = a->cols / TLM_QK_K;
    const tlm_block_q8_K *xb = (const tlm_block_q8_K *)(a->q + (size_t)t * a->q_row_size);
    const uint8_t *w = a->w + (size_t)r * a->w_row_size;
    __m512i idx[4];
    TLM_UNROLL for (int c = 0; c < 4; c++) idx[c] = word_idx(4 * c, 8);
    const __m512i shl = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i shr = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    const __m512i m0f = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    __m512 acc[GV_R];
    TLM_UNROLL for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps();
    for (int64_t s = 0; s < nsb; s++) {
        __m512i x[4];
        TLM_UNROLL for (int c = 0; c < 4; c++) x[c] = _mm512_loadu_si512(xb[s].qs + 64 * c);
        __m256i bsums = _mm256_loadu_si256((const __m256i *)xb[s].bsums);
        const float dy = xb[s].d;
        TLM_UNROLL for (int i = 0; i < R; i++) {
            const tlm_block_q6_K *blk = (const tlm_block_q6_K *)(w + i * a->w_row_size) + s;
            PF_LINES((const uint8_t *)blk + GV_R * a->w_row_size, 4);
            __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)blk->scales));
            __m512i sc16 = _mm512_castsi256_si512(sc);
            __m512i iacc = _mm512_setzero_si512();
            TLM_UNROLL for (int h = 0; h < 2; h++) {
                __m512i ql = _mm512_loadu_si512(blk->ql + 64 * h);
                __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk->qh + 32 * h)));
                __m512i hl = _mm512_and_si512(_mm512_sllv_epi16(qh, shl), m30);
                __m512i hh = _mm512_and_si512(_mm512_srlv_epi16(qh, shr), m30);
                __m512i lo = _mm512_ternarylogic_epi32(ql, m0f, hl, 0xea); /* (ql & m) | hl */
                __m512i hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(ql, 4), m0f, hh, 0xea);
                iacc = _mm512_dpwssd_epi32(iacc, _mm512_maddubs_epi16(lo, x[2 * h]),
                                           _mm512_permutexvar_epi16(idx[2 * h], sc16));
                iacc = _mm512_dpwssd_epi32(iacc, _mm512_maddubs_epi16(hi, x[2 * h + 1]),
                                           _mm512_permutexvar_epi16(idx[2 * h + 1], sc16));
            }
            /* The stored levels are q + 32: take 32 * sum(sc_j * bsum_j) off. */
            __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc, bsums), 5);
            iacc = _mm512_sub_epi32(iacc, _mm512_zextsi256_si512(off));
            float d = tlm_x86_f16(blk->d) * dy;
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc), _mm512_set1_ps(d), acc[i]);
        }
    }
    TLM_UNROLL for (int i = 0; i < R; i++) a->y[t * a->rows + r + i] = _mm512_reduce_add_ps(acc[i]);
}

#define ROWS8(call_rows)                                                                    \
    for (int64_t t = t0; t < t1; t++) {                                                     \
        int64_t r = r0;                                                                     \
        for (; r + GV_R <= r1; r += GV_R) call_rows(GV_R);                                  \
        for (; r < r1; r++) call_rows(1);                                                   \
    }

static void gemv_q4_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define CALL(R) k4_gemv_rows(false, a, r, R, t)
    ROWS8(CALL)
#undef CALL
}
static void gemv_q5_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define CALL(R) k4_gemv_rows(true, a, r, R, t)
    ROWS8(CALL)
#undef CALL
}
static void gemv_q6_K(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define CALL(R) q6_gemv_rows(a, r, R, t)
    ROWS8(CALL)
#undef CALL
}

const tlm_mm_kernels tlm_mm_kernels_avx512 = {
    .quant_act = quant_act,
    .prep_gemm = tlm_mm_avx512_prep,
    .gemv = {
        [TLM_TYPE_F32] = mm_f32, [TLM_TYPE_F16] = mm_f16, [TLM_TYPE_BF16] = mm_bf16,
        [TLM_TYPE_Q4_0] = gemv_q4_0, [TLM_TYPE_Q4_1] = gemv_q4_1, [TLM_TYPE_Q5_0] = gemv_q5_0,
        [TLM_TYPE_Q5_1] = gemv_q5_1, [TLM_TYPE_Q8_0] = gemv_q8_0,
        [TLM_TYPE_Q4_K] = gemv_q4_K, [TLM_TYPE_Q5_K] = gemv_q5_K, [TLM_TYPE_Q6_K] = gemv_q6_K,
        /* Rare types: the AVX2 kernels (they run here too) are fast enough. */
        [TLM_TYPE_Q2_K] = tlm_mm_avx2_q2_K, [TLM_TYPE_Q3_K] = tlm_mm_avx2_q3_K,
    },
    .gemm = {
        [TLM_TYPE_F32] = tlm_mm_avx512_gemm_float, [TLM_TYPE_F16] = tlm_mm_avx512_gemm_float,
        [TLM_TYPE_BF16] = tlm_mm_avx512_gemm_float,
        [TLM_TYPE_Q4_0] = tlm_mm_avx512_gemm_legacy, [TLM_TYPE_Q4_1] = tlm_mm_avx512_gemm_legacy,
        [TLM_TYPE_Q5_0] = tlm_mm_avx512_gemm_legacy, [TLM_TYPE_Q5_1] = tlm_mm_avx512_gemm_legacy,
        [TLM_TYPE_Q8_0] = tlm_mm_avx512_gemm_legacy,
        [TLM_TYPE_Q2_K] = tlm_mm_avx512_gemm_k, [TLM_TYPE_Q3_K] = tlm_mm_avx512_gemm_k,
        [TLM_TYPE_Q4_K] = tlm_mm_avx512_gemm_k, [TLM_TYPE_Q5_K] = tlm_mm_avx512_gemm_k,
        [TLM_TYPE_Q6_K] = tlm_mm_avx512_gemm_k,
    },
};
