/*
 * scheduler.h - continuous batching for one model (internal).
 *
 * A scheduler owns one tlm_ctx whose KV cache is shared by n_slots
 * sequences (one per slot) and one thread that runs the model.  Each step
 * is one tlm_ctx_decode holding the next token of every slot that is
 * generating plus chunks of the prompts of slots still reading theirs, so N
 * streams cost little more than one (the weights are read once per step).
 *
 * Work comes in tasks: one HTTP request, holding one job per choice
 * (OpenAI's n, or several prompts of /v1/completions).  A job takes a slot
 * of its own.  Jobs wait in a bounded FIFO queue when the slots are busy;
 * a submit that would overflow it is refused, and the caller answers 429.
 * A free slot is picked by the longest common prefix between the tokens
 * its sequence already holds and the job's prompt, so the next turn of a
 * conversation re-reads only the new messages.
 *
 * Every job brings its own sampler (own seed) and the engine's decode does
 * not depend on which sequences share a batch, so a seeded request gives
 * the same text alone or alongside others.
 *
 * Threads: the scheduler thread is the only one that touches the context.
 * Submitting, waiting on and cancelling tasks may happen on any thread.
 */
#ifndef TLM_SERVER_SCHEDULER_H
#define TLM_SERVER_SCHEDULER_H

#include "core/util.h"
#include "tokenizer/tokenizer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define TLM_MAX_TOP_LOGPROBS 20

/* One generated token as logprobs report it: the natural-log
 * probabilities come from the model's own distribution (the softmax of the
 * raw logits), before any sampling setting changes it. */
typedef struct tlm_tok_rec {
    tlm_token id;
    float logprob;
    int32_t n_top;
    tlm_token top_id[TLM_MAX_TOP_LOGPROBS];
    float top_logprob[TLM_MAX_TOP_LOGPROBS];
} tlm_tok_rec;

typedef enum tlm_job_state {
    TLM_JOB_NEW = 0,   /* not submitted */
    TLM_JOB_QUEUED,
    TLM_JOB_RUNNING,
    TLM_JOB_DONE,      /* the scheduler will not touch the job again */
} tlm_job_state;

typedef struct tlm_task tlm_task;

/* One choice: a prompt and how to continue it. */
typedef struct tlm_job {
    /* ---- Input, set before submitting, then read-only.  Owned. ---- */
    tlm_token *prompt;          /* (n_prompt) */
    int32_t n_prompt;
    tlm_sampler *sampler;       /* has seen the prompt tokens (penalties) */
    tlm_structured *structured; /* the grammar the output must follow (the sampler's
                                   constraint), or NULL */
    tlm_detok *detok;
    char **stop;                /* (n_stop) non-empty stop strings */
    int32_t n_stop;
    int32_t max_tokens;         /* < 0 = until the context is full */
    int32_t n_ctx;              /* most tokens (prompt + generated) in the slot */
    bool logprobs;
    int32_t top_logprobs;       /* 0..TLM_MAX_TOP_LOGPROBS */
    uint64_t seed;              /* as given to the sampler, for reports */

    /* ---- Output, under task->mu; the counts and times are final once the
     * job is DONE. ---- */
    tlm_job_state state;
    tlm_buf text;               /* new text the consumer has not taken */
    tlm_buf recs;               /* new tlm_tok_rec entries (when logprobs) */
    bool news;                  /* something changed since the last take */
    tlm_finish finish;
    tlm_status status;          /* TLM_OK unless generation failed */
    char errmsg[256];
    int32_t n_cached;           /* prompt tokens found in the slot's cache */
    int32_t n_gen;              /* generated tokens (an end token not counted) */
    int32_t n_sampled;          /* tokens sampled (an end token counted) */
    uint64_t t_slot;            /* got a slot */
    uint64_t t_prefilled;       /* the prompt was read (its logits ready) */
    uint64_t t_first;           /* first token sampled (0 = none) */
    uint64_t t_last;            /* last token sampled */

    /* ---- Scheduler only. ---- */
    tlm_task *task;
    tlm_buf hold;               /* text that may still become a stop string */
    bool stopped;               /* a stop string ended the text */
    bool consumer_done;         /* consumer side: the end was reported */
} tlm_job;

/* One request: its jobs, and the lock and signal they share with the
 * scheduler. */
struct tlm_task {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tlm_job *jobs;              /* (n_jobs), owned */
    int32_t n_jobs;
    int32_t n_done;
    atomic_int cancel;          /* set by the consumer: stop within one token */
    uint64_t t_arrival;         /* the HTTP request arrived */
    struct tlm_sched *sched;    /* where it was submitted (NULL before) */
};

/* A task with n_jobs zeroed jobs.  The caller fills the jobs' inputs,
 * submits, and frees it with tlm_task_free once no job is QUEUED or
 * RUNNING (see tlm_task_cancel). */
tlm_task *tlm_task_create(int32_t n_jobs, uint64_t t_arrival);
void tlm_task_free(tlm_task *t);

/* Waits until some job has news or timeout_ms passed.  Returns true when
 * every job is done. */
bool tlm_task_wait(tlm_task *t, int timeout_ms);
/* Moves job i's new text and token records to the ends of text and recs
 * (either may be NULL to drop them).  Returns true when the job is done
 * (its end fields are then final). */
bool tlm_task_take(tlm_task *t, int32_t i, tlm_buf *text, tlm_buf *recs);
/* Asks the scheduler to stop every job of t and waits until it has. */
void tlm_task_cancel(tlm_task *t);

/* ---- Job output, for scheduler.c (scheduler thread only) ---- */

/* Feeds a generated token's text through the detokenizer and the stop
 * strings, and publishes what may be shown (and rec, when not NULL).
 * Returns true when a stop string ended the text. */
bool tlm_job_push_token(tlm_job *j, tlm_token t, const tlm_tok_rec *rec);
/* Ends the job: releases held text (unless a stop string or a
 * cancellation ended it), records the outcome and wakes the consumer.
 * The scheduler must not touch the job afterwards.  msg may be NULL. */
void tlm_job_end(tlm_job *j, tlm_finish finish, tlm_status status, const char *msg);

/* ---- The scheduler ---- */

typedef struct tlm_sched tlm_sched;

/* Hooks for metrics, called on the scheduler thread (must be quick). */
typedef struct tlm_sched_observer {
    void *user;
    void (*first_token)(void *user, double ttft_s);
    void (*token)(void *user, double gap_s);
    void (*finished)(void *user, const tlm_job *job);
} tlm_sched_observer;

typedef struct tlm_sched_params {
    int32_t n_slots;        /* parallel sequences */
    int32_t n_ctx_slot;     /* context of each slot (tokens) */
    int32_t n_queue;        /* jobs that may wait for a slot */
    int32_t n_threads;      /* 0 = all cores */
    int32_t n_batch;        /* most tokens per decode (0 = 512) */
    tlm_sched_observer observer;
} tlm_sched_params;

/* Creates the context (n_slots * n_ctx_slot KV cells, so every slot can
 * always fill its context), warms it with one decode, and starts the
 * thread.  model must outlive the scheduler.  The caller owns *out. */
tlm_status tlm_sched_create(tlm_model *model, const tlm_sched_params *p, tlm_sched **out,
                            tlm_error *err);
/* Cancels everything still running or queued, stops the thread, frees. */
void tlm_sched_free(tlm_sched *s);

typedef enum tlm_submit {
    TLM_SUBMIT_OK = 0,
    TLM_SUBMIT_FULL,        /* the queue has no room: answer 429 */
    TLM_SUBMIT_CLOSED,      /* shutting down: answer 503 */
} tlm_submit;

/* Queues every job of t, or none. */
tlm_submit tlm_sched_submit(tlm_sched *s, tlm_task *t);
/* Refuses new tasks from now on (shutdown); running ones carry on. */
void tlm_sched_close(tlm_sched *s);
/* Cancels every queued and running job (shutdown deadline passed). */
void tlm_sched_cancel_all(tlm_sched *s);
/* Wakes the scheduler thread to look at cancellations. */
void tlm_sched_poke(tlm_sched *s);

typedef struct tlm_sched_stats {
    int32_t n_slots, n_active, n_queued, n_queue_max;
    int32_t n_ctx_slot;
    int32_t kv_used, kv_cells;
    uint64_t kv_bytes;          /* memory of the KV cache */
    uint64_t n_steps;           /* decode calls so far */
    uint64_t n_step_tokens;     /* tokens over all decode calls */
} tlm_sched_stats;

void tlm_sched_get_stats(tlm_sched *s, tlm_sched_stats *out);
int32_t tlm_sched_n_ctx_slot(const tlm_sched *s);

#endif /* TLM_SERVER_SCHEDULER_H */
