/* op_layout.c — the ops that move no values: the input (its shape only) and flatten (a view
 * of NHWC memory as one row per image), with their descriptors.
 * It is: shape rules and copies. It is not: anything that computes.
 */
#include "ops.h"

#include <string.h>

static xf_status input_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    (void) g;
    /* images need c = 3 (the model checks); training graphs start from feature maps */
    if (nd->h < 1 || nd->w < 1 || nd->c < 1 || nd->h > XF_MAX_INPUT_SIDE ||
        nd->w > XF_MAX_INPUT_SIDE)
        return xf__node_shape_err(err, nd, "input needs h, w in 1..8192 and c >= 1");
    return XF_OK;
}

const xf_op_def xf__op_input = {
    .name = "input",
    .n_in = 0,
    .attrs = XF_ATTR_HWC,
    .shown = XF_ATTR_HWC,
    .own_act = 1,
    .infer = input_infer, /* no forward: the caller fills the input */
};

static xf_status flatten_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    (void) err;
    const xf_node *x = &g->nodes[nd->in[0]];
    nd->h = nd->w = 1;
    nd->c = x->h * x->w * x->c;
    return XF_OK;
}

static void flatten_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                            int n, float *scratch)
{
    (void) g, (void) scratch;
    memcpy(y, x[0], xf__node_floats(nd, n) * sizeof(float));
}

static void flatten_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                                float *y, int n)
{
    (void) g;
    for (size_t i = 0; i < xf__node_floats(nd, n); i++)
        y[i] = (float) xf__act_ref((double) x[0][i], nd->act);
}

static void flatten_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                             const float *y, const float *dy, float *const *dx, int n,
                             float *scratch, float *dw, float *db)
{
    (void) g, (void) x, (void) y, (void) scratch, (void) dw, (void) db;
    if (dx[0])
        memcpy(dx[0], dy, xf__node_floats(nd, n) * sizeof(float));
}

const xf_op_def xf__op_flatten = {
    .name = "flatten",
    .n_in = 1,
    .attrs = XF_ATTR_ACT,
    .infer = flatten_infer,
    .forward = flatten_forward,
    .forward_ref = flatten_forward_ref,
    .backward = flatten_backward,
};
