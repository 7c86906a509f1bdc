/*
 * pack.c - at load, packs the weight matrices into the X16 layout
 * (tensor/repack.h) where the active kernel path multiplies one token
 * faster from it (tlm_matmul_x16_pays).
 *
 * Why copy what the mapping already holds: decoding streams every weight
 * once per token, and from the GGUF layout the AVX-512 one-token kernels
 * spend as much time reshuffling sums as reading; from X16 they run at
 * memory speed.  The products have the same bits either way, so packing
 * changes speed, never text.
 *
 * Memory stays that of the file: the packed copies live in one anonymous
 * arena the model owns (2 MiB pages where the kernel gives them), and the
 * file pages of each packed matrix are dropped from this process as soon
 * as it is packed (MADV_DONTNEED on a read-only file mapping only unmaps
 * them; they come back from the file if anything reads them again, which
 * the token embeddings do when the output matrix is tied to them).
 * Packing is split over n_threads by row groups.
 */
#include "model/model.h"

#include "core/threads.h"
#include "core/util.h"
#include "tensor/matmul.h"
#include "tensor/repack.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARENA_ALIGN ((size_t)2 << 20)
#define SLICE_BYTES ((size_t)8 << 20)

static bool wants_pack(const tlm_weight *w) {
    return tlm_matmul_x16_pays(w->type, w->rows, w->cols);
}

/* Rows [r0, r1) of w into dst (the whole matrix's packed copy). */
typedef struct pack_job {
    const tlm_weight *w;
    void *dst;
    int64_t r0, r1;
} pack_job;

static void pack_worker(void *arg, int ith, int nth) {
    const pack_job *j = arg;
    int64_t lo, hi;
    tlm_pool_split(j->r1 - j->r0, TLM_X16_ROWS, ith, nth, &lo, &hi);
    if (hi <= lo) return;
    lo += j->r0, hi += j->r0;
    size_t xrs = tlm_x16_row_size(j->w->type, j->w->cols);
    tlm_matmul_x16_pack(j->w->type, (const uint8_t *)j->w->data + (size_t)lo * j->w->row_size,
                        hi - lo, j->w->cols, (uint8_t *)j->dst + (size_t)lo * xrs);
}

/* madvise over the whole pages that [p, p + n) of the file touches. */
static void advise(const void *p, size_t n, int advice) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(page - 1);
    madvise((void *)a, n + ((uintptr_t)p - a), advice);
}

/* Drops this process's pages of [p, p + n) of the file mapping (whole
 * pages inside the range only: the neighbours may still be in use). */
static void drop_pages(const void *p, size_t n) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), b = ((uintptr_t)p + n) & ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

bool tlm_model_repack_enabled(const tlm_model_params *p) {
    const char *env = getenv("TLM_REPACK");
    if (env && *env) return strcmp(env, "0") != 0;
    return p->repack != 0;
}

static size_t packed_bytes(const tlm_weight *w) {
    return tlm_pad_u64(tlm_x16_row_size(w->type, w->cols) * (size_t)w->rows, 64);
}

/* Packs w into dst in slices of about SLICE_BYTES, each source slice
 * dropped once packed (the process never holds a large matrix twice),
 * and points w at the packed copy. */
static void pack_weight(tlm_pool *pool, tlm_weight *w, uint8_t *dst) {
    const uint8_t *src = w->data;
    int64_t step = TLM_MAX(1, (int64_t)(SLICE_BYTES / (w->row_size * TLM_X16_ROWS))) * TLM_X16_ROWS;
    for (int64_t r0 = 0; r0 < w->rows; r0 += step) {
        pack_job j = {w, dst, r0, TLM_MIN(w->rows, r0 + step)};
        const uint8_t *slice = src + (size_t)r0 * w->row_size, *next = src + (size_t)j.r1 * w->row_size;
        size_t bytes = (size_t)(j.r1 - r0) * w->row_size;
        size_t next_bytes = (size_t)(TLM_MIN(w->rows, j.r1 + step) - j.r1) * w->row_size;
#ifdef MADV_POPULATE_READ
        advise(slice, bytes, MADV_POPULATE_READ); /* one call, not a fault per page (5.14+) */
#endif
        /* Starts reading the next slice, so a cold file's disk reads
         * overlap the packing of this one. */
        if (next_bytes) advise(next, next_bytes, MADV_WILLNEED);
        tlm_pool_run(pool, pack_worker, &j);
        drop_pages(slice, bytes);
    }
    *w = (tlm_weight){.type = w->type, .data = dst, .rows = w->rows, .cols = w->cols,
                      .row_size = tlm_x16_row_size(w->type, w->cols), .layout = TLM_MM_X16};
}

tlm_status tlm_model_pack(tlm_model *m, const tlm_model_params *p, tlm_error *err) {
    if (!tlm_model_repack_enabled(p)) return TLM_OK;
    tlm_weight **ws = tlm_calloc(tlm_model_matrices_cap(m), sizeof *ws);
    if (!ws) return tlm_error_set(err, TLM_ERR_NOMEM, "model: out of memory");
    int n = tlm_model_matrices(m, ws);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (wants_pack(ws[i])) total += packed_bytes(ws[i]);
    tlm_pool *pool = NULL;
    int nth = p->n_threads > 0 ? p->n_threads : tlm_pool_default_threads();
    if (!total || tlm_pool_create(nth, &pool)) {
        free(ws);
        return TLM_OK; /* nothing to pack, or no threads: the mapping serves as it is */
    }
    size_t size = tlm_pad_u64(total, ARENA_ALIGN);
    void *arena = tlm_alloc_pages(size);
    if (!arena) {
        tlm_pool_free(pool);
        free(ws);
        return tlm_error_set(err, TLM_ERR_NOMEM, "model: cannot allocate %zu MB for packed weights",
                             size >> 20);
    }
#ifdef MADV_POPULATE_WRITE
    madvise(arena, size, MADV_POPULATE_WRITE);
#endif
    m->packed = arena;
    m->packed_size = size;
    bool tied = m->output.data == m->tok_embd.data;
    uint8_t *dst = arena;
    for (int i = 0; i < n; i++) {
        if (!wants_pack(ws[i])) continue;
        size_t bytes = packed_bytes(ws[i]);
        pack_weight(pool, ws[i], dst);
        dst += bytes;
    }
    /* Tied: embedding rows are read from the packed output too, so no
     * page of the file's copy becomes resident again. */
    if (tied) m->tok_embd = m->output;
    tlm_pool_free(pool);
    free(ws);
    return TLM_OK;
}
