/*
 * tinylm.h - the one public header of libtinylm.
 *
 * tinylm runs small GGUF language models on the CPU, serves them over HTTP and
 * compares them.  This header is the whole public API: handles are opaque,
 * every function is prefixed tlm_, and every fallible call returns a
 * tlm_status (0 on success, negative on error) and, when the caller passes a
 * tlm_error, a readable message saying what went wrong and where.
 *
 * Ownership rules, stated once here and per function below:
 *   1. Whoever calls a _create/_load function owns the result and releases it
 *      with the matching _free.  _free(NULL) is a no-op.
 *   2. Out-parameters come last.  On failure *out is set to NULL and nothing
 *      leaks.
 *   3. Getters return borrowed pointers, valid for the life of the object.
 *   4. A returned char * that the caller must release is documented "free
 *      with tlm_free()".
 */
#ifndef TINYLM_H
#define TINYLM_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TLM_API __attribute__((visibility("default")))
#else
#define TLM_API
#endif

#define TLM_VERSION_MAJOR 0
#define TLM_VERSION_MINOR 1
#define TLM_VERSION_PATCH 0
#define TLM_VERSION_STRING "0.1.0"

/* ---- Status codes ----
 * One table produces both the enum and tlm_status_str(), so the two cannot
 * drift apart.  New codes are only ever appended. */
#define TLM_STATUS_MAP(XX)                                                   \
    XX(OK, 0, "success")                                                     \
    XX(ERR_INVALID_ARG, -1, "invalid argument")                              \
    XX(ERR_NOMEM, -2, "out of memory")                                       \
    XX(ERR_IO, -3, "input/output error")                                     \
    XX(ERR_FORMAT, -4, "malformed file")                                     \
    XX(ERR_UNSUPPORTED, -5, "unsupported feature")                           \
    XX(ERR_NOT_FOUND, -6, "not found")                                       \
    XX(ERR_TYPE, -7, "type mismatch")                                        \
    XX(ERR_RANGE, -8, "value out of range")                                  \
    XX(ERR_CANCELLED, -9, "cancelled")                                       \
    XX(ERR_INTERNAL, -10, "internal error")

typedef enum tlm_status {
#define TLM_STATUS_ENUM_(name, value, text) TLM_##name = value,
    TLM_STATUS_MAP(TLM_STATUS_ENUM_)
#undef TLM_STATUS_ENUM_
} tlm_status;

/* A caller-owned error record.  Functions that take a tlm_error *err fill it
 * on failure (err may be NULL when the caller only wants the status). */
typedef struct tlm_error {
    tlm_status code;
    char msg[512];
} tlm_error;

/* Short fixed text for a status code ("malformed file").  Never NULL. */
TLM_API const char *tlm_status_str(tlm_status status);

/* Releases memory that a tlm_ function documented as "free with tlm_free()". */
TLM_API void tlm_free(void *p);

/* The library version, e.g. "0.1.0". */
TLM_API const char *tlm_version(void);


/* ======================================================================
 * Models
 * ====================================================================== */

typedef int32_t tlm_token;
typedef struct tlm_model tlm_model;     /* immutable after load; shareable */
typedef struct tlm_ctx tlm_ctx;         /* one inference context: KV cache, scratch */
typedef struct tlm_sampler tlm_sampler; /* one sampling chain with its own RNG */

typedef struct tlm_model_params {
    int32_t n_threads;     /* threads for load-time work and warm-up; 0 = all cores */
    int warmup;            /* run one tiny forward pass at load (default 0) */
    int repack;            /* copy weight matrices into the layout of this CPU's fastest
                              one-token kernels (default 1; same results, faster decoding,
                              the file's pages released); 0, or TLM_REPACK=0 in the
                              environment, multiplies straight from the mapping */
} tlm_model_params;

TLM_API tlm_model_params tlm_model_default_params(void);

/* Loads a GGUF model.  The file is mapped read-only; weights the kernels use
 * as they are stored are not copied (with params->repack, the matrices this
 * CPU multiplies faster in another layout are copied into it and their file
 * pages released).  Errors name the problem: an unknown
 * architecture, a missing tensor, a shape that does not match the metadata.
 * The caller owns *out and frees it with tlm_model_free().  A model may be
 * shared by any number of contexts and threads. */
TLM_API tlm_status tlm_model_load(const char *path, const tlm_model_params *params,
                                  tlm_model **out, tlm_error *err);
TLM_API void tlm_model_free(tlm_model *model);

/* Descriptions, borrowed from the model. */
TLM_API const char *tlm_model_arch(const tlm_model *model);      /* "qwen2" */
TLM_API const char *tlm_model_name(const tlm_model *model);      /* general.name or file name */
TLM_API const char *tlm_model_path(const tlm_model *model);
TLM_API int32_t tlm_model_n_vocab(const tlm_model *model);
TLM_API int32_t tlm_model_n_ctx_train(const tlm_model *model);
TLM_API int32_t tlm_model_n_embd(const tlm_model *model);
TLM_API int32_t tlm_model_n_layer(const tlm_model *model);
TLM_API uint64_t tlm_model_n_params(const tlm_model *model);
TLM_API uint64_t tlm_model_size(const tlm_model *model);         /* bytes of tensor data */
TLM_API int tlm_model_is_synth(const tlm_model *model);          /* random weights: meaningless text */
/* A metadata string (e.g. "general.file_type" is not a string; use for
 * strings only), or NULL.  Borrowed; valid while the model lives. */
TLM_API const char *tlm_model_meta_str(const tlm_model *model, const char *key);
/* The file's chat template, or a built-in one for the architecture when the
 * file has none; NULL if neither exists. */
TLM_API const char *tlm_model_chat_template(const tlm_model *model);

/* ---- Tokens ---- */

TLM_API tlm_token tlm_model_bos(const tlm_model *model);   /* -1 if none */
TLM_API tlm_token tlm_model_eos(const tlm_model *model);
TLM_API int tlm_model_add_bos(const tlm_model *model);     /* prepend BOS when encoding? */
/* End of generation: EOS, end-of-turn and similar tokens from the metadata. */
TLM_API int tlm_model_is_eog(const tlm_model *model, tlm_token token);

/* Encodes text.  add_bos: prepend BOS when the model asks for it.
 * parse_special: match special-token text such as "<|im_start|>" (for
 * rendered chat templates); otherwise it is ordinary text, so user content
 * cannot inject control tokens.  Writes up to cap tokens; *n_out is the
 * count needed.  Returns TLM_ERR_RANGE when cap was too small. */
TLM_API tlm_status tlm_model_tokenize(const tlm_model *model, const char *text, size_t len, int add_bos,
                                int parse_special, tlm_token *out, int32_t cap, int32_t *n_out,
                                tlm_error *err);
/* The bytes of one token (may be part of a UTF-8 character).  Returns the
 * length, or -1 if out of range; writes at most cap bytes. */
TLM_API int32_t tlm_model_token_to_bytes(const tlm_model *model, tlm_token token, char *buf,
                                   int32_t cap);

/* Renders the chat template.  messages_json: a JSON array of OpenAI-style
 * messages ({"role","content", optional "tool_calls", "tool_call_id",
 * "name"}); tools_json: a JSON array of tools or NULL.  *out is the prompt
 * text; free with tlm_free(). */
TLM_API tlm_status tlm_chat_render(const tlm_model *model, const char *messages_json,
                                   const char *tools_json, int add_generation_prompt, char **out,
                                   tlm_error *err);

/* ======================================================================
 * Contexts, batches and the KV cache
 * ====================================================================== */

typedef enum tlm_kv_type {
    TLM_KV_F16 = 0,
    TLM_KV_Q8_0 = 1,
} tlm_kv_type;

typedef struct tlm_ctx_params {
    int32_t n_ctx;        /* KV cache cells shared by all sequences; 0 = min(4096, trained) */
    int32_t n_batch;      /* most tokens in one tlm_ctx_decode call (default 512,
                             at most n_ctx) */
    int32_t n_seq_max;    /* independent sequences, ids 0 .. n_seq_max - 1 (default 1,
                             at most 64) */
    int32_t n_threads;    /* 0 = all cores */
    tlm_kv_type kv_type;
} tlm_ctx_params;

TLM_API tlm_ctx_params tlm_ctx_default_params(void);

/* Creates a context for model (which must outlive it).  Every buffer the
 * forward pass needs is allocated here: decoding allocates nothing, except
 * that the logits buffer (room for n_seq_max rows at first) grows the first
 * time a batch asks for more rows than any batch before.  The caller owns
 * *out; free with tlm_ctx_free().  A context is used by one thread at a
 * time.  TLM_ERR_INVALID_ARG names a parameter out of range. */
TLM_API tlm_status tlm_ctx_create(tlm_model *model, const tlm_ctx_params *params, tlm_ctx **out,
                                  tlm_error *err);
TLM_API void tlm_ctx_free(tlm_ctx *ctx);
TLM_API int32_t tlm_ctx_n_ctx(const tlm_ctx *ctx);
TLM_API const tlm_model *tlm_ctx_model(const tlm_ctx *ctx);

/* A batch of tokens, possibly from several sequences.  Token i sits at
 * position pos[i] of sequence seq_id[i]; logits[i] != 0 asks for its logits.
 * seq_id may be NULL (every token in sequence 0); logits may be NULL (only
 * the last token gets logits).  A token attends to the cells of its own
 * sequence whose positions are <= its own.  Arrays are borrowed for the
 * call. */
typedef struct tlm_batch {
    int32_t n_tokens;
    const tlm_token *token;
    const int32_t *pos;
    const int32_t *seq_id;
    const int8_t *logits;
} tlm_batch;

/* Runs the forward pass over the batch, appending its keys and values to
 * the cache.  TLM_ERR_RANGE when the cache has no room, TLM_ERR_INVALID_ARG
 * (naming the batch index) for a token, sequence or position out of range;
 * in both cases nothing changes.  Results do not depend on the thread
 * count, nor on which other sequences share the batch. */
TLM_API tlm_status tlm_ctx_decode(tlm_ctx *ctx, const tlm_batch *batch, tlm_error *err);

/* Logits (n_vocab floats) of batch token i of the last decode, or NULL if
 * they were not requested.  i < 0 counts from the end (-1 = the last
 * token).  Valid until the next decode. */
TLM_API const float *tlm_ctx_logits(const tlm_ctx *ctx, int32_t i);

/* KV cache per sequence, over positions [p0, p1): p0 < 0 means from 0,
 * p1 < 0 "to the end".  seq_rm with seq < 0 removes from every sequence.
 * seq_cp makes dst share src's cells (no data is copied; a cell is freed
 * when no sequence uses it any more). */
TLM_API void tlm_kv_seq_rm(tlm_ctx *ctx, int32_t seq, int32_t p0, int32_t p1);
TLM_API void tlm_kv_seq_cp(tlm_ctx *ctx, int32_t src, int32_t dst, int32_t p0, int32_t p1);
TLM_API int32_t tlm_kv_seq_pos_max(const tlm_ctx *ctx, int32_t seq); /* -1 when empty */
TLM_API int32_t tlm_kv_used_cells(const tlm_ctx *ctx);

/* ======================================================================
 * Sampling
 * ====================================================================== */

typedef struct tlm_logit_bias {
    tlm_token token;
    float bias;           /* added to the logit; -INFINITY bans the token */
} tlm_logit_bias;

/* A constraint (e.g. a grammar) masks tokens before sampling and learns the
 * chosen token after.  apply sets logits of forbidden tokens to -INFINITY;
 * it sees the logits after bias and penalties, before temperature.  accept
 * is called with each sampled token (not with prompt tokens).
 * The last two hooks are optional (NULL in a zero-initialised struct, so
 * constraints written before they existed keep working; initialise with
 * designated initializers):
 *   budget  is told, before each apply, how many tokens may still be
 *           sampled, this one included (< 0 = no limit), so that a grammar
 *           can steer to a complete answer before max_tokens or the
 *           context runs out; tlm_generate and the server call it;
 *   done    says that nothing but end-of-generation may follow; the
 *           generator then stops (finish "stop") without another step. */
typedef struct tlm_constraint {
    void *user;
    void (*apply)(void *user, float *logits, int32_t n_vocab);
    void (*accept)(void *user, tlm_token token);
    void (*budget)(void *user, int32_t n_left);
    bool (*done)(void *user);
} tlm_constraint;

/* The chain runs in this order: logit bias, penalties, constraint,
 * temperature, top_k, top_p, min_p, typical_p, then one draw from the
 * sampler's own seeded generator.  Ties go to the lower token id, so the
 * same seed, logits and settings give the same token on every machine. */
typedef struct tlm_sampler_params {
    float temperature;        /* 0 = greedy (default 0.8) */
    int32_t top_k;            /* 0 = off (default 40) */
    float top_p;              /* 1 = off (default 0.95) */
    float min_p;              /* 0 = off (default 0.05); relative to the best token */
    float typical_p;          /* 1 = off */
    float repeat_penalty;     /* 1 = off; positive logits divided, negative multiplied */
    float presence_penalty;   /* 0 = off; subtracted once from every token in the window */
    float frequency_penalty;  /* 0 = off; subtracted once per occurrence in the window */
    int32_t penalty_last_n;   /* window of recent tokens (default 64); 0 = no penalties,
                                 -1 = every token accepted since creation or reset */
    uint64_t seed;
    const tlm_logit_bias *logit_bias; /* copied by tlm_sampler_create */
    int32_t n_logit_bias;
} tlm_sampler_params;

TLM_API tlm_sampler_params tlm_sampler_default_params(void);
/* Creates a sampler for the model's vocabulary.  Every buffer is allocated
 * here (a few MB for a 150k vocabulary); sampling allocates nothing.
 * TLM_ERR_INVALID_ARG (naming the field) for settings out of range or a
 * logit_bias token outside the vocabulary.  The caller owns *out; free with
 * tlm_sampler_free().  One thread at a time. */
TLM_API tlm_status tlm_sampler_create(const tlm_model *model, const tlm_sampler_params *params,
                                      tlm_sampler **out, tlm_error *err);
TLM_API void tlm_sampler_free(tlm_sampler *s);
/* The constraint is borrowed; NULL removes it. */
TLM_API void tlm_sampler_set_constraint(tlm_sampler *s, const tlm_constraint *c);
/* Picks a token from logits (n_vocab floats, not modified) and accepts it
 * (penalty history and constraint advance).  *logprob (may be NULL) gets
 * the chosen token's natural-log probability under the final distribution
 * (for greedy: the softmax of the logits after bias, penalties and
 * constraint).  Returns -1 when every token is masked (-INFINITY). */
TLM_API tlm_token tlm_sampler_sample(tlm_sampler *s, const float *logits, float *logprob);
/* Adds a token to the penalty history without sampling (prompt tokens);
 * the constraint does not see it. */
TLM_API void tlm_sampler_accept(tlm_sampler *s, tlm_token token);
/* Forgets the history and restarts the random stream from the seed. */
TLM_API void tlm_sampler_reset(tlm_sampler *s);

/* ======================================================================
 * Generation helper
 * ====================================================================== */

typedef enum tlm_finish {
    TLM_FINISH_NONE = 0,
    TLM_FINISH_STOP = 1,      /* end-of-generation token or stop string */
    TLM_FINISH_LENGTH = 2,    /* max_tokens or context full */
    TLM_FINISH_CANCELLED = 3, /* the callback asked to stop */
} tlm_finish;

/* What one sequence's KV cells hold, token by token in position order: the
 * memory that lets tlm_generate skip the part of a new prompt it has
 * already processed (the earlier turns of a chat).  Caller-owned: start
 * from a zeroed struct, pass it to every tlm_generate on that sequence,
 * release with tlm_seq_cache_free().  tlm_generate keeps it up to date; it
 * trusts it only while tlm_kv_seq_pos_max agrees with its length, so a
 * caller that changes the sequence by other means should set n = 0. */
typedef struct tlm_seq_cache {
    tlm_token *tokens;        /* (cap), owned */
    int32_t n;                /* tokens in the sequence's cells */
    int32_t cap;
} tlm_seq_cache;

/* Releases the tokens and zeroes the struct (not the struct itself). */
TLM_API void tlm_seq_cache_free(tlm_seq_cache *cache);

typedef struct tlm_gen_params {
    tlm_sampler_params sampling;
    int32_t max_tokens;            /* < 0 = until the context is full */
    const char *const *stop;       /* stop strings (borrowed); never part of the output */
    int32_t n_stop;
    int32_t seq_id;                /* which sequence of the context to use */
    int32_t reuse_prefix;          /* keep the cached tokens the prompt starts with
                                      (needs cache); otherwise the sequence is cleared */
    tlm_seq_cache *cache;          /* what seq_id holds (borrowed, updated); may be NULL */
} tlm_gen_params;

TLM_API tlm_gen_params tlm_gen_default_params(void);

/* Timing and counts of one generation. */
typedef struct tlm_gen_stats {
    int32_t n_prompt;          /* prompt tokens */
    int32_t n_cached;          /* of which came from the cache */
    int32_t n_gen;             /* generated tokens (an end-of-generation token not counted) */
    int32_t n_eval;            /* decode steps after the first token (timed by gen_ms) */
    double prompt_ms;          /* prompt processing */
    double gen_ms;             /* generation after the first token */
    double first_token_ms;     /* from the call to the first token */
    tlm_finish finish;
} tlm_gen_stats;

/* Streamed text: a piece of valid UTF-8 (never a split character).  Between
 * prompt batches it is also called with len 0, so that a long prompt can be
 * cancelled.  Return 0 to continue, non-zero to cancel. */
typedef int (*tlm_gen_callback)(void *user, const char *text, size_t len);

/* Runs the prompt, then samples until end of generation, a stop string,
 * max_tokens, a full context, or cancellation.  Text goes to cb as it is
 * produced (may be NULL); text that could still become a stop string is
 * held back until it cannot.  The prompt is decoded in n_batch chunks with
 * logits for its last token only.  Returns TLM_OK whatever the finish
 * reason (see stats->finish); TLM_ERR_RANGE when the prompt does not fit
 * the context; other errors from decoding.  stats may be NULL. */
TLM_API tlm_status tlm_generate(tlm_ctx *ctx, const tlm_token *prompt, int32_t n_prompt,
                                const tlm_gen_params *params, const tlm_constraint *constraint,
                                tlm_gen_callback cb, void *user, tlm_gen_stats *stats,
                                tlm_error *err);

/* ======================================================================
 * Structured output
 * ====================================================================== */

/* A grammar compiled against one model's vocabulary, with the matcher state
 * of one generation.  Plugged into the sampler through its constraint, it
 * lets only tokens that keep the output a prefix of the grammar's language
 * be sampled; once the output is complete, only end-of-generation is
 * allowed. */
typedef struct tlm_structured tlm_structured;

typedef enum tlm_structured_kind {
    TLM_STRUCTURED_GBNF = 0,        /* text: a GBNF grammar whose start rule is "root" */
    TLM_STRUCTURED_JSON_SCHEMA = 1, /* text: a JSON Schema document */
    TLM_STRUCTURED_JSON_OBJECT = 2, /* any JSON object; text ignored (may be NULL) */
} tlm_structured_kind;

/* Compiles text for model's vocabulary.  A grammar that does not parse is
 * TLM_ERR_FORMAT with line and column; a schema keyword outside the
 * supported subset is TLM_ERR_UNSUPPORTED naming the keyword, so a server
 * fails closed.  The model must outlive *out; the caller owns *out and
 * frees it with tlm_structured_free().  One generation at a time. */
TLM_API tlm_status tlm_structured_create(const tlm_model *model, tlm_structured_kind kind,
                                         const char *text, size_t len, tlm_structured **out,
                                         tlm_error *err);
TLM_API void tlm_structured_free(tlm_structured *s);
/* The constraint to hand to tlm_generate or tlm_sampler_set_constraint;
 * owned by s and valid while s lives. */
TLM_API const tlm_constraint *tlm_structured_constraint(tlm_structured *s);
/* Whether the text accepted so far is a complete sentence of the grammar. */
TLM_API bool tlm_structured_is_complete(const tlm_structured *s);
/* Back to the empty output, for the next generation. */
TLM_API void tlm_structured_reset(tlm_structured *s);

/* ======================================================================
 * Memory
 * ====================================================================== */

typedef struct tlm_mem_stats {
    uint64_t weights_mapped;   /* bytes of the model file mapping */
    uint64_t weights_packed;   /* bytes of weights copied into a faster layout at load
                                  (tlm_model_params.repack; their file pages are released) */
    uint64_t kv_bytes;         /* KV cache of this context */
    uint64_t scratch_bytes;    /* activations and other buffers of this context */
    uint64_t rss;              /* process resident set now */
    uint64_t rss_peak;         /* process peak resident set */
} tlm_mem_stats;

TLM_API void tlm_ctx_mem_stats(const tlm_ctx *ctx, tlm_mem_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* TINYLM_H */
