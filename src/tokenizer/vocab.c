/*
 * vocab.c - builds a tlm_vocab from a GGUF file's tokenizer.* keys and
 * answers questions about tokens.
 *
 * Every key is checked before use: counts must agree with the token list,
 * ids must be in range, merges must be "left right".  Defaults for missing
 * keys follow llama.cpp (SPM: BOS 1, EOS 2, UNK 0, add BOS, add a space
 * prefix; BPE: no BOS, no prefix) so files it accepts load here too.
 * Spec: llama.cpp gguf-py/gguf/constants.py (Keys.Tokenizer).
 */
#include "tokenizer/tok_impl.h"

#include <stdio.h>
#include <string.h>

#define KEY(name) "tokenizer.ggml." name

/* ---- Hash tables ---- */

uint64_t tlm_tok_hash(const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t k;
        memcpy(&k, s, 8);
        h = (h ^ k) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) k |= (uint64_t)s[i] << (8 * i);
    h = (h ^ k) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

static uint64_t pow2_at_least(uint64_t n) {
    uint64_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

static void key_of(const tlm_vocab *v, bool by_bytes, int32_t id, const char **s, size_t *n) {
    const tlm_tok *t = &v->toks[id];
    *s = v->arena + (by_bytes ? t->bytes_off : t->text_off);
    *n = by_bytes ? t->bytes_len : t->text_len;
}

int32_t tlm_strmap_find(const tlm_vocab *v, const tlm_strmap *m, bool by_bytes, const char *s,
                        size_t n) {
    uint64_t h = tlm_tok_hash(s, n), tag = h >> 32;
    for (uint64_t i = h & m->mask;; i = (i + 1) & m->mask) {
        uint64_t slot = m->slots[i];
        if (!slot) return -1;
        if ((slot >> 32) != tag) continue;
        int32_t id = (int32_t)(slot & 0xFFFFFFFFu) - 1;
        const char *k;
        size_t kn;
        key_of(v, by_bytes, id, &k, &kn);
        if (kn == n && memcmp(k, s, n) == 0) return id;
    }
}

/* Adds id unless its key is already there (the lowest id wins, as in
 * llama.cpp's token_to_id built in id order). */
static void strmap_add(const tlm_vocab *v, tlm_strmap *m, bool by_bytes, int32_t id) {
    const char *s;
    size_t n;
    key_of(v, by_bytes, id, &s, &n);
    if (tlm_strmap_find(v, m, by_bytes, s, n) >= 0) return;
    uint64_t h = tlm_tok_hash(s, n);
    uint64_t i = h & m->mask;
    while (m->slots[i]) i = (i + 1) & m->mask;
    m->slots[i] = ((h >> 32) << 32) | (uint64_t)(id + 1);
}

static tlm_status strmap_init(tlm_strmap *m, size_t n) {
    uint64_t cap = pow2_at_least((uint64_t)n * 2);
    m->slots = tlm_calloc(cap, sizeof *m->slots);
    m->mask = cap - 1;
    return m->slots ? TLM_OK : TLM_ERR_NOMEM;
}

static tlm_status pairmap_init(tlm_pairmap *pm, size_t n) {
    uint64_t cap = pow2_at_least((uint64_t)n * 2);
    uint64_t bits = pow2_at_least((uint64_t)n * 16); /* about 6% false positives */
    pm->slots = tlm_malloc(cap * sizeof *pm->slots);
    pm->filter = tlm_calloc(bits / 64, sizeof *pm->filter);
    pm->filter_mask = bits - 1;
    if (!pm->slots || !pm->filter) return TLM_ERR_NOMEM;
    for (uint64_t i = 0; i < cap; i++) pm->slots[i].key = UINT64_MAX;
    pm->mask = cap - 1;
    pm->n = 0;
    return TLM_OK;
}

/* Keeps the first (best-ranked) occurrence of a pair. */
static void pairmap_add(tlm_pairmap *pm, int32_t a, int32_t b, int32_t rank, int32_t result) {
    int32_t old;
    if (tlm_merge_find(pm, a, b, &old) != INT32_MAX) return;
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint64_t i = ((key * 0x9E3779B97F4A7C15ull) >> 32) & pm->mask;
    while (pm->slots[i].key != UINT64_MAX) i = (i + 1) & pm->mask;
    pm->slots[i] = (tlm_merge_slot){key, rank, result};
    pm->n++;
    uint64_t bit = tlm_pair_filter_bit(pm, key);
    pm->filter[bit >> 6] |= 1ull << (bit & 63);
}

/* ---- Decoded bytes of a token ---- */

/* Byte-level BPE text back to bytes; false when a character is not in the
 * byte alphabet (the token then stands for its text as is). */
static bool bytelevel_decode(const char *s, size_t n, char *out, size_t *out_len) {
    size_t i = 0, w = 0;
    while (i < n) {
        uint8_t c = (uint8_t)s[i];
        uint32_t cp;
        size_t l = tlm_utf8_len(c);
        if (l == 1 && c < 0x80)
            cp = c;
        else if (l == 2 && i + 1 < n)
            cp = ((uint32_t)(c & 0x1F) << 6) | ((uint8_t)s[i + 1] & 0x3F);
        else
            return false; /* the alphabet is below U+0144: two bytes at most */
        int b = tlm_bytelevel_byte(cp);
        if (b < 0) return false;
        out[w++] = (char)b;
        i += l;
    }
    *out_len = w;
    return true;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "<0xNN>" -> NN, else -1. */
static int byte_token_value(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = hexval(s[3]), lo = hexval(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Writes the bytes token t stands for at out (never longer than its text). */
static size_t decode_token(tlm_vocab_kind kind, uint8_t type, const char *s, size_t n, char *out) {
    size_t w = 0;
    if (kind == TLM_VOCAB_BPE && type == TLM_TOKEN_NORMAL && bytelevel_decode(s, n, out, &w))
        return w;
    if (kind == TLM_VOCAB_SPM && type == TLM_TOKEN_BYTE && byte_token_value(s, n) >= 0) {
        out[0] = (char)byte_token_value(s, n);
        return 1;
    }
    bool spaces =
        kind == TLM_VOCAB_SPM && (type == TLM_TOKEN_NORMAL || type == TLM_TOKEN_USER_DEFINED);
    for (size_t i = 0; i < n; i++) {
        if (spaces && i + 2 < n && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
            out[w++] = ' ';
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    return w;
}

/* ---- Reading the keys ---- */

typedef struct load_ctx {
    const tlm_gguf *g;
    tlm_vocab *v;
    tlm_error *err;
    const tlm_gguf_value *tokens, *types, *scores;
} load_ctx;

/* An optional array with exactly n elements of a numeric type. */
static tlm_status opt_numeric_arr(load_ctx *c, const char *key, bool want_float,
                                  const tlm_gguf_value **out) {
    *out = NULL;
    const tlm_gguf_kv *kv = tlm_gguf_find_kv(c->g, key);
    if (!kv) return TLM_OK;
    const tlm_gguf_value *val = &kv->value;
    tlm_gguf_vtype t = val->type == TLM_GGUF_ARRAY ? val->v.arr.type : TLM_GGUF_VTYPE_COUNT;
    bool is_float = t == TLM_GGUF_F32 || t == TLM_GGUF_F64;
    bool ok = t != TLM_GGUF_VTYPE_COUNT && tlm_gguf_vtype_size(t) > 0 && t != TLM_GGUF_BOOL &&
              (want_float || !is_float);
    if (!ok)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "tokenizer: %s must be an array of %s", key,
                             want_float ? "numbers" : "integers");
    if (val->v.arr.n != (uint64_t)c->v->n_tokens)
        return tlm_error_set(c->err, TLM_ERR_FORMAT,
                             "tokenizer: %s has %llu entries but there are %d tokens", key,
                             (unsigned long long)val->v.arr.n, c->v->n_tokens);
    *out = val;
    return TLM_OK;
}

static tlm_status read_model(load_ctx *c) {
    tlm_gguf_str s;
    tlm_status st = tlm_gguf_get_str(c->g, KEY("model"), &s, c->err);
    if (st == TLM_ERR_NOT_FOUND)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "tokenizer: key %s is missing", KEY("model"));
    if (st) return st;
    if (tlm_gguf_str_eq(s, "gpt2"))
        c->v->kind = TLM_VOCAB_BPE;
    else if (tlm_gguf_str_eq(s, "llama"))
        c->v->kind = TLM_VOCAB_SPM;
    else
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED,
                             "tokenizer: %s \"%.*s\" is not supported (gpt2 or llama)",
                             KEY("model"), (int)TLM_MIN(s.len, 40), s.ptr);
    return TLM_OK;
}

static tlm_status read_arrays(load_ctx *c) {
    tlm_status st = tlm_gguf_get_arr(c->g, KEY("tokens"), TLM_GGUF_STRING, &c->tokens, c->err);
    if (st == TLM_ERR_NOT_FOUND)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "tokenizer: key %s is missing", KEY("tokens"));
    if (st) return st;
    uint64_t n = c->tokens->v.arr.n;
    if (n == 0 || n >= INT32_MAX)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "tokenizer: %s has %llu tokens", KEY("tokens"),
                             (unsigned long long)n);
    c->v->n_tokens = (int32_t)n;
    if ((st = opt_numeric_arr(c, KEY("token_type"), false, &c->types))) return st;
    return opt_numeric_arr(c, KEY("scores"), true, &c->scores);
}

static tlm_status fill_tokens(load_ctx *c) {
    tlm_vocab *v = c->v;
    uint64_t total = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) total += tlm_gguf_arr_str(c->tokens, i).len;
    if (total > (UINT32_MAX - 16) / 2)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "tokenizer: token texts too large");
    v->toks = tlm_calloc((size_t)v->n_tokens, sizeof *v->toks);
    v->arena = tlm_malloc((size_t)total * 2 + 1);
    if (!v->toks || !v->arena) return tlm_error_set(c->err, TLM_ERR_NOMEM, "out of memory");
    uint32_t off = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        tlm_gguf_str s = tlm_gguf_arr_str(c->tokens, i);
        tlm_tok *t = &v->toks[i];
        int64_t type = c->types ? tlm_gguf_arr_i64(c->types, i) : TLM_TOKEN_NORMAL;
        if (type < 0 || type >= TLM_TOKEN_TYPE_COUNT)
            return tlm_error_set(c->err, TLM_ERR_FORMAT,
                                 "tokenizer: %s[%d] = %lld is not a token type (1..6)",
                                 KEY("token_type"), i, (long long)type);
        t->type = type == TLM_TOKEN_UNDEFINED ? TLM_TOKEN_NORMAL : (uint8_t)type;
        t->score = c->scores ? (float)tlm_gguf_arr_f64(c->scores, i) : 0.0f;
        t->text_off = off;
        t->text_len = (uint32_t)s.len;
        memcpy(v->arena + off, s.ptr, s.len);
        off += (uint32_t)s.len;
        t->bytes_off = off;
        t->bytes_len = (uint32_t)decode_token(v->kind, t->type, s.ptr, s.len, v->arena + off);
        off += t->bytes_len;
        if (t->bytes_len > v->max_bytes) v->max_bytes = t->bytes_len;
    }
    return TLM_OK;
}

static tlm_status build_maps(load_ctx *c) {
    tlm_vocab *v = c->v;
    v->map_by_bytes = v->kind == TLM_VOCAB_BPE;
    if (strmap_init(&v->map, (size_t)v->n_tokens) || strmap_init(&v->all, (size_t)v->n_tokens))
        return tlm_error_set(c->err, TLM_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < v->n_tokens; i++) {
        uint8_t type = v->toks[i].type;
        strmap_add(v, &v->all, false, i);
        bool piece = type == TLM_TOKEN_NORMAL ||
                     (v->kind == TLM_VOCAB_SPM && type == TLM_TOKEN_USER_DEFINED);
        if (piece) strmap_add(v, &v->map, v->map_by_bytes, i);
    }
    for (int b = 0; b < 256; b++) v->byte_tok[b] = -1;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        const tlm_tok *t = &v->toks[i];
        if (v->kind == TLM_VOCAB_SPM && t->type == TLM_TOKEN_BYTE) {
            int b = byte_token_value(tlm_tok_text(v, i), t->text_len);
            if (b >= 0 && v->byte_tok[b] < 0) v->byte_tok[b] = i;
        }
    }
    if (v->kind == TLM_VOCAB_BPE)
        for (int b = 0; b < 256; b++) {
            char ch = (char)b;
            v->byte_tok[b] = tlm_strmap_find(v, &v->map, true, &ch, 1);
        }
    v->spm_word_split = v->kind == TLM_VOCAB_SPM;
    for (int32_t i = 0; i < v->n_tokens && v->spm_word_split; i++) {
        const char *t = tlm_tok_text(v, i), *ms = "\xE2\x96\x81";
        size_t n = v->toks[i].text_len;
        for (size_t k = 1; k + 3 <= n; k++)
            if (!memcmp(t + k, ms, 3) && (k < 3 || memcmp(t + k - 3, ms, 3))) {
                v->spm_word_split = false;
                break;
            }
    }
    return TLM_OK;
}

/* The first merges of every piece join two lone bytes: a direct table
 * keeps them out of the hash table. */
static tlm_status build_byte_pairs(load_ctx *c) {
    tlm_vocab *v = c->v;
    v->byte_pairs = tlm_malloc(256 * 256 * sizeof *v->byte_pairs);
    if (!v->byte_pairs) return tlm_error_set(c->err, TLM_ERR_NOMEM, "out of memory");
    for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++) {
            tlm_merge_slot *s = &v->byte_pairs[a * 256 + b];
            s->key = 0;
            s->result = -1;
            s->rank = v->byte_tok[a] < 0 || v->byte_tok[b] < 0
                          ? INT32_MAX
                          : tlm_merge_find(&v->merges, v->byte_tok[a], v->byte_tok[b], &s->result);
        }
    return TLM_OK;
}

/* ---- Merges ---- */

/* Looks up one side of a merge by its byte-level text. */
static int32_t merge_side(const tlm_vocab *v, const char *s, size_t n, char *tmp) {
    size_t bn;
    if (!bytelevel_decode(s, n, tmp, &bn)) return -1;
    return tlm_strmap_find(v, &v->map, true, tmp, bn);
}

static tlm_status read_merges(load_ctx *c) {
    tlm_vocab *v = c->v;
    const tlm_gguf_value *m;
    tlm_status st = tlm_gguf_get_arr(c->g, KEY("merges"), TLM_GGUF_STRING, &m, c->err);
    if (st == TLM_ERR_NOT_FOUND)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "tokenizer: BPE vocabulary without %s",
                             KEY("merges"));
    if (st) return st;
    if (m->v.arr.n >= INT32_MAX)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "tokenizer: too many merges");
    if (pairmap_init(&v->merges, (size_t)m->v.arr.n))
        return tlm_error_set(c->err, TLM_ERR_NOMEM, "out of memory");
    char *tmp = tlm_malloc(v->max_bytes * 2 + 8);
    if (!tmp) return tlm_error_set(c->err, TLM_ERR_NOMEM, "out of memory");
    for (uint64_t r = 0; r < m->v.arr.n; r++) {
        tlm_gguf_str s = tlm_gguf_arr_str(m, r);
        const char *sp = s.len ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
        if (!sp || sp + 1 == s.ptr + s.len) {
            tlm_free(tmp);
            return tlm_error_set(
                c->err, TLM_ERR_FORMAT, "tokenizer: %s[%llu] \"%.*s\" is not \"left right\"",
                KEY("merges"), (unsigned long long)r, (int)TLM_MIN(s.len, 40), s.ptr);
        }
        size_t ln = (size_t)(sp - s.ptr), rn = s.len - ln - 1;
        if (ln > v->max_bytes * 2 || rn > v->max_bytes * 2) continue; /* no such token */
        int32_t a = merge_side(v, s.ptr, ln, tmp);
        int32_t b = merge_side(v, sp + 1, rn, tmp);
        if (a < 0 || b < 0) continue; /* llama.cpp keeps going too */
        size_t an = v->toks[a].bytes_len, bn = v->toks[b].bytes_len;
        memcpy(tmp, tlm_tok_bytes(v, a), an);
        memcpy(tmp + an, tlm_tok_bytes(v, b), bn);
        int32_t res =
            an + bn <= v->max_bytes ? tlm_strmap_find(v, &v->map, true, tmp, an + bn) : -1;
        if (res >= 0) pairmap_add(&v->merges, a, b, (int32_t)r, res);
    }
    tlm_free(tmp);
    return TLM_OK;
}

/* ---- Special ids and flags ---- */

static tlm_status read_id(load_ctx *c, const char *key, int32_t *out) {
    uint32_t id;
    tlm_status st = tlm_gguf_get_u32(c->g, key, &id, c->err);
    if (st == TLM_ERR_NOT_FOUND) return TLM_OK;
    if (st) return st; /* the reader's message names the key and both types */
    if (id >= (uint32_t)c->v->n_tokens)
        return tlm_error_set(c->err, TLM_ERR_FORMAT,
                             "tokenizer: %s = %u but the vocabulary has %d tokens", key, id,
                             c->v->n_tokens);
    *out = (int32_t)id;
    return TLM_OK;
}

static tlm_status read_flag(load_ctx *c, const char *key, bool *out) {
    tlm_status st = tlm_gguf_get_bool(c->g, key, out, c->err);
    return st == TLM_ERR_NOT_FOUND ? TLM_OK : st;
}

static int32_t find_text(const tlm_vocab *v, const char *z) {
    return tlm_strmap_find(v, &v->all, false, z, strlen(z));
}

static tlm_status read_specials(load_ctx *c) {
    tlm_vocab *v = c->v;
    bool spm = v->kind == TLM_VOCAB_SPM;
    v->bos = spm && v->n_tokens > 1 ? 1 : -1;
    v->eos = spm && v->n_tokens > 2 ? 2 : -1;
    v->unk = spm ? 0 : -1;
    v->eot = v->eom = v->pad = -1;
    v->add_bos = spm;
    v->add_eos = false;
    v->add_space_prefix = spm;
    tlm_status st;
    if ((st = read_id(c, KEY("bos_token_id"), &v->bos)) ||
        (st = read_id(c, KEY("eos_token_id"), &v->eos)) ||
        (st = read_id(c, KEY("unknown_token_id"), &v->unk)) ||
        (st = read_id(c, KEY("padding_token_id"), &v->pad)) ||
        (st = read_id(c, KEY("eot_token_id"), &v->eot)) ||
        (st = read_id(c, KEY("eom_token_id"), &v->eom)) ||
        (st = read_flag(c, KEY("add_bos_token"), &v->add_bos)) ||
        (st = read_flag(c, KEY("add_eos_token"), &v->add_eos)) ||
        (st = read_flag(c, KEY("add_space_prefix"), &v->add_space_prefix)))
        return st;
    if (v->add_bos && v->bos < 0)
        return tlm_error_set(c->err, TLM_ERR_FORMAT,
                             "tokenizer: add_bos_token is set but there is no BOS token");
    if (v->add_eos && v->eos < 0)
        return tlm_error_set(c->err, TLM_ERR_FORMAT,
                             "tokenizer: add_eos_token is set but there is no EOS token");
    return TLM_OK;
}

/* Markers that end a turn or a text in the common chat formats: all end
 * generation, and the first N_EOT_TEXTS (in order of preference) become
 * the EOT id when the file names none, as llama.cpp infers it. */
static const char *const EOG_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<EOT>", "_<EOT>",
    ("<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"),
    "<|endoftext|>", "<|end_of_text|>", "<|eom_id|>",
};
#define N_EOT_TEXTS 8

static void set_flags(tlm_vocab *v) {
    for (int32_t i = 0; i < v->n_tokens; i++) {
        tlm_tok *t = &v->toks[i];
        bool special = t->type == TLM_TOKEN_CONTROL || t->type == TLM_TOKEN_USER_DEFINED ||
                       t->type == TLM_TOKEN_UNKNOWN;
        if (special && t->text_len > 0) t->flags |= TLM_TOKF_SPECIAL;
    }
    for (size_t k = 0; k < TLM_ARRAY_LEN(EOG_TEXTS); k++) {
        int32_t id = find_text(v, EOG_TEXTS[k]);
        if (id < 0) continue;
        v->toks[id].flags |= TLM_TOKF_EOG;
        if (v->eot < 0 && k < N_EOT_TEXTS) v->eot = id;
    }
    int32_t ids[3] = {v->eos, v->eot, v->eom};
    for (int k = 0; k < 3; k++)
        if (ids[k] >= 0) v->toks[ids[k]].flags |= TLM_TOKF_EOG;
}

static tlm_status read_pre(load_ctx *c) {
    tlm_vocab *v = c->v;
    tlm_gguf_str s = {"default", 7};
    tlm_status st = tlm_gguf_get_str(c->g, KEY("pre"), &s, c->err);
    if (st && st != TLM_ERR_NOT_FOUND) return st;
    if (st == TLM_ERR_NOT_FOUND) s = (tlm_gguf_str){"default", 7};
    snprintf(v->pre_name, sizeof v->pre_name, "%.*s", (int)TLM_MIN(s.len, 31), s.ptr);
    if (v->kind == TLM_VOCAB_SPM) {
        v->pre = TLM_PRE_NONE;
        return TLM_OK;
    }
    if (tlm_gguf_str_eq(s, "qwen2"))
        v->pre = TLM_PRE_QWEN2;
    else if (tlm_gguf_str_eq(s, "llama-bpe") || tlm_gguf_str_eq(s, "llama3") ||
             tlm_gguf_str_eq(s, "smaug-bpe"))
        v->pre = TLM_PRE_LLAMA3;
    else if (tlm_gguf_str_eq(s, "gpt2") || tlm_gguf_str_eq(s, "default"))
        v->pre = TLM_PRE_GPT2;
    else
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED,
                             "tokenizer: %s \"%s\" is not supported (qwen2, llama-bpe, gpt2)",
                             KEY("pre"), v->pre_name);
    return tlm_bpe_init(v, c->err);
}

tlm_status tlm_vocab_load(const tlm_gguf *g, tlm_vocab **out, tlm_error *err) {
    *out = NULL;
    tlm_vocab *v = tlm_calloc(1, sizeof *v);
    if (!v) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    load_ctx c = {g, v, err, NULL, NULL, NULL};
    tlm_status st;
    if ((st = read_model(&c)) || (st = read_arrays(&c)) || (st = fill_tokens(&c)) ||
        (st = build_maps(&c)) || (st = read_specials(&c)) || (st = read_pre(&c)))
        goto fail;
    if (v->kind == TLM_VOCAB_BPE && ((st = read_merges(&c)) || (st = build_byte_pairs(&c))))
        goto fail;
    set_flags(v);
    if ((st = tlm_special_init(v))) {
        tlm_error_set(err, st, "out of memory");
        goto fail;
    }
    *out = v;
    return TLM_OK;
fail:
    tlm_vocab_free(v);
    return st;
}

void tlm_vocab_free(tlm_vocab *v) {
    if (!v) return;
    if (v->re) pcre2_code_free(v->re);
    if (v->mctx) pcre2_match_context_free(v->mctx);
    tlm_free(v->toks);
    tlm_free(v->arena);
    tlm_free(v->map.slots);
    tlm_free(v->all.slots);
    tlm_free(v->merges.slots);
    tlm_free(v->merges.filter);
    tlm_free(v->byte_pairs);
    tlm_free(v->specials);
    tlm_free(v);
}

/* ---- Getters ---- */

tlm_vocab_kind tlm_vocab_kind_of(const tlm_vocab *v) { return v->kind; }
const char *tlm_vocab_pre_name(const tlm_vocab *v) { return v->pre_name; }
int32_t tlm_vocab_n_tokens(const tlm_vocab *v) { return v->n_tokens; }
int32_t tlm_vocab_bos(const tlm_vocab *v) { return v->bos; }
int32_t tlm_vocab_eos(const tlm_vocab *v) { return v->eos; }
int32_t tlm_vocab_eot(const tlm_vocab *v) { return v->eot; }
int32_t tlm_vocab_pad(const tlm_vocab *v) { return v->pad; }
int32_t tlm_vocab_unk(const tlm_vocab *v) { return v->unk; }
bool tlm_vocab_add_bos(const tlm_vocab *v) { return v->add_bos; }
bool tlm_vocab_add_eos(const tlm_vocab *v) { return v->add_eos; }
size_t tlm_vocab_max_token_bytes(const tlm_vocab *v) { return v->max_bytes; }

static bool in_range(const tlm_vocab *v, int32_t id) { return id >= 0 && id < v->n_tokens; }

bool tlm_vocab_is_eog(const tlm_vocab *v, int32_t id) {
    return in_range(v, id) && (v->toks[id].flags & TLM_TOKF_EOG);
}

tlm_token_type tlm_vocab_token_type(const tlm_vocab *v, int32_t id) {
    return in_range(v, id) ? (tlm_token_type)v->toks[id].type : TLM_TOKEN_UNDEFINED;
}

const char *tlm_vocab_token_text(const tlm_vocab *v, int32_t id, size_t *out_len) {
    *out_len = in_range(v, id) ? v->toks[id].text_len : 0;
    return in_range(v, id) ? tlm_tok_text(v, id) : NULL;
}

const char *tlm_vocab_token_bytes(const tlm_vocab *v, int32_t id, size_t *out_len) {
    *out_len = in_range(v, id) ? v->toks[id].bytes_len : 0;
    return in_range(v, id) ? tlm_tok_bytes(v, id) : NULL;
}

int32_t tlm_vocab_find(const tlm_vocab *v, const char *text, size_t len) {
    return tlm_strmap_find(v, &v->all, false, text, len);
}
