/*
 * main.c - the tinylm command: looks up the subcommand in a table and hands
 * it the remaining arguments.  Everything real happens in the library; the
 * cmd_*.c files only parse arguments and print.
 */
#include "cli/commands.h"
#include "tinylm.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    tlm_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"info", cmd_info, "describe a GGUF file: metadata, tokenizer, tensors"},
    {"synth", cmd_synth, "write a shape-faithful model with random weights"},
    {"quantize", cmd_quantize, "convert a model to another weight type"},
    {"tokenize", cmd_tokenize, "show how a model tokenizes text"},
    {"run", cmd_run, "answer a prompt or chat with a model"},
    {"bench", cmd_bench, "measure prompt, generation and first-token speed"},
    {"perplexity", cmd_perplexity, "perplexity of a model over a text, KL against saved logits"},
    {"pull", cmd_pull, "download a GGUF model into the cache"},
    {"grammar", cmd_grammar, "inspect, test and benchmark grammars and JSON Schemas"},
    {"template", cmd_template, "render a chat template (debugging)"},
    {"eval", cmd_eval, "run task suites against models or endpoints and grade the answers"},
    {"compare", cmd_compare, "evaluate several models side by side and write a report"},
    {"serve", cmd_serve, "serve models over HTTP (OpenAI and Ollama APIs)"},
    /* Add new commands above this line, one per line. */
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f, "tinylm %s - run, serve and compare small language models\n\n", tlm_version());
    fprintf(f, "usage: tinylm COMMAND [ARGS]   (tinylm COMMAND --help for details)\n\n");
    for (size_t i = 0; commands[i].name; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tinylm %s\n", tlm_version());
        return 0;
    }
    for (size_t i = 0; commands[i].name; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tinylm: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
