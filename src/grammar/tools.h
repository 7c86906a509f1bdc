/*
 * tools.h - grammars for tool calls (tool_gbnf.c): the answer of a model
 * that may or must call one of the declared functions, in the
 * <tool_call>{"name": ..., "arguments": ...}</tool_call> convention of
 * Qwen2.5's chat template (used for every model: a template without tool
 * syntax gets the convention explained in its system prompt).
 */
#ifndef TLM_GRAMMAR_TOOLS_H
#define TLM_GRAMMAR_TOOLS_H

#include "grammar/grammar.h"

#define TLM_TOOL_CALL_OPEN "<tool_call>\n"
#define TLM_TOOL_CALL_CLOSE "\n</tool_call>"

/* One declared function (everything borrowed). */
typedef struct tlm_tool_spec {
    const char *name;         /* as the call must name it */
    const char *params_json;  /* its parameters JSON Schema, or NULL = any object */
} tlm_tool_spec;

typedef struct tlm_tool_grammar_opts {
    const tlm_tool_spec *tools;
    int32_t n_tools;
    const char *only;         /* a named tool_choice: only this function, or NULL */
    bool allow_text;          /* tool_choice auto: text instead of calls is allowed */
    const char *text_gbnf;    /* the grammar of that text (e.g. a response_format
                                 schema's), or NULL = free text not starting with '<' */
    int32_t max_calls;        /* calls in one answer (1 = no parallel calls) */
} tlm_tool_grammar_opts;

/* The GBNF of such an answer (rule root).  A parameters schema that does
 * not compile is its error (TLM_ERR_UNSUPPORTED naming the keyword, or
 * TLM_ERR_FORMAT) prefixed with the tool's name.  *out: free with
 * tlm_free(). */
tlm_status tlm_tool_call_gbnf(const tlm_tool_grammar_opts *o, char **out, tlm_error *err);

/* Appends gbnf with prefix put before every rule name (definitions and
 * references), so that several grammars can be joined into one. */
tlm_status tlm_gbnf_prefix_rules(const char *gbnf, const char *prefix, tlm_buf *out,
                                 tlm_error *err);

#endif /* TLM_GRAMMAR_TOOLS_H */
