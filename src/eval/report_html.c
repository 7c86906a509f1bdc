/*
 * report_html.c - the HTML comparison report: one self-contained file
 * (inline CSS, inline SVG charts from report_svg.c, no script, no external
 * resource) so it opens from disk, survives being mailed around and can be
 * served as is by `tinylm serve --reports`.  Sections: the side-by-side
 * pass table with marks, the measures table, charts (pass rate per task
 * kind, latency, throughput, memory), and the per-item view of every item
 * one target passed and another failed, with both answers.  Every string
 * from a results file is HTML-escaped: answers are untrusted model output.
 */
#include "eval/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char css[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1b1f24;"
    "padding:0 16px}h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid "
    "#d0d7de;padding-bottom:4px}table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid "
    "#d0d7de;padding:4px 10px;text-align:left;vertical-align:top}th{background:#f6f8fa}"
    "td.num{text-align:right;white-space:nowrap}tr.suite td{font-weight:600;background:#fafbfc}"
    ".good{color:#116329}.fair{color:#9a6700}.bad{color:#cf222e}.note{color:#57606a}"
    "svg.chart{display:block;margin:12px 0;max-width:100%;height:auto}svg text{font:12px "
    "system-ui,sans-serif;fill:#1b1f24}svg .ct{font-size:14px;font-weight:600}svg .ax{stroke:"
    "#8c959f}details.item{border:1px solid #d0d7de;border-radius:6px;margin:6px 0;padding:4px "
    "10px}details.item summary{cursor:pointer}.answers{display:grid;align-items:start;grid-template-columns:repeat("
    "auto-fit,minmax(300px,1fr));gap:10px}.answer{border-top:3px solid #d0d7de;padding-top:4px}"
    ".answer.pass{border-color:#1a7f37}.answer.fail{border-color:#cf222e}pre{white-space:pre-wrap;"
    "word-break:break-word;background:#f6f8fa;padding:6px;border-radius:4px;max-height:360px;"
    "overflow:auto;margin:4px 0}";

static void esc(tlm_buf *out, const char *s) { tlm_report_html_escape(out, s ? s : ""); }

/* Marks as text-presentation symbols in a coloured badge rather than the
 * emoji of report.md: they render on machines without an emoji font
 * (servers, CI, headless browsers) and keep their meaning in print. */
static const char *glyph(tlm_report_mark m) {
    static const char *const g[] = {"\xe2\x80\x93", "\xe2\x9c\x94", "\xe2\x9a\xa0", "\xe2\x9c\x98"};
    return g[m];
}

static const char *pass_glyph(bool present, bool passed) {
    return glyph(!present ? TLM_MARK_NONE : passed ? TLM_MARK_GOOD : TLM_MARK_BAD);
}

static void target_headers(const tlm_eval_report *r, tlm_buf *out) {
    for (size_t t = 0; t < r->n_targets; t++) {
        tlm_buf_appendf(out, "<th>");
        esc(out, r->targets[t]);
        tlm_buf_appendf(out, "</th>");
    }
    tlm_buf_appendf(out, "</tr>\n");
}

static void rate_cell(tlm_buf *out, const json_t *c) {
    double rate = tlm_report_num(c, "pass_rate");
    if (!c || isnan(rate)) {
        tlm_buf_appendf(out, "<td class=\"num note\">\xe2\x80\x93</td>");
        return;
    }
    tlm_report_mark m = tlm_report_mark_rate(rate);
    tlm_buf_appendf(out, "<td class=\"num %s\" data-mark=\"%s\">%s %.1f%% <span class=\"note\">"
                         "(%lld/%lld)</span></td>",
                    tlm_report_mark_name(m), tlm_report_mark_name(m), glyph(m),
                    100.0 * rate, (long long)json_integer_value(json_object_get(c, "passed")),
                    (long long)json_integer_value(json_object_get(c, "samples")));
}

static void pass_table(const tlm_eval_report *r, tlm_buf *out) {
    tlm_buf_appendf(out, "<h2>Pass rate by suite and task kind</h2>\n<table id=\"pass\"><tr>"
                         "<th>Suite</th><th>Task kind</th>");
    target_headers(r, out);
    for (size_t i = 0; i < r->n_rows; i++) {
        const tlm_report_row *row = &r->rows[i];
        tlm_buf_appendf(out, "<tr%s><td>", row->kind ? "" : " class=\"suite\"");
        esc(out, row->suite);
        tlm_buf_appendf(out, "</td><td>");
        esc(out, row->kind ? row->kind : "all");
        tlm_buf_appendf(out, "</td>");
        for (size_t t = 0; t < r->n_targets; t++) rate_cell(out, row->cells[t]);
        tlm_buf_appendf(out, "</tr>\n");
    }
    tlm_buf_appendf(out, "</table>\n");
}

static void metric_row(const tlm_eval_report *r, tlm_buf *out, const char *label, const char *key,
                       bool in_info, char kind, bool mark) {
    tlm_buf_appendf(out, "<tr><td>%s</td>", label);
    for (size_t t = 0; t < r->n_targets; t++) {
        const json_t *o = r->target_stats[t];
        double v = tlm_report_num(in_info ? json_object_get(o, "info") : o, key);
        char buf[64];
        tlm_report_fmt(buf, sizeof buf, v, kind);
        tlm_report_mark m = mark ? tlm_report_mark_rate(v) : TLM_MARK_NONE;
        tlm_buf_appendf(out, "<td class=\"num %s\">%s%s%s</td>", tlm_report_mark_name(m),
                        m ? glyph(m) : "", m ? " " : "", buf);
    }
    tlm_buf_appendf(out, "</tr>\n");
}

static void metrics_table(const tlm_eval_report *r, tlm_buf *out) {
    tlm_buf_appendf(out, "<h2>Speed, memory and reliability</h2>\n<table id=\"measures\"><tr>"
                         "<th>Measure</th>");
    target_headers(r, out);
    for (size_t i = 0; i < tlm_report_n_metrics; i++) {
        const tlm_report_metric *mt = &tlm_report_metrics[i];
        metric_row(r, out, mt->label, mt->key, mt->in_info, mt->kind, mt->mark);
    }
    tlm_buf_appendf(out, "<tr><td>Determinism (same prompt and seed)</td>");
    for (size_t t = 0; t < r->n_targets; t++) {
        int same = 0, runs = 0;
        tlm_report_mark m = tlm_report_determinism(r, t, &same, &runs)
                                ? tlm_report_mark_determinism(same, runs)
                                : TLM_MARK_NONE;
        if (m == TLM_MARK_NONE) tlm_buf_appendf(out, "<td class=\"num note\">\xe2\x80\x93</td>");
        else
            tlm_buf_appendf(out, "<td class=\"num %s\">%s %d/%d identical</td>",
                            tlm_report_mark_name(m), glyph(m), same, runs);
    }
    tlm_buf_appendf(out, "</tr>\n</table>\n");
}

/* ---- Charts ---- */

/* A chart of per-target values: labels x targets, from the stats (or info). */
static void chart(const tlm_eval_report *r, tlm_buf *out, const char *title,
                  const char *const *labels, const char *const *keys, const bool *in_info,
                  size_t n, char kind, double max) {
    double *v = tlm_calloc(n * r->n_targets + 1, sizeof *v);
    if (!v) return;
    for (size_t l = 0; l < n; l++)
        for (size_t t = 0; t < r->n_targets; t++) {
            const json_t *o = r->target_stats[t];
            v[l * r->n_targets + t] =
                tlm_report_num(in_info[l] ? json_object_get(o, "info") : o, keys[l]);
        }
    tlm_svg_chart c = {title, labels, n, r->targets, r->n_targets, v, max, kind};
    tlm_report_svg_bars(out, &c);
    tlm_free(v);
}

static void pass_chart(const tlm_eval_report *r, tlm_buf *out) {
    const char **labels = tlm_calloc(r->n_rows + 1, sizeof *labels);
    char **owned = tlm_calloc(r->n_rows + 1, sizeof *owned);
    double *v = tlm_calloc(r->n_rows * r->n_targets + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; labels && owned && v && i < r->n_rows; i++) {
        const tlm_report_row *row = &r->rows[i];
        if (!row->kind) continue;
        tlm_buf b = {0};
        tlm_buf_appendf(&b, "%s / %s", row->suite, row->kind);
        labels[n] = owned[n] = b.data;
        for (size_t t = 0; t < r->n_targets; t++)
            v[n * r->n_targets + t] = tlm_report_num(row->cells[t], "pass_rate");
        n++;
    }
    if (labels && owned && v) {
        tlm_svg_chart c = {"Pass rate per task kind", labels, n, r->targets, r->n_targets, v,
                           1.0, 'p'};
        tlm_report_svg_bars(out, &c);
    }
    for (size_t i = 0; owned && i < n; i++) tlm_free(owned[i]);
    tlm_free(owned);
    tlm_free(labels);
    tlm_free(v);
}

static void charts(const tlm_eval_report *r, tlm_buf *out) {
    tlm_buf_appendf(out, "<h2>Charts</h2>\n<div id=\"charts\">\n");
    pass_chart(r, out);
    static const char *const lat_l[] = {"TTFT P50", "TTFT P95"};
    static const char *const lat_k[] = {"ttft_ms_p50", "ttft_ms_p95"};
    static const bool no[] = {false, false}, yes[] = {true, true};
    chart(r, out, "Latency: time to first token (shorter is better)", lat_l, lat_k, no, 2, 'm', 0);
    static const char *const thr_l[] = {"generation"}, *const thr_k[] = {"gen_tok_s_mean"};
    chart(r, out, "Generation throughput (longer is better)", thr_l, thr_k, no, 1, 't', 0);
    static const char *const pr_l[] = {"prompt"}, *const pr_k[] = {"prompt_tok_s_mean"};
    chart(r, out, "Prompt throughput (longer is better)", pr_l, pr_k, no, 1, 't', 0);
    static const char *const mem_l[] = {"peak resident", "model file"};
    static const char *const mem_k[] = {"rss_peak", "model_bytes"};
    chart(r, out, "Memory (shorter is better)", mem_l, mem_k, yes, 2, 'b', 0);
    tlm_buf_appendf(out, "</div>\n");
}

/* ---- Per-item view ---- */

static void answer_block(tlm_buf *out, const char *target, const tlm_report_answer *a) {
    tlm_buf_appendf(out, "<div class=\"answer %s\"><b>", !a->present ? "" : a->passed ? "pass" : "fail");
    esc(out, target);
    tlm_buf_appendf(out, "</b>: %s ", pass_glyph(a->present, a->passed));
    esc(out, a->present ? a->verdict : "not run");
    if (a->detail) {
        tlm_buf_appendf(out, "<div class=\"note\">");
        esc(out, a->detail);
        tlm_buf_appendf(out, "</div>");
    }
    if (a->present) {
        tlm_buf_appendf(out, "<div>Answer:</div><pre class=\"raw\">");
        esc(out, a->answer);
        tlm_buf_appendf(out, "</pre>");
    }
    if (a->extracted && a->answer && strcmp(a->extracted, a->answer)) {
        tlm_buf_appendf(out, "<div>Graded (extracted):</div><pre>");
        esc(out, a->extracted);
        tlm_buf_appendf(out, "</pre>");
    }
    tlm_buf_appendf(out, "</div>");
}

static void diffs(const tlm_eval_report *r, tlm_buf *out) {
    tlm_buf_appendf(out, "<h2>Where the targets differ</h2>\n<p id=\"diff-count\">%zu of %zu "
                         "items answered by two targets or more were passed by some and failed "
                         "by others.</p>\n<div id=\"diffs\">\n",
                    r->n_diffs, r->n_items);
    for (size_t i = 0; i < r->n_diffs; i++) {
        const tlm_report_diff *d = &r->diffs[i];
        tlm_buf_appendf(out, "<details class=\"item\"%s><summary><code>", i < 3 ? " open" : "");
        esc(out, d->task_id);
        tlm_buf_appendf(out, "</code>%s", d->sample ? " " : "");
        if (d->sample) tlm_buf_appendf(out, "#%d", d->sample);
        tlm_buf_appendf(out, " &middot; ");
        esc(out, d->kind);
        for (size_t t = 0; t < r->n_targets; t++) {
            tlm_buf_appendf(out, " &middot; ");
            esc(out, r->targets[t]);
            tlm_buf_appendf(out, " %s", pass_glyph(d->answers[t].present, d->answers[t].passed));
        }
        tlm_buf_appendf(out, "</summary><div>Prompt:</div><pre>");
        esc(out, d->prompt);
        tlm_buf_appendf(out, "</pre><div class=\"answers\">");
        for (size_t t = 0; t < r->n_targets; t++) answer_block(out, r->targets[t], &d->answers[t]);
        tlm_buf_appendf(out, "</div></details>\n");
    }
    tlm_buf_appendf(out, "</div>\n");
}

tlm_status tlm_eval_report_html(const tlm_eval_report *r, tlm_buf *out) {
    if (!r || !out) return TLM_ERR_INVALID_ARG;
    tlm_buf_appendf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                         "'none'; style-src 'unsafe-inline'; img-src data:\"><title>");
    esc(out, r->title);
    tlm_buf_appendf(out, "</title><style>%s</style></head><body>\n<h1>", css);
    esc(out, r->title);
    tlm_buf_appendf(out, "</h1>\n<p class=\"note\">Targets: ");
    for (size_t t = 0; t < r->n_targets; t++) {
        tlm_buf_appendf(out, "%s<b>", t ? ", " : "");
        esc(out, r->targets[t]);
        tlm_buf_appendf(out, "</b>");
    }
    tlm_buf_appendf(out, ". Marks: <span class=\"good\">\xe2\x9c\x94</span> pass rate &ge; "
                         "%.0f%%, <span class=\"fair\">\xe2\x9a\xa0</span> &ge; %.0f%%, "
                         "<span class=\"bad\">\xe2\x9c\x98</span> below; determinism "
                         "<span class=\"good\">\xe2\x9c\x94</span> when every run was "
                         "identical, <span class=\"fair\">\xe2\x9a\xa0</span> when at least "
                         "half were.</p>\n",
                    100 * TLM_REPORT_GOOD, 100 * TLM_REPORT_FAIR);
    pass_table(r, out);
    metrics_table(r, out);
    charts(r, out);
    diffs(r, out);
    tlm_buf_appendf(out, "<p class=\"note\">Written by tinylm compare. Answers are shown "
                         "as the models wrote them (HTML-escaped), cut at 4000 bytes.</p>\n"
                         "</body></html>\n");
    return tlm_buf_append(out, "", 0) == TLM_OK && out->data ? TLM_OK : TLM_ERR_NOMEM;
}
