/*
 * request.c - request bodies -> tlm_srv_request, for the OpenAI endpoints
 * (Ollama's are in request_ollama.c), with the field readers both share.
 *
 * Everything a client can get wrong is found here, before any model work,
 * and reported with the field's name: malformed JSON (with line and
 * column), a field of the wrong type, a value out of range, an empty or
 * malformed messages array.  Unknown fields are ignored, as OpenAI's own
 * clients send fields this server has no use for.  Known fields whose
 * meaning this server cannot honour (images) are refused rather than
 * silently ignored; the output constraints (response_format, tools,
 * grammar) are parsed and compiled in structured_req.c.
 *
 * This is also the fuzz target's entry point (tests/fuzz/fuzz_request.c):
 * any input must parse or fail, never crash or leak.
 */
#include "server/server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Error messages quote the client's bytes (jansson's "near '...'", field
 * values), which need not be UTF-8, but the message goes out as JSON text:
 * every byte that does not start a valid character becomes '?'. */
static void scrub_utf8(char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) {
            s[i] = '?';
            k = 1;
        }
        i += (size_t)k;
    }
}

int tlm_api_fail(tlm_api_error *e, int status, const char *type, const char *code,
                 const char *param, const char *fmt, ...) {
    if (!e) return -1;
    e->status = status;
    e->type = type;
    e->code = code;
    e->retry_after = 0;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    /* A long message cut mid-character would not be valid JSON text. */
    if (n >= (int)sizeof e->message) {
        size_t at = sizeof e->message - 1;
        while (at > 0 && ((unsigned char)e->message[at - 1] & 0xC0) == 0x80) at--;
        if (at > 0 && ((unsigned char)e->message[at - 1] & 0x80)) at--;
        e->message[at] = '\0';
    }
    scrub_utf8(e->message);
    return -1;
}

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int wrong_type(tlm_api_error *e, const char *param, const char *want, const json_t *v) {
    return TLM_BAD_REQUEST(e, "invalid_type", param, "'%s' must be %s, not %s", param, want,
                           type_name(v));
}

/* ---- Field readers ---- */

int tlm_field_bool(const json_t *obj, const char *key, const char *param, bool *out,
                   tlm_api_error *e) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return wrong_type(e, param, "a boolean", v);
    *out = json_is_true(v);
    return 1;
}

int tlm_field_int(const json_t *obj, const char *key, const char *param, int64_t lo, int64_t hi,
                  int64_t *out, tlm_api_error *e) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    int64_t x;
    /* 3.0 is accepted as 3: JavaScript clients cannot tell them apart. */
    if (json_is_integer(v))
        x = (int64_t)json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
             fabs(json_real_value(v)) < 9e15)
        x = (int64_t)json_real_value(v);
    else
        return wrong_type(e, param, "an integer", v);
    if (x < lo || x > hi)
        return TLM_BAD_REQUEST(e, "invalid_value", param, "'%s' must be in [%lld, %lld], got %lld",
                               param, (long long)lo, (long long)hi, (long long)x);
    *out = x;
    return 1;
}

int tlm_field_float(const json_t *obj, const char *key, const char *param, double lo, double hi,
                    tlm_opt_f *out, tlm_api_error *e) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v)) return wrong_type(e, param, "a number", v);
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return TLM_BAD_REQUEST(e, "invalid_value", param, "'%s' must be in [%g, %g], got %g", param,
                               lo, hi, x);
    out->set = true;
    out->v = (float)x;
    return 1;
}

int tlm_field_string(const json_t *obj, const char *key, const char *param, const char **out,
                     tlm_api_error *e) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return wrong_type(e, param, "a string", v);
    *out = json_string_value(v);
    return 1;
}

static int add_stop(tlm_srv_request *r, const json_t *v, const char *param, tlm_api_error *e) {
    if (!json_is_string(v)) return wrong_type(e, param, "a string or an array of strings", v);
    if (json_string_length(v) == 0) return 0; /* an empty stop string stops nothing */
    if (r->n_stop >= TLM_SRV_MAX_STOP)
        return TLM_BAD_REQUEST(e, "invalid_value", param, "at most %d stop strings are allowed",
                               TLM_SRV_MAX_STOP);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return TLM_BAD_REQUEST(e, "invalid_value", param, "stop strings cannot contain NUL");
    if (!r->stop && !(r->stop = tlm_calloc(TLM_SRV_MAX_STOP, sizeof *r->stop)))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    if (!(r->stop[r->n_stop] = tlm_strdup(json_string_value(v))))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    r->n_stop++;
    return 0;
}

int tlm_field_stop(const json_t *obj, const char *key, const char *param, tlm_srv_request *r,
                   tlm_api_error *e) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v)) return add_stop(r, v, param, e) ? -1 : 1;
    size_t i;
    const json_t *s;
    json_array_foreach(v, i, s) if (add_stop(r, s, param, e)) return -1;
    return 1;
}

/* ---- Messages ---- */

/* The text of a content field: a string, or the text parts of an array
 * joined together.  Non-text parts are refused: this server reads text. */
static int content_text(const json_t *c, const char *param, tlm_buf *out, tlm_api_error *e) {
    if (json_is_string(c))
        return tlm_buf_append(out, json_string_value(c), json_string_length(c)) ? -1 : 0;
    if (!json_is_array(c)) return wrong_type(e, param, "a string or an array of parts", c);
    size_t i;
    const json_t *part;
    json_array_foreach(c, i, part) {
        if (!json_is_object(part)) return wrong_type(e, param, "an array of content parts", part);
        const char *type = json_string_value(json_object_get(part, "type"));
        const json_t *text = json_object_get(part, "text");
        if (type && strcmp(type, "text") && strcmp(type, "input_text"))
            return TLM_BAD_REQUEST(e, "unsupported_content", param,
                                   "content part type '%s' is not supported: this server's "
                                   "models read text only",
                                   type);
        if (!json_is_string(text))
            return TLM_BAD_REQUEST(e, "invalid_type", param,
                                   "each content part needs \"type\": \"text\" and a string "
                                   "\"text\"");
        if (tlm_buf_append(out, json_string_value(text), json_string_length(text))) return -1;
    }
    return 0;
}

static const char *const roles[] = {"system", "user", "assistant", "tool", "developer"};

static int check_role(const json_t *m, const char *param, const char **role, tlm_api_error *e) {
    const json_t *v = json_object_get(m, "role");
    if (!json_is_string(v))
        return TLM_BAD_REQUEST(e, v ? "invalid_type" : "missing_field", param,
                               "'%s' must be a string: one of system, user, assistant, tool",
                               param);
    for (size_t i = 0; i < TLM_ARRAY_LEN(roles); i++)
        if (!strcmp(json_string_value(v), roles[i])) {
            /* OpenAI's newer name for the system role. */
            *role = i == 4 ? "system" : roles[i];
            return 0;
        }
    return TLM_BAD_REQUEST(e, "invalid_value", param,
                           "'%s' is '%s'; expected one of system, user, assistant, tool", param,
                           json_string_value(v));
}

/* One message, normalised: role, content as a string, and the tool fields
 * the chat templates understand. */
static json_t *normalise_message(const json_t *m, size_t i, tlm_api_error *e) {
    char param[64];
    snprintf(param, sizeof param, "messages[%zu]", i);
    if (!json_is_object(m)) {
        wrong_type(e, param, "an object", m);
        return NULL;
    }
    const char *role = NULL;
    snprintf(param, sizeof param, "messages[%zu].role", i);
    if (check_role(m, param, &role, e)) return NULL;
    const json_t *content = json_object_get(m, "content");
    const json_t *calls = json_object_get(m, "tool_calls");
    snprintf(param, sizeof param, "messages[%zu].content", i);
    bool may_be_empty = !strcmp(role, "assistant") && json_is_array(calls);
    if ((!content || json_is_null(content)) && !may_be_empty) {
        TLM_BAD_REQUEST(e, "missing_field", param, "'%s' is missing", param);
        return NULL;
    }
    tlm_buf text = {0};
    json_t *out = NULL;
    if (content && !json_is_null(content) && content_text(content, param, &text, e)) goto done;
    out = json_pack("{s:s,s:s%}", "role", role, "content", text.data ? text.data : "", text.len);
    if (!out) {
        tlm_api_fail(e, 400, "invalid_request_error", "invalid_value", param,
                     "'%s' is not valid UTF-8 text", param);
        goto done;
    }
    if (json_is_array(calls)) json_object_set(out, "tool_calls", (json_t *)calls);
    const char *keys[] = {"tool_call_id", "name"};
    for (size_t k = 0; k < TLM_ARRAY_LEN(keys); k++) {
        const json_t *v = json_object_get(m, keys[k]);
        if (json_is_string(v)) json_object_set(out, keys[k], (json_t *)v);
    }
done:
    tlm_buf_free(&text);
    return out;
}

int tlm_field_messages(const json_t *obj, const char *key, tlm_srv_request *r,
                       tlm_api_error *e) {
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return TLM_BAD_REQUEST(e, "missing_field", key, "'%s' is required", key);
    if (!json_is_array(v)) return wrong_type(e, key, "an array of messages", v);
    if (json_array_size(v) == 0)
        return TLM_BAD_REQUEST(e, "invalid_value", key,
                               "'%s' is empty: at least one message is needed", key);
    if (!(r->messages = json_array()))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    size_t i;
    const json_t *m;
    json_array_foreach(v, i, m) {
        json_t *n = normalise_message(m, i, e);
        if (!n || json_array_append_new(r->messages, n)) return -1;
    }
    return 1;
}

/* ---- Sampling fields shared by both OpenAI endpoints ---- */

static int parse_logit_bias(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    const json_t *v = json_object_get(root, "logit_bias");
    if (!v || json_is_null(v)) return 0;
    if (!json_is_object(v)) return wrong_type(e, "logit_bias", "an object", v);
    size_t n = json_object_size(v);
    if (n == 0) return 0;
    if (n > 4096) return TLM_BAD_REQUEST(e, "invalid_value", "logit_bias", "at most 4096 entries");
    if (!(r->logit_bias = tlm_calloc(n, sizeof *r->logit_bias)))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    const char *k;
    const json_t *b;
    json_object_foreach((json_t *)v, k, b) {
        char *end;
        long id = strtol(k, &end, 10);
        if (!*k || *end || id < 0 || id > INT32_MAX)
            return TLM_BAD_REQUEST(e, "invalid_value", "logit_bias",
                                   "logit_bias keys must be token ids, got '%s'", k);
        if (!json_is_number(b) || json_number_value(b) < -100 || json_number_value(b) > 100)
            return TLM_BAD_REQUEST(e, "invalid_value", "logit_bias",
                                   "logit_bias[%s] must be a number in [-100, 100]", k);
        double bias = json_number_value(b);
        r->logit_bias[r->n_logit_bias++] =
            (tlm_logit_bias){.token = (tlm_token)id, .bias = bias <= -100 ? -INFINITY : (float)bias};
    }
    return 0;
}

static int parse_sampling(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    int64_t x;
    if (tlm_field_float(root, "temperature", "temperature", 0, 100, &r->temperature, e) < 0 ||
        tlm_field_float(root, "top_p", "top_p", 0, 1, &r->top_p, e) < 0 ||
        tlm_field_float(root, "min_p", "min_p", 0, 1, &r->min_p, e) < 0 ||
        tlm_field_float(root, "typical_p", "typical_p", 0, 1, &r->typical_p, e) < 0 ||
        tlm_field_float(root, "repeat_penalty", "repeat_penalty", 0.01, 100, &r->repeat_penalty,
                        e) < 0 ||
        tlm_field_float(root, "presence_penalty", "presence_penalty", -2, 2,
                        &r->presence_penalty, e) < 0 ||
        tlm_field_float(root, "frequency_penalty", "frequency_penalty", -2, 2,
                        &r->frequency_penalty, e) < 0)
        return -1;
    int got = tlm_field_int(root, "top_k", "top_k", 0, INT32_MAX, &x, e);
    if (got < 0) return -1;
    if (got) r->top_k_set = true, r->top_k = (int32_t)x;
    if ((got = tlm_field_int(root, "repeat_last_n", "repeat_last_n", -1, INT32_MAX, &x, e)) < 0)
        return -1;
    if (got) r->repeat_last_n_set = true, r->repeat_last_n = (int32_t)x;
    if ((got = tlm_field_int(root, "seed", "seed", INT64_MIN, INT64_MAX, &x, e)) < 0) return -1;
    if (got) r->seed_set = true, r->seed = x;
    if (tlm_field_stop(root, "stop", "stop", r, e) < 0) return -1;
    if (tlm_field_bool(root, "ignore_eos", "ignore_eos", &r->ignore_eos, e) < 0) return -1;
    return parse_logit_bias(root, r, e);
}

/* max_completion_tokens is OpenAI's newer name; when both are given it wins. */
static int parse_max_tokens(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    int64_t x;
    int got = tlm_field_int(root, "max_tokens", "max_tokens", 0, INT32_MAX, &x, e);
    if (got < 0) return -1;
    if (got) r->max_tokens = (int32_t)x;
    got = tlm_field_int(root, "max_completion_tokens", "max_completion_tokens", 0, INT32_MAX, &x,
                        e);
    if (got < 0) return -1;
    if (got) r->max_tokens = (int32_t)x;
    got = tlm_field_int(root, "n", "n", 1, TLM_SRV_MAX_N, &x, e);
    if (got < 0) return -1;
    if (got) r->n = (int32_t)x;
    return 0;
}

static int parse_stream(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    if (tlm_field_bool(root, "stream", "stream", &r->stream, e) < 0) return -1;
    const json_t *so = json_object_get(root, "stream_options");
    if (so && !json_is_null(so)) {
        if (!json_is_object(so)) return wrong_type(e, "stream_options", "an object", so);
        if (tlm_field_bool(so, "include_usage", "stream_options.include_usage",
                           &r->include_usage, e) < 0)
            return -1;
    }
    return 0;
}

/* ---- Completion prompts ---- */

static int prompt_ids(const json_t *arr, const char *param, tlm_srv_prompt *p, tlm_api_error *e) {
    size_t n = json_array_size(arr), i;
    const json_t *v;
    if (!(p->ids = tlm_calloc(n ? n : 1, sizeof *p->ids)))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    json_array_foreach(arr, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return TLM_BAD_REQUEST(e, "invalid_type", param,
                                   "'%s' must be a string, an array of strings, or token ids",
                                   param);
        p->ids[p->n_ids++] = (tlm_token)json_integer_value(v);
    }
    return 0;
}

static int add_prompt(tlm_srv_request *r, const json_t *v, tlm_api_error *e) {
    if (r->n_prompts >= TLM_SRV_MAX_PROMPTS)
        return TLM_BAD_REQUEST(e, "invalid_value", "prompt", "at most %d prompts per request",
                               TLM_SRV_MAX_PROMPTS);
    tlm_srv_prompt *p = &r->prompts[r->n_prompts++];
    if (json_is_array(v)) return prompt_ids(v, "prompt", p, e);
    if (!json_is_string(v))
        return wrong_type(e, "prompt", "a string, an array of strings, or token ids", v);
    p->text = tlm_strndup(json_string_value(v), json_string_length(v));
    return p->text ? 0 : tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
}

static int parse_prompts(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    const json_t *v = json_object_get(root, "prompt");
    if (!v || json_is_null(v))
        return TLM_BAD_REQUEST(e, "missing_field", "prompt", "'prompt' is required");
    if (!(r->prompts = tlm_calloc(TLM_SRV_MAX_PROMPTS, sizeof *r->prompts)))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    /* An array of integers is one tokenized prompt; otherwise each entry
     * is a prompt of its own. */
    if (!json_is_array(v) || json_is_integer(json_array_get(v, 0))) return add_prompt(r, v, e);
    if (json_array_size(v) == 0)
        return TLM_BAD_REQUEST(e, "invalid_value", "prompt", "'prompt' is an empty array");
    size_t i;
    const json_t *p;
    json_array_foreach(v, i, p) if (add_prompt(r, p, e)) return -1;
    return 0;
}

/* ---- Entry point ---- */

static int parse_openai(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    const char *model = NULL;
    if (tlm_field_string(root, "model", "model", &model, e) < 0) return -1;
    if (model && model[0] && !(r->model = tlm_strdup(model)))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    if (parse_stream(root, r, e) || parse_sampling(root, r, e) || parse_max_tokens(root, r, e))
        return -1;
    const char *user = NULL;
    if (tlm_field_string(root, "user", "user", &user, e) < 0) return -1;
    if (r->api == TLM_API_CHAT) {
        int64_t k = 0;
        if (tlm_field_messages(root, "messages", r, e) < 0 ||
            tlm_field_bool(root, "logprobs", "logprobs", &r->logprobs, e) < 0 ||
            tlm_field_int(root, "top_logprobs", "top_logprobs", 0, TLM_MAX_TOP_LOGPROBS, &k, e) < 0)
            return -1;
        r->top_logprobs = (int32_t)k;
        if (k > 0 && !r->logprobs)
            return TLM_BAD_REQUEST(e, "invalid_value", "top_logprobs",
                                   "top_logprobs needs \"logprobs\": true");
        return tlm_request_parse_structured(root, r, e);
    }
    /* /v1/completions: logprobs is the number of alternatives (0-5). */
    int64_t k = -1;
    if (parse_prompts(root, r, e) || tlm_field_int(root, "logprobs", "logprobs", 0, 5, &k, e) < 0 ||
        tlm_field_bool(root, "echo", "echo", &r->echo, e) < 0)
        return -1;
    if (k >= 0) r->logprobs = true, r->top_logprobs = (int32_t)k;
    return tlm_request_parse_structured(root, r, e);
}

int tlm_request_parse(tlm_api api, const char *body, size_t len, tlm_srv_request *r,
                      tlm_api_error *e) {
    memset(r, 0, sizeof *r);
    r->api = api;
    r->n = 1;
    r->max_tokens = -1;
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return TLM_BAD_REQUEST(e, "invalid_json", NULL,
                               "the request body is not valid JSON: %s (line %d, column %d)",
                               je.text, je.line, je.column);
    int rc;
    if (!json_is_object(root))
        rc = TLM_BAD_REQUEST(e, "invalid_json", NULL, "the request body must be a JSON object, not %s",
                             type_name(root));
    else if (api == TLM_API_OLLAMA_CHAT || api == TLM_API_OLLAMA_GENERATE)
        rc = tlm_request_parse_ollama(root, r, e);
    else
        rc = parse_openai(root, r, e);
    json_decref(root);
    if (rc) tlm_request_free(r);
    return rc ? -1 : 0;
}

void tlm_request_free(tlm_srv_request *r) {
    if (!r) return;
    tlm_free(r->model);
    json_decref(r->messages);
    for (int32_t i = 0; r->prompts && i < r->n_prompts; i++) {
        tlm_free(r->prompts[i].text);
        tlm_free(r->prompts[i].ids);
    }
    tlm_free(r->prompts);
    tlm_free(r->system);
    for (int32_t i = 0; i < r->n_stop; i++) tlm_free(r->stop[i]);
    tlm_free(r->stop);
    tlm_free(r->logit_bias);
    tlm_free(r->gbnf);
    json_decref(r->tools);
    tlm_free(r->tool_name);
    memset(r, 0, sizeof *r);
}
