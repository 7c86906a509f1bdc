/*
 * tokenize.c - the encoding pipeline: repair invalid UTF-8, cut the text at
 * special tokens (when asked to parse them), encode each plain fragment with
 * the vocabulary's BPE or SPM encoder, and add BOS/EOS.
 *
 * Fragments are encoded independently, as Hugging Face does: normalisation
 * and pre-tokenization never look across a special token.
 */
#include "tokenizer/tok_impl.h"

#include <string.h>

tlm_status tlm_ids_reserve(tlm_ids *a, size_t extra) {
    if (a->cap - a->n >= extra) return TLM_OK;
    size_t cap = a->cap ? a->cap : 64;
    while (cap - a->n < extra) {
        if (cap > SIZE_MAX / 2 / sizeof *a->data) return TLM_ERR_NOMEM;
        cap *= 2;
    }
    int32_t *p = tlm_realloc(a->data, cap * sizeof *p);
    if (!p) return TLM_ERR_NOMEM;
    a->data = p;
    a->cap = cap;
    return TLM_OK;
}

tlm_status tlm_scratch_grow(void **p, size_t *cap, size_t n) {
    if (*cap >= n) return TLM_OK;
    size_t c = *cap ? *cap : 1024;
    while (c < n) c *= 2;
    void *q = tlm_realloc(*p, c);
    if (!q) return TLM_ERR_NOMEM;
    *p = q;
    *cap = c;
    return TLM_OK;
}

void tlm_tok_scratch_free(tlm_tok_scratch *s) {
    tlm_buf_free(&s->text);
    tlm_free(s->sym);
    tlm_free(s->heap);
    if (s->md) pcre2_match_data_free(s->md);
}

typedef struct encoder {
    const tlm_vocab *v;
    tlm_tok_scratch s;
    tlm_ids ids;
    bool prev_special; /* SPM: a space prefix goes after BOS/special tokens */
} encoder;

static tlm_status encode_fragment(encoder *e, const char *t, size_t n) {
    if (n == 0) return TLM_OK;
    tlm_status st;
    if (e->v->kind == TLM_VOCAB_BPE)
        st = tlm_bpe_encode(e->v, t, n, &e->s, &e->ids);
    else
        st = tlm_spm_encode(e->v, t, n, e->v->add_space_prefix && e->prev_special, &e->s, &e->ids);
    e->prev_special = false;
    return st;
}

/* Walks the text, encoding the plain runs between special tokens. */
static tlm_status encode_parsing_specials(encoder *e, const char *t, size_t n) {
    const tlm_vocab *v = e->v;
    size_t frag = 0, i = 0;
    tlm_status st;
    while (i < n) {
        uint8_t c = (uint8_t)t[i];
        size_t mlen;
        int32_t id = v->special_start[c] == v->special_start[c + 1]
                         ? -1
                         : tlm_special_match(v, t + i, n - i, &mlen);
        if (id < 0) {
            i++;
            continue;
        }
        if ((st = encode_fragment(e, t + frag, i - frag)) || (st = tlm_ids_push(&e->ids, id)))
            return st;
        e->prev_special = true;
        i += mlen;
        frag = i;
    }
    return encode_fragment(e, t + frag, n - frag);
}

tlm_status tlm_tokenize(const tlm_vocab *v, const char *text, size_t len, bool add_special,
                        bool parse_special, int32_t **out_ids, size_t *out_n, tlm_error *err) {
    *out_ids = NULL;
    *out_n = 0;
    if (len > INT32_MAX)
        return tlm_error_set(err, TLM_ERR_RANGE, "tokenize: text of %zu bytes is over 2 GiB", len);
    if (!text && len) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "tokenize: NULL text");
    encoder e = {.v = v, .prev_special = true};
    tlm_buf clean = {0};
    /* Reserve up front so an empty result is still a real allocation. */
    tlm_status st = tlm_ids_reserve(&e.ids, 16);
    if (st) goto done;
    if (tlm_utf8_valid_prefix(text, len) != len) {
        if ((st = tlm_utf8_sanitize(text, len, &clean))) goto done;
        text = clean.data;
        len = clean.len;
    }
    if (add_special && v->add_bos && (st = tlm_ids_push(&e.ids, v->bos))) goto done;
    if (parse_special)
        st = encode_parsing_specials(&e, text, len);
    else
        st = encode_fragment(&e, text, len);
    if (!st && add_special && v->add_eos) st = tlm_ids_push(&e.ids, v->eos);
done:
    tlm_buf_free(&clean);
    tlm_tok_scratch_free(&e.s);
    if (st) {
        tlm_free(e.ids.data);
        return tlm_error_set(err, st, "tokenize: %s", tlm_status_str(st));
    }
    *out_ids = e.ids.data;
    *out_n = e.ids.n;
    return TLM_OK;
}

tlm_status tlm_tokenize_into(const tlm_vocab *v, const char *text, size_t len, bool add_special,
                             bool parse_special, int32_t *ids, size_t cap, size_t *out_n,
                             tlm_error *err) {
    int32_t *tmp;
    tlm_status st = tlm_tokenize(v, text, len, add_special, parse_special, &tmp, out_n, err);
    if (st) return st;
    if (*out_n > cap) {
        tlm_free(tmp);
        return tlm_error_set(err, TLM_ERR_RANGE, "tokenize: %zu tokens do not fit in %zu", *out_n,
                             cap);
    }
    if (*out_n) memcpy(ids, tmp, *out_n * sizeof *ids);
    tlm_free(tmp);
    return TLM_OK;
}
