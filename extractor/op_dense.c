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
