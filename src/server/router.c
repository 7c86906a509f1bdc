/*
 * router.c - the route table (method + path -> handler), and what applies
 * to every request before and after its handler: CORS (with the OPTIONS
 * preflight), the optional bearer API key, the body size limit, 503 while
 * the models load, 404/405 for unknown routes, and after the response
 * the access log line and the request metrics.
 *
 * Each route says which error shape it speaks (OpenAI or Ollama), so even
 * a 401 or a 413 reaches the client in a form its library understands.
 */
#include "server/reports.h"
#include "server/server.h"
#include "web/web.h"

#include <stdio.h>
#include <string.h>

typedef struct route {
    const char *method;   /* "GET" also answers HEAD */
    const char *path;
    bool prefix;          /* path is a prefix ("/v1/models/") */
    tlm_route_fn fn;
    tlm_family family;
    bool open;            /* no API key needed */
    bool needs_models;    /* 503 until the models are loaded */
} route;

static const route routes[] = {
    {"GET", "/health", false, tlm_handle_health, TLM_FAMILY_PLAIN, true, false},
    {"GET", "/v1/health", false, tlm_handle_health, TLM_FAMILY_PLAIN, true, false},
    {"GET", "/", false, tlm_web_handle, TLM_FAMILY_PLAIN, true, false},
    {"GET", "/index.html", false, tlm_web_handle, TLM_FAMILY_PLAIN, true, false},
    {"GET", "/metrics", false, tlm_handle_metrics, TLM_FAMILY_PLAIN, false, false},
    {"GET", "/report", true, tlm_handle_reports, TLM_FAMILY_PLAIN, false, false},
    {"POST", "/v1/chat/completions", false, tlm_handle_chat, TLM_FAMILY_OPENAI, false, true},
    {"POST", "/chat/completions", false, tlm_handle_chat, TLM_FAMILY_OPENAI, false, true},
    {"POST", "/v1/completions", false, tlm_handle_completions, TLM_FAMILY_OPENAI, false, true},
    {"POST", "/completions", false, tlm_handle_completions, TLM_FAMILY_OPENAI, false, true},
    {"GET", "/v1/models", false, tlm_handle_models, TLM_FAMILY_OPENAI, false, false},
    {"GET", "/models", false, tlm_handle_models, TLM_FAMILY_OPENAI, false, false},
    {"GET", "/v1/models/", true, tlm_handle_model, TLM_FAMILY_OPENAI, false, false},
    {"POST", "/api/chat", false, tlm_handle_ollama_chat, TLM_FAMILY_OLLAMA, false, true},
    {"POST", "/api/generate", false, tlm_handle_ollama_generate, TLM_FAMILY_OLLAMA, false, true},
    {"GET", "/api/tags", false, tlm_handle_ollama_tags, TLM_FAMILY_OLLAMA, false, false},
    {"POST", "/api/show", false, tlm_handle_ollama_show, TLM_FAMILY_OLLAMA, false, false},
    {"GET", "/api/version", false, tlm_handle_ollama_version, TLM_FAMILY_OLLAMA, true, false},
    {"GET", "/api/ps", false, tlm_handle_ollama_ps, TLM_FAMILY_OLLAMA, false, false},
};

static bool path_matches(const route *r, const char *path) {
    if (!r->prefix) return !strcmp(r->path, path);
    size_t n = strlen(r->path);
    return !strncmp(r->path, path, n) && path[n];
}

static bool method_matches(const route *r, const char *method) {
    return !strcmp(r->method, method) || (!strcmp(method, "HEAD") && !strcmp(r->method, "GET"));
}

static tlm_family family_of(const char *path) {
    return !strncmp(path, "/api/", 5) ? TLM_FAMILY_OLLAMA : TLM_FAMILY_OPENAI;
}

/* The methods a path answers, for 405 and OPTIONS ("GET, HEAD, OPTIONS"). */
static void allowed(const char *path, char *out, size_t cap) {
    out[0] = '\0';
    for (size_t i = 0; i < TLM_ARRAY_LEN(routes); i++) {
        if (!path_matches(&routes[i], path) || strstr(out, routes[i].method)) continue;
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s, ", routes[i].method);
        if (!strcmp(routes[i].method, "GET") && !strstr(out, "HEAD")) {
            n = strlen(out);
            snprintf(out + n, cap - n, "HEAD, ");
        }
    }
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "OPTIONS");
}

/* Constant-time comparison: the key must not leak through timing. */
static bool key_ok(const tlm_srv *s, tlm_http_req *req) {
    const char *h = tlm_http_req_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) return false;
    const char *got = h + 7, *want = s->p.api_key;
    size_t ng = strlen(got), nw = strlen(want);
    unsigned char diff = ng != nw;
    for (size_t i = 0; i < nw; i++) diff |= (unsigned char)(want[i] ^ (i < ng ? got[i] : 0));
    return diff == 0;
}

static void add_cors(const tlm_srv *s, tlm_http_resp *resp) {
    if (!s->p.cors) return;
    tlm_http_resp_header(resp, "Access-Control-Allow-Origin", "%s", s->p.cors);
    if (strcmp(s->p.cors, "*")) tlm_http_resp_header(resp, "Vary", "Origin");
}

static void preflight(tlm_srv *s, const char *path, tlm_http_resp *resp) {
    char allow[96];
    allowed(path, allow, sizeof allow);
    resp->status = 204;
    tlm_http_resp_header(resp, "Allow", "%s", allow);
    if (!s->p.cors) return;
    tlm_http_resp_header(resp, "Access-Control-Allow-Methods", "%s", allow);
    tlm_http_resp_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    tlm_http_resp_header(resp, "Access-Control-Max-Age", "86400");
}

/* Finds the route, or answers 404/405 itself (returns NULL). */
static const route *find(const char *method, const char *path, tlm_http_resp *resp) {
    bool path_known = false;
    for (size_t i = 0; i < TLM_ARRAY_LEN(routes); i++) {
        if (!path_matches(&routes[i], path)) continue;
        path_known = true;
        if (method_matches(&routes[i], method)) return &routes[i];
    }
    tlm_api_error e;
    if (path_known) {
        char allow[96];
        allowed(path, allow, sizeof allow);
        tlm_api_fail(&e, 405, "invalid_request_error", "method_not_allowed", NULL,
                     "%s is not allowed on %s (allowed: %s)", method, path, allow);
        tlm_resp_error(resp, family_of(path), &e);
        tlm_http_resp_header(resp, "Allow", "%s", allow);
    } else {
        tlm_api_fail(&e, 404, "not_found_error", "unknown_route", NULL, "no route for %s %s",
                     method, path);
        tlm_resp_error(resp, family_of(path), &e);
    }
    return NULL;
}

/* The checks every routed request passes; false when one answered. */
static bool admit(tlm_srv *s, const route *r, tlm_http_req *req, tlm_http_resp *resp) {
    tlm_api_error e;
    if (s->p.api_key && !r->open && !key_ok(s, req)) {
        tlm_api_fail(&e, 401, "authentication_error", "invalid_api_key", NULL,
                     "a valid API key is required: send the header 'Authorization: Bearer KEY'");
        tlm_resp_error(resp, r->family, &e);
        tlm_http_resp_header(resp, "WWW-Authenticate", "Bearer");
        return false;
    }
    if (tlm_http_req_body_too_large(req)) {
        tlm_api_fail(&e, 413, "invalid_request_error", "body_too_large", NULL,
                     "the request body is larger than the server's limit of %zu bytes "
                     "(--max-body)",
                     s->p.max_body);
        tlm_resp_error(resp, r->family, &e);
        return false;
    }
    int state = atomic_load(&s->state);
    if (r->needs_models && state != TLM_SRV_READY) {
        tlm_api_fail(&e, 503, "unavailable_error",
                     state == TLM_SRV_LOADING ? "loading" : "shutting_down", NULL,
                     state == TLM_SRV_LOADING ? "the models are still loading; retry shortly"
                                              : "the server is shutting down");
        if (state == TLM_SRV_LOADING) e.retry_after = 1;
        tlm_resp_error(resp, r->family, &e);
        return false;
    }
    return true;
}

void tlm_router_handle(void *user, tlm_http_req *req, tlm_http_resp *resp) {
    tlm_srv *s = user;
    const char *method = tlm_http_req_method(req), *path = tlm_http_req_path(req);
    if (!strcmp(method, "OPTIONS")) {
        preflight(s, path, resp);
    } else {
        const route *r = find(method, path, resp);
        if (r && admit(s, r, req, resp)) r->fn(s, req, resp);
    }
    add_cors(s, resp);
}

void tlm_router_done(void *user, tlm_http_req *req, int status, bool completed) {
    tlm_srv *s = user;
    double secs = (double)(tlm_time_ns() - tlm_http_req_t_start(req)) / 1e9;
    if (s->metrics) tlm_metrics_request(s->metrics, status, secs);
    if (!s->p.log_requests) return;
    char counts[96] = "";
    int32_t np = tlm_http_req_note_prompt(req), ng = tlm_http_req_note_gen(req);
    const char *model = tlm_http_req_note_model(req);
    if (model || np >= 0)
        snprintf(counts, sizeof counts, " model=%s prompt=%d gen=%d", model ? model : "-",
                 np < 0 ? 0 : np, ng < 0 ? 0 : ng);
    fprintf(stderr, "%s %s %d%s %.1fms%s\n", tlm_http_req_method(req), tlm_http_req_path(req),
            status, counts, secs * 1e3, completed ? "" : " (client gone or stream cut)");
}
