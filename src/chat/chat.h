/*
 * chat.h - chat templates: turning a conversation (messages, tools) into
 * the prompt text a model was trained on, by rendering the model's own
 * Jinja template (GGUF key tokenizer.chat_template) exactly as Hugging Face
 * transformers' apply_chat_template does with Python's jinja2.
 *
 * Typical use:
 *   tlm_chat_template *t;
 *   tlm_chat_template_parse(src, len, &t, &err);          // once per model
 *   json_t *vars = tlm_chat_vars(messages, tools, true, "<s>", "</s>", NULL);
 *   char *prompt;
 *   tlm_chat_template_render(t, vars, &prompt, &err);     // per request
 *   ...; tlm_free(prompt); json_decref(vars); tlm_chat_template_free(t);
 *
 * A parsed template is immutable: several threads may render it at once.
 * Errors (syntax errors, raise_exception() in the template, undefined
 * values misused, limits exceeded) come back as a status with a message
 * naming the template line ("template line 3, column 12: ...").
 *
 * Where the output can differ from jinja2 (all outside what chat templates
 * do; each is an error here, never silently different text):
 *   - integers are 64-bit: results Python would make big integers fail;
 *     so do complex results (negative number ** fraction);
 *   - the filters groupby, slice, striptags, wordwrap, urlize, urlencode,
 *     xmlattr, filesizeformat, pprint, random and the globals cycler,
 *     joiner, lipsum fail as "not supported", as do recursive for loops and
 *     extends/include/import/block;
 *   - case mapping is Unicode's one-to-one mapping plus sharp s -> "SS"
 *     (no Greek final sigma), and Markup (|safe) strings are plain strings;
 *   - printing a generator shows "<generator object>" (Python prints an
 *     address).
 */
#ifndef TLM_CHAT_CHAT_H
#define TLM_CHAT_CHAT_H

#include "gguf/gguf.h"
#include "tinylm.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tlm_chat_template tlm_chat_template;

/* Parses a template (UTF-8, len bytes; src need not be NUL-terminated and
 * is copied).  On success *out is owned by the caller: free it with
 * tlm_chat_template_free.  TLM_ERR_FORMAT with line and column for syntax
 * errors. */
tlm_status tlm_chat_template_parse(const char *src, size_t len, tlm_chat_template **out,
                                   tlm_error *err);

void tlm_chat_template_free(tlm_chat_template *t);

/* The template text as given to parse (borrowed, NUL-terminated). */
const char *tlm_chat_template_source(const tlm_chat_template *t);

/* Bounds on one render, so a hostile template cannot loop forever or eat
 * memory.  now: the clock strftime_now() reads (Unix seconds, local time
 * zone); negative means the real time. */
typedef struct tlm_chat_render_opts {
    size_t max_output;  /* bytes of output */
    uint64_t max_steps; /* statements, loop iterations and macro calls */
    int max_depth;      /* nested macro calls */
    size_t max_memory;  /* bytes of values made while rendering */
    int64_t now;
} tlm_chat_render_opts;

/* 16 MiB output, 10M steps, depth 100, 512 MiB memory, real time.  Real
 * chat templates need a few thousand steps and well under a megabyte. */
tlm_chat_render_opts tlm_chat_render_default_opts(void);

/* Renders with vars (a JSON object: each key becomes a template variable;
 * NULL means none).  *out is NUL-terminated, free with tlm_free(); it may
 * contain NUL bytes if the inputs did, so out_len (may be NULL) gives the
 * length.  On failure *out is NULL. */
tlm_status tlm_chat_template_render_ex(const tlm_chat_template *t, const json_t *vars,
                                       const tlm_chat_render_opts *opts, char **out,
                                       size_t *out_len, tlm_error *err);

/* render_ex with the default options. */
tlm_status tlm_chat_template_render(const tlm_chat_template *t, const json_t *vars, char **out,
                                    tlm_error *err);

/* The variables transformers' apply_chat_template passes: messages, tools
 * (null when absent), documents (null), add_generation_prompt, bos_token
 * and eos_token (omitted when NULL), then every key of extra (may be NULL)
 * on top.  messages/tools/extra are borrowed (copied by reference count).
 * Returns a new reference (json_decref it), NULL when out of memory. */
json_t *tlm_chat_vars(const json_t *messages, const json_t *tools, bool add_generation_prompt,
                      const char *bos_token, const char *eos_token, const json_t *extra);

/* ---- Templates from model files ---- */

/* The template a GGUF file carries (tokenizer.chat_template, or
 * tokenizer.chat_template.<name> when name is not NULL), else a built-in one
 * chosen by architecture and vocabulary (see tlm_chat_builtin_for_gguf).
 * *out as for parse; *builtin_name (may be NULL) is set to the built-in
 * used, or NULL when the file had its own. */
tlm_status tlm_chat_template_from_gguf(const tlm_gguf *g, const char *name,
                                       tlm_chat_template **out, const char **builtin_name,
                                       tlm_error *err);

/* The text of the BOS / EOS tokens (tokenizer.ggml.bos_token_id looked up in
 * tokenizer.ggml.tokens), as new strings to free with tlm_free(); "" when
 * the file does not say. */
tlm_status tlm_chat_special_tokens(const tlm_gguf *g, char **bos, char **eos, tlm_error *err);

/* ---- Built-in templates (builtin_templates.c) ---- */

/* The source of a built-in template: "chatml", "gemma", "gemma3",
 * "llama3", "llama3.1", "llama3.2", "mistral", "phi3", "qwen2.5",
 * "qwen3", "smollm2".  NULL for an unknown name.  Static storage. */
const char *tlm_chat_builtin_template(const char *name);

/* The names above, NULL-terminated. */
const char *const *tlm_chat_builtin_names(void);

/* Which built-in fits a model without a template: by general.architecture,
 * and for "llama"-family files by the special tokens in the vocabulary.
 * Never NULL ("chatml" when nothing better is known). */
const char *tlm_chat_builtin_for_gguf(const tlm_gguf *g);

#endif /* TLM_CHAT_CHAT_H */
