/*
 * request_ollama.c - Ollama's /api/chat and /api/generate bodies ->
 * tlm_srv_request (see request.c for the rules).
 *
 * Ollama differs from OpenAI in shape, not in substance: sampling settings
 * live in "options" (num_predict for max_tokens, num_ctx for the context),
 * "stream" defaults to true, and an empty prompt or messages array only
 * loads the model (answered at once with done_reason "load").
 */
#include "server/server.h"

#include <string.h>

static int options(const json_t *o, tlm_srv_request *r, tlm_api_error *e) {
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o))
        return TLM_BAD_REQUEST(e, "invalid_type", "options", "'options' must be an object");
    if (tlm_field_float(o, "temperature", "options.temperature", 0, 100, &r->temperature, e) < 0 ||
        tlm_field_float(o, "top_p", "options.top_p", 0, 1, &r->top_p, e) < 0 ||
        tlm_field_float(o, "min_p", "options.min_p", 0, 1, &r->min_p, e) < 0 ||
        tlm_field_float(o, "typical_p", "options.typical_p", 0, 1, &r->typical_p, e) < 0 ||
        tlm_field_float(o, "repeat_penalty", "options.repeat_penalty", 0.01, 100,
                        &r->repeat_penalty, e) < 0 ||
        tlm_field_float(o, "presence_penalty", "options.presence_penalty", -2, 2,
                        &r->presence_penalty, e) < 0 ||
        tlm_field_float(o, "frequency_penalty", "options.frequency_penalty", -2, 2,
                        &r->frequency_penalty, e) < 0 ||
        tlm_field_stop(o, "stop", "options.stop", r, e) < 0)
        return -1;
    int64_t x;
    int got;
    if ((got = tlm_field_int(o, "top_k", "options.top_k", 0, INT32_MAX, &x, e)) < 0) return -1;
    if (got) r->top_k_set = true, r->top_k = (int32_t)x;
    if ((got = tlm_field_int(o, "repeat_last_n", "options.repeat_last_n", -1, INT32_MAX, &x, e)) <
        0)
        return -1;
    if (got) r->repeat_last_n_set = true, r->repeat_last_n = (int32_t)x;
    if ((got = tlm_field_int(o, "seed", "options.seed", INT64_MIN, INT64_MAX, &x, e)) < 0)
        return -1;
    if (got) r->seed_set = true, r->seed = x;
    /* -1: no limit; -2: until the context is full.  Both end at the context. */
    if ((got = tlm_field_int(o, "num_predict", "options.num_predict", -2, INT32_MAX, &x, e)) < 0)
        return -1;
    if (got) r->max_tokens = x < 0 ? -1 : (int32_t)x;
    if ((got = tlm_field_int(o, "num_ctx", "options.num_ctx", 1, INT32_MAX, &x, e)) < 0) return -1;
    if (got) r->num_ctx = (int32_t)x;
    return 0;
}

/* Fields this server cannot honour are refused rather than ignored. */
static int refuse_unsupported(const json_t *root, tlm_api_error *e) {
    const char *keys[] = {"template", "suffix", "images", "context"};
    for (size_t i = 0; i < TLM_ARRAY_LEN(keys); i++) {
        const json_t *v = json_object_get(root, keys[i]);
        bool empty = !v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
                     (json_is_array(v) && !json_array_size(v));
        if (!empty)
            return TLM_BAD_REQUEST(e, "unsupported_parameter", keys[i],
                                   "'%s' is not supported by this server", keys[i]);
    }
    return 0;
}

static int refuse_images(const json_t *msgs, tlm_api_error *e) {
    size_t i;
    const json_t *m;
    json_array_foreach(msgs, i, m) {
        const json_t *img = json_object_get(m, "images");
        if (json_is_array(img) && json_array_size(img) > 0)
            return TLM_BAD_REQUEST(e, "unsupported_content", "messages",
                                   "messages[%zu] has images: this server's models read text "
                                   "only",
                                   i);
    }
    return 0;
}

static int chat(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    const json_t *msgs = json_object_get(root, "messages");
    if (json_is_array(msgs) && json_array_size(msgs) == 0) {
        r->messages = json_array(); /* just "load the model" */
        return r->messages ? 0 : tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    }
    if (json_is_array(msgs) && refuse_images(msgs, e)) return -1;
    return tlm_field_messages(root, "messages", r, e) < 0 ? -1 : 0;
}

static int generate(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    const char *prompt = "", *system = NULL;
    if (tlm_field_string(root, "prompt", "prompt", &prompt, e) < 0 ||
        tlm_field_string(root, "system", "system", &system, e) < 0 ||
        tlm_field_bool(root, "raw", "raw", &r->raw, e) < 0)
        return -1;
    r->prompts = tlm_calloc(1, sizeof *r->prompts);
    if (!r->prompts) return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    r->n_prompts = 1;
    const json_t *p = json_object_get(root, "prompt");
    r->prompts[0].text = p ? tlm_strndup(prompt, json_string_length(p)) : tlm_strdup("");
    if (system && !(r->system = tlm_strdup(system))) r->prompts[0].text = NULL;
    return r->prompts[0].text ? 0 : tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
}

int tlm_request_parse_ollama(const json_t *root, tlm_srv_request *r, tlm_api_error *e) {
    const char *model = NULL;
    if (tlm_field_string(root, "model", "model", &model, e) < 0) return -1;
    if (!model || !model[0]) return TLM_BAD_REQUEST(e, "missing_field", "model", "model is required");
    if (!(r->model = tlm_strdup(model)))
        return tlm_api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    r->stream = true;
    int64_t k = 0;
    if (refuse_unsupported(root, e) || tlm_field_bool(root, "stream", "stream", &r->stream, e) < 0 ||
        options(json_object_get(root, "options"), r, e) ||
        tlm_field_bool(root, "logprobs", "logprobs", &r->logprobs, e) < 0 ||
        tlm_field_int(root, "top_logprobs", "top_logprobs", 0, TLM_MAX_TOP_LOGPROBS, &k, e) < 0)
        return -1;
    r->top_logprobs = (int32_t)k;
    if (r->api == TLM_API_OLLAMA_CHAT ? chat(root, r, e) : generate(root, r, e)) return -1;
    return tlm_request_parse_structured(root, r, e);
}
