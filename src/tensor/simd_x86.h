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

static inline float tlm_x86_f16(tlm_f16 h) { return _cvtsh_ss(h); }
static inline tlm_f16 tlm_x86_to_f16(float f) { return (tlm_f16)_cvtss_sh(f, 0); }

static inline uint32_t tlm_x86_load_u32(const void *p) {
    uint32_t v;
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
#endif

#endif /* TLM_TENSOR_SIMD_X86_H */
