/*
 * model_arg.c - MODEL arguments, tokenizing and flag parsing for the
 * commands (see model_arg.h).
 */
#include "cli/model_arg.h"

#include "core/util.h"
#include "model/pull.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int tlm_cli_load_model(const char *cmd, const char *arg, int32_t n_threads, tlm_model **out,
                       double *load_ms) {
    *out = NULL;
    tlm_error err = {0};
    char *path = NULL;
    if (tlm_pull_resolve(arg, &path, &err) != TLM_OK) {
        fprintf(stderr, "tinylm %s: %s\n", cmd, err.msg);
        return 1;
    }
    tlm_model_params mp = tlm_model_default_params();
    mp.n_threads = n_threads;
    uint64_t t0 = tlm_time_ns();
    tlm_status s = tlm_model_load(path, &mp, out, &err);
    if (load_ms) *load_ms = (double)(tlm_time_ns() - t0) / 1e6;
    if (s != TLM_OK)
        fprintf(stderr, "tinylm %s: cannot load %s: %s\n", cmd, path,
                err.msg[0] ? err.msg : tlm_status_str(s));
    tlm_free(path);
    return s == TLM_OK ? 0 : 1;
}

tlm_token *tlm_cli_tokenize(const tlm_model *m, const char *text, size_t len, bool add_bos,
                            bool parse_special, int32_t *n_out, tlm_error *err) {
    int32_t n = 0;
    *n_out = 0;
    tlm_status s = tlm_model_tokenize(m, text, len, add_bos, parse_special, NULL, 0, &n, err);
    if (s != TLM_OK && s != TLM_ERR_RANGE) return NULL;
    tlm_token *ids = tlm_malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    if (!ids) {
        tlm_error_set(err, TLM_ERR_NOMEM, "out of memory for %d tokens", n);
        return NULL;
    }
    if (tlm_model_tokenize(m, text, len, add_bos, parse_special, ids, n, n_out, err) != TLM_OK) {
        tlm_free(ids);
        return NULL;
    }
    return ids;
}

bool tlm_cli_parse_int(const char *cmd, const char *flag, const char *s, long lo, long hi,
                       long *out) {
    char *end = NULL;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "tinylm %s: %s expects a whole number in [%ld, %ld], got '%s'\n", cmd,
                flag, lo, hi, s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

bool tlm_cli_parse_float(const char *cmd, const char *flag, const char *s, double lo, double hi,
                         double *out) {
    char *end = NULL;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "tinylm %s: %s expects a number in [%g, %g], got '%s'\n", cmd, flag, lo,
                hi, s ? s : "");
        return false;
    }
    *out = v;
    return true;
}

char *tlm_cli_read_all(void *file, size_t *len) {
    tlm_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, (FILE *)file)) > 0)
        if (tlm_buf_append(&b, chunk, n)) goto fail;
    if (ferror((FILE *)file) || tlm_buf_append(&b, "", 1)) goto fail;
    *len = b.len - 1;
    return b.data;
fail:
    tlm_buf_free(&b);
    return NULL;
}
