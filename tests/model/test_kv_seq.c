/*
 * test_kv_seq.c - the KV cache and determinism: two or three sequences in
 * one batch give the same bits as each alone, shared prefixes (seq_cp) and
 * truncation (seq_rm) give the same bits as recomputing, any thread count
 * gives the same bits, a full cache refuses a batch without changing
 * anything, and the Q8_0 cache stays close to the F16 one.
 */
#include "engine_fixture.h"


/* Greedy decoding of n_seq sequences side by side, one token each per
 * batch, after prefilling each prompt.  mixed_prefill puts all prompts in
 * one batch.  Writes every step's logits to out[(step * n_seq + s) * V]. */
typedef struct multi_run {
    int32_t n_seq;
    const int32_t *prompt[4];
    int32_t n_prompt[4];
    int32_t n_steps;
    bool mixed_prefill;
    int32_t n_threads;
} multi_run;

static bool run_multi(tlm_model *m, const multi_run *r, float *out) {
    int32_t V = tlm_model_n_vocab(m), tok[256], pos[256], seq[256], next[4];
    int8_t lg[256];
    tlm_ctx *c = fx_ctx(m, 256, r->n_seq, r->n_threads);
    tlm_error err = {0};
    bool ok = c != NULL;
    for (int32_t s = 0; ok && s < r->n_seq; s++) {
        if (!r->mixed_prefill) ok = fx_decode(c, r->prompt[s], r->n_prompt[s], 0, s, false) == 0;
        if (ok && !r->mixed_prefill) next[s] = fx_argmax(tlm_ctx_logits(c, -1), V);
    }
    if (ok && r->mixed_prefill) {
        int32_t n = 0;
        for (int32_t s = 0; s < r->n_seq; s++)
            for (int32_t i = 0; i < r->n_prompt[s]; i++, n++) {
                tok[n] = r->prompt[s][i], pos[n] = i, seq[n] = s;
                lg[n] = i == r->n_prompt[s] - 1;
            }
        tlm_batch b = {n, tok, pos, seq, lg};
        ok = tlm_ctx_decode(c, &b, &err) == TLM_OK;
        for (int32_t s = 0, i = 0; ok && s < r->n_seq; i += r->n_prompt[s], s++)
            next[s] = fx_argmax(tlm_ctx_logits(c, i + r->n_prompt[s] - 1), V);
    }
    for (int32_t step = 0; ok && step < r->n_steps; step++) {
        for (int32_t s = 0; s < r->n_seq; s++)
            tok[s] = next[s], pos[s] = r->n_prompt[s] + step, seq[s] = s, lg[s] = 1;
        tlm_batch b = {r->n_seq, tok, pos, seq, lg};
        ok = tlm_ctx_decode(c, &b, &err) == TLM_OK;
        for (int32_t s = 0; ok && s < r->n_seq; s++) {
            const float *l = tlm_ctx_logits(c, s);
            memcpy(out + ((size_t)step * r->n_seq + s) * V, l, sizeof(float) * V);
            next[s] = fx_argmax(l, V);
        }
    }
    if (!ok) fprintf(stderr, "  run_multi: %s\n", err.msg);
    tlm_ctx_free(c);
    return ok;
}

/* Sequences decoded together equal each decoded alone, bit for bit. */
static void check_together(test_state *ts_, const char *preset, tlm_type type, int32_t n_seq,
                           bool mixed) {
    /* Qwen as the official files come, with a separate output matrix;
     * Gemma as it always is, tied. */
    const char *path = fx_model(preset, type, 0, strcmp(preset, "gemma-tiny") != 0);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *m = fx_load(path);
    ASSERT(m);
    int32_t V = tlm_model_n_vocab(m), prompts[3][16];
    for (int s = 0; s < 3; s++) fx_prompt(prompts[s], 16, 10 + s, 30000);
    multi_run together = {.n_seq = n_seq, .n_prompt = {11, 7, 13}, .n_steps = 12,
                          .mixed_prefill = mixed, .n_threads = 2};
    for (int s = 0; s < 3; s++) together.prompt[s] = prompts[s];
    float *a = malloc(sizeof(float) * (size_t)V * 12 * n_seq), *b = malloc(sizeof(float) * V * 12);
    bool ok = run_multi(m, &together, a);
    int32_t differ = 0;
    for (int32_t s = 0; ok && s < n_seq; s++) {
        multi_run alone = {.n_seq = 1, .prompt = {prompts[s]}, .n_prompt = {together.n_prompt[s]},
                           .n_steps = 12, .n_threads = 2};
        ok = run_multi(m, &alone, b);
        for (int32_t step = 0; ok && step < 12; step++)
            differ += memcmp(a + ((size_t)step * n_seq + s) * V, b + (size_t)step * V,
                             sizeof(float) * V) != 0;
    }
    free(a);
    free(b);
    tlm_model_free(m);
    ASSERT(ok);
    ASSERT_MSG(differ == 0, "%d of %d steps differ from decoding alone", differ, 12 * n_seq);
}

TEST(two_sequences_in_one_batch_equal_each_alone) {
    check_together(ts_, "qwen2-tiny", TLM_TYPE_Q8_0, 2, false);
    if (ts_->failed || ts_->skipped || FX_SANITIZED) return;
    check_together(ts_, "gemma-tiny", TLM_TYPE_F16, 2, false);
    if (ts_->failed) return;
    check_together(ts_, "llama-tiny", TLM_TYPE_F32, 2, false);
}

/* Three or more one-token rows in a batch take the many-token matrix
 * products, one sequence alone the one-token products: both give the same
 * bits, so what a sequence gets never depends on how many others the
 * server batches with it. */
TEST(three_sequences_in_one_batch_equal_each_alone) {
    check_together(ts_, "qwen2-tiny", TLM_TYPE_Q8_0, 3, false);
    if (ts_->failed || ts_->skipped || FX_SANITIZED) return;
    check_together(ts_, "qwen2-tiny", TLM_TYPE_Q4_0, 3, false);
    if (ts_->failed) return;
    check_together(ts_, "gemma-tiny", TLM_TYPE_F16, 3, true);
    if (ts_->failed) return;
    check_together(ts_, "llama-tiny", TLM_TYPE_F32, 3, false);
}

TEST(mixed_prefill_of_two_sequences_equals_each_alone) {
    check_together(ts_, "llama-tiny", TLM_TYPE_F32, 2, true);
    if (ts_->failed || ts_->skipped || FX_SANITIZED) return;
    check_together(ts_, "qwen2-tiny", TLM_TYPE_Q8_0, 2, true);
}

/* A prompt prefilled in one batch or in pieces: attention jobs group the
 * rows differently (blocks of up to 16 rows of a batch), the matrix
 * products take the same path (many-token products, exact to the same
 * bits for any token count), so every logit must agree bit for bit. */
TEST(prefill_in_pieces_equals_one_batch) {
    static const tlm_type types[] = {TLM_TYPE_Q8_0, TLM_TYPE_F16};
    static const char *const presets[] = {"qwen2-tiny", "gemma-tiny"};
    for (int k = 0; k < 2; k++) {
        const char *path = fx_model(presets[k], types[k], 0, false);
        if (!path) SKIP(FX_SKIP_MSG);
        tlm_model *m = fx_load(path);
        ASSERT(m);
        int32_t V = tlm_model_n_vocab(m), p[100];
        fx_prompt(p, 100, 31, 30000);
        tlm_ctx *one = fx_ctx(m, 128, 1, 2), *pieces = fx_ctx(m, 128, 1, 2);
        ASSERT(one && pieces);
        ASSERT_OK(fx_decode(one, p, 100, 0, 0, true));
        static const int32_t cut[] = {0, 13, 47, 70, 100};
        int differ = 0;
        for (int i = 0; i + 1 < (int)TLM_ARRAY_LEN(cut); i++) {
            ASSERT_OK(fx_decode(pieces, p + cut[i], cut[i + 1] - cut[i], cut[i], 0, true));
            for (int32_t t = cut[i]; t < cut[i + 1]; t++)
                differ += memcmp(tlm_ctx_logits(pieces, t - cut[i]), tlm_ctx_logits(one, t),
                                 sizeof(float) * V) != 0;
        }
        tlm_ctx_free(one);
        tlm_ctx_free(pieces);
        tlm_model_free(m);
        ASSERT_MSG(differ == 0, "%s: %d of 100 rows differ", presets[k], differ);
    }
}

/* Logits of tok[n] decoded alone after prefilling tok[0..n) in a fresh
 * context: the same products, batch by batch, as the shared-prefix run. */
static bool fresh_logits(tlm_model *m, const int32_t *tok, int32_t n, float *out) {
    tlm_ctx *c = fx_ctx(m, 256, 1, 2);
    bool ok = c && fx_decode(c, tok, n, 0, 0, false) == TLM_OK &&
              fx_decode(c, tok + n, 1, n, 0, false) == TLM_OK;
    if (ok) memcpy(out, tlm_ctx_logits(c, -1), sizeof(float) * tlm_model_n_vocab(m));
    tlm_ctx_free(c);
    return ok;
}

TEST(shared_prefix_is_not_copied_and_gives_the_same_bits) {
    const char *path = fx_model("qwen2-tiny", TLM_TYPE_Q8_0, 0, true);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *m = fx_load(path);
    ASSERT(m);
    int32_t V = tlm_model_n_vocab(m), p[24], tok[2] = {600, 700}, pos[2] = {20, 20};
    int32_t seq[2] = {1, 2};
    int8_t lg[2] = {1, 1};
    fx_prompt(p, 20, 99, 30000);
    tlm_ctx *c = fx_ctx(m, 64, 3, 2);
    ASSERT(c);
    ASSERT_OK(fx_decode(c, p, 20, 0, 0, false));
    tlm_kv_seq_cp(c, 0, 1, 0, -1);
    tlm_kv_seq_cp(c, 0, 2, 0, -1);
    ASSERT_EQ(tlm_kv_used_cells(c), 20);
    ASSERT_EQ(tlm_kv_seq_pos_max(c, 2), 19);
    /* Sequence 0 moves on alone; 1 and 2 branch from the shared prompt. */
    ASSERT_OK(fx_decode(c, tok, 1, 20, 0, false));
    tlm_batch b = {2, tok, pos, seq, lg};
    ASSERT_OK(tlm_ctx_decode(c, &b, NULL));
    ASSERT_EQ(tlm_kv_used_cells(c), 23);
    float *want = malloc(sizeof(float) * V);
    int differ = 0;
    for (int s = 0; s < 2; s++) {
        p[20] = tok[s];
        ASSERT(fresh_logits(m, p, 20, want));
        differ += memcmp(tlm_ctx_logits(c, s), want, sizeof(float) * V) != 0;
    }
    /* Removing the prompt from sequence 0 keeps the cells 1 and 2 use. */
    tlm_kv_seq_rm(c, 0, -1, -1);
    ASSERT_EQ(tlm_kv_used_cells(c), 22);
    ASSERT_EQ(tlm_kv_seq_pos_max(c, 0), -1);
    ASSERT_EQ(tlm_kv_seq_pos_max(c, 1), 20);
    free(want);
    tlm_ctx_free(c);
    tlm_model_free(m);
    ASSERT_EQ(differ, 0);
}

TEST(seq_rm_truncates_and_redecoding_gives_the_same_bits) {
    const char *path = fx_model("llama-tiny", TLM_TYPE_Q8_0, 0, true);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *m = fx_load(path);
    ASSERT(m);
    int32_t V = tlm_model_n_vocab(m), p[32];
    fx_prompt(p, 32, 5, 30000);
    tlm_ctx *c = fx_ctx(m, 64, 2, 2);
    ASSERT(c);
    float *first = malloc(sizeof(float) * V);
    ASSERT_OK(fx_decode(c, p, 20, 0, 0, false));
    ASSERT_OK(fx_decode(c, p + 20, 6, 20, 0, false));
    memcpy(first, tlm_ctx_logits(c, -1), sizeof(float) * V);
    tlm_kv_seq_rm(c, 0, 20, -1);
    ASSERT_EQ(tlm_kv_seq_pos_max(c, 0), 19);
    ASSERT_EQ(tlm_kv_used_cells(c), 20);
    /* Another sequence takes the freed cells first, so the redo lands in
     * other cells than the first time: results must not care. */
    ASSERT_OK(fx_decode(c, p, 5, 0, 1, false));
    ASSERT_OK(fx_decode(c, p + 20, 6, 20, 0, false));
    ASSERT(memcmp(first, tlm_ctx_logits(c, -1), sizeof(float) * V) == 0);
    tlm_kv_seq_rm(c, -1, -1, -1);
    ASSERT_EQ(tlm_kv_used_cells(c), 0);
    ASSERT_EQ(tlm_kv_seq_pos_max(c, 0), -1);
    free(first);
    tlm_ctx_free(c);
    tlm_model_free(m);
}

/* Prefill with all logits, then greedy steps; every logit bit must agree
 * between thread counts. */
static void check_threads(test_state *ts_, const char *preset, tlm_type type, bool untied,
                          tlm_kv_type kv) {
    const char *path = fx_model(preset, type, 0, untied);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *m = fx_load(path);
    ASSERT(m);
    int32_t V = tlm_model_n_vocab(m), p[48];
    fx_prompt(p, 40, 3, 30000);
    size_t rows = 40 + 8;
    float *out[3] = {malloc(sizeof(float) * V * rows), malloc(sizeof(float) * V * rows),
                     malloc(sizeof(float) * V * rows)};
    for (int nt = 1; nt <= 3; nt++) {
        tlm_ctx_params cp = tlm_ctx_default_params();
        cp.n_ctx = 128;
        cp.n_threads = nt;
        cp.kv_type = kv;
        tlm_ctx *c = NULL;
        ASSERT_OK(tlm_ctx_create(m, &cp, &c, NULL));
        ASSERT_OK(fx_decode(c, p, 40, 0, 0, true));
        for (int i = 0; i < 40; i++)
            memcpy(out[nt - 1] + (size_t)i * V, tlm_ctx_logits(c, i), sizeof(float) * V);
        for (int i = 40; i < 48; i++) {
            int32_t t = fx_argmax(tlm_ctx_logits(c, -1), V);
            ASSERT_OK(fx_decode(c, &t, 1, i, 0, false));
            memcpy(out[nt - 1] + (size_t)i * V, tlm_ctx_logits(c, -1), sizeof(float) * V);
        }
        tlm_ctx_free(c);
    }
    bool same12 = !memcmp(out[0], out[1], sizeof(float) * V * rows);
    bool same13 = !memcmp(out[0], out[2], sizeof(float) * V * rows);
    for (int i = 0; i < 3; i++) free(out[i]);
    tlm_model_free(m);
    ASSERT_MSG(same12, "%s %s: 1 and 2 threads differ", preset, tlm_type_info(type)->name);
    ASSERT_MSG(same13, "%s %s: 1 and 3 threads differ", preset, tlm_type_info(type)->name);
}

TEST(results_are_bitwise_identical_for_1_2_3_threads) {
    check_threads(ts_, "qwen2-tiny", TLM_TYPE_Q8_0, false, TLM_KV_F16);
    if (ts_->failed || ts_->skipped || FX_SANITIZED) return;
    check_threads(ts_, "gemma-tiny", TLM_TYPE_F16, false, TLM_KV_F16);
    if (ts_->failed) return;
    check_threads(ts_, "qwen2-tiny", TLM_TYPE_Q4_0, true, TLM_KV_Q8_0);
}

TEST(full_cache_refuses_a_batch_and_changes_nothing) {
    const char *path = fx_model("qwen2-tiny", TLM_TYPE_Q8_0, 0, true);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *m = fx_load(path);
    ASSERT(m);
    int32_t V = tlm_model_n_vocab(m), p[16];
    fx_prompt(p, 16, 8, 30000);
    tlm_ctx *c = fx_ctx(m, 16, 1, 2);
    ASSERT(c);
    ASSERT_OK(fx_decode(c, p, 10, 0, 0, false));
    float *before = malloc(sizeof(float) * V);
    memcpy(before, tlm_ctx_logits(c, -1), sizeof(float) * V);
    int32_t pos[8] = {10, 11, 12, 13, 14, 15, 16, 17};
    tlm_batch b = {8, p, pos, NULL, NULL};
    tlm_error err = {0};
    ASSERT_EQ(tlm_ctx_decode(c, &b, &err), TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "KV cache is full");
    ASSERT_EQ(tlm_kv_used_cells(c), 10);
    ASSERT(memcmp(before, tlm_ctx_logits(c, -1), sizeof(float) * V) == 0);
    b.n_tokens = 6;
    ASSERT_OK(tlm_ctx_decode(c, &b, &err));
    ASSERT_EQ(tlm_kv_used_cells(c), 16);
    free(before);
    tlm_ctx_free(c);
    tlm_model_free(m);
}

/* The Q8_0 cache rounds keys and values to 8 bits per block of 32
 * instead of F16's 11: logits stay within 2% (measured ~3e-3). */
TEST(q8_0_cache_stays_close_to_f16) {
    const char *path = fx_model("llama-tiny", TLM_TYPE_F32, 0, false);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *m = fx_load(path);
    ASSERT(m);
    int32_t V = tlm_model_n_vocab(m), p[40];
    fx_prompt(p, 40, 4, 30000);
    float *l[2] = {malloc(sizeof(float) * V * 40), malloc(sizeof(float) * V * 40)};
    for (int k = 0; k < 2; k++) {
        tlm_ctx_params cp = tlm_ctx_default_params();
        cp.n_ctx = 64;
        cp.kv_type = k ? TLM_KV_Q8_0 : TLM_KV_F16;
        tlm_ctx *c = NULL;
        ASSERT_OK(tlm_ctx_create(m, &cp, &c, NULL));
        ASSERT_OK(fx_decode(c, p, 40, 0, 0, true));
        for (int i = 0; i < 40; i++)
            memcpy(l[k] + (size_t)i * V, tlm_ctx_logits(c, i), sizeof(float) * V);
        tlm_ctx_free(c);
    }
    double worst = 0;
    for (int i = 0; i < 40; i++)
        worst = fmax(worst, fx_rel_err(l[1] + (size_t)i * V, l[0] + (size_t)i * V, V));
    fprintf(stderr, "  Q8_0 vs F16 KV cache: max rel err %.3g\n", worst);
    free(l[0]);
    free(l[1]);
    tlm_model_free(m);
    ASSERT(worst > 0 && worst < 2e-2);
}

TEST(memory_stats_count_the_cache_and_the_process) {
    const char *path = fx_model("gemma-tiny", TLM_TYPE_Q8_0, 0, false);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *m = fx_load(path);
    ASSERT(m);
    tlm_ctx_params cp = tlm_ctx_default_params();
    tlm_ctx *c = NULL;
    ASSERT_OK(tlm_ctx_create(m, &cp, &c, NULL));
    ASSERT_EQ(tlm_ctx_n_ctx(c), 4096); /* min(4096, trained 4096) */
    int32_t p[8];
    fx_prompt(p, 8, 1, 1000);
    ASSERT_OK(fx_decode(c, p, 8, 0, 0, false));
    tlm_mem_stats ms;
    tlm_ctx_mem_stats(c, &ms);
    /* 2 layers x 4096 cells x (1 kv head x 64) x 2 bytes, keys and values. */
    ASSERT_EQ(ms.kv_bytes, 2ull * 2 * 4096 * 64 * 2);
    struct stat sb;
    ASSERT(stat(path, &sb) == 0);
    ASSERT_EQ(ms.weights_mapped, (uint64_t)sb.st_size);
    ASSERT(ms.scratch_bytes > 0);
    ASSERT(ms.rss > 0 && ms.rss_peak >= ms.rss);
    tlm_ctx_free(c);
    tlm_model_free(m);
}

TEST_MAIN(TEST_ENTRY(two_sequences_in_one_batch_equal_each_alone),
          TEST_ENTRY(three_sequences_in_one_batch_equal_each_alone),
          TEST_ENTRY(mixed_prefill_of_two_sequences_equals_each_alone),
          TEST_ENTRY(prefill_in_pieces_equals_one_batch),
          TEST_ENTRY(shared_prefix_is_not_copied_and_gives_the_same_bits),
          TEST_ENTRY(seq_rm_truncates_and_redecoding_gives_the_same_bits),
          TEST_ENTRY(results_are_bitwise_identical_for_1_2_3_threads),
          TEST_ENTRY(full_cache_refuses_a_batch_and_changes_nothing),
          TEST_ENTRY(q8_0_cache_stays_close_to_f16),
          TEST_ENTRY(memory_stats_count_the_cache_and_the_process))
