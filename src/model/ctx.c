/*
 * ctx.c - creating contexts, checking and placing batches, reading logits,
 * and the public KV cache calls.
 *
 * tlm_ctx_create sizes every buffer from the model and the parameters; see
 * ctx.h.  tlm_ctx_decode validates the whole batch and reserves its cells
 * before it changes anything, so a refused batch leaves the context as it
 * was.
 */
#include "model/ctx.h"

#include "core/util.h"
#include "model/layer_ops.h"
#include "tensor/matmul.h"

#include <sanitizer/asan_interface.h>
#include <stdlib.h>
#include <string.h>

tlm_ctx_params tlm_ctx_default_params(void) {
    return (tlm_ctx_params){
        .n_ctx = 0, .n_batch = 512, .n_seq_max = 1, .n_threads = 0, .kv_type = TLM_KV_F16};
}

static tlm_status resolve_params(const tlm_model *m, tlm_ctx_params *p, tlm_error *err) {
    if (p->n_ctx == 0) p->n_ctx = TLM_MIN(4096, m->hp.n_ctx_train);
    if (p->n_batch == 0) p->n_batch = 512;
    if (p->n_seq_max == 0) p->n_seq_max = 1;
    if (p->n_threads == 0) p->n_threads = tlm_pool_default_threads();
    if (p->n_ctx < 1 || p->n_ctx > (1 << 24))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "ctx: n_ctx must be in [1, %d], got %d",
                             1 << 24, p->n_ctx);
    if (p->n_batch < 1)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "ctx: n_batch must be positive, got %d",
                             p->n_batch);
    if (p->n_threads < 1 || p->n_threads > TLM_POOL_MAX_THREADS)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "ctx: n_threads must be in [1, %d], got %d",
                             TLM_POOL_MAX_THREADS, p->n_threads);
    p->n_batch = TLM_MIN(p->n_batch, p->n_ctx);
    return TLM_OK;
}

static size_t max_scratch(const tlm_model *m, int64_t n) {
    size_t best = tlm_matmul_scratch_size(m->output.type, m->output.cols, n);
    for (int32_t l = 0; l < m->hp.n_layer; l++) {
        const tlm_layer *L = &m->layers[l];
        const tlm_weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (size_t i = 0; i < TLM_ARRAY_LEN(w); i++)
            best = TLM_MAX(best, tlm_matmul_scratch_size(w[i]->type, w[i]->cols, n));
    }
    return best;
}

/* The context's buffers share one mapping in 2 MiB pages (tlm_alloc_pages):
 * a prefill's products write up to n_batch rows of outputs (10 MB for
 * Qwen2.5-0.5B's FFN) one 64-byte line per token per row panel, and with
 * 4 KiB pages nearly every such store missed the TLB: 512-token Q4_0 and
 * F16 products ran 15-24% slower.  Each buffer starts on a line of its
 * own, after a line of gap that ASan builds poison, so an overrun into the
 * next buffer is still reported. */
typedef struct {
    void *at; /* the address of the context's pointer to set */
    size_t bytes;
} buf_req;

static size_t carve_size(size_t bytes) { return tlm_pad_u64(bytes, 64) + 64; }

static bool carve_buffers(tlm_ctx *c, const buf_req *req, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += carve_size(req[i].bytes);
        c->scratch_bytes += req[i].bytes;
    }
    uint8_t *p = tlm_alloc_pages(total);
    if (!p) return false;
    c->bufs = p;
    c->bufs_size = total;
    for (size_t i = 0; i < n; i++) {
        void *buf = p;
        memcpy(req[i].at, &buf, sizeof buf); /* float *, double *, ...: set through its bytes */
        ASAN_POISON_MEMORY_REGION(p + req[i].bytes, carve_size(req[i].bytes) - req[i].bytes);
        p += carve_size(req[i].bytes);
    }
    return true;
}

static tlm_status alloc_buffers(tlm_ctx *c, tlm_error *err) {
    const tlm_hparams *hp = &c->model->hp;
    size_t B = (size_t)c->params.n_batch, nq = (size_t)hp->n_head * (size_t)hp->head_dim;
    size_t nkv = (size_t)hp->n_head_kv * (size_t)hp->head_dim, nth = (size_t)c->params.n_threads;
    size_t embd = B * (size_t)hp->n_embd * sizeof(float), ff = B * (size_t)hp->n_ff * sizeof(float);
    int32_t group = TLM_MIN(hp->n_head / hp->n_head_kv, TLM_ATTN_MAX_HEADS);
    /* Rows per attention job: up to 16, within ~16 MB of scores a thread. */
    int64_t per_row = (int64_t)group * c->params.n_ctx;
    c->att_rows_max = (int32_t)TLM_MAX(1, TLM_MIN(TLM_ATTN_MAX_ROWS, (4 << 20) / per_row));
    c->att_scratch_per_thread =
        tlm_lo_attend_scratch(c->att_rows_max, group, c->params.n_ctx, hp->head_dim);
    c->mm_scratch_size = max_scratch(c->model, c->params.n_batch);
    c->one_scratch_size = tlm_pad_u64(max_scratch(c->model, 1), 64);
    const buf_req req[] = {
        {&c->x, embd},
        {&c->xn, embd},
        {&c->tmp, embd},
        {&c->q, B * nq * sizeof(float)},
        {&c->att, B * nq * sizeof(float)},
        {&c->k, B * nkv * sizeof(float)},
        {&c->v, B * nkv * sizeof(float)},
        {&c->ffn_a, ff},
        {&c->ffn_b, ff},
        {&c->rope, B * (size_t)hp->n_rot * sizeof(double)},
        {&c->att_blk, (B + 1) * sizeof *c->att_blk},
        {&c->att_scratch, c->att_scratch_per_thread * nth * sizeof(float)},
        {&c->mm_scratch, c->mm_scratch_size},
        {&c->one_scratch, c->one_scratch_size * nth + 1},
        {&c->one_x, nth * 2 * (size_t)hp->n_embd * sizeof(float)},
        {&c->tok, B * sizeof *c->tok},
        {&c->cells, B * sizeof *c->cells},
        {&c->out_ids, B * sizeof *c->out_ids},
        {&c->row_of, B * sizeof *c->row_of},
    };
    bool ok = carve_buffers(c, req, TLM_ARRAY_LEN(req));
    c->logits_cap = TLM_MIN(c->params.n_seq_max, c->params.n_batch);
    c->logits = tlm_calloc((size_t)c->logits_cap * (size_t)hp->n_vocab, sizeof(float));
    if (!ok || !c->logits)
        return tlm_error_set(err, TLM_ERR_NOMEM, "ctx: out of memory for %llu bytes of buffers",
                             (unsigned long long)c->scratch_bytes);
    return TLM_OK;
}

tlm_status tlm_ctx_create(tlm_model *model, const tlm_ctx_params *params, tlm_ctx **out,
                          tlm_error *err) {
    if (out) *out = NULL;
    if (!model || !out) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "ctx: no model given");
    tlm_ctx *c = tlm_calloc(1, sizeof *c);
    if (!c) return tlm_error_set(err, TLM_ERR_NOMEM, "ctx: out of memory");
    c->model = model;
    c->params = params ? *params : tlm_ctx_default_params();
    const tlm_hparams *hp = &model->hp;
    tlm_status st;
    if ((st = resolve_params(model, &c->params, err)) ||
        (st = tlm_kv_init(&c->kv, c->params.n_ctx, hp->n_layer, c->params.n_seq_max,
                          hp->n_head_kv * hp->head_dim, c->params.kv_type, err)) ||
        (st = alloc_buffers(c, err)))
        goto fail;
    if ((st = tlm_pool_create(c->params.n_threads, &c->pool))) {
        tlm_error_set(err, st, "ctx: cannot start %d threads", c->params.n_threads);
        goto fail;
    }
    *out = c;
    return TLM_OK;
fail:
    tlm_ctx_free(c);
    return st;
}

void tlm_ctx_free(tlm_ctx *c) {
    if (!c) return;
    tlm_pool_free(c->pool);
    tlm_kv_deinit(&c->kv);
    if (c->bufs) {
        ASAN_UNPOISON_MEMORY_REGION(c->bufs, c->bufs_size); /* the mapping may be reused */
        tlm_free_pages(c->bufs, c->bufs_size);
    }
    free(c->logits);
    free(c);
}

int32_t tlm_ctx_n_ctx(const tlm_ctx *c) { return c->params.n_ctx; }
const tlm_model *tlm_ctx_model(const tlm_ctx *c) { return c->model; }

/* ---- Decoding ---- */

static tlm_status check_batch(const tlm_ctx *c, const tlm_batch *b, tlm_error *err) {
    if (!b || !b->token || !b->pos)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "decode: batch without tokens or positions");
    if (b->n_tokens < 1 || b->n_tokens > c->params.n_batch)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                             "decode: a batch holds 1 to n_batch = %d tokens, got %d",
                             c->params.n_batch, b->n_tokens);
    for (int32_t i = 0; i < b->n_tokens; i++) {
        int32_t seq = b->seq_id ? b->seq_id[i] : 0;
        if (b->token[i] < 0 || b->token[i] >= c->model->hp.n_vocab)
            return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                                 "decode: token %d at batch index %d is outside the vocabulary "
                                 "of %d",
                                 b->token[i], i, c->model->hp.n_vocab);
        if (seq < 0 || seq >= c->params.n_seq_max)
            return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                                 "decode: sequence %d at batch index %d is not in [0, n_seq_max "
                                 "= %d)",
                                 seq, i, c->params.n_seq_max);
        if (b->pos[i] < 0)
            return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                                 "decode: negative position %d at batch index %d", b->pos[i], i);
    }
    return TLM_OK;
}

/* Decides which rows get logits and makes room for them. */
static tlm_status plan_outputs(tlm_ctx *c, const tlm_batch *b, tlm_error *err) {
    int32_t n_out = 0;
    for (int32_t i = 0; i < b->n_tokens; i++) {
        bool want = b->logits ? b->logits[i] != 0 : i == b->n_tokens - 1;
        c->row_of[i] = want ? n_out : -1;
        if (want) c->out_ids[n_out++] = i;
    }
    if (n_out > c->logits_cap) {
        size_t n = (size_t)n_out * (size_t)c->model->hp.n_vocab;
        float *grown = tlm_realloc(c->logits, n * sizeof(float));
        if (!grown)
            return tlm_error_set(err, TLM_ERR_NOMEM, "decode: out of memory for %d rows of logits",
                                 n_out);
        c->logits = grown;
        c->logits_cap = n_out;
    }
    c->n_outputs = n_out;
    return TLM_OK;
}

tlm_status tlm_ctx_decode(tlm_ctx *c, const tlm_batch *b, tlm_error *err) {
    if (!c) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "decode: no context");
    tlm_status st = check_batch(c, b, err);
    if (st) return st;
    int32_t n = b->n_tokens;
    if (!tlm_kv_find_slots(&c->kv, n, c->cells))
        return tlm_error_set(err, TLM_ERR_RANGE,
                             "decode: the KV cache is full (%d of %d cells used, %d needed); "
                             "remove a sequence or create the context with a larger n_ctx",
                             c->kv.used, c->kv.n_cells, n);
    c->n_tokens = 0;
    c->n_outputs = 0;
    if ((st = plan_outputs(c, b, err))) return st;
    for (int32_t i = 0; i < n; i++) {
        int32_t seq = b->seq_id ? b->seq_id[i] : 0;
        c->tok[i] = (tlm_tok_info){.pos = b->pos[i], .seq = seq, .cell = c->cells[i]};
        tlm_kv_occupy(&c->kv, c->cells[i], seq, b->pos[i]);
    }
    for (int32_t i = 0; i < n; i++) {
        int32_t nv = 0;
        c->tok[i].view = tlm_kv_view(&c->kv, c->tok[i].seq, &nv);
        c->tok[i].n_visible = tlm_kv_view_prefix(&c->kv, c->tok[i].view, nv, c->tok[i].pos);
    }
    c->n_tokens = n;
    tlm_forward(c, b);
    return TLM_OK;
}

const float *tlm_ctx_logits(const tlm_ctx *c, int32_t i) {
    if (!c) return NULL;
    if (i < 0) i += c->n_tokens;
    if (i < 0 || i >= c->n_tokens || c->row_of[i] < 0) return NULL;
    return c->logits + (size_t)c->row_of[i] * (size_t)c->model->hp.n_vocab;
}

/* ---- KV cache ---- */

void tlm_kv_seq_rm(tlm_ctx *c, int32_t seq, int32_t p0, int32_t p1) {
    if (c) tlm_kv_cache_seq_rm(&c->kv, seq, p0, p1);
}

void tlm_kv_seq_cp(tlm_ctx *c, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    if (c) tlm_kv_cache_seq_cp(&c->kv, src, dst, p0, p1);
}

int32_t tlm_kv_seq_pos_max(const tlm_ctx *c, int32_t seq) {
    return c ? tlm_kv_cache_seq_pos_max(&c->kv, seq) : -1;
}

int32_t tlm_kv_used_cells(const tlm_ctx *c) { return c ? c->kv.used : 0; }
