/*
 * test_openai.c - the OpenAI-compatible endpoint target.  The response
 * parser must give the same answer however the bytes are split (streamed
 * events, CRLF, one JSON completion, server errors), and a fake server
 * (libmicrohttpd on loopback) that streams each task's reference answer
 * back must score 100% on every built-in suite through the endpoint path:
 * request body, streaming, tool-call deltas, usage and timings included.
 */
#include "eval/target_openai.h"
#include "test.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>

/* ---- Parser ---- */

static const char stream_text[] =
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"},\"index\":0}]}\r\n\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"},\"index\":0}]}\n\n"
    ": keep-alive comment\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"lo \\u4f60\\u597d\"},\"index\":0}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":"
    "{\"name\":\"get_weather\",\"arguments\":\"{\\\"ci\"}}]},\"index\":0}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"ty\\\": \\\"Oslo\\\"}\"}}]},\"index\":0}]}\n\n"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\",\"index\":0}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7},"
    "\"timings\":{\"prompt_per_second\":250.5,\"predicted_per_second\":42.25}}\n\n"
    "data: [DONE]\n\n";

static void check_parsed(test_state *ts_, const tlm_eval_answer *a) {
    ASSERT_STR_EQ(a->text, "Hello 你好");
    ASSERT_STR_EQ(a->finish_reason, "tool_calls");
    ASSERT_EQ(a->prompt_tokens, 12);
    ASSERT_EQ(a->completion_tokens, 7);
    ASSERT_NEAR(a->prompt_tok_s, 250.5, 0);
    ASSERT_NEAR(a->gen_tok_s, 42.25, 0);
    json_t *calls = json_loads(a->tool_calls, 0, NULL);
    json_t *f = json_object_get(json_array_get(calls, 0), "function");
    ASSERT_EQ(json_array_size(calls), 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "name")), "get_weather");
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "arguments")), "{\"city\": \"Oslo\"}");
    json_decref(calls);
}

TEST(stream_parses_at_any_split) {
    size_t n = strlen(stream_text);
    for (size_t step = 1; step <= n; step = step < 8 ? step + 1 : step * 3) {
        tlm_eval_sse *s = tlm_eval_sse_create(tlm_time_ns());
        for (size_t off = 0; off < n; off += step)
            tlm_eval_sse_feed(s, stream_text + off, TLM_MIN(step, n - off));
        tlm_eval_answer a;
        tlm_eval_answer_init(&a);
        tlm_error err = {0};
        ASSERT_OK(tlm_eval_sse_finish(s, &a, &err));
        check_parsed(ts_, &a);
        ASSERT(a.ttft_ms >= 0);
        tlm_eval_answer_clear(&a);
        tlm_eval_sse_free(s);
    }
}

TEST(plain_completion_and_errors) {
    const char *plain =
        "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"#### 4\"},"
        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}";
    tlm_eval_sse *s = tlm_eval_sse_create(tlm_time_ns());
    tlm_eval_sse_feed(s, plain, strlen(plain));
    tlm_eval_answer a;
    tlm_eval_answer_init(&a);
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_sse_finish(s, &a, &err));
    ASSERT_STR_EQ(a.text, "#### 4");
    ASSERT_STR_EQ(a.finish_reason, "stop");
    ASSERT(a.tool_calls == NULL);
    tlm_eval_answer_clear(&a);
    tlm_eval_sse_free(s);
    const char *bad[] = {"{\"error\":{\"message\":\"model not loaded\"}}",
                         "data: {\"error\":{\"message\":\"context too long\"}}\n\n",
                         "<html>502</html>", ""};
    const char *want[] = {"model not loaded", "context too long", "not a chat completion",
                          "not a chat completion"};
    for (size_t i = 0; i < 4; i++) {
        s = tlm_eval_sse_create(tlm_time_ns());
        tlm_eval_sse_feed(s, bad[i], strlen(bad[i]));
        ASSERT(tlm_eval_sse_finish(s, &a, &err) != TLM_OK);
        ASSERT_CONTAINS(err.msg, want[i]);
        tlm_eval_answer_clear(&a);
        tlm_eval_sse_free(s);
    }
}

/* ---- A fake OpenAI-compatible server answering with reference answers ---- */

typedef struct fake_server {
    struct MHD_Daemon *d;
    int port;
    tlm_eval_suite *suites[8];
    int n_suites;
    bool expect_stream, expect_constrained;
    pthread_mutex_t mu;
    int requests, bad_requests;
    char problem[300];
} fake_server;

static fake_server g_fake;

static void complain(const char *what, const char *id) {
    pthread_mutex_lock(&g_fake.mu);
    if (!g_fake.bad_requests++) snprintf(g_fake.problem, sizeof g_fake.problem, "%s: %s", id, what);
    pthread_mutex_unlock(&g_fake.mu);
}

static const tlm_eval_task *find_task(const char *prompt) {
    for (int i = 0; i < g_fake.n_suites; i++)
        for (size_t j = 0; j < g_fake.suites[i]->n_tasks; j++)
            if (!strcmp(g_fake.suites[i]->tasks[j].prompt, prompt))
                return &g_fake.suites[i]->tasks[j];
    return NULL;
}

/* The request must carry what the task gives the model, and nothing else. */
static const tlm_eval_task *check_request(const json_t *req) {
    json_t *msgs = json_object_get(req, "messages");
    json_t *user = json_array_get(msgs, json_array_size(msgs) - 1);
    const char *prompt = json_string_value(json_object_get(user, "content"));
    const tlm_eval_task *t = prompt ? find_task(prompt) : NULL;
    if (!t) {
        complain("no task has this prompt", "?");
        return NULL;
    }
    json_t *sys = json_array_size(msgs) == 2 ? json_array_get(msgs, 0) : NULL;
    if (strcmp(json_string_value(json_object_get(user, "role")), "user"))
        complain("last message not user", t->id);
    if (t->system ? !sys || strcmp(json_string_value(json_object_get(sys, "content")), t->system)
                  : sys != NULL)
        complain("system message differs", t->id);
    if (strcmp(json_string_value(json_object_get(req, "model")), "fake-model"))
        complain("model", t->id);
    if (json_number_value(json_object_get(req, "temperature")) != 0.0)
        complain("temperature", t->id);
    if (json_is_true(json_object_get(req, "stream")) != g_fake.expect_stream)
        complain("stream flag", t->id);
    if (!json_equal(json_object_get(req, "tools"), t->tools) &&
        (t->tools || json_object_get(req, "tools")))
        complain("tools differ", t->id);
    bool want_rf = g_fake.expect_constrained && t->grader == TLM_EVAL_GRADER_JSON && t->schema;
    json_t *rf = json_object_get(req, "response_format");
    if (want_rf != (rf != NULL)) complain("response_format presence", t->id);
    if (rf && !json_equal(json_object_get(json_object_get(rf, "json_schema"), "schema"), t->schema))
        complain("response_format schema", t->id);
    return t;
}

/* Expected arguments with {"$any": [a, ...]} resolved to a, as JSON text. */
static char *call_arguments(const tlm_eval_task *t) {
    json_t *args = json_object();
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(t->expected, "arguments"), k, v) {
        json_t *alts = json_object_get(v, "$any");
        json_object_set(args, k, json_is_array(alts) ? json_array_get(alts, 0) : v);
    }
    char *s = json_dumps(args, JSON_COMPACT);
    json_decref(args);
    return s;
}

typedef struct events {
    tlm_buf data;
    size_t ends[16];
    size_t n, next, pos;
} events;

static void add_event(events *e, json_t *o) {
    char *s = json_dumps(o, JSON_COMPACT);
    tlm_buf_appendf(&e->data, "data: %s\n\n", s);
    free(s);
    json_decref(o);
    if (e->n < 16) e->ends[e->n++] = e->data.len;
}

/* Cuts at a UTF-8 character boundary near len * part / parts. */
static size_t cut(const char *s, size_t len, int part, int parts) {
    size_t at = len * (size_t)part / (size_t)parts;
    while (at < len && ((unsigned char)s[at] & 0xc0) == 0x80) at++;
    return at;
}

static events *stream_events(const tlm_eval_task *t) {
    events *e = tlm_calloc(1, sizeof *e);
    add_event(
        e, json_pack("{s:[{s:i, s:{s:s}}]}", "choices", "index", 0, "delta", "role", "assistant"));
    bool call = t->grader == TLM_EVAL_GRADER_TOOL_CALL && json_is_object(t->expected);
    const char *text = call ? "" : t->reference;
    char *args = call ? call_arguments(t) : NULL;
    const char *src = call ? args : text;
    size_t len = strlen(src), prev = 0;
    for (int p = 1; p <= 3; p++) {
        size_t end = cut(src, len, p, 3);
        json_t *piece = json_stringn(src + prev, end - prev);
        json_t *delta =
            call ? json_pack("{s:[{s:i, s:s, s:s, s:{s:s, s:o}}]}", "tool_calls", "index", 0, "id",
                             "call_0", "type", "function", "function", "name",
                             p == 1 ? json_string_value(json_object_get(t->expected, "name")) : "",
                             "arguments", piece)
                 : json_pack("{s:o}", "content", piece);
        add_event(e, json_pack("{s:[{s:i, s:o}]}", "choices", "index", 0, "delta", delta));
        prev = end;
    }
    free(args);
    add_event(e, json_pack("{s:[{s:i, s:{}, s:s}]}", "choices", "index", 0, "delta",
                           "finish_reason", call ? "tool_calls" : "stop"));
    add_event(e, json_pack("{s:[], s:{s:i, s:i}}", "choices", "usage", "prompt_tokens", 20,
                           "completion_tokens", 3));
    tlm_buf_appendf(&e->data, "data: [DONE]\n\n");
    e->ends[e->n++] = e->data.len;
    return e;
}

/* One event per call, 1 ms apart, so the first token really comes first. */
static ssize_t read_events(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    events *e = cls;
    if (e->next >= e->n) return MHD_CONTENT_READER_END_OF_STREAM;
    usleep(1000);
    size_t n = TLM_MIN(max, e->ends[e->next] - e->pos);
    memcpy(buf, e->data.data + e->pos, n);
    e->pos += n;
    if (e->pos == e->ends[e->next]) e->next++;
    return (ssize_t)n;
}

static void free_events(void *cls) {
    events *e = cls;
    tlm_buf_free(&e->data);
    tlm_free(e);
}

static char *plain_completion(const tlm_eval_task *t) {
    bool call = t->grader == TLM_EVAL_GRADER_TOOL_CALL && json_is_object(t->expected);
    char *args = call ? call_arguments(t) : NULL;
    json_t *msg =
        call ? json_pack("{s:s, s:n, s:[{s:s, s:s, s:{s:O, s:s}}]}", "role", "assistant", "content",
                         "tool_calls", "id", "call_0", "type", "function", "function", "name",
                         json_object_get(t->expected, "name"), "arguments", args)
             : json_pack("{s:s, s:s}", "role", "assistant", "content", t->reference);
    free(args);
    json_t *o = json_pack("{s:[{s:i, s:o, s:s}], s:{s:i, s:i}}", "choices", "index", 0, "message",
                          msg, "finish_reason", call ? "tool_calls" : "stop", "usage",
                          "prompt_tokens", 20, "completion_tokens", 3);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static enum MHD_Result respond(struct MHD_Connection *c, const char *body_text) {
    json_t *req = json_loads(body_text, 0, NULL);
    pthread_mutex_lock(&g_fake.mu);
    g_fake.requests++;
    pthread_mutex_unlock(&g_fake.mu);
    struct MHD_Response *r;
    unsigned status = MHD_HTTP_OK;
    const char *model = json_string_value(json_object_get(req, "model"));
    if (model && !strcmp(model, "broken")) {
        static const char err[] = "{\"error\":{\"message\":\"boom\"}}";
        r = MHD_create_response_from_buffer(sizeof err - 1, (void *)err, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    } else {
        const tlm_eval_task *t = check_request(req);
        if (!t) {
            r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
            status = MHD_HTTP_BAD_REQUEST;
        } else if (json_is_true(json_object_get(req, "stream"))) {
            r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_events,
                                                  stream_events(t), free_events);
            MHD_add_response_header(r, "Content-Type", "text/event-stream");
        } else {
            char *s = plain_completion(t);
            r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_COPY);
            free(s);
        }
    }
    json_decref(req);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state) {
    (void)cls, (void)version;
    if (!*state) {
        *state = tlm_calloc(1, sizeof(tlm_buf));
        return MHD_YES;
    }
    tlm_buf *body = *state;
    if (*upload_size) {
        tlm_buf_append(body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") || strcmp(url, "/v1/chat/completions")) {
        complain("wrong method or path", url);
        return MHD_NO;
    }
    return respond(c, body->data ? body->data : "");
}

static void request_done(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode tc) {
    (void)cls, (void)c, (void)tc;
    if (*state) {
        tlm_buf_free(*state);
        tlm_free(*state);
        *state = NULL;
    }
}

static bool fake_start(void) {
    pthread_mutex_init(&g_fake.mu, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    g_fake.d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!g_fake.d) return false;
    g_fake.port = MHD_get_daemon_info(g_fake.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return g_fake.port > 0;
}

/* ---- End to end ---- */

static tlm_sandbox *sandbox_or_null(void) {
    tlm_sandbox_config cfg = tlm_sandbox_default_config();
    tlm_sandbox *sb = NULL;
    tlm_error err = {0};
    if (tlm_sandbox_create(&cfg, &sb, &err) != TLM_OK) {
        fprintf(stderr, "  no sandbox (%s): suites with code are skipped\n", err.msg);
        return NULL;
    }
    return sb;
}

static bool has_exec(const tlm_eval_suite *s) {
    for (size_t i = 0; i < s->n_tasks; i++)
        if (s->tasks[i].grader == TLM_EVAL_GRADER_EXEC) return true;
    return false;
}

typedef struct outcome {
    size_t n, pass, harness;
    bool timings_ok;
} outcome;

static outcome run_through(const tlm_eval_suite *s, const char *model, bool stream,
                           bool constrained, int port, const tlm_sandbox *sb) {
    outcome o = {.timings_ok = true};
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    tlm_eval_openai_config cfg = tlm_eval_openai_default_config();
    cfg.base_url = url;
    cfg.model = model;
    cfg.stream = stream;
    cfg.timeout_s = 30;
    tlm_eval_target t;
    tlm_eval_results *res = NULL;
    tlm_error err = {0};
    if (tlm_eval_openai_target_create(&cfg, &t, &err) != TLM_OK ||
        tlm_eval_results_open(NULL, false, &res, &err))
        return o;
    tlm_eval_run_opts opts = tlm_eval_default_run_opts();
    opts.jobs = 2;
    opts.constrained_json = constrained;
    g_fake.expect_stream = stream;
    g_fake.expect_constrained = constrained;
    tlm_eval_run(s, &t, sb, res, &opts, &err);
    for (size_t i = 0; i < tlm_eval_results_count(res); i++) {
        const tlm_eval_record *r = tlm_eval_results_get(res, i);
        o.n++;
        o.pass += r->verdict == TLM_EVAL_PASS;
        o.harness += r->verdict == TLM_EVAL_HARNESS_ERROR;
        if (r->verdict != TLM_EVAL_HARNESS_ERROR &&
            (r->completion_tokens != 3 || r->prompt_tokens != 20 || r->total_ms < 0 ||
             (stream && !(r->ttft_ms > 0 && r->ttft_ms < r->total_ms))))
            o.timings_ok = false;
    }
    tlm_eval_results_close(res);
    tlm_eval_openai_target_free(&t);
    return o;
}

TEST(reference_answers_through_the_endpoint) {
    if (!fake_start()) SKIP("cannot start a loopback HTTP server");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data", test_source_dir());
    tlm_error err = {0};
    for (const char *const *n = tlm_eval_builtin_suites(); *n; n++)
        ASSERT_OK(tlm_eval_suite_load_builtin(*n, dir, &g_fake.suites[g_fake.n_suites++], &err));
    tlm_sandbox *sb = sandbox_or_null();
    for (int i = 0; i < g_fake.n_suites; i++) {
        const tlm_eval_suite *s = g_fake.suites[i];
        if (has_exec(s) && !sb) continue;
        outcome o = run_through(s, "fake-model", true, false, g_fake.port, sb);
        fprintf(stderr, "  %-7s via endpoint: %zu/%zu\n", s->name, o.pass, o.n);
        ASSERT_EQ(o.n, s->n_tasks);
        ASSERT_EQ(o.pass, s->n_tasks);
        ASSERT(o.timings_ok);
    }
    const tlm_eval_suite *json = g_fake.suites[2], *tools = g_fake.suites[3],
                         *math = g_fake.suites[4];
    ASSERT_STR_EQ(json->name, "json");
    ASSERT_STR_EQ(tools->name, "tools");
    ASSERT_STR_EQ(math->name, "math");
    outcome o = run_through(json, "fake-model", true, true, g_fake.port, sb);
    ASSERT_EQ(o.pass, json->n_tasks); /* with response_format (constrained decoding) */
    o = run_through(tools, "fake-model", false, false, g_fake.port, sb);
    ASSERT_EQ(o.pass, tools->n_tasks); /* a server that does not stream */
    ASSERT(o.timings_ok);
    o = run_through(math, "broken", true, false, g_fake.port, sb);
    ASSERT_EQ(o.harness, math->n_tasks); /* HTTP 500: harness errors, the run goes on */
    if (g_fake.bad_requests) fprintf(stderr, "  first bad request: %s\n", g_fake.problem);
    ASSERT_EQ(g_fake.bad_requests, 0);
    /* The server's request checks are live: a wrong model name is noticed. */
    o = run_through(math, "other-model", true, false, g_fake.port, sb);
    ASSERT_EQ(g_fake.bad_requests, (int)math->n_tasks);
    MHD_stop_daemon(g_fake.d);
    o = run_through(math, "fake-model", true, false, g_fake.port, sb);
    ASSERT_EQ(o.harness, math->n_tasks); /* connection refused */
    for (int i = 0; i < g_fake.n_suites; i++) tlm_eval_suite_free(g_fake.suites[i]);
    tlm_sandbox_free(sb);
    pthread_mutex_destroy(&g_fake.mu);
}

TEST(request_body_and_bad_config) {
    tlm_eval_task t = {.prompt = "hi", .system = "be brief"};
    tlm_eval_request req = {.task = &t,
                            .system = t.system,
                            .prompt = t.prompt,
                            .params = {.temperature = 0.5, .seed = 7, .max_tokens = 64}};
    char *body = tlm_eval_openai_request_body("m", &req, true);
    json_t *o = json_loads(body, 0, NULL);
    ASSERT_STR_EQ(json_string_value(json_object_get(o, "model")), "m");
    ASSERT_NEAR(json_number_value(json_object_get(o, "temperature")), 0.5, 0);
    ASSERT_EQ(json_integer_value(json_object_get(o, "seed")), 7);
    ASSERT_EQ(json_integer_value(json_object_get(o, "max_tokens")), 64);
    ASSERT_EQ(json_array_size(json_object_get(o, "messages")), 2);
    ASSERT(json_is_true(json_object_get(json_object_get(o, "stream_options"), "include_usage")));
    ASSERT(!json_object_get(o, "tools") && !json_object_get(o, "response_format"));
    json_decref(o);
    tlm_free(body);
    tlm_eval_openai_config cfg = tlm_eval_openai_default_config();
    tlm_eval_target tg;
    tlm_error err = {0};
    cfg.base_url = "ftp://x";
    cfg.model = "m";
    ASSERT_EQ(tlm_eval_openai_target_create(&cfg, &tg, &err), TLM_ERR_INVALID_ARG);
    cfg.base_url = "http://h:1/v1/";
    cfg.api_key = "k";
    ASSERT_OK(tlm_eval_openai_target_create(&cfg, &tg, &err));
    ASSERT_STR_EQ(tg.name, "m");
    tlm_eval_openai_target_free(&tg);
}

TEST_MAIN(TEST_ENTRY(stream_parses_at_any_split), TEST_ENTRY(plain_completion_and_errors),
          TEST_ENTRY(request_body_and_bad_config),
          TEST_ENTRY(reference_answers_through_the_endpoint))
