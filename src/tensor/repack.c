/*
 * repack.c - the X16 weight layout (repack.h): packing a GGUF matrix into
 * it and back.  Plain C: it runs once per weight at load time (and in the
 * fallback that lets any kernel path read X16), not per token.
 *
 * Most of a block is levels copied four bytes at a time: each type lists
 * its segments (where four-byte quads start in the GGUF block and in the
 * block's plane), and the same list drives packing and unpacking.  The
 * per-block fields (scales, minima, Q5_0's fifth bits) are widened to one
 * entry per row by a small per-type function each way.
 */
#include "tensor/repack.h"

#include "tensor/blocks.h"
#include "tensor/quant.h"
#include "tensor/quant_impl.h"

#include <string.h>

#define R TLM_X16_ROWS

const tlm_x16_format *tlm_x16_format_of(tlm_type t) {
    static const tlm_x16_format q8_0 = {32, 34, 512, 32, 0x80, 1, {{2, 0, 8}}};
    static const tlm_x16_format q4_0 = {32, 18, 256, 32, 0, 1, {{2, 0, 4}}};
    static const tlm_x16_format q5_0 = {32, 22, 256, 96, 0, 1, {{6, 0, 4}}};
    static const tlm_x16_format q4_K = {256, 144, 2048, 320, 0, 1, {{16, 0, 32}}};
    static const tlm_x16_format q6_K = {256, 210, 3072, 288, 0, 6,
                                    {{0, 0, 8}, {32, 512, 8}, {128, 1024, 8},
                                     {64, 1536, 8}, {96, 2048, 8}, {160, 2560, 8}}};
    switch (t) {
    case TLM_TYPE_Q8_0: return &q8_0;
    case TLM_TYPE_Q4_0: return &q4_0;
    case TLM_TYPE_Q5_0: return &q5_0;
    case TLM_TYPE_Q4_K: return &q4_K;
    case TLM_TYPE_Q6_K: return &q6_K;
    default:            return NULL;
    }
}

bool tlm_x16_has(tlm_type wtype) { return tlm_x16_format_of(wtype) != NULL; }

size_t tlm_x16_row_size(tlm_type wtype, int64_t cols) {
    const tlm_x16_format *f = tlm_x16_format_of(wtype);
    if (!f || cols <= 0 || cols % f->elems) return 0;
    return (size_t)(cols / f->elems) * (size_t)(f->P + f->A) / R;
}

static void put_f16(uint8_t *aux, int i, const uint8_t *src) { memcpy(aux + 2 * i, src, 2); }

/* Side data of one block of the 16 rows (row i's block at blk[i]) into
 * the group's side bytes aux. */
static void pack_side(tlm_type t, const uint8_t *const blk[R], uint8_t *aux) {
    switch (t) {
    case TLM_TYPE_Q5_0: {
        uint64_t mask[8] = {0}; /* quad m / 2, half m % 2 */
        for (int i = 0; i < R; i++) {
            uint32_t qh;
            memcpy(&qh, blk[i] + 2, 4);
            for (int m = 0; m < 8; m++)
                mask[m] |= (uint64_t)((qh >> (16 * (m % 2) + 4 * (m / 2))) & 15) << (4 * i);
            put_f16(aux + 64, i, blk[i]);
        }
        memcpy(aux, mask, sizeof mask);
        break;
    }
    case TLM_TYPE_Q4_K:
        for (int i = 0; i < R; i++) {
            put_f16(aux, i, blk[i]);
            put_f16(aux + 32, i, blk[i] + 2);
            for (int j = 0; j < 8; j++) {
                int sc, mn;
                tlm_quant_k4_scale_min(blk[i] + 4, j, &sc, &mn);
                aux[64 + 16 * j + i] = (uint8_t)sc;
                aux[192 + 32 * (j / 2) + 2 * i + j % 2] = (uint8_t)mn;
            }
        }
        break;
    case TLM_TYPE_Q6_K:
        for (int i = 0; i < R; i++) {
            put_f16(aux, i, blk[i] + 208);
            for (int s = 0; s < 16; s++) aux[32 + 16 * s + i] = blk[i][192 + s];
        }
        break;
    default: /* Q8_0, Q4_0: the scale */
        for (int i = 0; i < R; i++) put_f16(aux, i, blk[i]);
        break;
    }
}

/* The inverse of pack_side: row i's block fields from aux into blk. */
static void unpack_side(tlm_type t, const uint8_t *aux, int i, uint8_t *blk) {
    switch (t) {
    case TLM_TYPE_Q5_0: {
        uint32_t qh = 0;
        for (int m = 0; m < 8; m++) {
            uint64_t mask;
            memcpy(&mask, aux + 8 * m, 8);
            qh |= (uint32_t)((mask >> (4 * i)) & 15) << (16 * (m % 2) + 4 * (m / 2));
        }
        memcpy(blk + 2, &qh, 4);
        memcpy(blk, aux + 64 + 2 * i, 2);
        break;
    }
    case TLM_TYPE_Q4_K: {
        uint8_t sc[8], mn[8];
        memcpy(blk, aux + 2 * i, 2);
        memcpy(blk + 2, aux + 32 + 2 * i, 2);
        for (int j = 0; j < 8; j++) {
            sc[j] = aux[64 + 16 * j + i];
            mn[j] = aux[192 + 32 * (j / 2) + 2 * i + j % 2];
        }
        tlm_quant_k4_pack(sc, mn, blk + 4);
        break;
    }
    case TLM_TYPE_Q6_K:
        memcpy(blk + 208, aux + 2 * i, 2);
        for (int s = 0; s < 16; s++) blk[192 + s] = aux[32 + 16 * s + i];
        break;
    default:
        memcpy(blk, aux + 2 * i, 2);
        break;
    }
}

/* Levels of one block of row i into its plane, and back: four-byte words
 * (the unpacking runs once per token chunk of a many-token product). */
static void pack_levels(const tlm_x16_format *f, const uint8_t *blk, uint8_t *plane, int i) {
    const uint32_t bias = f->bias * 0x01010101u;
    for (int s = 0; s < f->nseg; s++) {
        const tlm_x16_seg *g = &f->segs[s];
        for (int q = 0; q < g->n; q++) {
            uint32_t v;
            memcpy(&v, blk + g->so + 4 * q, 4);
            v ^= bias;
            memcpy(plane + g->po + (q * R + i) * 4, &v, 4);
        }
    }
}

static void unpack_levels(const tlm_x16_format *f, const uint8_t *plane, uint8_t *blk, int i) {
    const uint32_t bias = f->bias * 0x01010101u;
    for (int s = 0; s < f->nseg; s++) {
        const tlm_x16_seg *g = &f->segs[s];
        for (int q = 0; q < g->n; q++) {
            uint32_t v;
            memcpy(&v, plane + g->po + (q * R + i) * 4, 4);
            v ^= bias;
            memcpy(blk + g->so + 4 * q, &v, 4);
        }
    }
}

void tlm_x16_pack_side(tlm_type wtype, const void *src, int64_t cols, void *grp) {
    const tlm_x16_format *f = tlm_x16_format_of(wtype);
    const int64_t nb = cols / f->elems;
    const size_t rsz = (size_t)nb * (size_t)f->bs;
    uint8_t *side = (uint8_t *)grp + (size_t)nb * (size_t)f->P;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk[R];
        for (int i = 0; i < R; i++) blk[i] = (const uint8_t *)src + (size_t)i * rsz + b * f->bs;
        pack_side(wtype, blk, side + b * f->A);
    }
}

void tlm_x16_pack_group(tlm_type wtype, const void *src, int64_t cols, void *grp) {
    const tlm_x16_format *f = tlm_x16_format_of(wtype);
    const int64_t nb = cols / f->elems;
    const size_t rsz = (size_t)nb * (size_t)f->bs;
    for (int i = 0; i < R; i++)
        for (int64_t b = 0; b < nb; b++)
            pack_levels(f, (const uint8_t *)src + (size_t)i * rsz + b * f->bs, (uint8_t *)grp + b * f->P, i);
    tlm_x16_pack_side(wtype, src, cols, grp);
}

void tlm_x16_pack(tlm_type wtype, const void *src, int64_t rows, int64_t cols, void *dst) {
    const size_t rsz = tlm_type_row_size(wtype, (uint64_t)cols), xrs = tlm_x16_row_size(wtype, cols);
    for (int64_t r = 0; r < rows; r += R)
        tlm_x16_pack_group(wtype, (const uint8_t *)src + (size_t)r * rsz, cols,
                           (uint8_t *)dst + (size_t)r * xrs);
}

void tlm_x16_unpack_side(tlm_type wtype, const void *grp, int64_t cols, void *dst) {
    const tlm_x16_format *f = tlm_x16_format_of(wtype);
    const int64_t nb = cols / f->elems;
    const size_t rsz = (size_t)nb * (size_t)f->bs;
    const uint8_t *side = (const uint8_t *)grp + (size_t)nb * (size_t)f->P;
    for (int i = 0; i < R; i++)
        for (int64_t b = 0; b < nb; b++)
            unpack_side(wtype, side + b * f->A, i, (uint8_t *)dst + (size_t)i * rsz + b * f->bs);
}

void tlm_x16_unpack(tlm_type wtype, const void *grp, int64_t cols, void *dst) {
    const tlm_x16_format *f = tlm_x16_format_of(wtype);
    const int64_t nb = cols / f->elems;
    const size_t rsz = (size_t)nb * (size_t)f->bs;
    const uint8_t *g = grp;
    const uint8_t *side = g + (size_t)nb * (size_t)f->P;
    for (int i = 0; i < R; i++) {
        uint8_t *row = (uint8_t *)dst + (size_t)i * rsz;
        for (int64_t b = 0; b < nb; b++) {
            unpack_levels(f, g + b * f->P, row + b * f->bs, i);
            unpack_side(wtype, side + b * f->A, i, row + b * f->bs);
        }
    }
}

void tlm_x16_dequantize_row(tlm_type wtype, const void *w, int64_t cols, int64_t r, float *dst) {
    const tlm_x16_format *f = tlm_x16_format_of(wtype);
    const int64_t nb = cols / f->elems;
    const uint8_t *grp = (const uint8_t *)w + (size_t)(r / R) * (size_t)nb * (size_t)(f->P + f->A);
    const uint8_t *side = grp + (size_t)nb * (size_t)f->P;
    uint8_t blk[256]; /* the largest GGUF block of a packed type: 210 bytes */
    for (int64_t b = 0; b < nb; b++) {
        unpack_levels(f, grp + b * f->P, blk, (int)(r % R));
        unpack_side(wtype, side + b * f->A, (int)(r % R), blk);
        tlm_dequantize_row(wtype, blk, dst + b * f->elems, f->elems);
    }
}
