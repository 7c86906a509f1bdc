/*
 * cmd_compare.c - `tinylm compare`: evaluates several targets on the same
 * suites and writes a comparison report (report.md, report.html,
 * summary.json) into a directory, by default a new timestamped one under
 * $XDG_CACHE_HOME/tinylm/reports (or ~/.cache/tinylm/reports), where
 * `tinylm serve --reports` finds it.
 *
 * Each target is evaluated by a child `tinylm eval` process with its own
 * results file, so every model's peak memory and load time are its own
 * and an interrupted comparison resumes target by target (--resume).
 * Existing results files can be compared without running anything.
 */
#include "cli/commands.h"
#include "core/util.h"
#include "eval/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 256
#define MAX_TARGETS 8
#define MAX_RESULTS 16

static void usage(FILE *f) {
    fprintf(f,
            "usage: tinylm compare TARGETS [--suite LIST] [--out DIR] [EVAL OPTIONS]\n"
            "       tinylm compare --results A.jsonl --results B.jsonl [--out DIR]\n\n"
            "Evaluates every target on the same tasks (one `tinylm eval` process each, so\n"
            "memory and load time are per model) and writes DIR/report.md, DIR/report.html\n"
            "(self-contained: inline CSS and SVG charts) and DIR/summary.json.\n\n"
            "targets, as in tinylm eval:\n"
            "  --model FILE|NAME         an in-process model\n"
            "  --endpoint URL --model N  an OpenAI-compatible server and its model\n"
            "  --target reference        the reference answers (100%%)\n"
            "  --results FILE            an existing results file (repeatable)\n\n"
            "report:\n"
            "  --out DIR     where to write (default: $XDG_CACHE_HOME/tinylm/reports/TIME,\n"
            "                or ~/.cache/tinylm/reports/TIME)\n"
            "  --title TEXT  the report's title\n"
            "  --json-both   also run every target on the json suite with --constrained\n"
            "                (a second column, NAME+constrained): JSON with and without\n"
            "                constrained decoding side by side\n\n"
            "Every other option goes to tinylm eval (--suite, --limit, --max-tokens, --jobs,\n"
            "--samples, --temperature, --seed, --threads, --ctx, --determinism, --resume,\n"
            "--unsafe-no-sandbox, ...).  Marks: see docs/EVAL.md.\n\n"
            "example:\n"
            "  tinylm compare --model qwen2.5-0.5b --model gemma-2b --suite basics,code,json\n");
}

typedef struct compare_args {
    const char *targets[MAX_TARGETS][MAX_ARGS / MAX_TARGETS]; /* per target: its flags */
    int n_target_args[MAX_TARGETS];
    int n_targets;
    const char *pending[MAX_ARGS / MAX_TARGETS]; /* --endpoint flags awaiting a --model */
    int n_pending;
    const char *pass[MAX_ARGS]; /* options for every eval */
    int n_pass;
    const char *results[MAX_RESULTS];
    int n_results;
    const char *out, *title;
    bool json_both; /* also each target on the json suite with --constrained */
} compare_args;

/* Options of tinylm eval that take a value (passed through as they are). */
static bool takes_value(const char *opt) {
    static const char *const v[] = {"--suite", "--data", "--format", "--data-dir", "--api-key",
                                    "--samples", "--temperature", "--seed", "--max-tokens",
                                    "--limit", "--jobs", "--timeout", "--threads", "--ctx",
                                    "--determinism"};
    for (size_t i = 0; i < TLM_ARRAY_LEN(v); i++)
        if (!strcmp(opt, v[i])) return true;
    return false;
}

static int close_target(compare_args *a, const char *flag, const char *value) {
    if (a->n_targets == MAX_TARGETS)
        return fprintf(stderr, "tinylm compare: at most %d targets\n", MAX_TARGETS), 2;
    int k = a->n_targets++, n = 0;
    for (int i = 0; i < a->n_pending; i++) a->targets[k][n++] = a->pending[i];
    a->n_pending = 0;
    a->targets[k][n++] = flag;
    a->targets[k][n++] = value;
    a->n_target_args[k] = n;
    return 0;
}

static int parse(int argc, char **argv, compare_args *a) {
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) return usage(stdout), -1;
        bool want = !strcmp(o, "--model") || !strcmp(o, "--endpoint") || !strcmp(o, "--target") ||
                    !strcmp(o, "--results") || !strcmp(o, "--out") || !strcmp(o, "--title") ||
                    takes_value(o);
        if (want && !v) return fprintf(stderr, "tinylm compare: %s needs a value\n", o), 2;
        int rc = 0;
        if (!strcmp(o, "--model") || !strcmp(o, "--target")) rc = close_target(a, o, v);
        else if (!strcmp(o, "--endpoint")) {
            if (a->n_pending + 2 > MAX_ARGS / MAX_TARGETS - 2)
                return fprintf(stderr, "tinylm compare: too many endpoints\n"), 2;
            a->pending[a->n_pending++] = o;
            a->pending[a->n_pending++] = v;
        } else if (!strcmp(o, "--results")) {
            if (a->n_results == MAX_RESULTS)
                return fprintf(stderr, "tinylm compare: too many results files\n"), 2;
            a->results[a->n_results++] = v;
        } else if (!strcmp(o, "--out")) a->out = v;
        else if (!strcmp(o, "--title")) a->title = v;
        else if (!strcmp(o, "--json-both")) a->json_both = true;
        else if (strncmp(o, "--", 2))
            return fprintf(stderr, "tinylm compare: unexpected argument '%s'\n", o), 2;
        else {
            if (a->n_pass + 2 > MAX_ARGS) return fprintf(stderr, "tinylm compare: too many options\n"), 2;
            a->pass[a->n_pass++] = o;
            if (want) a->pass[a->n_pass++] = v;
        }
        if (rc) return rc;
        if (want) i++;
    }
    if (a->n_pending)
        return fprintf(stderr, "tinylm compare: --endpoint %s needs a --model NAME after it\n",
                       a->pending[1]),
               2;
    if (a->n_targets + a->n_results < 1)
        return fprintf(stderr, "tinylm compare: give targets (--model, --endpoint URL --model "
                               "NAME, --target reference) or --results FILE\n"),
               2;
    return 0;
}

/* mkdir -p */
static int make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The default report directory: a new timestamped one under the cache. */
static char *default_out(void) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
    tlm_buf b = {0};
    if (xdg && *xdg) tlm_buf_appendf(&b, "%s/tinylm/reports/%s", xdg, stamp);
    else tlm_buf_appendf(&b, "%s/.cache/tinylm/reports/%s", home ? home : ".", stamp);
    return b.data;
}

/* Runs `tinylm eval` for target k; its stdout (the summary table) goes to
 * our stderr so that compare's own output stays the report's location.
 * constrained: the json suite alone, with --constrained (other suites and
 * --data are dropped from the options). */
static int run_eval(const compare_args *a, int k, const char *results, bool constrained) {
    const char *argv[MAX_ARGS + 16];
    int n = 0;
    argv[n++] = "tinylm";
    argv[n++] = "eval";
    for (int i = 0; i < a->n_target_args[k]; i++) argv[n++] = a->targets[k][i];
    for (int i = 0; i < a->n_pass; i++) {
        bool suite = !strcmp(a->pass[i], "--suite") || !strcmp(a->pass[i], "--data") ||
                     !strcmp(a->pass[i], "--format");
        if (constrained && suite) i++; /* skip the value too */
        else argv[n++] = a->pass[i];
    }
    if (constrained) {
        argv[n++] = "--suite";
        argv[n++] = "json";
        argv[n++] = "--constrained";
    }
    argv[n++] = "--out";
    argv[n++] = results;
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return fprintf(stderr, "tinylm compare: fork: %s\n", strerror(errno)), 1;
    if (pid == 0) {
        dup2(2, 1);
        execv("/proc/self/exe", (char *const *)argv);
        fprintf(stderr, "tinylm compare: cannot run tinylm eval: %s\n", strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    fprintf(stderr, "tinylm compare: tinylm eval for target %d failed\n", k + 1);
    return 1;
}

int cmd_compare(int argc, char **argv) {
    compare_args a = {0};
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    char *out = a.out ? tlm_strdup(a.out) : default_out();
    if (!out || make_dirs(out) != 0) {
        fprintf(stderr, "tinylm compare: cannot create %s: %s\n", out ? out : "?", strerror(errno));
        tlm_free(out);
        return 1;
    }
    char paths[2 * MAX_TARGETS][4200];
    const char *all[2 * MAX_TARGETS + MAX_RESULTS];
    int n_all = 0;
    for (int k = 0; k < a.n_targets && !rc; k++) {
        snprintf(paths[n_all], sizeof paths[n_all], "%s/results-%d.jsonl", out, k + 1);
        fprintf(stderr, "tinylm compare: target %d of %d\n", k + 1, a.n_targets);
        rc = run_eval(&a, k, paths[n_all], false);
        all[n_all] = paths[n_all];
        n_all++;
        if (rc || !a.json_both) continue;
        snprintf(paths[n_all], sizeof paths[n_all], "%s/results-%d-constrained.jsonl", out, k + 1);
        fprintf(stderr, "tinylm compare: target %d, json suite constrained\n", k + 1);
        rc = run_eval(&a, k, paths[n_all], true);
        all[n_all] = paths[n_all];
        n_all++;
    }
    for (int i = 0; i < a.n_results; i++) all[n_all++] = a.results[i];
    tlm_eval_report *rep = NULL;
    tlm_error err = {0};
    if (!rc && (tlm_eval_report_build(all, (size_t)n_all, a.title, &rep, &err) != TLM_OK ||
                tlm_eval_report_write_dir(rep, out, &err) != TLM_OK))
        rc = (fprintf(stderr, "tinylm compare: %s\n", err.msg), 1);
    if (!rc) {
        printf("%s/report.html\n%s/report.md\n%s/summary.json\n", out, out, out);
        fprintf(stderr, "tinylm compare: %zu targets, %zu items compared, %zu differ\n",
                rep->n_targets, rep->n_items, rep->n_diffs);
    }
    tlm_eval_report_free(rep);
    tlm_free(out);
    return rc;
}
