/*
 * health.c - GET /health (and /v1/health): 200 {"status":"ok"} once every
 * model is loaded and warmed, 503 while they load (with how many are
 * ready) and while the server shuts down.  It is open even when an API
 * key is set, so load balancers and probes need no secret.  (GET /, the
 * chat page and the plain "is it running" answer, is src/web/.)
 */
#include "server/server.h"

void tlm_handle_health(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    (void)req;
    int state = atomic_load(&s->state), loaded = atomic_load(&s->n_loaded);
    if (state == TLM_SRV_READY) {
        tlm_resp_json(resp, 200, json_pack("{s:s,s:i}", "status", "ok", "models", s->n_models));
        return;
    }
    const char *what = state == TLM_SRV_LOADING ? "loading" : "shutting down";
    tlm_resp_json(resp, 503,
                  json_pack("{s:s,s:i,s:i,s:{s:i,s:s,s:s}}", "status", what, "models_loaded",
                            loaded, "models", s->n_models, "error", "code", 503, "message",
                            state == TLM_SRV_LOADING ? "Loading model" : "Shutting down", "type",
                            "unavailable_error"));
    if (state == TLM_SRV_LOADING) tlm_http_resp_header(resp, "Retry-After", "1");
}
