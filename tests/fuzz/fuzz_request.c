/*
 * fuzz_request.c - libFuzzer target for the server's request parser and
 * validator (src/server/request.c, request_ollama.c): the first byte picks
 * the endpoint (chat, completions, Ollama chat, Ollama generate), the rest
 * is the body.  Any input must parse or fail with a 4xx/5xx error whose
 * message is valid JSON text; never crash, leak or read out of bounds.
 * Accepted requests are also checked for the invariants the rest of the
 * server relies on.
 */
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const tlm_srv_request *r) {
    if (r->n < 1 || r->n > TLM_SRV_MAX_N || r->max_tokens < -1) abort();
    if (r->n_stop < 0 || r->n_stop > TLM_SRV_MAX_STOP) abort();
    for (int32_t i = 0; i < r->n_stop; i++)
        if (!r->stop[i] || !r->stop[i][0]) abort();
    if (r->top_logprobs < 0 || r->top_logprobs > TLM_MAX_TOP_LOGPROBS) abort();
    if ((r->api == TLM_API_CHAT || r->api == TLM_API_OLLAMA_CHAT) && !json_is_array(r->messages))
        abort();
    if (r->api == TLM_API_COMPLETION && (r->n_prompts < 1 || r->n_prompts > TLM_SRV_MAX_PROMPTS))
        abort();
    if (r->api == TLM_API_OLLAMA_GENERATE && (r->n_prompts != 1 || !r->prompts[0].text)) abort();
    /* The normalised messages must render back to JSON. */
    char *s = r->messages ? json_dumps(r->messages, JSON_COMPACT) : NULL;
    if (r->messages && !s) abort();
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    tlm_api api = (tlm_api)(data[0] % TLM_API_COUNT);
    tlm_srv_request r;
    tlm_api_error e;
    memset(&e, 0, sizeof e);
    if (tlm_request_parse(api, (const char *)data + 1, size - 1, &r, &e) == 0) {
        check_request(&r);
        tlm_request_free(&r);
        return 0;
    }
    if (e.status < 400 || e.status > 599 || !e.message[0]) abort();
    json_t *o = tlm_openai_error_json(&e);
    if (!o) abort(); /* the message must be valid UTF-8 */
    json_decref(o);
    return 0;
}
