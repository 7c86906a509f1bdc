/*
 * quantize.c - model conversion: the recipe table, the per-tensor type
 * rules (llama.cpp's src/llama-quant.cpp behaviour, engine-facts 2.1), and
 * the streaming converter that re-encodes a GGUF file tensor by tensor.
 *
 * The converter adds every tensor to the writer without data and produces
 * each one in the writer's fill callback, so at most one output tensor is
 * in memory.  Rows are independent, so a tensor is cut into slabs of rows
 * that the thread pool converts in parallel; the bytes do not depend on the
 * thread count.
 */
#include "model/quantize.h"

#include "core/threads.h"
#include "core/util.h"
#include "gguf/gguf.h"
#include "tensor/quant.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- Recipes ---- */

static const tlm_quant_recipe recipes[] = {
    {"F32", TLM_FTYPE_ALL_F32, TLM_TYPE_F32, "32-bit float, no loss"},
    {"F16", TLM_FTYPE_MOSTLY_F16, TLM_TYPE_F16, "16-bit IEEE half"},
    {"BF16", TLM_FTYPE_MOSTLY_BF16, TLM_TYPE_BF16, "bfloat16"},
    {"Q8_0", TLM_FTYPE_MOSTLY_Q8_0, TLM_TYPE_Q8_0, "8.5 bits/weight, near lossless"},
    {"Q6_K", TLM_FTYPE_MOSTLY_Q6_K, TLM_TYPE_Q6_K, "6.56 bpw K-quant"},
    {"Q5_K_M", TLM_FTYPE_MOSTLY_Q5_K_M, TLM_TYPE_Q5_K, "Q5_K, attn_v/ffn_down Q6_K on some layers"},
    {"Q5_K_S", TLM_FTYPE_MOSTLY_Q5_K_S, TLM_TYPE_Q5_K, "Q5_K everywhere"},
    {"Q5_1", TLM_FTYPE_MOSTLY_Q5_1, TLM_TYPE_Q5_1, "6 bpw legacy, with minimum"},
    {"Q5_0", TLM_FTYPE_MOSTLY_Q5_0, TLM_TYPE_Q5_0, "5.5 bpw legacy"},
    {"Q4_K_M", TLM_FTYPE_MOSTLY_Q4_K_M, TLM_TYPE_Q4_K, "Q4_K, attn_v/ffn_down Q6_K on some layers"},
    {"Q4_K_S", TLM_FTYPE_MOSTLY_Q4_K_S, TLM_TYPE_Q4_K, "Q4_K, a few early layers Q5_K"},
    {"Q4_1", TLM_FTYPE_MOSTLY_Q4_1, TLM_TYPE_Q4_1, "5 bpw legacy, with minimum"},
    {"Q4_0", TLM_FTYPE_MOSTLY_Q4_0, TLM_TYPE_Q4_0, "4.5 bpw legacy"},
    {"Q3_K_L", TLM_FTYPE_MOSTLY_Q3_K_L, TLM_TYPE_Q3_K, "Q3_K, attn_v/ffn_down/attn_output Q5_K"},
    {"Q3_K_M", TLM_FTYPE_MOSTLY_Q3_K_M, TLM_TYPE_Q3_K,
     "Q3_K, attn_v/ffn_down/attn_output Q4_K-Q5_K"},
    {"Q3_K_S", TLM_FTYPE_MOSTLY_Q3_K_S, TLM_TYPE_Q3_K, "Q3_K everywhere"},
    {"Q2_K", TLM_FTYPE_MOSTLY_Q2_K, TLM_TYPE_Q2_K, "Q2_K, attn_v/ffn_down/attn_output Q3_K-Q4_K"},
    {"Q2_K_S", TLM_FTYPE_MOSTLY_Q2_K_S, TLM_TYPE_Q2_K, "Q2_K, a few layers Q4_K"},
};

static const struct {
    const char *alias, *name;
} recipe_aliases[] = {
    {"Q3_K", "Q3_K_M"},
    {"Q4_K", "Q4_K_M"},
    {"Q5_K", "Q5_K_M"},
};

const tlm_quant_recipe *tlm_quant_recipe_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < TLM_ARRAY_LEN(recipe_aliases); i++)
        if (!strcasecmp(name, recipe_aliases[i].alias)) name = recipe_aliases[i].name;
    for (size_t i = 0; i < TLM_ARRAY_LEN(recipes); i++)
        if (!strcasecmp(name, recipes[i].name)) return &recipes[i];
    return NULL;
}

const tlm_quant_recipe *tlm_quant_recipe_at(size_t i) {
    return i < TLM_ARRAY_LEN(recipes) ? &recipes[i] : NULL;
}

/* ---- Per-tensor rules ---- */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

static bool has(const char *s, const char *part) { return strstr(s, part) != NULL; }

static bool is_quantized(tlm_type t) {
    return t != TLM_TYPE_F32 && t != TLM_TYPE_F16 && t != TLM_TYPE_BF16;
}

/* Tensors that keep their type: 1-D ones, norms, and the small special
 * matrices llama.cpp leaves alone (expert gates, BERT position/type
 * embeddings, Mamba/RWKV/T5 small weights). */
static bool convertible(const tlm_quant_tensor *t) {
    static const char *const keep[] = {
        "_norm.weight",
        "ffn_gate_inp.weight",
        "altup",
        "laurel",
        "per_layer_model_proj",
        "ssm_conv1d.weight",
        "shortconv.conv.weight",
        "time_mix_first.weight",
        "time_mix_w1.weight",
        "time_mix_w2.weight",
        "time_mix_decay_w1.weight",
        "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight",
        "attn_rel_b.weight",
    };
    if (t->n_dims < 2 || !t->ne[0] || !ends_with(t->name, "weight") || !tlm_quant_info(t->type))
        return false;
    if (!strcmp(t->name, "position_embd.weight") || !strcmp(t->name, "token_types.weight"))
        return false;
    for (size_t i = 0; i < TLM_ARRAY_LEN(keep); i++)
        if (has(t->name, keep[i])) return false;
    return true;
}

/* Layer number from "blk.N.", or -1 (also for absurd N: names come from
 * the file, so no sscanf overflow). */
static int layer_of(const char *name) {
    if (strncmp(name, "blk.", 4)) return -1;
    int layer = 0, digits = 0;
    for (name += 4; *name >= '0' && *name <= '9' && digits < 7; name++, digits++)
        layer = layer * 10 + (*name - '0');
    return digits && *name == '.' ? layer : -1;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers, and
 * every third layer in between. */
static bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

typedef struct plan_state {
    tlm_ftype ftype;
    tlm_type base;
    bool has_output;
    int n_layer, n_attn_v, n_gqa;
} plan_state;

static tlm_type rule_attn_v(const plan_state *s, int i) {
    switch (s->ftype) {
    case TLM_FTYPE_MOSTLY_Q2_K: return s->n_gqa >= 4 ? TLM_TYPE_Q4_K : TLM_TYPE_Q3_K;
    case TLM_FTYPE_MOSTLY_Q2_K_S: return s->n_gqa >= 4 ? TLM_TYPE_Q4_K : s->base;
    case TLM_FTYPE_MOSTLY_Q3_K_M: return i < 2 ? TLM_TYPE_Q5_K : TLM_TYPE_Q4_K;
    case TLM_FTYPE_MOSTLY_Q3_K_L: return TLM_TYPE_Q5_K;
    case TLM_FTYPE_MOSTLY_Q4_K_M:
    case TLM_FTYPE_MOSTLY_Q5_K_M: return more_bits(i, s->n_attn_v) ? TLM_TYPE_Q6_K : s->base;
    case TLM_FTYPE_MOSTLY_Q4_K_S: return i < 4 ? TLM_TYPE_Q5_K : s->base;
    default: return s->base;
    }
}

static tlm_type rule_ffn_down(const plan_state *s, int i) {
    int n = s->n_layer;
    switch (s->ftype) {
    case TLM_FTYPE_MOSTLY_Q2_K: return TLM_TYPE_Q3_K;
    case TLM_FTYPE_MOSTLY_Q2_K_S: return i < n / 8 ? TLM_TYPE_Q4_K : s->base;
    case TLM_FTYPE_MOSTLY_Q3_K_M: return i < n / 16 ? TLM_TYPE_Q5_K : TLM_TYPE_Q4_K;
    case TLM_FTYPE_MOSTLY_Q3_K_L: return TLM_TYPE_Q5_K;
    case TLM_FTYPE_MOSTLY_Q4_K_M:
    case TLM_FTYPE_MOSTLY_Q5_K_M: return more_bits(i, n) ? TLM_TYPE_Q6_K : s->base;
    case TLM_FTYPE_MOSTLY_Q4_K_S: return i < n / 8 ? TLM_TYPE_Q5_K : s->base;
    default: return s->base;
    }
}

static tlm_type rule_attn_output(const plan_state *s) {
    switch (s->ftype) {
    case TLM_FTYPE_MOSTLY_Q2_K: return TLM_TYPE_Q3_K;
    case TLM_FTYPE_MOSTLY_Q3_K_M: return TLM_TYPE_Q4_K;
    case TLM_FTYPE_MOSTLY_Q3_K_L: return TLM_TYPE_Q5_K;
    default: return s->base;
    }
}

static tlm_type rule_attn_qkv(const plan_state *s) {
    switch (s->ftype) {
    case TLM_FTYPE_MOSTLY_Q3_K_M:
    case TLM_FTYPE_MOSTLY_Q3_K_L: return TLM_TYPE_Q4_K;
    case TLM_FTYPE_MOSTLY_Q4_K_M: return TLM_TYPE_Q5_K;
    case TLM_FTYPE_MOSTLY_Q5_K_M: return TLM_TYPE_Q6_K;
    default: return s->base;
    }
}

/* The mix: which type a convertible tensor gets before width checks. */
static tlm_type mixed_type(const plan_state *s, const tlm_quant_tensor *t) {
    const char *name = t->name;
    bool as_output =
        !strcmp(name, "output.weight") || (!s->has_output && !strcmp(name, "token_embd.weight"));
    if (as_output) {
        /* The output matrix decides every logit: give it many bits. */
        if (t->ne[0] % tlm_type_info(s->base)->blck) return TLM_TYPE_Q8_0;
        return s->base == TLM_TYPE_Q8_0 ? TLM_TYPE_Q8_0 : TLM_TYPE_Q6_K;
    }
    int layer = layer_of(name);
    if (has(name, "attn_v.weight")) return rule_attn_v(s, layer < 0 ? 0 : layer);
    if (has(name, "ffn_down")) return rule_ffn_down(s, layer < 0 ? 0 : layer);
    if (has(name, "attn_output.weight")) return rule_attn_output(s);
    if (has(name, "attn_qkv.weight")) return rule_attn_qkv(s);
    return s->base;
}

tlm_type tlm_quant_width_fallback(tlm_type t, uint64_t ne0) {
    if (ne0 % tlm_type_info(t)->blck == 0) return t;
    switch (t) {
    case TLM_TYPE_Q4_K: t = TLM_TYPE_Q5_0; break;
    case TLM_TYPE_Q5_K: t = TLM_TYPE_Q5_1; break;
    case TLM_TYPE_Q6_K: t = TLM_TYPE_Q8_0; break;
    case TLM_TYPE_Q2_K:
    case TLM_TYPE_Q3_K: t = TLM_TYPE_Q4_0; break;
    default: t = TLM_TYPE_F16; break;
    }
    return ne0 % tlm_type_info(t)->blck ? TLM_TYPE_F16 : t;
}

size_t tlm_quant_plan(const tlm_quant_recipe *r, const tlm_quant_plan_params *p,
                      const tlm_quant_tensor *tensors, size_t n, tlm_type *out_types) {
    tlm_quant_plan_params defaults = {0};
    if (!p) p = &defaults;
    plan_state s = {.ftype = r->ftype, .base = r->base, .n_gqa = (int)p->n_gqa};
    int n_ffn_down = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(tensors[i].name, "output.weight")) s.has_output = true;
        if (has(tensors[i].name, "attn_v.weight")) s.n_attn_v++;
        if (has(tensors[i].name, "ffn_down")) n_ffn_down++;
    }
    s.n_layer = p->n_layer ? (int)p->n_layer : n_ffn_down;
    bool mix = !p->pure && is_quantized(r->base);
    size_t n_fallback = 0;
    for (size_t i = 0; i < n; i++) {
        const tlm_quant_tensor *t = &tensors[i];
        if (!convertible(t)) {
            out_types[i] = t->type;
            continue;
        }
        tlm_type ty = mix ? mixed_type(&s, t) : r->base;
        if (t->ne[0] % tlm_type_info(ty)->blck) {
            ty = tlm_quant_width_fallback(ty, t->ne[0]);
            n_fallback++;
        }
        out_types[i] = ty;
    }
    return n_fallback;
}

/* ---- The converter ---- */

#define SLAB_ELEMS (1 << 22) /* elements per parallel step / progress tick */

typedef struct convert_job {
    const uint8_t *src;
    uint8_t *dst;
    tlm_type from, to;
    int64_t ne0;
    size_t src_row, dst_row;           /* bytes per row */
    int64_t row0, n_rows;              /* the slab */
    int64_t bad[TLM_POOL_MAX_THREADS]; /* first non-finite element per thread, or -1 */
} convert_job;

typedef struct convert_ctx {
    const tlm_gguf *in;
    const tlm_type *types; /* (n_tensors) target types */
    tlm_pool *pool;
    float *scratch; /* (n_threads, max_ne0) one dequantized row per thread */
    int64_t max_ne0;
    const tlm_quantize_params *params;
    uint64_t elems_done, elems_total;
    tlm_error err; /* why fill_tensor failed (see CONVERT_FAIL) */
    bool failed;
    convert_job job;
} convert_ctx;

static void convert_rows(void *arg, int ith, int nth) {
    convert_ctx *c = arg;
    convert_job *j = &c->job;
    float *row = c->scratch + (size_t)ith * (size_t)c->max_ne0;
    int64_t lo, hi;
    tlm_pool_split(j->n_rows, 1, ith, nth, &lo, &hi);
    j->bad[ith] = -1;
    for (int64_t r = j->row0 + lo; r < j->row0 + hi; r++) {
        tlm_dequantize_row(j->from, j->src + (size_t)r * j->src_row, row, j->ne0);
        for (int64_t k = 0; k < j->ne0; k++) {
            if (!isfinite(row[k])) {
                j->bad[ith] = r * j->ne0 + k;
                return;
            }
        }
        tlm_quantize_row(j->to, row, j->dst + (size_t)r * j->dst_row, j->ne0);
    }
}

static uint64_t n_elements(const tlm_gguf_tensor *t) {
    uint64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++)
        n *= t->ne[d];
    return n;
}

static bool report(convert_ctx *c, uint64_t index, const char *name, tlm_type from, tlm_type to) {
    if (!c->params->progress) return true;
    tlm_quantize_progress p = {
        index, tlm_gguf_n_tensors(c->in), name, from, to, c->elems_done, c->elems_total};
    return c->params->progress(c->params->user, &p);
}

/* Records our own message: the writer replaces err with a generic one. */
#define CONVERT_FAIL(c, code, ...) ((c)->failed = true, tlm_error_set(&(c)->err, code, __VA_ARGS__))

/* Writer callback: produce tensor `index` in its target type. */
static tlm_status fill_tensor(void *user, uint64_t index, const char *name, void *buf,
                              uint64_t nbytes) {
    convert_ctx *c = user;
    const tlm_gguf_tensor *t = tlm_gguf_tensor_at(c->in, index);
    tlm_type to = c->types[index];
    uint64_t total = n_elements(t);
    if (t->type == to) {
        memcpy(buf, t->data, (size_t)nbytes);
        c->elems_done += total;
        if (!report(c, index, name, t->type, to))
            return CONVERT_FAIL(c, TLM_ERR_CANCELLED, "cancelled at tensor %s", name);
        return TLM_OK;
    }
    convert_job *j = &c->job;
    j->src = t->data, j->dst = buf, j->from = t->type, j->to = to;
    j->ne0 = (int64_t)t->ne[0];
    j->src_row = tlm_type_row_size(t->type, t->ne[0]);
    j->dst_row = tlm_type_row_size(to, t->ne[0]);
    int64_t rows = (int64_t)(total / t->ne[0]);
    TLM_ASSERT(j->dst_row * (uint64_t)rows == nbytes);
    int64_t slab = TLM_MAX(1, SLAB_ELEMS / j->ne0);
    for (int64_t r0 = 0; r0 < rows; r0 += slab) {
        j->row0 = r0;
        j->n_rows = TLM_MIN(slab, rows - r0);
        tlm_pool_run(c->pool, convert_rows, c);
        for (int i = 0; i < tlm_pool_n_threads(c->pool); i++)
            if (j->bad[i] >= 0)
                return CONVERT_FAIL(c, TLM_ERR_RANGE, "tensor %s: element %lld is not finite", name,
                                    (long long)j->bad[i]);
        c->elems_done += (uint64_t)(j->n_rows * j->ne0);
        if (!report(c, index, name, t->type, to))
            return CONVERT_FAIL(c, TLM_ERR_CANCELLED, "cancelled at tensor %s", name);
    }
    return TLM_OK;
}

/* ---- Driver ---- */

tlm_quantize_params tlm_quantize_default_params(void) {
    tlm_quantize_params p = {.pure = false, .n_threads = 0, .progress = NULL, .user = NULL};
    return p;
}

/* Layer count and grouped-query factor from the architecture's keys; left
 * 0 when absent (the plan then counts tensors). */
static void read_hparams(const tlm_gguf *g, tlm_quant_plan_params *pp) {
    char *arch = NULL, key[192];
    uint32_t heads = 0, kv_heads = 0;
    if (tlm_gguf_get_strdup(g, "general.architecture", &arch, NULL) != TLM_OK) return;
    snprintf(key, sizeof key, "%s.block_count", arch);
    if (tlm_gguf_get_u32(g, key, &pp->n_layer, NULL) != TLM_OK) pp->n_layer = 0;
    snprintf(key, sizeof key, "%s.attention.head_count", arch);
    bool ok = tlm_gguf_get_u32(g, key, &heads, NULL) == TLM_OK;
    snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
    ok = ok && tlm_gguf_get_u32(g, key, &kv_heads, NULL) == TLM_OK;
    pp->n_gqa = ok && kv_heads ? heads / kv_heads : 0;
    tlm_free(arch);
}

static tlm_status copy_metadata(const tlm_gguf *in, tlm_gguf_writer *w, const tlm_quant_recipe *r,
                                tlm_error *err) {
    for (uint64_t i = 0; i < tlm_gguf_n_kv(in); i++) {
        const tlm_gguf_kv *kv = tlm_gguf_kv_at(in, i);
        char *key = tlm_strndup(kv->key.ptr, (size_t)kv->key.len);
        if (!key) return tlm_error_set(err, TLM_ERR_NOMEM, "quantize: out of memory");
        tlm_status st = tlm_gguf_set_value(w, key, &kv->value);
        if (st) tlm_error_set(err, st, "quantize: cannot copy key %s", key);
        tlm_free(key);
        if (st) return st;
    }
    tlm_status st = tlm_gguf_set_u32(w, "general.file_type", (uint32_t)r->ftype);
    if (!st && is_quantized(r->base)) st = tlm_gguf_set_u32(w, "general.quantization_version", 2);
    return st ? tlm_error_set(err, st, "quantize: cannot set general.file_type") : TLM_OK;
}

static void free_desc(tlm_quant_tensor *desc, uint64_t n) {
    for (uint64_t i = 0; desc && i < n; i++)
        tlm_free((void *)desc[i].name);
    tlm_free(desc);
}

/* The reader's tensors as plan input, with NUL-terminated names (free with
 * free_desc). */
static tlm_status describe(const tlm_gguf *in, tlm_quant_tensor **out, tlm_error *err) {
    uint64_t n = tlm_gguf_n_tensors(in);
    tlm_quant_tensor *desc = tlm_calloc((size_t)n, sizeof *desc);
    *out = NULL;
    if (!desc) return tlm_error_set(err, TLM_ERR_NOMEM, "quantize: out of memory");
    for (uint64_t i = 0; i < n; i++) {
        const tlm_gguf_tensor *t = tlm_gguf_tensor_at(in, i);
        desc[i].name = tlm_strndup(t->name.ptr, (size_t)t->name.len);
        if (!desc[i].name) {
            free_desc(desc, n);
            return tlm_error_set(err, TLM_ERR_NOMEM, "quantize: out of memory");
        }
        desc[i].n_dims = t->n_dims;
        memcpy(desc[i].ne, t->ne, sizeof desc[i].ne);
        desc[i].type = t->type;
    }
    *out = desc;
    return TLM_OK;
}

tlm_status tlm_quantize_plan_file(const tlm_gguf *in, const char *recipe, bool pure,
                                  tlm_type **out_types, size_t *out_n_fallback, tlm_error *err) {
    const tlm_quant_recipe *r = tlm_quant_recipe_find(recipe);
    *out_types = NULL;
    if (!r) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "unknown type or recipe '%s'", recipe);
    uint64_t n = tlm_gguf_n_tensors(in);
    tlm_quant_tensor *desc;
    tlm_status st = describe(in, &desc, err);
    if (st) return st;
    tlm_type *types = tlm_calloc((size_t)n, sizeof *types);
    if (!types) {
        free_desc(desc, n);
        return tlm_error_set(err, TLM_ERR_NOMEM, "quantize: out of memory");
    }
    tlm_quant_plan_params pp = {.pure = pure};
    read_hparams(in, &pp);
    size_t nf = tlm_quant_plan(r, &pp, desc, (size_t)n, types);
    if (out_n_fallback) *out_n_fallback = nf;
    free_desc(desc, n);
    *out_types = types;
    return TLM_OK;
}

/* Adds every tensor (data produced later by fill_tensor) and sums sizes. */
static tlm_status add_tensors(const tlm_gguf *in, tlm_gguf_writer *w, const tlm_type *types,
                              convert_ctx *c, tlm_quantize_stats *st, tlm_error *err) {
    char name[TLM_GGUF_MAX_NAME + 1];
    for (uint64_t i = 0; i < tlm_gguf_n_tensors(in); i++) {
        const tlm_gguf_tensor *t = tlm_gguf_tensor_at(in, i);
        snprintf(name, sizeof name, "%.*s", (int)TLM_MIN(t->name.len, TLM_GGUF_MAX_NAME),
                 t->name.ptr);
        tlm_status s = tlm_gguf_add_tensor(w, name, types[i], t->n_dims, t->ne, NULL, err);
        if (s) return s;
        uint64_t n = n_elements(t);
        c->elems_total += n;
        st->bytes_in += t->nbytes;
        st->bytes_out += t->ne[0] ? tlm_type_row_size(types[i], t->ne[0]) * (n / t->ne[0]) : 0;
        if (types[i] != t->type) {
            st->n_converted++;
            c->max_ne0 = TLM_MAX(c->max_ne0, (int64_t)t->ne[0]);
        }
    }
    st->n_tensors = tlm_gguf_n_tensors(in);
    return TLM_OK;
}

tlm_status tlm_quantize_model(const char *in_path, const char *out_path, const char *recipe,
                              const tlm_quantize_params *params, tlm_quantize_stats *out_stats,
                              tlm_error *err) {
    const tlm_quant_recipe *r = tlm_quant_recipe_find(recipe);
    if (!r) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "unknown type or recipe '%s'", recipe);
    tlm_quantize_params defaults = tlm_quantize_default_params();
    if (!params) params = &defaults;
    uint64_t t0 = tlm_time_ns();
    tlm_quantize_stats stats = {.ftype = r->ftype};
    convert_ctx c = {.params = params};
    tlm_gguf *in = NULL;
    tlm_gguf_writer *w = NULL;
    tlm_type *types = NULL;
    size_t n_fallback = 0;
    int n_threads =
        params->n_threads > 0 ? TLM_MIN(params->n_threads, TLM_POOL_MAX_THREADS) : tlm_pool_default_threads();
    tlm_status st = tlm_gguf_open(in_path, &in, err);
    if (st) goto done;
    if ((st = tlm_quantize_plan_file(in, recipe, params->pure, &types, &n_fallback, err)))
        goto done;
    stats.n_fallback = n_fallback;
    if ((st = tlm_gguf_writer_create(&w))) {
        tlm_error_set(err, st, "quantize: out of memory");
        goto done;
    }
    if ((st = copy_metadata(in, w, r, err))) goto done;
    if ((st = add_tensors(in, w, types, &c, &stats, err))) goto done;
    if ((st = tlm_pool_create(n_threads, &c.pool))) {
        tlm_error_set(err, st, "quantize: cannot start %d threads", n_threads);
        goto done;
    }
    c.in = in, c.types = types;
    c.scratch = tlm_malloc((size_t)n_threads * (size_t)TLM_MAX(c.max_ne0, 1) * sizeof(float));
    if (!c.scratch) {
        st = tlm_error_set(err, TLM_ERR_NOMEM, "quantize: out of memory");
        goto done;
    }
    st = tlm_gguf_writer_write(w, out_path, fill_tensor, &c, err);
    if (st && c.failed) tlm_error_set(err, c.err.code, "%s", c.err.msg);
done:
    stats.seconds = (double)(tlm_time_ns() - t0) / 1e9;
    if (out_stats) *out_stats = stats;
    tlm_free(c.scratch);
    tlm_pool_free(c.pool);
    tlm_free(types);
    tlm_gguf_writer_free(w);
    tlm_gguf_free(in);
    return st;
}
