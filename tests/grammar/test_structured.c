/*
 * test_structured.c - the public structured-output API (tlm_structured_*)
 * on a random-weight synth model with the real Qwen2.5 tokenizer: what the
 * model samples at temperature 1 must parse (jansson, an independent
 * parser), a tight token budget must still give a complete document, a
 * token like "},{" that closes one value and opens the next must be
 * allowed exactly where it fits, and generation must stop the moment the
 * root value closes.  The tool-call grammar (grammar/tools.h) is checked
 * against hand-written answers.
 */
#include "core/util.h"
#include "grammar/grammar.h"
#include "grammar/tools.h"
#include "model/synth.h"
#include "test.h"
#include "tinylm.h"

#include <jansson.h>
#include <math.h>
#include <sys/stat.h>

/* Sanitizer builds sample fewer answers: the code paths are the same, and
 * ASan makes every forward pass several times slower. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static tlm_model *model(void) {
    static tlm_model *m;
    static int tried;
    if (tried) return m;
    tried = 1;
    const tlm_synth_preset *p = tlm_synth_find_preset("qwen2-tiny");
    char dir[512], path[600];
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/node_modules/@lenml/tokenizer-%s/models", test_source_dir(),
             p ? p->tokenizer : "");
    if (!p || stat(dir, &sb) != 0) return NULL;
    snprintf(path, sizeof path, "%s/structured-qwen2-tiny.gguf", test_tmp_dir());
    tlm_synth_params sp = {.preset = p, .tokenizer_dir = dir, .type = TLM_TYPE_Q8_0, .seed = 5};
    tlm_error err = {0};
    tlm_status st = tlm_synth_write(&sp, path, &err);
    if (!st) st = tlm_model_load(path, NULL, &m, &err);
    remove(path);
    if (st) fprintf(stderr, "  cannot make the model: %s\n", err.msg);
    return m;
}

#define NEED_MODEL(m)                                                           \
    tlm_model *m = model();                                                     \
    if (!m) SKIP("npm tokenizer packages not installed (run scripts/setup.sh)")

typedef struct out {
    tlm_buf text;
} out;

static int collect(void *user, const char *s, size_t n) {
    tlm_buf_append(&((out *)user)->text, s, n);
    return 0;
}

/* One sampled answer under s: temperature 1, nothing truncated. */
static tlm_status sample(tlm_ctx *c, tlm_structured *s, uint64_t seed, int32_t max_tokens,
                         out *o, tlm_gen_stats *st) {
    tlm_gen_params g = tlm_gen_default_params();
    g.sampling.temperature = 1.0f;
    g.sampling.top_k = 0;
    g.sampling.top_p = 1.0f;
    g.sampling.min_p = 0.0f;
    g.sampling.seed = seed;
    g.max_tokens = max_tokens;
    tlm_token prompt[3] = {1000, 2000, 3000};
    o->text.len = 0;
    tlm_structured_reset(s);
    tlm_error err = {0};
    tlm_status r = tlm_generate(c, prompt, 3, &g, tlm_structured_constraint(s), collect, o, st, &err);
    if (r) fprintf(stderr, "  generate: %s\n", err.msg);
    tlm_buf_append(&o->text, "", 1); /* NUL, not counted */
    o->text.len--;
    return r;
}

static tlm_ctx *context(tlm_model *m) {
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_ctx = 512;
    cp.n_threads = 1;
    tlm_ctx *c = NULL;
    return tlm_ctx_create(m, &cp, &c, NULL) ? NULL : c;
}

TEST(json_object_samples_all_parse) {
    NEED_MODEL(m);
    tlm_structured *s = NULL;
    ASSERT_OK(tlm_structured_create(m, TLM_STRUCTURED_JSON_OBJECT, NULL, 0, &s, NULL));
    tlm_ctx *c = context(m);
    ASSERT(c);
    out o = {0};
    int n = SANITIZED ? 4 : 24;
    for (int i = 0; i < n; i++) {
        tlm_gen_stats st;
        ASSERT_OK(sample(c, s, 100 + (uint64_t)i, 160, &o, &st));
        json_error_t je;
        json_t *doc = json_loadb(o.text.data, o.text.len, 0, &je);
        ASSERT_MSG(doc && json_is_object(doc), "seed %d: %s: %s", 100 + i, je.text, o.text.data);
        ASSERT_EQ(st.finish, TLM_FINISH_STOP);
        ASSERT(tlm_structured_is_complete(s));
        /* Stopped when the object closed: the text ends with it. */
        ASSERT_EQ(o.text.data[o.text.len - 1], '}');
        json_decref(doc);
    }
    tlm_buf_free(&o.text);
    tlm_ctx_free(c);
    tlm_structured_free(s);
}

TEST(tight_budget_still_closes_the_document) {
    NEED_MODEL(m);
    static const char schema[] =
        "{\"type\":\"object\",\"required\":[\"id\",\"tags\"],\"properties\":{"
        "\"id\":{\"type\":\"integer\"},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}";
    tlm_structured *s = NULL;
    ASSERT_OK(tlm_structured_create(m, TLM_STRUCTURED_JSON_SCHEMA, schema, strlen(schema), &s, NULL));
    tlm_ctx *c = context(m);
    ASSERT(c);
    out o = {0};
    /* The shortest document, {"id":0,"tags":[]}, is 19 bytes. */
    const int32_t budgets[] = {19, 24, 32, 48};
    for (size_t b = 0; b < TLM_ARRAY_LEN(budgets); b++)
        for (int i = 0; i < (SANITIZED ? 1 : 6); i++) {
            tlm_gen_stats st;
            ASSERT_OK(sample(c, s, 7 + (uint64_t)i, budgets[b], &o, &st));
            json_t *doc = json_loadb(o.text.data, o.text.len, 0, NULL);
            ASSERT_MSG(doc && json_is_integer(json_object_get(doc, "id")) &&
                           json_is_array(json_object_get(doc, "tags")),
                       "budget %d: %s", budgets[b], o.text.data);
            ASSERT(st.n_gen <= budgets[b]);
            ASSERT_EQ(st.finish, TLM_FINISH_STOP);
            json_decref(doc);
        }
    /* Too small for any document: "length", and the text is a prefix. */
    tlm_gen_stats st;
    ASSERT_OK(sample(c, s, 3, 2, &o, &st));
    ASSERT_EQ(st.finish, TLM_FINISH_LENGTH);
    ASSERT(!tlm_structured_is_complete(s));
    tlm_buf_free(&o.text);
    tlm_ctx_free(c);
    tlm_structured_free(s);
}

/* The id of the token whose bytes are exactly t, or -1. */
static tlm_token find_token(const tlm_model *m, const char *t) {
    char buf[64];
    for (tlm_token i = 0; i < tlm_model_n_vocab(m); i++) {
        int32_t n = tlm_model_token_to_bytes(m, i, buf, sizeof buf);
        if (n == (int32_t)strlen(t) && !memcmp(buf, t, (size_t)n)) return i;
    }
    return -1;
}

TEST(a_token_that_closes_and_opens_is_allowed_where_it_fits) {
    NEED_MODEL(m);
    tlm_token tricky = find_token(m, "\"},{\"");
    if (tricky < 0) SKIP("the vocabulary has no \"},{\" token");
    static const char gbnf[] = "root ::= \"[\" obj (\",\" obj)* \"]\"\n"
                               "obj ::= \"{\\\"a\\\":\\\"\" [a-z]* \"\\\"}\"\n";
    tlm_structured *s = NULL;
    ASSERT_OK(tlm_structured_create(m, TLM_STRUCTURED_GBNF, gbnf, strlen(gbnf), &s, NULL));
    const tlm_constraint *k = tlm_structured_constraint(s);
    int32_t nv = tlm_model_n_vocab(m);
    float *logits = tlm_malloc((size_t)nv * sizeof *logits);
    /* Feed [{"a":"x one byte token at a time; "},{" is not allowed before. */
    const char *prefix = "[{\"a\":\"x";
    for (const char *p = prefix; *p; p++) {
        for (int32_t i = 0; i < nv; i++) logits[i] = 0;
        k->apply(k->user, logits, nv);
        char one[2] = {*p, 0};
        tlm_token t = find_token(m, one);
        ASSERT(t >= 0 && isfinite(logits[t]));
        if (p - prefix < 6) ASSERT(!isfinite(logits[tricky]));
        k->accept(k->user, t);
    }
    for (int32_t i = 0; i < nv; i++) logits[i] = 0;
    k->apply(k->user, logits, nv);
    ASSERT(isfinite(logits[tricky]));
    k->accept(k->user, tricky);
    ASSERT(!tlm_structured_is_complete(s));
    /* Now inside the second object's key: "a":"" then "}]" completes. */
    const char *rest[] = {"a", "\":\"", "\"}", "]"};
    for (size_t r = 0; r < TLM_ARRAY_LEN(rest); r++) {
        tlm_token t = find_token(m, rest[r]);
        ASSERT(t >= 0);
        for (int32_t i = 0; i < nv; i++) logits[i] = 0;
        k->apply(k->user, logits, nv);
        ASSERT_MSG(isfinite(logits[t]), "'%s' refused", rest[r]);
        k->accept(k->user, t);
    }
    ASSERT(tlm_structured_is_complete(s));
    ASSERT(k->done(k->user));
    /* Only end-of-generation tokens remain. */
    for (int32_t i = 0; i < nv; i++) logits[i] = 0;
    k->apply(k->user, logits, nv);
    for (int32_t i = 0; i < nv; i++)
        if (isfinite(logits[i])) ASSERT(tlm_model_is_eog(m, i));
    tlm_free(logits);
    tlm_structured_free(s);
}

TEST(errors_name_the_problem_and_the_vocab_is_built_once) {
    NEED_MODEL(m);
    tlm_structured *s = NULL;
    tlm_error err = {0};
    static const char bad_schema[] = "{\"type\":\"array\",\"uniqueItems\":true}";
    ASSERT_EQ(tlm_structured_create(m, TLM_STRUCTURED_JSON_SCHEMA, bad_schema, strlen(bad_schema),
                                    &s, &err),
              TLM_ERR_UNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "uniqueItems");
    ASSERT(!s);
    static const char bad_gbnf[] = "root ::= \"a\" (\n";
    ASSERT_EQ(tlm_structured_create(m, TLM_STRUCTURED_GBNF, bad_gbnf, strlen(bad_gbnf), &s, &err),
              TLM_ERR_FORMAT);
    ASSERT_CONTAINS(err.msg, "line");
    const tlm_grammar_vocab *a = NULL, *b = NULL;
    ASSERT_OK(tlm_grammar_vocab_of_model(m, &a, NULL));
    ASSERT_OK(tlm_grammar_vocab_of_model(m, &b, NULL));
    ASSERT(a && a == b);
    ASSERT_EQ(tlm_grammar_vocab_size(a), tlm_model_n_vocab(m));
    /* Control tokens are never text; end tokens are end tokens. */
    ASSERT_EQ(tlm_grammar_vocab_kind(a, tlm_model_eos(m)), TLM_GTOK_EOG);
    uint64_t t0 = tlm_time_ns();
    ASSERT_OK(tlm_structured_create(m, TLM_STRUCTURED_JSON_OBJECT, NULL, 0, &s, NULL));
    double ms = (double)(tlm_time_ns() - t0) / 1e6;
    ASSERT_MSG(ms < (SANITIZED ? 500 : 50), "creating one took %.1f ms", ms);
    tlm_structured_free(s);
}

static bool matches(const char *gbnf, const char *text) {
    tlm_grammar *g = NULL;
    tlm_error err = {0};
    if (tlm_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err)) {
        fprintf(stderr, "  parse: %s\n", err.msg);
        return false;
    }
    bool ok = tlm_grammar_matches(g, text, strlen(text));
    tlm_grammar_free(g);
    return ok;
}

/* Hand-written answers in and out of the tool-call grammar (no model). */
TEST(tool_call_grammar_accepts_exactly_declared_calls) {
    tlm_tool_spec tools[2] = {
        {"add", "{\"type\":\"object\",\"required\":[\"a\"],\"additionalProperties\":false,"
                "\"properties\":{\"a\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":9}}}"},
        {"ping", NULL}};
    tlm_tool_grammar_opts o = {.tools = tools, .n_tools = 2, .max_calls = 2};
    char *g = NULL;
    ASSERT_OK(tlm_tool_call_gbnf(&o, &g, NULL));
    const char *add = "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\":7}}\n</tool_call>";
    const char *ping = "<tool_call>\n{\"name\": \"ping\", \"arguments\": {}}\n</tool_call>";
    char two[512];
    snprintf(two, sizeof two, "%s\n%s", add, ping);
    ASSERT(matches(g, add));
    ASSERT(matches(g, two));
    ASSERT(!matches(g, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\":17}}\n</tool_call>"));
    ASSERT(!matches(g, "<tool_call>\n{\"name\": \"sub\", \"arguments\": {}}\n</tool_call>"));
    ASSERT(!matches(g, "hello")); /* required: no text */
    char three[1024];
    snprintf(three, sizeof three, "%s\n%s", two, add);
    ASSERT(!matches(g, three)); /* max_calls */
    tlm_free(g);
    /* auto: text that does not start with '<', or calls; a named choice. */
    o.allow_text = true;
    o.only = "ping";
    ASSERT_OK(tlm_tool_call_gbnf(&o, &g, NULL));
    ASSERT(matches(g, "hello <b>"));
    ASSERT(matches(g, ping));
    ASSERT(!matches(g, add));
    ASSERT(!matches(g, "<b>"));
    tlm_free(g);
    o.only = "nope";
    tlm_error err = {0};
    ASSERT_EQ(tlm_tool_call_gbnf(&o, &g, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "nope");
    /* An unsupported keyword in parameters names the tool and the keyword. */
    tlm_tool_spec bad = {"f", "{\"type\":\"object\",\"not\":{}}"};
    tlm_tool_grammar_opts ob = {.tools = &bad, .n_tools = 1, .max_calls = 1};
    ASSERT_EQ(tlm_tool_call_gbnf(&ob, &g, &err), TLM_ERR_UNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "'f'");
    ASSERT_CONTAINS(err.msg, "not");
}

TEST_MAIN(TEST_ENTRY(tool_call_grammar_accepts_exactly_declared_calls),
          TEST_ENTRY(json_object_samples_all_parse), TEST_ENTRY(tight_budget_still_closes_the_document),
          TEST_ENTRY(a_token_that_closes_and_opens_is_allowed_where_it_fits),
          TEST_ENTRY(errors_name_the_problem_and_the_vocab_is_built_once))
