/*
 * vocab_hf.c - builds a grammar vocabulary straight from a Hugging Face
 * tokenizer.json with a byte-level BPE model (Qwen2.5, Llama 3, GPT-2).
 *
 * A stopgap for tests and benchmarks until src/tokenizer/ can hand over its
 * token byte strings.  Byte-level BPE stores each byte as one printable
 * code point (GPT-2's bytes_to_unicode: the printable Latin-1 bytes map to
 * themselves, the other 68 to U+0100 onwards in byte order), so a token's
 * bytes are recovered by mapping each code point of its string back.
 * Added tokens are stored as plain text.
 */
#include "grammar/grammar_impl.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Code point (< 0x144) -> byte, or -1: GPT-2's table, inverted. */
static void byte_decoder(int16_t dec[0x144]) {
    for (int i = 0; i < 0x144; i++) dec[i] = -1;
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable)
            dec[b] = (int16_t)b;
        else
            dec[256 + n++] = (int16_t)b;
    }
}

/* Decodes a byte-level token string into out; false if it is not one. */
static bool decode_token(const int16_t dec[0x144], const char *s, size_t len, tlm_buf *out) {
    out->len = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t c = p[i];
        int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : 0;
        if (!n || i + (size_t)n > len) return false;
        if (n == 2) c = ((c & 0x1F) << 6) | (p[i + 1] & 0x3F);
        i += (size_t)n;
        if (c >= 0x144 || dec[c] < 0) return false;
        uint8_t b = (uint8_t)dec[c];
        if (tlm_buf_append(out, &b, 1)) return false;
    }
    return true;
}

static bool is_eog_name(const char *s, const char *const *eog_names) {
    static const char *const deflt[] = {"<|endoftext|>", "<|im_end|>", "<|eot_id|>",
                                        "<|end_of_text|>", NULL};
    for (const char *const *e = eog_names ? eog_names : deflt; *e; e++)
        if (!strcmp(s, *e)) return true;
    return false;
}

typedef struct hf_tokens {
    char **tok;
    uint32_t *len;
    uint8_t *kind;
    int32_t n;
} hf_tokens;

static tlm_status hf_alloc(hf_tokens *t, int32_t n) {
    t->n = n;
    t->tok = tlm_calloc((size_t)n, sizeof(char *));
    t->len = tlm_calloc((size_t)n, sizeof(uint32_t));
    t->kind = tlm_malloc((size_t)n);
    if (!t->tok || !t->len || !t->kind) return TLM_ERR_NOMEM;
    memset(t->kind, TLM_GTOK_NEVER, (size_t)n);
    return TLM_OK;
}

static void hf_free(hf_tokens *t) {
    for (int32_t i = 0; t->tok && i < t->n; i++) free(t->tok[i]);
    free(t->tok);
    free(t->len);
    free(t->kind);
}

static tlm_status hf_set(hf_tokens *t, json_int_t id, const char *b, size_t n, uint8_t kind) {
    if (id < 0 || id >= t->n) return TLM_OK;
    free(t->tok[id]);
    t->tok[id] = tlm_strndup(b, n);
    if (!t->tok[id]) return TLM_ERR_NOMEM;
    t->len[id] = (uint32_t)n;
    t->kind[id] = kind;
    return TLM_OK;
}

/* Largest id named in model.vocab or added_tokens, + 1. */
static json_int_t hf_count(json_t *vocab, json_t *added) {
    json_int_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) if (json_integer_value(val) + 1 > n) n = json_integer_value(val) + 1;
    size_t i;
    json_array_foreach(added, i, val) {
        json_int_t id = json_integer_value(json_object_get(val, "id"));
        if (id + 1 > n) n = id + 1;
    }
    return n;
}

static tlm_status hf_fill(hf_tokens *t, json_t *vocab, json_t *added, const char *const *eog_names,
                          tlm_error *err) {
    int16_t dec[0x144];
    byte_decoder(dec);
    tlm_buf b = {0};
    const char *key;
    json_t *val;
    tlm_status st = TLM_OK;
    json_object_foreach(vocab, key, val) {
        if (!decode_token(dec, key, strlen(key), &b)) {
            st = tlm_error_set(err, TLM_ERR_UNSUPPORTED,
                               "tokenizer.json: token '%.40s' is not byte-level BPE", key);
            break;
        }
        if ((st = hf_set(t, json_integer_value(val), b.data ? b.data : "", b.len, TLM_GTOK_TEXT))) break;
    }
    size_t i;
    json_array_foreach(added, i, val) {
        if (st) break;
        const char *content = json_string_value(json_object_get(val, "content"));
        if (!content) continue;
        bool special = json_is_true(json_object_get(val, "special"));
        uint8_t kind = is_eog_name(content, eog_names) ? TLM_GTOK_EOG
                       : special                       ? TLM_GTOK_NEVER
                                                       : TLM_GTOK_TEXT;
        st = hf_set(t, json_integer_value(json_object_get(val, "id")), content, strlen(content), kind);
    }
    tlm_buf_free(&b);
    if (st == TLM_ERR_NOMEM) tlm_error_set(err, st, "tokenizer.json: out of memory");
    return st;
}

tlm_status tlm_grammar_vocab_load_hf(const char *path, int32_t n_vocab, const char *const *eog_names,
                                     tlm_grammar_vocab **out, tlm_error *err) {
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return tlm_error_set(err, TLM_ERR_IO, "%s: line %d: %s", path, jerr.line, jerr.text);
    json_t *model = json_object_get(root, "model");
    json_t *vocab = json_object_get(model, "vocab");
    json_t *added = json_object_get(root, "added_tokens");
    tlm_status st;
    hf_tokens t = {0};
    if (!json_is_object(vocab)) {
        st = tlm_error_set(err, TLM_ERR_FORMAT, "%s: no model.vocab object", path);
    } else {
        json_int_t n = hf_count(vocab, added);
        if (n_vocab > n) n = n_vocab;
        if (n > (1 << 24)) {
            st = tlm_error_set(err, TLM_ERR_RANGE, "%s: too many tokens", path);
        } else if (!(st = hf_alloc(&t, (int32_t)n)) && !(st = hf_fill(&t, vocab, added, eog_names, err))) {
            st = tlm_grammar_vocab_create(t.n, (const char *const *)t.tok, t.len, t.kind, out, err);
        } else if (st == TLM_ERR_NOMEM) {
            tlm_error_set(err, st, "%s: out of memory", path);
        }
    }
    hf_free(&t);
    json_decref(root);
    return st;
}
