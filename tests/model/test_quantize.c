/*
 * test_quantize.c - model conversion (src/model/quantize.c): the recipe
 * rules on real model shapes, and whole-file conversion of small generated
 * GGUF files.
 *
 * References: the Qwen2.5-0.5B Q4_K_M tensor table of engine-facts 2.2 and
 * the published llama-bench file sizes (Q4_K_M 373.7 MiB, Q4_0 330.17 MiB,
 * Q8_0 500.8 MiB, F16 942.4 MiB); for files, the source tensors themselves
 * (values must survive within each type's error, copies must be exact).
 */
#include "gguf/gguf.h"
#include "model/quantize.h"
#include "tensor/quant.h"
#include "test.h"

/* ---- Shapes of real models, names and all ---- */

typedef struct model_shape {
    const char *arch;
    int n_layer, n_embd, n_ff, n_vocab, kv_dim;
    bool qkv_bias, tied;
} model_shape;

static const model_shape qwen05 = {"qwen2", 24, 896, 4864, 151936, 128, true, true};

typedef struct tensor_list {
    tlm_quant_tensor t[400];
    char names[400][64];
    size_t n;
} tensor_list;

static void add(tensor_list *l, const char *name, uint64_t ne0, uint64_t ne1) {
    tlm_quant_tensor *t = &l->t[l->n];
    snprintf(l->names[l->n], 64, "%s", name);
    t->name = l->names[l->n];
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0, t->ne[1] = ne1 ? ne1 : 1, t->ne[2] = t->ne[3] = 1;
    t->type = ne1 ? TLM_TYPE_F16 : TLM_TYPE_F32;
    l->n++;
}

/* The tensors of a llama.cpp GGUF of that shape, in convert_hf_to_gguf's
 * order (token_embd first, output_norm last). */
static void build_model(tensor_list *l, const model_shape *m) {
    char name[64];
    l->n = 0;
    add(l, "token_embd.weight", (uint64_t)m->n_embd, (uint64_t)m->n_vocab);
    for (int i = 0; i < m->n_layer; i++) {
#define ADD(suffix, a, b)                                                                          \
    do {                                                                                           \
        snprintf(name, sizeof name, "blk.%d.%s", i, suffix);                                       \
        add(l, name, (uint64_t)(a), (uint64_t)(b));                                                \
    } while (0)
        ADD("attn_norm.weight", m->n_embd, 0);
        ADD("attn_q.weight", m->n_embd, m->n_embd);
        ADD("attn_k.weight", m->n_embd, m->kv_dim);
        ADD("attn_v.weight", m->n_embd, m->kv_dim);
        if (m->qkv_bias) {
            ADD("attn_q.bias", m->n_embd, 0);
            ADD("attn_k.bias", m->kv_dim, 0);
            ADD("attn_v.bias", m->kv_dim, 0);
        }
        ADD("attn_output.weight", m->n_embd, m->n_embd);
        ADD("ffn_norm.weight", m->n_embd, 0);
        ADD("ffn_gate.weight", m->n_embd, m->n_ff);
        ADD("ffn_up.weight", m->n_embd, m->n_ff);
        ADD("ffn_down.weight", m->n_ff, m->n_embd);
#undef ADD
    }
    add(l, "output_norm.weight", (uint64_t)m->n_embd, 0);
    if (!m->tied) add(l, "output.weight", (uint64_t)m->n_embd, (uint64_t)m->n_vocab);
}

static tlm_type type_of(const tensor_list *l, const tlm_type *types, const char *name) {
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->t[i].name, name)) return types[i];
    return TLM_TYPE_COUNT;
}

static double planned_mib(const tensor_list *l, const tlm_type *types) {
    double bytes = 0;
    for (size_t i = 0; i < l->n; i++)
        bytes += (double)tlm_type_row_size(types[i], l->t[i].ne[0]) * (double)l->t[i].ne[1];
    return bytes / 1048576.0;
}

TEST(recipe_names_and_file_type_ids) {
    static const struct {
        const char *name;
        int ftype;
        tlm_type base;
    } want[] = {
        {"F32", 0, TLM_TYPE_F32},      {"f16", 1, TLM_TYPE_F16},      {"Q4_0", 2, TLM_TYPE_Q4_0},
        {"Q4_1", 3, TLM_TYPE_Q4_1},    {"Q8_0", 7, TLM_TYPE_Q8_0},    {"Q5_0", 8, TLM_TYPE_Q5_0},
        {"Q5_1", 9, TLM_TYPE_Q5_1},    {"Q2_K", 10, TLM_TYPE_Q2_K},   {"Q3_K_M", 12, TLM_TYPE_Q3_K},
        {"Q3_K", 12, TLM_TYPE_Q3_K},   {"q4_k_m", 15, TLM_TYPE_Q4_K}, {"Q4_K", 15, TLM_TYPE_Q4_K},
        {"Q4_K_S", 14, TLM_TYPE_Q4_K}, {"Q5_K_M", 17, TLM_TYPE_Q5_K}, {"Q5_K", 17, TLM_TYPE_Q5_K},
        {"Q6_K", 18, TLM_TYPE_Q6_K},   {"BF16", 32, TLM_TYPE_BF16},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const tlm_quant_recipe *r = tlm_quant_recipe_find(want[i].name);
        ASSERT_MSG(r != NULL, "recipe %s missing", want[i].name);
        ASSERT_EQ(r->ftype, want[i].ftype);
        ASSERT_EQ(r->base, want[i].base);
    }
    ASSERT(tlm_quant_recipe_find("Q4_K_X") == NULL);
    ASSERT(tlm_quant_recipe_find("q8_K") == NULL);
    size_t n = 0;
    while (tlm_quant_recipe_at(n))
        n++;
    ASSERT(n >= 15);
}

TEST(qwen_0_5b_q4_K_M_matches_engine_facts_table) {
    static tensor_list l;
    static tlm_type types[400];
    build_model(&l, &qwen05);
    tlm_quant_plan_params p = {.n_layer = 24, .n_gqa = 7};
    size_t nf = tlm_quant_plan(tlm_quant_recipe_find("Q4_K_M"), &p, l.t, l.n, types);
    static const int more_bits[24] = {
        1, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1,
        0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1}; /* layers 0,1,2,5,...,20-23 */
    ASSERT_EQ(type_of(&l, types, "token_embd.weight"), TLM_TYPE_Q8_0);
    ASSERT_EQ(type_of(&l, types, "output_norm.weight"), TLM_TYPE_F32);
    char name[64];
    for (int i = 0; i < 24; i++) {
#define CHECK(suffix, want)                                                                        \
    do {                                                                                           \
        snprintf(name, sizeof name, "blk.%d.%s", i, suffix);                                       \
        ASSERT_MSG(type_of(&l, types, name) == (want), "%s: got %s", name,                         \
                   tlm_type_info(type_of(&l, types, name))->name);                                 \
    } while (0)
        CHECK("attn_q.weight", TLM_TYPE_Q5_0);
        CHECK("attn_k.weight", TLM_TYPE_Q5_0);
        CHECK("attn_output.weight", TLM_TYPE_Q5_0);
        CHECK("attn_v.weight", more_bits[i] ? TLM_TYPE_Q8_0 : TLM_TYPE_Q5_0);
        CHECK("ffn_gate.weight", TLM_TYPE_Q5_0);
        CHECK("ffn_up.weight", TLM_TYPE_Q5_0);
        CHECK("ffn_down.weight", more_bits[i] ? TLM_TYPE_Q6_K : TLM_TYPE_Q4_K);
        CHECK("attn_norm.weight", TLM_TYPE_F32);
        CHECK("ffn_norm.weight", TLM_TYPE_F32);
        CHECK("attn_q.bias", TLM_TYPE_F32);
        CHECK("attn_v.bias", TLM_TYPE_F32);
#undef CHECK
    }
    /* Every 896-wide layer matrix falls back (6 per layer); token_embd goes
     * to Q8_0 through the output rule, not through a fallback. */
    ASSERT_EQ(nf, 6 * 24);
    ASSERT_NEAR(planned_mib(&l, types), 373.7, 0.05);
}

TEST(qwen_0_5b_other_recipes_match_published_sizes) {
    static tensor_list l;
    static tlm_type types[400];
    build_model(&l, &qwen05);
    tlm_quant_plan_params p = {.n_layer = 24, .n_gqa = 7};
    static const struct {
        const char *recipe;
        double mib;
        tlm_type embd, q;
    } want[] = {
        {"Q4_0", 330.17, TLM_TYPE_Q8_0, TLM_TYPE_Q4_0},
        {"Q8_0", 500.8, TLM_TYPE_Q8_0, TLM_TYPE_Q8_0},
        {"F16", 942.4, TLM_TYPE_F16, TLM_TYPE_F16},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        tlm_quant_plan(tlm_quant_recipe_find(want[i].recipe), &p, l.t, l.n, types);
        ASSERT_NEAR(planned_mib(&l, types), want[i].mib, 0.05);
        ASSERT_EQ(type_of(&l, types, "token_embd.weight"), want[i].embd);
        ASSERT_EQ(type_of(&l, types, "blk.7.attn_q.weight"), want[i].q);
        ASSERT_EQ(type_of(&l, types, "blk.7.ffn_down.weight"), want[i].q);
    }
    /* Pure Q4_0: no special output type. */
    p.pure = true;
    tlm_quant_plan(tlm_quant_recipe_find("Q4_0"), &p, l.t, l.n, types);
    ASSERT_EQ(type_of(&l, types, "token_embd.weight"), TLM_TYPE_Q4_0);
}

TEST(untied_output_and_divisible_widths) {
    static tensor_list l;
    static tlm_type types[400];
    /* Qwen's official untied file: output.weight exists, so token_embd is an
     * ordinary matrix (Q4_K -> Q5_0 fallback) and output takes the rule. */
    model_shape m = qwen05;
    m.tied = false;
    build_model(&l, &m);
    tlm_quant_plan(tlm_quant_recipe_find("Q4_K_M"), NULL, l.t, l.n, types);
    ASSERT_EQ(type_of(&l, types, "output.weight"), TLM_TYPE_Q8_0);
    ASSERT_EQ(type_of(&l, types, "token_embd.weight"), TLM_TYPE_Q5_0);
    /* Gemma-2B widths divide 256: real K-quants, tied output Q6_K. */
    model_shape g = {"gemma", 18, 2048, 16384, 256128, 256, false, true};
    build_model(&l, &g);
    tlm_quant_plan_params p = {.n_layer = 18, .n_gqa = 8};
    tlm_quant_plan(tlm_quant_recipe_find("Q4_K_M"), &p, l.t, l.n, types);
    ASSERT_EQ(type_of(&l, types, "token_embd.weight"), TLM_TYPE_Q6_K);
    ASSERT_EQ(type_of(&l, types, "blk.4.attn_q.weight"), TLM_TYPE_Q4_K);
    ASSERT_EQ(type_of(&l, types, "blk.0.attn_v.weight"), TLM_TYPE_Q6_K);    /* 0 < 18/8 */
    ASSERT_EQ(type_of(&l, types, "blk.3.attn_v.weight"), TLM_TYPE_Q4_K);    /* (3-2)%3 = 1 */
    ASSERT_EQ(type_of(&l, types, "blk.4.ffn_down.weight"), TLM_TYPE_Q6_K);  /* (4-2)%3 = 2 */
    ASSERT_EQ(type_of(&l, types, "blk.16.ffn_down.weight"), TLM_TYPE_Q6_K); /* >= 7*18/8 */
    tlm_quant_plan(tlm_quant_recipe_find("Q8_0"), &p, l.t, l.n, types);
    ASSERT_EQ(type_of(&l, types, "token_embd.weight"), TLM_TYPE_Q8_0);
    /* Q2_K/Q3_K mixes: attn_v depends on the grouped-query factor. */
    tlm_quant_plan(tlm_quant_recipe_find("Q2_K"), &p, l.t, l.n, types);
    ASSERT_EQ(type_of(&l, types, "blk.5.attn_v.weight"), TLM_TYPE_Q4_K);
    ASSERT_EQ(type_of(&l, types, "blk.5.ffn_down.weight"), TLM_TYPE_Q3_K);
    ASSERT_EQ(type_of(&l, types, "blk.5.attn_output.weight"), TLM_TYPE_Q3_K);
    ASSERT_EQ(type_of(&l, types, "blk.5.ffn_up.weight"), TLM_TYPE_Q2_K);
    p.n_gqa = 1;
    tlm_quant_plan(tlm_quant_recipe_find("Q2_K"), &p, l.t, l.n, types);
    ASSERT_EQ(type_of(&l, types, "blk.5.attn_v.weight"), TLM_TYPE_Q3_K);
    tlm_quant_plan(tlm_quant_recipe_find("Q3_K_M"), &p, l.t, l.n, types);
    ASSERT_EQ(type_of(&l, types, "blk.1.attn_v.weight"), TLM_TYPE_Q5_K);
    ASSERT_EQ(type_of(&l, types, "blk.2.attn_v.weight"), TLM_TYPE_Q4_K);
    ASSERT_EQ(type_of(&l, types, "blk.0.ffn_down.weight"), TLM_TYPE_Q5_K); /* 0 < 18/16 */
    ASSERT_EQ(type_of(&l, types, "blk.1.ffn_down.weight"), TLM_TYPE_Q4_K);
}

TEST(width_fallbacks) {
    static const struct {
        const char *recipe;
        uint64_t ne0;
        tlm_type want;
    } cases[] = {
        {"Q4_K_S", 96, TLM_TYPE_Q5_0}, {"Q5_K_S", 96, TLM_TYPE_Q5_1},  {"Q6_K", 96, TLM_TYPE_Q8_0},
        {"Q3_K_S", 96, TLM_TYPE_Q4_0}, {"Q2_K", 96, TLM_TYPE_Q4_0},    {"Q4_K_S", 48, TLM_TYPE_F16},
        {"Q4_0", 48, TLM_TYPE_F16},    {"Q4_K_S", 512, TLM_TYPE_Q4_K}, {"BF16", 7, TLM_TYPE_BF16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlm_quant_tensor t = {"blk.3.ffn_up.weight", 2, {cases[i].ne0, 8, 1, 1}, TLM_TYPE_F32};
        tlm_type got;
        size_t nf = tlm_quant_plan(tlm_quant_recipe_find(cases[i].recipe), NULL, &t, 1, &got);
        ASSERT_MSG(got == cases[i].want, "%s width %llu: got %s", cases[i].recipe,
                   (unsigned long long)cases[i].ne0, tlm_type_info(got)->name);
        ASSERT_EQ(nf, got != tlm_quant_recipe_find(cases[i].recipe)->base);
    }
    /* Not converted: 1-D, norms, non-"weight" names, integer tensors. */
    tlm_quant_tensor keep[] = {
        {"blk.0.attn_norm.weight", 2, {256, 4, 1, 1}, TLM_TYPE_F32},
        {"blk.0.ffn_gate_inp.weight", 2, {256, 8, 1, 1}, TLM_TYPE_F32},
        {"rope_freqs", 2, {256, 4, 1, 1}, TLM_TYPE_F32},
        {"blk.0.attn_q.weight", 1, {256, 1, 1, 1}, TLM_TYPE_F16},
        {"blk.0.idx.weight", 2, {256, 4, 1, 1}, TLM_TYPE_I32},
    };
    tlm_type out[5];
    tlm_quant_plan(tlm_quant_recipe_find("Q4_0"), NULL, keep, 5, out);
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(out[i], keep[i].type);
    /* Names come from files: odd layer numbers must not matter, and an
     * empty matrix is copied. */
    tlm_quant_tensor odd[] = {
        {"blk.99999999999999.attn_v.weight", 2, {256, 4, 1, 1}, TLM_TYPE_F32},
        {"blk..ffn_down.weight", 2, {256, 4, 1, 1}, TLM_TYPE_F32},
        {"blk.-3.ffn_down.weight", 2, {256, 4, 1, 1}, TLM_TYPE_F32},
        {"blk.0.empty.weight", 2, {0, 4, 1, 1}, TLM_TYPE_F16},
    };
    tlm_quant_plan(tlm_quant_recipe_find("Q4_K_M"), NULL, odd, 4, out);
    /* An unknown layer counts as layer 0: of 1 attn_v it is a more-bits
     * layer (0 >= 7*1/8), of 2 ffn_down it is not. */
    ASSERT_EQ(out[0], TLM_TYPE_Q6_K);
    ASSERT_EQ(out[1], TLM_TYPE_Q4_K);
    ASSERT_EQ(out[2], TLM_TYPE_Q4_K);
    ASSERT_EQ(out[3], TLM_TYPE_F16);
}

/* ---- Whole files ---- */

#define EMBD   96  /* not a multiple of 256: exercises the fallbacks */
#define FF     256 /* ffn_down is a real K-quant */
#define VOCAB  80
#define LAYERS 4

static float *rand_floats(size_t n, uint64_t seed) {
    float *x = malloc(n * sizeof(float));
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u1 = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u2 = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        x[i] = (float)(0.05 * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
    }
    return x;
}

/* A small qwen2-like model with weights of type wtype; poison puts a NaN in
 * one matrix. */
static tlm_status write_model(const char *path, tlm_type wtype, bool poison) {
    tlm_gguf_writer *w;
    tlm_error err;
    if (tlm_gguf_writer_create(&w)) return TLM_ERR_NOMEM;
    tlm_gguf_set_str(w, "general.architecture", "qwen2");
    tlm_gguf_set_str(w, "general.name", "tiny test");
    tlm_gguf_set_u32(w, "qwen2.block_count", LAYERS);
    tlm_gguf_set_u32(w, "qwen2.attention.head_count", 4);
    tlm_gguf_set_u32(w, "qwen2.attention.head_count_kv", 2);
    tlm_gguf_set_f32(w, "qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
    const char *toks[] = {"a", "b", "c"};
    tlm_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
    static const struct {
        const char *suffix;
        uint64_t ne0, ne1;
    } per_layer[] = {
        {"attn_norm.weight", EMBD, 0}, {"attn_q.weight", EMBD, EMBD},
        {"attn_q.bias", EMBD, 0},      {"attn_k.weight", EMBD, 48},
        {"attn_v.weight", EMBD, 48},   {"attn_output.weight", EMBD, EMBD},
        {"ffn_norm.weight", EMBD, 0},  {"ffn_gate.weight", EMBD, FF},
        {"ffn_up.weight", EMBD, FF},   {"ffn_down.weight", FF, EMBD},
    };
    void *bufs[64];
    int nb = 0;
    tlm_status st = TLM_OK;
    char name[64];
    for (int i = -1; i <= LAYERS && !st; i++) {
        size_t count = i < 0 || i == LAYERS ? 1 : sizeof per_layer / sizeof per_layer[0];
        for (size_t k = 0; k < count && !st; k++) {
            uint64_t ne[2];
            if (i < 0)
                snprintf(name, sizeof name, "token_embd.weight"), ne[0] = EMBD, ne[1] = VOCAB;
            else if (i == LAYERS)
                snprintf(name, sizeof name, "output_norm.weight"), ne[0] = EMBD, ne[1] = 0;
            else {
                snprintf(name, sizeof name, "blk.%d.%s", i, per_layer[k].suffix);
                ne[0] = per_layer[k].ne0, ne[1] = per_layer[k].ne1;
            }
            size_t n = (size_t)(ne[0] * (ne[1] ? ne[1] : 1));
            float *x = rand_floats(n, (uint64_t)nb + 1);
            if (poison && i == 2 && k == 8) x[n / 2] = NAN; /* blk.2.ffn_up */
            tlm_type t = ne[1] ? wtype : TLM_TYPE_F32;
            void *data = malloc(tlm_type_row_size(t, ne[0]) * (n / ne[0]));
            tlm_quantize_row(t, x, data, (int64_t)n); /* rows are independent */
            free(x);
            bufs[nb++] = data;
            st = tlm_gguf_add_tensor(w, name, t, ne[1] ? 2 : 1, ne, data, &err);
        }
    }
    if (!st) st = tlm_gguf_writer_write(w, path, NULL, NULL, &err);
    for (int i = 0; i < nb; i++)
        free(bufs[i]);
    tlm_gguf_writer_free(w);
    return st;
}

static char *tmp_path(const char *name) {
    static char paths[8][300];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 300, "%s/%s", test_tmp_dir(), name);
    return p;
}

static float *dequant_tensor(const tlm_gguf_tensor *t) {
    uint64_t n = t->ne[0] * t->ne[1];
    float *y = malloc(n * sizeof(float));
    tlm_dequantize_row(t->type, t->data, y, (int64_t)n);
    return y;
}

/* Relative RMS difference of two tensors' values. */
static double rel_diff(const tlm_gguf_tensor *a, const tlm_gguf_tensor *b) {
    float *x = dequant_tensor(a), *y = dequant_tensor(b);
    double e = 0, s = 0;
    for (uint64_t i = 0; i < a->ne[0] * a->ne[1]; i++) {
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        s += (double)x[i] * x[i];
    }
    free(x), free(y);
    return sqrt(e / s);
}

/* Loose per-type bounds for re-encoding Gaussian rows (see test_quant.c's
 * table for the tight ones on 128K values). */
static double type_bound(tlm_type t) {
    switch (t) {
    case TLM_TYPE_F32: return 0;
    case TLM_TYPE_F16: return 1e-3;
    case TLM_TYPE_BF16: return 5e-3;
    case TLM_TYPE_Q8_0: return 0.01;
    case TLM_TYPE_Q6_K: return 0.03;
    case TLM_TYPE_Q5_0:
    case TLM_TYPE_Q5_1:
    case TLM_TYPE_Q5_K: return 0.06;
    default: return 0.12;
    }
}

typedef struct progress_log {
    int calls;
    uint64_t last, total;
    bool monotonic;
    int cancel_after; /* 0 = never */
} progress_log;

static bool on_progress(void *user, const tlm_quantize_progress *p) {
    progress_log *l = user;
    if (p->elems_done < l->last) l->monotonic = false;
    l->last = p->elems_done, l->total = p->elems_total;
    l->calls++;
    return !(l->cancel_after && l->calls >= l->cancel_after);
}

TEST(convert_f32_file_to_q4_K_M) {
    char *src = tmp_path("f32.gguf"), *dst = tmp_path("q4km.gguf");
    ASSERT_OK(write_model(src, TLM_TYPE_F32, false));
    progress_log log = {.monotonic = true};
    tlm_quantize_params p = tlm_quantize_default_params();
    p.progress = on_progress, p.user = &log, p.n_threads = 2;
    tlm_quantize_stats stats;
    tlm_error err = {0};
    ASSERT_OK(tlm_quantize_model(src, dst, "Q4_K_M", &p, &stats, &err));
    ASSERT(log.calls > 0 && log.monotonic && log.last == log.total);
    tlm_gguf *a = NULL, *b = NULL;
    ASSERT_OK(tlm_gguf_open(src, &a, &err));
    ASSERT_OK(tlm_gguf_open(dst, &b, &err));
    uint32_t ft = 0, qv = 0;
    ASSERT_OK(tlm_gguf_get_u32(b, "general.file_type", &ft, &err));
    ASSERT_OK(tlm_gguf_get_u32(b, "general.quantization_version", &qv, &err));
    ASSERT_EQ(ft, 15);
    ASSERT_EQ(qv, 2);
    tlm_gguf_str s;
    ASSERT_OK(tlm_gguf_get_str(b, "general.name", &s, &err));
    ASSERT(tlm_gguf_str_eq(s, "tiny test"));
    const tlm_gguf_value *arr;
    ASSERT_OK(tlm_gguf_get_arr(b, "tokenizer.ggml.tokens", TLM_GGUF_STRING, &arr, &err));
    ASSERT_EQ(arr->v.arr.n, 3);
    float eps = 0;
    ASSERT_OK(tlm_gguf_get_f32(b, "qwen2.attention.layer_norm_rms_epsilon", &eps, &err));
    ASSERT_EQ(eps, 1e-6f);
    ASSERT_EQ(tlm_gguf_n_tensors(b), tlm_gguf_n_tensors(a));
    ASSERT_EQ(stats.n_tensors, tlm_gguf_n_tensors(a));
    /* Types: 96-wide matrices fall back to Q5_0 (attn_v of use_more_bits
     * layers 2, 3 of 4: Q6_K -> Q8_0), ffn_down is Q6_K/Q4_K by layer, the
     * tied token_embd is Q8_0, 1-D tensors are copied bit for bit. */
    static const struct {
        const char *name;
        tlm_type want;
    } types[] = {
        {"token_embd.weight", TLM_TYPE_Q8_0},     {"blk.0.attn_q.weight", TLM_TYPE_Q5_0},
        {"blk.0.attn_v.weight", TLM_TYPE_Q5_0},   {"blk.2.attn_v.weight", TLM_TYPE_Q8_0},
        {"blk.3.attn_v.weight", TLM_TYPE_Q8_0},   {"blk.1.ffn_down.weight", TLM_TYPE_Q4_K},
        {"blk.2.ffn_down.weight", TLM_TYPE_Q6_K}, {"blk.3.ffn_down.weight", TLM_TYPE_Q6_K},
        {"blk.0.ffn_up.weight", TLM_TYPE_Q5_0},   {"blk.0.attn_q.bias", TLM_TYPE_F32},
        {"output_norm.weight", TLM_TYPE_F32},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const tlm_gguf_tensor *t = tlm_gguf_find_tensor(b, types[i].name);
        ASSERT_MSG(t && t->type == types[i].want, "%s: got %s", types[i].name,
                   t ? tlm_type_info(t->type)->name : "(missing)");
    }
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(a); i++) {
        const tlm_gguf_tensor *x = tlm_gguf_tensor_at(a, i), *y = tlm_gguf_tensor_at(b, i);
        ASSERT(x->name.len == y->name.len && !memcmp(x->name.ptr, y->name.ptr, x->name.len));
        ASSERT(x->n_dims == y->n_dims && x->ne[0] == y->ne[0] && x->ne[1] == y->ne[1]);
        if (y->type == TLM_TYPE_F32) {
            ASSERT(x->nbytes == y->nbytes && !memcmp(x->data, y->data, (size_t)x->nbytes));
        } else {
            double d = rel_diff(x, y);
            ASSERT_MSG(d > 0 && d < type_bound(y->type), "%.*s (%s): rel diff %.4f",
                       (int)y->name.len, y->name.ptr, tlm_type_info(y->type)->name, d);
        }
    }
    tlm_gguf_free(a);
    tlm_gguf_free(b);
}

TEST(convert_from_f16_bf16_and_quantized_sources) {
    char *f16 = tmp_path("f16.gguf"), *bf16 = tmp_path("bf16.gguf"), *q8 = tmp_path("q8.gguf");
    char *q4 = tmp_path("q4km-from-q8.gguf"), *again = tmp_path("q4km-again.gguf");
    tlm_error err = {0};
    ASSERT_OK(write_model(f16, TLM_TYPE_F16, false));
    ASSERT_OK(write_model(bf16, TLM_TYPE_BF16, false));
    ASSERT_OK(tlm_quantize_model(bf16, q8, "Q8_0", NULL, NULL, &err));
    ASSERT_OK(tlm_quantize_model(f16, q8, "q8_0", NULL, NULL, &err));
    ASSERT_OK(tlm_quantize_model(q8, q4, "Q4_K_M", NULL, NULL, &err));
    ASSERT_OK(tlm_quantize_model(q4, again, "Q4_K_M", NULL, NULL, &err));
    tlm_gguf *a = NULL, *b = NULL, *c = NULL;
    ASSERT_OK(tlm_gguf_open(q8, &a, &err));
    ASSERT_OK(tlm_gguf_open(q4, &b, &err));
    ASSERT_OK(tlm_gguf_open(again, &c, &err));
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(a); i++) {
        const tlm_gguf_tensor *x = tlm_gguf_tensor_at(a, i), *y = tlm_gguf_tensor_at(b, i);
        const tlm_gguf_tensor *z = tlm_gguf_tensor_at(c, i);
        if (x->n_dims == 2) ASSERT_EQ(x->type, TLM_TYPE_Q8_0);
        if (y->type != x->type) ASSERT(rel_diff(x, y) < type_bound(y->type));
        /* Already the target type: copied, not re-encoded. */
        ASSERT(y->type == z->type && y->nbytes == z->nbytes);
        ASSERT(!memcmp(y->data, z->data, (size_t)y->nbytes));
    }
    tlm_gguf_free(a);
    tlm_gguf_free(b);
    tlm_gguf_free(c);
}

static bool same_file(const char *p, const char *q) {
    FILE *a = fopen(p, "rb"), *b = fopen(q, "rb");
    bool same = a && b;
    while (same) {
        int x = fgetc(a), y = fgetc(b);
        if (x != y) same = false;
        if (x == EOF) break;
    }
    if (a) fclose(a);
    if (b) fclose(b);
    return same;
}

TEST(output_does_not_depend_on_thread_count) {
    char *src = tmp_path("det.gguf"), *o1 = tmp_path("det1.gguf"), *o3 = tmp_path("det3.gguf");
    ASSERT_OK(write_model(src, TLM_TYPE_F32, false));
    static const char *recipes[] = {"Q4_K_M", "Q2_K", "Q3_K_S", "Q5_K_S", "Q4_1", "BF16"};
    for (size_t i = 0; i < sizeof recipes / sizeof recipes[0]; i++) {
        tlm_quantize_params p = tlm_quantize_default_params();
        tlm_error err = {0};
        p.n_threads = 1;
        ASSERT_OK(tlm_quantize_model(src, o1, recipes[i], &p, NULL, &err));
        p.n_threads = 3;
        ASSERT_OK(tlm_quantize_model(src, o3, recipes[i], &p, NULL, &err));
        ASSERT_MSG(same_file(o1, o3), "%s differs between 1 and 3 threads", recipes[i]);
    }
}

TEST(errors_leave_no_output) {
    char *src = tmp_path("nan.gguf"), *dst = tmp_path("nan-out.gguf");
    tlm_error err = {0};
    ASSERT_OK(write_model(src, TLM_TYPE_F32, true));
    ASSERT_EQ(tlm_quantize_model(src, dst, "Q8_0", NULL, NULL, &err), TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "blk.2.ffn_up.weight");
    ASSERT(access(dst, F_OK) != 0);
    ASSERT_EQ(tlm_quantize_model(src, dst, "Q9_9", NULL, NULL, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "Q9_9");
    ASSERT(tlm_quantize_model(tmp_path("missing.gguf"), dst, "Q8_0", NULL, NULL, &err) != TLM_OK);
    ASSERT(access(dst, F_OK) != 0);
    /* Cancelling from the progress callback. */
    char *ok = tmp_path("cancel-src.gguf");
    ASSERT_OK(write_model(ok, TLM_TYPE_F32, false));
    progress_log log = {.monotonic = true, .cancel_after = 3};
    tlm_quantize_params p = tlm_quantize_default_params();
    p.progress = on_progress, p.user = &log;
    ASSERT_EQ(tlm_quantize_model(ok, dst, "Q4_0", &p, NULL, &err), TLM_ERR_CANCELLED);
    ASSERT_EQ(log.calls, 3);
    ASSERT(access(dst, F_OK) != 0);
}

TEST_MAIN(TEST_ENTRY(recipe_names_and_file_type_ids),
          TEST_ENTRY(qwen_0_5b_q4_K_M_matches_engine_facts_table),
          TEST_ENTRY(qwen_0_5b_other_recipes_match_published_sizes),
          TEST_ENTRY(untied_output_and_divisible_widths), TEST_ENTRY(width_fallbacks),
          TEST_ENTRY(convert_f32_file_to_q4_K_M),
          TEST_ENTRY(convert_from_f16_bf16_and_quantized_sources),
          TEST_ENTRY(output_does_not_depend_on_thread_count), TEST_ENTRY(errors_leave_no_output))
