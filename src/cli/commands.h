/*
 * commands.h - the subcommands of the tinylm command.  Each lives in its own
 * cmd_<name>.c and is listed in main.c's table.  A command returns the
 * process exit status (0 ok, 1 failure, 2 usage error).
 */
#ifndef TLM_CLI_COMMANDS_H
#define TLM_CLI_COMMANDS_H

typedef int (*tlm_cmd_fn)(int argc, char **argv);

int cmd_info(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_grammar(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_compare(int argc, char **argv);


#endif /* TLM_CLI_COMMANDS_H */
