/*
 * matmul_x16_amx_avx512.c - many-token products of X16 weights (Q8_0,
 * Q4_0, Q5_0, Q4_K, Q6_K; repack.h) with AMX, read in place.
 *
 * Why: without these, a prompt's products unpack each X16 chunk back to
 * GGUF rows, repack them into the GEMM's panels, build an activation panel
 * and transpose every output tile on the way out, a sixth of a Qwen Q4_0
 * prompt.  An X16 block's plane is almost what a tdpbssd wants as its
 * second operand (four bytes per row per 64-byte line: 8 lines are 32
 * levels of 16 rows), and the quantized activations, one token per row,
 * are the first.  So a tile product per block leaves 16 tokens x 16 rows
 * of integer block sums, one row of 16 weight rows per token: a token's
 * outputs are one vector, stored straight into y.
 *
 * Per token and row, the float steps are the reference's (quant.h), block
 * by block in order: acc = acc + (float)isum * (d * dy), so these products
 * have the bits of every other path.  The levels are made signed once per
 * group of 16 rows (Q8_0's +128 bias off, Q4_0's and Q5_0's nibbles and
 * fifth bits unpacked less their offset), so a tile product is the block's
 * integer sum as it stands: taking the offset off each sum through the
 * activation block sums instead cost a third of the float steps.
 *
 * Tiles: 0-3 sums (16 tokens x 16 int32), 4 and 6 activations (16 tokens
 * x 32 bytes), 5 and 7 levels (8 x 64 bytes); four blocks per round.  Two
 * groups and 32 tokens at a time (group_tile2), the four sum tiles are
 * two token tiles by two groups of one block: each operand tile loaded
 * feeds two products, which made 512-token products 8-15% faster (the
 * tile loads, not the products, were what the tile unit waited on).
 */
#include "tensor/matmul_avx512.h"

#include "core/util.h"
#include "tensor/amx.h"
#include "tensor/kquant_avx512.h"
#include "tensor/repack.h"
#include "tensor/simd_x86.h"

#include <stdbool.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

/* Two groups' unpacked levels: 16 bytes per column each. */
static _Thread_local _Alignas(64) uint8_t tls_levels[2][16 * TLM_MM_AMX_MAX_COLS];

static const _Alignas(64) tlm_amx_config cfg = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 32, 64, 32, 64},
    .rows = {16, 16, 16, 16, 16, 8, 16, 8}};

/* The group's levels as tile operands, signed (the level offset taken
 * off, so a tile product is the block's integer sum as it stands): per
 * block 8 lines, line k holding elements 4k .. 4k+3 of each of the 16
 * rows.  Q8_0's planes are that already but for their +128 bias. */
static const int8_t *group_levels(tlm_type wt, const uint8_t *grp, int64_t nb, int slot) {
    int8_t *out = (int8_t *)tls_levels[slot];
    if (wt == TLM_TYPE_Q8_0) {
        const __m512i bias = _mm512_set1_epi8((char)0x80);
        for (int64_t l = 0; l < nb * 8; l++)
            _mm512_store_si512(out + 64 * l,
                               _mm512_xor_si512(_mm512_loadu_si512(grp + 64 * l), bias));
        return out;
    }
    const bool q5 = wt == TLM_TYPE_Q5_0;
    const uint8_t *side = grp + (size_t)nb * 256;
    const __m512i f = _mm512_set1_epi8(0x0f), sixteen = _mm512_set1_epi8(16);
    const __m512i off = _mm512_set1_epi8(q5 ? 16 : 8);
    for (int64_t b = 0; b < nb; b++) {
        TLM_UNROLL for (int q = 0; q < 4; q++) {
            __m512i w = _mm512_loadu_si512(grp + b * 256 + 64 * q);
            __m512i lo = _mm512_and_si512(w, f), hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), f);
            if (q5) { /* masks of quad q: low half, then high */
                const uint8_t *aux = side + b * 96 + 16 * q;
                lo = _mm512_mask_add_epi8(lo, (__mmask64)tlm_x86_load_u64(aux), lo, sixteen);
                hi = _mm512_mask_add_epi8(hi, (__mmask64)tlm_x86_load_u64(aux + 8), hi, sixteen);
            }
            _mm512_store_si512(out + b * 512 + 64 * q, _mm512_sub_epi8(lo, off));
            _mm512_store_si512(out + b * 512 + 64 * (q + 4), _mm512_sub_epi8(hi, off));
        }
    }
    return out;
}

/* The activation panel: per 16-token tile and block, the 16 tokens' 32
 * bytes back to back (padding tokens zero), so a tile load reads 512
 * contiguous bytes; loading them from each token's row instead (16 lines
 * cols bytes apart) was a quarter of the kernel's time.  For the legacy
 * types also the tokens' block scales, per block the tile's 16 in a row:
 * the float steps then find a block's scales at fixed offsets from one
 * pointer, where indexing each token's row took more instructions than
 * the steps themselves. */
void tlm_mm_amx_prep_x16(const tlm_mm_args *a, int64_t tile) {
    const int64_t nb = a->nb32;
    uint8_t *dst = a->apa + (size_t)tile * (size_t)nb * 512;
    const bool k = a->act_type == TLM_TYPE_Q8_K;
    float *dd = k ? NULL : a->apa_d + (size_t)tile * (size_t)nb * 16;
    for (int i = 0; i < 16; i++) {
        int64_t t = tile * 16 + i;
        if (t >= a->n_tok) {
            for (int64_t b = 0; b < nb; b++) memset(dst + b * 512 + 32 * i, 0, 32);
            if (dd) for (int64_t b = 0; b < nb; b++) dd[b * 16 + i] = 0;
            continue;
        }
        if (dd) for (int64_t b = 0; b < nb; b++) dd[b * 16 + i] = a->qd[t * nb + b];
        const int8_t *x = a->qx + t * a->cols;
        const tlm_block_q8_K *xk = (const tlm_block_q8_K *)(a->q + (size_t)t * a->q_row_size);
        for (int64_t b = 0; b < nb; b++) {
            const int8_t *src = k ? xk[b / 8].qs + 32 * (b % 8) : x + 32 * b;
            memcpy(dst + b * 512 + 32 * i, src, 32);
        }
    }
}

/* Block b's sums into tile C, through tiles A (activations) and B. */
#define DP(C, A, B, b)                                    \
    do {                                                  \
        _tile_loadd(A, x + 512 * (b), 32);                \
        _tile_loadd(B, lv + (size_t)(b) * 512, 64);       \
        _tile_zero(C);                                    \
        _tile_dpbssd(C, A, B);                            \
    } while (0)

/* The products of blocks [b0, b0 + n), n <= 4, into tiles 0 .. n-1. */
#define DP4(b0, n)                                  \
    do {                                            \
        DP(0, 4, 5, b0);                            \
        if ((n) > 1) DP(1, 6, 7, (b0) + 1);         \
        if ((n) > 2) DP(2, 4, 5, (b0) + 2);         \
        if ((n) > 3) DP(3, 6, 7, (b0) + 3);         \
    } while (0)

/* Tiles 0 .. n-1 to sums[0 .. n-1]. */
#define STORE4(sums, n)                                      \
    do {                                                     \
        _tile_stored(0, (sums)[0], 64);                      \
        if ((n) > 1) _tile_stored(1, (sums)[1], 64);         \
        if ((n) > 2) _tile_stored(2, (sums)[2], 64);         \
        if ((n) > 3) _tile_stored(3, (sums)[3], 64);         \
    } while (0)

/* Block b's 16 row scales, as floats, of the group at row r. */
INLINE __m512 leg_scales(tlm_type wt, const tlm_mm_args *a, int64_t r, int64_t b) {
    const int A = wt == TLM_TYPE_Q5_0 ? 96 : 32, dofs = wt == TLM_TYPE_Q5_0 ? 64 : 0;
    const int P = wt == TLM_TYPE_Q8_0 ? 512 : 256;
    const uint8_t *side = a->w + (size_t)r * a->w_row_size + (size_t)a->nb32 * P;
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(side + b * A + dofs)));
}

/* A block's term of the reference's float step for one token's 16 sums:
 * (float)isum * (d * dy). */
INLINE __m512 leg_term(const int32_t sums[16], __m512 dw, float dy) {
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(sums)),
                         _mm512_mul_ps(dw, _mm512_set1_ps(dy)));
}

/* Rows [r, r + 16) for tokens [t, t + m); lv from group_levels.  The
 * products of the next four blocks are issued before this four's float
 * steps and stored after them, into the other half of sums, so the tile
 * unit and the vector unit overlap instead of waiting on each other. */
TLM_AMX_FN static void group_tile(tlm_type wt, const tlm_mm_args *a, const int8_t *lv,
                                  int64_t r, int64_t t, int m) {
    const int64_t nb = a->nb32;
    const uint8_t *x = a->apa + (size_t)(t / 16) * (size_t)nb * 512;
    const float *dy = a->apa_d + (size_t)(t / 16) * (size_t)nb * 16;
    _Alignas(64) int32_t sums[2][4][16][16];
    __m512 acc[16];
    TLM_UNROLL for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
    int n = (int)TLM_MIN(4, nb);
    DP4(0, n);
    STORE4(sums[0], n);
    for (int64_t b0 = 0; b0 < nb; b0 += 4) {
        int h = (int)(b0 / 4 % 2), nn = (int)TLM_MIN(4, nb - b0 - 4);
        if (nn > 0) DP4(b0 + 4, nn);
        for (int k = 0; k < n; k++) {
            int64_t b = b0 + k;
            __m512 dw = leg_scales(wt, a, r, b);
            TLM_UNROLL for (int i = 0; i < 16; i++) {
                if (i >= m) break;
                acc[i] = _mm512_add_ps(acc[i], leg_term(sums[h][k][i], dw, dy[b * 16 + i]));
            }
        }
        if (nn > 0) STORE4(sums[!h], nn);
        n = nn;
    }
    TLM_UNROLL for (int i = 0; i < 16; i++) {
        if (i >= m) break;
        _mm512_storeu_ps(a->y + (t + i) * a->rows + r, acc[i]);
    }
}

/* Block b's four products for two token tiles (activations at xa, xb)
 * and two groups (levels lv0, lv1): tile 2i + j is token tile i by group
 * j, each operand tile loaded once for two products. */
#define DP2x2(b)                                          \
    do {                                                  \
        _tile_loadd(4, xa + 512 * (b), 32);               \
        _tile_loadd(5, lv0 + (size_t)(b) * 512, 64);      \
        _tile_loadd(6, xb + 512 * (b), 32);               \
        _tile_loadd(7, lv1 + (size_t)(b) * 512, 64);      \
        _tile_zero(0);                                    \
        _tile_zero(1);                                    \
        _tile_zero(2);                                    \
        _tile_zero(3);                                    \
        _tile_dpbssd(0, 4, 5);                            \
        _tile_dpbssd(1, 4, 7);                            \
        _tile_dpbssd(2, 6, 5);                            \
        _tile_dpbssd(3, 6, 7);                            \
    } while (0)

/* Rows [r, r + 32) (two groups, levels lv0 and lv1) for tokens [t, t +
 * 32): a tile load per operand feeds two products instead of one, and
 * the loads, not the products, are what the tile unit waits on.  The
 * float steps are group_tile's, per product; the next block's products
 * are issued before this block's float steps. */
TLM_AMX_FN static void group_tile2(tlm_type wt, const tlm_mm_args *a, const int8_t *lv0,
                                   const int8_t *lv1, int64_t r, int64_t t) {
    const int64_t nb = a->nb32;
    const uint8_t *xa = a->apa + (size_t)(t / 16) * (size_t)nb * 512, *xb = xa + (size_t)nb * 512;
    const float *dya = a->apa_d + (size_t)(t / 16) * (size_t)nb * 16, *dyb = dya + nb * 16;
    _Alignas(64) int32_t sums[2][4][16][16];
    _Alignas(64) float acc[4][16][16];
    memset(acc, 0, sizeof acc);
    DP2x2(0);
    STORE4(sums[0], 4);
    for (int64_t b = 0; b < nb; b++) {
        const int h = (int)(b % 2);
        if (b + 1 < nb) DP2x2(b + 1);
        const __m512 dw[2] = {leg_scales(wt, a, r, b), leg_scales(wt, a, r + 16, b)};
        TLM_UNROLL for (int c = 0; c < 4; c++) {
            TLM_UNROLL for (int i = 0; i < 16; i++) {
                __m512 f = leg_term(sums[h][c][i], dw[c % 2], (c < 2 ? dya : dyb)[b * 16 + i]);
                _mm512_store_ps(acc[c][i], _mm512_add_ps(_mm512_load_ps(acc[c][i]), f));
            }
        }
        if (b + 1 < nb) STORE4(sums[!h], 4);
    }
    TLM_UNROLL for (int c = 0; c < 4; c++) TLM_UNROLL for (int i = 0; i < 16; i++)
        _mm512_storeu_ps(a->y + (t + 16 * (c / 2) + i) * a->rows + r + 16 * (c % 2),
                         _mm512_load_ps(acc[c][i]));
}

/* ---- Q4_K ----
 * Per 256-block, each 32-element sub-block j is one tile product; its
 * integer sum is weighted by the rows' 6-bit scales and added up over the
 * eight (exact, as in the one-token kernel), and the minima term comes
 * from the activation block sums; then the reference's float step per
 * 256-block. */

/* A group's Q4_K levels per sub-block: pair p's line q holds sub-block
 * 2p in its low nibbles and 2p + 1 in its high ones. */
static const int8_t *group_levels_q4k(const uint8_t *grp, int64_t nsb) {
    int8_t *out = (int8_t *)tls_levels[0];
    const __m512i f = _mm512_set1_epi8(0x0f);
    for (int64_t s = 0; s < nsb; s++) {
        TLM_UNROLL for (int p = 0; p < 4; p++) TLM_UNROLL for (int q = 0; q < 8; q++) {
            __m512i w = _mm512_loadu_si512(grp + s * 2048 + 512 * p + 64 * q);
            int8_t *d = out + (s * 8 + 2 * p) * 512 + 64 * q;
            _mm512_store_si512(d, _mm512_and_si512(w, f));
            _mm512_store_si512(d + 512, _mm512_and_si512(_mm512_srli_epi16(w, 4), f));
        }
    }
    return out;
}

/* Adds four sub-blocks' sums, weighted by their scales, to each token's
 * isum: sc holds the four sub-blocks' 16 row scales one after another,
 * signed (Q6_K) or not (Q4_K). */
INLINE void weigh4(__m512i isum[16], int32_t sums[4][16][16], const uint8_t *sc, bool sgn) {
    TLM_UNROLL for (int k = 0; k < 4; k++) {
        __m128i b = _mm_loadu_si128((const __m128i *)(sc + 16 * k));
        __m512i w = sgn ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
        TLM_UNROLL for (int i = 0; i < 16; i++) {
            __m512i v = _mm512_load_si512(sums[k][i]);
            isum[i] = _mm512_add_epi32(isum[i], _mm512_mullo_epi32(v, w));
        }
    }
}

/* Token t's Q8_K block s. */
INLINE const tlm_block_q8_K *q8k_block(const tlm_mm_args *a, int64_t t, int64_t s) {
    return (const tlm_block_q8_K *)(a->q + (size_t)t * a->q_row_size) + s;
}

/* 256-block s's float step for m tokens from their integer sums. */
INLINE void q4k_step(const tlm_mm_args *a, const uint8_t *aux, int64_t s, int64_t t, int m,
                     const __m512i isum[16], float acc[16][16]) {
    __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)aux));
    __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(aux + 32)));
    __m512i mn[4];
    tlm_kq_x16_q4k_mins(aux, mn);
    for (int i = 0; i < m; i++) {
        const tlm_block_q8_K *xb = q8k_block(a, t + i, s);
        __m512 f = tlm_kq_q4k_term(dv, dm, _mm512_set1_ps(xb->d), isum[i],
                                   tlm_kq_x16_q4k_imin(mn, xb->bsums));
        _mm512_store_ps(acc[i], _mm512_add_ps(_mm512_load_ps(acc[i]), f));
    }
}

/* Rows [r, r + 16) of a Q4_K matrix for tokens [t, t + m), pipelined as
 * group_tile is, four sub-blocks per round. */
TLM_AMX_FN static void q4k_tile(const tlm_mm_args *a, const int8_t *lv, int64_t r, int64_t t,
                                int m) {
    const int64_t nsb = a->cols / 256, nb = nsb * 8;
    const uint8_t *side = a->w + (size_t)r * a->w_row_size + (size_t)nsb * 2048;
    const uint8_t *x = a->apa + (size_t)(t / 16) * (size_t)nb * 512;
    _Alignas(64) int32_t sums[2][4][16][16];
    _Alignas(64) float acc[16][16] = {{0}};
    __m512i isum[16];
    DP4(0, 4);
    STORE4(sums[0], 4);
    for (int64_t b0 = 0; b0 < nb; b0 += 4) {
        int h = (int)(b0 / 4 % 2);
        bool more = b0 + 4 < nb;
        if (more) DP4(b0 + 4, 4);
        const int64_t s = b0 / 8;
        const uint8_t *aux = side + s * 320;
        if (b0 % 8 == 0) TLM_UNROLL for (int i = 0; i < 16; i++) isum[i] = _mm512_setzero_si512();
        weigh4(isum, sums[h], aux + 64 + 16 * (b0 % 8), false);
        if (b0 % 8 == 4) q4k_step(a, aux, s, t, m, isum, acc);
        if (more) STORE4(sums[!h], 4);
    }
    for (int i = 0; i < m; i++)
        _mm512_storeu_ps(a->y + (t + i) * a->rows + r, _mm512_load_ps(acc[i]));
}

/* ---- Q6_K ----
 * A sub-block is 16 elements: a tile product of 16 activation bytes per
 * token (half of a 32-byte panel entry) by 4 level lines.  Levels are made
 * signed (less 32) once per group, which takes the reference's 32 * bsums
 * off each sub-block's sum; the sums are weighted by the signed scales in
 * integers, then one float step per 256-block. */
static const _Alignas(64) tlm_amx_config cfg_q6 = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 16, 64, 16, 64},
    .rows = {16, 16, 16, 16, 16, 4, 16, 4}};

/* A group's Q6_K levels, signed: per 256-block and 32-element chunk c =
 * 4n + k (half n), 8 lines, line q holding elements 32c + 4q + j; lines
 * 0-3 are sub-block 2c, 4-7 sub-block 2c + 1. */
static const int8_t *group_levels_q6k(const uint8_t *grp, int64_t nsb) {
    int8_t *out = (int8_t *)tls_levels[0];
    const __m512i off = _mm512_set1_epi8(32);
    for (int64_t s = 0; s < nsb; s++) {
        TLM_UNROLL for (int n = 0; n < 2; n++) TLM_UNROLL for (int q = 0; q < 8; q++) {
            const uint8_t *h = grp + s * 3072 + 1536 * n;
            __m512i l[4];
            tlm_kq_x16_q6_levels(_mm512_loadu_si512(h + 64 * q),
                                 _mm512_loadu_si512(h + 512 + 64 * q),
                                 _mm512_loadu_si512(h + 1024 + 64 * q), l);
            TLM_UNROLL for (int k = 0; k < 4; k++)
                _mm512_store_si512(out + ((s * 8 + 4 * n + k) * 8 + q) * 64,
                                   _mm512_sub_epi8(l[k], off));
        }
    }
    return out;
}

/* Sub-block u's sums (u counts from the row's start) into tile C. */
#define DP6(C, A, B, u)                                                              \
    do {                                                                             \
        _tile_loadd(A, x + ((u) / 2) * 512 + 16 * ((u) % 2), 32);                   \
        _tile_loadd(B, lv + ((size_t)((u) / 2) * 8 + 4 * ((u) % 2)) * 64, 64);       \
        _tile_zero(C);                                                               \
        _tile_dpbssd(C, A, B);                                                       \
    } while (0)

#define DP6x4(u0)                       \
    do {                                \
        DP6(0, 4, 5, (u0));             \
        DP6(1, 6, 7, (u0) + 1);         \
        DP6(2, 4, 5, (u0) + 2);         \
        DP6(3, 6, 7, (u0) + 3);         \
    } while (0)

/* Rows [r, r + 16) of a Q6_K matrix for tokens [t, t + m), pipelined as
 * group_tile is, four sub-blocks per round. */
TLM_AMX_FN static void q6k_tile(const tlm_mm_args *a, const int8_t *lv, int64_t r, int64_t t,
                                int m) {
    const int64_t nsb = a->cols / 256, nu = nsb * 16;
    const uint8_t *side = a->w + (size_t)r * a->w_row_size + (size_t)nsb * 3072;
    const uint8_t *x = a->apa + (size_t)(t / 16) * (size_t)nsb * 8 * 512;
    _Alignas(64) int32_t sums[2][4][16][16];
    _Alignas(64) float acc[16][16] = {{0}};
    __m512i isum[16];
    DP6x4(0);
    STORE4(sums[0], 4);
    for (int64_t u0 = 0; u0 < nu; u0 += 4) {
        int h = (int)(u0 / 4 % 2);
        bool more = u0 + 4 < nu;
        if (more) DP6x4(u0 + 4);
        const int64_t s = u0 / 16, sb0 = u0 % 16;
        const uint8_t *aux = side + s * 288;
        if (sb0 == 0) TLM_UNROLL for (int i = 0; i < 16; i++) isum[i] = _mm512_setzero_si512();
        weigh4(isum, sums[h], aux + 32 + 16 * sb0, true);
        if (sb0 == 12) {
            __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)aux));
            for (int i = 0; i < m; i++) {
                __m512 dy = _mm512_set1_ps(q8k_block(a, t + i, s)->d);
                __m512 f = _mm512_mul_ps(_mm512_mul_ps(dv, dy), _mm512_cvtepi32_ps(isum[i]));
                _mm512_store_ps(acc[i], _mm512_add_ps(_mm512_load_ps(acc[i]), f));
            }
        }
        if (more) STORE4(sums[!h], 4);
    }
    for (int i = 0; i < m; i++)
        _mm512_storeu_ps(a->y + (t + i) * a->rows + r, _mm512_load_ps(acc[i]));
}

TLM_AMX_FN void tlm_mm_amx_gemm_x16(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                                    int64_t t1) {
    const tlm_type wt = a->wtype;
    const int64_t nsb = a->cols / 256;
    tlm_amx_load(wt == TLM_TYPE_Q6_K ? &cfg_q6 : &cfg);
    const bool k = wt == TLM_TYPE_Q4_K || wt == TLM_TYPE_Q6_K;
    int64_t r = r0;
    for (; !k && r + 2 * TLM_X16_ROWS <= r1; r += 2 * TLM_X16_ROWS) { /* pairs of groups */
        const uint8_t *grp = a->w + (size_t)r * a->w_row_size;
        const int8_t *lv0 = group_levels(wt, grp, a->nb32, 0);
        const int8_t *lv1 = group_levels(wt, grp + 16 * a->w_row_size, a->nb32, 1);
        int64_t t = t0;
        for (; t + 32 <= t1; t += 32) group_tile2(wt, a, lv0, lv1, r, t);
        for (; t < t1; t += 16) {
            group_tile(wt, a, lv0, r, t, (int)TLM_MIN(16, t1 - t));
            group_tile(wt, a, lv1, r + 16, t, (int)TLM_MIN(16, t1 - t));
        }
    }
    for (; r < r1; r += TLM_X16_ROWS) {
        const uint8_t *grp = a->w + (size_t)r * a->w_row_size;
        const int8_t *lv = wt == TLM_TYPE_Q4_K   ? group_levels_q4k(grp, nsb)
                           : wt == TLM_TYPE_Q6_K ? group_levels_q6k(grp, nsb)
                                                 : group_levels(wt, grp, a->nb32, 0);
        for (int64_t t = t0; t < t1; t += 16) {
            int m = (int)TLM_MIN(16, t1 - t);
            if (wt == TLM_TYPE_Q4_K) q4k_tile(a, lv, r, t, m);
            else if (wt == TLM_TYPE_Q6_K) q6k_tile(a, lv, r, t, m);
            else group_tile(wt, a, lv, r, t, m);
        }
    }
    tlm_amx_release();
}
