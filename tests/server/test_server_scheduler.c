/*
 * test_server_scheduler.c - the server's continuous-batching scheduler on a tiny
 * synth model, against tlm_generate (the engine's own one-sequence loop)
 * as the reference: the same seed gives the same text alone, batched with
 * others, queued behind others, and after reusing a cached prefix; the
 * context limit ends a job where tlm_generate ends; cancellation frees the
 * slot at once; a full queue refuses work.
 */
#include "core/util.h"
#include "model/model.h"
#include "model/synth.h"
#include "server/scheduler.h"
#include "test.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static tlm_model *model(void) {
    static tlm_model *m;
    if (m) return m;
    const tlm_synth_preset *p = tlm_synth_find_preset("qwen2-tiny");
    char dir[512], path[600];
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/node_modules/@lenml/tokenizer-%s/models", test_source_dir(),
             p->tokenizer);
    if (stat(dir, &sb) != 0) return NULL;
    snprintf(path, sizeof path, "%s/qwen2-tiny.gguf", test_tmp_dir());
    tlm_synth_params sp = {.preset = p, .tokenizer_dir = dir, .type = TLM_TYPE_F16, .seed = 5};
    tlm_error err = {0};
    if (tlm_synth_write(&sp, path, &err) || tlm_model_load(path, NULL, &m, &err)) {
        fprintf(stderr, "  cannot make the model: %s\n", err.msg);
        return NULL;
    }
    unlink(path);
    return m;
}

#define NEED_MODEL(m)                                                        \
    tlm_model *m = model();                                                  \
    if (!m) SKIP("npm tokenizer packages not installed (run scripts/setup.sh)")

static void make_prompt(tlm_token *t, int32_t n, int32_t salt) {
    for (int32_t i = 0; i < n; i++) t[i] = 1000 + (i * 7919 + salt * 104729) % 50000;
}

/* Sampling with every truncation off, so the text depends on every logit. */
static tlm_sampler_params sampling(uint64_t seed) {
    tlm_sampler_params p = tlm_sampler_default_params();
    p.temperature = 1.5f;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    p.seed = seed;
    return p;
}

/* Bans every end-of-generation token, so lengths are exactly as asked. */
static tlm_logit_bias ban[64];
static int32_t n_ban;
static void ban_eog(const tlm_model *m) {
    n_ban = 0;
    for (tlm_token t = 0; t < tlm_model_n_vocab(m) && n_ban < 64; t++)
        if (tlm_model_is_eog(m, t)) ban[n_ban++] = (tlm_logit_bias){t, -INFINITY};
}

static int collect(void *user, const char *t, size_t n) {
    tlm_buf_append(user, t, n);
    return 0;
}

/* The reference: tlm_generate on a fresh one-sequence context. */
static char *reference(tlm_model *m, const tlm_token *p, int32_t n, uint64_t seed, int32_t max,
                       int32_t n_ctx, int32_t *n_gen) {
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_ctx = n_ctx;
    cp.n_threads = 2;
    tlm_ctx *c = NULL;
    tlm_error err = {0};
    if (tlm_ctx_create(m, &cp, &c, &err)) return NULL;
    tlm_gen_params g = tlm_gen_default_params();
    g.sampling = sampling(seed);
    g.sampling.logit_bias = ban;
    g.sampling.n_logit_bias = n_ban;
    g.max_tokens = max;
    tlm_buf out = {0};
    tlm_gen_stats st;
    tlm_status s = tlm_generate(c, p, n, &g, NULL, collect, &out, &st, &err);
    tlm_ctx_free(c);
    if (s) return NULL;
    *n_gen = st.n_gen;
    tlm_buf_append(&out, "", 1);
    return out.data;
}

static void fill_job(tlm_model *m, tlm_job *j, const tlm_token *p, int32_t n, uint64_t seed,
                     int32_t max, int32_t n_ctx) {
    tlm_sampler_params sp = sampling(seed);
    sp.logit_bias = ban;
    sp.n_logit_bias = n_ban;
    tlm_sampler_create(m, &sp, &j->sampler, NULL);
    for (int32_t i = 0; i < n; i++) tlm_sampler_accept(j->sampler, p[i]);
    tlm_detok_create(tlm_model_vocab(m), false, &j->detok);
    j->prompt = tlm_malloc((size_t)n * sizeof *p);
    memcpy(j->prompt, p, (size_t)n * sizeof *p);
    j->n_prompt = n;
    j->max_tokens = max;
    j->n_ctx = n_ctx;
}

/* Waits (bounded) until every job of t is done; texts into out[]. */
static bool finish(tlm_task *t, tlm_buf *out) {
    bool all = false;
    for (int k = 0; k < 6000 && !all; k++) {
        tlm_task_wait(t, 10);
        all = true;
        for (int32_t i = 0; i < t->n_jobs; i++) all &= tlm_task_take(t, i, &out[i], NULL);
    }
    for (int32_t i = 0; i < t->n_jobs; i++) tlm_buf_append(&out[i], "", 1);
    return all;
}

static tlm_sched *sched(tlm_model *m, int32_t slots, int32_t queue, int32_t n_ctx) {
    tlm_sched_params p = {.n_slots = slots, .n_ctx_slot = n_ctx, .n_queue = queue,
                          .n_threads = 2, .n_batch = 64};
    tlm_sched *s = NULL;
    tlm_error err = {0};
    if (tlm_sched_create(m, &p, &s, &err)) fprintf(stderr, "  sched: %s\n", err.msg);
    return s;
}

TEST(batched_and_queued_jobs_match_tlm_generate) {
    NEED_MODEL(m);
    ban_eog(m);
    enum { N = 6 };
    tlm_token p[N][40];
    char *ref[N];
    int32_t ref_n[N];
    for (int i = 0; i < N; i++) {
        make_prompt(p[i], 10 + 5 * i, i);
        ref[i] = reference(m, p[i], 10 + 5 * i, 100 + i, 12 + i, 256, &ref_n[i]);
        ASSERT(ref[i] != NULL);
    }
    /* Four slots for six jobs: two wait in the queue; prompts are read
     * in chunks of the 64-token batch alongside generating slots. */
    tlm_sched *s = sched(m, 4, 8, 256);
    ASSERT(s != NULL);
    tlm_task *t = tlm_task_create(N, tlm_time_ns());
    for (int i = 0; i < N; i++) fill_job(m, &t->jobs[i], p[i], 10 + 5 * i, 100 + i, 12 + i, 256);
    ASSERT_EQ(tlm_sched_submit(s, t), TLM_SUBMIT_OK);
    tlm_buf out[N] = {{0}};
    ASSERT(finish(t, out));
    for (int i = 0; i < N; i++) {
        ASSERT_STR_EQ(out[i].data, ref[i]);
        ASSERT_EQ(t->jobs[i].n_gen, ref_n[i]);
        ASSERT_EQ(t->jobs[i].finish, TLM_FINISH_LENGTH);
        tlm_buf_free(&out[i]);
        free(ref[i]);
    }
    tlm_sched_stats st;
    tlm_sched_get_stats(s, &st);
    ASSERT_EQ(st.n_active, 0);
    ASSERT_MSG(st.n_step_tokens > st.n_steps, "no step held more than one token");
    tlm_task_free(t);
    tlm_sched_free(s);
}

TEST(prefix_reuse_and_context_limit) {
    NEED_MODEL(m);
    ban_eog(m);
    tlm_token p[60];
    make_prompt(p, 60, 9);
    tlm_sched *s = sched(m, 2, 0, 128);
    ASSERT(s != NULL);
    /* First 30 tokens, then all 60: the second keeps the first's 30. */
    for (int round = 0; round < 2; round++) {
        int32_t n = round ? 60 : 30, ref_n;
        char *ref = reference(m, p, n, 7, 5, 128, &ref_n);
        tlm_task *t = tlm_task_create(1, tlm_time_ns());
        fill_job(m, &t->jobs[0], p, n, 7, 5, 128);
        ASSERT_EQ(tlm_sched_submit(s, t), TLM_SUBMIT_OK);
        tlm_buf out = {0};
        ASSERT(finish(t, &out));
        ASSERT_EQ(t->jobs[0].n_cached, round ? 30 : 0);
        ASSERT_STR_EQ(out.data, ref);
        tlm_buf_free(&out);
        free(ref);
        tlm_task_free(t);
    }
    /* A job limited to a 70-token context ends where tlm_generate ends
     * with a 70-cell context. */
    int32_t ref_n;
    char *ref = reference(m, p, 60, 3, -1, 70, &ref_n);
    tlm_task *t = tlm_task_create(1, tlm_time_ns());
    fill_job(m, &t->jobs[0], p, 60, 3, -1, 70);
    ASSERT_EQ(tlm_sched_submit(s, t), TLM_SUBMIT_OK);
    tlm_buf out = {0};
    ASSERT(finish(t, &out));
    ASSERT_EQ(t->jobs[0].finish, TLM_FINISH_LENGTH);
    ASSERT_EQ(t->jobs[0].n_gen, ref_n);
    ASSERT_STR_EQ(out.data, ref);
    tlm_buf_free(&out);
    free(ref);
    tlm_task_free(t);
    tlm_sched_free(s);
}

TEST(cancel_frees_the_slot_and_a_full_queue_refuses) {
    NEED_MODEL(m);
    ban_eog(m);
    tlm_token p[8];
    make_prompt(p, 8, 1);
    tlm_sched *s = sched(m, 1, 1, 100000);
    ASSERT(s != NULL);
    tlm_task *a = tlm_task_create(1, tlm_time_ns()), *b = tlm_task_create(1, tlm_time_ns());
    tlm_task *c = tlm_task_create(1, tlm_time_ns());
    fill_job(m, &a->jobs[0], p, 8, 1, -1, 100000); /* endless */
    fill_job(m, &b->jobs[0], p, 8, 2, 3, 100000);
    fill_job(m, &c->jobs[0], p, 8, 3, 3, 100000);
    ASSERT_EQ(tlm_sched_submit(s, a), TLM_SUBMIT_OK);
    tlm_buf text = {0};
    for (int i = 0; i < 500 && text.len < 4; i++) {
        tlm_task_wait(a, 10);
        tlm_task_take(a, 0, &text, NULL);
    }
    ASSERT_MSG(text.len >= 4, "the endless job produced no text");
    ASSERT_EQ(tlm_sched_submit(s, b), TLM_SUBMIT_OK); /* waits in the queue */
    ASSERT_EQ(tlm_sched_submit(s, c), TLM_SUBMIT_FULL);
    tlm_sched_stats st;
    tlm_sched_get_stats(s, &st);
    ASSERT_EQ(st.n_active, 1);
    ASSERT_EQ(st.n_queued, 1);
    tlm_task_cancel(a);
    ASSERT_EQ(a->jobs[0].finish, TLM_FINISH_CANCELLED);
    tlm_buf out = {0};
    ASSERT(finish(b, &out));
    ASSERT_EQ(b->jobs[0].n_gen, 3);
    tlm_sched_close(s);
    ASSERT_EQ(tlm_sched_submit(s, c), TLM_SUBMIT_CLOSED);
    tlm_buf_free(&out);
    tlm_buf_free(&text);
    tlm_task_free(a);
    tlm_task_free(b);
    tlm_task_free(c);
    tlm_sched_free(s);
}

TEST_MAIN(TEST_ENTRY(batched_and_queued_jobs_match_tlm_generate),
          TEST_ENTRY(prefix_reuse_and_context_limit),
          TEST_ENTRY(cancel_frees_the_slot_and_a_full_queue_refuses))
