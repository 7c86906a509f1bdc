/*
 * test_results.c - the task format parser, the results file (append, torn
 * last line, resume), the runner (samples, limit, resume skips finished
 * items, serial targets, target failures) and the summary (pass@k against
 * exact values, grouping by task kind).  No sandbox needed: the tasks here
 * are numeric and JSON ones.
 */
#include "eval/eval.h"
#include "test.h"

#include <pthread.h>

static const char four_tasks[] =
    "# a comment line\n"
    "{\"id\":\"m1\",\"suite\":\"mini\",\"kind\":\"math\",\"prompt\":\"1+1?\",\"answer\":\"2\","
    "\"reference\":\"#### 2\"}\n"
    "\n"
    "{\"id\":\"m2\",\"suite\":\"mini\",\"kind\":\"math\",\"prompt\":\"2+2?\",\"answer\":\"4\","
    "\"reference\":\"#### 4\"}\n"
    "{\"id\":\"j1\",\"suite\":\"mini\",\"kind\":\"json\",\"prompt\":\"x\",\"schema\":{\"type\":"
    "\"object\"},"
    "\"expected\":{\"/a\":1},\"reference\":\"{\\\"a\\\": 1}\"}\n"
    "{\"id\":\"j2\",\"suite\":\"mini\",\"kind\":\"json\",\"language\":\"zh\",\"prompt\":\"y\","
    "\"expected\":{\"/b\":\"x\"},\"reference\":\"{\\\"b\\\": \\\"x\\\"}\"}\n";

static tlm_eval_suite *mini(test_state *ts_) {
    tlm_eval_suite *s = NULL;
    tlm_error err = {0};
    if (tlm_eval_suite_parse(four_tasks, strlen(four_tasks), "mini.jsonl", &s, &err) != TLM_OK) {
        fprintf(stderr, "  %s\n", err.msg);
        ts_->failed = 1;
    }
    return s;
}

TEST(parse_native_tasks) {
    tlm_eval_suite *s = mini(ts_);
    ASSERT(s);
    ASSERT_EQ(s->n_tasks, 4);
    ASSERT_STR_EQ(s->name, "mini");
    ASSERT_EQ(s->tasks[0].grader, TLM_EVAL_GRADER_NUMERIC);
    ASSERT_EQ(s->tasks[2].grader, TLM_EVAL_GRADER_JSON);
    ASSERT_STR_EQ(s->tasks[0].language, "en");
    ASSERT_STR_EQ(s->tasks[3].language, "zh");
    tlm_eval_suite_free(s);
}

static const struct {
    const char *line, *msg;
} bad_tasks[] = {
    {"{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\",\"answr\":\"1\",\"kind\":\"math\"}",
     "unknown key \"answr\""},
    {"{\"id\":\"a\",\"prompt\":\"p\",\"kind\":\"math\",\"answer\":\"1\"}", "missing \"reference\""},
    {"{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\",\"kind\":\"math\"}",
     "numeric task needs \"answer\""},
    {"{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\",\"grader\":\"magic\"}", "unknown grader"},
    {"{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\"}", "exec task needs"},
    {"{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\",\"kind\":\"tool\",\"tools\":[]}",
     "needs \"tools\" and \"expected\""},
    {"{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\",\"kind\":\"explain\",\"rubric\":{}}",
     "rubric task needs"},
    {"{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\",\"test\":\"t\",\"timeout_s\":-1}",
     "timeout_s"},
    {"{\"id\": 5,\"prompt\":\"p\",\"reference\":\"r\",\"test\":\"t\"}", "\"id\" must be a string"},
    {"{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\",\"test\":\"t\",\"fixtures\":[{\"name\":"
     "\"x\"}]}",
     "fixture 0"},
    {"not json", "mini.jsonl:2:"},
};

TEST(parse_errors_name_the_line) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(bad_tasks); i++) {
        char text[600];
        snprintf(text, sizeof text, "\n%s\n", bad_tasks[i].line);
        tlm_eval_suite *s = (tlm_eval_suite *)1;
        tlm_error err = {0};
        ASSERT_EQ(tlm_eval_suite_parse(text, strlen(text), "mini.jsonl", &s, &err), TLM_ERR_FORMAT);
        ASSERT(s == NULL);
        ASSERT_CONTAINS(err.msg, "mini.jsonl:2");
        ASSERT_CONTAINS(err.msg, bad_tasks[i].msg);
    }
    const char dup[] = "{\"id\":\"a\",\"prompt\":\"p\",\"reference\":\"r\",\"test\":\"t\"}\n"
                       "{\"id\":\"a\",\"prompt\":\"q\",\"reference\":\"r\",\"test\":\"t\"}\n";
    tlm_eval_suite *s;
    tlm_error err = {0};
    ASSERT_EQ(tlm_eval_suite_parse(dup, strlen(dup), "d", &s, &err), TLM_ERR_FORMAT);
    ASSERT_CONTAINS(err.msg, "duplicate id");
}

/* A target that answers sample i of a task correctly when i < the task's
 * "good" count, counts its calls and the most calls seen at once. */
typedef struct script_target {
    const int *good; /* per task index */
    const tlm_eval_suite *suite;
    int calls, in_flight, max_in_flight;
    bool fail_all;
    pthread_mutex_t mu;
} script_target;

static tlm_status scripted(void *ud, const tlm_eval_request *req, tlm_eval_answer *out,
                           tlm_error *err) {
    script_target *st = ud;
    pthread_mutex_lock(&st->mu);
    st->calls++;
    if (++st->in_flight > st->max_in_flight) st->max_in_flight = st->in_flight;
    pthread_mutex_unlock(&st->mu);
    usleep(2000);
    size_t idx = (size_t)(req->task - st->suite->tasks);
    bool right = req->sample < st->good[idx];
    tlm_status rc = TLM_OK;
    if (st->fail_all)
        rc = tlm_error_set(err, TLM_ERR_IO, "connection refused");
    else
        out->text = tlm_strdup(right ? req->task->reference : "#### 12345 \xff\xfe broken");
    out->ttft_ms = 10.0 * (double)(req->sample + 1);
    pthread_mutex_lock(&st->mu);
    st->in_flight--;
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static double summary_num(json_t *sum, const char *kind, const char *key) {
    json_t *suite = json_array_get(json_object_get(sum, "suites"), 0);
    json_t *o = kind ? json_object_get(json_object_get(suite, "kinds"), kind) : suite;
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

TEST(run_resume_and_summary) {
    tlm_eval_suite *s = mini(ts_);
    ASSERT(s);
    static const int good[] = {10, 3, 0, 7};
    script_target st = {.good = good, .suite = s};
    pthread_mutex_init(&st.mu, NULL);
    tlm_eval_target t = {.name = "scripted", .userdata = &st, .generate = scripted};
    char path[400];
    snprintf(path, sizeof path, "%s/run.jsonl", test_tmp_dir());
    tlm_eval_results *res;
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_results_open(path, false, &res, &err));
    tlm_eval_run_opts o = tlm_eval_default_run_opts();
    o.samples = 10;
    o.jobs = 3;
    o.limit = 2; /* an "interrupted" first run: only the first two tasks */
    ASSERT_OK(tlm_eval_run(s, &t, NULL, res, &o, &err));
    ASSERT_EQ(st.calls, 20);
    tlm_eval_results_close(res);
    ASSERT_OK(tlm_eval_results_open(path, true, &res, &err));
    ASSERT_EQ(tlm_eval_results_count(res), 20);
    ASSERT(tlm_eval_results_done(res, "scripted", "m2", 9));
    ASSERT(!tlm_eval_results_done(res, "scripted", "j1", 0));
    ASSERT(!tlm_eval_results_done(res, "other", "m2", 9));
    o.limit = 0;
    ASSERT_OK(tlm_eval_run(s, &t, NULL, res, &o, &err));
    ASSERT_EQ(st.calls, 40); /* only the 20 unfinished items ran */
    ASSERT_OK(tlm_eval_run(s, &t, NULL, res, &o, &err));
    ASSERT_EQ(st.calls, 40);
    json_t *sum = NULL;
    ASSERT_OK(tlm_eval_summarize(res, &sum, &err));
    /* pass@1 = mean of c/n; pass@10 with n = 10 is 1 when c > 0. */
    ASSERT_NEAR(summary_num(sum, NULL, "pass@1"), (1.0 + 0.3 + 0.0 + 0.7) / 4, 1e-12);
    ASSERT_NEAR(summary_num(sum, NULL, "pass@10"), 3.0 / 4, 1e-12);
    ASSERT(isnan(summary_num(sum, NULL, "pass@100")));
    ASSERT_NEAR(summary_num(sum, "math", "pass@1"), 0.65, 1e-12);
    ASSERT_NEAR(summary_num(sum, "json", "tasks"), 2, 0);
    ASSERT_NEAR(summary_num(sum, "json", "json_valid_rate"), 7.0 / 20, 1e-12);
    ASSERT_NEAR(summary_num(sum, NULL, "samples"), 40, 0);
    /* ttft is 10, 20, ..., 100 ms for each of 4 tasks (40 values): P50
     * falls between the 20th (50) and 21st (60) values, numpy gives 55;
     * P95 at position 37.05 is 100. */
    ASSERT_NEAR(summary_num(sum, NULL, "ttft_ms_p50"), 55.0, 1e-9);
    ASSERT_NEAR(summary_num(sum, NULL, "ttft_ms_p95"), 100.0, 1e-9);
    json_decref(sum);
    tlm_eval_results_close(res);
    pthread_mutex_destroy(&st.mu);
    tlm_eval_suite_free(s);
}

static int count_lines(const char *path, int *valid) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    *valid = 0;
    while (f && getline(&line, &cap, f) > 0) {
        n++;
        json_t *o = json_loads(line, 0, NULL);
        *valid += o != NULL;
        json_decref(o);
    }
    free(line);
    if (f) fclose(f);
    return n;
}

TEST(torn_last_line_is_cut_and_utf8_is_cleaned) {
    tlm_eval_suite *s = mini(ts_);
    ASSERT(s);
    static const int good[] = {1, 0, 1, 1};
    script_target st = {.good = good, .suite = s};
    pthread_mutex_init(&st.mu, NULL);
    tlm_eval_target t = {.name = "scripted", .userdata = &st, .generate = scripted};
    char path[400];
    snprintf(path, sizeof path, "%s/torn.jsonl", test_tmp_dir());
    tlm_eval_results *res;
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_results_open(path, false, &res, &err));
    ASSERT_OK(tlm_eval_run(s, &t, NULL, res, NULL, &err));
    tlm_eval_results_close(res);
    FILE *f = fopen(path, "a");
    fputs("{\"target\":\"scripted\",\"task_id\":\"zz\",\"verd", f); /* killed mid-write */
    fclose(f);
    ASSERT_OK(tlm_eval_results_open(path, true, &res, &err));
    ASSERT_EQ(tlm_eval_results_count(res), 4);
    tlm_eval_results_close(res);
    int valid, n = count_lines(path, &valid);
    ASSERT_EQ(n, 4);
    ASSERT_EQ(valid, 4); /* including the answer with invalid UTF-8 */
    f = fopen(path, "a");
    fputs(
        "garbage\n{\"target\":\"scripted\",\"task_id\":\"m1\",\"sample\":3,\"verdict\":\"pass\"}\n",
        f);
    fclose(f);
    ASSERT_EQ(tlm_eval_results_open(path, true, &res, &err), TLM_ERR_FORMAT);
    ASSERT_CONTAINS(err.msg, ":5:");
    pthread_mutex_destroy(&st.mu);
    tlm_eval_suite_free(s);
}

TEST(target_failures_are_harness_errors_and_serial_is_honoured) {
    tlm_eval_suite *s = mini(ts_);
    ASSERT(s);
    static const int good[] = {5, 5, 5, 5};
    script_target st = {.good = good, .suite = s, .fail_all = true};
    pthread_mutex_init(&st.mu, NULL);
    tlm_eval_target t = {.name = "down", .userdata = &st, .generate = scripted, .serial = true};
    tlm_eval_results *res;
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_results_open(NULL, false, &res, &err));
    tlm_eval_run_opts o = tlm_eval_default_run_opts();
    o.samples = 5;
    o.jobs = 4;
    ASSERT_OK(tlm_eval_run(s, &t, NULL, res, &o, &err));
    ASSERT_EQ(tlm_eval_results_count(res), 20);
    for (size_t i = 0; i < 20; i++)
        ASSERT_EQ(tlm_eval_results_get(res, i)->verdict, TLM_EVAL_HARNESS_ERROR);
    ASSERT_EQ(st.max_in_flight, 1);
    tlm_eval_results_close(res);
    st.fail_all = false;
    st.max_in_flight = 0;
    t.serial = false;
    ASSERT_OK(tlm_eval_results_open(NULL, false, &res, &err));
    ASSERT_OK(tlm_eval_run(s, &t, NULL, res, &o, &err));
    ASSERT(st.max_in_flight > 1); /* parallel targets do run in parallel */
    tlm_eval_results_close(res);
    pthread_mutex_destroy(&st.mu);
    tlm_eval_suite_free(s);
}

TEST_MAIN(TEST_ENTRY(parse_native_tasks), TEST_ENTRY(parse_errors_name_the_line),
          TEST_ENTRY(run_resume_and_summary), TEST_ENTRY(torn_last_line_is_cut_and_utf8_is_cleaned),
          TEST_ENTRY(target_failures_are_harness_errors_and_serial_is_honoured))
