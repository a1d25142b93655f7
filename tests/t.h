/* t.h — the test harness: checks that count and report, one line per failure.
 * It is: T_CHECK, T_NEAR, T_SKIP, t_done() and t_path() (files under $XF_TEST_DIR, which the
 * Makefile sets to the build's own tests folder, so variant builds never share fixtures). It is
 * not: a framework; each test is a program whose last stdout line is "N passed, N failed"
 * (tests/run.sh sums them).
 */
#ifndef XF_T_H
#define XF_T_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int t_pass, t_fail, t_skip;

#define T_CHECK(c)                                              \
    do {                                                        \
        if (c) {                                                \
            t_pass++;                                           \
        } else {                                                \
            t_fail++;                                           \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
        }                                                       \
    } while (0)

#define T_CHECKF(c, ...)                                        \
    do {                                                        \
        if (c) {                                                \
            t_pass++;                                           \
        } else {                                                \
            t_fail++;                                           \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #c); \
            printf(__VA_ARGS__);                                \
            printf("\n");                                       \
        }                                                       \
    } while (0)

#define T_NEAR(a, b, atol, rtol)                                                       \
    T_CHECKF(fabs((double) (a) - (double) (b)) <= (atol) + (rtol) *fabs((double) (b)), \
             "%.9g vs %.9g", (double) (a), (double) (b))

#define T_SKIP(...)          \
    do {                     \
        t_skip++;            \
        printf("SKIP ");     \
        printf(__VA_ARGS__); \
        printf("\n");        \
    } while (0)

/* The test fixtures' folder: $XF_TEST_DIR, else build/tests. */
static inline const char *t_dir(void)
{
    const char *d = getenv("XF_TEST_DIR");
    return d && *d ? d : "build/tests";
}

/* t_dir()/name, in one of 8 rotating buffers (enough for any one call's arguments). */
static inline const char *t_path(const char *name)
{
    static char buf[8][4096];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", t_dir(), name);
    return buf[k];
}

static int t_done(void)
{
    if (t_skip)
        printf("%d passed, %d failed, %d skipped\n", t_pass, t_fail, t_skip);
    else
        printf("%d passed, %d failed\n", t_pass, t_fail);
    return t_fail != 0;
}

/* Relative L2 distance ||a - b|| / ||b||. */
static inline double t_rel_l2(const float *a, const double *b, int n)
{
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        num += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-30);
}

#endif
