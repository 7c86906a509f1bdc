/*
 * synth.h - shape-faithful models with random weights.
 *
 * Real weights cannot be downloaded where tinylm is developed and tested, so
 * the engine, its speed and its memory are exercised on files that have a
 * real model's architecture, dimensions, tensor names, metadata keys and
 * tokenizer, and seeded random weights.  The weights are scaled so that
 * attention is sharp and the output distribution peaked: with small uniform
 * weights every position looks alike and bugs in RoPE or masking would not
 * move the logits.
 */
#ifndef TLM_MODEL_SYNTH_H
#define TLM_MODEL_SYNTH_H

#include "gguf/gguf.h"
#include "tinylm.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct tlm_synth_preset {
    const char *name;          /* "qwen2.5-0.5b" */
    const char *arch;          /* general.architecture */
    const char *tokenizer;     /* default tokenizer: "qwen2_5" or "gemma" */
    uint32_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
    float rope_base;           /* 0 = write no key (Gemma) */
    float rms_eps;
    bool qkv_bias;             /* Qwen2 */
    bool tied_output;          /* no output.weight */
    bool write_head_dim;       /* attention.key_length/value_length keys */
    bool norm_plus_one;        /* norm weights stored as 1+w (Gemma) */
    int32_t bos_id;            /* from the model's config.json when the tokenizer
                                  config names none (Qwen); -1 = none */
    /* The instruction-tuned model's additions to a base tokenizer: turn
     * markers that are control tokens, and the built-in chat template to
     * write when the tokenizer config has none (the npm Gemma tokenizer is
     * the base model's, which has neither). */
    const char *const *it_control;
    int32_t n_it_control;
    const char *it_template;   /* tlm_chat_builtin_template name, or NULL */
} tlm_synth_preset;

/* The preset of that name, or NULL.  tlm_synth_preset_at(i) walks them all
 * (NULL past the end). */
const tlm_synth_preset *tlm_synth_find_preset(const char *name);
const tlm_synth_preset *tlm_synth_preset_at(int i);

typedef struct tlm_synth_params {
    const tlm_synth_preset *preset;
    const char *tokenizer_dir;  /* Hugging Face tokenizer.json directory */
    tlm_type type;              /* weight type of the matrices */
    uint64_t seed;
    float rope_base_override;   /* 0 = preset's; tests use it to prove RoPE matters */
    /* Progress: called after each tensor (may be NULL). */
    void (*progress)(void *user, uint64_t done, uint64_t total);
    void *user;
} tlm_synth_params;

/* Writes the model to path (atomically).  Matrices are produced one at a
 * time, so memory stays at one tensor however large the model. */
tlm_status tlm_synth_write(const tlm_synth_params *p, const char *path, tlm_error *err);

#endif /* TLM_MODEL_SYNTH_H */
