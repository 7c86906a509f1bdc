/*
 * test_passk.c - the unbiased pass@k estimator against exact combinatorics:
 * 1 - C(n-c, k) / C(n, k) with the binomials computed exactly in 128-bit
 * integers, closed forms for large n, and the human-eval reporting rule.
 */
#include "eval/eval.h"
#include "test.h"

typedef unsigned __int128 u128;

/* Exact C(n, k): each partial product C(n, i+1) = C(n, i) * (n-i) / (i+1)
 * is an integer, so the division is exact. */
static u128 binom(int n, int k) {
    if (k < 0 || k > n) return 0;
    u128 r = 1;
    for (int i = 0; i < k; i++) r = r * (u128)(n - i) / (u128)(i + 1);
    return r;
}

static double exact_pass_at_k(int n, int c, int k) {
    u128 num = binom(n - c, k), den = binom(n, k);
    return (double)(1.0L - (long double)num / (long double)den);
}

TEST(matches_exact_binomials) {
    int checked = 0;
    for (int n = 1; n <= 100; n++)
        for (int c = 0; c <= n; c++)
            for (int k = 1; k <= n; k += (n > 40 ? 7 : 1)) {
                double want = exact_pass_at_k(n, c, k), got = tlm_eval_pass_at_k(n, c, k);
                ASSERT_MSG(fabs(want - got) <= 1e-12, "n=%d c=%d k=%d: %.17g vs exact %.17g", n, c,
                           k, got, want);
                checked++;
            }
    ASSERT(checked > 50000);
}

TEST(known_values) {
    ASSERT_NEAR(tlm_eval_pass_at_k(2, 1, 1), 0.5, 0);
    ASSERT_NEAR(tlm_eval_pass_at_k(10, 3, 5), 11.0 / 12.0, 1e-15); /* 1 - 21/252 */
    ASSERT_NEAR(tlm_eval_pass_at_k(5, 0, 1), 0.0, 0);
    ASSERT_NEAR(tlm_eval_pass_at_k(5, 5, 5), 1.0, 0);
    ASSERT_NEAR(tlm_eval_pass_at_k(10, 8, 3), 1.0, 0); /* only 2 failures: any 3 hold a pass */
    ASSERT_NEAR(tlm_eval_pass_at_k(20, 7, 1), 7.0 / 20.0, 1e-15);
}

/* Where the binomials themselves overflow a double, closed forms still hold:
 * c = 1 gives k/n, c = 2 gives 1 - (n-k)(n-k-1) / (n(n-1)). */
TEST(large_n_closed_forms) {
    int n = 5000;
    for (int k = 1; k <= 1000; k += 37) {
        ASSERT_NEAR(tlm_eval_pass_at_k(n, 1, k), (double)k / n, 1e-12);
        double two = 1.0 - (double)(n - k) * (n - k - 1) / ((double)n * (n - 1));
        ASSERT_NEAR(tlm_eval_pass_at_k(n, 2, k), two, 1e-12);
    }
}

TEST(invalid_inputs_are_nan) {
    ASSERT(isnan(tlm_eval_pass_at_k(3, 1, 4))); /* fewer samples than k */
    ASSERT(isnan(tlm_eval_pass_at_k(3, 4, 1))); /* more passes than samples */
    ASSERT(isnan(tlm_eval_pass_at_k(3, -1, 1)));
    ASSERT(isnan(tlm_eval_pass_at_k(3, 1, 0)));
}

TEST(mean_needs_k_samples_everywhere) {
    int n[] = {10, 10, 10}, c[] = {0, 5, 10};
    double want = (0.0 + exact_pass_at_k(10, 5, 3) + 1.0) / 3.0;
    ASSERT_NEAR(tlm_eval_pass_at_k_mean(n, c, 3, 3), want, 1e-15);
    ASSERT_NEAR(tlm_eval_pass_at_k_mean(n, c, 3, 1), 0.5, 1e-15);
    int n2[] = {10, 2, 10};
    ASSERT(isnan(tlm_eval_pass_at_k_mean(n2, c, 3, 3)));
    ASSERT(!isnan(tlm_eval_pass_at_k_mean(n2, (int[]){0, 1, 10}, 3, 2)));
    ASSERT(isnan(tlm_eval_pass_at_k_mean(n, c, 0, 1)));
}

TEST_MAIN(TEST_ENTRY(matches_exact_binomials), TEST_ENTRY(known_values),
          TEST_ENTRY(large_n_closed_forms), TEST_ENTRY(invalid_inputs_are_nan),
          TEST_ENTRY(mean_needs_k_samples_everywhere))
