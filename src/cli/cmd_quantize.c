/*
 * cmd_quantize.c - `tinylm quantize IN OUT TYPE`: convert a GGUF model to
 * another weight type or llama.cpp-style mix (model/quantize.h), with a
 * progress bar on stderr and a per-type summary at the end.  --dry-run
 * prints the type every tensor would get, without writing anything.
 */
#include "cli/commands.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "model/quantize.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f, "usage: tinylm quantize [options] IN.gguf OUT.gguf TYPE\n\n"
               "Converts a GGUF model (F32, F16, BF16 or already quantized) to TYPE, tensor by\n"
               "tensor.  Norms, biases and other 1-D tensors are copied unchanged.  The mixes\n"
               "follow llama-quantize's rules, so the tensor types match its files.\n\n"
               "TYPE (Q3_K, Q4_K, Q5_K mean the _M mixes):\n");
    for (size_t i = 0; tlm_quant_recipe_at(i); i++)
        fprintf(f, "  %-8s %s\n", tlm_quant_recipe_at(i)->name, tlm_quant_recipe_at(i)->summary);
    fprintf(f, "\noptions:\n"
               "  --pure          every converted tensor gets TYPE's own type: no mix and no\n"
               "                  special output type (widths its block cannot divide still\n"
               "                  fall back, e.g. Q4_K -> Q5_0)\n"
               "  -t, --threads N threads (default: all CPUs)\n"
               "  --dry-run       print each tensor's new type and the sizes; write nothing\n"
               "  -q, --quiet     no progress bar and no summary\n"
               "  -h, --help      this text\n\n"
               "examples:\n"
               "  tinylm quantize qwen2.5-0.5b-f16.gguf qwen2.5-0.5b-q4_k_m.gguf Q4_K_M\n"
               "  tinylm quantize -t 2 gemma-2b-f32.gguf gemma-2b-q8_0.gguf Q8_0\n"
               "  tinylm quantize --pure model-f16.gguf model-q4_0-pure.gguf Q4_0\n"
               "  tinylm quantize --dry-run model-f16.gguf - Q5_K_M\n");
}

typedef struct bar_state {
    bool tty;
    int last_permille;
} bar_state;

static bool draw_bar(void *user, const tlm_quantize_progress *p) {
    bar_state *b = user;
    if (!b->tty || !p->elems_total) return true;
    int permille = (int)(p->elems_done * 1000 / p->elems_total);
    if (permille == b->last_permille && p->elems_done != p->elems_total) return true;
    b->last_permille = permille;
    int width = 30, filled = permille * width / 1000;
    fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %-28.28s %s -> %s\033[K", filled,
            "##############################", width - filled, "", permille / 10.0, p->name,
            tlm_type_info(p->from)->name, tlm_type_info(p->to)->name);
    if (p->elems_done == p->elems_total) fputc('\n', stderr);
    fflush(stderr);
    return true;
}

/* Per-type tensor counts and bytes; types NULL = the file's own types. */
static void print_type_summary(FILE *f, const tlm_gguf *in, const tlm_type *types) {
    uint64_t count[TLM_TYPE_COUNT] = {0}, bytes[TLM_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(in); i++) {
        const tlm_gguf_tensor *t = tlm_gguf_tensor_at(in, i);
        uint64_t n = 1;
        for (uint32_t d = 1; d < t->n_dims; d++)
            n *= t->ne[d];
        tlm_type ty = types ? types[i] : t->type;
        count[ty]++;
        bytes[ty] += tlm_type_row_size(ty, t->ne[0]) * n;
    }
    for (int t = 0; t < TLM_TYPE_COUNT; t++)
        if (count[t])
            fprintf(f, "  %-5s %4llu tensors %10.2f MiB\n", tlm_type_info((uint32_t)t)->name,
                    (unsigned long long)count[t], (double)bytes[t] / 1048576.0);
}

static int dry_run(const char *in_path, const char *recipe, bool pure) {
    tlm_error err = {0};
    tlm_gguf *in = NULL;
    tlm_type *types = NULL;
    size_t n_fallback = 0;
    if (tlm_gguf_open(in_path, &in, &err) ||
        tlm_quantize_plan_file(in, recipe, pure, &types, &n_fallback, &err)) {
        fprintf(stderr, "tinylm quantize: %s\n", err.msg);
        tlm_gguf_free(in);
        return 1;
    }
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(in); i++) {
        const tlm_gguf_tensor *t = tlm_gguf_tensor_at(in, i);
        char shape[96];
        int len = snprintf(shape, sizeof shape, "[%llu", (unsigned long long)t->ne[0]);
        for (uint32_t d = 1; d < t->n_dims && len < (int)sizeof shape; d++)
            len += snprintf(shape + len, sizeof shape - (size_t)len, ", %llu",
                            (unsigned long long)t->ne[d]);
        printf("%-36.*s %-22s %-5s -> %s\n", (int)t->name.len, t->name.ptr, strcat(shape, "]"),
               tlm_type_info(t->type)->name, tlm_type_info(types[i])->name);
    }
    printf("\n%s: %zu tensor(s) needed a width fallback\n", tlm_quant_recipe_find(recipe)->name,
           n_fallback);
    print_type_summary(stdout, in, types);
    tlm_free(types);
    tlm_gguf_free(in);
    return 0;
}

int cmd_quantize(int argc, char **argv) {
    static const struct option opts[] = {
        {"pure", no_argument, 0, 'p'},    {"threads", required_argument, 0, 't'},
        {"dry-run", no_argument, 0, 'n'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},    {0, 0, 0, 0}};
    tlm_quantize_params p = tlm_quantize_default_params();
    bool dry = false, quiet = false;
    int c;
    while ((c = getopt_long(argc, argv, "t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': p.pure = true; break;
        case 't': p.n_threads = atoi(optarg); break;
        case 'n': dry = true; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 3) {
        usage(stderr);
        return 2;
    }
    const char *in = argv[optind], *out = argv[optind + 1], *recipe = argv[optind + 2];
    if (!tlm_quant_recipe_find(recipe)) {
        fprintf(stderr, "tinylm quantize: unknown type '%s' (see tinylm quantize --help)\n",
                recipe);
        return 2;
    }
    if (dry) return dry_run(in, recipe, p.pure);

    bar_state bar = {.tty = !quiet && isatty(2), .last_permille = -1};
    p.progress = draw_bar;
    p.user = &bar;
    tlm_error err = {0};
    tlm_quantize_stats st;
    if (tlm_quantize_model(in, out, recipe, &p, &st, &err)) {
        if (bar.tty) fputc('\n', stderr);
        fprintf(stderr, "tinylm quantize: %s\n", err.msg);
        return 1;
    }
    if (!quiet)
        fprintf(stderr,
                "%s: %llu tensors, %llu converted (%llu width fallbacks), %.2f MiB -> %.2f MiB "
                "in %.1f s\n",
                out, (unsigned long long)st.n_tensors, (unsigned long long)st.n_converted,
                (unsigned long long)st.n_fallback, (double)st.bytes_in / 1048576.0,
                (double)st.bytes_out / 1048576.0, st.seconds);
    tlm_gguf *res = NULL;
    if (!quiet && tlm_gguf_open(out, &res, NULL) == TLM_OK) print_type_summary(stderr, res, NULL);
    tlm_gguf_free(res);
    return 0;
}
