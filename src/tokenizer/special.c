/*
 * special.c - finding added tokens (control, user-defined, unknown) in raw
 * text, before normalisation and pre-tokenization can break them up.
 *
 * The rule is Hugging Face's added-token splitter: scan left to right and at
 * each position take the longest added token that starts there.  Tokens are
 * bucketed by first byte and sorted longest first, so a position whose byte
 * starts no special token costs one table lookup.
 */
#include "tokenizer/tok_impl.h"

#include <stdlib.h>
#include <string.h>

typedef struct special_key {
    uint8_t first;
    uint32_t len;
    int32_t id;
} special_key;

static int cmp_special(const void *pa, const void *pb) {
    const special_key *a = pa, *b = pb;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

tlm_status tlm_special_init(tlm_vocab *v) {
    size_t n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->toks[i].flags & TLM_TOKF_SPECIAL) n++;
    special_key *keys = tlm_malloc(n * sizeof *keys);
    v->specials = tlm_malloc(n * sizeof *v->specials);
    if (!keys || !v->specials) {
        tlm_free(keys);
        return TLM_ERR_NOMEM;
    }
    n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->toks[i].flags & TLM_TOKF_SPECIAL)
            keys[n++] = (special_key){(uint8_t)tlm_tok_text(v, i)[0], v->toks[i].text_len, i};
    qsort(keys, n, sizeof *keys, cmp_special);
    size_t k = 0;
    for (int b = 0; b <= 256; b++) {
        while (k < n && keys[k].first < b) k++;
        v->special_start[b] = (uint32_t)k;
    }
    for (size_t i = 0; i < n; i++) v->specials[i] = keys[i].id;
    tlm_free(keys);
    return TLM_OK;
}

int32_t tlm_special_match(const tlm_vocab *v, const char *text, size_t len, size_t *out_len) {
    uint8_t c = (uint8_t)text[0];
    for (uint32_t k = v->special_start[c]; k < v->special_start[c + 1]; k++) {
        int32_t id = v->specials[k];
        size_t n = v->toks[id].text_len;
        if (n <= len && memcmp(tlm_tok_text(v, id), text, n) == 0) {
            *out_len = n;
            return id;
        }
    }
    return -1;
}
