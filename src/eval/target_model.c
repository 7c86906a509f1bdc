/*
 * target_model.c - the in-process evaluation target (see target_model.h):
 * a model loaded with tlm_model_load, its chat template rendered with
 * tlm_chat_render and answers generated with tlm_generate, whose stats give
 * each item's token counts, time to first token and speeds.  Only the
 * public API is used, so eval measures exactly what `tinylm run` does.
 */
#include "eval/target_model.h"

#include "core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct model_target {
    tlm_model *model;
    tlm_ctx *ctx;
    char *name;
    double load_ms;
    int64_t file_bytes;
    bool peak_reset;
    int32_t n_threads;
    pthread_mutex_t mu; /* the context is one thread's at a time */
} model_target;

/* ---- Peak resident memory ---- */

bool tlm_eval_peak_rss_reset(void) {
    /* "5" resets VmHWM to the current RSS (Linux >= 4.0). */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

int64_t tlm_eval_peak_rss(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) break;
    fclose(f);
    return kb < 0 ? -1 : (int64_t)kb * 1024;
}

/* ---- Generation ---- */

static char *render_prompt(const model_target *m, const tlm_eval_request *req, tlm_error *err) {
    json_t *msgs = json_array();
    if (req->system)
        json_array_append_new(msgs,
                              json_pack("{s:s, s:s}", "role", "system", "content", req->system));
    json_array_append_new(
        msgs, json_pack("{s:s, s:s}", "role", "user", "content", req->prompt ? req->prompt : ""));
    char *mj = json_dumps(msgs, JSON_COMPACT);
    char *tj = req->tools && json_array_size(req->tools) ? json_dumps(req->tools, JSON_COMPACT)
                                                         : NULL;
    json_decref(msgs);
    char *out = NULL;
    if (!mj) tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    else if (tlm_chat_render(m->model, mj, tj, 1, &out, err) != TLM_OK) out = NULL;
    free(mj);
    free(tj);
    return out;
}

static int on_text(void *user, const char *text, size_t len) {
    return tlm_buf_append(user, text, len) != TLM_OK; /* out of memory cancels */
}

static tlm_status fill_answer(const tlm_gen_stats *gs, tlm_buf *text, uint64_t t0,
                              tlm_eval_answer *out) {
    out->text = text->data ? text->data : tlm_strdup("");
    text->data = NULL;
    out->finish_reason = tlm_strdup(gs->finish == TLM_FINISH_STOP ? "stop" : "length");
    if (!out->text || !out->finish_reason) return TLM_ERR_NOMEM;
    out->prompt_tokens = gs->n_prompt;
    out->completion_tokens = gs->n_gen;
    out->ttft_ms = gs->n_gen > 0 ? gs->first_token_ms : -1;
    out->total_ms = (double)(tlm_time_ns() - t0) / 1e6;
    int32_t n_new = gs->n_prompt - gs->n_cached;
    if (gs->prompt_ms > 0 && n_new > 0) out->prompt_tok_s = n_new / (gs->prompt_ms / 1e3);
    if (gs->gen_ms > 0 && gs->n_eval > 0) out->gen_tok_s = gs->n_eval / (gs->gen_ms / 1e3);
    return TLM_OK;
}

/* Constrained decoding (--constrained): the task's JSON Schema compiled
 * for this model's vocabulary by the public structured-output API.  A
 * schema outside the supported subset fails the item as a harness error
 * naming the keyword, rather than silently running unconstrained. */
static tlm_status make_constraint(const model_target *m, const tlm_eval_request *req,
                                  tlm_structured **out, tlm_error *err) {
    *out = NULL;
    if (!req->response_schema) return TLM_OK;
    char *schema = json_dumps(req->response_schema, JSON_COMPACT);
    if (!schema) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    tlm_status st = tlm_structured_create(m->model, TLM_STRUCTURED_JSON_SCHEMA, schema,
                                          strlen(schema), out, err);
    free(schema);
    return st;
}

static tlm_status model_generate(void *ud, const tlm_eval_request *req, tlm_eval_answer *out,
                                 tlm_error *err) {
    model_target *m = ud;
    uint64_t t0 = tlm_time_ns();
    char *prompt = render_prompt(m, req, err);
    if (!prompt) return err && err->code ? err->code : TLM_ERR_INTERNAL;
    int32_t n = 0;
    tlm_token *ids = NULL;
    size_t len = strlen(prompt);
    tlm_status st = tlm_model_tokenize(m->model, prompt, len, 1, 1, NULL, 0, &n, err);
    if (st == TLM_OK || st == TLM_ERR_RANGE) {
        ids = tlm_malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
        st = ids ? tlm_model_tokenize(m->model, prompt, len, 1, 1, ids, n, &n, err)
                 : tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    tlm_free(prompt);
    tlm_buf text = {0};
    tlm_gen_stats gs = {0};
    tlm_structured *constraint = NULL;
    if (st == TLM_OK) st = make_constraint(m, req, &constraint, err);
    if (st == TLM_OK) {
        tlm_gen_params gp = tlm_gen_default_params();
        gp.sampling.temperature = (float)req->params.temperature;
        gp.sampling.seed = req->params.seed;
        gp.max_tokens = req->params.max_tokens > 0 ? req->params.max_tokens : 1024;
        /* No prefix reuse: every item's prompt is processed in full, so its
         * time to first token does not depend on which item ran before. */
        gp.reuse_prefix = 0;
        pthread_mutex_lock(&m->mu);
        st = tlm_generate(m->ctx, ids, n, &gp, tlm_structured_constraint(constraint), on_text,
                          &text, &gs, err);
        pthread_mutex_unlock(&m->mu);
    }
    tlm_structured_free(constraint);
    tlm_free(ids);
    if (st == TLM_OK && fill_answer(&gs, &text, t0, out) != TLM_OK)
        st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    tlm_buf_free(&text);
    return st;
}

/* ---- Life cycle ---- */

tlm_status tlm_eval_model_target_create(const tlm_eval_model_config *cfg, tlm_eval_target *out,
                                        tlm_error *err) {
    if (!cfg || !cfg->path || !out)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "model target: need a model path");
    memset(out, 0, sizeof *out);
    model_target *m = tlm_calloc(1, sizeof *m);
    if (!m) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    m->name = cfg->name ? tlm_strdup(cfg->name) : tlm_model_name_of_path(cfg->path);
    m->n_threads = cfg->n_threads;
    struct stat sb;
    m->file_bytes = stat(cfg->path, &sb) == 0 ? (int64_t)sb.st_size : -1;
    m->peak_reset = tlm_eval_peak_rss_reset();
    tlm_model_params mp = tlm_model_default_params();
    mp.n_threads = cfg->n_threads;
    uint64_t t0 = tlm_time_ns();
    tlm_status st = m->name ? tlm_model_load(cfg->path, &mp, &m->model, err)
                            : tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    m->load_ms = (double)(tlm_time_ns() - t0) / 1e6;
    if (st == TLM_OK) {
        tlm_ctx_params cp = tlm_ctx_default_params();
        cp.n_ctx = cfg->n_ctx;
        cp.n_threads = cfg->n_threads;
        st = tlm_ctx_create(m->model, &cp, &m->ctx, err);
    }
    *out = (tlm_eval_target){
        .name = m->name, .userdata = m, .generate = model_generate, .serial = true};
    if (st != TLM_OK) tlm_eval_model_target_free(out);
    return st;
}

void tlm_eval_model_target_free(tlm_eval_target *t) {
    if (!t || !t->userdata) return;
    model_target *m = t->userdata;
    tlm_ctx_free(m->ctx);
    tlm_model_free(m->model);
    pthread_mutex_destroy(&m->mu);
    tlm_free(m->name);
    tlm_free(m);
    memset(t, 0, sizeof *t);
}

void tlm_eval_model_target_describe(const tlm_eval_target *t, json_t *info) {
    if (!t || !t->userdata || !info) return;
    const model_target *m = t->userdata;
    tlm_mem_stats ms = {0};
    tlm_ctx_mem_stats(m->ctx, &ms);
    int64_t hwm = tlm_eval_peak_rss();
    int64_t peak = hwm > 0 ? hwm : (int64_t)ms.rss_peak;
    json_object_set_new(info, "kind", json_string("model"));
    json_object_set_new(info, "path", json_string(tlm_model_path(m->model)));
    json_object_set_new(info, "arch", json_string(tlm_model_arch(m->model)));
    json_object_set_new(info, "n_params", json_integer((json_int_t)tlm_model_n_params(m->model)));
    json_object_set_new(info, "model_bytes",
                        m->file_bytes >= 0 ? json_integer(m->file_bytes) : json_null());
    json_object_set_new(info, "load_ms", json_real(m->load_ms));
    json_object_set_new(info, "rss_peak", peak > 0 ? json_integer(peak) : json_null());
    json_object_set_new(info, "rss_peak_scope", json_string(m->peak_reset ? "model" : "process"));
    json_object_set_new(info, "kv_bytes", json_integer((json_int_t)ms.kv_bytes));
    json_object_set_new(info, "scratch_bytes", json_integer((json_int_t)ms.scratch_bytes));
    json_object_set_new(info, "threads", json_integer(m->n_threads));
    json_object_set_new(info, "jobs", json_string("serial"));
    json_object_set_new(info, "synth", json_boolean(tlm_model_is_synth(m->model)));
}
