/*
 * util.c - status strings, error records, allocation wrappers and the
 * growable buffer declared in util.h.
 */
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
