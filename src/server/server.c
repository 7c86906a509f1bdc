/*
 * server.c - the server's life: listen first (so /health can say "loading"
 * while models load), load and warm every model with its scheduler, serve,
 * and stop gracefully: refuse new work, let running generations finish for
 * a grace period, cancel what is left, close the connections.
 */
#include "server/server.h"

#include "core/util.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static tlm_status init_models(tlm_srv *s, tlm_error *err) {
    s->models = tlm_calloc((size_t)s->p.n_models, sizeof *s->models);
    if (!s->models) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    s->n_models = s->p.n_models;
    for (int i = 0; i < s->n_models; i++) {
        tlm_srv_model *m = &s->models[i];
        const char *path = s->p.models[i], *name = s->p.names ? s->p.names[i] : NULL;
        m->index = i;
        m->path = tlm_strdup(path);
        m->id = name ? tlm_strdup(name) : tlm_model_name_of_path(path);
        if (!m->path || !m->id) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
        for (int k = 0; k < i; k++)
            if (!strcmp(s->models[k].id, m->id))
                return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                                     "two models are called '%s'; requests could not tell them "
                                     "apart",
                                     m->id);
        struct stat st;
        if (stat(path, &st) == 0) {
            m->file_size = (uint64_t)st.st_size;
            m->mtime = (int64_t)st.st_mtime;
        }
    }
    return TLM_OK;
}

tlm_status tlm_srv_create(const tlm_srv_params *p, tlm_srv **out, tlm_error *err) {
    *out = NULL;
    if (p->n_models < 1) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "no model to serve");
    tlm_srv *s = tlm_calloc(1, sizeof *s);
    if (!s) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    s->p = *p;
    s->t_start = tlm_time_ns();
    s->created = (int64_t)time(NULL);
    atomic_init(&s->state, TLM_SRV_LOADING);
    tlm_status st = init_models(s, err);
    if (!st && !(s->metrics = tlm_metrics_create(s->n_models)))
        st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    if (st) goto fail;
    tlm_http_params hp = {
        .host = p->host, .port = p->port, .max_body = p->max_body, .conn_limit = 512,
        .idle_timeout_s = 30, .handler = tlm_router_handle, .done = tlm_router_done, .user = s};
    if ((st = tlm_http_start(&hp, &s->http, err))) goto fail;
    *out = s;
    return TLM_OK;
fail:
    tlm_srv_free(s);
    return st;
}

int tlm_srv_port(const tlm_srv *s) { return tlm_http_port(s->http); }

/* The end-of-generation ids, so ignore_eos can ban them all. */
static tlm_status find_eog(tlm_srv_model *m, tlm_error *err) {
    int32_t nv = tlm_model_n_vocab(m->model);
    for (int pass = 0; pass < 2; pass++) {
        int32_t n = 0;
        for (tlm_token t = 0; t < nv; t++)
            if (tlm_model_is_eog(m->model, t)) {
                if (pass) m->eog[n] = t;
                n++;
            }
        if (pass) break;
        m->n_eog = n;
        if (!(m->eog = tlm_calloc((size_t)(n ? n : 1), sizeof *m->eog)))
            return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    return TLM_OK;
}

static tlm_status load_one(tlm_srv *s, tlm_srv_model *m, tlm_error *err) {
    uint64_t t0 = tlm_time_ns();
    tlm_model_params mp = tlm_model_default_params();
    mp.n_threads = s->p.threads;
    mp.warmup = 1;
    tlm_status st = tlm_model_load(m->path, &mp, &m->model, err);
    if (st) return st;
    if ((st = find_eog(m, err))) return st;
    int32_t ctx = s->p.ctx > 0 ? s->p.ctx : TLM_MIN(4096, tlm_model_n_ctx_train(m->model));
    tlm_sched_params sp = {.n_slots = s->p.parallel, .n_ctx_slot = ctx, .n_queue = s->p.queue,
                           .n_threads = s->p.threads, .n_batch = 512,
                           .observer = tlm_metrics_observer(s->metrics, m->index)};
    if ((st = tlm_sched_create(m->model, &sp, &m->sched, err))) return st;
    m->load_ms = (double)(tlm_time_ns() - t0) / 1e6;
    return TLM_OK;
}

tlm_status tlm_srv_load(tlm_srv *s, void (*progress)(void *user, const tlm_srv_model *m),
                        void *user, tlm_error *err) {
    for (int i = 0; i < s->n_models; i++) {
        tlm_status st = load_one(s, &s->models[i], err);
        if (st) return st;
        atomic_store(&s->n_loaded, i + 1);
        if (progress) progress(user, &s->models[i]);
    }
    atomic_store(&s->state, TLM_SRV_READY);
    return TLM_OK;
}

static bool all_idle(tlm_srv *s) {
    for (int i = 0; i < atomic_load(&s->n_loaded); i++) {
        tlm_sched_stats st;
        tlm_sched_get_stats(s->models[i].sched, &st);
        if (st.n_active || st.n_queued) return false;
    }
    return true;
}

/* Waits until no model has work, for at most ms. */
static void wait_idle(tlm_srv *s, int ms) {
    for (int waited = 0; waited < ms && !all_idle(s); waited += 20) usleep(20 * 1000);
}

void tlm_srv_stop_accepting(tlm_srv *s) {
    if (!s || !s->http) return;
    atomic_store(&s->state, TLM_SRV_STOPPING);
    tlm_http_quiesce(s->http);
    for (int i = 0; i < atomic_load(&s->n_loaded); i++) tlm_sched_close(s->models[i].sched);
}

bool tlm_srv_idle(tlm_srv *s) { return all_idle(s); }

void tlm_srv_shutdown(tlm_srv *s, int grace_ms) {
    if (!s || !s->http) return;
    tlm_srv_stop_accepting(s);
    wait_idle(s, grace_ms);
    int n = atomic_load(&s->n_loaded);
    for (int i = 0; i < n; i++) tlm_sched_cancel_all(s->models[i].sched);
    wait_idle(s, 2000);
    /* Let the streams write their last event before the sockets close. */
    usleep(150 * 1000);
    tlm_http_stop(s->http);
    s->http = NULL;
}

void tlm_srv_free(tlm_srv *s) {
    if (!s) return;
    /* Blocked handlers must be released before their threads are joined. */
    tlm_srv_shutdown(s, 0);
    for (int i = 0; s->models && i < s->n_models; i++) {
        tlm_srv_model *m = &s->models[i];
        tlm_sched_free(m->sched);
        tlm_model_free(m->model);
        tlm_free(m->eog);
        tlm_free(m->id);
        tlm_free(m->path);
    }
    tlm_free(s->models);
    tlm_metrics_free(s->metrics);
    tlm_free(s);
}

/* ---- Finding models by name ---- */

static bool names_model(const tlm_srv_model *m, const char *name, size_t n) {
    const char *base = strrchr(m->path, '/');
    base = base ? base + 1 : m->path;
    size_t nid = strlen(m->id);
    return (strlen(m->id) == n && !strncmp(m->id, name, n)) ||
           (strlen(m->path) == n && !strncmp(m->path, name, n)) ||
           (strlen(base) == n && !strncmp(base, name, n)) ||
           (n == nid + 5 && !strncmp(m->id, name, nid) && !strncmp(name + nid, ".gguf", 5));
}

tlm_srv_model *tlm_srv_find_model(tlm_srv *s, const char *name, tlm_api_error *e) {
    if (!name || !name[0]) return &s->models[0];
    size_t n = strlen(name);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < s->n_models; i++)
            if (names_model(&s->models[i], name, n)) return &s->models[i];
        /* Ollama clients add a ":latest" tag to bare names. */
        if (n > 7 && !strcmp(name + n - 7, ":latest"))
            n -= 7;
        else
            break;
    }
    tlm_buf list = {0};
    for (int i = 0; i < s->n_models; i++)
        tlm_buf_appendf(&list, "%s'%s'", i ? ", " : "", s->models[i].id);
    tlm_api_fail(e, 404, "not_found_error", "model_not_found", "model",
                 "model '%s' is not served here; this server serves %s", name,
                 list.data ? list.data : "nothing");
    tlm_buf_free(&list);
    return NULL;
}
