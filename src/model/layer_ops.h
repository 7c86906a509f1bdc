/*
 * layer_ops.h - the per-row operators of the forward pass (internal):
 * RMSNorm, RoPE from a per-token table, the gated FFN activation, and
 * attention of one token over its sequence's cells in the KV cache.
 *
 * Each works on whole rows owned by one thread, in a fixed order, so the
 * forward pass is bitwise identical for any thread count and for any split
 * of the work.  Norm and RoPE follow the reference forward pass's
 * arithmetic (tests/model/ref_forward.h), so the engine differs from it
 * only where it must: quantized activations and the F16 KV cache.
 */
#ifndef TLM_MODEL_LAYER_OPS_H
#define TLM_MODEL_LAYER_OPS_H

#include "model/kv_cache.h"
#include "model/model.h"

#include <stdbool.h>
#include <stdint.h>

/* out = x / sqrt(mean(x^2) + eps) * w over n values (out may be x). */
void tlm_lo_rmsnorm(float *out, const float *x, const float *w, int32_t n, float eps);

/* Fills cs (n_rot/2 pairs of cos, sin) for position pos:
 * theta_i = pos * freq_scale * base^(-2i/n_rot) / freq_factors[i]
 * (freq_factors may be NULL). */
void tlm_lo_rope_table(double *cs, int32_t pos, int32_t n_rot, float base, float freq_scale,
                       const float *freq_factors);

/* Rotates the first n_rot values of one head vector with a table from
 * tlm_lo_rope_table: NEOX pairs (i, i + n_rot/2), else (2i, 2i+1). */
void tlm_lo_rope(float *v, const double *cs, int32_t n_rot, bool neox);

/* a[i] = act(a[i]) * b[i]. */
void tlm_lo_glu(float *a, const float *b, int64_t n, tlm_ffn_act act);

/* Most query heads and query rows one attention job may cover, and the
 * cells it works through at a time. */
#define TLM_ATTN_MAX_HEADS 64
#define TLM_ATTN_MAX_ROWS 16
#define TLM_ATTN_CHUNK 64

/* One attention job: query heads [h0, h1), all sharing key head kh, of
 * n_rows query rows of one sequence; row r attends to the first n_vis[r]
 * cells of view.  A row's result does not depend on the other rows of its
 * job (their only effect is to share the conversion of key and value rows
 * to floats), so jobs may be formed any way without changing a bit. */
typedef struct tlm_attn_job {
    const tlm_kv_cache *kv;
    int32_t layer;
    int32_t head_dim;
    int32_t kh, h0, h1;
    float scale;
    const int32_t *view;
    int32_t n_rows;
    int32_t n_vis[TLM_ATTN_MAX_ROWS];
    const float *q[TLM_ATTN_MAX_ROWS]; /* each row's query (all heads) */
    float *out[TLM_ATTN_MAX_ROWS];     /* each row's output (all heads) */
} tlm_attn_job;

/* Floats of scratch tlm_lo_attend needs for jobs of up to n_rows rows and
 * n_heads heads over up to n_cells cells. */
size_t tlm_lo_attend_scratch(int32_t n_rows, int32_t n_heads, int32_t n_cells,
                             int32_t head_dim);

/* Runs the job with the caller's scratch (tlm_lo_attend_scratch floats). */
void tlm_lo_attend(const tlm_attn_job *job, float *scratch);

#endif /* TLM_MODEL_LAYER_OPS_H */
