/*
 * quant.h - conversions between F32 and every GGUF weight type, and the
 * scalar reference dot products that every SIMD kernel is tested against.
 *
 * Each weight type is paired with an activation ("vec dot") type: the
 * activations are converted to it once per row of input, then dotted with
 * each weight row.  Legacy quants pair with 8-bit blocks of 32 (Q8_0, or Q8_1
 * which also carries the block sum for types with a minimum), K-quants with
 * Q8_K; float weights pair with F32 activations.
 *
 * The functions here are the plain, portable definitions: readable, exact,
 * not fast.  Kernels live in matmul*.c and must agree with them.
 */
#ifndef TLM_TENSOR_QUANT_H
#define TLM_TENSOR_QUANT_H

#include "tensor/blocks.h"
#include "tensor/types.h"

#include <stdint.h>

/* n elements of type t (block-aligned) to F32. */
typedef void (*tlm_to_float_fn)(const void *src, float *dst, int64_t n);
/* n floats (multiple of the block) to type t. */
typedef void (*tlm_from_float_fn)(const float *src, void *dst, int64_t n);
/* Dot product of n elements: a weight row x of type t with an activation
 * row y of vec_dot_type. */
typedef float (*tlm_vec_dot_fn)(int64_t n, const void *x, const void *y);

typedef struct tlm_quant_traits {
    tlm_type vec_dot_type;
    tlm_to_float_fn to_float;        /* scalar reference dequantizer */
    tlm_from_float_fn from_float;    /* reference quantizer (K-quants search scales) */
    tlm_vec_dot_fn vec_dot_ref;      /* scalar reference dot product */
} tlm_quant_traits;

/* Traits for a weight or activation type; NULL for types without them. */
const tlm_quant_traits *tlm_quant_info(tlm_type t);

/* Convenience wrappers over the table. */
void tlm_dequantize_row(tlm_type t, const void *src, float *dst, int64_t n);
void tlm_quantize_row(tlm_type t, const float *src, void *dst, int64_t n);

/* Half and bfloat16 conversions (round to nearest even; NaN kept). */
float tlm_f16_to_f32(tlm_f16 h);
tlm_f16 tlm_f32_to_f16(float f);
float tlm_bf16_to_f32(tlm_bf16 h);
tlm_bf16 tlm_f32_to_bf16(float f);

#endif /* TLM_TENSOR_QUANT_H */
