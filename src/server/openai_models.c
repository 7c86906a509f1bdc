/*
 * openai_models.c - GET /v1/models and GET /v1/models/{id}: the models
 * this server serves, with a "meta" object (as llama.cpp's server has)
 * describing each: architecture, vocabulary, trained context, the context
 * each request gets, parameters and size.
 */
#include "server/server.h"

#include <string.h>

static json_t *model_obj(tlm_srv *s, const tlm_srv_model *m) {
    /* Models load in order; one past n_loaded is not there yet. */
    bool ready = m->index < atomic_load(&s->n_loaded);
    const tlm_model *md = ready ? m->model : NULL;
    json_t *meta = json_object();
    if (md) {
        json_object_set_new(meta, "arch", json_string(tlm_model_arch(md)));
        json_object_set_new(meta, "n_vocab", json_integer(tlm_model_n_vocab(md)));
        json_object_set_new(meta, "n_ctx_train", json_integer(tlm_model_n_ctx_train(md)));
        json_object_set_new(meta, "n_embd", json_integer(tlm_model_n_embd(md)));
        json_object_set_new(meta, "n_params", json_integer((json_int_t)tlm_model_n_params(md)));
        json_object_set_new(meta, "size", json_integer((json_int_t)tlm_model_size(md)));
        json_object_set_new(meta, "synthetic", json_boolean(tlm_model_is_synth(md)));
    }
    if (ready) {
        json_object_set_new(meta, "n_ctx", json_integer(tlm_sched_n_ctx_slot(m->sched)));
        json_object_set_new(meta, "n_slots", json_integer(s->p.parallel));
    }
    json_object_set_new(meta, "loaded", json_boolean(ready));
    return json_pack("{s:s,s:s,s:I,s:s,s:o}", "id", m->id, "object", "model", "created",
                     (json_int_t)(m->mtime ? m->mtime : s->created), "owned_by", "tinylm",
                     "meta", meta);
}

void tlm_handle_models(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    (void)req;
    json_t *data = json_array();
    for (int i = 0; i < s->n_models; i++) json_array_append_new(data, model_obj(s, &s->models[i]));
    tlm_resp_json(resp, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

void tlm_handle_model(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    const char *name = tlm_http_req_path(req) + strlen("/v1/models/");
    tlm_api_error e;
    tlm_srv_model *m = tlm_srv_find_model(s, name, &e);
    if (!m) {
        tlm_resp_error(resp, TLM_FAMILY_OPENAI, &e);
        return;
    }
    tlm_resp_json(resp, 200, model_obj(s, m));
}
