/*
 * runner.c - drives a target over a suite: every (task, sample) not yet in
 * the results file is generated, graded and appended by a small pool of
 * worker threads (generation of one item overlaps the sandbox run of
 * another), with a progress callback after each item.  Also the summary:
 * pass rates per suite and task kind, pass@k, verdict counts, JSON validity
 * and latency percentiles, computed from the results file alone so that a
 * resumed run reports the same numbers as an uninterrupted one.
 */
#include "eval/eval.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

tlm_eval_run_opts tlm_eval_default_run_opts(void) {
    return (tlm_eval_run_opts){
        .samples = 1, .jobs = 1, .params = {.temperature = 0.0, .max_tokens = 1024}};
}

typedef struct run_state {
    const tlm_eval_suite *suite;
    const tlm_eval_target *target;
    const tlm_sandbox *sb;
    tlm_eval_results *res;
    const tlm_eval_run_opts *opts;
    size_t *todo; /* task index * samples + sample */
    size_t n_todo, next;
    pthread_mutex_t mu, gen_mu;
    tlm_eval_progress prog;
    uint64_t start_ns;
    tlm_status status;
    tlm_error err;
} run_state;

static tlm_status generate(const tlm_eval_task *task, const tlm_eval_target *target,
                           const tlm_eval_run_opts *opts, int sample, pthread_mutex_t *gen_mu,
                           tlm_eval_answer *a, tlm_error *gen_err) {
    tlm_eval_request req = {
        .task = task,
        .system = task->system,
        .prompt = task->prompt,
        .tools = task->tools,
        .response_schema =
            opts->constrained_json && task->grader == TLM_EVAL_GRADER_JSON ? task->schema : NULL,
        .params = opts->params,
        .sample = sample,
    };
    req.params.seed = opts->params.seed + (uint64_t)sample;
    if (gen_mu) pthread_mutex_lock(gen_mu);
    tlm_status st = target->generate(target->userdata, &req, a, gen_err);
    if (gen_mu) pthread_mutex_unlock(gen_mu);
    return st;
}

static tlm_status run_item_locked(const tlm_eval_task *task, const tlm_eval_target *target,
                                  const tlm_sandbox *sb, tlm_eval_results *res,
                                  const tlm_eval_run_opts *opts, int sample,
                                  pthread_mutex_t *gen_mu, bool *out_passed, tlm_error *err) {
    tlm_eval_answer a;
    tlm_eval_answer_init(&a);
    tlm_eval_grade g;
    tlm_error gen_err = {0};
    tlm_status st = generate(task, target, opts, sample, gen_mu, &a, &gen_err);
    if (st == TLM_ERR_NOMEM) {
        tlm_eval_answer_clear(&a);
        return tlm_error_set(err, st, "out of memory");
    }
    if (st != TLM_OK) {
        /* No answer at all: the target's failure, recorded, not the model's. */
        memset(&g, 0, sizeof g);
        g.verdict = TLM_EVAL_HARNESS_ERROR;
        g.method = "none";
        g.json_valid = g.schema_valid = -1;
        g.detail = tlm_strdup(gen_err.msg[0] ? gen_err.msg : tlm_status_str(st));
    } else if ((st = tlm_eval_grade_answer(sb, task, &a, &g, err)) != TLM_OK) {
        tlm_eval_answer_clear(&a);
        return st;
    }
    tlm_eval_item item = {target->name, task, sample, &a, &g};
    st = tlm_eval_results_append(res, &item, err);
    if (out_passed) *out_passed = g.verdict == TLM_EVAL_PASS;
    tlm_eval_grade_clear(&g);
    tlm_eval_answer_clear(&a);
    return st;
}

tlm_status tlm_eval_run_item(const tlm_eval_task *task, const tlm_eval_target *target,
                             const tlm_sandbox *sb, tlm_eval_results *res,
                             const tlm_eval_run_opts *opts, int sample, bool *out_passed,
                             tlm_error *err) {
    if (!task || !target || !target->generate || !res)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "run: missing task, target or results");
    tlm_eval_run_opts dflt = tlm_eval_default_run_opts();
    return run_item_locked(task, target, sb, res, opts ? opts : &dflt, sample, NULL, out_passed,
                           err);
}

static void *worker(void *p) {
    run_state *s = p;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool stop = s->next >= s->n_todo || s->status != TLM_OK;
        size_t k = stop ? 0 : s->todo[s->next++];
        pthread_mutex_unlock(&s->mu);
        if (stop) return NULL;
        int samples = s->opts->samples;
        const tlm_eval_task *task = &s->suite->tasks[k / (size_t)samples];
        bool passed = false;
        tlm_error e = {0};
        tlm_status st =
            run_item_locked(task, s->target, s->sb, s->res, s->opts, (int)(k % (size_t)samples),
                            s->target->serial ? &s->gen_mu : NULL, &passed, &e);
        pthread_mutex_lock(&s->mu);
        if (st != TLM_OK && s->status == TLM_OK) {
            s->status = st;
            s->err = e;
        }
        s->prog.done++;
        s->prog.passed += passed;
        s->prog.elapsed_s = (double)(tlm_time_ns() - s->start_ns) / 1e9;
        s->prog.eta_s =
            s->prog.elapsed_s / (double)s->prog.done * (double)(s->prog.total - s->prog.done);
        if (s->opts->progress) s->opts->progress(s->opts->progress_ud, &s->prog);
        pthread_mutex_unlock(&s->mu);
    }
}

static tlm_status plan(run_state *s, tlm_error *err) {
    size_t n_tasks = s->suite->n_tasks;
    if (s->opts->limit && s->opts->limit < n_tasks) n_tasks = s->opts->limit;
    size_t samples = (size_t)s->opts->samples;
    s->todo = tlm_calloc(n_tasks * samples + 1, sizeof *s->todo);
    if (!s->todo) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n_tasks; i++)
        for (size_t j = 0; j < samples; j++) {
            if (tlm_eval_results_done(s->res, s->target->name, s->suite->tasks[i].id, (int)j))
                s->prog.skipped++;
            else
                s->todo[s->n_todo++] = i * samples + j;
        }
    return TLM_OK;
}

tlm_status tlm_eval_run(const tlm_eval_suite *suite, const tlm_eval_target *target,
                        const tlm_sandbox *sb, tlm_eval_results *res, const tlm_eval_run_opts *opts,
                        tlm_error *err) {
    if (!suite || !target || !target->generate || !target->name || !res)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "run: missing suite, target or results");
    tlm_eval_run_opts o = opts ? *opts : tlm_eval_default_run_opts();
    if (o.samples < 1 || o.samples > 100000 || o.jobs < 1 || o.jobs > 256)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "run: samples and jobs must be positive");
    run_state s = {.suite = suite, .target = target, .sb = sb, .res = res, .opts = &o};
    s.prog.target = target->name;
    s.prog.suite = suite->name;
    tlm_status st = plan(&s, err);
    if (st != TLM_OK) return st;
    s.prog.total = s.n_todo;
    s.start_ns = tlm_time_ns();
    pthread_mutex_init(&s.mu, NULL);
    pthread_mutex_init(&s.gen_mu, NULL);
    size_t n_threads = TLM_MIN((size_t)o.jobs, s.n_todo);
    pthread_t th[256];
    size_t started = 0;
    for (; started < n_threads; started++)
        if (pthread_create(&th[started], NULL, worker, &s) != 0) break;
    if (n_threads && !started) worker(&s); /* no thread could start: run inline */
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&s.mu);
    pthread_mutex_destroy(&s.gen_mu);
    tlm_free(s.todo);
    if (s.status != TLM_OK && err) *err = s.err;
    return s.status;
}
