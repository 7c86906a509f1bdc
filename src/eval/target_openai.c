/*
 * target_openai.c - the OpenAI-compatible endpoint target (see
 * target_openai.h).  One libcurl easy handle per request keeps generate()
 * thread-safe without locks.  The response parser accepts both streamed
 * server-sent events (content and tool-call deltas merged by index, usage
 * and llama.cpp timings picked up wherever they appear) and a plain JSON
 * completion, since some servers ignore "stream".
 */
#include "eval/target_openai.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

tlm_eval_openai_config tlm_eval_openai_default_config(void) {
    return (tlm_eval_openai_config){.timeout_s = 600.0, .stream = true};
}

/* ---- Request ---- */

char *tlm_eval_openai_request_body(const char *model, const tlm_eval_request *req, bool stream) {
    json_t *msgs = json_array();
    if (req->system)
        json_array_append_new(msgs,
                              json_pack("{s:s, s:s}", "role", "system", "content", req->system));
    json_array_append_new(
        msgs, json_pack("{s:s, s:s}", "role", "user", "content", req->prompt ? req->prompt : ""));
    json_t *body =
        json_pack("{s:s, s:o, s:f, s:I, s:i, s:b}", "model", model, "messages", msgs, "temperature",
                  req->params.temperature, "seed", (json_int_t)req->params.seed, "max_tokens",
                  req->params.max_tokens > 0 ? req->params.max_tokens : 1024, "stream", stream);
    if (!body) return NULL;
    if (stream) json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    if (req->tools && json_array_size(req->tools))
        json_object_set(body, "tools", (json_t *)req->tools);
    if (req->response_schema)
        json_object_set_new(body, "response_format",
                            json_pack("{s:s, s:{s:s, s:O, s:b}}", "type", "json_schema",
                                      "json_schema", "name", "answer", "schema",
                                      req->response_schema, "strict", 1));
    char *dump = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *out = dump ? tlm_strdup(dump) : NULL;
    free(dump);
    return out;
}

/* ---- Response ---- */

struct tlm_eval_sse {
    tlm_buf line; /* partial event line */
    tlm_buf raw;  /* the whole body, for non-streamed replies and errors */
    tlm_buf content;
    json_t *calls; /* tool calls merged from deltas, by index */
    char *finish;
    char *error;
    int64_t prompt_tokens, completion_tokens;
    double prompt_tok_s, gen_tok_s;
    uint64_t start_ns, first_ns;
    bool saw_event, oom;
};

tlm_eval_sse *tlm_eval_sse_create(uint64_t start_ns) {
    tlm_eval_sse *s = tlm_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->calls = json_array();
    s->prompt_tokens = s->completion_tokens = -1;
    s->prompt_tok_s = s->gen_tok_s = -1;
    s->start_ns = start_ns;
    if (!s->calls) {
        tlm_free(s);
        return NULL;
    }
    return s;
}

void tlm_eval_sse_free(tlm_eval_sse *s) {
    if (!s) return;
    tlm_buf_free(&s->line);
    tlm_buf_free(&s->raw);
    tlm_buf_free(&s->content);
    json_decref(s->calls);
    tlm_free(s->finish);
    tlm_free(s->error);
    tlm_free(s);
}

static void first_token(tlm_eval_sse *s) {
    if (!s->first_ns) s->first_ns = tlm_time_ns();
}

static void append_str(tlm_eval_sse *s, tlm_buf *b, const json_t *v) {
    if (json_is_string(v) && tlm_buf_append(b, json_string_value(v), json_string_length(v)))
        s->oom = true;
}

/* Merges one tool-call delta {index, id, function: {name, arguments}}. */
static void merge_call(tlm_eval_sse *s, const json_t *d) {
    json_t *ix = json_object_get(d, "index");
    size_t i = json_is_integer(ix) ? (size_t)json_integer_value(ix) : json_array_size(s->calls);
    if (i > 64) return;
    while (json_array_size(s->calls) <= i)
        json_array_append_new(s->calls,
                              json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", "", "type", "function",
                                        "function", "name", "", "arguments", ""));
    json_t *c = json_array_get(s->calls, i), *f = json_object_get(c, "function");
    const json_t *df = json_object_get(d, "function");
    const char *keys[] = {"name", "arguments"};
    for (int k = 0; k < 2; k++) {
        const json_t *piece = json_object_get(df, keys[k]);
        if (json_is_object(piece)) { /* some servers send arguments as an object */
            char *t = json_dumps(piece, JSON_COMPACT);
            if (t) json_object_set_new(f, keys[k], json_string(t));
            free(t);
        } else if (json_is_string(piece)) {
            json_object_set_new(f, keys[k],
                                json_sprintf("%s%s", json_string_value(json_object_get(f, keys[k])),
                                             json_string_value(piece)));
        }
    }
    if (json_is_string(json_object_get(d, "id")))
        json_object_set(c, "id", json_object_get(d, "id"));
    first_token(s);
}

static void take_usage(tlm_eval_sse *s, const json_t *o) {
    json_t *u = json_object_get(o, "usage"), *t = json_object_get(o, "timings");
    if (json_is_integer(json_object_get(u, "prompt_tokens")))
        s->prompt_tokens = json_integer_value(json_object_get(u, "prompt_tokens"));
    if (json_is_integer(json_object_get(u, "completion_tokens")))
        s->completion_tokens = json_integer_value(json_object_get(u, "completion_tokens"));
    if (json_is_number(json_object_get(t, "prompt_per_second")))
        s->prompt_tok_s = json_number_value(json_object_get(t, "prompt_per_second"));
    if (json_is_number(json_object_get(t, "predicted_per_second")))
        s->gen_tok_s = json_number_value(json_object_get(t, "predicted_per_second"));
}

/* One chunk or a whole completion: choices[0].delta or .message. */
static void take_object(tlm_eval_sse *s, const json_t *o) {
    take_usage(s, o);
    const json_t *err = json_object_get(o, "error");
    if (err && !s->error) {
        const char *m =
            json_string_value(json_is_object(err) ? json_object_get(err, "message") : err);
        s->error = tlm_strdup(m ? m : "server error");
    }
    const json_t *ch = json_array_get(json_object_get(o, "choices"), 0);
    const json_t *d = json_object_get(ch, "delta");
    if (!d) d = json_object_get(ch, "message");
    const json_t *content = json_object_get(d, "content");
    if (json_is_string(content) && json_string_length(content)) first_token(s);
    if (json_is_string(json_object_get(d, "reasoning_content"))) first_token(s);
    append_str(s, &s->content, content);
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(d, "tool_calls"), i, c) merge_call(s, c);
    const json_t *fin = json_object_get(ch, "finish_reason");
    if (json_is_string(fin)) {
        tlm_free(s->finish);
        s->finish = tlm_strdup(json_string_value(fin));
    }
}

static void take_line(tlm_eval_sse *s, const char *line, size_t n) {
    if (n >= 5 && !strncmp(line, "data:", 5)) {
        line += 5, n -= 5;
        while (n && *line == ' ') line++, n--;
        s->saw_event = true;
        if (n == 6 && !strncmp(line, "[DONE]", 6)) return;
        json_t *o = json_loadb(line, n, 0, NULL);
        if (o) take_object(s, o);
        json_decref(o);
    }
}

void tlm_eval_sse_feed(tlm_eval_sse *s, const char *data, size_t len) {
    if (tlm_buf_append(&s->raw, data, len)) s->oom = true;
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (tlm_buf_append(&s->line, data, take)) s->oom = true;
        if (!nl) break;
        size_t n = s->line.len;
        if (n && s->line.data[n - 1] == '\r') n--;
        if (n) take_line(s, s->line.data, n);
        s->line.len = 0;
        data += take + 1;
        len -= take + 1;
    }
}

static char *calls_text(const json_t *calls) {
    if (!json_array_size(calls)) return NULL;
    char *d = json_dumps(calls, JSON_COMPACT);
    char *out = d ? tlm_strdup(d) : NULL;
    free(d);
    return out;
}

tlm_status tlm_eval_sse_finish(tlm_eval_sse *s, tlm_eval_answer *out, tlm_error *err) {
    if (s->line.len) take_line(s, s->line.data, s->line.len); /* no final newline */
    if (!s->saw_event) {                                      /* a plain JSON completion */
        json_t *o = json_loadb(s->raw.data ? s->raw.data : "", s->raw.len, 0, NULL);
        if (o) take_object(s, o);
        bool completion = json_object_get(o, "choices") != NULL;
        json_decref(o);
        if (!completion && !s->error)
            return tlm_error_set(err, TLM_ERR_FORMAT, "endpoint: not a chat completion: %.200s",
                                 s->raw.data ? s->raw.data : "(empty)");
    }
    if (s->oom) return tlm_error_set(err, TLM_ERR_NOMEM, "endpoint: out of memory");
    if (s->error) return tlm_error_set(err, TLM_ERR_IO, "endpoint: %.400s", s->error);
    uint64_t now = tlm_time_ns();
    out->text = tlm_strdup(s->content.data ? s->content.data : "");
    out->tool_calls = calls_text(s->calls);
    out->finish_reason = s->finish ? tlm_strdup(s->finish) : NULL;
    out->prompt_tokens = s->prompt_tokens;
    out->completion_tokens = s->completion_tokens;
    out->total_ms = (double)(now - s->start_ns) / 1e6;
    out->ttft_ms = s->first_ns ? (double)(s->first_ns - s->start_ns) / 1e6 : -1;
    out->gen_tok_s = s->gen_tok_s;
    out->prompt_tok_s = s->prompt_tok_s;
    /* Without server timings: tokens over the time spent producing them. */
    double gen_ms = out->ttft_ms >= 0 ? out->total_ms - out->ttft_ms : -1;
    if (out->gen_tok_s < 0 && s->completion_tokens > 1 && gen_ms > 0)
        out->gen_tok_s = (double)(s->completion_tokens - 1) / (gen_ms / 1e3);
    if (out->prompt_tok_s < 0 && s->prompt_tokens > 0 && out->ttft_ms > 0)
        out->prompt_tok_s = (double)s->prompt_tokens / (out->ttft_ms / 1e3);
    return out->text ? TLM_OK : tlm_error_set(err, TLM_ERR_NOMEM, "endpoint: out of memory");
}

/* ---- The target ---- */

typedef struct openai_target {
    char *url; /* .../v1/chat/completions */
    char *model;
    char *auth; /* "Authorization: Bearer ..." or NULL */
    double timeout_s;
    bool stream;
} openai_target;

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
    tlm_eval_sse_feed(ud, data, size * n);
    return size * n;
}

static tlm_status openai_generate(void *ud, const tlm_eval_request *req, tlm_eval_answer *out,
                                  tlm_error *err) {
    const openai_target *o = ud;
    char *body = tlm_eval_openai_request_body(o->model, req, o->stream);
    uint64_t start = tlm_time_ns();
    tlm_eval_sse *s = tlm_eval_sse_create(start);
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (o->auth) hdr = curl_slist_append(hdr, o->auth);
    tlm_status st = TLM_OK;
    if (!body || !s || !c || !hdr) {
        st = tlm_error_set(err, TLM_ERR_NOMEM, "endpoint: out of memory");
        goto done;
    }
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK) {
        st = tlm_error_set(err, TLM_ERR_IO, "endpoint %s: %s", o->url, curl_easy_strerror(rc));
    } else if (code != 200) {
        tlm_error e = {0};
        tlm_status fs = tlm_eval_sse_finish(s, out, &e);
        tlm_eval_answer_clear(out);
        st = tlm_error_set(err, TLM_ERR_IO, "endpoint %s: HTTP %ld%s%s", o->url, code,
                           fs != TLM_OK ? ": " : "", fs != TLM_OK ? e.msg : "");
    } else {
        st = tlm_eval_sse_finish(s, out, err);
    }
done:
    curl_slist_free_all(hdr);
    if (c) curl_easy_cleanup(c);
    tlm_eval_sse_free(s);
    tlm_free(body);
    return st;
}

tlm_status tlm_eval_openai_target_create(const tlm_eval_openai_config *cfg, tlm_eval_target *out,
                                         tlm_error *err) {
    if (!cfg || !out || !cfg->base_url || !cfg->model)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "endpoint: need a URL and a model name");
    memset(out, 0, sizeof *out);
    if (strncmp(cfg->base_url, "http://", 7) && strncmp(cfg->base_url, "https://", 8))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "endpoint: '%s' is not an http(s) URL",
                             cfg->base_url);
    /* Before any thread exists: curl_global_init is not thread-safe. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return tlm_error_set(err, TLM_ERR_INTERNAL, "endpoint: libcurl failed to initialise");
    openai_target *o = tlm_calloc(1, sizeof *o);
    if (!o) return tlm_error_set(err, TLM_ERR_NOMEM, "endpoint: out of memory");
    tlm_buf url = {0};
    size_t n = strlen(cfg->base_url);
    while (n && cfg->base_url[n - 1] == '/') n--;
    bool has_v1 = n >= 3 && !strncmp(cfg->base_url + n - 3, "/v1", 3);
    bool ok = !tlm_buf_append(&url, cfg->base_url, n) &&
              !tlm_buf_appendf(&url, "%s/chat/completions", has_v1 ? "" : "/v1");
    o->url = url.data;
    o->model = tlm_strdup(cfg->model);
    o->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 600.0;
    o->stream = cfg->stream;
    if (cfg->api_key && *cfg->api_key) {
        tlm_buf a = {0};
        ok = ok && !tlm_buf_appendf(&a, "Authorization: Bearer %s", cfg->api_key);
        o->auth = a.data;
    }
    if (!ok || !o->model) {
        tlm_eval_target t = {.userdata = o};
        tlm_eval_openai_target_free(&t);
        return tlm_error_set(err, TLM_ERR_NOMEM, "endpoint: out of memory");
    }
    *out = (tlm_eval_target){.name = o->model, .userdata = o, .generate = openai_generate};
    return TLM_OK;
}

void tlm_eval_openai_target_free(tlm_eval_target *t) {
    if (!t || !t->userdata) return;
    openai_target *o = t->userdata;
    tlm_free(o->url);
    tlm_free(o->model);
    tlm_free(o->auth);
    tlm_free(o);
    memset(t, 0, sizeof *t);
}
