/*
 * perplexity.c - chunked perplexity, logits files and KL divergence
 * against saved logits (method in perplexity.h, file format in
 * docs/FORMATS.md).
 *
 * Each chunk is decoded in n_batch pieces with logits requested only for
 * the scored positions, and every row is consumed right after its decode
 * (rows are valid until the next one), so memory stays at one batch of
 * logits plus one base row however long the text is.
 */
#include "eval/perplexity.h"

#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tlm_ppl_params tlm_ppl_default_params(void) {
    tlm_ppl_params p = {.n_ctx = 512};
    return p;
}

/* ---- Logits files ---- */

typedef struct logits_header {
    uint32_t n_vocab, n_ctx, first;
    uint64_t n_tokens, n_rows;
} logits_header;

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p) {
    return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static tlm_status write_header(FILE *f, const logits_header *h, const tlm_token *toks,
                               tlm_error *err) {
    unsigned char b[40];
    memcpy(b, TLM_LOGITS_MAGIC, 8);
    put_u32(b + 8, TLM_LOGITS_VERSION);
    put_u32(b + 12, h->n_vocab);
    put_u32(b + 16, h->n_ctx);
    put_u32(b + 20, h->first);
    put_u64(b + 24, h->n_tokens);
    put_u64(b + 32, h->n_rows);
    /* Token ids and rows are written in host order: the format says
     * little-endian, which every machine tinylm runs on is. */
    if (fwrite(b, 1, sizeof b, f) != sizeof b ||
        fwrite(toks, sizeof *toks, h->n_tokens, f) != h->n_tokens)
        return tlm_error_set(err, TLM_ERR_IO, "perplexity: cannot write the logits file: %s",
                             strerror(errno));
    return TLM_OK;
}

/* Reads and checks a base file's header and tokens against ours. */
static tlm_status read_header(FILE *f, const logits_header *want, const tlm_token *toks,
                              tlm_error *err) {
    unsigned char b[40];
    if (fread(b, 1, sizeof b, f) != sizeof b || memcmp(b, TLM_LOGITS_MAGIC, 8))
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "perplexity: the base file is not a tinylm logits file (made by "
                             "tinylm perplexity --save-logits)");
    logits_header h = {get_u32(b + 12), get_u32(b + 16), get_u32(b + 20), get_u64(b + 24),
                       get_u64(b + 32)};
    if (get_u32(b + 8) != TLM_LOGITS_VERSION)
        return tlm_error_set(err, TLM_ERR_FORMAT, "perplexity: logits file version %u, expected %u",
                             get_u32(b + 8), TLM_LOGITS_VERSION);
    if (h.n_vocab != want->n_vocab || h.n_ctx != want->n_ctx || h.first != want->first)
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "perplexity: the base logits have vocabulary %u and chunks of %u; "
                             "this run has %u and %u (use the same -c and a model with the "
                             "same vocabulary)",
                             h.n_vocab, h.n_ctx, want->n_vocab, want->n_ctx);
    if (h.n_tokens < want->n_tokens || h.n_rows < want->n_rows)
        return tlm_error_set(err, TLM_ERR_FORMAT,
                             "perplexity: the base logits cover %llu tokens, this run needs %llu",
                             (unsigned long long)h.n_tokens, (unsigned long long)want->n_tokens);
    for (uint64_t i = 0; i < h.n_tokens; i++) {
        int32_t t;
        if (fread(&t, sizeof t, 1, f) != 1)
            return tlm_error_set(err, TLM_ERR_FORMAT, "perplexity: the base file is truncated");
        if (i < want->n_tokens && t != toks[i])
            return tlm_error_set(err, TLM_ERR_FORMAT,
                                 "perplexity: the base logits come from other tokens (token %llu "
                                 "is %d here, %d there): use the same text and tokenizer",
                                 (unsigned long long)i, toks[i], t);
    }
    return TLM_OK;
}

/* ---- Per-row statistics ---- */

/* Terms more than this many nats below the best are skipped: they weigh
 * < 1e-26 each, and exp() of very negative numbers takes libm's slow
 * subnormal path (it made KL runs 30x slower on peaked distributions). */
#define NEGLIGIBLE_NATS 60.0

static double log_sum_exp(const float *x, int32_t n) {
    float m = -INFINITY;
    for (int32_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    double s = 0;
    for (int32_t i = 0; i < n; i++)
        if ((double)x[i] - m > -NEGLIGIBLE_NATS) s += exp((double)x[i] - m);
    return m + log(s);
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

typedef struct accum {
    double nll_sum, nll_sq;
    int64_t n;
    /* KL against the base */
    double base_nll_sum, dp_sq, top1;
    double *kl;                /* (n_rows) per-row KL, for the percentile */
} accum;

/* One scored row: logits l predicting target, and the base row b (NULL
 * when not comparing). */
static void score_row(accum *a, const float *l, const float *b, int32_t n_vocab,
                      tlm_token target) {
    double lse = log_sum_exp(l, n_vocab), nll = lse - l[target];
    a->nll_sum += nll;
    a->nll_sq += nll * nll;
    if (b) {
        double lse_b = log_sum_exp(b, n_vocab), kl = 0;
        for (int32_t i = 0; i < n_vocab; i++) {
            double lp = (double)b[i] - lse_b;
            if (lp > -NEGLIGIBLE_NATS) kl += exp(lp) * (lp - ((double)l[i] - lse));
        }
        a->kl[a->n] = kl > 0 ? kl : 0; /* rounding can dip a hair below 0 */
        a->base_nll_sum += lse_b - b[target];
        double dp = exp(-nll) - exp((double)b[target] - lse_b);
        a->dp_sq += dp * dp;
        a->top1 += argmax(l, n_vocab) == argmax(b, n_vocab);
    }
    a->n++;
}

/* ---- The evaluation ---- */

typedef struct ppl_run {
    tlm_ctx *ctx;
    int32_t n_vocab, n_ctx, first, n_batch;
    int32_t *pos, *seq;        /* (n_batch) */
    int8_t *want;              /* (n_batch) */
    float *base_row;           /* (n_vocab) when comparing */
    FILE *save, *base;
    accum acc;
    tlm_error *err;
} ppl_run;

/* Consumes the scored rows of the batch that was just decoded. */
static tlm_status take_rows(ppl_run *r, const tlm_token *chunk, int32_t start, int32_t k) {
    for (int32_t j = 0; j < k; j++) {
        if (!r->want[j]) continue;
        const float *l = tlm_ctx_logits(r->ctx, j);
        if (!l) return tlm_error_set(r->err, TLM_ERR_INTERNAL, "perplexity: missing logits");
        if (r->save && fwrite(l, sizeof *l, (size_t)r->n_vocab, r->save) != (size_t)r->n_vocab)
            return tlm_error_set(r->err, TLM_ERR_IO, "perplexity: cannot write logits: %s",
                                 strerror(errno));
        if (r->base &&
            fread(r->base_row, sizeof *r->base_row, (size_t)r->n_vocab, r->base) !=
                (size_t)r->n_vocab)
            return tlm_error_set(r->err, TLM_ERR_FORMAT, "perplexity: the base file is truncated");
        score_row(&r->acc, l, r->base ? r->base_row : NULL, r->n_vocab, chunk[start + j + 1]);
    }
    return TLM_OK;
}

static tlm_status eval_chunk(ppl_run *r, const tlm_token *chunk) {
    tlm_kv_seq_rm(r->ctx, 0, 0, -1);
    for (int32_t start = 0; start < r->n_ctx; start += r->n_batch) {
        int32_t k = TLM_MIN(r->n_batch, r->n_ctx - start);
        for (int32_t j = 0; j < k; j++) {
            r->pos[j] = start + j;
            r->seq[j] = 0;
            r->want[j] = start + j >= r->first && start + j < r->n_ctx - 1;
        }
        tlm_batch b = {.n_tokens = k, .token = chunk + start, .pos = r->pos, .seq_id = r->seq,
                       .logits = r->want};
        tlm_status s = tlm_ctx_decode(r->ctx, &b, r->err);
        if (!s) s = take_rows(r, chunk, start, k);
        if (s) return s;
    }
    return TLM_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Linear interpolation between order statistics (numpy's default). */
static double percentile(double *v, int64_t n, double q) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double at = q * (double)(n - 1);
    int64_t lo = (int64_t)at;
    return lo + 1 < n ? v[lo] + (at - (double)lo) * (v[lo + 1] - v[lo]) : v[n - 1];
}

static void finish(const accum *a, tlm_ppl_result *out) {
    double n = (double)a->n, mean = a->nll_sum / n;
    double var = a->n > 1 ? (a->nll_sq / n - mean * mean) * n / (n - 1) : 0;
    out->n_scored = a->n;
    out->nll = mean;
    out->ppl = exp(mean);
    out->ppl_err = out->ppl * sqrt(var > 0 ? var / n : 0);
    if (!a->kl) return;
    out->has_kl = 1;
    out->base_ppl = exp(a->base_nll_sum / n);
    double sum = 0, mx = 0;
    for (int64_t i = 0; i < a->n; i++) {
        sum += a->kl[i];
        mx = a->kl[i] > mx ? a->kl[i] : mx;
    }
    out->kl_mean = sum / n;
    out->kl_max = mx;
    out->kl_p99 = percentile(a->kl, a->n, 0.99);
    out->top1 = a->top1 / n;
    out->rms_dp = sqrt(a->dp_sq / n);
}

/* Tokenizes the text and lays out the chunks to evaluate (BOS first in
 * each when the model uses one).  *out: free with tlm_free. */
static tlm_status chunk_tokens(tlm_model *m, const char *text, size_t len, int32_t n_ctx,
                               int32_t max_chunks, tlm_token **out, int32_t *n_chunks,
                               int32_t *n_tokens, tlm_error *err) {
    int32_t n = 0;
    tlm_status s = tlm_model_tokenize(m, text, len, 1, 0, NULL, 0, &n, err);
    if (s && s != TLM_ERR_RANGE) return s;
    tlm_token *t = tlm_malloc((size_t)TLM_MAX(n, 1) * sizeof *t);
    if (!t) return tlm_error_set(err, TLM_ERR_NOMEM, "perplexity: out of memory");
    if ((s = tlm_model_tokenize(m, text, len, 1, 0, t, n, &n, err))) {
        tlm_free(t);
        return s;
    }
    int32_t c = n / n_ctx;
    if (max_chunks > 0) c = TLM_MIN(c, max_chunks);
    if (c < 1) {
        tlm_free(t);
        return tlm_error_set(err, TLM_ERR_RANGE,
                             "perplexity: the text has %d tokens, fewer than one chunk of %d; "
                             "use a longer text or a smaller -c",
                             n, n_ctx);
    }
    tlm_token bos = tlm_model_bos(m);
    if (tlm_model_add_bos(m) && bos >= 0)
        for (int32_t i = 0; i < c; i++) t[(size_t)i * (size_t)n_ctx] = bos;
    *out = t;
    *n_chunks = c;
    *n_tokens = n;
    return TLM_OK;
}

static FILE *open_file(const char *path, const char *mode, tlm_error *err) {
    FILE *f = fopen(path, mode);
    if (!f) tlm_error_set(err, TLM_ERR_IO, "perplexity: cannot open %s: %s", path, strerror(errno));
    return f;
}

tlm_status tlm_perplexity(tlm_model *model, const char *text, size_t len,
                          const tlm_ppl_params *params, tlm_ppl_result *out, tlm_error *err) {
    memset(out, 0, sizeof *out);
    tlm_ppl_params p = params ? *params : tlm_ppl_default_params();
    if (!model || !text || p.n_ctx < 8)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "perplexity: chunks need at least 8 tokens");
    uint64_t t0 = tlm_time_ns();
    ppl_run r = {.n_vocab = tlm_model_n_vocab(model), .n_ctx = p.n_ctx, .first = p.n_ctx / 2,
                 .err = err};
    r.n_batch = p.n_batch > 0 ? TLM_MIN(p.n_batch, p.n_ctx) : TLM_MIN(512, p.n_ctx);
    tlm_token *toks = NULL;
    int32_t n_chunks = 0;
    tlm_status s = chunk_tokens(model, text, len, p.n_ctx, p.max_chunks, &toks, &n_chunks,
                                &out->n_tokens, err);
    if (s) return s;
    logits_header h = {(uint32_t)r.n_vocab, (uint32_t)r.n_ctx, (uint32_t)r.first,
                       (uint64_t)n_chunks * (uint64_t)r.n_ctx,
                       (uint64_t)n_chunks * (uint64_t)(r.n_ctx - 1 - r.first)};
    tlm_ctx_params cp = tlm_ctx_default_params();
    cp.n_ctx = r.n_ctx;
    cp.n_batch = r.n_batch;
    cp.n_threads = p.n_threads;
    r.pos = tlm_malloc((size_t)r.n_batch * sizeof *r.pos);
    r.seq = tlm_malloc((size_t)r.n_batch * sizeof *r.seq);
    r.want = tlm_malloc((size_t)r.n_batch * sizeof *r.want);
    if (!r.pos || !r.seq || !r.want) {
        s = tlm_error_set(err, TLM_ERR_NOMEM, "perplexity: out of memory");
        goto done;
    }
    if (p.kl_base) {
        r.base_row = tlm_malloc((size_t)r.n_vocab * sizeof *r.base_row);
        r.acc.kl = tlm_malloc((size_t)h.n_rows * sizeof *r.acc.kl);
        if (!r.base_row || !r.acc.kl) {
            s = tlm_error_set(err, TLM_ERR_NOMEM, "perplexity: out of memory");
            goto done;
        }
        if (!(r.base = open_file(p.kl_base, "rb", err)) ||
            (s = read_header(r.base, &h, toks, err))) {
            s = s ? s : TLM_ERR_IO;
            goto done;
        }
    }
    if (p.save_logits &&
        (!(r.save = open_file(p.save_logits, "wb", err)) || (s = write_header(r.save, &h, toks, err)))) {
        s = s ? s : TLM_ERR_IO;
        goto done;
    }
    if ((s = tlm_ctx_create(model, &cp, &r.ctx, err))) goto done;
    for (int32_t c = 0; c < n_chunks; c++) {
        if ((s = eval_chunk(&r, toks + (size_t)c * (size_t)r.n_ctx))) goto done;
        out->n_chunks = c + 1;
        if (p.progress) p.progress(p.user, c + 1, n_chunks, exp(r.acc.nll_sum / (double)r.acc.n));
    }
    finish(&r.acc, out);
done:
    if (r.save && fclose(r.save) != 0 && !s)
        s = tlm_error_set(err, TLM_ERR_IO, "perplexity: cannot write %s", p.save_logits);
    if (r.base) fclose(r.base);
    tlm_ctx_free(r.ctx);
    tlm_free(toks);
    tlm_free(r.pos);
    tlm_free(r.seq);
    tlm_free(r.want);
    tlm_free(r.base_row);
    tlm_free(r.acc.kl);
    out->seconds = (double)(tlm_time_ns() - t0) / 1e9;
    return s;
}
