/*
 * test_model_load.c - loading models: hyperparameters and the traps of
 * real files (padded Gemma embeddings, untied output, linear RoPE
 * scaling), the tokens API, and the errors a broken file or batch gives:
 * each must name what is wrong (the architecture, the tensor with its
 * expected and actual shape, the key, the batch index).
 *
 * Broken files are copies of a synth model with one thing changed, so each
 * test fails for exactly one reason.
 */
#include "engine_fixture.h"
#include "gguf/gguf.h"

/* ---- Copies with one edit ---- */

typedef struct edit {
    const char *drop_tensor;       /* leave this tensor out */
    const char *reshape_tensor;    /* give this tensor ne1 = new_ne1 rows... */
    uint64_t new_ne1;              /* ...(data padded with zeros or cut) */
    void (*kv)(tlm_gguf_writer *w);/* changes to the metadata */
} edit;

static const char *edited_copy(const char *src, const char *name, const edit *e) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", test_tmp_dir(), name);
    tlm_gguf *g = NULL;
    tlm_gguf_writer *w = NULL;
    tlm_error err = {0};
    void *padded = NULL;
    if (tlm_gguf_open(src, &g, &err) || tlm_gguf_writer_create(&w)) goto fail;
    for (uint64_t i = 0; i < tlm_gguf_n_kv(g); i++) {
        const tlm_gguf_kv *kv = tlm_gguf_kv_at(g, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
        if (tlm_gguf_set_value(w, key, &kv->value)) goto fail;
    }
    if (e->kv) e->kv(w);
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(g); i++) {
        const tlm_gguf_tensor *t = tlm_gguf_tensor_at(g, i);
        char tn[128];
        snprintf(tn, sizeof tn, "%.*s", (int)t->name.len, t->name.ptr);
        if (e->drop_tensor && !strcmp(tn, e->drop_tensor)) continue;
        uint64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        uint32_t n_dims = t->n_dims;
        const void *data = t->data;
        if (e->reshape_tensor && !strcmp(tn, e->reshape_tensor)) {
            n_dims = n_dims < 2 ? 2 : n_dims;
            size_t row = tlm_type_row_size(t->type, ne[0]);
            ne[1] = e->new_ne1;
            padded = calloc(ne[1], row);
            memcpy(padded, t->data, row * (ne[1] < t->ne[1] ? ne[1] : t->ne[1]));
            data = padded;
        }
        if (tlm_gguf_add_tensor(w, tn, t->type, n_dims, ne, data, &err)) goto fail;
    }
    if (tlm_gguf_writer_write(w, path, NULL, NULL, &err)) goto fail;
    tlm_gguf_writer_free(w);
    tlm_gguf_free(g);
    free(padded);
    return path;
fail:
    fprintf(stderr, "  edited_copy %s: %s\n", name, err.msg);
    tlm_gguf_writer_free(w);
    tlm_gguf_free(g);
    free(padded);
    return NULL;
}

/* Loads path and expects status st with needle in the message. */
static bool load_fails(const char *path, tlm_status st, const char *needle) {
    tlm_model *m = (tlm_model *)1;
    tlm_error err = {0};
    tlm_status got = tlm_model_load(path, NULL, &m, &err);
    fprintf(stderr, "  %s\n", err.msg);
    if (got == st && m == NULL && strstr(err.msg, needle)) return true;
    fprintf(stderr, "  expected status %d with \"%s\", got %d\n", st, needle, got);
    return false;
}

static void kv_arch_mamba(tlm_gguf_writer *w) {
    tlm_gguf_set_str(w, "general.architecture", "mamba");
}
static void kv_no_arch(tlm_gguf_writer *w) { tlm_gguf_unset(w, "general.architecture"); }
static void kv_no_embd(tlm_gguf_writer *w) { tlm_gguf_unset(w, "qwen2.embedding_length"); }
static void kv_bad_kv_heads(tlm_gguf_writer *w) {
    tlm_gguf_set_u32(w, "qwen2.attention.head_count_kv", 3);
}
static void kv_yarn(tlm_gguf_writer *w) { tlm_gguf_set_str(w, "llama.rope.scaling.type", "yarn"); }
static void kv_linear2(tlm_gguf_writer *w) {
    tlm_gguf_set_str(w, "llama.rope.scaling.type", "linear");
    tlm_gguf_set_f32(w, "llama.rope.scaling.factor", 2.0f);
}
static void kv_float_heads(tlm_gguf_writer *w) {
    tlm_gguf_set_f32(w, "qwen2.attention.head_count", 4.0f);
}

TEST(errors_name_the_architecture_tensor_shape_and_key) {
    const char *src = fx_model("qwen2-tiny", TLM_TYPE_Q8_0, 0, false);
    if (!src) SKIP(FX_SKIP_MSG);
    static const struct {
        const char *name;
        edit e;
        tlm_status st;
        const char *needle;
    } cases[] = {
        {"arch", {.kv = kv_arch_mamba}, TLM_ERR_UNSUPPORTED, "unknown architecture 'mamba'"},
        {"noarch", {.kv = kv_no_arch}, TLM_ERR_FORMAT, "general.architecture is missing"},
        {"missing", {.drop_tensor = "blk.1.ffn_up.weight"}, TLM_ERR_FORMAT,
         "tensor blk.1.ffn_up.weight is missing"},
        {"missing_norm", {.drop_tensor = "output_norm.weight"}, TLM_ERR_FORMAT,
         "tensor output_norm.weight is missing"},
        {"shape", {.reshape_tensor = "blk.0.attn_k.weight", .new_ne1 = 32}, TLM_ERR_FORMAT,
         "tensor blk.0.attn_k.weight has shape [128, 32], expected [128, 64]"},
        {"bias_shape", {.reshape_tensor = "blk.1.attn_q.bias", .new_ne1 = 2}, TLM_ERR_FORMAT,
         "tensor blk.1.attn_q.bias has shape [128, 2], expected [128]"},
        {"vocab", {.reshape_tensor = "token_embd.weight", .new_ne1 = 151000}, TLM_ERR_FORMAT,
         "the token list has 151936 entries but token_embd.weight has only 151000 rows"},
        {"key", {.kv = kv_no_embd}, TLM_ERR_FORMAT,
         "required key qwen2.embedding_length is missing"},
        {"heads", {.kv = kv_bad_kv_heads}, TLM_ERR_FORMAT,
         "head_count_kv = 3 must divide head_count = 4"},
        {"keytype", {.kv = kv_float_heads}, TLM_ERR_TYPE, "qwen2.attention.head_count"},
    };
    for (size_t i = 0; i < TLM_ARRAY_LEN(cases); i++) {
        const char *path = edited_copy(src, cases[i].name, &cases[i].e);
        ASSERT(path);
        ASSERT_MSG(load_fails(path, cases[i].st, cases[i].needle), "case %s", cases[i].name);
    }
    ASSERT(load_fails("/nonexistent/model.gguf", TLM_ERR_IO, "/nonexistent/model.gguf"));
    const char *llama = fx_model("llama-tiny", TLM_TYPE_Q8_0, 0, false);
    edit yarn = {.kv = kv_yarn};
    ASSERT(load_fails(edited_copy(llama, "yarn", &yarn), TLM_ERR_UNSUPPORTED,
                      "RoPE scaling type 'yarn'"));
}

TEST(hyperparameters_and_defaults) {
    static const struct {
        const char *preset;
        const char *arch;
        int32_t n_vocab, n_embd, n_layer;
        int add_bos;
    } cases[] = {
        {"qwen2-tiny", "qwen2", 151936, 128, 2, 0},
        {"gemma-tiny", "gemma", 256000, 128, 2, 1},
        {"llama-tiny", "llama", 256000, 128, 2, 1},
    };
    for (size_t i = 0; i < TLM_ARRAY_LEN(cases); i++) {
        const char *path = fx_model(cases[i].preset, TLM_TYPE_Q8_0, 0, false);
        if (!path) SKIP(FX_SKIP_MSG);
        tlm_model *m = fx_load(path);
        ASSERT(m);
        ASSERT_STR_EQ(tlm_model_arch(m), cases[i].arch);
        ASSERT_STR_EQ(tlm_model_name(m), cases[i].preset);
        ASSERT_EQ(tlm_model_n_vocab(m), cases[i].n_vocab);
        ASSERT_EQ(tlm_model_n_embd(m), cases[i].n_embd);
        ASSERT_EQ(tlm_model_n_layer(m), cases[i].n_layer);
        ASSERT_EQ(tlm_model_n_ctx_train(m), 4096);
        ASSERT_EQ(tlm_model_add_bos(m), cases[i].add_bos);
        ASSERT(tlm_model_is_synth(m));
        ASSERT(tlm_model_size(m) > 0 && tlm_model_size(m) < 200u << 20);
        ASSERT(tlm_model_n_params(m) > (uint64_t)cases[i].n_vocab * 128);
        ASSERT_STR_EQ(tlm_model_path(m), path);
        ASSERT_STR_EQ(tlm_model_meta_str(m, "general.architecture"), cases[i].arch);
        ASSERT(tlm_model_meta_str(m, "general.file_type") == NULL); /* not a string */
        tlm_model_free(m);
    }
    /* Warm-up runs a token through a small context at load. */
    tlm_model_params mp = tlm_model_default_params();
    mp.warmup = 1;
    mp.n_threads = 2;
    tlm_model *m = NULL;
    ASSERT_OK(tlm_model_load(fx_model("gemma-tiny", TLM_TYPE_Q8_0, 0, false), &mp, &m, NULL));
    const char *tmpl = tlm_model_chat_template(m);
    ASSERT(tmpl && strstr(tmpl, "<start_of_turn>")); /* built-in: Gemma files carry none */
    tlm_model_free(m);
}

/* Gemma files from some converters have 256128 embedding rows for 256000
 * tokens: the vocabulary is the embedding's, the tokens the list's. */
TEST(padded_gemma_embeddings_give_the_vocabulary_size) {
    const char *src = fx_model("gemma-tiny", TLM_TYPE_Q8_0, 0, false);
    if (!src) SKIP(FX_SKIP_MSG);
    edit pad = {.reshape_tensor = "token_embd.weight", .new_ne1 = 256128};
    const char *path = edited_copy(src, "gemma-padded", &pad);
    ASSERT(path);
    tlm_model *m = fx_load(path), *orig = fx_load(src);
    ASSERT(m && orig);
    ASSERT_EQ(tlm_model_n_vocab(m), 256128);
    char buf[8];
    ASSERT_EQ(tlm_model_token_to_bytes(m, 256100, buf, sizeof buf), -1);
    tlm_ctx *c = fx_ctx(m, 32, 1, 2), *co = fx_ctx(orig, 32, 1, 2);
    int32_t p[6] = {2, 651, 6037, 576, 573, 2134};
    ASSERT(c && co);
    ASSERT_OK(fx_decode(c, p, 6, 0, 0, false));
    ASSERT_OK(fx_decode(co, p, 6, 0, 0, false));
    /* The real rows are the same; the padding rows are zero. */
    ASSERT(memcmp(tlm_ctx_logits(c, -1), tlm_ctx_logits(co, -1), sizeof(float) * 256000) == 0);
    ASSERT(tlm_ctx_logits(c, -1)[256127] == 0.0f);
    tlm_ctx_free(c);
    tlm_ctx_free(co);
    tlm_model_free(m);
    tlm_model_free(orig);
}

/* Linear scaling by 2 halves every angle, so positions 0, 2, 4, ... of the
 * scaled model see exactly the angles of 0, 1, 2, ... of the original:
 * the logits must agree bit for bit. */
TEST(linear_rope_scaling_divides_positions) {
    const char *src = fx_model("llama-tiny", TLM_TYPE_F16, 0, false);
    if (!src) SKIP(FX_SKIP_MSG);
    edit lin = {.kv = kv_linear2};
    const char *path = edited_copy(src, "llama-linear2", &lin);
    ASSERT(path);
    tlm_model *m = fx_load(path), *orig = fx_load(src);
    ASSERT(m && orig);
    int32_t V = tlm_model_n_vocab(m), tok[10], pos[10], pos2[10];
    int8_t lg[10];
    fx_prompt(tok, 10, 2, 20000);
    for (int i = 0; i < 10; i++) pos[i] = i, pos2[i] = 2 * i, lg[i] = 1;
    tlm_ctx *c = fx_ctx(m, 32, 1, 2), *co = fx_ctx(orig, 32, 1, 2);
    ASSERT(c && co);
    tlm_batch b2 = {10, tok, pos2, NULL, lg}, b1 = {10, tok, pos, NULL, lg};
    ASSERT_OK(tlm_ctx_decode(c, &b2, NULL));
    ASSERT_OK(tlm_ctx_decode(co, &b1, NULL));
    int same = 0;
    for (int i = 0; i < 10; i++)
        same += !memcmp(tlm_ctx_logits(c, i), tlm_ctx_logits(co, i), sizeof(float) * V);
    ASSERT_EQ(same, 10);
    /* ... and at the unscaled positions they differ. */
    tlm_kv_seq_rm(c, 0, -1, -1);
    ASSERT_OK(tlm_ctx_decode(c, &b1, NULL));
    ASSERT(memcmp(tlm_ctx_logits(c, 9), tlm_ctx_logits(co, 9), sizeof(float) * V) != 0);
    tlm_ctx_free(c);
    tlm_ctx_free(co);
    tlm_model_free(m);
    tlm_model_free(orig);
}

TEST(tokenize_adds_bos_only_where_the_model_wants_it) {
    const char *qp = fx_model("qwen2-tiny", TLM_TYPE_Q8_0, 0, false);
    const char *gp = fx_model("gemma-tiny", TLM_TYPE_Q8_0, 0, false);
    if (!qp || !gp) SKIP(FX_SKIP_MSG);
    tlm_model *q = fx_load(qp), *g = fx_load(gp);
    ASSERT(q && g);
    tlm_token ids[16];
    int32_t n = 0;
    const char *text = "Hello world";
    ASSERT_OK(tlm_model_tokenize(q, text, strlen(text), 1, 0, ids, 16, &n, NULL));
    ASSERT_EQ(n, 2); /* "Hello", " world": no BOS for Qwen */
    ASSERT_EQ(ids[0], 9707);
    ASSERT_OK(tlm_model_tokenize(g, text, strlen(text), 1, 0, ids, 16, &n, NULL));
    ASSERT_EQ(n, 3);
    ASSERT_EQ(ids[0], tlm_model_bos(g));
    ASSERT_EQ(ids[0], 2);
    ASSERT_OK(tlm_model_tokenize(g, text, strlen(text), 0, 0, ids, 16, &n, NULL));
    ASSERT_EQ(n, 2);
    tlm_error err = {0};
    ASSERT_EQ(tlm_model_tokenize(g, text, strlen(text), 1, 0, ids, 2, &n, &err), TLM_ERR_RANGE);
    ASSERT_EQ(n, 3);
    const char *special = "<|im_start|>";
    ASSERT_OK(tlm_model_tokenize(q, special, strlen(special), 0, 1, ids, 16, &n, NULL));
    ASSERT_EQ(n, 1);
    ASSERT(tlm_model_is_eog(q, tlm_model_eos(q)));
    char buf[32];
    int32_t len = tlm_model_token_to_bytes(q, 9707, buf, sizeof buf);
    ASSERT_EQ(len, 5);
    ASSERT(!memcmp(buf, "Hello", 5));
    ASSERT_EQ(tlm_model_token_to_bytes(q, -1, buf, sizeof buf), -1);
    tlm_model_free(q);
    tlm_model_free(g);
}

TEST(bad_batches_are_refused_with_the_index) {
    const char *path = fx_model("qwen2-tiny", TLM_TYPE_Q8_0, 0, false);
    if (!path) SKIP(FX_SKIP_MSG);
    tlm_model *m = fx_load(path);
    ASSERT(m);
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_ctx = 64;
    cp.n_batch = 8;
    cp.n_seq_max = 2;
    tlm_ctx *c = NULL;
    ASSERT_OK(tlm_ctx_create(m, &cp, &c, NULL));
    int32_t tok[9] = {1, 2, 3, 151936, 5, 6, 7, 8, 9}, pos[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    int32_t seq[9] = {0, 0, 1, 0, 0, 0, 0, 0, 0}, bad_seq[3] = {0, 2, 0}, neg[3] = {0, -4, 1};
    tlm_error err = {0};
    tlm_batch b = {4, tok, pos, seq, NULL};
    ASSERT_EQ(tlm_ctx_decode(c, &b, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "token 151936 at batch index 3 is outside the vocabulary");
    b = (tlm_batch){3, tok, pos, bad_seq, NULL};
    ASSERT_EQ(tlm_ctx_decode(c, &b, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "sequence 2 at batch index 1");
    b = (tlm_batch){3, tok, neg, NULL, NULL};
    ASSERT_EQ(tlm_ctx_decode(c, &b, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "negative position -4 at batch index 1");
    b = (tlm_batch){9, tok + 4, pos, NULL, NULL};
    ASSERT_EQ(tlm_ctx_decode(c, &b, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "n_batch = 8");
    b.n_tokens = 0;
    ASSERT_EQ(tlm_ctx_decode(c, &b, &err), TLM_ERR_INVALID_ARG);
    ASSERT_EQ(tlm_ctx_decode(c, NULL, &err), TLM_ERR_INVALID_ARG);
    ASSERT_EQ(tlm_kv_used_cells(c), 0);
    ASSERT(tlm_ctx_logits(c, 0) == NULL);
    /* Without a logits array only the last token gets logits. */
    b = (tlm_batch){3, tok, pos, seq, NULL};
    ASSERT_OK(tlm_ctx_decode(c, &b, &err));
    ASSERT(tlm_ctx_logits(c, 0) == NULL && tlm_ctx_logits(c, 2) != NULL);
    ASSERT(tlm_ctx_logits(c, -1) == tlm_ctx_logits(c, 2));
    ASSERT(tlm_ctx_logits(c, 3) == NULL && tlm_ctx_logits(c, -4) == NULL);
    tlm_ctx_free(c);
    cp.n_threads = -1;
    ASSERT_EQ(tlm_ctx_create(m, &cp, &c, &err), TLM_ERR_INVALID_ARG);
    ASSERT(c == NULL);
    cp.n_threads = 1;
    cp.n_seq_max = 65;
    ASSERT_EQ(tlm_ctx_create(m, &cp, &c, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "n_seq_max");
    tlm_model_free(m);
}

TEST_MAIN(TEST_ENTRY(errors_name_the_architecture_tensor_shape_and_key),
          TEST_ENTRY(hyperparameters_and_defaults),
          TEST_ENTRY(padded_gemma_embeddings_give_the_vocabulary_size),
          TEST_ENTRY(linear_rope_scaling_divides_positions),
          TEST_ENTRY(tokenize_adds_bos_only_where_the_model_wants_it),
          TEST_ENTRY(bad_batches_are_refused_with_the_index))
