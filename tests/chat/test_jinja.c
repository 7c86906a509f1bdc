/*
 * test_jinja.c - unit tests of the Jinja interpreter and the chat-template
 * API (src/chat): rendering semantics, whitespace control, scoping,
 * undefined values, error messages with line numbers, resource limits,
 * built-in templates and templates read from GGUF files.
 *
 * The expected strings of the golden table are what Python's jinja2 3.1
 * renders for the same template and variables in transformers' chat
 * environment (tests/chat/render_ref.py); they were produced by running
 * jinja2, not written by hand.  templates.test.sh does the same comparison
 * live, on whole model templates.
 */
#include "chat/chat.h"
#include "chat/jinja.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Renders src with vars (JSON text); returns the status, *out the text. */
static tlm_status render(const char *src, const char *vars_json, const tlm_chat_render_opts *opts,
                         char **out, tlm_error *err) {
    tlm_chat_template *t = NULL;
    json_t *vars = vars_json ? json_loads(vars_json, JSON_ALLOW_NUL, NULL) : NULL;
    *out = NULL;
    tlm_status st = tlm_chat_template_parse(src, strlen(src), &t, err);
    if (st == TLM_OK) st = tlm_chat_template_render_ex(t, vars, opts, out, NULL, err);
    tlm_chat_template_free(t);
    json_decref(vars);
    return st;
}

static tlm_chat_render_opts utc_epoch_opts(void) {
    tlm_chat_render_opts o = tlm_chat_render_default_opts();
    o.now = 0;
    return o;
}

/* ---- Golden cases: jinja2's output for the same input ---- */

static const struct {
    const char *name, *src, *vars, *want;
} golden[] = {
    {"expr_string_unicode",
     "{{ x }}|{{ x|length }}|{{ x[1] }}|{{ x|upper }}",
     "{\"x\": \"h\\u00e9llo \\u4f60\\u597d\"}",
     "h\303\251llo \344\275\240\345\245\275|8|\303\251|H\303\211LLO \344\275\240\345\245\275"},
    {"ws_lstrip_trim",
     "a\n  {% if true %}\n  b\n  {% endif %}\n  c\n",
     "{}",
     "a\n  b\n  c"},
    {"ws_minus",
     "x {%- if true -%}  y  {%- endif -%} z",
     "{}",
     "xyz"},
    {"ws_var_minus",
     "[ {{- ' v ' -}} ]\n  {{ 'w' }}",
     "{}",
     "[ v ]\n  w"},
    {"ws_plus",
     "  {%+ if true %}a{% endif +%}\nb",
     "{}",
     "  a\nb"},
    {"ws_comment_line",
     "a\n  {# note #}\nb {# inline #} c",
     "{}",
     "a\nb  c"},
    {"raw_block",
     "{% raw %}{{ x }} {% if %}{% endraw %}",
     "{}",
     "{{ x }} {% if %}"},
    {"newlines_crlf",
     "a\r\nb\rc\n",
     "{}",
     "a\nb\nc"},
    {"trailing_newline",
     "x\n\n",
     "{}",
     "x\n"},
    {"scope_for_set",
     "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
     "{}",
     "12121"},
    {"scope_if_set",
     "{% if true %}{% set y = 5 %}{% endif %}{{ y }}",
     "{}",
     "5"},
    {"namespace_counter",
     "{% set ns = namespace(n=0, items=[]) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set ns.items = ns.items + [m.role] %}{% endfor %}{{ ns.n }} {{ ns.items }}",
     "{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\"}]}",
     "2 ['user', 'assistant']"},
    {"macro_live_closure",
     "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}",
     "{}",
     "2"},
    {"macro_defaults_varargs",
     "{% macro m(a, b=a ~ '!') %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1) }} {{ m(1, 2, 3, k=4) }}",
     "{}",
     "11!(){} 12(3,){'k': 4}"},
    {"call_block_caller_args",
     "{% macro list(items) %}{% for i in items %}[{{ caller(i) }}]{% endfor %}{% endmacro %}{% call(x) list([1, 2]) %}<{{ x * 10 }}>{% endcall %}",
     "{}",
     "[<10>][<20>]"},
    {"undefined_prints_empty",
     "[{{ nope }}][{{ d.missing }}][{{ d.missing is defined }}][{{ none.x }}][{{ [1][5] }}][{{ 'ab'[9] }}]",
     "{\"d\": {}}",
     "[][][False][][][]"},
    {"undefined_tests",
     "{{ nope is undefined }} {{ nope|default('z') }} {{ nope|length }} {{ nope is iterable }} {{ nope ~ 'cat' }} {% for c in nope %}x{% endfor %}",
     "{}",
     "True z 0 True cat "},
    {"attr_vs_item",
     "{{ d.items is callable }}|{{ d['items'] }}|{{ d.get('items') }}|{{ d.keys()|list }}",
     "{\"d\": {\"items\": \"key wins for []\"}}",
     "True|key wins for []|key wins for []|['items']"},
    {"generator_one_pass",
     "{% set g = xs|map('upper') %}{{ g|list }}{{ g|list }} {{ xs|select|first }}",
     "{\"xs\": [\"a\", \"b\"]}",
     "['A', 'B'][] a"},
    {"loop_filter_length",
     "{% for i in xs if i is odd %}{{ loop.index }}/{{ loop.length }}{{ '' if loop.last else ',' }}{% else %}none{% endfor %}",
     "{\"xs\": [1, 2, 3, 5, 6]}",
     "1/3,2/3,3/3"},
    {"loop_unpack_items",
     "{% for k, v in d|dictsort %}{{ k }}:{{ v }} {% endfor %}{% for k, v in d.items() if v %}{{ k }}{% endfor %}",
     "{\"d\": {\"b\": 0, \"a\": 1}}",
     "a:1 b:0 a"},
    {"break_continue",
     "{% for i in range(10) %}{% if i > 6 %}{% break %}{% elif i % 3 == 0 %}{% continue %}{% endif %}{{ i }}{% endfor %}",
     "{}",
     "1245"},
    {"dict_literal_dupes",
     "{{ {'a': 1, 'b': 2, 'a': 3} }} {{ {1: 'x', 1.0: 'y', true: 'z'} }}",
     "{}",
     "{'a': 3, 'b': 2} {1: 'z'}"},
    {"string_escapes",
     "{{ '\\x41\\101\\u00e9\\q' }}|{{ \"q\\\"q\" }}|{{ 'nl\\\nx' }}",
     "{}",
     "AA\303\251\\q|q\"q|nlx"},
    {"float_repr",
     "{{ [0.1, 1e16, 1e15, 1e-4, 1e-5, 100.0, 2.5e-10, 1.0/3, 123456789.123, -0.0] }}",
     "{}",
     "[0.1, 1e+16, 1000000000000000.0, 0.0001, 1e-05, 100.0, 2.5e-10, 0.3333333333333333, 123456789.123, -0.0]"},
    {"tojson_no_html_escape",
     "{{ x|tojson }} {{ x|tojson(ensure_ascii=true) }}",
     "{\"x\": \"</script>&'\\u00e9\"}",
     "\"</script>&'\303\251\" \"</script>&'\\u00e9\""},
    {"tojson_indent_nested",
     "{{ x|tojson(indent=2) }}",
     "{\"x\": {\"a\": [1, {\"b\": null}], \"c\": {}, \"d\": []}}",
     "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {},\n  \"d\": []\n}"},
    {"negative_index_slices",
     "{{ messages[-1].content }} {{ messages[1:]|length }} {{ messages[::-1]|map(attribute='content')|join(',') }}",
     "{\"messages\": [{\"content\": \"a\"}, {\"content\": \"b\"}, {\"content\": \"c\"}]}",
     "c 2 c,b,a"},
    {"string_methods",
     "{{ s.strip('xy') }}|{{ s.split('-') }}|{{ s.startswith('xy') }}|{{ s.endswith('x') }}|{{ s.replace('-', '+') }}|{{ s.upper() }}|{{ s.find('b') }}",
     "{\"s\": \"xya-b-cyx\"}",
     "a-b-c|['xya', 'b', 'cyx']|True|True|xya+b+cyx|XYA-B-CYX|4"},
    {"repr_quotes",
     "{{ [\"it's\", 'say \"x\"', 'both \\' \"', 'tab\\t', '\303\251\\u200b'] }}",
     "{}",
     "[\"it's\", 'say \"x\"', 'both \\' \"', 'tab\\t', '\303\251\\u200b']"},
    {"in_operator",
     "{{ 'b' in 'abc' }} {{ 'k' in d }} {{ 2 in [1, 2] }} {{ 'z' not in d }} {{ (1, 2) in [(1, 2)] }}",
     "{\"d\": {\"k\": 1}}",
     "True True True True True"},
    {"and_or_values",
     "{{ 0 or '' or 'last' }} {{ 1 and [] }} {{ none or 0 }} {{ not none }}",
     "{}",
     "last [] 0 True"},
    {"cond_expr_no_else",
     "[{{ 'x' if false }}] [{{ 'y' if true }}]",
     "{}",
     "[] [y]"},
    {"filter_block_and_set_block",
     "{% filter upper %}a{{ 'b' }}{% endfilter %} {% set v | replace('x', 'y') %}xx{{ 1 }}{% endset %}{{ v }}",
     "{}",
     "AB yy1"},
    {"round_half_even",
     "{{ 0.5|round }} {{ 1.5|round }} {{ 2.5|round }} {{ 0.125|round(2) }} {{ 2.675|round(2) }} {{ -1.5|round }}",
     "{}",
     "0.0 2.0 2.0 0.12 2.67 -2.0"},
    {"int_float_filters",
     "{{ ' 42 '|int }} {{ '3.99'|int }} {{ '1e3'|int }} {{ 'x'|int(-1) }} {{ '1_000'|int }} {{ '-7'|int }} {{ ' 2.5 '|float }} {{ '1_0.5'|float }}",
     "{}",
     "42 3 1000 -1 1000 -7 2.5 10.5"},
    {"sort_stability",
     "{{ xs|sort(attribute='k')|map(attribute='n')|join }} {{ xs|sort(attribute='k', reverse=true)|map(attribute='n')|join }}",
     "{\"xs\": [{\"k\": 2, \"n\": \"a\"}, {\"k\": 1, \"n\": \"b\"}, {\"k\": 2, \"n\": \"c\"}, {\"k\": 1, \"n\": \"d\"}]}",
     "bdac acbd"},
    {"strftime_epoch",
     "{{ strftime_now('%Y-%m-%d %H:%M %d %b %Y') }}",
     "{}",
     "1970-01-01 00:00 01 Jan 1970"},
    {"format_methods",
     "{{ '%-6s|%6.2f|%+d|%o' % ('ab', 3.14159, 5, 8) }} {{ '{:>6}|{:08.3f}|{:x}'.format('r', -3.5, 255) }}",
     "{}",
     "ab    |  3.14|+5|10      r|-003.500|ff"},
    {"unknown_filter_in_if_is_lazy",
     "{% if false %}{{ x|no_such_filter }}{% endif %}{% if x is defined %}{{ x is no_such_test }}{% endif %}ok",
     "{}",
     "ok"},
    {"for_else_after_break",
     "{% for i in [1, 2] %}{% break %}{% else %}else-ran{% endfor %} {% for i in [1, 2] %}{% if i == 2 %}{% continue %}{% endif %}{% else %}no{% endfor %}",
     "{}",
     "else-ran "},
    {"scoped_blocks",
     "{% set x = 1 %}{% filter upper %}{% set x = 2 %}{{ x }}{% endfilter %}{% set y %}{% set x = 3 %}{% endset %}{{ x }}{% for i in [1] %}{% filter trim %}{% continue %}dropped{% endfilter %}{% endfor %}",
     "{}",
     "21"},
    {"generation_tag",
     "{% generation %}{{ varargs }}{% set g = 1 %}{% endgeneration %}[{{ g }}]",
     "{}",
     "()[]"},
    {"folded_literal_slice",
     "[{{ 2.0[1:] }}][{{ (none[1:] ~ 'x') }}]",
     "{}",
     "[][x]"},
    {"title_capitalize",
     "{{ 'hELLO wORLD-foo bar_baz'|title }}|{{ 'hELLO wORLD'.title() }}|{{ '\303\251COLE'|capitalize }}",
     "{}",
     "Hello World-Foo Bar_baz|Hello World|\303\211cole"},
};

TEST(golden_matches_jinja2) {
    setenv("TZ", "UTC", 1);
    tzset();
    tlm_chat_render_opts o = utc_epoch_opts();
    for (size_t i = 0; i < TLM_ARRAY_LEN(golden); i++) {
        char *out;
        tlm_error err = {0};
        tlm_status st = render(golden[i].src, golden[i].vars, &o, &out, &err);
        ASSERT_MSG(st == TLM_OK, "%s: status %d: %s", golden[i].name, st, err.msg);
        ASSERT_MSG(!strcmp(out, golden[i].want), "%s:\n  want \"%s\"\n  got  \"%s\"", golden[i].name,
                   golden[i].want, out);
        tlm_free(out);
    }
}

/* ---- Errors: status, and a message that names the place ---- */

static const struct {
    const char *src, *vars;
    tlm_status want;
    const char *msg1, *msg2; /* substrings the message must contain */
} errors[] = {
    {"{% if x %}never closed", NULL, TLM_ERR_FORMAT, "line 1", "'endif'"},
    {"ok\n{% for a in b %}\n{% endif %}", NULL, TLM_ERR_FORMAT, "line 3", "endif"},
    {"line one\n  {{ x + }}", NULL, TLM_ERR_FORMAT, "line 2, column", "unexpected"},
    {"{% frobnicate %}", NULL, TLM_ERR_FORMAT, "line 1, column 4", "unknown tag 'frobnicate'"},
    {"{{ 'open string }}", NULL, TLM_ERR_FORMAT, "line 1", "unexpected char"},
    {"{{ (1, 2] }}", NULL, TLM_ERR_FORMAT, "line 1", "expected ')'"},
    {"{# never closed", NULL, TLM_ERR_FORMAT, "line 1", "Missing end of comment"},
    {"{% break %}", NULL, TLM_ERR_FORMAT, "line 1", "outside loop"},
    {"{% extends 'base.html' %}", NULL, TLM_ERR_FORMAT, "line 1", "not supported"},
    {"{% macro m(a=1, b) %}{% endmacro %}", NULL, TLM_ERR_FORMAT, "line 1", "non-default argument"},
    {"a\nb\n{{ x|no_such_filter }}", NULL, TLM_ERR_FORMAT, "line 3, column 6", "No filter named 'no_such_filter'"},
    {"{{ x is no_such_test }}", NULL, TLM_ERR_FORMAT, "line 1", "No test named"},
    {"{{ x if false else y|no_such_filter }}", NULL, TLM_ERR_UNSUPPORTED, "line 1", "No filter named"},
    {"\n\n{{ raise_exception('Only user and assistant roles!') }}", NULL, TLM_ERR_INVALID_ARG,
     "line 3", "Only user and assistant roles!"},
    {"{{ foo.bar }}", "{}", TLM_ERR_NOT_FOUND, "line 1", "'foo' is undefined"},
    {"{{ d.x.y }}", "{\"d\": {}}", TLM_ERR_NOT_FOUND, "line 1", "'dict object' has no attribute 'x'"},
    {"{{ nope + 1 }}", "{}", TLM_ERR_NOT_FOUND, "line 1", "'nope' is undefined"},
    {"{{ 'a' + 1 }}", NULL, TLM_ERR_TYPE, "line 1", "can only concatenate str"},
    {"{{ 1 < 'a' }}", NULL, TLM_ERR_TYPE, "line 1", "not supported between"},
    {"x\n{{ 10 / 0 }}", NULL, TLM_ERR_RANGE, "line 2", "division by zero"},
    {"{{ 9223372036854775807 + 1 }}", NULL, TLM_ERR_RANGE, "line 1", "integer overflow"},
    {"{% set x = 5 %}{% set x.y = 1 %}", NULL, TLM_ERR_TYPE, "line 1", "non-namespace"},
    {"{% for a, b in [[1, 2, 3]] %}{% endfor %}", NULL, TLM_ERR_TYPE, "line 1", "too many values"},
    {"{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", NULL, TLM_ERR_TYPE, "line 1", "takes not more than 1"},
    {"{{ [].append }}{{ [].append(1) }}", NULL, TLM_ERR_NOT_FOUND, "line 1", "unsafe"},
    {"{{ range(200000)|length }}", NULL, TLM_ERR_RANGE, "line 1", "MAX_RANGE"},
    {"{{ x|tojson }}", "{}", TLM_ERR_TYPE, "line 1", "not JSON serializable"},
    {"{% set g = [1]|map('string') %}{{ g|length }}", NULL, TLM_ERR_TYPE, "line 1", "has no len()"},
    {"{{ d[1:] }}", "{\"d\": {}}", TLM_ERR_TYPE, "line 1", "slice"},
    {"{% set x = {}[1:] %}", NULL, TLM_ERR_TYPE, "line 1", "slice"},
};

TEST(errors_name_the_line) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(errors); i++) {
        char *out = NULL;
        tlm_error err = {0};
        tlm_status st = render(errors[i].src, errors[i].vars, NULL, &out, &err);
        ASSERT_MSG(st == errors[i].want, "case %zu (%s): status %d, want %d (%s)", i, errors[i].src,
                   st, errors[i].want, err.msg);
        ASSERT(out == NULL);
        ASSERT_MSG(strstr(err.msg, errors[i].msg1) && strstr(err.msg, errors[i].msg2),
                   "case %zu (%s): message \"%s\" lacks \"%s\" or \"%s\"", i, errors[i].src, err.msg,
                   errors[i].msg1, errors[i].msg2);
    }
}

/* ---- Limits: hostile templates end with an error, not a hang ---- */

TEST(limits_stop_runaway_templates) {
    tlm_chat_render_opts o = tlm_chat_render_default_opts();
    o.max_steps = 10000;
    o.max_output = 1000;
    o.max_depth = 20;
    o.max_memory = 1 << 20;
    char *out;
    tlm_error err = {0};
    ASSERT_EQ(render("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
                     NULL, &o, &out, &err), TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "steps");
    ASSERT_EQ(render("{% for i in range(5000) %}0123456789{% endfor %}", NULL, &o, &out, &err), TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "output exceeds");
    ASSERT_EQ(render("{% set s = 'x' * 100000 %}", NULL, &o, &out, &err), TLM_ERR_RANGE);
    ASSERT_EQ(render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL, &o, &out, &err),
              TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "recursion");
    ASSERT_EQ(render("{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                     NULL, &o, &out, &err), TLM_ERR_NOMEM);
    /* Deep nesting is refused by the parser instead of overflowing the stack. */
    char deep[4000];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{{ ");
    for (int i = 0; i < 1500; i++) deep[n++] = '(';
    deep[n++] = '1';
    for (int i = 0; i < 1500; i++) deep[n++] = ')';
    memcpy(deep + n, " }}", 4);
    ASSERT_EQ(render(deep, NULL, &o, &out, &err), TLM_ERR_FORMAT);
    ASSERT_CONTAINS(err.msg, "nested too deeply");
    tlm_buf chain = {0};
    ASSERT_OK(tlm_buf_appendf(&chain, "{{ 'x'"));
    for (int i = 0; i < 2000; i++) ASSERT_OK(tlm_buf_appendf(&chain, "|trim"));
    ASSERT_OK(tlm_buf_appendf(&chain, " }}"));
    tlm_status st = render(chain.data, NULL, &o, &out, &err);
    tlm_buf_free(&chain);
    ASSERT_EQ(st, TLM_ERR_RANGE);
    ASSERT_CONTAINS(err.msg, "nested too deeply");
}

/* ---- API ---- */

TEST(template_is_reusable_and_vars_are_transformers_shape) {
    const char *src = "{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}|"
                      "{{ bos_token }}{{ eos_token }}|{{ messages|length }}|{{ extra }}";
    tlm_chat_template *t;
    tlm_error err = {0};
    ASSERT_OK(tlm_chat_template_parse(src, strlen(src), &t, &err));
    ASSERT_STR_EQ(tlm_chat_template_source(t), src);
    json_t *msgs = json_loads("[{\"role\": \"user\", \"content\": \"hi\"}]", 0, NULL);
    json_t *extra = json_loads("{\"extra\": 7}", 0, NULL);
    json_t *v1 = tlm_chat_vars(msgs, NULL, true, "<s>", "</s>", extra);
    json_t *v2 = tlm_chat_vars(NULL, msgs, false, NULL, NULL, NULL);
    char *a, *b, *a2;
    ASSERT_OK(tlm_chat_template_render(t, v1, &a, &err));
    ASSERT_OK(tlm_chat_template_render(t, v2, &b, &err));
    ASSERT_OK(tlm_chat_template_render(t, v1, &a2, &err));
    ASSERT_STR_EQ(a, "True|True|True|<s></s>|1|7");
    ASSERT_STR_EQ(b, "False|True|False||0|");
    ASSERT_STR_EQ(a2, a);
    tlm_free(a);
    tlm_free(b);
    tlm_free(a2);
    json_decref(v1);
    json_decref(v2);
    json_decref(msgs);
    json_decref(extra);
    tlm_chat_template_free(t);
    tlm_chat_template_free(NULL);
}

TEST(nul_bytes_survive_with_length) {
    tlm_chat_template *t;
    tlm_error err = {0};
    const char *src = "[{{ s }}]";
    ASSERT_OK(tlm_chat_template_parse(src, strlen(src), &t, &err));
    json_t *vars = json_loads("{\"s\": \"a\\u0000b\"}", JSON_ALLOW_NUL, NULL);
    char *out;
    size_t len;
    ASSERT_OK(tlm_chat_template_render_ex(t, vars, NULL, &out, &len, &err));
    ASSERT_EQ(len, 5);
    ASSERT(memcmp(out, "[a\0b]", 5) == 0);
    tlm_free(out);
    json_decref(vars);
    tlm_chat_template_free(t);
}

TEST(invalid_utf8_template_is_refused) {
    tlm_chat_template *t = (tlm_chat_template *)1;
    tlm_error err = {0};
    ASSERT_EQ(tlm_chat_template_parse("{{ '\xff' }}", 8, &t, &err), TLM_ERR_FORMAT);
    ASSERT(t == NULL);
    ASSERT_CONTAINS(err.msg, "UTF-8");
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    tlm_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) tlm_buf_append(&b, chunk, n);
    fclose(f);
    tlm_buf_append(&b, "", 0);
    return b.data;
}

TEST(builtins_are_the_fixture_templates) {
    static const struct {
        const char *name, *file;
    } map[] = {
        {"chatml", "chatml"}, {"gemma", "gemma"},       {"gemma3", "gemma3"},
        {"llama3", "llama3"}, {"llama3.1", "llama3_1"}, {"llama3.2", "llama3_2"},
        {"mistral", "mistral_v0_3"}, {"phi3", "phi3"},  {"qwen2.5", "qwen2_5"},
        {"qwen3", "qwen3"},   {"smollm2", "smollm2"},
    };
    size_t n_names = 0;
    for (const char *const *n = tlm_chat_builtin_names(); *n; n++) n_names++;
    ASSERT_EQ(n_names, TLM_ARRAY_LEN(map));
    for (size_t i = 0; i < TLM_ARRAY_LEN(map); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/chat/templates/%s.jinja", test_source_dir(), map[i].file);
        char *want = read_text(path);
        if (!want) SKIP("tests/chat/templates not found (set TLM_SOURCE_DIR)");
        const char *got = tlm_chat_builtin_template(map[i].name);
        ASSERT_MSG(got && !strcmp(got, want), "built-in %s differs from %s", map[i].name, path);
        free(want);
        tlm_chat_template *t;
        tlm_error err = {0};
        ASSERT_OK(tlm_chat_template_parse(got, strlen(got), &t, &err));
        tlm_chat_template_free(t);
    }
    ASSERT(tlm_chat_builtin_template("no-such-template") == NULL);
}

/* Writes a GGUF with the given metadata; returns the path. */
static const char *write_gguf(const char *name, const char *arch, const char *tmpl,
                              const char *const *tokens, uint64_t n_tokens) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", test_tmp_dir(), name);
    tlm_gguf_writer *w;
    tlm_error err = {0};
    if (tlm_gguf_writer_create(&w) != TLM_OK) return NULL;
    tlm_gguf_set_str(w, "general.architecture", arch);
    if (tmpl) tlm_gguf_set_str(w, "tokenizer.chat_template", tmpl);
    tlm_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tokens, n_tokens);
    tlm_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    tlm_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    tlm_status st = tlm_gguf_writer_write(w, path, NULL, NULL, &err);
    tlm_gguf_writer_free(w);
    return st == TLM_OK ? path : NULL;
}

TEST(gguf_template_tokens_and_fallbacks) {
    static const char *const tokens[] = {"<unk>", "<|begin|>", "<|end|>", "<|start_header_id|>"};
    const char *path = write_gguf("own", "llama", "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}",
                                  tokens, 4);
    ASSERT(path != NULL);
    tlm_gguf *g;
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_open(path, &g, &err));
    tlm_chat_template *t;
    const char *builtin = "unset";
    char *bos, *eos, *out;
    ASSERT_OK(tlm_chat_template_from_gguf(g, NULL, &t, &builtin, &err));
    ASSERT(builtin == NULL);
    ASSERT_OK(tlm_chat_special_tokens(g, &bos, &eos, &err));
    ASSERT_STR_EQ(bos, "<|begin|>");
    ASSERT_STR_EQ(eos, "<|end|>");
    json_t *msgs = json_loads("[{\"role\": \"user\", \"content\": \"x\"}]", 0, NULL);
    json_t *vars = tlm_chat_vars(msgs, NULL, false, bos, eos, NULL);
    ASSERT_OK(tlm_chat_template_render(t, vars, &out, &err));
    ASSERT_STR_EQ(out, "<|begin|>x<|end|>");
    tlm_chat_template_free(t);
    ASSERT_EQ(tlm_chat_template_from_gguf(g, "tool_use", &t, NULL, &err), TLM_ERR_NOT_FOUND);
    ASSERT(t == NULL);
    tlm_free(out);
    free(bos);
    free(eos);
    json_decref(vars);
    json_decref(msgs);
    tlm_gguf_free(g);

    static const struct {
        const char *arch, *want;
        uint64_t n_tokens;
    } fallback[] = {
        {"gemma2", "gemma", 3}, {"qwen2", "qwen2.5", 3}, {"phi3", "phi3", 3},
        {"llama", "llama3", 4}, {"llama", "chatml", 3}, {"mamba", "chatml", 3},
    };
    for (size_t i = 0; i < TLM_ARRAY_LEN(fallback); i++) {
        path = write_gguf("fallback", fallback[i].arch, NULL, tokens, fallback[i].n_tokens);
        ASSERT(path != NULL);
        ASSERT_OK(tlm_gguf_open(path, &g, &err));
        ASSERT_OK(tlm_chat_template_from_gguf(g, NULL, &t, &builtin, &err));
        ASSERT_STR_EQ(builtin, fallback[i].want);
        ASSERT_STR_EQ(tlm_chat_template_source(t), tlm_chat_builtin_template(fallback[i].want));
        tlm_chat_template_free(t);
        tlm_gguf_free(g);
    }
}

TEST(broken_gguf_template_reports_the_key) {
    static const char *const tokens[] = {"a", "b", "c"};
    const char *path = write_gguf("broken", "llama", "{% for %}", tokens, 3);
    ASSERT(path != NULL);
    tlm_gguf *g;
    tlm_chat_template *t;
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_open(path, &g, &err));
    ASSERT_EQ(tlm_chat_template_from_gguf(g, NULL, &t, NULL, &err), TLM_ERR_FORMAT);
    ASSERT_CONTAINS(err.msg, "tokenizer.chat_template");
    ASSERT_CONTAINS(err.msg, "line 1");
    tlm_gguf_free(g);
}

TEST_MAIN(TEST_ENTRY(golden_matches_jinja2), TEST_ENTRY(errors_name_the_line),
          TEST_ENTRY(limits_stop_runaway_templates),
          TEST_ENTRY(template_is_reusable_and_vars_are_transformers_shape),
          TEST_ENTRY(nul_bytes_survive_with_length), TEST_ENTRY(invalid_utf8_template_is_refused),
          TEST_ENTRY(builtins_are_the_fixture_templates),
          TEST_ENTRY(gguf_template_tokens_and_fallbacks),
          TEST_ENTRY(broken_gguf_template_reports_the_key))
