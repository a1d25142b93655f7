/* gemm.c — xf__sgemm(): row-major single-precision matrix product.
 *
 * It is: the one place that calls BLAS (cblas_sgemm from OpenBLAS), or plain loops when built
 * with BLAS=0 (XF_NO_BLAS). It is not: a tuned kernel; small fused kernels live with their ops.
 */
#include "xf_internal.h"

#ifndef XF_NO_BLAS
#include <cblas.h>
#endif

void xf__sgemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c,
               int accumulate)
{
#ifndef XF_NO_BLAS
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint) m, (blasint) n, (blasint) k,
                1.0f, a, (blasint) k, b, (blasint) n, accumulate ? 1.0f : 0.0f, c, (blasint) n);
#else
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * n;
        if (!accumulate)
            for (int64_t j = 0; j < n; j++)
                ci[j] = 0;
        for (int64_t p = 0; p < k; p++) {
            float av = a[i * k + p];
            const float *bp = b + p * n;
            for (int64_t j = 0; j < n; j++)
                ci[j] += av * bp[j];
        }
    }
#endif
}

void xf__sgemm_t(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                 float *c, int accumulate)
{
    int64_t lda = ta ? m : k, ldb = tb ? k : n;
#ifndef XF_NO_BLAS
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint) m, (blasint) n, (blasint) k, 1.0f, a, (blasint) lda, b, (blasint) ldb,
                accumulate ? 1.0f : 0.0f, c, (blasint) n);
#else
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * n + j] : 0.0f;
            for (int64_t p = 0; p < k; p++)
                s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * n + j] = s;
        }
#endif
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

void xf__sgemm_gen(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate)
{
#ifndef XF_NO_BLAS
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint) m, (blasint) n, (blasint) k, 1.0f, a, (blasint) lda, b, (blasint) ldb,
                accumulate ? 1.0f : 0.0f, c, (blasint) ldc);
#else
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float s = accumulate ? c[i * ldc + j] : 0.0f;
            for (int64_t p = 0; p < k; p++)
                s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = s;
        }
#endif
}
