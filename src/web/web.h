/*
 * web.h - serves the chat page of `tinylm serve` (issue 7) from the bytes
 * compiled into the binary (assets.h).
 *
 * "/" is shared with clients that only probe whether the server runs
 * (Ollama's libraries expect 200 and a short text), so the page goes to
 * requests whose Accept header names text/html (every browser navigation)
 * and the plain "tinylm is running" answer to the rest.
 */
#ifndef TLM_WEB_WEB_H
#define TLM_WEB_WEB_H

#include "server/http.h"

#include <stdbool.h>

typedef struct tlm_srv tlm_srv;

/* One embedded file (static data, never freed). */
typedef struct tlm_web_asset {
    const char *path;               /* "/", "/index.html" */
    const char *content_type;       /* static string */
    const unsigned char *data;      /* (len) bytes */
    size_t len;
    const char *etag;               /* quoted strong ETag */
    const char *csp;                /* Content-Security-Policy, or NULL */
} tlm_web_asset;

/* Fills *out with the asset served at path (query string ignored) and
 * returns true, or returns false.  Thread-safe. */
bool tlm_web_find(const char *path, tlm_web_asset *out);

/* Fills resp for a GET of path: 200 with the page and its ETag,
 * Cache-Control, CSP and nosniff headers; 304 when if_none_match (may be
 * NULL) names the current ETag; "tinylm is running" as text/plain when
 * accept (may be NULL) does not ask for HTML; 404 for an unknown path.
 * Everything put in resp is owned by resp. */
void tlm_web_respond(const char *path, const char *accept, const char *if_none_match,
                     tlm_http_resp *resp);

/* The route handler (tlm_route_fn) for GET / and /index.html. */
void tlm_web_handle(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);

#endif /* TLM_WEB_WEB_H */
