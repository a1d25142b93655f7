/* op_channel.c — per-channel ops that move or gate channels: PReLU (a learned slope per
 * channel), the ShuffleNet channel shuffle and channel slices, with backward passes,
 * references and the prelu/shuffle/slice descriptors.
 * It is: NHWC kernels where a row is one pixel's C channels (rows = images * pixels). It is
 * not: normalisation (op_norm.c).
 */
#include "ops.h"

#include <math.h>
#include <string.h>

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
/* ---- descriptors ---- */
static int64_t rows_of(const xf_node *nd, int n)
{
    return (int64_t) n * nd->h * nd->w;
}

static int prelu_weight_shape(const xf_graph *g, const xf_node *nd, int64_t *shape)
{
    shape[0] = g->nodes[nd->in[0]].c;
    return 1;
}

static void prelu_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                          int n, float *scratch)
{
    (void) g, (void) scratch;
    xf__prelu(x[0], rows_of(nd, n), nd->c, nd->weight, y);
}

static void prelu_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                              int n)
{
    (void) g;
    for (int64_t r = 0; r < rows_of(nd, n); r++)
        for (int64_t j = 0; j < nd->c; j++) {
            double v = (double) x[0][r * nd->c + j];
            y[r * nd->c + j] = (float) xf__act_ref(v > 0 ? v : (double) nd->weight[j] * v, nd->act);
        }
}

static void prelu_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                           const float *y, const float *dy, float *const *dx, int n, float *scratch,
                           float *dw, float *db)
{
    (void) g, (void) y, (void) scratch, (void) db;
    xf__prelu_backward(x[0], rows_of(nd, n), nd->c, nd->weight, dy, dx[0], dw);
}

const xf_op_def xf__op_prelu = {
    .name = "prelu",
    .n_in = 1,
    .attrs = XF_ATTR_ACT,
    .weight_shape = prelu_weight_shape, /* slopes; no bias */
    .forward = prelu_forward,
    .forward_ref = prelu_forward_ref,
    .backward = prelu_backward,
};

static xf_status shuffle_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    const xf_node *x = &g->nodes[nd->in[0]];
    if (x->c % nd->groups)
        return xf__node_shape_err(err, nd, "groups must divide the channels");
    nd->h = x->h, nd->w = x->w, nd->c = x->c;
    return XF_OK;
}

static void shuffle_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                            int n, float *scratch)
{
    (void) g, (void) scratch;
    xf__shuffle(x[0], rows_of(nd, n), nd->c, nd->groups, y);
}

static void shuffle_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                                float *y, int n)
{
    (void) g;
    int64_t c = nd->c, per = c / nd->groups;
    for (int64_t r = 0; r < rows_of(nd, n); r++)
        for (int64_t gi = 0; gi < nd->groups; gi++)
            for (int64_t k = 0; k < per; k++) /* input channel gi*per + k goes to k*G + gi */
                y[r * c + k * nd->groups + gi] =
                    (float) xf__act_ref((double) x[0][r * c + gi * per + k], nd->act);
}

static void shuffle_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                             const float *y, const float *dy, float *const *dx, int n,
                             float *scratch, float *dw, float *db)
{
    (void) g, (void) x, (void) y, (void) scratch, (void) dw, (void) db;
    if (dx[0])
        xf__shuffle_backward(dy, rows_of(nd, n), nd->c, nd->groups, dx[0]);
}

const xf_op_def xf__op_shuffle = {
    .name = "shuffle",
    .n_in = 1,
    .attrs = XF_ATTR_GROUPS | XF_ATTR_ACT,
    .shown = XF_ATTR_GROUPS,
    .infer = shuffle_infer,
    .forward = shuffle_forward,
    .forward_ref = shuffle_forward_ref,
    .backward = shuffle_backward,
};

static xf_status slice_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    const xf_node *x = &g->nodes[nd->in[0]];
    if (nd->begin < 0 || nd->end <= nd->begin || nd->end > x->c)
        return xf__node_shape_err(err, nd, "needs 0 <= begin < end <= channels");
    nd->h = x->h, nd->w = x->w, nd->c = nd->end - nd->begin;
    return XF_OK;
}

static void slice_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                          int n, float *scratch)
{
    (void) scratch;
    xf__slice(x[0], rows_of(nd, n), g->nodes[nd->in[0]].c, nd->begin, nd->end, y);
}

static void slice_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                              int n)
{
    int64_t xc = g->nodes[nd->in[0]].c;
    for (int64_t r = 0; r < rows_of(nd, n); r++)
        for (int64_t j = 0; j < nd->c; j++)
            y[r * nd->c + j] = (float) xf__act_ref((double) x[0][r * xc + nd->begin + j], nd->act);
}

static void slice_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                           const float *y, const float *dy, float *const *dx, int n, float *scratch,
                           float *dw, float *db)
{
    (void) x, (void) y, (void) scratch, (void) dw, (void) db;
    if (dx[0])
        xf__slice_backward(dy, rows_of(nd, n), g->nodes[nd->in[0]].c, nd->begin, nd->end, dx[0]);
}

const xf_op_def xf__op_slice = {
    .name = "slice",
    .n_in = 1,
    .attrs = XF_ATTR_RANGE | XF_ATTR_ACT,
    .shown = XF_ATTR_RANGE,
    .infer = slice_infer,
    .forward = slice_forward,
    .forward_ref = slice_forward_ref,
    .backward = slice_backward,
};
