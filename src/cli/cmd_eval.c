/*
 * cmd_eval.c - `tinylm eval`: runs suites of tasks against one or more
 * targets, grades every answer (code in the sandbox), appends results to a
 * JSONL file as they finish (--resume continues an interrupted run) and
 * prints pass rates per suite and task kind, then per target the figures
 * that are not per item (load time, peak memory, determinism).  Targets
 * are created one at a time, so an in-process model is loaded only while
 * it is evaluated.  The library does the work (src/eval/eval.h,
 * target_model.h); this file parses flags and prints.
 */
#include "cli/commands.h"
#include "cli/model_arg.h"
#include "core/util.h"
#include "eval/eval.h"
#include "eval/target_model.h"
#include "eval/target_openai.h"
#include "model/pull.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TARGETS 8
#define MAX_SUITES 16
#define MAX_URLS 16

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm eval [OPTIONS]\n\n"
            "Runs task suites against targets and grades the answers: code is executed in a\n"
            "bubblewrap sandbox, maths by final number, JSON by schema and field values,\n"
            "tool calls by function and arguments, explanations by a rubric.\n\n"
            "what to run:\n"
            "  --suite LIST        built-in suites, comma-separated: basics,code,json,tools,math\n"
            "                      or all\n"
            "  --data FILE         a task file: native JSONL (docs/EVAL.md), HumanEval or\n"
            "                      HumanEval+ (.jsonl or .jsonl.gz), MBPP, GSM8K\n"
            "  --format FMT        format of --data when detection is not wanted: tlm,\n"
            "                      humaneval, mbpp, gsm8k\n"
            "  --data-dir DIR      where the built-in suites live (default: found next to\n"
            "                      the binary, or $TLM_DATA_DIR)\n\n"
            "who answers (repeatable, several targets in one run, run one after another):\n"
            "  --target reference  each task's reference answer: proves the pipeline, 100%%\n"
            "  --model FILE|NAME   an in-process model (a GGUF file or a pulled name), when\n"
            "                      no --endpoint is waiting for its model name\n"
            "  --endpoint URL      an OpenAI-compatible server (tinylm serve, llama.cpp,\n"
            "                      Ollama, vLLM); the next --model NAME is the model it\n"
            "                      serves.  Several --endpoint (or URL,URL) before one\n"
            "                      --model make one target whose work is spread over them\n"
            "  --api-key KEY       bearer token for endpoints (default $OPENAI_API_KEY)\n"
            "  --threads N         threads of in-process models (default: all cores)\n"
            "  --ctx N             context of in-process models (default min(4096, trained))\n\n"
            "how:\n"
            "  --samples N         answers per task (pass@k needs N >= k; default 1)\n"
            "  --temperature T     sampling temperature (default 0)\n"
            "  --seed S            base seed; sample i uses S + i (default 0)\n"
            "  --max-tokens N      answer length limit (default 1024)\n"
            "  --limit N           only the first N tasks of each suite\n"
            "  --jobs N            items in flight at once (default 2); an in-process model\n"
            "                      generates one item at a time, grading overlaps\n"
            "  --determinism N     per target, the same prompt and seed N times: how many\n"
            "                      answers are identical (default 10, 0 = off)\n"
            "  --constrained       constrain JSON tasks' answers to their schema: sent as\n"
            "                      response_format to endpoints, decoded with the schema's\n"
            "                      grammar in process; the target is named NAME+constrained\n"
            "  --timeout S         wall-clock limit per program run (default 10)\n"
            "  --unsafe-no-sandbox run code without bubblewrap (rlimits only): only for\n"
            "                      trusted answers on a machine without user namespaces\n\n"
            "output:\n"
            "  --out FILE          results, one JSON line per answer (default eval-results.jsonl)\n"
            "  --resume            keep FILE's finished items and run only the rest\n"
            "  --summary FILE      write the summary as JSON\n"
            "  --quiet             no progress line\n\n"
            "debugging:\n"
            "  --validate FILE     check lines {\"schema\": S, \"value\": V} with the graders'\n"
            "                      JSON Schema validator; prints valid/invalid/unsupported\n\n"
            "examples:\n"
            "  tinylm eval --suite all --target reference\n"
            "  tinylm eval --suite basics,code --endpoint http://127.0.0.1:8080 --model qwen\n"
            "  tinylm eval --suite json --model qwen2.5-0.5b --model gemma-2b.gguf --limit 10\n"
            "  tinylm eval --suite code --endpoint http://a:8080 --endpoint http://b:8080 \\\n"
            "              --model qwen --jobs 8\n"
            "  tinylm eval --data HumanEval.jsonl.gz --endpoint http://127.0.0.1:11434 \\\n"
            "              --model qwen2.5:0.5b --samples 10 --temperature 0.8 --resume\n");
}

/* One target as given on the command line, in order. */
typedef enum spec_kind { SPEC_REFERENCE, SPEC_MODEL, SPEC_ENDPOINT } spec_kind;

typedef struct target_spec {
    spec_kind kind;
    const char *model; /* file or pulled name (in process), or the endpoint's model name */
    const char *urls[MAX_URLS];
    int n_urls;
} target_spec;

typedef struct eval_args {
    const char *suites[MAX_SUITES];
    int n_suites;
    const char *data, *format, *data_dir, *out, *summary, *api_key, *validate;
    bool resume, quiet, unsafe, constrained;
    target_spec specs[MAX_TARGETS];
    int n_specs;
    char *pending_urls[MAX_URLS]; /* --endpoint URLs waiting for their --model */
    int n_pending;
    char *url_lists[MAX_URLS]; /* copies of comma lists, split in place (owned) */
    int n_url_lists;
    int32_t threads, ctx;
    int determinism;
    double timeout;
    tlm_eval_run_opts opts;
} eval_args;

/* ---- Progress ---- */

static void progress(void *ud, const tlm_eval_progress *p) {
    (void)ud;
    fprintf(stderr, "\r  %-10s %-8s %zu/%zu  pass %5.1f%%  ETA %4.0fs ", p->target, p->suite,
            p->done, p->total, p->done ? 100.0 * (double)p->passed / (double)p->done : 0.0,
            p->eta_s);
    if (p->done == p->total) fputc('\n', stderr);
}

/* ---- Summary table ---- */

static void print_row(const char *target, const char *suite, const char *kind, json_t *o) {
    double p1 = json_number_value(json_object_get(o, "pass@1"));
    printf("%-12s %-14s %-10s %6lld %8lld %7.1f%%  ", target, suite, kind,
           (long long)json_integer_value(json_object_get(o, "tasks")),
           (long long)json_integer_value(json_object_get(o, "samples")), 100.0 * p1);
    const char *v;
    json_t *n;
    json_object_foreach (json_object_get(o, "verdicts"), v, n)
        printf(" %s %lld", v, (long long)json_integer_value(n));
    json_t *jv = json_object_get(o, "json_valid_rate");
    if (json_is_number(jv)) printf("  json-valid %.0f%%", 100.0 * json_number_value(jv));
    json_t *fa = json_object_get(o, "json_field_accuracy");
    if (json_is_number(fa)) printf("  fields %.0f%%", 100.0 * json_number_value(fa));
    printf("\n");
}

static void print_summary(json_t *sum) {
    printf("%-12s %-14s %-10s %6s %8s %8s   %s\n", "target", "suite", "kind", "tasks", "samples",
           "pass@1", "verdicts");
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(sum, "suites"), i, s) {
        const char *target = json_string_value(json_object_get(s, "target"));
        const char *suite = json_string_value(json_object_get(s, "suite"));
        print_row(target, suite, "(all)", s);
        const char *kind;
        json_t *k;
        json_object_foreach (json_object_get(s, "kinds"), kind, k) print_row("", "", kind, k);
        json_t *pk = json_object_get(s, "pass@10");
        if (json_is_number(pk)) printf("%40s pass@10 %.1f%%\n", "", 100.0 * json_number_value(pk));
    }
}

static double num(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* One line per target: the figures that are not per suite. */
static void print_targets(json_t *sum) {
    printf("\n%-20s %7s %9s %9s %9s %9s %9s %9s %8s\n", "target", "pass", "ttft p50", "ttft p95",
           "gen t/s", "prompt t/s", "load ms", "peak MiB", "determ.");
    size_t i;
    json_t *t;
    json_array_foreach (json_object_get(sum, "targets"), i, t) {
        json_t *info = json_object_get(t, "info");
        char det[32] = "-";
        if (json_is_integer(json_object_get(info, "determinism_runs")))
            snprintf(det, sizeof det, "%d/%d", (int)num(info, "determinism_identical"),
                     (int)num(info, "determinism_runs"));
        printf("%-20s %6.1f%% %9.1f %9.1f %9.1f %10.1f %9.1f %9.1f %8s\n",
               json_string_value(json_object_get(t, "target")), 100.0 * num(t, "pass_rate"),
               num(t, "ttft_ms_p50"), num(t, "ttft_ms_p95"), num(t, "gen_tok_s_mean"),
               num(t, "prompt_tok_s_mean"), num(info, "load_ms"),
               num(info, "rss_peak") / (1024.0 * 1024.0), det);
    }
}

/* ---- --validate ---- */

static int validate_file(const char *path) {
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "tinylm eval: cannot open %s\n", path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0, lineno = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        json_t *o = json_loads(line, 0, NULL);
        json_t *schema = json_object_get(o, "schema"), *value = json_object_get(o, "value");
        if (!schema || !value) {
            fprintf(stderr, "tinylm eval: %s:%d: need {\"schema\": ..., \"value\": ...}\n", path,
                    lineno);
            rc = 1;
        } else {
            tlm_error err = {0};
            tlm_status st = tlm_eval_schema_validate(schema, value, &err);
            printf("%s%s%s\n",
                   st == TLM_OK                ? "valid"
                   : st == TLM_ERR_UNSUPPORTED ? "unsupported"
                                               : "invalid",
                   st == TLM_OK ? "" : "\t", st == TLM_OK ? "" : err.msg);
        }
        json_decref(o);
    }
    free(line);
    if (f != stdin) fclose(f);
    return rc;
}

/* ---- Arguments ---- */

static int split_suites(eval_args *a, char *list) {
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (!strcmp(tok, "all")) {
            for (const char *const *b = tlm_eval_builtin_suites(); *b && a->n_suites < MAX_SUITES;
                 b++)
                a->suites[a->n_suites++] = *b;
        } else if (a->n_suites < MAX_SUITES) {
            a->suites[a->n_suites++] = tok;
        }
    }
    return 0;
}

/* --endpoint URL or URL,URL,...: waits for the next --model. */
static int add_urls(eval_args *a, const char *arg) {
    if (a->n_url_lists == MAX_URLS) return fprintf(stderr, "tinylm eval: too many endpoints\n"), 1;
    char *list = a->url_lists[a->n_url_lists++] = tlm_strdup(arg);
    if (!list) return fprintf(stderr, "tinylm eval: out of memory\n"), 1;
    char *save = NULL;
    for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        if (a->n_pending == MAX_URLS)
            return fprintf(stderr, "tinylm eval: too many endpoints for one model\n"), 1;
        a->pending_urls[a->n_pending++] = u;
    }
    return 0;
}

/* The grammar of targets: --target reference; --model X with endpoints
 * waiting is their model name, without is an in-process model. */
static int add_spec(eval_args *a, spec_kind kind, const char *model) {
    if (a->n_specs == MAX_TARGETS)
        return fprintf(stderr, "tinylm eval: at most %d targets\n", MAX_TARGETS), 1;
    target_spec *t = &a->specs[a->n_specs++];
    *t = (target_spec){.kind = kind, .model = model};
    if (kind == SPEC_ENDPOINT) {
        for (int i = 0; i < a->n_pending; i++) t->urls[i] = a->pending_urls[i];
        t->n_urls = a->n_pending;
        a->n_pending = 0;
    }
    return 0;
}

static int parse_args(int argc, char **argv, eval_args *a) {
    enum {
        O_SUITE = 256,
        O_DATA,
        O_FORMAT,
        O_DATADIR,
        O_TARGET,
        O_ENDPOINT,
        O_MODEL,
        O_KEY,
        O_SAMPLES,
        O_TEMP,
        O_SEED,
        O_MAXTOK,
        O_LIMIT,
        O_JOBS,
        O_CONSTR,
        O_TIMEOUT,
        O_UNSAFE,
        O_OUT,
        O_RESUME,
        O_SUMMARY,
        O_QUIET,
        O_VALIDATE,
        O_THREADS,
        O_CTX,
        O_DETERMINISM
    };
    static const struct option opts[] = {{"suite", required_argument, 0, O_SUITE},
                                         {"data", required_argument, 0, O_DATA},
                                         {"format", required_argument, 0, O_FORMAT},
                                         {"data-dir", required_argument, 0, O_DATADIR},
                                         {"target", required_argument, 0, O_TARGET},
                                         {"endpoint", required_argument, 0, O_ENDPOINT},
                                         {"model", required_argument, 0, O_MODEL},
                                         {"api-key", required_argument, 0, O_KEY},
                                         {"samples", required_argument, 0, O_SAMPLES},
                                         {"temperature", required_argument, 0, O_TEMP},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"max-tokens", required_argument, 0, O_MAXTOK},
                                         {"limit", required_argument, 0, O_LIMIT},
                                         {"jobs", required_argument, 0, O_JOBS},
                                         {"constrained", no_argument, 0, O_CONSTR},
                                         {"timeout", required_argument, 0, O_TIMEOUT},
                                         {"unsafe-no-sandbox", no_argument, 0, O_UNSAFE},
                                         {"out", required_argument, 0, O_OUT},
                                         {"resume", no_argument, 0, O_RESUME},
                                         {"summary", required_argument, 0, O_SUMMARY},
                                         {"quiet", no_argument, 0, O_QUIET},
                                         {"validate", required_argument, 0, O_VALIDATE},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"ctx", required_argument, 0, O_CTX},
                                         {"determinism", required_argument, 0, O_DETERMINISM},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_SUITE: split_suites(a, optarg); break;
        case O_DATA: a->data = optarg; break;
        case O_FORMAT: a->format = optarg; break;
        case O_DATADIR: a->data_dir = optarg; break;
        case O_TARGET:
            if (strcmp(optarg, "reference")) {
                fprintf(stderr, "tinylm eval: unknown --target '%s' (only 'reference'; use "
                                "--model FILE for a model)\n", optarg);
                return 2;
            }
            if (add_spec(a, SPEC_REFERENCE, NULL)) return 2;
            break;
        case O_ENDPOINT:
            if (add_urls(a, optarg)) return 2;
            break;
        case O_MODEL:
            if (add_spec(a, a->n_pending ? SPEC_ENDPOINT : SPEC_MODEL, optarg)) return 2;
            break;
        case O_THREADS:
            if (!tlm_cli_parse_int("eval", "--threads", optarg, 0, 1024, &v)) return 2;
            a->threads = (int32_t)v;
            break;
        case O_CTX:
            if (!tlm_cli_parse_int("eval", "--ctx", optarg, 0, 1 << 20, &v)) return 2;
            a->ctx = (int32_t)v;
            break;
        case O_DETERMINISM:
            if (!tlm_cli_parse_int("eval", "--determinism", optarg, 0, 1000, &v)) return 2;
            a->determinism = (int)v;
            break;
        case O_KEY: a->api_key = optarg; break;
        case O_SAMPLES:
            if (!tlm_cli_parse_int("eval", "--samples", optarg, 1, 100000, &v)) return 2;
            a->opts.samples = (int)v;
            break;
        case O_TEMP:
            if (!tlm_cli_parse_float("eval", "--temperature", optarg, 0, 10,
                                     &a->opts.params.temperature))
                return 2;
            break;
        case O_SEED:
            if (!tlm_cli_parse_int("eval", "--seed", optarg, 0, 0x7fffffffL, &v)) return 2;
            a->opts.params.seed = (uint64_t)v;
            break;
        case O_MAXTOK:
            if (!tlm_cli_parse_int("eval", "--max-tokens", optarg, 1, 1 << 20, &v)) return 2;
            a->opts.params.max_tokens = (int)v;
            break;
        case O_LIMIT:
            if (!tlm_cli_parse_int("eval", "--limit", optarg, 1, 1L << 30, &v)) return 2;
            a->opts.limit = (size_t)v;
            break;
        case O_JOBS:
            if (!tlm_cli_parse_int("eval", "--jobs", optarg, 1, 256, &v)) return 2;
            a->opts.jobs = (int)v;
            break;
        case O_CONSTR: a->opts.constrained_json = true; break;
        case O_TIMEOUT:
            if (!tlm_cli_parse_float("eval", "--timeout", optarg, 0.1, 3600, &a->timeout)) return 2;
            break;
        case O_UNSAFE: a->unsafe = true; break;
        case O_OUT: a->out = optarg; break;
        case O_RESUME: a->resume = true; break;
        case O_SUMMARY: a->summary = optarg; break;
        case O_QUIET: a->quiet = true; break;
        case O_VALIDATE: a->validate = optarg; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc)
        return fprintf(stderr, "tinylm eval: unexpected argument '%s'\n", argv[optind]), 2;
    if (a->validate) return 0;
    if (!a->n_suites && !a->data)
        return fprintf(stderr, "tinylm eval: give --suite or --data\n\n"), usage(stderr), 2;
    if (a->n_pending)
        return fprintf(stderr, "tinylm eval: --endpoint %s needs a --model NAME after it\n",
                       a->pending_urls[0]),
               2;
    if (!a->n_specs)
        return fprintf(stderr, "tinylm eval: give a target: --target reference, --model FILE or "
                               "--endpoint URL --model NAME\n"),
               2;
    return 0;
}

/* ---- Running ---- */

typedef struct eval_state {
    tlm_eval_suite *suites[MAX_SUITES + 1];
    int n_suites;
    tlm_sandbox *sb;
    tlm_eval_results *res;
} eval_state;

static int load_suites(const eval_args *a, eval_state *s) {
    tlm_error err = {0};
    for (int i = 0; i < a->n_suites; i++) {
        if (tlm_eval_suite_load_builtin(a->suites[i], a->data_dir, &s->suites[s->n_suites], &err) !=
            TLM_OK)
            return fprintf(stderr, "tinylm eval: %s\n", err.msg), 1;
        s->n_suites++;
    }
    if (a->data) {
        if (tlm_eval_suite_load(a->data, a->format, &s->suites[s->n_suites], &err) != TLM_OK)
            return fprintf(stderr, "tinylm eval: %s\n", err.msg), 1;
        s->n_suites++;
    }
    return 0;
}

static bool needs_sandbox(const eval_state *s) {
    for (int i = 0; i < s->n_suites; i++)
        for (size_t j = 0; j < s->suites[i]->n_tasks; j++)
            if (s->suites[i]->tasks[j].grader == TLM_EVAL_GRADER_EXEC) return true;
    return false;
}

static int make_sandbox(const eval_args *a, eval_state *s) {
    if (!needs_sandbox(s)) return 0;
    tlm_sandbox_config cfg = tlm_sandbox_default_config();
    cfg.mode = a->unsafe ? TLM_SANDBOX_AUTO : TLM_SANDBOX_BWRAP;
    cfg.allow_unsafe = a->unsafe;
    if (a->timeout > 0) cfg.limits.wall_s = a->timeout;
    tlm_error err = {0};
    if (tlm_sandbox_create(&cfg, &s->sb, &err) != TLM_OK)
        return fprintf(stderr, "tinylm eval: %s\n", err.msg), 1;
    if (!a->quiet) fprintf(stderr, "tinylm eval: sandbox: %s\n", tlm_sandbox_describe(s->sb));
    return 0;
}

/* Creates the target of spec; in-process models are loaded here, one at a
 * time, so that each one's peak memory is its own. */
static int make_target(const eval_args *a, const target_spec *sp, tlm_eval_target *t) {
    tlm_error err = {0};
    tlm_status st = TLM_OK;
    if (sp->kind == SPEC_REFERENCE) {
        *t = tlm_eval_reference_target();
    } else if (sp->kind == SPEC_MODEL) {
        char *path = NULL;
        if ((st = tlm_pull_resolve(sp->model, &path, &err)) == TLM_OK) {
            tlm_eval_model_config cfg = {.path = path, .n_ctx = a->ctx, .n_threads = a->threads};
            if (!a->quiet) fprintf(stderr, "tinylm eval: loading %s\n", path);
            st = tlm_eval_model_target_create(&cfg, t, &err);
        }
        tlm_free(path);
    } else {
        tlm_eval_openai_config cfg = tlm_eval_openai_default_config();
        cfg.model = sp->model;
        cfg.api_key = a->api_key ? a->api_key : getenv("OPENAI_API_KEY");
        st = tlm_eval_pool_target_create(&cfg, sp->urls, (size_t)sp->n_urls, t, &err);
    }
    if (st != TLM_OK) return fprintf(stderr, "tinylm eval: %s\n", err.msg), 1;
    return 0;
}

static void free_target(const target_spec *sp, tlm_eval_target *t) {
    if (sp->kind == SPEC_MODEL) tlm_eval_model_target_free(t);
    else if (sp->kind == SPEC_ENDPOINT) tlm_eval_pool_target_free(t);
}

/* The target record: what the target is, its memory and load time, and the
 * determinism probe (after the suites, so the model is warm). */
static int record_target(const eval_args *a, const target_spec *sp, const tlm_eval_target *t,
                         eval_state *s) {
    json_t *info = json_object();
    if (!info) return fprintf(stderr, "tinylm eval: out of memory\n"), 1;
    if (sp->kind == SPEC_MODEL) tlm_eval_model_target_describe(t, info);
    else if (sp->kind == SPEC_ENDPOINT) tlm_eval_pool_target_describe(t, info);
    else json_object_set_new(info, "kind", json_string("reference"));
    tlm_error err = {0};
    if (a->determinism > 0) {
        int same = 0;
        if (tlm_eval_determinism(t, a->determinism, a->opts.params.seed, &same, &err) == TLM_OK) {
            json_object_set_new(info, "determinism_runs", json_integer(a->determinism));
            json_object_set_new(info, "determinism_identical", json_integer(same));
        } else if (!a->quiet) {
            fprintf(stderr, "tinylm eval: %s: determinism probe failed: %s\n", t->name, err.msg);
        }
    }
    tlm_status st = tlm_eval_results_set_target_info(s->res, t->name, info, &err);
    json_decref(info);
    if (st != TLM_OK) return fprintf(stderr, "tinylm eval: %s\n", err.msg), 1;
    return 0;
}

static int run_all(const eval_args *a, eval_state *s) {
    tlm_eval_run_opts o = a->opts;
    if (!a->quiet && isatty(2)) o.progress = progress;
    for (int k = 0; k < a->n_specs; k++) {
        tlm_eval_target t;
        if (make_target(a, &a->specs[k], &t)) return 1;
        /* A constrained run is another target: its answers must not replace
         * (or, resumed, be mistaken for) the unconstrained ones. */
        char name[512];
        if (a->opts.constrained_json) {
            snprintf(name, sizeof name, "%s+constrained", t.name);
            t.name = name;
        }
        int rc = 0;
        for (int i = 0; i < s->n_suites && !rc; i++) {
            tlm_error err = {0};
            if (tlm_eval_run(s->suites[i], &t, s->sb, s->res, &o, &err) != TLM_OK)
                rc = (fprintf(stderr, "tinylm eval: %s\n", err.msg), 1);
        }
        if (!rc) rc = record_target(a, &a->specs[k], &t, s);
        free_target(&a->specs[k], &t);
        if (rc) return rc;
    }
    return 0;
}

static int report(const eval_args *a, eval_state *s) {
    json_t *sum = NULL;
    tlm_error err = {0};
    if (tlm_eval_summarize(s->res, &sum, &err) != TLM_OK)
        return fprintf(stderr, "tinylm eval: %s\n", err.msg), 1;
    if (s->sb) json_object_set_new(sum, "sandbox", json_string(tlm_sandbox_describe(s->sb)));
    print_summary(sum);
    print_targets(sum);
    int rc = 0;
    if (a->summary && json_dump_file(sum, a->summary, JSON_INDENT(2)) != 0) {
        fprintf(stderr, "tinylm eval: cannot write %s\n", a->summary);
        rc = 1;
    }
    json_decref(sum);
    return rc;
}

static void cleanup(eval_args *a, eval_state *s) {
    for (int i = 0; i < s->n_suites; i++) tlm_eval_suite_free(s->suites[i]);
    for (int i = 0; i < a->n_url_lists; i++) tlm_free(a->url_lists[i]);
    tlm_sandbox_free(s->sb);
    tlm_eval_results_close(s->res);
}

int cmd_eval(int argc, char **argv) {
    eval_args a = {
        .opts = tlm_eval_default_run_opts(), .out = "eval-results.jsonl", .determinism = 10};
    a.opts.jobs = 2;
    int rc = parse_args(argc, argv, &a);
    if (rc || a.validate) {
        for (int i = 0; i < a.n_url_lists; i++) tlm_free(a.url_lists[i]);
        if (rc) return rc < 0 ? 0 : rc;
        return validate_file(a.validate);
    }
    eval_state s = {0};
    tlm_error err = {0};
    rc = load_suites(&a, &s);
    if (!rc) rc = make_sandbox(&a, &s);
    if (!rc && tlm_eval_results_open(a.out, a.resume, &s.res, &err) != TLM_OK)
        rc = (fprintf(stderr, "tinylm eval: %s\n", err.msg), 1);
    if (!rc && a.resume && tlm_eval_results_count(s.res) && !a.quiet)
        fprintf(stderr, "tinylm eval: resuming: %zu answers already in %s\n",
                tlm_eval_results_count(s.res), a.out);
    if (!rc) rc = run_all(&a, &s);
    if (!rc) rc = report(&a, &s);
    if (!rc && !a.quiet) fprintf(stderr, "tinylm eval: results in %s\n", a.out);
    cleanup(&a, &s);
    return rc;
}
