/*
 * test_json_schema.c - JSON Schema to grammar.
 *
 * References: hand-checked documents per schema (JSON Schema semantics),
 * integer arithmetic for ranges, strtod for number bounds, PCRE2 for
 * patterns (search semantics, with lengths), and jansson for "is this JSON".
 * The end-to-end check against an independent validator (ajv) is the script
 * test schema_fuzz.test.sh.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "grammar/grammar.h"
#include "test.h"

#include <dirent.h>
#include <jansson.h>
#include <pcre2.h>

static tlm_grammar *compile(const char *schema, tlm_buf *warnings) {
    char *gbnf = NULL;
    tlm_error err = {0};
    tlm_grammar *g = NULL;
    if (tlm_json_schema_to_gbnf(schema, strlen(schema), &gbnf, warnings, &err)) {
        fprintf(stderr, "  schema: %s\n", err.msg);
        return NULL;
    }
    if (tlm_grammar_parse(gbnf, strlen(gbnf), NULL, &g, &err)) fprintf(stderr, "  gbnf: %s\n%s\n", err.msg, gbnf);
    tlm_free(gbnf);
    return g;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    tlm_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) tlm_buf_append(&b, chunk, n);
    fclose(f);
    return b.data;
}

TEST(corpus_compiles) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/grammar/schemas", test_source_dir());
    DIR *d = opendir(dir);
    if (!d) SKIP("schema corpus not found");
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".json")) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = slurp(path);
        ASSERT(text);
        tlm_grammar *g = compile(text, NULL);
        ASSERT_MSG(g, "%s does not compile", e->d_name);
        tlm_grammar_free(g);
        free(text);
        n++;
    }
    closedir(d);
    ASSERT(n >= 20);
}

/* Schema file (in the corpus), document, valid per JSON Schema. */
static const struct {
    const char *file, *doc;
    bool valid;
} docs[] = {
    {"01_person", "{\"name\":\"Al\",\"age\":30}", true},
    {"01_person", "{ \"name\": \"Al\", \"age\": 0, \"nickname\": \"\", \"active\": false }", true},
    {"01_person", "{\"age\":30}", false},
    {"01_person", "{\"name\":\"\",\"age\":30}", false},
    {"01_person", "{\"name\":\"Al\",\"age\":131}", false},
    {"01_person", "{\"name\":\"Al\",\"age\":-1}", false},
    {"01_person", "{\"name\":\"Al\",\"age\":30,\"other\":1}", false},
    {"01_person", "{\"name\":\"Al\",\"age\":030}", false},
    {"01_person", "{\"name\":\"Al\",\"age\":30}  ", false}, /* nothing after the root value */
    {"02_nested_address", "{\"customer\":{\"id\":7,\"address\":{\"city\":\"Lyon\",\"zip\":\"69001\",\"country\":\"FR\"}}}", true},
    {"02_nested_address", "{\"customer\":{\"id\":7,\"address\":{\"city\":\"Lyon\",\"country\":\"XX\"}}}", false},
    {"02_nested_address", "{\"customer\":{\"id\":7,\"address\":{\"city\":\"Lyon\",\"zip\":\"6900\",\"country\":\"FR\"}}}", false},
    {"03_array_bounds", "{\"scores\":[1,2.5],\"matrix\":[[1]]}", true},
    {"03_array_bounds", "{\"scores\":[1],\"matrix\":[[1]]}", false},
    {"03_array_bounds", "{\"scores\":[1,2,3,4,5,6],\"matrix\":[[1]]}", false},
    {"03_array_bounds", "{\"scores\":[1,11],\"matrix\":[[1]]}", false},
    {"03_array_bounds", "{\"scores\":[1,2],\"matrix\":[[]]}", false},
    {"04_enum_const", "{\"status\":null,\"kind\":\"ticket\",\"priority\":2,\"meta\":{\"v\":1,\"tags\":[\"a\",\"b\"]}}", true},
    {"04_enum_const", "{\"status\":\"open\",\"kind\":\"ticket\",\"priority\":\"high\",\"meta\":{\"v\":1,\"tags\":[\"a\",\"b\"]}}", false},
    {"05_pattern_sku", "{\"sku\":\"ABC-1234-xy\",\"color\":\"#a0B1c2\",\"slug\":\"a-b1\",\"code\":\"abcd.yz\"}", true},
    {"05_pattern_sku", "{\"sku\":\"ABC-123\",\"color\":\"#a0B1c2\",\"slug\":\"a-b1\",\"code\":\"ab.x\"}", false},
    {"05_pattern_sku", "{\"sku\":\"ABC-1234\",\"color\":\"#a0B1c2\",\"slug\":\"a--b\",\"code\":\"ab.x\"}", false},
    {"06_formats", "{\"day\":\"2024-02-28\",\"at\":\"23:59:59Z\",\"created\":\"2024-01-31T00:00:00.5+01:00\","
                   "\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"contact\":\"a.b@c-d.org\"}", true},
    {"06_formats", "{\"day\":\"2024-02-30\",\"at\":\"23:59:59Z\",\"created\":\"2024-01-31T00:00:00Z\","
                   "\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"contact\":\"a@b.co\"}", false},
    {"06_formats", "{\"day\":\"2024-02-01\",\"at\":\"24:00:00Z\",\"created\":\"2024-01-31T00:00:00Z\","
                   "\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"contact\":\"a@b.co\"}", false},
    {"07_union_types", "{\"a\":null,\"b\":true,\"c\":[false],\"d\":null}", true},
    {"07_union_types", "{\"a\":\"abcdef\",\"b\":1,\"c\":1,\"d\":\"x\"}", false},
    {"07_union_types", "{\"a\":\"ab\",\"b\":6,\"c\":1,\"d\":\"x\"}", false},
    {"08_ref_defs", "{\"from\":{\"x\":1,\"y\":2},\"to\":{\"x\":0,\"y\":0},\"stroke\":\"red\",\"path\":[{\"x\":1,\"y\":1}]}", true},
    {"08_ref_defs", "{\"from\":{\"x\":1},\"to\":{\"x\":0,\"y\":0},\"stroke\":\"red\"}", false},
    {"09_recursive_tree", "{\"value\":1,\"children\":[{\"value\":2,\"children\":[{\"value\":3}]},{\"value\":4}]}", true},
    {"09_recursive_tree", "{\"value\":1,\"children\":[{\"value\":100}]}", false},
    {"10_anyof", "{\"payment\":\"cash\"}", true},
    {"10_anyof", "{\"payment\":{\"card\":\"1234567812345678\"}}", true},
    {"10_anyof", "{\"payment\":{\"card\":\"12\"}}", false},
    {"11_oneof_shapes", "{\"shape\":{\"kind\":\"rect\",\"w\":1,\"h\":2}}", true},
    {"11_oneof_shapes", "{\"shape\":{\"kind\":\"circle\",\"r\":0}}", false},
    {"12_allof_merge", "{\"id\":5,\"name\":\"x\"}", true},
    {"12_allof_merge", "{\"id\":1001,\"name\":\"x\"}", false},
    {"12_allof_merge", "{\"id\":5}", false},
    {"13_additional_props", "{\"total\":3,\"extra\":4,\"more\":0}", true},
    {"13_additional_props", "{\"total\":3,\"extra\":10}", false},
    {"13_additional_props", "{\"total\":3,\"currency\":5}", false},
    {"14_prefix_items", "[\"2024-05-01\",1.5,\"buy\",true]", true},
    {"14_prefix_items", "[\"2024-05-01\"]", false},
    {"14_prefix_items", "[\"2024-05-01\",1,\"hold\"]", false},
    {"16_number_ranges", "{\"temp\":-40,\"ratio\":1,\"delta\":-17,\"big\":1000000,\"price\":3,\"round\":-500,"
                         "\"anyint\":-0,\"anynum\":1.5e-3}", true},
    {"16_number_ranges", "{\"temp\":-41,\"ratio\":1,\"delta\":-17,\"big\":1000000,\"price\":3,\"round\":0,"
                         "\"anyint\":1,\"anynum\":1}", false},
    {"16_number_ranges", "{\"temp\":0,\"ratio\":1,\"delta\":-17,\"big\":1000000,\"price\":3,\"round\":150,"
                         "\"anyint\":1,\"anynum\":1}", false},
    {"18_unicode_escapes", "{\"greeting\":\"say \\\"hi\\\"\",\"name\":\"\xc3\xa9t\xc3\xa9\",\"sym\":\"\\\\\xe2\x82\xac\"}", true},
    {"18_unicode_escapes", "{\"greeting\":\"\\u00e9\",\"name\":\"abcd\",\"sym\":\"aa\"}", false},
    {"19_tool_call", "{\"name\":\"get_weather\",\"arguments\":{\"location\":\"Paris\",\"unit\":\"celsius\"}}", true},
    {"19_tool_call", "{\"name\":\"get_time\",\"arguments\":{\"location\":\"Paris\"}}", false},
    {"21_unanchored_pattern_length", "{\"clientId\":\"zzzzzzzzzzz1\",\"word\":\"hotdogs\",\"tail\":\"a.json\"}", true},
    {"21_unanchored_pattern_length", "{\"clientId\":\"zzzzzzzzzzzz\",\"word\":\"hotdogs\",\"tail\":\"a.json\"}", false},
    {"21_unanchored_pattern_length", "{\"clientId\":\"zzzzzzzzzzz1\",\"word\":\"hotdogs!!\",\"tail\":\"a.json\"}", false},
    /* minProperties 2: the generator makes billing_address required (the
     * credit_card trigger is left out), so the subset is these: */
    {"23_dependencies", "{\"name\":\"n\",\"billing_address\":\"b\",\"x\":1}", true},
    {"23_dependencies", "{\"name\":\"n\"}", false},
    {"23_dependencies", "{\"name\":\"n\",\"billing_address\":\"b\",\"x\":1,\"y\":2,\"z\":3}", false},
};

TEST(documents) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(docs); i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/grammar/schemas/%s.json", test_source_dir(), docs[i].file);
        char *text = slurp(path);
        if (!text) SKIP("schema corpus not found");
        tlm_grammar *g = compile(text, NULL);
        free(text);
        ASSERT(g);
        bool got = tlm_grammar_matches(g, docs[i].doc, strlen(docs[i].doc));
        tlm_grammar_free(g);
        /* The grammar is a subset on purpose (declared property order,
         * bounded whitespace...); the valid documents here are inside it. */
        ASSERT_MSG(got == docs[i].valid, "%s: %s: got %d", docs[i].file, docs[i].doc, got);
    }
}

/* Schema, status, text expected in the error. */
static const struct {
    const char *schema;
    tlm_status code;
    const char *msg;
} errors[] = {
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"not\":{\"type\":\"string\"}}},\"required\":[\"a\"]}",
     TLM_ERR_UNSUPPORTED, "at #/properties/a: keyword 'not' is not supported"},
    {"{\"if\":{\"type\":\"string\"},\"then\":{\"minLength\":2}}", TLM_ERR_UNSUPPORTED, "keyword 'if'"},
    {"{\"type\":\"array\",\"uniqueItems\":true}", TLM_ERR_UNSUPPORTED, "uniqueItems"},
    {"{\"type\":\"array\",\"contains\":{\"type\":\"integer\"}}", TLM_ERR_UNSUPPORTED, "contains"},
    {"{\"type\":\"number\",\"multipleOf\":0.3}", TLM_ERR_UNSUPPORTED, "multipleOf"},
    {"{\"$ref\":\"http://example.com/s.json\"}", TLM_ERR_UNSUPPORTED, "only references inside the schema"},
    {"{\"$ref\":\"#/definitions/nope\"}", TLM_ERR_FORMAT, "points at nothing"},
    {"{\"type\":\"string\",\"pattern\":\"(?=a)b\"}", TLM_ERR_UNSUPPORTED, "lookahead"},
    {"{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}", TLM_ERR_UNSUPPORTED, "backreferences"},
    {"{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}", TLM_ERR_UNSUPPORTED, "below minLength"},
    {"{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}", TLM_ERR_UNSUPPORTED, "no integer satisfies"},
    {"{\"type\":\"object\",\"required\":[\"a\"],\"additionalProperties\":false}", TLM_ERR_UNSUPPORTED,
     "required property 'a' is not allowed"},
    {"{\"allOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", TLM_ERR_UNSUPPORTED, "types do not intersect"},
    {"{\"type\":\"strin\"}", TLM_ERR_FORMAT, "unknown type 'strin'"},
    {"{\"type\": ", TLM_ERR_FORMAT, "invalid JSON"},
    {"false", TLM_ERR_UNSUPPORTED, "allows no value"},
    {"{\"type\":\"string\",\"pattern\":\"^a$\",\"format\":\"date\"}", TLM_ERR_UNSUPPORTED, "match nothing"},
};

TEST(errors_fail_closed) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(errors); i++) {
        char *gbnf = (char *)1;
        tlm_error err = {0};
        tlm_status st = tlm_json_schema_to_gbnf(errors[i].schema, strlen(errors[i].schema), &gbnf, NULL, &err);
        ASSERT_MSG(st == errors[i].code, "case %zu (%s): status %d (%s)", i, errors[i].schema, st, err.msg);
        ASSERT(gbnf == NULL);
        ASSERT_CONTAINS(err.msg, errors[i].msg);
    }
}

TEST(warnings_for_ignored_keywords) {
    tlm_buf w = {0};
    const char *s = "{\"type\":\"object\",\"title\":\"T\",\"x-vendor\":1,\"properties\":{\"d\":"
                    "{\"type\":\"string\",\"format\":\"my-format\",\"description\":\"D\"}}}";
    tlm_grammar *g = compile(s, &w);
    ASSERT(g);
    ASSERT_CONTAINS(w.data, "unknown keyword 'x-vendor' ignored");
    ASSERT_CONTAINS(w.data, "at #/properties/d: unknown format \"my-format\" ignored");
    ASSERT(!strstr(w.data, "title"));
    ASSERT(!strstr(w.data, "description"));
    tlm_grammar_free(g);
    tlm_buf_free(&w);
}

/* An optional property (or array items) that cannot be generated is left
 * out with a warning: the output stays valid, just narrower. */
TEST(optional_parts_left_out) {
    tlm_buf w = {0};
    const char *s = "{\"type\":\"object\",\"properties\":{\"a\":{\"not\":{\"type\":\"string\"}},"
                    "\"b\":{\"type\":\"array\",\"items\":{\"enum\":[1],\"type\":\"string\"}},\"c\":{\"type\":\"integer\"}},"
                    "\"required\":[\"b\"]}";
    tlm_grammar *g = compile(s, &w);
    ASSERT(g);
    ASSERT_CONTAINS(w.data, "optional property 'a' left out");
    ASSERT_CONTAINS(w.data, "array items left out");
    ASSERT(tlm_grammar_matches(g, "{\"b\":[],\"c\":1}", 14));
    ASSERT(!tlm_grammar_matches(g, "{\"a\":1,\"b\":[]}", 14));
    ASSERT(!tlm_grammar_matches(g, "{\"b\":[1]}", 9));
    tlm_grammar_free(g);
    tlm_buf_free(&w);
}

/* Integer ranges, checked against arithmetic on every nearby integer. */
TEST(integer_ranges) {
    static const long long ranges[][2] = {{0, 0}, {0, 9}, {1, 10}, {7, 1234}, {-5, 5}, {-1234, -17}, {99, 101},
                                          {-1000, 1000}, {100, 199}, {5, 5000}, {-9, -1}, {123456, 124000}};
    for (size_t r = 0; r < TLM_ARRAY_LEN(ranges); r++) {
        long long lo = ranges[r][0], hi = ranges[r][1];
        char schema[160];
        snprintf(schema, sizeof schema, "{\"type\":\"integer\",\"minimum\":%lld,\"maximum\":%lld}", lo, hi);
        tlm_grammar *g = compile(schema, NULL);
        ASSERT(g);
        long long step = (hi - lo) > 3000 ? 7 : 1;
        for (long long n = lo - 120; n <= hi + 120; n += (n < lo + 200 || n > hi - 200) ? 1 : step) {
            char t[32];
            int len = snprintf(t, sizeof t, "%lld", n);
            bool got = tlm_grammar_matches(g, t, (size_t)len);
            ASSERT_MSG(got == (n >= lo && n <= hi), "[%lld, %lld] on %s: %d", lo, hi, t, got);
        }
        ASSERT(!tlm_grammar_matches(g, "007", 3));
        tlm_grammar_free(g);
    }
}

/* Number bounds: whatever matches is within them (strtod), and a few
 * values inside must match. */
TEST(number_bounds) {
    static const struct {
        const char *schema;
        double lo, hi;
        bool lo_x, hi_x;
        const char *inside[3];
    } cases[] = {
        {"{\"type\":\"number\",\"minimum\":-40.5,\"maximum\":60.25}", -40.5, 60.25, 0, 0, {"-40", "60", "12.75"}},
        {"{\"type\":\"number\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":2}", 0, 2, 1, 1, {"1", "1.5", "1.999"}},
        {"{\"type\":\"number\",\"minimum\":-3,\"maximum\":-1}", -3, -1, 0, 0, {"-3", "-2.5", "-1"}},
        {"{\"type\":\"number\",\"minimum\":0}", 0, 1e300, 0, 0, {"0", "0.5", "123456"}},
        {"{\"type\":\"number\",\"maximum\":10}", -1e300, 10, 0, 0, {"-7.25", "-0.5", "10"}},
    };
    static const char *const probes[] = {"-41", "-40.5", "-40.25", "-40", "-3.5", "-3", "-2.5", "-1", "-1.0", "-0.5",
                                         "-0", "0", "0.0", "0.5", "1", "1.5", "1.999", "2", "2.0", "2.5", "10",
                                         "10.5", "60", "60.2", "60.25", "61", "1e2", "123456", "-7.25"};
    for (size_t i = 0; i < TLM_ARRAY_LEN(cases); i++) {
        tlm_grammar *g = compile(cases[i].schema, NULL);
        ASSERT(g);
        for (size_t p = 0; p < TLM_ARRAY_LEN(probes); p++) {
            if (!tlm_grammar_matches(g, probes[p], strlen(probes[p]))) continue;
            double v = strtod(probes[p], NULL);
            bool ok = (cases[i].lo_x ? v > cases[i].lo : v >= cases[i].lo) &&
                      (cases[i].hi_x ? v < cases[i].hi : v <= cases[i].hi);
            ASSERT_MSG(ok, "%s accepts %s", cases[i].schema, probes[p]);
        }
        for (int k = 0; k < 3; k++)
            ASSERT_MSG(tlm_grammar_matches(g, cases[i].inside[k], strlen(cases[i].inside[k])), "%s rejects %s",
                       cases[i].schema, cases[i].inside[k]);
        tlm_grammar_free(g);
    }
}

/* Patterns: a JSON string matches the grammar iff PCRE2 finds the pattern
 * in its content (JSON Schema's search semantics) and the length fits. */
TEST(patterns_vs_pcre2) {
    static const struct {
        const char *pattern;
        int min, max; /* -1: absent */
    } pats[] = {
        {"^[a-c]+$", -1, -1}, {"b", -1, -1}, {"^ab|cd$", -1, -1}, {"a.c", -1, 4}, {"^(?:ab)*c?$", 1, 5},
        {"[0-9a-f]+", 3, 3}, {"^\\\\d{2}-\\\\w$", -1, -1}, {"^[^a]*$", 2, -1}, {"\\\\.json$", 6, 8}, {"^a{2,3}$", -1, -1},
        {"^[a-d]{3,4}$", 2, 10}, {"^[a-d]{2,4}$", 3, 3}, {"^(?:ab|a)+$", 2, 3},
    };
    static const char *const strs[] = {"", "a", "b", "ab", "abc", "aXc", "cd", "xcd", "abcd", "12-x", "1-x",
                                       "ff0", "ff", "fff0", "zzz", "a.json", "ab.json", "a.jsonx", "aaa", "aaaa",
                                       "\xc3\xa9\xc3\xa9", "x\"y", "\\\\", "ababc", "abab"};
    for (size_t p = 0; p < TLM_ARRAY_LEN(pats); p++) {
        json_t *sch = json_pack("{s:s,s:s}", "type", "string", "pattern", pats[p].pattern);
        if (pats[p].min >= 0) json_object_set_new(sch, "minLength", json_integer(pats[p].min));
        if (pats[p].max >= 0) json_object_set_new(sch, "maxLength", json_integer(pats[p].max));
        char *text = json_dumps(sch, 0);
        tlm_grammar *g = compile(text, NULL);
        ASSERT_MSG(g, "%s", text);
        int ec;
        PCRE2_SIZE eo;
        /* The JSON text above holds the pattern with JSON escapes undone. */
        const char *pat = json_string_value(json_object_get(sch, "pattern"));
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
        ASSERT(re);
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        for (size_t i = 0; i < TLM_ARRAY_LEN(strs); i++) {
            const char *str = strs[i];
            long cps = 0;
            for (const char *q = str; *q; q++) cps += ((unsigned char)*q & 0xC0) != 0x80;
            bool want = pcre2_match(re, (PCRE2_SPTR)str, strlen(str), 0, 0, md, NULL) >= 0 &&
                        (pats[p].min < 0 || cps >= pats[p].min) && (pats[p].max < 0 || cps <= pats[p].max);
            json_t *js = json_string(str);
            char *doc = json_dumps(js, JSON_ENCODE_ANY);
            bool got = tlm_grammar_matches(g, doc, strlen(doc));
            ASSERT_MSG(got == want, "pattern /%s/ [%d,%d] on %s: pcre2 %d, grammar %d", pat, pats[p].min,
                       pats[p].max, doc, want, got);
            free(doc);
            json_decref(js);
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        tlm_grammar_free(g);
        free(text);
        json_decref(sch);
    }
}

/* Generic JSON mode: random walks with a small byte-level vocabulary give
 * objects that jansson parses. */
TEST(json_object_mode) {
    const char *gb = tlm_json_object_gbnf();
    tlm_grammar *g = NULL;
    ASSERT_OK(tlm_grammar_parse(gb, strlen(gb), NULL, &g, NULL));
    static const char *const extra[] = {"{\"", "\":", "\",\"", "\"}", "[{", "}]", "true", "null", "\\u00e9",
                                        "\xc3\xa9", "\xe4\xb8", "\xad", "  ", "\n    ", "},{\"", "1.5e3"};
    enum { N_EXTRA = (int)TLM_ARRAY_LEN(extra) };
    const char *toks[95 + N_EXTRA + 1];
    uint32_t len[95 + N_EXTRA + 1];
    uint8_t kind[95 + N_EXTRA + 1];
    char bytes[95][2];
    int n = 0;
    for (int b = 0x20; b < 0x7F; b++, n++) {
        bytes[n][0] = (char)b;
        toks[n] = bytes[n];
        len[n] = 1;
        kind[n] = TLM_GTOK_TEXT;
    }
    for (int i = 0; i < N_EXTRA; i++, n++) {
        toks[n] = extra[i];
        len[n] = (uint32_t)strlen(extra[i]);
        kind[n] = TLM_GTOK_TEXT;
    }
    toks[n] = "";
    len[n] = 0;
    kind[n++] = TLM_GTOK_EOG;
    tlm_grammar_vocab *v = NULL;
    ASSERT_OK(tlm_grammar_vocab_create(n, toks, len, kind, &v, NULL));
    tlm_grammar_matcher *m = NULL;
    ASSERT_OK(tlm_grammar_matcher_create(g, v, &m, NULL));
    uint64_t rng = 5;
    for (int w = 0; w < 100; w++) {
        tlm_grammar_matcher_reset(m);
        tlm_buf out = {0};
        tlm_error err = {0};
        ASSERT_MSG(!tlm_grammar_random_walk(m, &rng, 120, &out, NULL, &err), "%s", err.msg);
        json_error_t je;
        json_t *doc = json_loadb(out.data, out.len, 0, &je);
        ASSERT_MSG(json_is_object(doc), "not a JSON object: %s (%s)", out.data, je.text);
        json_decref(doc);
        tlm_buf_free(&out);
    }
    tlm_grammar_matcher_free(m);
    tlm_grammar_vocab_free(v);
    tlm_grammar_free(g);
}

TEST_MAIN(TEST_ENTRY(corpus_compiles), TEST_ENTRY(documents), TEST_ENTRY(errors_fail_closed),
          TEST_ENTRY(warnings_for_ignored_keywords), TEST_ENTRY(optional_parts_left_out), TEST_ENTRY(integer_ranges), TEST_ENTRY(number_bounds),
          TEST_ENTRY(patterns_vs_pcre2), TEST_ENTRY(json_object_mode))
