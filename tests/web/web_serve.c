/*
 * web_serve.c - the HTTP answers of the embedded chat page (src/web/web.c):
 * the bytes served are exactly the page web/build.mjs wrote to the build
 * directory, the ETag is the SHA-256 of those bytes (checked with
 * tinylm's own SHA-256, independent of node's), a matching If-None-Match
 * gives 304 without a body, and "/" stays plain text for API probes.
 * Registered by web/assets.cmake, since it links the generated page.
 */
#include "model/sha256.h"
#include "test.h"
#include "web/assets.h"
#include "web/web.h"

#include <stdio.h>
#include <strings.h>

static const char *header(const tlm_http_resp *r, const char *name) {
    for (int i = 0; i < r->n_headers; i++)
        if (!strcasecmp(r->header[i], name)) return r->header[i] + strlen(r->header[i]) + 1;
    return NULL;
}

static void release(tlm_http_resp *r) {
    tlm_buf_free(&r->body);
    for (int i = 0; i < r->n_headers; i++) tlm_free(r->header[i]);
    memset(r, 0, sizeof *r);
}

/* The page as build.mjs wrote it next to assets_gen.c; caller frees. */
static char *read_built_page(size_t *len) {
    const char *dir = getenv("TLM_BINARY_DIR");
    if (!dir) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/web/index.html", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = n > 0 ? malloc((size_t)n) : NULL;
    *len = p ? fread(p, 1, (size_t)n, f) : 0;
    fclose(f);
    return p;
}

TEST(page_matches_build_output) {
    size_t len = 0;
    char *built = read_built_page(&len);
    if (!built) SKIP("TLM_BINARY_DIR/web/index.html not found");
    tlm_http_resp r = {0};
    tlm_web_respond("/", "text/html,application/xhtml+xml,*/*;q=0.8", NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(r.content_type, "text/html; charset=utf-8");
    ASSERT_EQ(r.body.len, len);
    ASSERT(memcmp(r.body.data, built, len) == 0);
    ASSERT(!strncmp((const char *)r.body.data, "<!doctype html>", 15));
    free(built);
    ASSERT_STR_EQ(header(&r, "Cache-Control"), "no-cache");
    ASSERT_STR_EQ(header(&r, "X-Content-Type-Options"), "nosniff");
    const char *csp = header(&r, "Content-Security-Policy");
    /* Inline script is allowed by hash only, never by 'unsafe-inline'. */
    const char *ss = csp ? strstr(csp, "script-src 'sha256-") : NULL;
    ASSERT(ss);
    const char *unsafe = strstr(ss, "unsafe-inline"), *semi = strchr(ss, ';');
    ASSERT(!unsafe || (semi && unsafe > semi));
    release(&r);
}

TEST(etag_is_sha256_of_bytes) {
    tlm_sha256 h;
    char hex[65], want[40];
    tlm_sha256_init(&h);
    tlm_sha256_update(&h, tlm_web_index_html, tlm_web_index_html_len);
    tlm_sha256_final_hex(&h, hex);
    snprintf(want, sizeof want, "\"%.32s\"", hex);
    tlm_http_resp r = {0};
    tlm_web_respond("/index.html?x=1", NULL, NULL, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR_EQ(header(&r, "ETag"), want);
    release(&r);
}

TEST(revalidation) {
    static const struct {
        const char *inm;
        int status;
    } cases[] = {
        {NULL, 200}, {"\"nope\"", 200}, {"*", 304}, {"ETAG", 304},
        {"\"a\", ETAG", 304}, {"W/ETAG", 304}, {"\"a\",\"b\"", 200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char inm[200] = "";
        const char *e = tlm_web_index_html_etag, *p = cases[i].inm;
        if (p) {
            const char *at = strstr(p, "ETAG");
            if (at) snprintf(inm, sizeof inm, "%.*s%s%s", (int)(at - p), p, e, at + 4);
            else snprintf(inm, sizeof inm, "%s", p);
        }
        tlm_http_resp r = {0};
        tlm_web_respond("/", "text/html", p ? inm : NULL, &r);
        ASSERT_MSG(r.status == cases[i].status, "If-None-Match %s: status %d, want %d", inm,
                   r.status, cases[i].status);
        if (r.status == 304) ASSERT_EQ(r.body.len, 0);
        ASSERT_STR_EQ(header(&r, "ETag"), e);
        release(&r);
    }
}

TEST(root_without_html_accept_is_plain) {
    static const char *accepts[] = {NULL, "*/*", "application/json"};
    for (size_t i = 0; i < 3; i++) {
        tlm_http_resp r = {0};
        tlm_web_respond("/", accepts[i], NULL, &r);
        ASSERT_EQ(r.status, 200);
        ASSERT_STR_EQ(r.content_type, "text/plain; charset=utf-8");
        ASSERT_EQ(r.body.len, strlen("tinylm is running\n"));
        ASSERT(!memcmp(r.body.data, "tinylm is running\n", r.body.len));
        release(&r);
    }
}

TEST(unknown_path) {
    tlm_web_asset a;
    ASSERT(!tlm_web_find("/nope", &a));
    ASSERT(!tlm_web_find("/index.htm", &a));
    ASSERT(!tlm_web_find(NULL, &a));
    ASSERT(tlm_web_find("/?q", &a));
    tlm_http_resp r = {0};
    tlm_web_respond("/favicon.ico", "text/html", NULL, &r);
    ASSERT_EQ(r.status, 404);
    release(&r);
}

TEST_MAIN(TEST_ENTRY(page_matches_build_output), TEST_ENTRY(etag_is_sha256_of_bytes),
          TEST_ENTRY(revalidation), TEST_ENTRY(root_without_html_accept_is_plain),
          TEST_ENTRY(unknown_path))
