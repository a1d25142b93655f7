/* op_dwconv2d.c — depthwise 2-D convolution on NHWC float32, fused bias and activation.
 *
 * It is: a channel-vectorised kernel for multiplier 1 (each tap is one contiguous multiply-add
 * over channels, compiled for AVX2/FMA and baseline, chosen at run time), a plain loop for other
 * multipliers, direct references in double (forward) and by output pixel (backward), and the
 * dwconv2d descriptor. Weights are (kh, kw, c, mult) row-major; output channel = ci * mult + m.
 * It is not: grouped convolution (op_conv2d.c).
 */
#include "conv_kernel.h"
#include "cpu.h"
#include "ops.h"

#include <string.h>

/* mult == 1: y[oy, ox, :] = sum over taps of x[iy, ix, :] * w[ky, kx, :] */
XF_CLONES static void dw_mult1(const xf_node *nd, const float *restrict x, int64_t ih, int64_t iw,
                               int64_t c, float *restrict y)
{
    for (int64_t oy = 0; oy < nd->h; oy++)
        for (int64_t ox = 0; ox < nd->w; ox++) {
            float *restrict yp = y + (oy * nd->w + ox) * c;
            if (nd->bias)
                memcpy(yp, nd->bias, (size_t) c * sizeof(float));
            else
                memset(yp, 0, (size_t) c * sizeof(float));
            for (int ky = 0; ky < nd->kh; ky++) {
                int64_t iy = oy * nd->sh + ky - nd->pt;
                if (iy < 0 || iy >= ih)
                    continue;
                for (int kx = 0; kx < nd->kw; kx++) {
                    int64_t ix = ox * nd->sw + kx - nd->pl;
                    if (ix < 0 || ix >= iw)
                        continue;
                    const float *restrict xp = x + (iy * iw + ix) * c;
                    const float *restrict wp = nd->weight + (ky * nd->kw + kx) * c;
                    for (int64_t ch = 0; ch < c; ch++)
                        yp[ch] += xp[ch] * wp[ch];
                }
            }
            if (nd->act == XF_ACT_RELU6)
                for (int64_t ch = 0; ch < c; ch++)
                    yp[ch] = yp[ch] > 0 ? (yp[ch] < 6 ? yp[ch] : 6) : 0;
            else if (nd->act == XF_ACT_RELU)
                for (int64_t ch = 0; ch < c; ch++)
                    yp[ch] = yp[ch] > 0 ? yp[ch] : 0;
            else
                xf__act_apply(yp, (size_t) c, nd->act);
        }
}

/* any multiplier, one image: float accumulation, taps in the same order as dw_mult1 */
static void dw_any(const xf_node *nd, const float *x, int64_t ih, int64_t iw, int64_t c, float *y)
{
    int64_t m = nd->mult, oc = c * m;
    for (int64_t oy = 0; oy < nd->h; oy++)
        for (int64_t ox = 0; ox < nd->w; ox++) {
            float *yp = y + (oy * nd->w + ox) * oc;
            for (int64_t co = 0; co < oc; co++)
                yp[co] = nd->bias ? nd->bias[co] : 0.0f;
            for (int ky = 0; ky < nd->kh; ky++)
                for (int kx = 0; kx < nd->kw; kx++) {
                    int64_t iy = oy * nd->sh + ky - nd->pt, ix = ox * nd->sw + kx - nd->pl;
                    if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                        continue;
                    const float *xp = x + (iy * iw + ix) * c;
                    const float *wp = nd->weight + (ky * nd->kw + kx) * oc;
                    for (int64_t co = 0; co < oc; co++)
                        yp[co] += xp[co / m] * wp[co];
                }
            xf__act_apply(yp, (size_t) oc, nd->act);
        }
}

void xf__dwconv2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                  float *y)
{
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t) b * (size_t) (ih * iw * c);
        float *yb = y + (size_t) b * (size_t) (nd->h * nd->w * c * nd->mult);
        if (nd->mult == 1 && nd->kh <= XF_DW_MAX_KH && xf__isa() == XF_ISA_AVX512)
            xf__dw_rows(nd, xb, ih, iw, c, yb, 0, nd->h);
        else if (nd->mult == 1)
            dw_mult1(nd, xb, ih, iw, c, yb);
        else
            dw_any(nd, xb, ih, iw, c, yb);
    }
}

void xf__dwconv2d_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                      float *y)
{
    int64_t m = nd->mult, oc = c * m;
    for (int b = 0; b < n; b++)
        for (int64_t oy = 0; oy < nd->h; oy++)
            for (int64_t ox = 0; ox < nd->w; ox++)
                for (int64_t ci = 0; ci < c; ci++)
                    for (int64_t k = 0; k < m; k++) {
                        int64_t co = ci * m + k;
                        double s = nd->bias ? (double) nd->bias[co] : 0;
                        for (int ky = 0; ky < nd->kh; ky++)
                            for (int kx = 0; kx < nd->kw; kx++) {
                                int64_t iy = oy * nd->sh + ky - nd->pt;
                                int64_t ix = ox * nd->sw + kx - nd->pl;
                                if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                                    continue;
                                s += (double) x[((b * ih + iy) * iw + ix) * c + ci] *
                                     (double) nd->weight[((ky * nd->kw + kx) * c + ci) * m + k];
                            }
                        y[((b * nd->h + oy) * nd->w + ox) * oc + co] =
                            (float) xf__act_ref(s, nd->act);
                    }
}

/* mult == 1, one image: each tap is a contiguous multiply-add over channels (vectorised) */
XF_CLONES static void dw_backward_mult1(const xf_node *nd, const float *restrict x, int64_t ih,
                                        int64_t iw, int64_t c, const float *restrict dy,
                                        float *restrict dx, float *restrict dw, float *restrict db)
{
    for (int64_t oy = 0; oy < nd->h; oy++)
        for (int64_t ox = 0; ox < nd->w; ox++) {
            const float *restrict g = dy + (oy * nd->w + ox) * c;
            if (db)
                for (int64_t ch = 0; ch < c; ch++)
                    db[ch] += g[ch];
            for (int ky = 0; ky < nd->kh; ky++) {
                int64_t iy = oy * nd->sh + ky - nd->pt;
                if (iy < 0 || iy >= ih)
                    continue;
                for (int kx = 0; kx < nd->kw; kx++) {
                    int64_t ix = ox * nd->sw + kx - nd->pl;
                    if (ix < 0 || ix >= iw)
                        continue;
                    int64_t tap = (ky * nd->kw + kx) * c;
                    const float *restrict xp = x + (iy * iw + ix) * c;
                    if (dw)
                        for (int64_t ch = 0; ch < c; ch++)
                            dw[tap + ch] += g[ch] * xp[ch];
                    if (dx) {
                        float *restrict dxp = dx + (iy * iw + ix) * c;
                        const float *restrict wp = nd->weight + tap;
                        for (int64_t ch = 0; ch < c; ch++)
                            dxp[ch] += g[ch] * wp[ch];
                    }
                }
            }
        }
}

/* dy after the activation has been undone. Multiplier 1 vectorised, else the reference. */
void xf__dwconv2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                           int64_t c, const float *dy, float *dx, float *dw, float *db)
{
    if (nd->mult != 1) {
        xf__dwconv2d_backward_ref(nd, x, n, ih, iw, c, dy, dx, dw, db);
        return;
    }
    if (dx)
        memset(dx, 0, (size_t) n * (size_t) (ih * iw * c) * sizeof(float));
    for (int b = 0; b < n; b++)
        dw_backward_mult1(nd, x + (size_t) b * (size_t) (ih * iw * c), ih, iw, c,
                          dy + (size_t) b * (size_t) (nd->h * nd->w * c),
                          dx ? dx + (size_t) b * (size_t) (ih * iw * c) : NULL, dw, db);
}

/* Any multiplier, by output pixel and tap in plain loops: the twin of the vectorised path. */
void xf__dwconv2d_backward_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                               int64_t c, const float *dy, float *dx, float *dw, float *db)
{
    int64_t m = nd->mult, oc = c * m;
    if (dx)
        memset(dx, 0, (size_t) n * (size_t) (ih * iw * c) * sizeof(float));
    for (int b = 0; b < n; b++)
        for (int64_t oy = 0; oy < nd->h; oy++)
            for (int64_t ox = 0; ox < nd->w; ox++) {
                const float *g = dy + ((b * nd->h + oy) * nd->w + ox) * oc;
                if (db)
                    for (int64_t co = 0; co < oc; co++)
                        db[co] += g[co];
                for (int ky = 0; ky < nd->kh; ky++)
                    for (int kx = 0; kx < nd->kw; kx++) {
                        int64_t iy = oy * nd->sh + ky - nd->pt, ix = ox * nd->sw + kx - nd->pl;
                        if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                            continue;
                        const float *xp = x + ((b * ih + iy) * iw + ix) * c;
                        float *dxp = dx ? dx + ((b * ih + iy) * iw + ix) * c : NULL;
                        const float *wp = nd->weight + (ky * nd->kw + kx) * oc;
                        float *dwp = dw ? dw + (ky * nd->kw + kx) * oc : NULL;
                        for (int64_t ci = 0; ci < c; ci++)
                            for (int64_t k = 0; k < m; k++) {
                                float gv = g[ci * m + k];
                                if (dwp)
                                    dwp[ci * m + k] += gv * xp[ci];
                                if (dxp)
                                    dxp[ci] += gv * wp[ci * m + k];
                            }
                    }
            }
}

/* ---- descriptor ---- */
static xf_status dwconv2d_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    xf_status s = xf__window_infer(g, nd, err);
    if (s)
        return s;
    if (nd->mult < 1)
        nd->mult = 1;
    nd->c = g->nodes[nd->in[0]].c * nd->mult;
    return XF_OK;
}

static int dwconv2d_weight_shape(const xf_graph *g, const xf_node *nd, int64_t *shape)
{
    shape[0] = nd->kh, shape[1] = nd->kw, shape[2] = g->nodes[nd->in[0]].c, shape[3] = nd->mult;
    return 4;
}

static void dwconv2d_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                             int n, float *scratch)
{
    (void) scratch;
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__dwconv2d(nd, x[0], n, xn->h, xn->w, xn->c, y);
}

static void dwconv2d_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                                 float *y, int n)
{
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__dwconv2d_ref(nd, x[0], n, xn->h, xn->w, xn->c, y);
}

static void dwconv2d_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                              const float *y, const float *dy, float *const *dx, int n,
                              float *scratch, float *dw, float *db)
{
    (void) y, (void) scratch;
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__dwconv2d_backward(nd, x[0], n, xn->h, xn->w, xn->c, dy, dx[0], dw, db);
}

static void dwconv2d_backward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                                  const float *y, const float *dy, float *const *dx, int n,
                                  float *dw, float *db)
{
    (void) y;
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__dwconv2d_backward_ref(nd, x[0], n, xn->h, xn->w, xn->c, dy, dx[0], dw, db);
}

const xf_op_def xf__op_dwconv2d = {
    .name = "dwconv2d",
    .n_in = 1,
    .attrs = XF_ATTR_WINDOW | XF_ATTR_MULT | XF_ATTR_ACT,
    .shown = XF_ATTR_WINDOW,
    .bias = 1,
    .own_act = 1,
    .fold_affine = 1,
    .infer = dwconv2d_infer,
    .weight_shape = dwconv2d_weight_shape,
    .forward = dwconv2d_forward,
    .forward_ref = dwconv2d_forward_ref,
    .backward = dwconv2d_backward,
    .backward_ref = dwconv2d_backward_ref,
};
