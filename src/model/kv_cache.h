/*
 * kv_cache.h - the key/value cache of a context (internal).
 *
 * The cache is a pool of n_cells cells shared by up to 64 sequences.  A cell
 * holds one position's keys and values for every layer and a bit set of the
 * sequences that see it, so a shared prompt prefix is stored once: copying
 * a sequence only sets bits (tlm_kv_seq_cp), and a cell is freed when its
 * last sequence lets go of it.
 *
 * Storage, per layer, is [cell][kv_head][head_dim] in F16 or Q8_0 (one row
 * of blocks per cell).  Attention never walks cells in storage order: each
 * sequence has a view, its cells sorted by position, so a token attends to
 * a prefix of that view.  The arithmetic of attention then depends only on
 * the sequence's own positions and values, not on where the cells sit or on
 * which other sequences share the cache: decoding two sequences together
 * gives the same bits as decoding each alone.
 */
#ifndef TLM_MODEL_KV_CACHE_H
#define TLM_MODEL_KV_CACHE_H

#include "tinylm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLM_KV_MAX_SEQ 64

typedef struct tlm_kv_cache {
    int32_t n_cells;
    int32_t n_layer;
    int32_t n_seq_max;
    int32_t n_embd_kv;     /* n_head_kv * head_dim values per cell and layer */
    tlm_kv_type type;
    size_t row_size;       /* bytes of one cell's keys (or values) in one layer */
    uint8_t *k, *v;        /* (n_layer, n_cells, row_size), owned */
    int32_t *pos;          /* (n_cells) position held by the cell */
    uint64_t *seq;         /* (n_cells) sequences that see the cell; 0 = free */
    int32_t used;          /* cells with a non-empty seq set */
    int32_t head;          /* where the search for free cells starts */
    /* Per-sequence views, rebuilt lazily when a sequence changes. */
    int32_t *view;         /* (n_seq_max, n_cells) cells sorted by position, owned */
    int32_t *view_n;       /* (n_seq_max) cells in each view */
    bool *view_dirty;      /* (n_seq_max) */
    int32_t *view_tmp;     /* (n_cells) sort scratch, owned */
} tlm_kv_cache;

/* Allocates the cache (zero cells used).  The caller owns kv's buffers and
 * releases them with tlm_kv_deinit.  TLM_ERR_INVALID_ARG when the type
 * cannot hold rows of n_embd_kv (Q8_0 needs a multiple of 32). */
tlm_status tlm_kv_init(tlm_kv_cache *kv, int32_t n_cells, int32_t n_layer, int32_t n_seq_max,
                       int32_t n_embd_kv, tlm_kv_type type, tlm_error *err);
void tlm_kv_deinit(tlm_kv_cache *kv);

/* Total bytes of key and value storage. */
uint64_t tlm_kv_bytes(const tlm_kv_cache *kv);

/* Finds n free cells and writes their indices to cells (in order of
 * allocation).  Nothing changes when fewer than n cells are free: then it
 * returns false. */
bool tlm_kv_find_slots(tlm_kv_cache *kv, int32_t n, int32_t *cells);

/* Marks cell c as holding position pos of sequence seq (the cell must be
 * free). */
void tlm_kv_occupy(tlm_kv_cache *kv, int32_t c, int32_t seq, int32_t pos);

/* Rebuilds seq's view if it changed; returns the view (borrowed, valid
 * until the cache changes) and its length. */
const int32_t *tlm_kv_view(tlm_kv_cache *kv, int32_t seq, int32_t *n);

/* Number of leading view entries with position <= pos. */
int32_t tlm_kv_view_prefix(const tlm_kv_cache *kv, const int32_t *view, int32_t n, int32_t pos);

/* Key / value row of cell c in layer l. */
static inline uint8_t *tlm_kv_k_row(const tlm_kv_cache *kv, int32_t l, int32_t c) {
    return kv->k + ((size_t)l * (size_t)kv->n_cells + (size_t)c) * kv->row_size;
}
static inline uint8_t *tlm_kv_v_row(const tlm_kv_cache *kv, int32_t l, int32_t c) {
    return kv->v + ((size_t)l * (size_t)kv->n_cells + (size_t)c) * kv->row_size;
}

/* Stores n_embd_kv floats into a cache row in the cache's type. */
void tlm_kv_store_row(const tlm_kv_cache *kv, const float *x, uint8_t *row);

/* Sequence operations behind the public tlm_kv_* calls.  seq < 0 in rm
 * means every sequence; p0 < 0 is 0 and p1 < 0 is "to the end". */
void tlm_kv_cache_seq_rm(tlm_kv_cache *kv, int32_t seq, int32_t p0, int32_t p1);
void tlm_kv_cache_seq_cp(tlm_kv_cache *kv, int32_t src, int32_t dst, int32_t p0, int32_t p1);
int32_t tlm_kv_cache_seq_pos_max(const tlm_kv_cache *kv, int32_t seq);
void tlm_kv_cache_clear(tlm_kv_cache *kv);

#endif /* TLM_MODEL_KV_CACHE_H */
