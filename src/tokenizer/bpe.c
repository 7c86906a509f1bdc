/*
 * bpe.c - byte-level BPE (tokenizer.ggml.model "gpt2"): Qwen2, Llama 3 and
 * GPT-2 style pre-tokenizers, then merges by rank within each piece.
 *
 * Pipeline for one fragment of text: NFC (qwen2 only), split into pieces
 * with the pre-tokenizer regex, then for each piece start from one symbol
 * per byte and repeatedly merge the adjacent pair with the lowest merge rank
 * (leftmost on ties) until no pair has a merge.
 *
 * The regexes are the Hugging Face ones as transformers.js compiles them
 * (JavaScript semantics, the reference we test against): "\s" is spelled out
 * as JavaScript's whitespace set, which differs from PCRE2's (U+FEFF), and
 * the case-insensitive contractions are written as explicit classes, since a
 * caseless PCRE2 "s" would also match U+017F.
 */
#include "tokenizer/tok_impl.h"

#include <string.h>

/* JavaScript's \s: ASCII whitespace, Zs, U+2028/2029 and U+FEFF. */
#define WS                                                                                         \
    "\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"                    \
    "\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"
#define CONTRACTIONS_CI "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])"
#define LETTERS "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+"
#define TAIL " ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+"

static const char *const PATTERNS[TLM_PRE_KIND_COUNT] = {
    [TLM_PRE_QWEN2] = CONTRACTIONS_CI "|" LETTERS "|\\p{N}|" TAIL,
    [TLM_PRE_LLAMA3] = CONTRACTIONS_CI "|" LETTERS "|\\p{N}{1,3}|" TAIL,
    [TLM_PRE_GPT2] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|[" WS
                     "]+(?![^" WS "])|[" WS "]+",
};

tlm_status tlm_bpe_init(tlm_vocab *v, tlm_error *err) {
    int code;
    PCRE2_SIZE at;
    const char *pat = PATTERNS[v->pre];
    v->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &at,
                          NULL);
    if (!v->re) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(code, msg, sizeof msg);
        return tlm_error_set(err, TLM_ERR_INTERNAL, "tokenizer: pre-tokenizer regex: %s at %zu",
                             (const char *)msg, (size_t)at);
    }
    v->re_jit = pcre2_jit_compile(v->re, PCRE2_JIT_COMPLETE) == 0;
    /* One match may scan a whole run of whitespace, twice (the \s*[\r\n]+
     * branch fails at its end before \s+(?!\S) takes it): the default limit
     * of 10 million steps stops at runs of about 20 MB.  The patterns never
     * backtrack worse than linearly, so the limits can go. */
    v->mctx = pcre2_match_context_create(NULL);
    if (!v->mctx) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    pcre2_set_match_limit(v->mctx, UINT32_MAX);
    pcre2_set_depth_limit(v->mctx, UINT32_MAX);
    pcre2_set_heap_limit(v->mctx, UINT32_MAX);
    v->nfc = v->pre == TLM_PRE_QWEN2;
    return TLM_OK;
}

/* ---- Merging within one piece ---- */

static tlm_status emit(const tlm_vocab *v, int32_t id, tlm_ids *out) {
    if (id < 0) id = v->unk; /* a byte the vocabulary lacks */
    return id < 0 ? TLM_OK : tlm_ids_push(out, id);
}

/* Short pieces (almost all of them): arrays and a linear scan for the best
 * pair beat a heap. */
#define LINEAR_MAX 64

static tlm_status merge_linear(const tlm_vocab *v, const uint8_t *w, size_t n, tlm_ids *out) {
    int32_t id[LINEAR_MAX], rank[LINEAR_MAX], res[LINEAR_MAX];
    size_t m = n;
    for (size_t i = 0; i < n; i++) id[i] = v->byte_tok[w[i]];
    for (size_t i = 0; i + 1 < n; i++) {
        const tlm_merge_slot *bp = &v->byte_pairs[w[i] * 256 + w[i + 1]];
        rank[i] = bp->rank;
        res[i] = bp->result;
    }
    while (m > 1) {
        size_t best = 0;
        for (size_t i = 1; i + 1 < m; i++)
            if (rank[i] < rank[best]) best = i;
        if (rank[best] == INT32_MAX) break;
        id[best] = res[best];
        memmove(id + best + 1, id + best + 2, (m - best - 2) * sizeof *id);
        if (best + 2 < m) {
            memmove(rank + best + 1, rank + best + 2, (m - best - 3) * sizeof *rank);
            memmove(res + best + 1, res + best + 2, (m - best - 3) * sizeof *res);
        }
        m--;
        if (best > 0)
            rank[best - 1] = tlm_merge_find(&v->merges, id[best - 1], id[best], &res[best - 1]);
        if (best + 1 < m)
            rank[best] = tlm_merge_find(&v->merges, id[best], id[best + 1], &res[best]);
    }
    if (tlm_ids_reserve(out, m)) return TLM_ERR_NOMEM;
    for (size_t i = 0; i < m; i++)
        if (emit(v, id[i], out)) return TLM_ERR_NOMEM;
    return TLM_OK;
}

/* Long pieces: a linked list of symbols and a min-heap of candidate merges
 * ordered by (rank, position).  Entries go stale when a neighbour merges;
 * an entry is still good iff both symbols still hold the ids it saw
 * (symbols only ever grow, so an id cannot come back). */
typedef struct bsym {
    int32_t id, prev, next;
} bsym;

typedef struct bent {
    int32_t rank, pos, left, right;
} bent;

static bool bent_less(const bent *a, const bent *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(bent *h, size_t *n, bent e) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bent_less(&e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static bent heap_pop(bent *h, size_t *n) {
    bent top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && bent_less(&h[c + 1], &h[c])) c++;
        if (!bent_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

static void push_pair(const tlm_vocab *v, const bsym *s, int32_t pos, bent *h, size_t *hn) {
    if (pos < 0 || s[pos].next < 0) return;
    int32_t res, l = s[pos].id, r = s[s[pos].next].id;
    if (l < 0 || r < 0) return;
    int32_t rank = tlm_merge_find(&v->merges, l, r, &res);
    if (rank != INT32_MAX) heap_push(h, hn, (bent){rank, pos, l, r});
}

static tlm_status merge_heap(const tlm_vocab *v, const uint8_t *w, size_t n, tlm_tok_scratch *sc,
                             tlm_ids *out) {
    /* n - 1 entries to start; each merge pops one and pushes at most two,
     * and there are fewer than n merges: the heap never holds 2n. */
    if (tlm_scratch_grow(&sc->sym, &sc->sym_cap, n * sizeof(bsym)) ||
        tlm_scratch_grow(&sc->heap, &sc->heap_cap, 2 * n * sizeof(bent)))
        return TLM_ERR_NOMEM;
    bsym *s = sc->sym;
    bent *h = sc->heap;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++)
        s[i] = (bsym){v->byte_tok[w[i]], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1};
    for (size_t i = 0; i + 1 < n; i++) {
        const tlm_merge_slot *bp = &v->byte_pairs[w[i] * 256 + w[i + 1]];
        if (bp->rank != INT32_MAX)
            heap_push(h, &hn, (bent){bp->rank, (int32_t)i, s[i].id, s[i + 1].id});
    }
    while (hn) {
        bent e = heap_pop(h, &hn);
        int32_t r = s[e.pos].next;
        if (s[e.pos].id != e.left || r < 0 || s[r].id != e.right) continue;
        tlm_merge_find(&v->merges, e.left, e.right, &s[e.pos].id);
        s[r].id = -2; /* dead: matches no entry */
        s[e.pos].next = s[r].next;
        if (s[r].next >= 0) s[s[r].next].prev = e.pos;
        push_pair(v, s, s[e.pos].prev, h, &hn);
        push_pair(v, s, e.pos, h, &hn);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next)
        if (emit(v, s[i].id, out)) return TLM_ERR_NOMEM;
    return TLM_OK;
}

static tlm_status encode_piece(const tlm_vocab *v, const char *p, size_t n, tlm_tok_scratch *s,
                               tlm_ids *out) {
    const uint8_t *w = (const uint8_t *)p;
    if (n == 1) return emit(v, v->byte_tok[w[0]], out);
    if (n <= LINEAR_MAX) return merge_linear(v, w, n, out);
    return merge_heap(v, w, n, s, out);
}

/* ---- Pre-tokenization ---- */

/* Next regex match at or after pos: [*ms, *me); both n when there is none. */
static tlm_status next_match(const tlm_vocab *v, const char *t, size_t n, size_t pos,
                             tlm_tok_scratch *s, size_t *ms, size_t *me) {
    int rc = PCRE2_ERROR_JIT_STACKLIMIT;
    if (v->re_jit) rc = pcre2_jit_match(v->re, (PCRE2_SPTR)t, n, pos, 0, s->md, v->mctx);
    /* A very long run of one class can exhaust the JIT's stack: the
     * interpreter keeps its backtracking frames on the heap. */
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(v->re, (PCRE2_SPTR)t, n, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, s->md,
                         v->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) {
        *ms = *me = n;
        return TLM_OK;
    }
    if (rc < 0) return rc == PCRE2_ERROR_NOMEMORY ? TLM_ERR_NOMEM : TLM_ERR_INTERNAL;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    *ms = ov[0];
    *me = ov[1];
    return TLM_OK;
}

/* Splits like transformers.js's regexSplit: the text between matches is a
 * piece too, and an empty match only moves the search on by a character. */
static tlm_status split_and_encode(const tlm_vocab *v, const char *t, size_t n, tlm_tok_scratch *s,
                                   tlm_ids *out) {
    size_t prev = 0, pos = 0, ms, me;
    tlm_status st;
    while (pos < n) {
        if ((st = next_match(v, t, n, pos, s, &ms, &me))) return st;
        if (ms > prev && (st = encode_piece(v, t + prev, ms - prev, s, out))) return st;
        if (me > ms && (st = encode_piece(v, t + ms, me - ms, s, out))) return st;
        prev = me > ms || ms > prev ? me : prev;
        if (ms == n) break;
        pos = me > ms ? me : ms + tlm_utf8_len((uint8_t)t[ms]);
    }
    if (prev < n) return encode_piece(v, t + prev, n - prev, s, out);
    return TLM_OK;
}

tlm_status tlm_bpe_encode(const tlm_vocab *v, const char *text, size_t len, tlm_tok_scratch *s,
                          tlm_ids *out) {
    if (!s->md && !(s->md = pcre2_match_data_create_from_pattern(v->re, NULL)))
        return TLM_ERR_NOMEM;
    size_t unsafe = v->nfc ? tlm_nfc_first_unsafe(text, len) : len;
    if (unsafe < len) {
        s->text.len = 0;
        tlm_status st = tlm_nfc_append(text, len, unsafe, &s->text);
        if (st) return st;
        text = s->text.data;
        len = s->text.len;
    }
    return split_and_encode(v, text, len, s, out);
}
