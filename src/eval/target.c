/*
 * target.c - answers and the reference target.  The reference target
 * answers each task with the task's own reference answer, through exactly
 * the path a model's answer takes (extraction, grading, results), so it
 * scores 100% on a correct suite and anything less points at the suite or
 * the harness, never at a model.
 */
#include "eval/eval.h"

#include <string.h>

void tlm_eval_answer_init(tlm_eval_answer *a) {
    memset(a, 0, sizeof *a);
    a->prompt_tokens = a->completion_tokens = -1;
    a->ttft_ms = a->total_ms = a->prompt_tok_s = a->gen_tok_s = -1.0;
}

void tlm_eval_answer_clear(tlm_eval_answer *a) {
    if (!a) return;
    tlm_free(a->text);
    tlm_free(a->tool_calls);
    tlm_free(a->finish_reason);
    tlm_eval_answer_init(a);
}

/* Expected arguments with each {"$any": [a, ...]} replaced by a. */
static json_t *concrete_args(const json_t *args) {
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)args, k, v) {
        json_t *alts = json_object_size(v) == 1 ? json_object_get(v, "$any") : NULL;
        json_object_set(out, k, json_is_array(alts) ? json_array_get(alts, 0) : v);
    }
    return out;
}

/* The expected call as an OpenAI tool_calls array, arguments as a string. */
static char *tool_calls_json(const json_t *expected) {
    json_t *args = concrete_args(json_object_get(expected, "arguments"));
    char *args_text = args ? json_dumps(args, JSON_COMPACT) : NULL;
    json_decref(args);
    if (!args_text) return NULL;
    json_t *arr =
        json_pack("[{s:s, s:s, s:{s:O, s:s}}]", "id", "call_0", "type", "function", "function",
                  "name", json_object_get(expected, "name"), "arguments", args_text);
    free(args_text);
    char *dump = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    char *out = dump ? tlm_strdup(dump) : NULL;
    free(dump);
    return out;
}

static tlm_status reference_generate(void *ud, const tlm_eval_request *req, tlm_eval_answer *out,
                                     tlm_error *err) {
    (void)ud;
    const tlm_eval_task *t = req->task;
    uint64_t t0 = tlm_time_ns();
    out->text = tlm_strdup(t->reference ? t->reference : "");
    if (!out->text) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    bool call = t->grader == TLM_EVAL_GRADER_TOOL_CALL && json_is_object(t->expected);
    if (call) {
        out->tool_calls = tool_calls_json(t->expected);
        if (!out->tool_calls) return tlm_error_set(err, TLM_ERR_NOMEM, "out of memory");
    }
    out->finish_reason = tlm_strdup(call ? "tool_calls" : "stop");
    out->total_ms = out->ttft_ms = (double)(tlm_time_ns() - t0) / 1e6;
    return TLM_OK;
}

tlm_eval_target tlm_eval_reference_target(void) {
    return (tlm_eval_target){.name = "reference", .generate = reference_generate};
}
