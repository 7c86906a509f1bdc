/*
 * jsonschemabench.c - the JSONSchemaBench coverage benchmark: how many
 * real-world schemas compile, and do random-vocabulary walks under them
 * produce documents an independent validator accepts?
 *
 * This file only compiles and walks; validation is done outside, by ajv in
 * node (tests/grammar/validate_ajv.js --bench), so the engine is never its
 * own judge.  Each walk gets enough tokens for the schema's shortest
 * document plus room to wander, and steers to a completion at the end.
 */
#include "grammar/grammar_impl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const subsets[TLM_JSB_N_SUBSETS] = {"Github_trivial", "Glaiveai2K", "Github_easy"};

/* Compiles one schema and walks it; fills rec's "compiled", "error" and
 * "outputs". */
static void run_schema(const char *schema, const tlm_grammar_vocab *v, uint32_t samples, uint64_t *rng,
                       json_t *rec, tlm_jsb_subset *res) {
    tlm_error err = {0};
    char *gbnf = NULL;
    tlm_grammar *g = NULL;
    tlm_grammar_matcher *m = NULL;
    json_t *outs = json_array();
    bool ok = !tlm_json_schema_to_gbnf(schema, strlen(schema), &gbnf, NULL, &err) &&
              !tlm_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err) &&
              !tlm_grammar_matcher_create(g, v, &m, &err);
    json_object_set_new(rec, "compiled", json_boolean(ok));
    if (!ok) json_object_set_new(rec, "error", json_string(err.msg));
    if (ok) res->n_compiled++;
    for (uint32_t i = 0; ok && i < samples; i++) {
        tlm_grammar_matcher_reset(m);
        uint32_t need = tlm_grammar_matcher_min_completion(m);
        uint32_t budget = need > 256 ? need + 128 : 256;
        tlm_buf out = {0};
        res->n_outputs++;
        if (tlm_grammar_random_walk(m, rng, budget, &out, NULL, &err)) {
            json_array_append_new(outs, json_null());
            json_object_set_new(rec, "error", json_string(err.msg));
        } else {
            res->n_walk_ok++;
            json_array_append_new(outs, json_stringn(out.data ? out.data : "", out.len));
        }
        tlm_buf_free(&out);
    }
    json_object_set_new(rec, "outputs", outs);
    tlm_grammar_matcher_free(m);
    tlm_grammar_free(g);
    free(gbnf);
}

static tlm_status run_subset(const char *path, const tlm_grammar_vocab *v, uint32_t samples, uint32_t limit,
                             uint64_t *rng, FILE *out, tlm_jsb_subset *res, tlm_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return TLM_ERR_NOT_FOUND;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t t0 = tlm_time_ns();
    while ((n = getline(&line, &cap, f)) > 0 && (!limit || res->n_schemas < limit)) {
        json_error_t je;
        json_t *item = json_loadb(line, (size_t)n, 0, &je);
        const char *schema = json_string_value(json_object_get(item, "json_schema"));
        if (!schema) {
            json_decref(item);
            continue;
        }
        res->n_schemas++;
        json_t *rec = json_pack("{s:O?,s:s,s:s}", "id", json_object_get(item, "id"), "subset", res->name,
                                "schema", schema);
        run_schema(schema, v, samples, rng, rec, res);
        char *txt = json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (txt) fprintf(out, "%s\n", txt);
        free(txt);
        json_decref(rec);
        json_decref(item);
    }
    res->seconds = (tlm_time_ns() - t0) / 1e9;
    free(line);
    fclose(f);
    return ferror(out) ? tlm_error_set(err, TLM_ERR_IO, "jsonschemabench: write failed") : TLM_OK;
}

tlm_status tlm_grammar_jsonschemabench(const char *dir, const tlm_grammar_vocab *v, uint32_t samples,
                                       uint32_t limit, uint64_t seed, const char *out_path,
                                       tlm_jsb_subset out[TLM_JSB_N_SUBSETS], tlm_error *err) {
    memset(out, 0, TLM_JSB_N_SUBSETS * sizeof *out);
    FILE *o = fopen(out_path, "wb");
    if (!o) return tlm_error_set(err, TLM_ERR_IO, "jsonschemabench: cannot write %s", out_path);
    uint64_t rng = seed ? seed : 1;
    tlm_status st = TLM_OK;
    bool any = false;
    for (int i = 0; i < TLM_JSB_N_SUBSETS && !st; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.jsonl", dir, subsets[i]);
        snprintf(out[i].name, sizeof out[i].name, "%s", subsets[i]);
        st = run_subset(path, v, samples, limit, &rng, o, &out[i], err);
        if (st == TLM_ERR_NOT_FOUND) st = TLM_OK;
        else any = true;
    }
    if (fclose(o) && !st) st = tlm_error_set(err, TLM_ERR_IO, "jsonschemabench: write failed");
    if (!st && !any) st = tlm_error_set(err, TLM_ERR_NOT_FOUND, "jsonschemabench: no subset file in %s", dir);
    return st;
}
