/*
 * pull.h - downloading GGUF models into a local cache, and finding them
 * again by name.
 *
 * The cache is $XDG_CACHE_HOME/tinylm/models (or ~/.cache/tinylm/models).
 * A download goes to NAME.gguf.partial and is renamed to NAME.gguf only
 * after every check passed (GGUF magic and version, size, and the SHA-256
 * when it is known), so the cache never holds a half or a bad file under a
 * usable name.  An interrupted download resumes from the .partial file with
 * an HTTP Range request; a server that ignores the range restarts it.
 *
 * Names: a short table of known models ("qwen2.5:0.5b-instruct"), or any
 * http(s) URL, whose last path component becomes the file name.
 */
#ifndef TLM_MODEL_PULL_H
#define TLM_MODEL_PULL_H

#include "tinylm.h"

#include <stdint.h>

typedef struct tlm_pull_known {
    const char *name;    /* "qwen2.5:0.5b-instruct" */
    const char *url;
    const char *file;    /* file name in the cache */
    uint64_t size;       /* bytes; 0 = not known in advance */
    const char *sha256;  /* lowercase hex; NULL = not known */
    const char *about;   /* one line for listings */
} tlm_pull_known;

/* The known models, in table order (NULL past the end), and lookup by name
 * (NULL when unknown). */
const tlm_pull_known *tlm_pull_known_at(int i);
const tlm_pull_known *tlm_pull_find_known(const char *name);

/* The cache directory (not created).  *out: free with tlm_free(). */
tlm_status tlm_pull_cache_dir(char **out, tlm_error *err);

typedef struct tlm_pull_params {
    const char *dir;        /* destination; NULL = the cache directory (created) */
    const char *sha256;     /* expected digest; NULL = the known table's, if any */
    /* Called as bytes arrive (done includes a resumed prefix; total 0 when
     * the server does not say).  May be NULL. */
    void (*progress)(void *user, uint64_t done, uint64_t total);
    void *user;
    /* Polled during the transfer: non-zero stops it (the .partial file is
     * kept for a later resume).  May be NULL. */
    const volatile int *cancel;
} tlm_pull_params;

/* Downloads name_or_url (a known name or an http(s) URL) unless the file is
 * already in place.  *out_path (free with tlm_free) is the final file.
 * Errors: TLM_ERR_NOT_FOUND (unknown name, HTTP 404), TLM_ERR_IO (network
 * or disk; the .partial file is kept so the same call resumes),
 * TLM_ERR_FORMAT (not a GGUF file, wrong size or digest; nothing is left in
 * the cache), TLM_ERR_CANCELLED. */
tlm_status tlm_pull(const char *name_or_url, const tlm_pull_params *params, char **out_path,
                    tlm_error *err);

/* Turns a MODEL argument into a file path: an existing file as it is, then
 * a known name or a file name (with or without .gguf) in the cache.
 * *out_path: free with tlm_free().  TLM_ERR_NOT_FOUND with a message that
 * says how to get the model. */
tlm_status tlm_pull_resolve(const char *model, char **out_path, tlm_error *err);

/* What is in the cache: one entry per .gguf file, sorted by name. */
typedef struct tlm_pull_entry {
    char *name;          /* the known name, or the file name without .gguf */
    char *path;
    uint64_t size;
} tlm_pull_entry;

/* Lists dir (NULL = the cache; a missing directory lists nothing).  Free
 * the result with tlm_pull_list_free(). */
tlm_status tlm_pull_list(const char *dir, tlm_pull_entry **out, int32_t *n_out, tlm_error *err);
void tlm_pull_list_free(tlm_pull_entry *entries, int32_t n);

#endif /* TLM_MODEL_PULL_H */
