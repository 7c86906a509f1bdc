/*
 * ops_avx512.c - AVX-512 versions of the operator inner loops
 * (ops_kernels.h).  exp follows the scalar polynomial operation for
 * operation (no fused multiply-adds), so activations agree with the scalar
 * path; dot products sum in 16 lanes.
 */
#include "tensor/ops_kernels.h"
#include "tensor/simd_x86.h"

#include <immintrin.h>
#include <stdbool.h>
#include <math.h>

#define INLINE static inline __attribute__((always_inline))

INLINE __mmask16 tail_mask(int64_t n) { return (__mmask16)((1u << n) - 1); }

INLINE __m512 exp16(__m512 x) {
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(TLM_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(TLM_LN2_HI)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(TLM_LN2_LO)));
    __m512 p = _mm512_set1_ps(TLM_EXP_P0);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(TLM_EXP_P1));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(TLM_EXP_P2));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(TLM_EXP_P3));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(TLM_EXP_P4));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(TLM_EXP_P5));
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, _mm512_mul_ps(r, r)), r), _mm512_set1_ps(1.0f));
    __m512 res = _mm512_scalef_ps(p, n);
    res = _mm512_mask_mov_ps(res, _mm512_cmp_ps_mask(x, _mm512_set1_ps(TLM_EXP_HI), _CMP_GT_OQ),
                             _mm512_set1_ps(INFINITY));
    return _mm512_mask_mov_ps(res, _mm512_cmp_ps_mask(x, _mm512_set1_ps(TLM_EXP_LO), _CMP_LT_OQ),
                              _mm512_setzero_ps());
}

static void f16_to_f32(const tlm_f16 *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}

static float dot(const float *a, const float *b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static void axpy(float *y, float a, const float *x, int64_t n) {
    __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        __m512 v = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static void scale(float *y, float s, int64_t n) {
    __m512 vs = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), vs));
    }
}

INLINE void act_mul(bool gelu, float *y, const float *g, const float *u, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        __m512 x = _mm512_maskz_loadu_ps(m, g + i), e;
        if (gelu) {
            __m512 c = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(TLM_GELU_C), x), x), x);
            __m512 z = _mm512_mul_ps(_mm512_set1_ps(TLM_GELU_K), _mm512_add_ps(x, c));
            e = exp16(_mm512_mul_ps(_mm512_set1_ps(-2.0f), z));
        } else {
            e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
        }
        __m512 v = _mm512_div_ps(x, _mm512_add_ps(one, e));
        if (u) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, u + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static void silu_mul(float *y, const float *g, const float *u, int64_t n) { act_mul(false, y, g, u, n); }
static void gelu_mul(float *y, const float *g, const float *u, int64_t n) { act_mul(true, y, g, u, n); }

static double exp_sub(float *x, float mx, int64_t n) {
    __m512 vm = _mm512_set1_ps(mx);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vm));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(x + i, m, e);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

static uint64_t read_sum(const uint64_t *p, int64_t n) {
    int64_t q = n / 4;
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = 0; i < q; i += 8) {
        s0 = _mm512_add_epi64(s0, _mm512_loadu_si512(p + i));
        s1 = _mm512_add_epi64(s1, _mm512_loadu_si512(p + q + i));
        s2 = _mm512_add_epi64(s2, _mm512_loadu_si512(p + 2 * q + i));
        s3 = _mm512_add_epi64(s3, _mm512_loadu_si512(p + 3 * q + i));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
}

/* Queries [0, NI) x keys [c0, c0 + 16 NV): one accumulator per query and
 * key vector, FMAs over d in order; stores the first m - c0 keys. */
INLINE void qk_tile(float *s, int64_t lds, const float *q, int64_t ldq, int NI, const float *kt,
                    int64_t ld, int64_t c0, int NV, int64_t m, int64_t hd, float scale) {
    __m512 acc[4][4], k[4];
    TLM_UNROLL for (int i = 0; i < 4; i++) TLM_UNROLL for (int v = 0; v < 4; v++)
        acc[i][v] = _mm512_setzero_ps();
    for (int64_t d = 0; d < hd; d++) {
        TLM_UNROLL for (int v = 0; v < NV; v++) k[v] = _mm512_loadu_ps(kt + d * ld + c0 + 16 * v);
        TLM_UNROLL for (int i = 0; i < NI; i++) {
            __m512 qb = _mm512_set1_ps(q[i * ldq + d]);
            TLM_UNROLL for (int v = 0; v < NV; v++)
                acc[i][v] = _mm512_fmadd_ps(qb, k[v], acc[i][v]);
        }
    }
    const __m512 vs = _mm512_set1_ps(scale);
    TLM_UNROLL for (int v = 0; v < NV; v++) {
        int64_t left = m - c0 - 16 * v;
        __mmask16 mk = tail_mask(left < 16 ? left : 16);
        TLM_UNROLL for (int i = 0; i < NI; i++)
            _mm512_mask_storeu_ps(s + i * lds + c0 + 16 * v, mk, _mm512_mul_ps(acc[i][v], vs));
    }
}

/* Tiles of 4 queries x 64 keys (16 accumulators; a key vector serves four
 * queries), narrower at the edges. */
static void scores_t(float *s, int64_t lds, const float *q, int64_t ldq, int64_t nq,
                     const float *kt, int64_t ld, int64_t m, int64_t hd, float scale) {
    for (int64_t c0 = 0; c0 < m; c0 += 64) {
        int nv = (int)((m - c0 + 15) / 16 < 4 ? (m - c0 + 15) / 16 : 4);
        int64_t i = 0;
        for (; i + 4 <= nq; i += 4) {
            float *si = s + i * lds;
            const float *qi = q + i * ldq;
            if (nv == 4) qk_tile(si, lds, qi, ldq, 4, kt, ld, c0, 4, m, hd, scale);
            else qk_tile(si, lds, qi, ldq, 4, kt, ld, c0, nv, m, hd, scale);
        }
        for (; i < nq; i++)
            qk_tile(s + i * lds, lds, q + i * ldq, ldq, 1, kt, ld, c0, nv, m, hd, scale);
    }
}

static void axpy_rows(float *o, const float *p, const float *v, int64_t m, int64_t hd) {
    for (int64_t d0 = 0; d0 < hd; d0 += 64) {
        __m512 acc[4];
        __mmask16 mk[4];
        TLM_UNROLL for (int j = 0; j < 4; j++) {
            int64_t left = hd - d0 - 16 * j;
            mk[j] = tail_mask(left <= 0 ? 0 : left < 16 ? left : 16);
            acc[j] = _mm512_maskz_loadu_ps(mk[j], o + d0 + 16 * j);
        }
        for (int64_t c = 0; c < m; c++) {
            __m512 pb = _mm512_set1_ps(p[c]);
            const float *row = v + c * hd + d0;
            TLM_UNROLL for (int j = 0; j < 4; j++)
                acc[j] = _mm512_fmadd_ps(pb, _mm512_maskz_loadu_ps(mk[j], row + 16 * j), acc[j]);
        }
        TLM_UNROLL for (int j = 0; j < 4; j++)
            _mm512_mask_storeu_ps(o + d0 + 16 * j, mk[j], acc[j]);
    }
}

const tlm_ops_kernels tlm_ops_kernels_avx512 = {
    f16_to_f32, dot, axpy, scale, silu_mul, gelu_mul, exp_sub, scores_t, axpy_rows, read_sum,
};
