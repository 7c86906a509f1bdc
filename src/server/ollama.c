/*
 * ollama.c - Ollama's generating endpoints: POST /api/chat and POST
 * /api/generate.
 *
 * Streaming (the default) is NDJSON: one object per line, each with the
 * new text and "done": false, then a final object with "done": true,
 * done_reason and the figures Ollama reports, all durations in
 * nanoseconds: total_duration (arrival to end), load_duration (0: models
 * are loaded at start-up), prompt_eval_count (every prompt token, cached
 * or not) and prompt_eval_duration, eval_count and eval_duration (first to
 * last generated token).  The final object also carries this server's
 * "timings" and "tinylm" (effective settings) objects.
 */
#include "server/server.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* RFC 3339 UTC with microseconds, as Ollama writes created_at. */
static json_t *now_rfc3339(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%06ldZ", ts.tv_nsec / 1000);
    return json_string(buf);
}

static bool is_chat(const tlm_srv_gen *g) { return g->rq.api == TLM_API_OLLAMA_CHAT; }

/* A line (or the whole answer) holding text. */
static json_t *text_obj(const tlm_srv_gen *g, const char *model, const char *text, size_t n,
                        bool done) {
    json_t *o = json_pack("{s:s,s:o}", "model", model, "created_at", now_rfc3339());
    if (!g || is_chat(g))
        json_object_set_new(o, "message", json_pack("{s:s,s:o}", "role", "assistant", "content",
                                                    tlm_json_text(text, n)));
    else
        json_object_set_new(o, "response", tlm_json_text(text, n));
    json_object_set_new(o, "done", json_boolean(done));
    return o;
}

/* With tools: a message whose answer is calls gets them as Ollama's
 * tool_calls ({function: {name, arguments: object}}) and empty content. */
static json_t *tools_obj(const tlm_srv_gen *g, const tlm_buf *t, bool done) {
    size_t used;
    json_t *calls = tlm_tool_calls_parse(t->data ? t->data : "", t->len, &used);
    if (!json_array_size(calls)) {
        json_decref(calls);
        return text_obj(g, g->m->id, t->data ? t->data : "", t->len, done);
    }
    json_t *o = text_obj(g, g->m->id, "", 0, done), *out = json_array();
    size_t k;
    json_t *c;
    json_array_foreach(calls, k, c)
        json_array_append_new(out, json_pack("{s:{s:O,s:O}}", "function", "name",
                                             json_object_get(c, "name"), "arguments",
                                             json_object_get(c, "arguments")));
    json_object_set_new(json_object_get(o, "message"), "tool_calls", out);
    json_decref(calls);
    return o;
}

static void add_logprobs(const tlm_srv_gen *g, json_t *o, const tlm_buf *recs, size_t from) {
    if (!g->rq.logprobs) return;
    json_t *arr = json_array();
    size_t n = (recs->len - from) / sizeof(tlm_tok_rec);
    if (n) tlm_gen_logprobs_content(g, (const tlm_tok_rec *)(recs->data + from), n, arr);
    json_object_set_new(o, "logprobs", arr);
}

static void add_final(const tlm_srv_gen *g, json_t *o) {
    tlm_gen_usage u = tlm_gen_get_usage(g);
    tlm_gen_times t = tlm_gen_get_times(g);
    const tlm_job *j = &g->task->jobs[0];
    json_object_set_new(o, "done_reason", json_string(tlm_finish_str(j->finish)));
    json_object_set_new(o, "total_duration", json_integer((json_int_t)t.total_ns));
    json_object_set_new(o, "load_duration", json_integer(0));
    json_object_set_new(o, "prompt_eval_count", json_integer(u.prompt));
    json_object_set_new(o, "prompt_eval_duration", json_integer((json_int_t)t.prompt_ns));
    json_object_set_new(o, "eval_count", json_integer(u.completion));
    json_object_set_new(o, "eval_duration", json_integer((json_int_t)t.eval_ns));
    json_object_set_new(o, "timings", tlm_gen_timings_json(g));
    json_object_set_new(o, "tinylm", tlm_gen_settings_json(g));
}

static void note_counts(const tlm_srv_gen *g) {
    tlm_gen_usage u = tlm_gen_get_usage(g);
    tlm_http_req_note(g->http, NULL, u.prompt, u.completion);
}

/* ---- Answers ---- */

static void answer_whole(tlm_srv_gen *g, tlm_http_resp *resp) {
    tlm_api_error e;
    bool here = tlm_gen_wait(g);
    note_counts(g);
    if (!here) {
        resp->status = 499; /* the client left; for the access log only */
    } else if (tlm_gen_failed(g, &e)) {
        tlm_resp_error(resp, TLM_FAMILY_OLLAMA, &e);
    } else {
        const tlm_buf *t = &g->text[0];
        json_t *o = g->rq.tools ? tools_obj(g, t, true)
                                : text_obj(g, g->m->id, t->data ? t->data : "", t->len, true);
        add_logprobs(g, o, &g->recs[0], 0);
        add_final(g, o);
        tlm_resp_json(resp, 200, o);
    }
    tlm_gen_free(g);
}

typedef struct ol_stream {
    tlm_srv_gen *g;
    size_t sent_text, sent_recs;
} ol_stream;

static int stream_produce(void *user, tlm_buf *out) {
    ol_stream *st = user;
    tlm_srv_gen *g = st->g;
    bool all = tlm_gen_poll(g, 50);
    const tlm_buf *t = &g->text[0], *r = &g->recs[0];
    /* With tools the answer is sent whole: calls are only known at the end. */
    if (g->rq.tools && all && t->len && !tlm_gen_failed(g, NULL)) {
        tlm_ndjson_line(out, tools_obj(g, t, false));
        st->sent_text = t->len;
    } else if (!g->rq.tools && (t->len > st->sent_text || r->len > st->sent_recs)) {
        const char *text = t->len > st->sent_text ? t->data + st->sent_text : "";
        json_t *o = text_obj(g, g->m->id, text, t->len - st->sent_text, false);
        add_logprobs(g, o, r, st->sent_recs);
        tlm_ndjson_line(out, o);
        st->sent_text = t->len;
        st->sent_recs = r->len;
    }
    if (!all) return TLM_HTTP_MORE;
    note_counts(g);
    tlm_api_error e;
    if (tlm_gen_failed(g, &e)) {
        tlm_ndjson_line(out, json_pack("{s:s}", "error", e.message));
        return TLM_HTTP_END;
    }
    json_t *o = text_obj(g, g->m->id, "", 0, true);
    add_final(g, o);
    tlm_ndjson_line(out, o);
    return TLM_HTTP_END;
}

static void stream_free(void *user, bool client_gone) {
    (void)client_gone;
    ol_stream *st = user;
    tlm_task_cancel(st->g->task);
    note_counts(st->g);
    tlm_gen_free(st->g);
    tlm_free(st);
}

/* An empty prompt or messages array only asks for the model to be loaded:
 * it is, so the answer comes at once. */
static bool load_only(const tlm_srv_request *rq) {
    if (rq->api == TLM_API_OLLAMA_CHAT) return json_array_size(rq->messages) == 0;
    return !rq->prompts[0].text[0];
}

static void handle(tlm_srv *s, tlm_api api, tlm_http_req *req, tlm_http_resp *resp) {
    size_t len;
    const char *body = tlm_http_req_body(req, &len);
    tlm_srv_request rq;
    tlm_api_error e;
    if (tlm_request_parse(api, body, len, &rq, &e)) {
        tlm_resp_error(resp, TLM_FAMILY_OLLAMA, &e);
        return;
    }
    if (load_only(&rq)) {
        tlm_srv_model *m = tlm_srv_find_model(s, rq.model, &e);
        if (!m) {
            tlm_resp_error(resp, TLM_FAMILY_OLLAMA, &e);
        } else {
            json_t *o = api == TLM_API_OLLAMA_CHAT
                            ? json_pack("{s:s,s:o,s:{s:s,s:s},s:b,s:s}", "model", m->id,
                                        "created_at", now_rfc3339(), "message", "role",
                                        "assistant", "content", "", "done", 1, "done_reason", "load")
                            : json_pack("{s:s,s:o,s:s,s:b,s:s}", "model", m->id, "created_at",
                                        now_rfc3339(), "response", "", "done", 1, "done_reason",
                                        "load");
            tlm_resp_json(resp, 200, o);
        }
        tlm_request_free(&rq);
        return;
    }
    tlm_srv_gen *g = tlm_gen_start(s, req, &rq, "ollama", &e);
    if (!g) {
        tlm_resp_error(resp, TLM_FAMILY_OLLAMA, &e);
        return;
    }
    if (!g->rq.stream) {
        answer_whole(g, resp);
        return;
    }
    ol_stream *st = tlm_calloc(1, sizeof *st);
    if (!st) {
        tlm_api_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
        tlm_resp_error(resp, TLM_FAMILY_OLLAMA, &e);
        tlm_gen_free(g);
        return;
    }
    st->g = g;
    tlm_resp_stream(resp, "application/x-ndjson", stream_produce, stream_free, st);
}

void tlm_handle_ollama_chat(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    handle(s, TLM_API_OLLAMA_CHAT, req, resp);
}

void tlm_handle_ollama_generate(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    handle(s, TLM_API_OLLAMA_GENERATE, req, resp);
}
