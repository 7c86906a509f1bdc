/*
 * structured.c - the public structured-output API (tlm_structured_*): a
 * grammar, a JSON Schema or "any JSON object" compiled against a loaded
 * model's own tokenizer, wrapped as a sampler constraint.
 *
 * The grammar vocabulary (every token's bytes in a trie, 151,936 tokens
 * for Qwen2.5) costs tens of milliseconds to build, so it is built once per
 * model, on first use, and kept on the model (tlm_model_grammar_ext) until
 * the model is freed; a server can then compile one grammar per request.
 * A mutex guards the lazy build: two requests arriving together must not
 * both build it (or one read a half-built trie).
 *
 * Budget: the generator tells the constraint how many tokens remain before
 * each step (tlm_constraint.budget).  While that is plenty, the ordinary
 * mask is used; near the end the budget mask only allows tokens after
 * which the shortest completion still fits, so the answer closes in time.
 * If even that is impossible (a schema whose smallest value has more bytes
 * than tokens remain) it steers to completions of up to four bytes per
 * token, and past that uses the ordinary mask: the answer may then end
 * with "length".
 */
#include "grammar/grammar.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tlm_structured {
    const tlm_model *model;
    const tlm_grammar_vocab *vocab; /* borrowed from the model's cache */
    tlm_grammar *g;                 /* owned */
    tlm_grammar_matcher *m;         /* owned */
    uint32_t *mask;                 /* (mask words), owned */
    int32_t n_vocab;
    int32_t n_left;                 /* tokens that may still be sampled; < 0 = no limit */
    bool broken;                    /* a token outside the grammar was forced in */
    bool steered;                   /* the budget has constrained the answer */
    tlm_constraint c;
};

/* ---- The model's grammar vocabulary ---- */

tlm_status tlm_grammar_vocab_from_tokenizer(const tlm_vocab *tv, int32_t n_vocab,
                                            tlm_grammar_vocab **out, tlm_error *err) {
    *out = NULL;
    int32_t n_tok = tlm_vocab_n_tokens(tv);
    if (n_vocab < n_tok) n_vocab = n_tok;
    const char **tok = tlm_calloc((size_t)n_vocab, sizeof *tok);
    uint32_t *len = tlm_calloc((size_t)n_vocab, sizeof *len);
    uint8_t *kind = tlm_malloc((size_t)n_vocab);
    tlm_status st;
    if (!tok || !len || !kind) {
        st = tlm_error_set(err, TLM_ERR_NOMEM, "grammar vocab: out of memory");
        goto done;
    }
    /* Ids past the token list are padding rows of the embedding: never. */
    memset(kind, TLM_GTOK_NEVER, (size_t)n_vocab);
    for (int32_t i = 0; i < n_tok; i++) {
        tlm_token_type t = tlm_vocab_token_type(tv, i);
        size_t n = 0;
        const char *b = tlm_vocab_token_bytes(tv, i, &n);
        if (tlm_vocab_is_eog(tv, i)) {
            kind[i] = TLM_GTOK_EOG;
        } else if (b && n && (t == TLM_TOKEN_NORMAL || t == TLM_TOKEN_BYTE ||
                              t == TLM_TOKEN_USER_DEFINED || t == TLM_TOKEN_UNDEFINED)) {
            /* User-defined tokens (Qwen's "<tool_call>") are plain text that
             * happens to have an id of its own; control tokens are not. */
            kind[i] = TLM_GTOK_TEXT;
            tok[i] = b;
            len[i] = (uint32_t)n;
        }
    }
    st = tlm_grammar_vocab_create(n_vocab, tok, len, kind, out, err);
done:
    tlm_free(tok);
    tlm_free(len);
    tlm_free(kind);
    return st;
}

static void free_vocab(void *p) { tlm_grammar_vocab_free(p); }

static pthread_mutex_t vocab_mu = PTHREAD_MUTEX_INITIALIZER;

tlm_status tlm_grammar_vocab_of_model(const tlm_model *model, const tlm_grammar_vocab **out,
                                      tlm_error *err) {
    tlm_model_ext *ext = tlm_model_grammar_ext(model);
    tlm_status st = TLM_OK;
    pthread_mutex_lock(&vocab_mu);
    if (!ext->data) {
        tlm_grammar_vocab *v = NULL;
        st = tlm_grammar_vocab_from_tokenizer(tlm_model_vocab(model), tlm_model_n_vocab(model), &v,
                                              err);
        if (!st) {
            ext->data = v;
            ext->free = free_vocab;
        }
    }
    *out = ext->data;
    pthread_mutex_unlock(&vocab_mu);
    return st;
}

/* ---- The constraint ---- */

static void c_budget(void *user, int32_t n_left) { ((tlm_structured *)user)->n_left = n_left; }

static void c_apply(void *user, float *logits, int32_t n_vocab) {
    tlm_structured *s = user;
    tlm_status st = TLM_ERR_INTERNAL;
    int32_t n_allowed = 0;
    if (!s->broken && s->n_left > 0 && !s->steered) {
        uint32_t need = tlm_grammar_matcher_min_completion(s->m);
        s->steered = need > 0 && need != UINT32_MAX && need + 1 >= (uint32_t)s->n_left;
    }
    /* A byte per token is the guarantee; when not even that fits, a token
     * holds a few bytes on average, so steering to a completion that fits
     * four bytes per token usually still closes the answer in time. */
    for (uint64_t per = 1; !s->broken && s->n_left > 0 && per <= 4 && n_allowed == 0; per *= 4) {
        uint64_t bytes = (uint64_t)(s->n_left - 1) * per;
        st = tlm_grammar_matcher_mask_budget(s->m, (uint32_t)TLM_MIN(bytes, UINT32_MAX - 1),
                                             s->mask, &n_allowed, NULL);
    }
    /* No budget, or no completion fits it: the plain mask ("length"). */
    if (!s->broken && (st || n_allowed == 0)) st = tlm_grammar_matcher_mask(s->m, s->mask, NULL);
    if (st) { /* cannot happen short of memory: allow end of generation only */
        memset(s->mask, 0, tlm_grammar_mask_words(s->n_vocab) * sizeof *s->mask);
        for (int32_t i = 0; i < s->n_vocab; i++)
            if (tlm_grammar_vocab_kind(s->vocab, i) == TLM_GTOK_EOG) s->mask[i >> 5] |= 1u << (i & 31);
    }
    int32_t n = TLM_MIN(n_vocab, s->n_vocab);
    tlm_grammar_mask_apply(s->mask, logits, n);
    for (int32_t i = n; i < n_vocab; i++) logits[i] = -INFINITY;
}

static void c_accept(void *user, tlm_token t) {
    tlm_structured *s = user;
    if (s->n_left > 0) s->n_left--;
    if (!s->broken && tlm_grammar_matcher_accept_token(s->m, t, NULL)) s->broken = true;
}

/* Done when nothing may follow, and also when the budget ran out on an
 * answer it steered to completion: that is a "stop", not a "length".  (A
 * grammar that was complete all along, such as free text, was not cut
 * short by its grammar but by the budget: "length".) */
static bool c_done(void *user) {
    tlm_structured *s = user;
    if (s->broken) return false;
    return tlm_grammar_matcher_is_done(s->m) ||
           (s->n_left == 0 && s->steered && tlm_grammar_matcher_is_complete(s->m));
}

/* ---- Public API ---- */

static tlm_status compile(tlm_structured_kind kind, const char *text, size_t len, tlm_grammar **g,
                          tlm_error *err) {
    if (kind == TLM_STRUCTURED_JSON_OBJECT) {
        const char *gbnf = tlm_json_object_gbnf();
        return tlm_grammar_parse(gbnf, strlen(gbnf), NULL, g, err);
    }
    if (!text) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "structured: no grammar text");
    if (kind == TLM_STRUCTURED_GBNF) return tlm_grammar_parse(text, len, NULL, g, err);
    if (kind != TLM_STRUCTURED_JSON_SCHEMA)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "structured: unknown kind %d", (int)kind);
    char *gbnf = NULL;
    tlm_status st = tlm_json_schema_to_gbnf(text, len, &gbnf, NULL, err);
    if (!st) st = tlm_grammar_parse(gbnf, strlen(gbnf), NULL, g, err);
    tlm_free(gbnf);
    return st;
}

tlm_status tlm_structured_create(const tlm_model *model, tlm_structured_kind kind, const char *text,
                                 size_t len, tlm_structured **out, tlm_error *err) {
    *out = NULL;
    if (!model) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "structured: no model");
    tlm_structured *s = tlm_calloc(1, sizeof *s);
    if (!s) return tlm_error_set(err, TLM_ERR_NOMEM, "structured: out of memory");
    s->model = model;
    s->n_left = -1;
    tlm_status st = tlm_grammar_vocab_of_model(model, &s->vocab, err);
    if (!st) st = compile(kind, text, len, &s->g, err);
    if (!st) st = tlm_grammar_matcher_create(s->g, s->vocab, &s->m, err);
    if (!st) {
        s->n_vocab = tlm_grammar_vocab_size(s->vocab);
        s->mask = tlm_malloc(tlm_grammar_mask_words(s->n_vocab) * sizeof *s->mask);
        if (!s->mask) st = tlm_error_set(err, TLM_ERR_NOMEM, "structured: out of memory");
    }
    if (st) {
        tlm_structured_free(s);
        return st;
    }
    s->c = (tlm_constraint){.user = s, .apply = c_apply, .accept = c_accept, .budget = c_budget,
                            .done = c_done};
    *out = s;
    return TLM_OK;
}

void tlm_structured_free(tlm_structured *s) {
    if (!s) return;
    tlm_grammar_matcher_free(s->m);
    tlm_grammar_free(s->g);
    tlm_free(s->mask);
    tlm_free(s);
}

const tlm_constraint *tlm_structured_constraint(tlm_structured *s) { return s ? &s->c : NULL; }

bool tlm_structured_is_complete(const tlm_structured *s) {
    return s && !s->broken && tlm_grammar_matcher_is_complete(s->m);
}

void tlm_structured_reset(tlm_structured *s) {
    if (!s) return;
    tlm_grammar_matcher_reset(s->m);
    s->broken = false;
    s->steered = false;
    s->n_left = -1;
}
