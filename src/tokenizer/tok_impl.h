/*
 * tok_impl.h - the tokenizer's private state and helpers, shared by the
 * files of src/tokenizer/ only.
 *
 * Layout: every token has an entry with two strings in one arena: its text
 * as stored in the GGUF, and the bytes it decodes to.  Two hash tables map
 * strings and pairs to ids: `map` finds the token an encoder may produce
 * from a piece of text (byte strings for BPE, escaped text for SPM), and
 * `merges` gives the rank and result of a BPE merge of two ids.
 */
#ifndef TLM_TOKENIZER_IMPL_H
#define TLM_TOKENIZER_IMPL_H

#include "core/util.h"
#include "tokenizer/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Per-token flags. */
enum {
    TLM_TOKF_EOG = 1,     /* ends generation */
    TLM_TOKF_SPECIAL = 2, /* matched in raw text when parsing special tokens */
};

typedef struct tlm_tok {
    uint32_t text_off, text_len;   /* stored text, in vocab->arena */
    uint32_t bytes_off, bytes_len; /* decoded bytes, in vocab->arena */
    float score;                   /* SPM merge priority (higher first) */
    uint8_t type;                  /* tlm_token_type */
    uint8_t flags;                 /* TLM_TOKF_* */
} tlm_tok;

/* String -> id.  Slot: 0 empty, else (hash high 32 bits << 32) | (id + 1).
 * Keys are the strings key_of() returns for an id. */
typedef struct tlm_strmap {
    uint64_t *slots; /* (mask + 1) */
    uint64_t mask;
} tlm_strmap;

/* (left id, right id) -> merge rank and result id. */
typedef struct tlm_merge_slot {
    uint64_t key; /* (left << 32) | right; UINT64_MAX when empty */
    int32_t rank;
    int32_t result;
} tlm_merge_slot;

typedef struct tlm_pairmap {
    tlm_merge_slot *slots; /* (mask + 1) */
    uint64_t mask;
    uint64_t n;
    /* One bit per hash of a pair that has a merge.  Most lookups are for
     * pairs without one, and this answers them from a table small enough
     * for L2 instead of a cache miss in `slots`. */
    uint64_t *filter;     /* (filter_mask + 1) / 64 words */
    uint64_t filter_mask; /* bits - 1 */
} tlm_pairmap;

static inline uint64_t tlm_pair_filter_bit(const tlm_pairmap *pm, uint64_t key) {
    return ((key ^ (key >> 29)) * 0xBF58476D1CE4E5B9ull >> 20) & pm->filter_mask;
}

typedef enum tlm_pre_kind {
    TLM_PRE_NONE = 0, /* SPM: the whole text is one piece */
    TLM_PRE_GPT2,
    TLM_PRE_LLAMA3,
    TLM_PRE_QWEN2,
    TLM_PRE_KIND_COUNT,
} tlm_pre_kind;

struct tlm_vocab {
    tlm_vocab_kind kind;
    tlm_pre_kind pre;
    char pre_name[32];
    int32_t n_tokens;
    tlm_tok *toks;     /* (n_tokens) */
    char *arena;       /* texts and bytes of all tokens */
    size_t max_bytes;  /* longest bytes_len */
    bool map_by_bytes; /* BPE: map keys are decoded bytes; SPM: stored text */
    tlm_strmap map;    /* encoder pieces -> NORMAL (and SPM user-defined) ids */
    tlm_strmap all;    /* stored text -> id, every token */
    tlm_pairmap merges;
    int32_t byte_tok[256];       /* id for a lone byte (BPE) or <0xNN> (SPM); -1 */
    tlm_merge_slot *byte_pairs;  /* BPE: (256 * 256) merge of two lone bytes, key unused */
    bool spm_word_split;         /* SPM: no token has U+2581 right after another character */
    int32_t *specials;           /* TLM_TOKF_SPECIAL ids, by first byte then longest */
    uint32_t special_start[257]; /* specials with first byte b: [start[b], start[b+1]) */
    int32_t bos, eos, eot, eom, pad, unk;
    bool add_bos, add_eos, add_space_prefix;
    pcre2_code *re;            /* pre-tokenizer (BPE) */
    pcre2_match_context *mctx; /* raised limits; read-only, shared by all calls */
    bool re_jit;
    bool nfc; /* NFC-normalise text before pre-tokenizing */
};

static inline const char *tlm_tok_text(const tlm_vocab *v, int32_t id) {
    return v->arena + v->toks[id].text_off;
}
static inline const char *tlm_tok_bytes(const tlm_vocab *v, int32_t id) {
    return v->arena + v->toks[id].bytes_off;
}

/* ---- Growable id array (owns data) ---- */
typedef struct tlm_ids {
    int32_t *data;
    size_t n, cap;
} tlm_ids;

tlm_status tlm_ids_reserve(tlm_ids *a, size_t extra);
static inline tlm_status tlm_ids_push(tlm_ids *a, int32_t id) {
    if (a->n == a->cap && tlm_ids_reserve(a, 1) != TLM_OK) return TLM_ERR_NOMEM;
    a->data[a->n++] = id;
    return TLM_OK;
}

/* ---- Hashing (vocab.c) ---- */
uint64_t tlm_tok_hash(const void *p, size_t n);
/* Id for the string s[0..n) in m (keys by_bytes or by stored text), -1. */
int32_t tlm_strmap_find(const tlm_vocab *v, const tlm_strmap *m, bool by_bytes, const char *s,
                        size_t n);
/* Merge of (a, b): returns the rank (INT32_MAX when there is none) and sets
 * *result. */
static inline int32_t tlm_merge_find(const tlm_pairmap *pm, int32_t a, int32_t b, int32_t *result) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint64_t bit = tlm_pair_filter_bit(pm, key);
    if (!(pm->filter[bit >> 6] & (1ull << (bit & 63)))) return INT32_MAX;
    uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 32;
    for (uint64_t i = h & pm->mask;; i = (i + 1) & pm->mask) {
        const tlm_merge_slot *s = &pm->slots[i];
        if (s->key == key) {
            *result = s->result;
            return s->rank;
        }
        if (s->key == UINT64_MAX) return INT32_MAX;
    }
}

/* ---- UTF-8 and Unicode (utf8.c) ---- */

/* Length of the valid prefix of s[0..n) (n when all valid). */
size_t tlm_utf8_valid_prefix(const char *s, size_t n);
/* Appends s with every maximal invalid subsequence replaced by U+FFFD. */
tlm_status tlm_utf8_sanitize(const char *s, size_t n, tlm_buf *out);
/* Byte length of the UTF-8 character starting with lead byte c (1 for an
 * invalid lead, which sanitized text never has). */
static inline size_t tlm_utf8_len(unsigned char c) {
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 1;
}
/* Incremental WHATWG UTF-8 decoder state. */
typedef struct tlm_utf8_stream {
    uint8_t buf[4];
    uint8_t need, seen, lower, upper;
} tlm_utf8_stream;
/* Feeds n bytes; appends complete characters (and U+FFFD for invalid
 * sequences) to out, which must have room for 3 * n + 4 bytes.  Returns the
 * bytes written. */
size_t tlm_utf8_stream_feed(tlm_utf8_stream *st, const uint8_t *p, size_t n, char *out);
/* Ends the stream: writes U+FFFD (3 bytes) for an unfinished character. */
size_t tlm_utf8_stream_finish(tlm_utf8_stream *st, char *out);
/* Offset of the first code point of valid UTF-8 s[0..n) that NFC might
 * change or combine with what precedes it; n when NFC leaves s as it is. */
size_t tlm_nfc_first_unsafe(const char *s, size_t n);
/* NFC of valid UTF-8 s[0..n), appended to out; from is
 * tlm_nfc_first_unsafe(s, n) (and less than n). */
tlm_status tlm_nfc_append(const char *s, size_t n, size_t from, tlm_buf *out);
/* GPT-2 byte-level alphabet: the code point standing for byte b, and the
 * byte for code point cp (-1 if cp is not in the alphabet). */
uint32_t tlm_bytelevel_cp(uint8_t b);
int tlm_bytelevel_byte(uint32_t cp);

/* ---- Encoders (bpe.c, spm.c, special.c) ---- */

/* Scratch memory reused across the pieces of one tokenize call. */
typedef struct tlm_tok_scratch {
    tlm_buf text;    /* normalised / escaped piece */
    void *sym;       /* symbol arrays */
    size_t sym_cap;  /* bytes */
    void *heap;      /* merge queue */
    size_t heap_cap; /* bytes */
    pcre2_match_data *md;
} tlm_tok_scratch;

void tlm_tok_scratch_free(tlm_tok_scratch *s);
/* Grows a scratch array to hold at least n bytes. */
tlm_status tlm_scratch_grow(void **p, size_t *cap, size_t n);

/* Compiles v->re for v->pre (BPE vocabularies). */
tlm_status tlm_bpe_init(tlm_vocab *v, tlm_error *err);
/* Tokenizes one fragment of plain text (no special tokens). */
tlm_status tlm_bpe_encode(const tlm_vocab *v, const char *text, size_t len, tlm_tok_scratch *s,
                          tlm_ids *out);
tlm_status tlm_spm_encode(const tlm_vocab *v, const char *text, size_t len, bool add_prefix,
                          tlm_tok_scratch *s, tlm_ids *out);

/* Orders v->specials for matching (called once by the loader). */
tlm_status tlm_special_init(tlm_vocab *v);
/* The longest special token whose text starts at text[0..len), -1 if none;
 * its length in *out_len. */
int32_t tlm_special_match(const tlm_vocab *v, const char *text, size_t len, size_t *out_len);

#endif /* TLM_TOKENIZER_IMPL_H */
