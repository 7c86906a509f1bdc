/*
 * matmul_avx2.c - AVX2 + FMA + F16C kernels: activation quantizers and the
 * products of every weight type with a fast path, for CPUs without
 * AVX-512.
 *
 * One kernel shape serves both one and many tokens: a tile of up to 4 rows
 * x 3 tokens walks the blocks of W once, unpacks each row's block a single
 * time and multiplies it with every token of the tile, so a many-token
 * product reads W once per 3 tokens (from cache) instead of once per token.
 * Integer dot products use vpmaddubsw (u8 x s8 pairs) and vpmaddwd; the
 * unsigned side is always a level that cannot saturate the 16-bit pair sum
 * (nibbles, 5- and 6-bit levels, or |w| with the sign moved onto x for
 * Q8_0).  Each block then adds its float contribution in lanes, so results
 * differ from the scalar reference by summation order only.  The quantized
 * tiles live in matmul_quant_avx2.c.
 */
#include "tensor/matmul_avx2.h"

#include "core/util.h"
#include "tensor/quant.h"
#include "tensor/simd_x86.h"

#include <math.h>
#include <stdbool.h>

#define INLINE static inline __attribute__((always_inline))
#define TR 4 /* rows per tile */
#define TT 3 /* tokens per tile */

/* ---- Activation quantizers (bit-exact with quant.h) ---- */

INLINE __m256 round_away8(__m256 v) {
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
    __m256 ge = _mm256_cmp_ps(r, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    __m256 one = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(ge, one));
}

/* NaN -> 0, clamp to +-127, roundf, as int32. */
INLINE __m256i q8_lanes(__m256 v) {
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
    return _mm256_cvttps_epi32(round_away8(v));
}

INLINE float absmax8(const __m256 *v, int n) {
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < n; i++) m = _mm256_max_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), v[i]), m);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}

INLINE int hsum_i32(__m256i v) {
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    h = _mm_add_epi32(h, _mm_unpackhi_epi64(h, h));
    return _mm_cvtsi128_si32(_mm_add_epi32(h, _mm_shuffle_epi32(h, 1)));
}

/* Four int32 vectors (32 values in -127..127) to 32 bytes in order. */
INLINE __m256i pack_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i v = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void q8_block32(const float *x, int8_t *qs, float *d_out, int *sum_out) {
    __m256 v[4];
    for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + 8 * i);
    float d = absmax8(v, 4) / 127.0f;
    __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    __m256i q[4];
    for (int i = 0; i < 4; i++) q[i] = q8_lanes(_mm256_mul_ps(v[i], id));
    _mm256_storeu_si256((__m256i *)qs, pack_i8(q[0], q[1], q[2], q[3]));
    *sum_out = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    *d_out = d;
}

static void q8_K_block(const float *x, tlm_block_q8_K *b) {
    __m256 v[32];
    for (int i = 0; i < 32; i++) v[i] = _mm256_loadu_ps(x + 8 * i);
    float amax = absmax8(v, 32);
    if (!(amax > 0.0f)) {
        memset(b, 0, sizeof *b);
        return;
    }
    float max = 0.0f;
    for (int i = 0; i < 256; i++)
        if (fabsf(x[i]) == amax) {
            max = x[i];
            break;
        }
    float iscale = -127.0f / max;
    __m256 vs = _mm256_set1_ps(iscale);
    for (int g = 0; g < 8; g++) {
        __m256i q[4];
        for (int i = 0; i < 4; i++) {
            /* cvtps rounds to nearest even; NaN gives INT_MIN, clamped. */
            q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[4 * g + i], vs));
            q[i] = _mm256_min_epi32(_mm256_max_epi32(q[i], _mm256_set1_epi32(-127)), _mm256_set1_epi32(127));
        }
        _mm256_storeu_si256((__m256i *)(b->qs + 32 * g), pack_i8(q[0], q[1], q[2], q[3]));
        b->bsums[2 * g] = (int16_t)hsum_i32(_mm256_add_epi32(q[0], q[1]));
        b->bsums[2 * g + 1] = (int16_t)hsum_i32(_mm256_add_epi32(q[2], q[3]));
    }
    b->d = 1.0f / iscale;
}

static void quant_act(tlm_type act, const float *x, int64_t n, uint8_t *q,
                      const tlm_act_side *side) {
    if (act == TLM_TYPE_Q8_K) {
        for (int64_t i = 0; i < n / TLM_QK_K; i++) q8_K_block(x + i * TLM_QK_K, (tlm_block_q8_K *)q + i);
        return;
    }
    const bool q81 = act == TLM_TYPE_Q8_1;
    for (int64_t i = 0; i < n / TLM_QK; i++) {
        float df;
        int isum;
        tlm_block_q8_0 *b0 = (tlm_block_q8_0 *)q + i;
        tlm_block_q8_1 *b1 = (tlm_block_q8_1 *)q + i;
        int8_t *qs = q81 ? b1->qs : b0->qs;
        q8_block32(x + i * TLM_QK, qs, &df, &isum);
        tlm_f16 d16 = tlm_x86_to_f16(df);
        if (q81) {
            b1->d = d16;
            b1->s = tlm_x86_to_f16((float)isum * df);
            side->s[i] = tlm_x86_f16(b1->s);
        } else {
            b0->d = d16;
            side->s[i] = 0.0f;
        }
        side->d[i] = tlm_x86_f16(d16);
        side->sum[i] = isum;
        memcpy(side->qx + i * TLM_QK, qs, TLM_QK);
    }
}

/* ---- Float weights: dot-product tiles (bits independent of the tile) ---- */

INLINE __m256 load_wf(tlm_type wt, const uint8_t *row, int64_t k) {
    if (wt == TLM_TYPE_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * k)));
    if (wt == TLM_TYPE_BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + 2 * k))), 16));
    return _mm256_loadu_ps((const float *)(row + 4 * k));
}

INLINE float load_wf1(tlm_type wt, const uint8_t *row, int64_t k) {
    tlm_f16 h;
    memcpy(&h, row + 2 * k, 2);
    if (wt == TLM_TYPE_F16) return tlm_x86_f16(h);
    if (wt == TLM_TYPE_BF16) return tlm_bf16_to_f32(h);
    float f;
    memcpy(&f, row + 4 * k, 4);
    return f;
}

INLINE void fdot_tile(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t, int T) {
    __m256 acc[TR][TT];
    TLM_UNROLL for (int i = 0; i < R; i++) TLM_UNROLL for (int j = 0; j < T; j++) acc[i][j] = _mm256_setzero_ps();
    const int64_t n = a->cols, n8 = n & ~(int64_t)7;
    const int es = wt == TLM_TYPE_F32 ? 4 : 2;
    const float *x = a->x + t * n;
    const uint8_t *w = a->w + (size_t)r * a->w_row_size;
    for (int64_t k = 0; k < n8; k += 8) {
        __m256 xv[TT];
        TLM_UNROLL for (int j = 0; j < T; j++) xv[j] = _mm256_loadu_ps(x + j * n + k);
        TLM_UNROLL for (int i = 0; i < R; i++) {
            /* Next tile's rows: more lines in flight (see matmul_avx512.c). */
            _mm_prefetch((const char *)(w + (i + TR) * a->w_row_size + k * es), _MM_HINT_T0);
            __m256 wv = load_wf(wt, w + i * a->w_row_size, k);
            TLM_UNROLL for (int j = 0; j < T; j++) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    TLM_UNROLL for (int i = 0; i < R; i++) TLM_UNROLL for (int j = 0; j < T; j++) {
        float s = tlm_x86_hsum256(acc[i][j]);
        for (int64_t k = n8; k < n; k++) s = fmaf(load_wf1(wt, w + i * a->w_row_size, k), x[j * n + k], s);
        a->y[(t + j) * a->rows + r + i] = s;
    }
}

static void mm_f32(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define FT(R, T) fdot_tile(TLM_TYPE_F32, a, r, R, t, T)
    TLM_AVX2_TILE_WALK(TR, TT, FT)
#undef FT
}

static void mm_f16(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define FT(R, T) fdot_tile(TLM_TYPE_F16, a, r, R, t, T)
    TLM_AVX2_TILE_WALK(TR, TT, FT)
#undef FT
}

static void mm_bf16(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
#define FT(R, T) fdot_tile(TLM_TYPE_BF16, a, r, R, t, T)
    TLM_AVX2_TILE_WALK(TR, TT, FT)
#undef FT
}

const tlm_mm_kernels tlm_mm_kernels_avx2 = {
    .quant_act = quant_act,
    .prep_gemm = NULL,
    .gemv = {
        [TLM_TYPE_F32] = mm_f32, [TLM_TYPE_F16] = mm_f16, [TLM_TYPE_BF16] = mm_bf16,
        [TLM_TYPE_Q4_0] = tlm_mm_avx2_q4_0, [TLM_TYPE_Q4_1] = tlm_mm_avx2_q4_1,
        [TLM_TYPE_Q5_0] = tlm_mm_avx2_q5_0, [TLM_TYPE_Q5_1] = tlm_mm_avx2_q5_1,
        [TLM_TYPE_Q8_0] = tlm_mm_avx2_q8_0, [TLM_TYPE_Q4_K] = tlm_mm_avx2_q4_K,
        [TLM_TYPE_Q5_K] = tlm_mm_avx2_q5_K, [TLM_TYPE_Q6_K] = tlm_mm_avx2_q6_K,
        [TLM_TYPE_Q2_K] = tlm_mm_avx2_q2_K, [TLM_TYPE_Q3_K] = tlm_mm_avx2_q3_K,
    },
    .gemm = {
        [TLM_TYPE_F32] = mm_f32, [TLM_TYPE_F16] = mm_f16, [TLM_TYPE_BF16] = mm_bf16,
        [TLM_TYPE_Q4_0] = tlm_mm_avx2_q4_0, [TLM_TYPE_Q4_1] = tlm_mm_avx2_q4_1,
        [TLM_TYPE_Q5_0] = tlm_mm_avx2_q5_0, [TLM_TYPE_Q5_1] = tlm_mm_avx2_q5_1,
        [TLM_TYPE_Q8_0] = tlm_mm_avx2_q8_0, [TLM_TYPE_Q4_K] = tlm_mm_avx2_q4_K,
        [TLM_TYPE_Q5_K] = tlm_mm_avx2_q5_K, [TLM_TYPE_Q6_K] = tlm_mm_avx2_q6_K,
        [TLM_TYPE_Q2_K] = tlm_mm_avx2_q2_K, [TLM_TYPE_Q3_K] = tlm_mm_avx2_q3_K,
    },
};
