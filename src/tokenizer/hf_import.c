/*
 * hf_import.c - turns a Hugging Face tokenizer directory (tokenizer.json,
 * tokenizer_config.json, config.json) into GGUF tokenizer.* keys, the way
 * llama.cpp's convert_hf_to_gguf.py writes them.
 *
 * Byte-level BPE (no byte_fallback; Qwen, Llama 3) becomes model "gpt2"
 * with the pre-tokenizer named after its regex, the token list, token types
 * (added tokens are CONTROL when special or special-looking, else
 * USER_DEFINED) and the merges as "left right" strings (get_vocab_base +
 * SpecialVocab in the converter).
 * BPE with byte_fallback (Gemma, Llama 2 exported by HF) becomes model
 * "llama", whose encoder merges by token score.  tokenizer.json has no
 * scores, so each token's score is minus the rank of the first merge that
 * forms it: merging by score then picks merges in rank order (see spm.c for
 * how ties between merges forming the same token are broken).
 * Special ids follow gguf-py's SpecialVocab: tokenizer_config.json's
 * *_token strings looked up among the added tokens, then config.json's
 * *_token_id; add_bos/add_eos from the post-processor and the config.
 */
#include "core/util.h"
#include "tokenizer/tokenizer.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* gguf-py SpecialVocab types and their keys. */
enum {
    SP_BOS,
    SP_EOS,
    SP_UNK,
    SP_SEP,
    SP_PAD,
    SP_CLS,
    SP_MASK,
    SP_EOT,
    SP_PREFIX,
    SP_SUFFIX,
    SP_MIDDLE,
    SP_COUNT
};
static const char *const SP_NAME[SP_COUNT] = {"bos",  "eos", "unk",    "sep",    "pad",   "cls",
                                              "mask", "eot", "prefix", "suffix", "middle"};
static const char *const SP_KEY[SP_COUNT] = {
    "tokenizer.ggml.bos_token_id",     "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
    "tokenizer.ggml.padding_token_id", "tokenizer.ggml.cls_token_id",
    "tokenizer.ggml.mask_token_id",    "tokenizer.ggml.eot_token_id",
    "tokenizer.ggml.prefix_token_id",  "tokenizer.ggml.suffix_token_id",
    "tokenizer.ggml.middle_token_id",
};

/* The Hugging Face pre-tokenizer regexes we can run, by llama.cpp name. */
static const struct {
    const char *name, *regex;
} KNOWN_PRE[] = {
    {"qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}"
              "\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    {"llama-bpe", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^"
                  "\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
};

typedef struct hf_ctx {
    const char *dir;
    const tlm_hf_import_opts *opts;
    tlm_error *err;
    json_t *tok, *tcfg, *cfg; /* tokenizer.json, tokenizer_config.json, config.json */
    json_t *model, *vocab, *added;
    bool spm; /* byte-fallback BPE -> "llama" */
    const char *pre;
    int64_t n;          /* tokens written */
    const char **texts; /* (n) borrowed from the JSON or from pad */
    int32_t *types;     /* (n) */
    float *scores;      /* (n), SPM only */
    char *pad;          /* "[PADn]" strings and rewritten texts */
    size_t pad_len, pad_cap;
    int64_t special[SP_COUNT]; /* -1 = unset */
    int add_bos, add_eos;      /* -1 unset, 0, 1 */
} hf_ctx;

/* ---- JSON helpers ---- */

/* Jansson rejects integers beyond 64 bits, which configs do write
 * ("model_max_length": 1000000000000000019884624838656): copy the text with
 * such literals turned into reals ("...656.0"), leaving strings alone. */
static tlm_status widen_big_ints(const char *s, size_t n, tlm_buf *out) {
    size_t i = 0;
    bool in_str = false;
    while (i < n) {
        char c = s[i];
        if (in_str || c == '"') {
            if (in_str && c == '\\' && i + 1 < n) {
                if (tlm_buf_append(out, s + i, 2)) return TLM_ERR_NOMEM;
                i += 2;
                continue;
            }
            if (c == '"') in_str = !in_str;
            if (tlm_buf_append(out, &c, 1)) return TLM_ERR_NOMEM;
            i++;
            continue;
        }
        size_t j = i + (c == '-');
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
        bool number = j > i + (c == '-');
        if (tlm_buf_append(out, s + i, number ? j - i : 1)) return TLM_ERR_NOMEM;
        bool is_int = number && (j == n || (s[j] != '.' && s[j] != 'e' && s[j] != 'E'));
        if (is_int && j - i > 18 && tlm_buf_append(out, ".0", 2)) return TLM_ERR_NOMEM;
        i = number ? j : i + 1;
    }
    return TLM_OK;
}

static tlm_status load_json(hf_ctx *c, const char *name, bool required, json_t **out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (!required) return TLM_OK;
        return tlm_error_set(c->err, TLM_ERR_NOT_FOUND, "hf import: cannot open %s", path);
    }
    tlm_buf raw = {0}, text = {0};
    char chunk[65536];
    size_t got;
    tlm_status st = TLM_OK;
    while (!st && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        st = tlm_buf_append(&raw, chunk, got);
    bool io_error = ferror(f);
    fclose(f);
    if (!st && !io_error) st = widen_big_ints(raw.data ? raw.data : "", raw.len, &text);
    tlm_buf_free(&raw);
    if (st || io_error) {
        tlm_buf_free(&text);
        return io_error ? tlm_error_set(c->err, TLM_ERR_IO, "hf import: cannot read %s", path)
                        : tlm_error_set(c->err, TLM_ERR_NOMEM, "out of memory");
    }
    json_error_t je;
    *out = json_loadb(text.data ? text.data : "", text.len, JSON_ALLOW_NUL, &je);
    tlm_buf_free(&text);
    if (!*out)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "hf import: %s:%d: %s", path, je.line,
                             je.text);
    if (!json_is_object(*out))
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "hf import: %s is not a JSON object", path);
    return TLM_OK;
}

static const char *str_field(json_t *obj, const char *key) {
    return json_string_value(json_object_get(obj, key));
}

/* A *_token entry of tokenizer_config.json: a string or {"content": ...}. */
static const char *token_content(json_t *entry) {
    if (json_is_string(entry)) return json_string_value(entry);
    if (json_is_object(entry)) return str_field(entry, "content");
    return NULL;
}

/* Copies s into c->pad; returns its offset (pointers are fixed up once all
 * strings are in, since pad may move). */
static tlm_status pad_add(hf_ctx *c, const char *s, size_t n, size_t *off) {
    if (c->pad_cap - c->pad_len < n + 1) {
        size_t cap = c->pad_cap ? c->pad_cap : 4096;
        while (cap - c->pad_len < n + 1) cap *= 2;
        char *p = tlm_realloc(c->pad, cap);
        if (!p) return TLM_ERR_NOMEM;
        c->pad = p;
        c->pad_cap = cap;
    }
    memcpy(c->pad + c->pad_len, s, n);
    c->pad[c->pad_len + n] = '\0';
    *off = c->pad_len;
    c->pad_len += n + 1;
    return TLM_OK;
}

/* ---- Model and pre-tokenizer ---- */

static bool has_bytelevel(json_t *pt) {
    if (!pt) return false;
    const char *type = str_field(pt, "type");
    if (type && !strcmp(type, "ByteLevel")) return true;
    json_t *list = json_object_get(pt, "pretokenizers"), *e;
    size_t i;
    json_array_foreach(list, i, e) if (has_bytelevel(e)) return true;
    return false;
}

/* The Split regex of the pre-tokenizer, or NULL. */
static const char *split_regex(json_t *pt) {
    const char *type = str_field(pt, "type");
    if (type && !strcmp(type, "Split")) return str_field(json_object_get(pt, "pattern"), "Regex");
    json_t *list = json_object_get(pt, "pretokenizers"), *e;
    size_t i;
    json_array_foreach(list, i, e) {
        const char *r = split_regex(e);
        if (r) return r;
    }
    return NULL;
}

static tlm_status detect_pre(hf_ctx *c) {
    json_t *pt = json_object_get(c->tok, "pre_tokenizer");
    if (c->spm) {
        c->pre = "default";
        return TLM_OK;
    }
    if (!has_bytelevel(pt))
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED,
                             "hf import: a BPE tokenizer without byte fallback must have a "
                             "ByteLevel pre-tokenizer");
    const char *re = split_regex(pt);
    if (!re) {
        c->pre = "gpt2"; /* ByteLevel with its built-in GPT-2 regex */
        return TLM_OK;
    }
    for (size_t i = 0; i < TLM_ARRAY_LEN(KNOWN_PRE); i++)
        if (!strcmp(re, KNOWN_PRE[i].regex)) {
            c->pre = KNOWN_PRE[i].name;
            return TLM_OK;
        }
    return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED,
                         "hf import: pre-tokenizer regex not supported: %.200s", re);
}

static tlm_status read_model(hf_ctx *c) {
    c->model = json_object_get(c->tok, "model");
    const char *type = str_field(c->model, "type");
    if (!type || strcmp(type, "BPE"))
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED,
                             "hf import: tokenizer.json model type %s is not supported (BPE)",
                             type ? type : "(missing)");
    c->vocab = json_object_get(c->model, "vocab");
    if (!json_is_object(c->vocab) || !json_is_array(json_object_get(c->model, "merges")))
        return tlm_error_set(c->err, TLM_ERR_FORMAT,
                             "hf import: tokenizer.json model has no vocab object or merges");
    c->added = json_object_get(c->tok, "added_tokens");
    if (c->added && !json_is_array(c->added))
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "hf import: added_tokens is not a list");
    c->spm = json_is_true(json_object_get(c->model, "byte_fallback"));
    return detect_pre(c);
}

/* ---- Tokens, types and scores ---- */

static tlm_status json_id(hf_ctx *c, json_t *v, const char *what, int64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= INT32_MAX)
        return tlm_error_set(c->err, TLM_ERR_FORMAT, "hf import: %s has no valid id", what);
    *out = json_integer_value(v);
    return TLM_OK;
}

static tlm_status count_tokens(hf_ctx *c) {
    int64_t need = 0, id;
    const char *key;
    json_t *val;
    tlm_status st;
    json_object_foreach(c->vocab, key, val) {
        if ((st = json_id(c, val, key, &id))) return st;
        need = TLM_MAX(need, id + 1);
    }
    size_t i;
    json_array_foreach(c->added, i, val) {
        if ((st = json_id(c, json_object_get(val, "id"), "an added token", &id))) return st;
        need = TLM_MAX(need, id + 1);
    }
    int64_t want = c->opts->n_vocab;
    json_t *cv = json_object_get(c->cfg, "vocab_size");
    if (want <= 0 && json_is_integer(cv)) want = json_integer_value(cv);
    if (want <= 0) want = need;
    if (want < need || want >= INT32_MAX)
        return tlm_error_set(c->err, TLM_ERR_RANGE,
                             "hf import: vocabulary size %lld cannot hold token ids up to %lld",
                             (long long)want, (long long)need - 1);
    c->n = want;
    return TLM_OK;
}

/* does_token_look_special() of the converter. */
static bool looks_special(const char *t) {
    size_t n = strlen(t);
    static const char *const names[] = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"};
    for (size_t i = 0; i < TLM_ARRAY_LEN(names); i++)
        if (!strcmp(t, names[i])) return true;
    if (n >= 4 && !strncmp(t, "<|", 2) && !strcmp(t + n - 2, "|>")) return true;
    if (n >= 8 && !strncmp(t, "<\xEF\xBD\x9C", 4) && !strcmp(t + n - 4, "\xEF\xBD\x9C>"))
        return true;
    return n >= 8 && !strncmp(t, "<unused", 7) && t[n - 1] == '>';
}

static bool is_byte_token(const char *t) {
    return strlen(t) == 6 && !strncmp(t, "<0x", 3) && t[5] == '>' &&
           strchr("0123456789abcdefABCDEF", t[3]) && strchr("0123456789abcdefABCDEF", t[4]);
}

/* Texts still in c->pad are recorded as offsets until pad stops moving. */
typedef struct pad_refs {
    int64_t *off; /* (n) offset in pad, -1 = text is borrowed */
} pad_refs;

static tlm_status set_added(hf_ctx *c, pad_refs *r) {
    size_t i;
    json_t *a;
    json_array_foreach(c->added, i, a) {
        int64_t id = json_integer_value(json_object_get(a, "id"));
        json_t *content = json_object_get(a, "content");
        const char *t = json_string_value(content);
        if (!t || strlen(t) != json_string_length(content))
            return tlm_error_set(c->err, TLM_ERR_FORMAT,
                                 "hf import: added token %lld has no usable content",
                                 (long long)id);
        bool control = json_is_true(json_object_get(a, "special")) || looks_special(t);
        c->types[id] = control ? TLM_TOKEN_CONTROL : TLM_TOKEN_USER_DEFINED;
        c->texts[id] = t;
        if (c->spm) c->scores[id] = -1000.0f;
        if (c->spm && !control && strstr(t, "\xE2\x96\x81")) {
            /* The converter stores user-defined SPM tokens with plain spaces. */
            char *buf = tlm_strdup(t);
            size_t w = 0, off;
            for (const char *p = t; buf && *p; p++) {
                bool ms = !strncmp(p, "\xE2\x96\x81", 3);
                buf[w++] = ms ? ' ' : *p;
                p += ms ? 2 : 0;
            }
            tlm_status st = buf ? pad_add(c, buf, w, &off) : TLM_ERR_NOMEM;
            tlm_free(buf);
            if (st) return st;
            r->off[id] = (int64_t)off;
        }
    }
    return TLM_OK;
}

static tlm_status fill_tokens(hf_ctx *c) {
    c->texts = tlm_calloc((size_t)c->n, sizeof *c->texts);
    c->types = tlm_calloc((size_t)c->n, sizeof *c->types);
    c->scores = c->spm ? tlm_calloc((size_t)c->n, sizeof *c->scores) : NULL;
    pad_refs r = {tlm_malloc((size_t)c->n * sizeof *r.off)};
    if (!c->texts || !c->types || (c->spm && !c->scores) || !r.off) {
        tlm_free(r.off);
        return TLM_ERR_NOMEM;
    }
    for (int64_t i = 0; i < c->n; i++) r.off[i] = -1;
    const char *key;
    json_t *val;
    json_object_foreach(c->vocab, key, val) {
        int64_t id = json_integer_value(val);
        if (c->texts[id]) continue;
        c->texts[id] = key;
        c->types[id] = c->spm && is_byte_token(key) ? TLM_TOKEN_BYTE : TLM_TOKEN_NORMAL;
    }
    tlm_status st = set_added(c, &r);
    const char *unk = str_field(c->model, "unk_token");
    json_t *unk_id = unk ? json_object_get(c->vocab, unk) : NULL;
    if (!st && c->spm && unk_id && c->types[json_integer_value(unk_id)] == TLM_TOKEN_NORMAL)
        c->types[json_integer_value(unk_id)] = TLM_TOKEN_UNKNOWN;
    for (int64_t i = 0; !st && i < c->n; i++) {
        if (c->texts[i]) continue;
        char buf[32];
        size_t off;
        int len = snprintf(buf, sizeof buf, "[PAD%lld]", (long long)i);
        if (pad_add(c, buf, (size_t)len, &off)) st = TLM_ERR_NOMEM;
        r.off[i] = (int64_t)off;
        c->types[i] = TLM_TOKEN_UNUSED;
        if (c->spm) c->scores[i] = -1000.0f;
    }
    for (int64_t i = 0; !st && i < c->n; i++)
        if (r.off[i] >= 0) c->texts[i] = c->pad + r.off[i];
    tlm_free(r.off);
    return st == TLM_ERR_NOMEM ? tlm_error_set(c->err, st, "out of memory") : st;
}

/* One merge as its two sides (old "a b" strings split at the first space,
 * as transformers.js does; new ["a", "b"] pairs as they are). */
static bool merge_sides(json_t *m, const char **a, size_t *an, const char **b, size_t *bn) {
    if (json_is_string(m)) {
        const char *s = json_string_value(m), *sp = strchr(s, ' ');
        if (!sp) return false;
        *a = s;
        *an = (size_t)(sp - s);
        *b = sp + 1;
        *bn = strcspn(sp + 1, " ");
        return true;
    }
    if (json_array_size(m) != 2 || !json_is_string(json_array_get(m, 0)) ||
        !json_is_string(json_array_get(m, 1)))
        return false;
    *a = json_string_value(json_array_get(m, 0));
    *b = json_string_value(json_array_get(m, 1));
    *an = strlen(*a);
    *bn = strlen(*b);
    return true;
}

/* Score of a token = minus the rank of the first merge that forms it. */
static tlm_status derive_scores(hf_ctx *c) {
    json_t *merges = json_object_get(c->model, "merges"), *m;
    bool *seen = tlm_calloc((size_t)c->n, 1);
    char *buf = tlm_malloc(4096);
    if (!seen || !buf) {
        tlm_free(seen);
        tlm_free(buf);
        return tlm_error_set(c->err, TLM_ERR_NOMEM, "out of memory");
    }
    size_t r;
    tlm_status st = TLM_OK;
    json_array_foreach(merges, r, m) {
        const char *a, *b;
        size_t an, bn;
        if (!merge_sides(m, &a, &an, &b, &bn)) {
            st = tlm_error_set(c->err, TLM_ERR_FORMAT, "hf import: merge %zu is malformed", r);
            break;
        }
        if (an + bn >= 4096) continue;
        memcpy(buf, a, an);
        memcpy(buf + an, b, bn);
        buf[an + bn] = '\0';
        json_t *id = json_object_get(c->vocab, buf);
        if (!json_is_integer(id) || seen[json_integer_value(id)]) continue;
        seen[json_integer_value(id)] = true;
        if (c->types[json_integer_value(id)] == TLM_TOKEN_NORMAL)
            c->scores[json_integer_value(id)] = -(float)r;
    }
    tlm_free(seen);
    tlm_free(buf);
    return st;
}

/* Merges for a "gpt2" file: "left right", spaces inside a side written as
 * U+0120 as the converter does for the new pair format.  Rewritten merges
 * live in *arena (free it with tlm_buf_free after use). */
static tlm_status collect_merges(hf_ctx *c, const char ***out, size_t *n_out, tlm_buf *arena) {
    json_t *merges = json_object_get(c->model, "merges"), *m;
    size_t n = json_array_size(merges), i;
    int64_t *off = tlm_malloc((n + 1) * sizeof *off);
    const char **list = tlm_malloc((n + 1) * sizeof *list);
    tlm_status st = off && list ? TLM_OK : TLM_ERR_NOMEM;
    json_array_foreach(merges, i, m) {
        if (st) break;
        off[i] = -1;
        if ((list[i] = json_string_value(m))) {
            if (!strchr(list[i], ' '))
                st = tlm_error_set(c->err, TLM_ERR_FORMAT, "hf import: merge %zu is malformed", i);
            continue;
        }
        const char *a, *b;
        size_t an, bn;
        if (!merge_sides(m, &a, &an, &b, &bn)) {
            st = tlm_error_set(c->err, TLM_ERR_FORMAT, "hf import: merge %zu is malformed", i);
            continue;
        }
        off[i] = (int64_t)arena->len;
        for (size_t k = 0; k < an + 1 + bn && !st; k++) {
            char ch = k < an ? a[k] : k == an ? ' ' : b[k - an - 1];
            bool inner_space = k != an && ch == ' ';
            st = inner_space ? tlm_buf_append(arena, "\xC4\xA0", 2) : tlm_buf_append(arena, &ch, 1);
        }
        if (!st) st = tlm_buf_append(arena, "", 1);
    }
    for (i = 0; !st && i < n; i++)
        if (off[i] >= 0) list[i] = arena->data + off[i];
    tlm_free(off);
    if (st) {
        tlm_free(list);
        return st == TLM_ERR_NOMEM ? tlm_error_set(c->err, st, "out of memory") : st;
    }
    *out = list;
    *n_out = n;
    return TLM_OK;
}

/* ---- Special tokens ---- */

static int64_t added_id(hf_ctx *c, const char *content) {
    size_t i;
    json_t *a;
    if (!content) return -1;
    json_array_foreach(c->added, i, a) {
        const char *t = str_field(a, "content");
        if (t && !strcmp(t, content)) return json_integer_value(json_object_get(a, "id"));
    }
    return -1;
}

static void set_special(hf_ctx *c, int typ, int64_t id) {
    if (id >= 0 && id < c->n && c->special[typ] < 0) c->special[typ] = id;
}

static const char *special_id_of(json_t *item) {
    return str_field(json_object_get(item, "SpecialToken"), "id");
}

/* SpecialVocab's reading of TemplateProcessing / RobertaProcessing: does
 * the single-sequence template start with BOS or end with EOS?  May
 * rewrite eos_token/eot_token in the (private) tokenizer_config copy. */
static void read_post_processor(hf_ctx *c, const char **eos_content, const char **eot_content) {
    json_t *pp = json_object_get(c->tok, "post_processor"), *list, *p;
    if (!pp) return;
    list = json_object_get(pp, "processors");
    size_t k, n = list ? json_array_size(list) : 1;
    const char *bos = json_string_value(json_object_get(c->tcfg, "bos_token"));
    const char *cls = json_string_value(json_object_get(c->tcfg, "cls_token"));
    for (k = 0; k < n; k++) {
        p = list ? json_array_get(list, k) : pp;
        const char *type = str_field(p, "type");
        if (type && !strcmp(type, "RobertaProcessing")) {
            c->add_bos = c->add_eos = 1;
            continue;
        }
        if (!type || strcmp(type, "TemplateProcessing")) continue;
        json_t *single = json_object_get(p, "single");
        size_t sn = json_array_size(single);
        if (sn < 2) continue;
        const char *first = special_id_of(json_array_get(single, 0));
        const char *last = special_id_of(json_array_get(single, sn - 1));
        if (first) c->add_bos = (bos && !strcmp(first, bos)) || (cls && !strcmp(first, cls));
        if (last) {
            if (*eos_content && strcmp(last, *eos_content)) *eot_content = *eos_content;
            *eos_content = last;
            c->add_eos = 1;
        }
    }
}

static void read_specials(hf_ctx *c) {
    for (int t = 0; t < SP_COUNT; t++) c->special[t] = -1;
    c->add_bos = c->add_eos = -1;
    const char *content[SP_COUNT] = {0};
    for (int t = 0; t < SP_EOT; t++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token", SP_NAME[t]);
        content[t] = token_content(json_object_get(c->tcfg, key));
    }
    if (!content[SP_BOS]) content[SP_BOS] = content[SP_CLS];
    if (!content[SP_EOS]) content[SP_EOS] = content[SP_SEP];
    read_post_processor(c, &content[SP_EOS], &content[SP_EOT]);
    json_t *ab = json_object_get(c->tcfg, "add_bos_token");
    json_t *ae = json_object_get(c->tcfg, "add_eos_token");
    if (json_is_boolean(ab)) c->add_bos = json_is_true(ab);
    if (json_is_boolean(ae)) c->add_eos = json_is_true(ae);
    for (int t = 0; t < SP_COUNT; t++) set_special(c, t, added_id(c, content[t]));
    /* config.json (or the caller standing in for it) fills the gaps. */
    for (int t = 0; t < SP_EOT; t++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token_id", SP_NAME[t]);
        json_t *id = json_object_get(c->cfg, key);
        if (t == SP_BOS && c->opts->bos_id >= 0) set_special(c, t, c->opts->bos_id);
        if (t == SP_EOS && c->opts->eos_id >= 0) set_special(c, t, c->opts->eos_id);
        if (json_is_integer(id)) set_special(c, t, json_integer_value(id));
    }
    /* GemmaModel.set_vocab: CodeGemma's FIM ids and <end_of_turn>. */
    const char *cls = str_field(c->tcfg, "tokenizer_class");
    if (cls && !strncmp(cls, "GemmaTokenizer", 14)) {
        set_special(c, SP_PREFIX, 67);
        set_special(c, SP_SUFFIX, 69);
        set_special(c, SP_MIDDLE, 68);
        set_special(c, SP_EOT, 107);
    }
}

/* SentencePiece's add_dummy_prefix, as tokenizer.json expresses it. */
static bool space_prefix(hf_ctx *c) {
    const char *cls = str_field(c->tcfg, "tokenizer_class");
    if (cls && !strncmp(cls, "GemmaTokenizer", 14)) return false;
    json_t *norm = json_object_get(c->tok, "normalizer"), *e;
    json_t *list = json_object_get(norm, "normalizers");
    size_t i, n = list ? json_array_size(list) : 1;
    for (i = 0; i < n; i++) {
        e = list ? json_array_get(list, i) : norm;
        const char *type = str_field(e, "type"), *pre = str_field(e, "prepend");
        if (type && !strcmp(type, "Prepend") && pre && !strcmp(pre, "\xE2\x96\x81")) return true;
    }
    json_t *pt = json_object_get(c->tok, "pre_tokenizer");
    const char *type = str_field(pt, "type"), *scheme = str_field(pt, "prepend_scheme");
    if (type && !strcmp(type, "Metaspace"))
        return scheme ? strcmp(scheme, "never") != 0
                      : json_is_true(json_object_get(pt, "add_prefix_space"));
    return false;
}

/* ---- Writing ---- */

static tlm_status put(hf_ctx *c, tlm_status st, const char *key) {
    return st ? tlm_error_set(c->err, st, "hf import: cannot set %s", key) : TLM_OK;
}

/* tokenizer.chat_template, or the named list form of newer configs, or
 * the caller's template when the config has none. */
static tlm_status write_chat_template(hf_ctx *c, tlm_gguf_writer *w) {
    json_t *ct = json_object_get(c->tcfg, "chat_template"), *e;
    if (!ct && c->opts->chat_template)
        return put(c, tlm_gguf_set_str(w, "tokenizer.chat_template", c->opts->chat_template),
                   "tokenizer.chat_template");
    if (json_is_string(ct))
        return put(c, tlm_gguf_set_str(w, "tokenizer.chat_template", json_string_value(ct)),
                   "tokenizer.chat_template");
    if (!json_is_array(ct)) return TLM_OK;
    const char *names[64];
    size_t n = 0, i;
    tlm_status st = TLM_OK;
    json_array_foreach(ct, i, e) {
        const char *name = str_field(e, "name"), *tmpl = str_field(e, "template");
        if (!name || !*name || !tmpl || st) continue;
        char key[160];
        if (!strcmp(name, "default")) {
            st = put(c, tlm_gguf_set_str(w, "tokenizer.chat_template", tmpl), "chat_template");
            continue;
        }
        snprintf(key, sizeof key, "tokenizer.chat_template.%.100s", name);
        st = put(c, tlm_gguf_set_str(w, key, tmpl), key);
        if (n < TLM_ARRAY_LEN(names)) names[n++] = name;
    }
    if (!st && n)
        st = put(c, tlm_gguf_set_arr_str(w, "tokenizer.chat_templates", names, n),
                 "tokenizer.chat_templates");
    return st;
}

static tlm_status write_keys(hf_ctx *c, tlm_gguf_writer *w) {
    tlm_status st;
    if ((st = put(c, tlm_gguf_set_str(w, "tokenizer.ggml.model", c->spm ? "llama" : "gpt2"),
                  "tokenizer.ggml.model")) ||
        (st = put(c, tlm_gguf_set_str(w, "tokenizer.ggml.pre", c->pre), "tokenizer.ggml.pre")) ||
        (st = put(c, tlm_gguf_set_arr_str(w, "tokenizer.ggml.tokens", c->texts, (uint64_t)c->n),
                  "tokenizer.ggml.tokens")) ||
        (st = put(c,
                  tlm_gguf_set_arr(w, "tokenizer.ggml.token_type", TLM_GGUF_I32, c->types,
                                   (uint64_t)c->n),
                  "tokenizer.ggml.token_type")))
        return st;
    if (c->spm && (st = put(c,
                            tlm_gguf_set_arr(w, "tokenizer.ggml.scores", TLM_GGUF_F32, c->scores,
                                             (uint64_t)c->n),
                            "tokenizer.ggml.scores")))
        return st;
    if (!c->spm) {
        const char **merges = NULL;
        size_t n = 0;
        tlm_buf arena = {0};
        if ((st = collect_merges(c, &merges, &n, &arena))) return st;
        st = put(c, tlm_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, n),
                 "tokenizer.ggml.merges");
        tlm_free(merges);
        tlm_buf_free(&arena);
        if (st) return st;
    }
    for (int t = 0; t < SP_COUNT && !st; t++)
        if (c->special[t] >= 0)
            st = put(c, tlm_gguf_set_u32(w, SP_KEY[t], (uint32_t)c->special[t]), SP_KEY[t]);
    if (!st && c->add_bos >= 0)
        st = put(c, tlm_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", c->add_bos),
                 "add_bos_token");
    if (!st && c->add_eos >= 0)
        st = put(c, tlm_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", c->add_eos),
                 "add_eos_token");
    if (!st && c->spm)
        st = put(c, tlm_gguf_set_bool(w, "tokenizer.ggml.add_space_prefix", space_prefix(c)),
                 "add_space_prefix");
    return st ? st : write_chat_template(c, w);
}

/* The caller's extra control tokens: vocabulary entries that an
 * instruction-tuned config would list as special. */
static tlm_status mark_control(hf_ctx *c) {
    for (int32_t k = 0; k < c->opts->n_control; k++) {
        const char *want = c->opts->control[k];
        int64_t id = 0;
        while (id < c->n && (!c->texts[id] || strcmp(c->texts[id], want))) id++;
        if (id == c->n)
            return tlm_error_set(c->err, TLM_ERR_INVALID_ARG,
                                 "hf import: control token '%s' is not in the vocabulary", want);
        c->types[id] = TLM_TOKEN_CONTROL;
    }
    return TLM_OK;
}

/* ---- Entry points ---- */

tlm_hf_import_opts tlm_hf_import_default_opts(void) {
    return (tlm_hf_import_opts){.n_vocab = 0, .bos_id = -1, .eos_id = -1};
}

tlm_status tlm_tokenizer_import_hf(const char *dir, tlm_gguf_writer *w, tlm_error *err) {
    tlm_hf_import_opts o = tlm_hf_import_default_opts();
    return tlm_tokenizer_import_hf_ex(dir, &o, w, err);
}

tlm_status tlm_tokenizer_import_hf_ex(const char *dir, const tlm_hf_import_opts *opts,
                                      tlm_gguf_writer *w, tlm_error *err) {
    hf_ctx c = {.dir = dir, .opts = opts, .err = err};
    tlm_status st;
    if ((st = load_json(&c, "tokenizer.json", true, &c.tok)) ||
        (st = load_json(&c, "tokenizer_config.json", false, &c.tcfg)) ||
        (st = load_json(&c, "config.json", false, &c.cfg)) || (st = read_model(&c)) ||
        (st = count_tokens(&c)) || (st = fill_tokens(&c)))
        goto done;
    if (c.spm && (st = derive_scores(&c))) goto done;
    if ((st = mark_control(&c))) goto done;
    read_specials(&c);
    st = write_keys(&c, w);
done:
    json_decref(c.tok);
    json_decref(c.tcfg);
    json_decref(c.cfg);
    tlm_free(c.texts);
    tlm_free(c.types);
    tlm_free(c.scores);
    tlm_free(c.pad);
    return st;
}
