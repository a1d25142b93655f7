/* op_norm.c — normalisation per pixel over channels: layer norm, and the per-channel affine of
 * a batch norm kept apart from its conv (xfer-convert --keep-bn), with backward passes,
 * references and the layernorm/affine descriptors.
 * It is: NHWC kernels where a row is one pixel's C channels (rows = images * pixels). It is
 * not: batch-norm statistics (folded or fixed at conversion).
 */
#include "ops.h"

#include <math.h>
#include <string.h>

/* mean and 1 / sqrt(biased variance + eps) of one row, in double */
static void row_moments(const float *xr, int64_t c, float eps, double *mean, double *inv)
{
    double m = 0, var = 0;
    for (int64_t j = 0; j < c; j++)
        m += (double) xr[j];
    m /= (double) c;
    for (int64_t j = 0; j < c; j++)
        var += ((double) xr[j] - m) * ((double) xr[j] - m);
    *mean = m;
    *inv = 1.0 / sqrt(var / (double) c + (double) eps);
}

void xf__layernorm(const xf_node *nd, const float *x, int64_t rows, int64_t c, float *y)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        double mean, dinv;
        row_moments(xr, c, nd->eps, &mean, &dinv);
        float inv = (float) dinv, mu = (float) mean;
        for (int64_t j = 0; j < c; j++)
            yr[j] = (xr[j] - mu) * inv * nd->weight[j] + (nd->bias ? nd->bias[j] : 0.0f);
    }
    xf__act_apply(y, (size_t) (rows * c), nd->act);
}

/* With xhat = (x - mean) * inv and g = dy * w: dx = inv * (g - mean(g) - xhat * mean(g * xhat)). */
void xf__layernorm_backward(const xf_node *nd, const float *x, int64_t rows, int64_t c,
                            const float *dy, float *dx, float *dw, float *db)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * c, *gr = dy + r * c;
        double mean, inv, mg = 0, mgx = 0;
        row_moments(xr, c, nd->eps, &mean, &inv);
        for (int64_t j = 0; j < c; j++) {
            double xh = ((double) xr[j] - mean) * inv, g = (double) gr[j] * (double) nd->weight[j];
            if (dw)
                dw[j] += (float) ((double) gr[j] * xh);
            if (db)
                db[j] += gr[j];
            mg += g;
            mgx += g * xh;
        }
        mg /= (double) c;
        mgx /= (double) c;
        for (int64_t j = 0; dx && j < c; j++) {
            double xh = ((double) xr[j] - mean) * inv, g = (double) gr[j] * (double) nd->weight[j];
            dx[r * c + j] = (float) (inv * (g - mg - xh * mgx));
        }
    }
}

void xf__affine(const xf_node *nd, const float *x, int64_t rows, int64_t c, float *y)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < c; j++)
            y[r * c + j] = x[r * c + j] * nd->weight[j] + (nd->bias ? nd->bias[j] : 0.0f);
    xf__act_apply(y, (size_t) (rows * c), nd->act);
}

void xf__affine_backward(const xf_node *nd, const float *x, int64_t rows, int64_t c,
                         const float *dy, float *dx, float *dw, float *db)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < c; j++) {
            float g = dy[r * c + j];
            if (dx)
                dx[r * c + j] = g * nd->weight[j];
            if (dw)
                dw[j] += g * x[r * c + j];
            if (db)
                db[j] += g;
        }
}

/* ---- descriptors ---- */
static int per_channel_shape(const xf_graph *g, const xf_node *nd, int64_t *shape)
{
    shape[0] = g->nodes[nd->in[0]].c;
    return 1;
}

static xf_status layernorm_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    if (!(nd->eps > 0))
        return xf__node_shape_err(err, nd, "needs eps=");
    const xf_node *x = &g->nodes[nd->in[0]];
    nd->h = x->h, nd->w = x->w, nd->c = x->c;
    return XF_OK;
}

static void layernorm_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                              int n, float *scratch)
{
    (void) g, (void) scratch;
    xf__layernorm(nd, x[0], n * nd->h * nd->w, nd->c, y);
}

static void layernorm_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                                  float *y, int n)
{
    (void) g;
    int64_t rows = (int64_t) n * nd->h * nd->w, c = nd->c;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x[0] + r * c;
        double m = 0, v = 0;
        for (int64_t j = 0; j < c; j++)
            m += (double) xr[j];
        m /= (double) c;
        for (int64_t j = 0; j < c; j++)
            v += ((double) xr[j] - m) * ((double) xr[j] - m);
        double inv = 1 / sqrt(v / (double) c + (double) nd->eps);
        for (int64_t j = 0; j < c; j++)
            y[r * c + j] = (float) xf__act_ref(((double) xr[j] - m) * inv * (double) nd->weight[j] +
                                                   (nd->bias ? (double) nd->bias[j] : 0),
                                               nd->act);
    }
}

static void layernorm_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                               const float *y, const float *dy, float *const *dx, int n,
                               float *scratch, float *dw, float *db)
{
    (void) g, (void) y, (void) scratch;
    xf__layernorm_backward(nd, x[0], n * nd->h * nd->w, nd->c, dy, dx[0], dw, db);
}

const xf_op_def xf__op_layernorm = {
    .name = "layernorm",
    .n_in = 1,
    .attrs = XF_ATTR_EPS | XF_ATTR_ACT,
    .shown = XF_ATTR_EPS,
    .bias = 1,
    .own_act = 1,
    .fold_affine = 1,
    .infer = layernorm_infer,
    .weight_shape = per_channel_shape,
    .forward = layernorm_forward,
    .forward_ref = layernorm_forward_ref,
    .backward = layernorm_backward,
};

static void affine_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                           int n, float *scratch)
{
    (void) g, (void) scratch;
    xf__affine(nd, x[0], n * nd->h * nd->w, nd->c, y);
}

static void affine_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                               float *y, int n)
{
    (void) g;
    int64_t rows = (int64_t) n * nd->h * nd->w, c = nd->c;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < c; j++)
            y[r * c + j] = (float) xf__act_ref((double) x[0][r * c + j] * (double) nd->weight[j] +
                                                   (nd->bias ? (double) nd->bias[j] : 0),
                                               nd->act);
}

static void affine_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                            const float *y, const float *dy, float *const *dx, int n,
                            float *scratch, float *dw, float *db)
{
    (void) g, (void) y, (void) scratch;
    xf__affine_backward(nd, x[0], n * nd->h * nd->w, nd->c, dy, dx[0], dw, db);
}

const xf_op_def xf__op_affine = {
    .name = "affine",
    .n_in = 1,
    .attrs = XF_ATTR_ACT,
    .bias = 1,
    .own_act = 1,
    .fold_affine = 1,
    .weight_shape = per_channel_shape,
    .forward = affine_forward,
    .forward_ref = affine_forward_ref,
    .backward = affine_backward,
};
