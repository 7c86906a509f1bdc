/*
 * quantize.h - converting a GGUF model to another weight type, the library
 * side of `tinylm quantize`.
 *
 * A recipe ("Q4_K_M", "Q8_0", "F16", ...) names a llama.cpp file type
 * (general.file_type) and decides the type of every tensor with the same
 * rules llama-quantize uses (engine-facts 2.1), so a model converted here
 * has the tensor types users expect from the name:
 *   - only tensors of >= 2 dims named "*weight" (not "*_norm.weight" and not
 *     a few small special tensors) are converted; the rest are copied;
 *   - the output matrix, and token_embd when it doubles as the output (no
 *     output.weight), becomes Q8_0 if its width is not a multiple of the
 *     recipe's block, else Q6_K (Q8_0 recipes keep Q8_0);
 *   - the K-quant mixes give some attn_v / ffn_down / attn_output layers
 *     more bits (use_more_bits: the first and last eighth of the layers and
 *     every third one between);
 *   - a width that the chosen type's block does not divide falls back:
 *     Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0, Q2_K/Q3_K->Q4_0, and to F16 if
 *     the fallback does not divide it either.
 * Any source type with conversions (F32, F16, BF16, any quant) is accepted:
 * rows are dequantized and quantized again; a tensor already of its target
 * type is copied byte for byte.
 */
#ifndef TLM_MODEL_QUANTIZE_H
#define TLM_MODEL_QUANTIZE_H

#include "gguf/gguf.h"
#include "tinylm.h"
#include "tensor/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* llama.cpp's llama_ftype ids, written as general.file_type. */
typedef enum tlm_ftype {
    TLM_FTYPE_ALL_F32 = 0,
    TLM_FTYPE_MOSTLY_F16 = 1,
    TLM_FTYPE_MOSTLY_Q4_0 = 2,
    TLM_FTYPE_MOSTLY_Q4_1 = 3,
    TLM_FTYPE_MOSTLY_Q8_0 = 7,
    TLM_FTYPE_MOSTLY_Q5_0 = 8,
    TLM_FTYPE_MOSTLY_Q5_1 = 9,
    TLM_FTYPE_MOSTLY_Q2_K = 10,
    TLM_FTYPE_MOSTLY_Q3_K_S = 11,
    TLM_FTYPE_MOSTLY_Q3_K_M = 12,
    TLM_FTYPE_MOSTLY_Q3_K_L = 13,
    TLM_FTYPE_MOSTLY_Q4_K_S = 14,
    TLM_FTYPE_MOSTLY_Q4_K_M = 15,
    TLM_FTYPE_MOSTLY_Q5_K_S = 16,
    TLM_FTYPE_MOSTLY_Q5_K_M = 17,
    TLM_FTYPE_MOSTLY_Q6_K = 18,
    TLM_FTYPE_MOSTLY_Q2_K_S = 21,
    TLM_FTYPE_MOSTLY_BF16 = 32,
} tlm_ftype;

typedef struct tlm_quant_recipe {
    const char *name;    /* "Q4_K_M" */
    tlm_ftype ftype;     /* written as general.file_type */
    tlm_type base;       /* type of the tensors no rule singles out */
    const char *summary; /* one line for --help */
} tlm_quant_recipe;

/* The recipe for a name, case-insensitive; "Q3_K", "Q4_K" and "Q5_K" are
 * the _M mixes, as in llama-quantize.  NULL when unknown.  The result is
 * static. */
const tlm_quant_recipe *tlm_quant_recipe_find(const char *name);

/* Recipe i in display order, NULL past the end (for listing them). */
const tlm_quant_recipe *tlm_quant_recipe_at(size_t i);

/* ---- Planning: the type of each tensor ---- */

typedef struct tlm_quant_tensor {
    const char *name; /* borrowed */
    uint32_t n_dims;
    uint64_t ne[4]; /* ne[0] innermost; unused dims 1 */
    tlm_type type;  /* source type */
} tlm_quant_tensor;

typedef struct tlm_quant_plan_params {
    uint32_t n_layer; /* {arch}.block_count; 0 = count the ffn_down tensors */
    uint32_t n_gqa;   /* head_count / head_count_kv; 0 = unknown (as 1) */
    bool pure;        /* every converted tensor gets the base type (still
                         with width fallbacks): no mix, no output rule */
} tlm_quant_plan_params;

/* t itself when its block divides a row of ne0 values; otherwise the
 * nearest type that fits (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0,
 * Q2_K/Q3_K -> Q4_0), or F16 when that does not fit either: what the
 * reference quantizer does for Qwen's 896-wide matrices. */
tlm_type tlm_quant_width_fallback(tlm_type t, uint64_t ne0);

/* Fills out_types[i] with the type tensor i gets under recipe r (tensors
 * that are not converted keep their source type).  Layers are taken from
 * "blk.N." in the names, so the result does not depend on tensor order.
 * Returns the number of tensors that needed a width fallback.  Pure
 * function of its arguments; p may be NULL for defaults. */
size_t tlm_quant_plan(const tlm_quant_recipe *r, const tlm_quant_plan_params *p,
                      const tlm_quant_tensor *tensors, size_t n, tlm_type *out_types);

/* The plan for an open GGUF file (see gguf/gguf.h): the hyperparameters
 * come from its {arch}.block_count / attention.head_count(_kv) keys.  On
 * success *out_types holds one type per tensor in file order (free with
 * tlm_free()) and *out_n_fallback (may be NULL) the fallback count.
 * TLM_ERR_INVALID_ARG for an unknown recipe, TLM_ERR_NOMEM. */
tlm_status tlm_quantize_plan_file(const tlm_gguf *in, const char *recipe, bool pure,
                                  tlm_type **out_types, size_t *out_n_fallback, tlm_error *err);

/* ---- Converting a file ---- */

typedef struct tlm_quantize_progress {
    uint64_t i_tensor; /* tensor being written (file order) */
    uint64_t n_tensors;
    const char *name; /* its name, valid during the call */
    tlm_type from, to;
    uint64_t elems_done; /* elements of all tensors finished so far */
    uint64_t elems_total;
} tlm_quantize_progress;

/* Called from the converting thread after each tensor and every few
 * million elements inside big ones.  Return false to cancel (the call then
 * fails with TLM_ERR_CANCELLED and no output file is left). */
typedef bool (*tlm_quantize_progress_fn)(void *user, const tlm_quantize_progress *p);

typedef struct tlm_quantize_params {
    bool pure;                         /* see tlm_quant_plan_params */
    int n_threads;                     /* 0 = every online CPU */
    tlm_quantize_progress_fn progress; /* may be NULL */
    void *user;                        /* passed to progress */
} tlm_quantize_params;

tlm_quantize_params tlm_quantize_default_params(void);

typedef struct tlm_quantize_stats {
    uint64_t n_tensors;
    uint64_t n_converted; /* re-encoded to another type */
    uint64_t n_fallback;  /* of which took a width fallback type */
    uint64_t bytes_in;    /* tensor data bytes read */
    uint64_t bytes_out;   /* tensor data bytes written */
    tlm_ftype ftype;
    double seconds;
} tlm_quantize_stats;

/* Converts the GGUF model at in_path to recipe (a name for
 * tlm_quant_recipe_find) and writes it to out_path, copying all metadata
 * and setting general.file_type (and general.quantization_version = 2 for
 * quantized recipes).  Works one tensor at a time: memory is the mapped
 * input plus the largest output tensor.  out_path is replaced atomically; on
 * failure nothing is left there.  params may be NULL (defaults); out_stats
 * may be NULL.  Errors: TLM_ERR_INVALID_ARG (unknown recipe), the reader's
 * errors for a bad input, TLM_ERR_RANGE (a non-finite value in a tensor
 * being converted, named with its index), TLM_ERR_IO, TLM_ERR_NOMEM,
 * TLM_ERR_CANCELLED. */
tlm_status tlm_quantize_model(const char *in_path, const char *out_path, const char *recipe,
                              const tlm_quantize_params *params, tlm_quantize_stats *out_stats,
                              tlm_error *err);

#endif /* TLM_MODEL_QUANTIZE_H */
