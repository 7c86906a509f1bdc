/* test_util.c - status table, error records, the growable buffer, model names. */
#include "core/util.h"
#include "test.h"

TEST(status_strings) {
    ASSERT_STR_EQ(tlm_status_str(TLM_OK), "success");
    ASSERT_STR_EQ(tlm_status_str(TLM_ERR_FORMAT), "malformed file");
    ASSERT_STR_EQ(tlm_status_str((tlm_status)-999), "unknown status");
}

TEST(error_set_formats_and_returns_code) {
    tlm_error err = {0};
    ASSERT_EQ(tlm_error_set(&err, TLM_ERR_RANGE, "x=%d", 42), TLM_ERR_RANGE);
    ASSERT_EQ(err.code, TLM_ERR_RANGE);
    ASSERT_STR_EQ(err.msg, "x=42");
    ASSERT_EQ(tlm_error_set(NULL, TLM_ERR_IO, "ignored"), TLM_ERR_IO);
}

TEST(buf_grows) {
    tlm_buf b = {0};
    for (int i = 0; i < 1000; i++) ASSERT_OK(tlm_buf_appendf(&b, "%d,", i));
    ASSERT_EQ(strncmp(b.data, "0,1,2,", 6), 0);
    ASSERT_EQ(b.len, strlen(b.data));
    ASSERT_CONTAINS(b.data, "998,999,");
    tlm_buf_free(&b);
    ASSERT(b.data == NULL);
}

TEST(checked_math) {
    uint64_t r;
    ASSERT(tlm_mul_u64(1ull << 32, 1ull << 31, &r));
    ASSERT(!tlm_mul_u64(1ull << 32, 1ull << 32, &r));
    ASSERT(!tlm_add_u64(UINT64_MAX, 1, &r));
    ASSERT_EQ(tlm_pad_u64(33, 32), 64);
}

TEST(model_name_of_path) {
    static const char *const cases[][2] = {
        {"/models/qwen2.5-0.5b-q4_k_m.gguf", "qwen2.5-0.5b-q4_k_m"},
        {"gemma.gguf", "gemma"},
        {"dir/notes.txt", "notes.txt"},
        {".gguf", ".gguf"}, /* nothing would be left: kept whole */
        {"a/b/", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = tlm_model_name_of_path(cases[i][0]);
        ASSERT_STR_EQ(n, cases[i][1]);
        tlm_free(n);
    }
}

TEST_MAIN(TEST_ENTRY(status_strings), TEST_ENTRY(error_set_formats_and_returns_code),
          TEST_ENTRY(buf_grows), TEST_ENTRY(checked_math), TEST_ENTRY(model_name_of_path))
