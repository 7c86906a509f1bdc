/*
 * bench_kernels.c - `tinylm bench --kernels`: how fast the matrix products
 * run, next to what the memory allows.
 *
 * One-token products read every weight once, so their figure of merit is
 * the weight bytes streamed per second as a share of the read bandwidth of
 * this machine, measured in the same run with the same thread count (a
 * plain read of a 1 GiB buffer).  Many-token products (512 tokens, as in a
 * prompt) are compute-bound and are reported in GFLOP/s (2 per multiply-
 * add).  Weights are random rows quantized with quant.h; a matrix repeats
 * 64 distinct rows, which changes nothing for bandwidth and keeps the setup
 * of the 2048 x 256000 shapes short.
 *
 * Those shapes (295-557 MB for the common types) can sit partly in a large
 * last-level cache (480 MB on the Xeon measured in docs/PERF.md), so the figure
 * mixes cache and memory.  --dram measures one 2048-column matrix of at
 * least DRAM_BYTES per type instead, which no cache holds: every repeat
 * streams from memory.
 */
#include "cli/bench_kernels.h"

#include "cli/bench_bw.h"
#include "core/threads.h"
#include "core/util.h"
#include "model/model.h"
#include "tensor/matmul.h"
#include "tensor/quant.h"
#include "tensor/repack.h"
#include "tensor/simd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int64_t cols, rows; /* GGUF ne[0] x ne[1] */
} shape;

static const shape all_shapes[] = {{896, 896},     {896, 4864},    {4864, 896},
                                   {896, 151936},  {2048, 16384},  {2048, 256000}};
static const shape quick_shapes[] = {{896, 4864}, {896, 151936}, {2048, 16384}};

static const char *const default_types = "q8_0,q4_0,q5_0,q4_K,q6_K,f16,q4_1,q5_1,q2_K,q3_K,q5_K,bf16,f32";
static const char *const quick_types = "q8_0,q4_0,q5_0,q4_K,q6_K,f16";

#define GEMM_TOKENS 512
#define DRAM_BYTES ((size_t)3 << 29) /* 1.5 GiB */
#define DISTINCT_ROWS 64

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v and returns its median (v[0] is then the best). */
static uint64_t median(uint64_t *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return v[n / 2];
}

/* Buffers for weights, activations and the bandwidth probe come from
 * tlm_alloc_pages (2 MiB pages where the kernel allows it), as a model's and
 * a context's do: with 4 KiB pages, TLB misses cost the one-token products
 * 20-25% and the 512-token products' output stores 15-24% on a virtual
 * machine (nested page walks), which is a property of where the buffers
 * lie, not of the kernels. */

/* ---- One type and shape ---- */

typedef struct result {
    double gbs, best_gbs, ms, gflops;
    bool x16;
} result;

/* Byte holding the low mantissa bits of each block's scale (of one value
 * per 32 bytes for float types), which a row can change harmlessly. */
static size_t scale_byte(tlm_type t) {
    switch (t) {
    case TLM_TYPE_Q2_K: return 80;
    case TLM_TYPE_Q3_K: return 108;
    case TLM_TYPE_Q6_K: return 208;
    default: return 0;
    }
}

/* Rows are copies of DISTINCT_ROWS quantized random rows, each made unique
 * by flipping low scale bits per block: identical pages could be merged by
 * the OS or hypervisor and then read from cache, not memory. */
static size_t gguf_bytes(tlm_type type, shape s) {
    return tlm_type_row_size(type, (uint64_t)s.cols) * (size_t)s.rows;
}

/* GGUF-layout weights of the shape (gguf_bytes, tlm_alloc_pages). */
static void *make_weights(tlm_type type, shape s) {
    size_t rs = tlm_type_row_size(type, (uint64_t)s.cols);
    uint8_t *w = tlm_alloc_pages(gguf_bytes(type, s));
    float *row = malloc(sizeof(float) * (size_t)s.cols);
    if (!w || !row) {
        tlm_free_pages(w, gguf_bytes(type, s)), free(row);
        return NULL;
    }
    for (int64_t r = 0; r < TLM_MIN(DISTINCT_ROWS, s.rows); r++) {
        for (int64_t k = 0; k < s.cols; k++) row[k] = frand();
        tlm_quantize_row(type, row, w + (size_t)r * rs, s.cols);
    }
    const tlm_type_traits *tt = tlm_type_info((uint32_t)type);
    size_t bs = tt->blck == 1 ? 32 : tt->size, sb = scale_byte(type);
    for (int64_t r = DISTINCT_ROWS; r < s.rows; r++) {
        uint8_t *dst = w + (size_t)r * rs;
        memcpy(dst, w + (size_t)(r % DISTINCT_ROWS) * rs, rs);
        for (size_t b = 0; b + bs <= rs; b += bs)
            dst[b + sb] ^= (uint8_t)(((uint64_t)r * 2654435761u + b) >> 13 & 15);
    }
    free(row);
    return w;
}

/* Packs w into the X16 layout where a model loaded with the default
 * parameters would (tlm_model_repack_enabled, tlm_matmul_x16_pays), so the
 * figures are those of the weights a model multiplies; returns the weights
 * to use (w itself, or the packed copy with w freed) and sets *layout. */
static void *engine_layout(tlm_type type, shape s, void *w, tlm_mm_layout *layout) {
    tlm_model_params mp = tlm_model_default_params();
    *layout = TLM_MM_GGUF;
    if (!w || !tlm_model_repack_enabled(&mp) || !tlm_matmul_x16_pays(type, s.rows, s.cols))
        return w;
    void *x = tlm_alloc_pages(tlm_x16_row_size(type, s.cols) * (size_t)s.rows);
    if (!x) return w;
    tlm_matmul_x16_pack(type, w, s.rows, s.cols, x);
    tlm_free_pages(w, gguf_bytes(type, s));
    *layout = TLM_MM_X16;
    return x;
}

static void mm(tlm_pool *pool, tlm_type type, tlm_mm_layout layout, const void *w, int64_t rows,
               int64_t cols, const float *x, int64_t n_tok, float *y, void *scratch) {
    tlm_matmul_op op = {type, w, rows, y, layout};
    tlm_matmul_multi(pool, &op, 1, cols, x, n_tok, scratch);
}

static bool bench_one(tlm_pool *pool, tlm_type type, shape s, bool quick, result *res) {
    int64_t gemm_rows = TLM_MIN(s.rows, quick ? 2048 : 4096);
    tlm_mm_layout lay;
    void *w = engine_layout(type, s, make_weights(type, s), &lay);
    size_t wbytes = lay == TLM_MM_X16 ? tlm_x16_row_size(type, s.cols) * (size_t)s.rows
                                      : gguf_bytes(type, s);
    size_t xbytes = sizeof(float) * (size_t)(s.cols * GEMM_TOKENS),
           ybytes = sizeof(float) * (size_t)(s.rows * 2 + gemm_rows * GEMM_TOKENS),
           sbytes = tlm_matmul_scratch_size(type, s.cols, GEMM_TOKENS) + 1;
    float *x = tlm_alloc_pages(xbytes), *y = tlm_alloc_pages(ybytes);
    void *scratch = tlm_alloc_pages(sbytes);
    bool ok = w && x && y && scratch;
    if (ok) {
        for (int64_t i = 0; i < s.cols * GEMM_TOKENS; i++) x[i] = frand();
        res->x16 = lay == TLM_MM_X16;
        uint64_t t[64], spent = 0;
        int n = 0, min_reps = quick ? 3 : 5;
        mm(pool, type, lay, w, s.rows, s.cols, x, 1, y, scratch); /* warm up */
        while (n < 64 && (n < min_reps || spent < 300000000ull)) {
            uint64_t t0 = tlm_time_ns();
            mm(pool, type, lay, w, s.rows, s.cols, x, 1, y, scratch);
            t[n] = tlm_time_ns() - t0;
            spent += t[n++];
        }
        uint64_t tm = median(t, n);
        res->gbs = (double)wbytes / (double)tm;
        res->best_gbs = (double)wbytes / (double)t[0];
        res->ms = (double)tm / 1e6;
        n = quick ? 1 : 3;
        for (int r = 0; r < n; r++) {
            uint64_t t0 = tlm_time_ns();
            mm(pool, type, lay, w, gemm_rows, s.cols, x, GEMM_TOKENS, y, scratch);
            t[r] = tlm_time_ns() - t0;
        }
        res->gflops = 2.0 * (double)gemm_rows * (double)s.cols * GEMM_TOKENS / (double)median(t, n);
    }
    tlm_free_pages(w, wbytes), tlm_free_pages(x, xbytes), tlm_free_pages(y, ybytes);
    tlm_free_pages(scratch, sbytes);
    return ok;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm bench --kernels [-t THREADS] [--types LIST]\n"
            "                              [--quick | --dram [--cols N]]\n\n"
            "Measures one-token products (GB/s of weights, %% of the read bandwidth measured\n"
            "in the same run) and %d-token products (GFLOP/s) for each weight type and\n"
            "shape (cols x rows).  TLM_SIMD=scalar|avx2|avx512|neon forces a kernel path.\n\n"
            "  -t N         threads (default 2)\n"
            "  --types L    comma-separated types (default: %s)\n"
            "  --quick      fewer shapes, types and repeats\n"
            "  --dram       one 2048-column matrix of >= 1.5 GiB per type instead of the\n"
            "               shapes: larger than any cache, so it streams from memory\n"
            "               (default types then: %s)\n"
            "  --cols N     with --dram: N columns instead of 2048 (a model's width)\n\n"
            "examples: tinylm bench --kernels -t 2 --types q8_0,q4_0\n"
            "          tinylm bench --kernels --dram --cols 896 --types q4_0,f16\n",
            GEMM_TOKENS, default_types, quick_types);
}

/* Parses "q8_0,q4_K" into types; false on an unknown or unsupported name. */
static bool parse_types(const char *list, tlm_type *out, int *n) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tlm_type t;
        if (!tlm_type_from_name(tok, &t) || tlm_matmul_check(t, 4096, NULL) != TLM_OK || *n >= 32) {
            fprintf(stderr, "tinylm bench: unknown or unsupported weight type '%s'\n", tok);
            return false;
        }
        out[(*n)++] = t;
    }
    return *n > 0;
}

/* --dram's shape for a type: cols columns (2048 unless --cols), rows (a
 * multiple of 16, as the X16 layout wants) for at least DRAM_BYTES. */
static shape dram_shape(tlm_type type, int64_t cols) {
    size_t rs = tlm_type_row_size(type, (uint64_t)cols);
    return (shape){cols, (int64_t)((DRAM_BYTES / rs + 15) / 16 * 16)};
}

/* The read bandwidth is measured again right before each row: on a shared
 * machine it can change by 2x within a minute, and the % column should
 * compare figures taken under the same conditions. */
static void run_table(tlm_pool *pool, const tlm_bw_span *bw_buf, const tlm_type *types,
                      int n_types, bool quick, int64_t dram_cols) {
    bool dram = dram_cols > 0;
    const shape *shapes = quick ? quick_shapes : all_shapes;
    int n_shapes = quick ? (int)TLM_ARRAY_LEN(quick_shapes) : (int)TLM_ARRAY_LEN(all_shapes);
    if (dram) n_shapes = 1;
    printf("%-5s %15s %9s %9s %10s %8s %8s %9s %14s %6s\n", "type", "cols x rows", "MB", "1-tok ms",
           "1-tok GB/s", "read bw", "% of bw", "best GB/s", "512-tok GFLOP/s", "layout");
    for (int ti = 0; ti < n_types; ti++) {
        for (int si = 0; si < n_shapes; si++) {
            shape s = dram ? dram_shape(types[ti], dram_cols) : shapes[si];
            char dims[32];
            snprintf(dims, sizeof dims, "%lldx%lld", (long long)s.cols, (long long)s.rows);
            const char *name = tlm_type_info(types[ti])->name;
            if (tlm_matmul_check(types[ti], s.cols, NULL) != TLM_OK) {
                printf("%-5s %15s %9s   (cols not a multiple of the block)\n", name, dims, "-");
                continue;
            }
            double bw = tlm_bw_read(pool, bw_buf, 1, 3, NULL);
            result r;
            if (!bench_one(pool, types[ti], s, quick, &r)) {
                printf("%-5s %15s %9s   (out of memory)\n", name, dims, "-");
                continue;
            }
            printf("%-5s %15s %9.1f %9.3f %10.1f %8.1f %7.0f%% %9.1f %14.1f %6s\n", name, dims,
                   r.gbs * r.ms, r.ms, r.gbs, bw, 100.0 * r.gbs / bw, r.best_gbs, r.gflops,
                   r.x16 ? "x16" : "gguf");
            fflush(stdout);
        }
    }
}

int tlm_cli_bench_kernels(int argc, char **argv) {
    int threads = 2;
    bool quick = false, dram = false;
    long cols = 2048;
    const char *types_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kernels")) continue;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--types") && i + 1 < argc) {
            types_arg = argv[++i];
        } else if (!strcmp(argv[i], "--quick")) {
            quick = true;
        } else if (!strcmp(argv[i], "--dram")) {
            dram = true;
        } else if (!strcmp(argv[i], "--cols") && i + 1 < argc) {
            cols = strtol(argv[++i], NULL, 10);
            if (cols < 32 || cols > 65536) {
                fprintf(stderr, "tinylm bench --kernels: --cols wants 32 to 65536\n");
                return 2;
            }
        } else {
            fprintf(stderr, "tinylm bench --kernels: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    tlm_type types[32];
    int n_types;
    if (!parse_types(types_arg ? types_arg : quick || dram ? quick_types : default_types, types,
                     &n_types))
        return 2;
    tlm_error err;
    if (tlm_simd_init(&err) != TLM_OK) {
        fprintf(stderr, "tinylm bench: %s\n", err.msg);
        return 1;
    }
    tlm_pool *pool;
    if (tlm_pool_create(threads, &pool) != TLM_OK) {
        fprintf(stderr, "tinylm bench: cannot start %d threads\n", threads);
        return 1;
    }
    tlm_bw_span bw_buf = {tlm_bw_buffer_new(), TLM_BW_BUFFER_BYTES};
    if (!bw_buf.p) {
        fprintf(stderr, "tinylm bench: cannot allocate the 1 GiB bandwidth buffer\n");
        tlm_pool_free(pool);
        return 1;
    }
    const bool amx = tlm_simd_active() == TLM_SIMD_AVX512 && tlm_simd_amx();
    printf("tinylm bench --kernels: simd %s%s, %d thread%s; weights in 2 MiB pages where possible\n"
           "read bw: plain reads of a 1 GiB buffer (4 streams per thread) with the same\n"
           "threads, measured just before each row\n\n",
           tlm_simd_name(tlm_simd_active()),
           amx ? " + amx (512-token products; TLM_AMX=0: off)" : "",
           threads, threads == 1 ? "" : "s");
    run_table(pool, &bw_buf, types, n_types, quick, dram ? cols : 0);
    printf("\n1-tok GB/s and %% of bw are medians; matrices that fit in the caches (the small\n"
           "shapes) can exceed 100%%.  best: the fastest repeat, useful on a busy machine.\n"
           "%d-token GFLOP/s on up to %d rows.\n",
           GEMM_TOKENS, quick ? 2048 : 4096);
    tlm_free_pages((void *)bw_buf.p, TLM_BW_BUFFER_BYTES);
    tlm_pool_free(pool);
    return 0;
}
