/*
 * util.c - status strings, error records, allocation wrappers and the
 * growable buffer declared in util.h.
 */
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

const char *tlm_status_str(tlm_status status) {
    switch (status) {
#define TLM_STATUS_STR_(name, value, text)                                   \
    case TLM_##name:                                                         \
        return text;
        TLM_STATUS_MAP(TLM_STATUS_STR_)
#undef TLM_STATUS_STR_
    }
    return "unknown status";
}

const char *tlm_version(void) { return TLM_VERSION_STRING; }

void tlm_free(void *p) { free(p); }

void tlm_abort(const char *file, int line, const char *what) {
    fprintf(stderr, "tinylm: internal error at %s:%d: assertion `%s' failed\n", file, line,
            what);
    fflush(stderr);
    abort();
}

tlm_status tlm_error_set(tlm_error *err, tlm_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void *tlm_malloc(size_t n) { return malloc(n ? n : 1); }

#define HUGE_PAGE ((size_t)2 << 20)

static size_t pages_size(size_t bytes) {
    size_t unit = bytes >= HUGE_PAGE ? HUGE_PAGE : 4096;
    return (TLM_MAX(bytes, 1) + unit - 1) / unit * unit;
}

/* Maps one huge page more than asked and trims both ends, so the start is
 * 2 MiB-aligned whatever the kernel's placement policy. */
void *tlm_alloc_pages(size_t bytes) {
    size_t n = pages_size(bytes), pad = n >= HUGE_PAGE ? HUGE_PAGE : 0;
    if (n < bytes || n + pad < n) return NULL;
    uint8_t *m = mmap(NULL, n + pad, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    if (!pad) return m;
    uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (p > m) munmap(m, (size_t)(p - m));
    if (m + pad > p) munmap(p + n, (size_t)(m + pad - p));
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

void tlm_free_pages(void *p, size_t bytes) {
    if (p) munmap(p, pages_size(bytes));
}
void *tlm_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *tlm_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }

char *tlm_strndup(const char *s, size_t n) {
    char *r = tlm_malloc(n + 1);
    if (!r) return NULL;
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

char *tlm_strdup(const char *s) { return tlm_strndup(s, strlen(s)); }

char *tlm_model_name_of_path(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".gguf")) n -= 5;
    return tlm_strndup(base, n);
}

tlm_status tlm_buf_reserve(tlm_buf *b, size_t extra) {
    if (b->cap - b->len > extra) return TLM_OK;
    size_t want = b->len + extra + 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < want) {
        if (cap > SIZE_MAX / 2) return TLM_ERR_NOMEM;
        cap *= 2;
    }
    char *p = tlm_realloc(b->data, cap);
    if (!p) return TLM_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return TLM_OK;
}

tlm_status tlm_buf_append(tlm_buf *b, const void *p, size_t n) {
    if (tlm_buf_reserve(b, n) != TLM_OK) return TLM_ERR_NOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return TLM_OK;
}

tlm_status tlm_buf_appendf(tlm_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return TLM_ERR_INTERNAL;
    if (tlm_buf_reserve(b, (size_t)n) != TLM_OK) return TLM_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return TLM_OK;
}

void tlm_buf_free(tlm_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

uint64_t tlm_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
