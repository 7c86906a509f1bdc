/*
 * quant_legacy.c - the 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0
 * and the activation type Q8_1: dequantizers, the reference quantizers and
 * the reference dot products (order documented in quant.h).
 *
 * Element order inside a block (engine-facts 1.2): byte j of qs holds
 * element j in its low nibble and element j+16 in its high nibble; for the
 * 5-bit types bit j of the little-endian u32 qh is the fifth bit of element
 * j.  The quantizers reproduce GGUF's reference ones (quantize_row_*_ref):
 * Q8_0 d = amax/127 with roundf; Q4_0/Q5_0 d = (signed value of largest
 * magnitude)/-8 or /-16 and q = trunc(x/d + 8.5) or (+16.5); Q4_1/Q5_1
 * d = (max-min)/15 or /31 with m = min.
 */
#include "tensor/quant.h"
#include "tensor/quant_impl.h"

#include <float.h>

#define QK TLM_QK

/* Largest |x| of a block and the signed value that has it (first wins). */
static float signed_absmax(const float *x, float *amax_out) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    if (amax_out) *amax_out = amax;
    return max;
}

static void minmax(const float *x, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < QK; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

/* roundf (ties away from zero) clamped to [-127, 127]; NaN gives 0. */
static int round_q8(float v) {
    if (v != v) return 0;
    if (v >= 127.0f) return 127;
    if (v <= -127.0f) return -127;
    return (int)roundf(v);
}

static uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

static void store_qh(uint8_t qh[4], uint32_t v) {
    for (int k = 0; k < 4; k++)
        qh[k] = (uint8_t)(v >> (8 * k));
}

/* ---- Q4_0 ---- */

void tlm_quant_q4_0_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q4_0 *b = src;
    for (int64_t i = 0; i < n / QK; i++, dst += QK) {
        float d = tlm_f16_to_f32(b[i].d);
        for (int j = 0; j < QK / 2; j++) {
            dst[j] = d * (float)((b[i].qs[j] & 15) - 8);
            dst[j + QK / 2] = d * (float)((b[i].qs[j] >> 4) - 8);
        }
    }
}

void tlm_quant_q4_0_from_float(const float *src, void *dst, int64_t n) {
    tlm_block_q4_0 *b = dst;
    for (int64_t i = 0; i < n / QK; i++, src += QK) {
        float d = signed_absmax(src, NULL) / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = tlm_f32_to_f16(d);
        for (int j = 0; j < QK / 2; j++) {
            int lo = tlm_quant_trunc_clamp(src[j] * id + 8.5f, 0, 15);
            int hi = tlm_quant_trunc_clamp(src[j + QK / 2] * id + 8.5f, 0, 15);
            b[i].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

float tlm_quant_q4_0_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q4_0 *a = x;
    const tlm_block_q8_0 *b = y;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++) {
        int isum = 0;
        for (int j = 0; j < QK / 2; j++) {
            isum += ((a[i].qs[j] & 15) - 8) * b[i].qs[j];
            isum += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + QK / 2];
        }
        acc += (float)isum * (tlm_f16_to_f32(a[i].d) * tlm_f16_to_f32(b[i].d));
    }
    return acc;
}

/* ---- Q4_1 ---- */

void tlm_quant_q4_1_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q4_1 *b = src;
    for (int64_t i = 0; i < n / QK; i++, dst += QK) {
        float d = tlm_f16_to_f32(b[i].d), m = tlm_f16_to_f32(b[i].m);
        for (int j = 0; j < QK / 2; j++) {
            dst[j] = d * (float)(b[i].qs[j] & 15) + m;
            dst[j + QK / 2] = d * (float)(b[i].qs[j] >> 4) + m;
        }
    }
}

void tlm_quant_q4_1_from_float(const float *src, void *dst, int64_t n) {
    tlm_block_q4_1 *b = dst;
    for (int64_t i = 0; i < n / QK; i++, src += QK) {
        float mn, mx;
        minmax(src, &mn, &mx);
        float d = (mx - mn) / 15.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = tlm_f32_to_f16(d);
        b[i].m = tlm_f32_to_f16(mn);
        for (int j = 0; j < QK / 2; j++) {
            int lo = tlm_quant_trunc_clamp((src[j] - mn) * id + 0.5f, 0, 15);
            int hi = tlm_quant_trunc_clamp((src[j + QK / 2] - mn) * id + 0.5f, 0, 15);
            b[i].qs[j] = (uint8_t)(lo | hi << 4);
        }
    }
}

float tlm_quant_q4_1_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q4_1 *a = x;
    const tlm_block_q8_1 *b = y;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++) {
        int isum = 0;
        for (int j = 0; j < QK / 2; j++) {
            isum += (a[i].qs[j] & 15) * b[i].qs[j];
            isum += (a[i].qs[j] >> 4) * b[i].qs[j + QK / 2];
        }
        acc += (float)isum * (tlm_f16_to_f32(a[i].d) * tlm_f16_to_f32(b[i].d)) +
               tlm_f16_to_f32(a[i].m) * tlm_f16_to_f32(b[i].s);
    }
    return acc;
}

/* ---- Q5_0 ---- */

void tlm_quant_q5_0_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q5_0 *b = src;
    for (int64_t i = 0; i < n / QK; i++, dst += QK) {
        float d = tlm_f16_to_f32(b[i].d);
        uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < QK / 2; j++) {
            int lo = (b[i].qs[j] & 15) | (int)((qh >> j) & 1u) << 4;
            int hi = (b[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4;
            dst[j] = d * (float)(lo - 16);
            dst[j + QK / 2] = d * (float)(hi - 16);
        }
    }
}

void tlm_quant_q5_0_from_float(const float *src, void *dst, int64_t n) {
    tlm_block_q5_0 *b = dst;
    for (int64_t i = 0; i < n / QK; i++, src += QK) {
        float d = signed_absmax(src, NULL) / -16.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        b[i].d = tlm_f32_to_f16(d);
        for (int j = 0; j < QK / 2; j++) {
            int lo = tlm_quant_trunc_clamp(src[j] * id + 16.5f, 0, 31);
            int hi = tlm_quant_trunc_clamp(src[j + QK / 2] * id + 16.5f, 0, 31);
            b[i].qs[j] = (uint8_t)((lo & 15) | (hi & 15) << 4);
            qh |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
        }
        store_qh(b[i].qh, qh);
    }
}

float tlm_quant_q5_0_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q5_0 *a = x;
    const tlm_block_q8_0 *b = y;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++) {
        uint32_t qh = load_qh(a[i].qh);
        int isum = 0;
        for (int j = 0; j < QK / 2; j++) {
            int lo = ((a[i].qs[j] & 15) | (int)((qh >> j) & 1u) << 4) - 16;
            int hi = ((a[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4) - 16;
            isum += lo * b[i].qs[j] + hi * b[i].qs[j + QK / 2];
        }
        acc += (float)isum * (tlm_f16_to_f32(a[i].d) * tlm_f16_to_f32(b[i].d));
    }
    return acc;
}

/* ---- Q5_1 ---- */

void tlm_quant_q5_1_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q5_1 *b = src;
    for (int64_t i = 0; i < n / QK; i++, dst += QK) {
        float d = tlm_f16_to_f32(b[i].d), m = tlm_f16_to_f32(b[i].m);
        uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < QK / 2; j++) {
            int lo = (b[i].qs[j] & 15) | (int)((qh >> j) & 1u) << 4;
            int hi = (b[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4;
            dst[j] = d * (float)lo + m;
            dst[j + QK / 2] = d * (float)hi + m;
        }
    }
}

void tlm_quant_q5_1_from_float(const float *src, void *dst, int64_t n) {
    tlm_block_q5_1 *b = dst;
    for (int64_t i = 0; i < n / QK; i++, src += QK) {
        float mn, mx;
        minmax(src, &mn, &mx);
        float d = (mx - mn) / 31.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint32_t qh = 0;
        b[i].d = tlm_f32_to_f16(d);
        b[i].m = tlm_f32_to_f16(mn);
        for (int j = 0; j < QK / 2; j++) {
            int lo = tlm_quant_trunc_clamp((src[j] - mn) * id + 0.5f, 0, 31);
            int hi = tlm_quant_trunc_clamp((src[j + QK / 2] - mn) * id + 0.5f, 0, 31);
            b[i].qs[j] = (uint8_t)((lo & 15) | (hi & 15) << 4);
            qh |= (uint32_t)(lo >> 4) << j | (uint32_t)(hi >> 4) << (j + 16);
        }
        store_qh(b[i].qh, qh);
    }
}

float tlm_quant_q5_1_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q5_1 *a = x;
    const tlm_block_q8_1 *b = y;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++) {
        uint32_t qh = load_qh(a[i].qh);
        int isum = 0;
        for (int j = 0; j < QK / 2; j++) {
            int lo = (a[i].qs[j] & 15) | (int)((qh >> j) & 1u) << 4;
            int hi = (a[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4;
            isum += lo * b[i].qs[j] + hi * b[i].qs[j + QK / 2];
        }
        acc += (float)isum * (tlm_f16_to_f32(a[i].d) * tlm_f16_to_f32(b[i].d)) +
               tlm_f16_to_f32(a[i].m) * tlm_f16_to_f32(b[i].s);
    }
    return acc;
}

/* ---- Q8_0 and Q8_1 ---- */

void tlm_quant_q8_0_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q8_0 *b = src;
    for (int64_t i = 0; i < n / QK; i++, dst += QK) {
        float d = tlm_f16_to_f32(b[i].d);
        for (int j = 0; j < QK; j++)
            dst[j] = d * (float)b[i].qs[j];
    }
}

/* Shared by Q8_0 and Q8_1: d = amax/127 (kept in float for the rounding,
 * as the reference does), q = roundf(x/d); returns d and sum(q). */
static float quantize_q8_block(const float *x, int8_t *qs, int *sum) {
    float amax;
    signed_absmax(x, &amax);
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    int s = 0;
    for (int j = 0; j < QK; j++) {
        qs[j] = (int8_t)round_q8(x[j] * id);
        s += qs[j];
    }
    *sum = s;
    return d;
}

void tlm_quant_q8_0_from_float(const float *src, void *dst, int64_t n) {
    tlm_block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / QK; i++, src += QK) {
        int sum;
        b[i].d = tlm_f32_to_f16(quantize_q8_block(src, b[i].qs, &sum));
    }
}

float tlm_quant_q8_0_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q8_0 *a = x, *b = y;
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK; i++) {
        int isum = 0;
        for (int j = 0; j < QK; j++)
            isum += a[i].qs[j] * b[i].qs[j];
        acc += (float)isum * (tlm_f16_to_f32(a[i].d) * tlm_f16_to_f32(b[i].d));
    }
    return acc;
}

void tlm_quant_q8_1_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q8_1 *b = src;
    for (int64_t i = 0; i < n / QK; i++, dst += QK) {
        float d = tlm_f16_to_f32(b[i].d);
        for (int j = 0; j < QK; j++)
            dst[j] = d * (float)b[i].qs[j];
    }
}

void tlm_quant_q8_1_from_float(const float *src, void *dst, int64_t n) {
    tlm_block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / QK; i++, src += QK) {
        int sum;
        float d = quantize_q8_block(src, b[i].qs, &sum);
        b[i].d = tlm_f32_to_f16(d);
        b[i].s = tlm_f32_to_f16((float)sum * d);
    }
}
