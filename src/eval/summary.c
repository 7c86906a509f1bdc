/*
 * summary.c - turns the records of a results file into the numbers reports
 * show: per target and suite, and per task kind within a suite, the pass
 * rate, pass@k by the unbiased estimator (only for k that every task has
 * enough samples for), counts per verdict, JSON validity and latency
 * percentiles, and per target the same over all its suites joined with its
 * info record (load time, peak memory, model size, determinism).
 * Percentiles interpolate linearly between order statistics
 * (numpy's default), so they match what a notebook would compute.
 */
#include "eval/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : ""); }

static int cmp_rec(const void *pa, const void *pb, void *ctx) {
    const tlm_eval_record *recs = ctx;
    const tlm_eval_record *a = &recs[*(const size_t *)pa], *b = &recs[*(const size_t *)pb];
    int c;
    if ((c = cmp_str(a->target, b->target)) || (c = cmp_str(a->suite, b->suite)) ||
        (c = cmp_str(a->kind, b->kind)) || (c = cmp_str(a->task_id, b->task_id)))
        return c;
    return (a->sample > b->sample) - (a->sample < b->sample);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *v, size_t n, double q) {
    if (!n) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos), hi = (size_t)ceil(pos);
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

static void set_real(json_t *o, const char *k, double v) {
    json_object_set_new(o, k, isnan(v) ? json_null() : json_real(v));
}

typedef struct span {
    const tlm_eval_record *recs;
    const size_t *idx;
    size_t from, to;
} span;

static void add_pass_at_k(json_t *o, const span *s, int *n, int *c) {
    size_t n_tasks = 0;
    for (size_t i = s->from; i < s->to;) {
        const tlm_eval_record *r = &s->recs[s->idx[i]];
        n[n_tasks] = c[n_tasks] = 0;
        while (i < s->to && !strcmp(s->recs[s->idx[i]].task_id, r->task_id)) {
            n[n_tasks]++;
            c[n_tasks] += s->recs[s->idx[i]].verdict == TLM_EVAL_PASS;
            i++;
        }
        n_tasks++;
    }
    json_object_set_new(o, "tasks", json_integer((json_int_t)n_tasks));
    static const int ks[] = {1, 10, 100};
    for (size_t j = 0; j < TLM_ARRAY_LEN(ks); j++) {
        double p = tlm_eval_pass_at_k_mean(n, c, n_tasks, ks[j]);
        char key[16];
        snprintf(key, sizeof key, "pass@%d", ks[j]);
        if (!isnan(p)) set_real(o, key, p);
    }
}

static json_t *span_stats(const span *s, int *n, int *c, double *tmp) {
    json_t *o = json_object(), *verdicts = json_object();
    if (!o || !verdicts) {
        json_decref(o);
        json_decref(verdicts);
        return NULL;
    }
    size_t counts[TLM_EVAL_VERDICT_COUNT] = {0}, json_total = 0, json_ok = 0, nt = 0;
    long long fields_ok = 0, fields_total = 0;
    double gen_sum = 0, prompt_sum = 0;
    size_t gen_n = 0, prompt_n = 0;
    for (size_t i = s->from; i < s->to; i++) {
        const tlm_eval_record *r = &s->recs[s->idx[i]];
        counts[r->verdict]++;
        if (r->json_valid >= 0) {
            json_total++, json_ok += r->json_valid > 0;
            if (r->fields_total > 0) fields_ok += r->fields_ok, fields_total += r->fields_total;
        }
        if (r->ttft_ms >= 0) tmp[nt++] = r->ttft_ms;
        if (r->gen_tok_s > 0) gen_sum += r->gen_tok_s, gen_n++;
        if (r->prompt_tok_s > 0) prompt_sum += r->prompt_tok_s, prompt_n++;
    }
    size_t samples = s->to - s->from;
    add_pass_at_k(o, s, n, c);
    json_object_set_new(o, "samples", json_integer((json_int_t)samples));
    json_object_set_new(o, "passed", json_integer((json_int_t)counts[TLM_EVAL_PASS]));
    set_real(o, "pass_rate", samples ? (double)counts[TLM_EVAL_PASS] / (double)samples : NAN);
    for (int v = 0; v < TLM_EVAL_VERDICT_COUNT; v++)
        if (counts[v])
            json_object_set_new(verdicts, tlm_eval_verdict_name((tlm_eval_verdict)v),
                                json_integer((json_int_t)counts[v]));
    json_object_set_new(o, "verdicts", verdicts);
    set_real(o, "json_valid_rate", json_total ? (double)json_ok / (double)json_total : NAN);
    set_real(o, "json_field_accuracy",
             fields_total ? (double)fields_ok / (double)fields_total : NAN);
    set_real(o, "ttft_ms_p50", percentile(tmp, nt, 0.50));
    set_real(o, "ttft_ms_p95", percentile(tmp, nt, 0.95));
    set_real(o, "gen_tok_s_mean", gen_n ? gen_sum / (double)gen_n : NAN);
    set_real(o, "prompt_tok_s_mean", prompt_n ? prompt_sum / (double)prompt_n : NAN);
    return o;
}

typedef enum group { BY_TARGET, BY_SUITE, BY_KIND } group;

/* End of the run of records equal to idx[from] in target (, suite (, kind)). */
static size_t run_end(const tlm_eval_record *recs, const size_t *idx, size_t from, size_t to,
                      group g) {
    const tlm_eval_record *a = &recs[idx[from]];
    size_t i = from;
    while (i < to) {
        const tlm_eval_record *b = &recs[idx[i]];
        if (strcmp(a->target, b->target) || (g >= BY_SUITE && strcmp(a->suite, b->suite)) ||
            (g == BY_KIND && strcmp(a->kind, b->kind)))
            break;
        i++;
    }
    return i;
}

static json_t *suite_json(const span *s, int *n, int *c, double *tmp) {
    json_t *o = span_stats(s, n, c, tmp), *kinds = json_object();
    if (!o || !kinds) {
        json_decref(o);
        json_decref(kinds);
        return NULL;
    }
    const tlm_eval_record *first = &s->recs[s->idx[s->from]];
    json_object_set_new(o, "target", json_string(first->target));
    json_object_set_new(o, "suite", json_string(first->suite));
    for (size_t i = s->from; i < s->to;) {
        size_t e = run_end(s->recs, s->idx, i, s->to, BY_KIND);
        span ks = {s->recs, s->idx, i, e};
        json_t *k = span_stats(&ks, n, c, tmp);
        if (k) json_object_set_new(kinds, s->recs[s->idx[i]].kind, k);
        i = e;
    }
    json_object_set_new(o, "kinds", kinds);
    return o;
}

/* One entry per target: its records over every suite (pass rate, latency,
 * speed, JSON validity) plus its info record (load time, memory, model
 * size, determinism), so a report needs nothing else about a target. */
static json_t *targets_json(const tlm_eval_results *res, const tlm_eval_record *recs,
                            const size_t *idx, size_t n, int *nn, int *cc, double *tmp) {
    json_t *list = json_array(), *seen = json_object();
    const json_t *infos = tlm_eval_results_target_info(res);
    for (size_t i = 0; list && seen && i < n;) {
        size_t e = run_end(recs, idx, i, n, BY_TARGET);
        span s = {recs, idx, i, e};
        json_t *o = span_stats(&s, nn, cc, tmp);
        const char *name = recs[idx[i]].target;
        if (!o) break;
        json_object_set_new(o, "target", json_string(name));
        json_t *info = json_object_get(infos, name);
        json_object_set_new(o, "info", info ? json_deep_copy(info) : json_object());
        json_array_append_new(list, o);
        json_object_set_new(seen, name, json_true());
        i = e;
    }
    const char *name;
    json_t *info;
    json_object_foreach ((json_t *)infos, name, info) {
        if (!list || !seen || json_object_get(seen, name)) continue;
        json_array_append_new(list, json_pack("{s:s, s:i, s:O}", "target", name, "samples", 0,
                                              "info", info));
    }
    json_decref(seen);
    return list;
}

tlm_status tlm_eval_summarize(const tlm_eval_results *res, json_t **out, tlm_error *err) {
    if (!res || !out) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "summary: no results");
    *out = NULL;
    size_t n = tlm_eval_results_count(res);
    size_t *idx = tlm_calloc(n + 1, sizeof *idx);
    int *nn = tlm_calloc(n + 1, sizeof *nn), *cc = tlm_calloc(n + 1, sizeof *cc);
    double *tmp = tlm_calloc(n + 1, sizeof *tmp);
    json_t *list = json_array();
    tlm_status st = TLM_OK;
    if (!idx || !nn || !cc || !tmp || !list) {
        st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
        goto done;
    }
    const tlm_eval_record *recs = n ? tlm_eval_results_get(res, 0) : NULL;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (n) qsort_r(idx, n, sizeof *idx, cmp_rec, (void *)recs);
    for (size_t i = 0; i < n;) {
        size_t e = run_end(recs, idx, i, n, BY_SUITE);
        span s = {recs, idx, i, e};
        json_t *o = suite_json(&s, nn, cc, tmp);
        if (!o) {
            st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
            goto done;
        }
        json_array_append_new(list, o);
        i = e;
    }
    json_t *targets = targets_json(res, recs, idx, n, nn, cc, tmp);
    if (targets) {
        *out = json_pack("{s:o, s:o}", "suites", list, "targets", targets); /* steals both */
        list = NULL;
    }
    if (!*out) st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
done:
    json_decref(list);
    tlm_free(idx);
    tlm_free(nn);
    tlm_free(cc);
    tlm_free(tmp);
    return st;
}
