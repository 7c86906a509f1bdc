/*
 * blocks.h - the quantized block layouts of GGUF, bit for bit as the file
 * stores them (ggml-common.h layouts; see ../shared/reference/engine-facts.md
 * section 1.2).  Field order is memory order and the structs are packed to
 * the on-disk sizes, which the static assertions pin down.  Blocks in a file
 * are not vector-aligned (18, 22 and 34 bytes), so kernels use unaligned
 * loads on them.
 */
#ifndef TLM_TENSOR_BLOCKS_H
#define TLM_TENSOR_BLOCKS_H

#include <stdint.h>

typedef uint16_t tlm_f16;   /* IEEE half, raw bits */
typedef uint16_t tlm_bf16;  /* bfloat16, raw bits */

#define TLM_QK 32           /* elements per block of the legacy quants */
#define TLM_QK_K 256        /* elements per K-quant super-block */
#define TLM_K_SCALE_SIZE 12

typedef struct { tlm_f16 d; uint8_t qs[16]; } tlm_block_q4_0;
typedef struct { tlm_f16 d, m; uint8_t qs[16]; } tlm_block_q4_1;
typedef struct { tlm_f16 d; uint8_t qh[4]; uint8_t qs[16]; } tlm_block_q5_0;
typedef struct { tlm_f16 d, m; uint8_t qh[4]; uint8_t qs[16]; } tlm_block_q5_1;
typedef struct { tlm_f16 d; int8_t qs[32]; } tlm_block_q8_0;
typedef struct { tlm_f16 d, s; int8_t qs[32]; } tlm_block_q8_1; /* s = d * sum(qs) */

typedef struct {
    uint8_t scales[16];   /* low nibble scale, high nibble min */
    uint8_t qs[64];
    tlm_f16 d, dmin;
} tlm_block_q2_K;
typedef struct {
    uint8_t hmask[32];
    uint8_t qs[64];
    uint8_t scales[12];   /* 16 six-bit scales */
    tlm_f16 d;
} tlm_block_q3_K;
typedef struct {
    tlm_f16 d, dmin;
    uint8_t scales[TLM_K_SCALE_SIZE]; /* 8 six-bit scales and mins */
    uint8_t qs[128];
} tlm_block_q4_K;
typedef struct {
    tlm_f16 d, dmin;
    uint8_t scales[TLM_K_SCALE_SIZE];
    uint8_t qh[32];
    uint8_t qs[128];
} tlm_block_q5_K;
typedef struct {
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    tlm_f16 d;
} tlm_block_q6_K;
typedef struct {
    float d;
    int8_t qs[256];
    int16_t bsums[16];    /* sums of qs in groups of 16 */
} tlm_block_q8_K;

_Static_assert(sizeof(tlm_block_q4_0) == 18, "q4_0 block size");
_Static_assert(sizeof(tlm_block_q4_1) == 20, "q4_1 block size");
_Static_assert(sizeof(tlm_block_q5_0) == 22, "q5_0 block size");
_Static_assert(sizeof(tlm_block_q5_1) == 24, "q5_1 block size");
_Static_assert(sizeof(tlm_block_q8_0) == 34, "q8_0 block size");
_Static_assert(sizeof(tlm_block_q8_1) == 36, "q8_1 block size");
_Static_assert(sizeof(tlm_block_q2_K) == 84, "q2_K block size");
_Static_assert(sizeof(tlm_block_q3_K) == 110, "q3_K block size");
_Static_assert(sizeof(tlm_block_q4_K) == 144, "q4_K block size");
_Static_assert(sizeof(tlm_block_q5_K) == 176, "q5_K block size");
_Static_assert(sizeof(tlm_block_q6_K) == 210, "q6_K block size");
_Static_assert(sizeof(tlm_block_q8_K) == 292, "q8_K block size");

#endif /* TLM_TENSOR_BLOCKS_H */
