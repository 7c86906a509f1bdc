/*
 * vocab_file.c - loading a vocabulary by path: a GGUF file, or a Hugging
 * Face tokenizer directory imported through a temporary GGUF file.
 *
 * Going through a real file (rather than building the vocabulary straight
 * from the JSON) means that tools and tests given a tokenizer directory
 * exercise the importer, the GGUF writer and reader, and the loader: the
 * same path as a model converted with `tinylm synth`.
 */
#include "core/util.h"
#include "tokenizer/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static tlm_status load_gguf(const char *path, tlm_vocab **out, tlm_error *err) {
    tlm_gguf *g = NULL;
    tlm_status st = tlm_gguf_open(path, &g, err);
    if (st) return st;
    st = tlm_vocab_load(g, out, err);
    tlm_gguf_free(g);
    return st;
}

static tlm_status load_hf_dir(const char *dir, tlm_vocab **out, tlm_error *err) {
    const char *tmpdir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tinylm-vocab-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return tlm_error_set(err, TLM_ERR_IO, "cannot create a temporary file in %s", path);
    close(fd);
    tlm_gguf_writer *w = NULL;
    tlm_status st = tlm_gguf_writer_create(&w);
    if (st) {
        tlm_error_set(err, st, "out of memory");
        goto done;
    }
    if ((st = tlm_tokenizer_import_hf(dir, w, err)) ||
        (st = tlm_gguf_writer_write(w, path, NULL, NULL, err)))
        goto done;
    st = load_gguf(path, out, err);
done:
    tlm_gguf_writer_free(w);
    unlink(path);
    return st;
}

tlm_status tlm_vocab_load_path(const char *path, tlm_vocab **out, tlm_error *err) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return tlm_error_set(err, TLM_ERR_NOT_FOUND, "%s: no such file or directory", path);
    return S_ISDIR(sb.st_mode) ? load_hf_dir(path, out, err) : load_gguf(path, out, err);
}
