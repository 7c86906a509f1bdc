/*
 * respond.c - writing responses: JSON bodies, errors in each API's shape,
 * server-sent events and NDJSON lines.
 *
 * Errors: OpenAI routes answer {"error":{"message","type","param","code"}}
 * with llama.cpp's type vocabulary (invalid_request_error,
 * authentication_error, not_found_error, rate_limit_error, server_error,
 * unavailable_error, exceed_context_size_error); Ollama routes answer
 * {"error":"message"}.  The HTTP status is always the authoritative part.
 */
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

/* Ten significant digits: timings to the nanosecond, no float noise. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

void tlm_resp_json(tlm_http_resp *r, int status, json_t *obj) {
    r->status = status;
    r->content_type = "application/json";
    char *s = obj ? json_dumps(obj, DUMP_FLAGS) : NULL;
    json_decref(obj);
    r->body.len = 0;
    if (!s) {
        r->status = 500;
        tlm_buf_appendf(&r->body, "{\"error\":{\"message\":\"out of memory\",\"type\":"
                                  "\"server_error\",\"param\":null,\"code\":null}}");
        return;
    }
    tlm_buf_append(&r->body, s, strlen(s));
    free(s);
}

json_t *tlm_openai_error_json(const tlm_api_error *e) {
    return json_pack("{s:{s:s,s:s,s:o,s:o}}", "error", "message", e->message, "type",
                     e->type ? e->type : "server_error", "param",
                     e->param[0] ? json_string(e->param) : json_null(), "code",
                     e->code ? json_string(e->code) : json_null());
}

void tlm_resp_error(tlm_http_resp *r, tlm_family f, const tlm_api_error *e) {
    json_t *body = f == TLM_FAMILY_OLLAMA ? json_pack("{s:s}", "error", e->message)
                                          : tlm_openai_error_json(e);
    tlm_resp_json(r, e->status ? e->status : 500, body);
    if (e->retry_after > 0) tlm_http_resp_header(r, "Retry-After", "%d", e->retry_after);
}

void tlm_sse_event(tlm_buf *out, json_t *obj) {
    if (!obj) return;
    char *s = json_dumps(obj, DUMP_FLAGS);
    json_decref(obj);
    if (!s) return;
    tlm_buf_append(out, "data: ", 6);
    tlm_buf_append(out, s, strlen(s));
    tlm_buf_append(out, "\n\n", 2);
    free(s);
}

void tlm_ndjson_line(tlm_buf *out, json_t *obj) {
    if (!obj) return;
    char *s = json_dumps(obj, DUMP_FLAGS);
    json_decref(obj);
    if (!s) return;
    tlm_buf_append(out, s, strlen(s));
    tlm_buf_append(out, "\n", 1);
    free(s);
}

void tlm_resp_stream(tlm_http_resp *r, const char *content_type, tlm_http_produce_fn produce,
                     tlm_http_stream_free_fn stream_free, void *user) {
    r->status = 200;
    r->content_type = content_type;
    r->produce = produce;
    r->stream_free = stream_free;
    r->stream_user = user;
    tlm_http_resp_header(r, "Cache-Control", "no-cache");
    /* Proxies (nginx) would otherwise hold tokens back in their buffers. */
    tlm_http_resp_header(r, "X-Accel-Buffering", "no");
}
