/*
 * reports.c - serves the comparison reports of `tinylm compare` (see
 * reports.h).  GET /reports lists the subdirectories of the reports
 * directory that hold a summary.json, newest first, with each one's
 * targets and headline figures; GET /reports/<name>/report.html (also
 * report.md and summary.json) returns that file.  Nothing else is served:
 * the name must be a plain directory name and the file one of those three,
 * so no path can climb out of the directory ("..", "/", "%2e" are refused
 * before the file system is touched).
 */
#include "server/reports.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_REPORT_BYTES (64u << 20)

bool tlm_reports_name_ok(const char *name, size_t len) {
    if (!name || !len || len > 128 || name[0] == '.') return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

char *tlm_reports_dir(const char *dir) {
    if (dir) return tlm_strdup(dir);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    tlm_buf b = {0};
    if (xdg && *xdg) tlm_buf_appendf(&b, "%s/tinylm/reports", xdg);
    else tlm_buf_appendf(&b, "%s/.cache/tinylm/reports", home ? home : ".");
    return b.data;
}

static void fail(tlm_http_resp *resp, int status, const char *msg) {
    tlm_resp_json(resp, status, json_pack("{s:{s:s, s:i}}", "error", "message", msg, "code", status));
}

/* ---- The list ---- */

/* One entry: name, date, targets and per target the headline figures. */
static json_t *entry(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/summary.json", dir, name);
    json_t *sum = json_load_file(path, 0, NULL);
    if (!sum) return NULL;
    json_t *report = json_object_get(sum, "report");
    json_t *targets = json_array(), *figures = json_array();
    size_t i;
    json_t *t;
    json_array_foreach (json_object_get(sum, "targets"), i, t) {
        json_t *info = json_object_get(t, "info");
        json_array_append(targets, json_object_get(t, "target"));
        json_t *f = json_pack("{s:O}", "target", json_object_get(t, "target"));
        static const char *const keys[] = {"pass_rate", "ttft_ms_p50", "gen_tok_s_mean",
                                           "json_valid_rate"};
        for (size_t k = 0; f && k < TLM_ARRAY_LEN(keys); k++)
            if (json_object_get(t, keys[k]))
                json_object_set(f, keys[k], json_object_get(t, keys[k]));
        if (f && json_object_get(info, "rss_peak"))
            json_object_set(f, "rss_peak", json_object_get(info, "rss_peak"));
        json_array_append_new(figures, f);
    }
    json_t *date = json_object_get(report, "generated");
    json_t *o = json_pack("{s:s, s:O, s:O, s:o, s:o, s:s}", "name", name, "title",
                          json_object_get(report, "title") ? json_object_get(report, "title")
                                                           : json_null(),
                          "date", date ? date : json_null(), "targets", targets, "headline",
                          figures, "url", "");
    if (o) {
        char url[300];
        snprintf(url, sizeof url, "/reports/%s/report.html", name);
        json_object_set_new(o, "url", json_string(url));
    }
    json_decref(sum);
    return o;
}

static int newest_first(const void *a, const void *b) {
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(y, x);
}

static void list(const char *dir, tlm_http_resp *resp) {
    json_t *arr = json_array();
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && arr && (de = readdir(d))) {
        if (!tlm_reports_name_ok(de->d_name, strlen(de->d_name))) continue;
        json_t *e = entry(dir, de->d_name);
        if (e) json_array_append_new(arr, e);
    }
    if (d) closedir(d);
    size_t n = json_array_size(arr);
    json_t **v = tlm_calloc(n + 1, sizeof *v);
    json_t *sorted = json_array();
    if (v && sorted) {
        for (size_t i = 0; i < n; i++) v[i] = json_array_get(arr, i);
        qsort(v, n, sizeof *v, newest_first);
        for (size_t i = 0; i < n; i++) json_array_append(sorted, v[i]);
    }
    tlm_free(v);
    json_decref(arr);
    tlm_resp_json(resp, 200, json_pack("{s:s, s:o}", "dir", dir, "reports",
                                       sorted ? sorted : json_array()));
}

/* ---- One file ---- */

static const char *content_type(const char *file) {
    if (!strcmp(file, "report.html")) return "text/html; charset=utf-8";
    if (!strcmp(file, "report.md")) return "text/markdown; charset=utf-8";
    if (!strcmp(file, "summary.json")) return "application/json";
    return NULL;
}

static void serve_file(const char *dir, const char *rest, tlm_http_resp *resp) {
    const char *slash = strchr(rest, '/');
    size_t nlen = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *file = slash ? slash + 1 : "";
    const char *type = content_type(file);
    if (!tlm_reports_name_ok(rest, nlen) || !type) {
        fail(resp, 404, "no such report file (GET /reports lists the reports)");
        return;
    }
    char path[4400];
    snprintf(path, sizeof path, "%s/%.*s/%s", dir, (int)nlen, rest, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(resp, 404, errno == ENOENT ? "no such report" : "cannot read the report");
        return;
    }
    char buf[65536];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = resp->body.len + n <= MAX_REPORT_BYTES && tlm_buf_append(&resp->body, buf, n) == TLM_OK;
    fclose(f);
    if (!ok) {
        tlm_buf_free(&resp->body);
        fail(resp, 500, "the report is too large to serve");
        return;
    }
    resp->status = 200;
    resp->content_type = type;
    tlm_http_resp_header(resp, "Cache-Control", "no-cache");
    /* The report has no script and loads nothing; keep it that way. */
    tlm_http_resp_header(resp, "Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    tlm_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
}

void tlm_handle_reports(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    const char *path = tlm_http_req_path(req);
    size_t plen = strcspn(path, "?#");
    char *dir = tlm_reports_dir(s->p.reports_dir);
    if (!dir) {
        fail(resp, 500, "out of memory");
        return;
    }
    char *p = tlm_strndup(path, plen);
    if (!p) fail(resp, 500, "out of memory");
    else if (!strcmp(p, "/reports") || !strcmp(p, "/reports/")) list(dir, resp);
    else if (!strncmp(p, "/reports/", 9)) serve_file(dir, p + 9, resp);
    else fail(resp, 404, "no route (GET /reports lists the reports)");
    tlm_free(p);
    tlm_free(dir);
}
