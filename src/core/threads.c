/*
 * threads.c - the persistent thread pool declared in threads.h.
 *
 * Handshake: the caller publishes (fn, arg) and bumps the generation
 * counter; workers waiting for a new generation run fn and count
 * themselves in n_finished; the caller returns when n_finished reaches the
 * number of workers it waits for: all of them for tlm_pool_run, only those
 * that joined before it closed the step for tlm_pool_run_dynamic (a late
 * worker finds the step closed and never touches fn or arg).  Both sides
 * spin first (a step follows the previous one within microseconds during
 * decoding) and fall back to a condition variable after SPIN_NS.  Sleep/wake uses the
 * "announce, then re-check" pattern on sequentially consistent atomics: a
 * sleeper increments a sleeping count before re-checking the condition, and
 * a waker changes the condition before reading the count, so at least one
 * side sees the other and no wake-up is lost.
 */
#include "core/threads.h"

#include "core/util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

/* How long a waiting thread spins before sleeping.  Long enough to cover
 * the serial work between two parallel steps of a token, short enough that
 * an idle pool stops burning CPU almost at once. */
#define SPIN_NS 1000000ull

/* Pause-loop rounds before a waiting thread starts yielding its CPU.  With
 * more pool threads than CPUs (tests running 3 threads on 2 cores) the
 * thread being waited for may need this very CPU, so yield early.
 * Otherwise yield late: sched_yield hands the core to any other runnable
 * process, even a nice-19 one, and the step then waits for that process's
 * time slice; yielding after 256 pauses (~10 us) made one decode stream 2.5x
 * slower beside two niced background jobs, spinning ~0.3 ms does not. */
#define SPIN_PAUSES_OVERSUBSCRIBED 256
#define SPIN_PAUSES 8192

/* CPUs this process may run on. */
static int online_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int tlm_pool_default_threads(void) { return TLM_MIN(online_cpus(), TLM_POOL_MAX_THREADS); }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct tlm_pool {
    int n_threads;
    unsigned spin_pauses;  /* SPIN_PAUSES or SPIN_PAUSES_OVERSUBSCRIBED */
    pthread_t *threads;
    struct worker *workers;

    /* The step being run; written by the caller before gen is bumped. */
    tlm_pool_fn fn;
    void *arg;

    /* Each hot counter gets its own cache line so spinning readers of one
     * do not slow down writers of another. */
    _Alignas(64) atomic_uint gen;
    _Alignas(64) atomic_int n_finished;
    /* Dynamic steps: generation << 32 | CLOSED | workers joined. */
    _Alignas(64) _Atomic uint64_t join;
    _Alignas(64) atomic_int n_sleeping;
    atomic_int caller_sleeping;
    atomic_int stop;
    _Alignas(64) atomic_int bar_count;
    _Alignas(64) atomic_uint bar_phase;

    pthread_mutex_t mu;
    pthread_cond_t wake;  /* workers: a new generation (or stop) */
    pthread_cond_t done;  /* caller: n_finished may have reached its target */
};

struct worker {
    tlm_pool *pool;
    int ith;
};

/* Spins until gen differs from seen, then sleeps; returns the new gen. */
static unsigned wait_for_step(tlm_pool *p, unsigned seen) {
    uint64_t t0 = 0;
    for (unsigned i = 1;; i++) {
        unsigned g = atomic_load(&p->gen);
        if (g != seen) return g;
        if (i < p->spin_pauses) cpu_relax();
        else sched_yield();
        if ((i & 15) == 0) {
            uint64_t now = tlm_time_ns();
            if (!t0) t0 = now;
            else if (now - t0 > SPIN_NS) break;
        }
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->n_sleeping, 1);
    unsigned g;
    while ((g = atomic_load(&p->gen)) == seen) pthread_cond_wait(&p->wake, &p->mu);
    atomic_fetch_sub(&p->n_sleeping, 1);
    pthread_mutex_unlock(&p->mu);
    return g;
}

#define CLOSED ((uint64_t)1 << 31)

/* Joins step g unless the caller has closed it (dynamic steps) or moved on
 * to a later step. */
static bool try_join(tlm_pool *p, unsigned g) {
    uint64_t w = atomic_load(&p->join);
    for (;;) {
        if ((unsigned)(w >> 32) != g || (w & CLOSED)) return false;
        if (atomic_compare_exchange_weak(&p->join, &w, w + 1)) return true;
    }
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    tlm_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_step(p, seen);
        if (atomic_load(&p->stop)) break;
        /* A worker that saw a closed dynamic step late may already be
         * looking at the next step's fn; the generation check makes it skip
         * and join that step properly on the next round. */
        if (!try_join(p, seen)) continue;
        p->fn(p->arg, w->ith, p->n_threads);
        atomic_fetch_add(&p->n_finished, 1);
        if (atomic_load(&p->caller_sleeping)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* Bumps the generation and wakes sleeping workers. */
static void publish_step(tlm_pool *p) {
    atomic_fetch_add(&p->gen, 1);
    if (atomic_load(&p->n_sleeping) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
}

static void join_workers(tlm_pool *p, int n_started) {
    atomic_store(&p->stop, 1);
    publish_step(p);
    for (int i = 0; i < n_started; i++) pthread_join(p->threads[i], NULL);
}

tlm_status tlm_pool_create(int n_threads, tlm_pool **out) {
    *out = NULL;
    if (n_threads < 1 || n_threads > TLM_POOL_MAX_THREADS)
        return TLM_ERR_INVALID_ARG;
    tlm_pool *p = tlm_calloc(1, sizeof *p);
    if (!p) return TLM_ERR_NOMEM;
    p->n_threads = n_threads;
    p->spin_pauses = n_threads > online_cpus() ? SPIN_PAUSES_OVERSUBSCRIBED : SPIN_PAUSES;
    int nw = n_threads - 1;
    p->threads = tlm_calloc((size_t)nw, sizeof *p->threads);
    p->workers = tlm_calloc((size_t)nw, sizeof *p->workers);
    if (!p->threads || !p->workers) goto fail_alloc;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 0; i < nw; i++) {
        p->workers[i] = (struct worker){p, i + 1};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0) {
            join_workers(p, i);
            p->n_threads = 1; /* nothing left to join in tlm_pool_free */
            tlm_pool_free(p);
            return TLM_ERR_INTERNAL;
        }
    }
    *out = p;
    return TLM_OK;

fail_alloc:
    tlm_free(p->threads);
    tlm_free(p->workers);
    tlm_free(p);
    return TLM_ERR_NOMEM;
}

void tlm_pool_free(tlm_pool *p) {
    if (!p) return;
    if (p->n_threads > 1) join_workers(p, p->n_threads - 1);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    tlm_free(p->threads);
    tlm_free(p->workers);
    tlm_free(p);
}

static void wait_for_workers(tlm_pool *p, int expect) {
    uint64_t t0 = 0;
    for (unsigned i = 1; atomic_load(&p->n_finished) != expect; i++) {
        if (i < p->spin_pauses) cpu_relax();
        else sched_yield();
        if ((i & 15) == 0) {
            uint64_t now = tlm_time_ns();
            if (!t0) t0 = now;
            else if (now - t0 > SPIN_NS) goto sleep;
        }
    }
    return;
sleep:
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->caller_sleeping, 1);
    while (atomic_load(&p->n_finished) != expect) pthread_cond_wait(&p->done, &p->mu);
    atomic_store(&p->caller_sleeping, 0);
    pthread_mutex_unlock(&p->mu);
}

/* Hands fn to the workers and runs the caller's share (thread 0).  False
 * when there are no workers and fn has already run alone. */
static bool start_step(tlm_pool *p, tlm_pool_fn fn, void *arg) {
    if (!p || p->n_threads == 1) {
        fn(arg, 0, 1);
        return false;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store(&p->n_finished, 0);
    atomic_store(&p->join, (uint64_t)(unsigned)(atomic_load(&p->gen) + 1) << 32);
    publish_step(p);
    fn(arg, 0, p->n_threads);
    return true;
}

void tlm_pool_run(tlm_pool *p, tlm_pool_fn fn, void *arg) {
    if (start_step(p, fn, arg)) wait_for_workers(p, p->n_threads - 1);
}

void tlm_pool_run_dynamic(tlm_pool *p, tlm_pool_fn fn, void *arg) {
    if (!start_step(p, fn, arg)) return;
    uint64_t w = atomic_fetch_or(&p->join, CLOSED);
    wait_for_workers(p, (int)(w & (CLOSED - 1)));
}

int tlm_pool_n_threads(const tlm_pool *p) { return p ? p->n_threads : 1; }

unsigned tlm_pool_spin_pauses(const tlm_pool *p) { return p ? p->spin_pauses : SPIN_PAUSES; }

void tlm_pool_barrier(tlm_pool *p) { tlm_pool_barrier_warm(p, NULL, 0); }

void tlm_pool_barrier_warm(tlm_pool *p, const void *next, size_t bytes) {
    if (!p || p->n_threads == 1) return;
    unsigned phase = atomic_load(&p->bar_phase);
    if (atomic_fetch_add(&p->bar_count, 1) == p->n_threads - 1) {
        atomic_store(&p->bar_count, 0);
        atomic_fetch_add(&p->bar_phase, 1);
        return;
    }
    /* A descheduled peer (the machine may be oversubscribed) must get the
     * CPU back, so long waits yield instead of spinning on (or prefetching:
     * a prefetch takes the place of a pause). */
    size_t off = 0;
    for (unsigned i = 1; atomic_load(&p->bar_phase) == phase; i++) {
        if (i >= p->spin_pauses) {
            sched_yield();
        } else if (off < bytes) {
            __builtin_prefetch((const char *)next + off, 0, 2);
            off += 64;
        } else {
            cpu_relax();
        }
    }
}

void tlm_pool_split(int64_t n, int64_t align, int ith, int nth, int64_t *lo, int64_t *hi) {
    if (align < 1) align = 1;
    int64_t units = (n + align - 1) / align;
    int64_t per = units / nth, extra = units % nth;
    int64_t u0 = ith * per + (ith < extra ? ith : extra);
    int64_t u1 = u0 + per + (ith < extra ? 1 : 0);
    *lo = TLM_MIN(u0 * align, n);
    *hi = TLM_MIN(u1 * align, n);
}
