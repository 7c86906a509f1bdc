/*
 * test_quant.c - type conversions of src/tensor/quant*.c.
 *
 * Independent references used here: half and bfloat16 values decoded with
 * ldexp and the nearest representable value found by bisection over all
 * 65536 codes; blocks built by hand, bit by bit, from the layouts in
 * engine-facts 1.2; dot products recomputed in double from dequantized
 * rows.  The error bounds are a table below, measured on Gaussian data.
 */
#include "tensor/quant.h"
#include "test.h"

#include <float.h>

/* ---- Helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double rng_unit(void) { return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0; }

static float rng_gauss(void) {
    return (float)(sqrt(-2.0 * log(rng_unit())) * cos(6.283185307179586 * rng_unit()));
}

static void fill_gauss(float *x, int64_t n, uint64_t seed) {
    rng_state = seed;
    for (int64_t i = 0; i < n; i++)
        x[i] = rng_gauss();
}

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bits_from_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* A half decoded with ldexp: independent of the bit-shuffling code. */
static double half_ref(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    double v;
    if (exp == 31)
        v = man ? NAN : INFINITY;
    else if (exp == 0)
        v = ldexp(man, -24);
    else
        v = ldexp(man + 1024, exp - 25);
    return sign ? -v : v;
}

/* Nearest half to a finite non-negative float, ties to even, by bisection
 * over the codes 0..0x7bff (ordered like their values); 0x7c00 past the
 * overflow threshold 65520. */
static uint16_t half_nearest_ref(float f) {
    double v = f;
    if (v >= 65520.0) return 0x7c00;
    int lo = 0, hi = 0x7bff;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (half_ref((uint16_t)mid) <= v)
            lo = mid;
        else
            hi = mid;
    }
    double dl = v - half_ref((uint16_t)lo), dh = half_ref((uint16_t)hi) - v;
    if (dl < dh) return (uint16_t)lo;
    if (dh < dl) return (uint16_t)hi;
    return (uint16_t)((lo & 1) ? hi : lo);
}

static const tlm_type weight_types[] = {
    TLM_TYPE_F32,  TLM_TYPE_F16,  TLM_TYPE_BF16, TLM_TYPE_Q4_0, TLM_TYPE_Q4_1,
    TLM_TYPE_Q5_0, TLM_TYPE_Q5_1, TLM_TYPE_Q8_0, TLM_TYPE_Q2_K, TLM_TYPE_Q3_K,
    TLM_TYPE_Q4_K, TLM_TYPE_Q5_K, TLM_TYPE_Q6_K,
};

/* Relative RMS error of quantize -> dequantize; plain selects the
 * round-to-nearest K-quant variant. */
static double rel_rms_error(tlm_type t, const float *x, int64_t n, int plain) {
    void *q = malloc((size_t)n * 4 + 64);
    float *y = malloc((size_t)n * sizeof(float));
    if (plain)
        tlm_quantize_row_plain(t, x, q, n);
    else
        tlm_quantize_row(t, x, q, n);
    tlm_dequantize_row(t, q, y, n);
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        e += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        s += (double)x[i] * x[i];
    }
    free(q);
    free(y);
    return sqrt(e / s);
}

/* ---- Traits ---- */

TEST(traits_pair_each_weight_type_with_its_activation_type) {
    static const struct {
        tlm_type w, act;
    } pairs[] = {
        {TLM_TYPE_F32, TLM_TYPE_F32},   {TLM_TYPE_F16, TLM_TYPE_F32},
        {TLM_TYPE_BF16, TLM_TYPE_F32},  {TLM_TYPE_Q4_0, TLM_TYPE_Q8_0},
        {TLM_TYPE_Q5_0, TLM_TYPE_Q8_0}, {TLM_TYPE_Q8_0, TLM_TYPE_Q8_0},
        {TLM_TYPE_Q4_1, TLM_TYPE_Q8_1}, {TLM_TYPE_Q5_1, TLM_TYPE_Q8_1},
        {TLM_TYPE_Q2_K, TLM_TYPE_Q8_K}, {TLM_TYPE_Q3_K, TLM_TYPE_Q8_K},
        {TLM_TYPE_Q4_K, TLM_TYPE_Q8_K}, {TLM_TYPE_Q5_K, TLM_TYPE_Q8_K},
        {TLM_TYPE_Q6_K, TLM_TYPE_Q8_K},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const tlm_quant_traits *q = tlm_quant_info(pairs[i].w);
        ASSERT(q && q->to_float && q->from_float && q->vec_dot_ref);
        ASSERT_EQ(q->vec_dot_type, pairs[i].act);
        ASSERT(tlm_quant_info(pairs[i].act) && tlm_quant_info(pairs[i].act)->from_float);
    }
    ASSERT(tlm_quant_info(TLM_TYPE_Q8_K)->vec_dot_ref == NULL);
    ASSERT(tlm_quant_info(TLM_TYPE_Q8_1)->vec_dot_ref == NULL);
    ASSERT(tlm_quant_info(TLM_TYPE_I32) == NULL);
    ASSERT(tlm_quant_info((tlm_type)4) == NULL);
    ASSERT(tlm_quant_info((tlm_type)999) == NULL);
}

/* ---- Half and bfloat16 ---- */

TEST(f16_all_65536_decode_exactly_and_round_trip) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tlm_f16_to_f32((tlm_f16)h);
        double ref = half_ref((uint16_t)h);
        if (isnan(ref)) {
            ASSERT_MSG(isnan(f), "half %04x should decode to NaN", h);
        } else {
            ASSERT_MSG((double)f == ref && !signbit(f) == !signbit(ref), "half %04x: %.9g != %.9g",
                       h, f, ref);
        }
        ASSERT_MSG(tlm_f32_to_f16(f) == h, "half %04x round trip gave %04x", h, tlm_f32_to_f16(f));
    }
}

TEST(f16_rounds_to_nearest_even_at_every_midpoint) {
    /* Every pair of adjacent finite halves, subnormals included: the exact
     * midpoint goes to the even code, one float either side goes to the
     * nearer code.  Midpoints have 12 significant bits, exact in float. */
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float a = (float)half_ref((uint16_t)h), b = (float)half_ref((uint16_t)(h + 1));
        float mid = (float)(((double)a + b) / 2);
        uint16_t even = (uint16_t)((h & 1) ? h + 1 : h);
        for (int s = 0; s < 2; s++) {
            uint16_t sg = s ? 0x8000 : 0;
            float m = s ? -mid : mid;
            ASSERT_MSG(tlm_f32_to_f16(m) == (even | sg), "midpoint of %04x", h);
            ASSERT_EQ(tlm_f32_to_f16(nextafterf(m, 0.0f)), (h | sg));
            ASSERT_EQ(tlm_f32_to_f16(nextafterf(m, s ? -INFINITY : INFINITY)), ((h + 1) | sg));
        }
    }
    ASSERT_EQ(tlm_f32_to_f16(65504.0f), 0x7bff);
    ASSERT_EQ(tlm_f32_to_f16(nextafterf(65520.0f, 0.0f)), 0x7bff);
    ASSERT_EQ(tlm_f32_to_f16(65520.0f), 0x7c00); /* tie with odd 0x7bff: to Inf */
    ASSERT_EQ(tlm_f32_to_f16(-1e10f), 0xfc00);
    ASSERT_EQ(tlm_f32_to_f16(INFINITY), 0x7c00);
    ASSERT_EQ(tlm_f32_to_f16(-0.0f), 0x8000);
    ASSERT_EQ(tlm_f32_to_f16(0x1p-25f), 0x0000); /* tie with 0 and 2^-24: even */
    ASSERT_EQ(tlm_f32_to_f16(nextafterf(0x1p-25f, 1.0f)), 0x0001);
    ASSERT_EQ(tlm_f32_to_f16(FLT_TRUE_MIN), 0x0000);
    uint16_t nan = tlm_f32_to_f16(NAN);
    ASSERT((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0);
    /* A float NaN whose payload lives only in the low bits stays a NaN. */
    uint16_t low_nan = tlm_f32_to_f16(f32_from_bits(0x7f800001u));
    ASSERT((low_nan & 0x7c00) == 0x7c00 && (low_nan & 0x3ff) != 0);
}

TEST(f16_matches_bisection_reference_on_random_floats) {
    rng_state = 12345;
    for (int i = 0; i < 200000; i++) {
        /* Exponents from well below the subnormal range to above 65504. */
        uint32_t man = (uint32_t)rng_next() & 0x7fffffu;
        uint32_t exp = 90 + (uint32_t)(rng_next() % 60);
        float f = f32_from_bits(exp << 23 | man);
        uint16_t got = tlm_f32_to_f16(f), want = half_nearest_ref(f);
        ASSERT_MSG(got == want, "%a: got %04x want %04x", f, got, want);
        ASSERT_EQ(tlm_f32_to_f16(-f), (want | 0x8000));
    }
}

TEST(bf16_round_trip_and_nearest_even) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tlm_bf16_to_f32((tlm_bf16)h);
        ASSERT_EQ(bits_from_f32(f), h << 16);
        ASSERT_MSG(tlm_f32_to_bf16(f) == h, "bf16 %04x round trip", h);
    }
    for (uint32_t h = 0; h < 0x7f7f; h++) { /* adjacent finite pairs, subnormals too */
        uint32_t mid = (h << 16) | 0x8000u; /* exact midpoint of h and h+1 */
        uint16_t even = (uint16_t)((h & 1) ? h + 1 : h);
        ASSERT_EQ(tlm_f32_to_bf16(f32_from_bits(mid)), even);
        ASSERT_EQ(tlm_f32_to_bf16(f32_from_bits(mid - 1)), h);
        ASSERT_EQ(tlm_f32_to_bf16(f32_from_bits(mid + 1)), h + 1);
        ASSERT_EQ(tlm_f32_to_bf16(-f32_from_bits(mid)), (even | 0x8000));
    }
    ASSERT_EQ(tlm_f32_to_bf16(FLT_MAX), 0x7f80); /* rounds up to Inf */
    uint16_t nan = tlm_f32_to_bf16(f32_from_bits(0x7f800001u));
    ASSERT((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0);
}

/* ---- Layouts: hand-built blocks ---- */

TEST(layout_legacy_blocks) {
    float y[32];
    tlm_block_q4_0 a = {.d = tlm_f32_to_f16(0.5f)};
    for (int j = 0; j < 16; j++)
        a.qs[j] = (uint8_t)(j | (15 - j) << 4);
    tlm_dequantize_row(TLM_TYPE_Q4_0, &a, y, 32);
    for (int j = 0; j < 16; j++) {
        ASSERT_EQ(y[j], 0.5f * (float)(j - 8));
        ASSERT_EQ(y[j + 16], 0.5f * (float)(7 - j));
    }
    tlm_block_q4_1 b = {.d = tlm_f32_to_f16(0.5f), .m = tlm_f32_to_f16(-1.0f)};
    for (int j = 0; j < 16; j++)
        b.qs[j] = (uint8_t)(j | (15 - j) << 4);
    tlm_dequantize_row(TLM_TYPE_Q4_1, &b, y, 32);
    for (int j = 0; j < 16; j++) {
        ASSERT_EQ(y[j], 0.5f * (float)j - 1.0f);
        ASSERT_EQ(y[j + 16], 0.5f * (float)(15 - j) - 1.0f);
    }
    /* Q5_0: qh is a little-endian u32; bit 3 (byte 0) -> element 3, bit 20
     * (byte 2, bit 4) -> element 20, the high nibble of qs[4]. */
    tlm_block_q5_0 c = {.d = tlm_f32_to_f16(2.0f), .qh = {1u << 3, 0, 1u << 4, 0}};
    c.qs[4] = 0xf0;
    tlm_dequantize_row(TLM_TYPE_Q5_0, &c, y, 32);
    for (int j = 0; j < 32; j++) {
        float want = j == 3 ? 0.0f : j == 20 ? 30.0f : -32.0f;
        ASSERT_MSG(y[j] == want, "q5_0 element %d: %g != %g", j, y[j], want);
    }
    tlm_block_q5_1 e = {
        .d = tlm_f32_to_f16(1.0f), .m = tlm_f32_to_f16(0.5f), .qh = {0, 0, 0, 0x80}};
    e.qs[15] = 0x30;
    tlm_dequantize_row(TLM_TYPE_Q5_1, &e, y, 32);
    for (int j = 0; j < 32; j++)
        ASSERT_EQ(y[j], j == 31 ? 19.5f : 0.5f);
    tlm_block_q8_0 f = {.d = tlm_f32_to_f16(0.25f)};
    for (int j = 0; j < 32; j++)
        f.qs[j] = (int8_t)(j - 16);
    tlm_dequantize_row(TLM_TYPE_Q8_0, &f, y, 32);
    for (int j = 0; j < 32; j++)
        ASSERT_EQ(y[j], 0.25f * (float)(j - 16));
}

TEST(layout_q4_K_scales_mins_and_nibble_order) {
    tlm_block_q4_K b;
    memset(&b, 0, sizeof b);
    b.d = tlm_f32_to_f16(1.0f);
    b.dmin = tlm_f32_to_f16(0.5f);
    b.scales[9] = 0x03;              /* sub-block 5 scale: low nibble in byte 9 ... */
    b.scales[1] = 0x40;              /* ... top bits in byte 1 bits 6-7: 3 | 1<<4 = 19 */
    b.scales[6] = 0x87;              /* sub-block 2 min 7 (low 6 bits); top bits of min 6 = 2 */
    b.scales[10] = 0x50;             /* sub-block 6 min low nibble 5: min 6 = 5 | 2<<4 = 37 */
    memset(b.qs, 0x21, sizeof b.qs); /* low nibbles 1, high nibbles 2 */
    float y[256];
    tlm_dequantize_row(TLM_TYPE_Q4_K, &b, y, 256);
    for (int i = 0; i < 256; i++) {
        int sub = i / 32;
        float want = sub == 5 ? 19.0f * 2.0f : sub == 2 ? -3.5f : sub == 6 ? -18.5f : 0.0f;
        ASSERT_MSG(y[i] == want, "q4_K element %d: %g != %g", i, y[i], want);
    }
    /* Sub-block 5 is the high nibbles of chunk 2 (qs[64..95]): clearing
     * them zeroes exactly elements 160..191. */
    for (int l = 64; l < 96; l++)
        b.qs[l] = 0x01;
    tlm_dequantize_row(TLM_TYPE_Q4_K, &b, y, 256);
    ASSERT_EQ(y[159], 0.0f);
    ASSERT_EQ(y[160], 0.0f);
    ASSERT_EQ(y[191], 0.0f);
    ASSERT_EQ(y[64], -3.5f);
}

TEST(layout_q5_K_high_bits) {
    tlm_block_q5_K b;
    memset(&b, 0, sizeof b);
    b.d = tlm_f32_to_f16(1.0f);
    for (int j = 0; j < 4; j++)
        b.scales[j] = 1; /* scales 0-3 = 1 */
    for (int j = 8; j < 12; j++)
        b.scales[j] = 1; /* scales 4-7 = 1 */
    b.qh[7] = 1u << 3;   /* bit 3 of qh[7]: element 3*32 + 7 = 103 */
    b.qh[0] = 1u << 6;   /* element 192 */
    b.qs[32 + 4] = 0x50; /* chunk 1, high nibble, l=4: element 64+32+4 = 100 */
    float y[256];
    tlm_dequantize_row(TLM_TYPE_Q5_K, &b, y, 256);
    for (int i = 0; i < 256; i++) {
        float want = i == 103 || i == 192 ? 16.0f : i == 100 ? 5.0f : 0.0f;
        ASSERT_MSG(y[i] == want, "q5_K element %d: %g != %g", i, y[i], want);
    }
}

TEST(layout_q6_K_element_order) {
    tlm_block_q6_K b;
    memset(&b, 0, sizeof b);
    b.d = tlm_f32_to_f16(1.0f);
    for (int j = 0; j < 16; j++)
        b.scales[j] = 1;
    b.scales[15] = -3;
    b.ql[64 + 32 + 5] = 0x90; /* half 1, ql[l+32] high nibble: element 128+96+5 */
    b.qh[32 + 5] = 2u << 2;   /* half 1, qh[l] bits 2-3: element 128+32+5 */
    b.ql[0] = 0x0f;           /* half 0, ql[l] low nibble: element 0 */
    b.qh[31] = 3u << 6;       /* half 0, qh[l] bits 6-7: element 96+31 */
    float y[256];
    tlm_dequantize_row(TLM_TYPE_Q6_K, &b, y, 256);
    for (int i = 0; i < 256; i++) {
        float want = i == 229   ? -23.0f
                     : i == 165 ? 0.0f
                     : i == 0   ? -17.0f
                     : i == 127 ? 16.0f
                                : -32.0f;
        if (i >= 240) want *= -3.0f;
        ASSERT_MSG(y[i] == want, "q6_K element %d: %g != %g", i, y[i], want);
    }
}

TEST(layout_q3_K_scales_hmask_and_order) {
    tlm_block_q3_K b;
    memset(&b, 0, sizeof b);
    b.d = tlm_f32_to_f16(1.0f);
    memset(b.hmask, 0xff, sizeof b.hmask); /* set bit = no -4 offset */
    for (int j = 8; j < 12; j++)
        b.scales[j] = 0xaa; /* every 6-bit scale = 32 -> 0 */
    b.scales[2] = 0x50;     /* scale 10 low nibble (byte 2 high nibble) = 5 -> 37 -> 5 */
    b.qs[32] = 3u << 2;     /* half 1, shift 2, l=0: element 160 = 3 */
    b.qs[47] = 1u << 2;     /* element 175 = 1 */
    b.qs[48] = 3u << 2;     /* element 176 (sub-block 11, scale 0) */
    b.hmask[1] &= (uint8_t) ~(1u << 5); /* element 161: 0 - 4 */
    float y[256];
    tlm_dequantize_row(TLM_TYPE_Q3_K, &b, y, 256);
    for (int i = 0; i < 256; i++) {
        float want = i == 160 ? 15.0f : i == 161 ? -20.0f : i == 175 ? 5.0f : 0.0f;
        ASSERT_MSG(y[i] == want, "q3_K element %d: %g != %g", i, y[i], want);
    }
}

TEST(layout_q2_K_scales_mins_and_order) {
    tlm_block_q2_K b;
    memset(&b, 0, sizeof b);
    b.d = tlm_f32_to_f16(1.0f);
    b.dmin = tlm_f32_to_f16(0.25f);
    b.scales[3] = 2 | 1 << 4; /* sub-block 3: scale 2, min 1 */
    b.scales[12] = 3;         /* sub-block 12: scale 3 */
    b.qs[16] = 3u << 2;       /* half 0, shift 2, l=16: element 48 */
    b.qs[32 + 8] = 1u << 4;   /* half 1, shift 4, l=8: element 128+64+8 = 200 */
    float y[256];
    tlm_dequantize_row(TLM_TYPE_Q2_K, &b, y, 256);
    for (int i = 0; i < 256; i++) {
        float want = i == 48 ? 5.75f : (i >= 48 && i < 64) ? -0.25f : i == 200 ? 3.0f : 0.0f;
        ASSERT_MSG(y[i] == want, "q2_K element %d: %g != %g", i, y[i], want);
    }
}

/* ---- Reference quantizers ---- */

TEST(legacy_quantizers_follow_the_reference_formulas) {
    float x[32] = {0}, y[32];
    /* Q8_0: d = amax/127 and roundf, which rounds halves away from zero. */
    x[0] = 127.0f, x[1] = 2.5f, x[2] = -2.5f, x[3] = 0.5f;
    tlm_block_q8_0 q8;
    tlm_quantize_row(TLM_TYPE_Q8_0, x, &q8, 32);
    ASSERT_EQ(q8.d, tlm_f32_to_f16(1.0f));
    ASSERT_EQ(q8.qs[0], 127);
    ASSERT_EQ(q8.qs[1], 3);
    ASSERT_EQ(q8.qs[2], -3);
    ASSERT_EQ(q8.qs[3], 1);
    /* Q8_1: s = d * sum(q). */
    tlm_block_q8_1 q81;
    tlm_quantize_row(TLM_TYPE_Q8_1, x, &q81, 32);
    ASSERT_EQ(q81.s, tlm_f32_to_f16(128.0f));
    /* Q4_0: d = (signed largest)/-8, q = trunc(x/d + 8.5) capped at 15. */
    memset(x, 0, sizeof x);
    x[0] = -8.0f, x[1] = 0.5f, x[2] = -0.5f, x[3] = 7.6f;
    tlm_block_q4_0 q4;
    tlm_quantize_row(TLM_TYPE_Q4_0, x, &q4, 32);
    ASSERT_EQ(q4.d, tlm_f32_to_f16(1.0f));
    ASSERT_EQ(q4.qs[0] & 15, 0);
    ASSERT_EQ(q4.qs[1] & 15, 9);
    ASSERT_EQ(q4.qs[2] & 15, 8);
    ASSERT_EQ(q4.qs[3] & 15, 15);
    x[0] = 1.0f, x[1] = x[2] = x[3] = 0.0f; /* positive extreme: d < 0 */
    tlm_quantize_row(TLM_TYPE_Q4_0, x, &q4, 32);
    ASSERT_EQ(q4.d, tlm_f32_to_f16(-0.125f));
    tlm_dequantize_row(TLM_TYPE_Q4_0, &q4, y, 32);
    ASSERT_EQ(y[0], 1.0f);
    /* Values on each type's grid come back exactly. */
    static const struct {
        tlm_type t;
        int lo, hi;
        float d, m;
    } grids[] = {
        {TLM_TYPE_Q4_0, -8, 7, 0.125f, 0},   {TLM_TYPE_Q5_0, -16, 15, 0.0625f, 0},
        {TLM_TYPE_Q4_1, 0, 15, 0.25f, -1},   {TLM_TYPE_Q5_1, 0, 31, 0.125f, -1.5f},
        {TLM_TYPE_Q8_0, -127, 127, 0.5f, 0},
    };
    for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
        uint8_t blk[64];
        for (int j = 0; j < 32; j++) {
            int k = grids[g].lo + (j * 7) % (grids[g].hi - grids[g].lo + 1);
            x[j] = grids[g].m + grids[g].d * (float)k;
        }
        x[5] = grids[g].m + grids[g].d * (float)grids[g].lo; /* both ends present */
        x[6] = grids[g].m + grids[g].d * (float)grids[g].hi;
        tlm_quantize_row(grids[g].t, x, blk, 32);
        tlm_dequantize_row(grids[g].t, blk, y, 32);
        for (int j = 0; j < 32; j++)
            ASSERT_MSG(y[j] == x[j], "type %s element %d: %g != %g",
                       tlm_type_info(grids[g].t)->name, j, y[j], x[j]);
    }
}

TEST(q8_K_reference_sign_rounding_and_bsums) {
    float x[256];
    fill_gauss(x, 256, 7);
    x[100] = -127.0f;         /* largest magnitude, negative: iscale = 1, d = 1 */
    x[0] = 2.5f, x[1] = 3.5f; /* nearest-even rounding: 2 and 4 */
    tlm_block_q8_K b;
    tlm_quantize_row(TLM_TYPE_Q8_K, x, &b, 256);
    ASSERT_EQ(b.d, 1.0f);
    ASSERT_EQ(b.qs[0], 2);
    ASSERT_EQ(b.qs[1], 4);
    ASSERT_EQ(b.qs[100], -127);
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int i = 0; i < 16; i++)
            s += b.qs[j * 16 + i];
        ASSERT_EQ(b.bsums[j], s);
    }
    x[100] = 127.0f; /* positive extreme flips the sign of d and q */
    tlm_quantize_row(TLM_TYPE_Q8_K, x, &b, 256);
    ASSERT_EQ(b.d, -1.0f);
    ASSERT_EQ(b.qs[100], -127);
    ASSERT_EQ(b.qs[0], -2);
    memset(x, 0, sizeof x);
    memset(&b, 0x55, sizeof b);
    tlm_quantize_row(TLM_TYPE_Q8_K, x, &b, 256);
    ASSERT_EQ(b.d, 0.0f);
    for (int j = 0; j < 16; j++)
        ASSERT_EQ(b.bsums[j], 0);
}

/* ---- Error bounds ---- */

/* Relative RMS error bound (percent) for i.i.d. N(0,1) data, 128K values.
 * Measured values are printed by the test; bounds leave ~10% headroom.
 * Q8_0 sits at ~0.53%: with d = amax/127 the error is
 * E[amax]/(127*sqrt(12)) ~ 2.3/440 for Gaussian blocks of 32, so the
 * reference quantizer cannot reach 0.5% on this data. */
static const struct {
    tlm_type t;
    double max_pct;
} error_bounds[] = {
    {TLM_TYPE_F16, 0.03}, {TLM_TYPE_BF16, 0.2}, {TLM_TYPE_Q8_0, 0.6},  {TLM_TYPE_Q6_K, 1.9},
    {TLM_TYPE_Q5_K, 3.9}, {TLM_TYPE_Q5_1, 4.1}, {TLM_TYPE_Q5_0, 4.7},  {TLM_TYPE_Q4_K, 7.8},
    {TLM_TYPE_Q4_1, 8.6}, {TLM_TYPE_Q4_0, 9.4}, {TLM_TYPE_Q3_K, 16.0}, {TLM_TYPE_Q2_K, 30.0},
};

TEST(quantize_dequantize_error_within_table) {
    const int64_t n = 256 * 512;
    float *x = malloc(n * sizeof(float));
    fill_gauss(x, n, 42);
    fprintf(stderr, "  type   rel RMS error (bound)\n");
    for (size_t i = 0; i < sizeof error_bounds / sizeof error_bounds[0]; i++) {
        double e = 100.0 * rel_rms_error(error_bounds[i].t, x, n, 0);
        fprintf(stderr, "  %-5s  %.4f%% (< %.2f%%)\n", tlm_type_info(error_bounds[i].t)->name, e,
                error_bounds[i].max_pct);
        ASSERT_MSG(e < error_bounds[i].max_pct && e > 0.0, "%s error %.4f%%",
                   tlm_type_info(error_bounds[i].t)->name, e);
    }
    ASSERT(rel_rms_error(TLM_TYPE_F32, x, n, 0) == 0.0);
    free(x);
}

TEST(k_quant_search_beats_round_to_nearest) {
    static const tlm_type kt[] = {TLM_TYPE_Q2_K, TLM_TYPE_Q3_K, TLM_TYPE_Q4_K, TLM_TYPE_Q5_K,
                                  TLM_TYPE_Q6_K};
    const int64_t n = 256 * 256;
    float *x = malloc(n * sizeof(float));
    for (int dist = 0; dist < 2; dist++) {
        fill_gauss(x, n, 99 + (uint64_t)dist);
        if (dist == 1) /* heavier tails: Gaussian cubed, like outlier-prone weights */
            for (int64_t i = 0; i < n; i++)
                x[i] = x[i] * x[i] * x[i];
        for (size_t k = 0; k < sizeof kt / sizeof kt[0]; k++) {
            double es = rel_rms_error(kt[k], x, n, 0), ep = rel_rms_error(kt[k], x, n, 1);
            fprintf(stderr, "  %-5s %s: search %.4f%%  round-to-nearest %.4f%%\n",
                    tlm_type_info(kt[k])->name, dist ? "cubed" : "gauss", 100 * es, 100 * ep);
            ASSERT_MSG(es < 0.985 * ep, "%s: search %.5f vs plain %.5f", tlm_type_info(kt[k])->name,
                       es, ep);
        }
    }
    free(x);
}

TEST(degenerate_blocks_stay_finite) {
    float x[512], y[512];
    uint8_t q[512 * 4];
    for (size_t t = 0; t < sizeof weight_types / sizeof weight_types[0]; t++) {
        tlm_type ty = weight_types[t];
        for (int kind = 0; kind < 5; kind++) {
            for (int i = 0; i < 512; i++) {
                x[i] = kind == 0   ? 0.0f
                       : kind == 1 ? 3.0f
                       : kind == 2 ? -0.75f
                       : kind == 3 ? (i == 17 ? 1000.0f : 1e-3f * (float)(i % 5))
                                   : 1e-30f * (float)i;
            }
            tlm_quantize_row(ty, x, q, 512);
            tlm_dequantize_row(ty, q, y, 512);
            for (int i = 0; i < 512; i++) {
                ASSERT_MSG(isfinite(y[i]), "%s kind %d element %d not finite",
                           tlm_type_info(ty)->name, kind, i);
                /* Constant blocks come back within f16 scale precision. */
                if (kind <= 2) ASSERT_NEAR(y[i], x[i], fabsf(x[i]) * 2e-3 + 1e-30);
            }
        }
        /* NaN and Inf in one block must not disturb the next. */
        fill_gauss(x, 512, 5);
        x[3] = NAN, x[4] = INFINITY;
        tlm_quantize_row(ty, x, q, 512);
        tlm_dequantize_row(ty, q, y, 512);
        for (int i = 256; i < 512; i++)
            ASSERT(isfinite(y[i]));
    }
}

/* ---- Reference dot products ---- */

TEST(vec_dot_ref_equals_dot_of_dequantized_rows) {
    static const int64_t lens_legacy[] = {32, 896, 4864};
    static const int64_t lens_k[] = {256, 4864};
    static const int64_t lens_float[] = {1, 7, 896};
    float *x = malloc(4864 * sizeof(float)), *y = malloc(4864 * sizeof(float));
    float *dx = malloc(4864 * sizeof(float)), *dy = malloc(4864 * sizeof(float));
    uint8_t *qx = malloc(4864 * 4), *qy = malloc(4864 * 4);
    for (size_t t = 0; t < sizeof weight_types / sizeof weight_types[0]; t++) {
        tlm_type ty = weight_types[t];
        const tlm_quant_traits *tr = tlm_quant_info(ty);
        uint32_t blck = tlm_type_info(ty)->blck;
        const int64_t *lens = blck == 1 ? lens_float : blck == 32 ? lens_legacy : lens_k;
        int nl = blck == 256 ? 2 : 3;
        for (int li = 0; li < nl; li++) {
            int64_t n = lens[li];
            fill_gauss(x, n, 1000 + (uint64_t)n);
            fill_gauss(y, n, 2000 + (uint64_t)n);
            for (int64_t i = 0; i < n; i++)
                y[i] += 0.3f; /* non-zero mean exercises the mins */
            tlm_quantize_row(ty, x, qx, n);
            tlm_quantize_row(tr->vec_dot_type, y, qy, n);
            tlm_dequantize_row(ty, qx, dx, n);
            tlm_dequantize_row(tr->vec_dot_type, qy, dy, n);
            double ref = 0, mag = 0, sbound = 0;
            for (int64_t i = 0; i < n; i++) {
                ref += (double)dx[i] * dy[i];
                mag += fabs((double)dx[i] * dy[i]);
            }
            if (tr->vec_dot_type == TLM_TYPE_Q8_1) {
                /* Q8_1 stores s = d*sum(q) as f16, so the min term carries
                 * up to half an f16 ulp (2^-11 relative) per block. */
                const uint8_t *w = qx;
                const tlm_block_q8_1 *a = (const tlm_block_q8_1 *)qy;
                size_t bsz = tlm_type_info(ty)->size;
                for (int64_t b = 0; b < n / 32; b++) {
                    float m = tlm_f16_to_f32(((const tlm_f16 *)(w + b * bsz))[1]);
                    sbound += fabs(m * tlm_f16_to_f32(a[b].s)) * 0x1p-11;
                }
            }
            float got = tr->vec_dot_ref(n, qx, qy);
            ASSERT_MSG(fabs(got - ref) <= 1e-5 * mag + sbound + 1e-30,
                       "%s n=%lld: %.9g vs %.9g (mag %.3g)", tlm_type_info(ty)->name, (long long)n,
                       got, ref, mag);
        }
    }
    free(x), free(y), free(dx), free(dy), free(qx), free(qy);
}

TEST(q8_1_sum_field) {
    float x[64];
    fill_gauss(x, 64, 77);
    tlm_block_q8_1 b[2];
    tlm_quantize_row(TLM_TYPE_Q8_1, x, b, 64);
    for (int k = 0; k < 2; k++) {
        int s = 0;
        for (int j = 0; j < 32; j++)
            s += b[k].qs[j];
        /* d is rounded to f16 after s is formed from the float d. */
        ASSERT_NEAR(tlm_f16_to_f32(b[k].s), tlm_f16_to_f32(b[k].d) * (float)s,
                    fabsf(tlm_f16_to_f32(b[k].s)) * 2e-3);
    }
}

TEST_MAIN(TEST_ENTRY(traits_pair_each_weight_type_with_its_activation_type),
          TEST_ENTRY(f16_all_65536_decode_exactly_and_round_trip),
          TEST_ENTRY(f16_rounds_to_nearest_even_at_every_midpoint),
          TEST_ENTRY(f16_matches_bisection_reference_on_random_floats),
          TEST_ENTRY(bf16_round_trip_and_nearest_even), TEST_ENTRY(layout_legacy_blocks),
          TEST_ENTRY(layout_q4_K_scales_mins_and_nibble_order), TEST_ENTRY(layout_q5_K_high_bits),
          TEST_ENTRY(layout_q6_K_element_order), TEST_ENTRY(layout_q3_K_scales_hmask_and_order),
          TEST_ENTRY(layout_q2_K_scales_mins_and_order),
          TEST_ENTRY(legacy_quantizers_follow_the_reference_formulas),
          TEST_ENTRY(q8_K_reference_sign_rounding_and_bsums),
          TEST_ENTRY(quantize_dequantize_error_within_table),
          TEST_ENTRY(k_quant_search_beats_round_to_nearest),
          TEST_ENTRY(degenerate_blocks_stay_finite),
          TEST_ENTRY(vec_dot_ref_equals_dot_of_dequantized_rows), TEST_ENTRY(q8_1_sum_field))
