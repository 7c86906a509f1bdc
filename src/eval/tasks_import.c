/*
 * tasks_import.c - converts records of the standard benchmarks into tasks:
 * HumanEval (and HumanEval+, whose `test` field holds the original tests),
 * MBPP (sanitized JSON or the original JSONL) and GSM8K.  Prompts are the
 * chat forms the reference harnesses use (docs/EVAL.md lists them), so
 * scores are comparable with published ones for instruct models.
 */
#include "eval/eval.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* EvalPlus's instruction for chat models (codegen.py). */
#define CODE_INSTRUCTION                                                                           \
    "Please provide a self-contained Python script that solves the following "                     \
    "problem in a markdown code block:\n```\n"

#define GSM8K_INSTRUCTION                                                                          \
    "Solve the following math problem step by step. At the end, write the final "                  \
    "answer on its own line in the form \"#### <number>\".\n\nQuestion: "

static const char *str_field(const json_t *rec, const char *key) {
    json_t *v = json_object_get(rec, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *dupf(const char *fmt, ...) TLM_PRINTF(1, 2);
static char *dupf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? tlm_malloc((size_t)n + 1) : NULL;
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

/* Trailing whitespace trimmed, as human-eval's chat prompts do. */
static int trimmed_len(const char *s) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return (int)n;
}

static tlm_status finish(tlm_eval_task *t, tlm_error *err) {
    if (!t->id || !t->suite || !t->kind || !t->language || !t->prompt || !t->reference) {
        tlm_eval_task_clear(t);
        return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    return TLM_OK;
}

tlm_status tlm_eval_task_from_humaneval(const json_t *rec, tlm_eval_task *t, tlm_error *err) {
    memset(t, 0, sizeof *t);
    const char *id = str_field(rec, "task_id"), *prompt = str_field(rec, "prompt"),
               *entry = str_field(rec, "entry_point"),
               *canon = str_field(rec, "canonical_solution"), *test = str_field(rec, "test");
    if (!id || !prompt || !entry || !canon || !test)
        return tlm_error_set(
            err, TLM_ERR_FORMAT,
            "HumanEval record needs task_id, prompt, entry_point, canonical_solution, test");
    bool plus = json_object_get(rec, "plus_input") != NULL;
    t->id = tlm_strdup(id);
    t->suite = tlm_strdup(plus ? "humanevalplus" : "humaneval");
    t->kind = tlm_strdup("code");
    t->language = tlm_strdup("en");
    t->grader = TLM_EVAL_GRADER_EXEC;
    t->prompt = dupf(CODE_INSTRUCTION "%.*s\n```", trimmed_len(prompt), prompt);
    t->reference = dupf("%s%s", prompt, canon);
    t->entry_point = tlm_strdup(entry);
    t->stub = tlm_strdup(prompt);
    t->test = tlm_strdup(test);
    t->test_call = dupf("check(%s)", entry);
    if (!t->entry_point || !t->stub || !t->test || !t->test_call)
        t->prompt = (tlm_free(t->prompt), NULL);
    return finish(t, err);
}

/* Is `name` called in `test`: a whole word followed by optional spaces and
 * '(' (MBPP writes both "f(x)" and "f (x)"). */
static bool called_in(const char *test, const char *name, size_t n) {
    for (const char *p = test; *p; p++) {
        if (strncmp(p, name, n) != 0) continue;
        if (p > test && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) continue;
        const char *q = p + n;
        while (*q == ' ') q++;
        if (*q == '(') return true;
    }
    return false;
}

/* The function the tests call: the first top-level `def NAME` of the
 * reference code whose NAME is called in the first assertion. */
static char *mbpp_entry(const char *code, const char *first_test) {
    for (const char *p = code; (p = strstr(p, "def ")); p += 4) {
        if (p != code && p[-1] != '\n') continue;
        const char *s = p + 4, *e = s;
        while (isalnum((unsigned char)*e) || *e == '_') e++;
        const char *q = e;
        while (*q == ' ') q++;
        if (e == s || *q != '(') continue;
        if (called_in(first_test, s, (size_t)(e - s))) return tlm_strndup(s, (size_t)(e - s));
    }
    return NULL;
}

static char *join_strings(const json_t *arr, const char *sep) {
    tlm_buf b = {0};
    size_t i;
    json_t *v;
    if (tlm_buf_append(&b, "", 0)) return NULL;
    json_array_foreach (arr, i, v) {
        if (!json_is_string(v)) continue;
        if ((i && tlm_buf_append(&b, sep, strlen(sep))) ||
            tlm_buf_append(&b, json_string_value(v), json_string_length(v))) {
            tlm_buf_free(&b);
            return NULL;
        }
    }
    return b.data;
}

tlm_status tlm_eval_task_from_mbpp(const json_t *rec, tlm_eval_task *t, tlm_error *err) {
    memset(t, 0, sizeof *t);
    const char *text = str_field(rec, "prompt");
    if (!text) text = str_field(rec, "text");
    const char *code = str_field(rec, "code"), *setup = str_field(rec, "test_setup_code");
    json_t *tests = json_object_get(rec, "test_list"),
           *imports = json_object_get(rec, "test_imports");
    json_t *tid = json_object_get(rec, "task_id");
    const char *first = json_string_value(json_array_get(tests, 0));
    if (!text || !code || !first || !json_is_integer(tid))
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "MBPP record needs task_id, prompt/text, code, test_list");
    char *entry = mbpp_entry(code, first);
    if (!entry)
        return tlm_error_set(err, TLM_ERR_FORMAT, "MBPP %lld: no function of the code is tested",
                             (long long)json_integer_value(tid));
    t->id = dupf("Mbpp/%lld", (long long)json_integer_value(tid));
    t->suite = tlm_strdup("mbpp");
    t->kind = tlm_strdup("code");
    t->language = tlm_strdup("en");
    t->grader = TLM_EVAL_GRADER_EXEC;
    t->entry_point = entry;
    /* EvalPlus's MBPP prompt: the description and the first test. */
    t->prompt = dupf(CODE_INSTRUCTION "\"\"\"\n%s\n%s\n\"\"\"\n```", text, first);
    t->reference = tlm_strdup(code);
    char *asserts = join_strings(tests, "\n");
    t->prelude = imports ? join_strings(imports, "\n") : NULL;
    /* test_setup_code may use the solution's classes: it goes after the code. */
    t->test = asserts ? dupf("%s\n%s\n", setup ? setup : "", asserts) : NULL;
    tlm_free(asserts);
    if (!t->test || (imports && !t->prelude)) t->prompt = (tlm_free(t->prompt), NULL);
    return finish(t, err);
}

tlm_status tlm_eval_task_from_gsm8k(const json_t *rec, size_t index, tlm_eval_task *t,
                                    tlm_error *err) {
    memset(t, 0, sizeof *t);
    const char *q = str_field(rec, "question"), *a = str_field(rec, "answer");
    char num[64];
    if (!q || !a)
        return tlm_error_set(err, TLM_ERR_FORMAT, "GSM8K record needs question and answer");
    if (!tlm_eval_extract_number_strict(a, num, sizeof num))
        return tlm_error_set(err, TLM_ERR_FORMAT, "GSM8K answer has no \"#### N\" line");
    t->id = dupf("gsm8k/%zu", index);
    t->suite = tlm_strdup("gsm8k");
    t->kind = tlm_strdup("math");
    t->language = tlm_strdup("en");
    t->grader = TLM_EVAL_GRADER_NUMERIC;
    t->prompt = dupf(GSM8K_INSTRUCTION "%s", q);
    t->reference = tlm_strdup(a);
    t->answer = tlm_strdup(num);
    if (!t->answer) t->prompt = (tlm_free(t->prompt), NULL);
    return finish(t, err);
}
