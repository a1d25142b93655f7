/* gemm.c — xf__sgemm(): row-major single-precision matrix product.
 *
 * It is: the one place that calls BLAS (cblas_sgemm from OpenBLAS), or plain loops when built
 * with BLAS=0 (XF_NO_BLAS); xf__sgemm and xf__sgemm_t are the contiguous cases of
 * xf__sgemm_gen. It is not: a tuned kernel; small fused kernels live with their ops.
 */
#include "xf_internal.h"

#ifndef XF_NO_BLAS
#include <cblas.h>
#endif

void xf__sgemm_gen(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate)
{
#ifndef XF_NO_BLAS
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint) m, (blasint) n, (blasint) k, 1.0f, a, (blasint) lda, b, (blasint) ldb,
                accumulate ? 1.0f : 0.0f, c, (blasint) ldc);
#else
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
