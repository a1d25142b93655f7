/* node.c — one graph node, forward and backward, on caller-given buffers.
 *
 * It is: the dispatch from a node's op to its kernel, shared by inference (session.c, whose
 * buffers live in one planned arena) and fine-tuning (classifier/finetune.c, which keeps every
 * activation of the trainable part). It is not: memory planning or parameter updates.
 */
#include "xf_internal.h"

#include <string.h>

static size_t floats(const xf_node *nd, int n)
{
    return (size_t) n * (size_t) (nd->h * nd->w * nd->c);
}

void xf__node_forward(const xf_graph *g, int i, float *const *bufs, int n, float *scratch)
{
    const xf_node *nd = &g->nodes[i];
    float *y = bufs[i];
    const xf_node *xn = nd->n_in ? &g->nodes[nd->in[0]] : NULL;
    const float *x = xn ? bufs[nd->in[0]] : NULL;
    switch (nd->op) {
    case XF_OP_INPUT: break;
    case XF_OP_CONV2D: xf__conv2d(nd, x, n, xn->h, xn->w, xn->c, y, scratch); break;
    case XF_OP_DWCONV2D: xf__dwconv2d(nd, x, n, xn->h, xn->w, xn->c, y); break;
    case XF_OP_DENSE: xf__dense(nd, x, n, xn->h * xn->w * xn->c, y); break;
    case XF_OP_MAXPOOL:
    case XF_OP_AVGPOOL: xf__pool2d(nd, x, n, xn->h, xn->w, xn->c, y); break;
    case XF_OP_GAP:
        xf__gap(x, n, xn->h * xn->w, xn->c, y);
        xf__act_apply(y, floats(nd, n), nd->act);
        break;
    case XF_OP_FLATTEN:
    case XF_OP_ACT:
        memcpy(y, x, floats(nd, n) * sizeof(float));
        xf__act_apply(y, floats(nd, n), nd->act);
        break;
    case XF_OP_SOFTMAX: xf__softmax(x, n * (int) (nd->h * nd->w), nd->c, y); break;
    case XF_OP_ADD: {
        size_t len = floats(nd, n);
        memcpy(y, x, len * sizeof(float));
        for (int k = 1; k < nd->n_in; k++) {
            const float *z = bufs[nd->in[k]];
            for (size_t j = 0; j < len; j++)
                y[j] += z[j];
        }
        xf__act_apply(y, len, nd->act);
        break;
    }
    case XF_OP_CONCAT: {
        int64_t pix = (int64_t) n * nd->h * nd->w, c0 = 0;
        for (int k = 0; k < nd->n_in; k++) {
            const xf_node *zn = &g->nodes[nd->in[k]];
            const float *z = bufs[nd->in[k]];
            for (int64_t p = 0; p < pix; p++)
                memcpy(y + p * nd->c + c0, z + p * zn->c, (size_t) zn->c * sizeof(float));
            c0 += zn->c;
        }
        xf__act_apply(y, floats(nd, n), nd->act);
        break;
    }
    case XF_OP_MUL: {
        const xf_node *x2 = &g->nodes[nd->in[1]];
        xf__mul(x, bufs[nd->in[1]], n, nd->h * nd->w, nd->c, x2->h * x2->w == 1 && nd->h * nd->w > 1,
                y);
        xf__act_apply(y, floats(nd, n), nd->act);
        break;
    }
    case XF_OP_PRELU:
        xf__prelu(x, n * nd->h * nd->w, nd->c, nd->weight, y);
        xf__act_apply(y, floats(nd, n), nd->act);
        break;
    case XF_OP_LAYERNORM: xf__layernorm(nd, x, n * nd->h * nd->w, nd->c, y); break;
    case XF_OP_AFFINE: xf__affine(nd, x, n * nd->h * nd->w, nd->c, y); break;
    case XF_OP_SHUFFLE:
        xf__shuffle(x, n * nd->h * nd->w, nd->c, nd->groups, y);
        xf__act_apply(y, floats(nd, n), nd->act);
        break;
    case XF_OP_SLICE:
        xf__slice(x, n * nd->h * nd->w, xn->c, nd->begin, nd->end, y);
        xf__act_apply(y, floats(nd, n), nd->act);
        break;
    case XF_OP_COUNT_: XF_ASSERT(0);
    }
}

xf_status xf__node_backward(const xf_graph *g, int i, float *const *bufs, float *const *grads,
                            int n, float *scratch, float *dw, float *db, xf_error *err)
{
    const xf_node *nd = &g->nodes[i];
    float *dy = grads[i];
    const xf_node *xn = nd->n_in ? &g->nodes[nd->in[0]] : NULL;
    const float *x = xn ? bufs[nd->in[0]] : NULL;
    float *dx = xn ? grads[nd->in[0]] : NULL; /* NULL: that input needs no gradient */
    if (nd->op == XF_OP_ACT && !xf__act_invertible(nd->act))
        xf__act_backward_x(x, dy, floats(nd, n), nd->act);
    else if (!xf__act_invertible(nd->act))
        return xf__fail(err, XF_ERR_UNSUPPORTED, "node '%s': a fused %s activation has no "
                        "backward pass (split it into an act node)", nd->name,
                        xf__act_name(nd->act));
    else if (nd->op != XF_OP_SOFTMAX)
        xf__act_backward(bufs[i], dy, floats(nd, n), nd->act);
    int64_t rows = (int64_t) n * nd->h * nd->w;
    switch (nd->op) {
    case XF_OP_INPUT: return XF_OK;
    case XF_OP_CONV2D:
        xf__conv2d_backward(nd, x, n, xn->h, xn->w, xn->c, dy, dx, dw, db, scratch);
        return XF_OK;
    case XF_OP_DWCONV2D:
        xf__dwconv2d_backward(nd, x, n, xn->h, xn->w, xn->c, dy, dx, dw, db);
        return XF_OK;
    case XF_OP_DENSE:
        xf__dense_backward(nd, x, n, xn->h * xn->w * xn->c, dy, dx, dw, db);
        return XF_OK;
    case XF_OP_MAXPOOL:
    case XF_OP_AVGPOOL:
        if (dx)
            xf__pool2d_backward(nd, x, n, xn->h, xn->w, xn->c, dy, dx);
        return XF_OK;
    case XF_OP_GAP:
        if (dx)
            xf__gap_backward(dy, n, xn->h * xn->w, xn->c, dx);
        return XF_OK;
    case XF_OP_FLATTEN:
    case XF_OP_ACT:
        if (dx)
            memcpy(dx, dy, floats(nd, n) * sizeof(float));
        return XF_OK;
    case XF_OP_ADD:
        for (int k = 0; k < nd->n_in; k++)
            if (grads[nd->in[k]])
                memcpy(grads[nd->in[k]], dy, floats(nd, n) * sizeof(float));
        return XF_OK;
    case XF_OP_CONCAT: {
        int64_t pix = (int64_t) n * nd->h * nd->w, c0 = 0;
        for (int k = 0; k < nd->n_in; k++) {
            const xf_node *zn = &g->nodes[nd->in[k]];
            float *dz = grads[nd->in[k]];
            for (int64_t p = 0; dz && p < pix; p++)
                memcpy(dz + p * zn->c, dy + p * nd->c + c0, (size_t) zn->c * sizeof(float));
            c0 += zn->c;
        }
        return XF_OK;
    }
    case XF_OP_MUL: {
        const xf_node *x2 = &g->nodes[nd->in[1]];
        xf__mul_backward(x, bufs[nd->in[1]], n, nd->h * nd->w, nd->c,
                         x2->h * x2->w == 1 && nd->h * nd->w > 1, dy, dx, grads[nd->in[1]]);
        return XF_OK;
    }
    case XF_OP_PRELU: xf__prelu_backward(x, rows, nd->c, nd->weight, dy, dx, dw); return XF_OK;
    case XF_OP_LAYERNORM:
        xf__layernorm_backward(nd, x, rows, nd->c, dy, dx, dw, db);
        return XF_OK;
    case XF_OP_AFFINE: xf__affine_backward(nd, x, rows, nd->c, dy, dx, dw, db); return XF_OK;
    case XF_OP_SHUFFLE:
        if (dx)
            xf__shuffle_backward(dy, rows, nd->c, nd->groups, dx);
        return XF_OK;
    case XF_OP_SLICE:
        if (dx)
            xf__slice_backward(dy, rows, xn->c, nd->begin, nd->end, dx);
        return XF_OK;
    case XF_OP_SOFTMAX:
    case XF_OP_COUNT_: break;
    }
    return xf__fail(err, XF_ERR_UNSUPPORTED, "no backward pass for %s node '%s' (train the "
                    "logits, not the softmax)", xf__op_name(nd->op), nd->name);
}
