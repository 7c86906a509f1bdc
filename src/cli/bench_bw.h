/*
 * bench_bw.h - the benchmarks' yardstick: how fast this machine streams
 * memory with plain reads, and how fast it streams one token's weights.
 *
 * One-token products and generation read every weight once, so their
 * figure of merit is a share of what plain reads achieve on the same
 * threads.  Two references answer two questions: a 1 GiB buffer in 2 MiB
 * pages (what the machine can do), and the weight matrices themselves
 * where the model keeps them (what the memory holding these weights can
 * do: a file mapping in 4 KiB pages, or page cache placed by the host of a
 * virtual machine, can read a quarter slower than fresh anonymous memory).
 */
#ifndef TLM_CLI_BENCH_BW_H
#define TLM_CLI_BENCH_BW_H

#include "core/threads.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes to read, borrowed. */
typedef struct tlm_bw_span {
    const void *p;
    size_t bytes;
} tlm_bw_span;

/* Bytes of the yardstick buffer. */
#define TLM_BW_BUFFER_BYTES ((size_t)1 << 30)

/* The yardstick buffer, TLM_BW_BUFFER_BYTES in 2 MiB pages where the
 * kernel gives them, every page written (no two alike); NULL without the
 * memory.  The caller owns it: tlm_free_pages(p, TLM_BW_BUFFER_BYTES). */
uint64_t *tlm_bw_buffer_new(void);

/* Reads every span reps times (reps <= 16), each split among the pool's
 * threads as the one-token products split a matrix (pool NULL: this
 * thread alone), each thread's share as 4 interleaved streams with the
 * active SIMD path.  Returns the median GB/s; *seconds (may be NULL) gets
 * the median time of one read of all spans.  Bytes past the last whole
 * 256 of a span are not read and not counted. */
double tlm_bw_read(tlm_pool *pool, const tlm_bw_span *spans, int n_spans, int reps,
                   double *seconds);

#endif /* TLM_CLI_BENCH_BW_H */
