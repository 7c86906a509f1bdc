/*
 * chat_render.c - tlm_chat_render: messages (OpenAI-style JSON) -> the
 * prompt text the model was trained on, through the model's own chat
 * template (src/chat), with the vocabulary's BOS/EOS text as bos_token and
 * eos_token.
 *
 * Some templates refuse a system message (Gemma's raises "System role not
 * supported").  A system prompt is too common to fail on, so when the
 * first render raises and the conversation starts with a system message,
 * the message is folded into the first user turn ("SYSTEM\n\nUSER") and
 * the render is tried once more; the template's error is reported only if
 * that fails too.
 */
#include "chat/chat.h"
#include "core/util.h"
#include "model/model.h"

#include <jansson.h>
#include <string.h>

/* The text of a message's content: a string, or the "text" of its parts. */
static tlm_status content_text(const json_t *content, tlm_buf *b) {
    if (json_is_string(content))
        return tlm_buf_append(b, json_string_value(content), json_string_length(content));
    size_t i;
    const json_t *part;
    json_array_foreach(content, i, part) {
        const json_t *t = json_object_get(part, "text");
        if (json_is_string(t) && tlm_buf_append(b, json_string_value(t), json_string_length(t)))
            return TLM_ERR_NOMEM;
    }
    return TLM_OK;
}

static int has_role(const json_t *msg, const char *role) {
    const char *r = json_string_value(json_object_get(msg, "role"));
    return r && !strcmp(r, role);
}

/* messages without the leading system message, whose text now opens the
 * first user turn (a new user turn when there is none).  New reference,
 * NULL when out of memory. */
static json_t *fold_system(const json_t *messages) {
    tlm_buf sys = {0}, user = {0};
    json_t *out = json_array();
    int folded = 0;
    if (!out || content_text(json_object_get(json_array_get(messages, 0), "content"), &sys))
        goto fail;
    for (size_t i = 1; i < json_array_size(messages); i++) {
        json_t *m = json_array_get(messages, i);
        if (folded || !has_role(m, "user")) {
            if (json_array_append(out, m)) goto fail;
            continue;
        }
        user.len = 0;
        if (tlm_buf_append(&user, sys.data, sys.len) || tlm_buf_append(&user, "\n\n", 2) ||
            content_text(json_object_get(m, "content"), &user))
            goto fail;
        json_t *copy = json_copy(m);
        if (!copy || json_object_set_new(copy, "content", json_stringn(user.data, user.len)) ||
            json_array_append_new(out, copy))
            goto fail;
        folded = 1;
    }
    if (!folded && json_array_insert_new(out, 0, json_pack("{s:s,s:s%}", "role", "user",
                                                          "content", sys.data ? sys.data : "",
                                                          sys.len)))
        goto fail;
    tlm_buf_free(&sys);
    tlm_buf_free(&user);
    return out;
fail:
    tlm_buf_free(&sys);
    tlm_buf_free(&user);
    json_decref(out);
    return NULL;
}

/* Parses a JSON array argument ("messages" or "tools"). */
static tlm_status parse_array(const char *what, const char *text, json_t **out, tlm_error *err) {
    json_error_t je;
    *out = json_loads(text, JSON_DECODE_ANY, &je);
    if (!*out)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "chat: %s is not valid JSON: %s (at %d:%d)",
                             what, je.text, je.line, je.column);
    if (!json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "chat: %s must be a JSON array", what);
    }
    return TLM_OK;
}

static tlm_status render(const tlm_chat_template *t, const json_t *msgs, const json_t *tools,
                         int agp, const char *bos, const char *eos, char **out, tlm_error *err) {
    json_t *vars = tlm_chat_vars(msgs, tools, agp != 0, bos, eos, NULL);
    if (!vars) return tlm_error_set(err, TLM_ERR_NOMEM, "chat: out of memory");
    tlm_status s = tlm_chat_template_render(t, vars, out, err);
    json_decref(vars);
    return s;
}

tlm_status tlm_chat_render(const tlm_model *model, const char *messages_json,
                           const char *tools_json, int add_generation_prompt, char **out,
                           tlm_error *err) {
    if (out) *out = NULL;
    if (!model || !messages_json || !out)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "chat: model, messages and out are needed");
    json_t *msgs = NULL, *tools = NULL;
    tlm_chat_template *t = NULL;
    char *bos = NULL, *eos = NULL;
    tlm_status s = parse_array("messages", messages_json, &msgs, err);
    if (!s && tools_json && tools_json[0]) s = parse_array("tools", tools_json, &tools, err);
    if (!s) s = tlm_chat_template_from_gguf(model->gguf, NULL, &t, NULL, err);
    if (!s) s = tlm_chat_special_tokens(model->gguf, &bos, &eos, err);
    if (s) goto done;
    tlm_error first = {0};
    s = render(t, msgs, tools, add_generation_prompt, bos, eos, out, &first);
    if (s && json_array_size(msgs) > 0 && has_role(json_array_get(msgs, 0), "system")) {
        json_t *folded = fold_system(msgs);
        if (folded && render(t, folded, tools, add_generation_prompt, bos, eos, out, NULL) == 0)
            s = TLM_OK;
        json_decref(folded);
    }
    if (s) tlm_error_set(err, s, "%s", first.msg);
done:
    json_decref(msgs);
    json_decref(tools);
    tlm_chat_template_free(t);
    tlm_free(bos);
    tlm_free(eos);
    return s;
}
