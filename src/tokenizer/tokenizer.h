/*
 * tokenizer.h - text <-> token ids for GGUF models, matching Hugging Face
 * tokenizers token for token.
 *
 * Two families are supported, chosen by the GGUF key tokenizer.ggml.model:
 *   "gpt2"  byte-level BPE (Qwen, Llama 3, GPT-2): NFC (qwen2 only), a regex
 *           pre-tokenizer selected by tokenizer.ggml.pre, merges by rank.
 *   "llama" SentencePiece-style BPE (Gemma, Llama 2): spaces become U+2581,
 *           merges by token score, unknown characters fall back to <0xNN>.
 * Added tokens (control, user-defined, unknown) are matched in the raw text
 * before anything else when the caller asks to parse special tokens, and are
 * ordinary text otherwise.
 *
 * Invalid UTF-8 input is never an error: every maximal invalid subsequence
 * is replaced by U+FFFD first (the WHATWG/TextDecoder rule), which is what a
 * Hugging Face tokenizer sees after the bytes are decoded to a string.
 *
 * A tlm_vocab is immutable after loading and may be shared by any number of
 * threads; every call below that takes a const tlm_vocab * is thread-safe.
 */
#ifndef TLM_TOKENIZER_H
#define TLM_TOKENIZER_H

#include "gguf/gguf.h"
#include "tinylm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Token types as GGUF stores them in tokenizer.ggml.token_type. */
typedef enum tlm_token_type {
    TLM_TOKEN_UNDEFINED = 0,
    TLM_TOKEN_NORMAL = 1,
    TLM_TOKEN_UNKNOWN = 2,
    TLM_TOKEN_CONTROL = 3,
    TLM_TOKEN_USER_DEFINED = 4,
    TLM_TOKEN_UNUSED = 5,
    TLM_TOKEN_BYTE = 6,
    TLM_TOKEN_TYPE_COUNT = 7,
} tlm_token_type;

typedef enum tlm_vocab_kind {
    TLM_VOCAB_BPE = 0, /* tokenizer.ggml.model "gpt2" */
    TLM_VOCAB_SPM = 1, /* tokenizer.ggml.model "llama" */
    TLM_VOCAB_KIND_COUNT = 2,
} tlm_vocab_kind;

typedef struct tlm_vocab tlm_vocab;

/* ---- Loading ---- */

/* Builds the vocabulary from g's tokenizer.* keys.  The result copies what
 * it needs, so g may be freed afterwards.  On success the caller owns *out
 * (free with tlm_vocab_free); on failure *out is NULL and err names the key
 * and the problem (missing tokens, counts that disagree, ids out of range,
 * an unknown tokenizer.ggml.model or .pre, malformed merges). */
tlm_status tlm_vocab_load(const tlm_gguf *g, tlm_vocab **out, tlm_error *err);
/* The same from a path: a GGUF file, or a Hugging Face tokenizer directory
 * (tokenizer.json...) which is imported with tlm_tokenizer_import_hf into a
 * temporary GGUF file ($TMPDIR, removed at once) and loaded from there, so
 * it goes through exactly the path a converted model does. */
tlm_status tlm_vocab_load_path(const char *path, tlm_vocab **out, tlm_error *err);
void tlm_vocab_free(tlm_vocab *v);

/* ---- Properties (all O(1)) ---- */

tlm_vocab_kind tlm_vocab_kind_of(const tlm_vocab *v);
/* The pre-tokenizer name as loaded ("qwen2", "llama-bpe", "gpt2", "default"). */
const char *tlm_vocab_pre_name(const tlm_vocab *v);
int32_t tlm_vocab_n_tokens(const tlm_vocab *v);
/* Special ids, -1 when the model has none. */
int32_t tlm_vocab_bos(const tlm_vocab *v);
int32_t tlm_vocab_eos(const tlm_vocab *v);
int32_t tlm_vocab_eot(const tlm_vocab *v);
int32_t tlm_vocab_pad(const tlm_vocab *v);
int32_t tlm_vocab_unk(const tlm_vocab *v);
/* Whether tokenizing with add_special prepends BOS / appends EOS. */
bool tlm_vocab_add_bos(const tlm_vocab *v);
bool tlm_vocab_add_eos(const tlm_vocab *v);
/* End of generation: EOS, EOT, EOM and the well-known end markers
 * (<|im_end|>, <|endoftext|>, <end_of_turn>, <|eot_id|>, ...). */
bool tlm_vocab_is_eog(const tlm_vocab *v, int32_t id);
/* TLM_TOKEN_UNDEFINED for an id out of range. */
tlm_token_type tlm_vocab_token_type(const tlm_vocab *v, int32_t id);
/* The token as stored in the GGUF ("Ġthe", "▁the", "<|im_end|>"), borrowed
 * from v and not NUL-terminated; NULL (and *out_len 0) when out of range. */
const char *tlm_vocab_token_text(const tlm_vocab *v, int32_t id, size_t *out_len);
/* The bytes the token stands for in decoded text (" the", "\xe4", the
 * control token's own text), borrowed from v; NULL when out of range.  A
 * single token's bytes may be an incomplete UTF-8 sequence. */
const char *tlm_vocab_token_bytes(const tlm_vocab *v, int32_t id, size_t *out_len);
/* Largest tlm_vocab_token_bytes length over the vocabulary. */
size_t tlm_vocab_max_token_bytes(const tlm_vocab *v);
/* Id of the token whose stored text is exactly text[0..len), -1 if none. */
int32_t tlm_vocab_find(const tlm_vocab *v, const char *text, size_t len);
/* Writes what detokenizing id alone prints (control/unknown tokens only when
 * render_special; unused tokens never) into buf, truncated to cap, and
 * returns the full length (snprintf-style, no NUL added).  0 when out of
 * range. */
size_t tlm_vocab_token_to_bytes(const tlm_vocab *v, int32_t id, bool render_special, char *buf,
                                size_t cap);

/* ---- Encoding ---- */

/* Tokenizes text[0..len).  add_special: add BOS/EOS where the model's
 * add_bos_token/add_eos_token flags ask for them.  parse_special: match the
 * text of control, user-defined and unknown tokens ("<|im_start|>") as
 * those tokens; otherwise such text is tokenized like any other.
 * On success *out_ids (free with tlm_free) holds *out_n ids; on failure it is
 * NULL.  Fails only on memory (TLM_ERR_NOMEM) or an input over 2 GiB
 * (TLM_ERR_RANGE).  Time is linear in the text except within one piece
 * (a run of letters, of spaces...: the whole text for SPM models between
 * spaces), where merging is O(n log n) and takes about 40 bytes of scratch
 * memory per byte of the piece: callers taking untrusted text should bound
 * its length. */
tlm_status tlm_tokenize(const tlm_vocab *v, const char *text, size_t len, bool add_special,
                        bool parse_special, int32_t **out_ids, size_t *out_n, tlm_error *err);

/* The same into a caller buffer of cap ids.  When cap is too small returns
 * TLM_ERR_RANGE with *out_n set to the count needed (ids untouched). */
tlm_status tlm_tokenize_into(const tlm_vocab *v, const char *text, size_t len, bool add_special,
                             bool parse_special, int32_t *ids, size_t cap, size_t *out_n,
                             tlm_error *err);

/* ---- Decoding ---- */

/* Decodes ids to text.  Invalid byte sequences (from byte tokens) become
 * U+FFFD, so *out is always valid UTF-8; it is NUL-terminated, *out_len
 * excludes the NUL; free with tlm_free.  TLM_ERR_RANGE on an id out of
 * range.  render_special as in tlm_vocab_token_to_bytes. */
tlm_status tlm_detokenize(const tlm_vocab *v, const int32_t *ids, size_t n, bool render_special,
                          char **out, size_t *out_len, tlm_error *err);

/* Streaming detokenizer: push ids one at a time as they are generated and
 * get back only complete UTF-8 text; a character split across tokens is held
 * until its last byte arrives, and bytes that can never complete a character
 * come out as U+FFFD right away.  flush() ends the stream (an unfinished
 * character becomes U+FFFD).  Concatenating every push and the flush gives
 * exactly tlm_detokenize of the same ids.  One object per stream; not shared
 * between threads.  It borrows v, which must outlive it. */
typedef struct tlm_detok tlm_detok;

tlm_status tlm_detok_create(const tlm_vocab *v, bool render_special, tlm_detok **out);
void tlm_detok_free(tlm_detok *d);
/* Starts a new stream (drops held bytes). */
void tlm_detok_reset(tlm_detok *d);
/* *out points into d and stays valid until the next call on d.  No
 * allocation happens here.  TLM_ERR_RANGE on an id out of range (the
 * stream is unchanged). */
tlm_status tlm_detok_push(tlm_detok *d, int32_t id, const char **out, size_t *out_len);
void tlm_detok_flush(tlm_detok *d, const char **out, size_t *out_len);

/* ---- Import from Hugging Face files ---- */

/* Options for tlm_tokenizer_import_hf_ex.  Values play the role of the
 * model's config.json (and override a config.json in dir). */
typedef struct tlm_hf_import_opts {
    int64_t n_vocab; /* pad the token list to this many ([PADn], unused); 0 = as is */
    int64_t bos_id;  /* used when tokenizer_config.json names no BOS; -1 = none */
    int64_t eos_id;  /* likewise for EOS; -1 = none */
    /* Vocabulary entries to mark as control tokens, as an instruction-tuned
     * model's tokenizer_config.json does for its turn markers (borrowed;
     * a text not in the vocabulary is an error). */
    const char *const *control;
    int32_t n_control;
    /* Written as tokenizer.chat_template when the config carries none
     * (borrowed; NULL = none). */
    const char *chat_template;
} tlm_hf_import_opts;

tlm_hf_import_opts tlm_hf_import_default_opts(void);

/* Reads dir/tokenizer.json (+ tokenizer_config.json and config.json when
 * present) and sets the tokenizer.* keys on w the way llama.cpp's
 * convert_hf_to_gguf.py would: model "gpt2" + pre + tokens + token_type +
 * merges for byte-level BPE; "llama" + tokens + scores + token_type for
 * byte-fallback BPE (scores derived from the merge ranks, so that merging by
 * score reproduces the merges); special ids, add_bos/add_eos, and
 * tokenizer.chat_template when tokenizer_config.json has one. */
tlm_status tlm_tokenizer_import_hf(const char *dir, tlm_gguf_writer *w, tlm_error *err);
tlm_status tlm_tokenizer_import_hf_ex(const char *dir, const tlm_hf_import_opts *opts,
                                      tlm_gguf_writer *w, tlm_error *err);

#endif /* TLM_TOKENIZER_H */
