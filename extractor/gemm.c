/* gemm.c — the one place that calls BLAS and LAPACK (OpenBLAS): sgemm with leading dimensions
 * and ssyevd, or plain loops when built with BLAS=0 (XF_NO_BLAS; no eigen-decomposition then).
 *
 * It is: xf__sgemm_gen and its contiguous cases, the reference loops (always built: the tests
 * compare the BLAS path against them), the process's BLAS thread count. It is not: a tuned
 * kernel; fused convolution kernels live with their ops.
 */
#include "gemm.h"

#ifndef XF_NO_BLAS
#include <cblas.h>
#endif

void xf__sgemm_ref(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate)
{
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        if (!accumulate)
            for (int64_t j = 0; j < n; j++)
                ci[j] = 0;
        for (int64_t p = 0; p < k; p++) {
            float av = ta ? a[p * lda + i] : a[i * lda + p];
            for (int64_t j = 0; j < n; j++)
                ci[j] += av * (tb ? b[j * ldb + p] : b[p * ldb + j]);
        }
    }
}

void xf__sgemm_gen(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate)
{
#ifndef XF_NO_BLAS
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint) m, (blasint) n, (blasint) k, 1.0f, a, (blasint) lda, b, (blasint) ldb,
                accumulate ? 1.0f : 0.0f, c, (blasint) ldc);
#else
    xf__sgemm_ref(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
#endif
}

void xf__sgemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c,
               int accumulate)
{
    xf__sgemm_gen(0, 0, m, n, k, a, k, b, n, c, n, accumulate);
}

void xf__sgemm_t(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                 float *c, int accumulate)
{
    xf__sgemm_gen(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, c, n, accumulate);
}

void xf__blas_threads(int n)
{
#ifndef XF_NO_BLAS
    if (n > 0)
        openblas_set_num_threads(n);
#else
    (void) n;
#endif
}

#ifndef XF_NO_BLAS
extern void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
                    float *w, float *work, const int *lwork, int *iwork, const int *liwork,
                    int *info);
#endif

xf_status xf__ssyevd(int d, float *a, float *w, xf_error *err)
{
#ifdef XF_NO_BLAS
    (void) d, (void) a, (void) w;
    return xf__fail(err, XF_ERR_UNSUPPORTED,
                    "eigen-decomposition needs LAPACK (a build with "
                    "OpenBLAS, not BLAS=0)");
#else
    /* a is symmetric, so its row-major and column-major readings agree; LAPACK's column j
     * (eigenvector j) is our row j */
    int nn = d, lwork = -1, liwork = -1, info = 0, iw_query;
    float w_query;
    ssyevd_("V", "U", &nn, a, &nn, w, &w_query, &lwork, &iw_query, &liwork, &info);
    lwork = (int) w_query + 1;
    liwork = iw_query + 1;
    float *work = malloc((size_t) lwork * sizeof(float));
    int *iwork = malloc((size_t) liwork * sizeof(int));
    xf_status s = XF_OK;
    if (!work || !iwork)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory for the eigen-decomposition");
    else if (ssyevd_("V", "U", &nn, a, &nn, w, work, &lwork, iwork, &liwork, &info), info != 0)
        s = xf__fail(err, XF_ERR_VALUE, "eigen-decomposition failed (LAPACK info %d)", info);
    free(work);
    free(iwork);
    return s;
#endif
}
