/*
 * types.c - block geometry of every GGUF tensor type (see types.h).
 * Sizes follow the block structs in blocks.h; a static assertion there keeps
 * the two in step.
 */
#include "tensor/types.h"

#include <strings.h>

static const tlm_type_traits traits[TLM_TYPE_COUNT] = {
    [TLM_TYPE_F32] = {"f32", 1, 4, true},
    [TLM_TYPE_F16] = {"f16", 1, 2, true},
    [TLM_TYPE_Q4_0] = {"q4_0", 32, 18, true},
    [TLM_TYPE_Q4_1] = {"q4_1", 32, 20, true},
    [TLM_TYPE_Q5_0] = {"q5_0", 32, 22, true},
    [TLM_TYPE_Q5_1] = {"q5_1", 32, 24, true},
    [TLM_TYPE_Q8_0] = {"q8_0", 32, 34, true},
    [TLM_TYPE_Q8_1] = {"q8_1", 32, 36, false},
    [TLM_TYPE_Q2_K] = {"q2_K", 256, 84, true},
    [TLM_TYPE_Q3_K] = {"q3_K", 256, 110, true},
    [TLM_TYPE_Q4_K] = {"q4_K", 256, 144, true},
    [TLM_TYPE_Q5_K] = {"q5_K", 256, 176, true},
    [TLM_TYPE_Q6_K] = {"q6_K", 256, 210, true},
    [TLM_TYPE_Q8_K] = {"q8_K", 256, 292, false},
    [TLM_TYPE_I8] = {"i8", 1, 1, false},
    [TLM_TYPE_I16] = {"i16", 1, 2, false},
    [TLM_TYPE_I32] = {"i32", 1, 4, false},
    [TLM_TYPE_I64] = {"i64", 1, 8, false},
    [TLM_TYPE_F64] = {"f64", 1, 8, false},
    [TLM_TYPE_BF16] = {"bf16", 1, 2, true},
};

const tlm_type_traits *tlm_type_info(uint32_t type) {
    if (type >= TLM_TYPE_COUNT || !traits[type].name) return NULL;
    return &traits[type];
}

bool tlm_type_from_name(const char *name, tlm_type *out) {
    for (int t = 0; t < TLM_TYPE_COUNT; t++) {
        if (traits[t].name && strcasecmp(traits[t].name, name) == 0) {
            *out = (tlm_type)t;
            return true;
        }
    }
    return false;
}

size_t tlm_type_row_size(tlm_type type, uint64_t n) {
    const tlm_type_traits *tr = tlm_type_info(type);
    if (!tr || n % tr->blck) return 0;
    return (size_t)(n / tr->blck * tr->size);
}
