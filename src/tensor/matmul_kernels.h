/*
 * matmul_kernels.h - the interface between the matmul dispatcher
 * (matmul.c) and the per-ISA kernels (matmul_scalar.c, matmul_avx2.c,
 * matmul_avx512.c, matmul_neon.c).  Internal to src/tensor/.
 *
 * The dispatcher quantizes the activations once per product into the
 * caller's scratch (the vec_dot_type rows of quant.h plus a few per-block
 * side arrays that save every kernel from recomputing them), then hands
 * fixed (row range x token range) chunks to a kernel.  A kernel computes
 * y[t*rows + r] for its chunk only and must give the same bits for an
 * output whatever chunk it sits in (chunks start at multiples of 64 rows).
 * The gemv and gemm kernels of one table must also give the same bits for
 * an output (same activation quantization, same integer block sums, same
 * float steps in the same order), so results never depend on how tokens
 * are grouped; tests/tensor/test_matmul.c checks it for every table.
 *
 * Each ISA exports one table; NULL entries fall back to the scalar table,
 * so a path only implements what it speeds up.
 */
#ifndef TLM_TENSOR_MATMUL_KERNELS_H
#define TLM_TENSOR_MATMUL_KERNELS_H

#include "tensor/blocks.h"
#include "tensor/simd.h"
#include "tensor/types.h"

#include <stddef.h>
#include <stdint.h>

/* One product, as the kernels see it.  All pointers are borrowed. */
typedef struct tlm_mm_args {
    tlm_type wtype;
    const uint8_t *w;       /* rows x w_row_size bytes, GGUF layout */
    size_t w_row_size;
    int64_t rows, cols, n_tok;
    const float *x;         /* n_tok x cols floats (float weight types) */
    tlm_type act_type;      /* vec_dot_type: F32, Q8_0, Q8_1 or Q8_K */
    const uint8_t *q;       /* n_tok rows of act_type blocks, q_row_size apart */
    size_t q_row_size;
    /* Per token, per 32-element block (legacy types only; nb32 per token):
     * the block's scale widened to float, the integer sum of its qs, and
     * (Q8_1) its s field widened to float. */
    const float *qd;
    const int32_t *qsum;
    const float *qs;
    const int8_t *qx;       /* the qs bytes of each token back to back (cols per token) */
    int64_t nb32;           /* cols / 32, for every quantized type */
    /* Many-token activation panel: built once per product by the table's
     * prep_gemm, in a layout private to that table's gemm kernels (see
     * TLM_MM_PANEL_TILE for the room it may use). */
    uint8_t *ap;
    float *apd, *aps;
    int32_t *apx;
    uint8_t *apa;           /* the AMX X16 kernels' panel (prep_x16_amx), as large as ap */
    float *apa_d;           /* and its scales (legacy types): per tile and block, 16 tokens' */
    float *y;               /* n_tok x rows floats */
} tlm_mm_args;

/* Computes y for rows [r0, r1) and tokens [t0, t1). */
typedef void (*tlm_mm_fn)(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);

/* Where one token's side arrays go (legacy types; NULL otherwise). */
typedef struct tlm_act_side {
    float *d;      /* n/32 block scales as float */
    int32_t *sum;  /* n/32 integer sums of qs */
    float *s;      /* n/32 Q8_1 s fields as float (0 for Q8_0) */
    int8_t *qx;    /* n bytes: the qs of all blocks, contiguous */
} tlm_act_side;

/* Quantizes one row of n floats (n a multiple of the block) to act_type,
 * writing the blocks to q and, for Q8_0/Q8_1, the side arrays.  Must give
 * exactly what the quant.h reference quantizer gives, so every path sees
 * the same activations. */
typedef void (*tlm_act_quant_fn)(tlm_type act_type, const float *x, int64_t n, uint8_t *q,
                                 const tlm_act_side *side);

/* Fills the activation panel for tokens [16*tile, 16*tile + 16) (rows past
 * n_tok are padding the builder must fill with zero activations). */
typedef void (*tlm_mm_prep_fn)(const tlm_mm_args *a, int64_t tile);

/* Room the dispatcher reserves for the panel, per 16-token tile: one byte
 * per activation, plus per 32-block 2 x 16 floats (ap/apd/aps) and per
 * 256-block 8 x 16 int32 (apx). */
#define TLM_MM_PANEL_TILE 16

typedef struct tlm_mm_kernels {
    tlm_act_quant_fn quant_act;
    tlm_mm_prep_fn prep_gemm;       /* NULL: the gemm kernels need no panel */
    tlm_mm_fn gemv[TLM_TYPE_COUNT]; /* used for one token at a time */
    tlm_mm_fn gemm[TLM_TYPE_COUNT]; /* used for chunks of >= TLM_MM_GEMM_MIN tokens */
    /* One token, weights in the X16 layout (repack.h); NULL: the path has
     * no such kernel, and the dispatcher unpacks X16 groups for gemv. */
    tlm_mm_fn gemv_x16[TLM_TYPE_COUNT];
    /* Many tokens, weights in X16, used only where tlm_simd_amx() (simd.h)
     * holds, with their own activation panel (apa, built by prep_x16_amx);
     * NULL: the dispatcher unpacks X16 groups for gemm. */
    tlm_mm_fn gemm_x16_amx[TLM_TYPE_COUNT]; /* for cols <= TLM_MM_AMX_MAX_COLS */
    tlm_mm_prep_fn prep_x16_amx;
    /* tlm_x16_pack_group and tlm_x16_unpack, faster (NULL: the portable
     * ones). */
    void (*pack_x16)(tlm_type wt, const void *rows, int64_t cols, void *grp);
    void (*unpack_x16)(tlm_type wt, const void *grp, int64_t cols, void *dst);
} tlm_mm_kernels;

/* Where the calling thread's next chunk starts: its first row and row
 * size (w NULL: no next chunk).  Set by the dispatcher before each kernel
 * call; one-token kernels prefetch rows ahead of the ones they multiply,
 * and at a chunk's end the rows ahead are this thread's next chunk, not
 * the following rows (another thread's). */
typedef struct tlm_mm_rows {
    const uint8_t *w;
    size_t row_size;
} tlm_mm_rows;
extern _Thread_local tlm_mm_rows tlm_mm_next_rows;

/* The widest matrix the AMX X16 kernels take (they unpack a group of 16
 * rows into a per-thread buffer of 16 bytes per column). */
#define TLM_MM_AMX_MAX_COLS 32768

/* Token chunks smaller than this go through gemv token by token: packing a
 * weight panel only pays when it is reused. */
#define TLM_MM_GEMM_MIN 3

/* Row chunk: gemm kernels are called with at most this many rows, starting
 * at a multiple of it; gemv kernels with a multiple of it (up to 16 times,
 * matmul.c's chunk_rows_for), starting at a multiple of it. */
#define TLM_MM_CHUNK_ROWS 64

/* Token chunk of the many-token products (a multiple of TLM_MM_PANEL_TILE):
 * the weight panels are repacked once per chunk, so it should be large;
 * the kernels keep one float tile per 16 tokens of it. */
#define TLM_MM_GEMM_TOKS 256

extern const tlm_mm_kernels tlm_mm_kernels_scalar;
#if defined(__x86_64__)
extern const tlm_mm_kernels tlm_mm_kernels_avx2;
extern const tlm_mm_kernels tlm_mm_kernels_avx512;
#endif
#if defined(__aarch64__)
extern const tlm_mm_kernels tlm_mm_kernels_neon;
#endif

/* The table of a path (NULL if this build has none for it). */
const tlm_mm_kernels *tlm_mm_kernels_get(tlm_simd s);

/* Scalar activation quantizer (reference + side arrays); SIMD tables may
 * use it for the types they do not accelerate. */
void tlm_mm_quant_act_scalar(tlm_type act_type, const float *x, int64_t n, uint8_t *q,
                             const tlm_act_side *side);

#endif /* TLM_TENSOR_MATMUL_KERNELS_H */
