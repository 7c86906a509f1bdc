/*
 * bench_server.c - load test of an OpenAI-compatible server (see
 * bench_server.h).
 *
 * Each client thread sends streaming /v1/chat/completions requests with
 * libcurl and reads the server-sent events as they arrive: the time to the
 * first chunk with text is the time to first token, and the usage chunk
 * (stream_options.include_usage) gives the exact number of generated
 * tokens, so the figures do not depend on how the server groups tokens
 * into chunks.  ignore_eos (a tinylm and llama.cpp extension; other
 * servers ignore it) keeps every answer at --max-tokens, so levels compare
 * like with like.  Every request gets its own prompt number and seed, so
 * no request can reuse another's cached prompt.
 */
#include "cli/bench_server.h"
#include "cli/model_arg.h"
#include "core/util.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEVELS 16

typedef struct bench_opts {
    const char *url, *model, *api_key, *prompt;
    int levels[MAX_LEVELS], n_levels;
    long max_tokens, requests;
    bool json;
} bench_opts;

/* One request's outcome. */
typedef struct sample {
    double t0, t_first, t_end;  /* seconds, on the bench clock */
    long tokens;                /* usage.completion_tokens */
    bool ok;
    char error[160];
} sample;

typedef struct client {
    const bench_opts *o;
    int id, level;
    sample *samples;            /* (requests) */
    pthread_barrier_t *start;
    tlm_buf sse;                /* bytes not yet split into events */
    sample *cur;
} client;

static double now_s(void) { return (double)tlm_time_ns() / 1e9; }

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm bench --server URL [OPTIONS]\n\n"
            "Load-tests an OpenAI-compatible server: for each concurrency level C, C clients\n"
            "send streaming chat requests at once; prints time to first token (P50/P95),\n"
            "per-stream and aggregate tokens/s.\n\n"
            "  --server URL        base URL, e.g. http://127.0.0.1:8080\n"
            "  --concurrency LIST  levels, e.g. 1,4,8 (default 1,4,8)\n"
            "  --model NAME        model to ask for (default: the first of /v1/models)\n"
            "  --max-tokens N      tokens per answer (default 128)\n"
            "  --requests N        requests per client per level (default 2)\n"
            "  --prompt TEXT       user message (a request number is prepended)\n"
            "  --api-key KEY       bearer key\n"
            "  --json              JSON instead of a table\n\n"
            "example:\n"
            "  tinylm serve qwen.gguf --parallel 8 --port 8080 &\n"
            "  tinylm bench --server http://127.0.0.1:8080 --concurrency 1,4,8\n");
}

static bool parse_levels(const char *s, bench_opts *o) {
    o->n_levels = 0;
    for (const char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1024 || o->n_levels == MAX_LEVELS) return false;
        o->levels[o->n_levels++] = (int)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return false;
    }
    return o->n_levels > 0;
}

static int parse(int argc, char **argv, bench_opts *o) {
    static const struct option longs[] = {
        {"server", required_argument, 0, 's'}, {"concurrency", required_argument, 0, 'c'},
        {"model", required_argument, 0, 'm'}, {"max-tokens", required_argument, 0, 'n'},
        {"requests", required_argument, 0, 'r'}, {"prompt", required_argument, 0, 'p'},
        {"api-key", required_argument, 0, 'k'}, {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 's': o->url = optarg; break;
        case 'c':
            if (!parse_levels(optarg, o)) {
                fprintf(stderr, "tinylm bench: --concurrency expects a list like 1,4,8\n");
                return 2;
            }
            break;
        case 'm': o->model = optarg; break;
        case 'n': if (!tlm_cli_parse_int("bench", "--max-tokens", optarg, 1, 1 << 20, &o->max_tokens)) return 2; break;
        case 'r': if (!tlm_cli_parse_int("bench", "--requests", optarg, 1, 10000, &o->requests)) return 2; break;
        case 'p': o->prompt = optarg; break;
        case 'k': o->api_key = optarg; break;
        case 'j': o->json = true; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (!o->url) {
        fprintf(stderr, "tinylm bench: --server URL is required (tinylm bench --server --help)\n");
        return 2;
    }
    return 0;
}

/* ---- One streamed request ---- */

static void on_event(client *cl, const char *data, size_t n) {
    sample *s = cl->cur;
    if (n == 6 && !memcmp(data, "[DONE]", 6)) {
        s->ok = s->tokens > 0 || !s->error[0];
        return;
    }
    json_t *o = json_loadb(data, n, 0, NULL);
    if (!o) return;
    const json_t *err = json_object_get(o, "error");
    if (err) {
        const char *msg = json_string_value(json_object_get(err, "message"));
        snprintf(s->error, sizeof s->error, "%s", msg ? msg : "error event");
    }
    const char *text = json_string_value(
        json_object_get(json_object_get(json_array_get(json_object_get(o, "choices"), 0), "delta"),
                        "content"));
    if (text && *text && !s->t_first) s->t_first = now_s();
    const json_t *usage = json_object_get(o, "usage");
    if (json_is_object(usage))
        s->tokens = (long)json_integer_value(json_object_get(usage, "completion_tokens"));
    json_decref(o);
}

static size_t on_bytes(char *p, size_t size, size_t n, void *user) {
    client *cl = user;
    size_t len = size * n;
    if (tlm_buf_append(&cl->sse, p, len)) return 0;
    for (;;) {
        char *end = cl->sse.data ? strstr(cl->sse.data, "\n\n") : NULL;
        if (!end) break;
        *end = '\0';
        for (char *line = cl->sse.data; line && *line;) {
            char *next = strchr(line, '\n');
            if (next) *next++ = '\0';
            if (!strncmp(line, "data: ", 6)) on_event(cl, line + 6, strlen(line + 6));
            line = next;
        }
        size_t used = (size_t)(end + 2 - cl->sse.data);
        memmove(cl->sse.data, cl->sse.data + used, cl->sse.len - used);
        cl->sse.len -= used;
        cl->sse.data[cl->sse.len] = '\0';
    }
    return len;
}

static char *request_body(const bench_opts *o, int seed) {
    char head[64];
    snprintf(head, sizeof head, "Request %d. ", seed);
    tlm_buf msg = {0};
    tlm_buf_append(&msg, head, strlen(head));
    tlm_buf_append(&msg, o->prompt, strlen(o->prompt));
    json_t *body = json_pack("{s:s,s:[{s:s,s:s%}],s:i,s:b,s:{s:b},s:b,s:i}", "model", o->model,
                             "messages", "role", "user", "content", msg.data, msg.len,
                             "max_tokens", (int)o->max_tokens, "stream", 1, "stream_options",
                             "include_usage", 1, "ignore_eos", 1, "seed", seed);
    tlm_buf_free(&msg);
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return s;
}

static void run_request(client *cl, CURL *h, sample *s, int seed) {
    char url[1024], *body = request_body(cl->o, seed);
    snprintf(url, sizeof url, "%s/v1/chat/completions", cl->o->url);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[512];
    if (cl->o->api_key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cl->o->api_key);
        hdr = curl_slist_append(hdr, auth);
    }
    cl->cur = s;
    cl->sse.len = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "{}");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, cl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L);
    s->t0 = now_s();
    CURLcode rc = curl_easy_perform(h);
    s->t_end = now_s();
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        snprintf(s->error, sizeof s->error, "%s", curl_easy_strerror(rc));
    else if (status != 200)
        snprintf(s->error, sizeof s->error, "HTTP %ld", status);
    if (s->error[0]) s->ok = false;
    if (s->ok && !s->t_first) s->t_first = s->t_end;
    curl_slist_free_all(hdr);
    free(body);
}

static void *client_main(void *arg) {
    client *cl = arg;
    CURL *h = curl_easy_init();
    pthread_barrier_wait(cl->start);
    for (long r = 0; h && r < cl->o->requests; r++)
        run_request(cl, h, &cl->samples[r], cl->level * 100000 + cl->id * 100 + (int)r);
    if (h) curl_easy_cleanup(h);
    return NULL;
}

/* ---- Levels and figures ---- */

typedef struct level_result {
    int c;
    double ttft_p50, ttft_p95, stream_tps, aggregate_tps;
    long tokens;
    int n_ok, n_failed;
    char error[160];
} level_result;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0, n). */
static double percentile(const double *v, int n, double p) {
    if (n == 0) return 0;
    int k = (int)(p / 100.0 * n + 0.999999) - 1;
    return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static void summarise(const client *cls, int c, long requests, level_result *r) {
    double *ttft = tlm_calloc((size_t)c * (size_t)requests, sizeof *ttft), t0 = 1e300, t1 = 0;
    double tps_sum = 0;
    int n_tps = 0;
    for (int i = 0; i < c; i++)
        for (long k = 0; k < requests; k++) {
            const sample *s = &cls[i].samples[k];
            if (!s->ok) {
                r->n_failed++;
                if (!r->error[0]) snprintf(r->error, sizeof r->error, "%s", s->error);
                continue;
            }
            ttft[r->n_ok++] = (s->t_first - s->t0) * 1e3;
            t0 = s->t0 < t0 ? s->t0 : t0;
            t1 = s->t_end > t1 ? s->t_end : t1;
            r->tokens += s->tokens;
            if (s->tokens > 1 && s->t_end > s->t_first) {
                tps_sum += (double)(s->tokens - 1) / (s->t_end - s->t_first);
                n_tps++;
            }
        }
    qsort(ttft, (size_t)r->n_ok, sizeof *ttft, cmp_double);
    r->ttft_p50 = percentile(ttft, r->n_ok, 50);
    r->ttft_p95 = percentile(ttft, r->n_ok, 95);
    r->stream_tps = n_tps ? tps_sum / n_tps : 0;
    r->aggregate_tps = t1 > t0 ? (double)r->tokens / (t1 - t0) : 0;
    tlm_free(ttft);
}

static void run_level(const bench_opts *o, int c, level_result *r) {
    client *cls = tlm_calloc((size_t)c, sizeof *cls);
    pthread_t *th = tlm_calloc((size_t)c, sizeof *th);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)c);
    for (int i = 0; i < c; i++) {
        cls[i] = (client){.o = o, .id = i, .level = c, .start = &start};
        cls[i].samples = tlm_calloc((size_t)o->requests, sizeof *cls[i].samples);
        pthread_create(&th[i], NULL, client_main, &cls[i]);
    }
    for (int i = 0; i < c; i++) pthread_join(th[i], NULL);
    memset(r, 0, sizeof *r);
    r->c = c;
    summarise(cls, c, o->requests, r);
    for (int i = 0; i < c; i++) {
        tlm_free(cls[i].samples);
        tlm_buf_free(&cls[i].sse);
    }
    pthread_barrier_destroy(&start);
    tlm_free(cls);
    tlm_free(th);
}

static size_t collect(char *p, size_t size, size_t n, void *user) {
    return tlm_buf_append(user, p, size * n) ? 0 : size * n;
}

/* The first model the server lists, when --model is not given (NULL and a
 * message when the server cannot be reached). */
static char *first_model(const bench_opts *o) {
    char url[1024], auth[512];
    snprintf(url, sizeof url, "%s/v1/models", o->url);
    tlm_buf body = {0};
    struct curl_slist *hdr = NULL;
    if (o->api_key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->api_key);
        hdr = curl_slist_append(hdr, auth);
    }
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    char *id = NULL;
    json_t *o_ = rc == CURLE_OK && status == 200 ? json_loadb(body.data, body.len, 0, NULL) : NULL;
    const char *s = json_string_value(
        json_object_get(json_array_get(json_object_get(o_, "data"), 0), "id"));
    if (s) id = tlm_strdup(s);
    else
        fprintf(stderr, "tinylm bench: cannot list the models of %s: %s\n", o->url,
                rc != CURLE_OK ? curl_easy_strerror(rc) : "unexpected answer");
    json_decref(o_);
    tlm_buf_free(&body);
    return id;
}

static void print_table(const bench_opts *o, const level_result *r, int n) {
    printf("server %s  model %s  max_tokens %ld  requests per client %ld\n", o->url, o->model,
           o->max_tokens, o->requests);
    printf("%8s %12s %12s %14s %16s %8s %7s\n", "streams", "ttft_p50_ms", "ttft_p95_ms",
           "stream_tok/s", "aggregate_tok/s", "vs_1st", "failed");
    for (int i = 0; i < n; i++)
        printf("%8d %12.1f %12.1f %14.1f %16.1f %7.2fx %7d\n", r[i].c, r[i].ttft_p50,
               r[i].ttft_p95, r[i].stream_tps, r[i].aggregate_tps,
               r[0].aggregate_tps > 0 ? r[i].aggregate_tps / r[0].aggregate_tps : 0, r[i].n_failed);
    for (int i = 0; i < n; i++)
        if (r[i].n_failed) printf("level %d: first error: %s\n", r[i].c, r[i].error);
}

static void print_json(const bench_opts *o, const level_result *r, int n) {
    json_t *levels = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            levels, json_pack("{s:i,s:f,s:f,s:f,s:f,s:f,s:I,s:i,s:i}", "concurrency", r[i].c,
                              "ttft_p50_ms", r[i].ttft_p50, "ttft_p95_ms", r[i].ttft_p95,
                              "stream_tokens_per_s", r[i].stream_tps, "aggregate_tokens_per_s",
                              r[i].aggregate_tps, "vs_first",
                              r[0].aggregate_tps > 0 ? r[i].aggregate_tps / r[0].aggregate_tps : 0,
                              "tokens", (json_int_t)r[i].tokens, "ok", r[i].n_ok, "failed",
                              r[i].n_failed));
    json_t *root = json_pack("{s:s,s:s,s:i,s:i,s:o}", "server", o->url, "model", o->model,
                             "max_tokens", (int)o->max_tokens, "requests", (int)o->requests,
                             "levels", levels);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    printf("\n");
    json_decref(root);
}

int tlm_cli_bench_server(int argc, char **argv) {
    bench_opts o = {.max_tokens = 128, .requests = 2, .levels = {1, 4, 8}, .n_levels = 3,
                    .prompt = "Write a long story about a lighthouse keeper and a storm."};
    int rc = parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *model = o.model ? NULL : first_model(&o);
    if (!o.model && !(o.model = model)) {
        curl_global_cleanup();
        return 1;
    }
    /* One short request first, so no level pays for a cold start. */
    bench_opts warm = o;
    warm.max_tokens = 4;
    warm.requests = 1;
    level_result r[MAX_LEVELS];
    run_level(&warm, 1, &r[0]);
    bool failed = false;
    for (int i = 0; i < o.n_levels; i++) {
        run_level(&o, o.levels[i], &r[i]);
        failed |= r[i].n_ok == 0;
    }
    if (o.json)
        print_json(&o, r, o.n_levels);
    else
        print_table(&o, r, o.n_levels);
    tlm_free(model);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
