/* op_dwconv2d.c — depthwise 2-D convolution on NHWC float32, fused bias and activation.
 *
 * It is: a channel-vectorised kernel (each tap is one contiguous multiply-add over channels,
 * compiled for AVX2/FMA and baseline, chosen at run time), and a direct reference. Weights are
 * (kh, kw, c, mult) row-major; output channel = ci * mult + m. It is not: grouped convolution.
 */
#include "xf_internal.h"

#include <string.h>


/* mult == 1: y[oy, ox, :] = sum over taps of x[iy, ix, :] * w[ky, kx, :] */
XF_CLONES static void dw_mult1(const xf_node *nd, const float *restrict x, int64_t ih,
                               int64_t iw, int64_t c, float *restrict y)
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

void xf__dwconv2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                  float *y)
{
    if (nd->mult != 1) {
        xf__dwconv2d_ref(nd, x, n, ih, iw, c, y);
        return;
    }
    for (int b = 0; b < n; b++)
        dw_mult1(nd, x + (size_t) b * (size_t) (ih * iw * c), ih, iw, c,
                 y + (size_t) b * (size_t) (nd->h * nd->w * c));
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
                        float v = (float) s;
                        xf__act_apply(&v, 1, nd->act);
                        y[((b * nd->h + oy) * nd->w + ox) * oc + co] = v;
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

/* dy after the activation has been undone. Any multiplier; multiplier 1 vectorised. */
void xf__dwconv2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                           int64_t c, const float *dy, float *dx, float *dw, float *db)
{
    int64_t m = nd->mult, oc = c * m;
    if (m == 1) {
        if (dx)
            memset(dx, 0, (size_t) n * (size_t) (ih * iw * c) * sizeof(float));
        for (int b = 0; b < n; b++)
            dw_backward_mult1(nd, x + (size_t) b * (size_t) (ih * iw * c), ih, iw, c,
                              dy + (size_t) b * (size_t) (nd->h * nd->w * c),
                              dx ? dx + (size_t) b * (size_t) (ih * iw * c) : NULL, dw, db);
        return;
    }
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
