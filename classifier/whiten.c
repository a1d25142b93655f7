/* whiten.c — PCA and ZCA whitening learned on training features (train-classifier --whiten).
 *
 * It is: the covariance of the centred rows (one GEMM), its eigen-decomposition through gemm.c
 * (LAPACK's ssyevd), and the map z = (x - mean) . M with M (d, d_out): PCA keeps the top
 * d_out components scaled to unit variance; ZCA rotates those back (d_out = d, rank dims).
 * The map is linear, so train.c folds it into the classifier weights. It is not: applied at
 * inference (the stored head already contains it).
 */
#include "gemm.h"
#include "train.h"

#include <math.h>
#include <string.h>

xf_status xf__whiten_fit(const float *X, size_t n, int d, int dims, int zca, float **map,
                         float **mean, int *d_out, xf_error *err)
{
    *map = *mean = NULL;
    if (dims < 1 || dims > d)
        return xf__fail(err, XF_ERR_ARG, "--dims %d outside 1..%d (the feature dimension)", dims,
                        d);
    if (n < 2)
        return xf__fail(err, XF_ERR_ARG, "whitening needs at least two rows");
    size_t dd = (size_t) d * (size_t) d;
    float *mu = calloc((size_t) d, sizeof(float)), *xt = malloc(n * (size_t) d * sizeof(float));
    float *xc = malloc(n * (size_t) d * sizeof(float)), *cov = malloc(dd * sizeof(float));
    float *ev = malloc((size_t) d * sizeof(float)), *m = NULL;
    xf_status s = XF_OK;
    if (!mu || !xt || !xc || !cov || !ev) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory for a %d x %d covariance", d, d);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            mu[j] += X[i * (size_t) d + (size_t) j] / (float) n;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            float v = X[i * (size_t) d + (size_t) j] - mu[j];
            xc[i * (size_t) d + (size_t) j] = v;
            xt[(size_t) j * n + i] = v;
        }
    xf__sgemm(d, d, (int64_t) n, xt, xc, cov, 0); /* (d, n) . (n, d) */
    for (size_t i = 0; i < dd; i++)
        cov[i] /= (float) n;
    if ((s = xf__ssyevd(d, cov, ev, err)))
        goto done;
    /* eigenvalues ascending; eigenvector j is cov[j*d .. j*d+d) (column-major columns) */
    float eps = 1e-6f * (ev[d - 1] > 0 ? ev[d - 1] : 1.0f); /* guards near-zero variances */
    *d_out = zca ? d : dims;
    m = calloc((size_t) d * (size_t) *d_out, sizeof(float));
    if (!m) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < dims; k++) {
        int e = d - 1 - k; /* k-th largest */
        const float *v = cov + (size_t) e * (size_t) d;
        float scale = 1.0f / sqrtf((ev[e] > 0 ? ev[e] : 0) + eps);
        for (int j = 0; j < d; j++) {
            if (!zca) {
                m[(size_t) j * (size_t) dims + (size_t) k] = v[j] * scale;
            } else {
                for (int i = 0; i < d; i++) /* M = V diag V^T */
                    m[(size_t) j * (size_t) d + (size_t) i] += v[j] * scale * v[i];
            }
        }
    }
    *map = m;
    *mean = mu;
    m = mu = NULL;
done:
    free(m);
    free(mu);
    free(xt);
    free(xc);
    free(cov);
    free(ev);
    return s;
}
