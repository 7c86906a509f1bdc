/*
 * ops.c - the operators of ops.h and the scalar versions of their inner
 * loops (ops_kernels.h).  Work is split over the pool at fixed, aligned
 * boundaries, so the thread count never changes a result bit.
 */
#include "tensor/ops.h"

#include "core/util.h"
#include "tensor/ops_kernels.h"
#include "tensor/quant.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* ---- Scalar inner loops ---- */

float tlm_expf(float x) {
    if (x != x) return x;
    if (x > TLM_EXP_HI) return INFINITY;
    if (x < TLM_EXP_LO) return 0.0f;
    float n = nearbyintf(x * TLM_LOG2E);
    float r = x - n * TLM_LN2_HI;
    r = r - n * TLM_LN2_LO;
    float p = ((((TLM_EXP_P0 * r + TLM_EXP_P1) * r + TLM_EXP_P2) * r + TLM_EXP_P3) * r +
               TLM_EXP_P4) * r + TLM_EXP_P5;
    p = p * (r * r) + r + 1.0f;
    return ldexpf(p, (int)n);
}

static void f16_to_f32_scalar(const tlm_f16 *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = tlm_f16_to_f32(src[i]);
}

static float dot_scalar(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy_scalar(float *y, float a, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

static void scale_scalar(float *y, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] *= s;
}

static void silu_mul_scalar(float *y, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = g[i] / (1.0f + tlm_expf(-g[i]));
        y[i] = u ? v * u[i] : v;
    }
}

/* 0.5 x (1 + tanh(z)) == x * sigmoid(2z): no cancellation, no overflow. */
static void gelu_mul_scalar(float *y, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float x = g[i];
        float z = TLM_GELU_K * (x + TLM_GELU_C * x * x * x);
        float v = x / (1.0f + tlm_expf(-2.0f * z));
        y[i] = u ? v * u[i] : v;
    }
}

static double exp_sub_scalar(float *x, float m, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = tlm_expf(x[i] - m);
        s += x[i];
    }
    return s;
}

static uint64_t read_sum_scalar(const uint64_t *p, int64_t n) {
    int64_t q = n / 4;
    uint64_t s[4] = {0};
    for (int64_t i = 0; i < q; i++)
        for (int k = 0; k < 4; k++) s[k] += p[k * q + i];
    return s[0] + s[1] + s[2] + s[3];
}

static void scores_t_scalar(float *s, int64_t lds, const float *q, int64_t ldq, int64_t nq,
                            const float *kt, int64_t ld, int64_t m, int64_t hd, float scale) {
    for (int64_t i = 0; i < nq; i++)
        for (int64_t c = 0; c < m; c++) {
            float acc = 0.0f;
            for (int64_t d = 0; d < hd; d++) acc += q[i * ldq + d] * kt[d * ld + c];
            s[i * lds + c] = acc * scale;
        }
}

static void axpy_rows_scalar(float *o, const float *p, const float *v, int64_t m, int64_t hd) {
    for (int64_t c = 0; c < m; c++) axpy_scalar(o, p[c], v + c * hd, hd);
}

const tlm_ops_kernels tlm_ops_kernels_scalar = {
    f16_to_f32_scalar, dot_scalar,      axpy_scalar,    scale_scalar,     silu_mul_scalar,
    gelu_mul_scalar,   exp_sub_scalar,  scores_t_scalar, axpy_rows_scalar, read_sum_scalar,
};

const tlm_ops_kernels *tlm_ops_kernels_get(tlm_simd s) {
    switch (s) {
#if defined(__x86_64__)
    case TLM_SIMD_AVX2: return &tlm_ops_kernels_avx2;
    case TLM_SIMD_AVX512: return &tlm_ops_kernels_avx512;
#endif
    default: return &tlm_ops_kernels_scalar;
    }
}

static const tlm_ops_kernels *K(void) { return tlm_ops_kernels_get(tlm_simd_active()); }

/* ---- Parallel loops with fixed pieces ---- */

typedef void (*range_fn)(void *ctx, int64_t lo, int64_t hi);

typedef struct par_job {
    range_fn fn;
    void *ctx;
    int64_t n, piece;
    atomic_llong next;
} par_job;

static void par_worker(void *arg, int ith, int nth) {
    par_job *j = arg;
    int64_t n_pieces = (j->n + j->piece - 1) / j->piece, p;
    while ((p = atomic_fetch_add(&j->next, 1)) < n_pieces)
        j->fn(j->ctx, p * j->piece, TLM_MIN(j->n, (p + 1) * j->piece));
}

/* Runs fn over [0, n) in pieces of `piece` items claimed by the pool's
 * threads; small jobs (at most `serial` items) stay on the caller.  fn must
 * give the same bits for an item whatever piece it is in. */
static void par_for(tlm_pool *pool, int64_t n, int64_t piece, int64_t serial, range_fn fn,
                    void *ctx) {
    if (n <= 0) return;
    if (!pool || n <= serial) {
        fn(ctx, 0, n);
        return;
    }
    par_job j = {fn, ctx, n, piece, 0};
    atomic_init(&j.next, 0);
    tlm_pool_run_dynamic(pool, par_worker, &j);
}

/* ---- RMSNorm ---- */

typedef struct norm_ctx {
    float *y;
    const float *x, *w;
    int64_t n;
    float eps;
} norm_ctx;

static void norm_rows(void *arg, int64_t lo, int64_t hi) {
    const norm_ctx *c = arg;
    for (int64_t r = lo; r < hi; r++) {
        const float *x = c->x + r * c->n;
        float *y = c->y + r * c->n;
        double ss = 0.0;
        for (int64_t i = 0; i < c->n; i++) ss += (double)x[i] * x[i];
        float s = (float)(1.0 / sqrt(ss / (double)c->n + (double)c->eps));
        if (c->w)
            for (int64_t i = 0; i < c->n; i++) y[i] = x[i] * s * c->w[i];
        else
            for (int64_t i = 0; i < c->n; i++) y[i] = x[i] * s;
    }
}

void tlm_rms_norm(tlm_pool *pool, float *y, const float *x, const float *w, int64_t n_rows,
                  int64_t n, float eps) {
    norm_ctx c = {y, x, w, n, eps};
    par_for(pool, n_rows, 1, 1, norm_rows, &c);
}

/* ---- RoPE ---- */

typedef struct rope_ctx {
    float *x;
    int n_head, head_dim, n_rot;
    const int32_t *pos;
    double base;
    tlm_rope_mode mode;
} rope_ctx;

static void rope_rows(void *arg, int64_t lo, int64_t hi) {
    const rope_ctx *c = arg;
    const int half = c->n_rot / 2;
    float cs[256], sn[256];
    for (int64_t t = lo; t < hi; t++) {
        for (int i = 0; i < half; i++) {
            double theta = (double)c->pos[t] * pow(c->base, -2.0 * i / c->n_rot);
            cs[i] = (float)cos(theta);
            sn[i] = (float)sin(theta);
        }
        for (int h = 0; h < c->n_head; h++) {
            float *v = c->x + (t * c->n_head + h) * c->head_dim;
            for (int i = 0; i < half; i++) {
                int a = c->mode == TLM_ROPE_NEOX ? i : 2 * i;
                int b = c->mode == TLM_ROPE_NEOX ? i + half : 2 * i + 1;
                float x0 = v[a], x1 = v[b];
                v[a] = x0 * cs[i] - x1 * sn[i];
                v[b] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }
}

void tlm_rope(tlm_pool *pool, float *x, int64_t n_tok, int n_head, int head_dim, int n_rot,
              const int32_t *pos, float freq_base, tlm_rope_mode mode) {
    TLM_ASSERT(n_rot % 2 == 0 && n_rot <= head_dim && n_rot <= 512);
    rope_ctx c = {x, n_head, head_dim, n_rot, pos, freq_base, mode};
    par_for(pool, n_tok, 1, 1, rope_rows, &c);
}

/* ---- Element-wise ---- */

void tlm_add(float *y, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void tlm_mul(float *y, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}

void tlm_scale(float *y, const float *x, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * s;
}

float tlm_max(const float *x, int64_t n) {
    float m[16];
    for (int k = 0; k < 16; k++) m[k] = -INFINITY;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    float best = -INFINITY;
    for (int k = 0; k < 16; k++) best = m[k] > best ? m[k] : best;
    return best;
}

void tlm_softmax(float *x, int64_t n) {
    if (n <= 0) return;
    float m = x[0];
    for (int64_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    double s = K()->exp_sub(x, m, n);
    K()->scale(x, (float)(1.0 / s), n);
}

typedef struct act_ctx {
    float *y;
    const float *g, *u;
    bool gelu;
} act_ctx;

static void act_range(void *arg, int64_t lo, int64_t hi) {
    const act_ctx *c = arg;
    const tlm_ops_kernels *k = K();
    (c->gelu ? k->gelu_mul : k->silu_mul)(c->y + lo, c->g + lo, c->u ? c->u + lo : NULL, hi - lo);
}

/* Below this many elements the pool's start-up costs more than it saves. */
#define ACT_SERIAL 16384

static void act(tlm_pool *pool, float *y, const float *g, const float *u, int64_t n, bool gelu) {
    act_ctx c = {y, g, u, gelu};
    par_for(pool, n, 4096, ACT_SERIAL, act_range, &c);
}

void tlm_silu(tlm_pool *pool, float *y, const float *x, int64_t n) { act(pool, y, x, NULL, n, false); }
void tlm_gelu_tanh(tlm_pool *pool, float *y, const float *x, int64_t n) { act(pool, y, x, NULL, n, true); }
void tlm_swiglu(tlm_pool *pool, float *y, const float *gate, const float *up, int64_t n) {
    act(pool, y, gate, up, n, false);
}
void tlm_geglu(tlm_pool *pool, float *y, const float *gate, const float *up, int64_t n) {
    act(pool, y, gate, up, n, true);
}

/* ---- Attention ---- */

#define ATT_MAX_DIM 256
#define ATT_CHUNK 64   /* keys per online-softmax step */
#define ATT_GROUP 16   /* query heads processed together (sharing K/V rows) */

tlm_status tlm_attention_check(const tlm_attn_params *p, tlm_error *err) {
    if (p->n_head <= 0 || p->n_head_kv <= 0 || p->n_head % p->n_head_kv)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "attention: %d heads over %d kv heads",
                             p->n_head, p->n_head_kv);
    if (p->head_dim <= 0 || p->head_dim > ATT_MAX_DIM)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "attention: head_dim %d not in 1..%d",
                             p->head_dim, ATT_MAX_DIM);
    if (p->kv_type != TLM_TYPE_F16 && !(p->kv_type == TLM_TYPE_Q8_0 && p->head_dim % TLM_QK == 0))
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED, "attention: KV cache type %s",
                             tlm_type_info((uint32_t)p->kv_type) ? tlm_type_info((uint32_t)p->kv_type)->name : "?");
    if (p->n_q < 0 || p->q_pos0 < 0 || p->n_kv < 0)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "attention: negative size");
    return TLM_OK;
}

typedef struct att_ctx {
    const tlm_attn_params *p;
    const float *q;
    const uint8_t *k, *v;
    float *out;
    size_t kv_row;      /* bytes of one (pos, kv head) row */
    int group, n_groups; /* query heads per item, items per kv head */
} att_ctx;

static void kv_row(const att_ctx *c, const uint8_t *base, int64_t j, int g, float *dst) {
    const uint8_t *row = base + ((size_t)j * (size_t)c->p->n_head_kv + (size_t)g) * c->kv_row;
    if (c->p->kv_type == TLM_TYPE_F16)
        K()->f16_to_f32((const tlm_f16 *)row, dst, c->p->head_dim);
    else
        tlm_dequantize_row(TLM_TYPE_Q8_0, row, dst, c->p->head_dim);
}

/* Query i, heads [h0, h0 + nh) of kv head g, online softmax over keys. */
static void att_item(const att_ctx *c, int64_t i, int g, int h0, int nh) {
    const tlm_attn_params *p = c->p;
    const tlm_ops_kernels *k = K();
    const int d = p->head_dim;
    int64_t n_keys = p->causal ? TLM_MIN(p->n_kv, p->q_pos0 + i + 1) : p->n_kv;
    float row[ATT_MAX_DIM], s[ATT_GROUP][ATT_CHUNK], acc[ATT_GROUP][ATT_MAX_DIM];
    float m[ATT_GROUP];
    double l[ATT_GROUP];
    for (int h = 0; h < nh; h++) {
        m[h] = -INFINITY, l[h] = 0.0;
        memset(acc[h], 0, sizeof(float) * (size_t)d);
    }
    for (int64_t j0 = 0; j0 < n_keys; j0 += ATT_CHUNK) {
        int jn = (int)TLM_MIN(ATT_CHUNK, n_keys - j0);
        for (int j = 0; j < jn; j++) {
            kv_row(c, c->k, j0 + j, g, row);
            for (int h = 0; h < nh; h++)
                s[h][j] = k->dot(c->q + (i * p->n_head + h0 + h) * d, row, d) * p->scale;
        }
        for (int h = 0; h < nh; h++) {
            float mx = m[h];
            for (int j = 0; j < jn; j++) mx = s[h][j] > mx ? s[h][j] : mx;
            float corr = tlm_expf(m[h] - mx); /* 0 on the first chunk */
            l[h] = l[h] * corr + k->exp_sub(s[h], mx, jn);
            k->scale(acc[h], corr, d);
            m[h] = mx;
        }
        for (int j = 0; j < jn; j++) {
            kv_row(c, c->v, j0 + j, g, row);
            for (int h = 0; h < nh; h++) k->axpy(acc[h], s[h][j], row, d);
        }
    }
    for (int h = 0; h < nh; h++) {
        float *o = c->out + (i * p->n_head + h0 + h) * d;
        float inv = l[h] > 0.0 ? (float)(1.0 / l[h]) : 0.0f;
        for (int e = 0; e < d; e++) o[e] = acc[h][e] * inv;
    }
}

static void att_range(void *arg, int64_t lo, int64_t hi) {
    const att_ctx *c = arg;
    const int n_rep = c->p->n_head / c->p->n_head_kv;
    for (int64_t it = lo; it < hi; it++) {
        int64_t i = it / ((int64_t)c->p->n_head_kv * c->n_groups);
        int rest = (int)(it % ((int64_t)c->p->n_head_kv * c->n_groups));
        int g = rest / c->n_groups, part = rest % c->n_groups;
        int h0 = part * c->group;
        att_item(c, i, g, g * n_rep + h0, TLM_MIN(c->group, n_rep - h0));
    }
}

tlm_status tlm_attention(tlm_pool *pool, const tlm_attn_params *p, const float *q, const void *k,
                         const void *v, float *out) {
    if (tlm_attention_check(p, NULL) != TLM_OK) return TLM_ERR_INVALID_ARG;
    const int n_rep = p->n_head / p->n_head_kv;
    att_ctx c = {p, q, k, v, out, tlm_type_row_size(p->kv_type, (uint64_t)p->head_dim), 0, 0};
    /* Heads of one kv head share each converted K/V row; with few queries
     * (decoding) split them further so every thread gets work.  Grouping
     * never changes a head's arithmetic, only who computes it. */
    int nth = tlm_pool_n_threads(pool);
    c.group = TLM_MIN(n_rep, ATT_GROUP);
    while (c.group > 1 && p->n_q * p->n_head_kv * ((n_rep + c.group - 1) / c.group) < nth)
        c.group = (c.group + 1) / 2;
    c.n_groups = (n_rep + c.group - 1) / c.group;
    par_for(pool, p->n_q * p->n_head_kv * c.n_groups, 1, 0, att_range, &c);
    return TLM_OK;
}
