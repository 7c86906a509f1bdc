/*
 * types.h - the GGUF tensor element types tinylm knows, with their block
 * geometry.  Type ids are the on-disk ggml ids, so a value read from a file
 * can be checked against this table directly.  Block layouts live in
 * blocks.h; conversion routines in quant.h.
 */
#ifndef TLM_TENSOR_TYPES_H
#define TLM_TENSOR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* On-disk ids (ggml's enum ggml_type).  Gaps are ids we do not support. */
typedef enum tlm_type {
    TLM_TYPE_F32 = 0,
    TLM_TYPE_F16 = 1,
    TLM_TYPE_Q4_0 = 2,
    TLM_TYPE_Q4_1 = 3,
    TLM_TYPE_Q5_0 = 6,
    TLM_TYPE_Q5_1 = 7,
    TLM_TYPE_Q8_0 = 8,
    TLM_TYPE_Q8_1 = 9,
    TLM_TYPE_Q2_K = 10,
    TLM_TYPE_Q3_K = 11,
    TLM_TYPE_Q4_K = 12,
    TLM_TYPE_Q5_K = 13,
    TLM_TYPE_Q6_K = 14,
    TLM_TYPE_Q8_K = 15,
    TLM_TYPE_I8 = 24,
    TLM_TYPE_I16 = 25,
    TLM_TYPE_I32 = 26,
    TLM_TYPE_I64 = 27,
    TLM_TYPE_F64 = 28,
    TLM_TYPE_BF16 = 30,
    TLM_TYPE_COUNT = 31,
} tlm_type;

typedef struct tlm_type_traits {
    const char *name;   /* "q4_K", as ggml spells it; NULL = unknown id */
    uint32_t blck;      /* elements per block */
    uint32_t size;      /* bytes per block */
    bool weight;        /* usable as a model weight (not activation-only) */
} tlm_type_traits;

/* Traits for an id, or NULL when the id is not a known type. */
const tlm_type_traits *tlm_type_info(uint32_t type);

/* Type by case-insensitive name ("Q8_0", "f16"); returns false if unknown. */
bool tlm_type_from_name(const char *name, tlm_type *out);

/* Bytes of one row of n elements; 0 if n is not a multiple of the block. */
size_t tlm_type_row_size(tlm_type type, uint64_t n);

#endif /* TLM_TENSOR_TYPES_H */
