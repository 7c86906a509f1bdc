/*
 * test_report.c - comparison reports and the per-target records behind
 * them: mark thresholds at their boundaries, target records written,
 * merged and read back (resume and read-only load), the summary's
 * per-target figures against hand-counted values, a report built from a
 * hand-written results file (rows, differing items, Markdown cells, HTML
 * escaping), SVG bar geometry, and the report names the server accepts.
 */
#include "eval/report.h"
#include "server/reports.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

TEST(mark_thresholds) {
    ASSERT_EQ(tlm_report_mark_rate(1.0), TLM_MARK_GOOD);
    ASSERT_EQ(tlm_report_mark_rate(0.8), TLM_MARK_GOOD);
    ASSERT_EQ(tlm_report_mark_rate(0.7999), TLM_MARK_FAIR);
    ASSERT_EQ(tlm_report_mark_rate(0.5), TLM_MARK_FAIR);
    ASSERT_EQ(tlm_report_mark_rate(0.4999), TLM_MARK_BAD);
    ASSERT_EQ(tlm_report_mark_rate(0.0), TLM_MARK_BAD);
    ASSERT_EQ(tlm_report_mark_rate(NAN), TLM_MARK_NONE);
    ASSERT_EQ(tlm_report_mark_determinism(10, 10), TLM_MARK_GOOD);
    ASSERT_EQ(tlm_report_mark_determinism(9, 10), TLM_MARK_FAIR);
    ASSERT_EQ(tlm_report_mark_determinism(5, 10), TLM_MARK_FAIR);
    ASSERT_EQ(tlm_report_mark_determinism(4, 10), TLM_MARK_BAD);
    ASSERT_EQ(tlm_report_mark_determinism(0, 0), TLM_MARK_NONE);
    ASSERT_STR_EQ(tlm_report_mark_symbol(TLM_MARK_GOOD), "\xe2\x9c\x85");
    ASSERT_STR_EQ(tlm_report_mark_symbol(TLM_MARK_BAD), "\xe2\x9d\x8c");
    char b[32];
    tlm_report_fmt(b, sizeof b, 1536.0 * 1024 * 1024, 'b');
    ASSERT_STR_EQ(b, "1.50 GiB");
    tlm_report_fmt(b, sizeof b, 1500, 'm');
    ASSERT_STR_EQ(b, "1.50 s");
    tlm_report_fmt(b, sizeof b, NAN, 'p');
    ASSERT_STR_EQ(b, "\xe2\x80\x93");
}

TEST(html_escape) {
    tlm_buf b = {0};
    ASSERT_OK(tlm_report_html_escape(&b, "<a href=\"x\">'&'</a>"));
    ASSERT_STR_EQ(b.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    tlm_buf_free(&b);
}

/* A results file: target a passes both items, b passes m1 only. */
static const char lines[] =
    "{\"target\":\"a\",\"suite\":\"mini\",\"task_id\":\"m1\",\"kind\":\"math\",\"sample\":0,"
    "\"verdict\":\"pass\",\"passed\":true,\"ttft_ms\":10,\"answer\":\"#### 2\"}\n"
    "{\"target\":\"a\",\"suite\":\"mini\",\"task_id\":\"j1\",\"kind\":\"json\",\"sample\":0,"
    "\"verdict\":\"pass\",\"passed\":true,\"ttft_ms\":30,\"json_valid\":1,\"answer\":\"{}\","
    "\"fields_ok\":3,\"fields_total\":3}\n"
    "{\"record\":\"target\",\"target\":\"a\",\"kind\":\"model\",\"load_ms\":5}\n"
    "{\"target\":\"b\",\"suite\":\"mini\",\"task_id\":\"m1\",\"kind\":\"math\",\"sample\":0,"
    "\"verdict\":\"pass\",\"passed\":true,\"ttft_ms\":20,\"answer\":\"2\"}\n"
    "{\"target\":\"b\",\"suite\":\"mini\",\"task_id\":\"j1\",\"kind\":\"json\",\"sample\":0,"
    "\"verdict\":\"format\",\"passed\":false,\"json_valid\":0,\"answer\":\"<b>no</b>\","
    "\"fields_ok\":1,\"fields_total\":4}\n"
    "{\"record\":\"target\",\"target\":\"a\",\"determinism_runs\":10,\"determinism_identical\":7}\n";

static char *write_tmp(const char *text) {
    static int n;
    char *path = tlm_malloc(64);
    snprintf(path, 64, "/tmp/tlm-test-report-%d-%d.jsonl", (int)getpid(), n++);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

TEST(target_records_round_trip) {
    char *path = write_tmp(lines);
    tlm_eval_results *r = NULL;
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_results_open(path, true, &r, &err));
    ASSERT_EQ(tlm_eval_results_count(r), 4);
    const json_t *a = json_object_get(tlm_eval_results_target_info(r), "a");
    ASSERT_STR_EQ(json_string_value(json_object_get(a, "kind")), "model");
    ASSERT_EQ(json_integer_value(json_object_get(a, "determinism_identical")), 7);
    ASSERT(!json_object_get(a, "record"));
    json_t *info = json_pack("{s:s, s:i}", "kind", "endpoint", "x", 1);
    ASSERT_OK(tlm_eval_results_set_target_info(r, "b", info, &err));
    json_decref(info);
    tlm_eval_results_close(r);
    /* Read-only load of the same file into a memory-only set. */
    ASSERT_OK(tlm_eval_results_open(NULL, false, &r, &err));
    ASSERT_OK(tlm_eval_results_load(r, path, &err));
    ASSERT_EQ(tlm_eval_results_count(r), 4);
    const json_t *b = json_object_get(tlm_eval_results_target_info(r), "b");
    ASSERT_STR_EQ(json_string_value(json_object_get(b, "kind")), "endpoint");
    json_t *sum = NULL;
    ASSERT_OK(tlm_eval_summarize(r, &sum, &err));
    json_t *ts = json_object_get(sum, "targets");
    ASSERT_EQ(json_array_size(ts), 2);
    json_t *ta = json_array_get(ts, 0), *tb = json_array_get(ts, 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(ta, "target")), "a");
    ASSERT_EQ(json_integer_value(json_object_get(ta, "passed")), 2);
    ASSERT_NEAR(json_number_value(json_object_get(ta, "ttft_ms_p50")), 20.0, 1e-9);
    ASSERT_NEAR(json_number_value(json_object_get(ta, "ttft_ms_p95")), 29.0, 1e-9);
    ASSERT_NEAR(json_number_value(json_object_get(tb, "pass_rate")), 0.5, 1e-12);
    ASSERT_NEAR(json_number_value(json_object_get(tb, "json_valid_rate")), 0.0, 1e-12);
    ASSERT_NEAR(json_number_value(json_object_get(ta, "json_field_accuracy")), 1.0, 1e-12);
    ASSERT_NEAR(json_number_value(json_object_get(tb, "json_field_accuracy")), 0.25, 1e-12);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(ta, "info"), "load_ms")), 5);
    json_decref(sum);
    tlm_eval_results_close(r);
    unlink(path);
    tlm_free(path);
}

TEST(report_from_results) {
    char *path = write_tmp(lines);
    const char *paths[] = {path};
    tlm_eval_report *rep = NULL;
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_report_build(paths, 1, "t<1>", &rep, &err));
    ASSERT_EQ(rep->n_targets, 2);
    ASSERT_EQ(rep->n_rows, 3); /* mini, mini/json, mini/math */
    ASSERT_EQ(rep->n_items, 2);
    ASSERT_EQ(rep->n_diffs, 1);
    ASSERT_STR_EQ(rep->diffs[0].task_id, "j1");
    ASSERT(rep->diffs[0].answers[0].passed && !rep->diffs[0].answers[1].passed);
    tlm_buf md = {0}, html = {0};
    ASSERT_OK(tlm_eval_report_markdown(rep, &md));
    ASSERT_CONTAINS(md.data, "| **mini** | **all** | \xe2\x9c\x85 100.0% (2/2) | "
                             "\xe2\x9a\xa0\xef\xb8\x8f 50.0% (1/2) |");
    ASSERT_CONTAINS(md.data, "| mini | json | \xe2\x9c\x85 100.0% (1/1) | \xe2\x9d\x8c 0.0% (0/1) |");
    ASSERT_CONTAINS(md.data, "\xe2\x9a\xa0\xef\xb8\x8f 7/10 identical");
    ASSERT_CONTAINS(md.data, "| JSON field accuracy | \xe2\x9c\x85 100.0% | \xe2\x9d\x8c 25.0% |");
    ASSERT_OK(tlm_eval_report_html(rep, &html));
    ASSERT_CONTAINS(html.data, "<title>t&lt;1&gt;</title>");
    ASSERT_CONTAINS(html.data, "&lt;b&gt;no&lt;/b&gt;");
    ASSERT(!strstr(html.data, "<b>no</b>"));
    json_t *js = tlm_eval_report_json(rep);
    json_t *marks = json_object_get(json_object_get(js, "report"), "marks");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(marks, "b"), "mini/json")), "bad");
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(marks, "b"), "mini")), "fair");
    json_decref(js);
    tlm_buf_free(&md);
    tlm_buf_free(&html);
    tlm_eval_report_free(rep);
    unlink(path);
    tlm_free(path);
    const char *none[] = {"/nonexistent/x.jsonl"};
    ASSERT_EQ(tlm_eval_report_build(none, 1, NULL, &rep, &err), TLM_ERR_IO);
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

TEST(svg_bars) {
    static const char *const labels[] = {"x", "y"}, *const series[] = {"A", "B<"};
    double v[] = {1.0, 0.5, NAN, 0.25};
    tlm_svg_chart c = {"T", labels, 2, series, 2, v, 0, 'p'};
    tlm_buf b = {0};
    ASSERT_OK(tlm_report_svg_bars(&b, &c));
    ASSERT_EQ(count(b.data, "class=\"bar\""), 4);
    ASSERT_CONTAINS(b.data, "width=\"440.0\""); /* the largest value fills the bar area */
    ASSERT_CONTAINS(b.data, "width=\"220.0\"");
    ASSERT_CONTAINS(b.data, "width=\"110.0\"");
    ASSERT_CONTAINS(b.data, "width=\"0.0\""); /* no value, no bar */
    ASSERT_CONTAINS(b.data, "B&lt;");
    ASSERT(!strstr(b.data, "B<"));
    tlm_buf_free(&b);
}

TEST(report_names) {
    static const char *const ok[] = {"20260101-000000", "zz-evil", "a.b_c"};
    static const char *const bad[] = {"", ".", "..", ".hidden", "a/b", "a%2fb", "a b", "..%2f"};
    for (size_t i = 0; i < TLM_ARRAY_LEN(ok); i++)
        ASSERT_MSG(tlm_reports_name_ok(ok[i], strlen(ok[i])), "%s refused", ok[i]);
    for (size_t i = 0; i < TLM_ARRAY_LEN(bad); i++)
        ASSERT_MSG(!tlm_reports_name_ok(bad[i], strlen(bad[i])), "%s accepted", bad[i]);
    char *d = tlm_reports_dir("/x");
    ASSERT_STR_EQ(d, "/x");
    tlm_free(d);
}

TEST_MAIN(TEST_ENTRY(mark_thresholds), TEST_ENTRY(html_escape),
          TEST_ENTRY(target_records_round_trip), TEST_ENTRY(report_from_results),
          TEST_ENTRY(svg_bars), TEST_ENTRY(report_names))
