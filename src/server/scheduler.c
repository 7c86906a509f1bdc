/*
 * scheduler.c - continuous batching over one shared context (see
 * scheduler.h for the design).
 *
 * The thread loops: take cancelled jobs out of the queue, give waiting
 * jobs the free slots, then run one step.  A step builds one batch: first
 * the pending token of every generating slot (one each, so streams advance
 * together), then prompt chunks of slots that are still reading their
 * prompt, in round-robin order so a long prompt cannot starve a short one.
 * While anything is generating, prompt chunks are capped so that a new
 * long prompt delays the running streams by a bounded amount per token.
 *
 * Each slot remembers the tokens its sequence holds in the KV cache; they
 * are the prefix cache.  A job keeps the longest prefix its prompt shares
 * with them (always re-reading at least its last prompt token, whose
 * logits it needs) and the rest of the sequence is removed.
 */
#include "server/scheduler.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum slot_state { SLOT_IDLE = 0, SLOT_PREFILL, SLOT_GEN } slot_state;

typedef struct slot {
    int32_t seq;             /* its sequence id in the context */
    slot_state state;
    tlm_job *job;
    tlm_token *cached;       /* (n_ctx_slot) tokens its sequence holds, by position */
    int32_t n_cached;
    tlm_token next;          /* sampled and not yet decoded (SLOT_GEN) */
    int32_t row;             /* batch index of its logits this step, -1 = none */
    int32_t n_step;          /* tokens it put in this step's batch */
    uint64_t last_used;      /* for picking among equally good slots */
} slot;

struct tlm_sched {
    tlm_model *model;
    tlm_ctx *ctx;
    tlm_sched_params p;
    int32_t n_vocab;
    slot *slots;             /* (n_slots) */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;      /* queue, flags, counters below */
    pthread_cond_t cv;
    tlm_job **queue;         /* ring of (q_cap) */
    int32_t q_head, q_len, q_cap;
    bool closed, stopping;
    atomic_int cancel_all;
    atomic_int n_active, kv_used;
    atomic_ullong n_steps, n_step_tokens;
    uint64_t kv_bytes;
    uint64_t use_clock;
    int32_t rr;              /* first slot offered prompt room next step */
    /* The batch (n_batch entries each). */
    tlm_token *b_tok;
    int32_t *b_pos, *b_seq;
    int8_t *b_logits;
};

/* ---- Ending jobs ---- */

static void finish_job(tlm_sched *s, tlm_job *j, tlm_finish f, tlm_status st, const char *msg) {
    if (s->p.observer.finished) s->p.observer.finished(s->p.observer.user, j);
    tlm_job_end(j, f, st, msg);
}

static void release_slot(tlm_sched *s, slot *sl, tlm_finish f, tlm_status st, const char *msg) {
    tlm_job *j = sl->job;
    sl->job = NULL;
    sl->state = SLOT_IDLE;
    sl->last_used = ++s->use_clock;
    atomic_fetch_sub(&s->n_active, 1);
    finish_job(s, j, f, st, msg);
}

static bool is_cancelled(tlm_sched *s, const tlm_job *j) {
    return atomic_load(&s->cancel_all) || atomic_load(&j->task->cancel);
}

/* ---- Queue (under s->mu) ---- */

static tlm_job *queue_at(tlm_sched *s, int32_t i) {
    return s->queue[(s->q_head + i) % s->q_cap];
}

/* Ends the queued jobs whose request was cancelled, keeping the order of
 * the others. */
static void sweep_queue(tlm_sched *s) {
    int32_t kept = 0;
    for (int32_t i = 0; i < s->q_len; i++) {
        tlm_job *j = queue_at(s, i);
        if (is_cancelled(s, j))
            finish_job(s, j, TLM_FINISH_CANCELLED, TLM_OK, NULL);
        else
            s->queue[(s->q_head + kept++) % s->q_cap] = j;
    }
    s->q_len = kept;
}

/* Tokens a and b share from the start (at most lim). */
static int32_t common_prefix(const tlm_token *a, int32_t na, const tlm_token *b, int32_t lim) {
    int32_t n = TLM_MIN(na, lim), k = 0;
    while (k < n && a[k] == b[k]) k++;
    return k;
}

/* The free slot whose cache shares the most with the prompt; among equals
 * the one used least recently, so other conversations keep their caches. */
static slot *pick_slot(tlm_sched *s, const tlm_job *j, int32_t *keep) {
    slot *best = NULL;
    int32_t best_k = -1;
    for (int32_t i = 0; i < s->p.n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->state != SLOT_IDLE) continue;
        int32_t k = common_prefix(sl->cached, sl->n_cached, j->prompt, j->n_prompt - 1);
        if (k > best_k || (k == best_k && sl->last_used < best->last_used)) {
            best = sl;
            best_k = k;
        }
    }
    *keep = best_k;
    return best;
}

static void assign_slots(tlm_sched *s) {
    while (s->q_len > 0 && atomic_load(&s->n_active) < s->p.n_slots) {
        tlm_job *j = queue_at(s, 0);
        s->q_head = (s->q_head + 1) % s->q_cap;
        s->q_len--;
        int32_t keep;
        slot *sl = pick_slot(s, j, &keep);
        tlm_kv_seq_rm(s->ctx, sl->seq, keep, -1);
        sl->n_cached = keep;
        sl->job = j;
        sl->state = SLOT_PREFILL;
        atomic_fetch_add(&s->n_active, 1);
        pthread_mutex_lock(&j->task->mu);
        j->state = TLM_JOB_RUNNING;
        j->n_cached = keep;
        j->t_slot = tlm_time_ns();
        pthread_mutex_unlock(&j->task->mu);
    }
}

/* ---- One step ---- */

static void batch_add(tlm_sched *s, int32_t *n, slot *sl, tlm_token t, bool logits) {
    int32_t i = (*n)++;
    s->b_tok[i] = t;
    s->b_pos[i] = sl->n_cached + sl->n_step;
    s->b_seq[i] = sl->seq;
    s->b_logits[i] = logits;
    if (logits) sl->row = i;
    sl->n_step++;
}

/* Fills the batch; returns its size. */
static int32_t build_batch(tlm_sched *s) {
    int32_t n = 0, n_gen = 0;
    for (int32_t i = 0; i < s->p.n_slots; i++) {
        slot *sl = &s->slots[i];
        sl->row = -1;
        sl->n_step = 0;
        if (sl->state == SLOT_GEN) {
            batch_add(s, &n, sl, sl->next, true);
            n_gen++;
        }
    }
    int32_t room = s->p.n_batch - n;
    if (n_gen > 0) room = TLM_MIN(room, TLM_MAX(s->p.n_batch / 4, 16));
    for (int32_t k = 0; k < s->p.n_slots && room > 0; k++) {
        slot *sl = &s->slots[(s->rr + k) % s->p.n_slots];
        if (sl->state != SLOT_PREFILL) continue;
        const tlm_job *j = sl->job;
        int32_t left = j->n_prompt - sl->n_cached, take = TLM_MIN(left, room);
        for (int32_t t = 0; t < take; t++)
            batch_add(s, &n, sl, j->prompt[sl->n_cached + t], t == left - 1);
        room -= take;
    }
    s->rr = (s->rr + 1) % s->p.n_slots;
    return n;
}

/* Natural-log probabilities under the raw logits: the chosen token's and
 * the k best (ties to the lower id). */
static void fill_rec(const float *logits, int32_t n_vocab, tlm_token t, int32_t k,
                     tlm_tok_rec *r) {
    float mx = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int32_t i = 0; i < n_vocab; i++) sum += exp((double)(logits[i] - mx));
    float lse = mx + (float)log(sum);
    r->id = t;
    r->logprob = logits[t] - lse;
    r->n_top = 0;
    for (int32_t i = 0; i < n_vocab && k > 0; i++) {
        float v = logits[i];
        if (r->n_top == k && v <= logits[r->top_id[k - 1]]) continue;
        int32_t at = r->n_top < k ? r->n_top++ : k - 1;
        while (at > 0 && logits[r->top_id[at - 1]] < v) {
            r->top_id[at] = r->top_id[at - 1];
            at--;
        }
        r->top_id[at] = i;
    }
    for (int32_t i = 0; i < r->n_top; i++) r->top_logprob[i] = logits[r->top_id[i]] - lse;
}

/* The slot's logits are ready: sample, publish, decide whether it goes on. */
static void on_logits(tlm_sched *s, slot *sl, const float *logits) {
    tlm_job *j = sl->job;
    if (!j->t_prefilled) j->t_prefilled = tlm_time_ns();
    if (j->max_tokens == 0) {
        release_slot(s, sl, TLM_FINISH_LENGTH, TLM_OK, NULL);
        return;
    }
    const tlm_constraint *c = j->structured ? tlm_structured_constraint(j->structured) : NULL;
    if (c) {
        int32_t left = j->n_ctx - sl->n_cached + 1;
        if (j->max_tokens >= 0) left = TLM_MIN(left, j->max_tokens - j->n_gen);
        c->budget(c->user, TLM_MAX(left, 1));
    }
    tlm_token t = tlm_sampler_sample(j->sampler, logits, NULL);
    uint64_t now = tlm_time_ns();
    if (t < 0) {
        release_slot(s, sl, TLM_FINISH_STOP, TLM_ERR_INVALID_ARG,
                     "the sampling settings allowed no token at all");
        return;
    }
    const tlm_sched_observer *o = &s->p.observer;
    if (!j->t_first) {
        j->t_first = now;
        if (o->first_token) o->first_token(o->user, (double)(now - j->task->t_arrival) / 1e9);
    } else if (o->token) {
        o->token(o->user, (double)(now - j->t_last) / 1e9);
    }
    j->t_last = now;
    j->n_sampled++;
    if (tlm_model_is_eog(s->model, t)) {
        release_slot(s, sl, TLM_FINISH_STOP, TLM_OK, NULL);
        return;
    }
    j->n_gen++;
    tlm_tok_rec rec;
    if (j->logprobs) fill_rec(logits, s->n_vocab, t, j->top_logprobs, &rec);
    /* A closed grammar ends the answer at once: only an end token could
     * follow. */
    if (tlm_job_push_token(j, t, j->logprobs ? &rec : NULL) || (c && c->done(c->user))) {
        release_slot(s, sl, TLM_FINISH_STOP, TLM_OK, NULL);
        return;
    }
    if ((j->max_tokens >= 0 && j->n_gen >= j->max_tokens) || sl->n_cached >= j->n_ctx) {
        release_slot(s, sl, TLM_FINISH_LENGTH, TLM_OK, NULL);
        return;
    }
    sl->next = t;
    sl->state = SLOT_GEN;
}

static void step(tlm_sched *s) {
    for (int32_t i = 0; i < s->p.n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->state != SLOT_IDLE && is_cancelled(s, sl->job))
            release_slot(s, sl, TLM_FINISH_CANCELLED, TLM_OK, NULL);
    }
    int32_t n = build_batch(s);
    if (n == 0) return;
    tlm_batch b = {.n_tokens = n, .token = s->b_tok, .pos = s->b_pos, .seq_id = s->b_seq,
                   .logits = s->b_logits};
    tlm_error err = {0};
    tlm_status st = tlm_ctx_decode(s->ctx, &b, &err);
    atomic_fetch_add(&s->n_steps, 1);
    atomic_fetch_add(&s->n_step_tokens, (unsigned long long)n);
    for (int32_t i = 0; i < s->p.n_slots; i++) {
        slot *sl = &s->slots[i];
        if (!sl->n_step) continue;
        if (st) {
            /* A refused batch changes nothing, but the slot's job is lost. */
            release_slot(s, sl, TLM_FINISH_STOP, st, err.msg);
            continue;
        }
        for (int32_t k = 0; k < sl->n_step; k++) {
            int32_t at = sl->n_cached + k;
            sl->cached[at] = sl->state == SLOT_GEN ? sl->next : sl->job->prompt[at];
        }
        sl->n_cached += sl->n_step;
        if (sl->row >= 0) on_logits(s, sl, tlm_ctx_logits(s->ctx, sl->row));
    }
    atomic_store(&s->kv_used, tlm_kv_used_cells(s->ctx));
}

static void *sched_main(void *arg) {
    tlm_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        sweep_queue(s);
        assign_slots(s);
        if (atomic_load(&s->n_active) == 0) {
            if (s->stopping && s->q_len == 0) break;
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        step(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- Life cycle ---- */

/* One decode so that the first request does not pay for page faults and
 * thread start-up. */
static tlm_status warm_up(tlm_sched *s, tlm_error *err) {
    tlm_token t = tlm_model_bos(s->model) >= 0 ? tlm_model_bos(s->model) : 0;
    int32_t pos = 0, seq = 0;
    tlm_batch b = {.n_tokens = 1, .token = &t, .pos = &pos, .seq_id = &seq, .logits = NULL};
    tlm_status st = tlm_ctx_decode(s->ctx, &b, err);
    tlm_kv_seq_rm(s->ctx, 0, 0, -1);
    return st;
}

static tlm_status alloc_all(tlm_sched *s, tlm_error *err) {
    int32_t nb = s->p.n_batch;
    s->slots = tlm_calloc((size_t)s->p.n_slots, sizeof *s->slots);
    s->q_cap = s->p.n_queue + s->p.n_slots;
    s->queue = tlm_calloc((size_t)s->q_cap, sizeof *s->queue);
    s->b_tok = tlm_calloc((size_t)nb, sizeof *s->b_tok);
    s->b_pos = tlm_calloc((size_t)nb, sizeof *s->b_pos);
    s->b_seq = tlm_calloc((size_t)nb, sizeof *s->b_seq);
    s->b_logits = tlm_calloc((size_t)nb, sizeof *s->b_logits);
    if (!s->slots || !s->queue || !s->b_tok || !s->b_pos || !s->b_seq || !s->b_logits)
        return tlm_error_set(err, TLM_ERR_NOMEM, "scheduler: out of memory");
    for (int32_t i = 0; i < s->p.n_slots; i++) {
        s->slots[i].seq = i;
        s->slots[i].cached = tlm_calloc((size_t)s->p.n_ctx_slot, sizeof(tlm_token));
        if (!s->slots[i].cached) return tlm_error_set(err, TLM_ERR_NOMEM, "scheduler: out of memory");
    }
    return TLM_OK;
}

static tlm_status check_params(const tlm_sched_params *p, tlm_error *err) {
    /* One sequence per slot, and a context has at most 64 sequences. */
    if (p->n_slots < 1 || p->n_slots > 64)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "parallel slots must be in [1, 64], got %d",
                             p->n_slots);
    if (p->n_ctx_slot < 8)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "context per slot must be at least 8, got %d",
                             p->n_ctx_slot);
    if (p->n_queue < 0)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "queue length must be >= 0, got %d",
                             p->n_queue);
    return TLM_OK;
}

tlm_status tlm_sched_create(tlm_model *model, const tlm_sched_params *p, tlm_sched **out,
                            tlm_error *err) {
    *out = NULL;
    tlm_status st = check_params(p, err);
    if (st) return st;
    tlm_sched *s = tlm_calloc(1, sizeof *s);
    if (!s) return tlm_error_set(err, TLM_ERR_NOMEM, "scheduler: out of memory");
    s->model = model;
    s->p = *p;
    s->n_vocab = tlm_model_n_vocab(model);
    uint64_t cells = (uint64_t)p->n_slots * (uint64_t)p->n_ctx_slot;
    if (s->p.n_batch <= 0) s->p.n_batch = 512;
    s->p.n_batch = TLM_MAX(s->p.n_batch, p->n_slots);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (cells > (1u << 24)) {
        st = tlm_error_set(err, TLM_ERR_INVALID_ARG,
                           "%d slots x %d tokens = %llu KV cells is too many (at most %u)",
                           p->n_slots, p->n_ctx_slot, (unsigned long long)cells, 1u << 24);
        goto fail;
    }
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_ctx = (int32_t)cells;
    cp.n_seq_max = p->n_slots;
    cp.n_batch = s->p.n_batch;
    cp.n_threads = p->n_threads;
    if ((st = tlm_ctx_create(model, &cp, &s->ctx, err)) || (st = alloc_all(s, err)) ||
        (st = warm_up(s, err)))
        goto fail;
    tlm_mem_stats ms;
    tlm_ctx_mem_stats(s->ctx, &ms);
    s->kv_bytes = ms.kv_bytes;
    if (pthread_create(&s->thread, NULL, sched_main, s)) {
        st = tlm_error_set(err, TLM_ERR_INTERNAL, "scheduler: cannot start its thread");
        goto fail;
    }
    s->started = true;
    *out = s;
    return TLM_OK;
fail:
    tlm_sched_free(s);
    return st;
}

void tlm_sched_free(tlm_sched *s) {
    if (!s) return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = s->closed = true;
        atomic_store(&s->cancel_all, 1);
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    for (int32_t i = 0; s->slots && i < s->p.n_slots; i++) tlm_free(s->slots[i].cached);
    tlm_free(s->slots);
    tlm_free(s->queue);
    tlm_free(s->b_tok);
    tlm_free(s->b_pos);
    tlm_free(s->b_seq);
    tlm_free(s->b_logits);
    tlm_ctx_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    tlm_free(s);
}

/* ---- Submitting and controlling ---- */

tlm_submit tlm_sched_submit(tlm_sched *s, tlm_task *t) {
    pthread_mutex_lock(&s->mu);
    tlm_submit r = TLM_SUBMIT_OK;
    int32_t room = s->p.n_queue + s->p.n_slots - atomic_load(&s->n_active) - s->q_len;
    if (s->closed)
        r = TLM_SUBMIT_CLOSED;
    else if (t->n_jobs > room || s->q_len + t->n_jobs > s->q_cap)
        r = TLM_SUBMIT_FULL;
    if (r == TLM_SUBMIT_OK) {
        t->sched = s;
        pthread_mutex_lock(&t->mu);
        for (int32_t i = 0; i < t->n_jobs; i++) {
            t->jobs[i].state = TLM_JOB_QUEUED;
            s->queue[(s->q_head + s->q_len++) % s->q_cap] = &t->jobs[i];
        }
        pthread_mutex_unlock(&t->mu);
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

void tlm_sched_close(tlm_sched *s) {
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    pthread_mutex_unlock(&s->mu);
}

void tlm_sched_cancel_all(tlm_sched *s) {
    atomic_store(&s->cancel_all, 1);
    tlm_sched_poke(s);
}

void tlm_sched_poke(tlm_sched *s) {
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void tlm_sched_get_stats(tlm_sched *s, tlm_sched_stats *out) {
    pthread_mutex_lock(&s->mu);
    *out = (tlm_sched_stats){
        .n_slots = s->p.n_slots,
        .n_active = atomic_load(&s->n_active),
        .n_queued = s->q_len,
        .n_queue_max = s->p.n_queue,
        .n_ctx_slot = s->p.n_ctx_slot,
        .kv_used = atomic_load(&s->kv_used),
        .kv_cells = s->p.n_slots * s->p.n_ctx_slot,
        .kv_bytes = s->kv_bytes,
        .n_steps = atomic_load(&s->n_steps),
        .n_step_tokens = atomic_load(&s->n_step_tokens),
    };
    pthread_mutex_unlock(&s->mu);
}

int32_t tlm_sched_n_ctx_slot(const tlm_sched *s) { return s->p.n_ctx_slot; }
