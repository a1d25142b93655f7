/* node.c — the op table and one graph node, forward and backward, on caller-given buffers.
 *
 * It is: xf__ops[] (expanded from ops.def) and the generic part of running a node: gathering its
 * inputs' buffers, the activation of ops that do not fuse it, undoing the activation before a
 * backward pass. Shared by inference (session.c, whose buffers live in one planned arena) and
 * fine-tuning (classifier/, which keeps every activation of the trainable part). It is not:
 * kernels (op_*.c), memory planning or parameter updates.
 */
#include "ops.h"

static const xf_op_def *const ops[XF_OP_COUNT_] = {
#define XF_OP(e, name) [XF_OP_##e] = &xf__op_##name,
#include "ops.def"
#undef XF_OP
};

const xf_op_def *xf__op(xf_op op)
{
    XF_ASSERT((unsigned) op < XF_OP_COUNT_);
    return ops[op];
}

size_t xf__node_scratch(const xf_graph *g, const xf_node *nd)
{
    const xf_op_def *d = xf__op(nd->op);
    return d->scratch ? d->scratch(g, nd) : 0;
}

void xf__node_forward(const xf_graph *g, int i, float *const *bufs, int n, float *scratch)
{
    const xf_node *nd = &g->nodes[i];
    const xf_op_def *d = xf__op(nd->op);
    const float *x[XF_NODE_MAX_IN];
    for (int k = 0; k < nd->n_in; k++)
        x[k] = bufs[nd->in[k]];
    if (!d->forward)
        return; /* the input: the caller filled it */
    d->forward(g, nd, x, bufs[i], n, scratch);
    if (!d->own_act)
        xf__act_apply(bufs[i], xf__node_floats(nd, n), nd->act);
}

xf_status xf__node_backward(const xf_graph *g, int i, float *const *bufs, float *const *grads,
                            int n, float *scratch, float *dw, float *db, xf_error *err)
{
    const xf_node *nd = &g->nodes[i];
    const xf_op_def *d = xf__op(nd->op);
    float *dy = grads[i];
    const float *x[XF_NODE_MAX_IN];
    float *dx[XF_NODE_MAX_IN]; /* NULL: that input needs no gradient */
    for (int k = 0; k < nd->n_in; k++) {
        x[k] = bufs[nd->in[k]];
        dx[k] = grads[nd->in[k]];
    }
    if (!d->backward)
        return xf__fail(err, XF_ERR_UNSUPPORTED, "no backward pass for %s node '%s'%s", d->name,
                        nd->name,
                        nd->op == XF_OP_SOFTMAX ? " (train the logits, not the softmax)" : "");
    if (d->act_input && !xf__act_invertible(nd->act))
        xf__act_backward_x(x[0], dy, xf__node_floats(nd, n), nd->act);
    else if (!xf__act_invertible(nd->act))
        return xf__fail(err, XF_ERR_UNSUPPORTED,
                        "node '%s': a fused %s activation has no "
                        "backward pass (split it into an act node)",
                        nd->name, xf__act_name(nd->act));
    else
        xf__act_backward(bufs[i], dy, xf__node_floats(nd, n), nd->act);
    d->backward(g, nd, x, bufs[i], dy, dx, n, scratch, dw, db);
    return XF_OK;
}
