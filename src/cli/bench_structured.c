/*
 * bench_structured.c - constrained vs unconstrained generation speed.
 *
 * Both sides run tlm_generate with the same sampler (the defaults) on the
 * same context, so the difference is the constraint alone: the token mask
 * before each sample (a walk of the token trie on a cache miss, a copy on
 * a hit) and the matcher's advance after it.  A JSON answer closes after
 * a few dozen tokens, so each side generates answers back to back until
 * it has about n tokens, and tokens/s is decode steps over their time
 * (tlm_gen_stats.n_eval / gen_ms: the prompt is not counted).  The sides
 * alternate within every repeat, so a busy machine slows both alike.
 */
#include "cli/bench_structured.h"
#include "cli/model_arg.h"
#include "core/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An order: nested object, array with bounds, enum, pattern, format,
 * number bounds: the kinds of rule a real schema mixes. */
static const char default_schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"id\",\"customer\",\"items\",\"status\"],\"properties\":{"
    "\"id\":{\"type\":\"string\",\"pattern\":\"^ORD-[0-9]{6}$\"},"
    "\"customer\":{\"type\":\"object\",\"required\":[\"name\",\"email\"],\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":40},"
    "\"email\":{\"type\":\"string\",\"format\":\"email\"}}},"
    "\"items\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":5,\"items\":{\"type\":\"object\","
    "\"required\":[\"sku\",\"qty\"],\"properties\":{\"sku\":{\"type\":\"string\"},"
    "\"qty\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":99},"
    "\"price\":{\"type\":\"number\",\"minimum\":0}}}},"
    "\"status\":{\"enum\":[\"new\",\"paid\",\"shipped\"]},"
    "\"date\":{\"type\":\"string\",\"format\":\"date\"}}}";

/* The constraint with a stopwatch around it: its own cost, apart from the
 * model's, which a busy machine inflates less than a tokens/s ratio. */
typedef struct timed {
    const tlm_constraint *inner;
    uint64_t ns;
    long calls;
} timed;

static void t_apply(void *u, float *logits, int32_t n) {
    timed *t = u;
    uint64_t t0 = tlm_time_ns();
    t->inner->apply(t->inner->user, logits, n);
    t->ns += tlm_time_ns() - t0;
    t->calls++;
}

static void t_accept(void *u, tlm_token tok) {
    timed *t = u;
    uint64_t t0 = tlm_time_ns();
    t->inner->accept(t->inner->user, tok);
    t->ns += tlm_time_ns() - t0;
}

static void t_budget(void *u, int32_t n) {
    timed *t = u;
    t->inner->budget(t->inner->user, n);
}

static bool t_done(void *u) {
    timed *t = u;
    return t->inner->done(t->inner->user);
}

typedef struct side {
    double v[100];
    int n;
} side;

static double median(side *s) {
    for (int i = 1; i < s->n; i++)
        for (int j = i; j > 0 && s->v[j - 1] > s->v[j]; j--) {
            double t = s->v[j];
            s->v[j] = s->v[j - 1];
            s->v[j - 1] = t;
        }
    return s->n ? s->v[s->n / 2] : 0;
}

/* About n sampled tokens, in answers; tokens/s of their decode steps. */
static int run_side(tlm_model *m, tlm_ctx *ctx, const char *schema, size_t len, long n,
                    uint64_t seed, double *tps, timed *cost) {
    tlm_token prompt[8] = {9707, 11, 1246, 525, 498, 30, 220, 16};
    int32_t n_vocab = tlm_model_n_vocab(m);
    for (int i = 0; i < 8; i++) prompt[i] %= n_vocab;
    long done = 0, steps = 0;
    double ms = 0;
    tlm_error err = {0};
    for (int k = 0; done < n && k < 10000; k++) {
        tlm_structured *s = NULL;
        if (schema && tlm_structured_create(m, TLM_STRUCTURED_JSON_SCHEMA, schema, len, &s, &err)) {
            fprintf(stderr, "tinylm bench: the schema: %s\n", err.msg);
            return 1;
        }
        tlm_gen_params gp = tlm_gen_default_params();
        gp.sampling.seed = seed + (uint64_t)k;
        gp.max_tokens = (int32_t)(n - done);
        tlm_gen_stats st;
        cost->inner = tlm_structured_constraint(s);
        tlm_constraint c = {.user = cost, .apply = t_apply, .accept = t_accept,
                            .budget = t_budget, .done = t_done};
        tlm_status r = tlm_generate(ctx, prompt, 8, &gp, s ? &c : NULL, NULL, NULL, &st, &err);
        tlm_structured_free(s);
        if (r) {
            fprintf(stderr, "tinylm bench: generation failed: %s\n", err.msg);
            return 1;
        }
        done += st.n_gen > 0 ? st.n_gen : 1;
        steps += st.n_eval;
        ms += st.gen_ms;
    }
    *tps = ms > 0 ? (double)steps * 1000.0 / ms : 0;
    return 0;
}

static char *read_schema(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *t = f ? tlm_cli_read_all(f, len) : NULL;
    if (f) fclose(f);
    if (!t) fprintf(stderr, "tinylm bench: cannot read %s\n", path);
    return t;
}

int tlm_cli_bench_structured(tlm_model *m, const char *schema_file, const int *threads,
                             int n_threads, long n, long repeats, int json) {
    size_t len = sizeof default_schema - 1;
    char *owned = schema_file ? read_schema(schema_file, &len) : NULL;
    const char *schema = schema_file ? owned : default_schema;
    if (!schema) return 1;
    json_t *rows = json_array();
    int rc = 0;
    if (!json)
        printf("\n%s, about %ld tokens per side, %ld repeats; mask = the constraint's own time per\n"
               "token, est = the ratio that cost alone gives (1 / (1 + mask x free tokens/s))\n"
               "| threads | tg free (t/s) | tg schema (t/s) | ratio  | mask (ms)  |    est     |\n"
               "| ------: | ------------: | --------------: | -----: | ---------: | ---------: |\n",
               schema_file ? schema_file : "built-in schema", n, repeats);
    for (int t = 0; t < n_threads && !rc; t++) {
        tlm_ctx_params cp = tlm_ctx_default_params();
        cp.n_threads = threads[t];
        cp.n_ctx = (int32_t)n + 64;
        tlm_ctx *ctx = NULL;
        tlm_error err = {0};
        if (tlm_ctx_create(m, &cp, &ctx, &err)) {
            fprintf(stderr, "tinylm bench: cannot create a context: %s\n", err.msg);
            rc = 1;
            break;
        }
        side free_s = {{0}, 0}, con = {{0}, 0};
        double a, b;
        timed cost = {0}, ignored = {0};
        /* One untimed round warms the caches and the vocabulary. */
        rc = run_side(m, ctx, NULL, 0, n / 4 + 1, 1, &a, &ignored) ||
             run_side(m, ctx, schema, len, n / 4 + 1, 1, &b, &ignored);
        for (long r = 0; r < repeats && r < 100 && !rc; r++) {
            rc = run_side(m, ctx, NULL, 0, n, 100 + (uint64_t)r, &a, &ignored) ||
                 run_side(m, ctx, schema, len, n, 100 + (uint64_t)r, &b, &cost);
            free_s.v[free_s.n++] = a;
            con.v[con.n++] = b;
        }
        /* The constraint's cost per token against an unconstrained token's
         * time: the slowdown a quiet machine would show. */
        double mf0 = median(&free_s);
        double cost_ms = cost.calls ? (double)cost.ns / 1e6 / (double)cost.calls : 0;
        double est = mf0 > 0 ? 100.0 / (1.0 + cost_ms * mf0 / 1000.0) : 0;
        tlm_ctx_free(ctx);
        if (rc) break;
        double mf = median(&free_s), mc = median(&con);
        if (json)
            json_array_append_new(rows, json_pack("{s:i,s:f,s:f,s:f,s:f,s:f}", "threads",
                                                  threads[t], "tg_free", mf, "tg_schema", mc,
                                                  "ratio", mf > 0 ? mc / mf : 0,
                                                  "constraint_ms_per_token", cost_ms,
                                                  "ratio_from_cost", est / 100.0));
        else
            printf("| %7d | %13.1f | %15.1f | %5.1f%% | %10.3f | %9.1f%% |\n", threads[t], mf,
                   mc, mf > 0 ? 100.0 * mc / mf : 0, cost_ms, est);
    }
    if (json && !rc) {
        json_t *o = json_pack("{s:s,s:O}", "schema", schema_file ? schema_file : "built-in",
                              "structured", rows);
        char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    }
    json_decref(rows);
    tlm_free(owned);
    return rc;
}
