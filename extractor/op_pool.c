/* op_pool.c — pooling on NHWC float32: max and average windows, global average pooling.
 *
 * It is: one window kernel for both (padded cells never win a max; for averages they count in
 * the divisor only when count_pad=1, Keras 'same' excludes them), the global mean, their
 * backward passes, double-precision references and the maxpool/avgpool/gap descriptors. It is
 * not: feature pooling for extraction (session.c).
 */
#include "ops.h"

#include <float.h>
#include <math.h>
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

void xf__gap(const float *x, int n, int64_t hw, int64_t c, float *y)
{
    for (int b = 0; b < n; b++) {
        float *yb = y + (size_t) b * (size_t) c;
        const float *xb = x + (size_t) b * (size_t) (hw * c);
        memset(yb, 0, (size_t) c * sizeof(float));
        for (int64_t p = 0; p < hw; p++)
            for (int64_t ch = 0; ch < c; ch++)
                yb[ch] += xb[p * c + ch];
        float inv = 1.0f / (float) hw;
        for (int64_t ch = 0; ch < c; ch++)
            yb[ch] *= inv;
    }
}

void xf__gap_backward(const float *dy, int n, int64_t hw, int64_t c, float *dx)
{
    float inv = 1.0f / (float) hw;
    for (int b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++)
            for (int64_t ch = 0; ch < c; ch++)
                dx[((int64_t) b * hw + p) * c + ch] = dy[(int64_t) b * c + ch] * inv;
}

/* ---- references and descriptors ---- */
static void window_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                       float *y)
{
    int is_max = nd->op == XF_OP_MAXPOOL;
    for (int b = 0; b < n; b++)
        for (int64_t oy = 0; oy < nd->h; oy++)
            for (int64_t ox = 0; ox < nd->w; ox++)
                for (int64_t ch = 0; ch < c; ch++) {
                    double acc = is_max ? -HUGE_VAL : 0;
                    int cnt = 0;
                    for (int ky = 0; ky < nd->kh; ky++)
                        for (int kx = 0; kx < nd->kw; kx++) {
                            int64_t iy = oy * nd->sh + ky - nd->pt, ix = ox * nd->sw + kx - nd->pl;
                            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                                continue;
                            double v = (double) x[((b * ih + iy) * iw + ix) * c + ch];
                            acc = is_max ? (v > acc ? v : acc) : acc + v;
                            cnt++;
                        }
                    if (!is_max)
                        acc /= nd->count_pad ? nd->kh * nd->kw : cnt;
                    y[((b * nd->h + oy) * nd->w + ox) * c + ch] = (float) xf__act_ref(acc, nd->act);
                }
}

static xf_status pool_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    return xf__window_infer(g, nd, err);
}

static void pool_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                         int n, float *scratch)
{
    (void) scratch;
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__pool2d(nd, x[0], n, xn->h, xn->w, xn->c, y);
}

static void pool_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                             int n)
{
    const xf_node *xn = &g->nodes[nd->in[0]];
    window_ref(nd, x[0], n, xn->h, xn->w, xn->c, y);
}

static void pool_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                          const float *y, const float *dy, float *const *dx, int n, float *scratch,
                          float *dw, float *db)
{
    (void) y, (void) scratch, (void) dw, (void) db;
    const xf_node *xn = &g->nodes[nd->in[0]];
    if (dx[0])
        xf__pool2d_backward(nd, x[0], n, xn->h, xn->w, xn->c, dy, dx[0]);
}

const xf_op_def xf__op_maxpool = {
    .name = "maxpool",
    .n_in = 1,
    .attrs = XF_ATTR_WINDOW | XF_ATTR_ACT,
    .shown = XF_ATTR_WINDOW,
    .own_act = 1,
    .infer = pool_infer,
    .forward = pool_forward,
    .forward_ref = pool_forward_ref,
    .backward = pool_backward,
};

const xf_op_def xf__op_avgpool = {
    .name = "avgpool",
    .n_in = 1,
    .attrs = XF_ATTR_WINDOW | XF_ATTR_COUNT_PAD | XF_ATTR_ACT,
    .shown = XF_ATTR_WINDOW,
    .own_act = 1,
    .infer = pool_infer,
    .forward = pool_forward,
    .forward_ref = pool_forward_ref,
    .backward = pool_backward,
};

static xf_status gap_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    (void) err;
    nd->h = nd->w = 1;
    nd->c = g->nodes[nd->in[0]].c;
    return XF_OK;
}

static void gap_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                        int n, float *scratch)
{
    (void) scratch;
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__gap(x[0], n, xn->h * xn->w, xn->c, y);
}

static void gap_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                            int n)
{
    const xf_node *xn = &g->nodes[nd->in[0]];
    int64_t hw = xn->h * xn->w, c = xn->c;
    for (int b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++) {
            double s = 0;
            for (int64_t p = 0; p < hw; p++)
                s += (double) x[0][((int64_t) b * hw + p) * c + ch];
            y[(int64_t) b * c + ch] = (float) xf__act_ref(s / (double) hw, nd->act);
        }
}

static void gap_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                         const float *y, const float *dy, float *const *dx, int n, float *scratch,
                         float *dw, float *db)
{
    (void) nd, (void) x, (void) y, (void) scratch, (void) dw, (void) db;
    const xf_node *xn = &g->nodes[nd->in[0]];
    if (dx[0])
        xf__gap_backward(dy, n, xn->h * xn->w, xn->c, dx[0]);
}

const xf_op_def xf__op_gap = {
    .name = "gap",
    .n_in = 1,
    .attrs = XF_ATTR_ACT,
    .infer = gap_infer,
    .forward = gap_forward,
    .forward_ref = gap_forward_ref,
    .backward = gap_backward,
};
