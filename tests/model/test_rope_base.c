/*
 * test_rope_base.c - a wrong RoPE base must show: changing the base moves
 * the logits (mean KL divergence over the positions of a prompt) at least
 * ten times more than quantizing the weights to Q8_0 does.
 *
 * This is what makes the synth models useful for the engine tests at all:
 * if positions hardly mattered, a bug in RoPE (wrong pairs, wrong base, a
 * missing rotation) could hide behind quantization noise.  Proved twice,
 * with the reference forward pass and with the engine, for every
 * architecture (NEOX and interleaved RoPE).
 */
#include "engine_fixture.h"
#include "model/ref_forward.h"

#define N_TOK 48
#define MIN_RATIO 10.0

/* Logits of every position of tok, by the engine or the reference. */
static bool logits_of(const char *path, bool reference, const int32_t *tok, float *out,
                      int32_t *V) {
    if (reference) {
        tlm_gguf *g = NULL;
        ref_model rm;
        if (tlm_gguf_open(path, &g, NULL) || !ref_model_load(g, &rm)) return false;
        *V = rm.n_vocab;
        ref_forward(&rm, tok, N_TOK, out);
        ref_model_free(&rm);
        tlm_gguf_free(g);
        return true;
    }
    tlm_model *m = fx_load(path);
    tlm_ctx *c = m ? fx_ctx(m, 64, 1, 2) : NULL;
    bool ok = c && fx_decode(c, tok, N_TOK, 0, 0, true) == TLM_OK;
    if (ok) {
        *V = tlm_model_n_vocab(m);
        for (int i = 0; i < N_TOK; i++)
            memcpy(out + (size_t)i * *V, tlm_ctx_logits(c, i), sizeof(float) * *V);
    }
    tlm_ctx_free(c);
    tlm_model_free(m);
    return ok;
}

/* Mean KL(p_base || p_other) over positions 1.. (position 0 has no
 * rotation to speak of: every angle is 0). */
static double mean_kl(const float *base, const float *other, int32_t V) {
    double s = 0;
    for (int i = 1; i < N_TOK; i++)
        s += ref_kl(base + (size_t)i * V, other + (size_t)i * V, V);
    return s / (N_TOK - 1);
}

static void check_arch(test_state *ts_, const char *preset, float other_base) {
    const char *base = fx_model(preset, TLM_TYPE_F16, 0, false);
    if (!base) SKIP(FX_SKIP_MSG);
    const char *rope = fx_model(preset, TLM_TYPE_F16, other_base, false);
    const char *q8 = fx_model(preset, TLM_TYPE_Q8_0, 0, false);
    int32_t tok[N_TOK], V = 0;
    fx_prompt(tok, N_TOK, 21, 30000);
    size_t n = (size_t)N_TOK * 256000;
    float *lb = malloc(n * sizeof(float)), *lr = malloc(n * sizeof(float)),
          *lq = malloc(n * sizeof(float));
    for (int reference = 1; reference >= 0; reference--) {
        ASSERT(logits_of(base, reference, tok, lb, &V));
        ASSERT(logits_of(rope, reference, tok, lr, &V));
        ASSERT(logits_of(q8, reference, tok, lq, &V));
        double kl_rope = mean_kl(lb, lr, V), kl_q8 = mean_kl(lb, lq, V);
        fprintf(stderr, "  %s (%s): mean KL, RoPE base -> %g: %.3g; F16 -> Q8_0: %.3g; "
                "ratio %.0f\n",
                preset, reference ? "reference" : "engine", (double)other_base,
                kl_rope, kl_q8, kl_rope / kl_q8);
        ASSERT_MSG(kl_rope >= MIN_RATIO * kl_q8, "RoPE base change (KL %.3g) is not 10x the "
                   "Q8_0 rounding (KL %.3g)", kl_rope, kl_q8);
    }
    free(lb);
    free(lr);
    free(lq);
}

TEST(qwen2_rope_base_matters_more_than_q8_0) { check_arch(ts_, "qwen2-tiny", 1e4f); }
/* Gemma scales embeddings by sqrt(n_embd), so in gemma-tiny the residual
 * stream is mostly the token's own embedding and attention moves the logits
 * little: base 1e4 -> 1e6 gives only ~6x the Q8_0 KL, 1e4 -> 10 ~12-19x. */
TEST(gemma_rope_base_matters_more_than_q8_0) {
    FX_FULL_ONLY();
    check_arch(ts_, "gemma-tiny", 10.0f);
}
TEST(llama_rope_base_matters_more_than_q8_0) {
    FX_FULL_ONLY();
    check_arch(ts_, "llama-tiny", 1e6f);
}

TEST_MAIN(TEST_ENTRY(qwen2_rope_base_matters_more_than_q8_0),
          TEST_ENTRY(gemma_rope_base_matters_more_than_q8_0),
          TEST_ENTRY(llama_rope_base_matters_more_than_q8_0))
