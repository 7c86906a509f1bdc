/*
 * test_repack.c - the X16 layout: packing is a bijection (unpack gives
 * back the GGUF bytes of random blocks, every bit pattern of the side
 * fields included), and a product from X16 weights has exactly the bits of
 * the same product from the GGUF bytes, for one token (the X16 kernels)
 * and many (unpacked group by group), on every path, for 1, 2 and 3
 * threads, and through tlm_matmul_multi beside GGUF ops.
 */
#include "core/threads.h"
#include "core/util.h"
#include "tensor/matmul.h"
#include "tensor/matmul_kernels.h"
#include "tensor/quant.h"
#include "tensor/repack.h"
#include "tensor/simd.h"
#include "test.h"

static const tlm_type x16_types[] = {TLM_TYPE_Q8_0, TLM_TYPE_Q4_0, TLM_TYPE_Q5_0, TLM_TYPE_Q4_K,
                                     TLM_TYPE_Q6_K};

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t next32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float frand(void) { return (float)((int)(next32() % 20001) - 10000) / 7000.0f; }

/* A rows x cols matrix quantized from random floats. */
static uint8_t *quantized(tlm_type t, int64_t rows, int64_t cols) {
    size_t rs = tlm_type_row_size(t, (uint64_t)cols);
    uint8_t *w = malloc(rs * (size_t)rows);
    float *row = malloc(sizeof(float) * (size_t)cols);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t k = 0; k < cols; k++) row[k] = frand();
        tlm_quantize_row(t, row, w + (size_t)r * rs, cols);
    }
    free(row);
    return w;
}

static uint8_t *packed(tlm_type t, const uint8_t *w, int64_t rows, int64_t cols) {
    uint8_t *x = malloc(tlm_x16_row_size(t, cols) * (size_t)rows);
    tlm_x16_pack(t, w, rows, cols, x);
    return x;
}

/* Arbitrary bytes (not a quantizer's output) survive pack + unpack, and
 * so do quantized rows, group by group. */
TEST(pack_unpack_round_trip) {
    enum { ROWS = 32 };
    for (size_t ic = 0; ic < 2 * TLM_ARRAY_LEN(x16_types); ic++) {
        tlm_type t = x16_types[ic / 2];
        int64_t cols = tlm_type_info(t)->blck * (ic % 2 ? 3 : 2); /* an even and an odd block count */
        size_t rs = tlm_type_row_size(t, (uint64_t)cols);
        uint8_t *w = malloc(rs * ROWS), *back = malloc(rs * TLM_X16_ROWS);
        for (size_t b = 0; b < rs * ROWS; b++) w[b] = (uint8_t)next32();
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                free(w);
                w = quantized(t, ROWS, cols);
            }
            uint8_t *x = packed(t, w, ROWS, cols);
            for (int g = 0; g < ROWS / TLM_X16_ROWS; g++) {
                const uint8_t *grp = x + (size_t)g * TLM_X16_ROWS * tlm_x16_row_size(t, cols);
                tlm_x16_unpack(t, grp, cols, back);
                ASSERT_MSG(!memcmp(back, w + (size_t)g * TLM_X16_ROWS * rs, rs * TLM_X16_ROWS),
                           "%s group %d pass %d differs", tlm_type_info(t)->name, g, pass);
                /* Each path's own packer and unpacker, where it has them. */
                for (int sp = 0; sp < TLM_SIMD_COUNT; sp++) {
                    const tlm_mm_kernels *k = tlm_mm_kernels_get((tlm_simd)sp);
                    if (!tlm_simd_supported((tlm_simd)sp) || !k) continue;
                    const char *path = tlm_simd_name((tlm_simd)sp);
                    if (k->unpack_x16) {
                        memset(back, 0, rs * TLM_X16_ROWS);
                        k->unpack_x16(t, grp, cols, back);
                        ASSERT_MSG(!memcmp(back, w + (size_t)g * TLM_X16_ROWS * rs, rs * TLM_X16_ROWS),
                                   "%s group %d pass %d: the %s unpacker differs",
                                   tlm_type_info(t)->name, g, pass, path);
                    }
                    if (k->pack_x16) {
                        size_t gb = TLM_X16_ROWS * tlm_x16_row_size(t, cols);
                        uint8_t *grp2 = malloc(gb);
                        memset(grp2, 0xa5, gb);
                        k->pack_x16(t, w + (size_t)g * TLM_X16_ROWS * rs, cols, grp2);
                        ASSERT_MSG(!memcmp(grp2, grp, gb), "%s group %d pass %d: the %s packer differs",
                                   tlm_type_info(t)->name, g, pass, path);
                        free(grp2);
                    }
                }
            }
            free(x);
        }
        free(w), free(back);
    }
}

/* X16 products against GGUF products of the same bytes, bit for bit. */
static void check_same(test_state *ts_, tlm_type t, int64_t rows, int64_t cols, int64_t n_tok,
                       tlm_pool *pool) {
    uint8_t *w = quantized(t, rows, cols), *x = packed(t, w, rows, cols);
    float *in = malloc(sizeof(float) * (size_t)(cols * n_tok));
    float *y0 = malloc(sizeof(float) * (size_t)(rows * n_tok)), *y1 = malloc(sizeof(float) * (size_t)(rows * n_tok));
    void *scratch = malloc(tlm_matmul_scratch_size(t, cols, n_tok));
    for (int64_t i = 0; i < cols * n_tok; i++) in[i] = frand();
    ASSERT_OK(tlm_matmul(pool, t, w, rows, cols, in, n_tok, y0, scratch));
    tlm_matmul_op op = {t, x, rows, y1, TLM_MM_X16};
    ASSERT_OK(tlm_matmul_multi(pool, &op, 1, cols, in, n_tok, scratch));
    ASSERT_MSG(!memcmp(y0, y1, sizeof(float) * (size_t)(rows * n_tok)),
               "%s %lldx%lld, %lld tokens, path %s: X16 differs from GGUF", tlm_type_info(t)->name,
               (long long)rows, (long long)cols, (long long)n_tok, tlm_simd_name(tlm_simd_active()));
    free(w), free(x), free(in), free(y0), free(y1), free(scratch);
}

TEST(x16_products_equal_gguf_on_every_path) {
    static const int64_t toks[] = {1, 2, 5, 40};
    tlm_pool *pool;
    ASSERT_OK(tlm_pool_create(2, &pool));
    for (int s = 0; s < TLM_SIMD_COUNT; s++) {
        if (!tlm_simd_supported((tlm_simd)s)) continue;
        ASSERT_OK(tlm_simd_set((tlm_simd)s, NULL));
        for (size_t i = 0; i < TLM_ARRAY_LEN(x16_types); i++) {
            tlm_type t = x16_types[i];
            int64_t cols = tlm_type_info(t)->blck == 256 ? 768 : 896;
            for (size_t k = 0; k < TLM_ARRAY_LEN(toks); k++) check_same(ts_, t, 80, cols, toks[k], pool);
        }
    }
    ASSERT_OK(tlm_simd_set(tlm_simd_best(), NULL));
    tlm_pool_free(pool);
}

/* Large enough for one-token chunks of many groups; 1, 2 and 3 threads. */
TEST(x16_large_and_threads) {
    for (int nth = 1; nth <= 3; nth++) {
        tlm_pool *pool;
        ASSERT_OK(tlm_pool_create(nth, &pool));
        for (size_t i = 0; i < TLM_ARRAY_LEN(x16_types); i++)
            check_same(ts_, x16_types[i], 4096 + 64 + 16, 512, 1, pool);
        tlm_pool_free(pool);
    }
}

/* X16 and GGUF ops share one step of tlm_matmul_multi. */
TEST(x16_in_multi) {
    enum { COLS = 512 };
    tlm_pool *pool;
    ASSERT_OK(tlm_pool_create(2, &pool));
    for (int64_t n_tok = 1; n_tok <= 7; n_tok += 6) {
        uint8_t *wa = quantized(TLM_TYPE_Q8_0, 48, COLS), *wb = quantized(TLM_TYPE_Q4_0, 64, COLS);
        uint8_t *xb = packed(TLM_TYPE_Q4_0, wb, 64, COLS);
        float *in = malloc(sizeof(float) * COLS * (size_t)n_tok);
        for (int64_t i = 0; i < COLS * n_tok; i++) in[i] = frand();
        float ya[48 * 7], yb[64 * 7], ra[48 * 7], rb[64 * 7];
        void *scratch = malloc(tlm_matmul_scratch_size(TLM_TYPE_Q8_0, COLS, n_tok));
        tlm_matmul_op ops[2] = {{TLM_TYPE_Q8_0, wa, 48, ya, TLM_MM_GGUF},
                                {TLM_TYPE_Q4_0, xb, 64, yb, TLM_MM_X16}};
        ASSERT_OK(tlm_matmul_multi(pool, ops, 2, COLS, in, n_tok, scratch));
        ASSERT_OK(tlm_matmul(pool, TLM_TYPE_Q8_0, wa, 48, COLS, in, n_tok, ra, scratch));
        ASSERT_OK(tlm_matmul(pool, TLM_TYPE_Q4_0, wb, 64, COLS, in, n_tok, rb, scratch));
        ASSERT(!memcmp(ya, ra, sizeof(float) * 48 * (size_t)n_tok));
        ASSERT(!memcmp(yb, rb, sizeof(float) * 64 * (size_t)n_tok));
        /* X16 needs whole groups and a type that has the layout. */
        ops[1].rows = 56;
        ASSERT_EQ(tlm_matmul_multi(pool, ops, 2, COLS, in, n_tok, scratch), TLM_ERR_INVALID_ARG);
        ops[1] = (tlm_matmul_op){TLM_TYPE_Q4_1, xb, 64, yb, TLM_MM_X16};
        ASSERT_EQ(tlm_matmul_multi(pool, ops, 2, COLS, in, n_tok, scratch), TLM_ERR_INVALID_ARG);
        free(wa), free(wb), free(xb), free(in), free(scratch);
    }
    tlm_pool_free(pool);
}

TEST_MAIN(TEST_ENTRY(pack_unpack_round_trip), TEST_ENTRY(x16_products_equal_gguf_on_every_path),
          TEST_ENTRY(x16_large_and_threads), TEST_ENTRY(x16_in_multi))
