/*
 * generate.c - tlm_generate: prompt -> streamed text.
 *
 * The loop is: reuse the cached prefix, decode the rest of the prompt in
 * n_batch chunks (logits for the last token only), then sample, check for
 * the end, turn the token into text and decode it, until a stop condition.
 *
 * Text goes through two filters before it reaches the callback:
 *   1. the streaming detokenizer (src/tokenizer), which holds back a UTF-8
 *      character split across tokens, so every piece is valid UTF-8;
 *   2. the stop filter below, which holds back the longest tail that could
 *      still grow into a stop string.  A stop string may span any number of
 *      tokens, and neither it nor anything after it is ever emitted.
 * Held text is released when it can no longer start a stop string, or at
 * the end of the generation (for any reason but a stop string).
 */
#include "core/util.h"
#include "model/ctx.h"
#include "model/model.h"
#include "sample/sampler.h"
#include "sample/stop.h"
#include "tokenizer/tokenizer.h"

#include <string.h>

tlm_gen_params tlm_gen_default_params(void) {
    tlm_gen_params p = {
        .sampling = tlm_sampler_default_params(),
        .max_tokens = -1,
        .stop = NULL,
        .n_stop = 0,
        .seq_id = 0,
        .reuse_prefix = 0,
        .cache = NULL,
    };
    return p;
}

void tlm_seq_cache_free(tlm_seq_cache *c) {
    if (!c) return;
    tlm_free(c->tokens);
    c->tokens = NULL;
    c->n = c->cap = 0;
}

/* ---- Stop strings ---- */

typedef struct stop_filter {
    const char *const *stop;
    int32_t n_stop;
    tlm_buf hold;         /* text not yet emitted */
} stop_filter;

/* ---- The generation state ---- */

typedef struct gen {
    tlm_ctx *ctx;
    const tlm_model *model;
    const tlm_gen_params *p;
    tlm_gen_callback cb;
    void *user;
    tlm_gen_stats *st;
    tlm_error *err;
    tlm_sampler *sampler;
    const tlm_constraint *constraint; /* borrowed; may be NULL */
    tlm_detok *detok;
    stop_filter stop;
    tlm_seq_cache *cache;  /* the caller's, or own_cache */
    tlm_seq_cache own_cache;
    int32_t seq, n_past, n_batch, n_ctx;
    uint64_t t_start;
    int done;              /* a stop string ended the text: emit nothing more */
} gen;

/* Passes text to the callback; marks cancellation. */
static int emit(gen *g, const char *s, size_t n) {
    if (!n || !g->cb) return 0;
    if (g->cb(g->user, s, n)) {
        g->st->finish = TLM_FINISH_CANCELLED;
        return 1;
    }
    return 0;
}

/* New text from the detokenizer: emit what cannot be part of a stop
 * string.  Returns non-zero when generation must end (stop or cancel). */
static int push_text(gen *g, const char *s, size_t n) {
    if (g->done || !n) return g->done;
    if (!g->stop.n_stop) return emit(g, s, n);
    tlm_buf *h = &g->stop.hold;
    if (tlm_buf_append(h, s, n)) return 0; /* out of memory: text is lost, not corrupted */
    size_t at = tlm_stop_find(g->stop.stop, g->stop.n_stop, h->data, h->len);
    if (at < h->len) {
        g->done = 1;
        g->st->finish = TLM_FINISH_STOP;
        emit(g, h->data, at);
        return 1;
    }
    size_t out = tlm_stop_safe_len(g->stop.stop, g->stop.n_stop, h->data, h->len);
    int cancel = emit(g, h->data, out);
    memmove(h->data, h->data + out, h->len - out);
    h->len -= out;
    return cancel;
}

/* End of text for any reason but a stop string: release what is held. */
static void flush_text(gen *g) {
    if (g->done || g->st->finish == TLM_FINISH_CANCELLED) return;
    const char *s;
    size_t n;
    tlm_detok_flush(g->detok, &s, &n);
    if (push_text(g, s, n)) return;
    emit(g, g->stop.hold.data, g->stop.hold.len);
    g->stop.hold.len = 0;
}

/* ---- Decoding ---- */

static tlm_status cache_push(gen *g, const tlm_token *t, int32_t n) {
    tlm_seq_cache *c = g->cache;
    if (c->n + n > c->cap) {
        int32_t cap = TLM_MAX(c->n + n, TLM_MAX(g->n_ctx, 2 * c->cap));
        tlm_token *grown = tlm_realloc(c->tokens, (size_t)cap * sizeof *grown);
        if (!grown) return tlm_error_set(g->err, TLM_ERR_NOMEM, "generate: out of memory");
        c->tokens = grown;
        c->cap = cap;
    }
    memcpy(c->tokens + c->n, t, (size_t)n * sizeof *t);
    c->n += n;
    return TLM_OK;
}

/* Decodes n tokens at the next positions; logits for the last one only.
 * pos and seq are scratch arrays of n_batch entries. */
static tlm_status decode(gen *g, const tlm_token *t, int32_t n, int32_t *pos, int32_t *seq) {
    for (int32_t i = 0; i < n; i++) {
        pos[i] = g->n_past + i;
        seq[i] = g->seq;
    }
    tlm_batch b = {.n_tokens = n, .token = t, .pos = pos, .seq_id = seq, .logits = NULL};
    tlm_status s = tlm_ctx_decode(g->ctx, &b, g->err);
    if (s) return s;
    g->n_past += n;
    return cache_push(g, t, n);
}

/* Keeps the longest cached prefix the prompt starts with (at least one
 * prompt token is always decoded again, to get logits) and drops the rest
 * of the sequence.  The cache record is trusted only if the KV cache agrees
 * about the sequence's length. */
static int32_t reuse_prefix(gen *g, const tlm_token *prompt, int32_t n_prompt) {
    tlm_seq_cache *c = g->cache;
    int32_t keep = 0;
    if (g->p->reuse_prefix && c->n > 0 && tlm_kv_seq_pos_max(g->ctx, g->seq) + 1 == c->n) {
        int32_t lim = TLM_MIN(c->n, n_prompt - 1);
        while (keep < lim && c->tokens[keep] == prompt[keep]) keep++;
    }
    tlm_kv_seq_rm(g->ctx, g->seq, keep, -1);
    c->n = keep;
    g->n_past = keep;
    return keep;
}

static tlm_status run_prompt(gen *g, const tlm_token *prompt, int32_t n_prompt, int32_t *pos,
                             int32_t *seq) {
    int32_t keep = reuse_prefix(g, prompt, n_prompt);
    g->st->n_cached = keep;
    if (n_prompt > g->n_ctx)
        return tlm_error_set(g->err, TLM_ERR_RANGE,
                             "generate: the prompt has %d tokens but the context holds %d; "
                             "shorten it or raise the context size",
                             n_prompt, g->n_ctx);
    for (int32_t i = 0; i < n_prompt; i++) tlm_sampler_accept(g->sampler, prompt[i]);
    uint64_t t0 = tlm_time_ns();
    for (int32_t i = keep; i < n_prompt; i += g->n_batch) {
        /* A zero-length callback between batches lets a long prompt be
         * cancelled. */
        if (i > keep && g->cb && g->cb(g->user, "", 0)) {
            g->st->finish = TLM_FINISH_CANCELLED;
            break;
        }
        tlm_status s = decode(g, prompt + i, TLM_MIN(g->n_batch, n_prompt - i), pos, seq);
        if (s == TLM_ERR_RANGE)
            return tlm_error_set(g->err, TLM_ERR_RANGE,
                                 "generate: the prompt (%d tokens) does not fit in the free KV "
                                 "cache; shorten it or raise the context size",
                                 n_prompt);
        if (s) return s;
    }
    g->st->prompt_ms = (double)(tlm_time_ns() - t0) / 1e6;
    return TLM_OK;
}

/* Tokens that may still be generated, the next one included: the
 * constraint's budget (the context ends the text as max_tokens does). */
static int32_t tokens_left(const gen *g) {
    int32_t left = g->n_ctx - g->n_past + 1;
    if (g->p->max_tokens >= 0) left = TLM_MIN(left, g->p->max_tokens - g->st->n_gen);
    return TLM_MAX(left, 1);
}

/* Samples until a stop condition; the prompt's logits are current. */
static tlm_status run_loop(gen *g, int32_t *pos, int32_t *seq) {
    const tlm_gen_params *p = g->p;
    uint64_t t_first = 0;
    for (;;) {
        if (p->max_tokens >= 0 && g->st->n_gen >= p->max_tokens) {
            g->st->finish = TLM_FINISH_LENGTH;
            break;
        }
        const float *logits = tlm_ctx_logits(g->ctx, -1);
        if (!logits)
            return tlm_error_set(g->err, TLM_ERR_INTERNAL, "generate: no logits after decode");
        if (g->constraint && g->constraint->budget)
            g->constraint->budget(g->constraint->user, tokens_left(g));
        tlm_token t = tlm_sampler_sample(g->sampler, logits, NULL);
        if (t < 0)
            return tlm_error_set(g->err, TLM_ERR_INVALID_ARG,
                                 "generate: the constraint allowed no token at all");
        if (!t_first) {
            t_first = tlm_time_ns();
            g->st->first_token_ms = (double)(t_first - g->t_start) / 1e6;
        }
        if (tlm_model_is_eog(g->model, t)) {
            g->st->finish = TLM_FINISH_STOP;
            break;
        }
        g->st->n_gen++;
        const char *s = NULL;
        size_t n = 0;
        /* Ids past the token list (padding rows of the embedding) have no
         * text; they are decoded like any other. */
        if (tlm_detok_push(g->detok, t, &s, &n) != TLM_OK) n = 0;
        if (push_text(g, s, n)) break;
        /* The grammar closed: nothing but an end token could follow, so
         * stop now instead of spending a step to sample it. */
        if (g->constraint && g->constraint->done && g->constraint->done(g->constraint->user)) {
            g->st->finish = TLM_FINISH_STOP;
            break;
        }
        if ((p->max_tokens >= 0 && g->st->n_gen >= p->max_tokens) || g->n_past >= g->n_ctx) {
            g->st->finish = TLM_FINISH_LENGTH;
            break;
        }
        tlm_status st = decode(g, &t, 1, pos, seq);
        if (st == TLM_ERR_RANGE) { /* the cells are shared: another sequence filled them */
            g->st->finish = TLM_FINISH_LENGTH;
            break;
        }
        if (st) return st;
        g->st->n_eval++;
    }
    if (t_first) g->st->gen_ms = (double)(tlm_time_ns() - t_first) / 1e6;
    return TLM_OK;
}

static tlm_status check_args(tlm_ctx *ctx, const tlm_token *prompt, int32_t n_prompt,
                             const tlm_gen_params *p, tlm_error *err) {
    if (!ctx || !p) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "generate: no context");
    if (n_prompt < 1 || !prompt)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                             "generate: the prompt is empty (at least one token is needed)");
    if (p->n_stop < 0 || (p->n_stop > 0 && !p->stop))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "generate: bad stop array");
    for (int32_t i = 0; i < p->n_stop; i++)
        if (!p->stop[i] || !p->stop[i][0])
            return tlm_error_set(err, TLM_ERR_INVALID_ARG, "generate: stop string %d is empty",
                                 (int)i);
    return TLM_OK;
}

tlm_status tlm_generate(tlm_ctx *ctx, const tlm_token *prompt, int32_t n_prompt,
                        const tlm_gen_params *params, const tlm_constraint *constraint,
                        tlm_gen_callback cb, void *user, tlm_gen_stats *stats, tlm_error *err) {
    tlm_gen_stats local;
    tlm_gen_stats *st = stats ? stats : &local;
    memset(st, 0, sizeof *st);
    tlm_status s = check_args(ctx, prompt, n_prompt, params, err);
    if (s) return s;
    gen g = {.ctx = ctx, .model = tlm_ctx_model(ctx), .p = params, .cb = cb, .user = user,
             .st = st, .err = err, .seq = params->seq_id, .t_start = tlm_time_ns()};
    g.stop.stop = params->stop;
    g.stop.n_stop = params->n_stop;
    g.cache = params->cache ? params->cache : &g.own_cache;
    g.n_batch = ctx->params.n_batch;
    g.n_ctx = tlm_ctx_n_ctx(ctx);
    st->n_prompt = n_prompt;
    int32_t *pos = tlm_malloc((size_t)g.n_batch * sizeof *pos);
    int32_t *seq = tlm_malloc((size_t)g.n_batch * sizeof *seq);
    if (!pos || !seq) {
        s = tlm_error_set(err, TLM_ERR_NOMEM, "generate: out of memory");
        goto done;
    }
    if ((s = tlm_sampler_create(g.model, &params->sampling, &g.sampler, err))) goto done;
    tlm_sampler_set_constraint(g.sampler, constraint);
    g.constraint = constraint;
    if ((s = tlm_detok_create(tlm_model_vocab(g.model), false, &g.detok))) {
        tlm_error_set(err, s, "generate: cannot create the detokenizer");
        goto done;
    }
    if ((s = run_prompt(&g, prompt, n_prompt, pos, seq))) goto done;
    if (st->finish != TLM_FINISH_CANCELLED && (s = run_loop(&g, pos, seq))) goto done;
    flush_text(&g);
done:
    tlm_free(pos);
    tlm_free(seq);
    tlm_detok_free(g.detok);
    tlm_sampler_free(g.sampler);
    tlm_buf_free(&g.stop.hold);
    tlm_seq_cache_free(&g.own_cache);
    return s;
}
