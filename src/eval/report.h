/*
 * report.h - comparison reports of evaluation results (`tinylm compare`):
 * one data model built from results files, and three writers over it -
 * Markdown (report_md.c), a self-contained HTML page with inline SVG charts
 * (report_html.c, report_svg.c) and a JSON summary (report.c).
 *
 * Marks: a pass rate (or JSON validity) of at least TLM_REPORT_GOOD is ✅,
 * at least TLM_REPORT_FAIR is ⚠️, below is ❌; determinism is ✅ when every
 * run was identical, ⚠️ when at least half were, ❌ otherwise.  The numbers
 * behind each mark are always printed next to it.
 *
 * Ownership: a tlm_eval_report owns its summary JSON, its per-item records
 * and every string in them; free with tlm_eval_report_free.
 */
#ifndef TLM_EVAL_REPORT_H
#define TLM_EVAL_REPORT_H

#include "eval/eval.h"

#define TLM_REPORT_GOOD 0.80
#define TLM_REPORT_FAIR 0.50

typedef enum tlm_report_mark { TLM_MARK_NONE, TLM_MARK_GOOD, TLM_MARK_FAIR, TLM_MARK_BAD } tlm_report_mark;

/* The mark of a rate in [0, 1] (NAN: none). */
tlm_report_mark tlm_report_mark_rate(double rate);
/* The mark of identical runs out of runs (runs 0: none). */
tlm_report_mark tlm_report_mark_determinism(int identical, int runs);
/* "✅", "⚠️", "❌" or "–". */
const char *tlm_report_mark_symbol(tlm_report_mark m);
/* "good", "fair", "bad", "none": CSS classes and JSON. */
const char *tlm_report_mark_name(tlm_report_mark m);

/* One row of the side-by-side table: a (suite, task kind) pair, or a suite
 * as a whole (kind NULL). */
typedef struct tlm_report_row {
    const char *suite, *kind; /* borrowed from the summary */
    json_t **cells;           /* (n_targets) borrowed stats objects, NULL = not run */
} tlm_report_row;

/* One answer for the per-item view. */
typedef struct tlm_report_answer {
    char *verdict, *answer, *extracted, *detail; /* owned; NULL when absent */
    bool present, passed;
} tlm_report_answer;

/* An item whose outcome differs between targets (passed by some, not all). */
typedef struct tlm_report_diff {
    char *suite, *task_id, *kind, *prompt; /* owned */
    int sample;
    tlm_report_answer *answers; /* (n_targets) */
} tlm_report_diff;

typedef struct tlm_eval_report {
    json_t *summary; /* tlm_eval_summarize output plus "report" metadata; owned */
    const char **targets; /* (n_targets) names, borrowed from summary */
    json_t **target_stats; /* (n_targets) the summary's "targets" entries, borrowed */
    size_t n_targets;
    tlm_report_row *rows;
    size_t n_rows;
    tlm_report_diff *diffs;
    size_t n_diffs, n_items; /* items that differ / items answered by two targets or more */
    char *title;             /* owned */
} tlm_eval_report;

/* Builds a report from results files (each may hold several targets).
 * Targets appear in the order first seen.  title may be NULL. */
tlm_status tlm_eval_report_build(const char *const *paths, size_t n_paths, const char *title,
                                 tlm_eval_report **out, tlm_error *err);
void tlm_eval_report_free(tlm_eval_report *r);

/* Writers: each appends a whole document to out. */
tlm_status tlm_eval_report_markdown(const tlm_eval_report *r, tlm_buf *out);
tlm_status tlm_eval_report_html(const tlm_eval_report *r, tlm_buf *out);
/* summary.json: the summary, with per target and row the marks, the
 * thresholds and the generation time. Caller owns the result. */
json_t *tlm_eval_report_json(const tlm_eval_report *r);

/* Writes report.md, report.html and summary.json into dir (created if
 * missing, parent must exist). */
tlm_status tlm_eval_report_write_dir(const tlm_eval_report *r, const char *dir, tlm_error *err);

/* ---- Helpers shared by the writers ---- */

/* Number from a JSON object; NAN when missing or null. */
double tlm_report_num(const json_t *o, const char *key);
/* Target t's determinism probe (identical runs out of runs); false when
 * its info has none. */
bool tlm_report_determinism(const tlm_eval_report *r, size_t t, int *identical, int *runs);
/* Appends s with &, <, >, ", ' escaped. */
tlm_status tlm_report_html_escape(tlm_buf *out, const char *s);
/* A value with a unit for tables: "1.23 s", "456 MiB", "–" for NAN.
 * kind: 'p' percent of a rate, 'm' milliseconds, 't' tokens/s, 'b' bytes. */
void tlm_report_fmt(char *buf, size_t cap, double v, char kind);

/* A horizontal grouped bar chart as inline SVG: one group per label, one
 * bar per series (target), values in [0, max] (max <= 0: the largest
 * value), each bar labelled with fmt_kind (see tlm_report_fmt). */
typedef struct tlm_svg_chart {
    const char *title;
    const char *const *labels; /* (n_labels) */
    size_t n_labels;
    const char *const *series; /* (n_series) */
    size_t n_series;
    const double *values; /* [label][series], NAN = no bar */
    double max;
    char fmt_kind;
} tlm_svg_chart;

tlm_status tlm_report_svg_bars(tlm_buf *out, const tlm_svg_chart *c);

/* The rows of the "speed, memory and reliability" table, in order, shared
 * by the Markdown and HTML writers: the summary key, whether it is in the
 * target's "info" (in-process figures) rather than its stats, the
 * tlm_report_fmt kind, and whether the row gets a pass-rate mark. */
typedef struct tlm_report_metric {
    const char *label, *key;
    bool in_info;
    char kind;
    bool mark;
} tlm_report_metric;

extern const tlm_report_metric tlm_report_metrics[];
extern const size_t tlm_report_n_metrics;

#endif /* TLM_EVAL_REPORT_H */
