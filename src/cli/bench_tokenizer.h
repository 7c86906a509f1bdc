/*
 * bench_tokenizer.h - `tinylm bench --tokenizer`: encoding speed of a
 * model's tokenizer on English prose, Chinese prose and source code.
 */
#ifndef TLM_CLI_BENCH_TOKENIZER_H
#define TLM_CLI_BENCH_TOKENIZER_H

/* argv[0] is the caller's name for the command and is skipped, as in main();
 * then MODEL [--repeats N] [--mb SIZE] [--file PATH].  Prints one line per
 * text: MB/s (median of the repeats), tokens and bytes per token.  Returns
 * the process exit status (0 ok, 1 failure, 2 usage error). */
int tlm_cli_bench_tokenizer(int argc, char **argv);

#endif /* TLM_CLI_BENCH_TOKENIZER_H */
