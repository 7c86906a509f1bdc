/*
 * cmd_perplexity.c - `tinylm perplexity MODEL FILE`: perplexity over a text
 * in fixed-size chunks (src/eval/perplexity.h), optionally saving the
 * logits or comparing them with saved ones (KL divergence, top-1
 * agreement): how a quantization is judged against its F16 original.
 */
#include "cli/commands.h"
#include "cli/model_arg.h"
#include "core/util.h"
#include "eval/perplexity.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm perplexity [OPTIONS] MODEL FILE\n\n"
            "Perplexity of MODEL over the text in FILE (- for stdin), computed as\n"
            "llama.cpp's perplexity tool does: the tokens are cut into chunks of -c tokens,\n"
            "each evaluated from an empty context, and the second half of each chunk is\n"
            "scored.\n\n"
            "  -c N               chunk size in tokens (default 512)\n"
            "  -b N               tokens per forward pass (default min(512, chunk))\n"
            "  -t N               threads (default: all cores)\n"
            "  --chunks N         evaluate at most N chunks\n"
            "  --save-logits OUT  write the logits of every scored token to OUT (format in\n"
            "                     docs/FORMATS.md; about 0.6 MB per token for a 150k\n"
            "                     vocabulary)\n"
            "  --kl-base OUT      compare with logits saved earlier: KL divergence (mean,\n"
            "                     99th percentile, max), top-1 agreement and the RMS of the\n"
            "                     change in probability of the actual next token\n\n"
            "examples:\n"
            "  tinylm perplexity model-f16.gguf wiki.test.raw --save-logits f16.logits\n"
            "  tinylm perplexity model-q4_k_m.gguf wiki.test.raw --kl-base f16.logits\n");
}

static void progress(void *user, int32_t chunk, int32_t n_chunks, double ppl) {
    (void)user;
    fprintf(stderr, "[%d/%d] perplexity %.4f\n", chunk, n_chunks, ppl);
}

static void report(const tlm_ppl_result *r, const tlm_ppl_params *p) {
    printf("perplexity: %.4f +- %.4f over %lld tokens (%d chunks of %d, %.1f s)\n", r->ppl,
           r->ppl_err, (long long)r->n_scored, r->n_chunks, p->n_ctx, r->seconds);
    if (!r->has_kl) return;
    printf("base perplexity: %.4f (%s)\n", r->base_ppl, p->kl_base);
    printf("KL divergence: mean %.6f, 99th percentile %.6f, max %.6f\n", r->kl_mean, r->kl_p99,
           r->kl_max);
    printf("top-1 agreement: %.2f %%\n", 100.0 * r->top1);
    printf("RMS of the change in p(next token): %.6f\n", r->rms_dp);
}

int cmd_perplexity(int argc, char **argv) {
    static const struct option opts[] = {{"chunks", required_argument, 0, 'C'},
                                         {"save-logits", required_argument, 0, 'S'},
                                         {"kl-base", required_argument, 0, 'K'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    tlm_ppl_params p = tlm_ppl_default_params();
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "c:b:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': if (!tlm_cli_parse_int("perplexity", "-c", optarg, 8, 1 << 20, &v)) return 2;
            p.n_ctx = (int32_t)v; break;
        case 'b': if (!tlm_cli_parse_int("perplexity", "-b", optarg, 1, 1 << 20, &v)) return 2;
            p.n_batch = (int32_t)v; break;
        case 't': if (!tlm_cli_parse_int("perplexity", "-t", optarg, 1, 256, &v)) return 2;
            p.n_threads = (int32_t)v; break;
        case 'C': if (!tlm_cli_parse_int("perplexity", "--chunks", optarg, 1, 1 << 30, &v))
                return 2;
            p.max_chunks = (int32_t)v; break;
        case 'S': p.save_logits = optarg; break;
        case 'K': p.kl_base = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 2 != argc) {
        fprintf(stderr, "tinylm perplexity: give a MODEL and a text FILE\n\n");
        usage(stderr);
        return 2;
    }
    if (p.save_logits && p.kl_base && !strcmp(p.save_logits, p.kl_base)) {
        fprintf(stderr, "tinylm perplexity: --save-logits and --kl-base name the same file\n");
        return 2;
    }
    const char *path = argv[optind + 1];
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "tinylm perplexity: cannot open %s\n", path);
        return 1;
    }
    size_t len = 0;
    char *text = tlm_cli_read_all(f, &len);
    if (f != stdin) fclose(f);
    if (!text) {
        fprintf(stderr, "tinylm perplexity: cannot read %s\n", path);
        return 1;
    }
    tlm_model *m = NULL;
    int rc = tlm_cli_load_model("perplexity", argv[optind], p.n_threads, &m, NULL);
    if (!rc) {
        p.progress = progress;
        tlm_ppl_result r;
        tlm_error err = {0};
        if (tlm_perplexity(m, text, len, &p, &r, &err) == TLM_OK) {
            report(&r, &p);
        } else {
            const char *msg = err.msg;
            if (!strncmp(msg, "perplexity: ", 12)) msg += 12;
            fprintf(stderr, "tinylm perplexity: %s\n", msg);
            rc = 1;
        }
    }
    tlm_model_free(m);
    tlm_free(text);
    return rc;
}
