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
 *
 * Reference dot products (vec_dot_ref), the order kernels should follow to
 * match bit for bit where they can:
 *   - Legacy x Q8_0 (Q4_0, Q5_0, Q8_0): per 32-block an exact int sum
 *     isum = sum_j qx_j*qy_j with qx centred (nibble-8, 5-bit-16, int8);
 *     then, block by block in order, float acc += (float)isum * (dx*dy),
 *     dx and dy the f16 scales widened to float.
 *   - Legacy x Q8_1 (Q4_1, Q5_1): acc += (float)isum * (dx*dy) + mx*sy,
 *     qx unsigned (0..15 or 0..31), sy the f16 field s = dy*sum(qy).
 *   - K-quants x Q8_K, per 256 super-block in order (dy is the Q8_K float):
 *       Q4_K/Q5_K: isum = sum_i sc_i * (sum over sub-block i of qx*qy),
 *                  imin = sum_i m_i * (bsums[2i] + bsums[2i+1]);
 *                  acc += dx*dy*(float)isum - dmin*dy*(float)imin.
 *       Q2_K:      same with 16 sub-blocks of 16, sc = scales&15,
 *                  m = scales>>4, one bsum each.
 *       Q3_K/Q6_K: isum = sum_i sc_i * (sum of qx*qy), qx centred (-4..3,
 *                  -32..31), sc signed; acc += dx*dy*(float)isum.
 *     All int sums fit in int32 for any block contents.
 *   - F32/F16/BF16 x F32: products summed in double in index order,
 *     rounded to float once at the end (the most exact reference).
 * n must be a multiple of the weight type's block in every function below;
 * nothing is checked at this level (callers validate shapes on load).
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

/* Convenience wrappers over the table (abort on a type without traits:
 * callers check tlm_quant_info first when the type comes from a file). */
void tlm_dequantize_row(tlm_type t, const void *src, float *dst, int64_t n);
void tlm_quantize_row(tlm_type t, const float *src, void *dst, int64_t n);

/* Like tlm_quantize_row, but K-quants skip the scale search and use the
 * round-to-nearest scales (range / levels).  Worse; it exists so tests and
 * benchmarks can show what the search buys.  Other types: same as
 * tlm_quantize_row. */
void tlm_quantize_row_plain(tlm_type t, const float *src, void *dst, int64_t n);

/* Half and bfloat16 conversions (round to nearest even; NaN kept). */
float tlm_f16_to_f32(tlm_f16 h);
tlm_f16 tlm_f32_to_f16(float f);
float tlm_bf16_to_f32(tlm_bf16 h);
tlm_bf16 tlm_f32_to_bf16(float f);

#endif /* TLM_TENSOR_QUANT_H */
