/* op_elem.c — per-pixel ops beyond activations: gating multiply, PReLU, layer norm over
 * channels, per-channel affine (an unfolded batch norm), channel shuffle and channel slices,
 * with their backward passes.
 *
 * It is: NHWC kernels where a "row" is one pixel's C channels (rows = images * pixels). These
 * ops come from imported nets (squeeze-excitation, ShuffleNet, ConvNeXt) and from PReLU heads.
 * It is not: element-wise activations (op_act.c) or anything with a window.
 */
#include "xf_internal.h"

#include <math.h>
#include <string.h>

void xf__mul(const float *x, const float *x2, int n, int64_t pix, int64_t c, int bcast, float *y)
{
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < pix; p++) {
            int64_t r = b * pix + p;
            const float *g = x2 + (bcast ? b : r) * c;
            for (int64_t j = 0; j < c; j++)
                y[r * c + j] = x[r * c + j] * g[j];
        }
}

void xf__mul_backward(const float *x, const float *x2, int n, int64_t pix, int64_t c, int bcast,
                      const float *dy, float *dx, float *dx2)
{
    if (dx2 && bcast)
        memset(dx2, 0, (size_t) n * (size_t) c * sizeof(float));
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < pix; p++) {
            int64_t r = b * pix + p, r2 = bcast ? b : r;
            for (int64_t j = 0; j < c; j++) {
                float g = dy[r * c + j];
                if (dx)
                    dx[r * c + j] = g * x2[r2 * c + j];
                if (dx2 && bcast)
                    dx2[r2 * c + j] += g * x[r * c + j];
                else if (dx2)
                    dx2[r2 * c + j] = g * x[r * c + j];
            }
        }
}

void xf__prelu(const float *x, int64_t rows, int64_t c, const float *slope, float *y)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < c; j++) {
            float v = x[r * c + j];
            y[r * c + j] = v > 0 ? v : slope[j] * v;
        }
}

void xf__prelu_backward(const float *x, int64_t rows, int64_t c, const float *slope,
                        const float *dy, float *dx, float *dslope)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < c; j++) {
            float v = x[r * c + j], g = dy[r * c + j];
            if (dx)
                dx[r * c + j] = v > 0 ? g : slope[j] * g;
            if (dslope && !(v > 0))
                dslope[j] += g * v;
        }
}

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

void xf__shuffle(const float *x, int64_t rows, int64_t c, int groups, float *y)
{
    int64_t per = c / groups;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < c; o++)
            y[r * c + o] = x[r * c + (o % groups) * per + o / groups];
}

void xf__shuffle_backward(const float *dy, int64_t rows, int64_t c, int groups, float *dx)
{
    int64_t per = c / groups;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < c; o++)
            dx[r * c + (o % groups) * per + o / groups] = dy[r * c + o];
}

void xf__slice(const float *x, int64_t rows, int64_t c, int begin, int end, float *y)
{
    int64_t oc = end - begin;
    for (int64_t r = 0; r < rows; r++)
        memcpy(y + r * oc, x + r * c + begin, (size_t) oc * sizeof(float));
}

void xf__slice_backward(const float *dy, int64_t rows, int64_t c, int begin, int end, float *dx)
{
    int64_t oc = end - begin;
    memset(dx, 0, (size_t) (rows * c) * sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        memcpy(dx + r * c + begin, dy + r * oc, (size_t) oc * sizeof(float));
}
