/* gemm.h — dense linear algebra: single-precision matrix products and the symmetric
 * eigen-decomposition, the only calls into BLAS/LAPACK (OpenBLAS), with plain-loop references
 * (used when built with BLAS=0).
 * It is: the interface of gemm.c. It is not: the convolution kernels.
 */
#ifndef XF_GEMM_H
#define XF_GEMM_H

#include "base.h"

/* C (m, n) = op(A) @ op(B) [+ C if accumulate], row-major with leading dimensions (row strides)
 * lda, ldb, ldc; op transposes when ta / tb (A stored as (k, m), B as (n, k)). */
void xf__sgemm_gen(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate);
/* C (m, n) = A (m, k) @ B (k, n) [+ C if accumulate]; row-major, contiguous. */
void xf__sgemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c,
               int accumulate);
/* The same with A (m, k) stored transposed when ta (as (k, m)) and B (k, n) when tb (as (n, k)). */
void xf__sgemm_t(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                 float *c, int accumulate);
/* The reference loops, whatever the build (the tests compare BLAS against them). */
void xf__sgemm_ref(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate);
/* BLAS threads of the whole process (OpenBLAS has one pool): 1 while several sessions run. */
void xf__blas_threads(int n);

/* Eigen-decomposition of the symmetric matrix a (d, d): eigenvalues ascending into w (d), the
 * eigenvectors into a (row j = eigenvector j): LAPACK's ssyevd, or the reference in a BLAS=0
 * build. */
xf_status xf__ssyevd(int d, float *a, float *w, xf_error *err);
/* The same by cyclic Jacobi rotations in double (O(d^3) per sweep: the reference). */
xf_status xf__ssyevd_ref(int d, float *a, float *w, xf_error *err);

#endif /* XF_GEMM_H */
