/*
 * threads.h - a small thread pool made for per-token work.
 *
 * A forward pass runs hundreds of short parallel steps per token (one per
 * matrix product or operator), so the cost that matters is the latency of
 * starting a step and waiting for its end, not throughput of queued jobs.
 * The pool keeps n_threads - 1 persistent workers; tlm_pool_run() hands all
 * of them (and the caller, as thread 0) the same function, and returns when
 * every thread has finished.  Idle workers spin with a pause instruction for
 * a short while (the next step usually follows within microseconds), then
 * sleep on a condition variable so an idle process costs no CPU.
 *
 * Determinism: the pool never decides who computes what.  Kernels split
 * their work with tlm_pool_split() (fixed boundaries that do not depend on
 * the thread count) or claim fixed chunks from a counter, so each output
 * element is computed by exactly one thread with the same arithmetic, and
 * results are bitwise identical for any thread count.  Steps that claim
 * from a counter can use tlm_pool_run_dynamic(), which does not wait for
 * workers that have not woken up yet: on an oversubscribed machine that is
 * the difference between a step taking microseconds and a scheduler slice.
 */
#ifndef TLM_CORE_THREADS_H
#define TLM_CORE_THREADS_H

#include "tinylm.h"

#include <stdint.h>

typedef struct tlm_pool tlm_pool;

/* A parallel step: called once per thread with ith in [0, nth). */
typedef void (*tlm_pool_fn)(void *arg, int ith, int nth);

#define TLM_POOL_MAX_THREADS 256

/* Creates a pool of n_threads threads in all (the caller counts as one, so
 * n_threads - 1 workers are started).  n_threads must be in
 * [1, TLM_POOL_MAX_THREADS].  The caller owns *out and frees it with
 * tlm_pool_free().  Returns TLM_ERR_INVALID_ARG, TLM_ERR_NOMEM or
 * TLM_ERR_INTERNAL (thread creation failed); then *out is NULL. */
tlm_status tlm_pool_create(int n_threads, tlm_pool **out);

/* The thread count for "all cores": the CPUs this process may run on,
 * at most TLM_POOL_MAX_THREADS. */
int tlm_pool_default_threads(void);

/* Stops and joins the workers.  NULL is a no-op.  Must not be called while
 * a tlm_pool_run() on the same pool is in progress. */
void tlm_pool_free(tlm_pool *pool);

/* Runs fn(arg, ith, nth) on every thread of the pool, the caller being
 * thread 0, and returns when all calls have returned.  A NULL pool runs
 * fn(arg, 0, 1) on the caller.  One run at a time per pool: the pool is not
 * reentrant (fn must not call tlm_pool_run on the same pool) and is driven
 * by one caller thread at a time. */
void tlm_pool_run(tlm_pool *pool, tlm_pool_fn fn, void *arg);

/* Like tlm_pool_run, but for steps whose threads claim their work from a
 * shared counter: returns as soon as the caller's own fn(arg, 0, nth) has
 * returned and the workers that had already started have finished.  A
 * worker that wakes up later skips the step and never touches arg, so on a
 * busy machine a slow-to-wake thread does not hold up the step.  fn must
 * therefore not rely on every ith running (no tlm_pool_split, no
 * tlm_pool_barrier); each thread loops until no work is left. */
void tlm_pool_run_dynamic(tlm_pool *pool, tlm_pool_fn fn, void *arg);

/* Number of threads, caller included; 1 for NULL. */
int tlm_pool_n_threads(const tlm_pool *pool);
/* How many pause rounds a waiting thread of p spins before yielding its
 * CPU (few when p has more threads than the CPUs it may use). */
unsigned tlm_pool_spin_pauses(const tlm_pool *p);

/* Waits inside a running step until all nth threads have reached it, so a
 * step can have phases (e.g. quantize the input, then multiply).  Every
 * thread of the step must call it the same number of times.  A NULL pool
 * (single thread) returns at once. */
void tlm_pool_barrier(tlm_pool *pool);

/* tlm_pool_barrier for a thread that will next stream [next, next +
 * bytes): while it waits for the others it prefetches those lines (into
 * the second-level cache), so time spent waiting becomes reading. */
void tlm_pool_barrier_warm(tlm_pool *pool, const void *next, size_t bytes);

/* Splits n items into nth contiguous ranges whose boundaries are multiples
 * of align (except the final end, n), and gives thread ith [*lo, *hi).
 * Ranges may be empty.  Because boundaries are aligned, a kernel that works
 * in groups of align items sees the same groups for every thread count. */
void tlm_pool_split(int64_t n, int64_t align, int ith, int nth, int64_t *lo, int64_t *hi);

#endif /* TLM_CORE_THREADS_H */
