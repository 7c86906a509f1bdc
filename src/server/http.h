/*
 * http.h - the HTTP/1.1 layer of `tinylm serve` (internal), a thin wrapper
 * over libmicrohttpd.
 *
 * What it adds to the library: the request body gathered into one buffer
 * with a size limit (an oversized body is flagged, never stored), one
 * handler call per complete request, plain responses and streamed ones
 * (chunked transfer encoding) whose producer may block, detection of a
 * client that went away while its response is being produced, and a
 * completion hook (access log, metrics) called once per request.
 *
 * Threading: one thread per connection (libmicrohttpd's
 * MHD_USE_THREAD_PER_CONNECTION), so a handler may block while a model
 * generates, and a slow client holds only its own thread.  Keep-alive is
 * on for HTTP/1.1; idle connections close after the timeout.
 */
#ifndef TLM_SERVER_HTTP_H
#define TLM_SERVER_HTTP_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tlm_http_server tlm_http_server;
typedef struct tlm_http_req tlm_http_req;

/* What a stream producer returns. */
enum {
    TLM_HTTP_MORE = 0,   /* call again (out may be empty) */
    TLM_HTTP_END = 1,    /* out holds the last bytes of the stream */
    TLM_HTTP_ABORT = -1, /* close the connection without ending the stream */
};

/* Produces the next bytes of a streamed response into out (appending).
 * Runs on the connection's thread and may block, but should return within
 * about 100 ms even with nothing to add, so that a disconnected client is
 * noticed between calls. */
typedef int (*tlm_http_produce_fn)(void *user, tlm_buf *out);

/* Releases a stream's state; client_gone says the client disconnected
 * before the end (the producer's work should be cancelled). */
typedef void (*tlm_http_stream_free_fn)(void *user, bool client_gone);

#define TLM_HTTP_MAX_HEADERS 12

/* A response, filled by the handler.  Everything in it is owned by it and
 * released by the HTTP layer (the stream state through stream_free). */
typedef struct tlm_http_resp {
    int status;                   /* 0 = 500 */
    const char *content_type;     /* static string, or NULL */
    tlm_buf body;                 /* plain response body */
    int n_headers;
    char *header[TLM_HTTP_MAX_HEADERS]; /* "Name\0value" pairs, owned */
    /* A streamed response when produce is set (body is then ignored). */
    tlm_http_produce_fn produce;
    tlm_http_stream_free_fn stream_free;
    void *stream_user;
} tlm_http_resp;

/* Adds a response header (copied).  Silently ignored past
 * TLM_HTTP_MAX_HEADERS, which the server never reaches. */
void tlm_http_resp_header(tlm_http_resp *r, const char *name, const char *fmt, ...)
    TLM_PRINTF(3, 4);

/* Handles one complete request.  Must set resp->status. */
typedef void (*tlm_http_handler_fn)(void *user, tlm_http_req *req, tlm_http_resp *resp);

/* Called once per request after its response went out, or when the
 * connection ended without one (status 0).  completed is false when the
 * client disconnected or the stream was aborted. */
typedef void (*tlm_http_done_fn)(void *user, tlm_http_req *req, int status, bool completed);

typedef struct tlm_http_params {
    const char *host;           /* address to bind ("127.0.0.1", "::", "0.0.0.0") */
    int port;                   /* 0 = an ephemeral port (see tlm_http_port) */
    size_t max_body;            /* larger request bodies are flagged, not stored */
    unsigned conn_limit;        /* simultaneous connections */
    unsigned idle_timeout_s;    /* an idle or stalled connection is closed after this */
    tlm_http_handler_fn handler;
    tlm_http_done_fn done;      /* may be NULL */
    void *user;
} tlm_http_params;

/* Binds and starts serving.  The caller owns *out (tlm_http_stop). */
tlm_status tlm_http_start(const tlm_http_params *p, tlm_http_server **out, tlm_error *err);
/* The port actually bound. */
int tlm_http_port(const tlm_http_server *s);
/* Stops accepting new connections; open ones carry on. */
void tlm_http_quiesce(tlm_http_server *s);
/* Closes every connection, waits for their threads and frees s.  Handlers
 * that block must have been released first (their work cancelled). */
void tlm_http_stop(tlm_http_server *s);

/* ---- Requests (borrowed; valid until the done callback returns) ---- */

const char *tlm_http_req_method(const tlm_http_req *r);
const char *tlm_http_req_path(const tlm_http_req *r);
/* A request header (case-insensitive name), or NULL. */
const char *tlm_http_req_header(const tlm_http_req *r, const char *name);
/* The body (NUL-terminated; *len excludes the NUL).  Empty when absent or
 * when it was too large. */
const char *tlm_http_req_body(const tlm_http_req *r, size_t *len);
bool tlm_http_req_body_too_large(const tlm_http_req *r);
/* Arrival time of the request (tlm_time_ns clock). */
uint64_t tlm_http_req_t_start(const tlm_http_req *r);
/* Whether the client closed its connection (or half-closed it).  Only
 * meaningful on the request's own thread, while it is being answered. */
bool tlm_http_client_gone(tlm_http_req *r);

/* Notes for the access log, kept with the request: the model and the
 * token counts.  model is copied; n < 0 leaves a count unchanged. */
void tlm_http_req_note(tlm_http_req *r, const char *model, int32_t n_prompt, int32_t n_gen);
const char *tlm_http_req_note_model(const tlm_http_req *r);
int32_t tlm_http_req_note_prompt(const tlm_http_req *r);
int32_t tlm_http_req_note_gen(const tlm_http_req *r);

#endif /* TLM_SERVER_HTTP_H */
