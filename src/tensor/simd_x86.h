/*
 * simd_x86.h - small inline helpers shared by the x86 kernel files.  Only
 * included from *_avx2.c / *_avx512.c, which are compiled with the ISA
 * flags these intrinsics need; the AVX-512 helpers are guarded by the
 * compiler's own __AVX512F__ so the AVX2 files can include this too.
 */
#ifndef TLM_TENSOR_SIMD_X86_H
#define TLM_TENSOR_SIMD_X86_H

#include "tensor/blocks.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* Kernels keep small arrays of vector registers (acc[R][T]); -O2 does not
 * fully unroll the loops over them, which would leave the arrays in
 * memory, so every such loop is marked. */
#define TLM_UNROLL _Pragma("GCC unroll 16")
/* And the few loops measured faster rolled (matmul_x16_avx512.c says why). */
#define TLM_NO_UNROLL _Pragma("GCC unroll 1")

static inline float tlm_x86_f16(tlm_f16 h) { return _cvtsh_ss(h); }
static inline tlm_f16 tlm_x86_to_f16(float f) { return (tlm_f16)_cvtss_sh(f, 0); }

static inline uint32_t tlm_x86_load_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t tlm_x86_load_u64(const void *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float tlm_x86_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#ifdef __AVX512F__
/* roundf() on 16 lanes: ties away from zero, as the reference quantizer. */
static inline __m512 tlm_x86_round_away(__m512 v) {
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_abs_ps(_mm512_sub_ps(v, t));
    __mmask16 m = _mm512_cmp_ps_mask(r, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    __m512 one = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    return _mm512_mask_add_ps(t, m, t, one);
}

/* In-register 16 x 16 transpose: v[i] lane j <-> v[j] lane i. */
static inline void tlm_x86_transpose16(__m512 v[16]) {
    __m512 t[16];
    TLM_UNROLL for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
    TLM_UNROLL for (int i = 0; i < 16; i += 4) {
        v[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        v[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xee);
        v[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        v[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    TLM_UNROLL for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(v[i], v[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(v[i], v[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(v[i + 8], v[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(v[i + 8], v[i + 12], 0xdd);
    }
    TLM_UNROLL for (int i = 0; i < 4; i++) {
        v[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        v[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        v[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        v[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* Integer lane sums that also transpose (integer sums are exact, so the
 * tree's shape never shows in a result).  sum2x4(a, b): in each 128-bit
 * quarter, lanes [a0+a2, b0+b2, a1+a3, b1+b3]; sum4x4(a, b, c, d): in
 * quarter q, lane j = the sum of quarter q of the j-th argument. */
static inline __m512i tlm_x86_sum2x4(__m512i a, __m512i b) {
    return _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
}
static inline __m512i tlm_x86_sum4x4(__m512i a, __m512i b, __m512i c, __m512i d) {
    __m512i p = tlm_x86_sum2x4(a, b), q = tlm_x86_sum2x4(c, d);
    return _mm512_add_epi32(_mm512_unpacklo_epi64(p, q), _mm512_unpackhi_epi64(p, q));
}

/* Sums of halves of 16 vectors: lane r of *lo is the sum of the low 8
 * lanes of v[r], of *hi the sum of its high 8 lanes. */
static inline void tlm_x86_sum_halves16(const __m512i v[16], __m512i *lo, __m512i *hi) {
    __m512i q[4], s[2];
    TLM_UNROLL for (int m = 0; m < 4; m++)
        q[m] = tlm_x86_sum4x4(v[4 * m], v[4 * m + 1], v[4 * m + 2], v[4 * m + 3]);
    TLM_UNROLL for (int m = 0; m < 2; m++)
        s[m] = _mm512_add_epi32(_mm512_shuffle_i64x2(q[2 * m], q[2 * m + 1], 0x88),
                                _mm512_shuffle_i64x2(q[2 * m], q[2 * m + 1], 0xdd));
    *lo = _mm512_shuffle_i64x2(s[0], s[1], 0x88);
    *hi = _mm512_shuffle_i64x2(s[0], s[1], 0xdd);
}
/* The sum of 16 float lanes in one fixed tree: lanes i and i+8, then
 * i and i+4, then i and i+2, then the last two.  tlm_x86_hsum16x16 gives
 * the same tree for 16 vectors at once (lane o = tlm_x86_hsum16(v[o])),
 * so products that reduce one output at a time and products that reduce
 * sixteen together agree bit for bit. */
static inline float tlm_x86_hsum16(__m512 v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    __m128 r = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(r, _mm_movehdup_ps(r)));
}

static inline __m512 tlm_x86_hsum16x16(const __m512 v[16]) {
    /* Input o goes where the tree leaves lane o: the last step leaves
     * vector 4n+q's sum in lane 4q+n. */
    __m512 p[8], q[4], r[2];
    TLM_UNROLL for (int m = 0; m < 8; m++) {
        int a = 4 * ((2 * m) % 4) + (2 * m) / 4, b = 4 * ((2 * m + 1) % 4) + (2 * m + 1) / 4;
        p[m] = _mm512_add_ps(_mm512_shuffle_f32x4(v[a], v[b], 0x44),
                             _mm512_shuffle_f32x4(v[a], v[b], 0xee));
    }
    TLM_UNROLL for (int n = 0; n < 4; n++)
        q[n] = _mm512_add_ps(_mm512_shuffle_f32x4(p[2 * n], p[2 * n + 1], 0x88),
                             _mm512_shuffle_f32x4(p[2 * n], p[2 * n + 1], 0xdd));
    TLM_UNROLL for (int k = 0; k < 2; k++)
        r[k] = _mm512_add_ps(_mm512_shuffle_ps(q[2 * k], q[2 * k + 1], 0x44),
                             _mm512_shuffle_ps(q[2 * k], q[2 * k + 1], 0xee));
    return _mm512_add_ps(_mm512_shuffle_ps(r[0], r[1], 0x88), _mm512_shuffle_ps(r[0], r[1], 0xdd));
}
#endif

#endif /* TLM_TENSOR_SIMD_X86_H */
