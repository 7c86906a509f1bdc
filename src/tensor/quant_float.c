/*
 * quant_float.c - F32, F16 and BF16 rows: conversions to and from F32 and
 * the reference dot products against F32 activations.
 *
 * The dot products accumulate in double in index order and round once, so
 * they are the most exact value a float kernel can be compared with.
 */
#include "tensor/quant.h"
#include "tensor/quant_impl.h"

#include <string.h>

void tlm_quant_f32_to_float(const void *src, float *dst, int64_t n) {
    memmove(dst, src, (size_t)n * sizeof(float));
}

void tlm_quant_f32_from_float(const float *src, void *dst, int64_t n) {
    memmove(dst, src, (size_t)n * sizeof(float));
}

float tlm_quant_f32_dot(int64_t n, const void *x, const void *y) {
    const float *a = x, *b = y;
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++)
        acc += (double)a[i] * (double)b[i];
    return (float)acc;
}

void tlm_quant_f16_to_float(const void *src, float *dst, int64_t n) {
    const tlm_f16 *h = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = tlm_f16_to_f32(h[i]);
}

void tlm_quant_f16_from_float(const float *src, void *dst, int64_t n) {
    tlm_f16 *h = dst;
    for (int64_t i = 0; i < n; i++)
        h[i] = tlm_f32_to_f16(src[i]);
}

float tlm_quant_f16_dot(int64_t n, const void *x, const void *y) {
    const tlm_f16 *a = x;
    const float *b = y;
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++)
        acc += (double)tlm_f16_to_f32(a[i]) * (double)b[i];
    return (float)acc;
}

void tlm_quant_bf16_to_float(const void *src, float *dst, int64_t n) {
    const tlm_bf16 *h = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = tlm_bf16_to_f32(h[i]);
}

void tlm_quant_bf16_from_float(const float *src, void *dst, int64_t n) {
    tlm_bf16 *h = dst;
    for (int64_t i = 0; i < n; i++)
        h[i] = tlm_f32_to_bf16(src[i]);
}

float tlm_quant_bf16_dot(int64_t n, const void *x, const void *y) {
    const tlm_bf16 *a = x;
    const float *b = y;
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++)
        acc += (double)tlm_bf16_to_f32(a[i]) * (double)b[i];
    return (float)acc;
}
