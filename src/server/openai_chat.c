/*
 * openai_chat.c - POST /v1/chat/completions.
 *
 * The messages go through the model's own chat template (tlm_chat_render;
 * for Gemma, whose template has no system role, the system message is
 * folded into the first user turn).  Answers are chat.completion objects,
 * or chat.completion.chunk events when streaming (openai_common.c), with
 * logprobs in OpenAI's shape: {"content":[{token, logprob, bytes,
 * top_logprobs:[...]}]}.
 */
#include "server/server.h"

#include <stdlib.h>

static json_t *logprobs_obj(const tlm_srv_gen *g, const tlm_tok_rec *recs, size_t n) {
    if (!g->rq.logprobs) return json_null();
    json_t *content = json_array();
    tlm_gen_logprobs_content(g, recs, n, content);
    return json_pack("{s:o,s:n}", "content", content, "refusal");
}

/* With tools: the deltas the choice's new text makes (text, or calls as
 * they close), one choice each, then the finish. */
static json_t *tool_chunk_choices(const tlm_srv_gen *g, int32_t i, const char *text, size_t n,
                                  const char *finish) {
    tlm_tool_stream *ts = tlm_tool_stream_at(g->tstream, i);
    json_t *deltas = tlm_tool_stream_push(ts, text, n, finish != NULL), *out = json_array();
    size_t k;
    json_t *d;
    json_array_foreach(deltas, k, d)
        json_array_append_new(out, json_pack("{s:i,s:O,s:n,s:n}", "index", i, "delta", d,
                                             "logprobs", "finish_reason"));
    json_decref(deltas);
    if (finish)
        json_array_append_new(
            out, json_pack("{s:i,s:{},s:n,s:s}", "index", i, "delta", "logprobs", "finish_reason",
                           tlm_tool_stream_called(ts) ? "tool_calls" : finish));
    return out;
}

static json_t *chunk_choice(const tlm_srv_gen *g, int32_t i, const char *text, size_t n,
                            const tlm_tok_rec *recs, size_t n_recs, const char *finish) {
    if (g->tstream) return tool_chunk_choices(g, i, text, n, finish);
    json_t *delta = json_object();
    if (n) json_object_set_new(delta, "content", tlm_json_text(text, n));
    json_t *c = json_pack("{s:i,s:o,s:o}", "index", i, "delta", delta, "finish_reason",
                          finish ? json_string(finish) : json_null());
    json_object_set_new(c, "logprobs", n_recs ? logprobs_obj(g, recs, n_recs) : json_null());
    return c;
}

static json_t *opening_choice(const tlm_srv_gen *g, int32_t i) {
    (void)g;
    return json_pack("{s:i,s:{s:s,s:n},s:n,s:n}", "index", i, "delta", "role", "assistant",
                     "content", "logprobs", "finish_reason");
}

/* The calls of an answer in OpenAI's shape (arguments as a JSON string),
 * or NULL when it holds none. */
static json_t *openai_calls(const tlm_buf *t) {
    size_t used;
    json_t *calls = tlm_tool_calls_parse(t->data ? t->data : "", t->len, &used), *out = NULL;
    if (json_array_size(calls)) out = json_array();
    size_t k;
    json_t *c;
    json_array_foreach(calls, k, c) {
        char id[32];
        tlm_tool_call_id(id);
        char *args = json_dumps(json_object_get(c, "arguments"), JSON_COMPACT | JSON_ENCODE_ANY);
        json_array_append_new(out, json_pack("{s:s,s:s,s:{s:O,s:s}}", "id", id, "type", "function",
                                             "function", "name", json_object_get(c, "name"),
                                             "arguments", args ? args : "{}"));
        free(args);
    }
    json_decref(calls);
    return out;
}

static json_t *full_choice(const tlm_srv_gen *g, int32_t i) {
    const tlm_job *j = &g->task->jobs[i];
    const tlm_buf *t = &g->text[i], *r = &g->recs[i];
    json_t *calls = g->rq.tools ? openai_calls(t) : NULL;
    json_t *msg = json_pack("{s:s,s:o,s:n}", "role", "assistant", "content",
                            calls ? json_null() : tlm_json_text(t->data ? t->data : "", t->len),
                            "refusal");
    if (calls) json_object_set_new(msg, "tool_calls", calls);
    return json_pack("{s:i,s:o,s:o,s:s}", "index", i, "message", msg, "logprobs",
                     logprobs_obj(g, (const tlm_tok_rec *)r->data, r->len / sizeof(tlm_tok_rec)),
                     "finish_reason", calls ? "tool_calls" : tlm_finish_str(j->finish));
}

static const tlm_oai_kind chat_kind = {
    .object = "chat.completion",
    .chunk_object = "chat.completion.chunk",
    .choice = chunk_choice,
    .opening = opening_choice,
    .full_choice = full_choice,
};

void tlm_handle_chat(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    tlm_oai_handle(s, req, resp, TLM_API_CHAT, "chatcmpl", &chat_kind, NULL);
}
