/*
 * bench_structured.h - `tinylm bench MODEL --json-schema FILE` (or
 * --structured, with a built-in schema): generation speed with and without
 * a JSON Schema constraint, measured in the same run.
 */
#ifndef TLM_CLI_BENCH_STRUCTURED_H
#define TLM_CLI_BENCH_STRUCTURED_H

#include "tinylm.h"

/* schema_file NULL = the built-in schema.  For each of the n_threads thread
 * counts: sampled generation of about n tokens unconstrained, then under
 * the schema (a fresh tlm_structured per answer, as the server makes one
 * per request), repeats times, interleaved; prints the medians and the
 * ratio (as JSON when json).  Returns the exit status. */
int tlm_cli_bench_structured(tlm_model *m, const char *schema_file, const int *threads,
                             int n_threads, long n, long repeats, int json);

#endif /* TLM_CLI_BENCH_STRUCTURED_H */
