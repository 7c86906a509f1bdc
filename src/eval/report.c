/*
 * report.c - the data model of a comparison report (see report.h): results
 * files are read into one in-memory results set and summarised with the
 * same code `tinylm eval` prints from, so the report's numbers agree with
 * the results files by construction; the per-item view reads the files'
 * answers again and keeps only items whose outcome differs between
 * targets.  Also summary.json, the marks and writing the three files.
 */
#include "eval/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Answers longer than this are cut in the report (the results file keeps
 * them whole): a runaway model must not make a 100 MB page. */
#define ANSWER_CAP 4000

/* ---- Marks and formatting ---- */

tlm_report_mark tlm_report_mark_rate(double rate) {
    if (isnan(rate)) return TLM_MARK_NONE;
    return rate >= TLM_REPORT_GOOD ? TLM_MARK_GOOD
           : rate >= TLM_REPORT_FAIR ? TLM_MARK_FAIR
                                     : TLM_MARK_BAD;
}

tlm_report_mark tlm_report_mark_determinism(int identical, int runs) {
    if (runs <= 0) return TLM_MARK_NONE;
    return identical == runs ? TLM_MARK_GOOD : 2 * identical >= runs ? TLM_MARK_FAIR : TLM_MARK_BAD;
}

const char *tlm_report_mark_symbol(tlm_report_mark m) {
    static const char *const s[] = {"\xe2\x80\x93", "\xe2\x9c\x85", "\xe2\x9a\xa0\xef\xb8\x8f",
                                    "\xe2\x9d\x8c"};
    return s[m];
}

const char *tlm_report_mark_name(tlm_report_mark m) {
    static const char *const s[] = {"none", "good", "fair", "bad"};
    return s[m];
}

double tlm_report_num(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

bool tlm_report_determinism(const tlm_eval_report *r, size_t t, int *identical, int *runs) {
    const json_t *info = json_object_get(r->target_stats[t], "info");
    double n = tlm_report_num(info, "determinism_runs");
    double same = tlm_report_num(info, "determinism_identical");
    if (isnan(n) || isnan(same)) return false;
    *identical = (int)same;
    *runs = (int)n;
    return true;
}

void tlm_report_fmt(char *buf, size_t cap, double v, char kind) {
    if (isnan(v) || v < 0) {
        snprintf(buf, cap, "\xe2\x80\x93");
        return;
    }
    switch (kind) {
    case 'p': snprintf(buf, cap, "%.1f%%", 100.0 * v); break;
    case 'm': v < 1000 ? snprintf(buf, cap, "%.0f ms", v) : snprintf(buf, cap, "%.2f s", v / 1e3); break;
    case 't': snprintf(buf, cap, "%.1f tok/s", v); break;
    case 'b':
        v >= 1 << 30 ? snprintf(buf, cap, "%.2f GiB", v / (1 << 30))
                     : snprintf(buf, cap, "%.1f MiB", v / (1 << 20));
        break;
    default: snprintf(buf, cap, "%g", v);
    }
}

tlm_status tlm_report_html_escape(tlm_buf *out, const char *s) {
    for (; s && *s; s++) {
        const char *e = *s == '&'    ? "&amp;"
                        : *s == '<'  ? "&lt;"
                        : *s == '>'  ? "&gt;"
                        : *s == '"'  ? "&quot;"
                        : *s == '\'' ? "&#39;"
                                     : NULL;
        tlm_status st = e ? tlm_buf_append(out, e, strlen(e)) : tlm_buf_append(out, s, 1);
        if (st != TLM_OK) return st;
    }
    return TLM_OK;
}

/* ---- Rows of the side-by-side table ---- */

static json_t *find_suite(const json_t *summary, const char *target, const char *suite) {
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(summary, "suites"), i, s)
        if (!strcmp(json_string_value(json_object_get(s, "target")), target) &&
            !strcmp(json_string_value(json_object_get(s, "suite")), suite))
            return s;
    return NULL;
}

static tlm_status add_row(tlm_eval_report *r, const char *suite, const char *kind) {
    for (size_t i = 0; i < r->n_rows; i++)
        if (!strcmp(r->rows[i].suite, suite) &&
            (kind ? r->rows[i].kind && !strcmp(r->rows[i].kind, kind) : !r->rows[i].kind))
            return TLM_OK;
    tlm_report_row *v = tlm_realloc(r->rows, (r->n_rows + 1) * sizeof *v);
    if (!v) return TLM_ERR_NOMEM;
    r->rows = v;
    tlm_report_row *row = &r->rows[r->n_rows];
    row->suite = suite;
    row->kind = kind;
    if (!(row->cells = tlm_calloc(r->n_targets + 1, sizeof *row->cells))) return TLM_ERR_NOMEM;
    r->n_rows++;
    for (size_t t = 0; t < r->n_targets; t++) {
        json_t *s = find_suite(r->summary, r->targets[t], suite);
        row->cells[t] = kind ? json_object_get(json_object_get(s, "kinds"), kind) : s;
    }
    return TLM_OK;
}

static tlm_status build_rows(tlm_eval_report *r) {
    size_t i;
    json_t *s;
    json_array_foreach (json_object_get(r->summary, "suites"), i, s) {
        const char *suite = json_string_value(json_object_get(s, "suite"));
        if (add_row(r, suite, NULL) != TLM_OK) return TLM_ERR_NOMEM;
        const char *kind;
        json_t *k;
        json_object_foreach (json_object_get(s, "kinds"), kind, k)
            if (add_row(r, suite, kind) != TLM_OK) return TLM_ERR_NOMEM;
    }
    return TLM_OK;
}

/* ---- Per-item view ---- */

static char *dup_capped(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    if (!s) return NULL;
    size_t n = strlen(s);
    if (n <= ANSWER_CAP) return tlm_strdup(s);
    tlm_buf b = {0};
    if (tlm_buf_append(&b, s, ANSWER_CAP) != TLM_OK ||
        tlm_buf_appendf(&b, "\n[... %zu more bytes]", n - ANSWER_CAP) != TLM_OK) {
        tlm_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static int target_index(const tlm_eval_report *r, const char *name) {
    for (size_t t = 0; t < r->n_targets; t++)
        if (!strcmp(r->targets[t], name)) return (int)t;
    return -1;
}

static void answer_clear(tlm_report_answer *a) {
    tlm_free(a->verdict);
    tlm_free(a->answer);
    tlm_free(a->extracted);
    tlm_free(a->detail);
    memset(a, 0, sizeof *a);
}

/* Adds one results line to the candidates (index: key -> position). */
static tlm_status add_item(tlm_eval_report *r, json_t *index, const json_t *o) {
    const char *target = json_string_value(json_object_get(o, "target"));
    const char *suite = json_string_value(json_object_get(o, "suite"));
    const char *task = json_string_value(json_object_get(o, "task_id"));
    int t = target ? target_index(r, target) : -1;
    if (t < 0 || !suite || !task) return TLM_OK;
    int sample = (int)json_integer_value(json_object_get(o, "sample"));
    char key[600];
    snprintf(key, sizeof key, "%s\x1f%s\x1f%d", suite, task, sample);
    json_t *at = json_object_get(index, key);
    size_t k = at ? (size_t)json_integer_value(at) : r->n_diffs;
    if (!at) {
        tlm_report_diff *v = tlm_realloc(r->diffs, (r->n_diffs + 1) * sizeof *v);
        if (!v) return TLM_ERR_NOMEM;
        r->diffs = v;
        tlm_report_diff *d = &r->diffs[r->n_diffs++];
        memset(d, 0, sizeof *d);
        d->suite = tlm_strdup(suite);
        d->task_id = tlm_strdup(task);
        d->kind = tlm_strdup(json_string_value(json_object_get(o, "kind")) ? json_string_value(json_object_get(o, "kind")) : "task");
        d->prompt = dup_capped(o, "prompt");
        d->sample = sample;
        d->answers = tlm_calloc(r->n_targets, sizeof *d->answers);
        if (!d->suite || !d->task_id || !d->kind || !d->answers) return TLM_ERR_NOMEM;
        json_object_set_new(index, key, json_integer((json_int_t)k));
    }
    tlm_report_answer *a = &r->diffs[k].answers[t];
    answer_clear(a); /* a re-run replaces the older line, as in the results file */
    a->present = true;
    a->passed = json_is_true(json_object_get(o, "passed"));
    a->verdict = dup_capped(o, "verdict");
    a->answer = dup_capped(o, "answer");
    a->extracted = dup_capped(o, "extracted");
    a->detail = dup_capped(o, "detail");
    return TLM_OK;
}

static void diff_clear(tlm_report_diff *d, size_t n_targets) {
    for (size_t t = 0; d->answers && t < n_targets; t++) answer_clear(&d->answers[t]);
    tlm_free(d->answers);
    tlm_free(d->suite);
    tlm_free(d->task_id);
    tlm_free(d->kind);
    tlm_free(d->prompt);
}

static int cmp_diff(const void *pa, const void *pb) {
    const tlm_report_diff *a = pa, *b = pb;
    int c = strcmp(a->suite, b->suite);
    if (!c) c = strcmp(a->task_id, b->task_id);
    return c ? c : (a->sample > b->sample) - (a->sample < b->sample);
}

/* Keeps the items present for at least two targets with different outcomes,
 * in suite and task order (the results file has them in finishing order). */
static void keep_differences(tlm_eval_report *r) {
    size_t kept = 0;
    r->n_items = 0;
    for (size_t i = 0; i < r->n_diffs; i++) {
        tlm_report_diff *d = &r->diffs[i];
        size_t present = 0, passed = 0;
        for (size_t t = 0; t < r->n_targets; t++) {
            present += d->answers[t].present;
            passed += d->answers[t].present && d->answers[t].passed;
        }
        r->n_items += present >= 2;
        if (present >= 2 && passed > 0 && passed < present) r->diffs[kept++] = *d;
        else diff_clear(d, r->n_targets);
    }
    r->n_diffs = kept;
    if (kept) qsort(r->diffs, kept, sizeof *r->diffs, cmp_diff);
}

static tlm_status read_items(tlm_eval_report *r, const char *path, json_t *index, tlm_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return tlm_error_set(err, TLM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    tlm_status st = TLM_OK;
    while (st == TLM_OK && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (o && !json_object_get(o, "record")) st = add_item(r, index, o);
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (st != TLM_OK) tlm_error_set(err, st, "out of memory");
    return st;
}

/* ---- Building ---- */

static tlm_status collect_targets(tlm_eval_report *r) {
    json_t *list = json_object_get(r->summary, "targets");
    r->n_targets = json_array_size(list);
    r->targets = tlm_calloc(r->n_targets + 1, sizeof *r->targets);
    r->target_stats = tlm_calloc(r->n_targets + 1, sizeof *r->target_stats);
    if (!r->targets || !r->target_stats) return TLM_ERR_NOMEM;
    for (size_t t = 0; t < r->n_targets; t++) {
        r->target_stats[t] = json_array_get(list, t);
        r->targets[t] = json_string_value(json_object_get(r->target_stats[t], "target"));
    }
    return TLM_OK;
}

tlm_status tlm_eval_report_build(const char *const *paths, size_t n_paths, const char *title,
                                 tlm_eval_report **out, tlm_error *err) {
    if (!out || !paths || !n_paths)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "report: no results files");
    *out = NULL;
    tlm_eval_report *r = tlm_calloc(1, sizeof *r);
    tlm_eval_results *res = NULL;
    json_t *index = json_object();
    tlm_status st = r && index ? tlm_eval_results_open(NULL, false, &res, err)
                               : tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == TLM_OK && i < n_paths; i++)
        st = tlm_eval_results_load(res, paths[i], err);
    if (st == TLM_OK) st = tlm_eval_summarize(res, &r->summary, err);
    if (st == TLM_OK && !tlm_eval_results_count(res))
        st = tlm_error_set(err, TLM_ERR_FORMAT, "report: the results files hold no answers");
    if (st == TLM_OK && (collect_targets(r) != TLM_OK || build_rows(r) != TLM_OK ||
                         !(r->title = tlm_strdup(title ? title : "tinylm model comparison"))))
        st = tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == TLM_OK && i < n_paths; i++) st = read_items(r, paths[i], index, err);
    if (st == TLM_OK) keep_differences(r);
    tlm_eval_results_close(res);
    json_decref(index);
    if (st != TLM_OK) {
        tlm_eval_report_free(r);
        return st;
    }
    *out = r;
    return TLM_OK;
}

void tlm_eval_report_free(tlm_eval_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_rows; i++) tlm_free(r->rows[i].cells);
    for (size_t i = 0; i < r->n_diffs; i++) diff_clear(&r->diffs[i], r->n_targets);
    tlm_free(r->rows);
    tlm_free(r->diffs);
    tlm_free(r->targets);
    tlm_free(r->target_stats);
    tlm_free(r->title);
    json_decref(r->summary);
    tlm_free(r);
}

/* ---- summary.json ---- */

json_t *tlm_eval_report_json(const tlm_eval_report *r) {
    json_t *o = json_deep_copy(r->summary), *marks = json_object();
    if (!o || !marks) {
        json_decref(o);
        json_decref(marks);
        return NULL;
    }
    for (size_t t = 0; t < r->n_targets; t++) {
        json_t *m = json_object();
        for (size_t i = 0; i < r->n_rows; i++) {
            char key[512];
            snprintf(key, sizeof key, "%s%s%s", r->rows[i].suite, r->rows[i].kind ? "/" : "",
                     r->rows[i].kind ? r->rows[i].kind : "");
            double rate = tlm_report_num(r->rows[i].cells[t], "pass_rate");
            json_object_set_new(m, key, json_string(tlm_report_mark_name(tlm_report_mark_rate(rate))));
        }
        json_object_set_new(marks, r->targets[t], m);
    }
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_object_set_new(o, "report",
                        json_pack("{s:s, s:s, s:{s:f, s:f}, s:o, s:I, s:I}", "title", r->title,
                                  "generated", when, "thresholds", "good", TLM_REPORT_GOOD, "fair",
                                  TLM_REPORT_FAIR, "marks", marks, "items_compared",
                                  (json_int_t)r->n_items, "items_differing",
                                  (json_int_t)r->n_diffs));
    return o;
}

/* ---- Writing the directory ---- */

static tlm_status write_file(const char *dir, const char *name, const char *data, size_t len,
                             tlm_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return tlm_error_set(err, TLM_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0 || !ok)
        return tlm_error_set(err, TLM_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return TLM_OK;
}

tlm_status tlm_eval_report_write_dir(const tlm_eval_report *r, const char *dir, tlm_error *err) {
    if (!r || !dir) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "report: no directory");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return tlm_error_set(err, TLM_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    tlm_buf md = {0}, html = {0};
    json_t *js = tlm_eval_report_json(r);
    char *jtext = js ? json_dumps(js, JSON_INDENT(2)) : NULL;
    tlm_status st = jtext && tlm_eval_report_markdown(r, &md) == TLM_OK &&
                            tlm_eval_report_html(r, &html) == TLM_OK
                        ? TLM_OK
                        : tlm_error_set(err, TLM_ERR_NOMEM, "report: out of memory");
    if (st == TLM_OK) st = write_file(dir, "report.md", md.data, md.len, err);
    if (st == TLM_OK) st = write_file(dir, "report.html", html.data, html.len, err);
    if (st == TLM_OK) st = write_file(dir, "summary.json", jtext, strlen(jtext), err);
    free(jtext);
    json_decref(js);
    tlm_buf_free(&md);
    tlm_buf_free(&html);
    return st;
}

const tlm_report_metric tlm_report_metrics[] = {
    {"Pass rate, all suites", "pass_rate", false, 'p', true},
    {"JSON validity", "json_valid_rate", false, 'p', true},
    {"JSON field accuracy", "json_field_accuracy", false, 'p', true},
    {"Time to first token P50", "ttft_ms_p50", false, 'm', false},
    {"Time to first token P95", "ttft_ms_p95", false, 'm', false},
    {"Prompt tokens/s (mean)", "prompt_tok_s_mean", false, 't', false},
    {"Generation tokens/s (mean)", "gen_tok_s_mean", false, 't', false},
    {"Peak resident memory", "rss_peak", true, 'b', false},
    {"Load time", "load_ms", true, 'm', false},
    {"Model file size", "model_bytes", true, 'b', false},
};
const size_t tlm_report_n_metrics = sizeof tlm_report_metrics / sizeof tlm_report_metrics[0];
