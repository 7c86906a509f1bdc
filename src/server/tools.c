/*
 * tools.c - tool calls between the API and the model: the conversation as
 * the chat template should see it, and the model's answer back as OpenAI
 * and Ollama tool_calls.
 *
 * The model speaks the tag convention of Qwen2.5's template
 * (<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>, one per
 * call, results come back in <tool_response> blocks).  A template that
 * renders tools itself (it mentions "tools") gets them as its tools
 * variable; for any other template the tool list and the convention are
 * written into the system prompt here, and earlier calls and results are
 * written as that text too, so every model sees the same protocol.  The
 * grammar (structured_req.c) makes the answer follow it.
 *
 * Streaming: a choice's text is held until it is clear whether it is an
 * answer (its first byte is not '<') or calls.  Text is then streamed as
 * content; each call is sent once its closing tag arrives, as OpenAI
 * streams calls: a delta with index, id, type and function.name (and
 * empty arguments), then a delta with the arguments.
 */
#include "server/server.h"

#include "grammar/tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- The conversation for the template ---- */

bool tlm_template_has_tools(const tlm_model *m) {
    const char *t = tlm_model_chat_template(m);
    return t && strstr(t, "tools");
}

/* Arguments sent back as a JSON string (OpenAI's shape) become the object
 * they encode, which is what templates print. */
static void decode_arguments(json_t *msg) {
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call) {
        json_t *fn = json_object_get(call, "function");
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        json_t *obj = args ? json_loads(args, JSON_DECODE_ANY, NULL) : NULL;
        if (obj) json_object_set_new(fn, "arguments", obj);
    }
}

/* The calls of an assistant message as tagged text. */
static void calls_as_text(const json_t *msg, tlm_buf *b) {
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, call) {
        json_t *fn = json_object_get(call, "function");
        json_t *o = json_pack("{s:O,s:O}", "name", json_object_get(fn, "name"), "arguments",
                              json_object_get(fn, "arguments"));
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        tlm_buf_appendf(b, "%s" TLM_TOOL_CALL_OPEN "%s" TLM_TOOL_CALL_CLOSE, b->len ? "\n" : "",
                        t ? t : "{}");
        free(t);
        json_decref(o);
    }
}

static json_t *system_text(const json_t *tools) {
    char *list = json_dumps(tools, JSON_COMPACT);
    tlm_buf b = {0};
    tlm_buf_appendf(&b,
                    "# Tools\n\nYou may call one or more functions to assist with the user "
                    "query.\n\nYou are provided with function signatures within <tools></tools> "
                    "XML tags:\n<tools>\n%s\n</tools>\n\nFor each function call, return a json "
                    "object with function name and arguments within <tool_call></tool_call> XML "
                    "tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
                    "<args-json-object>}\n</tool_call>",
                    list ? list : "[]");
    free(list);
    json_t *s = json_stringn(b.data ? b.data : "", b.len);
    tlm_buf_free(&b);
    return s;
}

/* The results of parallel calls, now user turns in a row, become one turn:
 * templates such as Gemma's insist that user and assistant alternate. */
static void merge_tool_results(json_t *msgs) {
    for (size_t i = 1; i < json_array_size(msgs);) {
        json_t *prev = json_array_get(msgs, i - 1), *m = json_array_get(msgs, i);
        if (!json_is_true(json_object_get(prev, "from_tool")) ||
            !json_is_true(json_object_get(m, "from_tool"))) {
            i++;
            continue;
        }
        tlm_buf b = {0};
        tlm_buf_appendf(&b, "%s\n%s", json_string_value(json_object_get(prev, "content")),
                        json_string_value(json_object_get(m, "content")));
        json_object_set_new(prev, "content", json_stringn(b.data ? b.data : "", b.len));
        tlm_buf_free(&b);
        json_array_remove(msgs, i);
    }
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) json_object_del(m, "from_tool");
}

/* Rewrites msgs for a template without tool syntax. */
static void tools_as_text(json_t *msgs, const json_t *tools) {
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!strcmp(role, "assistant") && json_is_array(json_object_get(m, "tool_calls"))) {
            tlm_buf b = {0};
            const char *c = json_string_value(json_object_get(m, "content"));
            if (c && c[0]) tlm_buf_appendf(&b, "%s", c);
            calls_as_text(m, &b);
            json_object_set_new(m, "content", json_stringn(b.data ? b.data : "", b.len));
            json_object_del(m, "tool_calls");
            tlm_buf_free(&b);
        } else if (!strcmp(role, "tool")) {
            tlm_buf b = {0};
            tlm_buf_appendf(&b, "<tool_response>\n%s\n</tool_response>",
                            json_string_value(json_object_get(m, "content")));
            json_object_set_new(m, "role", json_string("user"));
            json_object_set_new(m, "content", json_stringn(b.data ? b.data : "", b.len));
            json_object_set_new(m, "from_tool", json_true());
            tlm_buf_free(&b);
        }
    }
    merge_tool_results(msgs);
    if (!tools) return;
    json_t *first = json_array_get(msgs, 0), *text = system_text(tools);
    const char *role = json_string_value(json_object_get(first, "role"));
    if (first && role && !strcmp(role, "system")) {
        tlm_buf b = {0};
        tlm_buf_appendf(&b, "%s\n\n%s", json_string_value(json_object_get(first, "content")),
                        json_string_value(text));
        json_object_set_new(first, "content", json_stringn(b.data ? b.data : "", b.len));
        tlm_buf_free(&b);
        json_decref(text);
    } else {
        json_array_insert_new(msgs, 0, json_pack("{s:s,s:o}", "role", "system", "content", text));
    }
}

json_t *tlm_tools_messages(const tlm_model *m, const tlm_srv_request *rq, char **tools_json) {
    *tools_json = NULL;
    json_t *msgs = json_deep_copy(rq->messages);
    if (!msgs) return NULL;
    if (tlm_template_has_tools(m)) {
        size_t i;
        json_t *msg;
        json_array_foreach(msgs, i, msg) decode_arguments(msg);
        if (rq->tools) *tools_json = json_dumps(rq->tools, JSON_COMPACT);
    } else {
        tools_as_text(msgs, rq->tools);
    }
    return msgs;
}

/* ---- The answer as calls ---- */

static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void tlm_tool_call_id(char out[32]) {
    static _Atomic uint64_t counter;
    uint64_t r = mix(tlm_time_ns() ^ (atomic_fetch_add(&counter, 1) << 32));
    static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    memcpy(out, "call_", 5);
    for (int i = 0; i < 24; i++) {
        out[5 + i] = digits[r % 62];
        r = i % 8 == 7 ? mix(r) : r / 62;
    }
    out[29] = '\0';
}

/* One call's JSON between the tags -> {name, arguments (object)}. */
static json_t *parse_call(const char *s, size_t n) {
    json_t *o = json_loadb(s, n, 0, NULL);
    json_t *name = json_object_get(o, "name"), *args = json_object_get(o, "arguments");
    json_t *call = json_is_string(name) && args ? json_pack("{s:O,s:O}", "name", name,
                                                            "arguments", args)
                                                : NULL;
    json_decref(o);
    return call;
}

json_t *tlm_tool_calls_parse(const char *text, size_t n, size_t *used) {
    static const char open[] = TLM_TOOL_CALL_OPEN, close[] = TLM_TOOL_CALL_CLOSE;
    json_t *calls = json_array();
    size_t at = 0;
    *used = 0;
    while (calls) {
        while (at < n && text[at] == '\n') at++;
        if (n - at < sizeof open - 1 || memcmp(text + at, open, sizeof open - 1)) break;
        size_t body = at + sizeof open - 1, end = body;
        while (end + sizeof close - 1 <= n && memcmp(text + end, close, sizeof close - 1)) end++;
        if (end + sizeof close - 1 > n) break; /* not closed yet */
        json_t *c = parse_call(text + body, end - body);
        if (!c) break;
        json_array_append_new(calls, c);
        at = end + sizeof close - 1;
        *used = at;
    }
    return calls;
}

/* ---- Streaming state of one choice ---- */

struct tlm_tool_stream {
    tlm_buf hold;      /* text not yet classified or not yet a whole call */
    int mode;          /* 0 undecided, 1 text, 2 calls */
    int32_t n_calls;   /* calls sent so far */
};

tlm_tool_stream *tlm_tool_streams_create(int32_t n) {
    return tlm_calloc((size_t)n, sizeof(tlm_tool_stream));
}

tlm_tool_stream *tlm_tool_stream_at(tlm_tool_stream *s, int32_t i) { return s ? &s[i] : NULL; }

void tlm_tool_streams_free(tlm_tool_stream *s, int32_t n) {
    for (int32_t i = 0; s && i < n; i++) tlm_buf_free(&s[i].hold);
    tlm_free(s);
}

bool tlm_tool_stream_called(const tlm_tool_stream *s) { return s->n_calls > 0 || s->mode == 2; }

/* OpenAI's streamed call: first the id and name, then the arguments. */
static void call_deltas(const json_t *call, int32_t index, json_t *deltas) {
    char id[32];
    tlm_tool_call_id(id);
    char *args = json_dumps(json_object_get(call, "arguments"), JSON_COMPACT | JSON_ENCODE_ANY);
    json_array_append_new(
        deltas, json_pack("{s:[{s:i,s:s,s:s,s:{s:O,s:s}}]}", "tool_calls", "index", index, "id",
                          id, "type", "function", "function", "name", json_object_get(call, "name"),
                          "arguments", ""));
    json_array_append_new(deltas, json_pack("{s:[{s:i,s:{s:s}}]}", "tool_calls", "index", index,
                                            "function", "arguments", args ? args : "{}"));
    free(args);
}

json_t *tlm_tool_stream_push(tlm_tool_stream *s, const char *text, size_t n, bool end) {
    json_t *deltas = json_array();
    tlm_buf_append(&s->hold, text, n);
    if (s->mode == 0 && s->hold.len) {
        size_t k = TLM_MIN(s->hold.len, sizeof TLM_TOOL_CALL_OPEN - 1);
        if (memcmp(s->hold.data, TLM_TOOL_CALL_OPEN, k)) s->mode = 1;
        else if (k == sizeof TLM_TOOL_CALL_OPEN - 1) s->mode = 2;
    }
    if (s->mode == 2) {
        size_t used;
        json_t *calls = tlm_tool_calls_parse(s->hold.data, s->hold.len, &used);
        size_t i;
        json_t *c;
        json_array_foreach(calls, i, c) call_deltas(c, s->n_calls++, deltas);
        json_decref(calls);
        memmove(s->hold.data, s->hold.data + used, s->hold.len - used);
        s->hold.len -= used;
    }
    /* Text, or what is left at the end (a call cut short by max_tokens). */
    if ((s->mode == 1 || (end && s->mode != 2) || (end && s->n_calls == 0)) && s->hold.len) {
        json_array_append_new(deltas, json_pack("{s:o}", "content",
                                                tlm_json_text(s->hold.data, s->hold.len)));
        s->hold.len = 0;
    }
    return deltas;
}
