/*
 * gguf_write.c - the GGUF writer.  Values are serialised into their on-disk
 * bytes as soon as they are set, so writing is a straight copy; tensors are
 * placed at offsets padded to general.alignment, and the file is written to
 * a temporary name and renamed, so a failure never leaves half a model where
 * the caller expects a whole one.
 */
#include "gguf/gguf_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wkv {
    char *key;
    tlm_buf val;          /* u32 type id followed by the value's bytes */
} wkv;

typedef struct wtensor {
    char *name;
    tlm_type type;
    uint32_t n_dims;
    uint64_t ne[TLM_GGUF_MAX_DIMS];
    uint64_t nbytes;
    const void *data;     /* borrowed; NULL = ask the fill callback */
} wtensor;

struct tlm_gguf_writer {
    wkv *kvs;
    size_t n_kv, cap_kv;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
};

tlm_status tlm_gguf_writer_create(tlm_gguf_writer **out) {
    *out = tlm_calloc(1, sizeof **out);
    return *out ? TLM_OK : TLM_ERR_NOMEM;
}

void tlm_gguf_writer_free(tlm_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        tlm_buf_free(&w->kvs[i].val);
    }
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->kvs);
    free(w->tensors);
    free(w);
}

/* ---- Key/values ---- */

void tlm_gguf_unset(tlm_gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, key) != 0) continue;
        free(w->kvs[i].key);
        tlm_buf_free(&w->kvs[i].val);
        memmove(&w->kvs[i], &w->kvs[i + 1], (w->n_kv - i - 1) * sizeof *w->kvs);
        w->n_kv--;
        return;
    }
}

/* Starts (or restarts) the value of key with its type id; returns its buffer. */
static tlm_buf *begin_kv(tlm_gguf_writer *w, const char *key, tlm_gguf_vtype type) {
    tlm_gguf_unset(w, key);
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 32;
        wkv *p = tlm_realloc(w->kvs, cap * sizeof *p);
        if (!p) return NULL;
        w->kvs = p;
        w->cap_kv = cap;
    }
    wkv *kv = &w->kvs[w->n_kv];
    memset(kv, 0, sizeof *kv);
    kv->key = tlm_strdup(key);
    uint32_t t = type;
    if (!kv->key || tlm_buf_append(&kv->val, &t, 4)) {
        free(kv->key);
        tlm_buf_free(&kv->val);
        return NULL;
    }
    w->n_kv++;
    return &kv->val;
}

static tlm_status set_raw(tlm_gguf_writer *w, const char *key, tlm_gguf_vtype type,
                          const void *p, size_t n) {
    tlm_buf *b = begin_kv(w, key, type);
    if (!b || tlm_buf_append(b, p, n)) return TLM_ERR_NOMEM;
    return TLM_OK;
}

tlm_status tlm_gguf_set_u8(tlm_gguf_writer *w, const char *k, uint8_t v) { return set_raw(w, k, TLM_GGUF_U8, &v, 1); }
tlm_status tlm_gguf_set_i8(tlm_gguf_writer *w, const char *k, int8_t v) { return set_raw(w, k, TLM_GGUF_I8, &v, 1); }
tlm_status tlm_gguf_set_u16(tlm_gguf_writer *w, const char *k, uint16_t v) { return set_raw(w, k, TLM_GGUF_U16, &v, 2); }
tlm_status tlm_gguf_set_i16(tlm_gguf_writer *w, const char *k, int16_t v) { return set_raw(w, k, TLM_GGUF_I16, &v, 2); }
tlm_status tlm_gguf_set_u32(tlm_gguf_writer *w, const char *k, uint32_t v) { return set_raw(w, k, TLM_GGUF_U32, &v, 4); }
tlm_status tlm_gguf_set_i32(tlm_gguf_writer *w, const char *k, int32_t v) { return set_raw(w, k, TLM_GGUF_I32, &v, 4); }
tlm_status tlm_gguf_set_u64(tlm_gguf_writer *w, const char *k, uint64_t v) { return set_raw(w, k, TLM_GGUF_U64, &v, 8); }
tlm_status tlm_gguf_set_i64(tlm_gguf_writer *w, const char *k, int64_t v) { return set_raw(w, k, TLM_GGUF_I64, &v, 8); }
tlm_status tlm_gguf_set_f32(tlm_gguf_writer *w, const char *k, float v) { return set_raw(w, k, TLM_GGUF_F32, &v, 4); }
tlm_status tlm_gguf_set_f64(tlm_gguf_writer *w, const char *k, double v) { return set_raw(w, k, TLM_GGUF_F64, &v, 8); }

tlm_status tlm_gguf_set_bool(tlm_gguf_writer *w, const char *k, bool v) {
    uint8_t b = v ? 1 : 0;
    return set_raw(w, k, TLM_GGUF_BOOL, &b, 1);
}

static tlm_status append_str(tlm_buf *b, const char *s, uint64_t len) {
    if (tlm_buf_append(b, &len, 8) || tlm_buf_append(b, s, (size_t)len)) return TLM_ERR_NOMEM;
    return TLM_OK;
}

tlm_status tlm_gguf_set_strn(tlm_gguf_writer *w, const char *key, const char *v, size_t len) {
    tlm_buf *b = begin_kv(w, key, TLM_GGUF_STRING);
    return b ? append_str(b, v, len) : TLM_ERR_NOMEM;
}

tlm_status tlm_gguf_set_str(tlm_gguf_writer *w, const char *key, const char *v) {
    return tlm_gguf_set_strn(w, key, v, strlen(v));
}

static tlm_status append_arr_header(tlm_buf *b, tlm_gguf_vtype elem, uint64_t n) {
    uint32_t t = elem;
    if (tlm_buf_append(b, &t, 4) || tlm_buf_append(b, &n, 8)) return TLM_ERR_NOMEM;
    return TLM_OK;
}

tlm_status tlm_gguf_set_arr(tlm_gguf_writer *w, const char *key, tlm_gguf_vtype elem,
                            const void *data, uint64_t n) {
    size_t es = tlm_gguf_vtype_size(elem);
    if (!es) return TLM_ERR_INVALID_ARG;
    tlm_buf *b = begin_kv(w, key, TLM_GGUF_ARRAY);
    if (!b || append_arr_header(b, elem, n) || tlm_buf_append(b, data, (size_t)(n * es)))
        return TLM_ERR_NOMEM;
    return TLM_OK;
}

tlm_status tlm_gguf_set_arr_str(tlm_gguf_writer *w, const char *key, const char *const *strs,
                                uint64_t n) {
    tlm_buf *b = begin_kv(w, key, TLM_GGUF_ARRAY);
    if (!b || append_arr_header(b, TLM_GGUF_STRING, n)) return TLM_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++)
        if (append_str(b, strs[i], strlen(strs[i]))) return TLM_ERR_NOMEM;
    return TLM_OK;
}

/* Serialises a parsed value (without its type id) into b. */
static tlm_status append_value(tlm_buf *b, const tlm_gguf_value *v) {
    if (v->type == TLM_GGUF_STRING) return append_str(b, v->v.str.ptr, v->v.str.len);
    if (v->type != TLM_GGUF_ARRAY) {
        uint8_t raw[8];
        size_t n = tlm_gguf_vtype_size(v->type);
        if (v->type == TLM_GGUF_F32) {
            float f = (float)v->v.f;
            memcpy(raw, &f, 4);
        } else if (v->type == TLM_GGUF_F64) {
            memcpy(raw, &v->v.f, 8);
        } else {
            /* Little-endian: the low n bytes of the 64-bit value. */
            memcpy(raw, &v->v.u, 8);
        }
        return tlm_buf_append(b, raw, n) ? TLM_ERR_NOMEM : TLM_OK;
    }
    tlm_gguf_vtype et = v->v.arr.type;
    if (append_arr_header(b, et, v->v.arr.n)) return TLM_ERR_NOMEM;
    size_t es = tlm_gguf_vtype_size(et);
    if (es) return tlm_buf_append(b, v->v.arr.data, (size_t)(v->v.arr.n * es)) ? TLM_ERR_NOMEM : TLM_OK;
    for (uint64_t i = 0; i < v->v.arr.n; i++) {
        tlm_status st;
        if (et == TLM_GGUF_STRING) {
            tlm_gguf_str s = tlm_gguf_arr_str(v, i);
            st = append_str(b, s.ptr, s.len);
        } else {
            st = append_value(b, &v->v.arr.arrs[i]);
        }
        if (st) return st;
    }
    return TLM_OK;
}

tlm_status tlm_gguf_set_value(tlm_gguf_writer *w, const char *key, const tlm_gguf_value *v) {
    tlm_buf *b = begin_kv(w, key, v->type);
    return b ? append_value(b, v) : TLM_ERR_NOMEM;
}

/* ---- Tensors ---- */

tlm_status tlm_gguf_add_tensor(tlm_gguf_writer *w, const char *name, tlm_type type,
                               uint32_t n_dims, const uint64_t *ne, const void *data,
                               tlm_error *err) {
    const tlm_type_traits *tr = tlm_type_info(type);
    if (!tr) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "gguf: tensor %s: unknown type %d", name, (int)type);
    size_t len = strlen(name);
    if (len == 0 || len >= TLM_GGUF_MAX_NAME)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "gguf: tensor name '%s' empty or too long", name);
    if (n_dims == 0 || n_dims > TLM_GGUF_MAX_DIMS)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "gguf: tensor %s: %u dimensions", name, n_dims);
    if (ne[0] % tr->blck)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                             "gguf: tensor %s: row of %llu is not a multiple of %s's block %u",
                             name, (unsigned long long)ne[0], tr->name, tr->blck);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (!strcmp(w->tensors[i].name, name))
            return tlm_error_set(err, TLM_ERR_INVALID_ARG, "gguf: duplicate tensor %s", name);
    wtensor t = {.type = type, .n_dims = n_dims, .data = data};
    uint64_t n = 1;
    for (uint32_t d = 0; d < TLM_GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (!tlm_mul_u64(n, t.ne[d], &n))
            return tlm_error_set(err, TLM_ERR_RANGE, "gguf: tensor %s too large", name);
    }
    t.nbytes = n / tr->blck * tr->size;
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        wtensor *p = tlm_realloc(w->tensors, cap * sizeof *p);
        if (!p) return tlm_error_set(err, TLM_ERR_NOMEM, "gguf: out of memory");
        w->tensors = p;
        w->cap_tensors = cap;
    }
    if (!(t.name = tlm_strdup(name))) return tlm_error_set(err, TLM_ERR_NOMEM, "gguf: out of memory");
    w->tensors[w->n_tensors++] = t;
    return TLM_OK;
}

/* ---- Writing ---- */

static uint32_t writer_alignment(const tlm_gguf_writer *w) {
    for (size_t i = 0; i < w->n_kv; i++) {
        const tlm_buf *b = &w->kvs[i].val;
        uint32_t type, a;
        if (strcmp(w->kvs[i].key, "general.alignment") || b->len != 8) continue;
        memcpy(&type, b->data, 4);
        memcpy(&a, b->data + 4, 4);
        if (type == TLM_GGUF_U32 && a && !(a & (a - 1))) return a;
    }
    return TLM_GGUF_DEFAULT_ALIGNMENT;
}

static tlm_status put(FILE *f, const void *p, size_t n) {
    return fwrite(p, 1, n, f) == n ? TLM_OK : TLM_ERR_IO;
}

static tlm_status put_zeros(FILE *f, uint64_t n) {
    static const char zeros[64];
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        if (put(f, zeros, k)) return TLM_ERR_IO;
        n -= k;
    }
    return TLM_OK;
}

static tlm_status write_header(tlm_gguf_writer *w, FILE *f, uint32_t align, uint64_t *pos) {
    uint32_t version = 3;
    uint64_t nt = w->n_tensors, nkv = w->n_kv, off = 0;
    tlm_status st = put(f, "GGUF", 4);
    if (!st) st = put(f, &version, 4);
    if (!st) st = put(f, &nt, 8);
    if (!st) st = put(f, &nkv, 8);
    *pos = 24;
    for (size_t i = 0; !st && i < w->n_kv; i++) {
        uint64_t len = strlen(w->kvs[i].key);
        st = put(f, &len, 8);
        if (!st) st = put(f, w->kvs[i].key, (size_t)len);
        if (!st) st = put(f, w->kvs[i].val.data, w->kvs[i].val.len);
        *pos += 8 + len + w->kvs[i].val.len;
    }
    for (size_t i = 0; !st && i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        uint64_t len = strlen(t->name);
        uint32_t type = t->type;
        st = put(f, &len, 8);
        if (!st) st = put(f, t->name, (size_t)len);
        if (!st) st = put(f, &t->n_dims, 4);
        if (!st) st = put(f, t->ne, 8 * t->n_dims);
        if (!st) st = put(f, &type, 4);
        if (!st) st = put(f, &off, 8);
        *pos += 8 + len + 4 + 8ull * t->n_dims + 4 + 8;
        off += tlm_pad_u64(t->nbytes, align);
    }
    return st;
}

static tlm_status write_data(tlm_gguf_writer *w, FILE *f, uint32_t align, tlm_gguf_fill_fn fill,
                             void *user, tlm_error *err) {
    void *buf = NULL;
    uint64_t buf_size = 0;
    tlm_status st = TLM_OK;
    for (size_t i = 0; !st && i < w->n_tensors; i++) {
        wtensor *t = &w->tensors[i];
        const void *src = t->data;
        if (!src) {
            if (!fill) {
                st = tlm_error_set(err, TLM_ERR_INVALID_ARG, "gguf: tensor %s has no data", t->name);
                break;
            }
            if (t->nbytes > buf_size) {
                free(buf);
                buf = tlm_malloc((size_t)t->nbytes);
                buf_size = buf ? t->nbytes : 0;
                if (!buf) {
                    st = tlm_error_set(err, TLM_ERR_NOMEM, "gguf: out of memory for %s", t->name);
                    break;
                }
            }
            if ((st = fill(user, i, t->name, buf, t->nbytes))) {
                tlm_error_set(err, st, "gguf: producing tensor %s failed", t->name);
                break;
            }
            src = buf;
        }
        st = put(f, src, (size_t)t->nbytes);
        if (!st) st = put_zeros(f, tlm_pad_u64(t->nbytes, align) - t->nbytes);
        if (st) tlm_error_set(err, st, "gguf: write failed: %s", strerror(errno));
    }
    free(buf);
    return st;
}

tlm_status tlm_gguf_writer_write(tlm_gguf_writer *w, const char *path, tlm_gguf_fill_fn fill,
                                 void *user, tlm_error *err) {
    uint32_t align = writer_alignment(w);
    size_t plen = strlen(path);
    char *tmp = tlm_malloc(plen + 16);
    if (!tmp) return tlm_error_set(err, TLM_ERR_NOMEM, "gguf: out of memory");
    snprintf(tmp, plen + 16, "%s.partial", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        tlm_status st = tlm_error_set(err, TLM_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    uint64_t pos;
    tlm_status st = write_header(w, f, align, &pos);
    if (st) tlm_error_set(err, st, "gguf: write failed: %s", strerror(errno));
    if (!st && w->n_tensors) {
        st = put_zeros(f, tlm_pad_u64(pos, align) - pos);
        if (!st) st = write_data(w, f, align, fill, user, err);
    }
    if (fclose(f) != 0 && !st) st = tlm_error_set(err, TLM_ERR_IO, "gguf: closing %s: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = tlm_error_set(err, TLM_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (st) remove(tmp);
    free(tmp);
    return st;
}
