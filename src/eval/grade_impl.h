/*
 * grade_impl.h - what the grader files (grade.c, grade_json.c,
 * grade_text.c) share.  Internal to src/eval.
 */
#ifndef TLM_EVAL_GRADE_IMPL_H
#define TLM_EVAL_GRADE_IMPL_H

#include "eval/eval.h"

/* Sets the verdict and a formatted detail (fmt NULL: no detail).  Returns
 * TLM_ERR_NOMEM only when the detail could not be allocated. */
tlm_status tlm_eval_grade_set(tlm_eval_grade *g, tlm_eval_verdict v, const char *fmt, ...)
    TLM_PRINTF(3, 4);

/* The graders behind tlm_eval_grade_answer; text is the cleaned answer. */
tlm_status tlm_eval_grade_json(const tlm_eval_task *t, const char *text, tlm_eval_grade *g);
tlm_status tlm_eval_grade_tool_call(const tlm_eval_task *t, const char *text,
                                    const char *tool_calls, tlm_eval_grade *g);
tlm_status tlm_eval_grade_rubric(const tlm_eval_task *t, const char *text, tlm_eval_grade *g);

/* Expected-value comparison: numbers by value, strings trimmed and ASCII
 * case-insensitive, arrays in order, objects by key set; an expected
 * {"$any": [a, b, ...]} matches when any alternative does. */
bool tlm_eval_values_match(const json_t *expected, const json_t *actual);

/* RFC 6901 JSON pointer lookup ("" is the whole document); NULL if absent. */
const json_t *tlm_eval_json_pointer(const json_t *doc, const char *pointer);

#endif /* TLM_EVAL_GRADE_IMPL_H */
