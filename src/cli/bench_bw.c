/*
 * bench_bw.c - plain streaming reads as the benchmarks' yardstick (see
 * bench_bw.h).
 *
 * Each thread reads its share of every span with the active SIMD path's
 * read_sum, as 4 interleaved sequential streams: one stream per core keeps
 * too few cache-line fills in flight on some machines (virtualised ones
 * especially), and the kernels do not read one row at a time either.  The
 * spans are read back to back with no barrier between them, so reading a
 * model's matrices this way is a forward pass with nothing but its reads:
 * the fastest a token could be on this memory.
 */
#include "cli/bench_bw.h"

#include "core/util.h"
#include "tensor/ops_kernels.h"
#include "tensor/simd.h"

#include <stdlib.h>

/* Threads split a span in units of this many words (32 KiB); read_sum
 * needs a multiple of 32 words (4 streams of 64-byte lines). */
#define SPLIT_WORDS 4096
#define READ_WORDS 32

typedef struct bw_job {
    const tlm_bw_span *spans;
    int n_spans;
    uint64_t (*read_sum)(const uint64_t *p, int64_t n);
    uint64_t sums[TLM_POOL_MAX_THREADS];
} bw_job;

static void bw_worker(void *arg, int ith, int nth) {
    bw_job *j = arg;
    uint64_t sum = 0;
    for (int s = 0; s < j->n_spans; s++) {
        int64_t words = (int64_t)(j->spans[s].bytes / 8), lo, hi;
        tlm_pool_split(words, SPLIT_WORDS, ith, nth, &lo, &hi);
        int64_t n = (hi - lo) / READ_WORDS * READ_WORDS;
        if (n > 0) sum += j->read_sum((const uint64_t *)j->spans[s].p + lo, n);
    }
    j->sums[ith] = sum;
}

/* Bytes bw_worker reads of a span, over all threads: every share is a
 * whole number of SPLIT_WORDS but the last. */
static size_t read_bytes(size_t bytes) {
    size_t words = bytes / 8;
    return (words / SPLIT_WORDS * SPLIT_WORDS + words % SPLIT_WORDS / READ_WORDS * READ_WORDS) * 8;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t *tlm_bw_buffer_new(void) {
    uint64_t *buf = tlm_alloc_pages(TLM_BW_BUFFER_BYTES);
    if (!buf) return NULL;
    for (size_t i = 0; i < TLM_BW_BUFFER_BYTES / 8; i++) buf[i] = i * 0x9e3779b97f4a7c15ull;
    return buf;
}

double tlm_bw_read(tlm_pool *pool, const tlm_bw_span *spans, int n_spans, int reps,
                   double *seconds) {
    bw_job j = {.spans = spans, .n_spans = n_spans,
                .read_sum = tlm_ops_kernels_get(tlm_simd_active())->read_sum};
    size_t bytes = 0;
    for (int s = 0; s < n_spans; s++) bytes += read_bytes(spans[s].bytes);
    uint64_t t[16];
    reps = TLM_MAX(1, TLM_MIN(reps, 16));
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = tlm_time_ns();
        tlm_pool_run(pool, bw_worker, &j);
        t[r] = tlm_time_ns() - t0;
    }
    volatile uint64_t sink = j.sums[0]; /* the reads must happen */
    (void)sink;
    qsort(t, (size_t)reps, sizeof *t, cmp_u64);
    uint64_t median = TLM_MAX(t[reps / 2], 1);
    if (seconds) *seconds = (double)median / 1e9;
    return (double)bytes / (double)median;
}
