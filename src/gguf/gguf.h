/*
 * gguf.h - reading, validating and writing GGUF files.
 *
 * GGUF (version 2 and 3, little-endian) is: magic "GGUF", u32 version,
 * i64 tensor count, i64 key/value count, the key/values, the tensor infos,
 * padding to general.alignment (default 32), then the tensor data.
 *
 * The reader maps the file read-only and never copies tensor data: tensor
 * pointers point into the mapping, which the tlm_gguf owns.  Every count,
 * length and offset is checked against the file size before use, so no
 * input can make the reader read out of bounds or allocate much more than
 * the file's own size; errors name the problem and the byte offset.
 *
 * The writer collects key/values and tensors in memory (tensor data is
 * borrowed until tlm_gguf_writer_write returns) and writes them with the
 * right alignment, so that reading back gives the same values.
 */
#ifndef TLM_GGUF_H
#define TLM_GGUF_H

#include "tinylm.h"
#include "tensor/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Metadata value types (on-disk ids). */
typedef enum tlm_gguf_vtype {
    TLM_GGUF_U8 = 0,
    TLM_GGUF_I8 = 1,
    TLM_GGUF_U16 = 2,
    TLM_GGUF_I16 = 3,
    TLM_GGUF_U32 = 4,
    TLM_GGUF_I32 = 5,
    TLM_GGUF_F32 = 6,
    TLM_GGUF_BOOL = 7,
    TLM_GGUF_STRING = 8,
    TLM_GGUF_ARRAY = 9,
    TLM_GGUF_U64 = 10,
    TLM_GGUF_I64 = 11,
    TLM_GGUF_F64 = 12,
    TLM_GGUF_VTYPE_COUNT = 13,
} tlm_gguf_vtype;

#define TLM_GGUF_MAX_DIMS 4
#define TLM_GGUF_DEFAULT_ALIGNMENT 32
#define TLM_GGUF_MAX_NAME 64

/* A string inside the mapping: not NUL-terminated. */
typedef struct tlm_gguf_str {
    const char *ptr;
    uint64_t len;
} tlm_gguf_str;

/* A metadata value as parsed.  Scalars are decoded; strings and arrays point
 * into the mapping (arrays of arrays are allowed, each element described by
 * its own tlm_gguf_value).  All memory is owned by the tlm_gguf. */
typedef struct tlm_gguf_value tlm_gguf_value;
struct tlm_gguf_value {
    tlm_gguf_vtype type;
    union {
        uint64_t u;               /* U8, U16, U32, U64, BOOL */
        int64_t i;                /* I8, I16, I32, I64 */
        double f;                 /* F32, F64 */
        tlm_gguf_str str;         /* STRING */
        struct {
            tlm_gguf_vtype type;  /* element type */
            uint64_t n;           /* element count */
            const uint8_t *data;  /* raw elements for fixed-size types */
            const uint8_t **strs; /* STRING elements: each one's length prefix
                                     in the mapping; read with tlm_gguf_arr_str */
            tlm_gguf_value *arrs; /* ARRAY elements, decoded (n entries) */
        } arr;
    } v;
};

typedef struct tlm_gguf_kv {
    tlm_gguf_str key;
    tlm_gguf_value value;
    uint64_t offset;              /* file offset of the key, for messages */
} tlm_gguf_kv;

typedef struct tlm_gguf_tensor {
    tlm_gguf_str name;
    uint32_t n_dims;
    uint64_t ne[TLM_GGUF_MAX_DIMS]; /* ne[0] innermost; unused dims are 1 */
    tlm_type type;
    uint64_t offset;              /* relative to the data section */
    uint64_t nbytes;
    const void *data;             /* into the mapping */
} tlm_gguf_tensor;

typedef struct tlm_gguf tlm_gguf;

/* Opens and validates path.  On success *out owns the mapping and the
 * parsed tables; free with tlm_gguf_free.  On failure *out is NULL and err
 * says what and where. */
tlm_status tlm_gguf_open(const char *path, tlm_gguf **out, tlm_error *err);

/* Parses a GGUF image in memory (borrowed: must outlive the result).  Used
 * by the fuzzer and by tests. */
tlm_status tlm_gguf_open_memory(const void *data, size_t size, tlm_gguf **out, tlm_error *err);

void tlm_gguf_free(tlm_gguf *g);

uint32_t tlm_gguf_version(const tlm_gguf *g);
uint32_t tlm_gguf_alignment(const tlm_gguf *g);
uint64_t tlm_gguf_data_offset(const tlm_gguf *g);
uint64_t tlm_gguf_file_size(const tlm_gguf *g);
/* Bytes the reader allocated for its tables (never more than the file size
 * plus a small constant). */
uint64_t tlm_gguf_alloc_used(const tlm_gguf *g);

uint64_t tlm_gguf_n_kv(const tlm_gguf *g);
const tlm_gguf_kv *tlm_gguf_kv_at(const tlm_gguf *g, uint64_t i);
/* NULL when absent. */
const tlm_gguf_kv *tlm_gguf_find_kv(const tlm_gguf *g, const char *key);

uint64_t tlm_gguf_n_tensors(const tlm_gguf *g);
const tlm_gguf_tensor *tlm_gguf_tensor_at(const tlm_gguf *g, uint64_t i);
/* NULL when absent. */
const tlm_gguf_tensor *tlm_gguf_find_tensor(const tlm_gguf *g, const char *name);

/* Typed getters.  TLM_ERR_NOT_FOUND when the key is absent, TLM_ERR_TYPE
 * (with a message naming the key, the wanted and the actual type) when it
 * holds another type.  Integer getters accept any integer type whose value
 * fits; float getters accept F32 and F64. */
tlm_status tlm_gguf_get_u64(const tlm_gguf *g, const char *key, uint64_t *out, tlm_error *err);
tlm_status tlm_gguf_get_i64(const tlm_gguf *g, const char *key, int64_t *out, tlm_error *err);
tlm_status tlm_gguf_get_u32(const tlm_gguf *g, const char *key, uint32_t *out, tlm_error *err);
tlm_status tlm_gguf_get_f64(const tlm_gguf *g, const char *key, double *out, tlm_error *err);
tlm_status tlm_gguf_get_f32(const tlm_gguf *g, const char *key, float *out, tlm_error *err);
tlm_status tlm_gguf_get_bool(const tlm_gguf *g, const char *key, bool *out, tlm_error *err);
/* The string, borrowed from the mapping (not NUL-terminated). */
tlm_status tlm_gguf_get_str(const tlm_gguf *g, const char *key, tlm_gguf_str *out, tlm_error *err);
/* The string as a new NUL-terminated copy; free with tlm_free(). */
tlm_status tlm_gguf_get_strdup(const tlm_gguf *g, const char *key, char **out, tlm_error *err);
/* An array whose elements have type elem (any element type when elem is
 * TLM_GGUF_VTYPE_COUNT).  The value is borrowed from g. */
tlm_status tlm_gguf_get_arr(const tlm_gguf *g, const char *key, tlm_gguf_vtype elem,
                            const tlm_gguf_value **out, tlm_error *err);

/* Element i of a STRING array (i < n). */
tlm_gguf_str tlm_gguf_arr_str(const tlm_gguf_value *arr, uint64_t i);
/* Reads element i of a fixed-size numeric array as double/int64. */
double tlm_gguf_arr_f64(const tlm_gguf_value *arr, uint64_t i);
int64_t tlm_gguf_arr_i64(const tlm_gguf_value *arr, uint64_t i);

const char *tlm_gguf_vtype_name(tlm_gguf_vtype t);
/* Byte size of a fixed-size value type; 0 for STRING and ARRAY. */
size_t tlm_gguf_vtype_size(tlm_gguf_vtype t);
bool tlm_gguf_str_eq(tlm_gguf_str s, const char *z);

/* ---- Writer ---- */

typedef struct tlm_gguf_writer tlm_gguf_writer;

tlm_status tlm_gguf_writer_create(tlm_gguf_writer **out);
void tlm_gguf_writer_free(tlm_gguf_writer *w);

/* Setters copy key and value.  Setting an existing key replaces it. */
tlm_status tlm_gguf_set_u8(tlm_gguf_writer *w, const char *key, uint8_t v);
tlm_status tlm_gguf_set_i8(tlm_gguf_writer *w, const char *key, int8_t v);
tlm_status tlm_gguf_set_u16(tlm_gguf_writer *w, const char *key, uint16_t v);
tlm_status tlm_gguf_set_i16(tlm_gguf_writer *w, const char *key, int16_t v);
tlm_status tlm_gguf_set_u32(tlm_gguf_writer *w, const char *key, uint32_t v);
tlm_status tlm_gguf_set_i32(tlm_gguf_writer *w, const char *key, int32_t v);
tlm_status tlm_gguf_set_u64(tlm_gguf_writer *w, const char *key, uint64_t v);
tlm_status tlm_gguf_set_i64(tlm_gguf_writer *w, const char *key, int64_t v);
tlm_status tlm_gguf_set_f32(tlm_gguf_writer *w, const char *key, float v);
tlm_status tlm_gguf_set_f64(tlm_gguf_writer *w, const char *key, double v);
tlm_status tlm_gguf_set_bool(tlm_gguf_writer *w, const char *key, bool v);
tlm_status tlm_gguf_set_str(tlm_gguf_writer *w, const char *key, const char *v);
tlm_status tlm_gguf_set_strn(tlm_gguf_writer *w, const char *key, const char *v, size_t len);
/* An array of n fixed-size elements of type elem, copied from data. */
tlm_status tlm_gguf_set_arr(tlm_gguf_writer *w, const char *key, tlm_gguf_vtype elem,
                            const void *data, uint64_t n);
/* An array of n strings (NUL-terminated), copied. */
tlm_status tlm_gguf_set_arr_str(tlm_gguf_writer *w, const char *key, const char *const *strs,
                                uint64_t n);
/* Copies a parsed value (any type, nested arrays included) from a reader:
 * used to carry metadata from one file to another. */
tlm_status tlm_gguf_set_value(tlm_gguf_writer *w, const char *key, const tlm_gguf_value *v);
/* Removes a key if present. */
void tlm_gguf_unset(tlm_gguf_writer *w, const char *key);

/* Adds a tensor; data (nbytes as implied by type and shape) is borrowed
 * until tlm_gguf_writer_write returns.  data may be NULL when a fill
 * callback is given to the writer instead (see below).  Fails on a
 * duplicate name, a name of 64 bytes or more, or a shape whose ne[0] is not
 * a multiple of the type's block. */
tlm_status tlm_gguf_add_tensor(tlm_gguf_writer *w, const char *name, tlm_type type,
                               uint32_t n_dims, const uint64_t *ne, const void *data,
                               tlm_error *err);

/* Called for tensors added with data == NULL: must write exactly nbytes
 * into buf.  Lets big models be produced one tensor at a time. */
typedef tlm_status (*tlm_gguf_fill_fn)(void *user, uint64_t index, const char *name,
                                       void *buf, uint64_t nbytes);

/* Writes the file (general.alignment honoured when set).  The write goes to
 * a temporary file renamed over path, so a failed write leaves no partial
 * file behind. */
tlm_status tlm_gguf_writer_write(tlm_gguf_writer *w, const char *path, tlm_gguf_fill_fn fill,
                                 void *user, tlm_error *err);

#endif /* TLM_GGUF_H */
