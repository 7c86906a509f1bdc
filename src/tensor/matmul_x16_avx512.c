/*
 * matmul_x16_avx512.c - one-token products of weights in the X16 layout
 * (repack.h) with AVX-512 VNNI.
 *
 * A 64-byte line of levels holds four bytes of each of 16 rows, so one
 * vpdpbusd against four activation bytes broadcast (an embedded broadcast
 * from memory) adds four products to each row's lane: the integer block
 * sums come out one lane per row with no reduction, and each block's 16
 * scales are one load.  Per row, the float steps are the reference's
 * (quant.h), block by block in order:
 *   legacy:   acc = acc + (float)isum * (d * dy)
 *   K-quants: acc = acc + ((d * dy) * (float)isum - (dmin * dy) * (float)imin)
 * so these products have the bits of the GGUF-layout kernels.  Level
 * offsets (Q8_0's +128 bias, Q4_0 -8, Q5_0 -16, Q6_K -32) come off each
 * block's sum through the activation block sums, exactly.
 *
 * A chunk's groups lie back to back, so a thread reads one straight
 * stream; it prefetches 2-4 KiB ahead of what it multiplies into L2, which
 * keeps more line fills in flight than the hardware prefetcher alone on
 * this (virtualised, high-latency) machine: Q8_0 and Q4_0 at 86-89% of
 * the read bandwidth on 2048 x 256000 against 80-82% without.  Q8_0 and
 * the K-quants spread their prefetches, one per line they load (pf_here),
 * the K-quants in loops left rolled: issued a block at a time they cost
 * Q4_K 8%, Q6_K 4-7% and Q8_0 3-5%.  Q5_0 and the K-quants also prefetch
 * their side data (below).  Into L1, two groups read in lockstep and side
 * data interleaved with the levels were measured, none clearly better.  On
 * a matrix no cache holds (bench --kernels --dram) each core is limited by
 * the misses it keeps in flight; loading each line of levels once
 * (line_once) kept more of them for Q4_0 and Q5_0.
 *
 * The plane and side sizes and offsets written out below are those of
 * repack.h's table (constants, so the loops unroll); the X16-vs-GGUF
 * product tests would catch any drift between the two.
 */
#include "tensor/matmul_avx512.h"

#include "core/util.h"
#include "tensor/kquant_avx512.h"
#include "tensor/repack.h"
#include "tensor/simd_x86.h"

#include <stdbool.h>

#define INLINE static inline __attribute__((always_inline))

/* How far ahead of what it multiplies a thread prefetches, per type
 * (bytes; measured on 2048 x 256000, 1-16 KiB tried): 4 KiB for Q4_0 and
 * Q5_0 (3-6% slower at 2 KiB) and for Q8_0, which prefetches each line as
 * it loads it (3-5% faster on a matrix no cache holds than a block's lines
 * at once, 2 KiB ahead); 6 KiB for the K-quants, also one per line (Q4_K
 * 3-5% and Q6_K 1-7% faster than at 4 KiB, 8 KiB the same as 6).  Q4_0 and
 * Q5_0 prefetch a block's lines at once: one per line measured level for
 * Q4_0 and 2-8% slower for Q5_0.  TLM_X16_PF_AHEAD sets one for all, for
 * such experiments. */
INLINE int pf_dist(tlm_type wt) {
#ifdef TLM_X16_PF_AHEAD
    (void)wt;
    return TLM_X16_PF_AHEAD;
#else
    return wt == TLM_TYPE_Q4_K || wt == TLM_TYPE_Q6_K ? 6144 : 4096;
#endif
}

/* Lines of side data (scales, fifth bits) a block prefetches: the side
 * fields are a second stream, and where they are a large share of the
 * bytes (Q5_0 27%, Q4_K 14%, Q6_K 9%) leaving it to the hardware
 * prefetcher cost Q5_0 15% and Q6_K 3%.  Each prefetches the same block's
 * side data in the next group (a group ahead: the side data lies past the
 * group's planes, so a fixed distance mostly fetched what was already on
 * its way, or, in the narrow groups of 896-column rows, nothing the next
 * blocks need): Q4_K 2-3% and Q6_K 4% faster than without (--dram), Q5_0
 * at 896 columns 10-15% faster than 2 KiB ahead (--dram --cols 896) and
 * level at 2048.  For Q8_0 and Q4_0 side prefetches measured 0-8% slower
 * (Q4_0 a group ahead: 2% faster at 896 columns, 5% slower at 2048). */
INLINE int pf_side_lines(tlm_type wt) {
    return wt == TLM_TYPE_Q5_0 ? 2 : wt == TLM_TYPE_Q4_K || wt == TLM_TYPE_Q6_K ? 5 : 0;
}

/* Every how many blocks a line of the bytes the planes' prefetch skips is
 * fetched (0: never).  The planes' prefetch runs pf_dist past each plane,
 * so at a group boundary it skips as many bytes of the next group's planes
 * as the group's side data takes, and they lie pf_dist past the side data.
 * Q4_0 fetches them from there, a line (two blocks' side data) every other
 * block: --dram 5% faster at 896 columns, 2% at 2048, Qwen2.5-0.5B Q4_0
 * generation 4%.  Q8_0, Q5_0 and the K-quants (in stream order) measured
 * level. */
INLINE int pf_skipped_every(tlm_type wt) { return wt == TLM_TYPE_Q4_0 ? 2 : 0; }

/* Prefetches into L2 the n lines that lie `ahead` bytes after p.  The
 * address is formed in integers: near the matrix's end it points past it,
 * which a prefetch may do but pointer arithmetic may not. */
INLINE void pf_ahead(const uint8_t *p, int ahead, int n) {
    uintptr_t a = (uintptr_t)p + (uintptr_t)ahead;
    for (int l = 0; l < n; l++) _mm_prefetch((const char *)(a + 64 * (uintptr_t)l), _MM_HINT_T1);
}

/* Prefetches into L2 the line `ahead` bytes after p, where it is written:
 * GCC's scheduler hoists plain prefetches (they depend on nothing) to the
 * top of an unrolled block, one burst of them.  Even pinned, a fully
 * unrolled K-quant block read less on a matrix no cache holds than the
 * same code with its loop over lines rolled (Q4_K 86-87% of the plain read
 * against 79-80%; why the front end matters here was not pinned down). */
INLINE void pf_here(const uint8_t *p, int ahead) {
    uintptr_t a = (uintptr_t)p + (uintptr_t)ahead;
    __asm__ volatile("prefetcht1 (%0)" : : "r"(a));
}

/* Block b's prefetches of side data (pf_side_lines, a group ahead) and of
 * the lines the planes' prefetch skips (pf_skipped_every); aux is the
 * block's side data in a group of rows a->w_row_size bytes each. */
INLINE void pf_side(tlm_type wt, const tlm_mm_args *a, const uint8_t *aux, int64_t b) {
    pf_ahead(aux, TLM_X16_ROWS * (int)a->w_row_size, pf_side_lines(wt));
    if (pf_skipped_every(wt) && b % pf_skipped_every(wt) == 0) pf_here(aux, pf_dist(wt));
}

/* The 64-byte line at p, loaded once: GCC otherwise folds the load into
 * each of the two nibble masks that use it, two loads of every line. */
INLINE __m512i line_once(const uint8_t *p) {
    __m512i w = _mm512_loadu_si512(p);
    __asm__("" : "+v"(w));
    return w;
}

/* Four activation bytes at p, broadcast to every lane. */
INLINE __m512i bcast4(const int8_t *p) { return _mm512_set1_epi32((int)tlm_x86_load_u32(p)); }

INLINE __m512i nib_lo(__m512i w) { return _mm512_and_si512(w, _mm512_set1_epi8(0x0f)); }
INLINE __m512i nib_hi(__m512i w) { return _mm512_and_si512(_mm512_srli_epi16(w, 4), _mm512_set1_epi8(0x0f)); }
/* The high nibbles left in place: 16 times their value (at most 240, an
 * unsigned byte for vpdpbusd; a sum of such products is 16 times the
 * nibbles' sum, so an arithmetic shift by 4 recovers it exactly). */
INLINE __m512i nib_hi16(__m512i w) { return _mm512_and_si512(w, _mm512_set1_epi8((char)0xf0)); }

/* ---- 32-blocks: Q8_0, Q4_0, Q5_0 ---- */

/* Integer sum per row of one block (plane pl, side aux) with activation
 * bytes x, before the level offset comes off; it also prefetches the
 * plane pf_dist ahead (Q8_0 a line at a time, the others all at once). */
INLINE __m512i leg_block(tlm_type wt, const uint8_t *pl, const uint8_t *aux, const int8_t *x) {
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    if (wt == TLM_TYPE_Q8_0) {
        TLM_UNROLL for (int q = 0; q < 8; q += 2) {
            pf_here(pl + 64 * q, pf_dist(wt));
            s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(pl + 64 * q), bcast4(x + 4 * q));
            pf_here(pl + 64 * q + 64, pf_dist(wt));
            s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(pl + 64 * q + 64), bcast4(x + 4 * q + 4));
        }
        return _mm512_add_epi32(s0, s1);
    }
    if (wt == TLM_TYPE_Q4_0) {
        /* High nibbles stay in place (16 x their value): one and, and the
         * sum is divided by 16 once, exactly. */
        pf_ahead(pl, pf_dist(wt), 4);
        TLM_UNROLL for (int q = 0; q < 4; q++) {
            __m512i w = line_once(pl + 64 * q);
            s0 = _mm512_dpbusd_epi32(s0, nib_lo(w), bcast4(x + 4 * q));
            s1 = _mm512_dpbusd_epi32(s1, nib_hi16(w), bcast4(x + 16 + 4 * q));
        }
        return _mm512_add_epi32(s0, _mm512_srai_epi32(s1, 4));
    }
    pf_ahead(pl, pf_dist(wt), 4);
    TLM_UNROLL for (int q = 0; q < 4; q++) {
        __m512i w = line_once(pl + 64 * q);
        __m512i lo = nib_lo(w), hi = nib_hi(w);
        const __m512i sixteen = _mm512_set1_epi8(16);
        lo = _mm512_mask_add_epi8(lo, (__mmask64)tlm_x86_load_u64(aux + 16 * q), lo, sixteen);
        hi = _mm512_mask_add_epi8(hi, (__mmask64)tlm_x86_load_u64(aux + 16 * q + 8), hi, sixteen);
        s0 = _mm512_dpbusd_epi32(s0, lo, bcast4(x + 4 * q));
        s1 = _mm512_dpbusd_epi32(s1, hi, bcast4(x + 16 + 4 * q));
    }
    return _mm512_add_epi32(s0, s1);
}

/* The 16 rows of the group at row r, token t. */
INLINE void leg_group(tlm_type wt, const tlm_mm_args *a, int64_t r, int64_t t) {
    const int P = wt == TLM_TYPE_Q8_0 ? 512 : 256, A = wt == TLM_TYPE_Q5_0 ? 96 : 32;
    const int dofs = wt == TLM_TYPE_Q5_0 ? 64 : 0;
    const int bias = wt == TLM_TYPE_Q8_0 ? 128 : wt == TLM_TYPE_Q4_0 ? 8 : 16;
    const int64_t nb = a->nb32;
    const uint8_t *grp = a->w + (size_t)r * a->w_row_size, *side = grp + (size_t)nb * P;
    const int8_t *x = a->qx + t * a->cols;
    const float *dy = a->qd + t * nb;
    const int32_t *xs = a->qsum + t * nb;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *pl = grp + b * P, *aux = side + b * A;
        pf_side(wt, a, aux, b);
        __m512i isum = leg_block(wt, pl, aux, x + 32 * b);
        isum = _mm512_sub_epi32(isum, _mm512_set1_epi32(bias * xs[b]));
        __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(aux + dofs)));
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, _mm512_set1_ps(dy[b])));
        acc = _mm512_add_ps(acc, f);
    }
    _mm512_storeu_ps(a->y + t * a->rows + r, acc);
}

/* ---- K-quants: Q4_K, Q6_K ---- */

/* Per-row int32 of 16 bytes (unsigned or signed) at p. */
INLINE __m512i u8x16(const uint8_t *p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)); }
INLINE __m512i s8x16(const uint8_t *p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)); }

/* Q4_K block: isum = sum_j sc_j * (levels . x of sub-block j); imin as
 * tlm_kq_x16_q4k_imin has it.  Each line is prefetched as it is loaded,
 * in a loop over a sub-block pair's lines left rolled (pf_here). */
INLINE void q4k_block(const uint8_t *pl, const uint8_t *aux, const tlm_block_q8_K *xb,
                      __m512i *isum, __m512i *imin) {
    __m512i is = _mm512_setzero_si512();
    TLM_UNROLL for (int p = 0; p < 4; p++) {
        __m512i sa = _mm512_setzero_si512(), sb = _mm512_setzero_si512();
        const int8_t *x = xb->qs + 64 * p;
        TLM_NO_UNROLL for (int q = 0; q < 8; q++) {
            __m512i w = line_once(pl + 512 * p + 64 * q);
            pf_here(pl + 512 * p + 64 * q, pf_dist(TLM_TYPE_Q4_K));
            sa = _mm512_dpbusd_epi32(sa, nib_lo(w), bcast4(x + 4 * q));
            sb = _mm512_dpbusd_epi32(sb, nib_hi16(w), bcast4(x + 32 + 4 * q));
        }
        sb = _mm512_srai_epi32(sb, 4);
        is = _mm512_add_epi32(is, _mm512_mullo_epi32(sa, u8x16(aux + 64 + 32 * p)));
        is = _mm512_add_epi32(is, _mm512_mullo_epi32(sb, u8x16(aux + 64 + 32 * p + 16)));
    }
    __m512i mn[4];
    tlm_kq_x16_q4k_mins(aux, mn);
    *isum = is;
    *imin = tlm_kq_x16_q4k_imin(mn, xb->bsums);
}

/* Q6_K block: isum = sum_s sc_s * (levels . x of sub-block s - 32 bsums[s]).
 * Per half n and quad q, the four level vectors are elements 128n + 32k +
 * 4q + j (k = 0..3), sub-block 8n + 2k + q/4.  Lines are prefetched as
 * they are loaded, in rolled loops, as for Q4_K. */
INLINE __m512i q6k_block(const uint8_t *pl, const uint8_t *aux, const tlm_block_q8_K *xb) {
    __m512i is = _mm512_setzero_si512();
    TLM_UNROLL for (int n = 0; n < 2; n++) {
        const uint8_t *h = pl + 1536 * n;
        /* Quads 4hq .. 4hq+3: sub-blocks 8n + 2k + hq. */
        TLM_UNROLL for (int hq = 0; hq < 2; hq++) {
            __m512i s[4];
            TLM_UNROLL for (int k = 0; k < 4; k++) s[k] = _mm512_setzero_si512();
            TLM_NO_UNROLL for (int q = 4 * hq; q < 4 * hq + 4; q++) {
                __m512i A = line_once(h + 64 * q), B = line_once(h + 512 + 64 * q);
                __m512i H = line_once(h + 1024 + 64 * q);
                pf_here(h + 64 * q, pf_dist(TLM_TYPE_Q6_K));
                pf_here(h + 512 + 64 * q, pf_dist(TLM_TYPE_Q6_K));
                pf_here(h + 1024 + 64 * q, pf_dist(TLM_TYPE_Q6_K));
                __m512i l[4];
                tlm_kq_x16_q6_levels(A, B, H, l);
                const int8_t *x = xb->qs + 128 * n + 4 * q;
                TLM_UNROLL for (int k = 0; k < 4; k++)
                    s[k] = _mm512_dpbusd_epi32(s[k], l[k], bcast4(x + 32 * k));
            }
            TLM_UNROLL for (int k = 0; k < 4; k++) {
                int sb = 8 * n + 2 * k + hq;
                __m512i v = _mm512_sub_epi32(s[k], _mm512_set1_epi32(32 * xb->bsums[sb]));
                is = _mm512_add_epi32(is, _mm512_mullo_epi32(v, s8x16(aux + 32 + 16 * sb)));
            }
        }
    }
    return is;
}

INLINE void k_group(tlm_type wt, const tlm_mm_args *a, int64_t r, int64_t t) {
    const bool q4 = wt == TLM_TYPE_Q4_K;
    const int P = q4 ? 2048 : 3072, A = q4 ? 320 : 288;
    const int64_t nsb = a->cols / TLM_QK_K;
    const uint8_t *grp = a->w + (size_t)r * a->w_row_size, *side = grp + (size_t)nsb * P;
    const tlm_block_q8_K *xb = (const tlm_block_q8_K *)(a->q + (size_t)t * a->q_row_size);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t s = 0; s < nsb; s++) {
        const uint8_t *pl = grp + s * P, *aux = side + s * A;
        __m512 dy = _mm512_set1_ps(xb[s].d);
        __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)aux));
        __m512 f;
        pf_side(wt, a, aux, s);
        if (q4) {
            __m512i isum, imin;
            q4k_block(pl, aux, &xb[s], &isum, &imin);
            __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(aux + 32)));
            f = tlm_kq_q4k_term(dv, dm, dy, isum, imin);
        } else {
            f = _mm512_mul_ps(_mm512_mul_ps(dv, dy), _mm512_cvtepi32_ps(q6k_block(pl, aux, &xb[s])));
        }
        acc = _mm512_add_ps(acc, f);
    }
    _mm512_storeu_ps(a->y + t * a->rows + r, acc);
}

#define X16_GEMV(name, WT, group)                                                           \
    void name(const tlm_mm_args *a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {        \
        for (int64_t t = t0; t < t1; t++)                                                   \
            for (int64_t r = r0; r < r1; r += TLM_X16_ROWS) group(WT, a, r, t);              \
    }
X16_GEMV(tlm_mm_avx512_gemv_x16_q8_0, TLM_TYPE_Q8_0, leg_group)
X16_GEMV(tlm_mm_avx512_gemv_x16_q4_0, TLM_TYPE_Q4_0, leg_group)
X16_GEMV(tlm_mm_avx512_gemv_x16_q5_0, TLM_TYPE_Q5_0, leg_group)
X16_GEMV(tlm_mm_avx512_gemv_x16_q4_K, TLM_TYPE_Q4_K, k_group)
X16_GEMV(tlm_mm_avx512_gemv_x16_q6_K, TLM_TYPE_Q6_K, k_group)

/* ---- Packing and unpacking a group (load time; many-token products) ----
 * Planes and rows are transposes of each other 16 quads at a time (16 zmm
 * of 16 rows x 4 bytes <-> one zmm per row), a row's 16 quads lying in
 * runs of consecutive GGUF bytes (4, 8 or 16 quads: a segment or a block
 * ends there); the side fields go through the portable code. */

/* The GGUF byte offset of quad q of a group's planes, and how many quads
 * from q on are consecutive in the row (at most max). */
INLINE size_t quad_run(const tlm_x16_format *f, int64_t q, int max, int *len) {
    const int64_t qpb = f->P / 64, b = q / qpb, r = q % qpb;
    const tlm_x16_seg *s = f->segs;
    while (r >= s->po / 64 + s->n) s++;
    int in = (int)(r - s->po / 64);
    *len = TLM_MIN(max, s->n - in);
    return (size_t)b * (size_t)f->bs + (size_t)(s->so + 4 * in);
}

/* The mask of dwords [j, j + len), and the address that puts dword j of a
 * vector at p (formed in integers: it may lie before the row; masked
 * lanes are never accessed). */
INLINE __mmask16 run_mask(int j, int len) { return (__mmask16)(((1u << len) - 1) << j); }
INLINE uintptr_t run_base(const uint8_t *p, int j) { return (uintptr_t)p - 4 * (uintptr_t)j; }

/* Q5_0's side fields back into the group's 16 rows.  Row i's fifth bits
 * are nibble i of each of the block's eight masks (repack.c's pack_side),
 * so the 16 rows' qh are gathered in 16 lanes at once: one row at a time
 * through the portable code this was a tenth of a 64-token prompt. */
static void unpack_side_q5_0(const uint8_t *side, int64_t nb, size_t rsz, uint8_t *dst) {
    const __m512i sh = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    const __m512i half = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i fifteen = _mm512_set1_epi32(15);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *aux = side + b * 96;
        __m512i qh = _mm512_setzero_si512();
        TLM_UNROLL for (int m = 0; m < 8; m++) { /* mask m: quad m / 2, half m % 2 of qh */
            __m512i w = _mm512_castsi128_si512(_mm_loadl_epi64((const __m128i *)(aux + 8 * m)));
            __m512i at = _mm512_set1_epi32(16 * (m % 2) + 4 * (m / 2));
            w = _mm512_srlv_epi32(_mm512_permutexvar_epi32(half, w), sh);
            qh = _mm512_or_si512(qh, _mm512_sllv_epi32(_mm512_and_si512(w, fifteen), at));
        }
        uint32_t q[16];
        _mm512_storeu_si512(q, qh);
        for (int i = 0; i < 16; i++) {
            uint8_t *blk = dst + (size_t)i * rsz + (size_t)b * 22;
            memcpy(blk, aux + 64 + 2 * i, 2);
            memcpy(blk + 2, &q[i], 4);
        }
    }
}

/* v[k] byte i -> v[i] byte k: a 16 x 16 byte transpose in four rounds of
 * unpacks (bytes, words, dwords, qwords). */
INLINE void transpose16_u8(__m128i v[16]) {
    __m128i t[16], u[16];
    TLM_UNROLL for (int k = 0; k < 8; k++) {
        t[k] = _mm_unpacklo_epi8(v[2 * k], v[2 * k + 1]);     /* rows 2k, 2k+1; cols 0-7 */
        t[k + 8] = _mm_unpackhi_epi8(v[2 * k], v[2 * k + 1]); /* cols 8-15 */
    }
    TLM_UNROLL for (int h = 0; h < 2; h++) TLM_UNROLL for (int k = 0; k < 4; k++) {
        const __m128i *p = &t[8 * h + 2 * k]; /* rows 4k .. 4k+3: 4 cols, then the next 4 */
        u[8 * h + k] = _mm_unpacklo_epi16(p[0], p[1]);
        u[8 * h + k + 4] = _mm_unpackhi_epi16(p[0], p[1]);
    }
    TLM_UNROLL for (int g = 0; g < 4; g++) { /* u[4g + n]: rows 4n .. 4n+3 of cols 4g .. 4g+3 */
        const __m128i *p = &u[4 * g];
        __m128i a = _mm_unpacklo_epi32(p[0], p[1]), b = _mm_unpackhi_epi32(p[0], p[1]);
        __m128i c = _mm_unpacklo_epi32(p[2], p[3]), d = _mm_unpackhi_epi32(p[2], p[3]);
        v[4 * g] = _mm_unpacklo_epi64(a, c);
        v[4 * g + 1] = _mm_unpackhi_epi64(a, c);
        v[4 * g + 2] = _mm_unpacklo_epi64(b, d);
        v[4 * g + 3] = _mm_unpackhi_epi64(b, d);
    }
}

/* Q4_K's side fields back into the group's 16 rows: each row's 12 packed
 * scale bytes are formed in 16 lanes (the inverse of tlm_quant_k4_pack's
 * split) and transposed into the rows. */
static void unpack_side_q4_K(const uint8_t *side, int64_t nb, size_t rsz, uint8_t *dst) {
    const __m128i lo8 = _mm_set1_epi16(0x00ff), c0 = _mm_set1_epi8((char)0xc0),
                  f0 = _mm_set1_epi8((char)0xf0), f = _mm_set1_epi8(0x0f);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *aux = side + b * 320;
        __m128i sc[8], mn[8], v[16];
        TLM_UNROLL for (int j = 0; j < 8; j++)
            sc[j] = _mm_loadu_si128((const __m128i *)(aux + 64 + 16 * j));
        TLM_UNROLL for (int q = 0; q < 4; q++) { /* pairs of sub-blocks 2q, 2q+1 per row */
            __m128i lo = _mm_loadu_si128((const __m128i *)(aux + 192 + 32 * q));
            __m128i hi = _mm_loadu_si128((const __m128i *)(aux + 192 + 32 * q + 16));
            mn[2 * q] = _mm_packus_epi16(_mm_and_si128(lo, lo8), _mm_and_si128(hi, lo8));
            mn[2 * q + 1] = _mm_packus_epi16(_mm_srli_epi16(lo, 8), _mm_srli_epi16(hi, 8));
        }
        TLM_UNROLL for (int j = 0; j < 4; j++) { /* bits 4-5 of sc/mn[j+4] go to bits 6-7 */
            v[j] = _mm_or_si128(sc[j], _mm_and_si128(_mm_slli_epi16(sc[j + 4], 2), c0));
            v[j + 4] = _mm_or_si128(mn[j], _mm_and_si128(_mm_slli_epi16(mn[j + 4], 2), c0));
            v[j + 8] = _mm_or_si128(_mm_and_si128(sc[j + 4], f),
                                    _mm_and_si128(_mm_slli_epi16(mn[j + 4], 4), f0));
        }
        TLM_UNROLL for (int j = 12; j < 16; j++) v[j] = _mm_setzero_si128();
        transpose16_u8(v);
        for (int i = 0; i < 16; i++) {
            uint8_t *blk = dst + (size_t)i * rsz + (size_t)b * 144;
            memcpy(blk, aux + 2 * i, 2);
            memcpy(blk + 2, aux + 32 + 2 * i, 2);
            _mm_mask_storeu_epi8(blk + 4, 0x0fff, v[i]);
        }
    }
}

/* Q6_K's side fields: the 16 scales of each row are a byte transpose. */
static void unpack_side_q6_K(const uint8_t *side, int64_t nb, size_t rsz, uint8_t *dst) {
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *aux = side + b * 288;
        __m128i v[16];
        TLM_UNROLL for (int s = 0; s < 16; s++)
            v[s] = _mm_loadu_si128((const __m128i *)(aux + 32 + 16 * s));
        transpose16_u8(v);
        for (int i = 0; i < 16; i++) {
            uint8_t *blk = dst + (size_t)i * rsz + (size_t)b * 210;
            _mm_storeu_si128((__m128i *)(blk + 192), v[i]);
            memcpy(blk + 208, aux + 2 * i, 2);
        }
    }
}

void tlm_mm_avx512_unpack_x16(tlm_type wt, const void *group, int64_t cols, void *out) {
    const uint8_t *grp = group;
    uint8_t *dst = out;
    const tlm_x16_format *f = tlm_x16_format_of(wt);
    const int64_t nb = cols / f->elems, nq = nb * f->P / 64;
    const size_t rsz = (size_t)nb * (size_t)f->bs;
    const __m512i bias = _mm512_set1_epi8((char)f->bias);
    for (int64_t k = 0; k < nq; k += 16) {
        int n = (int)TLM_MIN(16, nq - k);
        __m512 v[16];
        for (int j = 0; j < 16; j++)
            v[j] = j < n ? _mm512_castsi512_ps(_mm512_xor_si512(_mm512_loadu_si512(grp + 64 * (k + j)), bias))
                         : _mm512_setzero_ps();
        tlm_x86_transpose16(v);
        for (int j = 0, len; j < n; j += len) {
            size_t off = quad_run(f, k + j, n - j, &len);
            for (int i = 0; i < 16; i++)
                _mm512_mask_storeu_epi32((void *)run_base(dst + i * rsz + off, j), run_mask(j, len),
                                         _mm512_castps_si512(v[i]));
        }
    }
    const uint8_t *side = grp + (size_t)nb * (size_t)f->P;
    if (wt == TLM_TYPE_Q5_0) unpack_side_q5_0(side, nb, rsz, dst);
    else if (wt == TLM_TYPE_Q4_K) unpack_side_q4_K(side, nb, rsz, dst);
    else if (wt == TLM_TYPE_Q6_K) unpack_side_q6_K(side, nb, rsz, dst);
    else tlm_x16_unpack_side(wt, grp, cols, dst);
}

void tlm_mm_avx512_pack_x16(tlm_type wt, const void *rows, int64_t cols, void *group) {
    const uint8_t *src = rows;
    uint8_t *grp = group;
    const tlm_x16_format *f = tlm_x16_format_of(wt);
    const int64_t nb = cols / f->elems, nq = nb * f->P / 64;
    const size_t rsz = (size_t)nb * (size_t)f->bs;
    const __m512i bias = _mm512_set1_epi8((char)f->bias);
    for (int64_t k = 0; k < nq; k += 16) {
        int n = (int)TLM_MIN(16, nq - k);
        __m512 v[16];
        for (int i = 0; i < 16; i++) v[i] = _mm512_setzero_ps();
        for (int j = 0, len; j < n; j += len) {
            size_t off = quad_run(f, k + j, n - j, &len);
            for (int i = 0; i < 16; i++)
                v[i] = _mm512_castsi512_ps(_mm512_mask_loadu_epi32(
                    _mm512_castps_si512(v[i]), run_mask(j, len), (const void *)run_base(src + i * rsz + off, j)));
        }
        tlm_x86_transpose16(v);
        for (int j = 0; j < n; j++)
            _mm512_storeu_si512(grp + 64 * (k + j), _mm512_xor_si512(_mm512_castps_si512(v[j]), bias));
    }
    tlm_x16_pack_side(wt, src, cols, grp);
}
