/*
 * fuzz_jinja.c - libFuzzer target for the chat-template engine: the input is
 * a template, parsed and then rendered against a fixed conversation (system,
 * user, assistant with a tool call, tool result, tools, extra variables).
 * Any input must either render or fail with a status; never crash, leak,
 * hang or allocate without bound - the render limits below turn runaway
 * loops, recursion and output into errors.
 */
#include "chat/chat.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char context_json[] =
    "{\"messages\": ["
    "{\"role\": \"system\", \"content\": \"Be brief.\"},"
    "{\"role\": \"user\", \"content\": \"Hi \\u4f60\\u597d \\\"quoted\\\"\\n\"},"
    "{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"abc123def\","
    " \"type\": \"function\", \"function\": {\"name\": \"get\", \"arguments\": {\"x\": 1.5, \"y\": [true, null]}}}]},"
    "{\"role\": \"tool\", \"content\": \"42\"},"
    "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"part\"}, {\"type\": \"image\"}]}],"
    " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get\", \"description\": \"d\","
    " \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"number\"}}, \"required\": [\"x\"]}}}],"
    " \"add_generation_prompt\": true, \"bos_token\": \"<s>\", \"eos_token\": \"</s>\","
    " \"n\": 3, \"f\": -0.5, \"flag\": false, \"empty\": {}, \"none\": null}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static json_t *vars;
    if (!vars && !(vars = json_loads(context_json, 0, NULL))) abort();
    tlm_chat_template *t;
    tlm_error err = {0};
    if (tlm_chat_template_parse((const char *)data, size, &t, &err) != TLM_OK) return 0;
    tlm_chat_render_opts o = tlm_chat_render_default_opts();
    o.max_output = 1 << 16;
    o.max_steps = 20000;
    o.max_depth = 20;
    o.max_memory = 16 << 20;
    o.now = 0;
    char *out = NULL;
    size_t len = 0;
    if (tlm_chat_template_render_ex(t, vars, &o, &out, &len, &err) == TLM_OK) {
        if (len > o.max_output || out[len] != '\0') abort();
        tlm_free(out);
    } else if (out != NULL || err.msg[0] == '\0') {
        abort(); /* failures must leave no output and say why */
    }
    tlm_chat_template_free(t);
    return 0;
}
