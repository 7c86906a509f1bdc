/*
 * arch.c - the architecture registry and the hyperparameters read from GGUF
 * metadata.
 *
 * Keys and defaults follow what the Hugging Face to GGUF converter writes
 * (see ../shared/reference/engine-facts.md section 6): Gemma files carry no
 * rope.freq_base (10000 then) and give head_dim in attention.key_length,
 * which need not be n_embd / n_head (Gemma-7B: 3072 / 16 = 192, but 256).
 * Every value is checked, so a malformed file ends in a message naming the
 * key rather than in an out-of-bounds access later.
 */
#include "model/model.h"

#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const tlm_arch_info archs[] = {
    {.name = "llama", .arch = TLM_ARCH_LLAMA, .rope_neox = false, .act = TLM_ACT_SILU,
     .scale_embd = false, .eps_default = 1e-5f},
    {.name = "qwen2", .arch = TLM_ARCH_QWEN2, .rope_neox = true, .act = TLM_ACT_SILU,
     .scale_embd = false, .eps_default = 1e-6f},
    {.name = "gemma", .arch = TLM_ARCH_GEMMA, .rope_neox = true, .act = TLM_ACT_GELU_TANH,
     .scale_embd = true, .eps_default = 1e-6f},
};

const tlm_arch_info *tlm_arch_find(const char *name, size_t len) {
    for (size_t i = 0; i < TLM_ARRAY_LEN(archs); i++)
        if (strlen(archs[i].name) == len && !memcmp(archs[i].name, name, len)) return &archs[i];
    return NULL;
}

/* Reads "<arch>.<suffix>" as an int32.  A missing key gives dflt, or an
 * error naming the key when dflt < 0 (required). */
static tlm_status get_int(const tlm_gguf *g, const tlm_arch_info *a, const char *suffix,
                          int64_t dflt, int32_t *out, tlm_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", a->name, suffix);
    uint32_t v = 0;
    tlm_status st = tlm_gguf_get_u32(g, key, &v, err);
    if (st == TLM_ERR_NOT_FOUND) {
        if (dflt < 0)
            return tlm_error_set(err, TLM_ERR_FORMAT, "model: required key %s is missing", key);
        *out = (int32_t)dflt;
        return TLM_OK;
    }
    if (st) return st;
    if (v == 0 || v > (1u << 30))
        return tlm_error_set(err, TLM_ERR_FORMAT, "model: key %s has an unusable value %u", key,
                             v);
    *out = (int32_t)v;
    return TLM_OK;
}

static tlm_status get_float(const tlm_gguf *g, const tlm_arch_info *a, const char *suffix,
                            float dflt, float *out, tlm_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", a->name, suffix);
    tlm_status st = tlm_gguf_get_f32(g, key, out, err);
    if (st == TLM_ERR_NOT_FOUND) {
        *out = dflt;
        return TLM_OK;
    }
    if (st) return st;
    if (!isfinite(*out) || *out <= 0)
        return tlm_error_set(err, TLM_ERR_FORMAT, "model: key %s has an unusable value %g", key,
                             (double)*out);
    return TLM_OK;
}

/* Linear RoPE scaling (positions divided by the factor).  Other kinds
 * change the frequencies in ways this engine does not implement, and
 * ignoring them would give subtly wrong text, so they are refused. */
static tlm_status read_rope_scaling(const tlm_gguf *g, const tlm_arch_info *a, tlm_hparams *hp,
                                    tlm_error *err) {
    char key[128];
    float factor = 1.0f;
    tlm_gguf_str type = {0};
    snprintf(key, sizeof key, "%s.rope.scaling.type", a->name);
    tlm_status st = tlm_gguf_get_str(g, key, &type, err);
    if (st && st != TLM_ERR_NOT_FOUND) return st;
    bool has_type = st == TLM_OK;
    if (has_type && !tlm_gguf_str_eq(type, "none") && !tlm_gguf_str_eq(type, "linear"))
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED,
                             "model: RoPE scaling type '%.*s' (%s) is not supported; only "
                             "linear scaling is",
                             (int)TLM_MIN(type.len, 32), type.ptr, key);
    if ((st = get_float(g, a, "rope.scale_linear", 1.0f, &factor, err))) return st;
    if (!has_type || tlm_gguf_str_eq(type, "linear")) {
        float f2 = 0;
        if ((st = get_float(g, a, "rope.scaling.factor", 0.0f, &f2, err))) return st;
        if (f2 > 0) factor = f2;
    }
    if (has_type && tlm_gguf_str_eq(type, "none")) factor = 1.0f;
    hp->rope_freq_scale = 1.0f / factor;
    return TLM_OK;
}

static tlm_status check_attention(const tlm_arch_info *a, const tlm_hparams *hp, int32_t hd_v,
                                  tlm_error *err) {
    if (hp->n_head_kv > hp->n_head || hp->n_head % hp->n_head_kv)
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "model: %s.attention.head_count_kv = %d must divide head_count = %d",
                             a->name, hp->n_head_kv, hp->n_head);
    if (hp->head_dim % 2 || hp->head_dim > 1024)
        return tlm_error_set(err, TLM_ERR_FORMAT, "model: head dimension %d is not usable",
                             hp->head_dim);
    if (hd_v != hp->head_dim)
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED,
                             "model: key_length %d != value_length %d is not supported",
                             hp->head_dim, hd_v);
    if (hp->n_rot % 2 || hp->n_rot > hp->head_dim)
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "model: %s.rope.dimension_count = %d must be even and at most the "
                             "head dimension %d",
                             a->name, hp->n_rot, hp->head_dim);
    return TLM_OK;
}

tlm_status tlm_hparams_read(const tlm_gguf *g, const tlm_arch_info *a, tlm_hparams *hp,
                            tlm_error *err) {
    memset(hp, 0, sizeof *hp);
    int32_t hd_v = 0;
    tlm_status st;
    if ((st = get_int(g, a, "embedding_length", -1, &hp->n_embd, err)) ||
        (st = get_int(g, a, "block_count", -1, &hp->n_layer, err)) ||
        (st = get_int(g, a, "feed_forward_length", -1, &hp->n_ff, err)) ||
        (st = get_int(g, a, "attention.head_count", -1, &hp->n_head, err)) ||
        (st = get_int(g, a, "context_length", 2048, &hp->n_ctx_train, err)) ||
        (st = get_int(g, a, "attention.head_count_kv", hp->n_head, &hp->n_head_kv, err)) ||
        (st = get_int(g, a, "attention.key_length", hp->n_embd / hp->n_head, &hp->head_dim,
                      err)) ||
        (st = get_int(g, a, "attention.value_length", hp->head_dim, &hd_v, err)) ||
        (st = get_int(g, a, "rope.dimension_count", hp->head_dim, &hp->n_rot, err)) ||
        (st = get_float(g, a, "attention.layer_norm_rms_epsilon", a->eps_default, &hp->eps,
                        err)) ||
        (st = get_float(g, a, "rope.freq_base", 10000.0f, &hp->rope_base, err)) ||
        (st = read_rope_scaling(g, a, hp, err)))
        return st;
    if (hp->n_layer > 4096)
        return tlm_error_set(err, TLM_ERR_FORMAT, "model: %s.block_count = %d is not plausible",
                             a->name, hp->n_layer);
    if (hp->head_dim == 0)
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "model: head dimension is 0 (embedding_length %d < head_count %d)",
                             hp->n_embd, hp->n_head);
    return check_attention(a, hp, hd_v, err);
}
