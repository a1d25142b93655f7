/* op_dense.c — fully connected layer: y (n, out) = x (n, in) @ W (in, out) + b, fused act.
 *
 * It is: the GEMM path (one row at a time, so any batch gives the same bits), its backward
 * pass, a double-precision reference and the dense descriptor. It is not: flattening (a no-op
 * on NHWC memory: a dense layer reads its input map as one row per image).
 */
#include "conv_kernel.h"
#include "cpu.h"
#include "gemm.h"
#include "ops.h"

void xf__dense(const xf_node *nd, const float *x, int n, int64_t in, float *y)
{
    if (xf__isa() == XF_ISA_AVX512) { /* a 1x1 convolution of one pixel per image */
        const float *xp[64];
        for (int r0 = 0; r0 < n; r0 += 64) {
            int rows = n - r0 < 64 ? n - r0 : 64;
            for (int r = 0; r < rows; r++)
                xp[r] = x + (size_t) (r0 + r) * (size_t) in;
            xf_kconv k = {.taps = 1, .cg = in, .n = nd->cout, .bias = nd->bias, .act = nd->act};
            xf__kconv_weights(&k, nd->weight, nd->cout, nd->packed);
            xf__kconv_rows(&k, rows, xp, y + (size_t) r0 * (size_t) nd->cout, nd->cout);
        }
        return;
    }
    for (int r = 0; r < n; r++)
        xf__sgemm(1, nd->cout, in, x + (size_t) r * (size_t) in, nd->weight,
                  y + (size_t) r * (size_t) nd->cout, 0);
    xf__bias_act_rows(y, n, nd->cout, nd->bias, nd->act);
}

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

/* ---- descriptor ---- */
static int64_t in_len(const xf_graph *g, const xf_node *nd)
{
    const xf_node *x = &g->nodes[nd->in[0]];
    return x->h * x->w * x->c;
}

static xf_status dense_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    (void) g;
    if (nd->cout < 1)
        return xf__node_shape_err(err, nd, "needs cout=");
    nd->h = nd->w = 1;
    nd->c = nd->cout;
    return XF_OK;
}

static int dense_weight_shape(const xf_graph *g, const xf_node *nd, int64_t *shape)
{
    shape[0] = in_len(g, nd), shape[1] = nd->cout;
    return 2;
}

static void dense_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                          int n, float *scratch)
{
    (void) scratch;
    xf__dense(nd, x[0], n, in_len(g, nd), y);
}

static void dense_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                              int n)
{
    int64_t in = in_len(g, nd);
    for (int64_t r = 0; r < (int64_t) n; r++)
        for (int64_t j = 0; j < nd->cout; j++) {
            double s = nd->bias ? (double) nd->bias[j] : 0;
            for (int64_t i = 0; i < in; i++)
                s += (double) x[0][r * in + i] * (double) nd->weight[i * nd->cout + j];
            y[r * nd->cout + j] = (float) xf__act_ref(s, nd->act);
        }
}

static void dense_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                           const float *y, const float *dy, float *const *dx, int n, float *scratch,
                           float *dw, float *db)
{
    (void) y, (void) scratch;
    xf__dense_backward(nd, x[0], n, in_len(g, nd), dy, dx[0], dw, db);
}

const xf_op_def xf__op_dense = {
    .name = "dense",
    .n_in = 1,
    .attrs = XF_ATTR_COUT | XF_ATTR_ACT,
    .shown = XF_ATTR_COUT,
    .bias = 1,
    .own_act = 1,
    .fold_affine = 1,
    .infer = dense_infer,
    .weight_shape = dense_weight_shape,
    .forward = dense_forward,
    .forward_ref = dense_forward_ref,
    .backward = dense_backward,
};
