/*
 * job.c - tasks and jobs: the hand-over between the scheduler thread, which
 * produces text, and the HTTP thread that answers the request.
 *
 * The scheduler appends text (and token records) to the job under the
 * task's lock and signals; the consumer takes whatever accumulated.  So a
 * slow consumer never slows the model: it finds several tokens at once.
 *
 * Text passes two filters on the scheduler side before it is published:
 * the streaming detokenizer (src/tokenizer), which holds back a UTF-8
 * character split across tokens, and the stop strings below, which hold
 * back the longest tail that could still become one.  A stop string may
 * span tokens; neither it nor anything after it is ever published.
 */
#include "sample/stop.h"
#include "server/scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- Tasks ---- */

tlm_task *tlm_task_create(int32_t n_jobs, uint64_t t_arrival) {
    tlm_task *t = tlm_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->jobs = tlm_calloc((size_t)(n_jobs > 0 ? n_jobs : 1), sizeof *t->jobs);
    if (!t->jobs) {
        tlm_free(t);
        return NULL;
    }
    t->n_jobs = n_jobs;
    t->t_arrival = t_arrival;
    atomic_init(&t->cancel, 0);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    for (int32_t i = 0; i < n_jobs; i++) t->jobs[i].task = t;
    return t;
}

static void job_release(tlm_job *j) {
    tlm_free(j->prompt);
    tlm_sampler_free(j->sampler);
    tlm_structured_free(j->structured);
    tlm_detok_free(j->detok);
    for (int32_t i = 0; i < j->n_stop; i++) tlm_free(j->stop[i]);
    tlm_free(j->stop);
    tlm_buf_free(&j->text);
    tlm_buf_free(&j->recs);
    tlm_buf_free(&j->hold);
}

void tlm_task_free(tlm_task *t) {
    if (!t) return;
    for (int32_t i = 0; i < t->n_jobs; i++) job_release(&t->jobs[i]);
    tlm_free(t->jobs);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    tlm_free(t);
}

static bool all_done(const tlm_task *t) {
    for (int32_t i = 0; i < t->n_jobs; i++)
        if (t->jobs[i].state == TLM_JOB_QUEUED || t->jobs[i].state == TLM_JOB_RUNNING)
            return false;
    return true;
}

static bool any_news(const tlm_task *t) {
    for (int32_t i = 0; i < t->n_jobs; i++)
        if (t->jobs[i].news) return true;
    return false;
}

static struct timespec deadline_in(int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

bool tlm_task_wait(tlm_task *t, int timeout_ms) {
    struct timespec until = deadline_in(timeout_ms);
    pthread_mutex_lock(&t->mu);
    while (!any_news(t) && !all_done(t))
        if (pthread_cond_timedwait(&t->cv, &t->mu, &until) == ETIMEDOUT) break;
    bool done = all_done(t);
    pthread_mutex_unlock(&t->mu);
    return done;
}

bool tlm_task_take(tlm_task *t, int32_t i, tlm_buf *text, tlm_buf *recs) {
    tlm_job *j = &t->jobs[i];
    pthread_mutex_lock(&t->mu);
    /* Out of memory here loses text rather than corrupting it. */
    if (text && j->text.len) tlm_buf_append(text, j->text.data, j->text.len);
    if (recs && j->recs.len) tlm_buf_append(recs, j->recs.data, j->recs.len);
    j->text.len = j->recs.len = 0;
    j->news = false;
    bool done = j->state == TLM_JOB_DONE;
    pthread_mutex_unlock(&t->mu);
    return done;
}

void tlm_task_cancel(tlm_task *t) {
    if (!t) return;
    atomic_store(&t->cancel, 1);
    if (t->sched) tlm_sched_poke(t->sched);
    pthread_mutex_lock(&t->mu);
    while (!all_done(t)) pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

static void publish(tlm_job *j, const char *s, size_t n, const tlm_tok_rec *rec) {
    if (!n && !rec) return;
    tlm_task *t = j->task;
    pthread_mutex_lock(&t->mu);
    if (n) tlm_buf_append(&j->text, s, n);
    if (rec) tlm_buf_append(&j->recs, rec, sizeof *rec);
    j->news = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* New detokenized text: publishes what cannot be part of a stop string. */
static bool push_text(tlm_job *j, const char *s, size_t n, const tlm_tok_rec *rec) {
    if (j->stopped) return true;
    if (!j->n_stop) {
        publish(j, s, n, rec);
        return false;
    }
    tlm_buf *h = &j->hold;
    if (n && tlm_buf_append(h, s, n)) return false;
    if (!h->len) {
        publish(j, "", 0, rec);
        return false;
    }
    size_t at = tlm_stop_find((const char *const *)j->stop, j->n_stop, h->data, h->len);
    if (at < h->len) {
        j->stopped = true;
        publish(j, h->data, at, rec);
        h->len = 0;
        return true;
    }
    size_t out = tlm_stop_safe_len((const char *const *)j->stop, j->n_stop, h->data, h->len);
    publish(j, h->data, out, rec);
    memmove(h->data, h->data + out, h->len - out);
    h->len -= out;
    return false;
}

bool tlm_job_push_token(tlm_job *j, tlm_token t, const tlm_tok_rec *rec) {
    const char *s = NULL;
    size_t n = 0;
    /* Ids past the token list (padding rows) have no text. */
    if (tlm_detok_push(j->detok, t, &s, &n) != TLM_OK) n = 0;
    return push_text(j, s, n, rec);
}

void tlm_job_end(tlm_job *j, tlm_finish finish, tlm_status status, const char *msg) {
    if (!j->stopped && finish != TLM_FINISH_CANCELLED && status == TLM_OK) {
        const char *s;
        size_t n;
        tlm_detok_flush(j->detok, &s, &n);
        if (push_text(j, s, n, NULL))
            finish = TLM_FINISH_STOP;
        else
            publish(j, j->hold.data, j->hold.len, NULL);
        j->hold.len = 0;
    }
    tlm_task *t = j->task;
    pthread_mutex_lock(&t->mu);
    j->finish = finish;
    j->status = status;
    if (msg) snprintf(j->errmsg, sizeof j->errmsg, "%s", msg);
    j->state = TLM_JOB_DONE;
    j->news = true;
    t->n_done++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}
