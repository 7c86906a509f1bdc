/*
 * test_gbnf.c - the GBNF parser: what it accepts, what each construct
 * matches (against hand-listed strings), and the errors it reports (line,
 * column and what was expected).
 */
#include "grammar/grammar.h"
#include "test.h"

static bool matches(const char *gbnf, const char *text, size_t len) {
    tlm_grammar *g = NULL;
    tlm_error err = {0};
    if (tlm_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err)) {
        fprintf(stderr, "  parse failed: %s\n", err.msg);
        return false;
    }
    bool ok = tlm_grammar_matches(g, text, len);
    tlm_grammar_free(g);
    return ok;
}

/* Grammar, text, expected: each construct of the format. */
static const struct {
    const char *gbnf, *text;
    bool match;
} cases[] = {
    {"root ::= \"abc\"", "abc", true},
    {"root ::= \"abc\"", "ab", false},
    {"root ::= \"abc\"", "abcd", false},
    {"root ::= \"a\" | \"b\"", "b", true},
    {"root ::= (\"a\" | \"b\") \"c\"", "bc", true},
    {"root ::= (\"a\" | \"b\") \"c\"", "c", false},
    {"root ::= \"a\"?", "", true},
    {"root ::= \"a\"?", "aa", false},
    {"root ::= \"a\"*", "", true},
    {"root ::= \"a\"*", "aaaaaaa", true},
    {"root ::= \"a\"+", "", false},
    {"root ::= \"ab\"+", "ababab", true},
    {"root ::= \"ab\"+", "ababa", false},
    {"root ::= \"a\"{2,4}", "a", false},
    {"root ::= \"a\"{2,4}", "aa", true},
    {"root ::= \"a\"{2,4}", "aaaa", true},
    {"root ::= \"a\"{2,4}", "aaaaa", false},
    {"root ::= \"a\"{3}", "aaa", true},
    {"root ::= \"a\"{3}", "aaaa", false},
    {"root ::= \"a\"{2,}", "a", false},
    {"root ::= \"a\"{2,}", "aaaaaaaaa", true},
    {"root ::= \"a\"{,2}", "", true},
    {"root ::= \"a\"{,2}", "aaa", false},
    {"root ::= \"a\"{0}", "", true},
    {"root ::= [a-c]+", "abcabc", true},
    {"root ::= [a-c]+", "abd", false},
    {"root ::= [^a-c]", "d", true},
    {"root ::= [^a-c]", "b", false},
    {"root ::= [^a-c]", "\xc3\xa9", true},
    {"root ::= .", "\xf0\x9f\x98\x80", true},
    {"root ::= .", "ab", false},
    {"root ::= \"\\n\\t\\\\\\\"\"", "\n\t\\\"", true},
    {"root ::= \"\\x41\\u00e9\\U0001F600\"", "A\xc3\xa9\xf0\x9f\x98\x80", true},
    {"root ::= [\\x41-\\x43]", "B", true},
    {"root ::= [\\]\\[\\-]+", "][-", true},
    {"root ::= [α-ω]+", "αβω", true},
    {"root ::= [α-ω]+", "αAω", false},
    {"root ::= \"é\"", "\xc3\xa9", true},
    {"root ::= \"é\"", "\xc3", false},
    {"root ::= [-a]", "-", true},
    {"root ::= [a-]", "-", true},
    /* Multi-line rules, comments, rules in any order. */
    {"# a comment\nroot ::= x y # trailing\n  | y\nx ::= \"x\"\ny ::=\n  \"y\" # y\n", "xy", true},
    {"root ::= x y\nx ::= \"x\"\ny ::= \"y\"", "y", false},
    {"root ::= ( \"a\"\n  \"b\" )\n", "ab", true},
    /* Right recursion (balanced brackets) is fine. */
    {"root ::= \"(\" root \")\" | \"\"", "((()))", true},
    {"root ::= \"(\" root \")\" | \"\"", "(()", false},
    /* A nullable prefix before recursion that consumes. */
    {"root ::= \"a\"? \"b\" root | \"c\"", "abbc", true},
    /* Useless alternatives (rules that never finish) are dropped. */
    {"root ::= \"a\" | \"b\" loop\nloop ::= \"x\" loop", "a", true},
    {"root ::= \"a\" | \"b\" loop\nloop ::= \"x\" loop", "bx", false},
    /* An empty class matches nothing; its alternative is dropped. */
    {"root ::= [^\\x00-\\U0010FFFF] | \"z\"", "z", true},
};

TEST(constructs) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(cases); i++) {
        bool got = matches(cases[i].gbnf, cases[i].text, strlen(cases[i].text));
        ASSERT_MSG(got == cases[i].match, "case %zu: %s on \"%s\": got %d", i, cases[i].gbnf, cases[i].text, got);
    }
}

TEST(nul_bytes) {
    ASSERT(matches("root ::= \"a\" \"\\x00\"? [\\x00-\\x01]", "a\0\1", 3));
    ASSERT(matches("root ::= \"a\" \"\\x00\"? [\\x00-\\x01]", "a\1", 2));
    ASSERT(!matches("root ::= \"a\" \"\\x00\"? [\\x00-\\x01]", "a\2", 2));
}

/* Grammar, error code, expected text in the message. */
static const struct {
    const char *gbnf;
    tlm_status code;
    const char *msg;
} errors[] = {
    {"root ::= \"a", TLM_ERR_FORMAT, "line 1, column 10: unterminated string literal"},
    {"root ::= foo", TLM_ERR_FORMAT, "line 1, column 10: undefined rule 'foo'"},
    {"root ::= [b-a]", TLM_ERR_FORMAT, "character range out of order"},
    {"root ::= \"a\"\nroot ::= \"b\"", TLM_ERR_FORMAT, "line 2, column 1: rule defined twice"},
    {"root ::= \"a\"{3,1}", TLM_ERR_FORMAT, "n < m"},
    {"root ::= ( \"a\"", TLM_ERR_FORMAT, "unclosed '('"},
    {"root ::= \"a\" )", TLM_ERR_FORMAT, "unmatched ')'"},
    {"root ::= \"\\q\"", TLM_ERR_FORMAT, "unknown escape"},
    {"root ::= \"\\xZZ\"", TLM_ERR_FORMAT, "expected a hex digit"},
    {"root ::= \"\\uD800\"", TLM_ERR_FORMAT, "not a Unicode scalar value"},
    {"x ::= \"a\"", TLM_ERR_FORMAT, "no rule named 'root'"},
    {"root ::= *", TLM_ERR_FORMAT, "expected an element before the repetition"},
    {"root ::= \"a\"**", TLM_ERR_FORMAT, "expected an element before the repetition"},
    {"root ::= \"a\"{x}", TLM_ERR_FORMAT, "expected a count in {}"},
    {"root ::= \"a\"{2", TLM_ERR_FORMAT, "expected '}'"},
    {"root ::= \"a\"{1000000}", TLM_ERR_RANGE, "repetition count too large"},
    {"root \"a\"", TLM_ERR_FORMAT, "line 1, column 6: expected '::='"},
    {"::= \"a\"", TLM_ERR_FORMAT, "expected a rule name"},
    {"root ::= \"a\" @", TLM_ERR_FORMAT, "column 14: expected a literal, class, rule name"},
    {"root ::= root \"a\" | \"b\"", TLM_ERR_FORMAT, "rule 'root' is left-recursive"},
    {"root ::= a\na ::= b \"x\"\nb ::= \"y\"? a | \"z\"", TLM_ERR_FORMAT, "left-recursive"},
    {"root ::= (\"a\"?)*", TLM_ERR_FORMAT, "left-recursive"},
    {"root ::= x\nx ::= \"a\" x", TLM_ERR_FORMAT, "rule 'root' matches no string"},
    {"root ::= \"\xc3\"", TLM_ERR_FORMAT, "invalid UTF-8"},
    {"root ::= \"a\"\n\n  [", TLM_ERR_FORMAT, "line 3, column 3: unterminated character class"},
};

TEST(errors) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(errors); i++) {
        tlm_grammar *g = NULL;
        tlm_error err = {0};
        tlm_status st = tlm_grammar_parse(errors[i].gbnf, strlen(errors[i].gbnf), NULL, &g, &err);
        ASSERT_MSG(st == errors[i].code, "case %zu (%s): status %d", i, errors[i].gbnf, st);
        ASSERT(g == NULL);
        ASSERT_CONTAINS(err.msg, errors[i].msg);
    }
}

TEST(other_root_and_counts) {
    const char *gb = "start ::= item+\nitem ::= [0-9] \",\"";
    tlm_grammar *g = NULL;
    tlm_error err = {0};
    ASSERT_OK(tlm_grammar_parse(gb, strlen(gb), "start", &g, &err));
    ASSERT(tlm_grammar_n_rules(g) >= 2);
    ASSERT(tlm_grammar_matches(g, "1,2,", 4));
    ASSERT(!tlm_grammar_matches(g, "1,2", 3));
    tlm_grammar_free(g);
    ASSERT_EQ(tlm_grammar_parse(gb, strlen(gb), NULL, &g, &err), TLM_ERR_FORMAT);
}

/* Large but legal expansions stay bounded; huge ones fail cleanly. */
TEST(expansion_limits) {
    const char *ok = "root ::= [a-z]{0,5000}";
    tlm_grammar *g = NULL;
    tlm_error err = {0};
    ASSERT_OK(tlm_grammar_parse(ok, strlen(ok), NULL, &g, &err));
    char text[5001];
    memset(text, 'q', 5000);
    ASSERT(tlm_grammar_matches(g, text, 5000));
    ASSERT(!tlm_grammar_matches(g, "Q", 1));
    tlm_grammar_free(g);
    /* Nested repetitions share their inner rule, so they stay small... */
    const char *nested = "root ::= ((((\"a\"{100}){100}){100}){100})";
    ASSERT_OK(tlm_grammar_parse(nested, strlen(nested), NULL, &g, &err));
    ASSERT(tlm_grammar_n_elems(g) < 2000);
    ASSERT(!tlm_grammar_matches(g, "aaaa", 4));
    tlm_grammar_free(g);
    /* ...but 45 copies of 100000 items pass the 4M-item cap. */
    tlm_buf huge = {0};
    tlm_buf_appendf(&huge, "root ::=");
    for (int i = 0; i < 45; i++) tlm_buf_appendf(&huge, " \"a\"{100000}");
    tlm_status st = tlm_grammar_parse(huge.data, huge.len, NULL, &g, &err);
    tlm_buf_free(&huge);
    ASSERT_EQ(st, TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "too large");
}

TEST_MAIN(TEST_ENTRY(constructs), TEST_ENTRY(nul_bytes), TEST_ENTRY(errors), TEST_ENTRY(other_root_and_counts),
          TEST_ENTRY(expansion_limits))
