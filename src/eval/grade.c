/*
 * grade.c - verdicts: dispatch by grader, the exec grader (program run in
 * the sandbox, failure kind read from the exit status and the last line of
 * the traceback) and the numeric grader.  JSON and tool calls are graded in
 * grade_json.c, rubrics in grade_text.c.
 */
#include "eval/eval.h"
#include "eval/grade_impl.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const verdict_names[TLM_EVAL_VERDICT_COUNT] = {
    [TLM_EVAL_PASS] = "pass",
    [TLM_EVAL_FAIL_FORMAT] = "format",
    [TLM_EVAL_FAIL_SYNTAX] = "syntax",
    [TLM_EVAL_FAIL_RUNTIME] = "runtime",
    [TLM_EVAL_FAIL_TIMEOUT] = "timeout",
    [TLM_EVAL_FAIL_WRONG_ANSWER] = "wrong_answer",
    [TLM_EVAL_HARNESS_ERROR] = "harness_error",
};

const char *tlm_eval_verdict_name(tlm_eval_verdict v) {
    return (unsigned)v < TLM_EVAL_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

tlm_status tlm_eval_verdict_parse(const char *name, tlm_eval_verdict *out) {
    for (int i = 0; name && i < TLM_EVAL_VERDICT_COUNT; i++)
        if (!strcmp(name, verdict_names[i])) {
            *out = (tlm_eval_verdict)i;
            return TLM_OK;
        }
    return TLM_ERR_NOT_FOUND;
}

void tlm_eval_grade_clear(tlm_eval_grade *g) {
    if (!g) return;
    tlm_free(g->extracted);
    tlm_free(g->detail);
    memset(g, 0, sizeof *g);
}

tlm_status tlm_eval_grade_set(tlm_eval_grade *g, tlm_eval_verdict v, const char *fmt, ...) {
    g->verdict = v;
    tlm_free(g->detail);
    g->detail = NULL;
    if (!fmt) return TLM_OK;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && (g->detail = tlm_malloc((size_t)n + 1)))
        vsnprintf(g->detail, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return g->detail || n < 0 ? TLM_OK : TLM_ERR_NOMEM;
}

/* ---- Exec ---- */

char *tlm_eval_build_program(const tlm_eval_task *t, const char *code, const char *nonce) {
    tlm_buf b = {0};
    const char *parts[] = {t->prelude, code, t->test, t->test_call};
    bool ok = true;
    for (size_t i = 0; i < TLM_ARRAY_LEN(parts); i++)
        if (parts[i] && *parts[i])
            ok = ok && !tlm_buf_append(&b, parts[i], strlen(parts[i])) &&
                 !tlm_buf_append(&b, "\n\n", 2);
    /* Flush first: a candidate's buffered prints must not land after it. */
    if (nonce)
        ok = ok &&
             !tlm_buf_appendf(&b,
                              "import os as _tlm_os, sys as _tlm_sys\n"
                              "try:\n    _tlm_sys.stdout.flush()\nexcept Exception:\n    pass\n"
                              "_tlm_os.write(1, b'\\n%s\\n')\n",
                              nonce);
    if (!ok || !b.data) {
        tlm_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The exception type on the last "Name: message" or bare "Name" line of a
 * traceback, e.g. "AssertionError".  Empty when there is none. */
static void last_exception(const char *err, char *type, size_t tcap, char *line, size_t lcap) {
    type[0] = line[0] = '\0';
    if (!err) return;
    const char *best = NULL, *best_end = NULL;
    for (const char *p = err; *p;) {
        const char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        const char *q = p;
        while (q < e && (isalnum((unsigned char)*q) || *q == '_' || *q == '.')) q++;
        if (q > p && isupper((unsigned char)*p) && (q == e || *q == ':')) {
            best = p;
            best_end = e;
        }
        p = *e ? e + 1 : e;
    }
    if (!best) return;
    size_t tn = strcspn(best, ":\n");
    const char *dot = memchr(best, '.', tn);
    while (dot) { /* "module.Error" -> "Error" */
        tn -= (size_t)(dot + 1 - best);
        best = dot + 1;
        dot = memchr(best, '.', tn);
    }
    snprintf(type, tcap, "%.*s", (int)tn, best);
    snprintf(line, lcap, "%.*s", (int)TLM_MIN((size_t)(best_end - best), lcap - 1), best);
}

static tlm_status classify_run(const tlm_sandbox_result *r, const char *nonce, tlm_eval_grade *g) {
    g->exit_code = r->exit_code;
    g->run_ms = r->wall_ms;
    if (r->setup_failed)
        return tlm_eval_grade_set(g, TLM_EVAL_HARNESS_ERROR, "sandbox failed: %.300s", r->err);
    if (r->timed_out) return tlm_eval_grade_set(g, TLM_EVAL_FAIL_TIMEOUT, "wall-clock limit");
    if (r->term_signal == SIGXCPU) return tlm_eval_grade_set(g, TLM_EVAL_FAIL_TIMEOUT, "CPU limit");
    if (r->output_limited)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_RUNTIME, "output limit (%zu bytes)",
                                  r->out_total + r->err_total);
    bool saw_nonce = strstr(r->out, nonce) || (r->out_tail && strstr(r->out_tail, nonce));
    if (r->exit_code == 0 && saw_nonce) return tlm_eval_grade_set(g, TLM_EVAL_PASS, NULL);
    char type[64], line[320];
    last_exception(r->err_tail ? r->err_tail : r->err, type, sizeof type, line, sizeof line);
    if (r->exit_code == 0)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_RUNTIME, "exited before the tests finished");
    if (!strcmp(type, "SyntaxError") || !strcmp(type, "IndentationError") ||
        !strcmp(type, "TabError"))
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_SYNTAX, "%s", line);
    if (!strcmp(type, "AssertionError"))
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER, "%s", line);
    if (r->term_signal)
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_RUNTIME, "killed by signal %d", r->term_signal);
    if (type[0]) return tlm_eval_grade_set(g, TLM_EVAL_FAIL_RUNTIME, "%s", line);
    return tlm_eval_grade_set(g, TLM_EVAL_FAIL_RUNTIME, "exit status %d", r->exit_code);
}

static void make_nonce(char *out, size_t cap) {
    static unsigned long counter;
    unsigned long c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    uint64_t x = tlm_time_ns() ^ ((uint64_t)getpid() << 32) ^ (c * 0x9e3779b97f4a7c15ull);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    snprintf(out, cap, "tlm-eval-done-%016llx", (unsigned long long)x);
}

static tlm_status grade_exec(const tlm_sandbox *sb, const tlm_eval_task *t, const char *text,
                             tlm_eval_grade *g, tlm_error *err) {
    tlm_status st = tlm_eval_extract_code(text, t->entry_point, t->stub, t->script, &g->extracted,
                                          &g->method, err);
    if (st != TLM_OK) return st;
    if (!g->extracted) return tlm_eval_grade_set(g, TLM_EVAL_FAIL_FORMAT, "no code in the answer");
    if (!sb) return tlm_eval_grade_set(g, TLM_EVAL_HARNESS_ERROR, "no sandbox to run code in");
    char nonce[64];
    make_nonce(nonce, sizeof nonce);
    char *program = tlm_eval_build_program(t, g->extracted, nonce);
    if (!program) return tlm_error_set(err, TLM_ERR_NOMEM, "grade: out of memory");
    tlm_sandbox_file files[TLM_SANDBOX_MAX_FILES];
    size_t n = TLM_MIN(t->n_fixtures, (size_t)TLM_SANDBOX_MAX_FILES);
    for (size_t i = 0; i < n; i++)
        files[i] = (tlm_sandbox_file){t->fixtures[i].name, t->fixtures[i].data, t->fixtures[i].len};
    tlm_sandbox_limits lim = *tlm_sandbox_get_limits(sb);
    if (t->timeout_s > 0) lim.wall_s = t->timeout_s;
    tlm_sandbox_result r;
    tlm_error run_err = {0};
    st = tlm_sandbox_run(sb, program, files, n, &lim, &r, &run_err);
    tlm_free(program);
    if (st == TLM_ERR_NOMEM) return tlm_error_set(err, st, "grade: out of memory");
    if (st != TLM_OK) return tlm_eval_grade_set(g, TLM_EVAL_HARNESS_ERROR, "%s", run_err.msg);
    st = classify_run(&r, nonce, g);
    tlm_sandbox_result_clear(&r);
    return st;
}

/* ---- Numeric ---- */

static tlm_status grade_numeric(const tlm_eval_task *t, const char *text, tlm_eval_grade *g) {
    char num[64];
    if (!tlm_eval_extract_number(text, num, sizeof num, &g->method))
        return tlm_eval_grade_set(g, TLM_EVAL_FAIL_FORMAT, "no number in the answer");
    if (!(g->extracted = tlm_strdup(num))) return TLM_ERR_NOMEM;
    if (tlm_eval_numbers_equal(num, t->answer)) return tlm_eval_grade_set(g, TLM_EVAL_PASS, NULL);
    return tlm_eval_grade_set(g, TLM_EVAL_FAIL_WRONG_ANSWER, "got %s, expected %s", num, t->answer);
}

/* ---- Dispatch ---- */

tlm_status tlm_eval_grade_answer(const tlm_sandbox *sb, const tlm_eval_task *t,
                                 const tlm_eval_answer *a, tlm_eval_grade *g, tlm_error *err) {
    if (!g) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grade: no output");
    memset(g, 0, sizeof *g);
    g->method = "none";
    g->json_valid = g->schema_valid = -1;
    if (!t || !a) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "grade: no task or answer");
    char *text = tlm_eval_clean_answer(a->text);
    if (!text) return tlm_error_set(err, TLM_ERR_NOMEM, "grade: out of memory");
    tlm_status st;
    switch (t->grader) {
    case TLM_EVAL_GRADER_EXEC: st = grade_exec(sb, t, text, g, err); break;
    case TLM_EVAL_GRADER_NUMERIC: st = grade_numeric(t, text, g); break;
    case TLM_EVAL_GRADER_JSON: st = tlm_eval_grade_json(t, text, g); break;
    case TLM_EVAL_GRADER_TOOL_CALL: st = tlm_eval_grade_tool_call(t, text, a->tool_calls, g); break;
    case TLM_EVAL_GRADER_RUBRIC: st = tlm_eval_grade_rubric(t, text, g); break;
    default:
        st = tlm_error_set(err, TLM_ERR_INVALID_ARG, "grade: unknown grader %d", (int)t->grader);
    }
    tlm_free(text);
    if (st == TLM_ERR_NOMEM) tlm_error_set(err, st, "grade: out of memory");
    if (st != TLM_OK) tlm_eval_grade_clear(g);
    return st;
}
