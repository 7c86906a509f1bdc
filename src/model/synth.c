/*
 * synth.c - writes shape-faithful random-weight models (see synth.h).
 *
 * Tensor names, shapes and metadata keys follow what the standard
 * Hugging Face to GGUF converter writes for each architecture, so the code
 * paths that load a synth file are the ones that load a downloaded one.
 * Weight scales: 0.1 for token_embd, attn_q and attn_k (sharp attention,
 * peaked logits), 0.02 elsewhere, norms near 1.
 */
#include "model/synth.h"

#include "chat/chat.h"
#include "core/rng.h"
#include "core/util.h"
#include "model/quantize.h"
#include "tensor/quant.h"
#include "tokenizer/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const gemma_turns[] = {"<start_of_turn>", "<end_of_turn>"};

static const tlm_synth_preset presets[] = {
    {.name = "qwen2.5-0.5b", .arch = "qwen2", .tokenizer = "qwen2_5", .n_embd = 896,
     .n_layer = 24, .n_head = 14, .n_head_kv = 2, .head_dim = 64, .n_ff = 4864,
     .n_vocab = 151936, .n_ctx = 32768, .rope_base = 1e6f, .rms_eps = 1e-6f, .qkv_bias = true,
     .tied_output = true, .bos_id = 151643},
    {.name = "gemma-2b", .arch = "gemma", .tokenizer = "gemma", .n_embd = 2048, .n_layer = 18,
     .n_head = 8, .n_head_kv = 1, .head_dim = 256, .n_ff = 16384, .n_vocab = 256000,
     .n_ctx = 8192, .rope_base = 0, .rms_eps = 1e-6f, .tied_output = true,
     .write_head_dim = true, .norm_plus_one = true, .bos_id = -1, .it_control = gemma_turns,
     .n_it_control = 2, .it_template = "gemma"},
    {.name = "qwen2-tiny", .arch = "qwen2", .tokenizer = "qwen2_5", .n_embd = 128, .n_layer = 2,
     .n_head = 4, .n_head_kv = 2, .head_dim = 32, .n_ff = 384, .n_vocab = 151936, .n_ctx = 4096,
     .rope_base = 1e6f, .rms_eps = 1e-6f, .qkv_bias = true, .tied_output = true,
     .bos_id = 151643},
    {.name = "gemma-tiny", .arch = "gemma", .tokenizer = "gemma", .n_embd = 128, .n_layer = 2,
     .n_head = 4, .n_head_kv = 1, .head_dim = 64, .n_ff = 512, .n_vocab = 256000,
     .n_ctx = 4096, .rope_base = 0, .rms_eps = 1e-6f, .tied_output = true,
     .write_head_dim = true, .norm_plus_one = true, .bos_id = -1, .it_control = gemma_turns,
     .n_it_control = 2, .it_template = "gemma"},
    {.name = "llama-tiny", .arch = "llama", .tokenizer = "gemma", .n_embd = 128, .n_layer = 2,
     .n_head = 4, .n_head_kv = 2, .head_dim = 32, .n_ff = 384, .n_vocab = 256000,
     .n_ctx = 4096, .rope_base = 10000.0f, .rms_eps = 1e-5f, .tied_output = false, .bos_id = -1},
};

const tlm_synth_preset *tlm_synth_preset_at(int i) {
    return i >= 0 && i < (int)TLM_ARRAY_LEN(presets) ? &presets[i] : NULL;
}

const tlm_synth_preset *tlm_synth_find_preset(const char *name) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(presets); i++)
        if (!strcmp(presets[i].name, name)) return &presets[i];
    return NULL;
}

/* ---- The tensor list ---- */

typedef enum { KIND_MATRIX, KIND_NORM, KIND_BIAS } tensor_kind;

typedef struct synth_tensor {
    char name[TLM_GGUF_MAX_NAME];
    uint64_t ne[2];
    uint32_t n_dims;
    tensor_kind kind;
    float std;
    tlm_type type;
} synth_tensor;

typedef struct synth_job {
    const tlm_synth_params *p;
    synth_tensor *tensors;
    size_t n;
    float *row;               /* scratch: one F32 tensor */
    uint64_t row_cap;
} synth_job;

/* Where a weight type's block does not divide the row, the standard
 * quantizer falls back to a legacy type with blocks of 32, then to F16. */
static void add(synth_job *j, const char *name, uint64_t ne0, uint64_t ne1, tensor_kind kind,
                float std) {
    synth_tensor *t = &j->tensors[j->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->n_dims = ne1 ? 2 : 1;
    if (!ne1) t->ne[1] = 1;
    t->kind = kind;
    t->std = std;
    t->type = kind == KIND_MATRIX ? tlm_quant_width_fallback(j->p->type, ne0) : TLM_TYPE_F32;
}

static void build_tensor_list(synth_job *j) {
    const tlm_synth_preset *m = j->p->preset;
    uint64_t q = (uint64_t)m->n_head * m->head_dim, kv = (uint64_t)m->n_head_kv * m->head_dim;
    char name[TLM_GGUF_MAX_NAME];
    add(j, "token_embd.weight", m->n_embd, m->n_vocab, KIND_MATRIX, 0.1f);
    for (uint32_t l = 0; l < m->n_layer; l++) {
#define BLK(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, l), name)
        add(j, BLK("attn_norm.weight"), m->n_embd, 0, KIND_NORM, 0.02f);
        add(j, BLK("attn_q.weight"), m->n_embd, q, KIND_MATRIX, 0.1f);
        if (m->qkv_bias) add(j, BLK("attn_q.bias"), q, 0, KIND_BIAS, 0.02f);
        add(j, BLK("attn_k.weight"), m->n_embd, kv, KIND_MATRIX, 0.1f);
        if (m->qkv_bias) add(j, BLK("attn_k.bias"), kv, 0, KIND_BIAS, 0.02f);
        add(j, BLK("attn_v.weight"), m->n_embd, kv, KIND_MATRIX, 0.02f);
        if (m->qkv_bias) add(j, BLK("attn_v.bias"), kv, 0, KIND_BIAS, 0.02f);
        add(j, BLK("attn_output.weight"), q, m->n_embd, KIND_MATRIX, 0.02f);
        add(j, BLK("ffn_norm.weight"), m->n_embd, 0, KIND_NORM, 0.02f);
        add(j, BLK("ffn_gate.weight"), m->n_embd, m->n_ff, KIND_MATRIX, 0.02f);
        add(j, BLK("ffn_up.weight"), m->n_embd, m->n_ff, KIND_MATRIX, 0.02f);
        add(j, BLK("ffn_down.weight"), m->n_ff, m->n_embd, KIND_MATRIX, 0.02f);
#undef BLK
    }
    add(j, "output_norm.weight", m->n_embd, 0, KIND_NORM, 0.02f);
    if (!m->tied_output) add(j, "output.weight", m->n_embd, m->n_vocab, KIND_MATRIX, 0.1f);
}

/* ---- Producing the data ---- */

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static tlm_status fill(void *user, uint64_t index, const char *name, void *buf, uint64_t nbytes) {
    synth_job *j = user;
    const synth_tensor *t = &j->tensors[index];
    uint64_t n = t->ne[0] * t->ne[1];
    if (n > j->row_cap) {
        free(j->row);
        j->row = tlm_malloc((size_t)n * sizeof(float));
        j->row_cap = j->row ? n : 0;
        if (!j->row) return TLM_ERR_NOMEM;
    }
    /* Each tensor has its own stream, so the values do not depend on the
     * order tensors are produced in. */
    tlm_rng rng;
    tlm_rng_seed(&rng, j->p->seed ^ name_hash(name));
    tlm_rng_fill_normal(&rng, j->row, n, t->std);
    if (t->kind == KIND_NORM)
        for (uint64_t i = 0; i < n; i++) j->row[i] += 1.0f;
    if (t->type == TLM_TYPE_F32) {
        memcpy(buf, j->row, (size_t)nbytes);
    } else {
        size_t row_size = tlm_type_row_size(t->type, t->ne[0]);
        for (uint64_t r = 0; r < t->ne[1]; r++)
            tlm_quantize_row(t->type, j->row + r * t->ne[0], (uint8_t *)buf + r * row_size,
                             (int64_t)t->ne[0]);
    }
    if (j->p->progress) j->p->progress(j->p->user, index + 1, j->n);
    return TLM_OK;
}

/* ---- Metadata ---- */

static tlm_status write_hparams(tlm_gguf_writer *w, const tlm_synth_params *p) {
    const tlm_synth_preset *m = p->preset;
    char key[128];
    tlm_status st = TLM_OK;
#define KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, m->arch), key)
    st |= tlm_gguf_set_str(w, "general.architecture", m->arch);
    st |= tlm_gguf_set_str(w, "general.name", m->name);
    st |= tlm_gguf_set_str(w, "general.description",
                           "tinylm synth: real shapes and tokenizer, random weights; its text is meaningless");
    st |= tlm_gguf_set_u64(w, "tinylm.synth.seed", p->seed);
    st |= tlm_gguf_set_u32(w, KEY("context_length"), m->n_ctx);
    st |= tlm_gguf_set_u32(w, KEY("embedding_length"), m->n_embd);
    st |= tlm_gguf_set_u32(w, KEY("block_count"), m->n_layer);
    st |= tlm_gguf_set_u32(w, KEY("feed_forward_length"), m->n_ff);
    st |= tlm_gguf_set_u32(w, KEY("attention.head_count"), m->n_head);
    st |= tlm_gguf_set_u32(w, KEY("attention.head_count_kv"), m->n_head_kv);
    st |= tlm_gguf_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), m->rms_eps);
    float base = p->rope_base_override ? p->rope_base_override : m->rope_base;
    if (base) st |= tlm_gguf_set_f32(w, KEY("rope.freq_base"), base);
    if (m->write_head_dim) {
        st |= tlm_gguf_set_u32(w, KEY("attention.key_length"), m->head_dim);
        st |= tlm_gguf_set_u32(w, KEY("attention.value_length"), m->head_dim);
    }
    if (!strcmp(m->arch, "llama")) {
        st |= tlm_gguf_set_u32(w, KEY("rope.dimension_count"), m->head_dim);
        st |= tlm_gguf_set_u32(w, KEY("vocab_size"), m->n_vocab);
    }
#undef KEY
    return st ? TLM_ERR_NOMEM : TLM_OK;
}

/* general.file_type as the standard tools number it (llama_ftype). */
static uint32_t file_type(tlm_type t) {
    switch (t) {
    case TLM_TYPE_F32: return 0;
    case TLM_TYPE_F16: return 1;
    case TLM_TYPE_Q4_0: return 2;
    case TLM_TYPE_Q4_1: return 3;
    case TLM_TYPE_Q8_0: return 7;
    case TLM_TYPE_Q5_0: return 8;
    case TLM_TYPE_Q5_1: return 9;
    case TLM_TYPE_Q2_K: return 10;
    case TLM_TYPE_Q3_K: return 11;
    case TLM_TYPE_Q4_K: return 14;
    case TLM_TYPE_Q5_K: return 16;
    case TLM_TYPE_Q6_K: return 18;
    case TLM_TYPE_BF16: return 32;
    default: return 0;
    }
}

tlm_status tlm_synth_write(const tlm_synth_params *p, const char *path, tlm_error *err) {
    const tlm_synth_preset *m = p->preset;
    const tlm_quant_traits *qt = tlm_quant_info(p->type);
    if (p->type != TLM_TYPE_F32 && (!qt || !qt->from_float || !tlm_type_info(p->type)->weight))
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED, "synth: cannot write weights of type %s",
                             tlm_type_info(p->type) ? tlm_type_info(p->type)->name : "?");
    synth_job j = {.p = p};
    j.tensors = tlm_calloc(3 + (size_t)m->n_layer * 12, sizeof *j.tensors);
    tlm_gguf_writer *w = NULL;
    tlm_status st = TLM_ERR_NOMEM;
    if (!j.tensors || tlm_gguf_writer_create(&w)) {
        tlm_error_set(err, st, "synth: out of memory");
        goto done;
    }
    build_tensor_list(&j);
    if ((st = write_hparams(w, p)) || (st = tlm_gguf_set_u32(w, "general.file_type", file_type(p->type)))) {
        tlm_error_set(err, st, "synth: out of memory");
        goto done;
    }
    if (p->type != TLM_TYPE_F32 && p->type != TLM_TYPE_F16 && p->type != TLM_TYPE_BF16)
        tlm_gguf_set_u32(w, "general.quantization_version", 2);
    tlm_hf_import_opts io = tlm_hf_import_default_opts();
    io.n_vocab = m->n_vocab;
    io.bos_id = m->bos_id;
    io.control = m->it_control;
    io.n_control = m->n_it_control;
    io.chat_template = m->it_template ? tlm_chat_builtin_template(m->it_template) : NULL;
    if ((st = tlm_tokenizer_import_hf_ex(p->tokenizer_dir, &io, w, err))) goto done;
    for (size_t i = 0; i < j.n; i++) {
        synth_tensor *t = &j.tensors[i];
        if ((st = tlm_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, NULL, err))) goto done;
    }
    st = tlm_gguf_writer_write(w, path, fill, &j, err);
done:
    tlm_gguf_writer_free(w);
    free(j.tensors);
    free(j.row);
    return st;
}
