/*
 * test_matmul.c - matrix products: the scalar path against an independent
 * double-precision product of the dequantized operands, every SIMD path
 * against the scalar path within the per-type bounds below, bitwise
 * identity across thread counts, activation quantizers against quant.h,
 * and argument checking.
 */
#include "core/threads.h"
#include "core/util.h"
#include "tensor/matmul.h"
#include "tensor/matmul_kernels.h"
#include "tensor/quant.h"
#include "tensor/simd.h"
#include "test.h"

#include <stdbool.h>

/* Bounds of |y_simd - y_scalar| relative to sum_k |w_k x_k| (the scale of
 * the rounding error of any summation order).  `tol` holds for every path
 * and token count; `avx512_tol` for the AVX-512 products of any token
 * count, where 0 means bit for bit: its quantized kernels, one token or
 * many, follow the reference's integer block sums and float order
 * exactly.  Other products sum in SIMD lanes. */
static const struct {
    tlm_type type;
    double tol, avx512_tol;
} tolerances[] = {
    {TLM_TYPE_F32, 3e-6, 3e-6},  {TLM_TYPE_F16, 3e-6, 3e-6},  {TLM_TYPE_BF16, 3e-6, 3e-6},
    {TLM_TYPE_Q8_0, 2e-6, 0},    {TLM_TYPE_Q4_0, 2e-6, 0},    {TLM_TYPE_Q4_1, 2e-6, 0},
    {TLM_TYPE_Q5_0, 2e-6, 0},    {TLM_TYPE_Q5_1, 2e-6, 0},    {TLM_TYPE_Q2_K, 2e-6, 0},
    {TLM_TYPE_Q3_K, 2e-6, 0},    {TLM_TYPE_Q4_K, 2e-6, 0},    {TLM_TYPE_Q5_K, 2e-6, 0},
    {TLM_TYPE_Q6_K, 2e-6, 0},
};

/* The scalar path against plain double sums of dequantized values, same
 * units.  Q4_1/Q5_1 use the Q8_1 field s = d * sum(q) rounded to f16 (as
 * GGUF defines it), so their minimum term carries a 2^-11 relative error
 * the plain dequantized product does not have. */
static double ref_tol(tlm_type t) {
    return t == TLM_TYPE_Q4_1 || t == TLM_TYPE_Q5_1 ? 1e-3 : 1e-5;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
/* Roughly normal, with an occasional outlier so block scales vary. */
static float grand(void) {
    double s = 0;
    for (int i = 0; i < 4; i++) s += urand() - 0.5;
    float v = (float)(s * 1.7);
    return urand() < 0.01 ? v * 8.0f : v;
}

typedef struct problem {
    tlm_type type;
    int64_t rows, cols, n_tok;
    void *w;
    float *x, *y, *yref;
    void *scratch;
} problem;

static bool problem_init(problem *p, tlm_type type, int64_t rows, int64_t cols, int64_t n_tok) {
    size_t rs = tlm_type_row_size(type, (uint64_t)cols);
    float *row = malloc(sizeof(float) * (size_t)cols);
    *p = (problem){type, rows, cols, n_tok, malloc(rs * (size_t)rows),
                   malloc(sizeof(float) * (size_t)(cols * n_tok)),
                   malloc(sizeof(float) * (size_t)(rows * n_tok)),
                   malloc(sizeof(float) * (size_t)(rows * n_tok)),
                   malloc(tlm_matmul_scratch_size(type, cols, n_tok) + 1)};
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t k = 0; k < cols; k++) row[k] = grand();
        tlm_quantize_row(type, row, (uint8_t *)p->w + (size_t)r * rs, cols);
    }
    for (int64_t i = 0; i < cols * n_tok; i++) p->x[i] = grand();
    free(row);
    return p->w && p->x && p->y && p->yref && p->scratch;
}

static void problem_free(problem *p) {
    free(p->w), free(p->x), free(p->y), free(p->yref), free(p->scratch);
}

static tlm_status run(problem *p, tlm_pool *pool, tlm_simd path, float *out) {
    tlm_status st = tlm_simd_set(path, NULL);
    if (st != TLM_OK) return st;
    return tlm_matmul(pool, p->type, p->w, p->rows, p->cols, p->x, p->n_tok, out, p->scratch);
}

/* sum_k |w_k x_k| for output (t, r), from dequantized operands. */
static void dequant_refs(const problem *p, double *exact, double *mag) {
    const tlm_quant_traits *qt = tlm_quant_info(p->type);
    size_t rs = tlm_type_row_size(p->type, (uint64_t)p->cols);
    float *w = malloc(sizeof(float) * (size_t)p->cols), *x = malloc(sizeof(float) * (size_t)p->cols);
    void *xq = malloc((size_t)p->cols * 2 + 64);
    for (int64_t t = 0; t < p->n_tok; t++) {
        const float *xt = p->x + t * p->cols;
        if (qt->vec_dot_type == TLM_TYPE_F32) {
            memcpy(x, xt, sizeof(float) * (size_t)p->cols);
        } else {
            tlm_quantize_row(qt->vec_dot_type, xt, xq, p->cols);
            tlm_dequantize_row(qt->vec_dot_type, xq, x, p->cols);
        }
        for (int64_t r = 0; r < p->rows; r++) {
            tlm_dequantize_row(p->type, (const uint8_t *)p->w + (size_t)r * rs, w, p->cols);
            double s = 0, m = 0;
            for (int64_t k = 0; k < p->cols; k++) {
                s += (double)w[k] * x[k];
                m += fabs((double)w[k] * x[k]);
            }
            exact[t * p->rows + r] = s;
            mag[t * p->rows + r] = m;
        }
    }
    free(w), free(x), free(xq);
}

static const int64_t shapes[][2] = {{67, 512}, {13, 4864}, {130, 896}, {9, 96}};
static const int64_t toks[] = {1, 3, 17, 64};

static bool shape_ok(tlm_type t, int64_t cols) {
    return tlm_type_row_size(t, (uint64_t)cols) != 0;
}

/* Worst error (in units of mag) of out against ref over all outputs. */
static double worst(const problem *p, const float *out, const double *ref, const double *mag) {
    double e = 0;
    for (int64_t i = 0; i < p->rows * p->n_tok; i++) {
        double d = fabs((double)out[i] - ref[i]) / (mag[i] + 1e-30);
        if (!(d <= e)) e = d; /* NaN counts as worst */
    }
    return e;
}

TEST(scalar_matches_dequantized_double) {
    for (size_t ti = 0; ti < TLM_ARRAY_LEN(tolerances); ti++) {
        tlm_type type = tolerances[ti].type;
        for (size_t si = 0; si < TLM_ARRAY_LEN(shapes); si++) {
            if (!shape_ok(type, shapes[si][1])) continue;
            problem p;
            ASSERT(problem_init(&p, type, shapes[si][0], shapes[si][1], 3));
            double *ex = malloc(sizeof(double) * 3 * (size_t)p.rows), *mag = malloc(sizeof(double) * 3 * (size_t)p.rows);
            dequant_refs(&p, ex, mag);
            ASSERT_OK(run(&p, NULL, TLM_SIMD_SCALAR, p.y));
            double e = worst(&p, p.y, ex, mag);
            free(ex), free(mag);
            problem_free(&p);
            ASSERT_MSG(e <= ref_tol(type), "%s %lldx%lld: scalar vs double error %.3g",
                       tlm_type_info(type)->name, (long long)shapes[si][0], (long long)shapes[si][1], e);
        }
    }
}

static void compare_path(test_state *ts_, tlm_simd path) {
    if (!tlm_simd_supported(path)) SKIP("path not supported on this CPU/build");
    for (size_t ti = 0; ti < TLM_ARRAY_LEN(tolerances); ti++) {
        tlm_type type = tolerances[ti].type;
        for (size_t si = 0; si < TLM_ARRAY_LEN(shapes); si++) {
            if (!shape_ok(type, shapes[si][1])) continue;
            for (size_t ki = 0; ki < TLM_ARRAY_LEN(toks); ki++) {
                problem p;
                ASSERT(problem_init(&p, type, shapes[si][0], shapes[si][1], toks[ki]));
                size_t n = (size_t)(p.rows * p.n_tok);
                double *ref = malloc(sizeof(double) * n), *mag = malloc(sizeof(double) * n);
                ASSERT_OK(run(&p, NULL, TLM_SIMD_SCALAR, p.yref));
                ASSERT_OK(run(&p, NULL, path, p.y));
                double tol = path == TLM_SIMD_AVX512 ? tolerances[ti].avx512_tol
                                                     : tolerances[ti].tol;
                double *ex = malloc(sizeof(double) * n);
                dequant_refs(&p, ex, mag);
                for (size_t i = 0; i < n; i++) ref[i] = p.yref[i];
                double e = worst(&p, p.y, ref, mag);
                bool bitwise = memcmp(p.y, p.yref, sizeof(float) * n) == 0;
                free(ref), free(mag), free(ex);
                problem_free(&p);
                ASSERT_MSG(tol == 0 ? bitwise : e <= tol,
                           "%s %s %lldx%lld n_tok %lld: error %.3g (bound %.3g%s)",
                           tlm_simd_name(path), tlm_type_info(type)->name, (long long)shapes[si][0],
                           (long long)shapes[si][1], (long long)toks[ki], e, tol,
                           tol == 0 ? ", must be bitwise" : "");
            }
        }
    }
    tlm_simd_set(tlm_simd_best(), NULL);
}

TEST(avx512_matches_scalar) { compare_path(ts_, TLM_SIMD_AVX512); }
TEST(avx2_matches_scalar) { compare_path(ts_, TLM_SIMD_AVX2); }
TEST(neon_matches_scalar) { compare_path(ts_, TLM_SIMD_NEON); }

/* The AVX-512 many-token products of 32-block weights take their integer
 * sums from AMX tiles where the CPU has them and from vpdpbusd otherwise;
 * both must give the scalar path's bits.  4192 columns: a 4096-column
 * chunk, then 3 blocks (AMX works 4 blocks at a time). */
TEST(amx_and_vnni_match_scalar) {
    if (!tlm_simd_supported(TLM_SIMD_AVX512)) SKIP("avx512 path not supported on this CPU/build");
    static const tlm_type legacy[] = {TLM_TYPE_Q8_0, TLM_TYPE_Q4_0, TLM_TYPE_Q4_1, TLM_TYPE_Q5_0,
                                      TLM_TYPE_Q5_1};
    static const int64_t ntok[] = {5, 40};
    const bool amx = tlm_cpu_features_get()->amx_int8;
    if (!amx) fprintf(stderr, "  (no AMX here: vpdpbusd products only)\n");
    for (size_t ti = 0; ti < TLM_ARRAY_LEN(legacy); ti++) {
        for (size_t ki = 0; ki < TLM_ARRAY_LEN(ntok); ki++) {
            problem p;
            ASSERT(problem_init(&p, legacy[ti], 24, 4192, ntok[ki]));
            size_t bytes = sizeof(float) * (size_t)(p.rows * p.n_tok);
            ASSERT_OK(run(&p, NULL, TLM_SIMD_SCALAR, p.yref));
            for (int on = 0; on <= (int)amx; on++) {
                ASSERT_EQ(tlm_simd_set_amx(on), (bool)on);
                ASSERT_OK(run(&p, NULL, TLM_SIMD_AVX512, p.y));
                ASSERT_MSG(!memcmp(p.y, p.yref, bytes), "%s n_tok %lld, %s: not the scalar bits",
                           tlm_type_info(p.type)->name, (long long)p.n_tok,
                           on ? "AMX" : "vpdpbusd");
            }
            problem_free(&p);
        }
    }
    tlm_simd_set_amx(true);
    tlm_simd_set(tlm_simd_best(), NULL);
}

/* The same product with 1, 2 and 3 threads, on every path, bit for bit;
 * 300 tokens crosses a token chunk and leaves a 1-token remainder chunk
 * that takes the one-token path. */
TEST(thread_counts_bitwise) {
    tlm_pool *pools[3] = {NULL, NULL, NULL};
    ASSERT_OK(tlm_pool_create(2, &pools[1]));
    ASSERT_OK(tlm_pool_create(3, &pools[2]));
    static const int64_t tk[] = {1, 17, 257};
    for (int path = 0; path < TLM_SIMD_COUNT; path++) {
        if (!tlm_simd_supported((tlm_simd)path)) continue;
        for (size_t ti = 0; ti < TLM_ARRAY_LEN(tolerances); ti++) {
            tlm_type type = tolerances[ti].type;
            int64_t cols = type >= TLM_TYPE_Q2_K && type <= TLM_TYPE_Q6_K ? 512 : 160;
            for (size_t ki = 0; ki < TLM_ARRAY_LEN(tk); ki++) {
                if (path == TLM_SIMD_SCALAR && tk[ki] > 17) continue; /* slow, and no tiling */
                problem p;
                ASSERT(problem_init(&p, type, 197, cols, tk[ki]));
                size_t n = (size_t)(p.rows * p.n_tok);
                float *y1 = malloc(sizeof(float) * n);
                ASSERT_OK(run(&p, pools[0], (tlm_simd)path, y1));
                bool same = true;
                for (int k = 1; k < 3; k++) {
                    ASSERT_OK(run(&p, pools[k], (tlm_simd)path, p.y));
                    same = same && memcmp(y1, p.y, sizeof(float) * n) == 0;
                }
                free(y1);
                problem_free(&p);
                ASSERT_MSG(same, "%s %s n_tok %lld differs between thread counts",
                           tlm_simd_name((tlm_simd)path), tlm_type_info(type)->name, (long long)tk[ki]);
            }
        }
    }
    tlm_simd_set(tlm_simd_best(), NULL);
    tlm_pool_free(pools[1]);
    tlm_pool_free(pools[2]);
}

/* Batching never changes a result: on every path, each token's outputs
 * from a product of n_tok = 2..40 tokens (one-token kernels below
 * TLM_MM_GEMM_MIN, many-token kernels from there on, chunk remainders)
 * equal bit for bit the product of that token alone; so do those of a
 * 300-token product (several token chunks).  Shapes are odd:
 * rows not a multiple of any tile, blocks per row not a multiple of 16,
 * and for float weights (1100 columns) a column count that is neither a
 * multiple of 16 nor of the many-token kernels' column panels. */
TEST(batched_equals_single_bitwise) {
    enum { MAX_TOK = 40, LONG = 300 }; /* LONG: crosses token chunks and parts */
    static const int64_t gshapes[][2] = {{37, 160}, {21, 896}, {19, 768}, {23, 1100}};
    for (int path = 0; path < TLM_SIMD_COUNT; path++) {
        if (!tlm_simd_supported((tlm_simd)path)) continue;
        for (size_t ti = 0; ti < TLM_ARRAY_LEN(tolerances); ti++) {
            tlm_type type = tolerances[ti].type;
            for (size_t si = 0; si < TLM_ARRAY_LEN(gshapes); si++) {
                if (!shape_ok(type, gshapes[si][1])) continue;
                problem p;
                ASSERT(problem_init(&p, type, gshapes[si][0], gshapes[si][1], LONG));
                ASSERT_OK(tlm_simd_set((tlm_simd)path, NULL));
                const int64_t rows = p.rows, cols = p.cols;
                for (int64_t t = 0; t < LONG; t++)
                    ASSERT_OK(tlm_matmul(NULL, type, p.w, rows, cols, p.x + t * cols, 1,
                                         p.yref + t * rows, p.scratch));
                int64_t bad = -1;
                for (int64_t n = 2; n <= LONG && bad < 0; n = n < MAX_TOK ? n + 1 : n + LONG - MAX_TOK) {
                    ASSERT_OK(tlm_matmul(NULL, type, p.w, rows, cols, p.x, n, p.y, p.scratch));
                    if (memcmp(p.y, p.yref, sizeof(float) * (size_t)(rows * n))) bad = n;
                }
                problem_free(&p);
                ASSERT_MSG(bad < 0, "%s %s %lldx%lld: %lld tokens at once differ from one by one",
                           tlm_simd_name((tlm_simd)path), tlm_type_info(type)->name,
                           (long long)gshapes[si][0], (long long)gshapes[si][1], (long long)bad);
            }
        }
    }
    tlm_simd_set(tlm_simd_best(), NULL);
}

/* Every path's activation quantizer gives the reference's bytes: rows of
 * 32 blocks, 28 (Qwen's width: AVX-512 quantizes 16 blocks at a time) and
 * 3; with a zero block, ties, a signed maximum, a NaN and an infinity. */
static void quantizers_exact(test_state *ts_, int N) {
    static const tlm_type acts[] = {TLM_TYPE_Q8_0, TLM_TYPE_Q8_1, TLM_TYPE_Q8_K};
    enum { NMAX = 1024 };
    float x[NMAX];
    for (int i = 0; i < N; i++) x[i] = grand() * (i % 97 == 0 ? 100.0f : 1.0f);
    for (int i = 0; i < 32; i++) x[32 + i] = 0.0f;    /* an all-zero block */
    x[70] = 3.5f, x[71] = -3.5f;                      /* ties and a signed max */
    if (N > 640) x[600] = NAN, x[610] = INFINITY;
    for (int path = 1; path < TLM_SIMD_COUNT; path++) {
        if (!tlm_simd_supported((tlm_simd)path)) continue;
        const tlm_mm_kernels *k = tlm_mm_kernels_get((tlm_simd)path);
        if (!k || !k->quant_act) continue;
        for (size_t a = 0; a < TLM_ARRAY_LEN(acts); a++) {
            tlm_type act = acts[a];
            if (act == TLM_TYPE_Q8_K && N % 256) continue; /* whole 256-blocks only */
            size_t rs = tlm_type_row_size(act, N);
            uint8_t *ref = calloc(1, rs), *got = calloc(1, rs);
            float d[NMAX / 32] = {0}, s[NMAX / 32] = {0}, dr[NMAX / 32] = {0}, sr[NMAX / 32] = {0};
            int32_t sum[NMAX / 32] = {0}, sumr[NMAX / 32] = {0};
            int8_t qx[NMAX] = {0}, qxr[NMAX] = {0};
            tlm_act_side side = {d, sum, s, qx}, sider = {dr, sumr, sr, qxr};
            tlm_mm_quant_act_scalar(act, x, N, ref, &sider);
            k->quant_act(act, x, N, got, &side);
            bool same = memcmp(ref, got, rs) == 0;
            if (act != TLM_TYPE_Q8_K)
                same = same && !memcmp(d, dr, sizeof d) && !memcmp(sum, sumr, sizeof sum) &&
                       !memcmp(s, sr, sizeof s) && !memcmp(qx, qxr, sizeof qx);
            free(ref), free(got);
            ASSERT_MSG(same, "%s quantizer for %s (%d columns) differs from the reference",
                       tlm_simd_name((tlm_simd)path), tlm_type_info(act)->name, N);
        }
    }
}

TEST(activation_quantizers_exact) {
    quantizers_exact(ts_, 1024);
    if (!ts_->failed) quantizers_exact(ts_, 896);
    if (!ts_->failed) quantizers_exact(ts_, 96);
}

/* tlm_matmul_multi gives each op exactly what tlm_matmul gives it, mixed
 * activation types included. */
TEST(multi_matches_single) {
    static const tlm_type types[] = {TLM_TYPE_Q8_0, TLM_TYPE_Q5_0, TLM_TYPE_Q4_K, TLM_TYPE_F16,
                                     TLM_TYPE_Q4_0, TLM_TYPE_Q6_K};
    static const int64_t rows[] = {67, 13, 130, 9, 64, 70};
    enum { NOPS = 6, COLS = 512 };
    tlm_pool *pool;
    ASSERT_OK(tlm_pool_create(2, &pool));
    static const int64_t tk[] = {1, 17};
    for (size_t ki = 0; ki < TLM_ARRAY_LEN(tk); ki++) {
        problem p[NOPS];
        size_t scratch = 0;
        tlm_matmul_op ops[NOPS];
        for (int i = 0; i < NOPS; i++) {
            ASSERT(problem_init(&p[i], types[i], rows[i], COLS, tk[ki]));
            memcpy(p[i].x, p[0].x, sizeof(float) * COLS * (size_t)tk[ki]); /* one shared input */
            size_t sz = tlm_matmul_scratch_size(types[i], COLS, tk[ki]);
            scratch = sz > scratch ? sz : scratch;
            ops[i] = (tlm_matmul_op){types[i], p[i].w, rows[i], p[i].y, TLM_MM_GGUF};
        }
        void *buf = malloc(scratch);
        ASSERT_OK(tlm_matmul_multi(pool, ops, NOPS, COLS, p[0].x, tk[ki], buf));
        for (int i = 0; i < NOPS; i++) {
            ASSERT_OK(tlm_matmul(pool, types[i], p[i].w, rows[i], COLS, p[0].x, tk[ki], p[i].yref, buf));
            ASSERT_MSG(!memcmp(p[i].y, p[i].yref, sizeof(float) * (size_t)(rows[i] * tk[ki])),
                       "op %d (%s) differs from tlm_matmul", i, tlm_type_info(types[i])->name);
        }
        ops[3].rows = 0;
        ASSERT_EQ(tlm_matmul_multi(pool, ops, NOPS, COLS, p[0].x, tk[ki], buf), TLM_ERR_INVALID_ARG);
        free(buf);
        for (int i = 0; i < NOPS; i++) problem_free(&p[i]);
    }
    tlm_pool_free(pool);
}

TEST(rejects_bad_arguments) {
    float x[64] = {0}, y[64];
    uint8_t w[256] = {0}, scratch[8192];
    tlm_error err = {0};
    ASSERT_EQ(tlm_matmul_check(TLM_TYPE_Q4_K, 896, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "256");
    ASSERT_EQ(tlm_matmul_check(TLM_TYPE_Q8_K, 256, &err), TLM_ERR_UNSUPPORTED);
    ASSERT_EQ(tlm_matmul_check(TLM_TYPE_I32, 32, &err), TLM_ERR_UNSUPPORTED);
    ASSERT_EQ(tlm_matmul(NULL, TLM_TYPE_Q8_0, w, 1, 48, x, 1, y, scratch), TLM_ERR_INVALID_ARG);
    ASSERT_EQ(tlm_matmul(NULL, TLM_TYPE_Q8_0, w, 1, 32, x, 1, y, NULL), TLM_ERR_INVALID_ARG);
    ASSERT_EQ(tlm_matmul(NULL, TLM_TYPE_F32, w, 0, 32, x, 1, y, NULL), TLM_ERR_INVALID_ARG);
    ASSERT_EQ(tlm_matmul(NULL, TLM_TYPE_F32, w, 1, 32, x, 1, y, NULL), TLM_OK);
    ASSERT_EQ(tlm_matmul_scratch_size(TLM_TYPE_F16, 64, 8), 0);
    ASSERT(tlm_matmul_scratch_size(TLM_TYPE_Q8_0, 64, 8) > 0);
}

TEST(simd_env_choice) {
    tlm_error err = {0};
    setenv("TLM_SIMD", "bogus", 1);
    ASSERT_EQ(tlm_simd_init(&err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "bogus");
    for (int s = 0; s < TLM_SIMD_COUNT; s++) {
        setenv("TLM_SIMD", tlm_simd_name((tlm_simd)s), 1);
        tlm_status st = tlm_simd_init(&err);
        if (tlm_simd_supported((tlm_simd)s)) {
            ASSERT_OK(st);
            ASSERT_EQ(tlm_simd_active(), s);
        } else {
            ASSERT_EQ(st, TLM_ERR_UNSUPPORTED);
            ASSERT_CONTAINS(err.msg, tlm_simd_name((tlm_simd)s));
        }
    }
    unsetenv("TLM_SIMD");
    ASSERT_OK(tlm_simd_init(&err));
    ASSERT_EQ(tlm_simd_active(), tlm_simd_best());
}

TEST_MAIN(TEST_ENTRY(scalar_matches_dequantized_double), TEST_ENTRY(avx512_matches_scalar),
          TEST_ENTRY(avx2_matches_scalar), TEST_ENTRY(neon_matches_scalar),
          TEST_ENTRY(amx_and_vnni_match_scalar), TEST_ENTRY(thread_counts_bitwise),
          TEST_ENTRY(batched_equals_single_bitwise),
          TEST_ENTRY(activation_quantizers_exact),
          TEST_ENTRY(multi_matches_single), TEST_ENTRY(rejects_bad_arguments),
          TEST_ENTRY(simd_env_choice))
