/* op_pool.c — max and average pooling windows on NHWC float32.
 *
 * It is: one kernel for both (padded cells never win a max; for averages they count in the
 * divisor only when count_pad=1, Keras 'same' excludes them). It is not: global pooling
 * (op_act.c, xf__gap) or feature pooling for extraction (session.c).
 */
#include "xf_internal.h"

#include <float.h>
#include <string.h>

void xf__pool2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                float *y)
{
    int is_max = nd->op == XF_OP_MAXPOOL;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t) b * (size_t) (ih * iw * c);
        float *yb = y + (size_t) b * (size_t) (nd->h * nd->w * c);
        for (int64_t oy = 0; oy < nd->h; oy++)
            for (int64_t ox = 0; ox < nd->w; ox++) {
                float *yp = yb + (oy * nd->w + ox) * c;
                for (int64_t ch = 0; ch < c; ch++)
                    yp[ch] = is_max ? -FLT_MAX : 0.0f;
                int cnt = 0;
                for (int ky = 0; ky < nd->kh; ky++) {
                    int64_t iy = oy * nd->sh + ky - nd->pt;
                    if (iy < 0 || iy >= ih)
                        continue;
                    for (int kx = 0; kx < nd->kw; kx++) {
                        int64_t ix = ox * nd->sw + kx - nd->pl;
                        if (ix < 0 || ix >= iw)
                            continue;
                        const float *xp = xb + (iy * iw + ix) * c;
                        cnt++;
                        if (is_max)
                            for (int64_t ch = 0; ch < c; ch++)
                                yp[ch] = xp[ch] > yp[ch] ? xp[ch] : yp[ch];
                        else
                            for (int64_t ch = 0; ch < c; ch++)
                                yp[ch] += xp[ch];
                    }
                }
                if (!is_max) {
                    float div = nd->count_pad ? (float) (nd->kh * nd->kw) : (float) cnt;
                    float inv = 1.0f / div;
                    for (int64_t ch = 0; ch < c; ch++)
                        yp[ch] *= inv;
                }
                xf__act_apply(yp, (size_t) c, nd->act);
            }
    }
}

/* Average: each output's gradient spread over its window (same divisor as forward); max: to the
 * first maximal input of the window (recomputed from x). */
void xf__pool2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                         int64_t c, const float *dy, float *dx)
{
    int is_max = nd->op == XF_OP_MAXPOOL;
    memset(dx, 0, (size_t) n * (size_t) (ih * iw * c) * sizeof(float));
    for (int b = 0; b < n; b++)
        for (int64_t oy = 0; oy < nd->h; oy++)
            for (int64_t ox = 0; ox < nd->w; ox++)
                for (int64_t ch = 0; ch < c; ch++) {
                    float g = dy[((b * nd->h + oy) * nd->w + ox) * c + ch];
                    int cnt = 0;
                    int64_t best = -1;
                    float bv = -FLT_MAX;
                    for (int ky = 0; ky < nd->kh; ky++)
                        for (int kx = 0; kx < nd->kw; kx++) {
                            int64_t iy = oy * nd->sh + ky - nd->pt, ix = ox * nd->sw + kx - nd->pl;
                            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                                continue;
                            int64_t idx = ((b * ih + iy) * iw + ix) * c + ch;
                            cnt++;
                            if (is_max && x[idx] > bv) {
                                bv = x[idx];
                                best = idx;
                            }
                        }
                    if (is_max) {
                        if (best >= 0)
                            dx[best] += g;
                        continue;
                    }
                    float share = g / (nd->count_pad ? (float) (nd->kh * nd->kw) : (float) cnt);
                    for (int ky = 0; ky < nd->kh; ky++)
                        for (int kx = 0; kx < nd->kw; kx++) {
                            int64_t iy = oy * nd->sh + ky - nd->pt, ix = ox * nd->sw + kx - nd->pl;
                            if (iy >= 0 && iy < ih && ix >= 0 && ix < iw)
                                dx[((b * ih + iy) * iw + ix) * c + ch] += share;
                        }
                }
}
