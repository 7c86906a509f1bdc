/*
 * cmd_bench.c - `tinylm bench MODEL`: llama-bench-style speed figures.
 *
 * Per thread count: prompt processing (one batch of -p random tokens into
 * an empty cache), generation (-n single-token decodes from an empty
 * cache; no sampling, as llama-bench), and time to first token of a chat
 * prompt of about 64 tokens (template, prefill and one greedy sample).
 * Once: model load time and resident memory.  Every figure is the median of
 * -r repeats after one untimed warm-up, with a spread of half the range.
 *
 * Generation reads every weight once per token, so tokens/s is bounded by
 * read bandwidth / bytes read per token.  The same run measures two such
 * bounds with plain reads on the same number of threads (bench_bw.h): of a
 * 1 GiB buffer in 2 MiB pages (what the machine can do) and of the model's
 * matrices where they lie (what the memory holding them can do), and
 * reports generation as a percentage of each.  The first says how near the
 * machine's limit generation runs; the second how much of a token is
 * spent on anything but reading its weights.
 *
 * `bench --kernels`, `bench --tokenizer` and `bench --server` hand over to
 * the kernel, tokenizer and server benchmarks.
 */
#include "cli/bench_bw.h"
#include "cli/bench_kernels.h"
#include "cli/bench_server.h"
#include "cli/bench_structured.h"
#include "cli/bench_tokenizer.h"
#include "cli/commands.h"
#include "cli/model_arg.h"
#include "core/rng.h"
#include "core/threads.h"
#include "core/util.h"
#include "model/model.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREAD_COUNTS 16
#define MAX_REPEATS 100

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm bench [OPTIONS] MODEL\n"
            "       tinylm bench --kernels [...]     (matrix kernels; --kernels --help)\n"
            "       tinylm bench --tokenizer MODEL [...] (tokenizer speed)\n"
            "       tinylm bench --server URL [...]  (load test of a running server)\n\n"
            "Measures, for each thread count: prompt processing (pp), generation (tg) and\n"
            "time to first token of a ~64-token chat prompt (ttft); and once: load time and\n"
            "resident memory.  Figures are medians over the repeats +- half their range,\n"
            "after one warm-up.  tg is also given as a percentage of two read bandwidth\n"
            "bounds measured in the same run with plain streaming reads: of a 1 GiB buffer\n"
            "(tg vs bw: bandwidth / bytes of weights read per token), and of the model's\n"
            "matrices where they lie (tg vs weights: the time one read of them takes /\n"
            "the time a token takes).\n\n"
            "  -p N        prompt tokens for pp (default 512; 0 = skip)\n"
            "  -n N        generated tokens for tg (default 128; 0 = skip)\n"
            "  -r N        repeats (default 3)\n"
            "  -t LIST     thread counts, e.g. 1,2 (default: all cores)\n"
            "  --no-ttft   skip the time-to-first-token test\n"
            "  --no-bw     skip the bandwidth measurements\n"
            "  --json      print JSON instead of a table\n"
            "  --json-schema FILE  also measure tg under that JSON Schema (constrained\n"
            "              decoding) against unconstrained tg, in the same run\n"
            "  --structured        the same with a built-in schema\n\n"
            "examples:\n"
            "  tinylm bench qwen-synth-q8_0.gguf -t 1,2\n"
            "  tinylm bench qwen2.5:0.5b-instruct -p 512 -n 128 -r 5 --json\n"
            "  tinylm bench model.gguf -p 0 --no-ttft --structured -t 2\n");
}

typedef struct bench_opts {
    long p, n, r;
    int threads[MAX_THREAD_COUNTS], n_threads;
    int json, ttft, bw;
    const char *schema;       /* --json-schema FILE */
    int structured;           /* --json-schema or --structured */
} bench_opts;

/* ---- Statistics ---- */

typedef struct figure {
    double v[MAX_REPEATS];
    int n;
    double median, spread;
} figure;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summarise(figure *f) {
    double s[MAX_REPEATS];
    memcpy(s, f->v, (size_t)f->n * sizeof *s);
    qsort(s, (size_t)f->n, sizeof *s, cmp_double);
    f->median = f->n % 2 ? s[f->n / 2] : (s[f->n / 2 - 1] + s[f->n / 2]) / 2;
    f->spread = (s[f->n - 1] - s[0]) / 2;
}

/* ---- Read bandwidth ---- */

/* Median GB/s of 3 reads of the 1 GiB yardstick buffer (0 without the
 * memory). */
static double machine_bandwidth(int n_threads) {
    tlm_bw_span buf = {tlm_bw_buffer_new(), TLM_BW_BUFFER_BYTES};
    if (!buf.p) return 0;
    tlm_pool *pool = NULL;
    if (n_threads > 1 && tlm_pool_create(n_threads, &pool) != TLM_OK) pool = NULL;
    double gbs = tlm_bw_read(pool, &buf, 1, 3, NULL);
    tlm_pool_free(pool);
    tlm_free_pages((void *)buf.p, TLM_BW_BUFFER_BYTES);
    return gbs;
}

/* Median GB/s of 3 reads of every matrix one token multiplies, where the
 * model keeps it; *seconds gets the time of one such read (0 without the
 * memory for the list). */
static double weights_bandwidth(tlm_model *m, int n_threads, double *seconds) {
    tlm_weight **ws = tlm_calloc(tlm_model_matrices_cap(m), sizeof *ws);
    tlm_bw_span *spans = tlm_calloc(tlm_model_matrices_cap(m), sizeof *spans);
    double gbs = 0;
    *seconds = 0;
    tlm_pool *pool = NULL;
    if (ws && spans) {
        int n = tlm_model_matrices(m, ws);
        for (int i = 0; i < n; i++)
            spans[i] = (tlm_bw_span){ws[i]->data, (size_t)ws[i]->rows * ws[i]->row_size};
        if (n_threads > 1 && tlm_pool_create(n_threads, &pool) != TLM_OK) pool = NULL;
        gbs = tlm_bw_read(pool, spans, n, 3, seconds);
    }
    tlm_pool_free(pool);
    tlm_free(ws);
    tlm_free(spans);
    return gbs;
}

/* Bytes of weights one generated token reads: every matrix once, the
 * output matrix in full (token_embd again when tied), one embedding row. */
static double bytes_per_token(const tlm_model *m) {
    double embd = (double)m->tok_embd.row_size * (double)m->tok_embd.rows;
    double tied = m->output.data == m->tok_embd.data ? embd : 0;
    return (double)tlm_model_size(m) - embd + tied + (double)m->tok_embd.row_size;
}

/* ---- The measurements ---- */

typedef struct bench {
    tlm_model *model;
    tlm_ctx *ctx;
    const bench_opts *o;
    tlm_token *toks;          /* (max(p, n)) random prompt tokens */
    int32_t *pos, *seq;       /* (n_batch) */
    tlm_token *chat;          /* the ~64-token chat prompt */
    int32_t n_chat;
} bench;

/* Decodes toks[0, n) at positions pos0.. of sequence 0 in n_batch chunks;
 * logits for the last token only.  Returns 0 or prints the error. */
static int decode_run(bench *b, const tlm_token *toks, int32_t n, int32_t pos0) {
    tlm_error err = {0};
    int32_t n_batch = (int32_t)TLM_MAX(b->o->p, 1);
    for (int32_t i = 0; i < n; i += n_batch) {
        int32_t k = TLM_MIN(n_batch, n - i);
        for (int32_t j = 0; j < k; j++) {
            b->pos[j] = pos0 + i + j;
            b->seq[j] = 0;
        }
        tlm_batch batch = {.n_tokens = k, .token = toks + i, .pos = b->pos, .seq_id = b->seq};
        if (tlm_ctx_decode(b->ctx, &batch, &err) != TLM_OK) {
            fprintf(stderr, "tinylm bench: decode failed: %s\n", err.msg);
            return 1;
        }
    }
    return 0;
}

/* pp: tokens/s of one -p token prompt into an empty cache. */
static int run_pp(bench *b, double *out) {
    tlm_kv_seq_rm(b->ctx, 0, 0, -1);
    uint64_t t0 = tlm_time_ns();
    if (decode_run(b, b->toks, (int32_t)b->o->p, 0)) return 1;
    *out = (double)b->o->p * 1e9 / (double)(tlm_time_ns() - t0);
    return 0;
}

/* tg: tokens/s of -n single-token decodes from an empty cache. */
static int run_tg(bench *b, double *out) {
    tlm_kv_seq_rm(b->ctx, 0, 0, -1);
    uint64_t t0 = tlm_time_ns();
    for (int32_t i = 0; i < (int32_t)b->o->n; i++)
        if (decode_run(b, b->toks + i, 1, i)) return 1;
    *out = (double)b->o->n * 1e9 / (double)(tlm_time_ns() - t0);
    return 0;
}

/* ttft: ms from the call to the first token of the chat prompt. */
static int run_ttft(bench *b, double *out) {
    tlm_gen_params gp = tlm_gen_default_params();
    gp.sampling.temperature = 0;
    gp.max_tokens = 1;
    tlm_gen_stats st;
    tlm_error err = {0};
    uint64_t t0 = tlm_time_ns();
    if (tlm_generate(b->ctx, b->chat, b->n_chat, &gp, NULL, NULL, NULL, &st, &err) != TLM_OK) {
        fprintf(stderr, "tinylm bench: generation failed: %s\n", err.msg);
        return 1;
    }
    *out = st.first_token_ms > 0 ? st.first_token_ms : (double)(tlm_time_ns() - t0) / 1e6;
    return 0;
}

/* A chat prompt of about 64 tokens: a user message grown word by word
 * until the rendered template reaches 64 tokens (random tokens when the
 * model has no template). */
static int make_chat_prompt(bench *b) {
    static const char *words[] = {"please", "explain", "how", "a", "small", "language",
                                  "model", "turns", "text", "into", "answers", "quickly"};
    tlm_buf msg = {0};
    tlm_error err = {0};
    for (int w = 0; w < 200; w++) {
        tlm_buf_appendf(&msg, "%s%s", w ? " " : "", words[w % TLM_ARRAY_LEN(words)]);
        json_t *m = json_pack("[{s:s,s:s}]", "role", "user", "content", msg.data);
        char *mj = json_dumps(m, JSON_COMPACT), *text = NULL;
        json_decref(m);
        tlm_status s = tlm_chat_render(b->model, mj, NULL, 1, &text, &err);
        free(mj);
        if (s != TLM_OK) break;
        tlm_free(b->chat);
        b->chat = tlm_cli_tokenize(b->model, text, strlen(text), true, true, &b->n_chat, &err);
        tlm_free(text);
        if (!b->chat) break;
        if (b->n_chat >= 64) {
            tlm_buf_free(&msg);
            return 0;
        }
    }
    tlm_buf_free(&msg);
    tlm_free(b->chat);
    b->n_chat = 64;
    b->chat = tlm_malloc(64 * sizeof *b->chat);
    if (!b->chat) return 1;
    memcpy(b->chat, b->toks, 64 * sizeof *b->chat);
    return 0;
}

typedef int (*bench_fn)(bench *b, double *out);

/* One warm-up, then -r timed runs. */
static int measure(bench *b, bench_fn fn, figure *f) {
    double v;
    if (fn(b, &v)) return 1;
    f->n = 0;
    for (long r = 0; r < b->o->r; r++) {
        if (fn(b, &f->v[f->n])) return 1;
        f->n++;
    }
    summarise(f);
    return 0;
}

/* ---- Per thread count ---- */

typedef struct result {
    int threads;
    figure pp, tg, ttft;
    double bw;               /* GB/s reading the 1 GiB buffer; 0 = not measured */
    double wbw, wsec;        /* GB/s and seconds reading the weights once; 0 = not measured */
} result;

static int bench_threads(bench *b, int threads, result *res) {
    const bench_opts *o = b->o;
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_threads = threads;
    /* At least the default batch: the ttft prompt is one batch, as in
     * `tinylm run`, even when -p asks for a short (or no) pp prompt. */
    cp.n_batch = (int32_t)TLM_MAX(o->p, cp.n_batch);
    cp.n_ctx = (int32_t)TLM_MAX(TLM_MAX(o->p, o->n), 64) + 64;
    tlm_error err = {0};
    if (tlm_ctx_create(b->model, &cp, &b->ctx, &err) != TLM_OK) {
        fprintf(stderr, "tinylm bench: cannot create a context: %s\n", err.msg);
        return 1;
    }
    res->threads = threads;
    int rc = 0;
    if (o->p > 0) rc = rc || measure(b, run_pp, &res->pp);
    if (o->n > 0) rc = rc || measure(b, run_tg, &res->tg);
    if (!rc && o->n > 0 && o->bw) res->wbw = weights_bandwidth(b->model, threads, &res->wsec);
    if (o->ttft) rc = rc || measure(b, run_ttft, &res->ttft);
    tlm_ctx_free(b->ctx);
    b->ctx = NULL;
    return rc;
}

/* ---- Output ---- */

static void row(int threads, const char *test, const figure *f, const char *unit) {
    if (!f->n) return;
    printf("| %7d | %-13s | %12.2f ± %-8.2f | %-8s |\n", threads, test, f->median, f->spread,
           unit);
}

static void print_table(const tlm_model *m, const bench_opts *o, const result *res,
                        const figure *load, double rss_mb, double bpt) {
    printf("model: %s (%s, %.2f M params, %.1f MB of weights, %.1f MB read per generated "
           "token)\n\n",
           tlm_model_path(m), tlm_model_arch(m), tlm_model_n_params(m) / 1e6,
           tlm_model_size(m) / 1e6, bpt / 1e6);
    printf("| threads | test          |          median ± spread | unit     |\n"
           "|--------:|---------------|-------------------------:|----------|\n");
    char name[32];
    for (int i = 0; i < o->n_threads; i++) {
        const result *r = &res[i];
        snprintf(name, sizeof name, "pp%ld", o->p);
        row(r->threads, name, &r->pp, "tokens/s");
        snprintf(name, sizeof name, "tg%ld", o->n);
        row(r->threads, name, &r->tg, "tokens/s");
        row(r->threads, "ttft chat64", &r->ttft, "ms");
        if (r->bw > 0 && r->tg.n)
            printf("| %7d | %-13s | %12.1f %% of %5.1f GB/s | %-8s |\n", r->threads, "tg vs bw",
                   100.0 * bpt * r->tg.median / (r->bw * 1e9), r->bw, "read bw");
        if (r->wbw > 0 && r->tg.n)
            printf("| %7d | %-13s | %12.1f %% of %5.1f GB/s | %-8s |\n", r->threads,
                   "tg vs weights", 100.0 * r->tg.median * r->wsec, r->wbw, "wt read");
    }
    printf("| %7s | %-13s | %12.2f ± %-8.2f | %-8s |\n", "-", "load", load->median,
           load->spread, "ms");
    printf("| %7s | %-13s | %12.1f            | %-8s |\n", "-", "resident", rss_mb, "MB");
}

static json_t *figure_json(const figure *f, const char *test, const char *unit, int threads) {
    json_t *samples = json_array();
    for (int i = 0; i < f->n; i++) json_array_append_new(samples, json_real(f->v[i]));
    return json_pack("{s:i,s:s,s:f,s:f,s:s,s:o}", "threads", threads, "test", test, "median",
                     f->median, "spread", f->spread, "unit", unit, "samples", samples);
}

static void print_json(const tlm_model *m, const bench_opts *o, const result *res,
                       const figure *load, double rss_mb, double bpt) {
    json_t *tests = json_array();
    char name[32];
    for (int i = 0; i < o->n_threads; i++) {
        const result *r = &res[i];
        snprintf(name, sizeof name, "pp%ld", o->p);
        if (r->pp.n) json_array_append_new(tests, figure_json(&r->pp, name, "tokens/s", r->threads));
        snprintf(name, sizeof name, "tg%ld", o->n);
        if (r->tg.n) {
            json_t *t = figure_json(&r->tg, name, "tokens/s", r->threads);
            if (r->bw > 0) {
                json_object_set_new(t, "read_bandwidth_gbs", json_real(r->bw));
                json_object_set_new(t, "bandwidth_pct",
                                    json_real(100.0 * bpt * r->tg.median / (r->bw * 1e9)));
            }
            if (r->wbw > 0) {
                json_object_set_new(t, "weights_read_gbs", json_real(r->wbw));
                json_object_set_new(t, "weights_read_ms", json_real(r->wsec * 1e3));
                json_object_set_new(t, "weights_pct", json_real(100.0 * r->tg.median * r->wsec));
            }
            json_array_append_new(tests, t);
        }
        if (r->ttft.n)
            json_array_append_new(tests, figure_json(&r->ttft, "ttft_chat64", "ms", r->threads));
    }
    json_t *doc = json_pack("{s:s,s:s,s:I,s:I,s:f,s:o,s:o,s:f}", "model", tlm_model_path(m),
                            "arch", tlm_model_arch(m), "n_params",
                            (json_int_t)tlm_model_n_params(m), "size_bytes",
                            (json_int_t)tlm_model_size(m), "bytes_per_token", bpt, "load_ms",
                            figure_json(load, "load", "ms", 0), "tests", tests,
                            "resident_mb", rss_mb);
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (text) puts(text);
    free(text);
    json_decref(doc);
}

/* ---- Entry ---- */

static int parse_threads(const char *s, bench_opts *o) {
    o->n_threads = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (o->n_threads == MAX_THREAD_COUNTS ||
            !tlm_cli_parse_int("bench", "-t", t, 1, TLM_POOL_MAX_THREADS, &v)) {
            free(copy);
            return 0;
        }
        o->threads[o->n_threads++] = (int)v;
    }
    free(copy);
    return o->n_threads > 0;
}

static int parse_opts(int argc, char **argv, bench_opts *o) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"no-ttft", no_argument, 0, 'T'},
                                         {"no-bw", no_argument, 0, 'B'},
                                         {"json-schema", required_argument, 0, 'S'},
                                         {"structured", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "p:n:r:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': if (!tlm_cli_parse_int("bench", "-p", optarg, 0, 1 << 16, &o->p)) return 2; break;
        case 'n': if (!tlm_cli_parse_int("bench", "-n", optarg, 0, 1 << 16, &o->n)) return 2; break;
        case 'r': if (!tlm_cli_parse_int("bench", "-r", optarg, 1, MAX_REPEATS, &o->r)) return 2;
            break;
        case 't': if (!parse_threads(optarg, o)) return 2; break;
        case 'j': o->json = 1; break;
        case 'T': o->ttft = 0; break;
        case 'B': o->bw = 0; break;
        case 'S': o->schema = optarg; o->structured = 1; break;
        case 's': o->structured = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "tinylm bench: give one MODEL (a GGUF file or a pulled name)\n\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

/* `bench --kernels ...` and `bench --tokenizer ...`: the flag is removed
 * and the rest handed over with argv[0] kept. */
static int dispatch(int argc, char **argv, const char *flag, int (*fn)(int, char **)) {
    char **v = malloc((size_t)argc * sizeof *v);
    if (!v) return 1;
    int n = 0;
    for (int i = 0; i < argc; i++)
        if (i == 0 || strcmp(argv[i], flag)) v[n++] = argv[i];
    optind = 1;
    int rc = fn(n, v);
    free(v);
    return rc;
}

/* Resident memory (MB) with a context of the default size after a short
 * chat turn: what `tinylm run` holds.  The weights are paged in by then. */
static double resident_mb(bench *b) {
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_threads = b->o->threads[0];
    tlm_mem_stats mem = {0};
    if (tlm_ctx_create(b->model, &cp, &b->ctx, NULL) != TLM_OK) return 0;
    double ignored;
    if (b->o->ttft) run_ttft(b, &ignored);
    tlm_ctx_mem_stats(b->ctx, &mem);
    tlm_ctx_free(b->ctx);
    b->ctx = NULL;
    return mem.rss / 1e6;
}

static int bench_model(const bench_opts *o, const char *arg) {
    bench b = {.o = o};
    result res[MAX_THREAD_COUNTS] = {{0}};
    figure load = {0};
    int rc = 1;
    for (long r = 0; r < o->r; r++) {
        tlm_model_free(b.model);
        b.model = NULL;
        if (tlm_cli_load_model("bench", arg, o->threads[0], &b.model, &load.v[load.n++])) goto done;
    }
    summarise(&load);
    int32_t n_tok = (int32_t)TLM_MAX(TLM_MAX(o->p, o->n), 64), n_vocab = tlm_model_n_vocab(b.model);
    int32_t n_batch = (int32_t)TLM_MAX(o->p, 1);
    b.toks = tlm_malloc((size_t)n_tok * sizeof *b.toks);
    b.pos = tlm_malloc((size_t)n_batch * sizeof *b.pos);
    b.seq = tlm_malloc((size_t)n_batch * sizeof *b.seq);
    if (!b.toks || !b.pos || !b.seq) goto done;
    tlm_rng rng;
    tlm_rng_seed(&rng, 1234);
    for (int32_t i = 0; i < n_tok; i++) b.toks[i] = (tlm_token)(tlm_rng_next(&rng) % (uint64_t)n_vocab);
    if (o->ttft && make_chat_prompt(&b)) goto done;
    for (int i = 0; i < o->n_threads; i++) {
        if (!o->json) fprintf(stderr, "benchmarking %d thread%s...\n", o->threads[i],
                              o->threads[i] > 1 ? "s" : "");
        if (bench_threads(&b, o->threads[i], &res[i])) goto done;
    }
    double rss_mb = resident_mb(&b);
    /* Last, so that the 1 GiB buffer does not count as the model's memory. */
    for (int i = 0; i < o->n_threads; i++)
        if (o->bw && o->n > 0) res[i].bw = machine_bandwidth(o->threads[i]);
    double bpt = bytes_per_token(b.model);
    if (o->json) print_json(b.model, o, res, &load, rss_mb, bpt);
    else print_table(b.model, o, res, &load, rss_mb, bpt);
    rc = 0;
    if (o->structured && o->n > 0)
        rc = tlm_cli_bench_structured(b.model, o->schema, o->threads, o->n_threads, o->n, o->r,
                                      o->json);
done:
    tlm_free(b.toks);
    tlm_free(b.pos);
    tlm_free(b.seq);
    tlm_free(b.chat);
    tlm_model_free(b.model);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kernels"))
            return dispatch(argc, argv, "--kernels", tlm_cli_bench_kernels);
        if (!strcmp(argv[i], "--tokenizer"))
            return dispatch(argc, argv, "--tokenizer", tlm_cli_bench_tokenizer);
        if (!strncmp(argv[i], "--server", 8) && (!argv[i][8] || argv[i][8] == '='))
            return tlm_cli_bench_server(argc, argv); /* it parses --server itself */
    }
    bench_opts o = {.p = 512, .n = 128, .r = 3, .ttft = 1, .bw = 1};
    o.threads[0] = (int)sysconf(_SC_NPROCESSORS_ONLN);
    o.threads[0] = TLM_MAX(o.threads[0], 1);
    o.n_threads = 1;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) return rc;
    return bench_model(&o, argv[optind]);
}
