/*
 * test_suites.c - the graders against known answers.  Every built-in task's
 * reference answer must pass through the whole pipeline (target -> extract
 * -> sandbox/grader -> results) and deliberately wrong answers must fail
 * with the expected kind of failure; HumanEval's canonical solutions must
 * score 164/164 and bodies replaced by `return None` or `pass` 0/164;
 * sanitized MBPP's reference code must pass; GSM8K's reference answers must
 * score 1319/1319 through the numeric grader.  Public datasets are read from
 * ../shared/data and skipped with a message when absent.
 */
#include "eval/eval.h"
#include "test.h"

#define JOBS 2

static tlm_sandbox *sandbox(char *why, size_t cap) {
    static tlm_sandbox *sb;
    static char reason[600];
    static int tried;
    if (!tried) {
        tried = 1;
        tlm_error err = {0};
        tlm_sandbox_config cfg = tlm_sandbox_default_config();
        if (tlm_sandbox_create(&cfg, &sb, &err) != TLM_OK) {
            snprintf(reason, sizeof reason, "bubblewrap unusable here: %s", err.msg);
            sb = NULL;
        }
    }
    snprintf(why, cap, "%s", reason);
    return sb;
}

#define NEED_SANDBOX(sb)                                                                           \
    char why_[640];                                                                                \
    tlm_sandbox *sb = sandbox(why_, sizeof why_);                                                  \
    if (!sb) SKIP(why_)

static bool shared_path(const char *file, char *out, size_t cap) {
    snprintf(out, cap, "%s/../shared/data/%s", test_source_dir(), file);
    return access(out, R_OK) == 0;
}

static tlm_eval_suite *builtin(test_state *ts_, const char *name) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/data", test_source_dir());
    tlm_eval_suite *s = NULL;
    tlm_error err = {0};
    if (tlm_eval_suite_load_builtin(name, dir, &s, &err) != TLM_OK) {
        fprintf(stderr, "  %s\n", err.msg);
        ts_->failed = 1;
        return NULL;
    }
    return s;
}

/* ---- Targets that answer wrongly on purpose ---- */

typedef enum wrong_mode {
    RETURN_NONE,
    PASS_BODY,
    SYNTAX,
    EMPTY,
    PLAUSIBLE,
    REFERENCE_TEXT, /* right: the reference as plain text, no structured tool calls */
    OTHER_LANGUAGE, /* the reference of a task in the other language */
} wrong_mode;

/* OTHER_LANGUAGE answers come from this suite. */
static const tlm_eval_suite *g_suite;

/* "def name(...):" from the stub or the reference, with `body` as body.
 * MBPP writes "def name (x):", so spaces before '(' are allowed. */
static char *function_with_body(const tlm_eval_task *t, const char *body) {
    const char *src = t->stub ? t->stub : t->reference;
    char pat[160];
    snprintf(pat, sizeof pat, "def %s", t->entry_point);
    for (const char *d = strstr(src, pat); d; d = strstr(d + 1, pat)) {
        const char *q = d + strlen(pat);
        while (*q == ' ') q++;
        /* The signature ends at a ':' followed only by blanks on its line. */
        const char *colon = *q == '(' ? strchr(q, ':') : NULL;
        for (; colon; colon = strchr(colon + 1, ':')) {
            const char *r = colon + 1;
            while (*r == ' ' || *r == '\t') r++;
            if (*r == '\n' || *r == '\r') break;
        }
        if (!colon) continue;
        tlm_buf b = {0};
        tlm_buf_append(&b, d, (size_t)(colon - d) + 1);
        tlm_buf_appendf(&b, "\n    %s\n", body);
        return b.data;
    }
    return NULL;
}

static tlm_status wrong_generate(void *ud, const tlm_eval_request *req, tlm_eval_answer *out,
                                 tlm_error *err);

static tlm_eval_target wrong_target(wrong_mode *mode) {
    return (tlm_eval_target){.name = "wrong", .userdata = mode, .generate = wrong_generate};
}

/* ---- Running a suite ---- */

typedef struct tally {
    size_t n, pass;
    size_t by[TLM_EVAL_VERDICT_COUNT];
} tally;

/* Prints up to 4 records whose pass/fail is not the expected one. */
static void show_unexpected(const char *path, int expect_pass) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int shown = 0;
    while (f && shown < 4 && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (json_is_true(json_object_get(o, "passed")) != (expect_pass == 1)) {
            fprintf(stderr, "  unexpected: %s %s: %.300s | extracted: %.300s\n",
                    json_string_value(json_object_get(o, "task_id")),
                    json_string_value(json_object_get(o, "verdict")),
                    json_string_value(json_object_get(o, "detail")),
                    json_string_value(json_object_get(o, "extracted")));
            shown++;
        }
        json_decref(o);
    }
    free(line);
    if (f) fclose(f);
}

/* expect_pass: 1 every item should pass, 0 none should, -1 no expectation
 * (only used to print the unexpected items when a test is about to fail). */
static tlm_status run_suite(const tlm_eval_suite *s, const tlm_eval_target *t,
                            const tlm_sandbox *sb, int expect_pass, tally *out) {
    memset(out, 0, sizeof *out);
    tlm_eval_results *res = NULL;
    tlm_error err = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/%s-%s.jsonl", test_tmp_dir(), s->name, t->name);
    tlm_status st = tlm_eval_results_open(path, false, &res, &err);
    if (st != TLM_OK) return st;
    tlm_eval_run_opts o = tlm_eval_default_run_opts();
    o.jobs = JOBS;
    st = tlm_eval_run(s, t, sb, res, &o, &err);
    if (st != TLM_OK) fprintf(stderr, "  run: %s\n", err.msg);
    for (size_t i = 0; i < tlm_eval_results_count(res); i++) {
        const tlm_eval_record *r = tlm_eval_results_get(res, i);
        out->n++;
        out->by[r->verdict]++;
        out->pass += r->verdict == TLM_EVAL_PASS;
    }
    tlm_eval_results_close(res);
    if (expect_pass >= 0 && out->pass != (expect_pass ? out->n : 0))
        show_unexpected(path, expect_pass);
    return st;
}

static char *dup_json(const json_t *v) {
    char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *r = d ? tlm_strdup(d) : NULL;
    free(d);
    return r;
}

/* The reference JSON with the first expected field changed. */
static char *wrong_json(const tlm_eval_task *t) {
    json_t *v = tlm_eval_extract_json(t->reference, NULL);
    const char *ptr;
    json_t *want;
    json_object_foreach (t->expected, ptr, want) {
        /* Find the parent and key by trimming the last pointer segment. */
        char parent[256];
        snprintf(parent, sizeof parent, "%s", ptr);
        char *slash = strrchr(parent, '/');
        if (!slash) break;
        *slash = '\0';
        json_t *p = (json_t *)(parent[0] ? NULL : v);
        if (!p) {
            json_t *cur = v;
            for (char *seg = strtok(parent + 1, "/"); seg && cur; seg = strtok(NULL, "/"))
                cur = json_is_array(cur) ? json_array_get(cur, strtoul(seg, NULL, 10))
                                         : json_object_get(cur, seg);
            p = cur;
        }
        json_t *bad = json_is_string(want)    ? json_sprintf("%s-x", json_string_value(want))
                      : json_is_integer(want) ? json_integer(json_integer_value(want) + 1)
                      : json_is_number(want)  ? json_real(json_number_value(want) + 1)
                      : json_is_boolean(want) ? json_boolean(!json_is_true(want))
                                              : json_string("changed");
        if (json_is_array(p))
            json_array_set_new(p, strtoul(slash + 1, NULL, 10), bad);
        else
            json_object_set_new(p, slash + 1, bad);
        break;
    }
    char *r = dup_json(v);
    json_decref(v);
    return r;
}

static char *wrong_tool_answer(const tlm_eval_task *t) {
    json_t *first = json_array_get(t->tools, 0);
    const char *name =
        json_string_value(json_object_get(json_object_get(first, "function"), "name"));
    if (json_is_object(t->expected)) {
        /* The right function with every expected argument changed. */
        json_t *args = json_deep_copy(json_object_get(t->expected, "arguments"));
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe (args, tmp, k, v) {
            json_object_set_new(args, k,
                                json_is_string(v)   ? json_sprintf("%s-x", json_string_value(v))
                                : json_is_number(v) ? json_real(json_number_value(v) + 7)
                                                    : json_string("changed"));
        }
        json_t *call =
            json_pack("{s:O, s:o}", "name", json_object_get(t->expected, "name"), "arguments",
                      json_object_size(args) ? args : json_pack("{s:s}", "unexpected", "x"));
        if (!json_object_size(args)) json_decref(args);
        char *c = dup_json(call);
        json_decref(call);
        tlm_buf b = {0};
        tlm_buf_appendf(&b, "<tool_call>\n%s\n</tool_call>", c);
        tlm_free(c);
        return b.data;
    }
    tlm_buf b = {0};
    tlm_buf_appendf(&b, "<tool_call>\n{\"name\": \"%s\", \"arguments\": {}}\n</tool_call>", name);
    return b.data;
}

static char *plausible_wrong(const tlm_eval_task *t) {
    char num[64];
    tlm_buf b = {0};
    switch (t->grader) {
    case TLM_EVAL_GRADER_EXEC:
        return t->entry_point ? function_with_body(t, "return None")
                              : tlm_strdup("```python\nprint('done')\n```");
    case TLM_EVAL_GRADER_NUMERIC:
        snprintf(num, sizeof num, "%.10g", strtod(t->answer, NULL) + 1);
        tlm_buf_appendf(&b, "After working it out, the total is:\n#### %s", num);
        return b.data;
    case TLM_EVAL_GRADER_JSON: return wrong_json(t);
    case TLM_EVAL_GRADER_TOOL_CALL: return wrong_tool_answer(t);
    case TLM_EVAL_GRADER_RUBRIC:
        return tlm_strdup(strcmp(t->language, "zh") ? "I am not sure how this works, sorry."
                                                    : "我不太清楚这个问题，抱歉。");
    default: return NULL;
    }
}

static tlm_status wrong_generate(void *ud, const tlm_eval_request *req, tlm_eval_answer *out,
                                 tlm_error *err) {
    const tlm_eval_task *t = req->task;
    switch (*(wrong_mode *)ud) {
    case RETURN_NONE: out->text = function_with_body(t, "return None"); break;
    case PASS_BODY: out->text = function_with_body(t, "pass"); break;
    case SYNTAX: out->text = tlm_strdup("```python\ndef broken(:\n    return\n```"); break;
    case EMPTY: out->text = tlm_strdup(""); break;
    case PLAUSIBLE: out->text = plausible_wrong(t); break;
    case REFERENCE_TEXT: out->text = tlm_strdup(t->reference); break;
    case OTHER_LANGUAGE:
        for (size_t i = 0; g_suite && i < g_suite->n_tasks && !out->text; i++)
            if (!strcmp(g_suite->tasks[i].kind, t->kind) &&
                strcmp(g_suite->tasks[i].language, t->language))
                out->text = tlm_strdup(g_suite->tasks[i].reference);
        break;
    }
    return out->text ? TLM_OK
                     : tlm_error_set(err, TLM_ERR_INTERNAL, "no wrong answer for %s", t->id);
}

/* ---- Tests ---- */

TEST(humaneval_canonical_and_broken) {
    NEED_SANDBOX(sb);
    char path[512];
    if (!shared_path("HumanEval.jsonl.gz", path, sizeof path))
        SKIP("../shared/data/HumanEval.jsonl.gz absent: HumanEval check skipped");
    tlm_eval_suite *s = NULL;
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_suite_load(path, NULL, &s, &err));
    ASSERT_EQ(s->n_tasks, 164);
    ASSERT_STR_EQ(s->name, "humaneval");
    tally t;
    tlm_eval_target ref = tlm_eval_reference_target();
    uint64_t t0 = tlm_time_ns();
    ASSERT_OK(run_suite(s, &ref, sb, 1, &t));
    fprintf(stderr, "  canonical: %zu/%zu in %.1f s\n", t.pass, t.n,
            (double)(tlm_time_ns() - t0) / 1e9);
    ASSERT_EQ(t.n, 164);
    ASSERT_EQ(t.pass, 164);
    wrong_mode modes[] = {RETURN_NONE, PASS_BODY};
    for (size_t m = 0; m < 2; m++) {
        tlm_eval_target w = wrong_target(&modes[m]);
        ASSERT_OK(run_suite(s, &w, sb, 0, &t));
        fprintf(stderr, "  %s bodies: %zu/%zu pass (wrong answer %zu, runtime %zu)\n",
                m ? "pass" : "return None", t.pass, t.n, t.by[TLM_EVAL_FAIL_WRONG_ANSWER],
                t.by[TLM_EVAL_FAIL_RUNTIME]);
        ASSERT_EQ(t.n, 164);
        ASSERT_EQ(t.pass, 0);
        ASSERT_EQ(t.by[TLM_EVAL_FAIL_WRONG_ANSWER] + t.by[TLM_EVAL_FAIL_RUNTIME], 164);
    }
    tlm_eval_suite_free(s);
}

static const struct {
    const char *name;
    size_t min_tasks;
} builtin_sizes[] = {{"basics", 40}, {"code", 60}, {"json", 30}, {"tools", 20}, {"math", 40}};

static size_t count_if(const tlm_eval_suite *s, const char *kind, const char *lang) {
    size_t n = 0;
    for (size_t i = 0; i < s->n_tasks; i++)
        n += (!kind || !strcmp(s->tasks[i].kind, kind)) &&
             (!lang || !strcmp(s->tasks[i].language, lang));
    return n;
}

TEST(builtin_suite_shapes) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(builtin_sizes); i++) {
        tlm_eval_suite *s = builtin(ts_, builtin_sizes[i].name);
        ASSERT(s != NULL);
        ASSERT_STR_EQ(s->name, builtin_sizes[i].name);
        ASSERT_MSG(s->n_tasks >= builtin_sizes[i].min_tasks, "%s: %zu tasks", s->name, s->n_tasks);
        for (size_t j = 0; j < s->n_tasks; j++) {
            ASSERT(s->tasks[j].reference && s->tasks[j].reference[0]);
            ASSERT(!strcmp(s->tasks[j].language, "en") || !strcmp(s->tasks[j].language, "zh"));
        }
        ASSERT_MSG(count_if(s, NULL, "zh") >= s->n_tasks / 4, "%s: too few Chinese tasks", s->name);
        if (!strcmp(s->name, "code")) ASSERT(count_if(s, NULL, "zh") * 2 >= s->n_tasks);
        if (!strcmp(s->name, "basics")) {
            static const char *const kinds[] = {"function", "bugfix", "explain", "json", "script"};
            for (size_t k = 0; k < 5; k++) {
                ASSERT_MSG(count_if(s, kinds[k], NULL) >= 8, "basics: %s has %zu", kinds[k],
                           count_if(s, kinds[k], NULL));
                ASSERT(count_if(s, kinds[k], "zh") >= 1 && count_if(s, kinds[k], "en") >= 1);
            }
        }
        if (!strcmp(s->name, "tools")) ASSERT(count_if(s, "no_call", NULL) >= 3);
        tlm_eval_suite_free(s);
    }
}

TEST(builtin_references_pass) {
    NEED_SANDBOX(sb);
    tlm_eval_target ref = tlm_eval_reference_target();
    for (size_t i = 0; i < TLM_ARRAY_LEN(builtin_sizes); i++) {
        tlm_eval_suite *s = builtin(ts_, builtin_sizes[i].name);
        ASSERT(s != NULL);
        tally t;
        uint64_t t0 = tlm_time_ns();
        ASSERT_OK(run_suite(s, &ref, sb, 1, &t));
        fprintf(stderr, "  %-7s reference: %zu/%zu in %.1f s\n", s->name, t.pass, t.n,
                (double)(tlm_time_ns() - t0) / 1e9);
        ASSERT_EQ(t.n, s->n_tasks);
        ASSERT_EQ(t.pass, s->n_tasks);
        tlm_eval_suite_free(s);
    }
}

/* Each wrong answer must fail with the kind of failure it is. */
TEST(builtin_wrong_answers_fail) {
    NEED_SANDBOX(sb);
    for (size_t i = 0; i < TLM_ARRAY_LEN(builtin_sizes); i++) {
        tlm_eval_suite *s = builtin(ts_, builtin_sizes[i].name);
        ASSERT(s != NULL);
        wrong_mode plausible = PLAUSIBLE, empty = EMPTY;
        tlm_eval_target w = wrong_target(&plausible), e = wrong_target(&empty);
        tally t;
        ASSERT_OK(run_suite(s, &w, sb, 0, &t));
        ASSERT_EQ(t.by[TLM_EVAL_FAIL_SYNTAX], 0); /* a well-formed wrong answer */
        fprintf(stderr, "  %-7s wrong: %zu/%zu pass (wrong %zu, format %zu, runtime %zu)\n",
                s->name, t.pass, t.n, t.by[TLM_EVAL_FAIL_WRONG_ANSWER], t.by[TLM_EVAL_FAIL_FORMAT],
                t.by[TLM_EVAL_FAIL_RUNTIME]);
        ASSERT_EQ(t.pass, 0);
        ASSERT_EQ(t.by[TLM_EVAL_HARNESS_ERROR], 0);
        ASSERT_OK(run_suite(s, &e, sb, strcmp(s->name, "tools") ? 0 : -1, &t));
        /* An empty answer has no code, number, JSON or explanation: format.
         * For tools it is a valid "no call", right only for no-call tasks. */
        if (strcmp(s->name, "tools")) {
            ASSERT_EQ(t.by[TLM_EVAL_FAIL_FORMAT], s->n_tasks);
        } else {
            ASSERT_EQ(t.pass, count_if(s, "no_call", NULL));
        }
        tlm_eval_suite_free(s);
    }
}

static size_t count_grader(const tlm_eval_suite *s, tlm_eval_grader g) {
    size_t n = 0;
    for (size_t i = 0; i < s->n_tasks; i++) n += s->tasks[i].grader == g;
    return n;
}

/* The failure kinds: code that does not parse is "syntax", explanations in
 * the wrong language are "format", tool calls written as text pass too. */
TEST(builtin_failure_kinds_and_text_tool_calls) {
    NEED_SANDBOX(sb);
    tlm_eval_suite *basics = builtin(ts_, "basics"), *tools = builtin(ts_, "tools");
    ASSERT(basics && tools);
    wrong_mode syntax = SYNTAX, other = OTHER_LANGUAGE, text = REFERENCE_TEXT;
    tlm_eval_target ws = wrong_target(&syntax), wo = wrong_target(&other), wt = wrong_target(&text);
    tally t;
    ASSERT_OK(run_suite(basics, &ws, sb, 0, &t));
    ASSERT_EQ(t.by[TLM_EVAL_FAIL_SYNTAX], count_grader(basics, TLM_EVAL_GRADER_EXEC));
    g_suite = basics;
    ASSERT_OK(run_suite(basics, &wo, sb, -1, &t));
    g_suite = NULL;
    /* Explanations in the other language fail on language; for the other
     * kinds the other-language answer is simply a wrong answer. */
    ASSERT_EQ(t.pass, 0);
    ASSERT(t.by[TLM_EVAL_FAIL_FORMAT] >= count_if(basics, "explain", NULL));
    ASSERT_OK(run_suite(tools, &wt, sb, 1, &t));
    ASSERT_EQ(t.pass, tools->n_tasks);
    tlm_eval_suite_free(basics);
    tlm_eval_suite_free(tools);
}

static void check_dataset(test_state *ts_, const char *file, const char *name, size_t want_tasks,
                          bool wrong_too) {
    NEED_SANDBOX(sb);
    char path[512], msg[600];
    if (!shared_path(file, path, sizeof path)) {
        snprintf(msg, sizeof msg, "../shared/data/%s absent: %s check skipped", file, name);
        SKIP(msg);
    }
    tlm_eval_suite *s = NULL;
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_suite_load(path, NULL, &s, &err));
    ASSERT_STR_EQ(s->name, name);
    ASSERT_EQ(s->n_tasks, want_tasks);
    tlm_eval_target ref = tlm_eval_reference_target();
    wrong_mode plausible = PLAUSIBLE;
    tlm_eval_target w = wrong_target(&plausible);
    tally t;
    uint64_t t0 = tlm_time_ns();
    ASSERT_OK(run_suite(s, &ref, sb, 1, &t));
    fprintf(stderr, "  %s reference: %zu/%zu in %.1f s\n", name, t.pass, t.n,
            (double)(tlm_time_ns() - t0) / 1e9);
    ASSERT_EQ(t.pass, want_tasks);
    if (!wrong_too) {
        tlm_eval_suite_free(s);
        return;
    }
    ASSERT_OK(run_suite(s, &w, sb, 0, &t));
    fprintf(stderr, "  %s wrong: %zu/%zu pass\n", name, t.pass, t.n);
    ASSERT_EQ(t.pass, 0);
    ASSERT_EQ(t.by[TLM_EVAL_HARNESS_ERROR] + t.by[TLM_EVAL_FAIL_SYNTAX], 0);
    tlm_eval_suite_free(s);
}

/* HumanEval+ (optional): its records carry 64-bit-overflowing test inputs
 * that the loader must get past; the original tests are kept. */
TEST(humanevalplus_loads) {
    char path[512];
    if (!shared_path("HumanEvalPlus.jsonl.gz", path, sizeof path))
        SKIP("../shared/data/HumanEvalPlus.jsonl.gz absent: HumanEval+ check skipped");
    tlm_eval_suite *s = NULL;
    tlm_error err = {0};
    ASSERT_OK(tlm_eval_suite_load(path, NULL, &s, &err));
    ASSERT_EQ(s->n_tasks, 164);
    ASSERT_STR_EQ(s->name, "humanevalplus");
    ASSERT_CONTAINS(s->tasks[0].test, "def check(candidate)");
    tlm_eval_suite_free(s);
}

TEST(mbpp_sanitized_reference) { check_dataset(ts_, "sanitized-mbpp.json", "mbpp", 427, true); }
/* The original file: test split only, test_setup_code placed after the code. */
TEST(mbpp_test_split_reference) { check_dataset(ts_, "mbpp.jsonl", "mbpp", 500, false); }
TEST(gsm8k_reference_through_grader) {
    check_dataset(ts_, "gsm8k_test.jsonl", "gsm8k", 1319, true);
}

TEST_MAIN(TEST_ENTRY(builtin_suite_shapes), TEST_ENTRY(builtin_failure_kinds_and_text_tool_calls),
          TEST_ENTRY(builtin_references_pass), TEST_ENTRY(builtin_wrong_answers_fail),
          TEST_ENTRY(humaneval_canonical_and_broken), TEST_ENTRY(humanevalplus_loads),
          TEST_ENTRY(mbpp_sanitized_reference), TEST_ENTRY(mbpp_test_split_reference),
          TEST_ENTRY(gsm8k_reference_through_grader))
