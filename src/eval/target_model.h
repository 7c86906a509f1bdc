/*
 * target_model.h - evaluation targets that are not a single endpoint: an
 * in-process model (loaded through the public API in include/tinylm.h, the
 * same path `tinylm run` takes, so eval measures what users get), and a
 * pool that spreads one target's work over several OpenAI-compatible
 * endpoints.  Also the per-target measurements reports show: peak resident
 * memory, and the determinism probe.
 */
#ifndef TLM_EVAL_TARGET_MODEL_H
#define TLM_EVAL_TARGET_MODEL_H

#include "eval/eval.h"
#include "eval/target_openai.h"

/* ---- In-process model ---- */

typedef struct tlm_eval_model_config {
    const char *path;  /* a GGUF file (pulled names are resolved by the caller) */
    const char *name;  /* the target's name; NULL = the file name without ".gguf" */
    int32_t n_ctx;     /* 0 = min(4096, trained) */
    int32_t n_threads; /* 0 = all cores */
} tlm_eval_model_config;

/* Loads the model and creates one context with one sequence.  Items are
 * generated one at a time (the target is `serial`): with --jobs N the
 * runner still overlaps one generation with the grading of other items.
 * Before loading, the process's peak-RSS counter is reset (Linux
 * /proc/self/clear_refs) so that the peak reported afterwards belongs to
 * this model; whether the reset worked is recorded in the info.
 * Release with tlm_eval_model_target_free. */
tlm_status tlm_eval_model_target_create(const tlm_eval_model_config *cfg, tlm_eval_target *out,
                                        tlm_error *err);
void tlm_eval_model_target_free(tlm_eval_target *t);

/* Adds what is known about the loaded model to info (a JSON object):
 * "kind":"model", "path", "arch", "n_params", "model_bytes" (file size),
 * "load_ms", "rss_peak" and "rss_peak_scope" ("model" when the counter was
 * reset before loading, else "process"), "kv_bytes", "scratch_bytes",
 * "threads", "jobs":"serial". */
void tlm_eval_model_target_describe(const tlm_eval_target *t, json_t *info);

/* ---- Several endpoints serving one model ---- */

/* One target named cfg->model whose requests go to whichever of the n
 * base URLs has the fewest requests in flight (ties: round robin), so
 * --jobs N keeps N requests spread across them.  urls are copied.
 * Release with tlm_eval_pool_target_free. */
tlm_status tlm_eval_pool_target_create(const tlm_eval_openai_config *cfg, const char *const *urls,
                                       size_t n, tlm_eval_target *out, tlm_error *err);
void tlm_eval_pool_target_free(tlm_eval_target *t);
/* info gets "kind":"endpoint", "endpoints":[...] and, per endpoint, how
 * many requests it served. */
void tlm_eval_pool_target_describe(const tlm_eval_target *t, json_t *info);

/* ---- Measurements ---- */

/* Resets the kernel's peak-RSS counter of this process (VmHWM); false when
 * the kernel refused (then peaks cover the whole process lifetime). */
bool tlm_eval_peak_rss_reset(void);
/* VmHWM of this process in bytes, or -1 when unknown. */
int64_t tlm_eval_peak_rss(void);

/* The determinism probe: `runs` generations of one fixed prompt with the
 * same seed and sampling temperature 0.8 (so that the seed matters), at
 * most 48 tokens each.  *out_identical is the size of the largest group of
 * byte-identical answers (runs when fully deterministic).  An error means
 * the target failed to answer at all. */
tlm_status tlm_eval_determinism(const tlm_eval_target *t, int runs, uint64_t seed,
                                int *out_identical, tlm_error *err);

#endif /* TLM_EVAL_TARGET_MODEL_H */
