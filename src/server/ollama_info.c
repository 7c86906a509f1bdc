/*
 * ollama_info.c - Ollama's descriptive endpoints: GET /api/tags (the
 * models), POST /api/show (one model in detail), GET /api/ps (the loaded
 * ones: all of them, once started) and GET /api/version.
 *
 * Ollama names weight types ("Q8_0") and sizes ("494.0M") in "details";
 * the weight type is read from the file name when it says it, since the
 * engine's public API does not expose the file type.
 */
#include "server/server.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static json_t *rfc3339(int64_t secs) {
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[40];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* "Q4_K_M" when the file name carries a known weight type, else "unknown". */
static void quant_level(const char *path, char *out, size_t cap) {
    static const char *const types[] = {"q4_k_m", "q4_k_s", "q5_k_m", "q5_k_s", "q3_k_m",
                                        "q3_k_s", "q3_k_l", "q2_k", "q6_k", "q4_0", "q4_1",
                                        "q5_0", "q5_1", "q8_0", "bf16", "f16", "f32"};
    const char *base = strrchr(path, '/');
    char low[256];
    size_t n = 0;
    for (const char *p = base ? base + 1 : path; *p && n + 1 < sizeof low; p++)
        low[n++] = (char)tolower((unsigned char)*p);
    low[n] = '\0';
    snprintf(out, cap, "unknown");
    for (size_t i = 0; i < TLM_ARRAY_LEN(types); i++)
        if (strstr(low, types[i])) {
            for (n = 0; types[i][n] && n + 1 < cap; n++)
                out[n] = (char)toupper((unsigned char)types[i][n]);
            out[n] = '\0';
            return;
        }
}

static json_t *details(const tlm_srv_model *m, bool ready) {
    char q[16], size[32] = "";
    quant_level(m->path, q, sizeof q);
    const char *arch = ready ? tlm_model_arch(m->model) : "";
    if (ready) {
        double p = (double)tlm_model_n_params(m->model);
        snprintf(size, sizeof size, p >= 1e9 ? "%.2fB" : "%.1fM", p >= 1e9 ? p / 1e9 : p / 1e6);
    }
    return json_pack("{s:s,s:s,s:s,s:[s],s:s,s:s}", "parent_model", "", "format", "gguf", "family",
                     arch, "families", arch, "parameter_size", size, "quantization_level", q);
}

static json_t *model_entry(tlm_srv *s, const tlm_srv_model *m) {
    bool ready = m->index < atomic_load(&s->n_loaded);
    return json_pack("{s:s,s:s,s:o,s:I,s:o}", "name", m->id, "model", m->id, "modified_at",
                     rfc3339(m->mtime), "size", (json_int_t)m->file_size, "details",
                     details(m, ready));
}

void tlm_handle_ollama_tags(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    (void)req;
    json_t *arr = json_array();
    for (int i = 0; i < s->n_models; i++) json_array_append_new(arr, model_entry(s, &s->models[i]));
    tlm_resp_json(resp, 200, json_pack("{s:o}", "models", arr));
}

void tlm_handle_ollama_ps(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    (void)req;
    json_t *arr = json_array();
    for (int i = 0; i < atomic_load(&s->n_loaded); i++) {
        json_t *e = model_entry(s, &s->models[i]);
        /* Resident until the server stops: no expiry, all in CPU memory. */
        json_object_set_new(e, "expires_at", rfc3339(4102444800)); /* 2100-01-01 */
        json_object_set_new(e, "size_vram", json_integer(0));
        json_array_append_new(arr, e);
    }
    tlm_resp_json(resp, 200, json_pack("{s:o}", "models", arr));
}

void tlm_handle_ollama_version(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    (void)s;
    (void)req;
    tlm_resp_json(resp, 200, json_pack("{s:s}", "version", TLM_VERSION_STRING));
}

static json_t *model_info(const tlm_srv_model *m) {
    const tlm_model *md = m->model;
    const char *arch = tlm_model_arch(md);
    char key[96];
    json_t *o = json_object();
    json_object_set_new(o, "general.architecture", json_string(arch));
    json_object_set_new(o, "general.name", json_string(tlm_model_name(md)));
    json_object_set_new(o, "general.parameter_count", json_integer((json_int_t)tlm_model_n_params(md)));
    snprintf(key, sizeof key, "%s.context_length", arch);
    json_object_set_new(o, key, json_integer(tlm_model_n_ctx_train(md)));
    snprintf(key, sizeof key, "%s.embedding_length", arch);
    json_object_set_new(o, key, json_integer(tlm_model_n_embd(md)));
    snprintf(key, sizeof key, "%s.block_count", arch);
    json_object_set_new(o, key, json_integer(tlm_model_n_layer(md)));
    json_object_set_new(o, "tokenizer.vocab_size", json_integer(tlm_model_n_vocab(md)));
    return o;
}

/* The defaults a request gets for omitted settings, Modelfile style. */
static json_t *parameters(void) {
    tlm_sampler_params p = tlm_sampler_default_params();
    char buf[256];
    snprintf(buf, sizeof buf,
             "temperature %g\ntop_k %d\ntop_p %g\nmin_p %g\nrepeat_penalty %g\nrepeat_last_n %d",
             p.temperature, p.top_k, p.top_p, p.min_p, p.repeat_penalty, p.penalty_last_n);
    return json_string(buf);
}

void tlm_handle_ollama_show(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp) {
    size_t len;
    const char *body = tlm_http_req_body(req, &len);
    tlm_api_error e;
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    const char *name = json_string_value(json_object_get(root, "model"));
    if (!name) name = json_string_value(json_object_get(root, "name")); /* older clients */
    tlm_srv_model *m = NULL;
    if (!json_is_object(root))
        TLM_BAD_REQUEST(&e, "invalid_json", NULL, "the request body must be a JSON object");
    else if (!name || !name[0])
        TLM_BAD_REQUEST(&e, "missing_field", "model", "model is required");
    else if ((m = tlm_srv_find_model(s, name, &e)) && m->index >= atomic_load(&s->n_loaded)) {
        tlm_api_fail(&e, 503, "unavailable_error", "loading", NULL, "model '%s' is still loading",
                     m->id);
        m = NULL;
    }
    json_decref(root);
    if (!m) {
        tlm_resp_error(resp, TLM_FAMILY_OLLAMA, &e);
        return;
    }
    const char *tmpl = tlm_model_chat_template(m->model);
    char modelfile[1200];
    snprintf(modelfile, sizeof modelfile, "# Modelfile generated by tinylm\nFROM %s\n", m->path);
    tlm_resp_json(resp, 200,
                  json_pack("{s:s,s:s,s:o,s:s,s:o,s:o,s:[s],s:o}", "license", "", "modelfile",
                            modelfile, "parameters", parameters(), "template", tmpl ? tmpl : "",
                            "details", details(m, true), "model_info", model_info(m),
                            "capabilities", "completion", "modified_at", rfc3339(m->mtime)));
}
