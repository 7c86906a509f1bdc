/*
 * quant_k_search.c - choosing the scale (and minimum) of one K-quant
 * sub-block so that the weighted squared error of its dequantized values is
 * as small as we can cheaply make it.
 *
 * Why a search: with few levels, rounding against the range (max-min)/nmax
 * wastes levels on a single outlier.  A slightly larger or smaller scale,
 * with the levels refitted by least squares, usually fits the bulk of the
 * values much better.  The method is ours, in three steps:
 *   1. start from round-to-nearest with the range scale;
 *   2. try a grid of candidate level counts around nmax (nmax +- 1 for the
 *      affine grid, nmax +- 0.1*nstep for the symmetric one); round with
 *      each, then solve the weighted least-squares problem for the scale
 *      (and offset) given those levels;
 *   3. from the best candidate, alternate "round every value to the nearest
 *      level" and "refit scale/offset" until the levels stop changing.
 * Each step of 3 cannot increase the error (each half is optimal given the
 * other), and every candidate is compared by its true weighted error, so
 * the result is never worse than step 1's round-to-nearest.
 */
#include "tensor/quant_impl.h"

#include <string.h>

#define MAX_SUB      64 /* longest sub-block searched (K-quants use 16 or 32) */
#define REFINE_ITERS 6

/* Round a value already clamped to a small range (|v| < 2^22) to nearest,
 * ties to even, by adding 1.5*2^23: the FPU's own rounding does the work
 * and the loops below vectorize (rintf would not without SSE4.1). */
static inline int round_small(float v) {
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Clamp in float first (NaN-safe: a NaN becomes hi), then round. */
static inline int level(float v, int lo, int hi) {
    float c = v > (float)lo ? v : (float)lo;
    c = c < (float)hi ? c : (float)hi;
    return round_small(c);
}

/* ---- Affine grid: y = s*q + o, q in [0, nmax], o <= 0 ---- */

static void round_affine(int n, int nmax, const float *x, float s, float o, uint8_t *q) {
    float is = s != 0.0f ? 1.0f / s : 0.0f;
    for (int i = 0; i < n; i++)
        q[i] = (uint8_t)level((x[i] - o) * is, 0, nmax);
}

static float affine_error(int n, const float *x, const float *w, const uint8_t *q, float s,
                          float o) {
    float e = 0.0f;
    for (int i = 0; i < n; i++) {
        float d = s * (float)q[i] + o - x[i];
        e += w[i] * d * d;
    }
    return e;
}

/* Weighted least squares for (s, o) given the levels, with o kept <= 0
 * because the format stores the offset as a non-negative minimum to
 * subtract.  The error of the fit comes from the same sums (sxx is
 * sum w*x^2), which saves a pass.  Returns false when the levels are all
 * equal (no fit). */
static bool fit_affine(int n, const float *x, const float *w, const uint8_t *q, float sxx, float *s,
                       float *o, float *err) {
    float sw = 0, sx = 0, sq = 0, sqq = 0, sxq = 0;
    for (int i = 0; i < n; i++) {
        float qi = (float)q[i], wq = w[i] * qi;
        sw += w[i];
        sx += w[i] * x[i];
        sq += wq;
        sqq += wq * qi;
        sxq += wq * x[i];
    }
    float det = sw * sqq - sq * sq;
    if (!(det > 0.0f)) return false;
    float fs = (sw * sxq - sx * sq) / det;
    float fo = (sqq * sx - sq * sxq) / det;
    if (fo > 0.0f) {
        fo = 0.0f;
        fs = sxq / sqq;
    }
    *s = fs;
    *o = fo;
    *err = sxx - 2 * fs * sxq - 2 * fo * sx + fs * fs * sqq + 2 * fs * fo * sq + fo * fo * sw;
    return true;
}

float tlm_quant_search_affine(int n, int nmax, const float *x, const float *w, uint8_t *q,
                              float *out_min, int nstep) {
    float lo = x[0], hi = x[0], sxx = 0.0f;
    for (int i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
        sxx += w[i] * x[i] * x[i];
    }
    if (lo > 0.0f) lo = 0.0f;
    if (!(hi > lo) || n > MAX_SUB) {
        memset(q, 0, (size_t)n);
        *out_min = -lo;
        return 0.0f;
    }
    /* Step 1: round to nearest over the range. */
    float best_s = (hi - lo) / (float)nmax, best_o = lo;
    round_affine(n, nmax, x, best_s, best_o, q);
    float best_e = affine_error(n, x, w, q, best_s, best_o);

    /* Step 2: candidate level counts nmax-1 .. nmax+1, each refitted. */
    uint8_t cand[MAX_SUB];
    for (int k = 0; k <= nstep; k++) {
        float levels = (float)nmax - 1.0f + 2.0f * (float)k / (float)(nstep > 0 ? nstep : 1);
        float s, o, e;
        round_affine(n, nmax, x, (hi - lo) / levels, lo, cand);
        if (fit_affine(n, x, w, cand, sxx, &s, &o, &e) && e < best_e) {
            best_e = e, best_s = s, best_o = o;
            memcpy(q, cand, (size_t)n);
        }
    }
    /* Step 3: alternate rounding and refitting. */
    for (int it = 0; it < REFINE_ITERS; it++) {
        float s, o, e;
        round_affine(n, nmax, x, best_s, best_o, cand);
        if (!memcmp(cand, q, (size_t)n) || !fit_affine(n, x, w, cand, sxx, &s, &o, &e) ||
            !(e < best_e))
            break;
        best_e = e, best_s = s, best_o = o;
        memcpy(q, cand, (size_t)n);
    }
    *out_min = -best_o;
    return best_s;
}

/* ---- Symmetric grid: y = s*q, q in [-nmax, nmax-1] ---- */

static void round_symmetric(int n, int nmax, const float *x, float s, int8_t *q) {
    float is = s != 0.0f ? 1.0f / s : 0.0f;
    for (int i = 0; i < n; i++)
        q[i] = (int8_t)level(x[i] * is, -nmax, nmax - 1);
}

/* Optimal scale for fixed levels: sum(w*x*q) / sum(w*q^2). */
static float fit_symmetric(int n, const float *x, const float *w, const int8_t *q) {
    float sxq = 0, sqq = 0;
    for (int i = 0; i < n; i++) {
        sxq += w[i] * x[i] * (float)q[i];
        sqq += w[i] * (float)q[i] * (float)q[i];
    }
    return sqq > 0.0f ? sxq / sqq : 0.0f;
}

static float symmetric_error(int n, const float *x, const float *w, const int8_t *q, float s) {
    float e = 0.0f;
    for (int i = 0; i < n; i++) {
        float d = s * (float)q[i] - x[i];
        e += w[i] * d * d;
    }
    return e;
}

float tlm_quant_search_symmetric(int n, int nmax, const float *x, const float *w, uint8_t *q,
                                 int nstep) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (!(amax > 1e-30f) || n > MAX_SUB) {
        memset(q, (uint8_t)nmax, (size_t)n);
        return 0.0f;
    }
    int8_t best_q[MAX_SUB], cand[MAX_SUB];
    /* Step 1: the largest magnitude lands on -nmax, the extra level. */
    float best_s = max / -(float)nmax;
    round_symmetric(n, nmax, x, best_s, best_q);
    float best_e = symmetric_error(n, x, w, best_q, best_s);

    for (int k = -nstep; k <= nstep; k++) {
        float s = max / -((float)nmax + 0.1f * (float)k);
        round_symmetric(n, nmax, x, s, cand);
        s = fit_symmetric(n, x, w, cand);
        float e = symmetric_error(n, x, w, cand, s);
        if (e < best_e) {
            best_e = e, best_s = s;
            memcpy(best_q, cand, (size_t)n);
        }
    }
    for (int it = 0; it < REFINE_ITERS && best_s != 0.0f; it++) {
        round_symmetric(n, nmax, x, best_s, cand);
        if (!memcmp(cand, best_q, (size_t)n)) break;
        float s = fit_symmetric(n, x, w, cand);
        float e = symmetric_error(n, x, w, cand, s);
        if (!(e < best_e)) break;
        best_e = e, best_s = s;
        memcpy(best_q, cand, (size_t)n);
    }
    for (int i = 0; i < n; i++)
        q[i] = (uint8_t)(best_q[i] + nmax);
    return best_s;
}

/* ---- Round-to-nearest only (the baseline the search must beat) ---- */

float tlm_quant_plain_affine(int n, int nmax, const float *x, uint8_t *q, float *out_min) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    if (lo > 0.0f) lo = 0.0f;
    float s = hi > lo ? (hi - lo) / (float)nmax : 0.0f;
    round_affine(n, nmax, x, s, lo, q);
    *out_min = -lo;
    return s;
}

float tlm_quant_plain_symmetric(int n, int nmax, const float *x, uint8_t *q) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    float s = max / -(float)nmax;
    int8_t tmp[MAX_SUB];
    if (n > MAX_SUB) n = MAX_SUB;
    round_symmetric(n, nmax, x, s, tmp);
    for (int i = 0; i < n; i++)
        q[i] = (uint8_t)(tmp[i] + nmax);
    return s;
}
