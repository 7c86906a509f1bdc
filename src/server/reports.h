/*
 * reports.h - GET /reports and GET /reports/<name>/<file>: the comparison
 * reports `tinylm compare` wrote (one subdirectory each) listed and served
 * by `tinylm serve`, so the web page can open past reports.
 */
#ifndef TLM_SERVER_REPORTS_H
#define TLM_SERVER_REPORTS_H

#include "server/server.h"

/* The handler of every path under /report (one route-table line). */
void tlm_handle_reports(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);

/* Whether name is a report directory name we serve: 1 to 128 of
 * [A-Za-z0-9._-], not starting with '.' (so never "." or ".."). */
bool tlm_reports_name_ok(const char *name, size_t len);

/* The reports directory: dir when not NULL, else $XDG_CACHE_HOME/tinylm/
 * reports or ~/.cache/tinylm/reports.  Free with tlm_free. */
char *tlm_reports_dir(const char *dir);

#endif /* TLM_SERVER_REPORTS_H */
