/*
 * test_extract.c - answer extraction: code from chat answers (fences with
 * and without language tags, several blocks, bare code, bodies completed
 * from the prompt's stub), numbers by the lm-evaluation-harness rules, JSON,
 * and GSM8K's 1319 reference answers read back through the extractors.
 */
#include "eval/eval.h"
#include "test.h"

static const struct {
    const char *name, *answer, *entry, *stub;
    bool script;
    const char *want; /* NULL: nothing extracted */
    const char *method;
} code_cases[] = {
    {"fence_with_prose", "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nDone.",
     "add", NULL, false, "def add(a, b):\n    return a + b\n", "fence_entry"},
    {"fence_no_tag", "```\ndef add(a, b):\n    return a + b\n```", "add", NULL, false,
     "def add(a, b):\n    return a + b\n", "fence_entry"},
    {"fix_after_quote",
     "The bug is here:\n```python\ndef f(x):\n    return x - 1\n```\nFixed:\n```python\ndef f(x):\n"
     "    return x + 1\n```\n",
     "f", NULL, false, "def f(x):\n    return x - 1\n\ndef f(x):\n    return x + 1\n",
     "fence_entry"},
    {"helper_block_prepended",
     "```python\nimport math\n\ndef is_sq(n):\n    return math.isqrt(n) ** 2 == n\n```\nThen:\n"
     "```python\ndef count_sq(xs):\n    return sum(map(is_sq, xs))\n```",
     "count_sq", NULL, false,
     "import math\n\ndef is_sq(n):\n    return math.isqrt(n) ** 2 == n\n\ndef count_sq(xs):\n"
     "    return sum(map(is_sq, xs))\n",
     "fence_entry"},
    {"usage_block_not_included",
     "```python\nprint(sq(3))\n```\n```python\ndef sq(x):\n    return x * x\n```\n```python\n"
     "print(sq(4))\n```",
     "sq", NULL, false, "def sq(x):\n    return x * x\n", "fence_entry"},
    {"bare_code_between_prose",
     "Sure! Here is the function.\n\ndef mul(a, b):\n    # product\n    return a * b\n\n"
     "This multiplies two numbers.",
     "mul", NULL, false, "def mul(a, b):\n    # product\n    return a * b\n\n", "raw"},
    {"body_completes_stub", "    return a - b\n", "sub",
     "def sub(a, b):\n    \"\"\"a minus b\"\"\"\n", false,
     "def sub(a, b):\n    \"\"\"a minus b\"\"\"\n\n    return a - b\n", "stub+completion"},
    {"fenced_body_completes_stub", "```python\n    return a - b\n```", "sub", "def sub(a, b):\n",
     false, "def sub(a, b):\n\n    return a - b\n", "stub+completion"},
    {"think_block_ignored",
     "<think>maybe\n```python\ndef g():\n    return 0\n```\n</think>\n```python\ndef g():\n"
     "    return 1\n```",
     "g", NULL, false, "def g():\n    return 1\n", "fence_entry"},
    {"unclosed_think_swallows", "<think>\ndef g():\n    return 0\n", "g", NULL, false, NULL,
     "none"},
    {"ansi_escapes", "\x1b[1m```python\x1b[0m\ndef h():\n    return \x1b[32m2\x1b[0m\n```", "h",
     NULL, false, "def h():\n    return 2\n", "fence_entry"},
    {"no_code", "I cannot help with that.", "h", NULL, false, NULL, "none"},
    {"main_block_dropped",
     "```python\ndef inc(x):\n    return x + 1\n\nif __name__ == \"__main__\":\n    "
     "print(inc(int(input())))\n"
     "```",
     "inc", NULL, false, "def inc(x):\n    return x + 1\n\n", "fence_entry"},
    {"main_block_kept_for_scripts",
     "```python\ndef main():\n    print(1)\n\nif __name__ == '__main__':\n    main()\n```", NULL,
     NULL, true, "def main():\n    print(1)\n\nif __name__ == '__main__':\n    main()\n",
     "fence_longest"},
    {"stub_imports_added", "```python\ndef first(xs: List[int]) -> int:\n    return xs[0]\n```",
     "first", "from typing import List\n\n\ndef first(xs: List[int]) -> int:\n", false,
     "from typing import List\ndef first(xs: List[int]) -> int:\n    return xs[0]\n",
     "fence_entry"},
    {"unterminated_fence", "```python\ndef k():\n    return 3\n", "k", NULL, false,
     "def k():\n    return 3\n", "fence_entry"},
    {"chinese_prose", "好的，代码如下：\n```py\ndef 加(a, b):\n    return a + b\n```\n希望有帮助。",
     "加", NULL, false, "def 加(a, b):\n    return a + b\n", "fence_entry"},
    {"bash_block_skipped",
     "```bash\npython3 run.py\n```\n```python3\nimport sys\nprint(sys.argv)\n```", NULL, NULL, true,
     "import sys\nprint(sys.argv)\n", "fence_longest"},
    {"crlf", "```python\r\ndef c():\r\n    return 1\r\n```\r\n", "c", NULL, false,
     "def c():\n    return 1\n", "fence_entry"},
    {"longest_without_entry", "```python\nx = 1\n```\n```python\ny = 2\nz = 3\n```", "nothere",
     NULL, false, "y = 2\nz = 3\n", "fence_longest"},
    {"tilde_fence", "~~~python\ndef t():\n    return 't'\n~~~", "t", NULL, false,
     "def t():\n    return 't'\n", "fence_entry"},
    {"async_def", "```python\nasync def fetch():\n    return 1\n```", "fetch", NULL, false,
     "async def fetch():\n    return 1\n", "fence_entry"},
};

TEST(code_extraction_table) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(code_cases); i++) {
        char *code = NULL;
        const char *method = NULL;
        tlm_error err = {0};
        ASSERT_OK(tlm_eval_extract_code(code_cases[i].answer, code_cases[i].entry,
                                        code_cases[i].stub, code_cases[i].script, &code, &method,
                                        &err));
        if (!code_cases[i].want) {
            ASSERT_MSG(code == NULL, "%s: extracted %s", code_cases[i].name, code);
        } else {
            ASSERT_MSG(code && !strcmp(code, code_cases[i].want), "%s: got [%s] want [%s]",
                       code_cases[i].name, code ? code : "(null)", code_cases[i].want);
        }
        ASSERT_MSG(!strcmp(method, code_cases[i].method), "%s: method %s, want %s",
                   code_cases[i].name, method, code_cases[i].method);
        tlm_free(code);
    }
}

TEST(clean_answer) {
    char *s = tlm_eval_clean_answer("a</think>b<think>c</think>d\r\n\x1b[31me");
    ASSERT_STR_EQ(s, "bd\ne");
    tlm_free(s);
    s = tlm_eval_clean_answer(NULL);
    ASSERT_STR_EQ(s, "");
    tlm_free(s);
}

static const struct {
    const char *text;
    const char *strict, *flexible, *best, *method;
} number_cases[] = {
    {"She makes 9 * 2 = $18 every day.\n#### 18", "18", "18", "18", "strict"},
    {"#### 1,234", "1234", "1234", "1234", "strict"},
    {"#### -7", "-7", "-7", "-7", "strict"},
    {"####18 then 20", NULL, "20", "20", "flexible"},
    {"The answer is $1,234.50.", NULL, "1234.50", "1234.50", "marker"},
    {"18 apples and 20 oranges", NULL, "20", "20", "flexible"},
    {"It costs $5.00 in total, so 3 items.", NULL, "3", "3", "flexible"},
    {"所以答案是 42。", NULL, "42", "42", "marker"},
    {"\\boxed{7} is final, not 8", NULL, "8", "7", "marker"},
    {"Total: 18.", NULL, "18", "18", "flexible"},
    {"no digits here...", NULL, NULL, NULL, "none"},
    {"#### 5\n#### 6", "5", "6", "5", "strict"},
};

TEST(number_extraction_table) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(number_cases); i++) {
        char s[64], f[64], b[64];
        const char *method;
        bool hs = tlm_eval_extract_number_strict(number_cases[i].text, s, sizeof s);
        bool hf = tlm_eval_extract_number_flexible(number_cases[i].text, f, sizeof f);
        bool hb = tlm_eval_extract_number(number_cases[i].text, b, sizeof b, &method);
        ASSERT_MSG(hs == (number_cases[i].strict != NULL), "case %zu strict found=%d", i, hs);
        ASSERT_MSG(hf == (number_cases[i].flexible != NULL), "case %zu flexible found=%d", i, hf);
        ASSERT_MSG(hb == (number_cases[i].best != NULL), "case %zu best found=%d", i, hb);
        if (hs) ASSERT_STR_EQ(s, number_cases[i].strict);
        if (hf) ASSERT_STR_EQ(f, number_cases[i].flexible);
        if (hb) ASSERT_STR_EQ(b, number_cases[i].best);
        ASSERT_STR_EQ(method, number_cases[i].method);
    }
}

TEST(numbers_compare_by_value) {
    ASSERT(tlm_eval_numbers_equal("18.00", "18"));
    ASSERT(tlm_eval_numbers_equal("-3", "-3.0"));
    ASSERT(tlm_eval_numbers_equal("0.1", ".1"));
    ASSERT(!tlm_eval_numbers_equal("18", "19"));
    ASSERT(!tlm_eval_numbers_equal("18", "18.5"));
    ASSERT(!tlm_eval_numbers_equal("", "0"));
    ASSERT(tlm_eval_numbers_equal("1.2.3", "1.2.3")); /* not numbers: compared as text */
}

TEST(json_extraction) {
    bool found;
    json_t *v = tlm_eval_extract_json("Result:\n```json\n{\"a\": [1, 2]}\n```\n", &found);
    ASSERT(found && json_is_object(v));
    ASSERT_EQ(json_array_size(json_object_get(v, "a")), 2);
    json_decref(v);
    v = tlm_eval_extract_json("Sure: {\"s\": \"a } b\", \"n\": {\"m\": 1}} hope it helps", &found);
    ASSERT(found && json_is_object(v));
    ASSERT_STR_EQ(json_string_value(json_object_get(v, "s")), "a } b");
    json_decref(v);
    v = tlm_eval_extract_json("{\"broken\": ", &found);
    ASSERT(v == NULL && found);
    v = tlm_eval_extract_json("plain words only", &found);
    ASSERT(v == NULL && !found);
    v = tlm_eval_extract_json("[{\"x\": 1}]", &found);
    ASSERT(json_is_array(v));
    json_decref(v);
}

/* The gold number written independently of the extractors: the text after
 * the last "#### ", commas removed. */
static void gold_number(const char *answer, char *out, size_t cap) {
    const char *p = strstr(answer, "#### "), *q;
    while (p && (q = strstr(p + 1, "#### "))) p = q;
    size_t j = 0;
    for (p += 5; *p && *p != '\n' && j + 1 < cap; p++)
        if (*p != ',') out[j++] = *p;
    out[j] = '\0';
}

TEST(gsm8k_reference_answers) {
    char path[512];
    snprintf(path, sizeof path, "%s/../shared/data/gsm8k_test.jsonl", test_source_dir());
    FILE *f = fopen(path, "r");
    if (!f) SKIP("../shared/data/gsm8k_test.jsonl absent: GSM8K check skipped");
    char *line = NULL;
    size_t cap = 0;
    int n = 0, strict_ok = 0, flex_ok = 0, best_ok = 0, wrong_rejected = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *rec = json_loads(line, 0, NULL);
        const char *ans = json_string_value(json_object_get(rec, "answer"));
        if (!ans) {
            json_decref(rec);
            continue;
        }
        char gold[64], s[64], fl[64], b[64], off[64];
        gold_number(ans, gold, sizeof gold);
        n++;
        strict_ok += tlm_eval_extract_number_strict(ans, s, sizeof s) && !strcmp(s, gold);
        flex_ok += tlm_eval_extract_number_flexible(ans, fl, sizeof fl) && !strcmp(fl, gold);
        best_ok +=
            tlm_eval_extract_number(ans, b, sizeof b, NULL) && tlm_eval_numbers_equal(b, gold);
        snprintf(off, sizeof off, "%.0f", strtod(gold, NULL) + 1);
        wrong_rejected += !tlm_eval_numbers_equal(off, gold);
        json_decref(rec);
    }
    free(line);
    fclose(f);
    ASSERT_EQ(n, 1319);
    ASSERT_EQ(strict_ok, 1319);
    ASSERT_EQ(flex_ok, 1319);
    ASSERT_EQ(best_ok, 1319);
    ASSERT_EQ(wrong_rejected, 1319);
}

TEST_MAIN(TEST_ENTRY(code_extraction_table), TEST_ENTRY(clean_answer),
          TEST_ENTRY(number_extraction_table), TEST_ENTRY(numbers_compare_by_value),
          TEST_ENTRY(json_extraction), TEST_ENTRY(gsm8k_reference_answers))
