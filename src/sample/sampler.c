/*
 * sampler.c - the sampler chain: logit bias, penalties, constraint,
 * temperature, top-k, top-p, min-p, typical-p and the draw (order and
 * rationale in sampler.h).
 *
 * Invariant: every buffer is sized for the vocabulary at creation, so a
 * step allocates nothing.  Candidate selection never sorts the vocabulary:
 * a cut-off drops hopeless tokens before exp(), top-k and top-p use
 * quickselect with a deterministic pivot, and the comparison is a total
 * order (logit, then lower id), so the kept set and its order are a pure
 * function of the logits, the history and the seed.
 */
#include "sample/sampler.h"

#include "core/rng.h"
#include "core/util.h"
#include "tensor/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Tokens this far below the best (in nats, after temperature) are dropped
 * before exp(): each weighs < 4e-11 of the best, so even 150k of them move
 * the normaliser by < 1e-5. */
#define CUT_NATS 24.0f

/* Buckets of the selection prefilter: 1024 over 24 nats, so a bucket spans
 * 0.023 nats and rarely holds more than a handful of real candidates. */
#define N_BUCKETS 1024

typedef struct cand {
    tlm_token id;
    float s; /* processed logit after temperature */
    float p; /* exp(s - s_max): unnormalised probability */
} cand;

struct tlm_sampler {
    tlm_sampler_params p;
    tlm_logit_bias *bias;             /* own copy of p.logit_bias */
    int32_t n_vocab;
    tlm_rng rng;
    const tlm_constraint *constraint; /* borrowed; NULL = none */

    float *work;      /* (n_vocab) processed logits of the current step */
    cand *cand;       /* (n_vocab) candidates; [0, n_cand) is the kept set */
    int32_t n_cand;
    double z;         /* sum of p over the kept set */
    int dist_ready;   /* cand describes the last step (greedy builds lazily) */
    int have_step;    /* work holds a processed step */
    cand *cand_tmp;   /* (n_vocab) scratch of the bucket prefilter */
    int32_t *hist;    /* (N_BUCKETS) */
    double *bucket_mass; /* (N_BUCKETS) */
    tlm_token *out_id;/* (n_vocab) tlm_sample_dist views */
    float *out_p;     /* (n_vocab) */

    /* Penalty history: counts of each token in the window.  A window
     * (penalty_last_n > 0) is a ring; the unbounded history (< 0) keeps
     * the list of distinct tokens instead. */
    int penalties;    /* any penalty active */
    int32_t *count;   /* (n_vocab) */
    tlm_token *ring;  /* (penalty_last_n) or, unbounded, (n_vocab) distinct tokens */
    int32_t ring_n, ring_pos;
};

tlm_sampler_params tlm_sampler_default_params(void) {
    tlm_sampler_params p = {
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .typical_p = 1.0f,
        .repeat_penalty = 1.0f,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .penalty_last_n = 64,
        .seed = 0,
        .logit_bias = NULL,
        .n_logit_bias = 0,
    };
    return p;
}

/* ---- Creation ---- */

static tlm_status check_params(const tlm_sampler_params *p, int32_t n_vocab, tlm_error *err) {
    if (isnan(p->temperature))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: temperature is NaN");
    if (p->top_k < 0)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: top_k %d < 0 (0 turns it off)",
                             (int)p->top_k);
    if (!(p->top_p >= 0.0f && p->top_p <= 1.0f))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: top_p %g not in [0, 1]",
                             (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: min_p %g not in [0, 1]",
                             (double)p->min_p);
    if (!(p->typical_p > 0.0f && p->typical_p <= 1.0f))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: typical_p %g not in (0, 1]",
                             (double)p->typical_p);
    if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                             "sampler: repeat_penalty %g must be > 0 (1 turns it off)",
                             (double)p->repeat_penalty);
    if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: penalties must be finite");
    if (p->n_logit_bias < 0 || (p->n_logit_bias > 0 && !p->logit_bias))
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: bad logit_bias array");
    for (int32_t i = 0; i < p->n_logit_bias; i++) {
        const tlm_logit_bias *b = &p->logit_bias[i];
        if (b->token < 0 || b->token >= n_vocab)
            return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                                 "sampler: logit_bias token %d outside the vocabulary (0..%d)",
                                 (int)b->token, (int)n_vocab - 1);
        if (isnan(b->bias))
            return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: logit_bias of token %d is NaN",
                                 (int)b->token);
    }
    return TLM_OK;
}

tlm_status tlm_sampler_create_n(int32_t n_vocab, const tlm_sampler_params *params,
                                tlm_sampler **out, tlm_error *err) {
    if (!out) return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: out is NULL");
    *out = NULL;
    if (n_vocab <= 0)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: vocabulary size %d",
                             (int)n_vocab);
    tlm_sampler_params p = params ? *params : tlm_sampler_default_params();
    tlm_status st = check_params(&p, n_vocab, err);
    if (st != TLM_OK) return st;

    tlm_sampler *s = tlm_calloc(1, sizeof *s);
    if (!s) goto nomem;
    s->p = p;
    s->n_vocab = n_vocab;
    s->penalties = p.penalty_last_n != 0 &&
                   (p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f ||
                    p.frequency_penalty != 0.0f);
    size_t nv = (size_t)n_vocab;
    s->work = tlm_malloc(nv * sizeof *s->work);
    s->cand = tlm_malloc(nv * sizeof *s->cand);
    s->out_id = tlm_malloc(nv * sizeof *s->out_id);
    s->out_p = tlm_malloc(nv * sizeof *s->out_p);
    s->cand_tmp = tlm_malloc(nv * sizeof *s->cand_tmp);
    s->hist = tlm_malloc(N_BUCKETS * sizeof *s->hist);
    s->bucket_mass = tlm_malloc(N_BUCKETS * sizeof *s->bucket_mass);
    if (!s->work || !s->cand || !s->out_id || !s->out_p || !s->cand_tmp || !s->hist ||
        !s->bucket_mass)
        goto nomem;
    if (p.n_logit_bias > 0) {
        s->bias = tlm_malloc((size_t)p.n_logit_bias * sizeof *s->bias);
        if (!s->bias) goto nomem;
        memcpy(s->bias, p.logit_bias, (size_t)p.n_logit_bias * sizeof *s->bias);
    }
    s->p.logit_bias = s->bias;
    if (s->penalties) {
        size_t ring = p.penalty_last_n > 0 ? (size_t)p.penalty_last_n : nv;
        s->count = tlm_calloc(nv, sizeof *s->count);
        s->ring = tlm_malloc(ring * sizeof *s->ring);
        if (!s->count || !s->ring) goto nomem;
    }
    tlm_rng_seed(&s->rng, p.seed);
    *out = s;
    return TLM_OK;
nomem:
    tlm_sampler_free(s);
    return tlm_error_set(err, TLM_ERR_NOMEM, "sampler: out of memory for %d tokens",
                         (int)n_vocab);
}

tlm_status tlm_sampler_create(const tlm_model *model, const tlm_sampler_params *params,
                              tlm_sampler **out, tlm_error *err) {
    if (!model) {
        if (out) *out = NULL;
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "sampler: model is NULL");
    }
    return tlm_sampler_create_n(tlm_model_n_vocab(model), params, out, err);
}

void tlm_sampler_free(tlm_sampler *s) {
    if (!s) return;
    tlm_free(s->bias);
    tlm_free(s->work);
    tlm_free(s->cand);
    tlm_free(s->out_id);
    tlm_free(s->out_p);
    tlm_free(s->cand_tmp);
    tlm_free(s->hist);
    tlm_free(s->bucket_mass);
    tlm_free(s->count);
    tlm_free(s->ring);
    tlm_free(s);
}

void tlm_sampler_set_constraint(tlm_sampler *s, const tlm_constraint *c) { s->constraint = c; }

int32_t tlm_sampler_n_vocab(const tlm_sampler *s) { return s->n_vocab; }

const tlm_sampler_params *tlm_sampler_params_get(const tlm_sampler *s) { return &s->p; }

void tlm_sampler_reset(tlm_sampler *s) {
    if (s->count) memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
    s->ring_n = s->ring_pos = 0;
    s->n_cand = 0;
    s->dist_ready = 0;
    s->have_step = 0;
    tlm_rng_seed(&s->rng, s->p.seed);
}

/* ---- Penalty history ---- */

void tlm_sampler_accept(tlm_sampler *s, tlm_token t) {
    if (!s->penalties || t < 0 || t >= s->n_vocab) return;
    if (s->p.penalty_last_n < 0) { /* unbounded: remember distinct tokens */
        if (s->count[t]++ == 0) s->ring[s->ring_n++] = t;
        return;
    }
    int32_t w = s->p.penalty_last_n;
    if (s->ring_n < w) {
        s->ring[s->ring_n++] = t;
    } else {
        s->count[s->ring[s->ring_pos]]--;
        s->ring[s->ring_pos] = t;
        s->ring_pos = (s->ring_pos + 1) % w;
    }
    s->count[t]++;
}

static void penalize(tlm_sampler *s, tlm_token t, int32_t n) {
    float l = s->work[t];
    if (s->p.repeat_penalty != 1.0f)
        l = l > 0.0f ? l / s->p.repeat_penalty : l * s->p.repeat_penalty;
    l -= (float)n * s->p.frequency_penalty + s->p.presence_penalty;
    s->work[t] = l;
}

/* Each distinct token of the window is penalised once, by its count.  In a
 * ring the same token may sit in many slots: its count is negated while it
 * is being visited so later slots skip it, then restored. */
static void apply_penalties(tlm_sampler *s) {
    if (s->p.penalty_last_n < 0) {
        for (int32_t i = 0; i < s->ring_n; i++) penalize(s, s->ring[i], s->count[s->ring[i]]);
        return;
    }
    for (int32_t i = 0; i < s->ring_n; i++) {
        tlm_token t = s->ring[i];
        if (s->count[t] > 0) {
            penalize(s, t, s->count[t]);
            s->count[t] = -s->count[t];
        }
    }
    for (int32_t i = 0; i < s->ring_n; i++)
        if (s->count[s->ring[i]] < 0) s->count[s->ring[i]] = -s->count[s->ring[i]];
}

/* Steps 1-3 into s->work. */
static void process_logits(tlm_sampler *s, const float *logits) {
    memcpy(s->work, logits, (size_t)s->n_vocab * sizeof *s->work);
    s->have_step = 1;
    for (int32_t i = 0; i < s->p.n_logit_bias; i++) s->work[s->bias[i].token] += s->bias[i].bias;
    if (s->penalties) apply_penalties(s);
    if (s->constraint && s->constraint->apply)
        s->constraint->apply(s->constraint->user, s->work, s->n_vocab);
}

/* ---- Candidate selection ---- */

/* The total order of candidates: higher logit first, then lower id. */
static inline int better(const cand *a, const cand *b) {
    return a->s > b->s || (a->s == b->s && a->id < b->id);
}

static inline void swap_cand(cand *a, cand *b) {
    cand t = *a;
    *a = *b;
    *b = t;
}

/* Partitions c[lo, hi) around a median-of-three pivot: returns j with
 * c[lo, j) better than c[j] and c[j+1, hi) worse. */
static int32_t partition(cand *c, int32_t lo, int32_t hi) {
    int32_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (better(&c[mid], &c[lo])) swap_cand(&c[mid], &c[lo]);
    if (better(&c[last], &c[lo])) swap_cand(&c[last], &c[lo]);
    if (better(&c[last], &c[mid])) swap_cand(&c[last], &c[mid]);
    swap_cand(&c[mid], &c[last]); /* the median is the pivot, parked at the end */
    int32_t j = lo;
    for (int32_t i = lo; i < last; i++)
        if (better(&c[i], &c[last])) swap_cand(&c[i], &c[j++]);
    swap_cand(&c[j], &c[last]);
    return j;
}

static void insertion_sort(cand *c, int32_t n) {
    for (int32_t i = 1; i < n; i++)
        for (int32_t j = i; j > 0 && better(&c[j], &c[j - 1]); j--) swap_cand(&c[j], &c[j - 1]);
}

static int cmp_cand(const void *a, const void *b) {
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Moves the k best of c[0, n) to c[0, k) (in no particular order). */
static void select_top(cand *c, int32_t n, int32_t k) {
    int32_t lo = 0, hi = n;
    while (hi - lo > 16) {
        int32_t j = partition(c, lo, hi);
        if (j == k || j + 1 == k) return;
        if (j > k) hi = j;
        else lo = j + 1;
    }
    insertion_sort(c + lo, hi - lo);
}

/* The smallest m such that the m best of c[0, n) weigh >= target, moved to
 * the front; at least 1.  Quickselect on mass: expected linear time. */
static int32_t select_mass(cand *c, int32_t n, double target) {
    int32_t lo = 0, hi = n;
    double acc = 0.0;
    while (hi - lo > 16) {
        int32_t j = partition(c, lo, hi);
        double left = 0.0;
        for (int32_t i = lo; i < j; i++) left += c[i].p;
        if (j > lo && acc + left >= target) {
            hi = j;
            continue;
        }
        acc += left + c[j].p;
        if (acc >= target) return j + 1;
        lo = j + 1;
    }
    insertion_sort(c + lo, hi - lo);
    for (int32_t i = lo; i < hi; i++) {
        acc += c[i].p;
        if (acc >= target) return TLM_MAX(i + 1, 1);
    }
    return TLM_MAX(hi, 1);
}

static double mass(const cand *c, int32_t n) {
    double z = 0.0;
    for (int32_t i = 0; i < n; i++) z += c[i].p;
    return z;
}

/* ---- Bucket prefilter for top_p ----
 * Quickselect over 150k candidates spends its time swapping.  Instead one
 * pass histograms the candidates' mass into buckets spanning the CUT_NATS
 * window (bucket order agrees with the candidate order), finds the bucket
 * where the mass crosses the target, keeps everything above it and runs
 * the exact selection only inside that bucket. */

static inline int32_t bucket_of(float s, float smax) {
    int32_t b = (int32_t)((smax - s) * ((float)N_BUCKETS / CUT_NATS));
    return b < 0 ? 0 : b >= N_BUCKETS ? N_BUCKETS - 1 : b;
}

/* Moves the candidates of buckets < edge to the front of c, followed by
 * those of bucket edge; returns how many came before the edge bucket and
 * sets *n_edge. */
static int32_t split_at_bucket(tlm_sampler *s, int32_t n, float smax, int32_t edge,
                               int32_t *n_edge) {
    cand *c = s->cand, *tmp = s->cand_tmp;
    int32_t m = 0, e = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t b = bucket_of(c[i].s, smax);
        if (b < edge) c[m++] = c[i];
        else if (b == edge) tmp[e++] = c[i];
    }
    memcpy(c + m, tmp, (size_t)e * sizeof *c);
    *n_edge = e;
    return m;
}

/* top_p over candidates whose probabilities are not computed yet: one pass
 * takes exp(), the normaliser and the bucket masses together, a second
 * moves the kept buckets to the front; the exact selection runs inside the
 * edge bucket only.  Returns the count kept, at the front; *z_out is the
 * kept mass. */
static int32_t probs_top_p(tlm_sampler *s, int32_t n, float top_p, float smax, double *z_out) {
    double *bm = s->bucket_mass, z = 0.0;
    memset(bm, 0, N_BUCKETS * sizeof *bm);
    for (int32_t i = 0; i < n; i++) {
        cand *c = &s->cand[i];
        c->p = expf(c->s - smax);
        z += c->p;
        bm[bucket_of(c->s, smax)] += c->p;
    }
    double target = top_p * z, above = 0.0;
    int32_t edge = 0;
    while (edge < N_BUCKETS - 1 && above + bm[edge] < target) above += bm[edge++];
    int32_t n_edge;
    int32_t m = split_at_bucket(s, n, smax, edge, &n_edge);
    if (n_edge > 0) m += select_mass(s->cand + m, n_edge, target - above);
    m = TLM_MAX(m, 1);
    *z_out = mass(s->cand, m);
    return m;
}

static void set_probs(cand *c, int32_t n, float smax) {
    for (int32_t i = 0; i < n; i++) c[i].p = expf(c[i].s - smax);
}

/* Candidates within CUT_NATS of the best after temperature, in id order,
 * without probabilities yet.  Returns the count (0 when every logit is
 * -inf or NaN) and the best scaled logit. */
static int32_t gather(tlm_sampler *s, float inv_t, float *smax_out) {
    const float *w = s->work;
    float best = tlm_max(w, s->n_vocab);
    if (!(best > -INFINITY)) return 0;
    float smax = best * inv_t, cut = smax - CUT_NATS;
    int32_t n = 0;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float x = w[i] * inv_t;
        if (x >= cut) s->cand[n++] = (cand){.id = i, .s = x};
    }
    *smax_out = smax;
    return n;
}

/* Heap order for top_k: the worst candidate sits at the root. */
static inline int worse(const cand *a, const cand *b) { return better(b, a); }

static void sift_down(cand *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && worse(&h[l], &h[w])) w = l;
        if (r < n && worse(&h[r], &h[w])) w = r;
        if (w == i) return;
        swap_cand(&h[i], &h[w]);
        i = w;
    }
}

/* gather() fused with top_k: one pass keeps the k best raw logits in a
 * heap.  Past the first k tokens, almost every token costs one comparison
 * with the root; tokens are visited in id order, so a tie with the root
 * (which has the lower id) correctly loses.  Temperature preserves the
 * order, so it is applied to the k survivors only.  Returns the count kept
 * (the k best within CUT_NATS of the best). */
static int32_t gather_top_k(tlm_sampler *s, float inv_t, int32_t k, float *smax_out) {
    const float *w = s->work;
    cand *h = s->cand;
    int32_t n = 0;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        float x = w[i];
        if (n < k) {
            if (!(x > -INFINITY)) continue;
            h[n] = (cand){.id = i, .s = x};
            for (int32_t j = n++; j > 0 && worse(&h[j], &h[(j - 1) / 2]); j = (j - 1) / 2)
                swap_cand(&h[j], &h[(j - 1) / 2]);
        } else if (x > h[0].s) {
            h[0] = (cand){.id = i, .s = x};
            sift_down(h, n, 0);
        }
    }
    float smax = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        h[i].s *= inv_t;
        smax = h[i].s > smax ? h[i].s : smax;
    }
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (h[i].s >= smax - CUT_NATS) h[m++] = h[i];
    *smax_out = smax;
    return m;
}

/* Locally typical sampling: keep the tokens whose surprise is closest to
 * the entropy until their mass reaches typical_p. */
static int32_t typical(cand *c, int32_t n, double z, float typical_p) {
    double h = 0.0;
    for (int32_t i = 0; i < n; i++) {
        double q = c[i].p / z;
        if (q > 0.0) h -= q * log(q);
    }
    for (int32_t i = 0; i < n; i++) {
        double q = c[i].p / z;
        /* Stash the score in s: the kept set is re-ordered afterwards. */
        c[i].s = q > 0.0 ? -(float)fabs(-log(q) - h) : -INFINITY;
    }
    qsort(c, (size_t)n, sizeof *c, cmp_cand);
    double acc = 0.0;
    int32_t m = 0;
    while (m < n) {
        acc += c[m++].p;
        if (acc >= typical_p * z) break;
    }
    /* Back to logit order for tlm_sampler_top (log p is monotone in s). */
    for (int32_t i = 0; i < m; i++) c[i].s = logf(c[i].p);
    return m;
}

/* Steps 4-8 for temperature > 0: fills s->cand[0, n_cand) and s->z. */
static void truncate_dist(tlm_sampler *s) {
    const tlm_sampler_params *p = &s->p;
    float smax = 0.0f, inv_t = 1.0f / p->temperature;
    /* top_k renormalises, so probabilities are only needed for the k kept. */
    int32_t n = p->top_k > 0 ? gather_top_k(s, inv_t, p->top_k, &smax) : gather(s, inv_t, &smax);
    double z;
    if (n > 0 && p->top_p < 1.0f) {
        n = probs_top_p(s, n, p->top_p, smax, &z);
    } else {
        set_probs(s->cand, n, smax);
        z = mass(s->cand, n);
    }
    if (n > 0 && p->min_p > 0.0f) {
        /* p is relative to the best token, which is always kept: the test
         * is p_i >= min_p * p_max with p_max = 1. */
        int32_t m = 0;
        for (int32_t i = 0; i < n; i++)
            if (s->cand[i].p >= p->min_p) s->cand[m++] = s->cand[i];
        n = m;
        z = mass(s->cand, n);
    }
    if (n > 1 && p->typical_p < 1.0f) {
        n = typical(s->cand, n, z, p->typical_p);
        z = mass(s->cand, n);
    }
    s->n_cand = n;
    s->z = z;
    s->dist_ready = 1;
}

/* Greedy's distribution (softmax of the processed logits), built only
 * when someone asks for probabilities. */
static void greedy_dist(tlm_sampler *s) {
    if (s->dist_ready) return;
    float smax = 0.0f;
    s->n_cand = gather(s, 1.0f, &smax);
    set_probs(s->cand, s->n_cand, smax);
    s->z = mass(s->cand, s->n_cand);
    s->dist_ready = 1;
}

static tlm_token argmax(const float *w, int32_t n) {
    tlm_token best = -1;
    float bv = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        if (w[i] > bv) {
            bv = w[i];
            best = i;
        }
    return best;
}

static float cand_logprob(const tlm_sampler *s, tlm_token t) {
    for (int32_t i = 0; i < s->n_cand; i++)
        if (s->cand[i].id == t) return (float)log(s->cand[i].p / s->z);
    return -INFINITY;
}

/* ---- Public steps ---- */

void tlm_sampler_dist(tlm_sampler *s, const float *logits, tlm_sample_dist *out) {
    process_logits(s, logits);
    s->dist_ready = 0;
    if (s->p.temperature > 0.0f) truncate_dist(s);
    else greedy_dist(s);
    for (int32_t i = 0; i < s->n_cand; i++) {
        s->out_id[i] = s->cand[i].id;
        s->out_p[i] = (float)(s->cand[i].p / s->z);
    }
    out->ids = s->out_id;
    out->probs = s->out_p;
    out->n = s->n_cand;
}

tlm_token tlm_sampler_sample(tlm_sampler *s, const float *logits, float *logprob) {
    process_logits(s, logits);
    s->dist_ready = 0;
    tlm_token t = -1;
    if (s->p.temperature <= 0.0f) {
        t = argmax(s->work, s->n_vocab);
        if (t >= 0 && logprob) greedy_dist(s);
    } else {
        truncate_dist(s);
        if (s->n_cand > 0) {
            /* Inverse CDF in the fixed candidate order; the last kept token
             * absorbs rounding so a draw never falls off the end. */
            double u = tlm_rng_uniform(&s->rng) * s->z, acc = 0.0;
            int32_t i = 0;
            for (; i < s->n_cand - 1; i++) {
                acc += s->cand[i].p;
                if (u < acc) break;
            }
            t = s->cand[i].id;
        }
    }
    if (logprob) *logprob = t >= 0 ? cand_logprob(s, t) : -INFINITY;
    if (t < 0) return -1;
    tlm_sampler_accept(s, t);
    if (s->constraint && s->constraint->accept) s->constraint->accept(s->constraint->user, t);
    return t;
}

int32_t tlm_sampler_top(tlm_sampler *s, int32_t n, tlm_token *ids, float *logprobs) {
    if (n <= 0 || !s->have_step) return 0;
    greedy_dist(s); /* no-op unless the last step was greedy without probabilities */
    int32_t k = TLM_MIN(n, s->n_cand);
    if (k < s->n_cand) select_top(s->cand, s->n_cand, k);
    qsort(s->cand, (size_t)k, sizeof *s->cand, cmp_cand);
    for (int32_t i = 0; i < k; i++) {
        ids[i] = s->cand[i].id;
        logprobs[i] = (float)log(s->cand[i].p / s->z);
    }
    return k;
}

/* ---- Raw log-probabilities ---- */

static double log_normaliser(const float *logits, int32_t n_vocab, float *max_out) {
    float m = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++) m = logits[i] > m ? logits[i] : m;
    double z = 0.0;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] >= m - CUT_NATS) z += expf(logits[i] - m);
    *max_out = m;
    return log(z);
}

float tlm_logits_logprob(const float *logits, int32_t n_vocab, tlm_token token) {
    if (token < 0 || token >= n_vocab) return NAN;
    float m;
    double lz = log_normaliser(logits, n_vocab, &m);
    return (float)((double)logits[token] - m - lz);
}

int32_t tlm_logits_top(const float *logits, int32_t n_vocab, int32_t n, tlm_token *ids,
                       float *logprobs) {
    if (n <= 0 || n_vocab <= 0) return 0;
    n = TLM_MIN(n, n_vocab);
    /* Insertion into a short sorted list: n is small (OpenAI caps it at 20). */
    int32_t k = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        float l = logits[i];
        if (isnan(l) || (k == n && !(l > logits[ids[k - 1]]))) continue;
        int32_t j = k < n ? k++ : n - 1;
        while (j > 0 && l > logits[ids[j - 1]]) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = i;
    }
    float m;
    double lz = log_normaliser(logits, n_vocab, &m);
    for (int32_t i = 0; i < k; i++) logprobs[i] = (float)((double)logits[ids[i]] - m - lz);
    return k;
}
