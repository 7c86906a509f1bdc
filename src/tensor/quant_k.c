/*
 * quant_k.c - the K-quants (Q2_K .. Q6_K) and their activation partner
 * Q8_K: dequantizers, quantizers and reference dot products.
 *
 * Every K-quant block holds 256 elements split into sub-blocks of 16 or 32,
 * each with a small integer scale (and for Q2_K/Q4_K/Q5_K a minimum),
 * themselves scaled by f16 super-block factors.  Bit placement follows
 * engine-facts 1.2; each dequantizer computes the byte, shift and scale for
 * element i with an explicit formula so the element order can be read off
 * the code.
 *
 * Quantizing a block is three steps: per sub-block, search a float scale
 * (and minimum) that minimises the weighted error (quant_k_search.c);
 * quantize those scales to the block's integer scale format against a
 * super-block factor; then round every value to the nearest level of the
 * scale it will actually be decoded with.  The "plain" variants replace the
 * search with round-to-nearest so tests can measure the gain.
 */
#include "tensor/quant.h"
#include "tensor/quant_impl.h"

#include <string.h>

#define QK_K TLM_QK_K

/* Candidates tried by the searches (see quant_k_search.c). */
#define NSTEP_AFFINE    20
#define NSTEP_SYMMETRIC 9

/* ---- Scale packing ---- */

/* Q4_K/Q5_K: 8 six-bit scales and 8 six-bit mins in 12 bytes.  Sub-blocks
 * 0-3 use the low 6 bits of bytes 0-3 (scale) and 4-7 (min); sub-blocks
 * 4-7 keep their low nibbles in bytes 8-11 and their top 2 bits in the top
 * bits of bytes 0-3 (scale) and 4-7 (min). */
void tlm_quant_k4_scale_min(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

void tlm_quant_k4_pack(const uint8_t sc[8], const uint8_t m[8], uint8_t s[12]) {
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
    }
}

/* Q3_K: 16 six-bit scales stored +32.  Low nibble of scale i: byte i (low
 * nibble) for i < 8, byte i-8 (high nibble) otherwise; top 2 bits: bits
 * 2*(i/4) of byte 8 + i%4.  Returns the signed value (-32..31). */
static int q3_scale(const uint8_t *s, int i) {
    int lo = i < 8 ? s[i] & 15 : s[i - 8] >> 4;
    int hi = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
    return (lo | hi << 4) - 32;
}

static void q3_pack_scales(const int8_t ls[16], uint8_t s[12]) {
    memset(s, 0, 12);
    for (int i = 0; i < 16; i++) {
        int l = ls[i] + 32;
        if (i < 8)
            s[i] |= (uint8_t)(l & 15);
        else
            s[i - 8] |= (uint8_t)((l & 15) << 4);
        s[8 + i % 4] |= (uint8_t)((l >> 4) << (2 * (i / 4)));
    }
}

/* 2-bit fields of Q2_K/Q3_K: element i of a block lives in byte
 * (i/128)*32 + i%32 at bit 2*((i%128)/32). */
static int q2_field(const uint8_t *qs, int i) {
    return (qs[(i / 128) * 32 + i % 32] >> (2 * ((i % 128) / 32))) & 3;
}

static void q2_pack_fields(const uint8_t L[QK_K], uint8_t qs[64]) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *p = L + h * 128 + l;
            qs[h * 32 + l] = (uint8_t)(p[0] | p[32] << 2 | p[64] << 4 | p[96] << 6);
        }
}

/* 4-bit fields of Q4_K/Q5_K: element i lives in byte (i/64)*32 + i%32, low
 * nibble when (i%64) < 32, high nibble otherwise. */
static int q4_field(const uint8_t *qs, int i) {
    return (qs[(i / 64) * 32 + i % 32] >> (4 * ((i % 64) / 32))) & 15;
}

/* Q6_K: element i of 256 is in 128-half h = i/128; with g = (i%128)/32 and
 * l = i%32 its low 4 bits are nibble g/2 of ql[h*64 + l + 32*(g%2)] and its
 * high 2 bits are bits 2g of qh[h*32 + l].  Returns 0..63. */
static int q6_field(const tlm_block_q6_K *b, int i) {
    int h = i / 128, g = (i % 128) / 32, l = i % 32;
    int lo = (b->ql[h * 64 + l + 32 * (g % 2)] >> (4 * (g / 2))) & 15;
    int hi = (b->qh[h * 32 + l] >> (2 * g)) & 3;
    return lo | hi << 4;
}

/* ---- Turning float sub-block scales into integer ones ---- */

/* Non-negative values to 0..qmax against their maximum; returns the super
 * scale (max/qmax) that multiplies the integers back. */
static float scales_unsigned(const float *v, int n, int qmax, uint8_t *out) {
    float max = 0.0f;
    for (int j = 0; j < n; j++)
        if (v[j] > max) max = v[j];
    float inv = max > 0.0f ? (float)qmax / max : 0.0f;
    for (int j = 0; j < n; j++)
        out[j] = (uint8_t)tlm_quant_clampi(tlm_quant_nearest(inv * v[j]), 0, qmax);
    return max / (float)qmax;
}

/* Signed values to -lim..lim-1, the largest magnitude landing on -lim;
 * returns the (signed) super scale. */
static float scales_signed(const float *v, int n, int lim, int8_t *out) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++)
        if (fabsf(v[j]) > amax) {
            amax = fabsf(v[j]);
            max = v[j];
        }
    if (!(amax > 0.0f)) {
        memset(out, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -(float)lim / max;
    for (int j = 0; j < n; j++)
        out[j] = (int8_t)tlm_quant_clampi(tlm_quant_nearest(iscale * v[j]), -lim, lim - 1);
    return 1.0f / iscale;
}

/* Final levels for affine sub-blocks, against the decoded scales. */
static void levels_affine(const float *x, int n_sub, int len, int nmax, float d, float dmin,
                          const uint8_t *sc, const uint8_t *m, uint8_t *L) {
    for (int j = 0; j < n_sub; j++) {
        float s = d * (float)sc[j], mn = dmin * (float)m[j];
        for (int l = 0; l < len; l++) {
            int i = j * len + l;
            L[i] = s != 0.0f
                       ? (uint8_t)tlm_quant_clampi(tlm_quant_nearest((x[i] + mn) / s), 0, nmax)
                       : 0;
        }
    }
}

/* Final levels for symmetric sub-blocks, stored offset by +nmax. */
static void levels_symmetric(const float *x, int n_sub, int len, int nmax, float d,
                             const int8_t *sc, uint8_t *L) {
    for (int j = 0; j < n_sub; j++) {
        float s = d * (float)sc[j];
        for (int l = 0; l < len; l++) {
            int i = j * len + l;
            int q = s != 0.0f ? tlm_quant_clampi(tlm_quant_nearest(x[i] / s), -nmax, nmax - 1) : 0;
            L[i] = (uint8_t)(q + nmax);
        }
    }
}

/* Importance weights: every value counts, larger magnitudes more (they
 * dominate a dot product), with the block's RMS as the floor so small
 * values are not ignored. */
static void importance(const float *x, int n, float rms, float *w) {
    for (int i = 0; i < n; i++)
        w[i] = rms + fabsf(x[i]);
}

static float block_rms(const float *x) {
    float s = 0.0f;
    for (int i = 0; i < QK_K; i++)
        s += x[i] * x[i];
    return sqrtf(s / QK_K);
}

/* Sub-block scales of an affine K-quant, searched or plain. */
static void affine_subblocks(const float *x, int n_sub, int len, int nmax, bool search, float *sc,
                             float *mn) {
    float w[32];
    uint8_t q[32];
    float rms = block_rms(x);
    for (int j = 0; j < n_sub; j++) {
        const float *xs = x + j * len;
        importance(xs, len, rms, w);
        sc[j] = search ? tlm_quant_search_affine(len, nmax, xs, w, q, &mn[j], NSTEP_AFFINE)
                       : tlm_quant_plain_affine(len, nmax, xs, q, &mn[j]);
    }
}

static void symmetric_subblocks(const float *x, int nmax, bool search, float *sc) {
    float w[16];
    uint8_t q[16];
    float rms = block_rms(x);
    for (int j = 0; j < 16; j++) {
        const float *xs = x + j * 16;
        importance(xs, 16, rms, w);
        sc[j] = search ? tlm_quant_search_symmetric(16, nmax, xs, w, q, NSTEP_SYMMETRIC)
                       : tlm_quant_plain_symmetric(16, nmax, xs, q);
    }
}

/* ---- Q2_K ---- */

void tlm_quant_q2_K_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q2_K *b = src;
    for (int64_t k = 0; k < n / QK_K; k++, dst += QK_K) {
        float d = tlm_f16_to_f32(b[k].d), dmin = tlm_f16_to_f32(b[k].dmin);
        for (int i = 0; i < QK_K; i++) {
            int sc = b[k].scales[i / 16];
            dst[i] = d * (float)(sc & 15) * (float)q2_field(b[k].qs, i) - dmin * (float)(sc >> 4);
        }
    }
}

static void q2_K_block(const float *x, tlm_block_q2_K *b, bool search) {
    float sc[16], mn[16];
    uint8_t qsc[16], qmn[16], L[QK_K];
    affine_subblocks(x, 16, 16, 3, search, sc, mn);
    b->d = tlm_f32_to_f16(scales_unsigned(sc, 16, 15, qsc));
    b->dmin = tlm_f32_to_f16(scales_unsigned(mn, 16, 15, qmn));
    for (int j = 0; j < 16; j++)
        b->scales[j] = (uint8_t)(qsc[j] | qmn[j] << 4);
    levels_affine(x, 16, 16, 3, tlm_f16_to_f32(b->d), tlm_f16_to_f32(b->dmin), qsc, qmn, L);
    q2_pack_fields(L, b->qs);
}

void tlm_quant_q2_K_from_float(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q2_K_block(src + k * QK_K, (tlm_block_q2_K *)dst + k, true);
}

void tlm_quant_q2_K_from_float_plain(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q2_K_block(src + k * QK_K, (tlm_block_q2_K *)dst + k, false);
}

float tlm_quant_q2_K_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q2_K *a = x;
    const tlm_block_q8_K *b = y;
    float acc = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int isum = 0, imin = 0;
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = j * 16; i < j * 16 + 16; i++)
                s += q2_field(a[k].qs, i) * b[k].qs[i];
            isum += (a[k].scales[j] & 15) * s;
            imin += (a[k].scales[j] >> 4) * b[k].bsums[j];
        }
        float dy = b[k].d;
        acc += tlm_f16_to_f32(a[k].d) * dy * (float)isum -
               tlm_f16_to_f32(a[k].dmin) * dy * (float)imin;
    }
    return acc;
}

/* ---- Q3_K ---- */

/* Signed 3-bit value of element i: the 2-bit field, minus 4 unless the
 * hmask bit is set (hmask byte i%32, bit i/32). */
static int q3_value(const tlm_block_q3_K *b, int i) {
    int high = (b->hmask[i % 32] >> (i / 32)) & 1;
    return q2_field(b->qs, i) - (high ? 0 : 4);
}

void tlm_quant_q3_K_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q3_K *b = src;
    for (int64_t k = 0; k < n / QK_K; k++, dst += QK_K) {
        float d = tlm_f16_to_f32(b[k].d);
        for (int i = 0; i < QK_K; i++)
            dst[i] = d * (float)q3_scale(b[k].scales, i / 16) * (float)q3_value(&b[k], i);
    }
}

static void q3_K_block(const float *x, tlm_block_q3_K *b, bool search) {
    float sc[16];
    int8_t ls[16];
    uint8_t L[QK_K];
    symmetric_subblocks(x, 4, search, sc);
    b->d = tlm_f32_to_f16(scales_signed(sc, 16, 32, ls));
    q3_pack_scales(ls, b->scales);
    levels_symmetric(x, 16, 16, 4, tlm_f16_to_f32(b->d), ls, L);
    /* Levels 0..7 stand for -4..3: the top bit goes to hmask, set meaning
     * "no -4 offset". */
    memset(b->hmask, 0, sizeof b->hmask);
    for (int i = 0; i < QK_K; i++) {
        if (L[i] > 3) {
            b->hmask[i % 32] |= (uint8_t)(1u << (i / 32));
            L[i] -= 4;
        }
    }
    q2_pack_fields(L, b->qs);
}

void tlm_quant_q3_K_from_float(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q3_K_block(src + k * QK_K, (tlm_block_q3_K *)dst + k, true);
}

void tlm_quant_q3_K_from_float_plain(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q3_K_block(src + k * QK_K, (tlm_block_q3_K *)dst + k, false);
}

float tlm_quant_q3_K_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q3_K *a = x;
    const tlm_block_q8_K *b = y;
    float acc = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = j * 16; i < j * 16 + 16; i++)
                s += q3_value(&a[k], i) * b[k].qs[i];
            isum += q3_scale(a[k].scales, j) * s;
        }
        acc += tlm_f16_to_f32(a[k].d) * b[k].d * (float)isum;
    }
    return acc;
}

/* ---- Q4_K and Q5_K (shared scale handling) ---- */

/* Levels 0..nmax for 8 sub-blocks of 32, with the packed scales. */
static void k4_block_levels(const float *x, int nmax, bool search, tlm_f16 *d, tlm_f16 *dmin,
                            uint8_t scales[12], uint8_t L[QK_K]) {
    float sc[8], mn[8];
    uint8_t qsc[8], qmn[8];
    affine_subblocks(x, 8, 32, nmax, search, sc, mn);
    *d = tlm_f32_to_f16(scales_unsigned(sc, 8, 63, qsc));
    *dmin = tlm_f32_to_f16(scales_unsigned(mn, 8, 63, qmn));
    tlm_quant_k4_pack(qsc, qmn, scales);
    levels_affine(x, 8, 32, nmax, tlm_f16_to_f32(*d), tlm_f16_to_f32(*dmin), qsc, qmn, L);
}

void tlm_quant_q4_K_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q4_K *b = src;
    for (int64_t k = 0; k < n / QK_K; k++, dst += QK_K) {
        float d = tlm_f16_to_f32(b[k].d), dmin = tlm_f16_to_f32(b[k].dmin);
        for (int i = 0; i < QK_K; i++) {
            int sc, m;
            tlm_quant_k4_scale_min(b[k].scales, i / 32, &sc, &m);
            dst[i] = d * (float)sc * (float)q4_field(b[k].qs, i) - dmin * (float)m;
        }
    }
}

static void q4_K_block(const float *x, tlm_block_q4_K *b, bool search) {
    uint8_t L[QK_K];
    k4_block_levels(x, 15, search, &b->d, &b->dmin, b->scales, L);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++)
            b->qs[c * 32 + l] = (uint8_t)(L[c * 64 + l] | L[c * 64 + 32 + l] << 4);
}

void tlm_quant_q4_K_from_float(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q4_K_block(src + k * QK_K, (tlm_block_q4_K *)dst + k, true);
}

void tlm_quant_q4_K_from_float_plain(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q4_K_block(src + k * QK_K, (tlm_block_q4_K *)dst + k, false);
}

float tlm_quant_q4_K_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q4_K *a = x;
    const tlm_block_q8_K *b = y;
    float acc = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int isum = 0, imin = 0;
        for (int j = 0; j < 8; j++) {
            int sc, m, s = 0;
            tlm_quant_k4_scale_min(a[k].scales, j, &sc, &m);
            for (int i = j * 32; i < j * 32 + 32; i++)
                s += q4_field(a[k].qs, i) * b[k].qs[i];
            isum += sc * s;
            imin += m * (b[k].bsums[2 * j] + b[k].bsums[2 * j + 1]);
        }
        float dy = b[k].d;
        acc += tlm_f16_to_f32(a[k].d) * dy * (float)isum -
               tlm_f16_to_f32(a[k].dmin) * dy * (float)imin;
    }
    return acc;
}

/* Q5_K value 0..31: the Q4_K nibble plus qh[i%32] bit (i/32) as 16. */
static int q5_value(const tlm_block_q5_K *b, int i) {
    return q4_field(b->qs, i) | ((b->qh[i % 32] >> (i / 32)) & 1) << 4;
}

void tlm_quant_q5_K_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q5_K *b = src;
    for (int64_t k = 0; k < n / QK_K; k++, dst += QK_K) {
        float d = tlm_f16_to_f32(b[k].d), dmin = tlm_f16_to_f32(b[k].dmin);
        for (int i = 0; i < QK_K; i++) {
            int sc, m;
            tlm_quant_k4_scale_min(b[k].scales, i / 32, &sc, &m);
            dst[i] = d * (float)sc * (float)q5_value(&b[k], i) - dmin * (float)m;
        }
    }
}

static void q5_K_block(const float *x, tlm_block_q5_K *b, bool search) {
    uint8_t L[QK_K];
    k4_block_levels(x, 31, search, &b->d, &b->dmin, b->scales, L);
    memset(b->qh, 0, sizeof b->qh);
    for (int i = 0; i < QK_K; i++)
        if (L[i] > 15) b->qh[i % 32] |= (uint8_t)(1u << (i / 32));
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++)
            b->qs[c * 32 + l] = (uint8_t)((L[c * 64 + l] & 15) | (L[c * 64 + 32 + l] & 15) << 4);
}

void tlm_quant_q5_K_from_float(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q5_K_block(src + k * QK_K, (tlm_block_q5_K *)dst + k, true);
}

void tlm_quant_q5_K_from_float_plain(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q5_K_block(src + k * QK_K, (tlm_block_q5_K *)dst + k, false);
}

float tlm_quant_q5_K_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q5_K *a = x;
    const tlm_block_q8_K *b = y;
    float acc = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int isum = 0, imin = 0;
        for (int j = 0; j < 8; j++) {
            int sc, m, s = 0;
            tlm_quant_k4_scale_min(a[k].scales, j, &sc, &m);
            for (int i = j * 32; i < j * 32 + 32; i++)
                s += q5_value(&a[k], i) * b[k].qs[i];
            isum += sc * s;
            imin += m * (b[k].bsums[2 * j] + b[k].bsums[2 * j + 1]);
        }
        float dy = b[k].d;
        acc += tlm_f16_to_f32(a[k].d) * dy * (float)isum -
               tlm_f16_to_f32(a[k].dmin) * dy * (float)imin;
    }
    return acc;
}

/* ---- Q6_K ---- */

void tlm_quant_q6_K_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q6_K *b = src;
    for (int64_t k = 0; k < n / QK_K; k++, dst += QK_K) {
        float d = tlm_f16_to_f32(b[k].d);
        for (int i = 0; i < QK_K; i++)
            dst[i] = d * (float)b[k].scales[i / 16] * (float)(q6_field(&b[k], i) - 32);
    }
}

static void q6_K_block(const float *x, tlm_block_q6_K *b, bool search) {
    float sc[16];
    uint8_t L[QK_K];
    symmetric_subblocks(x, 32, search, sc);
    b->d = tlm_f32_to_f16(scales_signed(sc, 16, 128, b->scales));
    levels_symmetric(x, 16, 16, 32, tlm_f16_to_f32(b->d), b->scales, L);
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t *p = L + h * 128 + l;
            b->ql[h * 64 + l] = (uint8_t)((p[0] & 15) | (p[64] & 15) << 4);
            b->ql[h * 64 + l + 32] = (uint8_t)((p[32] & 15) | (p[96] & 15) << 4);
            b->qh[h * 32 + l] =
                (uint8_t)((p[0] >> 4) | (p[32] >> 4) << 2 | (p[64] >> 4) << 4 | (p[96] >> 4) << 6);
        }
}

void tlm_quant_q6_K_from_float(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q6_K_block(src + k * QK_K, (tlm_block_q6_K *)dst + k, true);
}

void tlm_quant_q6_K_from_float_plain(const float *src, void *dst, int64_t n) {
    for (int64_t k = 0; k < n / QK_K; k++)
        q6_K_block(src + k * QK_K, (tlm_block_q6_K *)dst + k, false);
}

float tlm_quant_q6_K_dot(int64_t n, const void *x, const void *y) {
    const tlm_block_q6_K *a = x;
    const tlm_block_q8_K *b = y;
    float acc = 0.0f;
    for (int64_t k = 0; k < n / QK_K; k++) {
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = j * 16; i < j * 16 + 16; i++)
                s += (q6_field(&a[k], i) - 32) * b[k].qs[i];
            isum += a[k].scales[j] * s;
        }
        acc += tlm_f16_to_f32(a[k].d) * b[k].d * (float)isum;
    }
    return acc;
}

/* ---- Q8_K (activations) ---- */

void tlm_quant_q8_K_to_float(const void *src, float *dst, int64_t n) {
    const tlm_block_q8_K *b = src;
    for (int64_t k = 0; k < n / QK_K; k++, dst += QK_K)
        for (int i = 0; i < QK_K; i++)
            dst[i] = b[k].d * (float)b[k].qs[i];
}

/* Reference: the largest magnitude maps to -127 (iscale = -127/max), so d
 * carries the sign; bsums are the 16-element sums the K dot products use
 * to apply the minimums without touching qs again. */
void tlm_quant_q8_K_from_float(const float *src, void *dst, int64_t n) {
    tlm_block_q8_K *b = dst;
    for (int64_t k = 0; k < n / QK_K; k++, src += QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int i = 0; i < QK_K; i++)
            if (fabsf(src[i]) > amax) {
                amax = fabsf(src[i]);
                max = src[i];
            }
        memset(&b[k], 0, sizeof b[k]);
        if (!(amax > 0.0f)) continue;
        float iscale = -127.0f / max;
        for (int i = 0; i < QK_K; i++)
            b[k].qs[i] = (int8_t)tlm_quant_clampi(tlm_quant_nearest(iscale * src[i]), -127, 127);
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = j * 16; i < j * 16 + 16; i++)
                s += b[k].qs[i];
            b[k].bsums[j] = (int16_t)s;
        }
        b[k].d = 1.0f / iscale;
    }
}
