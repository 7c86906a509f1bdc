/*
 * http.c - the HTTP layer over libmicrohttpd (see http.h).
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in, once per piece of body, and once more when the
 * body is complete; only then is our handler called.  A body larger than
 * the limit is never stored: when Content-Length already says so, the
 * response (413, written by the handler) goes out at the first call and
 * the library closes the connection without reading the rest; a chunked
 * body is discarded as it arrives and answered at the end.
 *
 * A streamed response is a content-reader callback that keeps calling the
 * producer until it has bytes, checking between calls whether the client
 * is still there: that is how a disconnect cancels a generation within one
 * token even when the client sends nothing.
 *
 * Request records are reference counted: the request itself (released by
 * the completion callback) and its stream (released when libmicrohttpd
 * destroys the response) may end in either order.
 */
#include "server/http.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tlm_http_server {
    struct MHD_Daemon *daemon;
    tlm_http_params p;
    int port;
    MHD_socket quiesced_fd; /* closed after the daemon stops */
};

struct tlm_http_req {
    tlm_http_server *srv;
    struct MHD_Connection *conn;
    char *method, *path;
    tlm_buf body;
    bool too_large;
    size_t discarded;      /* bytes of an oversized chunked body thrown away */
    uint64_t t_start;
    int status;            /* of the queued response; 0 = none yet */
    bool stream_failed;    /* the stream ended early (client gone or aborted) */
    char *note_model;
    int32_t note_prompt, note_gen;
    atomic_int refs;
};

typedef struct stream {
    tlm_http_req *req;
    tlm_http_produce_fn produce;
    tlm_http_stream_free_fn free_fn;
    void *user;
    tlm_buf pending;       /* produced bytes not yet handed to the library */
    size_t off;
    bool ended, failed;
} stream;

/* ---- Request records ---- */

static void req_unref(tlm_http_req *r) {
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
    tlm_free(r->method);
    tlm_free(r->path);
    tlm_free(r->note_model);
    tlm_buf_free(&r->body);
    tlm_free(r);
}

static tlm_http_req *req_new(tlm_http_server *s, struct MHD_Connection *c, const char *method,
                             const char *url) {
    tlm_http_req *r = tlm_calloc(1, sizeof *r);
    if (!r) return NULL;
    r->srv = s;
    r->conn = c;
    r->method = tlm_strdup(method);
    r->path = tlm_strdup(url);
    r->t_start = tlm_time_ns();
    r->note_prompt = r->note_gen = -1;
    atomic_init(&r->refs, 1);
    if (!r->method || !r->path) {
        req_unref(r);
        return NULL;
    }
    return r;
}

const char *tlm_http_req_method(const tlm_http_req *r) { return r->method; }
const char *tlm_http_req_path(const tlm_http_req *r) { return r->path; }
bool tlm_http_req_body_too_large(const tlm_http_req *r) { return r->too_large; }
uint64_t tlm_http_req_t_start(const tlm_http_req *r) { return r->t_start; }

const char *tlm_http_req_header(const tlm_http_req *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *tlm_http_req_body(const tlm_http_req *r, size_t *len) {
    *len = r->too_large ? 0 : r->body.len;
    return r->too_large || !r->body.data ? "" : r->body.data;
}

void tlm_http_req_note(tlm_http_req *r, const char *model, int32_t n_prompt, int32_t n_gen) {
    if (model && (!r->note_model || strcmp(r->note_model, model))) {
        tlm_free(r->note_model);
        r->note_model = tlm_strdup(model);
    }
    if (n_prompt >= 0) r->note_prompt = n_prompt;
    if (n_gen >= 0) r->note_gen = n_gen;
}
const char *tlm_http_req_note_model(const tlm_http_req *r) { return r->note_model; }
int32_t tlm_http_req_note_prompt(const tlm_http_req *r) { return r->note_prompt; }
int32_t tlm_http_req_note_gen(const tlm_http_req *r) { return r->note_gen; }

/* A peer that closed (or shut down its sending side) shows as a hang-up or
 * as readable with nothing to read.  Pipelined bytes of a next request are
 * left where they are. */
bool tlm_http_client_gone(tlm_http_req *r) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return false;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)) return true;
    if (p.revents & POLLIN) {
        char c;
        return recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
    }
    return false;
}

/* ---- Responses ---- */

void tlm_http_resp_header(tlm_http_resp *r, const char *name, const char *fmt, ...) {
    if (r->n_headers >= TLM_HTTP_MAX_HEADERS) return;
    char value[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    size_t nl = strlen(name), vl = strlen(value);
    char *h = tlm_malloc(nl + vl + 2);
    if (!h) return;
    memcpy(h, name, nl + 1);
    memcpy(h + nl + 1, value, vl + 1);
    r->header[r->n_headers++] = h;
}

static void resp_release(tlm_http_resp *r) {
    tlm_buf_free(&r->body);
    for (int i = 0; i < r->n_headers; i++) tlm_free(r->header[i]);
    r->n_headers = 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream *st = cls;
    while (st->off >= st->pending.len) {
        if (st->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        if (st->failed || tlm_http_client_gone(st->req)) {
            st->failed = true;
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        st->pending.len = st->off = 0;
        int r = st->produce(st->user, &st->pending);
        if (r == TLM_HTTP_ABORT) st->failed = true;
        if (r == TLM_HTTP_END) st->ended = true;
    }
    size_t n = TLM_MIN(max, st->pending.len - st->off);
    memcpy(buf, st->pending.data + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void stream_release(void *cls) {
    stream *st = cls;
    bool failed = st->failed || !st->ended;
    if (failed) st->req->stream_failed = true;
    if (st->free_fn) st->free_fn(st->user, failed);
    tlm_buf_free(&st->pending);
    req_unref(st->req);
    tlm_free(st);
}

static struct MHD_Response *make_stream(tlm_http_req *req, tlm_http_resp *r) {
    stream *st = tlm_calloc(1, sizeof *st);
    if (!st) {
        if (r->stream_free) r->stream_free(r->stream_user, true);
        return NULL;
    }
    st->req = req;
    st->produce = r->produce;
    st->free_fn = r->stream_free;
    st->user = r->stream_user;
    atomic_fetch_add(&req->refs, 1);
    struct MHD_Response *mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                stream_read, st, stream_release);
    /* The library calls stream_release only for a response it created. */
    if (!mr) stream_release(st);
    return mr;
}

/* Calls the handler and queues what it wrote. */
static enum MHD_Result respond(tlm_http_server *s, tlm_http_req *req) {
    tlm_http_resp r = {0};
    s->p.handler(s->p.user, req, &r);
    struct MHD_Response *mr;
    if (r.produce)
        mr = make_stream(req, &r);
    else
        mr = MHD_create_response_from_buffer(r.body.len, r.body.data ? r.body.data : (void *)"",
                                             MHD_RESPMEM_MUST_COPY);
    int status = r.status ? r.status : 500;
    if (mr && r.content_type) MHD_add_response_header(mr, "Content-Type", r.content_type);
    for (int i = 0; mr && i < r.n_headers; i++) {
        const char *name = r.header[i];
        MHD_add_response_header(mr, name, name + strlen(name) + 1);
    }
    resp_release(&r);
    if (!mr) return MHD_NO;
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)status, mr);
    MHD_destroy_response(mr);
    if (ok == MHD_YES) req->status = status;
    return ok;
}

/* ---- libmicrohttpd callbacks ---- */

static bool declared_too_large(struct MHD_Connection *c, size_t max) {
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (!cl) return false;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl && n > max;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    (void)upload;
    tlm_http_server *s = cls;
    tlm_http_req *req = *con_cls;
    if (!req) {
        if (!(req = req_new(s, c, method, url))) return MHD_NO;
        *con_cls = req;
        if (declared_too_large(c, s->p.max_body)) {
            req->too_large = true;
            return respond(s, req);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (!req->too_large && req->body.len + n > s->p.max_body) {
            req->too_large = true;
            tlm_buf_free(&req->body);
        }
        if (req->too_large) {
            /* An endless chunked body is cut off rather than read forever. */
            req->discarded += n;
            return req->discarded > 4 * s->p.max_body + (1u << 20) ? MHD_NO : MHD_YES;
        }
        return tlm_buf_append(&req->body, upload, n) ? MHD_NO : MHD_YES;
    }
    if (req->status) return MHD_YES; /* answered early (413) */
    if (tlm_buf_reserve(&req->body, 1)) return MHD_NO;
    req->body.data[req->body.len] = '\0';
    return respond(s, req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)c;
    tlm_http_server *s = cls;
    tlm_http_req *req = *con_cls;
    if (!req) return;
    *con_cls = NULL;
    bool completed = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !req->stream_failed;
    if (s->p.done) s->p.done(s->p.user, req, req->status, completed);
    req_unref(req);
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fprintf(stderr, "tinylm serve: http: ");
    vfprintf(stderr, fmt, ap);
}

/* ---- Server ---- */

static tlm_status resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len,
                          tlm_error *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE}, *res = NULL;
    char ports[16];
    snprintf(ports, sizeof ports, "%d", port);
    int rc = getaddrinfo(host, ports, &hints, &res);
    if (rc || !res)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "cannot resolve host '%s': %s", host,
                             rc ? gai_strerror(rc) : "no address");
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return TLM_OK;
}

tlm_status tlm_http_start(const tlm_http_params *p, tlm_http_server **out, tlm_error *err) {
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sl;
    tlm_status st = resolve(p->host, p->port, &ss, &sl, err);
    if (st) return st;
    tlm_http_server *s = tlm_calloc(1, sizeof *s);
    if (!s) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    s->p = *p;
    s->quiesced_fd = MHD_INVALID_SOCKET;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)p->port, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_log,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_CONNECTION_LIMIT, p->conn_limit ? p->conn_limit : 256u,
        MHD_OPTION_CONNECTION_TIMEOUT, p->idle_timeout_s ? p->idle_timeout_s : 30u,
        MHD_OPTION_END);
    if (!s->daemon) {
        tlm_free(s);
        return tlm_error_set(err, TLM_ERR_IO,
                             "cannot listen on %s port %d (in use, or not an address of this "
                             "machine?)",
                             p->host, p->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : p->port;
    *out = s;
    return TLM_OK;
}

int tlm_http_port(const tlm_http_server *s) { return s->port; }

void tlm_http_quiesce(tlm_http_server *s) {
    if (s && s->daemon && s->quiesced_fd == MHD_INVALID_SOCKET)
        s->quiesced_fd = MHD_quiesce_daemon(s->daemon);
}

void tlm_http_stop(tlm_http_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    if (s->quiesced_fd != MHD_INVALID_SOCKET) close(s->quiesced_fd);
    tlm_free(s);
}
