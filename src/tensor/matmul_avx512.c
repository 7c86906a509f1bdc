/*
 * matmul_avx512.c - AVX-512 (F/BW/VL/DQ + VNNI) kernels: the activation
 * quantizers, the products of float weights (any token count), the
 * one-token products (GEMV) of the 32-block types, and the kernel table of
 * the path.  K-quant GEMV: matmul_gemv_k_avx512.c; many-token quantized
 * products: matmul_gemm_avx512.c.
 *
 * Every output has the same bits whether its token is computed alone or in
 * a batch (see matmul_avx512.h): the quantized GEMVs follow the reference
 * order of quant.h exactly as the GEMM kernels do, and the float types use
 * one accumulation scheme for any tile.
 *
 * GEMV reads W in its GGUF layout exactly once, so it is bound by memory
 * bandwidth as long as the per-block work stays at a few instructions:
 *   - nibble types take 4 blocks per zmm: two 64-byte loads and one word
 *     permute gather their 4 x 16 bytes of levels (every block field is
 *     word aligned), split into low/high nibble planes for two vpdpbusd;
 *     Q8_0 takes 2 blocks per zmm, the weights biased to unsigned;
 *   - the nibble offset (-8, -16) and the Q8_0 bias come off the integer
 *     block sums through the activation block sums, exactly;
 *   - 16 rows share each activation load, and each row prefetches the same
 *     bytes of the row 16 further on, keeping enough cache-line fills in
 *     flight on machines where a few streams per core cannot saturate
 *     memory (high latency, e.g. virtualised).
 */
#include "tensor/matmul_avx512.h"

#include "core/util.h"
#include "tensor/quant.h"
#include "tensor/simd_x86.h"

#include <stdbool.h>

#define INLINE static inline __attribute__((always_inline))

#define GV_ROWS TLM_AVX512_GV_ROWS
#define PF_LINES(p, n)                                                                      \
    do {                                                                                    \
        for (int pf_ = 0; pf_ < (n); pf_++)                                                 \
            _mm_prefetch((const char *)(p) + 64 * pf_, _MM_HINT_T0);                        \
    } while (0)

/* ---- Activation quantizers (bit-exact with quant.h) ---- */

/* One q8 lane group: NaN -> 0, clamp to +-127, roundf. */
INLINE __m512i q8_lanes(__m512 v) {
    __mmask16 ord = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
    v = _mm512_maskz_mov_ps(ord, v);
    v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
    return _mm512_cvttps_epi32(tlm_x86_round_away(v));
}

/* Lane-wise max |x| over n16 vectors, NaN ignored (as `fabsf(x) > amax`
 * does: max_ps returns its second operand when the first is NaN). */
INLINE __m512 absmax_lanes(const __m512 *v, int n16) {
    __m512 m = _mm512_setzero_ps();
    for (int i = 0; i < n16; i++) m = _mm512_max_ps(_mm512_abs_ps(v[i]), m);
    return m;
}

INLINE float absmax(const __m512 *v, int n16) { return _mm512_reduce_max_ps(absmax_lanes(v, n16)); }

/* Blocks [0, n) of x (n <= 16, 32 floats each) to Q8 levels: qs (32 bytes
 * a block, back to back), the scales d and the level sums, each block as
 * the reference quantizes it alone.  The per-block maximum and sum are
 * reduced sixteen blocks at a time through a transpose: reduced one block
 * at a time they were most of the quantizer's time, a tenth of a prompt.
 * A maximum of non-negative numbers and an integer sum do not depend on
 * the order they are taken in. */
static void q8_blocks16(const float *x, int n, int8_t *qs, float d[16], int32_t isum[16]) {
    __m512 m[16];
    TLM_UNROLL for (int b = 0; b < 16; b++) {
        if (b >= n) {
            m[b] = _mm512_setzero_ps();
            continue;
        }
        __m512 v[2] = {_mm512_loadu_ps(x + 32 * b), _mm512_loadu_ps(x + 32 * b + 16)};
        m[b] = absmax_lanes(v, 2);
    }
    tlm_x86_transpose16(m);
    __m512 amax = m[0];
    TLM_UNROLL for (int i = 1; i < 16; i++) amax = _mm512_max_ps(amax, m[i]);
    __m512 dv = _mm512_div_ps(amax, _mm512_set1_ps(127.0f));
    __mmask16 nz = _mm512_cmp_ps_mask(dv, _mm512_setzero_ps(), _CMP_NEQ_OQ);
    _Alignas(64) float id[16];
    _mm512_store_ps(id, _mm512_maskz_div_ps(nz, _mm512_set1_ps(1.0f), dv));
    _mm512_storeu_ps(d, dv);
    __m512i s[16];
    TLM_UNROLL for (int b = 0; b < 16; b++) {
        if (b >= n) {
            s[b] = _mm512_setzero_si512();
            continue;
        }
        __m512 vid = _mm512_set1_ps(id[b]);
        __m512i i0 = q8_lanes(_mm512_mul_ps(_mm512_loadu_ps(x + 32 * b), vid));
        __m512i i1 = q8_lanes(_mm512_mul_ps(_mm512_loadu_ps(x + 32 * b + 16), vid));
        _mm_storeu_si128((__m128i *)(qs + 32 * b), _mm512_cvtepi32_epi8(i0));
        _mm_storeu_si128((__m128i *)(qs + 32 * b + 16), _mm512_cvtepi32_epi8(i1));
        s[b] = _mm512_add_epi32(i0, i1);
    }
    __m512i lo, hi;
    tlm_x86_sum_halves16(s, &lo, &hi);
    _mm512_storeu_si512(isum, _mm512_add_epi32(lo, hi));
}

static void q8_K_block(const float *x, tlm_block_q8_K *b) {
    __m512 v[16];
    for (int i = 0; i < 16; i++) v[i] = _mm512_loadu_ps(x + 16 * i);
    float amax = absmax(v, 16);
    if (!(amax > 0.0f)) {
        memset(b, 0, sizeof *b);
        return;
    }
    float max = 0.0f; /* the first element of largest magnitude, with its sign */
    for (int i = 0; i < 16; i++) {
        __mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(v[i]), _mm512_set1_ps(amax), _CMP_EQ_OQ);
        if (m) {
            max = x[16 * i + __builtin_ctz(m)];
            break;
        }
    }
    float iscale = -127.0f / max;
    __m512 vs = _mm512_set1_ps(iscale);
    for (int i = 0; i < 16; i++) {
        __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v[i], vs)); /* round to nearest even */
        q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(-127)), _mm512_set1_epi32(127));
        _mm_storeu_si128((__m128i *)(b->qs + 16 * i), _mm512_cvtepi32_epi8(q));
        b->bsums[i] = (int16_t)_mm512_reduce_add_epi32(q);
    }
    b->d = 1.0f / iscale;
}

static void quant_act(tlm_type act, const float *x, int64_t n, uint8_t *q,
                      const tlm_act_side *side) {
    if (act == TLM_TYPE_Q8_K) {
        for (int64_t i = 0; i < n / TLM_QK_K; i++)
            q8_K_block(x + i * TLM_QK_K, (tlm_block_q8_K *)q + i);
        return;
    }
    const int64_t nb = n / TLM_QK;
    for (int64_t i0 = 0; i0 < nb; i0 += 16) {
        int m = (int)TLM_MIN(16, nb - i0);
        float df[16];
        int32_t isum[16];
        q8_blocks16(x + i0 * TLM_QK, m, side->qx + i0 * TLM_QK, df, isum);
        for (int k = 0; k < m; k++) {
            int64_t i = i0 + k;
            tlm_f16 d = tlm_x86_to_f16(df[k]);
            int8_t *qs;
            if (act == TLM_TYPE_Q8_0) {
                tlm_block_q8_0 *b = (tlm_block_q8_0 *)q + i;
                b->d = d, qs = b->qs;
                side->s[i] = 0.0f;
            } else {
                tlm_block_q8_1 *b = (tlm_block_q8_1 *)q + i;
                b->d = d, qs = b->qs;
                b->s = tlm_x86_to_f16((float)isum[k] * df[k]);
                side->s[i] = tlm_x86_f16(b->s);
            }
            memcpy(qs, side->qx + i * TLM_QK, TLM_QK);
            side->d[i] = tlm_x86_f16(d);
            side->sum[i] = isum[k];
        }
    }
}

/* ---- Float weights (F32, F16, BF16), any token count ----
 * Each output keeps one 16-lane accumulator over k (lane l takes the
 * columns = l mod 16, in order) and is reduced once at the end by the
 * fixed tree of tlm_x86_hsum16, so its bits do not depend on the tile it
 * is computed in: one-token and many-token products agree exactly.
 * Decoding uses tiles of 8 rows x 1 token (eight streams), prefetching
 * the next tile's rows into L1 and rows further on into L2 (fdot_far), a
 * line at a time; prefill converts 16-row panels to float once and runs
 * tiles of 8 rows x 3 tokens over them (11 loads per 24 FMAs, panel and
 * activations in L1), reducing 16 rows at once at the end. */

#define FGV_R 8 /* rows per one-token tile */
#define FMM_R 8 /* rows x tokens per many-token tile (24 accumulators) */
#define FMM_T 3

INLINE __m512 load_wf(tlm_type wt, const uint8_t *row, int64_t k, __mmask16 m, bool tail) {
    switch (wt) {
    case TLM_TYPE_F16: {
        const void *p = row + 2 * k;
        __m256i h = tail ? _mm256_maskz_loadu_epi16(m, p) : _mm256_loadu_si256(p);
        return _mm512_cvtph_ps(h);
    }
    case TLM_TYPE_BF16: {
        const void *p = row + 2 * k;
        __m256i h = tail ? _mm256_maskz_loadu_epi16(m, p) : _mm256_loadu_si256(p);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    default: {
        const float *p = (const float *)(row + 4 * k);
        return tail ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
    }
    }
}

/* How many rows past the current ones a one-token tile also prefetches,
 * into L2: whole tiles, at least 48 KiB and two tiles on.  The next tile
 * alone was too near for narrow rows: 896-column F16 rows (14 KiB a tile)
 * streamed from memory at 88% of the plain read, and with this at 92-94%
 * (Qwen2.5-0.5B F16 generation 3-4% faster); 2048-column rows measured
 * the same either way. */
INLINE int64_t fdot_far(const tlm_mm_args *a) {
    int64_t tile = FGV_R * (int64_t)a->w_row_size;
    return FGV_R * TLM_MAX(2, (48 * 1024 + tile - 1) / tile);
}

/* Rows [r, r + R) x tokens [t, t + T); far > 0 (one token, full tiles)
 * prefetches the next tile and the rows `far` on (fdot_far). */
INLINE void fdot_tile(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t, int T,
                      int64_t far) {
    __m512 acc[FGV_R][FMM_T];
    TLM_UNROLL for (int i = 0; i < R; i++) TLM_UNROLL for (int j = 0; j < T; j++)
        acc[i][j] = _mm512_setzero_ps();
    const int64_t n = a->cols;
    const int es = wt == TLM_TYPE_F32 ? 4 : 2;
    const float *x = a->x + t * n;
    const uint8_t *w = a->w + (size_t)r * a->w_row_size;
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 xv[FMM_T];
        TLM_UNROLL for (int j = 0; j < T; j++) xv[j] = _mm512_loadu_ps(x + j * n + k);
        TLM_UNROLL for (int i = 0; i < R; i++) {
            if (far) {
                uintptr_t at = (uintptr_t)w + (uintptr_t)(k * es);
                if ((k * es) % 64 == 0) PF_LINES(at + (uintptr_t)(i + R) * a->w_row_size, 1);
                else _mm_prefetch((const char *)(at + (uintptr_t)(i + far) * a->w_row_size - 32),
                                  _MM_HINT_T1);
            }
            __m512 wv = load_wf(wt, w + i * a->w_row_size, k, 0, false);
            TLM_UNROLL for (int j = 0; j < T; j++) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1);
        __m512 xv[FMM_T];
        TLM_UNROLL for (int j = 0; j < T; j++) xv[j] = _mm512_maskz_loadu_ps(m, x + j * n + k);
        TLM_UNROLL for (int i = 0; i < R; i++) {
            __m512 wv = load_wf(wt, w + i * a->w_row_size, k, m, true);
            TLM_UNROLL for (int j = 0; j < T; j++) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    TLM_UNROLL for (int i = 0; i < R; i++) TLM_UNROLL for (int j = 0; j < T; j++)
        a->y[(t + j) * a->rows + r + i] = tlm_x86_hsum16(acc[i][j]);
}

INLINE void fdot_gemv(tlm_type wt, const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                      int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
        int64_t r = r0, far = fdot_far(a);
        for (; r + FGV_R <= r1; r += FGV_R) fdot_tile(wt, a, r, FGV_R, t, 1, far);
        for (; r < r1; r++) fdot_tile(wt, a, r, 1, t, 1, 0);
    }
}

/* Many tokens: the same per-output arithmetic, reorganised for reuse.  A
 * panel of FP_ROWS rows x FP_K columns is converted to float once (F16 and
 * BF16 would otherwise convert every weight once per token tile) and every
 * token tile of a part of the chunk runs over it; the 16-lane sums carry
 * over between column panels through a buffer (an exact store and reload),
 * so each lane still adds its columns in order, as fdot_tile does.  Loop
 * order: token part (FP_TOK tokens), column panel, row panel, token tile,
 * row tile, so a column panel of the part's activations (L2) serves all
 * the chunk's rows, and a panel and a token tile share L1. */
#define FP_ROWS 16
#define FP_K 512
#define FP_TOK 129 /* a multiple of FMM_T, about half a token chunk */

static _Thread_local _Alignas(64) float tls_fw[FP_ROWS][FP_K + 16]; /* padded: rows in different L1 sets */
static _Thread_local _Alignas(64) float tls_facc[TLM_MM_CHUNK_ROWS][FP_TOK][16];

INLINE void fpanel_convert(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t k0,
                          int nk) {
    for (int i = 0; i < R; i++) {
        const uint8_t *row = a->w + (size_t)(r + i) * a->w_row_size;
        for (int k = 0; k < nk; k += 16) {
            bool tail = nk - k < 16;
            __mmask16 m = (__mmask16)(tail ? (1u << (nk - k)) - 1 : 0xffff);
            _mm512_store_ps(tls_fw[i] + k, load_wf(wt, row, k0 + k, m, tail));
        }
    }
}

/* Panel rows [i0, i0 + R) (chunk rows ab + i0 ...) x tokens [t, t + T)
 * (index tc in the part), over the panel's columns [k0, k0 + nk). */
INLINE void fpanel_tile(const tlm_mm_args *a, int ab, int i0, int R, int64_t t, int64_t tc,
                        int T, int64_t k0, int nk, bool first) {
    __m512 acc[FMM_R][FMM_T];
    TLM_UNROLL for (int i = 0; i < R; i++) TLM_UNROLL for (int j = 0; j < T; j++)
        acc[i][j] = first ? _mm512_setzero_ps() : _mm512_load_ps(tls_facc[ab + i0 + i][tc + j]);
    const int64_t n = a->cols;
    const float *x = a->x + t * n + k0;
    int k = 0;
    _Pragma("GCC unroll 4") for (; k + 16 <= nk; k += 16) {
        __m512 xv[FMM_T];
        TLM_UNROLL for (int j = 0; j < T; j++) xv[j] = _mm512_loadu_ps(x + j * n + k);
        TLM_UNROLL for (int i = 0; i < R; i++) {
            __m512 wv = _mm512_load_ps(tls_fw[i0 + i] + k);
            TLM_UNROLL for (int j = 0; j < T; j++) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    if (k < nk) {
        __m512 xv[FMM_T];
        __mmask16 m = (__mmask16)((1u << (nk - k)) - 1);
        TLM_UNROLL for (int j = 0; j < T; j++) xv[j] = _mm512_maskz_loadu_ps(m, x + j * n + k);
        TLM_UNROLL for (int i = 0; i < R; i++) {
            __m512 wv = _mm512_load_ps(tls_fw[i0 + i] + k);
            TLM_UNROLL for (int j = 0; j < T; j++) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
        }
    }
    TLM_UNROLL for (int i = 0; i < R; i++) TLM_UNROLL for (int j = 0; j < T; j++)
        _mm512_store_ps(tls_facc[ab + i0 + i][tc + j], acc[i][j]);
}

/* One token tile over the R rows of the panel. */
INLINE void fpanel_rows(const tlm_mm_args *a, int ab, int R, int64_t t, int64_t tc, int T,
                        int64_t k0, int nk, bool first) {
    int i = 0;
    for (; i + FMM_R <= R; i += FMM_R) {
        if (T == FMM_T) fpanel_tile(a, ab, i, FMM_R, t, tc, FMM_T, k0, nk, first);
        else fpanel_tile(a, ab, i, FMM_R, t, tc, 1, k0, nk, first);
    }
    for (; i < R; i++) {
        if (T == FMM_T) fpanel_tile(a, ab, i, 1, t, tc, FMM_T, k0, nk, first);
        else fpanel_tile(a, ab, i, 1, t, tc, 1, k0, nk, first);
    }
}

/* The sums of rows [r, r + R) (chunk rows ab ...) for tokens [t0, t1) of
 * a part, 16 rows per token reduced together (the tree of
 * tlm_x86_hsum16). */
static void fpanel_store(const tlm_mm_args *a, int64_t r, int ab, int R, int64_t t0, int64_t t1) {
    const __mmask16 m = (__mmask16)((1u << R) - 1);
    for (int64_t t = t0; t < t1; t++) {
        __m512 v[FP_ROWS];
        TLM_UNROLL for (int i = 0; i < FP_ROWS; i++)
            v[i] = i < R ? _mm512_load_ps(tls_facc[ab + i][t - t0]) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(a->y + t * a->rows + r, m, tlm_x86_hsum16x16(v));
    }
}

/* One token part: every column panel, then the sums. */
INLINE void fdot_part(tlm_type wt, const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                      int64_t t1) {
    for (int64_t k0 = 0; k0 < a->cols; k0 += FP_K) {
        int nk = (int)TLM_MIN(FP_K, a->cols - k0);
        for (int64_t r = r0; r < r1; r += FP_ROWS) {
            int R = (int)TLM_MIN(FP_ROWS, r1 - r), ab = (int)(r - r0);
            fpanel_convert(wt, a, r, R, k0, nk);
            int64_t t = t0;
            for (; t + FMM_T <= t1; t += FMM_T) fpanel_rows(a, ab, R, t, t - t0, FMM_T, k0, nk, k0 == 0);
            for (; t < t1; t++) fpanel_rows(a, ab, R, t, t - t0, 1, k0, nk, k0 == 0);
        }
    }
    for (int64_t r = r0; r < r1; r += FP_ROWS)
        fpanel_store(a, r, (int)(r - r0), (int)TLM_MIN(FP_ROWS, r1 - r), t0, t1);
}

INLINE void fdot_gemm(tlm_type wt, const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0,
                      int64_t t1) {
    for (int64_t t = t0; t < t1; t += FP_TOK) fdot_part(wt, a, r0, r1, t, TLM_MIN(t1, t + FP_TOK));
}

#define FLOAT_MM(name, WT, fn)                                                              \
    static void name(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) { \
        fn(WT, a, r0, r1, t0, t1);                                                          \
    }
FLOAT_MM(gemv_f32, TLM_TYPE_F32, fdot_gemv)
FLOAT_MM(gemv_f16, TLM_TYPE_F16, fdot_gemv)
FLOAT_MM(gemv_bf16, TLM_TYPE_BF16, fdot_gemv)
FLOAT_MM(gemm_f32, TLM_TYPE_F32, fdot_gemm)
FLOAT_MM(gemm_f16, TLM_TYPE_F16, fdot_gemm)
FLOAT_MM(gemm_bf16, TLM_TYPE_BF16, fdot_gemm)

/* ---- Legacy 32-blocks, one token ----
 * Reference order (quant.h), as the many-token kernel: per row and block
 * the exact integer sum isum, then acc = acc + (float)isum * (dw*dy)
 * [+ m*s].  Rows go 16 at a time through steps of 16 blocks: per row,
 * vpdpbusd partial sums are reduced to one lane per block by transposing
 * integer sums (exact in any order), the float product of each block is
 * formed in lanes, and a 16 x 16 transpose turns the rows' products into
 * one vector per block (lane = row) that is added to the row sums in block
 * order.  The activations of a step stay in registers for all 16 rows. */

typedef struct leg_layout {
    int bs;      /* block bytes */
    int qs_ofs;  /* offset of qs in the block */
    int qh_ofs;  /* offset of qh (5-bit types), else -1 */
    int m_ofs;   /* offset of the f16 minimum (Q4_1/Q5_1), else -1 */
    int off;     /* value subtracted from the stored level (0: none) */
    bool q8;     /* signed bytes, not nibbles */
} leg_layout;

INLINE leg_layout leg_of(tlm_type wt) {
    switch (wt) {
    case TLM_TYPE_Q4_0: return (leg_layout){18, 2, -1, -1, 8, false};
    case TLM_TYPE_Q4_1: return (leg_layout){20, 4, -1, 2, 0, false};
    case TLM_TYPE_Q5_0: return (leg_layout){22, 6, 2, -1, 16, false};
    case TLM_TYPE_Q5_1: return (leg_layout){24, 8, 4, 2, 0, false};
    default:            return (leg_layout){34, 2, -1, -1, 0, true};
    }
}

/* Where the integer sums leave the 16 blocks of a step: lane l holds block
 * blk_of[l]; block b sits in lane lane_of[b].  Nibble types: quad j's
 * block q lands in lane 4q + j (tlm_x86_sum4x4); Q8_0: see q8_isum. */
static const int8_t nib_blk[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
static const int8_t q8_blk[16] = {0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15};
static const int8_t q8_lane[16] = {0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15};

/* Q8_0: the signed levels of blocks b and b+1 (b+1 only if two). */
INLINE __m512i q8_pair(const uint8_t *wb, bool two) {
    __m256i lo = _mm256_loadu_si256((const __m256i *)(wb + 2));
    if (!two) return _mm512_zextsi256_si512(lo);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo),
                              _mm256_loadu_si256((const __m256i *)(wb + 34 + 2)), 1);
}

/* Loads 128 bytes from p, zero past `avail` bytes (no access there). */
INLINE void load128(const uint8_t *p, int64_t avail, __m512i *A, __m512i *B) {
    if (avail >= 128) {
        *A = _mm512_loadu_si512(p);
        *B = _mm512_loadu_si512(p + 64);
        return;
    }
    __mmask64 ma = avail >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << avail) - 1;
    __mmask64 mb = avail <= 64 ? 0 : ((__mmask64)1 << (avail - 64)) - 1;
    *A = _mm512_maskz_loadu_epi8(ma, p);
    *B = _mm512_maskz_loadu_epi8(mb, p + 64);
}

/* Word indices that pull the 16 qs bytes of 4 consecutive blocks (block
 * bytes even, so every field is word aligned) out of 128 loaded bytes. */
INLINE __m512i quad_qs_idx(const leg_layout L) {
    uint16_t v[32];
    for (int w = 0; w < 32; w++) v[w] = (uint16_t)((w / 8) * (L.bs / 2) + L.qs_ofs / 2 + w % 8);
    return _mm512_loadu_si512(v);
}

/* ... and their qh words: low halves of blocks 0-3, then high halves. */
INLINE __m512i quad_qh_idx(const leg_layout L) {
    uint16_t v[32] = {0};
    for (int w = 0; w < 8; w++) v[w] = (uint16_t)((w % 4) * (L.bs / 2) + L.qh_ofs / 2 + w / 4);
    return _mm512_loadu_si512(v);
}

/* One row, 4 blocks from wb: levels as lo/hi nibble planes, quarter k of
 * each belonging to block k: elements 0-15 (lo) and 16-31 (hi).  Returns
 * the partial sums with the matching activations, 4 lanes per block. */
INLINE __m512i nib_quad(const leg_layout L, const uint8_t *wb, int64_t avail, bool full,
                        __m512i iq, __m512i ih, __m512i xlo, __m512i xhi) {
    __m512i A, B;
    if (full) {
        A = _mm512_loadu_si512(wb);
        B = _mm512_loadu_si512(wb + 64);
    } else {
        load128(wb, avail, &A, &B);
    }
    __m512i q = _mm512_permutex2var_epi16(A, iq, B);
    const __m512i m = _mm512_set1_epi8(0x0f);
    __m512i lo = _mm512_and_si512(q, m), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m);
    if (L.qh_ofs >= 0) {
        __m128i h = _mm512_castsi512_si128(_mm512_permutex2var_epi16(A, ih, B));
        lo = _mm512_mask_add_epi8(lo, (__mmask64)_mm_cvtsi128_si64(h), lo, _mm512_set1_epi8(16));
        hi = _mm512_mask_add_epi8(hi, (__mmask64)_mm_extract_epi64(h, 1), hi, _mm512_set1_epi8(16));
    }
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xlo), hi, xhi);
}

/* The token's side of one step of 16 blocks (nblk of them). */
typedef struct leg_step {
    __m512i x[8];     /* Q8_0: block pairs; nibbles: the 4 lo planes, then 4 hi */
    __m512i corr;     /* per lane: what to take off the block's sum */
    __m512 dy, sy;    /* per lane: activation scale, Q8_1 s */
    __mmask16 kp;     /* lanes holding a block */
    int nblk;
} leg_step;

INLINE void leg_step_load(const leg_layout L, const tlm_mm_args *a, int64_t t, int64_t b0,
                          __m512i bvec, leg_step *S) {
    const int64_t nb = a->nb32;
    const int8_t *qx = a->qx + t * a->cols + 32 * b0;
    S->nblk = (int)TLM_MIN(16, nb - b0);
    __mmask16 km = (__mmask16)((1u << S->nblk) - 1);
    S->kp = _mm512_cmplt_epi32_mask(bvec, _mm512_set1_epi32(S->nblk));
    S->dy = _mm512_permutexvar_ps(bvec, _mm512_maskz_loadu_ps(km, a->qd + t * nb + b0));
    S->sy = _mm512_permutexvar_ps(bvec, _mm512_maskz_loadu_ps(km, a->qs + t * nb + b0));
    __m512i xs = _mm512_permutexvar_epi32(bvec, _mm512_maskz_loadu_epi32(km, a->qsum + t * nb + b0));
    /* Q8_0 weights enter vpdpbusd as w + 128 (unsigned): 128 * sum(x). */
    S->corr = _mm512_mullo_epi32(xs, _mm512_set1_epi32(L.q8 ? 128 : L.off));
    if (L.q8) {
        TLM_UNROLL for (int p = 0; p < 8; p++) {
            int cnt = TLM_MAX(0, TLM_MIN(2, S->nblk - 2 * p));
            __mmask64 m = cnt == 2 ? ~(__mmask64)0 : cnt == 1 ? 0xffffffffull : 0;
            S->x[p] = _mm512_maskz_loadu_epi8(m, qx + 64 * p);
        }
        return;
    }
    TLM_UNROLL for (int p = 0; p < 4; p++) {
        __m512i XA, XB;
        load128((const uint8_t *)qx + 128 * p, 32 * TLM_MAX(0, TLM_MIN(4, S->nblk - 4 * p)), &XA, &XB);
        S->x[p] = _mm512_shuffle_i64x2(XA, XB, 0x88);
        S->x[4 + p] = _mm512_shuffle_i64x2(XA, XB, 0xdd);
    }
}

/* Q8_0: per-block sums of 16 blocks from wb (lane order q8_blk).  Pair p
 * holds block 2p in its low half and 2p+1 in its high half; after the
 * 4 x 4 sums, quarters 0+1 of a pair's lane are block 2p, 2+3 block 2p+1. */
INLINE __m512i q8_isum(const uint8_t *wb, const leg_step *S, bool full) {
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    __m512i d[8];
    TLM_UNROLL for (int p = 0; p < 8; p++) {
        int cnt = full ? 2 : S->nblk - 2 * p;
        d[p] = cnt <= 0 ? _mm512_setzero_si512()
                        : _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                                              _mm512_xor_si512(q8_pair(wb + 68 * p, cnt >= 2), bias),
                                              S->x[p]);
    }
    __m512i v0 = tlm_x86_sum4x4(d[0], d[1], d[2], d[3]), v1 = tlm_x86_sum4x4(d[4], d[5], d[6], d[7]);
    return _mm512_add_epi32(_mm512_shuffle_i64x2(v0, v1, 0x88), _mm512_shuffle_i64x2(v0, v1, 0xdd));
}

/* One row's float products of the step's blocks, in lanes.  full: the
 * step has 16 blocks and the 128-byte loads stay inside the matrix (they
 * may run into the next row, whose bytes the permutes never pick), so no
 * masks or per-quad tests are needed. */
INLINE __m512 leg_row(const leg_layout L, const uint8_t *wb, int64_t avail, bool full,
                      const leg_step *S, __m512i iq, __m512i ih, __m512i gidx) {
    __m512i isum;
    if (L.q8) {
        isum = q8_isum(wb, S, full);
    } else {
        __m512i d[4];
        TLM_UNROLL for (int p = 0; p < 4; p++)
            d[p] = full || 4 * p < S->nblk
                       ? nib_quad(L, wb + 4 * p * L.bs, avail - 4 * p * L.bs, full, iq, ih,
                                  S->x[p], S->x[4 + p])
                       : _mm512_setzero_si512();
        isum = tlm_x86_sum4x4(d[0], d[1], d[2], d[3]);
    }
    if (L.q8 || L.off) isum = _mm512_sub_epi32(isum, S->corr);
    __m512i g = full ? _mm512_i32gather_epi32(gidx, wb, 1)
                     : _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), S->kp, gidx, wb, 1);
    __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(g));
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, S->dy));
    if (L.m_ofs >= 0) {
        __m512i gm = full ? _mm512_i32gather_epi32(gidx, wb + L.m_ofs, 1)
                          : _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), S->kp, gidx,
                                                        wb + L.m_ofs, 1);
        f = _mm512_add_ps(f, _mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(gm)), S->sy));
    }
    return f;
}

/* Rows [r, r + R) (R <= 16) of token t. */
INLINE void leg_gemv_group(tlm_type wt, const tlm_mm_args *a, int64_t r, int R, int64_t t,
                           tlm_mm_rows pf) {
    const leg_layout L = leg_of(wt);
    const size_t rsz = a->w_row_size;
    const uint8_t *w = a->w + (size_t)r * rsz;
    const int8_t *lane_of = L.q8 ? q8_lane : nib_blk;
    const __m512i bvec = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(L.q8 ? q8_blk : nib_blk)));
    const __m512i gidx = _mm512_mullo_epi32(bvec, _mm512_set1_epi32(L.bs));
    const __m512i iq = quad_qs_idx(L), ih = L.qh_ofs >= 0 ? quad_qh_idx(L) : iq;
    /* Bytes a full step's loads reach from its first block. */
    const int64_t reach = L.q8 ? 16 * L.bs : 12 * L.bs + 128;
    const uint8_t *wend = a->w + (size_t)a->rows * rsz;
    _Alignas(64) float fb[GV_ROWS][16];
    if (R < GV_ROWS) memset(fb, 0, sizeof fb);
    __m512 facc = _mm512_setzero_ps();
    for (int64_t b0 = 0; b0 < a->nb32; b0 += 16) {
        leg_step S;
        leg_step_load(L, a, t, b0, bvec, &S);
        const int lines = (S.nblk * L.bs + 63) / 64 + 1;
        for (int i = 0; i < R; i++) {
            const uint8_t *wb = w + i * rsz + b0 * L.bs;
            tlm_avx512_pf_lines(pf, i, (size_t)(b0 * L.bs), lines);
            __m512 f = S.nblk == 16 && wend - wb >= reach
                           ? leg_row(L, wb, 0, true, &S, iq, ih, gidx)
                           : leg_row(L, wb, (int64_t)rsz - b0 * L.bs, false, &S, iq, ih, gidx);
            _mm512_store_ps(fb[i], f);
        }
        __m512 v[16];
        TLM_UNROLL for (int i = 0; i < 16; i++) v[i] = _mm512_load_ps(fb[i]);
        tlm_x86_transpose16(v);
        for (int b = 0; b < S.nblk; b++) facc = _mm512_add_ps(facc, v[lane_of[b]]);
    }
    _mm512_mask_storeu_ps(a->y + t * a->rows + r, (__mmask16)((1u << R) - 1), facc);
}

#define LEG_GEMV(name, T)                                                                   \
    static void name(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) { \
        TLM_AVX512_GEMV_GROUPS(leg_gemv_group, T, a, r0, r1, t0, t1);                        \
    }
LEG_GEMV(gemv_q4_0, TLM_TYPE_Q4_0)
LEG_GEMV(gemv_q4_1, TLM_TYPE_Q4_1)
LEG_GEMV(gemv_q5_0, TLM_TYPE_Q5_0)
LEG_GEMV(gemv_q5_1, TLM_TYPE_Q5_1)
LEG_GEMV(gemv_q8_0, TLM_TYPE_Q8_0)

const tlm_mm_kernels tlm_mm_kernels_avx512 = {
    .quant_act = quant_act,
    .prep_gemm = tlm_mm_avx512_prep,
    .gemv = {
        [TLM_TYPE_F32] = gemv_f32, [TLM_TYPE_F16] = gemv_f16, [TLM_TYPE_BF16] = gemv_bf16,
        [TLM_TYPE_Q4_0] = gemv_q4_0, [TLM_TYPE_Q4_1] = gemv_q4_1, [TLM_TYPE_Q5_0] = gemv_q5_0,
        [TLM_TYPE_Q5_1] = gemv_q5_1, [TLM_TYPE_Q8_0] = gemv_q8_0,
        [TLM_TYPE_Q2_K] = tlm_mm_avx512_gemv_q2_K, [TLM_TYPE_Q3_K] = tlm_mm_avx512_gemv_q3_K,
        [TLM_TYPE_Q4_K] = tlm_mm_avx512_gemv_q4_K, [TLM_TYPE_Q5_K] = tlm_mm_avx512_gemv_q5_K,
        [TLM_TYPE_Q6_K] = tlm_mm_avx512_gemv_q6_K,
    },
    .pack_x16 = tlm_mm_avx512_pack_x16,
    .unpack_x16 = tlm_mm_avx512_unpack_x16,
    .gemv_x16 = {
        [TLM_TYPE_Q8_0] = tlm_mm_avx512_gemv_x16_q8_0, [TLM_TYPE_Q4_0] = tlm_mm_avx512_gemv_x16_q4_0,
        [TLM_TYPE_Q5_0] = tlm_mm_avx512_gemv_x16_q5_0, [TLM_TYPE_Q4_K] = tlm_mm_avx512_gemv_x16_q4_K,
        [TLM_TYPE_Q6_K] = tlm_mm_avx512_gemv_x16_q6_K,
    },
    .prep_x16_amx = tlm_mm_amx_prep_x16,
    .gemm_x16_amx = {
        [TLM_TYPE_Q8_0] = tlm_mm_amx_gemm_x16, [TLM_TYPE_Q4_0] = tlm_mm_amx_gemm_x16,
        [TLM_TYPE_Q5_0] = tlm_mm_amx_gemm_x16, [TLM_TYPE_Q4_K] = tlm_mm_amx_gemm_x16,
        [TLM_TYPE_Q6_K] = tlm_mm_amx_gemm_x16,
    },
    .gemm = {
        [TLM_TYPE_F32] = gemm_f32, [TLM_TYPE_F16] = gemm_f16, [TLM_TYPE_BF16] = gemm_bf16,
        [TLM_TYPE_Q4_0] = tlm_mm_avx512_gemm_legacy, [TLM_TYPE_Q4_1] = tlm_mm_avx512_gemm_legacy,
        [TLM_TYPE_Q5_0] = tlm_mm_avx512_gemm_legacy, [TLM_TYPE_Q5_1] = tlm_mm_avx512_gemm_legacy,
        [TLM_TYPE_Q8_0] = tlm_mm_avx512_gemm_legacy,
        [TLM_TYPE_Q2_K] = tlm_mm_avx512_gemm_k, [TLM_TYPE_Q3_K] = tlm_mm_avx512_gemm_k,
        [TLM_TYPE_Q4_K] = tlm_mm_avx512_gemm_k, [TLM_TYPE_Q5_K] = tlm_mm_avx512_gemm_k,
        [TLM_TYPE_Q6_K] = tlm_mm_avx512_gemm_k,
    },
};
