/*
 * tinylm.h - the one public header of libtinylm.
 *
 * tinylm runs small GGUF language models on the CPU, serves them over HTTP and
 * compares them.  This header is the whole public API: handles are opaque,
 * every function is prefixed tlm_, and every fallible call returns a
 * tlm_status (0 on success, negative on error) and, when the caller passes a
 * tlm_error, a readable message saying what went wrong and where.
 *
 * Ownership rules, stated once here and per function below:
 *   1. Whoever calls a _create/_load function owns the result and releases it
 *      with the matching _free.  _free(NULL) is a no-op.
 *   2. Out-parameters come last.  On failure *out is set to NULL and nothing
 *      leaks.
 *   3. Getters return borrowed pointers, valid for the life of the object.
 *   4. A returned char * that the caller must release is documented "free
 *      with tlm_free()".
 */
#ifndef TINYLM_H
#define TINYLM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TLM_API __attribute__((visibility("default")))
#else
#define TLM_API
#endif

#define TLM_VERSION_MAJOR 0
#define TLM_VERSION_MINOR 1
#define TLM_VERSION_PATCH 0
#define TLM_VERSION_STRING "0.1.0"

/* ---- Status codes ----
 * One table produces both the enum and tlm_status_str(), so the two cannot
 * drift apart.  New codes are only ever appended. */
#define TLM_STATUS_MAP(XX)                                                   \
    XX(OK, 0, "success")                                                     \
    XX(ERR_INVALID_ARG, -1, "invalid argument")                              \
    XX(ERR_NOMEM, -2, "out of memory")                                       \
    XX(ERR_IO, -3, "input/output error")                                     \
    XX(ERR_FORMAT, -4, "malformed file")                                     \
    XX(ERR_UNSUPPORTED, -5, "unsupported feature")                           \
    XX(ERR_NOT_FOUND, -6, "not found")                                       \
    XX(ERR_TYPE, -7, "type mismatch")                                        \
    XX(ERR_RANGE, -8, "value out of range")                                  \
    XX(ERR_CANCELLED, -9, "cancelled")                                       \
    XX(ERR_INTERNAL, -10, "internal error")

typedef enum tlm_status {
#define TLM_STATUS_ENUM_(name, value, text) TLM_##name = value,
    TLM_STATUS_MAP(TLM_STATUS_ENUM_)
#undef TLM_STATUS_ENUM_
} tlm_status;

/* A caller-owned error record.  Functions that take a tlm_error *err fill it
 * on failure (err may be NULL when the caller only wants the status). */
typedef struct tlm_error {
    tlm_status code;
    char msg[512];
} tlm_error;

/* Short fixed text for a status code ("malformed file").  Never NULL. */
TLM_API const char *tlm_status_str(tlm_status status);

/* Releases memory that a tlm_ function documented as "free with tlm_free()". */
TLM_API void tlm_free(void *p);

/* The library version, e.g. "0.1.0". */
TLM_API const char *tlm_version(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYLM_H */
