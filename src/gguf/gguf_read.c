/*
 * gguf_read.c - the GGUF reader: maps a file, parses and validates it.
 *
 * The file is untrusted.  Every read goes through a cursor that checks the
 * remaining length first; counts are checked against the bytes left before
 * anything is allocated; every allocation is charged to a budget of the file
 * size plus a small constant, so a hostile header cannot make us allocate
 * more than the file itself.  Strings and tensor data are never copied: the
 * parsed tables point into the mapping.
 */
#include "gguf/gguf_impl.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Slack allowed beyond the file size for bookkeeping (hash tables, the
 * handle itself) on tiny files. */
#define ALLOC_SLACK (1u << 20)
/* Arrays may nest, but not without end: a deep nest is only a way to make
 * the parser recurse. */
#define MAX_ARRAY_DEPTH 8

typedef struct cursor {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    tlm_gguf *g;
    tlm_error *err;
} cursor;

static tlm_status fail(cursor *c, uint64_t off, const char *what, const char *detail) {
    return tlm_error_set(c->err, TLM_ERR_FORMAT, "gguf: %s at offset %llu%s%s", what,
                         (unsigned long long)off, detail ? ": " : "", detail ? detail : "");
}

static void *budget_alloc(tlm_gguf *g, uint64_t n, uint64_t size) {
    uint64_t bytes;
    if (!tlm_mul_u64(n, size, &bytes)) return NULL;
    if (bytes > g->alloc_budget - g->alloc_used) return NULL;
    void *p = tlm_calloc((size_t)n, (size_t)size);
    if (p) g->alloc_used += bytes;
    return p;
}

static tlm_status alloc_fail(cursor *c, uint64_t off, const char *what) {
    return tlm_error_set(c->err, TLM_ERR_FORMAT,
                         "gguf: %s at offset %llu needs more memory than the file size allows",
                         what, (unsigned long long)off);
}

static bool have(const cursor *c, uint64_t n) { return n <= c->size - c->pos; }

static tlm_status read_bytes(cursor *c, void *dst, uint64_t n, const char *what) {
    if (!have(c, n)) return fail(c, c->pos, "unexpected end of file", what);
    memcpy(dst, c->base + c->pos, (size_t)n);
    c->pos += n;
    return TLM_OK;
}

static tlm_status read_u32(cursor *c, uint32_t *v, const char *what) {
    return read_bytes(c, v, 4, what);
}
static tlm_status read_u64(cursor *c, uint64_t *v, const char *what) {
    return read_bytes(c, v, 8, what);
}

static tlm_status read_str(cursor *c, tlm_gguf_str *s, const char *what) {
    uint64_t at = c->pos, len = 0;
    tlm_status st = read_u64(c, &len, what);
    if (st) return st;
    if (!have(c, len)) return fail(c, at, "string length beyond the end of the file", what);
    s->ptr = (const char *)c->base + c->pos;
    s->len = len;
    c->pos += len;
    return TLM_OK;
}

/* ---- Metadata values ---- */

static tlm_status read_value(cursor *c, tlm_gguf_vtype type, tlm_gguf_value *v, int depth);

static tlm_status read_scalar(cursor *c, tlm_gguf_vtype type, tlm_gguf_value *v) {
    uint8_t raw[8] = {0};
    size_t n = tlm_gguf_vtype_size(type);
    tlm_status st = read_bytes(c, raw, n, "a metadata value");
    if (st) return st;
    v->type = type;
    switch (type) {
    case TLM_GGUF_U8: v->v.u = raw[0]; break;
    case TLM_GGUF_BOOL:
        if (raw[0] > 1) return fail(c, c->pos - 1, "bool value is neither 0 nor 1", NULL);
        v->v.u = raw[0];
        break;
    case TLM_GGUF_I8: v->v.i = (int8_t)raw[0]; break;
    case TLM_GGUF_U16: { uint16_t x; memcpy(&x, raw, 2); v->v.u = x; break; }
    case TLM_GGUF_I16: { int16_t x; memcpy(&x, raw, 2); v->v.i = x; break; }
    case TLM_GGUF_U32: { uint32_t x; memcpy(&x, raw, 4); v->v.u = x; break; }
    case TLM_GGUF_I32: { int32_t x; memcpy(&x, raw, 4); v->v.i = x; break; }
    case TLM_GGUF_U64: { uint64_t x; memcpy(&x, raw, 8); v->v.u = x; break; }
    case TLM_GGUF_I64: { int64_t x; memcpy(&x, raw, 8); v->v.i = x; break; }
    case TLM_GGUF_F32: { float x; memcpy(&x, raw, 4); v->v.f = x; break; }
    case TLM_GGUF_F64: { double x; memcpy(&x, raw, 8); v->v.f = x; break; }
    default: return TLM_ERR_INTERNAL;
    }
    return TLM_OK;
}

static tlm_status read_array(cursor *c, tlm_gguf_value *v, int depth) {
    uint64_t at = c->pos;
    uint32_t et;
    uint64_t n;
    tlm_status st = read_u32(c, &et, "an array element type");
    if (!st) st = read_u64(c, &n, "an array length");
    if (st) return st;
    if (et >= TLM_GGUF_VTYPE_COUNT) return fail(c, at, "unknown array element type", NULL);
    if (depth >= MAX_ARRAY_DEPTH) return fail(c, at, "arrays nested too deeply", NULL);
    v->type = TLM_GGUF_ARRAY;
    v->v.arr.type = (tlm_gguf_vtype)et;
    v->v.arr.n = n;
    v->v.arr.data = c->base + c->pos;
    size_t esize = tlm_gguf_vtype_size((tlm_gguf_vtype)et);
    if (esize) {
        uint64_t bytes;
        if (!tlm_mul_u64(n, esize, &bytes) || !have(c, bytes))
            return fail(c, at, "array length beyond the end of the file", NULL);
        if (et == TLM_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (c->base[c->pos + i] > 1)
                    return fail(c, c->pos + i, "bool value is neither 0 nor 1", NULL);
        c->pos += bytes;
        return TLM_OK;
    }
    /* Variable-size elements: every one takes at least 8 bytes (a string
     * length, or an element type plus count), which bounds n before we
     * allocate. */
    if (n > (c->size - c->pos) / 8) return fail(c, at, "array length beyond the end of the file", NULL);
    if (et == TLM_GGUF_STRING) {
        v->v.arr.strs = budget_alloc(c->g, n, sizeof(*v->v.arr.strs));
        if (n && !v->v.arr.strs) return alloc_fail(c, at, "string array");
        for (uint64_t i = 0; i < n; i++) {
            v->v.arr.strs[i] = c->base + c->pos;
            tlm_gguf_str s;
            if ((st = read_str(c, &s, "a string array element"))) return st;
        }
        return TLM_OK;
    }
    v->v.arr.arrs = budget_alloc(c->g, n, sizeof(tlm_gguf_value));
    if (n && !v->v.arr.arrs) return alloc_fail(c, at, "nested array");
    for (uint64_t i = 0; i < n; i++)
        if ((st = read_value(c, TLM_GGUF_ARRAY, &v->v.arr.arrs[i], depth + 1))) return st;
    return TLM_OK;
}

static tlm_status read_value(cursor *c, tlm_gguf_vtype type, tlm_gguf_value *v, int depth) {
    if (type == TLM_GGUF_STRING) {
        v->type = type;
        return read_str(c, &v->v.str, "a string value");
    }
    if (type == TLM_GGUF_ARRAY) return read_array(c, v, depth);
    return read_scalar(c, type, v);
}

/* ---- Name tables: open addressing over indices, for lookup and to reject
 * duplicates.  Slot value 0 = empty, else index + 1. ---- */

static uint64_t hash_str(const char *p, uint64_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (uint64_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static tlm_status table_init(cursor *c, tlm_gguf_table *t, uint64_t n) {
    uint64_t cap = 8;
    while (cap < 2 * n) cap *= 2;
    t->slots = budget_alloc(c->g, cap, sizeof(uint64_t));
    if (!t->slots) return alloc_fail(c, c->pos, "name table");
    t->mask = cap - 1;
    return TLM_OK;
}

/* Returns the slot for name: either empty or holding an equal name. */
static uint64_t *table_slot(const tlm_gguf_table *t, const char *p, uint64_t n,
                            tlm_gguf_str (*name_at)(const tlm_gguf *, uint64_t),
                            const tlm_gguf *g) {
    for (uint64_t h = hash_str(p, n) & t->mask;; h = (h + 1) & t->mask) {
        uint64_t *s = &t->slots[h];
        if (!*s) return s;
        tlm_gguf_str other = name_at(g, *s - 1);
        if (other.len == n && memcmp(other.ptr, p, n) == 0) return s;
    }
}

static tlm_gguf_str kv_name(const tlm_gguf *g, uint64_t i) { return g->kvs[i].key; }
static tlm_gguf_str tensor_name(const tlm_gguf *g, uint64_t i) { return g->tensors[i].name; }

/* ---- Header, key/values, tensor infos ---- */

static tlm_status parse_header(cursor *c) {
    tlm_gguf *g = c->g;
    char magic[4];
    tlm_status st = read_bytes(c, magic, 4, "the magic");
    if (st) return st;
    if (memcmp(magic, "GGUF", 4) != 0)
        return fail(c, 0, "bad magic (not a GGUF file)", NULL);
    if ((st = read_u32(c, &g->version, "the version"))) return st;
    if (g->version != 2 && g->version != 3)
        return tlm_error_set(c->err, TLM_ERR_UNSUPPORTED,
                             "gguf: unsupported version %u at offset 4 (supported: 2 and 3)",
                             g->version);
    if ((st = read_u64(c, &g->n_tensors, "the tensor count"))) return st;
    if ((st = read_u64(c, &g->n_kv, "the key/value count"))) return st;
    /* A key/value takes at least 13 bytes, a tensor info at least 33. */
    if (g->n_kv > (c->size - c->pos) / 13)
        return fail(c, 16, "key/value count beyond the end of the file", NULL);
    if (g->n_tensors > (c->size - c->pos) / 33)
        return fail(c, 8, "tensor count beyond the end of the file", NULL);
    return TLM_OK;
}

static tlm_status parse_kvs(cursor *c) {
    tlm_gguf *g = c->g;
    tlm_status st;
    g->kvs = budget_alloc(g, g->n_kv, sizeof(tlm_gguf_kv));
    if (g->n_kv && !g->kvs) return alloc_fail(c, c->pos, "key/value table");
    if ((st = table_init(c, &g->kv_table, g->n_kv))) return st;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        tlm_gguf_kv *kv = &g->kvs[i];
        uint32_t type;
        kv->offset = c->pos;
        if ((st = read_str(c, &kv->key, "a key"))) return st;
        if (kv->key.len == 0 || memchr(kv->key.ptr, 0, kv->key.len))
            return fail(c, kv->offset, "key empty or containing a NUL byte", NULL);
        if ((st = read_u32(c, &type, "a value type"))) return st;
        if (type >= TLM_GGUF_VTYPE_COUNT)
            return fail(c, c->pos - 4, "unknown metadata value type", NULL);
        if ((st = read_value(c, (tlm_gguf_vtype)type, &kv->value, 0))) return st;
        uint64_t *slot = table_slot(&g->kv_table, kv->key.ptr, kv->key.len, kv_name, g);
        if (*slot) return fail(c, kv->offset, "duplicate key", NULL);
        *slot = i + 1;
    }
    return TLM_OK;
}

static tlm_status parse_tensor_info(cursor *c, tlm_gguf_tensor *t) {
    uint64_t at = c->pos;
    uint32_t type;
    tlm_status st = read_str(c, &t->name, "a tensor name");
    if (!st) st = read_u32(c, &t->n_dims, "a tensor's dimension count");
    if (st) return st;
    if (t->name.len == 0 || t->name.len >= TLM_GGUF_MAX_NAME)
        return fail(c, at, "tensor name empty or 64 bytes or longer", NULL);
    if (memchr(t->name.ptr, 0, t->name.len))
        return fail(c, at, "tensor name contains a NUL byte", NULL);
    if (t->n_dims == 0 || t->n_dims > TLM_GGUF_MAX_DIMS)
        return fail(c, at, "tensor dimension count not in 1..4", NULL);
    for (uint32_t d = 0; d < TLM_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if ((st = read_u64(c, &t->ne[d], "a tensor dimension"))) return st;
        if ((int64_t)t->ne[d] < 0) return fail(c, c->pos - 8, "negative tensor dimension", NULL);
    }
    if ((st = read_u32(c, &type, "a tensor type"))) return st;
    if ((st = read_u64(c, &t->offset, "a tensor offset"))) return st;
    const tlm_type_traits *tr = tlm_type_info(type);
    if (!tr) return fail(c, at, "unknown tensor type", NULL);
    t->type = (tlm_type)type;
    if (t->ne[0] % tr->blck)
        return fail(c, at, "tensor row length not a multiple of its type's block size", NULL);
    uint64_t n = 1;
    for (uint32_t d = 0; d < TLM_GGUF_MAX_DIMS; d++)
        if (!tlm_mul_u64(n, t->ne[d], &n))
            return fail(c, at, "tensor element count overflows", NULL);
    if (!tlm_mul_u64(n / tr->blck, tr->size, &t->nbytes))
        return fail(c, at, "tensor byte size overflows", NULL);
    return TLM_OK;
}

static tlm_status parse_tensors(cursor *c) {
    tlm_gguf *g = c->g;
    tlm_status st;
    g->tensors = budget_alloc(g, g->n_tensors, sizeof(tlm_gguf_tensor));
    if (g->n_tensors && !g->tensors) return alloc_fail(c, c->pos, "tensor table");
    if ((st = table_init(c, &g->tensor_table, g->n_tensors))) return st;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        uint64_t at = c->pos;
        tlm_gguf_tensor *t = &g->tensors[i];
        if ((st = parse_tensor_info(c, t))) return st;
        uint64_t *slot = table_slot(&g->tensor_table, t->name.ptr, t->name.len, tensor_name, g);
        if (*slot) return fail(c, at, "duplicate tensor name", NULL);
        *slot = i + 1;
    }
    return TLM_OK;
}

static tlm_status read_alignment(cursor *c) {
    tlm_gguf *g = c->g;
    g->alignment = TLM_GGUF_DEFAULT_ALIGNMENT;
    const tlm_gguf_kv *kv = tlm_gguf_find_kv(g, "general.alignment");
    if (!kv) return TLM_OK;
    if (kv->value.type != TLM_GGUF_U32)
        return fail(c, kv->offset, "general.alignment is not a u32", NULL);
    uint64_t a = kv->value.v.u;
    if (a == 0 || (a & (a - 1)))
        return fail(c, kv->offset, "general.alignment is not a power of two", NULL);
    g->alignment = (uint32_t)a;
    return TLM_OK;
}

static tlm_status place_tensors(cursor *c) {
    tlm_gguf *g = c->g;
    g->data_offset = tlm_pad_u64(c->pos, g->alignment);
    if (g->n_tensors && g->data_offset > c->size)
        return fail(c, c->pos, "data section starts beyond the end of the file", NULL);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        tlm_gguf_tensor *t = &g->tensors[i];
        uint64_t start, end;
        char name[TLM_GGUF_MAX_NAME];
        memcpy(name, t->name.ptr, t->name.len);
        name[t->name.len] = '\0';
        if (t->offset % g->alignment)
            return tlm_error_set(c->err, TLM_ERR_FORMAT,
                                 "gguf: tensor '%s' data offset %llu is not aligned to %u", name,
                                 (unsigned long long)t->offset, g->alignment);
        if (!tlm_add_u64(g->data_offset, t->offset, &start) ||
            !tlm_add_u64(start, t->nbytes, &end) || end > c->size)
            return tlm_error_set(c->err, TLM_ERR_FORMAT,
                                 "gguf: tensor '%s' data (offset %llu, %llu bytes) lies outside "
                                 "the file (%llu bytes)",
                                 name, (unsigned long long)t->offset,
                                 (unsigned long long)t->nbytes, (unsigned long long)c->size);
        t->data = c->base + start;
    }
    return TLM_OK;
}

static tlm_status parse(tlm_gguf *g, tlm_error *err) {
    cursor c = {g->base, g->size, 0, g, err};
    tlm_status st;
    if ((st = parse_header(&c))) return st;
    if ((st = parse_kvs(&c))) return st;
    if ((st = parse_tensors(&c))) return st;
    if ((st = read_alignment(&c))) return st;
    return place_tensors(&c);
}

/* ---- Opening and closing ---- */

static tlm_gguf *new_handle(const void *data, size_t size) {
    tlm_gguf *g = tlm_calloc(1, sizeof *g);
    if (!g) return NULL;
    g->base = data;
    g->size = size;
    g->alloc_budget = (uint64_t)size + ALLOC_SLACK;
    return g;
}

tlm_status tlm_gguf_open_memory(const void *data, size_t size, tlm_gguf **out, tlm_error *err) {
    *out = NULL;
    tlm_gguf *g = new_handle(data, size);
    if (!g) return tlm_error_set(err, TLM_ERR_NOMEM, "gguf: out of memory");
    tlm_status st = parse(g, err);
    if (st) {
        tlm_gguf_free(g);
        return st;
    }
    *out = g;
    return TLM_OK;
}

tlm_status tlm_gguf_open(const char *path, tlm_gguf **out, tlm_error *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tlm_error_set(err, TLM_ERR_IO, "cannot open %s: %m", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return tlm_error_set(err, TLM_ERR_IO, "%s is not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    /* The descriptor can be closed once mapped: the mapping keeps the file. */
    close(fd);
    if (size && map == MAP_FAILED) return tlm_error_set(err, TLM_ERR_IO, "cannot map %s: %m", path);
    tlm_gguf *g = new_handle(map, size);
    if (!g) {
        if (size) munmap(map, size);
        return tlm_error_set(err, TLM_ERR_NOMEM, "gguf: out of memory");
    }
    g->mapped = size != 0;
    tlm_status st = parse(g, err);
    if (st) {
        /* Prefix the path so the message says which file was bad. */
        if (err) {
            tlm_buf msg = {0};
            if (tlm_buf_appendf(&msg, "%s: %s", path, err->msg) == TLM_OK) {
                size_t n = TLM_MIN(msg.len, sizeof err->msg - 1);
                memcpy(err->msg, msg.data, n);
                err->msg[n] = '\0';
            }
            tlm_buf_free(&msg);
        }
        tlm_gguf_free(g);
        return st;
    }
    *out = g;
    return TLM_OK;
}

static void free_value(tlm_gguf_value *v) {
    if (v->type != TLM_GGUF_ARRAY) return;
    free((void *)v->v.arr.strs);
    if (v->v.arr.arrs)
        for (uint64_t i = 0; i < v->v.arr.n; i++) free_value(&v->v.arr.arrs[i]);
    free(v->v.arr.arrs);
}

void tlm_gguf_free(tlm_gguf *g) {
    if (!g) return;
    if (g->kvs)
        for (uint64_t i = 0; i < g->n_kv; i++) free_value(&g->kvs[i].value);
    free(g->kvs);
    free(g->tensors);
    free(g->kv_table.slots);
    free(g->tensor_table.slots);
    if (g->mapped) munmap((void *)g->base, g->size);
    free(g);
}

/* ---- Lookup ---- */

const tlm_gguf_kv *tlm_gguf_find_kv(const tlm_gguf *g, const char *key) {
    if (!g->kv_table.slots) return NULL;
    uint64_t *s = table_slot(&g->kv_table, key, strlen(key), kv_name, g);
    return *s ? &g->kvs[*s - 1] : NULL;
}

const tlm_gguf_tensor *tlm_gguf_find_tensor(const tlm_gguf *g, const char *name) {
    if (!g->tensor_table.slots) return NULL;
    uint64_t *s = table_slot(&g->tensor_table, name, strlen(name), tensor_name, g);
    return *s ? &g->tensors[*s - 1] : NULL;
}

uint32_t tlm_gguf_version(const tlm_gguf *g) { return g->version; }
uint32_t tlm_gguf_alignment(const tlm_gguf *g) { return g->alignment; }
uint64_t tlm_gguf_data_offset(const tlm_gguf *g) { return g->data_offset; }
uint64_t tlm_gguf_file_size(const tlm_gguf *g) { return g->size; }
uint64_t tlm_gguf_n_kv(const tlm_gguf *g) { return g->n_kv; }
uint64_t tlm_gguf_n_tensors(const tlm_gguf *g) { return g->n_tensors; }
uint64_t tlm_gguf_alloc_used(const tlm_gguf *g) { return g->alloc_used; }

const tlm_gguf_kv *tlm_gguf_kv_at(const tlm_gguf *g, uint64_t i) {
    return i < g->n_kv ? &g->kvs[i] : NULL;
}

const tlm_gguf_tensor *tlm_gguf_tensor_at(const tlm_gguf *g, uint64_t i) {
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}
