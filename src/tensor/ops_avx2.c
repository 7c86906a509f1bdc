/*
 * ops_avx2.c - AVX2 + FMA + F16C versions of the operator inner loops
 * (ops_kernels.h).  exp follows the scalar polynomial operation for
 * operation; 2^n is applied in two exact steps so n = 128 cannot overflow
 * the exponent field.
 */
#include "tensor/ops_kernels.h"

#include <immintrin.h>
#include <stdbool.h>
#include <math.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

/* Loads n < 8 floats, zero-filling the rest. */
INLINE __m256 load_part(const float *p, int64_t n) {
    float t[8] = {0};
    memcpy(t, p, sizeof(float) * (size_t)n);
    return _mm256_loadu_ps(t);
}

INLINE void store_part(float *p, __m256 v, int64_t n) {
    float t[8];
    _mm256_storeu_ps(t, v);
    memcpy(p, t, sizeof(float) * (size_t)n);
}

INLINE __m256 pow2i(__m256i e) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

INLINE __m256 exp8(__m256 x) {
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(TLM_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(TLM_LN2_HI)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(TLM_LN2_LO)));
    __m256 p = _mm256_set1_ps(TLM_EXP_P0);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(TLM_EXP_P1));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(TLM_EXP_P2));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(TLM_EXP_P3));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(TLM_EXP_P4));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(TLM_EXP_P5));
    p = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, _mm256_mul_ps(r, r)), r), _mm256_set1_ps(1.0f));
    /* Clamp n so NaN/huge lanes give a harmless exponent; fixed below. */
    __m256 nc = _mm256_min_ps(_mm256_max_ps(n, _mm256_set1_ps(-126.0f)), _mm256_set1_ps(128.0f));
    __m256i ni = _mm256_cvtps_epi32(nc), n1 = _mm256_srai_epi32(ni, 1);
    __m256 res = _mm256_mul_ps(_mm256_mul_ps(p, pow2i(n1)), pow2i(_mm256_sub_epi32(ni, n1)));
    res = _mm256_blendv_ps(res, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(TLM_EXP_HI), _CMP_GT_OQ));
    res = _mm256_blendv_ps(res, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(TLM_EXP_LO), _CMP_LT_OQ));
    return _mm256_blendv_ps(res, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); /* NaN stays NaN */
}

static void f16_to_f32(const tlm_f16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    if (i < n) {
        uint16_t t[8] = {0};
        memcpy(t, src + i, sizeof(uint16_t) * (size_t)(n - i));
        store_part(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)t)), n - i);
    }
}

static float dot(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i < n; i += 8) {
        int64_t k = n - i < 8 ? n - i : 8;
        s0 = _mm256_fmadd_ps(load_part(a + i, k), load_part(b + i, k), s0);
    }
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

static void axpy(float *y, float a, const float *x, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    for (int64_t i = 0; i < n; i += 8) {
        int64_t k = n - i < 8 ? n - i : 8;
        store_part(y + i, _mm256_fmadd_ps(va, load_part(x + i, k), load_part(y + i, k)), k);
    }
}

static void scale(float *y, float s, int64_t n) {
    __m256 vs = _mm256_set1_ps(s);
    for (int64_t i = 0; i < n; i += 8) {
        int64_t k = n - i < 8 ? n - i : 8;
        store_part(y + i, _mm256_mul_ps(load_part(y + i, k), vs), k);
    }
}

INLINE void act_mul(bool gelu, float *y, const float *g, const float *u, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 8) {
        int64_t k = n - i < 8 ? n - i : 8;
        __m256 x = load_part(g + i, k), e;
        if (gelu) {
            __m256 c = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(TLM_GELU_C), x), x), x);
            __m256 z = _mm256_mul_ps(_mm256_set1_ps(TLM_GELU_K), _mm256_add_ps(x, c));
            e = exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f), z));
        } else {
            e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
        }
        __m256 v = _mm256_div_ps(x, _mm256_add_ps(one, e));
        if (u) v = _mm256_mul_ps(v, load_part(u + i, k));
        store_part(y + i, v, k);
    }
}

static void silu_mul(float *y, const float *g, const float *u, int64_t n) { act_mul(false, y, g, u, n); }
static void gelu_mul(float *y, const float *g, const float *u, int64_t n) { act_mul(true, y, g, u, n); }

static double exp_sub(float *x, float mx, int64_t n) {
    __m256 vm = _mm256_set1_ps(mx);
    __m256d s = _mm256_setzero_pd();
    for (int64_t i = 0; i < n; i += 8) {
        int64_t k = n - i < 8 ? n - i : 8;
        float t[8] = {0};
        __m256 e = exp8(_mm256_sub_ps(load_part(x + i, k), vm));
        _mm256_storeu_ps(t, e);
        for (int64_t j = k; j < 8; j++) t[j] = 0.0f;
        memcpy(x + i, t, sizeof(float) * (size_t)k);
        e = _mm256_loadu_ps(t);
        s = _mm256_add_pd(s, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)),
                                           _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1))));
    }
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

static uint64_t read_sum(const uint64_t *p, int64_t n) {
    int64_t q = n / 4;
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = 0; i < q; i += 4) {
        s0 = _mm256_add_epi64(s0, _mm256_loadu_si256((const __m256i *)(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_loadu_si256((const __m256i *)(p + q + i)));
        s2 = _mm256_add_epi64(s2, _mm256_loadu_si256((const __m256i *)(p + 2 * q + i)));
        s3 = _mm256_add_epi64(s3, _mm256_loadu_si256((const __m256i *)(p + 3 * q + i)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return (uint64_t)_mm_cvtsi128_si64(_mm_add_epi64(h, _mm_unpackhi_epi64(h, h)));
}

/* One query x keys [c0, c0 + 32): four accumulators, FMAs over d in
 * order (kt's columns up to ld are readable; ld is a multiple of 16). */
static void scores_t(float *s, int64_t lds, const float *q, int64_t ldq, int64_t nq,
                     const float *kt, int64_t ld, int64_t m, int64_t hd, float scale) {
    const __m256 vs = _mm256_set1_ps(scale);
    for (int64_t i = 0; i < nq; i++)
        for (int64_t c0 = 0; c0 < m; c0 += 32) {
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                             _mm256_setzero_ps()};
            int nv = (int)((m - c0 + 7) / 8 < 4 ? (m - c0 + 7) / 8 : 4);
            for (int64_t d = 0; d < hd; d++) {
                __m256 qb = _mm256_set1_ps(q[i * ldq + d]);
                for (int v = 0; v < nv; v++)
                    acc[v] = _mm256_fmadd_ps(qb, _mm256_loadu_ps(kt + d * ld + c0 + 8 * v), acc[v]);
            }
            for (int v = 0; v < nv; v++) {
                int64_t left = m - c0 - 8 * v;
                store_part(s + i * lds + c0 + 8 * v, _mm256_mul_ps(acc[v], vs),
                           left < 8 ? left : 8);
            }
        }
}

static void axpy_rows(float *o, const float *p, const float *v, int64_t m, int64_t hd) {
    for (int64_t c = 0; c < m; c++) axpy(o, p[c], v + c * hd, hd);
}

const tlm_ops_kernels tlm_ops_kernels_avx2 = {
    f16_to_f32, dot, axpy, scale, silu_mul, gelu_mul, exp_sub, scores_t, axpy_rows, read_sum,
};
