/*
 * openai_completions.c - POST /v1/completions: plain text continuation,
 * no chat template.
 *
 * "prompt" may be a string, an array of strings (each gets n choices,
 * numbered prompt * n + choice) or an array of token ids.  Prompt text is
 * tokenized with special-token parsing on, so a hand-written template
 * ("<|im_start|>user ...") means what it says.  logprobs is the legacy
 * integer (alternatives per token, 0-5) and comes back in the legacy shape
 * {tokens, token_logprobs, top_logprobs, text_offset}.
 */
#include "server/server.h"

#include <string.h>

static json_t *legacy_logprobs(const tlm_srv_gen *g, const tlm_tok_rec *recs, size_t n,
                               size_t offset) {
    if (!g->rq.logprobs) return json_null();
    json_t *content = json_array();
    tlm_gen_logprobs_content(g, recs, n, content);
    json_t *tokens = json_array(), *lps = json_array(), *tops = json_array(), *offs = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(content, i, e) {
        json_t *top = json_object(), *alt;
        size_t k;
        json_array_foreach(json_object_get(e, "top_logprobs"), k, alt)
            json_object_set(top, json_string_value(json_object_get(alt, "token")),
                            json_object_get(alt, "logprob"));
        json_array_append(tokens, json_object_get(e, "token"));
        json_array_append(lps, json_object_get(e, "logprob"));
        json_array_append_new(tops, top);
        json_array_append_new(offs, json_integer((json_int_t)offset));
        offset += json_array_size(json_object_get(e, "bytes"));
    }
    json_decref(content);
    return json_pack("{s:o,s:o,s:o,s:o}", "tokens", tokens, "token_logprobs", lps,
                     "top_logprobs", tops, "text_offset", offs);
}

/* The prompt text echoed before choice i's text, or "". */
static const char *echo_text(const tlm_srv_gen *g, int32_t i) {
    const tlm_srv_prompt *p = &g->rq.prompts[i / g->rq.n];
    return g->rq.echo && p->text ? p->text : "";
}

static json_t *chunk_choice(const tlm_srv_gen *g, int32_t i, const char *text, size_t n,
                            const tlm_tok_rec *recs, size_t n_recs, const char *finish) {
    size_t base = g->text[i].len >= n ? g->text[i].len - n : 0;
    return json_pack("{s:i,s:o,s:o,s:o}", "index", i, "text", tlm_json_text(text, n),
                     "logprobs", n_recs ? legacy_logprobs(g, recs, n_recs, base) : json_null(),
                     "finish_reason", finish ? json_string(finish) : json_null());
}

static json_t *opening_choice(const tlm_srv_gen *g, int32_t i) {
    const char *echo = echo_text(g, i);
    if (!*echo) return NULL;
    return json_pack("{s:i,s:o,s:n,s:n}", "index", i, "text", tlm_json_text(echo, strlen(echo)),
                     "logprobs", "finish_reason");
}

static json_t *full_choice(const tlm_srv_gen *g, int32_t i) {
    const tlm_job *j = &g->task->jobs[i];
    const tlm_buf *t = &g->text[i], *r = &g->recs[i];
    const char *echo = echo_text(g, i);
    tlm_buf all = {0};
    tlm_buf_append(&all, echo, strlen(echo));
    if (t->len) tlm_buf_append(&all, t->data, t->len);
    json_t *c = json_pack("{s:i,s:o,s:o,s:s}", "index", i, "text",
                          tlm_json_text(all.data ? all.data : "", all.len), "logprobs",
                          legacy_logprobs(g, (const tlm_tok_rec *)r->data,
                                          r->len / sizeof(tlm_tok_rec), strlen(echo)),
                          "finish_reason", tlm_finish_str(j->finish));
    tlm_buf_free(&all);
    return c;
}

static const tlm_oai_kind completion_kind = {
    .object = "text_completion",
    .chunk_object = "text_completion",
    .choice = chunk_choice,
    .opening = NULL,
    .full_choice = full_choice,
};

/* With echo, the stream opens with the prompt text of every choice. */
static const tlm_oai_kind completion_echo_kind = {
    .object = "text_completion",
    .chunk_object = "text_completion",
    .choice = chunk_choice,
    .opening = opening_choice,
    .full_choice = full_choice,
};

void tlm_handle_completions(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    tlm_oai_handle(s, req, resp, TLM_API_COMPLETION, "cmpl", &completion_kind,
                   &completion_echo_kind);
}
