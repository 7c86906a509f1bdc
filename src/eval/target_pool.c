/*
 * target_pool.c - one evaluation target served by several OpenAI-compatible
 * endpoints (see target_model.h): each request goes to the endpoint with
 * the fewest requests in flight, so `--jobs N` spreads N concurrent items
 * over the machines.  Results are recorded under the one target name, so
 * the report does not care how many servers produced them.  Also the
 * determinism probe, which works on any target.
 */
#include "eval/target_model.h"

#include <pthread.h>
#include <string.h>

typedef struct pool_member {
    tlm_eval_target t;
    char *url;
    int in_flight;
    long served;
} pool_member;

typedef struct pool {
    pool_member *m;
    size_t n, next;
    pthread_mutex_t mu;
} pool;

static tlm_status pool_generate(void *ud, const tlm_eval_request *req, tlm_eval_answer *out,
                                tlm_error *err) {
    pool *p = ud;
    pthread_mutex_lock(&p->mu);
    size_t best = p->next % p->n;
    for (size_t k = 0; k < p->n; k++) {
        size_t i = (p->next + k) % p->n;
        if (p->m[i].in_flight < p->m[best].in_flight) best = i;
    }
    p->next = best + 1;
    p->m[best].in_flight++;
    pthread_mutex_unlock(&p->mu);
    tlm_status st = p->m[best].t.generate(p->m[best].t.userdata, req, out, err);
    pthread_mutex_lock(&p->mu);
    p->m[best].in_flight--;
    p->m[best].served++;
    pthread_mutex_unlock(&p->mu);
    return st;
}

tlm_status tlm_eval_pool_target_create(const tlm_eval_openai_config *cfg, const char *const *urls,
                                       size_t n, tlm_eval_target *out, tlm_error *err) {
    if (!cfg || !cfg->model || !urls || !n || !out)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "endpoint pool: need URLs and a model");
    memset(out, 0, sizeof *out);
    pool *p = tlm_calloc(1, sizeof *p);
    if (!p || !(p->m = tlm_calloc(n, sizeof *p->m))) {
        tlm_free(p);
        return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    *out = (tlm_eval_target){.userdata = p, .generate = pool_generate};
    for (size_t i = 0; i < n; i++) {
        tlm_eval_openai_config c = *cfg;
        c.base_url = urls[i];
        tlm_status st = tlm_eval_openai_target_create(&c, &p->m[i].t, err);
        if (st == TLM_OK && !(p->m[i].url = tlm_strdup(urls[i])))
            st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
        p->n = i + 1;
        if (st != TLM_OK) {
            tlm_eval_pool_target_free(out);
            return st;
        }
    }
    out->name = p->m[0].t.name;
    return TLM_OK;
}

void tlm_eval_pool_target_free(tlm_eval_target *t) {
    if (!t || !t->userdata) return;
    pool *p = t->userdata;
    for (size_t i = 0; i < p->n; i++) {
        tlm_eval_openai_target_free(&p->m[i].t);
        tlm_free(p->m[i].url);
    }
    pthread_mutex_destroy(&p->mu);
    tlm_free(p->m);
    tlm_free(p);
    memset(t, 0, sizeof *t);
}

void tlm_eval_pool_target_describe(const tlm_eval_target *t, json_t *info) {
    if (!t || !t->userdata || !info) return;
    const pool *p = t->userdata;
    json_t *eps = json_array();
    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(eps, json_pack("{s:s, s:I}", "url", p->m[i].url, "served",
                                             (json_int_t)p->m[i].served));
    json_object_set_new(info, "kind", json_string("endpoint"));
    json_object_set_new(info, "endpoints", eps);
}

/* ---- Determinism probe ---- */

static const char probe_prompt[] =
    "Write three sentences about a robot that learns to paint. Be creative.";

tlm_status tlm_eval_determinism(const tlm_eval_target *t, int runs, uint64_t seed,
                                int *out_identical, tlm_error *err) {
    if (!t || !t->generate || runs < 1 || !out_identical)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "determinism: bad arguments");
    *out_identical = 0;
    char **texts = tlm_calloc((size_t)runs, sizeof *texts);
    if (!texts) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    tlm_eval_task task = {.id = "determinism", .suite = "probe", .kind = "probe",
                          .prompt = (char *)probe_prompt, .reference = (char *)"A robot paints."};
    tlm_eval_request req = {.task = &task, .prompt = probe_prompt,
                            .params = {.temperature = 0.8, .seed = seed, .max_tokens = 48}};
    tlm_status st = TLM_OK;
    for (int i = 0; i < runs && st == TLM_OK; i++) {
        tlm_eval_answer a;
        tlm_eval_answer_init(&a);
        st = t->generate(t->userdata, &req, &a, err);
        if (st == TLM_OK) {
            texts[i] = tlm_strdup(a.text ? a.text : "");
            if (!texts[i]) st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
        }
        tlm_eval_answer_clear(&a);
    }
    for (int i = 0; i < runs && st == TLM_OK; i++) {
        int same = 0;
        for (int j = 0; j < runs; j++) same += !strcmp(texts[i], texts[j]);
        if (same > *out_identical) *out_identical = same;
    }
    for (int i = 0; i < runs; i++) tlm_free(texts[i]);
    tlm_free(texts);
    return st;
}
