/* neighbours.c — exact k-nearest neighbours by cosine similarity (see audit.h).
 *
 * Blocks of 512 query rows against blocks of 2048 reference rows: one matrix product per pair of
 * blocks on the raw features, divided by the two rows' norms, and a running top-k per query row.
 * Memory: the two norm vectors and one 4 MiB block, whatever the number of rows. It is not: an
 * approximate index (every pair is compared).
 */
#include "audit.h"
#include "gemm.h"

#include <math.h>
#include <string.h>

#define BQ 512
#define BR 2048

static float *norms(const float *X, size_t n, int d)
{
    float *r = malloc((n + 1) * sizeof *r);
    for (size_t i = 0; r && i < n; i++) {
        double s = 0;
        for (int j = 0; j < d; j++)
            s += (double) X[i * (size_t) d + (size_t) j] * (double) X[i * (size_t) d + (size_t) j];
        r[i] = s > 0 ? (float) sqrt(s) : 1.0f;
    }
    return r;
}

/* keeps the k best (sim descending) of row q */
static void offer(long *idx, float *sim, int k, long j, float s)
{
    if (s <= sim[k - 1] && idx[k - 1] >= 0)
        return;
    int p = k - 1;
    while (p > 0 && (idx[p - 1] < 0 || sim[p - 1] < s)) {
        idx[p] = idx[p - 1], sim[p] = sim[p - 1];
        p--;
    }
    idx[p] = j, sim[p] = s;
}

xf_status xf__knn(const float *Q, size_t nq, const float *R, size_t nr, int d, int k, int same,
                  const xf_audit_opts *o, long *idx, float *sim, xf_error *err)
{
    float *nqv = norms(Q, nq, d), *nrv = same ? nqv : norms(R, nr, d);
    float *S = malloc((size_t) BQ * BR * sizeof(float));
    if (!nqv || !nrv || !S) {
        free(S), free(nqv);
        if (!same)
            free(nrv);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory for the neighbour search");
    }
    for (size_t i = 0; i < nq * (size_t) k; i++)
        idx[i] = -1, sim[i] = -2.0f;
    xf__blas_threads(o->threads > 0 ? o->threads : 1);
    for (size_t q0 = 0; q0 < nq; q0 += BQ) {
        size_t bq = nq - q0 < BQ ? nq - q0 : BQ;
        for (size_t r0 = 0; r0 < nr; r0 += BR) {
            size_t br = nr - r0 < BR ? nr - r0 : BR;
            xf__sgemm_gen(0, 1, (int64_t) bq, (int64_t) br, d, Q + q0 * (size_t) d, d,
                          R + r0 * (size_t) d, d, S, (int64_t) br, 0);
            for (size_t a = 0; a < bq; a++) {
                long *ix = idx + (q0 + a) * (size_t) k;
                float *sm = sim + (q0 + a) * (size_t) k, inv = 1.0f / nqv[q0 + a];
                for (size_t b = 0; b < br; b++) {
                    if (same && q0 + a == r0 + b)
                        continue;
                    offer(ix, sm, k, (long) (r0 + b), S[a * br + b] * inv / nrv[r0 + b]);
                }
            }
        }
        if (o->progress)
            o->progress(o->user, "rows", q0 + bq, nq);
    }
    free(S), free(nqv);
    if (!same)
        free(nrv);
    return XF_OK;
}
