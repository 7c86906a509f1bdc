/*
 * report_md.c - the Markdown comparison report: the side-by-side tables of
 * the published model reviews (a ✅ / ⚠️ / ❌ per task kind with the pass
 * rate and counts behind it), then speed, memory and reliability, then the
 * items where the targets disagree.  Plain GitHub-flavoured Markdown, so it
 * pastes into an issue or a README.
 */
#include "eval/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MD_DIFF_ROWS 50 /* the HTML report lists them all */

/* Table cells must not break the table: '|' and newlines are escaped. */
static void md_cell(tlm_buf *out, const char *s) {
    for (; s && *s; s++) {
        if (*s == '|') tlm_buf_append(out, "\\|", 2);
        else if (*s == '\n' || *s == '\r') tlm_buf_append(out, " ", 1);
        else tlm_buf_append(out, s, 1);
    }
}

static void header(const tlm_eval_report *r, tlm_buf *out, const char *first, const char *second) {
    tlm_buf_appendf(out, "| %s |%s%s", first, second ? " " : "", second ? second : "");
    if (second) tlm_buf_append(out, " |", 2);
    for (size_t t = 0; t < r->n_targets; t++) {
        tlm_buf_append(out, " ", 1);
        md_cell(out, r->targets[t]);
        tlm_buf_append(out, " |", 2);
    }
    tlm_buf_appendf(out, "\n|---|%s", second ? "---|" : "");
    for (size_t t = 0; t < r->n_targets; t++) tlm_buf_appendf(out, "---|");
    tlm_buf_append(out, "\n", 1);
}

static void pass_table(const tlm_eval_report *r, tlm_buf *out) {
    tlm_buf_appendf(out, "## Pass rate by suite and task kind\n\n");
    header(r, out, "Suite", "Task kind");
    for (size_t i = 0; i < r->n_rows; i++) {
        const tlm_report_row *row = &r->rows[i];
        tlm_buf_appendf(out, "| %s%s%s | %s%s%s |", row->kind ? "" : "**", row->suite,
                        row->kind ? "" : "**", row->kind ? "" : "**",
                        row->kind ? row->kind : "all", row->kind ? "" : "**");
        for (size_t t = 0; t < r->n_targets; t++) {
            json_t *c = row->cells[t];
            double rate = tlm_report_num(c, "pass_rate");
            if (!c || isnan(rate)) {
                tlm_buf_appendf(out, " \xe2\x80\x93 |");
                continue;
            }
            tlm_buf_appendf(out, " %s %.1f%% (%lld/%lld) |",
                            tlm_report_mark_symbol(tlm_report_mark_rate(rate)), 100.0 * rate,
                            (long long)json_integer_value(json_object_get(c, "passed")),
                            (long long)json_integer_value(json_object_get(c, "samples")));
        }
        tlm_buf_append(out, "\n", 1);
    }
    tlm_buf_append(out, "\n", 1);
}

/* One metric row: value from the target's stats (info when in_info). */
static void metric_row(const tlm_eval_report *r, tlm_buf *out, const char *label, const char *key,
                       bool in_info, char kind, bool mark) {
    tlm_buf_appendf(out, "| %s |", label);
    for (size_t t = 0; t < r->n_targets; t++) {
        const json_t *o = r->target_stats[t];
        double v = tlm_report_num(in_info ? json_object_get(o, "info") : o, key);
        char buf[64];
        tlm_report_fmt(buf, sizeof buf, v, kind);
        tlm_buf_appendf(out, " %s%s%s |",
                        mark && !isnan(v) ? tlm_report_mark_symbol(tlm_report_mark_rate(v)) : "",
                        mark && !isnan(v) ? " " : "", buf);
    }
    tlm_buf_append(out, "\n", 1);
}

static void metrics_table(const tlm_eval_report *r, tlm_buf *out) {
    tlm_buf_appendf(out, "## Speed, memory and reliability\n\n");
    header(r, out, "Measure", NULL);
    for (size_t i = 0; i < tlm_report_n_metrics; i++) {
        const tlm_report_metric *mt = &tlm_report_metrics[i];
        metric_row(r, out, mt->label, mt->key, mt->in_info, mt->kind, mt->mark);
    }
    tlm_buf_appendf(out, "| Determinism (same prompt and seed) |");
    for (size_t t = 0; t < r->n_targets; t++) {
        int same, runs;
        if (!tlm_report_determinism(r, t, &same, &runs)) {
            tlm_buf_appendf(out, " \xe2\x80\x93 |");
            continue;
        }
        tlm_buf_appendf(out, " %s %d/%d identical |",
                        tlm_report_mark_symbol(tlm_report_mark_determinism(same, runs)), same,
                        runs);
    }
    tlm_buf_appendf(out, "\n\n");
}

static void diff_table(const tlm_eval_report *r, tlm_buf *out) {
    tlm_buf_appendf(out, "## Where the targets differ\n\n%zu of %zu items answered by two "
                         "targets or more passed for some and failed for others.",
                    r->n_diffs, r->n_items);
    if (!r->n_diffs) {
        tlm_buf_appendf(out, "\n");
        return;
    }
    if (r->n_diffs > MD_DIFF_ROWS)
        tlm_buf_appendf(out, " The first %d are listed;", MD_DIFF_ROWS);
    tlm_buf_appendf(out, " report.html shows both answers.\n\n");
    header(r, out, "Item", "Task kind");
    for (size_t i = 0; i < r->n_diffs && i < MD_DIFF_ROWS; i++) {
        const tlm_report_diff *d = &r->diffs[i];
        tlm_buf_appendf(out, "| ");
        md_cell(out, d->task_id);
        if (d->sample) tlm_buf_appendf(out, " #%d", d->sample);
        tlm_buf_appendf(out, " | ");
        md_cell(out, d->kind);
        tlm_buf_appendf(out, " |");
        for (size_t t = 0; t < r->n_targets; t++) {
            const tlm_report_answer *a = &d->answers[t];
            if (!a->present) tlm_buf_appendf(out, " \xe2\x80\x93 |");
            else
                tlm_buf_appendf(out, " %s %s |", a->passed ? "\xe2\x9c\x85" : "\xe2\x9d\x8c",
                                a->verdict ? a->verdict : "");
        }
        tlm_buf_append(out, "\n", 1);
    }
}

tlm_status tlm_eval_report_markdown(const tlm_eval_report *r, tlm_buf *out) {
    if (!r || !out) return TLM_ERR_INVALID_ARG;
    tlm_buf_appendf(out, "# ");
    md_cell(out, r->title);
    tlm_buf_appendf(out, "\n\nTargets: ");
    for (size_t t = 0; t < r->n_targets; t++) {
        tlm_buf_appendf(out, "%s`", t ? ", " : "");
        md_cell(out, r->targets[t]);
        tlm_buf_appendf(out, "`");
    }
    tlm_buf_appendf(out,
                    ".\n\nMarks: \xe2\x9c\x85 pass rate at least %.0f%%, \xe2\x9a\xa0\xef\xb8\x8f at "
                    "least %.0f%%, \xe2\x9d\x8c below; determinism \xe2\x9c\x85 when every run "
                    "was identical, \xe2\x9a\xa0\xef\xb8\x8f when at least half were. "
                    "Each mark shows the numbers behind it (passed/answers).\n\n",
                    100 * TLM_REPORT_GOOD, 100 * TLM_REPORT_FAIR);
    pass_table(r, out);
    metrics_table(r, out);
    diff_table(r, out);
    /* Appends on the way are not checked one by one; a failed final one
     * reports memory exhaustion. */
    return tlm_buf_append(out, "", 0) == TLM_OK && out->data ? TLM_OK : TLM_ERR_NOMEM;
}
