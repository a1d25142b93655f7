/* op_eltwise.c — ops on several inputs of one shape: add, channel concat, multiply (also the
 * squeeze-excitation gate broadcast over pixels), with backward passes, references and the
 * add/concat/mul descriptors.
 * It is: NHWC kernels that read two or more tensors element by element. It is not: ops with
 * weights or windows.
 */
#include "ops.h"

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

/* ---- add ---- */
static xf_status add_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    const xf_node *x = &g->nodes[nd->in[0]];
    for (int i = 1; i < nd->n_in; i++) {
        const xf_node *y = &g->nodes[nd->in[i]];
        if (y->h != x->h || y->w != x->w || y->c != x->c)
            return xf__node_shape_err(err, nd, "inputs differ in shape");
    }
    nd->h = x->h, nd->w = x->w, nd->c = x->c;
    return XF_OK;
}

static void add_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                        int n, float *scratch)
{
    (void) g, (void) scratch;
    size_t len = xf__node_floats(nd, n);
    memcpy(y, x[0], len * sizeof(float));
    for (int k = 1; k < nd->n_in; k++)
        for (size_t j = 0; j < len; j++)
            y[j] += x[k][j];
}

static void add_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                            int n)
{
    (void) g;
    for (size_t j = 0; j < xf__node_floats(nd, n); j++) {
        double s = 0;
        for (int k = 0; k < nd->n_in; k++)
            s += (double) x[k][j];
        y[j] = (float) xf__act_ref(s, nd->act);
    }
}

static void add_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                         const float *y, const float *dy, float *const *dx, int n, float *scratch,
                         float *dw, float *db)
{
    (void) g, (void) x, (void) y, (void) scratch, (void) dw, (void) db;
    for (int k = 0; k < nd->n_in; k++)
        if (dx[k])
            memcpy(dx[k], dy, xf__node_floats(nd, n) * sizeof(float));
}

const xf_op_def xf__op_add = {
    .name = "add",
    .n_in = XF_IN_MANY,
    .attrs = XF_ATTR_ACT,
    .infer = add_infer,
    .forward = add_forward,
    .forward_ref = add_forward_ref,
    .backward = add_backward,
};

/* ---- concat over channels ---- */
static xf_status concat_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    const xf_node *x = &g->nodes[nd->in[0]];
    nd->h = x->h, nd->w = x->w, nd->c = 0;
    for (int i = 0; i < nd->n_in; i++) {
        const xf_node *y = &g->nodes[nd->in[i]];
        if (y->h != x->h || y->w != x->w)
            return xf__node_shape_err(err, nd, "inputs differ in height or width");
        nd->c += y->c;
    }
    return XF_OK;
}

static void concat_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                           int n, float *scratch)
{
    (void) scratch;
    int64_t pix = (int64_t) n * nd->h * nd->w, c0 = 0;
    for (int k = 0; k < nd->n_in; k++) {
        int64_t zc = g->nodes[nd->in[k]].c;
        for (int64_t p = 0; p < pix; p++)
            memcpy(y + p * nd->c + c0, x[k] + p * zc, (size_t) zc * sizeof(float));
        c0 += zc;
    }
}

static void concat_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                               float *y, int n)
{
    int64_t pix = (int64_t) n * nd->h * nd->w;
    for (int64_t p = 0; p < pix; p++) {
        int64_t o = 0;
        for (int k = 0; k < nd->n_in; k++)
            for (int64_t j = 0; j < g->nodes[nd->in[k]].c; j++, o++)
                y[p * nd->c + o] =
                    (float) xf__act_ref((double) x[k][p * g->nodes[nd->in[k]].c + j], nd->act);
    }
}

static void concat_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                            const float *y, const float *dy, float *const *dx, int n,
                            float *scratch, float *dw, float *db)
{
    (void) x, (void) y, (void) scratch, (void) dw, (void) db;
    int64_t pix = (int64_t) n * nd->h * nd->w, c0 = 0;
    for (int k = 0; k < nd->n_in; k++) {
        int64_t zc = g->nodes[nd->in[k]].c;
        for (int64_t p = 0; dx[k] && p < pix; p++)
            memcpy(dx[k] + p * zc, dy + p * nd->c + c0, (size_t) zc * sizeof(float));
        c0 += zc;
    }
}

const xf_op_def xf__op_concat = {
    .name = "concat",
    .n_in = XF_IN_MANY,
    .attrs = XF_ATTR_ACT,
    .infer = concat_infer,
    .forward = concat_forward,
    .forward_ref = concat_forward_ref,
    .backward = concat_backward,
};

/* ---- mul: x * g, g of x's shape or a (1, 1, C) gate ---- */
static xf_status mul_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    const xf_node *x = &g->nodes[nd->in[0]], *y = &g->nodes[nd->in[1]];
    if (y->c != x->c || !((y->h == x->h && y->w == x->w) || (y->h == 1 && y->w == 1)))
        return xf__node_shape_err(err, nd, "second input must have the first's shape or be 1x1xC");
    nd->h = x->h, nd->w = x->w, nd->c = x->c;
    return XF_OK;
}

static int mul_bcast(const xf_graph *g, const xf_node *nd)
{
    const xf_node *x2 = &g->nodes[nd->in[1]];
    return x2->h * x2->w == 1 && nd->h * nd->w > 1;
}

static void mul_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                        int n, float *scratch)
{
    (void) scratch;
    xf__mul(x[0], x[1], n, nd->h * nd->w, nd->c, mul_bcast(g, nd), y);
}

static void mul_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                            int n)
{
    int bc = mul_bcast(g, nd);
    int64_t pix = nd->h * nd->w, c = nd->c;
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < pix; p++)
            for (int64_t j = 0; j < c; j++) {
                int64_t r = b * pix + p;
                double v = (double) x[0][r * c + j] * (double) x[1][(bc ? b : r) * c + j];
                y[r * c + j] = (float) xf__act_ref(v, nd->act);
            }
}

static void mul_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                         const float *y, const float *dy, float *const *dx, int n, float *scratch,
                         float *dw, float *db)
{
    (void) y, (void) scratch, (void) dw, (void) db;
    xf__mul_backward(x[0], x[1], n, nd->h * nd->w, nd->c, mul_bcast(g, nd), dy, dx[0], dx[1]);
}

const xf_op_def xf__op_mul = {
    .name = "mul",
    .n_in = 2,
    .attrs = XF_ATTR_ACT,
    .infer = mul_infer,
    .forward = mul_forward,
    .forward_ref = mul_forward_ref,
    .backward = mul_backward,
};
