/*
 * spm.c - SentencePiece-style BPE (tokenizer.ggml.model "llama": Gemma,
 * Llama 2): spaces become U+2581, the whole fragment is one piece, symbols
 * start as characters and merge by the score of the token they form.
 *
 * Order of merges: highest score first; among merges forming the same
 * token, the one whose left and then right part has the lower id; then the
 * leftmost.  Hugging Face's converted tokenizer.json lists the merges for
 * each token in exactly that (left id, right id) order, so with scores
 * derived from merge ranks this reproduces its BPE merge for merge.
 * A character that no merge reaches and that is not a token itself falls
 * back to its UTF-8 bytes as <0xNN> tokens, or to UNK if one is missing.
 */
#include "tokenizer/tok_impl.h"

#include <string.h>

typedef struct ssym {
    uint32_t start, len; /* bytes of the escaped text */
    int32_t id;          /* token for the symbol, -1 if none, -2 once merged away */
    int32_t prev, next;
} ssym;

typedef struct sent {
    float score;
    int32_t left, right, pos, result;
} sent;

static bool sent_before(const sent *a, const sent *b) {
    if (a->score != b->score) return a->score > b->score;
    if (a->left != b->left) return a->left < b->left;
    if (a->right != b->right) return a->right < b->right;
    return a->pos < b->pos;
}

static void heap_push(sent *h, size_t *n, sent e) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!sent_before(&e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static sent heap_pop(sent *h, size_t *n) {
    sent top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && sent_before(&h[c + 1], &h[c])) c++;
        if (!sent_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

static void push_pair(const tlm_vocab *v, const char *t, const ssym *s, int32_t pos, sent *h,
                      size_t *hn) {
    if (pos < 0 || s[pos].next < 0) return;
    const ssym *a = &s[pos], *b = &s[a->next];
    if (a->id < 0 || b->id < 0) return;
    int32_t res = tlm_strmap_find(v, &v->map, false, t + a->start, a->len + b->len);
    if (res < 0) return;
    heap_push(h, hn, (sent){v->toks[res].score, a->id, b->id, pos, res});
}

/* The escaped text: optional leading U+2581, spaces as U+2581. */
static tlm_status escape(const char *text, size_t len, bool add_prefix, tlm_buf *b) {
    static const char MS[3] = {(char)0xE2, (char)0x96, (char)0x81};
    b->len = 0;
    if (tlm_buf_reserve(b, len + 3)) return TLM_ERR_NOMEM;
    if (add_prefix && tlm_buf_append(b, MS, 3)) return TLM_ERR_NOMEM;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != ' ') continue;
        if (tlm_buf_append(b, text + run, i - run) || tlm_buf_append(b, MS, 3))
            return TLM_ERR_NOMEM;
        run = i + 1;
    }
    return tlm_buf_append(b, text + run, len - run);
}

static tlm_status emit_symbol(const tlm_vocab *v, const char *t, const ssym *sy, tlm_ids *out) {
    if (sy->id >= 0) return tlm_ids_push(out, sy->id);
    bool all = true;
    for (uint32_t k = 0; k < sy->len; k++) all = all && v->byte_tok[(uint8_t)t[sy->start + k]] >= 0;
    if (!all) return v->unk >= 0 ? tlm_ids_push(out, v->unk) : TLM_OK;
    for (uint32_t k = 0; k < sy->len; k++)
        if (tlm_ids_push(out, v->byte_tok[(uint8_t)t[sy->start + k]])) return TLM_ERR_NOMEM;
    return TLM_OK;
}

static tlm_status encode_chunk(const tlm_vocab *v, const char *t, size_t n, tlm_tok_scratch *sc,
                               tlm_ids *out) {
    /* At most n symbols, and a heap below 2n entries (see merge_heap). */
    if (tlm_scratch_grow(&sc->sym, &sc->sym_cap, n * sizeof(ssym)) ||
        tlm_scratch_grow(&sc->heap, &sc->heap_cap, 2 * n * sizeof(sent)))
        return TLM_ERR_NOMEM;
    ssym *s = sc->sym;
    sent *h = sc->heap;
    size_t ns = 0, hn = 0;
    for (size_t i = 0; i < n; ns++) {
        uint32_t l = (uint32_t)TLM_MIN(tlm_utf8_len((uint8_t)t[i]), n - i);
        int32_t id = tlm_strmap_find(v, &v->map, false, t + i, l);
        s[ns] = (ssym){(uint32_t)i, l, id, (int32_t)ns - 1, -1};
        if (ns) s[ns - 1].next = (int32_t)ns;
        i += l;
    }
    for (size_t i = 0; i + 1 < ns; i++) push_pair(v, t, s, (int32_t)i, h, &hn);
    while (hn) {
        sent e = heap_pop(h, &hn);
        int32_t r = s[e.pos].next;
        if (s[e.pos].id != e.left || r < 0 || s[r].id != e.right) continue;
        s[e.pos].id = e.result;
        s[e.pos].len += s[r].len;
        s[r].id = -2;
        s[e.pos].next = s[r].next;
        if (s[r].next >= 0) s[s[r].next].prev = e.pos;
        push_pair(v, t, s, s[e.pos].prev, h, &hn);
        push_pair(v, t, s, e.pos, h, &hn);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next)
        if (emit_symbol(v, t, &s[i], out)) return TLM_ERR_NOMEM;
    return TLM_OK;
}

/* Start of the next chunk after t[0..n): when no token has U+2581 right
 * after another character, no merge can cross the point before a U+2581
 * that follows another character, so the text splits into words there
 * and each word is merged on its own (same result, small heaps). */
static size_t chunk_end(const tlm_vocab *v, const char *t, size_t n) {
    if (!v->spm_word_split) return n;
    static const char MS[3] = {(char)0xE2, (char)0x96, (char)0x81};
    for (size_t k = 1; k + 3 <= n; k++) {
        if (t[k] != MS[0] || memcmp(t + k, MS, 3)) continue;
        if (k < 3 || memcmp(t + k - 3, MS, 3)) return k;
    }
    return n;
}

tlm_status tlm_spm_encode(const tlm_vocab *v, const char *text, size_t len, bool add_prefix,
                          tlm_tok_scratch *sc, tlm_ids *out) {
    if (escape(text, len, add_prefix, &sc->text)) return TLM_ERR_NOMEM;
    const char *t = sc->text.data;
    size_t n = sc->text.len, start = 0;
    while (start < n) {
        size_t end = start + chunk_end(v, t + start, n - start);
        tlm_status st = encode_chunk(v, t + start, end - start, sc, out);
        if (st) return st;
        start = end;
    }
    return TLM_OK;
}
