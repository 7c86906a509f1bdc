/*
 * test_kv_cache.c - the cell bookkeeping of the KV cache on its own (no
 * model): slot search with wrap-around, per-sequence views sorted by
 * position whatever order cells were filled in, causal prefixes, shared
 * cells after seq_cp, and freeing by seq_rm.
 */
#include "model/kv_cache.h"
#include "tensor/quant.h"
#include "test.h"

/* The positions of seq's view, in view order, into out; returns the count. */
static int32_t view_positions(tlm_kv_cache *kv, int32_t seq, int32_t *out) {
    int32_t n = 0;
    const int32_t *v = tlm_kv_view(kv, seq, &n);
    for (int32_t i = 0; i < n; i++) out[i] = kv->pos[v[i]];
    return n;
}

TEST(views_are_sorted_by_position_whatever_the_fill_order) {
    tlm_kv_cache kv;
    ASSERT_OK(tlm_kv_init(&kv, 16, 1, 2, 32, TLM_KV_F16, NULL));
    int32_t cells[16], pos[16];
    static const int32_t order[8] = {3, 0, 1, 7, 2, 6, 4, 5};
    ASSERT(tlm_kv_find_slots(&kv, 8, cells));
    for (int i = 0; i < 8; i++) tlm_kv_occupy(&kv, cells[i], 0, order[i]);
    ASSERT_EQ(view_positions(&kv, 0, pos), 8);
    for (int i = 0; i < 8; i++) ASSERT_EQ(pos[i], i);
    int32_t n = 0;
    const int32_t *v = tlm_kv_view(&kv, 0, &n);
    ASSERT_EQ(tlm_kv_view_prefix(&kv, v, n, 4), 5);  /* positions 0..4 */
    ASSERT_EQ(tlm_kv_view_prefix(&kv, v, n, -1), 0);
    ASSERT_EQ(tlm_kv_view_prefix(&kv, v, n, 100), 8);
    /* Appending in order keeps the view without a rebuild... */
    ASSERT(tlm_kv_find_slots(&kv, 1, cells));
    tlm_kv_occupy(&kv, cells[0], 0, 8);
    ASSERT(!kv.view_dirty[0]);
    /* ...and an earlier position forces one. */
    ASSERT(tlm_kv_find_slots(&kv, 1, cells));
    tlm_kv_occupy(&kv, cells[0], 0, 2);
    ASSERT(kv.view_dirty[0]);
    ASSERT_EQ(view_positions(&kv, 0, pos), 10);
    static const int32_t want[10] = {0, 1, 2, 2, 3, 4, 5, 6, 7, 8};
    for (int i = 0; i < 10; i++) ASSERT_EQ(pos[i], want[i]);
    ASSERT_EQ(tlm_kv_cache_seq_pos_max(&kv, 0), 8);
    ASSERT_EQ(tlm_kv_cache_seq_pos_max(&kv, 1), -1);
    tlm_kv_deinit(&kv);
}

TEST(seq_cp_shares_cells_and_seq_rm_frees_only_unshared_ones) {
    tlm_kv_cache kv;
    ASSERT_OK(tlm_kv_init(&kv, 8, 2, 3, 32, TLM_KV_F16, NULL));
    int32_t cells[8], pos[8];
    ASSERT(tlm_kv_find_slots(&kv, 4, cells));
    for (int i = 0; i < 4; i++) tlm_kv_occupy(&kv, cells[i], 0, i);
    tlm_kv_cache_seq_cp(&kv, 0, 1, 1, 3); /* positions 1 and 2 */
    ASSERT_EQ(kv.used, 4);
    ASSERT_EQ(view_positions(&kv, 1, pos), 2);
    ASSERT_EQ(pos[0], 1);
    ASSERT_EQ(pos[1], 2);
    tlm_kv_cache_seq_rm(&kv, 0, -1, -1);
    ASSERT_EQ(kv.used, 2); /* the cells of positions 1, 2 live on in seq 1 */
    ASSERT_EQ(view_positions(&kv, 0, pos), 0);
    ASSERT_EQ(tlm_kv_cache_seq_pos_max(&kv, 1), 2);
    /* Freed cells are found again, wrapping around the end. */
    ASSERT(tlm_kv_find_slots(&kv, 6, cells));
    ASSERT(!tlm_kv_find_slots(&kv, 7, cells));
    tlm_kv_cache_seq_rm(&kv, -1, 2, -1);
    ASSERT_EQ(kv.used, 1);
    tlm_kv_cache_clear(&kv);
    ASSERT_EQ(kv.used, 0);
    ASSERT_EQ(tlm_kv_cache_seq_pos_max(&kv, 1), -1);
    tlm_kv_deinit(&kv);
}

TEST(rows_round_trip_through_f16_and_q8_0) {
    float x[64], back[64];
    for (int i = 0; i < 64; i++) x[i] = (float)(i - 30) / 7.0f;
    for (int t = 0; t < 2; t++) {
        tlm_kv_cache kv;
        ASSERT_OK(tlm_kv_init(&kv, 4, 2, 1, 64, t ? TLM_KV_Q8_0 : TLM_KV_F16, NULL));
        ASSERT_EQ(tlm_kv_bytes(&kv), 2ull * 2 * 4 * (t ? 2 * 34 : 64 * 2));
        uint8_t *row = tlm_kv_k_row(&kv, 1, 3);
        tlm_kv_store_row(&kv, x, row);
        if (t) tlm_dequantize_row(TLM_TYPE_Q8_0, row, back, 64);
        for (int i = 0; i < 64; i++) {
            float b = t ? back[i] : tlm_f16_to_f32(((const tlm_f16 *)row)[i]);
            ASSERT_NEAR(b, x[i], t ? 0.02 : 0.003);
        }
        tlm_kv_deinit(&kv);
    }
    tlm_kv_cache kv;
    tlm_error err = {0};
    ASSERT_EQ(tlm_kv_init(&kv, 4, 1, 1, 48, TLM_KV_Q8_0, &err), TLM_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err.msg, "multiple of 32");
    ASSERT_EQ(tlm_kv_init(&kv, 4, 1, 65, 64, TLM_KV_F16, &err), TLM_ERR_INVALID_ARG);
}

TEST_MAIN(TEST_ENTRY(views_are_sorted_by_position_whatever_the_fill_order),
          TEST_ENTRY(seq_cp_shares_cells_and_seq_rm_frees_only_unshared_ones),
          TEST_ENTRY(rows_round_trip_through_f16_and_q8_0))
