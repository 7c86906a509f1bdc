/*
 * test_pack.c - weights packed at load (model/pack.c) change speed, never
 * results: a model loaded with repack on gives, bit for bit, the logits of
 * the same file multiplied straight from the mapping, for a batch (the
 * many-token products unpack X16) and token by token (the X16 one-token
 * kernels), with tied embeddings read back from the packed output matrix.
 * Where this CPU's kernels have no X16 path nothing is packed and the
 * test checks that too.
 */
#include "engine_fixture.h"
#include "model/model.h"

#define N_TOK 12

static tlm_model *load(const char *path, int repack) {
    tlm_model_params p = tlm_model_default_params();
    p.repack = repack;
    tlm_model *m = NULL;
    tlm_error err = {0};
    if (tlm_model_load(path, &p, &m, &err) != TLM_OK) fprintf(stderr, "  load: %s\n", err.msg);
    return m;
}

/* Logits of all N_TOK positions as one batch, then of the last N_TOK / 2
 * positions decoded one at a time after the first half. */
static bool logits(tlm_model *m, const int32_t *seq, float *batch, float *steps) {
    int32_t V = tlm_model_n_vocab(m);
    tlm_ctx *c = fx_ctx(m, 64, 1, 2), *d = fx_ctx(m, 64, 1, 2);
    bool ok = c && d && fx_decode(c, seq, N_TOK, 0, 0, true) == TLM_OK &&
              fx_decode(d, seq, N_TOK / 2, 0, 0, false) == TLM_OK;
    for (int32_t t = 0; ok && t < N_TOK; t++)
        memcpy(batch + (size_t)t * V, tlm_ctx_logits(c, t), sizeof(float) * (size_t)V);
    for (int32_t t = N_TOK / 2; ok && t < N_TOK; t++) {
        memcpy(steps + (size_t)(t - N_TOK / 2) * V, tlm_ctx_logits(d, -1), sizeof(float) * (size_t)V);
        ok = fx_decode(d, &seq[t], 1, t, 0, false) == TLM_OK;
    }
    tlm_ctx_free(c);
    tlm_ctx_free(d);
    return ok;
}

static void check(test_state *ts_, const char *preset, tlm_type type, bool untied) {
    const char *path = fx_model(preset, type, 0, untied);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *packed = load(path, 1), *mapped = load(path, 0);
    ASSERT(packed && mapped);
    bool pays = tlm_matmul_x16_pays(type, packed->layers[0].gate.rows, packed->layers[0].gate.cols);
    ASSERT_EQ(packed->packed != NULL, pays);
    ASSERT(mapped->packed == NULL);
    if (pays) {
        ASSERT_EQ(packed->layers[0].gate.layout, TLM_MM_X16);
        ASSERT_EQ(packed->output.layout, TLM_MM_X16);
        ASSERT_EQ(packed->tok_embd.layout, untied ? TLM_MM_GGUF : TLM_MM_X16);
    }
    tlm_ctx *pc = fx_ctx(packed, 64, 1, 1), *mc = fx_ctx(mapped, 64, 1, 1);
    tlm_mem_stats ps, ms;
    tlm_ctx_mem_stats(pc, &ps);
    tlm_ctx_mem_stats(mc, &ms);
    ASSERT_EQ(ps.weights_packed, (uint64_t)packed->packed_size);
    ASSERT_EQ(ps.weights_packed > 0, pays);
    ASSERT_EQ(ms.weights_packed, 0);
    tlm_ctx_free(pc);
    tlm_ctx_free(mc);
    int32_t V = tlm_model_n_vocab(packed), seq[N_TOK];
    fx_prompt(seq, N_TOK, 7, 20000);
    size_t n = (size_t)N_TOK * (size_t)V;
    float *a = malloc(sizeof(float) * n * 2), *b = malloc(sizeof(float) * n * 2);
    ASSERT(logits(packed, seq, a, a + n) && logits(mapped, seq, b, b + n));
    ASSERT_MSG(!memcmp(a, b, sizeof(float) * n), "%s %s: batch logits differ when packed", preset,
               tlm_type_info(type)->name);
    ASSERT_MSG(!memcmp(a + n, b + n, sizeof(float) * (size_t)(N_TOK / 2) * (size_t)V),
               "%s %s: one-token logits differ when packed", preset, tlm_type_info(type)->name);
    free(a), free(b);
    tlm_model_free(packed);
    tlm_model_free(mapped);
}

TEST(qwen2_q8_0_tied) { check(ts_, "qwen2-tiny", TLM_TYPE_Q8_0, false); }
TEST(qwen2_q4_0_untied) { check(ts_, "qwen2-tiny", TLM_TYPE_Q4_0, true); }
TEST(gemma_q5_0_tied) { FX_FULL_ONLY(); check(ts_, "gemma-tiny", TLM_TYPE_Q5_0, false); }
TEST(llama_q8_0_untied) { FX_FULL_ONLY(); check(ts_, "llama-tiny", TLM_TYPE_Q8_0, true); }

TEST_MAIN(TEST_ENTRY(qwen2_q8_0_tied), TEST_ENTRY(qwen2_q4_0_untied), TEST_ENTRY(gemma_q5_0_tied),
          TEST_ENTRY(llama_q8_0_untied))
