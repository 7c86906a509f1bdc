/*
 * detok.c - token ids back to text, whole or as a stream.
 *
 * A token's bytes need not be a whole UTF-8 character (byte tokens, and
 * byte-level BPE tokens that cut a character), so the text goes through an
 * incremental WHATWG decoder: complete characters come out at once, a
 * character split across tokens is held back until it is complete, and
 * bytes that can never form a character come out as U+FFFD.  Hugging Face
 * decodes the same way (TextDecoder over the bytes), so the whole-text and
 * streaming results are equal to its decode() for the same ids.
 */
#include "tokenizer/tok_impl.h"

#include <string.h>

/* What one token contributes to decoded text. */
static const char *piece(const tlm_vocab *v, int32_t id, bool render_special, size_t *len) {
    const tlm_tok *t = &v->toks[id];
    switch (t->type) {
    case TLM_TOKEN_CONTROL:
    case TLM_TOKEN_UNKNOWN:
        if (!render_special) break;
        /* fall through */
    case TLM_TOKEN_NORMAL:
    case TLM_TOKEN_BYTE:
    case TLM_TOKEN_USER_DEFINED: *len = t->bytes_len; return tlm_tok_bytes(v, id);
    default: break;
    }
    *len = 0;
    return "";
}

size_t tlm_vocab_token_to_bytes(const tlm_vocab *v, int32_t id, bool render_special, char *buf,
                                size_t cap) {
    if (id < 0 || id >= v->n_tokens) return 0;
    size_t n;
    const char *p = piece(v, id, render_special, &n);
    if (cap) memcpy(buf, p, TLM_MIN(n, cap));
    return n;
}

struct tlm_detok {
    const tlm_vocab *v;
    bool render_special;
    bool started; /* some text has come out (SPM drops one leading space) */
    tlm_utf8_stream st;
    char *buf; /* (3 * max_bytes + 8): the last push's output */
};

tlm_status tlm_detok_create(const tlm_vocab *v, bool render_special, tlm_detok **out) {
    *out = NULL;
    tlm_detok *d = tlm_calloc(1, sizeof *d);
    if (!d) return TLM_ERR_NOMEM;
    d->buf = tlm_malloc(3 * v->max_bytes + 8);
    if (!d->buf) {
        tlm_free(d);
        return TLM_ERR_NOMEM;
    }
    d->v = v;
    d->render_special = render_special;
    *out = d;
    return TLM_OK;
}

void tlm_detok_free(tlm_detok *d) {
    if (!d) return;
    tlm_free(d->buf);
    tlm_free(d);
}

void tlm_detok_reset(tlm_detok *d) {
    d->started = false;
    memset(&d->st, 0, sizeof d->st);
}

tlm_status tlm_detok_push(tlm_detok *d, int32_t id, const char **out, size_t *out_len) {
    *out = d->buf;
    *out_len = 0;
    if (id < 0 || id >= d->v->n_tokens) return TLM_ERR_RANGE;
    size_t n;
    const char *p = piece(d->v, id, d->render_special, &n);
    /* SentencePiece adds a space before the text when encoding; decoding
     * takes it off the first piece again (llama.cpp, HF's Metaspace). */
    if (!d->started && n) {
        d->started = true;
        if (d->v->kind == TLM_VOCAB_SPM && d->v->add_space_prefix && p[0] == ' ') {
            p++;
            n--;
        }
    }
    *out_len = tlm_utf8_stream_feed(&d->st, (const uint8_t *)p, n, d->buf);
    return TLM_OK;
}

void tlm_detok_flush(tlm_detok *d, const char **out, size_t *out_len) {
    *out = d->buf;
    *out_len = tlm_utf8_stream_finish(&d->st, d->buf);
    d->started = false;
}

tlm_status tlm_detokenize(const tlm_vocab *v, const int32_t *ids, size_t n, bool render_special,
                          char **out, size_t *out_len, tlm_error *err) {
    *out = NULL;
    *out_len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= v->n_tokens)
            return tlm_error_set(err, TLM_ERR_RANGE,
                                 "detokenize: id %d at position %zu is not in 0..%d", ids[i], i,
                                 v->n_tokens - 1);
        total += v->toks[ids[i]].bytes_len;
    }
    tlm_detok *d;
    if (tlm_detok_create(v, render_special, &d))
        return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    /* Decoding never grows text by more than 3x (one byte -> U+FFFD). */
    char *text = tlm_malloc(3 * total + 8);
    if (!text) {
        tlm_detok_free(d);
        return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    size_t w = 0, k;
    const char *p;
    for (size_t i = 0; i < n; i++) {
        tlm_detok_push(d, ids[i], &p, &k);
        memcpy(text + w, p, k);
        w += k;
    }
    tlm_detok_flush(d, &p, &k);
    memcpy(text + w, p, k);
    w += k;
    text[w] = '\0';
    tlm_detok_free(d);
    *out = text;
    *out_len = w;
    return TLM_OK;
}
