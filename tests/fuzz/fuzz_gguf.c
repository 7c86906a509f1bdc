/*
 * fuzz_gguf.c - libFuzzer target for the GGUF reader.  Any input must parse
 * or fail with a status; never crash, leak, read out of bounds or allocate
 * beyond the file size plus the reader's fixed slack.
 */
#include "gguf/gguf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tlm_gguf *g;
    tlm_error err;
    if (tlm_gguf_open_memory(data, size, &g, &err) != TLM_OK) return 0;
    if (tlm_gguf_alloc_used(g) > size + (1u << 20)) abort();
    /* Touch everything the reader handed out, so a bad pointer shows. */
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < tlm_gguf_n_kv(g); i++) {
        const tlm_gguf_kv *kv = tlm_gguf_kv_at(g, i);
        if (kv->key.len) sink += (uint8_t)kv->key.ptr[kv->key.len - 1];
        if (kv->value.type == TLM_GGUF_ARRAY && kv->value.v.arr.type == TLM_GGUF_STRING)
            for (uint64_t j = 0; j < kv->value.v.arr.n; j++)
                sink += tlm_gguf_arr_str(&kv->value, j).len;
        if (kv->value.type == TLM_GGUF_ARRAY && tlm_gguf_vtype_size(kv->value.v.arr.type))
            for (uint64_t j = 0; j < kv->value.v.arr.n; j++)
                sink += (uint64_t)tlm_gguf_arr_i64(&kv->value, j);
    }
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(g); i++) {
        const tlm_gguf_tensor *t = tlm_gguf_tensor_at(g, i);
        if (t->nbytes) sink += ((const uint8_t *)t->data)[t->nbytes - 1];
        char name[TLM_GGUF_MAX_NAME];
        memcpy(name, t->name.ptr, t->name.len);
        name[t->name.len] = 0;
        if (tlm_gguf_find_tensor(g, name) != t) abort();
    }
    (void)sink;
    tlm_gguf_free(g);
    return 0;
}
