/*
 * ref_forward.h - a deliberately plain F32 forward pass: the oracle that the
 * engine's logits are compared against.
 *
 * No SIMD, no threads, no KV cache, no cleverness: every weight is
 * dequantized to F32 with the scalar reference, every position recomputes
 * attention over the whole prefix, and the code follows the architectures'
 * definitions line by line (llama2.c's run.c is the model of style).  It is
 * only meant for tiny models.  Header-only so each test can include it.
 */
#ifndef TLM_TESTS_REF_FORWARD_H
#define TLM_TESTS_REF_FORWARD_H

#include "gguf/gguf.h"
#include "tensor/quant.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_layer {
    float *attn_norm, *wq, *bq, *wk, *bk, *wv, *bv, *wo; /* w*: (out, in) row-major */
    float *ffn_norm, *w_gate, *w_up, *w_down;
} ref_layer;

typedef struct ref_model {
    enum { REF_QWEN2, REF_GEMMA, REF_LLAMA } arch;
    int n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab;
    float eps, rope_base;
    bool rope_neox;
    float *tok_embd;   /* (n_vocab, n_embd) */
    float *out_norm;   /* (n_embd) */
    float *output;     /* (n_vocab, n_embd); == tok_embd when tied */
    ref_layer *layers;
} ref_model;

/* Dequantizes a whole tensor; NULL if absent (and required == false). */
static inline float *ref_load_tensor(const tlm_gguf *g, const char *name, bool required) {
    const tlm_gguf_tensor *t = tlm_gguf_find_tensor(g, name);
    if (!t) {
        if (required) fprintf(stderr, "ref_forward: missing tensor %s\n", name);
        return NULL;
    }
    uint64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    float *out = malloc(n * sizeof(float));
    if (t->type == TLM_TYPE_F32) memcpy(out, t->data, n * sizeof(float));
    else tlm_dequantize_row(t->type, t->data, out, (int64_t)n);
    return out;
}

static inline int ref_u32(const tlm_gguf *g, const char *arch, const char *suffix, int dflt) {
    char key[128];
    uint32_t v;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return tlm_gguf_get_u32(g, key, &v, NULL) == TLM_OK ? (int)v : dflt;
}

static inline float ref_f32(const tlm_gguf *g, const char *arch, const char *suffix, float dflt) {
    char key[128];
    float v;
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return tlm_gguf_get_f32(g, key, &v, NULL) == TLM_OK ? v : dflt;
}

static inline bool ref_model_load(const tlm_gguf *g, ref_model *m) {
    memset(m, 0, sizeof *m);
    char *arch = NULL;
    if (tlm_gguf_get_strdup(g, "general.architecture", &arch, NULL)) return false;
    m->arch = !strcmp(arch, "qwen2") ? REF_QWEN2 : !strcmp(arch, "gemma") ? REF_GEMMA : REF_LLAMA;
    m->rope_neox = m->arch != REF_LLAMA;
    m->n_embd = ref_u32(g, arch, "embedding_length", 0);
    m->n_layer = ref_u32(g, arch, "block_count", 0);
    m->n_head = ref_u32(g, arch, "attention.head_count", 0);
    m->n_head_kv = ref_u32(g, arch, "attention.head_count_kv", m->n_head);
    m->head_dim = ref_u32(g, arch, "attention.key_length", m->n_embd / m->n_head);
    m->n_ff = ref_u32(g, arch, "feed_forward_length", 0);
    m->eps = ref_f32(g, arch, "attention.layer_norm_rms_epsilon", 1e-6f);
    m->rope_base = ref_f32(g, arch, "rope.freq_base", 10000.0f);
    free(arch);
    m->n_vocab = (int)tlm_gguf_find_tensor(g, "token_embd.weight")->ne[1];
    m->tok_embd = ref_load_tensor(g, "token_embd.weight", true);
    m->out_norm = ref_load_tensor(g, "output_norm.weight", true);
    m->output = ref_load_tensor(g, "output.weight", false);
    if (!m->output) m->output = m->tok_embd;
    m->layers = calloc((size_t)m->n_layer, sizeof *m->layers);
    for (int l = 0; l < m->n_layer; l++) {
        ref_layer *L = &m->layers[l];
        char name[96];
#define REF_T(field, suffix, req) \
    (snprintf(name, sizeof name, "blk.%d." suffix, l), L->field = ref_load_tensor(g, name, req))
        REF_T(attn_norm, "attn_norm.weight", true);
        REF_T(wq, "attn_q.weight", true);
        REF_T(bq, "attn_q.bias", false);
        REF_T(wk, "attn_k.weight", true);
        REF_T(bk, "attn_k.bias", false);
        REF_T(wv, "attn_v.weight", true);
        REF_T(bv, "attn_v.bias", false);
        REF_T(wo, "attn_output.weight", true);
        REF_T(ffn_norm, "ffn_norm.weight", true);
        REF_T(w_gate, "ffn_gate.weight", true);
        REF_T(w_up, "ffn_up.weight", true);
        REF_T(w_down, "ffn_down.weight", true);
#undef REF_T
    }
    return true;
}

static inline void ref_model_free(ref_model *m) {
    for (int l = 0; l < m->n_layer; l++) {
        ref_layer *L = &m->layers[l];
        float *all[] = {L->attn_norm, L->wq, L->bq, L->wk, L->bk, L->wv, L->bv,
                        L->wo, L->ffn_norm, L->w_gate, L->w_up, L->w_down};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    }
    free(m->layers);
    if (m->output != m->tok_embd) free(m->output);
    free(m->tok_embd);
    free(m->out_norm);
}

/* ---- The blocks, in double where it costs nothing ---- */

static inline void ref_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

/* out (rows) = W (rows, cols) x (cols) + b */
static inline void ref_matvec(float *out, const float *w, const float *b, const float *x, int rows,
                       int cols) {
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += (double)w[(size_t)r * cols + c] * x[c];
        out[r] = (float)s + (b ? b[r] : 0.0f);
    }
}

/* Rotates one head vector.  NEOX pairs (i, i + d/2); "normal" pairs (2i, 2i+1). */
static inline void ref_rope(float *v, int d, int pos, float base, bool neox) {
    for (int i = 0; i < d / 2; i++) {
        double theta = pos * pow(base, -2.0 * i / d);
        double c = cos(theta), s = sin(theta);
        int a = neox ? i : 2 * i, b = neox ? i + d / 2 : 2 * i + 1;
        double x0 = v[a], x1 = v[b];
        v[a] = (float)(x0 * c - x1 * s);
        v[b] = (float)(x0 * s + x1 * c);
    }
}

static inline float ref_gelu_tanh(float x) {
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

static inline float ref_silu(float x) { return x / (1.0f + expf(-x)); }

/* Logits for every position of tokens[0..n): out is (n, n_vocab). */
static inline void ref_forward(const ref_model *m, const int *tokens, int n, float *out) {
    int D = m->n_embd, hd = m->head_dim, nq = m->n_head * hd, nkv = m->n_head_kv * hd;
    float *x = malloc(sizeof(float) * (size_t)n * D), *xn = malloc(sizeof(float) * D);
    float *q = malloc(sizeof(float) * (size_t)n * nq), *k = malloc(sizeof(float) * (size_t)n * nkv);
    float *v = malloc(sizeof(float) * (size_t)n * nkv), *att = malloc(sizeof(float) * (size_t)n * nq);
    float *tmp = malloc(sizeof(float) * (size_t)(m->n_ff > D ? m->n_ff : D) * 2);
    float *sc = malloc(sizeof(float) * n);
    for (int t = 0; t < n; t++) {
        memcpy(&x[t * D], &m->tok_embd[(size_t)tokens[t] * D], sizeof(float) * D);
        if (m->arch == REF_GEMMA)
            for (int i = 0; i < D; i++) x[t * D + i] *= sqrtf((float)D);
    }
    for (int l = 0; l < m->n_layer; l++) {
        const ref_layer *L = &m->layers[l];
        for (int t = 0; t < n; t++) {
            ref_rmsnorm(xn, &x[t * D], L->attn_norm, D, m->eps);
            ref_matvec(&q[t * nq], L->wq, L->bq, xn, nq, D);
            ref_matvec(&k[t * nkv], L->wk, L->bk, xn, nkv, D);
            ref_matvec(&v[t * nkv], L->wv, L->bv, xn, nkv, D);
            for (int h = 0; h < m->n_head; h++) ref_rope(&q[t * nq + h * hd], hd, t, m->rope_base, m->rope_neox);
            for (int h = 0; h < m->n_head_kv; h++) ref_rope(&k[t * nkv + h * hd], hd, t, m->rope_base, m->rope_neox);
        }
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < m->n_head; h++) {
                int kh = h / (m->n_head / m->n_head_kv);
                const float *qh = &q[t * nq + h * hd];
                double mx = -INFINITY, sum = 0;
                for (int s = 0; s <= t; s++) {
                    double d = 0;
                    for (int i = 0; i < hd; i++) d += (double)qh[i] * k[s * nkv + kh * hd + i];
                    sc[s] = (float)(d / sqrt((double)hd));
                    if (sc[s] > mx) mx = sc[s];
                }
                for (int s = 0; s <= t; s++) sum += exp(sc[s] - mx);
                for (int i = 0; i < hd; i++) {
                    double o = 0;
                    for (int s = 0; s <= t; s++) o += exp(sc[s] - mx) / sum * v[s * nkv + kh * hd + i];
                    att[t * nq + h * hd + i] = (float)o;
                }
            }
        }
        for (int t = 0; t < n; t++) {
            float *xt = &x[t * D];
            ref_matvec(tmp, L->wo, NULL, &att[t * nq], D, nq);
            for (int i = 0; i < D; i++) xt[i] += tmp[i];
            ref_rmsnorm(xn, xt, L->ffn_norm, D, m->eps);
            float *gate = tmp, *up = tmp + m->n_ff;
            ref_matvec(gate, L->w_gate, NULL, xn, m->n_ff, D);
            ref_matvec(up, L->w_up, NULL, xn, m->n_ff, D);
            for (int i = 0; i < m->n_ff; i++)
                gate[i] = (m->arch == REF_GEMMA ? ref_gelu_tanh(gate[i]) : ref_silu(gate[i])) * up[i];
            float *down = malloc(sizeof(float) * D);
            ref_matvec(down, L->w_down, NULL, gate, D, m->n_ff);
            for (int i = 0; i < D; i++) xt[i] += down[i];
            free(down);
        }
    }
    for (int t = 0; t < n; t++) {
        ref_rmsnorm(xn, &x[t * D], m->out_norm, D, m->eps);
        ref_matvec(&out[(size_t)t * m->n_vocab], m->output, NULL, xn, m->n_vocab, D);
    }
    free(x); free(xn); free(q); free(k); free(v); free(att); free(tmp); free(sc);
}

/* KL(p || q) of the softmaxes of two logit rows, in nats. */
static inline double ref_kl(const float *lp, const float *lq, int n) {
    double mp = -INFINITY, mq = -INFINITY, zp = 0, zq = 0, kl = 0;
    for (int i = 0; i < n; i++) {
        if (lp[i] > mp) mp = lp[i];
        if (lq[i] > mq) mq = lq[i];
    }
    for (int i = 0; i < n; i++) {
        zp += exp(lp[i] - mp);
        zq += exp(lq[i] - mq);
    }
    for (int i = 0; i < n; i++) {
        double p = exp(lp[i] - mp) / zp;
        double logp = lp[i] - mp - log(zp), logq = lq[i] - mq - log(zq);
        kl += p * (logp - logq);
    }
    return kl;
}

#endif /* TLM_TESTS_REF_FORWARD_H */
