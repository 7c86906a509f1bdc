/*
 * model.h - the loaded model as the engine sees it (internal).
 *
 * A tlm_model is built once by tlm_model_load (model.c) and never changes
 * afterwards, so any number of contexts and threads may read it at once.
 * Matrices point straight into the GGUF mapping in the type the file stores
 * them in; only small vectors (norm weights and biases stored in a type
 * other than F32) are converted into buffers the model owns.
 *
 * Architectures differ only in data (arch.c's registry): RoPE layout, FFN
 * activation, embedding scale, default epsilon.  The forward pass
 * (forward.c) reads these flags; there is no per-architecture code path to
 * keep in sync.
 */
#ifndef TLM_MODEL_MODEL_H
#define TLM_MODEL_MODEL_H

#include "gguf/gguf.h"
#include "tensor/matmul.h"
#include "tensor/types.h"
#include "tinylm.h"
#include "tokenizer/tokenizer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum tlm_arch {
    TLM_ARCH_LLAMA = 0,
    TLM_ARCH_QWEN2 = 1,
    TLM_ARCH_GEMMA = 2,
    TLM_ARCH_COUNT
} tlm_arch;

typedef enum tlm_ffn_act {
    TLM_ACT_SILU = 0,      /* SwiGLU: down(silu(gate) * up) */
    TLM_ACT_GELU_TANH = 1, /* GeGLU with the tanh approximation of GELU */
} tlm_ffn_act;

/* What distinguishes one architecture from another, as data. */
typedef struct tlm_arch_info {
    const char *name;          /* general.architecture */
    tlm_arch arch;
    bool rope_neox;            /* rotate pairs (i, i + n_rot/2), else (2i, 2i+1) */
    tlm_ffn_act act;
    bool scale_embd;           /* multiply embeddings by sqrt(n_embd) (Gemma) */
    float eps_default;         /* RMSNorm epsilon when the file has none */
} tlm_arch_info;

/* The registry entry for an architecture name, or NULL when unknown. */
const tlm_arch_info *tlm_arch_find(const char *name, size_t len);

typedef struct tlm_hparams {
    int32_t n_vocab;        /* rows of token_embd (may exceed the token list) */
    int32_t n_ctx_train;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;       /* attention.key_length, else n_embd / n_head */
    int32_t n_ff;
    int32_t n_rot;          /* rope.dimension_count, else head_dim */
    float eps;
    float rope_base;        /* rope.freq_base, else 10000 */
    float rope_freq_scale;  /* 1 / linear scaling factor; 1 = none */
} tlm_hparams;

/* Reads the hyperparameters of g for arch (defaults as documented above).
 * Shapes are checked against the tensors later, by the binder. */
tlm_status tlm_hparams_read(const tlm_gguf *g, const tlm_arch_info *arch, tlm_hparams *hp,
                            tlm_error *err);

/* A matrix in the mapping: rows x cols elements of type, row-major. */
typedef struct tlm_weight {
    tlm_type type;
    const void *data;       /* in the mapping, or in the model's packed arena (X16) */
    int64_t rows, cols;     /* GGUF ne[1], ne[0] */
    size_t row_size;        /* bytes per row (of the layout) */
    tlm_mm_layout layout;   /* GGUF as mapped, or X16 in the model's packed arena */
} tlm_weight;

/* y = rows [lo, hi) of w times the n_tok rows of x (lo a multiple of 64,
 * y n_tok x (hi - lo)); see tlm_matmul_multi. */
static inline tlm_status tlm_weight_matmul(tlm_pool *pool, const tlm_weight *w, int64_t lo,
                                           int64_t hi, const float *x, int64_t n_tok, float *y,
                                           void *scratch) {
    tlm_matmul_op op = {w->type, (const uint8_t *)w->data + (size_t)lo * w->row_size, hi - lo, y,
                        w->layout};
    return tlm_matmul_multi(pool, &op, 1, w->cols, x, n_tok, scratch);
}

typedef struct tlm_layer {
    const float *attn_norm;        /* (n_embd) */
    tlm_weight wq;                 /* (n_head * head_dim, n_embd) */
    tlm_weight wk, wv;             /* (n_head_kv * head_dim, n_embd) */
    tlm_weight wo;                 /* (n_embd, n_head * head_dim) */
    const float *bq, *bk, *bv;     /* biases (Qwen2) or NULL */
    const float *ffn_norm;         /* (n_embd) */
    tlm_weight gate, up, down;     /* (n_ff, n_embd) x2, (n_embd, n_ff) */
} tlm_layer;

/* Data another subsystem derives from the model once and keeps for the
 * model's lifetime (the grammar vocabulary, built lazily by
 * src/grammar/structured.c).  The deriving subsystem serializes access;
 * tlm_model_free calls free(data) when both are set. */
typedef struct tlm_model_ext {
    void *data;
    void (*free)(void *data);
} tlm_model_ext;

struct tlm_model {
    tlm_gguf *gguf;                /* owns the mapping every weight points into */
    const tlm_arch_info *arch;
    tlm_hparams hp;
    tlm_weight tok_embd;           /* (n_vocab, n_embd) */
    tlm_weight output;             /* (n_vocab, n_embd); token_embd when tied */
    const float *out_norm;         /* (n_embd) */
    const float *rope_freqs;       /* (n_rot/2) frequency divisors, or NULL */
    tlm_layer *layers;             /* (n_layer), owned */
    tlm_vocab *vocab;              /* owned */
    char *path, *name;             /* owned */
    char **meta_str;               /* (n_kv) NUL-terminated copies of string values, owned */
    float **owned;                 /* converted vectors, owned */
    int32_t n_owned;
    bool synth;
    uint64_t n_params, size;
    tlm_model_ext grammar;         /* the grammar vocabulary (src/grammar/structured.c) */
    void *packed;                  /* X16 copies of weights (pack.c), owned; tlm_free_pages */
    size_t packed_size;
};

/* The matrices a forward pass multiplies, layer by layer and then output
 * (the token embeddings only through output, when tied), into out, which
 * has room for tlm_model_matrices_cap(m); returns how many.  The pointers
 * are into m, writable for the packer. */
int tlm_model_matrices(tlm_model *m, tlm_weight **out);
size_t tlm_model_matrices_cap(const tlm_model *m);

/* Packs the weights the active kernels multiply faster in the X16 layout
 * (pack.c) unless p->repack is 0 or TLM_REPACK=0; called by
 * tlm_model_load once the tensors are bound. */
tlm_status tlm_model_pack(tlm_model *m, const tlm_model_params *p, tlm_error *err);

/* Whether loading with p packs weights: TLM_REPACK when set (0 = no),
 * else p->repack.  Also asked by `tinylm bench --kernels`, which measures
 * the layout the engine would use. */
bool tlm_model_repack_enabled(const tlm_model_params *p);

/* The model's vocabulary (borrowed). */
const tlm_vocab *tlm_model_vocab(const tlm_model *model);
/* The slot for the grammar vocabulary (see tlm_model_ext).  Writable
 * through a const model because the cache does not change what the model
 * computes. */
tlm_model_ext *tlm_model_grammar_ext(const tlm_model *model);

#endif /* TLM_MODEL_MODEL_H */
