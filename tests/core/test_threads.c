/*
 * test_threads.c - the thread pool: every thread runs each step exactly
 * once, barriers order the phases of a step, idle workers wake up again
 * after sleeping, and tlm_pool_split covers a range with aligned pieces.
 */
#include "core/threads.h"
#include "core/util.h"
#include "test.h"

#include <stdatomic.h>
#include <time.h>

TEST(create_rejects_bad_counts) {
    tlm_pool *p = (tlm_pool *)1;
    ASSERT_EQ(tlm_pool_create(0, &p), TLM_ERR_INVALID_ARG);
    ASSERT(p == NULL);
    ASSERT_EQ(tlm_pool_create(TLM_POOL_MAX_THREADS + 1, &p), TLM_ERR_INVALID_ARG);
    ASSERT(p == NULL);
    tlm_pool_free(NULL);
    ASSERT_EQ(tlm_pool_n_threads(NULL), 1);
}

typedef struct count_job {
    atomic_int calls[8];
    atomic_int bad_nth;
    int expect_nth;
} count_job;

static void count_fn(void *arg, int ith, int nth) {
    count_job *j = arg;
    atomic_fetch_add(&j->calls[ith], 1);
    if (nth != j->expect_nth) atomic_fetch_add(&j->bad_nth, 1);
}

TEST(each_thread_runs_each_step_once) {
    for (int n = 1; n <= 4; n++) {
        tlm_pool *p;
        ASSERT_OK(tlm_pool_create(n, &p));
        ASSERT_EQ(tlm_pool_n_threads(p), n);
        count_job j = {.expect_nth = n};
        for (int step = 0; step < 5000; step++) tlm_pool_run(p, count_fn, &j);
        tlm_pool_free(p);
        for (int i = 0; i < 8; i++) ASSERT_EQ(atomic_load(&j.calls[i]), i < n ? 5000 : 0);
        ASSERT_EQ(atomic_load(&j.bad_nth), 0);
    }
    count_job j = {.expect_nth = 1};
    tlm_pool_run(NULL, count_fn, &j);
    ASSERT_EQ(atomic_load(&j.calls[0]), 1);
}

/* Phase 1 writes a slot per thread, phase 2 checks every slot; a barrier
 * that let a thread through early would show a stale value. */
typedef struct phase_job {
    tlm_pool *pool;
    const uint8_t *warm; /* wait with tlm_pool_barrier_warm over it, if set */
    size_t warm_bytes;
    int round;
    atomic_int slots[8];
    atomic_int errors;
} phase_job;

static void wait_all(const phase_job *j) {
    if (j->warm) tlm_pool_barrier_warm(j->pool, j->warm, j->warm_bytes);
    else tlm_pool_barrier(j->pool);
}

static void phase_fn(void *arg, int ith, int nth) {
    phase_job *j = arg;
    for (int k = 0; k < 3; k++) {
        int want = j->round * 3 + k;
        atomic_store(&j->slots[ith], want);
        wait_all(j);
        for (int t = 0; t < nth; t++)
            if (atomic_load(&j->slots[t]) != want) atomic_fetch_add(&j->errors, 1);
        wait_all(j);
    }
}

TEST(barrier_orders_phases) {
    for (int n = 2; n <= 3; n++) {
        tlm_pool *p;
        ASSERT_OK(tlm_pool_create(n, &p));
        phase_job j = {.pool = p};
        for (j.round = 0; j.round < 2000; j.round++) tlm_pool_run(p, phase_fn, &j);
        tlm_pool_free(p);
        ASSERT_EQ(atomic_load(&j.errors), 0);
    }
    phase_job j = {.pool = NULL};
    tlm_pool_barrier(NULL);
    phase_fn(&j, 0, 1);
    ASSERT_EQ(atomic_load(&j.errors), 0);
}

/* The same with waits that prefetch a region meanwhile: a region longer
 * than any wait (the prefetching must stop when the others arrive) and an
 * empty one (then it spins as the plain barrier does). */
TEST(warm_barrier_orders_phases) {
    size_t bytes = (size_t)4 << 20;
    uint8_t *buf = calloc(bytes, 1);
    ASSERT(buf != NULL);
    for (int n = 2; n <= 3; n++) {
        for (int empty = 0; empty <= 1; empty++) {
            tlm_pool *p;
            ASSERT_OK(tlm_pool_create(n, &p));
            phase_job j = {.pool = p, .warm = buf, .warm_bytes = empty ? 0 : bytes};
            for (j.round = 0; j.round < 2000; j.round++) tlm_pool_run(p, phase_fn, &j);
            tlm_pool_free(p);
            ASSERT_EQ(atomic_load(&j.errors), 0);
        }
    }
    tlm_pool_barrier_warm(NULL, buf, bytes);
    free(buf);
}

TEST(workers_wake_after_sleeping) {
    tlm_pool *p;
    ASSERT_OK(tlm_pool_create(3, &p));
    count_job j = {.expect_nth = 3};
    for (int k = 0; k < 4; k++) {
        struct timespec ts = {0, 5 * 1000 * 1000}; /* past the spin phase */
        nanosleep(&ts, NULL);
        tlm_pool_run(p, count_fn, &j);
    }
    tlm_pool_free(p);
    for (int i = 0; i < 3; i++) ASSERT_EQ(atomic_load(&j.calls[i]), 4);
}

/* Dynamic steps: every unit is claimed exactly once and done when the call
 * returns, even though late workers may skip a step; alternating with
 * ordinary steps checks that a late worker never runs a step twice or
 * touches a finished step's (stack) argument. */
typedef struct claim_job {
    atomic_int next;
    atomic_int hits[64];
} claim_job;

static void claim_fn(void *arg, int ith, int nth) {
    claim_job *j = arg;
    int u;
    while ((u = atomic_fetch_add(&j->next, 1)) < 64) atomic_fetch_add(&j->hits[u], 1);
}

TEST(dynamic_steps_claim_everything_once) {
    tlm_pool *p;
    ASSERT_OK(tlm_pool_create(3, &p));
    count_job c = {.expect_nth = 3};
    int bad = 0;
    for (int step = 0; step < 3000; step++) {
        claim_job j;
        atomic_init(&j.next, 0);
        for (int u = 0; u < 64; u++) atomic_init(&j.hits[u], 0);
        tlm_pool_run_dynamic(p, claim_fn, &j);
        for (int u = 0; u < 64; u++) bad += atomic_load(&j.hits[u]) != 1;
        memset(&j, 0xff, sizeof j); /* a late reader would now misbehave */
        if (step % 3 == 0) tlm_pool_run(p, count_fn, &c);
    }
    tlm_pool_free(p);
    ASSERT_EQ(bad, 0);
    for (int i = 0; i < 3; i++) ASSERT_EQ(atomic_load(&c.calls[i]), 1000);
    claim_job j;
    atomic_init(&j.next, 0);
    for (int u = 0; u < 64; u++) atomic_init(&j.hits[u], 0);
    tlm_pool_run_dynamic(NULL, claim_fn, &j);
    ASSERT_EQ(atomic_load(&j.hits[63]), 1);
}

TEST(split_covers_with_aligned_pieces) {
    static const int64_t ns[] = {0, 1, 15, 16, 17, 100, 151936};
    static const int64_t aligns[] = {1, 4, 16, 64};
    for (size_t a = 0; a < TLM_ARRAY_LEN(aligns); a++)
        for (size_t k = 0; k < TLM_ARRAY_LEN(ns); k++)
            for (int nth = 1; nth <= 5; nth++) {
                int64_t next = 0;
                for (int ith = 0; ith < nth; ith++) {
                    int64_t lo, hi;
                    tlm_pool_split(ns[k], aligns[a], ith, nth, &lo, &hi);
                    ASSERT_EQ(lo, next);
                    ASSERT(hi >= lo);
                    ASSERT(lo % aligns[a] == 0 || lo == ns[k]);
                    next = hi;
                }
                ASSERT_EQ(next, ns[k]);
            }
}

TEST_MAIN(TEST_ENTRY(create_rejects_bad_counts), TEST_ENTRY(each_thread_runs_each_step_once),
          TEST_ENTRY(barrier_orders_phases), TEST_ENTRY(warm_barrier_orders_phases),
          TEST_ENTRY(workers_wake_after_sleeping),
          TEST_ENTRY(dynamic_steps_claim_everything_once),
          TEST_ENTRY(split_covers_with_aligned_pieces))
