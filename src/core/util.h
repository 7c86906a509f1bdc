/*
 * util.h - small internal helpers shared by every subsystem: error records,
 * checked arithmetic, allocation wrappers and a growable byte buffer.
 *
 * Nothing here is public; the public contract lives in include/tinylm.h.
 */
#ifndef TLM_CORE_UTIL_H
#define TLM_CORE_UTIL_H

#include "tinylm.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define TLM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define TLM_UNUSED __attribute__((unused))
#else
#define TLM_PRINTF(fmt, args)
#define TLM_UNUSED
#endif

#define TLM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TLM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TLM_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Aborts with file and line: for broken invariants (programmer errors) only.
 * Bad input always returns a status instead. */
#define TLM_ASSERT(x)                                                        \
    do {                                                                     \
        if (!(x)) tlm_abort(__FILE__, __LINE__, #x);                         \
    } while (0)

void tlm_abort(const char *file, int line, const char *what) __attribute__((noreturn));

/* Fills err (when not NULL) and returns code, so callers can write
 * `return tlm_error_set(err, TLM_ERR_FORMAT, "...", ...);`. */
tlm_status tlm_error_set(tlm_error *err, tlm_status code, const char *fmt, ...)
    TLM_PRINTF(3, 4);

/* Allocation wrappers: one place for tests to inject failures later. */
void *tlm_malloc(size_t n);
void *tlm_calloc(size_t n, size_t size);
void *tlm_realloc(void *p, size_t n);
char *tlm_strdup(const char *s);
/* Zeroed memory in a mapping of its own, 2 MiB-aligned and advised to use
 * 2 MiB pages when it is that large: for buffers the kernels stream
 * through, where 4 KiB pages make every few stores a TLB miss (a nested
 * page walk on a virtual machine).  NULL when out of memory; the owner
 * releases it with tlm_free_pages and the same byte count. */
void *tlm_alloc_pages(size_t bytes);
void tlm_free_pages(void *p, size_t bytes);
char *tlm_strndup(const char *s, size_t n);
/* The file name of path without its directory and without a trailing
 * ".gguf": the name a model file goes by (server ids, eval targets).
 * Caller frees; NULL when out of memory. */
char *tlm_model_name_of_path(const char *path);

/* Checked arithmetic: return false on overflow. */
static inline bool tlm_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool tlm_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline uint64_t tlm_pad_u64(uint64_t x, uint64_t align) {
    return (x + align - 1) / align * align;
}

/* Growable byte buffer; owns data.  Initialise with {0}. */
typedef struct tlm_buf {
    char *data;
    size_t len;
    size_t cap;
} tlm_buf;

tlm_status tlm_buf_reserve(tlm_buf *b, size_t extra);
tlm_status tlm_buf_append(tlm_buf *b, const void *p, size_t n);
tlm_status tlm_buf_appendf(tlm_buf *b, const char *fmt, ...) TLM_PRINTF(2, 3);
void tlm_buf_free(tlm_buf *b);

/* Monotonic clock in nanoseconds. */
uint64_t tlm_time_ns(void);

#endif /* TLM_CORE_UTIL_H */
