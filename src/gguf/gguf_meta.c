/*
 * gguf_meta.c - typed access to GGUF metadata.  Getters fail with a message
 * naming the key and both types rather than converting silently: a file
 * whose context_length is a string is broken, and saying so beats guessing.
 * Integers are accepted from any integer type whose value fits, because
 * converters disagree on u32 versus i32 for the same key.
 */
#include "gguf/gguf_impl.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} vtypes[TLM_GGUF_VTYPE_COUNT] = {
    [TLM_GGUF_U8] = {"u8", 1},     [TLM_GGUF_I8] = {"i8", 1},
    [TLM_GGUF_U16] = {"u16", 2},   [TLM_GGUF_I16] = {"i16", 2},
    [TLM_GGUF_U32] = {"u32", 4},   [TLM_GGUF_I32] = {"i32", 4},
    [TLM_GGUF_F32] = {"f32", 4},   [TLM_GGUF_BOOL] = {"bool", 1},
    [TLM_GGUF_STRING] = {"string", 0}, [TLM_GGUF_ARRAY] = {"array", 0},
    [TLM_GGUF_U64] = {"u64", 8},   [TLM_GGUF_I64] = {"i64", 8},
    [TLM_GGUF_F64] = {"f64", 8},
};

const char *tlm_gguf_vtype_name(tlm_gguf_vtype t) {
    return (unsigned)t < TLM_GGUF_VTYPE_COUNT ? vtypes[t].name : "unknown";
}

size_t tlm_gguf_vtype_size(tlm_gguf_vtype t) {
    return (unsigned)t < TLM_GGUF_VTYPE_COUNT ? vtypes[t].size : 0;
}

bool tlm_gguf_str_eq(tlm_gguf_str s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && memcmp(s.ptr, z, n) == 0;
}

static bool is_unsigned(tlm_gguf_vtype t) {
    return t == TLM_GGUF_U8 || t == TLM_GGUF_U16 || t == TLM_GGUF_U32 || t == TLM_GGUF_U64;
}

static bool is_signed(tlm_gguf_vtype t) {
    return t == TLM_GGUF_I8 || t == TLM_GGUF_I16 || t == TLM_GGUF_I32 || t == TLM_GGUF_I64;
}

static tlm_status lookup(const tlm_gguf *g, const char *key, const tlm_gguf_kv **kv,
                         tlm_error *err) {
    *kv = tlm_gguf_find_kv(g, key);
    if (!*kv) return tlm_error_set(err, TLM_ERR_NOT_FOUND, "gguf: key %s not found", key);
    return TLM_OK;
}

static tlm_status mismatch(const tlm_gguf_kv *kv, const char *key, const char *want,
                           tlm_error *err) {
    const tlm_gguf_value *v = &kv->value;
    if (v->type == TLM_GGUF_ARRAY)
        return tlm_error_set(err, TLM_ERR_TYPE, "gguf: key %s is an array of %s, expected %s",
                             key, tlm_gguf_vtype_name(v->v.arr.type), want);
    return tlm_error_set(err, TLM_ERR_TYPE, "gguf: key %s is %s, expected %s", key,
                         tlm_gguf_vtype_name(v->type), want);
}

tlm_status tlm_gguf_get_i64(const tlm_gguf *g, const char *key, int64_t *out, tlm_error *err) {
    const tlm_gguf_kv *kv;
    tlm_status st = lookup(g, key, &kv, err);
    if (st) return st;
    if (is_signed(kv->value.type)) {
        *out = kv->value.v.i;
        return TLM_OK;
    }
    if (is_unsigned(kv->value.type)) {
        if (kv->value.v.u > INT64_MAX)
            return tlm_error_set(err, TLM_ERR_RANGE, "gguf: key %s value too large", key);
        *out = (int64_t)kv->value.v.u;
        return TLM_OK;
    }
    return mismatch(kv, key, "an integer", err);
}

tlm_status tlm_gguf_get_u64(const tlm_gguf *g, const char *key, uint64_t *out, tlm_error *err) {
    const tlm_gguf_kv *kv;
    tlm_status st = lookup(g, key, &kv, err);
    if (st) return st;
    if (is_unsigned(kv->value.type)) {
        *out = kv->value.v.u;
        return TLM_OK;
    }
    if (is_signed(kv->value.type)) {
        if (kv->value.v.i < 0)
            return tlm_error_set(err, TLM_ERR_RANGE, "gguf: key %s is negative (%lld)", key,
                                 (long long)kv->value.v.i);
        *out = (uint64_t)kv->value.v.i;
        return TLM_OK;
    }
    return mismatch(kv, key, "an integer", err);
}

tlm_status tlm_gguf_get_u32(const tlm_gguf *g, const char *key, uint32_t *out, tlm_error *err) {
    uint64_t v = 0;
    tlm_status st = tlm_gguf_get_u64(g, key, &v, err);
    if (st) return st;
    if (v > UINT32_MAX)
        return tlm_error_set(err, TLM_ERR_RANGE, "gguf: key %s value %llu does not fit 32 bits",
                             key, (unsigned long long)v);
    *out = (uint32_t)v;
    return TLM_OK;
}

tlm_status tlm_gguf_get_f64(const tlm_gguf *g, const char *key, double *out, tlm_error *err) {
    const tlm_gguf_kv *kv;
    tlm_status st = lookup(g, key, &kv, err);
    if (st) return st;
    if (kv->value.type != TLM_GGUF_F32 && kv->value.type != TLM_GGUF_F64)
        return mismatch(kv, key, "a float", err);
    *out = kv->value.v.f;
    return TLM_OK;
}

tlm_status tlm_gguf_get_f32(const tlm_gguf *g, const char *key, float *out, tlm_error *err) {
    double v = 0;
    tlm_status st = tlm_gguf_get_f64(g, key, &v, err);
    if (!st) *out = (float)v;
    return st;
}

tlm_status tlm_gguf_get_bool(const tlm_gguf *g, const char *key, bool *out, tlm_error *err) {
    const tlm_gguf_kv *kv;
    tlm_status st = lookup(g, key, &kv, err);
    if (st) return st;
    if (kv->value.type != TLM_GGUF_BOOL) return mismatch(kv, key, "a bool", err);
    *out = kv->value.v.u != 0;
    return TLM_OK;
}

tlm_status tlm_gguf_get_str(const tlm_gguf *g, const char *key, tlm_gguf_str *out,
                            tlm_error *err) {
    const tlm_gguf_kv *kv;
    tlm_status st = lookup(g, key, &kv, err);
    if (st) return st;
    if (kv->value.type != TLM_GGUF_STRING) return mismatch(kv, key, "a string", err);
    *out = kv->value.v.str;
    return TLM_OK;
}

tlm_status tlm_gguf_get_strdup(const tlm_gguf *g, const char *key, char **out, tlm_error *err) {
    tlm_gguf_str s;
    *out = NULL;
    tlm_status st = tlm_gguf_get_str(g, key, &s, err);
    if (st) return st;
    *out = tlm_strndup(s.ptr, (size_t)s.len);
    return *out ? TLM_OK : tlm_error_set(err, TLM_ERR_NOMEM, "gguf: out of memory");
}

tlm_status tlm_gguf_get_arr(const tlm_gguf *g, const char *key, tlm_gguf_vtype elem,
                            const tlm_gguf_value **out, tlm_error *err) {
    const tlm_gguf_kv *kv;
    *out = NULL;
    tlm_status st = lookup(g, key, &kv, err);
    if (st) return st;
    if (kv->value.type != TLM_GGUF_ARRAY) {
        char want[48];
        snprintf(want, sizeof want, "an array of %s",
                 elem == TLM_GGUF_VTYPE_COUNT ? "anything" : tlm_gguf_vtype_name(elem));
        return mismatch(kv, key, want, err);
    }
    if (elem != TLM_GGUF_VTYPE_COUNT && kv->value.v.arr.type != elem)
        return tlm_error_set(err, TLM_ERR_TYPE, "gguf: key %s is an array of %s, expected %s",
                             key, tlm_gguf_vtype_name(kv->value.v.arr.type),
                             tlm_gguf_vtype_name(elem));
    *out = &kv->value;
    return TLM_OK;
}

tlm_gguf_str tlm_gguf_arr_str(const tlm_gguf_value *arr, uint64_t i) {
    tlm_gguf_str s;
    memcpy(&s.len, arr->v.arr.strs[i], 8);
    s.ptr = (const char *)arr->v.arr.strs[i] + 8;
    return s;
}

/* Floats convert with saturation (NaN gives 0): an out-of-range cast is
 * undefined behaviour in C, and the values come from untrusted files. */
static int64_t sat_i64(double x) {
    if (x != x) return 0;
    if (x >= 9223372036854775807.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
}

int64_t tlm_gguf_arr_i64(const tlm_gguf_value *arr, uint64_t i) {
    const uint8_t *p = arr->v.arr.data + i * tlm_gguf_vtype_size(arr->v.arr.type);
    switch (arr->v.arr.type) {
    case TLM_GGUF_U8: case TLM_GGUF_BOOL: return *p;
    case TLM_GGUF_I8: return (int8_t)*p;
    case TLM_GGUF_U16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case TLM_GGUF_I16: { int16_t x; memcpy(&x, p, 2); return x; }
    case TLM_GGUF_U32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case TLM_GGUF_I32: { int32_t x; memcpy(&x, p, 4); return x; }
    case TLM_GGUF_U64: case TLM_GGUF_I64: { int64_t x; memcpy(&x, p, 8); return x; }
    case TLM_GGUF_F32: { float x; memcpy(&x, p, 4); return sat_i64(x); }
    case TLM_GGUF_F64: { double x; memcpy(&x, p, 8); return sat_i64(x); }
    default: return 0;
    }
}

double tlm_gguf_arr_f64(const tlm_gguf_value *arr, uint64_t i) {
    const uint8_t *p = arr->v.arr.data + i * tlm_gguf_vtype_size(arr->v.arr.type);
    switch (arr->v.arr.type) {
    case TLM_GGUF_F32: { float x; memcpy(&x, p, 4); return x; }
    case TLM_GGUF_F64: { double x; memcpy(&x, p, 8); return x; }
    case TLM_GGUF_U64: { uint64_t x; memcpy(&x, p, 8); return (double)x; }
    default: return (double)tlm_gguf_arr_i64(arr, i);
    }
}
