/*
 * server.h - `tinylm serve`: an OpenAI- and Ollama-compatible HTTP server
 * (internal API of src/server/).
 *
 * Layers, bottom up:
 *   http.c       libmicrohttpd wrapper: bodies, streams, disconnects
 *   router.c     route table, API key, CORS, access log
 *   request.c    request JSON -> tlm_srv_request (validation, no model)
 *   gen.c        request + model -> prompt tokens, samplers, a task;
 *                waiting for it; usage, timings and effective settings
 *   scheduler.c  continuous batching of every model's tasks
 *   openai_*.c, ollama*.c, health.c, metrics.c   the endpoints
 * server.c ties them together: loads the models, starts and stops.
 *
 * Lifetime: a tlm_srv owns its models, schedulers, metrics and HTTP
 * server.  It serves /health (503) from the moment it listens, and the
 * model endpoints once tlm_srv_load has loaded and warmed every model.
 */
#ifndef TLM_SERVER_SERVER_H
#define TLM_SERVER_SERVER_H

#include "server/http.h"
#include "server/scheduler.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* ======================================================================
 * Errors as the APIs report them
 * ====================================================================== */

/* One error, written as OpenAI's {"error":{"message","type","param",
 * "code"}} or Ollama's {"error":"message"} depending on the endpoint. */
typedef struct tlm_api_error {
    int status;            /* HTTP status */
    const char *type;      /* "invalid_request_error", "not_found_error", ... (static) */
    const char *code;      /* "model_not_found", ... or NULL (static) */
    char param[64];        /* the request field at fault; "" = none */
    char message[512];
    int retry_after;       /* seconds for a Retry-After header; 0 = none */
} tlm_api_error;

/* Fills e and returns -1, so parsers can `return tlm_api_fail(...)`.
 * param may be NULL. */
int tlm_api_fail(tlm_api_error *e, int status, const char *type, const char *code,
                 const char *param, const char *fmt, ...) TLM_PRINTF(6, 7);
/* The common case: 400 invalid_request_error. */
#define TLM_BAD_REQUEST(e, code, param, ...) \
    tlm_api_fail((e), 400, "invalid_request_error", (code), (param), __VA_ARGS__)

/* ======================================================================
 * Requests, as parsed from the body (request.c)
 * ====================================================================== */

typedef enum tlm_api {
    TLM_API_CHAT = 0,          /* POST /v1/chat/completions */
    TLM_API_COMPLETION,        /* POST /v1/completions */
    TLM_API_OLLAMA_CHAT,       /* POST /api/chat */
    TLM_API_OLLAMA_GENERATE,   /* POST /api/generate */
    TLM_API_COUNT
} tlm_api;

typedef struct tlm_opt_f {
    bool set;
    float v;
} tlm_opt_f;

/* A /v1/completions prompt: text, or token ids. */
typedef struct tlm_srv_prompt {
    char *text;                /* owned, or NULL when ids are given */
    tlm_token *ids;            /* owned */
    int32_t n_ids;
} tlm_srv_prompt;

#define TLM_SRV_MAX_STOP 16
#define TLM_SRV_MAX_N 16
#define TLM_SRV_MAX_PROMPTS 16

/* What tools a chat request offers the model (tool_choice). */
typedef enum tlm_tool_mode {
    TLM_TOOLS_NONE = 0,        /* no tools, or tool_choice "none": never a call */
    TLM_TOOLS_AUTO,            /* a call or an ordinary answer */
    TLM_TOOLS_REQUIRED,        /* always calls ("required", or one named function) */
} tlm_tool_mode;

typedef struct tlm_srv_request {
    tlm_api api;
    char *model;               /* NULL: the only (first) model */
    json_t *messages;          /* chat: [{role, content: string, ...}] normalised; owned */
    tlm_srv_prompt *prompts;   /* completion (and Ollama generate: one); owned */
    int32_t n_prompts;
    char *system;              /* Ollama generate's system prompt, or NULL */
    bool raw;                  /* Ollama generate: no chat template */
    bool stream;
    bool include_usage;        /* stream_options.include_usage */
    int32_t n;                 /* choices per prompt */
    int32_t max_tokens;        /* -1 = until the context is full */
    char **stop;               /* (n_stop) non-empty strings, owned */
    int32_t n_stop;
    tlm_opt_f temperature, top_p, min_p, typical_p, repeat_penalty;
    tlm_opt_f presence_penalty, frequency_penalty;
    bool top_k_set, repeat_last_n_set, seed_set;
    int32_t top_k, repeat_last_n;
    int64_t seed;              /* < 0 = a random one */
    tlm_logit_bias *logit_bias; /* owned */
    int32_t n_logit_bias;
    bool logprobs;
    int32_t top_logprobs;
    bool echo;                 /* completions: prepend the prompt to the text */
    bool ignore_eos;           /* extension: never end at an end-of-generation token */
    int32_t num_ctx;           /* Ollama options.num_ctx; 0 = the server's */
    char *gbnf;                /* the grammar every choice must follow, or NULL; owned */
    json_t *tools;             /* offered tools, normalised ([{type, function}]), or NULL;
                                  owned */
    tlm_tool_mode tool_mode;
    char *tool_name;           /* a named tool_choice, or NULL; owned */
} tlm_srv_request;

/* Parses and validates a request body for api.  Unknown fields are
 * ignored; everything else wrong is an error naming the field (status
 * 400).  Nothing here needs a model.  On success *out is filled (release
 * with tlm_request_free); returns 0, or -1 with e filled. */
int tlm_request_parse(tlm_api api, const char *body, size_t len, tlm_srv_request *out,
                      tlm_api_error *e);
void tlm_request_free(tlm_srv_request *r);

/* Field readers shared by the parsers (request.c): each returns 0 when the
 * field is absent or null (leaving *out as it was), 1 when read, -1 with
 * e filled (400 naming the field) when it has the wrong type or range. */
int tlm_field_bool(const json_t *obj, const char *key, const char *param, bool *out,
                   tlm_api_error *e);
int tlm_field_int(const json_t *obj, const char *key, const char *param, int64_t lo, int64_t hi,
                  int64_t *out, tlm_api_error *e);
int tlm_field_float(const json_t *obj, const char *key, const char *param, double lo, double hi,
                    tlm_opt_f *out, tlm_api_error *e);
int tlm_field_string(const json_t *obj, const char *key, const char *param, const char **out,
                     tlm_api_error *e);
/* "stop": a string or an array of strings. */
int tlm_field_stop(const json_t *obj, const char *key, const char *param, tlm_srv_request *r,
                   tlm_api_error *e);
/* messages[]: roles and content checked, content parts joined. */
int tlm_field_messages(const json_t *obj, const char *key, tlm_srv_request *r,
                       tlm_api_error *e);
/* response_format / format, grammar, tools, tool_choice and
 * parallel_tool_calls -> gbnf, tools, tool_mode (structured_req.c).  Every
 * grammar is compiled here: what cannot be enforced is a 400 naming it. */
int tlm_request_parse_structured(const json_t *root, tlm_srv_request *r, tlm_api_error *e);
/* Ollama's request (request_ollama.c). */
int tlm_request_parse_ollama(const json_t *root, tlm_srv_request *r, tlm_api_error *e);

/* ======================================================================
 * The server
 * ====================================================================== */

typedef struct tlm_metrics tlm_metrics;
typedef struct tlm_tool_stream tlm_tool_stream; /* tools.c */

typedef struct tlm_srv_model {
    char *id;                  /* what clients call it: the pulled name or the file name
                                  without .gguf */
    char *path;
    tlm_model *model;
    tlm_sched *sched;
    tlm_token *eog;            /* (n_eog) end-of-generation ids (for ignore_eos) */
    int32_t n_eog;
    uint64_t file_size;
    int64_t mtime;             /* seconds since the epoch */
    double load_ms;
    int index;                 /* in tlm_srv.models, and the metrics label */
} tlm_srv_model;

typedef struct tlm_srv_params {
    const char *const *models; /* (n_models) model paths */
    const char *const *names;  /* (n_models) their ids; NULL entries = from the path */
    int n_models;
    const char *host;
    int port;
    int32_t parallel;          /* slots per model */
    int32_t ctx;               /* context per slot; 0 = min(4096, trained) */
    int32_t threads;           /* 0 = all cores */
    int32_t queue;             /* waiting requests per model beyond the slots */
    const char *api_key;       /* NULL = no authentication */
    const char *cors;          /* Access-Control-Allow-Origin value, or NULL */
    size_t max_body;
    bool log_requests;         /* one line per request on stderr */
    const char *reports_dir;   /* GET /reports; NULL = the cache's tinylm/reports */
} tlm_srv_params;

typedef enum tlm_srv_state {
    TLM_SRV_LOADING = 0,
    TLM_SRV_READY,
    TLM_SRV_STOPPING,
} tlm_srv_state;

typedef struct tlm_srv {
    tlm_srv_params p;
    tlm_srv_model *models;     /* (n_models), owned */
    int n_models;
    atomic_int state;          /* tlm_srv_state */
    atomic_int n_loaded;       /* models ready so far (they load in order) */
    tlm_http_server *http;
    tlm_metrics *metrics;
    uint64_t t_start;
    int64_t created;           /* start-up time, seconds since the epoch */
    atomic_ullong seq;         /* request counter: ids and random seeds */
} tlm_srv;

/* Starts listening (state LOADING: /health answers 503).  The params'
 * strings are borrowed and must outlive the server.  The caller owns *out
 * (tlm_srv_free). */
tlm_status tlm_srv_create(const tlm_srv_params *p, tlm_srv **out, tlm_error *err);
int tlm_srv_port(const tlm_srv *s);
/* Loads and warms every model, then answers requests (state READY).
 * progress (may be NULL) is told each model's outcome. */
tlm_status tlm_srv_load(tlm_srv *s, void (*progress)(void *user, const tlm_srv_model *m),
                        void *user, tlm_error *err);
/* Graceful stop: refuses new work, lets running generations finish for up
 * to grace_ms, cancels what is left, closes every connection.  The first
 * step alone is tlm_srv_stop_accepting (new connections and new
 * generations are refused; running ones go on); tlm_srv_idle says whether
 * any generation is still running or queued. */
void tlm_srv_shutdown(tlm_srv *s, int grace_ms);
void tlm_srv_stop_accepting(tlm_srv *s);
bool tlm_srv_idle(tlm_srv *s);
void tlm_srv_free(tlm_srv *s);

/* The model a request names (NULL name: the first model), or NULL with e
 * filled (404 model_not_found listing the served ones).  The ":latest" tag
 * that Ollama clients add is ignored. */
tlm_srv_model *tlm_srv_find_model(tlm_srv *s, const char *name, tlm_api_error *e);

/* ======================================================================
 * Routing and responses (router.c, respond.c)
 * ====================================================================== */

/* Which error shape a route speaks. */
typedef enum tlm_family { TLM_FAMILY_OPENAI = 0, TLM_FAMILY_OLLAMA, TLM_FAMILY_PLAIN } tlm_family;

typedef void (*tlm_route_fn)(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);

/* The router: the HTTP handler and completion hook of the server. */
void tlm_router_handle(void *srv, tlm_http_req *req, tlm_http_resp *resp);
void tlm_router_done(void *srv, tlm_http_req *req, int status, bool completed);

/* A JSON response (obj is stolen). */
void tlm_resp_json(tlm_http_resp *r, int status, json_t *obj);
/* An error in the family's shape. */
void tlm_resp_error(tlm_http_resp *r, tlm_family f, const tlm_api_error *e);
/* The OpenAI error object ({"message","type","param","code"}), new ref. */
json_t *tlm_openai_error_json(const tlm_api_error *e);
/* Appends "data: JSON\n\n" (obj stolen; NULL writes nothing). */
void tlm_sse_event(tlm_buf *out, json_t *obj);
/* Appends "JSON\n" (obj stolen). */
void tlm_ndjson_line(tlm_buf *out, json_t *obj);
/* Marks a response as a stream of the given type (no caching, no proxy
 * buffering). */
void tlm_resp_stream(tlm_http_resp *r, const char *content_type, tlm_http_produce_fn produce,
                     tlm_http_stream_free_fn stream_free, void *user);

/* Endpoints. */
void tlm_handle_chat(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_completions(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_models(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_model(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_ollama_chat(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_ollama_generate(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_ollama_tags(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_ollama_show(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_ollama_version(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_ollama_ps(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_health(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);
void tlm_handle_metrics(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp);

/* ======================================================================
 * Generation requests (gen.c)
 * ====================================================================== */

/* A generation in flight for one HTTP request: the parsed request, the
 * model, the task, and what the jobs produced so far. */
typedef struct tlm_srv_gen {
    tlm_srv *srv;
    tlm_srv_model *m;
    tlm_srv_request rq;        /* owned */
    tlm_http_req *http;        /* borrowed: valid until the response is done */
    tlm_task *task;            /* owned */
    int32_t *n_prompt;         /* (n_prompts) prompt tokens of each prompt */
    int32_t n_ctx;             /* context limit of this request */
    tlm_sampler_params sampling; /* effective settings (choice 0's seed) */
    uint64_t seed;
    tlm_buf *text;             /* (n_jobs) text taken so far */
    tlm_buf *recs;             /* (n_jobs) tlm_tok_rec taken so far */
    bool *done;                /* (n_jobs) the job is over (as of the last poll) */
    bool *ended;               /* (n_jobs) the consumer reported the end */
    tlm_tool_stream *tstream;  /* (n_jobs) when tools are offered and streamed, else NULL */
    char id[48];               /* "chatcmpl-..." */
    int64_t created;
} tlm_srv_gen;

/* Resolves the model, builds the prompt(s) (chat template, tokens), checks
 * them against the context, creates the samplers and the task, and
 * submits it.  Takes ownership of *rq (whatever happens).  id_prefix:
 * "chatcmpl", "cmpl".  Returns NULL with e filled: 400 (prompt too long,
 * bad template, logit_bias token), 404 (model), 429 (queue full, with
 * Retry-After), 503 (loading, shutting down). */
tlm_srv_gen *tlm_gen_start(tlm_srv *s, tlm_http_req *req, tlm_srv_request *rq,
                           const char *id_prefix, tlm_api_error *e);
/* Cancels what still runs and frees everything. */
void tlm_gen_free(tlm_srv_gen *g);
/* Waits (at most timeout_ms) and takes new output into g->text/recs; new
 * bytes of choice i start at the offsets the caller remembers.  Returns
 * true when every job is done. */
bool tlm_gen_poll(tlm_srv_gen *g, int timeout_ms);
/* Non-streaming: waits until done.  Returns false when the client went
 * away (the generation is then cancelled). */
bool tlm_gen_wait(tlm_srv_gen *g);
/* The first failed job's error (status 500 or 503 at shutdown), or NULL. */
bool tlm_gen_failed(const tlm_srv_gen *g, tlm_api_error *e);

/* Totals over the jobs. */
typedef struct tlm_gen_usage {
    int32_t prompt;            /* prompt tokens (each prompt once) */
    int32_t cached;            /* of which reused from the KV cache */
    int32_t completion;        /* generated tokens, all choices */
} tlm_gen_usage;
tlm_gen_usage tlm_gen_get_usage(const tlm_srv_gen *g);
/* OpenAI usage object: prompt/completion/total tokens and
 * prompt_tokens_details.cached_tokens. */
json_t *tlm_gen_usage_json(const tlm_srv_gen *g);
/* The timings object (docs/API.md): prompt_n, prompt_ms, ..., ttft_ms. */
json_t *tlm_gen_timings_json(const tlm_srv_gen *g);
/* The effective settings, as the "tinylm" extension object. */
json_t *tlm_gen_settings_json(const tlm_srv_gen *g);
/* "stop", "length" (OpenAI finish_reason) of a finished job. */
const char *tlm_finish_str(tlm_finish f);
/* Durations for Ollama (ns). */
typedef struct tlm_gen_times {
    uint64_t total_ns, prompt_ns, eval_ns, queue_ns;
    double ttft_ms;
} tlm_gen_times;
tlm_gen_times tlm_gen_get_times(const tlm_srv_gen *g);
/* Appends logprobs content entries for recs[0, n) to arr (OpenAI chat
 * shape: token, logprob, bytes, top_logprobs). */
void tlm_gen_logprobs_content(const tlm_srv_gen *g, const tlm_tok_rec *recs, size_t n,
                              json_t *arr);

/* A JSON string of bytes that should be UTF-8: invalid bytes become
 * U+FFFD instead of failing.  New reference. */
json_t *tlm_json_text(const char *s, size_t n);

/* ======================================================================
 * Tool calls (tools.c)
 * ====================================================================== */

/* Whether the model's chat template renders a tools list itself. */
bool tlm_template_has_tools(const tlm_model *m);
/* rq's messages as the template should see them (new reference; NULL when
 * out of memory), and in *tools_json (free() it; may stay NULL) the tools
 * for the template's tools variable.  For templates without tool syntax
 * the tools, earlier calls and results are written as text instead. */
json_t *tlm_tools_messages(const tlm_model *m, const tlm_srv_request *rq, char **tools_json);
/* A fresh "call_..." id (29 characters and a NUL). */
void tlm_tool_call_id(char out[32]);
/* The whole calls at the start of text: [{name, arguments}] (new
 * reference, possibly empty); *used is the bytes they take. */
json_t *tlm_tool_calls_parse(const char *text, size_t n, size_t *used);

/* Streaming state of each choice of a request with tools. */
tlm_tool_stream *tlm_tool_streams_create(int32_t n);
void tlm_tool_streams_free(tlm_tool_stream *s, int32_t n);
/* New text of the choice (end: it was the last) -> an array of OpenAI
 * chat deltas to send, in order (new reference). */
json_t *tlm_tool_stream_push(tlm_tool_stream *s, const char *text, size_t n, bool end);
tlm_tool_stream *tlm_tool_stream_at(tlm_tool_stream *s, int32_t i);
/* Whether the choice answered with calls. */
bool tlm_tool_stream_called(const tlm_tool_stream *s);

/* ======================================================================
 * OpenAI answers (openai_common.c)
 * ====================================================================== */

/* What differs between chat and text completions in an answer. */
typedef struct tlm_oai_kind {
    const char *object;        /* "chat.completion" / "text_completion" */
    const char *chunk_object;  /* "chat.completion.chunk" / "text_completion" */
    /* One choice of a stream chunk: new text and token records of choice
     * i, and its finish reason or NULL.  New reference; an array stands
     * for several choices, each sent in a chunk of its own. */
    json_t *(*choice)(const tlm_srv_gen *g, int32_t i, const char *text, size_t n,
                      const tlm_tok_rec *recs, size_t n_recs, const char *finish);
    /* The choice that opens a stream (chat: the role), or NULL. */
    json_t *(*opening)(const tlm_srv_gen *g, int32_t i);
    /* The choice of a complete answer. */
    json_t *(*full_choice)(const tlm_srv_gen *g, int32_t i);
} tlm_oai_kind;

/* id, object, created, model, system_fingerprint.  New reference. */
json_t *tlm_oai_envelope(const tlm_srv_gen *g, const char *object);
/* Answers a started generation: a stream of chunks (then usage when
 * asked, then [DONE]) or, when not streaming, one object after waiting.
 * Takes g. */
void tlm_oai_answer(tlm_srv_gen *g, const tlm_oai_kind *k, tlm_http_resp *resp);
/* A whole OpenAI generation endpoint: parses the body as `api`, starts the
 * generation (ids "<id_prefix>-...") and answers it in the shape k, or
 * echo_k when the request asked for its prompt back (NULL: k). */
void tlm_oai_handle(tlm_srv *s, tlm_http_req *req, tlm_http_resp *resp, tlm_api api,
                    const char *id_prefix, const tlm_oai_kind *k, const tlm_oai_kind *echo_k);

/* ======================================================================
 * Metrics (metrics.c)
 * ====================================================================== */

tlm_metrics *tlm_metrics_create(int n_models);
void tlm_metrics_free(tlm_metrics *m);
/* Hooks for model i's scheduler. */
tlm_sched_observer tlm_metrics_observer(tlm_metrics *m, int model);
/* One finished HTTP request. */
void tlm_metrics_request(tlm_metrics *m, int status, double seconds);

#endif /* TLM_SERVER_SERVER_H */
