/*
 * gguf_impl.h - the reader's private state, shared by the files of
 * src/gguf/ only.
 */
#ifndef TLM_GGUF_IMPL_H
#define TLM_GGUF_IMPL_H

#include "core/util.h"
#include "gguf/gguf.h"

/* Open-addressing table of indices into kvs/tensors (slot = index + 1). */
typedef struct tlm_gguf_table {
    uint64_t *slots;
    uint64_t mask;
} tlm_gguf_table;

struct tlm_gguf {
    const uint8_t *base;      /* the file image; owned when mapped */
    uint64_t size;
    bool mapped;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;     /* start of the tensor data section */
    uint64_t n_kv, n_tensors;
    tlm_gguf_kv *kvs;         /* (n_kv) */
    tlm_gguf_tensor *tensors; /* (n_tensors) */
    tlm_gguf_table kv_table, tensor_table;
    uint64_t alloc_budget;    /* file size + slack */
    uint64_t alloc_used;
};

#endif /* TLM_GGUF_IMPL_H */
