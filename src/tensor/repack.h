/*
 * repack.h - the X16 weight layout: a GGUF matrix rearranged so that a
 * one-token product reads it as one straight stream and needs no
 * reshuffling of bytes or sums.
 *
 * Why: in the GGUF layout a row's blocks lie one after another, so a
 * vector instruction over 16 rows must gather each row's scale, reduce each
 * row's partial sums to one lane and transpose the products to add them
 * block by block in the reference order.  That work, not memory, bounded
 * the one-token products on large matrices.  In X16 the 16 rows of a group
 * are interleaved per block, four bytes of levels per row per 64-byte
 * line, so one vpdpbusd with four activation bytes broadcast leaves each
 * row's sum in its own lane, and each block's 16 scales are one load.
 * The arithmetic (integer block sums, then the same float steps in the
 * same order) is the reference's, so an X16 product has the bits of the
 * GGUF product.
 *
 * Layout, per group of 16 rows (rows % 16 == 0), nb blocks per row: the
 * level planes of every block (nb x P bytes, 64-byte lines of 16 rows x 4
 * bytes), then the per-block side data (nb x A bytes: scales, and the
 * other per-block fields widened to one entry per row).  A row costs the
 * same bytes as in GGUF except Q4_K (148 per 256 elements, not 144: its
 * 6-bit scales are stored as bytes).  Byte by byte, per type:
 *   Q8_0  P 512 [8 quads][16 rows][4] levels + 128 (unsigned);  A 32: d[16]
 *   Q4_0  P 256 [4 quads][16 rows][4] qs bytes as stored;       A 32: d[16]
 *   Q5_0  P 256 as Q4_0;  A 96: 8 x u64 masks (quad q, half h at 2q + h:
 *         bit 4*row + j = the fifth bit of element 16h + 4q + j), d[16]
 *   Q4_K  P 2048 [4 pairs][8 quads][16 rows][4] qs bytes;
 *         A 320: d[16], dmin[16], scale[8][16], min[4][16][2] (bytes; the
 *         minima of sub-blocks 2k and 2k+1 side by side, one int16 pair
 *         per row once widened, for vpdpwssd)
 *   Q6_K  P 3072, per half n: [ql 0-31][ql 32-63][qh] of it, each
 *         [8 quads][16 rows][4];  A 288: d[16], scale[16][16] (int8)
 * Packing is a bijection: tlm_x16_unpack gives back the GGUF bytes.
 */
#ifndef TLM_TENSOR_REPACK_H
#define TLM_TENSOR_REPACK_H

#include "tensor/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rows per group. */
#define TLM_X16_ROWS 16

/* A type's X16 geometry.  Levels move as four-byte quads: quad q < n of
 * a segment is GGUF block bytes [so + 4q, so + 4q + 4) of each row and
 * plane bytes [po + 64q, po + 64q + 64) (16 rows x 4); the segments tile
 * the plane in order. */
typedef struct tlm_x16_seg {
    int so, po, n;
} tlm_x16_seg;

typedef struct tlm_x16_format {
    int elems, bs;       /* elements and GGUF bytes per block */
    int P, A;            /* plane and side bytes per block of 16 rows */
    uint8_t bias;        /* xor between GGUF and plane bytes (Q8_0: 0x80) */
    int nseg;
    tlm_x16_seg segs[6];
} tlm_x16_format;

/* NULL if the type has no X16 layout. */
const tlm_x16_format *tlm_x16_format_of(tlm_type wtype);

/* True if wtype has an X16 layout. */
bool tlm_x16_has(tlm_type wtype);

/* Bytes of one row of cols elements in X16 (a group is 16 of them); 0
 * if wtype has no X16 layout or cols is not a multiple of its block. */
size_t tlm_x16_row_size(tlm_type wtype, int64_t cols);

/* Packs rows [0, rows) of the GGUF matrix src (rows % 16 == 0) into dst,
 * rows * tlm_x16_row_size bytes (the caller owns both). */
void tlm_x16_pack(tlm_type wtype, const void *src, int64_t rows, int64_t cols, void *dst);

/* One group: the 16 GGUF rows at src (tlm_type_row_size apart) into grp;
 * and only its non-level bytes (for vector code that moves the levels). */
void tlm_x16_pack_group(tlm_type wtype, const void *src, int64_t cols, void *grp);
void tlm_x16_pack_side(tlm_type wtype, const void *src, int64_t cols, void *grp);

/* Writes the GGUF bytes of the 16 rows of group grp (X16) to dst, rows
 * tlm_type_row_size(wtype, cols) apart. */
void tlm_x16_unpack(tlm_type wtype, const void *grp, int64_t cols, void *dst);

/* Only the non-level bytes of tlm_x16_unpack (scales, minima, fifth
 * bits): for vector code that moves the levels itself. */
void tlm_x16_unpack_side(tlm_type wtype, const void *grp, int64_t cols, void *dst);

/* Dequantizes row r of the X16 matrix w (rows of cols elements) into dst
 * (cols floats), exactly as tlm_dequantize_row does the GGUF row. */
void tlm_x16_dequantize_row(tlm_type wtype, const void *w, int64_t cols, int64_t r, float *dst);

#endif /* TLM_TENSOR_REPACK_H */
