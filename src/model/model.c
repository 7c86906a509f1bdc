/*
 * model.c - loading a GGUF model: architecture lookup, tensor binding with
 * shape checks, vocabulary, and the public accessors of tinylm.h's "Models"
 * and "Tokens" sections.
 *
 * Binding checks every tensor the forward pass will touch against the
 * shape the hyperparameters imply, and that its type has kernels, so that
 * nothing after a successful load can index outside a tensor.  Messages
 * name the tensor and give expected and actual shapes in GGUF order
 * (ne0 = the contiguous dimension first).
 */
#include "model/model.h"

#include "chat/chat.h"
#include "core/threads.h"
#include "core/util.h"
#include "tensor/matmul.h"
#include "tensor/quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tlm_model_params tlm_model_default_params(void) {
    return (tlm_model_params){.n_threads = 0, .warmup = 0, .repack = 1};
}

/* ---- Tensor binding ---- */

typedef struct binder {
    tlm_model *m;
    tlm_error *err;
} binder;

static void fmt_shape(char *buf, size_t cap, const tlm_gguf_tensor *t) {
    int n = snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < t->n_dims && n > 0 && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%s%llu", i ? ", " : "",
                      (unsigned long long)t->ne[i]);
    if (n > 0 && (size_t)n < cap) snprintf(buf + n, cap - (size_t)n, "]");
}

static const tlm_gguf_tensor *find(binder *b, const char *name, bool required,
                                   tlm_status *st) {
    const tlm_gguf_tensor *t = tlm_gguf_find_tensor(b->m->gguf, name);
    *st = TLM_OK;
    if (!t && required)
        *st = tlm_error_set(b->err, TLM_ERR_FORMAT,
                            "model: tensor %s is missing (required by architecture %s)", name,
                            b->m->arch->name);
    return t;
}

static tlm_status shape_error(binder *b, const tlm_gguf_tensor *t, const char *name, int64_t ne0,
                              int64_t ne1) {
    char got[96];
    fmt_shape(got, sizeof got, t);
    if (ne1 > 0)
        return tlm_error_set(b->err, TLM_ERR_FORMAT,
                             "model: tensor %s has shape %s, expected [%lld, %lld]", name, got,
                             (long long)ne0, (long long)ne1);
    return tlm_error_set(b->err, TLM_ERR_FORMAT, "model: tensor %s has shape %s, expected [%lld]",
                         name, got, (long long)ne0);
}

/* A matrix of rows x cols (GGUF ne = [cols, rows]) with matmul kernels. */
static tlm_status bind_matrix(binder *b, const char *name, int64_t rows, int64_t cols,
                              bool required, tlm_weight *out) {
    tlm_status st;
    const tlm_gguf_tensor *t = find(b, name, required, &st);
    memset(out, 0, sizeof *out);
    if (!t) return st;
    if (t->n_dims > 2 || (int64_t)t->ne[0] != cols || (int64_t)t->ne[1] != rows)
        return shape_error(b, t, name, cols, rows);
    tlm_error e;
    if (tlm_matmul_check(t->type, cols, &e))
        return tlm_error_set(b->err, TLM_ERR_UNSUPPORTED, "model: tensor %s: %s", name, e.msg);
    *out = (tlm_weight){.type = t->type, .data = t->data, .rows = rows, .cols = cols,
                        .row_size = tlm_type_row_size(t->type, (uint64_t)cols)};
    return TLM_OK;
}

/* A vector of n floats, copied (converted if not F32) into a buffer the
 * model owns: norms and biases are tiny, and read in place they would keep
 * file pages resident around them (the page cache may map a file in 2 MiB
 * pages) that packed weights have let go. */
static tlm_status bind_vector(binder *b, const char *name, int64_t n, bool required,
                              const float **out) {
    tlm_status st;
    const tlm_gguf_tensor *t = find(b, name, required, &st);
    *out = NULL;
    if (!t) return st;
    if ((int64_t)t->ne[0] != n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1)
        return shape_error(b, t, name, n, 0);
    const tlm_quant_traits *qt = tlm_quant_info(t->type);
    if (t->type != TLM_TYPE_F32 && (!qt || !qt->to_float))
        return tlm_error_set(b->err, TLM_ERR_UNSUPPORTED, "model: tensor %s has type %s, which "
                             "cannot be converted to f32", name, tlm_type_info(t->type)->name);
    tlm_model *m = b->m;
    float **grown = tlm_realloc(m->owned, sizeof *m->owned * (size_t)(m->n_owned + 1));
    if (!grown) return tlm_error_set(b->err, TLM_ERR_NOMEM, "model: out of memory");
    m->owned = grown;
    float *v = tlm_malloc(sizeof(float) * (size_t)n);
    if (!v) return tlm_error_set(b->err, TLM_ERR_NOMEM, "model: out of memory");
    m->owned[m->n_owned++] = v;
    if (t->type == TLM_TYPE_F32) memcpy(v, t->data, sizeof(float) * (size_t)n);
    else qt->to_float(t->data, v, n);
    *out = v;
    return TLM_OK;
}

static tlm_status bind_layer(binder *b, int l) {
    const tlm_hparams *hp = &b->m->hp;
    tlm_layer *L = &b->m->layers[l];
    int64_t D = hp->n_embd, nq = (int64_t)hp->n_head * hp->head_dim;
    int64_t nkv = (int64_t)hp->n_head_kv * hp->head_dim;
    char n[TLM_GGUF_MAX_NAME + 16];
    tlm_status st;
#define NAME(suffix) (snprintf(n, sizeof n, "blk.%d." suffix, l), n)
    if ((st = bind_vector(b, NAME("attn_norm.weight"), D, true, &L->attn_norm)) ||
        (st = bind_matrix(b, NAME("attn_q.weight"), nq, D, true, &L->wq)) ||
        (st = bind_matrix(b, NAME("attn_k.weight"), nkv, D, true, &L->wk)) ||
        (st = bind_matrix(b, NAME("attn_v.weight"), nkv, D, true, &L->wv)) ||
        (st = bind_matrix(b, NAME("attn_output.weight"), D, nq, true, &L->wo)) ||
        (st = bind_vector(b, NAME("attn_q.bias"), nq, false, &L->bq)) ||
        (st = bind_vector(b, NAME("attn_k.bias"), nkv, false, &L->bk)) ||
        (st = bind_vector(b, NAME("attn_v.bias"), nkv, false, &L->bv)) ||
        (st = bind_vector(b, NAME("ffn_norm.weight"), D, true, &L->ffn_norm)) ||
        (st = bind_matrix(b, NAME("ffn_gate.weight"), hp->n_ff, D, true, &L->gate)) ||
        (st = bind_matrix(b, NAME("ffn_up.weight"), hp->n_ff, D, true, &L->up)) ||
        (st = bind_matrix(b, NAME("ffn_down.weight"), D, hp->n_ff, true, &L->down)))
        return st;
#undef NAME
    return TLM_OK;
}

/* The vocabulary size is the number of embedding rows, which can exceed
 * the token list (Gemma files padded to 256128 rows for 256000 tokens). */
static tlm_status bind_embeddings(binder *b) {
    tlm_model *m = b->m;
    tlm_status st;
    const tlm_gguf_tensor *t = find(b, "token_embd.weight", true, &st);
    if (!t) return st;
    if (t->n_dims != 2 || t->ne[1] == 0 || t->ne[1] > INT32_MAX)
        return tlm_error_set(b->err, TLM_ERR_FORMAT,
                             "model: tensor token_embd.weight must be [n_embd, n_vocab]");
    m->hp.n_vocab = (int32_t)t->ne[1];
    const tlm_quant_traits *qt = tlm_quant_info(t->type);
    if (t->type != TLM_TYPE_F32 && (!qt || !qt->to_float))
        return tlm_error_set(b->err, TLM_ERR_UNSUPPORTED,
                             "model: token_embd.weight has type %s, which cannot be read",
                             tlm_type_info(t->type)->name);
    if ((st = bind_matrix(b, "token_embd.weight", m->hp.n_vocab, m->hp.n_embd, true,
                          &m->tok_embd)) ||
        (st = bind_matrix(b, "output.weight", m->hp.n_vocab, m->hp.n_embd, false, &m->output)) ||
        (st = bind_vector(b, "output_norm.weight", m->hp.n_embd, true, &m->out_norm)) ||
        (st = bind_vector(b, "rope_freqs.weight", m->hp.n_rot / 2, false, &m->rope_freqs)))
        return st;
    if (!m->output.data) m->output = m->tok_embd; /* tied */
    return TLM_OK;
}

static tlm_status bind_all(tlm_model *m, tlm_error *err) {
    binder b = {m, err};
    tlm_status st = bind_embeddings(&b);
    if (st) return st;
    m->layers = tlm_calloc((size_t)m->hp.n_layer, sizeof *m->layers);
    if (!m->layers) return tlm_error_set(err, TLM_ERR_NOMEM, "model: out of memory");
    for (int l = 0; l < m->hp.n_layer; l++)
        if ((st = bind_layer(&b, l))) return st;
    return TLM_OK;
}

/* ---- Metadata ---- */

static tlm_status copy_meta_strings(tlm_model *m, tlm_error *err) {
    uint64_t n = tlm_gguf_n_kv(m->gguf);
    m->meta_str = tlm_calloc((size_t)n, sizeof *m->meta_str);
    if (!m->meta_str) return tlm_error_set(err, TLM_ERR_NOMEM, "model: out of memory");
    for (uint64_t i = 0; i < n; i++) {
        const tlm_gguf_kv *kv = tlm_gguf_kv_at(m->gguf, i);
        if (kv->value.type != TLM_GGUF_STRING) continue;
        m->meta_str[i] = tlm_strndup(kv->value.v.str.ptr, (size_t)kv->value.v.str.len);
        if (!m->meta_str[i]) return tlm_error_set(err, TLM_ERR_NOMEM, "model: out of memory");
    }
    return TLM_OK;
}

static tlm_status set_names(tlm_model *m, const char *path, tlm_error *err) {
    m->path = tlm_strdup(path);
    const char *base = strrchr(path, '/');
    const char *name = tlm_model_meta_str(m, "general.name");
    m->name = tlm_strdup(name ? name : base ? base + 1 : path);
    if (!m->path || !m->name) return tlm_error_set(err, TLM_ERR_NOMEM, "model: out of memory");
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(m->gguf); i++) {
        const tlm_gguf_tensor *t = tlm_gguf_tensor_at(m->gguf, i);
        m->n_params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        m->size += t->nbytes;
    }
    m->synth = tlm_gguf_find_kv(m->gguf, "tinylm.synth.seed") != NULL;
    return TLM_OK;
}

static tlm_status load_vocab(tlm_model *m, tlm_error *err) {
    tlm_status st = tlm_vocab_load(m->gguf, &m->vocab, err);
    if (st) return st;
    int32_t n_tok = tlm_vocab_n_tokens(m->vocab);
    if (n_tok > m->hp.n_vocab)
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "model: the token list has %d entries but token_embd.weight has "
                             "only %d rows",
                             n_tok, m->hp.n_vocab);
    return TLM_OK;
}

static tlm_status find_arch(tlm_model *m, tlm_error *err) {
    tlm_gguf_str a;
    tlm_status st = tlm_gguf_get_str(m->gguf, "general.architecture", &a, err);
    if (st == TLM_ERR_NOT_FOUND)
        return tlm_error_set(err, TLM_ERR_FORMAT, "model: general.architecture is missing");
    if (st) return st;
    m->arch = tlm_arch_find(a.ptr, (size_t)a.len);
    if (!m->arch)
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED,
                             "model: unknown architecture '%.*s' (supported: llama, qwen2, "
                             "gemma)",
                             (int)TLM_MIN(a.len, 64), a.ptr);
    return TLM_OK;
}

/* Runs one token through a small context so first-use costs (page faults
 * of the first layers, kernel dispatch) are paid at load. */
static tlm_status warm_up(tlm_model *m, const tlm_model_params *p, tlm_error *err) {
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_ctx = 16;
    cp.n_batch = 1;
    cp.n_threads = p->n_threads;
    tlm_ctx *ctx = NULL;
    tlm_status st = tlm_ctx_create(m, &cp, &ctx, err);
    if (st) return st;
    tlm_token tok = tlm_model_bos(m) >= 0 ? tlm_model_bos(m) : 0;
    int32_t pos = 0, seq = 0;
    int8_t want = 1;
    tlm_batch batch = {1, &tok, &pos, &seq, &want};
    st = tlm_ctx_decode(ctx, &batch, err);
    tlm_ctx_free(ctx);
    return st;
}

tlm_status tlm_model_load(const char *path, const tlm_model_params *params, tlm_model **out,
                          tlm_error *err) {
    if (out) *out = NULL;
    if (!path || !out) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "model: no path given");
    tlm_model_params p = params ? *params : tlm_model_default_params();
    tlm_model *m = tlm_calloc(1, sizeof *m);
    if (!m) return tlm_error_set(err, TLM_ERR_NOMEM, "model: out of memory");
    tlm_status st;
    if ((st = tlm_gguf_open(path, &m->gguf, err)) || (st = find_arch(m, err)) ||
        (st = tlm_hparams_read(m->gguf, m->arch, &m->hp, err)) || (st = bind_all(m, err)) ||
        (st = tlm_model_pack(m, &p, err)) ||
        (st = copy_meta_strings(m, err)) || (st = load_vocab(m, err)) ||
        (st = set_names(m, path, err)) || (p.warmup && (st = warm_up(m, &p, err)))) {
        tlm_model_free(m);
        return st;
    }
    *out = m;
    return TLM_OK;
}

void tlm_model_free(tlm_model *m) {
    if (!m) return;
    if (m->grammar.data && m->grammar.free) m->grammar.free(m->grammar.data);
    if (m->meta_str)
        for (uint64_t i = 0; i < tlm_gguf_n_kv(m->gguf); i++) free(m->meta_str[i]);
    free(m->meta_str);
    for (int32_t i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    tlm_free_pages(m->packed, m->packed_size);
    tlm_vocab_free(m->vocab);
    tlm_gguf_free(m->gguf);
    free(m->path);
    free(m->name);
    free(m);
}

/* ---- Accessors ---- */

/* Matrices per layer in tlm_model_matrices' list (a longer list does not
 * compile: excess initializers are an error under -Werror). */
#define LAYER_MATRICES 7

size_t tlm_model_matrices_cap(const tlm_model *m) {
    return (size_t)m->hp.n_layer * LAYER_MATRICES + 1;
}

int tlm_model_matrices(tlm_model *m, tlm_weight **out) {
    int n = 0;
    for (int l = 0; l < m->hp.n_layer; l++) {
        tlm_layer *L = &m->layers[l];
        tlm_weight *w[LAYER_MATRICES] = {&L->wq,   &L->wk, &L->wv,  &L->wo,
                                         &L->gate, &L->up, &L->down};
        for (size_t i = 0; i < TLM_ARRAY_LEN(w); i++)
            if (w[i]->data) out[n++] = w[i];
    }
    out[n++] = &m->output;
    return n;
}

const tlm_vocab *tlm_model_vocab(const tlm_model *m) { return m->vocab; }
tlm_model_ext *tlm_model_grammar_ext(const tlm_model *m) { return &((tlm_model *)m)->grammar; }
const char *tlm_model_arch(const tlm_model *m) { return m->arch->name; }
const char *tlm_model_name(const tlm_model *m) { return m->name; }
const char *tlm_model_path(const tlm_model *m) { return m->path; }
int32_t tlm_model_n_vocab(const tlm_model *m) { return m->hp.n_vocab; }
int32_t tlm_model_n_ctx_train(const tlm_model *m) { return m->hp.n_ctx_train; }
int32_t tlm_model_n_embd(const tlm_model *m) { return m->hp.n_embd; }
int32_t tlm_model_n_layer(const tlm_model *m) { return m->hp.n_layer; }
uint64_t tlm_model_n_params(const tlm_model *m) { return m->n_params; }
uint64_t tlm_model_size(const tlm_model *m) { return m->size; }
int tlm_model_is_synth(const tlm_model *m) { return m->synth; }

const char *tlm_model_meta_str(const tlm_model *m, const char *key) {
    if (!m || !key || !m->meta_str) return NULL;
    for (uint64_t i = 0; i < tlm_gguf_n_kv(m->gguf); i++) {
        const tlm_gguf_kv *kv = tlm_gguf_kv_at(m->gguf, i);
        if (m->meta_str[i] && tlm_gguf_str_eq(kv->key, key)) return m->meta_str[i];
    }
    return NULL;
}

/* ---- Tokens ---- */

tlm_token tlm_model_bos(const tlm_model *m) { return tlm_vocab_bos(m->vocab); }
tlm_token tlm_model_eos(const tlm_model *m) { return tlm_vocab_eos(m->vocab); }

/* Gemma degrades badly without BOS, so it gets one even from a file that
 * forgot add_bos_token; other models follow their metadata. */
int tlm_model_add_bos(const tlm_model *m) {
    if (tlm_vocab_bos(m->vocab) < 0) return 0;
    return m->arch->arch == TLM_ARCH_GEMMA || tlm_vocab_add_bos(m->vocab);
}

int tlm_model_is_eog(const tlm_model *m, tlm_token t) { return tlm_vocab_is_eog(m->vocab, t); }

tlm_status tlm_model_tokenize(const tlm_model *m, const char *text, size_t len, int add_bos,
                              int parse_special, tlm_token *out, int32_t cap, int32_t *n_out,
                              tlm_error *err) {
    if (!m || (!text && len) || (!out && cap > 0) || cap < 0 || !n_out)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "tokenize: invalid arguments");
    int32_t off = add_bos && tlm_model_add_bos(m) ? 1 : 0;
    size_t room = cap > off ? (size_t)(cap - off) : 0, n = 0;
    tlm_status st = tlm_tokenize_into(m->vocab, text ? text : "", len, false, parse_special != 0,
                                      room ? out + off : NULL, room, &n, err);
    if (st && st != TLM_ERR_RANGE) return st;
    if (n + (size_t)off > INT32_MAX)
        return tlm_error_set(err, TLM_ERR_RANGE, "tokenize: text too long");
    *n_out = (int32_t)n + off;
    if (st || *n_out > cap)
        return tlm_error_set(err, TLM_ERR_RANGE, "tokenize: %d tokens do not fit in %d", *n_out,
                             cap);
    if (off) out[0] = tlm_vocab_bos(m->vocab);
    return TLM_OK;
}

int32_t tlm_model_token_to_bytes(const tlm_model *m, tlm_token t, char *buf, int32_t cap) {
    if (!m || t < 0 || t >= tlm_vocab_n_tokens(m->vocab) || cap < 0) return -1;
    size_t n = tlm_vocab_token_to_bytes(m->vocab, t, false, buf, (size_t)cap);
    return n > INT32_MAX ? -1 : (int32_t)n;
}

/* The file's own template, else the chat module's built-in for this
 * architecture and vocabulary (Gemma files carry none). */
const char *tlm_model_chat_template(const tlm_model *m) {
    const char *t = tlm_model_meta_str(m, "tokenizer.chat_template");
    return t ? t : tlm_chat_builtin_template(tlm_chat_builtin_for_gguf(m->gguf));
}
