/*
 * gen_report.c - what a finished generation reports: usage (with cached
 * prompt tokens), the timings object, the effective sampling settings,
 * Ollama's nanosecond durations, and logprobs entries.
 *
 * Time points come from the jobs (scheduler.h): arrival of the request,
 * slot assigned, prompt read, first and last token sampled.  Rates over
 * generated tokens count the intervals between them (n - 1 for n tokens,
 * plus the end token when one was sampled), since the first token's cost
 * is prompt processing.  The exact definitions are in docs/API.md.
 */
#include "server/server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tlm_finish_str(tlm_finish f) {
    switch (f) {
    case TLM_FINISH_LENGTH: return "length";
    case TLM_FINISH_CANCELLED: return "cancelled";
    default: return "stop";
    }
}

tlm_gen_usage tlm_gen_get_usage(const tlm_srv_gen *g) {
    tlm_gen_usage u = {0};
    const tlm_task *t = g->task;
    int32_t n = g->rq.n, n_prompts = t->n_jobs / n;
    for (int32_t p = 0; p < n_prompts; p++) {
        u.prompt += g->n_prompt[p];
        u.cached += t->jobs[p * n].n_cached;
    }
    for (int32_t i = 0; i < t->n_jobs; i++) u.completion += t->jobs[i].n_gen;
    return u;
}

json_t *tlm_gen_usage_json(const tlm_srv_gen *g) {
    tlm_gen_usage u = tlm_gen_get_usage(g);
    return json_pack("{s:i,s:i,s:i,s:{s:i}}", "prompt_tokens", u.prompt, "completion_tokens",
                     u.completion, "total_tokens", u.prompt + u.completion,
                     "prompt_tokens_details", "cached_tokens", u.cached);
}

/* Times of the whole request, over its jobs (in ms). */
typedef struct spans {
    double prompt_ms;     /* slot to prompt read, the longest */
    double gen_ms;        /* first to last token, the longest */
    double gen_sum_ms;    /* the same summed over jobs */
    int32_t intervals;    /* token-to-token intervals, all jobs */
    double ttft_ms;       /* arrival to the first token of any job; -1 = none */
    double queue_ms;      /* arrival to the first slot */
} spans;

static double ms(uint64_t a, uint64_t b) { return b > a ? (double)(b - a) / 1e6 : 0; }

static spans get_spans(const tlm_srv_gen *g) {
    spans s = {.ttft_ms = -1, .queue_ms = -1};
    const tlm_task *t = g->task;
    for (int32_t i = 0; i < t->n_jobs; i++) {
        const tlm_job *j = &t->jobs[i];
        if (!j->t_slot) continue;
        double q = ms(t->t_arrival, j->t_slot);
        if (s.queue_ms < 0 || q < s.queue_ms) s.queue_ms = q;
        if (j->t_prefilled) s.prompt_ms = fmax(s.prompt_ms, ms(j->t_slot, j->t_prefilled));
        if (!j->t_first) continue;
        double f = ms(t->t_arrival, j->t_first), span = ms(j->t_first, j->t_last);
        if (s.ttft_ms < 0 || f < s.ttft_ms) s.ttft_ms = f;
        s.gen_ms = fmax(s.gen_ms, span);
        s.gen_sum_ms += span;
        s.intervals += j->n_sampled - 1;
    }
    if (s.queue_ms < 0) s.queue_ms = 0;
    return s;
}

static double per(double num, double den) { return den > 0 ? num / den : 0; }

json_t *tlm_gen_timings_json(const tlm_srv_gen *g) {
    tlm_gen_usage u = tlm_gen_get_usage(g);
    spans s = get_spans(g);
    int32_t prompt_n = u.prompt - u.cached;
    json_t *o = json_object();
    json_object_set_new(o, "cache_n", json_integer(u.cached));
    json_object_set_new(o, "prompt_n", json_integer(prompt_n));
    json_object_set_new(o, "prompt_ms", json_real(s.prompt_ms));
    json_object_set_new(o, "prompt_per_token_ms", json_real(per(s.prompt_ms, prompt_n)));
    json_object_set_new(o, "prompt_per_second", json_real(per(prompt_n * 1000.0, s.prompt_ms)));
    json_object_set_new(o, "predicted_n", json_integer(u.completion));
    json_object_set_new(o, "predicted_ms", json_real(s.gen_ms));
    json_object_set_new(o, "predicted_per_token_ms", json_real(per(s.gen_sum_ms, s.intervals)));
    json_object_set_new(o, "predicted_per_second",
                        json_real(per(s.intervals * 1000.0, s.gen_ms)));
    json_object_set_new(o, "ttft_ms", s.ttft_ms >= 0 ? json_real(s.ttft_ms) : json_null());
    json_object_set_new(o, "queue_ms", json_real(s.queue_ms));
    return o;
}

tlm_gen_times tlm_gen_get_times(const tlm_srv_gen *g) {
    spans s = get_spans(g);
    return (tlm_gen_times){
        .total_ns = tlm_time_ns() - g->task->t_arrival,
        .prompt_ns = (uint64_t)(s.prompt_ms * 1e6),
        .eval_ns = (uint64_t)(s.gen_ms * 1e6),
        .queue_ns = (uint64_t)(s.queue_ms * 1e6),
        .ttft_ms = s.ttft_ms,
    };
}

/* A float setting as the user wrote it (0.8, not 0.800000011920929). */
static json_t *setting(float v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", v);
    return json_real(strtod(buf, NULL));
}

json_t *tlm_gen_settings_json(const tlm_srv_gen *g) {
    const tlm_sampler_params *p = &g->sampling;
    json_t *stop = json_array();
    for (int32_t i = 0; i < g->rq.n_stop; i++) json_array_append_new(stop, json_string(g->rq.stop[i]));
    json_t *o = json_object();
    json_object_set_new(o, "temperature", setting(p->temperature));
    json_object_set_new(o, "top_k", json_integer(p->top_k));
    json_object_set_new(o, "top_p", setting(p->top_p));
    json_object_set_new(o, "min_p", setting(p->min_p));
    json_object_set_new(o, "typical_p", setting(p->typical_p));
    json_object_set_new(o, "repeat_penalty", setting(p->repeat_penalty));
    json_object_set_new(o, "repeat_last_n", json_integer(p->penalty_last_n));
    json_object_set_new(o, "presence_penalty", setting(p->presence_penalty));
    json_object_set_new(o, "frequency_penalty", setting(p->frequency_penalty));
    json_object_set_new(o, "seed", json_integer((json_int_t)g->seed));
    json_object_set_new(o, "max_tokens",
                        g->rq.max_tokens >= 0 ? json_integer(g->rq.max_tokens) : json_null());
    json_object_set_new(o, "n_ctx", json_integer(g->n_ctx));
    json_object_set_new(o, "ignore_eos", json_boolean(g->rq.ignore_eos));
    json_object_set_new(o, "stop", stop);
    return o;
}

/* ---- Logprobs ---- */

/* A JSON string of bytes that may not be valid UTF-8 (a token can end
 * inside a character): invalid bytes become U+FFFD. */
json_t *tlm_json_text(const char *s, size_t n) {
    json_t *v = json_stringn(s, n);
    if (v) return v;
    tlm_buf b = {0};
    for (size_t i = 0; i < n;) {
        size_t len = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xC0) len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        json_t *ch = i + len <= n ? json_stringn(s + i, len) : NULL;
        if (ch && c >= 0x80 && c < 0xC0) {
            json_decref(ch);
            ch = NULL;
        }
        if (ch)
            tlm_buf_append(&b, s + i, len);
        else
            tlm_buf_append(&b, "\xEF\xBF\xBD", 3), len = 1;
        json_decref(ch);
        i += len;
    }
    v = json_stringn(b.data ? b.data : "", b.len);
    tlm_buf_free(&b);
    return v;
}

static json_t *token_entry(const tlm_model *m, tlm_token id, float lp, bool with_top) {
    char buf[256];
    int32_t n = tlm_model_token_to_bytes(m, id, buf, (int32_t)sizeof buf);
    if (n < 0) n = 0;
    n = TLM_MIN(n, (int32_t)sizeof buf);
    json_t *bytes = json_array();
    for (int32_t i = 0; i < n; i++) json_array_append_new(bytes, json_integer((unsigned char)buf[i]));
    json_t *o = json_object();
    json_object_set_new(o, "token", tlm_json_text(buf, (size_t)n));
    json_object_set_new(o, "logprob", json_real(isfinite(lp) ? lp : -9999.0));
    json_object_set_new(o, "bytes", bytes);
    if (with_top) json_object_set_new(o, "top_logprobs", json_array());
    return o;
}

void tlm_gen_logprobs_content(const tlm_srv_gen *g, const tlm_tok_rec *recs, size_t n,
                              json_t *arr) {
    const tlm_model *m = g->m->model;
    for (size_t i = 0; i < n; i++) {
        const tlm_tok_rec *r = &recs[i];
        json_t *e = token_entry(m, r->id, r->logprob, true);
        json_t *top = json_object_get(e, "top_logprobs");
        for (int32_t k = 0; k < r->n_top; k++)
            json_array_append_new(top, token_entry(m, r->top_id[k], r->top_logprob[k], false));
        json_array_append_new(arr, e);
    }
}
