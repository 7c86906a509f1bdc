/*
 * target_openai.h - an evaluation target behind any OpenAI-compatible
 * /v1/chat/completions endpoint (tinylm serve, llama.cpp's server, Ollama,
 * vLLM), so tinylm can compare its own models with other engines' on the
 * same tasks.  Answers are streamed to measure time to first token; token
 * counts come from `usage` and speeds from llama.cpp's `timings` when the
 * server sends them, else from tokens over wall time.
 */
#ifndef TLM_EVAL_TARGET_OPENAI_H
#define TLM_EVAL_TARGET_OPENAI_H

#include "eval/eval.h"

typedef struct tlm_eval_openai_config {
    const char *base_url; /* "http://host:port" (a trailing "/v1" is accepted) */
    const char *model;    /* "model" field of each request; also the target's name */
    const char *api_key;  /* sent as a bearer token when not NULL */
    double timeout_s;     /* whole request, default 600 */
    bool stream;          /* default true: needed for time to first token */
} tlm_eval_openai_config;

tlm_eval_openai_config tlm_eval_openai_default_config(void);

/* Fills *out with a target whose generate() posts to the endpoint; the
 * target may be used from several threads.  Release with
 * tlm_eval_openai_target_free (strings are copied; cfg need not outlive it). */
tlm_status tlm_eval_openai_target_create(const tlm_eval_openai_config *cfg, tlm_eval_target *out,
                                         tlm_error *err);
void tlm_eval_openai_target_free(tlm_eval_target *t);

/* The request body generate() sends for req (JSON text; free with tlm_free). */
char *tlm_eval_openai_request_body(const char *model, const tlm_eval_request *req, bool stream);

/* ---- Response parsing, exposed for tests ----
 * Feed the response body in pieces of any size (server-sent events or one
 * JSON object), then finish into an answer. */
typedef struct tlm_eval_sse tlm_eval_sse;

tlm_eval_sse *tlm_eval_sse_create(uint64_t start_ns);
void tlm_eval_sse_feed(tlm_eval_sse *s, const char *data, size_t len);
/* Fills out->text, tool_calls, finish_reason, token counts and timings.
 * Fails with TLM_ERR_FORMAT when the body held neither events nor a
 * completion, or with the server's error message. */
tlm_status tlm_eval_sse_finish(tlm_eval_sse *s, tlm_eval_answer *out, tlm_error *err);
void tlm_eval_sse_free(tlm_eval_sse *s);

#endif /* TLM_EVAL_TARGET_OPENAI_H */
