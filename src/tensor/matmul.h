/*
 * matmul.h - matrix products of GGUF weights with float activations, the
 * bulk of a forward pass.
 *
 *   y[t*rows + r] = sum_k W[r][k] * x[t*cols + k]    t < n_tok, r < rows
 *
 * W is stored as GGUF stores it (row-major, each row `cols` elements of
 * wtype, row stride tlm_type_row_size(wtype, cols)), typically straight from
 * the memory-mapped file, and is never modified.  A loader may instead pack
 * a weight into the X16 layout (tensor/repack.h) where the active path has
 * one-token kernels for it (tlm_matmul_x16_pays): the results are the same
 * bits, one-token products are faster, and many-token products unpack it
 * group by group.
 *
 * Semantics: quantized weight types multiply with activations quantized to
 * their vec_dot_type (quant.h: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1,
 * Q8_K for K-quants) exactly as the scalar reference tlm_quant_info(t)->
 * vec_dot_ref does; F32/F16/BF16 weights multiply with the float x as is.
 * Every SIMD path agrees with that reference within the bounds listed in
 * tests/tensor/test_matmul.c (bit for bit for the AVX-512 quantized
 * products, whose integer block sums and float accumulation follow the
 * reference order).
 *
 * Batch independence: on every path, a token's outputs are the same bits
 * whether it is multiplied alone or with any number of other tokens (the
 * one-token and many-token kernels of a path add in the same order), so
 * batched prefill equals token-by-token decoding and a sequence decoded
 * in a server batch gets the logits it would get alone.
 *
 * Two internal paths: one token (decode) is a matrix-vector product that
 * streams W once at memory speed; many tokens (prefill, 3 or more) unpack
 * W panel by panel and multiply register tiles of several rows x several
 * tokens (AVX-512: 8-row panels of 8-bit levels times 16-token panels of
 * activations with vpdpbusd), so W is read from memory once per chunk of
 * up to 256 tokens.
 *
 * Threading: rows are cut into fixed chunks of 64 rows (one-token products
 * of large matrices: up to 1024) and tokens into fixed chunks, claimed by
 * the pool's threads; each output is computed by one thread with
 * arithmetic that does not depend on the chunk owner, so results are
 * bitwise identical for any thread count.  A thread claims its next chunk
 * before running the current one, so the one-token kernels can prefetch
 * into it.
 */
#ifndef TLM_TENSOR_MATMUL_H
#define TLM_TENSOR_MATMUL_H

#include "core/threads.h"
#include "tensor/types.h"
#include "tinylm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checks that wtype can be multiplied (a weight type with kernels) and that
 * cols is a positive multiple of its block.  Meant for load time, where the
 * message ("q4_K weights need cols % 256 == 0, got 896") helps. */
tlm_status tlm_matmul_check(tlm_type wtype, int64_t cols, tlm_error *err);

/* Bytes of scratch tlm_matmul needs for this product (0 for float weights,
 * which need none; 0 also for a type without kernels).  The size grows with
 * cols and n_tok, so one buffer sized with the largest of each, maximised
 * over the weight types in use, serves every product of a model.  The
 * caller owns the scratch and must not share it between two products
 * running at the same time.  Any alignment is accepted. */
size_t tlm_matmul_scratch_size(tlm_type wtype, int64_t cols, int64_t n_tok);

/* Computes y = W x as described above, splitting the work over the pool's
 * threads (pool may be NULL: the caller computes alone).  x is n_tok rows of
 * cols floats, y n_tok rows of rows floats; x and y must not overlap.
 * scratch: at least tlm_matmul_scratch_size(wtype, cols, n_tok) bytes
 * (may be NULL when that is 0).  Returns TLM_ERR_INVALID_ARG (and computes
 * nothing) for a type without kernels, misaligned cols, non-positive sizes
 * or missing buffers. */
tlm_status tlm_matmul(tlm_pool *pool, tlm_type wtype, const void *w, int64_t rows, int64_t cols,
                      const float *x, int64_t n_tok, float *y, void *scratch);

/* How a weight's bytes are arranged. */
typedef enum tlm_mm_layout {
    TLM_MM_GGUF = 0,  /* as the file stores it */
    TLM_MM_X16 = 1,   /* groups of 16 rows interleaved (tlm_x16_pack, tensor/repack.h) */
} tlm_mm_layout;

/* True when the active kernel path has one-token X16 kernels for wtype
 * and the shape can be packed (rows % 16 == 0, a row not too wide for the
 * many-token products' unpacking buffer): a loader's test before packing. */
bool tlm_matmul_x16_pays(tlm_type wtype, int64_t rows, int64_t cols);

/* tlm_x16_pack (tensor/repack.h) with the active path's vector code where
 * it has some: the same bytes, sooner.  rows % 16 == 0. */
void tlm_matmul_x16_pack(tlm_type wtype, const void *src, int64_t rows, int64_t cols, void *dst);

/* One of several products of the same input (see tlm_matmul_multi). */
typedef struct tlm_matmul_op {
    tlm_type wtype;
    const void *w;          /* rows x cols (borrowed) */
    int64_t rows;
    float *y;               /* n_tok x rows (must not overlap x or another op's y) */
    tlm_mm_layout layout;   /* of w; X16 only where tlm_matmul_x16_pays */
} tlm_matmul_op;

/* Computes y_i = W_i x for every op, as tlm_matmul would one by one, with
 * the same results bit for bit; but consecutive ops whose weight types
 * share an activation type (e.g. Q, K and V, or gate and up) run as one
 * parallel step: x is quantized once and one queue of chunks spans all
 * their rows, which saves a thread synchronisation per op when decoding.
 * scratch: at least the largest tlm_matmul_scratch_size(op.wtype, cols,
 * n_tok) of the ops.  Returns TLM_ERR_INVALID_ARG (computing nothing) if
 * any op is invalid. */
tlm_status tlm_matmul_multi(tlm_pool *pool, const tlm_matmul_op *ops, int n_ops, int64_t cols,
                            const float *x, int64_t n_tok, void *scratch);

#endif /* TLM_TENSOR_MATMUL_H */
