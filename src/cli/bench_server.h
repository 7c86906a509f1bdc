/*
 * bench_server.h - `tinylm bench --server URL`: load test of a running
 * OpenAI-compatible server (tinylm serve, or any other), by concurrency
 * level.
 */
#ifndef TLM_CLI_BENCH_SERVER_H
#define TLM_CLI_BENCH_SERVER_H

/* argv is the bench command's own (argv[0] = "bench") and must contain
 * --server URL; --help prints the options.  For each concurrency level C,
 * C client threads each send --requests streaming chat requests one after
 * the other, all starting together, and the command prints time to first
 * token (P50, P95), per-stream generation speed, aggregate tokens/s, and
 * the aggregate relative to the first level.  Returns the exit status. */
int tlm_cli_bench_server(int argc, char **argv);

#endif /* TLM_CLI_BENCH_SERVER_H */
