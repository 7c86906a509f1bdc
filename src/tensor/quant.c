/*
 * quant.c - the traits table that ties every tensor type to its scalar
 * conversions and reference dot product (quant.h), plus the IEEE half and
 * bfloat16 conversions everything else builds on.
 *
 * The per-type code lives in quant_float.c, quant_legacy.c, quant_k.c and
 * quant_k_search.c; this file only dispatches.  Half conversion is done on
 * the bits, with round-to-nearest-even, so results do not depend on the
 * compiler, the FPU rounding mode or the presence of F16C.
 */
#include "tensor/quant.h"

#include "core/util.h"
#include "tensor/quant_impl.h"

#include <string.h>

/* Activation-only types (Q8_1, Q8_K) have no dot product of their own: they
 * are the right-hand side of another type's.  Their vec_dot_type is
 * themselves so that a caller asking "what do I convert activations to"
 * never gets a surprise. */
#define TRAITS(t, act)                                                                             \
    { TLM_TYPE_##act, tlm_quant_##t##_to_float, tlm_quant_##t##_from_float, tlm_quant_##t##_dot }
#define ACT_TRAITS(t, self)                                                                        \
    { TLM_TYPE_##self, tlm_quant_##t##_to_float, tlm_quant_##t##_from_float, NULL }

static const tlm_quant_traits quant_traits[TLM_TYPE_COUNT] = {
    [TLM_TYPE_F32] = TRAITS(f32, F32),        [TLM_TYPE_F16] = TRAITS(f16, F32),
    [TLM_TYPE_BF16] = TRAITS(bf16, F32),      [TLM_TYPE_Q4_0] = TRAITS(q4_0, Q8_0),
    [TLM_TYPE_Q4_1] = TRAITS(q4_1, Q8_1),     [TLM_TYPE_Q5_0] = TRAITS(q5_0, Q8_0),
    [TLM_TYPE_Q5_1] = TRAITS(q5_1, Q8_1),     [TLM_TYPE_Q8_0] = TRAITS(q8_0, Q8_0),
    [TLM_TYPE_Q2_K] = TRAITS(q2_K, Q8_K),     [TLM_TYPE_Q3_K] = TRAITS(q3_K, Q8_K),
    [TLM_TYPE_Q4_K] = TRAITS(q4_K, Q8_K),     [TLM_TYPE_Q5_K] = TRAITS(q5_K, Q8_K),
    [TLM_TYPE_Q6_K] = TRAITS(q6_K, Q8_K),     [TLM_TYPE_Q8_1] = ACT_TRAITS(q8_1, Q8_1),
    [TLM_TYPE_Q8_K] = ACT_TRAITS(q8_K, Q8_K),
};

const tlm_quant_traits *tlm_quant_info(tlm_type t) {
    if ((unsigned)t >= TLM_TYPE_COUNT || !quant_traits[t].to_float) return NULL;
    return &quant_traits[t];
}

void tlm_dequantize_row(tlm_type t, const void *src, float *dst, int64_t n) {
    const tlm_quant_traits *q = tlm_quant_info(t);
    TLM_ASSERT(q != NULL);
    q->to_float(src, dst, n);
}

void tlm_quantize_row(tlm_type t, const float *src, void *dst, int64_t n) {
    const tlm_quant_traits *q = tlm_quant_info(t);
    TLM_ASSERT(q != NULL);
    q->from_float(src, dst, n);
}

void tlm_quantize_row_plain(tlm_type t, const float *src, void *dst, int64_t n) {
    switch (t) {
    case TLM_TYPE_Q2_K: tlm_quant_q2_K_from_float_plain(src, dst, n); break;
    case TLM_TYPE_Q3_K: tlm_quant_q3_K_from_float_plain(src, dst, n); break;
    case TLM_TYPE_Q4_K: tlm_quant_q4_K_from_float_plain(src, dst, n); break;
    case TLM_TYPE_Q5_K: tlm_quant_q5_K_from_float_plain(src, dst, n); break;
    case TLM_TYPE_Q6_K: tlm_quant_q6_K_from_float_plain(src, dst, n); break;
    default: tlm_quantize_row(t, src, dst, n); break;
    }
}

/* ---- IEEE half ---- */

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float tlm_f16_to_f32(tlm_f16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13)); /* Inf, NaN payload */
    if (exp) return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
    if (!man) return bits_f32(sign);
    /* Subnormal half: every one is a normal float, so shift the leading
     * one up to the implicit position and lower the exponent to match. */
    uint32_t shifts = 0;
    while (!(man & 0x400u)) {
        man <<= 1;
        shifts++;
    }
    return bits_f32(sign | ((113 - shifts) << 23) | ((man & 0x3ffu) << 13));
}

tlm_f16 tlm_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) {
        /* NaN: keep the top payload bits (so a half NaN survives a round
         * trip bit for bit); if they are all zero, set the quiet bit so the
         * result is still a NaN rather than Inf. */
        uint16_t m = (uint16_t)((ax >> 13) & 0x3ffu);
        return (tlm_f16)(sign | 0x7c00u | (m ? m : 0x200u));
    }
    if (ax >= 0x477ff000u) return (tlm_f16)(sign | 0x7c00u); /* >= 65520 rounds to Inf */
    if (ax >= 0x38800000u) {
        /* Normal half: rebias the exponent, then round the 13 dropped bits
         * to nearest even; a mantissa carry correctly bumps the exponent. */
        uint32_t r = ax - (112u << 23);
        r += 0xfffu + ((r >> 13) & 1u);
        return (tlm_f16)(sign | (r >> 13));
    }
    if (ax <= 0x33000000u) return sign; /* <= 2^-25: ties to the even zero */
    /* Subnormal half: the value in units of 2^-24 is the full mantissa
     * shifted right by (126 - exponent), rounded to nearest even. */
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - (ax >> 23);
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (tlm_f16)(sign | q);
}

/* ---- bfloat16: the top half of a float ---- */

float tlm_bf16_to_f32(tlm_bf16 h) { return bits_f32((uint32_t)h << 16); }

tlm_bf16 tlm_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) {
        uint16_t h = (uint16_t)(x >> 16);
        return (tlm_bf16)((h & 0x7fu) ? h : (h | 0x40u)); /* stay a NaN */
    }
    /* Round to nearest even on the 16 dropped bits; overflow of the largest
     * finite values carries into the exponent and gives Inf, as it should. */
    return (tlm_bf16)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}
