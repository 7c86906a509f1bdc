/*
 * openai_common.c - answering /v1/chat/completions and /v1/completions:
 * the envelope every object carries, the complete answer, and the stream.
 *
 * A stream is server-sent events: (chat) one opening chunk per choice with
 * the role, then chunks of new text as the scheduler publishes it (one
 * chunk may hold several tokens when the client reads slower than the
 * model writes), one finish chunk per choice, then, when the client asked
 * for stream_options.include_usage, a chunk with empty choices and the
 * usage, and finally "data: [DONE]".  Without include_usage the usage
 * rides on the last finish chunk.  The timings and the effective settings
 * ride on whichever chunk carries the usage.  A generation that fails
 * mid-stream sends an error event and ends without [DONE].
 */
#include "server/server.h"

#include <string.h>

json_t *tlm_oai_envelope(const tlm_srv_gen *g, const char *object) {
    return json_pack("{s:s,s:s,s:I,s:s,s:s}", "id", g->id, "object", object, "created",
                     (json_int_t)g->created, "model", g->m->id, "system_fingerprint",
                     "tinylm-" TLM_VERSION_STRING);
}

/* usage, timings and the "tinylm" settings object onto obj. */
static void add_report(const tlm_srv_gen *g, json_t *obj) {
    json_object_set_new(obj, "usage", tlm_gen_usage_json(g));
    json_object_set_new(obj, "timings", tlm_gen_timings_json(g));
    json_object_set_new(obj, "tinylm", tlm_gen_settings_json(g));
}

static void note_counts(const tlm_srv_gen *g) {
    tlm_gen_usage u = tlm_gen_get_usage(g);
    tlm_http_req_note(g->http, NULL, u.prompt, u.completion);
}

/* ---- Complete answers ---- */

static void answer_whole(tlm_srv_gen *g, const tlm_oai_kind *k, tlm_http_resp *resp) {
    tlm_api_error e;
    if (!tlm_gen_wait(g)) {
        /* Nobody is listening; 499 is only for the access log. */
        note_counts(g);
        resp->status = 499;
        tlm_gen_free(g);
        return;
    }
    note_counts(g);
    if (tlm_gen_failed(g, &e)) {
        tlm_resp_error(resp, TLM_FAMILY_OPENAI, &e);
        tlm_gen_free(g);
        return;
    }
    json_t *o = tlm_oai_envelope(g, k->object), *choices = json_array();
    for (int32_t i = 0; i < g->task->n_jobs; i++) json_array_append_new(choices, k->full_choice(g, i));
    json_object_set_new(o, "choices", choices);
    add_report(g, o);
    tlm_resp_json(resp, 200, o);
    tlm_gen_free(g);
}

/* ---- Streams ---- */

typedef struct oai_stream {
    tlm_srv_gen *g;
    const tlm_oai_kind *k;
    size_t *sent_text, *sent_recs; /* (n_jobs) bytes already sent */
    int32_t n_ended;
    bool opened;
} oai_stream;

static json_t *chunk(const oai_stream *st, json_t *choice) {
    json_t *c = tlm_oai_envelope(st->g, st->k->chunk_object), *arr = json_array();
    if (choice) json_array_append_new(arr, choice);
    json_object_set_new(c, "choices", arr);
    /* OpenAI marks every chunk but the usage one with "usage": null. */
    if (st->g->rq.include_usage) json_object_set_new(c, "usage", json_null());
    return c;
}

static void open_stream(oai_stream *st, tlm_buf *out) {
    st->opened = true;
    for (int32_t i = 0; st->k->opening && i < st->g->task->n_jobs; i++) {
        json_t *c = st->k->opening(st->g, i);
        if (c) tlm_sse_event(out, chunk(st, c));
    }
}

/* One chunk per choice (c is one, an array of them, or NULL; stolen); the
 * report rides on the last when report is set. */
static void send_choices(const oai_stream *st, json_t *c, const tlm_srv_gen *report,
                         tlm_buf *out) {
    if (!c) return;
    if (!json_is_array(c)) {
        json_t *ch = chunk(st, c);
        if (report) add_report(report, ch);
        tlm_sse_event(out, ch);
        return;
    }
    size_t n = json_array_size(c);
    for (size_t k = 0; k < n; k++) {
        json_t *ch = chunk(st, json_incref(json_array_get(c, k)));
        if (report && k + 1 == n) add_report(report, ch);
        tlm_sse_event(out, ch);
    }
    json_decref(c);
}

/* New text of job i, then its finish chunk once it ended. */
static void job_events(oai_stream *st, int32_t i, bool done, tlm_buf *out) {
    tlm_srv_gen *g = st->g;
    const tlm_buf *text = &g->text[i], *recs = &g->recs[i];
    size_t nt = text->len - st->sent_text[i], nr = (recs->len - st->sent_recs[i]) / sizeof(tlm_tok_rec);
    if (nt || nr) {
        /* Either buffer may still be empty (NULL) while the other is not. */
        const tlm_tok_rec *r = nr ? (const tlm_tok_rec *)(recs->data + st->sent_recs[i]) : NULL;
        const char *t = nt ? text->data + st->sent_text[i] : "";
        send_choices(st, st->k->choice(g, i, t, nt, r, nr, NULL), NULL, out);
        st->sent_text[i] = text->len;
        st->sent_recs[i] += nr * sizeof(tlm_tok_rec);
    }
    const tlm_job *j = &g->task->jobs[i];
    if (!done || g->ended[i]) return;
    g->ended[i] = true;
    st->n_ended++;
    if (j->status != TLM_OK || j->finish == TLM_FINISH_CANCELLED) return; /* reported at the end */
    json_t *c = st->k->choice(g, i, "", 0, NULL, 0, tlm_finish_str(j->finish));
    send_choices(st, c, st->n_ended == g->task->n_jobs && !g->rq.include_usage ? g : NULL, out);
}

static int stream_produce(void *user, tlm_buf *out) {
    oai_stream *st = user;
    tlm_srv_gen *g = st->g;
    if (!st->opened) {
        open_stream(st, out);
        return TLM_HTTP_MORE;
    }
    bool all = tlm_gen_poll(g, 50);
    for (int32_t i = 0; i < g->task->n_jobs; i++)
        job_events(st, i, g->done[i], out);
    if (!all || st->n_ended < g->task->n_jobs) return TLM_HTTP_MORE;
    note_counts(g);
    tlm_api_error e;
    if (tlm_gen_failed(g, &e)) {
        tlm_sse_event(out, tlm_openai_error_json(&e));
        return TLM_HTTP_END;
    }
    if (g->rq.include_usage) {
        json_t *c = chunk(st, NULL);
        add_report(g, c);
        tlm_sse_event(out, c);
    }
    tlm_buf_append(out, "data: [DONE]\n\n", 14);
    return TLM_HTTP_END;
}

static void stream_free(void *user, bool client_gone) {
    (void)client_gone;
    oai_stream *st = user;
    /* Cancels the generation when the client left before the end. */
    tlm_task_cancel(st->g->task);
    note_counts(st->g);
    tlm_gen_free(st->g);
    tlm_free(st->sent_text);
    tlm_free(st->sent_recs);
    tlm_free(st);
}

void tlm_oai_handle(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp, tlm_api api,
                    const char *id_prefix, const tlm_oai_kind *k, const tlm_oai_kind *echo_k) {
    size_t len;
    const char *body = tlm_http_req_body(req, &len);
    tlm_srv_request rq;
    tlm_api_error e;
    if (tlm_request_parse(api, body, len, &rq, &e)) {
        tlm_resp_error(resp, TLM_FAMILY_OPENAI, &e);
        return;
    }
    if (rq.echo && echo_k) k = echo_k;
    tlm_srv_gen *g = tlm_gen_start(s, req, &rq, id_prefix, &e);
    if (!g) {
        tlm_resp_error(resp, TLM_FAMILY_OPENAI, &e);
        return;
    }
    tlm_oai_answer(g, k, resp);
}

void tlm_oai_answer(tlm_srv_gen *g, const tlm_oai_kind *k, tlm_http_resp *resp) {
    if (!g->rq.stream) {
        answer_whole(g, k, resp);
        return;
    }
    oai_stream *st = tlm_calloc(1, sizeof *st);
    size_t n = (size_t)g->task->n_jobs;
    if (st) {
        st->sent_text = tlm_calloc(n, sizeof *st->sent_text);
        st->sent_recs = tlm_calloc(n, sizeof *st->sent_recs);
    }
    if (!st || !st->sent_text || !st->sent_recs) {
        tlm_api_error e;
        tlm_api_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
        tlm_resp_error(resp, TLM_FAMILY_OPENAI, &e);
        if (st) tlm_free(st->sent_text), tlm_free(st->sent_recs), tlm_free(st);
        tlm_gen_free(g);
        return;
    }
    st->g = g;
    st->k = k;
    tlm_resp_stream(resp, "text/event-stream", stream_produce, stream_free, st);
}
