/*
 * web.c - answers GET / (and /index.html) with the chat page compiled into
 * the binary, with validators so a reload costs a 304 rather than the
 * whole page: a strong ETag (a hash of the bytes) and "Cache-Control:
 * no-cache", which means "revalidate every time" - a new build of tinylm
 * must never leave a browser on an old page.
 */
#include "web/web.h"

#include "web/assets.h"

#include <string.h>

/* The embedded files.  Lengths are reached through pointers because an
 * extern const is not a constant expression in C. */
static const struct {
    const char *path;
    const unsigned char *data;
    const size_t *len;
    const char *etag, *csp;
} files[] = {
    {"/", tlm_web_index_html, &tlm_web_index_html_len, tlm_web_index_html_etag,
     tlm_web_index_html_csp},
    {"/index.html", tlm_web_index_html, &tlm_web_index_html_len, tlm_web_index_html_etag,
     tlm_web_index_html_csp},
};

bool tlm_web_find(const char *path, tlm_web_asset *out) {
    if (!path) return false;
    size_t len = strcspn(path, "?#");
    for (size_t i = 0; i < TLM_ARRAY_LEN(files); i++) {
        if (strlen(files[i].path) != len || strncmp(files[i].path, path, len)) continue;
        *out = (tlm_web_asset){files[i].path, "text/html; charset=utf-8", files[i].data,
                               *files[i].len, files[i].etag, files[i].csp};
        return true;
    }
    return false;
}

/* Whether an If-None-Match list ("a", W/"b", or *) names etag.  Weak
 * comparison, as RFC 9110 asks for If-None-Match. */
static bool etag_listed(const char *list, const char *etag) {
    size_t n = strlen(etag);
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        if (*p == '*') return true;
        if (!strncmp(p, "W/", 2)) p += 2;
        if (!strncmp(p, etag, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' ')) return true;
        p += strcspn(p, ",");
    }
    return false;
}

static void plain(tlm_http_resp *resp, int status, const char *msg) {
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    tlm_buf_append(&resp->body, msg, strlen(msg));
}

void tlm_web_respond(const char *path, const char *accept, const char *if_none_match,
                     tlm_http_resp *resp) {
    tlm_web_asset asset, *a = &asset;
    if (!tlm_web_find(path, &asset)) {
        plain(resp, 404, "not found\n");
        return;
    }
    /* "/" stays what API clients probe unless a browser asks for a page. */
    if (!strcmp(a->path, "/") && !(accept && strstr(accept, "text/html"))) {
        plain(resp, 200, "tinylm is running\n");
        tlm_http_resp_header(resp, "Vary", "Accept");
        return;
    }
    tlm_http_resp_header(resp, "ETag", "%s", a->etag);
    tlm_http_resp_header(resp, "Cache-Control", "no-cache");
    tlm_http_resp_header(resp, "Vary", "Accept");
    if (if_none_match && etag_listed(if_none_match, a->etag)) {
        resp->status = 304;
        return;
    }
    resp->status = 200;
    resp->content_type = a->content_type;
    tlm_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
    tlm_http_resp_header(resp, "Referrer-Policy", "no-referrer");
    if (a->csp) tlm_http_resp_header(resp, "Content-Security-Policy", "%s", a->csp);
    if (tlm_buf_append(&resp->body, a->data, a->len) != TLM_OK) plain(resp, 500, "out of memory\n");
}

void tlm_web_handle(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    (void)s;
    tlm_web_respond(tlm_http_req_path(req), tlm_http_req_header(req, "Accept"),
                    tlm_http_req_header(req, "If-None-Match"), resp);
}
