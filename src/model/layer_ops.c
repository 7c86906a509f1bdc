/*
 * layer_ops.c - per-row operators of the forward pass (see layer_ops.h).
 *
 * Built on the tensor module's vector primitives and float GEMV; the order
 * of every floating-point sum is fixed by the code, never by the thread that
 * runs it or by the other rows of a job.
 */
#include "model/layer_ops.h"

#include "core/util.h"
#include "tensor/matmul.h"
#include "tensor/ops.h"
#include "tensor/ops_kernels.h"
#include "tensor/quant.h"
#include "tensor/simd.h"

#include <math.h>
#include <string.h>

void tlm_lo_rmsnorm(float *out, const float *x, const float *w, int32_t n, float eps) {
    /* Double accumulation, as the reference does: a row is a few thousand
     * values, and this keeps the norm exact to the last bit it can be. */
    double ss = 0;
    for (int32_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int32_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

void tlm_lo_rope_table(double *cs, int32_t pos, int32_t n_rot, float base, float freq_scale,
                       const float *freq_factors) {
    for (int32_t i = 0; i < n_rot / 2; i++) {
        double theta = pos * (double)freq_scale * pow(base, -2.0 * i / n_rot);
        if (freq_factors) theta /= freq_factors[i];
        cs[2 * i] = cos(theta);
        cs[2 * i + 1] = sin(theta);
    }
}

void tlm_lo_rope(float *v, const double *cs, int32_t n_rot, bool neox) {
    int32_t half = n_rot / 2;
    for (int32_t i = 0; i < half; i++) {
        int32_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
        double x0 = v[a], x1 = v[b], c = cs[2 * i], s = cs[2 * i + 1];
        v[a] = (float)(x0 * c - x1 * s);
        v[b] = (float)(x0 * s + x1 * c);
    }
}

void tlm_lo_glu(float *a, const float *b, int64_t n, tlm_ffn_act act) {
    if (act == TLM_ACT_GELU_TANH) tlm_geglu(NULL, a, a, b, n);
    else tlm_swiglu(NULL, a, a, b, n);
}

/* ---- Attention ---- */

/* Head kh of cells view[c0 .. c0+n), as n rows of hd floats. */
static void load_cells(const tlm_ops_kernels *k, const tlm_attn_job *j, bool values, int32_t c0,
                       int32_t n, float *dst) {
    const tlm_kv_cache *kv = j->kv;
    int32_t hd = j->head_dim;
    for (int32_t c = 0; c < n; c++, dst += hd) {
        int32_t cell = j->view[c0 + c];
        const uint8_t *row = values ? tlm_kv_v_row(kv, j->layer, cell)
                                    : tlm_kv_k_row(kv, j->layer, cell);
        if (kv->type == TLM_KV_Q8_0) {
            const tlm_block_q8_0 *b = (const tlm_block_q8_0 *)row + (size_t)j->kh * hd / TLM_QK;
            tlm_dequantize_row(TLM_TYPE_Q8_0, b, dst, hd);
        } else {
            k->f16_to_f32((const tlm_f16 *)row + (size_t)j->kh * hd, dst, hd);
        }
    }
}

/* y (rows) = w (rows x cols, floats) x, one thread: the matmul module's
 * float GEMV, whose result for a row does not depend on how many rows the
 * call has (rows start at a chunk boundary here). */
static void gemv(const float *w, int32_t rows, int32_t cols, const float *x, float *y) {
    tlm_status st = tlm_matmul(NULL, TLM_TYPE_F32, w, rows, cols, x, 1, y, NULL);
    TLM_ASSERT(st == TLM_OK);
}

size_t tlm_lo_attend_scratch(int32_t n_rows, int32_t n_heads, int32_t n_cells,
                             int32_t head_dim) {
    return (size_t)n_rows * (size_t)n_heads * (size_t)n_cells +
           (2 * TLM_ATTN_CHUNK + 1) * (size_t)head_dim + 16;
}

typedef struct att_bufs {
    float *s;       /* (n_rows, n_heads, n_max) scores, then probabilities */
    float *kv;      /* (CHUNK, head_dim) key or value rows of one chunk */
    float *vt;      /* (head_dim, CHUNK) the value rows transposed */
    float *tmp;     /* (head_dim) */
    int32_t n_max;  /* most cells any row sees */
} att_bufs;

static float *scores_of(const tlm_attn_job *j, const att_bufs *b, int32_t r, int32_t h) {
    return b->s + ((size_t)r * (size_t)(j->h1 - j->h0) + (size_t)h) * (size_t)b->n_max;
}

/* Scores q.k * scale, chunk by chunk: each key chunk is converted once for
 * every row and head of the job. */
static void attend_scores(const tlm_ops_kernels *k, const tlm_attn_job *j, const att_bufs *b) {
    int32_t hd = j->head_dim;
    for (int32_t c0 = 0; c0 < b->n_max; c0 += TLM_ATTN_CHUNK) {
        int32_t cnt = TLM_MIN(TLM_ATTN_CHUNK, b->n_max - c0);
        load_cells(k, j, false, c0, cnt, b->kv);
        for (int32_t r = 0; r < j->n_rows; r++) {
            int32_t m = TLM_MIN(cnt, j->n_vis[r] - c0);
            for (int32_t h = 0; m > 0 && h < j->h1 - j->h0; h++) {
                float *s = scores_of(j, b, r, h) + c0;
                gemv(b->kv, m, hd, j->q[r] + (size_t)(j->h0 + h) * hd, s);
                k->scale(s, j->scale, m);
            }
        }
    }
}

/* Up to this head size a whole chunk of values goes through one product
 * with the transposed chunk; beyond it the product's per-row reductions
 * cost more than adding the value rows one by one (measured: ~7% less
 * prefill time for head size 64, ~4% more for 256). */
#define PV_PRODUCT_MAX_DIM 128

/* out += p . V: whole chunks as one product with the transposed values
 * (small heads), otherwise and for the last partial chunk of a row cell by
 * cell.  Which it is depends only on the head size and the row's own count
 * of cells, never on the other rows. */
static void attend_values(const tlm_ops_kernels *k, const tlm_attn_job *j, const att_bufs *b) {
    int32_t hd = j->head_dim, nh = j->h1 - j->h0;
    for (int32_t c0 = 0; c0 < b->n_max; c0 += TLM_ATTN_CHUNK) {
        int32_t cnt = TLM_MIN(TLM_ATTN_CHUNK, b->n_max - c0);
        bool transposed = false;
        load_cells(k, j, true, c0, cnt, b->kv);
        for (int32_t r = 0; r < j->n_rows; r++) {
            int32_t m = TLM_MIN(cnt, j->n_vis[r] - c0);
            bool whole = m == TLM_ATTN_CHUNK && hd <= PV_PRODUCT_MAX_DIM;
            if (whole && !transposed) {
                for (int32_t c = 0; c < TLM_ATTN_CHUNK; c++)
                    for (int32_t d = 0; d < hd; d++)
                        b->vt[(size_t)d * TLM_ATTN_CHUNK + c] = b->kv[(size_t)c * hd + d];
                transposed = true;
            }
            for (int32_t h = 0; m > 0 && h < nh; h++) {
                const float *p = scores_of(j, b, r, h) + c0;
                float *o = j->out[r] + (size_t)(j->h0 + h) * hd;
                if (whole) {
                    gemv(b->vt, hd, TLM_ATTN_CHUNK, p, b->tmp);
                    k->axpy(o, 1.0f, b->tmp, hd);
                } else {
                    for (int32_t c = 0; c < m; c++) k->axpy(o, p[c], b->kv + (size_t)c * hd, hd);
                }
            }
        }
    }
}

/* The largest of s[0 .. n), -inf for none, NaNs skipped, in 16 running
 * maxima: as one chain, each compare waited on the one before.  A maximum
 * does not depend on the order; where +0 and -0 tie, either subtracts the
 * same from every score. */
static float row_max(const float *s, int32_t n) {
    float m[16];
    for (int k = 0; k < 16; k++) m[k] = -INFINITY;
    int32_t c = 0;
    for (; c + 16 <= n; c += 16)
        for (int k = 0; k < 16; k++) m[k] = s[c + k] > m[k] ? s[c + k] : m[k];
    for (; c < n; c++) m[0] = s[c] > m[0] ? s[c] : m[0];
    float mx = -INFINITY;
    for (int k = 0; k < 16; k++) mx = m[k] > mx ? m[k] : mx;
    return mx;
}

/* Two passes over the visible cells: scores, softmax per row and head
 * (sum in double), then the weighted values. */
void tlm_lo_attend(const tlm_attn_job *j, float *scratch) {
    const tlm_ops_kernels *k = tlm_ops_kernels_get(tlm_simd_active());
    int32_t hd = j->head_dim, nh = j->h1 - j->h0;
    att_bufs b = {.n_max = 0};
    for (int32_t r = 0; r < j->n_rows; r++) b.n_max = TLM_MAX(b.n_max, j->n_vis[r]);
    b.s = scratch;
    b.kv = scratch + (size_t)j->n_rows * (size_t)nh * (size_t)b.n_max;
    b.vt = b.kv + (size_t)TLM_ATTN_CHUNK * hd;
    b.tmp = b.vt + (size_t)TLM_ATTN_CHUNK * hd;
    attend_scores(k, j, &b);
    float inv[TLM_ATTN_MAX_ROWS][TLM_ATTN_MAX_HEADS];
    for (int32_t r = 0; r < j->n_rows; r++)
        for (int32_t h = 0; h < nh; h++) {
            float *s = scores_of(j, &b, r, h), mx = row_max(s, j->n_vis[r]);
            double sum = j->n_vis[r] > 0 ? k->exp_sub(s, mx, j->n_vis[r]) : 0.0;
            inv[r][h] = sum > 0 ? (float)(1.0 / sum) : 0.0f;
            memset(j->out[r] + (size_t)(j->h0 + h) * hd, 0, sizeof(float) * (size_t)hd);
        }
    attend_values(k, j, &b);
    for (int32_t r = 0; r < j->n_rows; r++)
        for (int32_t h = 0; h < nh; h++)
            k->scale(j->out[r] + (size_t)(j->h0 + h) * hd, inv[r][h], hd);
}
