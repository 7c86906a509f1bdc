/*
 * test_ops.c - the operators against plain double-precision formulas, on
 * every SIMD path this CPU runs, and bitwise identity across 1, 2 and 3
 * threads.
 */
#include "core/threads.h"
#include "core/util.h"
#include "tensor/ops.h"
#include "tensor/ops_kernels.h"
#include "tensor/quant.h"
#include "tensor/simd.h"
#include "test.h"

#include <float.h>

static uint64_t rng_state = 0x853c49e6748fea9bull;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float srand1(float scale) { return (float)((urand() * 2.0 - 1.0) * scale); }

static tlm_pool *pools[3];

static void setup_pools(void) {
    if (pools[1]) return;
    tlm_pool_create(2, &pools[1]);
    tlm_pool_create(3, &pools[2]);
}

/* Runs body once per supported path; `path` names it. */
#define FOR_EACH_PATH(path)                                                  \
    for (int path = 0; path < TLM_SIMD_COUNT; path++)                        \
        if (tlm_simd_set((tlm_simd)path, NULL) == TLM_OK)

static double rel_err(double got, double want) {
    return fabs(got - want) / (fabs(want) + 1e-30);
}

TEST(expf_within_2ulp) {
    FOR_EACH_PATH(path) {
        float xs[1024], ys[1024];
        for (int i = 0; i < 1024; i++) xs[i] = -87.0f + 175.0f * (float)i / 1023.0f;
        /* exp via softmax's exp_sub path is internal; check tlm_expf and
         * the vector path through tlm_silu on values where silu ~ exp. */
        for (int i = 0; i < 1024; i++) {
            double want = exp((double)xs[i]);
            float got = tlm_expf(xs[i]);
            ASSERT_MSG(fabs(got - want) <= 2.0 * (nextafterf((float)want, INFINITY) - (float)want),
                       "expf(%g) = %.9g, want %.9g", xs[i], got, want);
        }
        for (int i = 0; i < 1024; i++) xs[i] = -80.0f + 60.0f * (float)i / 1023.0f; /* silu(x) ~ x e^x */
        tlm_silu(NULL, ys, xs, 1024);
        for (int i = 0; i < 1024; i++) {
            double want = xs[i] / (1.0 + exp(-(double)xs[i]));
            ASSERT_MSG(rel_err(ys[i], want) < 1e-6, "%s silu(%g) = %.9g, want %.9g",
                       tlm_simd_name((tlm_simd)path), xs[i], ys[i], want);
        }
    }
    ASSERT_EQ(tlm_expf(-1000.0f), 0);
    ASSERT(isinf(tlm_expf(1000.0f)));
    tlm_simd_set(tlm_simd_best(), NULL);
}

TEST(activations_match_formulas) {
    enum { N = 4099 };
    static float x[N], u[N], y[N];
    for (int i = 0; i < N; i++) x[i] = srand1(12.0f), u[i] = srand1(3.0f);
    x[0] = 30.0f, x[1] = -30.0f, x[2] = 100.0f, x[3] = -100.0f, x[4] = 0.0f, x[5] = 1e-8f;
    FOR_EACH_PATH(path) {
        const char *pn = tlm_simd_name((tlm_simd)path);
        tlm_gelu_tanh(NULL, y, x, N);
        for (int i = 0; i < N; i++) {
            double v = x[i], want = 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
            ASSERT_MSG(fabs(y[i] - want) <= 2e-6 * fabs(want) + 1e-12, "%s gelu(%g)=%.9g want %.9g", pn,
                       v, y[i], want);
        }
        tlm_swiglu(NULL, y, x, u, N);
        for (int i = 0; i < N; i++) {
            double v = x[i], want = v / (1.0 + exp(-v)) * u[i];
            ASSERT_MSG(fabs(y[i] - want) <= 2e-6 * fabs(want) + 1e-12, "%s swiglu(%g)", pn, v);
        }
        tlm_geglu(NULL, y, x, u, N);
        for (int i = 0; i < N; i++) {
            double v = x[i];
            double want = 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))) * u[i];
            ASSERT_MSG(fabs(y[i] - want) <= 3e-6 * fabs(want) + 1e-12, "%s geglu(%g)", pn, v);
        }
    }
    tlm_simd_set(tlm_simd_best(), NULL);
}

TEST(softmax_large_values) {
    static const float base[] = {1000.0f, 1001.0f, 999.5f, -1000.0f, 0.0f, 88.0f, 1001.0f};
    enum { N = 7 };
    FOR_EACH_PATH(path) {
        float x[N];
        memcpy(x, base, sizeof x);
        tlm_softmax(x, N);
        double m = 1001.0, s = 0;
        for (int i = 0; i < N; i++) s += exp((double)base[i] - m);
        for (int i = 0; i < N; i++) {
            double want = exp((double)base[i] - m) / s;
            ASSERT_MSG(fabs(x[i] - want) <= 1e-6 * want + 1e-30, "%s softmax[%d] = %.9g want %.9g",
                       tlm_simd_name((tlm_simd)path), i, x[i], want);
        }
        float big[1000];
        for (int i = 0; i < 1000; i++) big[i] = srand1(50.0f) + 3e4f;
        tlm_softmax(big, 1000);
        double tot = 0;
        for (int i = 0; i < 1000; i++) tot += big[i];
        ASSERT_NEAR(tot, 1.0, 1e-5);
    }
    tlm_simd_set(tlm_simd_best(), NULL);
}

TEST(elementwise) {
    float a[37], b[37], y[37];
    for (int i = 0; i < 37; i++) a[i] = srand1(4.0f), b[i] = srand1(4.0f);
    tlm_add(y, a, b, 37);
    for (int i = 0; i < 37; i++) ASSERT_EQ(y[i] == a[i] + b[i], 1);
    tlm_mul(y, a, b, 37);
    for (int i = 0; i < 37; i++) ASSERT_EQ(y[i] == a[i] * b[i], 1);
    tlm_scale(y, a, 0.125f, 37);
    for (int i = 0; i < 37; i++) ASSERT_EQ(y[i] == a[i] * 0.125f, 1);
    tlm_add(a, a, b, 37); /* in place */
    tlm_mul(y, b, b, 37);
    ASSERT_EQ(y[5] == b[5] * b[5], 1);
}

TEST(rms_norm_matches_formula) {
    enum { ROWS = 5, N = 896 };
    static float x[ROWS * N], w[N], y[ROWS * N];
    for (int i = 0; i < ROWS * N; i++) x[i] = srand1(3.0f) * (i < N ? 1e-3f : 1.0f);
    for (int i = 0; i < N; i++) w[i] = srand1(2.0f);
    tlm_rms_norm(NULL, y, x, w, ROWS, N, 1e-6f);
    for (int r = 0; r < ROWS; r++) {
        double ss = 0;
        for (int i = 0; i < N; i++) ss += (double)x[r * N + i] * x[r * N + i];
        double inv = 1.0 / sqrt(ss / N + 1e-6);
        for (int i = 0; i < N; i++) {
            double want = x[r * N + i] * inv * w[i];
            ASSERT_MSG(fabs(y[r * N + i] - want) <= 3e-7 * fabs(want) + 1e-30, "row %d [%d]", r, i);
        }
    }
    memcpy(y, x, sizeof x); /* in place, no gain */
    tlm_rms_norm(NULL, y, y, NULL, ROWS, N, 1e-5f);
    double ss = 0;
    for (int i = 0; i < N; i++) ss += (double)y[2 * N + i] * y[2 * N + i];
    ASSERT_NEAR(ss / N, 1.0, 1e-4);
}

static void rope_ref(double *out, const float *x, int n_tok, int n_head, int hd, int n_rot,
                     const int32_t *pos, double base, tlm_rope_mode mode) {
    for (int t = 0; t < n_tok; t++)
        for (int h = 0; h < n_head; h++) {
            const float *v = x + (t * n_head + h) * hd;
            double *o = out + (t * n_head + h) * hd;
            for (int i = 0; i < hd; i++) o[i] = v[i];
            for (int i = 0; i < n_rot / 2; i++) {
                double th = pos[t] * pow(base, -2.0 * i / n_rot);
                int a = mode == TLM_ROPE_NEOX ? i : 2 * i, b = mode == TLM_ROPE_NEOX ? i + n_rot / 2 : 2 * i + 1;
                o[a] = v[a] * cos(th) - v[b] * sin(th);
                o[b] = v[a] * sin(th) + v[b] * cos(th);
            }
        }
}

TEST(rope_both_layouts) {
    enum { T = 4, H = 3, D = 64 };
    static const int32_t pos[T] = {0, 1, 17, 30000};
    static const struct { tlm_rope_mode mode; int n_rot; double base; } cases[] = {
        {TLM_ROPE_NEOX, 64, 1e6}, {TLM_ROPE_NORMAL, 64, 1e4}, {TLM_ROPE_NEOX, 32, 1e4}, {TLM_ROPE_NORMAL, 48, 5e5},
    };
    for (size_t c = 0; c < TLM_ARRAY_LEN(cases); c++) {
        float x[T * H * D], y[T * H * D];
        double want[T * H * D];
        for (int i = 0; i < T * H * D; i++) x[i] = srand1(2.0f);
        memcpy(y, x, sizeof x);
        tlm_rope(NULL, y, T, H, D, cases[c].n_rot, pos, (float)cases[c].base, cases[c].mode);
        rope_ref(want, x, T, H, D, cases[c].n_rot, pos, cases[c].base, cases[c].mode);
        for (int i = 0; i < T * H * D; i++)
            ASSERT_MSG(fabs(y[i] - want[i]) <= 1e-6 * 2.0 * 2, "case %zu [%d]: %.9g vs %.9g", c, i,
                       y[i], want[i]);
        /* position 0 is the identity */
        for (int i = 0; i < H * D; i++) ASSERT_EQ(y[i] == x[i], 1);
    }
}

typedef struct att_case {
    int n_head, n_head_kv, head_dim;
    int64_t n_q, q_pos0, n_kv;
    bool causal;
    tlm_type kv;
} att_case;

static const att_case att_cases[] = {
    {14, 2, 64, 1, 40, 41, true, TLM_TYPE_F16},    /* Qwen-like decode */
    {14, 2, 64, 9, 100, 109, true, TLM_TYPE_F16},  /* a prefill block after a prefix */
    {8, 1, 256, 3, 0, 3, true, TLM_TYPE_F16},      /* Gemma-like MQA */
    {4, 4, 32, 5, 0, 150, false, TLM_TYPE_F16},    /* plain multi-head, no mask */
    {6, 2, 64, 7, 60, 67, true, TLM_TYPE_Q8_0},    /* quantized cache */
    {2, 1, 16, 2, 0, 0, true, TLM_TYPE_F16},       /* causal with an empty cache row */
};

static void make_att(const att_case *c, float **q, uint8_t **k, uint8_t **v, float **kf, float **vf) {
    size_t nq = (size_t)(c->n_q * c->n_head * c->head_dim), nkv = (size_t)(c->n_kv * c->n_head_kv * c->head_dim);
    size_t rs = tlm_type_row_size(c->kv, (uint64_t)c->head_dim);
    *q = malloc(sizeof(float) * nq + 1);
    *k = malloc(rs * (size_t)(c->n_kv * c->n_head_kv) + 1);
    *v = malloc(rs * (size_t)(c->n_kv * c->n_head_kv) + 1);
    *kf = malloc(sizeof(float) * nkv + 1);
    *vf = malloc(sizeof(float) * nkv + 1);
    for (size_t i = 0; i < nq; i++) (*q)[i] = srand1(2.0f);
    for (size_t i = 0; i < nkv; i++) (*kf)[i] = srand1(2.0f), (*vf)[i] = srand1(3.0f);
    for (int64_t r = 0; r < c->n_kv * c->n_head_kv; r++) {
        float *kr = *kf + r * c->head_dim, *vr = *vf + r * c->head_dim;
        tlm_quantize_row(c->kv, kr, *k + (size_t)r * rs, c->head_dim);
        tlm_quantize_row(c->kv, vr, *v + (size_t)r * rs, c->head_dim);
        tlm_dequantize_row(c->kv, *k + (size_t)r * rs, kr, c->head_dim); /* what the cache holds */
        tlm_dequantize_row(c->kv, *v + (size_t)r * rs, vr, c->head_dim);
    }
}

static void att_naive(const att_case *c, float scale, const float *q, const float *kf, const float *vf,
                      double *out) {
    int rep = c->n_head / c->n_head_kv, d = c->head_dim;
    double *s = malloc(sizeof(double) * (size_t)(c->n_kv + 1));
    for (int64_t i = 0; i < c->n_q; i++)
        for (int h = 0; h < c->n_head; h++) {
            int g = h / rep;
            int64_t nk = c->causal ? TLM_MIN(c->n_kv, c->q_pos0 + i + 1) : c->n_kv;
            double m = -INFINITY, tot = 0;
            for (int64_t j = 0; j < nk; j++) {
                double dot = 0;
                for (int e = 0; e < d; e++)
                    dot += (double)q[(i * c->n_head + h) * d + e] * kf[(j * c->n_head_kv + g) * d + e];
                s[j] = dot * scale;
                m = s[j] > m ? s[j] : m;
            }
            for (int64_t j = 0; j < nk; j++) tot += (s[j] = exp(s[j] - m));
            for (int e = 0; e < d; e++) {
                double acc = 0;
                for (int64_t j = 0; j < nk; j++) acc += s[j] * vf[(j * c->n_head_kv + g) * d + e];
                out[(i * c->n_head + h) * d + e] = nk ? acc / tot : 0.0;
            }
        }
    free(s);
}

TEST(attention_matches_naive) {
    setup_pools();
    for (size_t ci = 0; ci < TLM_ARRAY_LEN(att_cases); ci++) {
        const att_case *c = &att_cases[ci];
        float *q, *kf, *vf;
        uint8_t *k, *v;
        make_att(c, &q, &k, &v, &kf, &vf);
        size_t n = (size_t)(c->n_q * c->n_head * c->head_dim);
        float scale = 1.0f / sqrtf((float)c->head_dim);
        double *want = malloc(sizeof(double) * n + 1);
        float *got = malloc(sizeof(float) * n + 1), *first = malloc(sizeof(float) * n + 1);
        att_naive(c, scale, q, kf, vf, want);
        tlm_attn_params p = {c->n_head, c->n_head_kv, c->head_dim, c->n_q, c->q_pos0, c->n_kv,
                             c->causal, scale, c->kv};
        FOR_EACH_PATH(path) {
            for (int tc = 0; tc < 3; tc++) {
                ASSERT_OK(tlm_attention(pools[tc], &p, q, k, v, got));
                for (size_t i = 0; i < n; i++)
                    ASSERT_MSG(fabs(got[i] - want[i]) <= 2e-6 * 3.0, "%s case %zu [%zu]: %.9g vs %.9g",
                               tlm_simd_name((tlm_simd)path), ci, i, got[i], want[i]);
                if (tc == 0) memcpy(first, got, sizeof(float) * n);
                ASSERT_MSG(!memcmp(first, got, sizeof(float) * n), "%s case %zu: %d threads differ",
                           tlm_simd_name((tlm_simd)path), ci, tc + 1);
            }
        }
        free(q), free(k), free(v), free(kf), free(vf), free(want), free(got), free(first);
    }
    tlm_simd_set(tlm_simd_best(), NULL);
}

TEST(attention_rejects_bad_params) {
    tlm_error err = {0};
    tlm_attn_params p = {14, 3, 64, 1, 0, 1, true, 0.125f, TLM_TYPE_F16};
    ASSERT_EQ(tlm_attention_check(&p, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "14 heads");
    p.n_head_kv = 2, p.head_dim = 512;
    ASSERT_EQ(tlm_attention_check(&p, &err), TLM_ERR_INVALID_ARG);
    p.head_dim = 64, p.kv_type = TLM_TYPE_Q4_0;
    ASSERT_EQ(tlm_attention_check(&p, &err), TLM_ERR_UNSUPPORTED);
    float q[64] = {0}, out[64];
    ASSERT_EQ(tlm_attention(NULL, &p, q, q, q, out), TLM_ERR_INVALID_ARG);
}

/* Every pooled op, 1 vs 2 vs 3 threads, bit for bit, on every path. */
TEST(ops_thread_counts_bitwise) {
    setup_pools();
    enum { ROWS = 37, N = 896, E = ROWS * N };
    static float x[E], w[N], u[E], y[3][E];
    static int32_t pos[ROWS];
    for (int i = 0; i < E; i++) x[i] = srand1(5.0f), u[i] = srand1(1.0f);
    for (int i = 0; i < N; i++) w[i] = srand1(1.0f);
    for (int i = 0; i < ROWS; i++) pos[i] = i * 31;
    FOR_EACH_PATH(path) {
        for (int op = 0; op < 5; op++) {
            for (int tc = 0; tc < 3; tc++) {
                float *o = y[tc];
                switch (op) {
                case 0: tlm_rms_norm(pools[tc], o, x, w, ROWS, N, 1e-6f); break;
                case 1: memcpy(o, x, sizeof x); tlm_rope(pools[tc], o, ROWS, 14, 64, 64, pos, 1e6f, TLM_ROPE_NEOX); break;
                case 2: tlm_swiglu(pools[tc], o, x, u, E); break;
                case 3: tlm_geglu(pools[tc], o, x, u, E); break;
                default: tlm_silu(pools[tc], o, x, E); break;
                }
            }
            ASSERT_MSG(!memcmp(y[0], y[1], sizeof y[0]) && !memcmp(y[0], y[2], sizeof y[0]),
                       "%s op %d differs between thread counts", tlm_simd_name((tlm_simd)path), op);
        }
    }
    tlm_simd_set(tlm_simd_best(), NULL);
}

/* The bandwidth probe's read kernel really reads (and sums) every word. */
TEST(read_sum_all_words) {
    enum { N = 4096 };
    static uint64_t v[N];
    uint64_t want = 0;
    for (int i = 0; i < N; i++) want += (v[i] = (uint64_t)i * 2654435761u);
    for (int path = 0; path < TLM_SIMD_COUNT; path++) {
        if (!tlm_simd_supported((tlm_simd)path)) continue;
        ASSERT_EQ(tlm_ops_kernels_get((tlm_simd)path)->read_sum(v, N), want);
    }
}

/* Attention's score kernel: within 1e-5 of the double-precision dot
 * product times the scale on every path, and a score's bits independent of
 * the call it is in (how many queries, how many keys, where in a tile). */
TEST(scores_t_matches_and_independent) {
    enum { HD = 72, LD = 64, NQ = 7 };
    static float q[NQ * HD], kt[HD * LD], s[NQ * LD], s1[LD];
    for (int i = 0; i < NQ * HD; i++) q[i] = srand1(2.0f);
    for (int i = 0; i < HD * LD; i++) kt[i] = srand1(2.0f);
    const float scale = 0.125f;
    for (int path = 0; path < TLM_SIMD_COUNT; path++) {
        if (!tlm_simd_supported((tlm_simd)path)) continue;
        const tlm_ops_kernels *k = tlm_ops_kernels_get((tlm_simd)path);
        k->scores_t(s, LD, q, HD, NQ, kt, LD, LD, HD, scale);
        for (int i = 0; i < NQ; i++)
            for (int c = 0; c < LD; c++) {
                double want = 0, mag = 0;
                for (int d = 0; d < HD; d++) {
                    want += (double)q[i * HD + d] * kt[d * LD + c];
                    mag += fabs((double)q[i * HD + d] * kt[d * LD + c]);
                }
                ASSERT_MSG(fabs(s[i * LD + c] - want * scale) <= 1e-5 * mag * scale + 1e-30,
                           "%s q %d key %d: %g vs %g", tlm_simd_name((tlm_simd)path), i, c,
                           s[i * LD + c], want * scale);
            }
        for (int i = 0; i < NQ; i++)
            for (int m = 1; m <= LD; m += 13) {
                for (int c = 0; c < LD; c++) s1[c] = -1.0f;
                k->scores_t(s1, LD, q + i * HD, HD, 1, kt, LD, m, HD, scale);
                ASSERT_MSG(!memcmp(s1, s + i * LD, sizeof(float) * (size_t)m),
                           "%s q %d m %d: a score depends on its call",
                           tlm_simd_name((tlm_simd)path), i, m);
                ASSERT_MSG(m == LD || s1[m] == -1.0f, "%s wrote past m",
                           tlm_simd_name((tlm_simd)path));
            }
    }
}

/* tlm_max is the plain sequential maximum with NaNs skipped, -inf for an
 * empty or all-NaN row, at every length around its 16-wide steps. */
TEST(max_skips_nan) {
    static float x[64];
    for (int n = 0; n <= 64; n++) {
        for (int i = 0; i < n; i++) x[i] = i % 7 == 3 ? NAN : srand1(100.0f);
        float want = -INFINITY;
        for (int i = 0; i < n; i++) want = x[i] > want ? x[i] : want;
        ASSERT_MSG(tlm_max(x, n) == want, "n %d: %g vs %g", n, tlm_max(x, n), want);
    }
    x[0] = NAN;
    ASSERT_EQ(tlm_max(x, 1), -INFINITY);
}

/* axpy_rows is m calls of axpy, bit for bit, on every path. */
TEST(axpy_rows_is_repeated_axpy) {
    enum { M = 37 };
    static const int dims[] = {64, 72, 256, 5};
    static float v[M * 256], p[M], o1[256], o2[256];
    for (int i = 0; i < M * 256; i++) v[i] = srand1(1.0f);
    for (int i = 0; i < M; i++) p[i] = srand1(1.0f);
    for (int path = 0; path < TLM_SIMD_COUNT; path++) {
        if (!tlm_simd_supported((tlm_simd)path)) continue;
        const tlm_ops_kernels *k = tlm_ops_kernels_get((tlm_simd)path);
        for (size_t di = 0; di < TLM_ARRAY_LEN(dims); di++) {
            int hd = dims[di];
            for (int d = 0; d < 256; d++) o1[d] = o2[d] = srand1(1.0f);
            k->axpy_rows(o1, p, v, M, hd);
            for (int c = 0; c < M; c++) k->axpy(o2, p[c], v + c * hd, hd);
            ASSERT_MSG(!memcmp(o1, o2, sizeof o1), "%s head size %d",
                       tlm_simd_name((tlm_simd)path), hd);
        }
    }
}

static void teardown(void) {
    tlm_pool_free(pools[1]);
    tlm_pool_free(pools[2]);
}

TEST(zz_teardown) { teardown(); }

TEST_MAIN(TEST_ENTRY(expf_within_2ulp), TEST_ENTRY(activations_match_formulas),
          TEST_ENTRY(softmax_large_values), TEST_ENTRY(elementwise),
          TEST_ENTRY(rms_norm_matches_formula), TEST_ENTRY(rope_both_layouts),
          TEST_ENTRY(attention_matches_naive), TEST_ENTRY(attention_rejects_bad_params),
          TEST_ENTRY(ops_thread_counts_bitwise), TEST_ENTRY(read_sum_all_words),
          TEST_ENTRY(scores_t_matches_and_independent), TEST_ENTRY(axpy_rows_is_repeated_axpy),
          TEST_ENTRY(max_skips_nan),
          TEST_ENTRY(zz_teardown))
