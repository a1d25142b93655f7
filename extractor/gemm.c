/* gemm.c — the one place that calls BLAS and LAPACK (OpenBLAS): sgemm with leading dimensions
 * and ssyevd, or plain loops when built with BLAS=0 (XF_NO_BLAS; no eigen-decomposition then).
 *
 * It is: xf__sgemm_gen and its contiguous cases, the reference loops and a Jacobi
 * eigen-decomposition (always built: the tests compare the BLAS and LAPACK paths against them,
 * and a BLAS=0 build runs on them), the process's BLAS thread count. It is not: a tuned
 * kernel; fused convolution kernels live with their ops.
 */
#include "gemm.h"

#include <math.h>

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

/* cyclic Jacobi rotations in double until the off-diagonal mass is negligible */
xf_status xf__ssyevd_ref(int d, float *a, float *w, xf_error *err)
{
    size_t dd = (size_t) d * (size_t) d;
    double *A = malloc(dd * sizeof(double)), *V = calloc(dd, sizeof(double));
    int *ord = malloc((size_t) d * sizeof(int));
    if (!A || !V || !ord) {
        free(A), free(V), free(ord);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory for the eigen-decomposition");
    }
    for (size_t i = 0; i < dd; i++)
        A[i] = (double) a[i];
    for (int i = 0; i < d; i++)
        V[(size_t) i * (size_t) d + (size_t) i] = 1;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int p = 0; p < d; p++)
            for (int q = 0; q < d; q++)
                *(p == q ? &diag : &off) += A[(size_t) p * d + q] * A[(size_t) p * d + q];
        if (off <= 1e-30 * (diag + 1e-300))
            break;
        for (int p = 0; p < d; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = A[(size_t) p * d + q];
                if (apq == 0)
                    continue;
                double app = A[(size_t) p * d + p], aqq = A[(size_t) q * d + q];
                double theta = (aqq - app) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), sn = t * c;
                for (int k = 0; k < d; k++) { /* A <- A J */
                    double akp = A[(size_t) k * d + p], akq = A[(size_t) k * d + q];
                    A[(size_t) k * d + p] = c * akp - sn * akq;
                    A[(size_t) k * d + q] = sn * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* A <- J^T A */
                    double apk = A[(size_t) p * d + k], aqk = A[(size_t) q * d + k];
                    A[(size_t) p * d + k] = c * apk - sn * aqk;
                    A[(size_t) q * d + k] = sn * apk + c * aqk;
                }
                for (int k = 0; k < d; k++) { /* V <- V J */
                    double vkp = V[(size_t) k * d + p], vkq = V[(size_t) k * d + q];
                    V[(size_t) k * d + p] = c * vkp - sn * vkq;
                    V[(size_t) k * d + q] = sn * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < d; i++)
        ord[i] = i;
    for (int i = 1; i < d; i++) /* ascending eigenvalues, as LAPACK gives them */
        for (int j = i; j > 0; j--) {
            double x = A[(size_t) ord[j] * d + ord[j]], y = A[(size_t) ord[j - 1] * d + ord[j - 1]];
            if (x >= y)
                break;
            int tmp = ord[j];
            ord[j] = ord[j - 1], ord[j - 1] = tmp;
        }
    for (int i = 0; i < d; i++) {
        w[i] = (float) A[(size_t) ord[i] * d + ord[i]];
        for (int k = 0; k < d; k++) /* row i: eigenvector i, column ord[i] of V */
            a[(size_t) i * d + k] = (float) V[(size_t) k * d + ord[i]];
    }
    free(A), free(V), free(ord);
    return XF_OK;
}

xf_status xf__ssyevd(int d, float *a, float *w, xf_error *err)
{
#ifdef XF_NO_BLAS
    return xf__ssyevd_ref(d, a, w, err);
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
