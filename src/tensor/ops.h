/*
 * ops.h - the forward-pass operators other than matrix products: RMSNorm,
 * RoPE, softmax, activations (SiLU, tanh-GELU, the SwiGLU/GeGLU gates),
 * element-wise arithmetic, and attention of a block of queries over a KV
 * cache.
 *
 * Layouts (row-major, innermost last):
 *   activations   [n_tok][n]                       floats
 *   q, attn out   [n_tok][n_head][head_dim]        floats
 *   KV cache      [pos][n_head_kv][head_dim]       F16 (or Q8_0: each
 *                 (pos, kv head) row of head_dim values quantized alone)
 *                 one K and one V array per layer, owned by the caller.
 *
 * Functions taking a pool split rows (or (query, kv head) pairs) over its
 * threads; each output element is computed by one thread with the same
 * arithmetic, so results are bitwise identical for any thread count (pool
 * may be NULL).  Outputs may alias inputs where noted.  Nothing here
 * allocates, and no function keeps pointers after returning.
 *
 * Precision: reductions (RMSNorm sums, softmax sums) run in double; exp
 * uses a polynomial within 2 ulp of expf, the same on every SIMD path.
 */
#ifndef TLM_TENSOR_OPS_H
#define TLM_TENSOR_OPS_H

#include "core/threads.h"
#include "tensor/types.h"
#include "tinylm.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- Normalisation ---- */

/* y[r][i] = x[r][i] / sqrt(mean_i(x[r]^2) + eps) * w[i] for n_rows rows of
 * n; w may be NULL (no gain).  y may equal x. */
void tlm_rms_norm(tlm_pool *pool, float *y, const float *x, const float *w, int64_t n_rows,
                  int64_t n, float eps);

/* ---- Rotary position embedding ---- */

typedef enum tlm_rope_mode {
    TLM_ROPE_NORMAL = 0, /* rotates adjacent pairs (2i, 2i+1)       (LLaMA in GGUF) */
    TLM_ROPE_NEOX = 2,   /* rotates pairs (i, i + n_rot/2)          (Qwen2, Gemma)  */
} tlm_rope_mode;

/* In place on x [n_tok][n_head][head_dim]: the first n_rot dims of every
 * head of token t are rotated by angles pos[t] * freq_base^(-2i/n_rot),
 * i < n_rot/2; dims past n_rot are left alone.  Angles are computed in
 * double.  n_rot must be even and <= head_dim. */
void tlm_rope(tlm_pool *pool, float *x, int64_t n_tok, int n_head, int head_dim, int n_rot,
              const int32_t *pos, float freq_base, tlm_rope_mode mode);

/* ---- Element-wise (y may alias an input) ---- */

void tlm_add(float *y, const float *a, const float *b, int64_t n);   /* y = a + b */
void tlm_mul(float *y, const float *a, const float *b, int64_t n);   /* y = a * b */
void tlm_scale(float *y, const float *x, float s, int64_t n);       /* y = s * x */

/* The largest of x[0 .. n), NaNs skipped; -inf when there is none.  In 16
 * running maxima, which do not wait on each other (as one chain each
 * compare waited on the one before); a maximum does not depend on the
 * order, and where +0 and -0 tie either is returned. */
float tlm_max(const float *x, int64_t n);

/* In place, max-subtracted: exact for large values. */
void tlm_softmax(float *x, int64_t n);

/* y = x * sigmoid(x). */
void tlm_silu(tlm_pool *pool, float *y, const float *x, int64_t n);
/* y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the GELU Gemma uses. */
void tlm_gelu_tanh(tlm_pool *pool, float *y, const float *x, int64_t n);
/* Gated feed-forward halves: y = silu(gate) * up, y = gelu_tanh(gate) * up. */
void tlm_swiglu(tlm_pool *pool, float *y, const float *gate, const float *up, int64_t n);
void tlm_geglu(tlm_pool *pool, float *y, const float *gate, const float *up, int64_t n);

/* expf within 2 ulp for finite x (0 below -87.3, +inf above 88.7). */
float tlm_expf(float x);

/* ---- Attention ---- */

typedef struct tlm_attn_params {
    int n_head;          /* query heads */
    int n_head_kv;       /* KV heads; n_head % n_head_kv == 0 (GQA, MQA when 1) */
    int head_dim;
    int64_t n_q;         /* queries in this block */
    int64_t q_pos0;      /* position of query 0; query i is at q_pos0 + i */
    int64_t n_kv;        /* cache positions [0, n_kv) are filled */
    bool causal;         /* query i sees keys [0, q_pos0 + i] (else all n_kv) */
    float scale;         /* applied to q.k, usually 1/sqrt(head_dim) */
    tlm_type kv_type;    /* TLM_TYPE_F16 or TLM_TYPE_Q8_0 */
} tlm_attn_params;

/* Checks a parameter set (head counts, head_dim <= 256, type, ranges). */
tlm_status tlm_attention_check(const tlm_attn_params *p, tlm_error *err);

/* out[i][h] = sum_j softmax_j(scale * q[i][h] . k[j][g]) v[j][g], with
 * g = h / (n_head / n_head_kv) and j over the keys query i sees (online
 * softmax: no score buffer).  A query that sees no key gets zeros.  q and
 * out must not overlap k or v.  Returns TLM_ERR_INVALID_ARG when
 * tlm_attention_check fails. */
tlm_status tlm_attention(tlm_pool *pool, const tlm_attn_params *p, const float *q, const void *k,
                         const void *v, float *out);

#endif /* TLM_TENSOR_OPS_H */
