/*
 * metrics.c - GET /metrics in the Prometheus text format (version 0.0.4).
 *
 * Counters and histograms are kept here, fed by the router (one call per
 * finished HTTP request) and by each model's scheduler (observer hooks:
 * first token, each later token, each finished job).  Gauges (active and
 * queued requests, KV cache cells) are read from the schedulers when the
 * page is rendered.  Series are labelled by model id.
 */
#include "server/server.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const double ttft_le[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
static const double tpot_le[] = {0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05,
                                 0.075, 0.1, 0.25, 0.5, 1};
static const double req_le[] = {0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
#define N_LE 12

typedef struct histo {
    uint64_t bucket[N_LE]; /* cumulative counts are computed when rendering */
    uint64_t count;
    double sum;
} histo;

typedef struct model_metrics {
    tlm_metrics *parent;
    int index;
    histo ttft, tpot;
    uint64_t prompt_tokens, cached_tokens, gen_tokens;
    uint64_t finished[4];  /* by tlm_finish: none(error), stop, length, cancelled */
} model_metrics;

struct tlm_metrics {
    pthread_mutex_t mu;
    model_metrics *models;  /* (n_models) */
    int n_models;
    uint64_t by_status[600];
    histo request;
};

static void observe(histo *h, const double *le, double v) {
    for (int i = 0; i < N_LE; i++)
        if (v <= le[i]) {
            h->bucket[i]++;
            break;
        }
    h->count++;
    h->sum += v;
}

tlm_metrics *tlm_metrics_create(int n_models) {
    tlm_metrics *m = tlm_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->models = tlm_calloc((size_t)(n_models > 0 ? n_models : 1), sizeof *m->models);
    if (!m->models) {
        tlm_free(m);
        return NULL;
    }
    m->n_models = n_models;
    for (int i = 0; i < n_models; i++) m->models[i] = (model_metrics){.parent = m, .index = i};
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void tlm_metrics_free(tlm_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    tlm_free(m->models);
    tlm_free(m);
}

/* ---- Feeding ---- */

static void on_first(void *user, double s) {
    model_metrics *mm = user;
    pthread_mutex_lock(&mm->parent->mu);
    observe(&mm->ttft, ttft_le, s);
    pthread_mutex_unlock(&mm->parent->mu);
}

static void on_token(void *user, double s) {
    model_metrics *mm = user;
    pthread_mutex_lock(&mm->parent->mu);
    observe(&mm->tpot, tpot_le, s);
    pthread_mutex_unlock(&mm->parent->mu);
}

static void on_finished(void *user, const tlm_job *j) {
    model_metrics *mm = user;
    pthread_mutex_lock(&mm->parent->mu);
    /* Cancelled jobs that never got a slot read no prompt. */
    if (j->t_slot) {
        mm->prompt_tokens += (uint64_t)j->n_prompt;
        mm->cached_tokens += (uint64_t)j->n_cached;
    }
    mm->gen_tokens += (uint64_t)j->n_gen;
    pthread_mutex_unlock(&mm->parent->mu);
}

tlm_sched_observer tlm_metrics_observer(tlm_metrics *m, int model) {
    return (tlm_sched_observer){.user = &m->models[model], .first_token = on_first,
                                .token = on_token, .finished = on_finished};
}

void tlm_metrics_request(tlm_metrics *m, int status, double seconds) {
    if (status <= 0) return; /* the connection ended before any answer */
    pthread_mutex_lock(&m->mu);
    if (status >= 0 && status < 600) m->by_status[status]++;
    observe(&m->request, req_le, seconds);
    pthread_mutex_unlock(&m->mu);
}

/* ---- Rendering ---- */

static void head(tlm_buf *b, const char *name, const char *type, const char *help) {
    tlm_buf_appendf(b, "# HELP tinylm_%s %s\n# TYPE tinylm_%s %s\n", name, help, name, type);
}

static void histo_lines(tlm_buf *b, const char *name, const char *label, const histo *h,
                        const double *le) {
    uint64_t cum = 0;
    const char *sep = label[0] ? "," : "";
    for (int i = 0; i < N_LE; i++) {
        cum += h->bucket[i];
        tlm_buf_appendf(b, "tinylm_%s_bucket{%s%sle=\"%g\"} %llu\n", name, label, sep, le[i],
                        (unsigned long long)cum);
    }
    tlm_buf_appendf(b, "tinylm_%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, label, sep,
                    (unsigned long long)h->count);
    tlm_buf_appendf(b, "tinylm_%s_sum{%s} %.6f\ntinylm_%s_count{%s} %llu\n", name, label, h->sum,
                    name, label, (unsigned long long)h->count);
}

/* model="ID", with the escapes label values need. */
static void label_of(const tlm_srv *s, int i, char *out, size_t cap) {
    size_t n = (size_t)snprintf(out, cap, "model=\"");
    for (const char *p = s->models[i].id; *p && n + 4 < cap; p++) {
        if (*p == '"' || *p == '\\' || *p == '\n') out[n++] = '\\';
        out[n++] = *p == '\n' ? 'n' : *p;
    }
    snprintf(out + n, cap - n, "\"");
}

static void render_counters(tlm_srv *s, tlm_metrics *m, tlm_buf *b) {
    char l[300];
    head(b, "http_requests_total", "counter", "HTTP requests answered, by status code.");
    for (int st = 0; st < 600; st++)
        if (m->by_status[st])
            tlm_buf_appendf(b, "tinylm_http_requests_total{status=\"%d\"} %llu\n", st,
                            (unsigned long long)m->by_status[st]);
    head(b, "http_request_duration_seconds", "histogram", "Time from request to last byte.");
    histo_lines(b, "http_request_duration_seconds", "", &m->request, req_le);
    struct { const char *name, *help; size_t off; } counters[] = {
        {"prompt_tokens_total", "Prompt tokens of finished requests (cached included).",
         offsetof(model_metrics, prompt_tokens)},
        {"prompt_tokens_cached_total", "Prompt tokens reused from the KV cache.",
         offsetof(model_metrics, cached_tokens)},
        {"generated_tokens_total", "Tokens generated.", offsetof(model_metrics, gen_tokens)},
    };
    for (size_t c = 0; c < TLM_ARRAY_LEN(counters); c++) {
        head(b, counters[c].name, "counter", counters[c].help);
        for (int i = 0; i < m->n_models; i++) {
            label_of(s, i, l, sizeof l);
            uint64_t v = *(const uint64_t *)((const char *)&m->models[i] + counters[c].off);
            tlm_buf_appendf(b, "tinylm_%s{%s} %llu\n", counters[c].name, l, (unsigned long long)v);
        }
    }
    head(b, "time_to_first_token_seconds", "histogram",
         "Request arrival to its first generated token.");
    for (int i = 0; i < m->n_models; i++) {
        label_of(s, i, l, sizeof l);
        histo_lines(b, "time_to_first_token_seconds", l, &m->models[i].ttft, ttft_le);
    }
    head(b, "time_per_output_token_seconds", "histogram", "Time between generated tokens.");
    for (int i = 0; i < m->n_models; i++) {
        label_of(s, i, l, sizeof l);
        histo_lines(b, "time_per_output_token_seconds", l, &m->models[i].tpot, tpot_le);
    }
}

static void render_gauges(tlm_srv *s, tlm_buf *b) {
    static const char *const names[] = {
        "requests_active", "requests_queued", "slots", "queue_capacity", "kv_cache_used_cells",
        "kv_cache_cells", "context_per_request", "decode_steps_total", "decode_tokens_total"};
    static const char *const help[] = {
        "Generations holding a slot.", "Generations waiting for a slot.", "Parallel slots.",
        "Generations that may wait beyond the slots.", "KV cache cells in use (cached prefixes included).",
        "KV cache cells in all.", "Tokens of context each request may use.",
        "Batched decode calls.", "Tokens over all decode calls (divide by steps: mean batch)."};
    int n = atomic_load(&s->n_loaded);
    tlm_sched_stats st[64];
    n = TLM_MIN(n, (int)TLM_ARRAY_LEN(st));
    for (int i = 0; i < n; i++) tlm_sched_get_stats(s->models[i].sched, &st[i]);
    char l[300];
    for (size_t k = 0; k < TLM_ARRAY_LEN(names); k++) {
        head(b, names[k], k >= 7 ? "counter" : "gauge", help[k]);
        for (int i = 0; i < n; i++) {
            label_of(s, i, l, sizeof l);
            uint64_t v[] = {st[i].n_active, st[i].n_queued, st[i].n_slots, st[i].n_queue_max,
                            st[i].kv_used, st[i].kv_cells, st[i].n_ctx_slot, st[i].n_steps,
                            st[i].n_step_tokens};
            tlm_buf_appendf(b, "tinylm_%s{%s} %llu\n", names[k], l, (unsigned long long)v[k]);
        }
    }
    head(b, "kv_cache_usage_ratio", "gauge", "Share of the KV cache in use.");
    for (int i = 0; i < n; i++) {
        label_of(s, i, l, sizeof l);
        tlm_buf_appendf(b, "tinylm_kv_cache_usage_ratio{%s} %.4f\n", l,
                        st[i].kv_cells ? (double)st[i].kv_used / st[i].kv_cells : 0.0);
    }
}

void tlm_handle_metrics(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    (void)req;
    tlm_buf *b = &resp->body;
    head(b, "up", "gauge", "1 when every model is loaded and the server takes requests.");
    tlm_buf_appendf(b, "tinylm_up %d\n", atomic_load(&s->state) == TLM_SRV_READY);
    render_gauges(s, b);
    pthread_mutex_lock(&s->metrics->mu);
    render_counters(s, s->metrics, b);
    pthread_mutex_unlock(&s->metrics->mu);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
