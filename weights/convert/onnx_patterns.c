/* onnx_patterns.c — recognises multi-node spellings of single xfer operations before the
 * walk: Sigmoid(x)*x (SiLU), HardSigmoid(x)*x (HardSwish), x*0.5*(1+erf(x/sqrt 2)) (GELU) and
 * the LayerNorm of opsets below 17 (mean, subtract, square, mean, add eps, sqrt, divide).
 * It is not: their conversion (onnx.c op_fused computes the whole from the pattern's input).
 */
#include "onnx_ctx.h"

#include <math.h>
#include <string.h>

/* a node's input k and first output, "" when it has none (a malformed file may give a node
 * fewer than its operator needs; nothing here indexes past them) */
static const char *in_(const Onnx__NodeProto *n, size_t k)
{
    return k < n->n_input && n->input[k] ? n->input[k] : "";
}

static const char *out_(const Onnx__NodeProto *n)
{
    return n->n_output && n->output[0] ? n->output[0] : "";
}

/* ---- patterns ------------------------------------------------------------------------------ */
/* index of the only node (from index from on) consuming output name, or -1 */
static int ox_sole_consumer(ctx *x, const char *name, int from)
{
    value *v = name[0] ? ox_lookup(x, name, 0) : NULL; /* "": no output, or an absent input */
    int found = -1;
    for (int e = v ? x->cons_off[v - x->v] : 0; v && e < x->cons_off[v - x->v + 1]; e++) {
        if (x->cons[e] < from)
            continue;
        if (found >= 0 && found != x->cons[e])
            return -1;
        found = x->cons[e];
    }
    return found;
}

/* the first node from index from on that reads name and has type op, or -1 */
static int ox_consumer_op(ctx *x, const char *name, int from, const char *op)
{
    value *v = ox_lookup(x, name, 0);
    for (int e = v ? x->cons_off[v - x->v] : 0; v && e < x->cons_off[v - x->v + 1]; e++)
        if (x->cons[e] >= from && ox_is_op(x->g->node[x->cons[e]], op))
            return x->cons[e];
    return -1;
}

static int ox_reduces_last_axis(ctx *x, const Onnx__NodeProto *nd)
{
    int64_t axes[2];
    int n = ox_attr_ints(nd, "axes", axes, 2);
    if (n == 0 && nd->n_input > 1)
        return ox_scalar_in(x, nd, 1) == -1;
    return n == 1 && axes[0] == -1 && ox_attr_i(nd, "keepdims", 1) == 1;
}

/* opsets below 17 spell LayerNorm out: m = mean(x), d = x - m, v = mean(d^2),
 * y = d / sqrt(v + eps) over the last axis; the last Div becomes one layer norm of x */
static void ox_find_layernorm(ctx *x, size_t i)
{
    Onnx__GraphProto *g = x->g;
    const Onnx__NodeProto *r1 = g->node[i];
    if (!ox_is_op(r1, "ReduceMean") || !ox_reduces_last_axis(x, r1))
        return;
    int sub = ox_sole_consumer(x, out_(r1), (int) i + 1);
    if (sub < 0 || !ox_is_op(g->node[sub], "Sub") || strcmp(in_(g->node[sub], 0), in_(r1, 0)) ||
        strcmp(in_(g->node[sub], 1), out_(r1)))
        return;
    const char *d = out_(g->node[sub]);
    int pw = ox_consumer_op(x, d, sub + 1, "Pow"), dv = ox_consumer_op(x, d, sub + 1, "Div");
    if (pw < 0 || dv < 0 || ox_scalar_in(x, g->node[pw], 1) != 2)
        return;
    int r2 = ox_sole_consumer(x, out_(g->node[pw]), pw + 1);
    if (r2 < 0 || !ox_is_op(g->node[r2], "ReduceMean") || !ox_reduces_last_axis(x, g->node[r2]))
        return;
    int ad = ox_sole_consumer(x, out_(g->node[r2]), r2 + 1);
    double eps =
        ad >= 0 && ox_is_op(g->node[ad], "Add") ? ox_scalar_in(x, g->node[ad], 1) : (double) NAN;
    int sq = ad >= 0 ? ox_sole_consumer(x, out_(g->node[ad]), ad + 1) : -1;
    if (!(eps > 0 && eps < 1) || sq < 0 || !ox_is_op(g->node[sq], "Sqrt") ||
        ox_sole_consumer(x, out_(g->node[sq]), sq + 1) != dv || strcmp(in_(g->node[dv], 0), d) ||
        strcmp(in_(g->node[dv], 1), out_(g->node[sq])))
        return;
    x->skip[i] = x->skip[sub] = x->skip[pw] = x->skip[r2] = x->skip[ad] = x->skip[sq] = 1;
    x->fuse[dv] = FUSE_LAYERNORM;
    x->fuse_src[dv] = in_(r1, 0);
    x->fuse_eps[dv] = (float) eps;
}

/* Sigmoid(x)*x -> SiLU, HardSigmoid(x)*x -> HardSwish, x*0.5*(1+erf(x/sqrt 2)) -> GELU, and the
 * spelt-out LayerNorm: the inner nodes are skipped, the last node computes the whole from x. */
void ox_find_patterns(ctx *x)
{
    Onnx__GraphProto *g = x->g;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *nd = g->node[i];
        if (!nd->n_input || !nd->n_output)
            continue;
        const char *xin = in_(nd, 0);
        if ((ox_is_op(nd, "Sigmoid") || ox_is_op(nd, "HardSigmoid")) &&
            (!ox_is_op(nd, "HardSigmoid") ||
             (fabsf(ox_attr_f(nd, "alpha", 0.2f) - 1.0f / 6) < 1e-6f &&
              fabsf(ox_attr_f(nd, "beta", 0.5f) - 0.5f) < 1e-6f))) {
            int m = ox_sole_consumer(x, out_(nd), (int) i + 1);
            const Onnx__NodeProto *mn = m >= 0 ? g->node[m] : NULL;
            if (mn && ox_is_op(mn, "Mul") && mn->n_input == 2 &&
                (strcmp(in_(mn, 0), xin) == 0 || strcmp(in_(mn, 1), xin) == 0)) {
                x->skip[i] = 1;
                x->fuse[m] = ox_is_op(nd, "Sigmoid") ? XF_ACT_SILU : XF_ACT_HARDSWISH;
                x->fuse_src[m] = xin;
            }
        }
        if (ox_is_op(nd, "Div") && nd->n_input == 2 &&
            fabs(ox_scalar_in(x, nd, 1) - M_SQRT2) < 1e-5) {
            int e = ox_sole_consumer(x, out_(nd), (int) i + 1);
            int ad = e >= 0 && ox_is_op(g->node[e], "Erf")
                         ? ox_sole_consumer(x, out_(g->node[e]), e + 1)
                         : -1;
            if (ad < 0 || !ox_is_op(g->node[ad], "Add") || ox_scalar_in(x, g->node[ad], 1) != 1)
                continue;
            int m1 = ox_sole_consumer(x, out_(g->node[ad]), ad + 1);
            if (m1 < 0 || !ox_is_op(g->node[m1], "Mul"))
                continue;
            int m2 = ox_sole_consumer(x, out_(g->node[m1]), m1 + 1);
            if (m2 < 0 || !ox_is_op(g->node[m2], "Mul") || ox_scalar_in(x, g->node[m2], 1) != 0.5 ||
                !(strcmp(in_(g->node[m1], 0), xin) == 0 || strcmp(in_(g->node[m1], 1), xin) == 0))
                continue;
            x->skip[i] = x->skip[e] = x->skip[ad] = x->skip[m1] = 1;
            x->fuse[m2] = XF_ACT_GELU;
            x->fuse_src[m2] = xin;
        }
        ox_find_layernorm(x, i);
    }
}
