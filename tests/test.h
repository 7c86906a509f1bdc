/*
 * test.h - the unit-test harness: TEST(name) functions registered in a
 * table, ASSERT_* macros that print file, line, the expression and both
 * values, and helpers to find the source tree and shared/ data.
 *
 * Usage:
 *   TEST(round_trip) { ASSERT_EQ(1 + 1, 2); }
 *   TEST_MAIN(TEST_ENTRY(round_trip))
 * A test returns early on its first failed assertion; main() runs them all,
 * prints "N passed, N failed" and exits non-zero on any failure.  Argument 1,
 * when given, runs only the tests whose name contains it.  A test can skip
 * with SKIP("why"); if every test skipped, the exit code is 77 (ctest skip).
 */
#ifndef TLM_TEST_H
#define TLM_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct test_state {
    int failed;
    int skipped;
} test_state;

typedef void (*test_fn)(test_state *);
typedef struct test_entry {
    const char *name;
    test_fn fn;
} test_entry;

#define TEST(name) static void test_##name(test_state *ts_)
#define TEST_ENTRY(name) {#name, test_##name}

#define TEST_FAIL_(...)                                                      \
    do {                                                                     \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                    \
        fprintf(stderr, __VA_ARGS__);                                        \
        fprintf(stderr, "\n");                                               \
        ts_->failed = 1;                                                     \
        return;                                                              \
    } while (0)

#define ASSERT(c)                                                            \
    do {                                                                     \
        if (!(c)) TEST_FAIL_("ASSERT(%s) failed", #c);                       \
    } while (0)

#define ASSERT_MSG(c, ...)                                                   \
    do {                                                                     \
        if (!(c)) TEST_FAIL_(__VA_ARGS__);                                   \
    } while (0)

#define ASSERT_EQ(a, b)                                                      \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ != b_) TEST_FAIL_("ASSERT_EQ(%s, %s): %lld != %lld", #a, #b, a_, b_); \
    } while (0)

#define ASSERT_NE(a, b)                                                      \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ == b_) TEST_FAIL_("ASSERT_NE(%s, %s): both %lld", #a, #b, a_); \
    } while (0)

#define ASSERT_OK(x)                                                         \
    do {                                                                     \
        int s_ = (int)(x);                                                   \
        if (s_ != 0) TEST_FAIL_("ASSERT_OK(%s): status %d", #x, s_);          \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                  \
    do {                                                                     \
        const char *a_ = (a), *b_ = (b);                                     \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                               \
            TEST_FAIL_("ASSERT_STR_EQ(%s, %s): \"%s\" != \"%s\"", #a, #b,    \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");              \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                         \
    do {                                                                     \
        const char *h_ = (hay), *n_ = (needle);                              \
        if (!h_ || !strstr(h_, n_))                                          \
            TEST_FAIL_("ASSERT_CONTAINS(%s, %s): \"%s\" lacks \"%s\"", #hay, \
                       #needle, h_ ? h_ : "(null)", n_);                     \
    } while (0)

#define ASSERT_NEAR(a, b, tol)                                               \
    do {                                                                     \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);       \
        if (!(fabs(a_ - b_) <= t_))                                          \
            TEST_FAIL_("ASSERT_NEAR(%s, %s): %.9g vs %.9g (tol %.3g)", #a, #b, \
                       a_, b_, t_);                                          \
    } while (0)

#define SKIP(why)                                                            \
    do {                                                                     \
        fprintf(stderr, "  skipped: %s\n", why);                             \
        ts_->skipped = 1;                                                    \
        return;                                                              \
    } while (0)

/* Source tree root: $TLM_SOURCE_DIR (set by ctest) or ".". */
static inline const char *test_source_dir(void) {
    const char *s = getenv("TLM_SOURCE_DIR");
    return s && *s ? s : ".";
}

/* Scratch directory path for this process (not created). */
static inline void test_tmp_path_(char *dir, size_t n) {
    const char *b = getenv("TMPDIR");
    snprintf(dir, n, "%s/tlm-test-%d", b && *b ? b : "/tmp", (int)getpid());
}

/* Scratch directory for files a test writes; unique per process. It is
 * removed when every test passed and kept (its path printed) when one
 * failed, so a failure's files can be read. */
static inline const char *test_tmp_dir(void) {
    static char dir[256];
    if (!dir[0]) {
        test_tmp_path_(dir, sizeof dir);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        if (system(cmd) != 0) abort();
    }
    return dir;
}

static inline void test_tmp_cleanup_(int failed) {
    char dir[256], cmd[300];
    test_tmp_path_(dir, sizeof dir);
    if (access(dir, F_OK) != 0) return;
    if (failed) {
        fprintf(stderr, "scratch files kept in %s\n", dir);
        return;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static inline int test_run_all_(const test_entry *tests, int n, int argc, char **argv) {
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
        test_state ts = {0, 0};
        fprintf(stderr, "[ RUN  ] %s\n", tests[i].name);
        tests[i].fn(&ts);
        if (ts.failed) {
            failed++;
            fprintf(stderr, "[ FAIL ] %s\n", tests[i].name);
        } else if (ts.skipped) {
            skipped++;
            fprintf(stderr, "[ SKIP ] %s\n", tests[i].name);
        } else {
            passed++;
            fprintf(stderr, "[  OK  ] %s\n", tests[i].name);
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    test_tmp_cleanup_(failed);
    if (failed) return 1;
    if (passed == 0 && skipped > 0) return 77;
    return 0;
}

#define TEST_MAIN(...)                                                       \
    int main(int argc, char **argv) {                                        \
        static const test_entry tests_[] = {__VA_ARGS__};                    \
        return test_run_all_(tests_, (int)(sizeof tests_ / sizeof tests_[0]), argc, argv); \
    }

#endif /* TLM_TEST_H */
