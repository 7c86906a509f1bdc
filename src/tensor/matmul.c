/*
 * matmul.c - dispatch of matrix products (matmul.h): argument checks,
 * scratch layout, activation quantization and the split of the work into
 * fixed chunks that the pool's threads claim from a shared counter.
 *
 * Chunks have fixed boundaries (multiples of CHUNK_ROWS rows and CHUNK_TOKS
 * tokens), so which thread runs a chunk never changes its arithmetic: the
 * result is the same for any thread count, while dynamic claiming keeps
 * both cores busy when one of them is slowed down by other work.
 */
#include "tensor/matmul.h"

#include "core/util.h"
#include "tensor/matmul_kernels.h"
#include "tensor/quant.h"
#include "tensor/repack.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#define CHUNK_ROWS TLM_MM_CHUNK_ROWS
#define CHUNK_TOKS TLM_MM_GEMM_TOKS
#define TILE TLM_MM_PANEL_TILE
#define SCRATCH_ALIGN 64

const tlm_mm_kernels *tlm_mm_kernels_get(tlm_simd s) {
    switch (s) {
    case TLM_SIMD_SCALAR:
        return &tlm_mm_kernels_scalar;
#if defined(__x86_64__)
    case TLM_SIMD_AVX2:
        return &tlm_mm_kernels_avx2;
    case TLM_SIMD_AVX512:
        return &tlm_mm_kernels_avx512;
#endif
#if defined(__aarch64__)
    case TLM_SIMD_NEON:
        return &tlm_mm_kernels_neon;
#endif
    default:
        return NULL;
    }
}

static bool is_weight_type(tlm_type t) {
    switch (t) {
    case TLM_TYPE_F32: case TLM_TYPE_F16: case TLM_TYPE_BF16:
    case TLM_TYPE_Q4_0: case TLM_TYPE_Q4_1: case TLM_TYPE_Q5_0: case TLM_TYPE_Q5_1:
    case TLM_TYPE_Q8_0: case TLM_TYPE_Q2_K: case TLM_TYPE_Q3_K: case TLM_TYPE_Q4_K:
    case TLM_TYPE_Q5_K: case TLM_TYPE_Q6_K:
        return true;
    default:
        return false;
    }
}

tlm_status tlm_matmul_check(tlm_type wtype, int64_t cols, tlm_error *err) {
    const tlm_type_traits *tt = tlm_type_info((uint32_t)wtype);
    if (!tt || !is_weight_type(wtype) || !tlm_quant_info(wtype))
        return tlm_error_set(err, TLM_ERR_UNSUPPORTED, "matmul: no kernels for weight type %s",
                             tt ? tt->name : "(unknown)");
    if (cols <= 0 || cols % tt->blck)
        return tlm_error_set(err, TLM_ERR_INVALID_ARG,
                             "matmul: %s weights need cols %% %u == 0, got %lld", tt->name,
                             tt->blck, (long long)cols);
    return TLM_OK;
}

/* Scratch layout for quantized weights: n_tok activation rows; the side
 * arrays d, sum, s (n_tok * cols/32 entries each, legacy types); and for
 * many-token products the activation panel of the gemm kernels (one byte
 * per activation, 2 x 16 floats per 32-block and 8 x 16 int32 per 256-block
 * per 16-token tile), and as much again for the AMX kernels' panel (apa,
 * and its scales, apa_d, as large as apd):
 * kept even where AMX is off, so turning it on can never outgrow a scratch
 * sized before. */
typedef struct scratch_layout {
    size_t q_row, q_bytes, side_bytes, qx_bytes, ap_bytes, apd_bytes, apx_bytes, apa_bytes, total;
} scratch_layout;

static scratch_layout layout_for(tlm_type wtype, int64_t cols, int64_t n_tok) {
    scratch_layout l = {0};
    tlm_type act = tlm_quant_info(wtype)->vec_dot_type;
    if (act == TLM_TYPE_F32) return l;
    size_t nb32 = (size_t)cols / TLM_QK, nsb = (size_t)cols / TLM_QK_K;
    l.q_row = tlm_type_row_size(act, (uint64_t)cols);
    l.q_bytes = tlm_pad_u64(l.q_row * (size_t)n_tok, SCRATCH_ALIGN);
    if (act != TLM_TYPE_Q8_K) {
        l.side_bytes = tlm_pad_u64((size_t)n_tok * nb32 * 4, SCRATCH_ALIGN);
        l.qx_bytes = tlm_pad_u64((size_t)n_tok * (size_t)cols, SCRATCH_ALIGN);
    }
    if (n_tok >= TLM_MM_GEMM_MIN) {
        size_t t16 = (size_t)tlm_pad_u64((uint64_t)n_tok, TILE);
        l.ap_bytes = tlm_pad_u64(t16 * (size_t)cols, SCRATCH_ALIGN);
        l.apd_bytes = tlm_pad_u64(t16 * nb32 * 4, SCRATCH_ALIGN);
        l.apx_bytes = tlm_pad_u64(t16 * nsb * 32, SCRATCH_ALIGN);
        l.apa_bytes = l.ap_bytes + l.apd_bytes;
    }
    l.total = SCRATCH_ALIGN + l.q_bytes + 3 * l.side_bytes + l.qx_bytes + l.ap_bytes +
              2 * l.apd_bytes + l.apx_bytes + l.apa_bytes;
    return l;
}

size_t tlm_matmul_scratch_size(tlm_type wtype, int64_t cols, int64_t n_tok) {
    if (tlm_matmul_check(wtype, cols, NULL) != TLM_OK || n_tok <= 0) return 0;
    return layout_for(wtype, cols, n_tok).total;
}

#define MAX_OPS 8

/* One weight matrix of a step, with its kernels and its share of the
 * chunk numbers [first, first + n_chunks). */
typedef struct mm_op {
    tlm_mm_args a;
    tlm_mm_fn gemv, gemm;
    tlm_mm_fn gemm_x16;     /* reads X16 in place (AMX); NULL: gemm on unpacked groups */
    void (*unpack)(tlm_type wt, const void *grp, int64_t cols, void *dst);
    bool x16;               /* W is X16: gemm (unless gemm_x16) and gemv (if stage_gemv)
                               read it unpacked */
    bool stage_gemv;
    int64_t chunk_rows, n_row_chunks, first, n_chunks;
} mm_op;

typedef struct mm_job {
    tlm_pool *pool;
    tlm_act_quant_fn quant_act;
    tlm_mm_prep_fn prep, prep_amx;
    mm_op ops[MAX_OPS];
    int n_ops;
    int64_t n_chunks;
    uint8_t *q;          /* writable views of the activation scratch */
    float *qd, *qs;
    int32_t *qsum;
    int8_t *qx;
    int64_t n_tiles;     /* activation panel tiles to build (0: none) */
    /* Work is claimed from counters, and a phase waits until every claimed
     * unit of the previous one is done: no thread has to show up. */
    _Alignas(64) atomic_llong q_next;
    atomic_llong q_done;
    _Alignas(64) atomic_llong p_next;
    atomic_llong p_done;
    _Alignas(64) atomic_llong next;
} mm_job;

static void quantize_token(mm_job *j, int64_t t) {
    const tlm_mm_args *a = &j->ops[0].a;
    size_t o = (size_t)(t * a->nb32);
    tlm_act_side side = {0};
    if (j->qd) side = (tlm_act_side){j->qd + o, j->qsum + o, j->qs + o, j->qx + t * a->cols};
    j->quant_act(a->act_type, a->x + t * a->cols, a->cols, j->q + (size_t)t * a->q_row_size,
                 &side);
}

/* Waits until n units of a phase are done, by threads that claimed them. */
static void wait_done(atomic_llong *done, int64_t n, unsigned spin_pauses) {
    for (unsigned i = 1; atomic_load(done) < n; i++) {
        if (i < spin_pauses) {
#if defined(__x86_64__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}

_Thread_local tlm_mm_rows tlm_mm_next_rows;

/* X16 weights for a kernel that reads the GGUF layout (the many-token
 * products; one-token ones on paths without X16 kernels): as many of the
 * chunk's groups as fit are unpacked into this thread's buffer and the
 * kernel runs on them, writing their outputs in place (y is offset, its
 * row stride kept).  Whole chunks where they fit: a gemm call per group
 * cost 6% of prefill.  The kernels' bits do not depend on which rows a
 * call covers, so this gives the bits of the GGUF product. */
#define STAGE_BYTES (512 * 1024)
static _Thread_local _Alignas(64) uint8_t tls_stage[STAGE_BYTES];

static void run_staged(const mm_op *op, tlm_mm_fn fn, int64_t r0, int64_t r1, int64_t t0,
                       int64_t t1) {
    const tlm_mm_args *a = &op->a;
    tlm_mm_args g = *a;
    g.w = tls_stage;
    g.w_row_size = tlm_type_row_size(a->wtype, (uint64_t)a->cols);
    const size_t gbytes = TLM_X16_ROWS * g.w_row_size;
    const int64_t step = TLM_X16_ROWS * TLM_MAX(1, (int64_t)(STAGE_BYTES / gbytes));
    tlm_mm_next_rows = (tlm_mm_rows){0};
    for (int64_t r = r0; r < r1; r += step) {
        int64_t n = TLM_MIN(step, r1 - r);
        for (int64_t i = 0; i < n; i += TLM_X16_ROWS)
            op->unpack(a->wtype, a->w + (size_t)(r + i) * a->w_row_size, a->cols,
                       tls_stage + (size_t)i * g.w_row_size);
        g.y = a->y + r;
        fn(&g, 0, n, t0, t1);
    }
}

void tlm_matmul_x16_pack(tlm_type wtype, const void *src, int64_t rows, int64_t cols, void *dst) {
    const tlm_mm_kernels *k = tlm_mm_kernels_get(tlm_simd_active());
    void (*pack)(tlm_type, const void *, int64_t, void *) =
        k && k->pack_x16 ? k->pack_x16 : tlm_x16_pack_group;
    const size_t rsz = tlm_type_row_size(wtype, (uint64_t)cols), xrs = tlm_x16_row_size(wtype, cols);
    for (int64_t r = 0; r < rows; r += TLM_X16_ROWS)
        pack(wtype, (const uint8_t *)src + (size_t)r * rsz, cols, (uint8_t *)dst + (size_t)r * xrs);
}

/* Whether a rows x cols matrix of wtype can be multiplied in X16: whole
 * groups, and a group that fits the unpacking buffer. */
static bool x16_shape_ok(tlm_type wtype, int64_t rows, int64_t cols) {
    return tlm_x16_row_size(wtype, cols) > 0 && rows > 0 && rows % TLM_X16_ROWS == 0 &&
           TLM_X16_ROWS * tlm_type_row_size(wtype, (uint64_t)cols) <= STAGE_BYTES;
}

bool tlm_matmul_x16_pays(tlm_type wtype, int64_t rows, int64_t cols) {
    const tlm_mm_kernels *k = tlm_mm_kernels_get(tlm_simd_active());
    return k && k->gemv_x16[wtype] && x16_shape_ok(wtype, rows, cols);
}

/* The op of chunk c, with c made relative to it. */
static const mm_op *op_of(const mm_job *j, int64_t *c) {
    const mm_op *op = j->ops;
    while (*c >= op->first + op->n_chunks) op++;
    *c -= op->first;
    return op;
}

/* Runs chunk c; nc is the chunk this thread runs next (or past the end). */
static void run_chunk(const mm_job *j, int64_t c, int64_t nc) {
    tlm_mm_next_rows = (tlm_mm_rows){0};
    if (nc < j->n_chunks) {
        const mm_op *nop = op_of(j, &nc);
        int64_t nr0 = nc % nop->n_row_chunks * nop->chunk_rows;
        tlm_mm_next_rows = (tlm_mm_rows){nop->a.w + (size_t)nr0 * nop->a.w_row_size,
                                         nop->a.w_row_size};
    }
    const mm_op *op = op_of(j, &c);
    const tlm_mm_args *a = &op->a;
    int64_t rc = c % op->n_row_chunks, tc = c / op->n_row_chunks;
    int64_t r0 = rc * op->chunk_rows, r1 = TLM_MIN(a->rows, r0 + op->chunk_rows);
    int64_t t0 = tc * CHUNK_TOKS, t1 = TLM_MIN(a->n_tok, t0 + CHUNK_TOKS);
    if (t1 - t0 >= TLM_MM_GEMM_MIN) {
        if (op->gemm_x16) op->gemm_x16(a, r0, r1, t0, t1);
        else if (op->x16) run_staged(op, op->gemm, r0, r1, t0, t1);
        else op->gemm(a, r0, r1, t0, t1);
    } else {
        for (int64_t t = t0; t < t1; t++) {
            if (op->stage_gemv) run_staged(op, op->gemv, r0, r1, t, t + 1);
            else op->gemv(a, r0, r1, t, t + 1);
        }
    }
}

static void mm_worker(void *arg, int ith, int nth) {
    mm_job *j = arg;
    const int64_t n_tok = j->ops[0].a.n_tok;
    int64_t u;
    if (j->ops[0].a.act_type != TLM_TYPE_F32) {
        while ((u = atomic_fetch_add(&j->q_next, 1)) < n_tok) {
            quantize_token(j, u);
            atomic_fetch_add(&j->q_done, 1);
        }
        wait_done(&j->q_done, n_tok, tlm_pool_spin_pauses(j->pool));
    }
    if (j->n_tiles) {
        while ((u = atomic_fetch_add(&j->p_next, 1)) < j->n_tiles) {
            if (j->prep) j->prep(&j->ops[0].a, u);
            if (j->prep_amx) j->prep_amx(&j->ops[0].a, u);
            atomic_fetch_add(&j->p_done, 1);
        }
        wait_done(&j->p_done, j->n_tiles, tlm_pool_spin_pauses(j->pool));
    }
    /* Each thread claims its next chunk before running the current one, so
     * the one-token kernels can prefetch its first rows while they finish
     * this one (tlm_mm_next_rows). */
    int64_t c = atomic_fetch_add(&j->next, 1);
    while (c < j->n_chunks) {
        int64_t nc = atomic_fetch_add(&j->next, 1);
        run_chunk(j, c, nc);
        c = nc;
    }
}

/* Points the activation fields of a at the scratch (layout_for). */
static void setup_scratch(mm_job *j, tlm_mm_args *a, void *scratch) {
    scratch_layout l = layout_for(a->wtype, a->cols, a->n_tok);
    if (a->act_type == TLM_TYPE_F32) return;
    uint8_t *p = (uint8_t *)tlm_pad_u64((uintptr_t)scratch, SCRATCH_ALIGN);
    j->q = p;
    a->q = p;
    a->q_row_size = l.q_row;
    a->nb32 = a->cols / TLM_QK;
    p += l.q_bytes;
    if (l.side_bytes) {
        a->qd = j->qd = (float *)p;
        a->qsum = j->qsum = (int32_t *)(p + l.side_bytes);
        a->qs = j->qs = (float *)(p + 2 * l.side_bytes);
        a->qx = j->qx = (int8_t *)(p + 3 * l.side_bytes);
        p += 3 * l.side_bytes + l.qx_bytes;
    }
    if (l.ap_bytes) {
        a->ap = p;
        a->apd = (float *)(p + l.ap_bytes);
        a->aps = (float *)(p + l.ap_bytes + l.apd_bytes);
        a->apx = (int32_t *)(p + l.ap_bytes + 2 * l.apd_bytes);
        a->apa = p + l.ap_bytes + 2 * l.apd_bytes + l.apx_bytes;
        a->apa_d = (float *)(a->apa + l.ap_bytes);
    }
}

/* Rows per chunk.  Many-token chunks have CHUNK_ROWS rows (the gemm
 * kernels' tiles are sized for it).  One-token chunks of large matrices
 * are up to 16 times larger, keeping at least 32 per thread for balance:
 * each claim is an atomic on a line both cores write, and a chunk's end
 * is where the prefetch has to jump to another part of the matrix. */
static int64_t chunk_rows_for(int64_t rows, int64_t n_tok, int n_threads) {
    if (n_tok >= TLM_MM_GEMM_MIN) return CHUNK_ROWS;
    int64_t m = rows / (CHUNK_ROWS * 32 * (int64_t)TLM_MAX(1, n_threads));
    return CHUNK_ROWS * TLM_MAX(1, TLM_MIN(16, m));
}

static bool op_ok(const tlm_matmul_op *op, int64_t cols) {
    if (tlm_matmul_check(op->wtype, cols, NULL) != TLM_OK || op->rows <= 0 || !op->w || !op->y)
        return false;
    if (op->layout == TLM_MM_GGUF) return true;
    return op->layout == TLM_MM_X16 && x16_shape_ok(op->wtype, op->rows, cols);
}

/* Runs ops that share one activation type as a single pool step. */
static void run_group(tlm_pool *pool, const tlm_matmul_op *ops, int n_ops, int64_t cols,
                      const float *x, int64_t n_tok, void *scratch) {
    const tlm_mm_kernels *k = tlm_mm_kernels_get(tlm_simd_active());
    const tlm_mm_kernels *ks = &tlm_mm_kernels_scalar;
    if (!k) k = ks;
    mm_job j = {.pool = pool, .n_ops = n_ops};
    j.quant_act = k->quant_act ? k->quant_act : ks->quant_act;
    tlm_type act = tlm_quant_info(ops[0].wtype)->vec_dot_type;
    const bool amx = n_tok >= TLM_MM_GEMM_MIN && act != TLM_TYPE_F32 &&
                     cols <= TLM_MM_AMX_MAX_COLS && tlm_simd_amx();
    for (int i = 0; i < n_ops; i++) {
        mm_op *op = &j.ops[i];
        tlm_type wt = ops[i].wtype;
        op->x16 = ops[i].layout == TLM_MM_X16;
        op->stage_gemv = op->x16 && !k->gemv_x16[wt];
        op->unpack = k->unpack_x16 ? k->unpack_x16 : tlm_x16_unpack;
        op->gemv = !op->x16 || op->stage_gemv ? (k->gemv[wt] ? k->gemv[wt] : ks->gemv[wt])
                                              : k->gemv_x16[wt];
        op->gemm = k->gemm[wt] ? k->gemm[wt] : ks->gemm[wt];
        op->gemm_x16 = amx && op->x16 ? k->gemm_x16_amx[wt] : NULL;
        /* The panels belong to the table whose gemm runs. */
        if (op->gemm_x16) j.prep_amx = k->prep_x16_amx;
        else if (n_tok >= TLM_MM_GEMM_MIN && k->gemm[wt] && act != TLM_TYPE_F32)
            j.prep = k->prep_gemm;
        op->a = (tlm_mm_args){
            .wtype = wt, .w = ops[i].w,
            .w_row_size = op->x16 ? tlm_x16_row_size(wt, cols) : tlm_type_row_size(wt, (uint64_t)cols),
            .rows = ops[i].rows, .cols = cols, .n_tok = n_tok, .x = x, .act_type = act,
            .y = ops[i].y,
        };
        setup_scratch(&j, &op->a, scratch);
        op->chunk_rows = chunk_rows_for(op->a.rows, n_tok, tlm_pool_n_threads(pool));
        op->n_row_chunks = (op->a.rows + op->chunk_rows - 1) / op->chunk_rows;
        op->first = j.n_chunks;
        op->n_chunks = op->n_row_chunks * ((n_tok + CHUNK_TOKS - 1) / CHUNK_TOKS);
        j.n_chunks += op->n_chunks;
    }
    if (j.prep || j.prep_amx) j.n_tiles = (n_tok + TILE - 1) / TILE;
    atomic_init(&j.q_next, 0);
    atomic_init(&j.q_done, 0);
    atomic_init(&j.p_next, 0);
    atomic_init(&j.p_done, 0);
    atomic_init(&j.next, 0);
    tlm_pool_run_dynamic(pool, mm_worker, &j);
}

tlm_status tlm_matmul_multi(tlm_pool *pool, const tlm_matmul_op *ops, int n_ops, int64_t cols,
                            const float *x, int64_t n_tok, void *scratch) {
    if (n_ops <= 0 || n_tok <= 0 || !x) return TLM_ERR_INVALID_ARG;
    for (int i = 0; i < n_ops; i++) {
        if (!op_ok(&ops[i], cols)) return TLM_ERR_INVALID_ARG;
        if (tlm_quant_info(ops[i].wtype)->vec_dot_type != TLM_TYPE_F32 && !scratch)
            return TLM_ERR_INVALID_ARG;
    }
    /* Consecutive ops with the same activation type share a step. */
    for (int i = 0; i < n_ops;) {
        tlm_type act = tlm_quant_info(ops[i].wtype)->vec_dot_type;
        int n = 1;
        while (i + n < n_ops && n < MAX_OPS &&
               tlm_quant_info(ops[i + n].wtype)->vec_dot_type == act)
            n++;
        run_group(pool, ops + i, n, cols, x, n_tok, scratch);
        i += n;
    }
    return TLM_OK;
}

tlm_status tlm_matmul(tlm_pool *pool, tlm_type wtype, const void *w, int64_t rows, int64_t cols,
                      const float *x, int64_t n_tok, float *y, void *scratch) {
    tlm_matmul_op op = {wtype, w, rows, y, TLM_MM_GGUF};
    return tlm_matmul_multi(pool, &op, 1, cols, x, n_tok, scratch);
}
