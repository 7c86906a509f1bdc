/*
 * model_arg.h - helpers shared by the commands that take a MODEL argument
 * (run, bench, perplexity): resolving a path or pulled name, loading with
 * a readable error, tokenizing into a fresh array, and strict number
 * parsing for flags.  Errors are printed here, prefixed "tinylm CMD: ".
 */
#ifndef TLM_CLI_MODEL_ARG_H
#define TLM_CLI_MODEL_ARG_H

#include "tinylm.h"

#include <stdbool.h>
#include <stdint.h>

/* Resolves arg (a GGUF path or a pulled name) and loads it.  Returns 0 and
 * sets *out (free with tlm_model_free), or prints the error and returns 1.
 * *load_ms (may be NULL) gets the load time. */
int tlm_cli_load_model(const char *cmd, const char *arg, int32_t n_threads, tlm_model **out,
                       double *load_ms);

/* Tokenizes text into a new array (free with tlm_free); NULL on error
 * (err filled). */
tlm_token *tlm_cli_tokenize(const tlm_model *m, const char *text, size_t len, bool add_bos,
                            bool parse_special, int32_t *n_out, tlm_error *err);

/* Whole-string number parsing: false (and a message naming flag) when s is
 * not a number in [lo, hi]. */
bool tlm_cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi,
                       long *out);
bool tlm_cli_parse_float(const char *cmd, const char *flag, const char *s, double lo, double hi,
                         double *out);

/* Reads all of a stream (stdin) into a NUL-terminated string; free with
 * tlm_free.  NULL on a read error. */
char *tlm_cli_read_all(void *file, size_t *len);

#endif /* TLM_CLI_MODEL_ARG_H */
