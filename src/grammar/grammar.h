/*
 * grammar.h - grammar-constrained decoding: the internal API of src/grammar/.
 *
 * Pipeline: GBNF text (written by hand, or produced from a JSON Schema by
 * tlm_json_schema_to_gbnf) -> tlm_grammar (compiled, immutable, byte level)
 * -> tlm_grammar_matcher (one per generation: the current parse state, and a
 * cache of states, transitions and token masks) which, with a
 * tlm_grammar_vocab (the tokenizer's byte strings in a trie), tells the
 * sampler which tokens may come next and advances after each token.
 *
 * Key design points (see the .c files for the why):
 *   - Every code-point class is compiled into UTF-8 byte sequences, so the
 *     matcher works on bytes only and a token that ends inside a multi-byte
 *     character simply leaves the parse inside that character.
 *   - A parse state is a set of pushdown stacks; states are interned, and
 *     transitions between them are cached per byte class, which makes the
 *     matcher a lazily built DFA.  A mask is one walk of the token trie over
 *     that DFA, cached per state.
 *   - Grammars must not be left-recursive; useless alternatives (that can
 *     never finish) are removed, so every state the matcher can reach still
 *     has a completion, and the shortest one is cheap to compute.
 *
 * Thread safety: tlm_grammar and tlm_grammar_vocab are immutable after
 * creation and may be shared by any number of threads.  A matcher is used by
 * one thread at a time.
 */
#ifndef TLM_GRAMMAR_GRAMMAR_H
#define TLM_GRAMMAR_GRAMMAR_H

#include "core/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Compiled grammars ---- */

typedef struct tlm_grammar tlm_grammar;

/* Parses GBNF text (llama.cpp's grammar format: `name ::= ...` rules,
 * "literals", [classes], [^negated], ., ( ), |, ? * + {m} {m,} {m,n} {,n},
 * # comments) and compiles it.  root names the start rule (NULL = "root").
 * Errors (TLM_ERR_FORMAT) say line, column and what was expected; a
 * left-recursive grammar, an undefined rule, or one that matches no string at
 * all is also TLM_ERR_FORMAT.  Too large after expanding repetitions:
 * TLM_ERR_RANGE.  The caller owns *out (tlm_grammar_free). */
tlm_status tlm_grammar_parse(const char *text, size_t len, const char *root, tlm_grammar **out,
                             tlm_error *err);
void tlm_grammar_free(tlm_grammar *g);

/* Counts, for logs and tests. */
uint32_t tlm_grammar_n_rules(const tlm_grammar *g);
uint32_t tlm_grammar_n_elems(const tlm_grammar *g);

/* Whether the whole of text[0..len) is a sentence of the grammar. */
bool tlm_grammar_matches(const tlm_grammar *g, const char *text, size_t len);

/* ---- Vocabularies ---- */

typedef struct tlm_grammar_vocab tlm_grammar_vocab;

/* What a token is to the grammar. */
typedef enum tlm_gtok_kind {
    TLM_GTOK_TEXT = 0, /* its bytes are generated text */
    TLM_GTOK_EOG = 1,  /* end of generation: allowed only when the grammar is complete */
    TLM_GTOK_NEVER = 2 /* control or unused id: never allowed under a grammar */
} tlm_gtok_kind;

/* Builds the token trie.  tok[i] points at tok_len[i] bytes (any bytes, NUL
 * included); kind may be NULL (all TEXT).  A TEXT token with no bytes is
 * never allowed.  Nothing passed in is kept: the vocab copies what it needs.
 * The caller owns *out (tlm_grammar_vocab_free). */
tlm_status tlm_grammar_vocab_create(int32_t n_vocab, const char *const *tok, const uint32_t *tok_len,
                                    const uint8_t *kind, tlm_grammar_vocab **out, tlm_error *err);
void tlm_grammar_vocab_free(tlm_grammar_vocab *v);
int32_t tlm_grammar_vocab_size(const tlm_grammar_vocab *v);
/* The bytes of token id (borrowed, valid while v lives); NULL for bad ids. */
const char *tlm_grammar_vocab_token(const tlm_grammar_vocab *v, int32_t id, uint32_t *out_len);
tlm_gtok_kind tlm_grammar_vocab_kind(const tlm_grammar_vocab *v, int32_t id);

/* From the tokenizer module's vocabulary (src/tokenizer): normal, byte and
 * user-defined tokens are TEXT with the bytes they decode to, the
 * end-of-generation tokens EOG, everything else (control, unknown, unused,
 * ids from n_tok up to n_vocab) NEVER.  The caller owns *out. */
typedef struct tlm_vocab tlm_vocab;
tlm_status tlm_grammar_vocab_from_tokenizer(const tlm_vocab *tv, int32_t n_vocab,
                                            tlm_grammar_vocab **out, tlm_error *err);
/* The vocabulary of a loaded model, built on first use and kept with the
 * model (freed by tlm_model_free); thread-safe.  *out is borrowed. */
tlm_status tlm_grammar_vocab_of_model(const tlm_model *model, const tlm_grammar_vocab **out,
                                      tlm_error *err);

/* From a Hugging Face tokenizer (path: tokenizer.json or its directory),
 * imported by the tokenizer module (tlm_vocab_load_path), for tools and
 * tests without a model file.  n_vocab (0 = the tokenizer's count) pads
 * the vocabulary with NEVER ids, as models do (Qwen2.5's 151,936 rows). */
tlm_status tlm_grammar_vocab_load_hf(const char *path, int32_t n_vocab, tlm_grammar_vocab **out,
                                     tlm_error *err);

/* ---- Token masks ----
 * A mask is a bitset over token ids: bit i of word i/32 set means allowed.
 * Its size in 32-bit words is tlm_grammar_mask_words(n_vocab). */
static inline size_t tlm_grammar_mask_words(int32_t n_vocab) {
    return ((size_t)(n_vocab > 0 ? n_vocab : 0) + 31) / 32;
}
static inline bool tlm_grammar_mask_test(const uint32_t *mask, int32_t id) {
    return (mask[id >> 5] >> (id & 31)) & 1u;
}
/* Sets logits of disallowed tokens to -INFINITY. */
void tlm_grammar_mask_apply(const uint32_t *mask, float *logits, int32_t n_vocab);
/* Number of allowed tokens. */
int32_t tlm_grammar_mask_count(const uint32_t *mask, int32_t n_vocab);

/* ---- Matchers ---- */

typedef struct tlm_grammar_matcher tlm_grammar_matcher;

/* A matcher at the start of the grammar.  g and vocab are borrowed and must
 * outlive the matcher; vocab may be NULL for byte-only use (accept_bytes,
 * completions), and then the mask functions fail.  The caller owns *out
 * (tlm_grammar_matcher_free). */
tlm_status tlm_grammar_matcher_create(const tlm_grammar *g, const tlm_grammar_vocab *vocab,
                                      tlm_grammar_matcher **out, tlm_error *err);
void tlm_grammar_matcher_free(tlm_grammar_matcher *m);

/* Back to the start of the grammar for a new generation.  The caches (states,
 * transitions, masks) are kept: that is the point of reusing a matcher. */
void tlm_grammar_matcher_reset(tlm_grammar_matcher *m);

/* Advances over the bytes of token id.  A token the grammar does not allow
 * (or EOG before the grammar is complete) is TLM_ERR_INVALID_ARG and leaves
 * the state unchanged.  Accepting EOG marks the matcher finished. */
tlm_status tlm_grammar_matcher_accept_token(tlm_grammar_matcher *m, int32_t id, tlm_error *err);
/* Same for raw bytes (all or nothing). */
tlm_status tlm_grammar_matcher_accept_bytes(tlm_grammar_matcher *m, const char *s, size_t n,
                                            tlm_error *err);
/* Whether s could be accepted now, without advancing. */
bool tlm_grammar_matcher_can_accept(tlm_grammar_matcher *m, const char *s, size_t n);

/* The text so far is a complete sentence (EOG would be allowed). */
bool tlm_grammar_matcher_is_complete(const tlm_grammar_matcher *m);
/* Complete and nothing may follow (only EOG remains), or EOG was accepted. */
bool tlm_grammar_matcher_is_done(const tlm_grammar_matcher *m);

/* Fills mask (tlm_grammar_mask_words(n_vocab) words, caller-owned) with the
 * tokens allowed now: TEXT tokens whose bytes keep the parse alive, plus the
 * EOG tokens when the grammar is complete.  Cached per parse state. */
tlm_status tlm_grammar_matcher_mask(tlm_grammar_matcher *m, uint32_t *mask, tlm_error *err);

/* Budget-aware mask: as above, but a TEXT token is allowed only if, after
 * it, the grammar can still be completed in at most max_bytes more bytes.
 * Byte-level vocabularies have a token for every byte, so a sampler with R
 * tokens left (this one included) calls this with max_bytes = R - 1 and is
 * then guaranteed to finish with a complete sentence: the first byte of the
 * shortest completion is always allowed.  When the ordinary mask already
 * satisfies the budget (known from the cached mask) this costs no extra
 * trie walk.  out_n_allowed (may be NULL) gets the number of allowed tokens;
 * 0 means no completion fits and the answer must end with "length". */
tlm_status tlm_grammar_matcher_mask_budget(tlm_grammar_matcher *m, uint32_t max_bytes,
                                           uint32_t *mask, int32_t *out_n_allowed, tlm_error *err);

/* Length in bytes of the shortest string that completes the grammar from
 * the current state (0 when complete); UINT32_MAX if the matcher is dead. */
uint32_t tlm_grammar_matcher_min_completion(tlm_grammar_matcher *m);

/* Appends that shortest completion to out (caller-owned buffer): the
 * string a sampler forces when its token budget runs out. */
tlm_status tlm_grammar_matcher_shortest_completion(tlm_grammar_matcher *m, tlm_buf *out,
                                                   tlm_error *err);

/* Cache and work statistics (tests, benchmarks). */
typedef struct tlm_grammar_stats {
    uint64_t n_states;     /* interned parse states */
    uint64_t n_mask_calls; /* tlm_grammar_matcher_mask calls */
    uint64_t n_mask_hits;  /* ... answered from the per-state cache */
    uint64_t n_trie_nodes; /* trie nodes visited by walks */
    uint64_t n_flushes;    /* cache flushes (memory cap reached) */
} tlm_grammar_stats;
void tlm_grammar_matcher_stats(const tlm_grammar_matcher *m, tlm_grammar_stats *out);

/* ---- JSON Schema ---- */

/* Compiles a JSON Schema (text) into GBNF text for tlm_grammar_parse.
 * Supported: type (and type lists), properties/required/
 * additionalProperties, enum/const, items/prefixItems/additionalItems/
 * minItems/maxItems, string minLength/maxLength/pattern (an ECMAScript regex
 * subset)/format (date, time, date-time, uuid, email, ipv4, ipv6, hostname,
 * uri, ...), number/integer minimum/maximum/exclusive*, $ref into the same
 * document ($defs, definitions, any JSON pointer), anyOf/oneOf (oneOf is
 * generated as anyOf), allOf (merged).  Annotations (title, description,
 * examples, default, $comment, ...) and unknown non-standard keywords are
 * ignored, with a line in *warnings when warnings is not NULL.  A standard
 * keyword that cannot be enforced (not, if, uniqueItems, multipleOf, ...) is
 * TLM_ERR_UNSUPPORTED naming the keyword and where it is: the caller must
 * then refuse the request (fail closed).  Invalid JSON or schema:
 * TLM_ERR_FORMAT.  *out_gbnf is NUL-terminated; free with tlm_free(). */
tlm_status tlm_json_schema_to_gbnf(const char *schema, size_t len, char **out_gbnf,
                                   tlm_buf *warnings, tlm_error *err);

/* GBNF for OpenAI's {"type":"json_object"} and Ollama's format:"json": any
 * JSON object, with the same bounded whitespace.  Static; never free. */
const char *tlm_json_object_gbnf(void);

/* ---- Random walks: a model that knows nothing ----
 * Samples tokens uniformly among those the mask allows (what a random-weight
 * model looks like to the grammar), steering to a completion with the
 * budget mask so the output is complete within max_tokens whenever any
 * completion fits.  Used by the schema fuzz test and the benchmarks. */
typedef struct tlm_grammar_walk_stats {
    uint32_t n_tokens;     /* tokens sampled, EOG included */
    uint32_t n_masks;      /* mask computations */
    uint64_t mask_ns;      /* time spent computing masks */
    bool complete;         /* ended with EOG or a complete "done" state */
} tlm_grammar_walk_stats;

/* *rng is the caller's 64-bit generator state (any non-zero seed).  Appends
 * the generated bytes to out.  TLM_ERR_RANGE when the budget ran out with no
 * completion possible. */
tlm_status tlm_grammar_random_walk(tlm_grammar_matcher *m, uint64_t *rng, uint32_t max_tokens,
                                   tlm_buf *out, tlm_grammar_walk_stats *stats, tlm_error *err);

/* Mask-cost benchmark: n_walks random walks (each from reset, sharing the
 * matcher's caches as a server reusing a schema would) and the mean cost of
 * one mask in microseconds, over all masks and over the ones that missed the
 * per-state cache. */
typedef struct tlm_grammar_bench {
    uint32_t n_masks, n_misses;
    double mean_us, mean_miss_us, max_us;
    double tokens_per_walk;
} tlm_grammar_bench;
tlm_status tlm_grammar_bench_mask(const tlm_grammar *g, const tlm_grammar_vocab *v,
                                  uint32_t n_walks, uint32_t max_tokens, uint64_t seed,
                                  tlm_grammar_bench *out, tlm_error *err);

/* JSONSchemaBench (github.com/guidance-ai/jsonschemabench): for each subset
 * file DIR/{Github_trivial,Glaiveai2K,Github_easy}.jsonl present, compiles
 * every schema and makes `samples` random walks with vocabulary v (limit:
 * at most that many schemas per subset, 0 = all).  Writes one JSON line per
 * schema to out_path: {"id","subset","schema","compiled","error",
 * "outputs":[...]} for an independent validator (tests/grammar/
 * validate_ajv.js), and fills out[] with the counts. */
#define TLM_JSB_N_SUBSETS 3
typedef struct tlm_jsb_subset {
    char name[32];
    uint32_t n_schemas, n_compiled; /* schemas read, compiled to a grammar */
    uint32_t n_outputs, n_walk_ok;  /* walks attempted, walks that completed */
    double seconds;
} tlm_jsb_subset;
tlm_status tlm_grammar_jsonschemabench(const char *dir, const tlm_grammar_vocab *v, uint32_t samples,
                                       uint32_t limit, uint64_t seed, const char *out_path,
                                       tlm_jsb_subset out[TLM_JSB_N_SUBSETS], tlm_error *err);

#endif /* TLM_GRAMMAR_GRAMMAR_H */
