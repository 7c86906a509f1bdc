/*
 * gen.c - a generation request from parsed fields to a submitted task, and
 * the figures every answer reports (usage, timings, effective settings).
 *
 * The four generating endpoints differ only in how they read the request
 * and write the answer; everything between is here: the model, the prompt
 * (chat template or raw text, then tokens), the context check (a prompt
 * that does not fit is an error naming both lengths, never a silent
 * truncation), the sampling settings (each omitted field takes the
 * model's default, and the answer reports the values used), and one job
 * per choice with its own sampler seeded seed + choice index.
 */
#include "server/server.h"

#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Prompts ---- */

static tlm_token *tokenize(const tlm_model *m, const char *text, bool parse_special, int32_t *n,
                           tlm_api_error *e) {
    tlm_error err = {0};
    size_t len = strlen(text);
    tlm_status st = tlm_model_tokenize(m, text, len, 1, parse_special, NULL, 0, n, &err);
    tlm_token *ids = NULL;
    if ((st == TLM_OK || st == TLM_ERR_RANGE) && (ids = tlm_malloc((size_t)(*n + 1) * sizeof *ids)))
        st = tlm_model_tokenize(m, text, len, 1, parse_special, ids, *n, n, &err);
    if (!ids || st) {
        tlm_free(ids);
        tlm_api_fail(e, 400, "invalid_request_error", "tokenize_error", "prompt",
                     "cannot tokenize the prompt: %s", err.msg[0] ? err.msg : "out of memory");
        return NULL;
    }
    /* A template that prints bos_token itself must not get a second. */
    tlm_token bos = tlm_model_bos(m);
    if (*n >= 2 && bos >= 0 && ids[0] == bos && ids[1] == bos)
        memmove(ids, ids + 1, (size_t)--*n * sizeof *ids);
    return ids;
}

/* The chat template applied to messages (and tools, when given),
 * tokenized. */
static tlm_token *chat_prompt(const tlm_model *m, const json_t *messages, const char *tools,
                              int32_t *n, tlm_api_error *e) {
    char *mj = json_dumps(messages, JSON_COMPACT), *text = NULL;
    tlm_error err = {0};
    tlm_token *ids = NULL;
    if (!mj) {
        tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    if (tlm_chat_render(m, mj, tools, 1, &text, &err) == TLM_OK)
        ids = tokenize(m, text, true, n, e);
    else
        tlm_api_fail(e, 400, "invalid_request_error", "template_error", "messages",
                     "the model's chat template rejected the messages: %s", err.msg);
    free(mj);
    tlm_free(text);
    return ids;
}

/* Ollama's generate: the prompt as a user turn (after the system prompt),
 * unless raw. */
static tlm_token *generate_prompt(const tlm_model *m, const tlm_srv_request *rq, int32_t *n,
                                  tlm_api_error *e) {
    if (rq->raw) return tokenize(m, rq->prompts[0].text, true, n, e);
    json_t *msgs = json_array();
    if (rq->system) json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system",
                                                          "content", rq->system));
    json_array_append_new(msgs,
                          json_pack("{s:s,s:s}", "role", "user", "content", rq->prompts[0].text));
    tlm_token *ids = chat_prompt(m, msgs, NULL, n, e);
    json_decref(msgs);
    return ids;
}

/* A chat: the messages, with the tools and tool messages as the template
 * takes them (tools.c). */
static tlm_token *tool_chat_prompt(const tlm_model *m, const tlm_srv_request *rq, int32_t *n,
                                   tlm_api_error *e) {
    char *tools = NULL;
    json_t *msgs = tlm_tools_messages(m, rq, &tools);
    tlm_token *ids = NULL;
    if (msgs)
        ids = chat_prompt(m, msgs, tools, n, e);
    else
        tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    json_decref(msgs);
    free(tools);
    return ids;
}

static tlm_token *completion_prompt(const tlm_model *m, const tlm_srv_prompt *p, int32_t *n,
                                    tlm_api_error *e) {
    if (p->text) return tokenize(m, p->text, true, n, e);
    int32_t nv = tlm_model_n_vocab(m);
    for (int32_t i = 0; i < p->n_ids; i++)
        if (p->ids[i] >= nv) {
            TLM_BAD_REQUEST(e, "invalid_value", "prompt",
                            "prompt token %d is outside the vocabulary of %d", p->ids[i], nv);
            return NULL;
        }
    tlm_token *ids = tlm_malloc((size_t)(p->n_ids + 1) * sizeof *ids);
    if (ids) memcpy(ids, p->ids, (size_t)p->n_ids * sizeof *ids);
    *n = p->n_ids;
    return ids;
}

static tlm_token *build_prompt(tlm_srv_gen *g, int32_t i, int32_t *n, tlm_api_error *e) {
    const tlm_model *m = g->m->model;
    const tlm_srv_request *rq = &g->rq;
    tlm_token *ids;
    if (rq->api == TLM_API_CHAT || rq->api == TLM_API_OLLAMA_CHAT)
        ids = tool_chat_prompt(m, rq, n, e);
    else if (rq->api == TLM_API_OLLAMA_GENERATE)
        ids = generate_prompt(m, rq, n, e);
    else
        ids = completion_prompt(m, &rq->prompts[i], n, e);
    if (!ids) return NULL;
    const char *param = rq->messages ? "messages" : "prompt";
    if (*n == 0)
        TLM_BAD_REQUEST(e, "invalid_value", param, "the prompt is empty (no tokens)");
    else if (*n >= g->n_ctx)
        tlm_api_fail(e, 400, "exceed_context_size_error", "context_length_exceeded", param,
                     "the prompt has %d tokens but the context holds %d per request, which "
                     "leaves no room for an answer; shorten the prompt or start the server "
                     "with a larger --ctx",
                     *n, g->n_ctx);
    else
        return ids;
    tlm_free(ids);
    return NULL;
}

/* ---- Sampling settings ---- */

static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* The model's defaults (the engine's, see docs/API.md) with the request's
 * fields on top. */
static void effective_settings(tlm_srv_gen *g) {
    const tlm_srv_request *rq = &g->rq;
    tlm_sampler_params p = tlm_sampler_default_params();
    if (rq->temperature.set) p.temperature = rq->temperature.v;
    if (rq->top_p.set) p.top_p = rq->top_p.v;
    if (rq->min_p.set) p.min_p = rq->min_p.v;
    if (rq->typical_p.set) p.typical_p = rq->typical_p.v;
    if (rq->repeat_penalty.set) p.repeat_penalty = rq->repeat_penalty.v;
    if (rq->presence_penalty.set) p.presence_penalty = rq->presence_penalty.v;
    if (rq->frequency_penalty.set) p.frequency_penalty = rq->frequency_penalty.v;
    if (rq->top_k_set) p.top_k = rq->top_k;
    if (rq->repeat_last_n_set) p.penalty_last_n = rq->repeat_last_n;
    g->seed = rq->seed_set && rq->seed >= 0
                  ? (uint64_t)rq->seed
                  : mix64(tlm_time_ns() ^ (atomic_fetch_add(&g->srv->seq, 1) << 20)) >> 1;
    p.seed = g->seed;
    g->sampling = p;
}

/* Logit bias as given plus, for ignore_eos, a ban on every end token. */
static tlm_logit_bias *bias_list(tlm_srv_gen *g, int32_t *n, tlm_api_error *e) {
    const tlm_srv_request *rq = &g->rq;
    int32_t nv = tlm_model_n_vocab(g->m->model), n_eog = rq->ignore_eos ? g->m->n_eog : 0;
    for (int32_t i = 0; i < rq->n_logit_bias; i++)
        if (rq->logit_bias[i].token >= nv) {
            TLM_BAD_REQUEST(e, "invalid_value", "logit_bias",
                            "logit_bias names token %d, outside the vocabulary of %d",
                            rq->logit_bias[i].token, nv);
            return NULL;
        }
    *n = rq->n_logit_bias + n_eog;
    tlm_logit_bias *b = tlm_malloc((size_t)(*n + 1) * sizeof *b);
    if (!b) {
        tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    if (rq->n_logit_bias) memcpy(b, rq->logit_bias, (size_t)rq->n_logit_bias * sizeof *b);
    for (int32_t i = 0; i < n_eog; i++)
        b[rq->n_logit_bias + i] = (tlm_logit_bias){.token = g->m->eog[i], .bias = -INFINITY};
    return b;
}

/* ---- Jobs ---- */

static int fill_job(tlm_srv_gen *g, tlm_job *j, const tlm_token *ids, int32_t n, int32_t choice,
                    const tlm_logit_bias *bias, int32_t n_bias, tlm_api_error *e) {
    const tlm_srv_request *rq = &g->rq;
    tlm_sampler_params sp = g->sampling;
    sp.seed = g->seed + (uint64_t)choice;
    sp.logit_bias = bias;
    sp.n_logit_bias = n_bias;
    tlm_error err = {0};
    if (tlm_sampler_create(g->m->model, &sp, &j->sampler, &err))
        return TLM_BAD_REQUEST(e, "invalid_value", NULL, "invalid sampling settings: %s", err.msg);
    for (int32_t i = 0; i < n; i++) tlm_sampler_accept(j->sampler, ids[i]);
    if (rq->gbnf) {
        /* Compiled already by the parser, so only memory can fail here. */
        if (tlm_structured_create(g->m->model, TLM_STRUCTURED_GBNF, rq->gbnf, strlen(rq->gbnf),
                                  &j->structured, &err))
            return TLM_BAD_REQUEST(e, "invalid_grammar", NULL, "the grammar cannot be used: %s",
                                   err.msg);
        tlm_sampler_set_constraint(j->sampler, tlm_structured_constraint(j->structured));
    }
    j->prompt = tlm_malloc((size_t)n * sizeof *ids);
    j->stop = rq->n_stop ? tlm_calloc((size_t)rq->n_stop, sizeof *j->stop) : NULL;
    if (!j->prompt || (rq->n_stop && !j->stop) ||
        tlm_detok_create(tlm_model_vocab(g->m->model), false, &j->detok))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    memcpy(j->prompt, ids, (size_t)n * sizeof *ids);
    j->n_prompt = n;
    for (int32_t i = 0; i < rq->n_stop; i++, j->n_stop++)
        if (!(j->stop[i] = tlm_strdup(rq->stop[i])))
            return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    j->max_tokens = rq->max_tokens;
    j->n_ctx = g->n_ctx;
    j->logprobs = rq->logprobs;
    j->top_logprobs = rq->top_logprobs;
    j->seed = sp.seed;
    return 0;
}

static int build_jobs(tlm_srv_gen *g, tlm_api_error *e) {
    const tlm_srv_request *rq = &g->rq;
    int32_t n_prompts = rq->api == TLM_API_COMPLETION ? rq->n_prompts : 1, n_bias = 0;
    int32_t n_jobs = n_prompts * rq->n;
    g->task = tlm_task_create(n_jobs, tlm_http_req_t_start(g->http));
    g->n_prompt = tlm_calloc((size_t)n_prompts, sizeof *g->n_prompt);
    g->text = tlm_calloc((size_t)n_jobs, sizeof *g->text);
    g->recs = tlm_calloc((size_t)n_jobs, sizeof *g->recs);
    g->ended = tlm_calloc((size_t)n_jobs, sizeof *g->ended);
    g->done = tlm_calloc((size_t)n_jobs, sizeof *g->done);
    if (rq->tools && rq->stream) g->tstream = tlm_tool_streams_create(n_jobs);
    if (!g->task || !g->n_prompt || !g->text || !g->recs || !g->ended || !g->done ||
        (rq->tools && rq->stream && !g->tstream))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    tlm_logit_bias *bias = bias_list(g, &n_bias, e);
    if (!bias) return -1;
    int rc = 0;
    for (int32_t p = 0; p < n_prompts && !rc; p++) {
        int32_t n = 0;
        tlm_token *ids = build_prompt(g, p, &n, e);
        if (!ids) rc = -1;
        g->n_prompt[p] = n;
        for (int32_t c = 0; c < rq->n && !rc; c++)
            rc = fill_job(g, &g->task->jobs[p * rq->n + c], ids, n, c, bias, n_bias, e);
        tlm_free(ids);
    }
    tlm_free(bias);
    return rc;
}

static int submit(tlm_srv_gen *g, tlm_api_error *e) {
    tlm_sched_stats st;
    switch (tlm_sched_submit(g->m->sched, g->task)) {
    case TLM_SUBMIT_OK: return 0;
    case TLM_SUBMIT_FULL:
        tlm_sched_get_stats(g->m->sched, &st);
        tlm_api_fail(e, 429, "rate_limit_error", "queue_full", NULL,
                     "model '%s' is busy: its %d slots are working and %d requests are waiting "
                     "(the most the queue holds is %d); retry shortly",
                     g->m->id, st.n_active, st.n_queued, st.n_queue_max);
        e->retry_after = 1;
        return -1;
    default:
        return tlm_api_fail(e, 503, "unavailable_error", "shutting_down", NULL,
                            "the server is shutting down");
    }
}

static int check_ctx(tlm_srv_gen *g, tlm_api_error *e) {
    g->n_ctx = tlm_sched_n_ctx_slot(g->m->sched);
    if (g->rq.num_ctx > g->n_ctx)
        return TLM_BAD_REQUEST(e, "invalid_value", "options.num_ctx",
                               "num_ctx %d is larger than the %d tokens of context this server "
                               "gives each request (start it with a larger --ctx)",
                               g->rq.num_ctx, g->n_ctx);
    if (g->rq.num_ctx > 0) g->n_ctx = g->rq.num_ctx;
    return 0;
}

tlm_srv_gen *tlm_gen_start(tlm_srv *s, tlm_http_req *req, tlm_srv_request *rq,
                           const char *id_prefix, tlm_api_error *e) {
    tlm_srv_gen *g = tlm_calloc(1, sizeof *g);
    if (!g) {
        tlm_request_free(rq);
        tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    g->rq = *rq;
    memset(rq, 0, sizeof *rq);
    g->srv = s;
    g->http = req;
    g->created = (int64_t)time(NULL);
    snprintf(g->id, sizeof g->id, "%s-%016llx", id_prefix,
             (unsigned long long)mix64(atomic_fetch_add(&s->seq, 1) ^ tlm_time_ns()));
    if (!(g->m = tlm_srv_find_model(s, g->rq.model, e))) goto fail;
    tlm_http_req_note(req, g->m->id, -1, -1);
    if (check_ctx(g, e)) goto fail;
    effective_settings(g);
    if (build_jobs(g, e) || submit(g, e)) goto fail;
    return g;
fail:
    tlm_gen_free(g);
    return NULL;
}

void tlm_gen_free(tlm_srv_gen *g) {
    if (!g) return;
    int32_t n_jobs = g->task ? g->task->n_jobs : 0;
    tlm_task_cancel(g->task);
    tlm_task_free(g->task);
    for (int32_t i = 0; i < n_jobs; i++) {
        if (g->text) tlm_buf_free(&g->text[i]);
        if (g->recs) tlm_buf_free(&g->recs[i]);
    }
    tlm_free(g->text);
    tlm_free(g->recs);
    tlm_free(g->ended);
    tlm_free(g->done);
    tlm_tool_streams_free(g->tstream, n_jobs);
    tlm_free(g->n_prompt);
    tlm_request_free(&g->rq);
    tlm_free(g);
}

/* ---- Waiting ---- */

bool tlm_gen_poll(tlm_srv_gen *g, int timeout_ms) {
    tlm_task_wait(g->task, timeout_ms);
    bool all = true;
    for (int32_t i = 0; i < g->task->n_jobs; i++) {
        g->done[i] = tlm_task_take(g->task, i, &g->text[i], g->rq.logprobs ? &g->recs[i] : NULL);
        all &= g->done[i];
    }
    return all;
}

bool tlm_gen_wait(tlm_srv_gen *g) {
    while (!tlm_gen_poll(g, 50))
        if (tlm_http_client_gone(g->http)) {
            tlm_task_cancel(g->task);
            return false;
        }
    return true;
}

bool tlm_gen_failed(const tlm_srv_gen *g, tlm_api_error *e) {
    for (int32_t i = 0; i < g->task->n_jobs; i++) {
        const tlm_job *j = &g->task->jobs[i];
        if (j->status != TLM_OK) {
            tlm_api_fail(e, 500, "server_error", "generation_failed", NULL,
                         "generation failed: %s", j->errmsg[0] ? j->errmsg : "internal error");
            return true;
        }
        if (j->finish == TLM_FINISH_CANCELLED && !atomic_load(&g->task->cancel)) {
            tlm_api_fail(e, 503, "unavailable_error", "shutting_down", NULL,
                         "the server is shutting down; the generation was cancelled");
            return true;
        }
    }
    return false;
}
