/*
 * test_server_request.c - the server's request parser (src/server/request.c,
 * request_ollama.c): fields land where they should with the documented
 * defaults, each API's own spelling maps to the same settings, and each
 * kind of mistake is a 400 naming the field (a table of cases).
 */
#include "server/server.h"
#include "test.h"

#include <math.h>

static int parse(tlm_api api, const char *body, tlm_srv_request *r, tlm_api_error *e) {
    memset(e, 0, sizeof *e);
    return tlm_request_parse(api, body, strlen(body), r, e);
}

TEST(chat_fields_and_defaults) {
    tlm_srv_request r;
    tlm_api_error e;
    ASSERT_OK(parse(TLM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &r, &e));
    ASSERT_EQ(r.n, 1);
    ASSERT_EQ(r.max_tokens, -1);
    ASSERT(!r.stream && !r.temperature.set && !r.seed_set && !r.model);
    tlm_request_free(&r);
    const char *body =
        "{\"model\":\"m1\",\"messages\":[{\"role\":\"developer\",\"content\":\"sys\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"ab\"},{\"type\":\"text\","
        "\"text\":\"cd\"}]}],\"temperature\":0.5,\"top_k\":7,\"seed\":-3,\"max_tokens\":5,"
        "\"max_completion_tokens\":9,\"stop\":[\"x\",\"\",\"yz\"],\"n\":2,\"stream\":true,"
        "\"stream_options\":{\"include_usage\":true},\"logit_bias\":{\"12\":-100,\"3\":1.5},"
        "\"logprobs\":true,\"top_logprobs\":4,\"unknown_field\":{\"ignored\":[1]}}";
    ASSERT_OK(parse(TLM_API_CHAT, body, &r, &e));
    ASSERT_STR_EQ(r.model, "m1");
    ASSERT(r.temperature.set);
    ASSERT_NEAR(r.temperature.v, 0.5, 1e-7);
    ASSERT(r.top_k_set);
    ASSERT_EQ(r.top_k, 7);
    ASSERT(r.seed_set);
    ASSERT_EQ(r.seed, -3);
    ASSERT_EQ(r.max_tokens, 9); /* max_completion_tokens wins */
    ASSERT_EQ(r.n_stop, 2);     /* the empty stop string is dropped */
    ASSERT_STR_EQ(r.stop[1], "yz");
    ASSERT_EQ(r.n, 2);
    ASSERT(r.stream && r.include_usage && r.logprobs);
    ASSERT_EQ(r.top_logprobs, 4);
    ASSERT_EQ(r.n_logit_bias, 2);
    for (int i = 0; i < 2; i++) {
        if (r.logit_bias[i].token == 12) ASSERT(isinf(r.logit_bias[i].bias) && r.logit_bias[i].bias < 0);
        if (r.logit_bias[i].token == 3) ASSERT_NEAR(r.logit_bias[i].bias, 1.5, 1e-7);
    }
    json_t *m0 = json_array_get(r.messages, 0), *m1 = json_array_get(r.messages, 1);
    ASSERT_STR_EQ(json_string_value(json_object_get(m0, "role")), "system");
    ASSERT_STR_EQ(json_string_value(json_object_get(m1, "content")), "abcd");
    tlm_request_free(&r);
}

TEST(ollama_maps_to_the_same_settings) {
    tlm_srv_request r;
    tlm_api_error e;
    const char *body = "{\"model\":\"q\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                       "\"options\":{\"temperature\":0.2,\"num_predict\":12,\"seed\":4,\"stop\":"
                       "[\"\\n\"],\"num_ctx\":256,\"top_k\":3,\"repeat_last_n\":-1}}";
    ASSERT_OK(parse(TLM_API_OLLAMA_CHAT, body, &r, &e));
    ASSERT(r.stream); /* Ollama streams unless told not to */
    ASSERT_EQ(r.max_tokens, 12);
    ASSERT_EQ(r.seed, 4);
    ASSERT_EQ(r.num_ctx, 256);
    ASSERT_EQ(r.top_k, 3);
    ASSERT_EQ(r.repeat_last_n, -1);
    ASSERT_STR_EQ(r.stop[0], "\n");
    ASSERT_NEAR(r.temperature.v, 0.2, 1e-7);
    tlm_request_free(&r);
    ASSERT_OK(parse(TLM_API_OLLAMA_GENERATE,
                    "{\"model\":\"q\",\"prompt\":\"p\",\"system\":\"s\",\"raw\":true,\"stream\":"
                    "false,\"options\":{\"num_predict\":-2}}",
                    &r, &e));
    ASSERT(!r.stream && r.raw);
    ASSERT_EQ(r.max_tokens, -1);
    ASSERT_STR_EQ(r.prompts[0].text, "p");
    ASSERT_STR_EQ(r.system, "s");
    tlm_request_free(&r);
}

TEST(completion_prompts) {
    tlm_srv_request r;
    tlm_api_error e;
    ASSERT_OK(parse(TLM_API_COMPLETION, "{\"prompt\":[\"a\",\"bc\"],\"logprobs\":2}", &r, &e));
    ASSERT_EQ(r.n_prompts, 2);
    ASSERT_STR_EQ(r.prompts[1].text, "bc");
    ASSERT(r.logprobs);
    ASSERT_EQ(r.top_logprobs, 2);
    tlm_request_free(&r);
    ASSERT_OK(parse(TLM_API_COMPLETION, "{\"prompt\":[5,6,7]}", &r, &e));
    ASSERT_EQ(r.n_prompts, 1);
    ASSERT_EQ(r.prompts[0].n_ids, 3);
    ASSERT_EQ(r.prompts[0].ids[2], 7);
    ASSERT(!r.prompts[0].text);
    tlm_request_free(&r);
}

static const struct {
    tlm_api api;
    const char *body;
    int status;
    const char *param; /* "" = none */
} bad[] = {
    {TLM_API_CHAT, "{", 400, ""},
    {TLM_API_CHAT, "7", 400, ""},
    {TLM_API_CHAT, "{}", 400, "messages"},
    {TLM_API_CHAT, "{\"messages\":[]}", 400, "messages"},
    {TLM_API_CHAT, "{\"messages\":[{\"role\":\"user\"}]}", 400, "messages[0].content"},
    {TLM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":17}", 400, "n"},
    {TLM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":-1}", 400, "top_p"},
    {TLM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":{}}", 400, "stop"},
    {TLM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{}]}", 400, "tools[0]"},
    {TLM_API_COMPLETION, "{\"prompt\":true}", 400, "prompt"},
    {TLM_API_OLLAMA_CHAT, "{\"messages\":[]}", 400, "model"},
    {TLM_API_OLLAMA_CHAT, "{\"model\":\"q\",\"messages\":[],\"options\":[]}", 400, "options"},
    {TLM_API_OLLAMA_GENERATE, "{\"model\":\"q\",\"options\":{\"top_k\":\"3\"}}", 400, "options.top_k"},
    {TLM_API_OLLAMA_GENERATE, "{\"model\":\"q\",\"images\":[\"x\"]}", 400, "images"},
};

TEST(mistakes_name_the_field) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(bad); i++) {
        tlm_srv_request r;
        tlm_api_error e;
        int rc = parse(bad[i].api, bad[i].body, &r, &e);
        ASSERT_MSG(rc == -1, "case %zu (%s) was accepted", i, bad[i].body);
        ASSERT_EQ(e.status, bad[i].status);
        ASSERT_MSG(!strcmp(e.param, bad[i].param), "case %zu: param '%s', expected '%s' (%s)", i,
                   e.param, bad[i].param, e.message);
        ASSERT(e.message[0]);
    }
}

TEST(long_error_messages_stay_valid_utf8) {
    tlm_api_error e;
    char big[2000] = "";
    for (int i = 0; i < 300; i++) strcat(big, "\xc3\xa9"); /* é */
    tlm_api_fail(&e, 400, "invalid_request_error", NULL, NULL, "x%s", big);
    json_t *o = tlm_openai_error_json(&e);
    ASSERT(o != NULL);
    json_decref(o);
}

TEST_MAIN(TEST_ENTRY(chat_fields_and_defaults), TEST_ENTRY(ollama_maps_to_the_same_settings),
          TEST_ENTRY(completion_prompts), TEST_ENTRY(mistakes_name_the_field),
          TEST_ENTRY(long_error_messages_stay_valid_utf8))
