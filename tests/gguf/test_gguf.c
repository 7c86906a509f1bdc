/*
 * test_gguf.c - the GGUF reader, validator and writer.
 *
 * Round trips write every metadata type with the writer and read it back;
 * the validation tests build raw images byte by byte (so each defect is
 * exactly one thing) and check the error names the problem and the offset.
 */
#include "core/util.h"
#include "gguf/gguf.h"
#include "test.h"

/* ---- A raw image builder ---- */

static void b_u32(tlm_buf *b, uint32_t v) { tlm_buf_append(b, &v, 4); }
static void b_u64(tlm_buf *b, uint64_t v) { tlm_buf_append(b, &v, 8); }
static void b_str(tlm_buf *b, const char *s) {
    b_u64(b, strlen(s));
    tlm_buf_append(b, s, strlen(s));
}
static void b_header(tlm_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    tlm_buf_append(b, "GGUF", 4);
    b_u32(b, version);
    b_u64(b, n_tensors);
    b_u64(b, n_kv);
}
static void b_tensor(tlm_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                     uint32_t type, uint64_t offset) {
    b_str(b, name);
    b_u32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) b_u64(b, ne[i]);
    b_u32(b, type);
    b_u64(b, offset);
}
static void b_pad(tlm_buf *b, size_t align) {
    static const char z[64];
    tlm_buf_append(b, z, tlm_pad_u64(b->len, align) - b->len);
}
static void b_zeros(tlm_buf *b, size_t n) {
    for (size_t i = 0; i < n; i++) tlm_buf_append(b, "", 1);
}

/* Parses the image; expects failure with status st and msg containing needle. */
static int expect_error(tlm_buf *b, tlm_status st, const char *needle, tlm_error *err) {
    tlm_gguf *g = (tlm_gguf *)1;
    tlm_status got = tlm_gguf_open_memory(b->data, b->len, &g, err);
    tlm_buf_free(b);
    if (got != st || g != NULL || !strstr(err->msg, needle)) {
        fprintf(stderr, "  expected status %d with \"%s\", got %d: \"%s\"\n", st, needle, got,
                err->msg);
        return 0;
    }
    return 1;
}

static const char *tmp_path(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", test_tmp_dir(), name);
    return p;
}

/* ---- Round trips ---- */

TEST(round_trip_every_metadata_type) {
    tlm_gguf_writer *w;
    ASSERT_OK(tlm_gguf_writer_create(&w));
    ASSERT_OK(tlm_gguf_set_u8(w, "t.u8", 200));
    ASSERT_OK(tlm_gguf_set_i8(w, "t.i8", -100));
    ASSERT_OK(tlm_gguf_set_u16(w, "t.u16", 65000));
    ASSERT_OK(tlm_gguf_set_i16(w, "t.i16", -32000));
    ASSERT_OK(tlm_gguf_set_u32(w, "t.u32", 4000000000u));
    ASSERT_OK(tlm_gguf_set_i32(w, "t.i32", -2000000000));
    ASSERT_OK(tlm_gguf_set_u64(w, "t.u64", 18000000000000000000ull));
    ASSERT_OK(tlm_gguf_set_i64(w, "t.i64", -9000000000000000000ll));
    ASSERT_OK(tlm_gguf_set_f32(w, "t.f32", 1.5e-6f));
    ASSERT_OK(tlm_gguf_set_f64(w, "t.f64", 1e300));
    ASSERT_OK(tlm_gguf_set_bool(w, "t.bool", true));
    ASSERT_OK(tlm_gguf_set_str(w, "t.str", "héllo \xe4\xb8\xad"));
    ASSERT_OK(tlm_gguf_set_str(w, "t.empty", ""));
    int32_t ints[5] = {1, -2, 3, -4, 2147483647};
    ASSERT_OK(tlm_gguf_set_arr(w, "t.arr_i32", TLM_GGUF_I32, ints, 5));
    float fl[3] = {0.5f, -1.25f, 3e38f};
    ASSERT_OK(tlm_gguf_set_arr(w, "t.arr_f32", TLM_GGUF_F32, fl, 3));
    uint8_t bools[3] = {1, 0, 1};
    ASSERT_OK(tlm_gguf_set_arr(w, "t.arr_bool", TLM_GGUF_BOOL, bools, 3));
    const char *strs[3] = {"a", "", "<|im_start|>"};
    ASSERT_OK(tlm_gguf_set_arr_str(w, "t.arr_str", strs, 3));
    ASSERT_OK(tlm_gguf_set_arr(w, "t.arr_empty", TLM_GGUF_U64, NULL, 0));
    /* Replacing a key keeps one copy with the new value. */
    ASSERT_OK(tlm_gguf_set_u32(w, "t.replaced", 1));
    ASSERT_OK(tlm_gguf_set_u32(w, "t.replaced", 2));
    const char *path = tmp_path("types.gguf");
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_writer_write(w, path, NULL, NULL, &err));
    tlm_gguf_writer_free(w);

    tlm_gguf *g;
    ASSERT_OK(tlm_gguf_open(path, &g, &err));
    ASSERT_EQ(tlm_gguf_n_kv(g), 19);
    const tlm_gguf_kv *kv = tlm_gguf_find_kv(g, "t.u8");
    ASSERT(kv && kv->value.type == TLM_GGUF_U8 && kv->value.v.u == 200);
    kv = tlm_gguf_find_kv(g, "t.i8");
    ASSERT(kv && kv->value.type == TLM_GGUF_I8 && kv->value.v.i == -100);
    kv = tlm_gguf_find_kv(g, "t.u16");
    ASSERT(kv && kv->value.type == TLM_GGUF_U16 && kv->value.v.u == 65000);
    kv = tlm_gguf_find_kv(g, "t.i16");
    ASSERT(kv && kv->value.type == TLM_GGUF_I16 && kv->value.v.i == -32000);
    uint32_t u32;
    ASSERT_OK(tlm_gguf_get_u32(g, "t.u32", &u32, &err));
    ASSERT_EQ(u32, 4000000000u);
    int64_t i64;
    ASSERT_OK(tlm_gguf_get_i64(g, "t.i32", &i64, &err));
    ASSERT_EQ(i64, -2000000000);
    uint64_t u64;
    ASSERT_OK(tlm_gguf_get_u64(g, "t.u64", &u64, &err));
    ASSERT(u64 == 18000000000000000000ull);
    ASSERT_OK(tlm_gguf_get_i64(g, "t.i64", &i64, &err));
    ASSERT(i64 == -9000000000000000000ll);
    float f32;
    ASSERT_OK(tlm_gguf_get_f32(g, "t.f32", &f32, &err));
    ASSERT(f32 == 1.5e-6f);
    double f64;
    ASSERT_OK(tlm_gguf_get_f64(g, "t.f64", &f64, &err));
    ASSERT(f64 == 1e300);
    bool bv;
    ASSERT_OK(tlm_gguf_get_bool(g, "t.bool", &bv, &err));
    ASSERT(bv);
    char *s;
    ASSERT_OK(tlm_gguf_get_strdup(g, "t.str", &s, &err));
    ASSERT_STR_EQ(s, "héllo \xe4\xb8\xad");
    tlm_free(s);
    ASSERT_OK(tlm_gguf_get_strdup(g, "t.empty", &s, &err));
    ASSERT_STR_EQ(s, "");
    tlm_free(s);
    const tlm_gguf_value *arr;
    ASSERT_OK(tlm_gguf_get_arr(g, "t.arr_i32", TLM_GGUF_I32, &arr, &err));
    ASSERT_EQ(arr->v.arr.n, 5);
    for (int i = 0; i < 5; i++) ASSERT_EQ(tlm_gguf_arr_i64(arr, i), ints[i]);
    ASSERT_OK(tlm_gguf_get_arr(g, "t.arr_f32", TLM_GGUF_F32, &arr, &err));
    for (int i = 0; i < 3; i++) ASSERT(tlm_gguf_arr_f64(arr, i) == fl[i]);
    ASSERT_OK(tlm_gguf_get_arr(g, "t.arr_bool", TLM_GGUF_BOOL, &arr, &err));
    for (int i = 0; i < 3; i++) ASSERT_EQ(tlm_gguf_arr_i64(arr, i), bools[i]);
    ASSERT_OK(tlm_gguf_get_arr(g, "t.arr_str", TLM_GGUF_STRING, &arr, &err));
    ASSERT_EQ(arr->v.arr.n, 3);
    for (int i = 0; i < 3; i++) ASSERT(tlm_gguf_str_eq(tlm_gguf_arr_str(arr, i), strs[i]));
    ASSERT_OK(tlm_gguf_get_arr(g, "t.arr_empty", TLM_GGUF_U64, &arr, &err));
    ASSERT_EQ(arr->v.arr.n, 0);
    ASSERT_OK(tlm_gguf_get_u32(g, "t.replaced", &u32, &err));
    ASSERT_EQ(u32, 2);
    tlm_gguf_free(g);
}

TEST(round_trip_nested_arrays_via_set_value) {
    /* Nested arrays can only be produced raw: build one, read it, copy it
     * through the writer with set_value, and compare. */
    tlm_buf b = {0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "t.nested");
    b_u32(&b, TLM_GGUF_ARRAY);
    b_u32(&b, TLM_GGUF_ARRAY);
    b_u64(&b, 2);
    b_u32(&b, TLM_GGUF_STRING);
    b_u64(&b, 2);
    b_str(&b, "x");
    b_str(&b, "yz");
    b_u32(&b, TLM_GGUF_I16);
    b_u64(&b, 3);
    int16_t v16[3] = {-1, 2, -3};
    tlm_buf_append(&b, v16, 6);
    tlm_error err = {0};
    tlm_gguf *g;
    ASSERT_OK(tlm_gguf_open_memory(b.data, b.len, &g, &err));
    tlm_gguf_writer *w;
    ASSERT_OK(tlm_gguf_writer_create(&w));
    ASSERT_OK(tlm_gguf_set_value(w, "t.nested", &tlm_gguf_kv_at(g, 0)->value));
    const char *path = tmp_path("nested.gguf");
    ASSERT_OK(tlm_gguf_writer_write(w, path, NULL, NULL, &err));
    tlm_gguf_writer_free(w);
    tlm_gguf_free(g);

    ASSERT_OK(tlm_gguf_open(path, &g, &err));
    const tlm_gguf_value *arr;
    ASSERT_OK(tlm_gguf_get_arr(g, "t.nested", TLM_GGUF_ARRAY, &arr, &err));
    ASSERT_EQ(arr->v.arr.n, 2);
    const tlm_gguf_value *a0 = &arr->v.arr.arrs[0], *a1 = &arr->v.arr.arrs[1];
    ASSERT_EQ(a0->v.arr.type, TLM_GGUF_STRING);
    ASSERT(tlm_gguf_str_eq(tlm_gguf_arr_str(a0, 1), "yz"));
    ASSERT_EQ(a1->v.arr.type, TLM_GGUF_I16);
    ASSERT_EQ(tlm_gguf_arr_i64(a1, 2), -3);
    tlm_gguf_free(g);
    /* The written file is byte-identical to the hand-built image. */
    FILE *f = fopen(path, "rb");
    ASSERT(f);
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ASSERT_EQ(n, b.len);
    ASSERT(memcmp(buf, b.data, n) == 0);
    tlm_buf_free(&b);
}

static tlm_status fill_pattern(void *user, uint64_t index, const char *name, void *buf,
                               uint64_t nbytes) {
    (void)user; (void)name;
    for (uint64_t i = 0; i < nbytes; i++) ((uint8_t *)buf)[i] = (uint8_t)(i * 7 + index);
    return TLM_OK;
}

TEST(round_trip_tensors_and_alignment) {
    for (int pass = 0; pass < 2; pass++) {
        uint32_t align = pass ? 64 : 32;
        tlm_gguf_writer *w;
        ASSERT_OK(tlm_gguf_writer_create(&w));
        if (pass) ASSERT_OK(tlm_gguf_set_u32(w, "general.alignment", align));
        float a[6] = {1, 2, 3, 4, 5, 6};
        uint64_t ne_a[2] = {3, 2}, ne_b[1] = {64}, ne_c[3] = {32, 1, 3};
        tlm_error err = {0};
        ASSERT_OK(tlm_gguf_add_tensor(w, "a", TLM_TYPE_F32, 2, ne_a, a, &err));
        ASSERT_OK(tlm_gguf_add_tensor(w, "b", TLM_TYPE_Q8_0, 1, ne_b, NULL, &err));
        ASSERT_OK(tlm_gguf_add_tensor(w, "c", TLM_TYPE_F16, 3, ne_c, NULL, &err));
        ASSERT_EQ(tlm_gguf_add_tensor(w, "a", TLM_TYPE_F32, 2, ne_a, a, &err), TLM_ERR_INVALID_ARG);
        uint64_t bad[1] = {33};
        ASSERT_EQ(tlm_gguf_add_tensor(w, "q", TLM_TYPE_Q4_0, 1, bad, NULL, &err), TLM_ERR_INVALID_ARG);
        const char *path = tmp_path("tensors.gguf");
        ASSERT_OK(tlm_gguf_writer_write(w, path, fill_pattern, NULL, &err));
        tlm_gguf_writer_free(w);

        tlm_gguf *g;
        ASSERT_OK(tlm_gguf_open(path, &g, &err));
        ASSERT_EQ(tlm_gguf_alignment(g), align);
        ASSERT_EQ(tlm_gguf_data_offset(g) % align, 0);
        ASSERT_EQ(tlm_gguf_n_tensors(g), 3);
        const tlm_gguf_tensor *t = tlm_gguf_find_tensor(g, "a");
        ASSERT(t && t->type == TLM_TYPE_F32 && t->n_dims == 2 && t->ne[0] == 3 && t->ne[1] == 2);
        ASSERT(memcmp(t->data, a, sizeof a) == 0);
        t = tlm_gguf_find_tensor(g, "b");
        ASSERT(t && t->type == TLM_TYPE_Q8_0 && t->nbytes == 68);
        ASSERT_EQ(t->offset % align, 0);
        for (int i = 0; i < 68; i++) ASSERT_EQ(((const uint8_t *)t->data)[i], (uint8_t)(i * 7 + 1));
        t = tlm_gguf_find_tensor(g, "c");
        ASSERT(t && t->n_dims == 3 && t->ne[2] == 3 && t->nbytes == 192);
        ASSERT_EQ(((const uint8_t *)t->data)[5], (uint8_t)(5 * 7 + 2));
        ASSERT(tlm_gguf_find_tensor(g, "missing") == NULL);
        ASSERT(tlm_gguf_alloc_used(g) <= tlm_gguf_file_size(g) + (1u << 20));
        tlm_gguf_free(g);
    }
}

TEST(typed_getters_fail_clearly) {
    tlm_gguf_writer *w;
    ASSERT_OK(tlm_gguf_writer_create(&w));
    ASSERT_OK(tlm_gguf_set_str(w, "qwen2.context_length", "32768"));
    ASSERT_OK(tlm_gguf_set_i32(w, "neg", -5));
    ASSERT_OK(tlm_gguf_set_u64(w, "big", 1ull << 40));
    const char *path = tmp_path("getters.gguf");
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_writer_write(w, path, NULL, NULL, &err));
    tlm_gguf_writer_free(w);
    tlm_gguf *g;
    ASSERT_OK(tlm_gguf_open(path, &g, &err));
    uint32_t u;
    ASSERT_EQ(tlm_gguf_get_u32(g, "qwen2.context_length", &u, &err), TLM_ERR_TYPE);
    ASSERT_CONTAINS(err.msg, "qwen2.context_length is string, expected an integer");
    ASSERT_EQ(tlm_gguf_get_u32(g, "nope", &u, &err), TLM_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "nope");
    ASSERT_EQ(tlm_gguf_get_u32(g, "neg", &u, &err), TLM_ERR_RANGE);
    ASSERT_EQ(tlm_gguf_get_u32(g, "big", &u, &err), TLM_ERR_RANGE);
    float f;
    ASSERT_EQ(tlm_gguf_get_f32(g, "neg", &f, &err), TLM_ERR_TYPE);
    const tlm_gguf_value *arr;
    ASSERT_EQ(tlm_gguf_get_arr(g, "neg", TLM_GGUF_STRING, &arr, &err), TLM_ERR_TYPE);
    ASSERT_CONTAINS(err.msg, "expected an array of string");
    tlm_gguf_free(g);
}

/* ---- Validation: one defect per image ---- */

TEST(rejects_bad_magic) {
    tlm_buf b = {0};
    tlm_buf_append(&b, "GGML", 4);
    b_u32(&b, 3);
    b_u64(&b, 0);
    b_u64(&b, 0);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "bad magic (not a GGUF file) at offset 0", &err));
}

TEST(rejects_unsupported_version) {
    tlm_buf b = {0};
    b_header(&b, 1, 0, 0);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_UNSUPPORTED, "unsupported version 1 at offset 4", &err));
    b_header(&b, 4, 0, 0);
    ASSERT(expect_error(&b, TLM_ERR_UNSUPPORTED, "unsupported version 4", &err));
}

TEST(rejects_truncated_header) {
    tlm_buf b = {0};
    tlm_buf_append(&b, "GGUF\3\0\0\0\0", 9);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "unexpected end of file at offset 8: the tensor count", &err));
}

TEST(rejects_counts_beyond_file) {
    tlm_buf b = {0};
    b_header(&b, 3, 0, 1000000);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "key/value count beyond the end of the file at offset 16", &err));
    b_header(&b, 3, UINT64_MAX, 0);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "tensor count beyond the end of the file at offset 8", &err));
}

TEST(rejects_string_length_beyond_file) {
    tlm_buf b = {0};
    b_header(&b, 3, 0, 1);
    b_u64(&b, 1ull << 62); /* key length */
    b_zeros(&b, 16);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "string length beyond the end of the file at offset 24", &err));
}

TEST(rejects_array_length_beyond_file) {
    tlm_buf b = {0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, TLM_GGUF_ARRAY);
    b_u32(&b, TLM_GGUF_U32);
    b_u64(&b, 1ull << 61); /* times 4 bytes overflows past the file */
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "array length beyond the end of the file at offset 37", &err));
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, TLM_GGUF_ARRAY);
    b_u32(&b, TLM_GGUF_STRING);
    b_u64(&b, 1000000);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "array length beyond the end of the file", &err));
}

TEST(rejects_unknown_value_type_and_bad_bool) {
    tlm_buf b = {0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, 13);
    b_zeros(&b, 8);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "unknown metadata value type at offset 33", &err));
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, TLM_GGUF_BOOL);
    tlm_buf_append(&b, "\x07", 1);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "bool value is neither 0 nor 1", &err));
}

TEST(rejects_duplicate_key) {
    tlm_buf b = {0};
    b_header(&b, 3, 0, 2);
    for (int i = 0; i < 2; i++) {
        b_str(&b, "general.name");
        b_u32(&b, TLM_GGUF_U8);
        tlm_buf_append(&b, "\1", 1);
    }
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "duplicate key at offset 49", &err));
}

TEST(rejects_deep_nesting) {
    tlm_buf b = {0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "k");
    b_u32(&b, TLM_GGUF_ARRAY);
    for (int i = 0; i < 20; i++) {
        b_u32(&b, TLM_GGUF_ARRAY);
        b_u64(&b, 1);
    }
    b_zeros(&b, 64);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "arrays nested too deeply", &err));
}

/* A one-tensor image with the given info; data section of data_bytes. */
static void one_tensor(tlm_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
                       uint32_t type, uint64_t offset, size_t data_bytes) {
    b_header(b, 3, 1, 0);
    b_tensor(b, name, n_dims, ne, type, offset);
    b_pad(b, 32);
    b_zeros(b, data_bytes);
}

TEST(accepts_a_valid_tensor) {
    tlm_buf b = {0};
    uint64_t ne[2] = {32, 2};
    one_tensor(&b, "w", 2, ne, TLM_TYPE_Q8_0, 0, 68);
    tlm_gguf *g;
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_open_memory(b.data, b.len, &g, &err));
    ASSERT_EQ(tlm_gguf_find_tensor(g, "w")->nbytes, 68);
    tlm_gguf_free(g);
    tlm_buf_free(&b);
}

TEST(rejects_unknown_tensor_type) {
    tlm_buf b = {0};
    uint64_t ne[1] = {32};
    one_tensor(&b, "w", 1, ne, 4 /* removed Q4_2 */, 0, 64);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "unknown tensor type at offset 24", &err));
}

TEST(rejects_dimension_overflow) {
    tlm_buf b = {0};
    uint64_t ne[4] = {1ull << 20, 1ull << 20, 1ull << 20, 1ull << 20};
    one_tensor(&b, "w", 4, ne, TLM_TYPE_F32, 0, 64);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "tensor element count overflows at offset 24", &err));
    uint64_t ne2[2] = {1ull << 31, 1ull << 31};
    one_tensor(&b, "w", 2, ne2, TLM_TYPE_Q8_0, 0, 64);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "lies outside the file", &err));
    uint64_t ne3[2] = {1ull << 32, 1ull << 31};
    one_tensor(&b, "w", 2, ne3, TLM_TYPE_F64, 0, 64);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "tensor byte size overflows", &err));
}

TEST(rejects_bad_dims_and_names) {
    tlm_buf b = {0};
    uint64_t ne[5] = {32, 1, 1, 1, 1};
    one_tensor(&b, "w", 5, ne, TLM_TYPE_F32, 0, 128);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "tensor dimension count not in 1..4", &err));
    b_header(&b, 3, 1, 0);
    uint64_t ne33[1] = {33};
    b_tensor(&b, "w", 1, ne33, TLM_TYPE_Q4_0, 0);
    b_zeros(&b, 64);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "not a multiple of its type's block size", &err));
    char longname[80];
    memset(longname, 'x', 70);
    longname[70] = 0;
    one_tensor(&b, longname, 1, ne, TLM_TYPE_F32, 0, 128);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "64 bytes or longer", &err));
    uint64_t neg[1] = {(uint64_t)-32};
    one_tensor(&b, "w", 1, neg, TLM_TYPE_F32, 0, 128);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "negative tensor dimension", &err));
}

TEST(rejects_tensor_data_outside_file_or_misaligned) {
    tlm_buf b = {0};
    uint64_t ne[1] = {64};
    one_tensor(&b, "w", 1, ne, TLM_TYPE_F32, 0, 255); /* needs 256 */
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "tensor 'w' data (offset 0, 256 bytes) lies outside the file", &err));
    one_tensor(&b, "w", 1, ne, TLM_TYPE_F32, 16, 512);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "tensor 'w' data offset 16 is not aligned to 32", &err));
    one_tensor(&b, "w", 1, ne, TLM_TYPE_F32, UINT64_MAX - 31, 512);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "lies outside the file", &err));
}

TEST(rejects_duplicate_tensor_name) {
    tlm_buf b = {0};
    uint64_t ne[1] = {8};
    b_header(&b, 3, 2, 0);
    b_tensor(&b, "w", 1, ne, TLM_TYPE_F32, 0);
    b_tensor(&b, "w", 1, ne, TLM_TYPE_F32, 32);
    b_pad(&b, 32);
    b_zeros(&b, 64);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "duplicate tensor name at offset 57", &err));
}

TEST(rejects_bad_alignment) {
    tlm_buf b = {0};
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, TLM_GGUF_U32);
    b_u32(&b, 48);
    tlm_error err = {0};
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "general.alignment is not a power of two at offset 24", &err));
    b_header(&b, 3, 0, 1);
    b_str(&b, "general.alignment");
    b_u32(&b, TLM_GGUF_U64);
    b_u64(&b, 64);
    ASSERT(expect_error(&b, TLM_ERR_FORMAT, "general.alignment is not a u32", &err));
}

TEST(open_reports_path_and_missing_file) {
    tlm_gguf *g;
    tlm_error err = {0};
    ASSERT_EQ(tlm_gguf_open("/nonexistent/x.gguf", &g, &err), TLM_ERR_IO);
    ASSERT_CONTAINS(err.msg, "/nonexistent/x.gguf");
    const char *path = tmp_path("garbage.gguf");
    FILE *f = fopen(path, "wb");
    fputs("not a model at all", f);
    fclose(f);
    ASSERT_EQ(tlm_gguf_open(path, &g, &err), TLM_ERR_FORMAT);
    ASSERT_CONTAINS(err.msg, "garbage.gguf: gguf: bad magic");
    ASSERT(g == NULL);
}

TEST(every_truncation_of_a_valid_file_fails_cleanly) {
    tlm_gguf_writer *w;
    ASSERT_OK(tlm_gguf_writer_create(&w));
    const char *strs[2] = {"hello", "world"};
    ASSERT_OK(tlm_gguf_set_arr_str(w, "tokens", strs, 2));
    ASSERT_OK(tlm_gguf_set_f32(w, "eps", 1e-6f));
    float data[64] = {0};
    uint64_t ne[2] = {32, 2};
    tlm_error err = {0};
    ASSERT_OK(tlm_gguf_add_tensor(w, "t", TLM_TYPE_F32, 2, ne, data, &err));
    const char *path = tmp_path("trunc.gguf");
    ASSERT_OK(tlm_gguf_writer_write(w, path, NULL, NULL, &err));
    tlm_gguf_writer_free(w);
    FILE *f = fopen(path, "rb");
    char img[2048];
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);
    for (size_t len = 0; len < n; len++) {
        tlm_gguf *g;
        ASSERT_EQ(tlm_gguf_open_memory(img, len, &g, &err), TLM_ERR_FORMAT);
        ASSERT(g == NULL);
    }
    tlm_gguf *g;
    ASSERT_OK(tlm_gguf_open_memory(img, n, &g, &err));
    tlm_gguf_free(g);
}

TEST_MAIN(TEST_ENTRY(round_trip_every_metadata_type), TEST_ENTRY(round_trip_nested_arrays_via_set_value),
          TEST_ENTRY(round_trip_tensors_and_alignment), TEST_ENTRY(typed_getters_fail_clearly),
          TEST_ENTRY(rejects_bad_magic), TEST_ENTRY(rejects_unsupported_version),
          TEST_ENTRY(rejects_truncated_header), TEST_ENTRY(rejects_counts_beyond_file),
          TEST_ENTRY(rejects_string_length_beyond_file), TEST_ENTRY(rejects_array_length_beyond_file),
          TEST_ENTRY(rejects_unknown_value_type_and_bad_bool), TEST_ENTRY(rejects_duplicate_key),
          TEST_ENTRY(rejects_deep_nesting), TEST_ENTRY(accepts_a_valid_tensor),
          TEST_ENTRY(rejects_unknown_tensor_type), TEST_ENTRY(rejects_dimension_overflow),
          TEST_ENTRY(rejects_bad_dims_and_names), TEST_ENTRY(rejects_tensor_data_outside_file_or_misaligned),
          TEST_ENTRY(rejects_duplicate_tensor_name), TEST_ENTRY(rejects_bad_alignment),
          TEST_ENTRY(open_reports_path_and_missing_file),
          TEST_ENTRY(every_truncation_of_a_valid_file_fails_cleanly))
