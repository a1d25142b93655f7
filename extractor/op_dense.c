/* op_dense.c — fully connected layer: y (n, out) = x (n, in) @ W (in, out) + b, fused act.
 *
 * It is: the GEMM path and its naive reference. It is not: flattening (a no-op on NHWC memory).
 */
#include "xf_internal.h"

static void bias_act(const xf_node *nd, float *y, int n)
{
    int64_t c = nd->cout;
    if (nd->bias)
        for (int64_t r = 0; r < (int64_t) n; r++)
            for (int64_t j = 0; j < c; j++)
                y[r * c + j] += nd->bias[j];
    xf__act_apply(y, (size_t) n * (size_t) c, nd->act);
}

void xf__dense(const xf_node *nd, const float *x, int n, int64_t in, float *y)
{
    /* one row at a time: the same BLAS path for any batch size (bit-identical results) */
    for (int r = 0; r < n; r++)
        xf__sgemm(1, nd->cout, in, x + (size_t) r * (size_t) in, nd->weight,
                  y + (size_t) r * (size_t) nd->cout, 0);
    bias_act(nd, y, n);
}

void xf__dense_ref(const xf_node *nd, const float *x, int n, int64_t in, float *y)
{
    for (int64_t r = 0; r < (int64_t) n; r++)
        for (int64_t j = 0; j < nd->cout; j++) {
            double s = 0;
            for (int64_t i = 0; i < in; i++)
                s += (double) x[r * in + i] * (double) nd->weight[i * nd->cout + j];
            y[r * nd->cout + j] = (float) s;
        }
    bias_act(nd, y, n);
}

/* dy after the activation has been undone. */
void xf__dense_backward(const xf_node *nd, const float *x, int n, int64_t in, const float *dy,
                        float *dx, float *dw, float *db)
{
    if (db)
        for (int64_t r = 0; r < (int64_t) n; r++)
            for (int64_t j = 0; j < nd->cout; j++)
                db[j] += dy[r * nd->cout + j];
    if (dw)
        xf__sgemm_t(1, 0, in, nd->cout, n, x, dy, dw, 1); /* x^T dy */
    if (dx)
        xf__sgemm_t(0, 1, n, in, nd->cout, dy, nd->weight, dx, 0); /* dy W^T */
}
