/*
 * matmul_gemm_avx512.c - many-token products of quantized weights with
 * AVX-512 VNNI: W is repacked into 8-row panels of signed 8-bit levels,
 * activations into 16-token panels of unsigned bytes, and each register
 * tile (8 rows x 16 tokens, one zmm lane per token) accumulates with
 * vpdpbusd, one 4-byte weight broadcast per row and group of 4 columns.
 *
 * Exactness: vpdpbusd wants unsigned x signed bytes, so activations are
 * stored biased (x + 128) and each block starts from -128 * sum(w), which
 * makes the integer block sums exactly those of the reference; the float
 * steps per block (or super-block) are then the reference's, in its order,
 * so these products equal tlm_quant_info(t)->vec_dot_ref bit for bit.
 *
 * Panels (built per call, reused for every token tile):
 *   activations, per tile and 32-block: u8 [8 groups][16 tokens][4],
 *     the block scale per token (apd), Q8_1 sums s (aps), and for Q8_K per
 *     256-block the pairs (bsum[2p], bsum[2p+1]) per token (apx);
 *   weights, per 8 rows and K-chunk of KC 32-blocks: s8 [block][row][32],
 *     per block scale / correction / minimum, and for K-quants per
 *     256-block the integer sub-block scales, minimum pairs and d, dmin.
 * The float weight types (F32/F16/BF16) use the dot-product tiles of
 * matmul_avx512.c for every token count.
 */
#include "tensor/matmul_avx512.h"

#include "core/util.h"
#include "tensor/amx.h"
#include "tensor/kquant_avx512.h"
#include "tensor/quant.h"
#include "tensor/simd.h"
#include "tensor/simd_x86.h"

#include <stdbool.h>

#define INLINE static inline __attribute__((always_inline))

#define GR 8                /* weight rows per register tile */
#define TT 16               /* tokens per register tile (zmm lanes) */
#define KC 128              /* 32-blocks per K-chunk: 4096 columns */
#define KC_SB (KC / 8)      /* 256-blocks per K-chunk */
#define MAX_TILES (TLM_MM_GEMM_TOKS / TT)

typedef struct wpanel {
    _Alignas(64) int8_t q[KC][GR][32];
    float s[KC][GR];
    int32_t c[KC][GR];
    float m[KC][GR];
    int32_t ksc[KC_SB][16][GR];  /* sub-block scales (16 or 8 used) */
    int32_t kc[KC_SB][GR];       /* -128 * sum_j sc_j * sum(levels of j) */
    int32_t kmp[KC_SB][8][GR];   /* minimum pairs, 2 x int16 */
    float kd[KC_SB][GR], kdm[KC_SB][GR];
} wpanel;

/* One panel per thread: ~60 KB is too much for a stack frame of code that
 * may run on small-stack threads, and the per-token path must not
 * allocate. */
static _Thread_local wpanel tls_panel;

/* ---- Activation panel ---- */

void tlm_mm_avx512_prep(const tlm_mm_args *a, int64_t tile) {
    const int64_t nb = a->nb32, nsb = a->cols / TLM_QK_K;
    const bool k = a->act_type == TLM_TYPE_Q8_K, q81 = a->act_type == TLM_TYPE_Q8_1;
    uint8_t *ap = a->ap + (size_t)tile * (size_t)nb * 512;
    for (int j = 0; j < TT; j++) {
        int64_t t = tile * TT + j;
        const uint8_t *row = a->q + (size_t)t * a->q_row_size;
        bool pad = t >= a->n_tok;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *src = k ? (const uint8_t *)((const tlm_block_q8_K *)row)[b / 8].qs + 32 * (b % 8)
                                   : row + b * (q81 ? 36 : 34) + (q81 ? 4 : 2);
            uint8_t *dst = ap + b * 512 + 4 * j;
            TLM_UNROLL for (int g = 0; g < 8; g++) {
                uint32_t v = pad ? 0 : tlm_x86_load_u32(src + 4 * g);
                v ^= 0x80808080u;
                memcpy(dst + 64 * g, &v, 4);
            }
        }
        if (!k) {
            for (int64_t b = 0; b < nb; b++) {
                a->apd[(tile * nb + b) * TT + j] = pad ? 0.0f : a->qd[t * nb + b];
                a->aps[(tile * nb + b) * TT + j] = pad ? 0.0f : a->qs[t * nb + b];
            }
            continue;
        }
        for (int64_t s = 0; s < nsb; s++) {
            const tlm_block_q8_K *blk = (const tlm_block_q8_K *)row + s;
            a->apd[(tile * nsb + s) * TT + j] = pad ? 0.0f : blk->d;
            TLM_UNROLL for (int p = 0; p < 8; p++) {
                uint32_t v = pad ? 0
                                 : (uint32_t)(uint16_t)blk->bsums[2 * p] |
                                       (uint32_t)(uint16_t)blk->bsums[2 * p + 1] << 16;
                a->apx[((tile * nsb + s) * 8 + p) * TT + j] = (int32_t)v;
            }
        }
    }
}

/* Sum of 32 signed bytes. */
INLINE int32_t sum_s8_32(__m256i w) {
    __m256i s = _mm256_sad_epu8(_mm256_xor_si256(w, _mm256_set1_epi8((char)0x80)),
                                _mm256_setzero_si256());
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
    return (int32_t)_mm_cvtsi128_si64(h) - 32 * 128;
}

/* ---- 32-block types ---- */

/* Signed levels of one block in element order (the reference's qx). */
INLINE __m256i dec32(tlm_type wt, const uint8_t *blk) {
    if (wt == TLM_TYPE_Q8_0) return _mm256_loadu_si256((const __m256i *)(blk + 2));
    int qs = wt == TLM_TYPE_Q4_0 ? 2 : wt == TLM_TYPE_Q4_1 ? 4 : wt == TLM_TYPE_Q5_0 ? 6 : 8;
    __m128i q = _mm_loadu_si128((const __m128i *)(blk + qs));
    __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
    if (wt == TLM_TYPE_Q5_0 || wt == TLM_TYPE_Q5_1) {
        uint32_t qh = tlm_x86_load_u32(blk + (wt == TLM_TYPE_Q5_0 ? 2 : 4));
        v = _mm256_mask_add_epi8(v, qh, v, _mm256_set1_epi8(16));
    }
    if (wt == TLM_TYPE_Q4_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(8));
    if (wt == TLM_TYPE_Q5_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(16));
    return v;
}

INLINE void pack_legacy_t(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t kb0,
                          int nkb, wpanel *P) {
    const size_t bs = tlm_type_row_size(wt, TLM_QK);
    TLM_UNROLL for (int i = 0; i < GR; i++) {
        if (i >= R) {
            for (int b = 0; b < nkb; b++) {
                memset(P->q[b][i], 0, 32);
                P->s[b][i] = P->m[b][i] = 0.0f;
                P->c[b][i] = 0;
            }
            continue;
        }
        const uint8_t *row = a->w + (size_t)(r + i) * a->w_row_size + (size_t)kb0 * bs;
        for (int b = 0; b < nkb; b++) {
            const uint8_t *blk = row + b * bs;
            __m256i w = dec32(wt, blk);
            _mm256_store_si256((__m256i *)P->q[b][i], w);
            P->s[b][i] = tlm_x86_f16(*(const tlm_f16 *)blk);
            P->c[b][i] = -128 * sum_s8_32(w);
            if (wt == TLM_TYPE_Q4_1 || wt == TLM_TYPE_Q5_1)
                P->m[b][i] = tlm_x86_f16(*(const tlm_f16 *)(blk + 2));
        }
    }
}

static void pack_legacy(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t kb0, int nkb,
                        wpanel *P) {
    switch (wt) {
    case TLM_TYPE_Q4_0: pack_legacy_t(TLM_TYPE_Q4_0, a, r, R, kb0, nkb, P); break;
    case TLM_TYPE_Q4_1: pack_legacy_t(TLM_TYPE_Q4_1, a, r, R, kb0, nkb, P); break;
    case TLM_TYPE_Q5_0: pack_legacy_t(TLM_TYPE_Q5_0, a, r, R, kb0, nkb, P); break;
    case TLM_TYPE_Q5_1: pack_legacy_t(TLM_TYPE_Q5_1, a, r, R, kb0, nkb, P); break;
    default: pack_legacy_t(TLM_TYPE_Q8_0, a, r, R, kb0, nkb, P); break;
    }
}

/* Block b's float step for the 8 x 16 tile, from its integer sums:
 * acc = acc + (float)isum * (dw * dy) [+ m * s]. */
INLINE void leg_step(bool has_min, const wpanel *P, int b, const __m512i iacc[GR],
                     const float *apd, const float *aps, __m512 facc[GR]) {
    __m512 dyv = _mm512_load_ps(apd + TT * b);
    TLM_UNROLL for (int i = 0; i < GR; i++) {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(iacc[i]),
                                 _mm512_mul_ps(_mm512_set1_ps(P->s[b][i]), dyv));
        if (has_min)
            f = _mm512_add_ps(f, _mm512_mul_ps(_mm512_set1_ps(P->m[b][i]),
                                               _mm512_load_ps(aps + TT * b)));
        facc[i] = _mm512_add_ps(facc[i], f);
    }
}

/* One 8 x 16 tile over nkb blocks; tb holds the float sums between
 * K-chunks. */
INLINE void leg_tile(bool has_min, const wpanel *P, int nkb, const uint8_t *ap, const float *apd,
                     const float *aps, float *tb, bool first) {
    __m512 facc[GR];
    TLM_UNROLL for (int i = 0; i < GR; i++) facc[i] = first ? _mm512_setzero_ps() : _mm512_load_ps(tb + TT * i);
    for (int b = 0; b < nkb; b++) {
        const uint8_t *xb = ap + b * 512;
        __m512i iacc[GR];
        TLM_UNROLL for (int i = 0; i < GR; i++) iacc[i] = _mm512_set1_epi32(P->c[b][i]);
        TLM_UNROLL for (int g = 0; g < 8; g++) {
            __m512i xv = _mm512_load_si512(xb + 64 * g);
            TLM_UNROLL for (int i = 0; i < GR; i++) {
                int32_t wv;
                memcpy(&wv, &P->q[b][i][4 * g], 4);
                iacc[i] = _mm512_dpbusd_epi32(iacc[i], xv, _mm512_set1_epi32(wv));
            }
        }
        leg_step(has_min, P, b, iacc, apd, aps, facc);
    }
    TLM_UNROLL for (int i = 0; i < GR; i++) _mm512_store_ps(tb + TT * i, facc[i]);
}

/* ---- The same tile with AMX ----
 * One tdpbsud (signed levels x biased unsigned activations) gives a
 * block's 8 x 16 integer sums at once; they are stored to memory, and
 * from there the float step is leg_tile's, so the bits are the same.  The
 * activation panel is already laid out as the B tile wants it (4 bytes per
 * token per row, 16 tokens).  Four blocks at a time (sum tiles 0-3; levels
 * in 4 and 6, activations in 5 and 7, alternating): one block at a time,
 * each tile store waited for its product and the float step for the store,
 * and the kernel ran no faster than the vpdpbusd one (+12% this way). */
static const _Alignas(64) tlm_amx_config amx_cfg = {
    .palette = 1,
    .colsb = {4 * TT, 4 * TT, 4 * TT, 4 * TT, 32, 4 * TT, 32, 4 * TT},
    .rows = {GR, GR, GR, GR, GR, 8, GR, 8}};

/* Block b's integer sums into tile C, through tiles A and B. */
#define AMX_DP(C, A, B, b)                          \
    do {                                            \
        _tile_loadd(A, P->q[b], 32);                \
        _tile_loadd(B, ap + (b) * 512, 4 * TT);     \
        _tile_zero(C);                              \
        _tile_dpbsud(C, A, B);                      \
    } while (0)

TLM_AMX_FN static void leg_tile_amx(bool has_min, const wpanel *P, int nkb, const uint8_t *ap,
                                    const float *apd, const float *aps, float *tb, bool first) {
    _Alignas(64) int32_t sums[4][GR][TT];
    __m512 facc[GR];
    TLM_UNROLL for (int i = 0; i < GR; i++)
        facc[i] = first ? _mm512_setzero_ps() : _mm512_load_ps(tb + TT * i);
    for (int b0 = 0; b0 < nkb; b0 += 4) {
        int n = TLM_MIN(4, nkb - b0);
        AMX_DP(0, 4, 5, b0);
        if (n > 1) AMX_DP(1, 6, 7, b0 + 1);
        if (n > 2) AMX_DP(2, 4, 5, b0 + 2);
        if (n > 3) AMX_DP(3, 6, 7, b0 + 3);
        _tile_stored(0, sums[0], 4 * TT);
        if (n > 1) _tile_stored(1, sums[1], 4 * TT);
        if (n > 2) _tile_stored(2, sums[2], 4 * TT);
        if (n > 3) _tile_stored(3, sums[3], 4 * TT);
        for (int k = 0; k < n; k++) {
            int b = b0 + k;
            __m512i iacc[GR];
            TLM_UNROLL for (int i = 0; i < GR; i++)
                iacc[i] = _mm512_add_epi32(_mm512_load_si512(sums[k][i]),
                                           _mm512_set1_epi32(P->c[b][i]));
            leg_step(has_min, P, b, iacc, apd, aps, facc);
        }
    }
    TLM_UNROLL for (int i = 0; i < GR; i++) _mm512_store_ps(tb + TT * i, facc[i]);
}

/* Float sums of a whole chunk: [token tile][row][token in tile]. */
static _Thread_local _Alignas(64) float tls_out[MAX_TILES][TLM_MM_CHUNK_ROWS][TT];

/* Writes the chunk's sums (rows [r, r+R), tokens [t0, t1)) to y, 16 rows
 * of one token per store: tokens are rows of y, so storing a tile column
 * by column would touch a new cache line for every value. */
static void store_chunk(const tlm_mm_args *a, int64_t r, int R, int64_t t0, int64_t t1) {
    for (int64_t u = 0; u * TT < t1 - t0; u++) {
        int64_t n = TLM_MIN(TT, t1 - t0 - u * TT);
        for (int i0 = 0; i0 < R; i0 += 16) {
            __m512 v[16];
            TLM_UNROLL for (int k = 0; k < 16; k++) v[k] = _mm512_load_ps(tls_out[u][i0 + k]);
            tlm_x86_transpose16(v);
            __mmask16 m = (__mmask16)((1u << TLM_MIN(16, R - i0)) - 1);
            float *base = a->y + (t0 + u * TT) * a->rows + r + i0;
            TLM_UNROLL for (int j = 0; j < 16; j++)
                if (j < n) _mm512_mask_storeu_ps(base + j * a->rows, m, v[j]);
        }
    }
}

void tlm_mm_avx512_gemm_legacy(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                               int64_t t1) {
    wpanel *P = &tls_panel;
    const int64_t nb = a->nb32, tile0 = t0 / TT, ntile = (t1 - t0 + TT - 1) / TT;
    const bool has_min = a->act_type == TLM_TYPE_Q8_1, amx = tlm_simd_amx();
    if (amx) tlm_amx_load(&amx_cfg);
    for (int64_t r = r0; r < r1; r += GR) {
        int R = (int)TLM_MIN(GR, r1 - r);
        for (int64_t kb0 = 0; kb0 < nb; kb0 += KC) {
            int nkb = (int)TLM_MIN(KC, nb - kb0);
            pack_legacy(a->wtype, a, r, R, kb0, nkb, P);
            for (int64_t u = 0; u < ntile; u++) {
                size_t o = (size_t)((tile0 + u) * nb + kb0);
                const float *aps = has_min ? a->aps + o * TT : NULL;
                float *tb = tls_out[u][r - r0];
                if (amx)
                    leg_tile_amx(has_min, P, nkb, a->ap + o * 512, a->apd + o * TT, aps, tb,
                                 kb0 == 0);
                else if (has_min)
                    leg_tile(true, P, nkb, a->ap + o * 512, a->apd + o * TT, aps, tb, kb0 == 0);
                else
                    leg_tile(false, P, nkb, a->ap + o * 512, a->apd + o * TT, NULL, tb, kb0 == 0);
            }
        }
    }
    if (amx) tlm_amx_release();
    store_chunk(a, r0, (int)(r1 - r0), t0, t1);
}

/* ---- K-quants ---- */

/* What unpacking one 256-block gives: levels (signed, the reference's qx)
 * in 4 zmm of 64, integer sub-block scales and minimums, d and dmin. */
typedef struct kblock {
    __m512i lv[4];
    int sc[16], mn[16];
    float d, dmin;
} kblock;

static void k4_scale_bytes(const uint8_t *s, int *sc, int *mn) {
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (s[j + 8] & 15) | (s[j] >> 6) << 4;
        mn[j + 4] = (s[j + 8] >> 4) | (s[j + 4] >> 6) << 4;
    }
}

INLINE void unpack_k(tlm_type wt, const uint8_t *blk, kblock *k) {
    switch (wt) {
    case TLM_TYPE_Q2_K: {
        for (int j = 0; j < 16; j++) k->sc[j] = blk[j] & 15, k->mn[j] = blk[j] >> 4;
        TLM_UNROLL for (int c = 0; c < 4; c++) k->lv[c] = tlm_kq_crumbs64(blk + 16, c);
        k->d = tlm_x86_f16(*(const tlm_f16 *)(blk + 80));
        k->dmin = tlm_x86_f16(*(const tlm_f16 *)(blk + 82));
        break;
    }
    case TLM_TYPE_Q3_K: {
        const uint8_t *s = blk + 96;
        for (int j = 0; j < 16; j++) {
            int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
            k->sc[j] = (lo | ((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32;
        }
        __m256i hm = _mm256_loadu_si256((const __m256i *)blk);
        TLM_UNROLL for (int c = 0; c < 4; c++)
            k->lv[c] = tlm_kq_high_bits(_mm512_sub_epi8(tlm_kq_crumbs64(blk + 32, c), _mm512_set1_epi8(4)),
                                        hm, c, 4);
        k->d = tlm_x86_f16(*(const tlm_f16 *)(blk + 108));
        break;
    }
    case TLM_TYPE_Q4_K:
    case TLM_TYPE_Q5_K: {
        bool q5 = wt == TLM_TYPE_Q5_K;
        k4_scale_bytes(blk + 4, k->sc, k->mn);
        __m256i h = q5 ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
        TLM_UNROLL for (int c = 0; c < 4; c++) {
            __m512i z = tlm_kq_nibbles64(_mm256_loadu_si256((const __m256i *)(blk + (q5 ? 48 : 16) + 32 * c)));
            k->lv[c] = q5 ? tlm_kq_high_bits(z, h, c, 16) : z;
        }
        k->d = tlm_x86_f16(*(const tlm_f16 *)blk);
        k->dmin = tlm_x86_f16(*(const tlm_f16 *)(blk + 2));
        break;
    }
    default: { /* Q6_K */
        const tlm_block_q6_K *b = (const tlm_block_q6_K *)blk;
        tlm_kq_q6_levels(b, k->lv);
        TLM_UNROLL for (int c = 0; c < 4; c++) k->lv[c] = _mm512_sub_epi8(k->lv[c], _mm512_set1_epi8(32));
        for (int j = 0; j < 16; j++) k->sc[j] = b->scales[j];
        k->d = tlm_x86_f16(b->d);
        break;
    }
    }
}

INLINE int k_sub(tlm_type wt) { return wt == TLM_TYPE_Q4_K || wt == TLM_TYPE_Q5_K ? 32 : 16; }
INLINE bool k_mins(tlm_type wt) {
    return wt == TLM_TYPE_Q2_K || wt == TLM_TYPE_Q4_K || wt == TLM_TYPE_Q5_K;
}

/* Stores a block's levels and derived integers for row i, 256-block s. */
INLINE void put_k(tlm_type wt, const kblock *k, wpanel *P, int s, int i) {
    int sum16[16];
    TLM_UNROLL for (int c = 0; c < 4; c++) {
        _mm256_store_si256((__m256i *)P->q[8 * s + 2 * c][i], _mm512_castsi512_si256(k->lv[c]));
        _mm256_store_si256((__m256i *)P->q[8 * s + 2 * c + 1][i], _mm512_extracti64x4_epi64(k->lv[c], 1));
        __m512i sad = _mm512_sad_epu8(_mm512_xor_si512(k->lv[c], _mm512_set1_epi8((char)0x80)),
                                      _mm512_setzero_si512());
        uint64_t v[8];
        _mm512_storeu_si512(v, sad);
        for (int g = 0; g < 4; g++) sum16[4 * c + g] = (int)(v[2 * g] + v[2 * g + 1]) - 16 * 128;
    }
    const int sb = k_sub(wt), nsub = 256 / sb;
    int corr = 0;
    for (int j = 0; j < nsub; j++) {
        int q = sb == 16 ? sum16[j] : sum16[2 * j] + sum16[2 * j + 1];
        corr += k->sc[j] * q;
        P->ksc[s][j][i] = k->sc[j];
    }
    P->kc[s][i] = -128 * corr;
    if (k_mins(wt))
        TLM_UNROLL for (int p = 0; p < 8; p++) {
            int m0 = sb == 16 ? k->mn[2 * p] : k->mn[p], m1 = sb == 16 ? k->mn[2 * p + 1] : k->mn[p];
            P->kmp[s][p][i] = (int32_t)((uint32_t)(uint16_t)m0 | (uint32_t)(uint16_t)m1 << 16);
        }
    P->kd[s][i] = k->d;
    P->kdm[s][i] = k->dmin;
}

INLINE void pack_k_t(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t sb0, int nsb,
                     wpanel *P) {
    const size_t bs = tlm_type_row_size(wt, TLM_QK_K);
    TLM_UNROLL for (int i = 0; i < GR; i++) {
        if (i >= R) {
            for (int s = 0; s < nsb; s++) {
                for (int b = 0; b < 8; b++) memset(P->q[8 * s + b][i], 0, 32);
                for (int j = 0; j < 16; j++) P->ksc[s][j][i] = 0;
                TLM_UNROLL for (int p = 0; p < 8; p++) P->kmp[s][p][i] = 0;
                P->kc[s][i] = 0;
                P->kd[s][i] = P->kdm[s][i] = 0.0f;
            }
            continue;
        }
        const uint8_t *row = a->w + (size_t)(r + i) * a->w_row_size + (size_t)sb0 * bs;
        for (int s = 0; s < nsb; s++) {
            kblock k = {.dmin = 0.0f};
            unpack_k(wt, row + s * bs, &k);
            put_k(wt, &k, P, s, i);
        }
    }
}

static void pack_k(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t sb0, int nsb,
                   wpanel *P) {
    switch (wt) {
    case TLM_TYPE_Q2_K: pack_k_t(TLM_TYPE_Q2_K, a, r, R, sb0, nsb, P); break;
    case TLM_TYPE_Q3_K: pack_k_t(TLM_TYPE_Q3_K, a, r, R, sb0, nsb, P); break;
    case TLM_TYPE_Q4_K: pack_k_t(TLM_TYPE_Q4_K, a, r, R, sb0, nsb, P); break;
    case TLM_TYPE_Q5_K: pack_k_t(TLM_TYPE_Q5_K, a, r, R, sb0, nsb, P); break;
    default: pack_k_t(TLM_TYPE_Q6_K, a, r, R, sb0, nsb, P); break;
    }
}

/* Per 256-block: isum = sum_j sc_j * (integer sum of sub-block j), imin =
 * sum m * bsum; acc = acc + ((d*dy)*isum - (dmin*dy)*imin), as the
 * reference (Q3_K/Q6_K have no minimum term). */
INLINE void k_tile(int sb, bool mins, const wpanel *P, int nsb, const uint8_t *ap,
                   const float *apd, const int32_t *apx, float *tb, bool first) {
    __m512 facc[GR];
    TLM_UNROLL for (int i = 0; i < GR; i++) facc[i] = first ? _mm512_setzero_ps() : _mm512_load_ps(tb + TT * i);
    const int gpj = sb / 4; /* 4-column groups per sub-block */
    for (int s = 0; s < nsb; s++) {
        __m512i iacc[GR];
        TLM_UNROLL for (int i = 0; i < GR; i++) iacc[i] = _mm512_set1_epi32(P->kc[s][i]);
        for (int j = 0; j < 256 / sb; j++) {
            __m512i tmp[GR];
            TLM_UNROLL for (int i = 0; i < GR; i++) tmp[i] = _mm512_setzero_si512();
            for (int gg = 0; gg < gpj; gg++) {
                int g = j * gpj + gg, b = 8 * s + g / 8;
                __m512i xv = _mm512_load_si512(ap + (size_t)b * 512 + 64 * (g % 8));
                TLM_UNROLL for (int i = 0; i < GR; i++) {
                    int32_t wv;
                    memcpy(&wv, &P->q[b][i][4 * (g % 8)], 4);
                    tmp[i] = _mm512_dpbusd_epi32(tmp[i], xv, _mm512_set1_epi32(wv));
                }
            }
            TLM_UNROLL for (int i = 0; i < GR; i++)
                iacc[i] = _mm512_add_epi32(iacc[i], _mm512_mullo_epi32(tmp[i], _mm512_set1_epi32(P->ksc[s][j][i])));
        }
        __m512 dyv = _mm512_load_ps(apd + TT * s);
        TLM_UNROLL for (int i = 0; i < GR; i++) {
            __m512 f = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(P->kd[s][i]), dyv),
                                     _mm512_cvtepi32_ps(iacc[i]));
            if (mins) {
                __m512i imin = _mm512_setzero_si512();
                TLM_UNROLL for (int p = 0; p < 8; p++)
                    imin = _mm512_dpwssd_epi32(imin, _mm512_load_si512(apx + (s * 8 + p) * TT),
                                               _mm512_set1_epi32(P->kmp[s][p][i]));
                f = _mm512_sub_ps(f, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(P->kdm[s][i]), dyv),
                                                   _mm512_cvtepi32_ps(imin)));
            }
            facc[i] = _mm512_add_ps(facc[i], f);
        }
    }
    TLM_UNROLL for (int i = 0; i < GR; i++) _mm512_store_ps(tb + TT * i, facc[i]);
}

static void k_tile_any(tlm_type wt, const wpanel *P, int nsb, const uint8_t *ap, const float *apd,
                       const int32_t *apx, float *tb, bool first) {
    if (k_sub(wt) == 32) k_tile(32, true, P, nsb, ap, apd, apx, tb, first);
    else if (k_mins(wt)) k_tile(16, true, P, nsb, ap, apd, apx, tb, first);
    else k_tile(16, false, P, nsb, ap, apd, apx, tb, first);
}

void tlm_mm_avx512_gemm_k(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    wpanel *P = &tls_panel;
    const int64_t nb = a->nb32, nsb_all = a->cols / TLM_QK_K;
    const int64_t tile0 = t0 / TT, ntile = (t1 - t0 + TT - 1) / TT;
    for (int64_t r = r0; r < r1; r += GR) {
        int R = (int)TLM_MIN(GR, r1 - r);
        for (int64_t sb0 = 0; sb0 < nsb_all; sb0 += KC_SB) {
            int nsb = (int)TLM_MIN(KC_SB, nsb_all - sb0);
            pack_k(a->wtype, a, r, R, sb0, nsb, P);
            for (int64_t u = 0; u < ntile; u++) {
                size_t ob = (size_t)((tile0 + u) * nb + sb0 * 8);
                size_t os = (size_t)((tile0 + u) * nsb_all + sb0);
                k_tile_any(a->wtype, P, nsb, a->ap + ob * 512, a->apd + os * TT,
                           a->apx + os * 8 * TT, tls_out[u][r - r0], sb0 == 0);
            }
        }
    }
    store_chunk(a, r0, (int)(r1 - r0), t0, t1);
}
