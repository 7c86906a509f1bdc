/*
 * kv_cache.c - cells, sequence sets and per-sequence views of the KV cache
 * (see kv_cache.h for the design).
 */
#include "model/kv_cache.h"

#include "core/util.h"
#include "tensor/quant.h"

#include <stdlib.h>
#include <string.h>

static size_t row_size_for(tlm_kv_type type, int32_t n) {
    return type == TLM_KV_Q8_0 ? tlm_type_row_size(TLM_TYPE_Q8_0, (uint64_t)n)
                               : (size_t)n * sizeof(tlm_f16);
}

tlm_status tlm_kv_init(tlm_kv_cache *kv, int32_t n_cells, int32_t n_layer, int32_t n_seq_max,
                       int32_t n_embd_kv, tlm_kv_type type, tlm_error *err) {
    memset(kv, 0, sizeof *kv);
    if (type != TLM_KV_F16 && type != TLM_KV_Q8_0)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "ctx: unknown KV cache type %d", type);
    if (type == TLM_KV_Q8_0 && n_embd_kv % TLM_QK)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                             "ctx: a Q8_0 KV cache needs rows that are a multiple of 32 values, "
                             "this model has %d",
                             n_embd_kv);
    if (n_seq_max < 1 || n_seq_max > TLM_KV_MAX_SEQ)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG, "ctx: n_seq_max must be in [1, %d], got %d",
                             TLM_KV_MAX_SEQ, n_seq_max);
    kv->n_cells = n_cells;
    kv->n_layer = n_layer;
    kv->n_seq_max = n_seq_max;
    kv->n_embd_kv = n_embd_kv;
    kv->type = type;
    kv->row_size = row_size_for(type, n_embd_kv);
    uint64_t bytes;
    if (!tlm_mul_u64((uint64_t)n_layer * (uint64_t)n_cells, kv->row_size, &bytes) ||
        bytes > SIZE_MAX / 2)
        return tlm_error_set(err, TLM_ERR_NOMEM, "ctx: KV cache too large");
    /* calloc: untouched pages of a large cache cost no resident memory. */
    kv->k = tlm_calloc(1, (size_t)bytes);
    kv->v = tlm_calloc(1, (size_t)bytes);
    kv->pos = tlm_calloc((size_t)n_cells, sizeof *kv->pos);
    kv->seq = tlm_calloc((size_t)n_cells, sizeof *kv->seq);
    kv->view = tlm_calloc((size_t)n_seq_max * (size_t)n_cells, sizeof *kv->view);
    kv->view_n = tlm_calloc((size_t)n_seq_max, sizeof *kv->view_n);
    kv->view_dirty = tlm_calloc((size_t)n_seq_max, sizeof *kv->view_dirty);
    kv->view_tmp = tlm_calloc((size_t)n_cells, sizeof *kv->view_tmp);
    if (!kv->k || !kv->v || !kv->pos || !kv->seq || !kv->view || !kv->view_n ||
        !kv->view_dirty || !kv->view_tmp) {
        tlm_kv_deinit(kv);
        return tlm_error_set(err, TLM_ERR_NOMEM, "ctx: out of memory for a KV cache of %llu bytes",
                             (unsigned long long)(2 * bytes));
    }
    return TLM_OK;
}

void tlm_kv_deinit(tlm_kv_cache *kv) {
    free(kv->k);
    free(kv->v);
    free(kv->pos);
    free(kv->seq);
    free(kv->view);
    free(kv->view_n);
    free(kv->view_dirty);
    free(kv->view_tmp);
    memset(kv, 0, sizeof *kv);
}

uint64_t tlm_kv_bytes(const tlm_kv_cache *kv) {
    return 2ull * (uint64_t)kv->n_layer * (uint64_t)kv->n_cells * kv->row_size;
}

bool tlm_kv_find_slots(tlm_kv_cache *kv, int32_t n, int32_t *cells) {
    if (n > kv->n_cells - kv->used) return false;
    int32_t found = 0, c = kv->head;
    for (int32_t tried = 0; found < n && tried < kv->n_cells; tried++) {
        if (!kv->seq[c]) cells[found++] = c;
        c = c + 1 == kv->n_cells ? 0 : c + 1;
    }
    if (found < n) return false;
    kv->head = c;
    return true;
}

void tlm_kv_occupy(tlm_kv_cache *kv, int32_t c, int32_t seq, int32_t pos) {
    kv->seq[c] = 1ull << seq;
    kv->pos[c] = pos;
    kv->used++;
    /* Decoding appends in position order: keep the view instead of
     * rebuilding it (a scan and a sort per token). */
    int32_t *v = kv->view + (size_t)seq * (size_t)kv->n_cells, n = kv->view_n[seq];
    if (!kv->view_dirty[seq] &&
        (n == 0 || kv->pos[v[n - 1]] < pos || (kv->pos[v[n - 1]] == pos && v[n - 1] < c))) {
        v[n] = c;
        kv->view_n[seq] = n + 1;
        return;
    }
    kv->view_dirty[seq] = true;
}

/* Orders cells by position, then by index, with a merge sort: views are
 * nearly sorted already, and a merge sort has no bad cases. */
static void sort_cells(const int32_t *pos, int32_t *a, int32_t *tmp, int32_t n) {
    for (int32_t w = 1; w < n; w *= 2) {
        for (int32_t lo = 0; lo < n; lo += 2 * w) {
            int32_t mid = TLM_MIN(lo + w, n), hi = TLM_MIN(lo + 2 * w, n);
            int32_t i = lo, j = mid, k = lo;
            if (mid >= hi || pos[a[mid - 1]] < pos[a[mid]] ||
                (pos[a[mid - 1]] == pos[a[mid]] && a[mid - 1] < a[mid])) {
                memcpy(tmp + lo, a + lo, sizeof *a * (size_t)(hi - lo));
                continue;
            }
            while (i < mid && j < hi) {
                bool take_left = pos[a[i]] < pos[a[j]] || (pos[a[i]] == pos[a[j]] && a[i] < a[j]);
                tmp[k++] = take_left ? a[i++] : a[j++];
            }
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        memcpy(a, tmp, sizeof *a * (size_t)n);
    }
}

const int32_t *tlm_kv_view(tlm_kv_cache *kv, int32_t seq, int32_t *n) {
    int32_t *v = kv->view + (size_t)seq * (size_t)kv->n_cells;
    if (kv->view_dirty[seq]) {
        uint64_t bit = 1ull << seq;
        int32_t m = 0;
        for (int32_t c = 0; c < kv->n_cells; c++)
            if (kv->seq[c] & bit) v[m++] = c;
        sort_cells(kv->pos, v, kv->view_tmp, m);
        kv->view_n[seq] = m;
        kv->view_dirty[seq] = false;
    }
    *n = kv->view_n[seq];
    return v;
}

int32_t tlm_kv_view_prefix(const tlm_kv_cache *kv, const int32_t *view, int32_t n, int32_t pos) {
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (kv->pos[view[mid]] <= pos) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

void tlm_kv_store_row(const tlm_kv_cache *kv, const float *x, uint8_t *row) {
    if (kv->type == TLM_KV_Q8_0) {
        tlm_quantize_row(TLM_TYPE_Q8_0, x, row, kv->n_embd_kv);
        return;
    }
    tlm_f16 *h = (tlm_f16 *)row;
    for (int32_t i = 0; i < kv->n_embd_kv; i++) h[i] = tlm_f32_to_f16(x[i]);
}

static bool in_range(int32_t pos, int32_t p0, int32_t p1) {
    return pos >= (p0 < 0 ? 0 : p0) && (p1 < 0 || pos < p1);
}

void tlm_kv_cache_seq_rm(tlm_kv_cache *kv, int32_t seq, int32_t p0, int32_t p1) {
    if (seq >= kv->n_seq_max) return;
    uint64_t bits = seq < 0 ? ~0ull : 1ull << seq;
    for (int32_t c = 0; c < kv->n_cells; c++) {
        if (!(kv->seq[c] & bits) || !in_range(kv->pos[c], p0, p1)) continue;
        for (int32_t s = 0; s < kv->n_seq_max; s++)
            if (kv->seq[c] & bits & (1ull << s)) kv->view_dirty[s] = true;
        kv->seq[c] &= ~bits;
        if (!kv->seq[c]) {
            kv->used--;
            if (c < kv->head) kv->head = c;
        }
    }
}

void tlm_kv_cache_seq_cp(tlm_kv_cache *kv, int32_t src, int32_t dst, int32_t p0, int32_t p1) {
    if (src < 0 || dst < 0 || src >= kv->n_seq_max || dst >= kv->n_seq_max || src == dst) return;
    for (int32_t c = 0; c < kv->n_cells; c++)
        if ((kv->seq[c] & (1ull << src)) && in_range(kv->pos[c], p0, p1))
            kv->seq[c] |= 1ull << dst;
    kv->view_dirty[dst] = true;
}

int32_t tlm_kv_cache_seq_pos_max(const tlm_kv_cache *kv, int32_t seq) {
    if (seq < 0 || seq >= kv->n_seq_max) return -1;
    int32_t best = -1;
    for (int32_t c = 0; c < kv->n_cells; c++)
        if ((kv->seq[c] & (1ull << seq)) && kv->pos[c] > best) best = kv->pos[c];
    return best;
}

void tlm_kv_cache_clear(tlm_kv_cache *kv) {
    memset(kv->seq, 0, sizeof *kv->seq * (size_t)kv->n_cells);
    kv->used = 0;
    kv->head = 0;
    for (int32_t s = 0; s < kv->n_seq_max; s++) kv->view_dirty[s] = true;
}
