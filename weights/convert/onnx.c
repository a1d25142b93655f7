/* onnx.c — reads an ONNX conv net (torchvision, timm exports) into an xfer graph.
 *
 * It is: protobuf-c decoding of the model (onnx.proto from Debian's libonnx-dev, compiled by
 * protoc-c at build time), the input, and the mapping of each operator on feature maps onto
 * xfer's NHWC ops. Every activation value remembers its logical layout: NCHW maps onto NHWC
 * memory directly; a Transpose to NHWC (ConvNeXt) is only a change of that label; the
 * Reshape-Transpose-Reshape of ShuffleNet becomes a channel shuffle; a Flatten of a map feeds
 * the next Gemm with its weight rows permuted from CHW to HWC order. Batch norm and constant
 * scales or shifts fold into the producing conv when it has no other consumer.
 * It is not: constants and their folding (onnx_values.c), multi-node patterns such as SiLU or
 * GELU (onnx_patterns.c), or a general ONNX runtime: one image input, static shapes, float32;
 * anything else is an error naming the operator and the node.
 */
#include "onnx_ctx.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

/* ---- graph helpers ------------------------------------------------------------------------- */
static const xf_node *xnode(ctx *x, const value *v)
{
    return &x->c->g.nodes[v->node];
}

/* graph-safe name from an ONNX tensor name: [A-Za-z0-9_.:/-], unique in the graph */
static void safe_name(ctx *x, const char *src, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = src; *p && n + 8 < size && n < 180; p++)
        out[n++] = (isalnum((unsigned char) *p) || strchr("_.:/-", *p)) ? *p : '_';
    if (!n)
        out[n++] = 'v';
    out[n] = 0;
    for (int k = 2; xf__graph_find_node(&x->c->g, out) >= 0; k++)
        snprintf(out + n, size - n, "~%d", k);
}

/* out becomes another name for a's data (its own name kept) */
static void alias(ctx *x, value *out, const value *a)
{
    const char *nm = out->name;
    *out = *a;
    out->name = nm;
    out->f = NULL, out->i = NULL;
    out->own = a->own && x->uses[a - x->v] == 1;
}

static void set_act(value *v, int node, int layout, int own)
{
    v->defined = 1;
    v->is_const = 0;
    v->node = node;
    v->layout = layout;
    v->own = own;
}

static int uses_of(ctx *x, const value *v)
{
    return x->uses[v - x->v];
}

/* the node's output value (created in the table beforehand) */
static value *out_val(ctx *x, const Onnx__NodeProto *nd, size_t k)
{
    return k < nd->n_output ? ox_lookup(x, nd->output[k], 1) : NULL;
}

static int exclusive(ctx *x, const value *v)
{
    return v->own && uses_of(x, v) == 1 && !v->pad[0] && !v->pad[1] && !v->pad[2] && !v->pad[3];
}

/* Per-channel y = x * scale + shift on activation a (scale/shift may be NULL): folded into the
 * producer when possible. */
static xf_status channel_affine(ctx *x, const Onnx__NodeProto *nd, value *a, const float *scale,
                                const float *shift, value *out)
{
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xf__gb_affine(x->c, a->node, scale, shift, exclusive(x, a), nm, x->err);
    if (j < 0)
        return ox_fail_node(x, nd, x->err->code, x->err->msg);
    set_act(out, j, a->layout, 1);
    return XF_OK;
}

/* Broadcast a constant over channels: per-channel (C values in the layout's channel position)
 * or a scalar; writes C floats. 0 when the shape is something else. */
static int per_channel(const value *k, const value *a, int64_t ch, float *out)
{
    if (k->n == 1) {
        for (int64_t j = 0; j < ch; j++)
            out[j] = (float) ox_cval(k, 0);
        return 1;
    }
    if (k->n != ch)
        return 0;
    /* the non-1 dimension must sit at the channel axis counted from the right */
    int axis_from_right = a->layout == L_NCHW ? 2 : 0; /* NCHW: (C,1,1); NHWC, NC: (C) */
    int pos = -1;
    for (int d = 0; d < k->rank; d++)
        if (k->dims[d] != 1)
            pos = k->rank - 1 - d;
    if (pos != axis_from_right)
        return 0;
    for (int64_t j = 0; j < ch; j++)
        out[j] = (float) ox_cval(k, j);
    return 1;
}

/* ---- operators on activations -------------------------------------------------------------- */
static xf_status add_node(ctx *x, const Onnx__NodeProto *nd, xf_node *p, value *out, int layout)
{
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xf__gb_add(x->c, p, nm, NULL, x->err);
    if (j < 0)
        return ox_fail_node(x, nd, x->err->code, x->err->msg);
    set_act(out, j, layout, 1);
    return XF_OK;
}

/* add_node with the node's weight (row-major shape) and bias, both owned here (freed on error) */
static xf_status add_node_params(ctx *x, const Onnx__NodeProto *nd, xf_node *p, value *out,
                                 int layout, float *w, const int64_t *shape, int ndims, float *b)
{
    xf_status s = add_node(x, nd, p, out, layout);
    if (s) {
        free(w), free(b);
        return s;
    }
    xf__gb_set_params(x->c, out->node, w, shape, ndims, b);
    return XF_OK;
}

static int parse_pool_geometry(ctx *x, const Onnx__NodeProto *nd, const xf_node *src, xf_node *p,
                               int64_t kh, int64_t kw, xf_status *s)
{
    int64_t st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, dil[2] = {1, 1};
    if (ox_attr_ints(nd, "strides", st, 2) < 0 || ox_attr_ints(nd, "pads", pads, 4) < 0 ||
        ox_attr_ints(nd, "dilations", dil, 2) < 0) {
        *s = ox_fail_node(x, nd, XF_ERR_FORMAT, "strides/pads/dilations of the wrong length");
        return 0;
    }
    char ap[32];
    const char *auto_pad = ox_attr_s(nd, "auto_pad", ap, sizeof ap);
    if (kh < 1 || kw < 1 || kh > 1024 || kw > 1024 || st[0] < 1 || st[1] < 1 || st[0] > 1024 ||
        st[1] > 1024 || dil[0] < 1 || dil[1] < 1 || dil[0] > 1024 || dil[1] > 1024) {
        *s = ox_fail_node(x, nd, XF_ERR_FORMAT, "kernel, strides or dilations out of range");
        return 0;
    }
    for (int k = 0; k < 4; k++)
        if (pads[k] < 0 || pads[k] > 1024) {
            *s = ox_fail_node(x, nd, XF_ERR_FORMAT, "negative or huge padding");
            return 0;
        }
    p->kh = (int) kh, p->kw = (int) kw, p->sh = (int) st[0], p->sw = (int) st[1];
    p->dil_h = (int) dil[0], p->dil_w = (int) dil[1];
    p->pt = (int) pads[0], p->pl = (int) pads[1], p->pb = (int) pads[2], p->pr = (int) pads[3];
    if (auto_pad && (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0)) {
        int ekh = (p->kh - 1) * p->dil_h + 1, ekw = (p->kw - 1) * p->dil_w + 1;
        xf__gb_same_pad(src->h, ekh, p->sh, &p->pt, &p->pb);
        xf__gb_same_pad(src->w, ekw, p->sw, &p->pl, &p->pr);
        if (auto_pad[5] == 'L') { /* the extra cell goes first */
            int t = p->pt;
            p->pt = p->pb, p->pb = t;
            t = p->pl;
            p->pl = p->pr, p->pr = t;
        }
    } else if (auto_pad && strcmp(auto_pad, "VALID") == 0) {
        p->pt = p->pb = p->pl = p->pr = 0;
    }
    return 1;
}

static xf_status op_conv(ctx *x, const Onnx__NodeProto *nd, value *a, value *out)
{
    xf_status s = XF_OK;
    value *w = ox_in_val(x, nd, 1, &s);
    if (!w)
        return s;
    value *b = nd->n_input > 2 && *nd->input[2] ? ox_in_val(x, nd, 2, &s) : NULL;
    if (s)
        return s;
    if (a->layout != L_NCHW || !w->is_const || w->rank != 4 || !w->f ||
        (b && (!b->is_const || !b->f)))
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                            "needs an NCHW input and constant float "
                            "weights (O, I/groups, kh, kw)");
    const xf_node *src = xnode(x, a);
    int64_t O = w->dims[0], I = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    int64_t g = ox_attr_i(nd, "group", 1), C = src->c;
    if (g < 1 || g > C || C % g || O % g || I * g != C || (b && b->n != O))
        return ox_fail_node(x, nd, XF_ERR_SHAPE,
                            "weight shape does not match the input channels "
                            "and groups");
    xf_node p;
    memset(&p, 0, sizeof p);
    if (!parse_pool_geometry(x, nd, src, &p, kh, kw, &s))
        return s;
    p.pt += a->pad[0], p.pb += a->pad[1], p.pl += a->pad[2], p.pr += a->pad[3];
    p.in[0] = a->node, p.n_in = 1;
    int depthwise = g == C && g > 1 && p.dil_h == 1 && p.dil_w == 1;
    int64_t n = O * I * kh * kw;
    float *wt = malloc((size_t) n * sizeof(float));
    float *bias = b ? malloc((size_t) O * sizeof(float)) : NULL;
    if (!wt || (b && !bias)) {
        free(wt), free(bias);
        return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    }
    if (depthwise) { /* (kh, kw, C, mult): output channel ci * mult + m is ONNX's o */
        p.op = XF_OP_DWCONV2D;
        p.mult = (int) (O / C);
        for (int64_t o = 0; o < O; o++)
            for (int64_t ky = 0; ky < kh; ky++)
                for (int64_t kx = 0; kx < kw; kx++)
                    wt[(ky * kw + kx) * O + o] = w->f[(o * kh + ky) * kw + kx];
    } else { /* (kh, kw, I, O) */
        p.op = XF_OP_CONV2D;
        p.cout = (int) O;
        p.groups = (int) g;
        for (int64_t o = 0; o < O; o++)
            for (int64_t ci = 0; ci < I; ci++)
                for (int64_t ky = 0; ky < kh; ky++)
                    for (int64_t kx = 0; kx < kw; kx++)
                        wt[((ky * kw + kx) * I + ci) * O + o] =
                            w->f[((o * I + ci) * kh + ky) * kw + kx];
    }
    if (b)
        memcpy(bias, b->f, (size_t) O * sizeof(float));
    int64_t shape[4] = {kh, kw, depthwise ? C : I, depthwise ? O / C : O};
    x->feature_node = a->node;
    return add_node_params(x, nd, &p, out, L_NCHW, wt, shape, 4, bias);
}

/* Gemm / MatMul with a constant weight: dense on vectors, 1x1 conv on NHWC maps (ConvNeXt). */
static xf_status op_linear(ctx *x, const Onnx__NodeProto *nd, value *a, value *out)
{
    xf_status s = XF_OK;
    int gemm = strcmp(nd->op_type, "Gemm") == 0;
    value *w = ox_in_val(x, nd, 1, &s);
    if (!w)
        return s;
    value *b = gemm && nd->n_input > 2 && *nd->input[2] ? ox_in_val(x, nd, 2, &s) : NULL;
    if (s)
        return s;
    int tb = gemm && ox_attr_i(nd, "transB", 0);
    float alpha = gemm ? ox_attr_f(nd, "alpha", 1) : 1, beta = gemm ? ox_attr_f(nd, "beta", 1) : 1;
    if (!w->is_const || !w->f || w->rank != 2 || (b && (!b->is_const || !b->f)) ||
        (gemm && ox_attr_i(nd, "transA", 0)))
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                            "needs a constant 2-D float weight (and no "
                            "transA)");
    const xf_node *src = xnode(x, a);
    int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
    int map = a->layout == L_NHWC && !gemm;
    int64_t in_len = map ? src->c : src->h * src->w * src->c;
    if (!(map || a->layout == L_NC || a->layout == L_FLAT) || K != in_len ||
        (b && b->n != N && b->n != 1))
        return ox_fail_node(x, nd, XF_ERR_SHAPE,
                            "input is not a vector (or NHWC map) of the "
                            "weight's input length");
    float *wt = malloc((size_t) (K * N) * sizeof(float));
    float *bias = b ? malloc((size_t) N * sizeof(float)) : NULL;
    if (!wt || (b && !bias)) {
        free(wt), free(bias);
        return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    }
    /* a Flatten of a (C, H, W) map: ONNX row c*H*W + y*W + x is our row (y*W + x)*C + c */
    int64_t H = 1, W = 1, C = K;
    if (a->layout == L_FLAT) {
        const xf_node *m = &x->c->g.nodes[src->in[0]];
        H = m->h, W = m->w, C = m->c;
    }
    for (int64_t k = 0; k < K; k++) {
        int64_t c = k / (H * W), yx = k % (H * W), row = yx * C + c;
        for (int64_t j = 0; j < N; j++)
            wt[row * N + j] = alpha * (tb ? w->f[j * K + k] : w->f[k * N + j]);
    }
    for (int64_t j = 0; b && j < N; j++)
        bias[j] = beta * b->f[b->n == 1 ? 0 : j];
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = map ? XF_OP_CONV2D : XF_OP_DENSE;
    if (map) /* a 1x1 convolution over the NHWC map */
        p.kh = p.kw = p.sh = p.sw = 1;
    p.cout = (int) N;
    p.in[0] = a->node, p.n_in = 1;
    int64_t shape4[4] = {1, 1, K, N}, shape2[2] = {K, N};
    x->feature_node = a->node;
    return add_node_params(x, nd, &p, out, map ? L_NHWC : L_NC, wt, map ? shape4 : shape2,
                           map ? 4 : 2, bias);
}

static xf_status op_pool(ctx *x, const Onnx__NodeProto *nd, value *a, value *out)
{
    xf_status s = XF_OK;
    int is_max = strcmp(nd->op_type, "MaxPool") == 0;
    int64_t k[2] = {0, 0};
    if (a->layout != L_NCHW || ox_attr_ints(nd, "kernel_shape", k, 2) != 2)
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                            "needs an NCHW input and a 2-D kernel_shape");
    if (nd->n_output > 1 && *nd->output[1])
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "the indices output is not supported");
    const xf_node *src = xnode(x, a);
    xf_node p;
    memset(&p, 0, sizeof p);
    if (!parse_pool_geometry(x, nd, src, &p, k[0], k[1], &s))
        return s;
    if (p.dil_h != 1 || p.dil_w != 1)
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "dilated pooling");
    p.dil_h = p.dil_w = 0;
    p.op = is_max ? XF_OP_MAXPOOL : XF_OP_AVGPOOL;
    p.count_pad = !is_max && ox_attr_i(nd, "count_include_pad", 0);
    if (a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3]) {
        /* explicit zeros (older exports of count_include_pad=True): counted in the divisor */
        if (is_max || (!p.count_pad && (p.pt || p.pb || p.pl || p.pr)))
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                                "zero padding before a max pool or a "
                                "pad-excluding padded average pool");
        p.count_pad = 1;
        p.pt += a->pad[0], p.pb += a->pad[1], p.pl += a->pad[2], p.pr += a->pad[3];
    }
    if (ox_attr_i(nd, "ceil_mode", 0)) { /* PyTorch's rule: the last window starts inside */
        int64_t dims[2] = {src->h, src->w}, *kk = k;
        int st[2] = {p.sh, p.sw}, lo[2] = {p.pt, p.pl}, *hi[2] = {&p.pb, &p.pr};
        for (int d = 0; d < 2; d++) {
            int64_t span = dims[d] + lo[d] + *hi[d] - kk[d];
            if (span < 0)
                break;
            int64_t o = (span + st[d] - 1) / st[d] + 1;
            if ((o - 1) * st[d] >= dims[d] + lo[d])
                o--;
            int64_t extra = (o - 1) * st[d] + kk[d] - (dims[d] + lo[d] + *hi[d]);
            if (extra > 0) {
                if (p.count_pad)
                    return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                                        "ceil_mode with "
                                        "count_include_pad on a partial window");
                *hi[d] += (int) extra;
            }
        }
    }
    p.in[0] = a->node, p.n_in = 1;
    return add_node(x, nd, &p, out, L_NCHW);
}

/* act on node src (fused into it when excl) as value out */
static xf_status act_on(ctx *x, const Onnx__NodeProto *nd, int src, int layout, int excl,
                        xf_act act, value *out)
{
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xf__gb_activation(x->c, src, act, excl, nm, x->err);
    if (j < 0)
        return ox_fail_node(x, nd, x->err->code, x->err->msg);
    set_act(out, j, layout, 1);
    return XF_OK;
}

static xf_status op_act(ctx *x, const Onnx__NodeProto *nd, value *a, xf_act act, value *out)
{
    return act_on(x, nd, a->node, a->layout, exclusive(x, a), act, out);
}

/* Flatten / Reshape of an activation */
static xf_status reshape_act(ctx *x, const Onnx__NodeProto *nd, value *a, const int64_t *shape,
                             int rank, value *out)
{
    const xf_node *src = xnode(x, a);
    int64_t total = src->h * src->w * src->c, known = 1, neg = -1;
    int64_t dims[MAX_RANK];
    for (int d = 0; d < rank; d++) {
        dims[d] = shape[d] == 0 && d == 0 ? 1 : shape[d];
        if (dims[d] == -1 && neg < 0)
            neg = d;
        else if (dims[d] < 1)
            return ox_fail_node(x, nd, XF_ERR_SHAPE, "bad target shape");
        else
            known = ox_mul_dims(known, dims[d]);
    }
    if (dims[0] != 1 && !(neg == 0))
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "reshapes across the batch dimension");
    if (neg >= 0) {
        if (known < 1 || total % known)
            return ox_fail_node(x, nd, XF_ERR_SHAPE, "target shape does not divide the input");
        dims[neg] = total / known;
    }
    int64_t prod = 1;
    for (int d = 0; d < rank; d++)
        prod = ox_mul_dims(prod, dims[d]);
    if (prod != total)
        return ox_fail_node(x, nd, XF_ERR_SHAPE, "target shape has another element count");
    alias(x, out, a);
    if (rank == 2) { /* (N, K): a vector */
        if (src->h * src->w == 1 || a->layout == L_NC || a->layout == L_FLAT) {
            out->layout = a->layout == L_FLAT ? L_FLAT : L_NC;
            return XF_OK;
        }
        if (a->layout != L_NCHW)
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "flattening an NHWC-labelled map");
        xf_node p;
        memset(&p, 0, sizeof p);
        p.op = XF_OP_FLATTEN, p.in[0] = a->node, p.n_in = 1;
        return add_node(x, nd, &p, out, L_FLAT);
    }
    if (rank == 4 && (a->layout == L_NC || src->h * src->w == 1) && dims[2] == 1 && dims[3] == 1) {
        out->layout = L_NCHW;
        return XF_OK;
    }
    if (rank == 4 && a->layout == L_NCHW && dims[1] == src->c && dims[2] == src->h)
        return XF_OK;
    if (rank == 5 && a->layout == L_NCHW && dims[3] == src->h && dims[4] == src->w) {
        out->layout = L_GROUPED;
        out->groups = (int) dims[1];
        return XF_OK;
    }
    if (rank == 4 && a->layout == L_GROUPED_T && dims[1] == src->c && dims[2] == src->h) {
        xf_node p;
        memset(&p, 0, sizeof p);
        p.op = XF_OP_SHUFFLE, p.groups = a->groups, p.in[0] = a->node, p.n_in = 1;
        return add_node(x, nd, &p, out, L_NCHW);
    }
    return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                        "this reshape of a feature map (only flatten, "
                        "(N,C)<->(N,C,1,1) and channel shuffle are supported)");
}

static int perm_is(const int64_t *p, int n, const int64_t *q)
{
    for (int k = 0; k < n; k++)
        if (p[k] != q[k])
            return 0;
    return 1;
}

static xf_status op_transpose(ctx *x, const Onnx__NodeProto *nd, value *a, value *out)
{
    int64_t perm[MAX_RANK];
    int n = ox_attr_ints(nd, "perm", perm, MAX_RANK);
    static const int64_t to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2},
                         swap12[5] = {0, 2, 1, 3, 4};
    alias(x, out, a);
    if (n == 4 && a->layout == L_NCHW && perm_is(perm, 4, to_nhwc))
        out->layout = L_NHWC;
    else if (n == 4 && a->layout == L_NHWC && perm_is(perm, 4, to_nchw))
        out->layout = L_NCHW;
    else if (n == 5 && a->layout == L_GROUPED && perm_is(perm, 5, swap12))
        out->layout = L_GROUPED_T;
    else
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                            "this transpose (only NCHW<->NHWC and the "
                            "channel-shuffle swap are supported)");
    return XF_OK;
}

/* channel axis of layout for an ONNX axis (negative counted from the end); -1 if not channels */
static int is_channel_axis(const value *a, int64_t axis)
{
    int rank = a->layout == L_NC || a->layout == L_FLAT ? 2 : 4;
    if (axis < 0)
        axis += rank;
    return a->layout == L_NHWC ? axis == 3 : axis == 1;
}

static xf_status slice_channels(ctx *x, const Onnx__NodeProto *nd, value *a, int64_t b0, int64_t e0,
                                value *out)
{
    int64_t c = xnode(x, a)->c;
    if (b0 < 0)
        b0 += c;
    if (e0 < 0)
        e0 += c;
    e0 = e0 > c ? c : e0;
    if (b0 < 0 || b0 >= e0)
        return ox_fail_node(x, nd, XF_ERR_SHAPE, "empty or bad channel range");
    if (b0 == 0 && e0 == c) {
        alias(x, out, a);
        out->own = 0;
        return XF_OK;
    }
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_SLICE, p.begin = (int) b0, p.end = (int) e0, p.in[0] = a->node, p.n_in = 1;
    return add_node(x, nd, &p, out, a->layout);
}

/* ---- the walk ------------------------------------------------------------------------------ */
/* scale/shift on value v, then act on the result: out becomes that */
static xf_status affine_act(ctx *x, const Onnx__NodeProto *nd, value *v, float scale, float shift,
                            xf_act act, value *out)
{
    int64_t ch = xnode(x, v)->c;
    float *sc = malloc((size_t) ch * sizeof(float)), *sh = malloc((size_t) ch * sizeof(float));
    for (int64_t j = 0; sc && sh && j < ch; j++)
        sc[j] = scale, sh[j] = shift;
    xf_status s = sc && sh ? channel_affine(x, nd, v, sc, sh, out)
                           : xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    free(sc), free(sh);
    if (!s && act != XF_ACT_NONE) /* a fresh node, or v's sole producer: fusing is safe */
        s = act_on(x, nd, out->node, out->layout, 1, act, out);
    return s;
}

/* Clip to [lo, hi] from ReLU and hard sigmoid between per-channel affines:
 * [lo, inf): relu(x - lo) + lo; (-inf, hi]: hi - relu(hi - x);
 * [lo, hi]: lo + (hi - lo) * hardsigmoid(6 (x - lo) / (hi - lo) - 3) */
static xf_status op_clip(ctx *x, const Onnx__NodeProto *nd, value *a, double lo, double hi,
                         value *out)
{
    if (isnan(lo) || isnan(hi) || !(lo < hi) || (isinf(lo) && isinf(hi)))
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                            "Clip bounds must be constants with "
                            "min < max, not both infinite");
    xf_status s;
    if (isinf(hi))
        s = affine_act(x, nd, a, 1, (float) -lo, XF_ACT_RELU, out);
    else if (isinf(lo))
        s = affine_act(x, nd, a, -1, (float) hi, XF_ACT_RELU, out);
    else
        s = affine_act(x, nd, a, (float) (6 / (hi - lo)), (float) (-6 * lo / (hi - lo) - 3),
                       XF_ACT_HARDSIGMOID, out);
    if (s)
        return s;
    if (isinf(hi))
        return affine_act(x, nd, out, 1, (float) lo, XF_ACT_NONE, out);
    if (isinf(lo))
        return affine_act(x, nd, out, -1, (float) hi, XF_ACT_NONE, out);
    return affine_act(x, nd, out, (float) (hi - lo), (float) lo, XF_ACT_NONE, out);
}

/* a prelu node on a with per-channel slopes (ownership taken) */
static xf_status add_prelu(ctx *x, const Onnx__NodeProto *nd, value *a, float *slopes, value *out)
{
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_PRELU, p.in[0] = a->node, p.n_in = 1;
    int64_t shape[1] = {xnode(x, a)->c};
    return add_node_params(x, nd, &p, out, a->layout, slopes, shape, 1, NULL);
}

/* layer norm over channels (the last axis of an NHWC-labelled map, or a vector); scale/bias
 * NULL: 1 / 0 */
static xf_status add_layernorm(ctx *x, const Onnx__NodeProto *nd, value *a, const float *scale,
                               const float *bias, float eps, value *out)
{
    if (a->layout != L_NHWC && a->layout != L_NC)
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                            "layer norm other than over channels (the "
                            "last axis of an NHWC map, or a vector)");
    if (!(eps > 0 && eps < 1))
        return ox_fail_node(x, nd, XF_ERR_VALUE, "epsilon outside (0, 1)");
    int64_t ch = xnode(x, a)->c;
    float *w = malloc((size_t) ch * sizeof(float)), *b = calloc((size_t) ch, sizeof(float));
    if (!w || !b) {
        free(w), free(b);
        return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    }
    for (int64_t j = 0; j < ch; j++)
        w[j] = scale ? scale[j] : 1.0f, b[j] = bias ? bias[j] : 0.0f;
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_LAYERNORM, p.in[0] = a->node, p.n_in = 1, p.eps = eps;
    int64_t shape[1] = {ch};
    return add_node_params(x, nd, &p, out, a->layout, w, shape, 1, b);
}

static xf_status op_binary(ctx *x, const Onnx__NodeProto *nd, value *out)
{
    xf_status s = XF_OK;
    value *a = ox_in_val(x, nd, 0, &s), *b = a ? ox_in_val(x, nd, 1, &s) : NULL;
    if (!b)
        return s;
    int add = ox_is_op(nd, "Add"), sub = ox_is_op(nd, "Sub"), div = ox_is_op(nd, "Div");
    if (!a->is_const && !b->is_const) {
        if (sub || div)
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "between two feature maps");
        const xf_node *na = xnode(x, a), *nb = xnode(x, b);
        if (add && (na->h != nb->h || na->w != nb->w || na->c != nb->c || a->layout != b->layout))
            return ox_fail_node(x, nd, XF_ERR_SHAPE, "adds maps of different shapes or layouts");
        if (!add && nb->h * nb->w > na->h * na->w) { /* the map first, the gate second */
            value *t = a;
            a = b, b = t;
            na = xnode(x, a), nb = xnode(x, b);
        }
        xf_node p;
        memset(&p, 0, sizeof p);
        p.op = add ? XF_OP_ADD : XF_OP_MUL;
        p.in[0] = a->node, p.in[1] = b->node, p.n_in = 2;
        return add_node(x, nd, &p, out, a->layout);
    }
    if (a->is_const && (sub || div))
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "a constant minus/over a feature map");
    value *m = a->is_const ? b : a, *k = a->is_const ? a : b;
    int64_t ch = xnode(x, m)->c;
    float *v = malloc((size_t) ch * sizeof(float));
    if (!v)
        return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    if (!per_channel(k, m, ch, v)) {
        free(v);
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                            "constant operand is neither a scalar nor "
                            "per-channel");
    }
    for (int64_t j = 0; j < ch; j++) {
        if (div && v[j] == 0) {
            free(v);
            return ox_fail_node(x, nd, XF_ERR_VALUE, "division by zero");
        }
        v[j] = sub ? -v[j] : div ? 1.0f / v[j] : v[j];
    }
    s = add || sub ? channel_affine(x, nd, m, NULL, v, out)
                   : channel_affine(x, nd, m, v, NULL, out);
    free(v);
    return s;
}

static xf_status op_batchnorm(ctx *x, const Onnx__NodeProto *nd, value *a, value *out)
{
    xf_status s = XF_OK;
    value *p[4];
    for (int k = 0; k < 4; k++)
        if (!(p[k] = ox_in_val(x, nd, (size_t) k + 1, &s)))
            return s;
    int64_t ch = xnode(x, a)->c;
    for (int k = 0; k < 4; k++)
        if (!p[k]->is_const || !p[k]->f || p[k]->n != ch)
            return ox_fail_node(x, nd, XF_ERR_SHAPE,
                                "scale/bias/mean/var must be constant "
                                "per-channel vectors");
    if (!is_channel_axis(a, 1) && a->layout != L_NC)
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "batch norm on an NHWC-labelled map");
    for (int64_t j = 0; j < ch; j++)
        if (!(p[3]->f[j] >= 0))
            return ox_fail_node(x, nd, XF_ERR_VALUE, "negative running variance");
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xf__gb_batchnorm(x->c, a->node, p[0]->f, p[1]->f, p[2]->f, p[3]->f,
                             ox_attr_f(nd, "epsilon", 1e-5f), exclusive(x, a), nm, x->err);
    if (j < 0)
        return ox_fail_node(x, nd, x->err->code, x->err->msg);
    set_act(out, j, a->layout, 1);
    return XF_OK;
}

static xf_status add_layernorm(ctx *x, const Onnx__NodeProto *nd, value *a, const float *scale,
                               const float *bias, float eps, value *out);

/* The last node of a pattern (find_patterns), computed from the pattern's input. */
static xf_status op_fused(ctx *x, size_t i, value *out)
{
    const Onnx__NodeProto *nd = x->g->node[i];
    value *src = ox_lookup(x, x->fuse_src[i], 0);
    if (!src || !src->defined || src->is_const)
        return ox_fail_node(x, nd, XF_ERR_FORMAT, "pattern without its input");
    x->uses[src - x->v]--; /* read twice by the pattern (the gate, the erf or mean branch) */
    if (x->fuse[i] == FUSE_LAYERNORM)
        return add_layernorm(x, nd, src, NULL, NULL, x->fuse_eps[i], out);
    return op_act(x, nd, src, (xf_act) x->fuse[i], out);
}

static xf_status op_node(ctx *x, size_t i)
{
    const Onnx__NodeProto *nd = x->g->node[i];
    xf_status s = XF_OK;
    if (nd->domain && *nd->domain && strcmp(nd->domain, "ai.onnx") != 0)
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "operator from a custom domain");
    if (!nd->n_output)
        return ox_fail_node(x, nd, XF_ERR_FORMAT, "no output");
    value *out = out_val(x, nd, 0);
    if (!out)
        return ox_fail_node(x, nd, XF_ERR_FORMAT, "unnamed first output");
    if (out->defined)
        return ox_fail_node(x, nd, XF_ERR_FORMAT, "output is produced twice");
    if (ox_is_op(nd, "Constant")) {
        const Onnx__AttributeProto *a = ox_attr(nd, "value");
        if (a && a->t)
            return ox_const_from_tensor(x, a->t, out);
        if ((a = ox_attr(nd, "value_float")) && a->has_f) {
            if ((s = ox_const_new(x, out, 0, NULL, 0)))
                return s;
            out->f[0] = a->f;
            return XF_OK;
        }
        if ((a = ox_attr(nd, "value_int")) && a->has_i) {
            if ((s = ox_const_new(x, out, 0, NULL, 1)))
                return s;
            out->i[0] = a->i;
            return XF_OK;
        }
        if ((a = ox_attr(nd, "value_ints"))) {
            int64_t n = (int64_t) a->n_ints;
            if ((s = ox_const_new(x, out, 1, &n, 1)))
                return s;
            for (int64_t k = 0; k < n; k++)
                out->i[k] = a->ints[k];
            return XF_OK;
        }
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "Constant without a tensor value");
    }
    if (x->skip[i])
        return XF_OK;
    if (!nd->n_input)
        return ox_fail_node(x, nd, XF_ERR_FORMAT, "no input");
    if (x->fuse[i])
        return op_fused(x, i, out);
    value *a = ox_in_val(x, nd, 0, &s);
    if (!a)
        return s;
    if (ox_all_const(x, nd))
        return ox_fold(x, nd, out);
    if (ox_is_op(nd, "Add") || ox_is_op(nd, "Sub") || ox_is_op(nd, "Mul") || ox_is_op(nd, "Div"))
        return op_binary(x, nd, out);
    if (a->is_const)
        return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                            "constant first operand of a feature-map op");
    if (ox_is_op(nd, "Conv"))
        return op_conv(x, nd, a, out);
    if (ox_is_op(nd, "Gemm") || ox_is_op(nd, "MatMul"))
        return op_linear(x, nd, a, out);
    if (ox_is_op(nd, "BatchNormalization"))
        return op_batchnorm(x, nd, a, out);
    if (ox_is_op(nd, "Relu"))
        return op_act(x, nd, a, XF_ACT_RELU, out);
    if (ox_is_op(nd, "Sigmoid"))
        return op_act(x, nd, a, XF_ACT_SIGMOID, out);
    if (ox_is_op(nd, "HardSwish"))
        return op_act(x, nd, a, XF_ACT_HARDSWISH, out);
    if (ox_is_op(nd, "HardSigmoid")) { /* clip(ax + b, 0, 1) = hardsigmoid(6a x + 6b - 3) */
        float al = ox_attr_f(nd, "alpha", 0.2f), be = ox_attr_f(nd, "beta", 0.5f);
        if (fabsf(al - 1.0f / 6) > 1e-6f || be != 0.5f)
            return affine_act(x, nd, a, 6 * al, 6 * be - 3, XF_ACT_HARDSIGMOID, out);
        return op_act(x, nd, a, XF_ACT_HARDSIGMOID, out);
    }
    if (ox_is_op(nd, "LeakyRelu")) { /* other slopes: a PReLU with one slope everywhere */
        float al = ox_attr_f(nd, "alpha", 0.01f);
        if (fabsf(al - 0.01f) <= 1e-7f)
            return op_act(x, nd, a, XF_ACT_LEAKY, out);
        int64_t ch = xnode(x, a)->c;
        float *v = malloc((size_t) ch * sizeof(float));
        if (!v)
            return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
        for (int64_t j = 0; j < ch; j++)
            v[j] = al;
        return add_prelu(x, nd, a, v, out);
    }
    if (ox_is_op(nd, "Clip")) {
        double lo = nd->n_input > 1 && *nd->input[1] ? ox_scalar_in(x, nd, 1)
                                                     : (double) ox_attr_f(nd, "min", -INFINITY);
        double hi = nd->n_input > 2 && *nd->input[2] ? ox_scalar_in(x, nd, 2)
                                                     : (double) ox_attr_f(nd, "max", INFINITY);
        if (lo == 0 && hi == 6)
            return op_act(x, nd, a, XF_ACT_RELU6, out);
        if (lo == 0 && isinf(hi) && hi > 0)
            return op_act(x, nd, a, XF_ACT_RELU, out);
        return op_clip(x, nd, a, lo, hi, out);
    }
    if (ox_is_op(nd, "PRelu")) {
        value *sl = ox_in_val(x, nd, 1, &s);
        if (!sl)
            return s;
        int64_t ch = xnode(x, a)->c;
        float *v = sl->is_const ? malloc((size_t) ch * sizeof(float)) : NULL;
        if (!v || !per_channel(sl, a, ch, v)) {
            free(v);
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                                "slope must be a constant scalar or "
                                "per-channel");
        }
        return add_prelu(x, nd, a, v, out);
    }
    if (ox_is_op(nd, "MaxPool") || ox_is_op(nd, "AveragePool"))
        return op_pool(x, nd, a, out);
    if (ox_is_op(nd, "GlobalAveragePool") || ox_is_op(nd, "GlobalMaxPool") ||
        ox_is_op(nd, "ReduceMean")) {
        if (ox_is_op(nd, "ReduceMean")) {
            int64_t axes[4];
            int na = ox_attr_ints(nd, "axes", axes, 4);
            if (nd->n_input > 1 && *nd->input[1]) {
                value *av = ox_in_val(x, nd, 1, &s);
                if (!av)
                    return s;
                na = av->n == 2 ? 2 : -1;
                for (int k = 0; k < na; k++)
                    axes[k] = ox_ival(av, k);
            }
            int spatial = a->layout == L_NCHW && na == 2 &&
                          ((axes[0] == 2 && axes[1] == 3) || (axes[0] == -2 && axes[1] == -1));
            if (!spatial)
                return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "ReduceMean other than over H, W");
        } else if (a->layout != L_NCHW) {
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "global pooling of a non-NCHW value");
        }
        const xf_node *src = xnode(x, a);
        xf_node p;
        memset(&p, 0, sizeof p);
        p.in[0] = a->node, p.n_in = 1;
        if (ox_is_op(nd, "GlobalMaxPool"))
            p.op = XF_OP_MAXPOOL, p.kh = (int) src->h, p.kw = (int) src->w, p.sh = p.sw = 1;
        else
            p.op = XF_OP_GAP;
        int keep = !ox_is_op(nd, "ReduceMean") || ox_attr_i(nd, "keepdims", 1);
        return add_node(x, nd, &p, out, keep ? L_NCHW : L_NC);
    }
    if (ox_is_op(nd, "Concat")) {
        xf_node p;
        memset(&p, 0, sizeof p);
        p.op = XF_OP_CONCAT;
        if (!is_channel_axis(a, ox_attr_i(nd, "axis", 1)))
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "concatenation other than on channels");
        for (size_t k = 0; k < nd->n_input; k++) {
            value *v = ox_in_val(x, nd, k, &s);
            if (!v)
                return s;
            if (v->is_const || v->layout != a->layout)
                return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                                    "inputs of mixed layouts or constants");
            if (p.n_in == XF_NODE_MAX_IN) { /* DenseNet: a chain of concats, same order */
                value part = *out;
                if ((s = add_node(x, nd, &p, &part, a->layout)))
                    return s;
                p.n_in = 1;
                p.in[0] = part.node;
            }
            p.in[p.n_in++] = v->node;
        }
        if (p.n_in == 1) {
            alias(x, out, a);
            out->own = 0;
            return XF_OK;
        }
        return add_node(x, nd, &p, out, a->layout);
    }
    if (ox_is_op(nd, "Identity") || ox_is_op(nd, "Dropout")) {
        alias(x, out, a);
        return XF_OK;
    }
    if (ox_is_op(nd, "Flatten")) {
        int64_t ax = ox_attr_i(nd, "axis", 1), shape[2] = {1, -1};
        if (ax != 1)
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "Flatten other than axis 1");
        return reshape_act(x, nd, a, shape, 2, out);
    }
    if (ox_is_op(nd, "Reshape") || ox_is_op(nd, "Squeeze") || ox_is_op(nd, "Unsqueeze")) {
        int64_t shape[MAX_RANK];
        int rank;
        if (ox_is_op(nd, "Reshape")) {
            value *sh = ox_in_val(x, nd, 1, &s);
            if (!sh)
                return s;
            if (!sh->is_const || sh->n > MAX_RANK || sh->n < 1)
                return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "target shape is not a constant");
            rank = (int) sh->n;
            for (int d = 0; d < rank; d++)
                shape[d] = ox_ival(sh, d);
        } else { /* (N,C,1,1) <-> (N,C) */
            const xf_node *src = xnode(x, a);
            if (src->h * src->w != 1)
                return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "squeeze of a feature map");
            int sq = ox_is_op(nd, "Squeeze");
            rank = sq ? 2 : 4;
            shape[0] = 1, shape[1] = src->c, shape[2] = shape[3] = 1;
        }
        return reshape_act(x, nd, a, shape, rank, out);
    }
    if (ox_is_op(nd, "Transpose"))
        return op_transpose(x, nd, a, out);
    if (ox_is_op(nd, "Shape")) { /* of a feature map: a constant (static shapes) */
        const xf_node *src = xnode(x, a);
        int64_t sh[5] = {1, src->c, src->h, src->w, 0}, rank = 4;
        if (a->layout == L_NHWC)
            sh[1] = src->h, sh[2] = src->w, sh[3] = src->c;
        else if (a->layout == L_NC || a->layout == L_FLAT)
            sh[1] = src->h * src->w * src->c, rank = 2;
        else if (a->layout == L_GROUPED || a->layout == L_GROUPED_T) {
            int64_t g0 = a->groups, g1 = src->c / a->groups;
            sh[1] = a->layout == L_GROUPED ? g0 : g1, sh[2] = a->layout == L_GROUPED ? g1 : g0;
            sh[3] = src->h, sh[4] = src->w, rank = 5;
        }
        int64_t b0 = ox_attr_i(nd, "start", 0), e0 = ox_attr_i(nd, "end", rank);
        b0 = b0 < 0 ? b0 + rank : b0, e0 = e0 < 0 ? e0 + rank : e0;
        b0 = b0 < 0 ? 0 : b0 > rank ? rank : b0, e0 = e0 < b0 ? b0 : e0 > rank ? rank : e0;
        int64_t n = e0 - b0;
        if ((s = ox_const_new(x, out, 1, &n, 1)))
            return s;
        for (int64_t k = 0; k < n; k++)
            out->i[k] = sh[b0 + k];
        return XF_OK;
    }
    if (ox_is_op(nd, "Softmax")) {
        int64_t ax = ox_attr_i(nd, "axis", -1);
        if (!(a->layout == L_NC || a->layout == L_FLAT) || !(ax == 1 || ax == -1))
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "softmax other than over class scores");
        xf_node p;
        memset(&p, 0, sizeof p);
        p.op = XF_OP_SOFTMAX, p.in[0] = a->node, p.n_in = 1;
        return add_node(x, nd, &p, out, L_NC);
    }
    if (ox_is_op(nd, "LayerNormalization")) {
        value *sc = ox_in_val(x, nd, 1, &s);
        value *bi = sc && nd->n_input > 2 && *nd->input[2] ? ox_in_val(x, nd, 2, &s) : NULL;
        if (s)
            return s;
        int64_t ch = xnode(x, a)->c, ax = ox_attr_i(nd, "axis", -1);
        if (ax != -1 && ax != (a->layout == L_NC ? 1 : 3))
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                                "layer norm other than over the last axis");
        if (!sc->is_const || !sc->f || sc->n != ch ||
            (bi && (!bi->is_const || !bi->f || bi->n != ch)))
            return ox_fail_node(x, nd, XF_ERR_SHAPE, "scale/bias must be constant per-channel");
        return add_layernorm(x, nd, a, sc->f, bi ? bi->f : NULL, ox_attr_f(nd, "epsilon", 1e-5f),
                             out);
    }
    if (ox_is_op(nd, "Split") || ox_is_op(nd, "Slice")) {
        int64_t axis = 0;
        if (ox_is_op(nd, "Slice")) {
            value *st = ox_in_val(x, nd, 1, &s), *en = st ? ox_in_val(x, nd, 2, &s) : NULL;
            value *ax = en && nd->n_input > 3 && *nd->input[3] ? ox_in_val(x, nd, 3, &s) : NULL;
            value *sp = en && nd->n_input > 4 && *nd->input[4] ? ox_in_val(x, nd, 4, &s) : NULL;
            if (s || !en)
                return s ? s : ox_fail_node(x, nd, XF_ERR_FORMAT, "Slice without starts/ends");
            if (!st->is_const || !en->is_const || st->n != 1 || en->n != 1 ||
                (ax && (!ax->is_const || ax->n != 1)) ||
                (sp && (!sp->is_const || ox_cval(sp, 0) != 1)))
                return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                                    "Slice other than one constant "
                                    "channel range with step 1");
            axis = ax ? ox_ival(ax, 0) : 0;
            if (!is_channel_axis(a, axis))
                return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "Slice other than on channels");
            double e = ox_cval(en, 0);
            return slice_channels(x, nd, a, ox_ival(st, 0), e > 1e15 ? INT64_MAX / 2 : (int64_t) e,
                                  out);
        }
        axis = ox_attr_i(nd, "axis", 0);
        if (!is_channel_axis(a, axis))
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "Split other than on channels");
        int64_t sizes[XF_NODE_MAX_IN], c = xnode(x, a)->c, n_out = (int64_t) nd->n_output;
        int ns = ox_attr_ints(nd, "split", sizes, XF_NODE_MAX_IN);
        if (nd->n_input > 1 && *nd->input[1]) {
            value *sv = ox_in_val(x, nd, 1, &s);
            if (!sv)
                return s;
            ns = sv->is_const && sv->n <= XF_NODE_MAX_IN ? (int) sv->n : -1;
            for (int k = 0; k < ns; k++)
                sizes[k] = ox_ival(sv, k);
        }
        if (n_out > XF_NODE_MAX_IN || ns < 0 || (ns && ns != n_out) || (!ns && c % n_out))
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "this split");
        int64_t b0 = 0;
        for (int64_t k = 0; k < n_out; k++) {
            int64_t len = ns ? sizes[k] : c / n_out;
            value *o = out_val(x, nd, (size_t) k);
            if (o && (s = slice_channels(x, nd, a, b0, b0 + len, o)))
                return s;
            b0 += len;
        }
        if (b0 != c)
            return ox_fail_node(x, nd, XF_ERR_SHAPE, "split sizes do not add up to the channels");
        return XF_OK;
    }
    if (ox_is_op(nd, "Pad")) {
        int64_t pads[8] = {0};
        char mode[32];
        const char *md = ox_attr_s(nd, "mode", mode, sizeof mode);
        int np = ox_attr_ints(nd, "pads", pads, 8);
        if (nd->n_input > 1 && *nd->input[1]) {
            value *pv = ox_in_val(x, nd, 1, &s);
            if (!pv)
                return s;
            np = pv->is_const && pv->n == 8 ? 8 : -1;
            for (int k = 0; k < np; k++)
                pads[k] = ox_ival(pv, k);
        }
        double cv = nd->n_input > 2 && *nd->input[2] ? ox_scalar_in(x, nd, 2)
                                                     : (double) ox_attr_f(nd, "value", 0);
        if ((md && strcmp(md, "constant") != 0) || np != 8 || cv != 0 || a->layout != L_NCHW ||
            pads[0] || pads[1] || pads[4] || pads[5])
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "Pad other than zeros around H and W");
        for (int k = 0; k < 8; k++)
            if (pads[k] < 0 || pads[k] > 1024)
                return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "negative or huge padding");
        alias(x, out, a);
        out->own = 0;
        out->pad[0] += (int) pads[2], out->pad[1] += (int) pads[6];
        out->pad[2] += (int) pads[3], out->pad[3] += (int) pads[7];
        return XF_OK;
    }
    return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "operator not supported");
}

/* marks the nodes that lead to a graph output (others are skipped) */
static void mark_live(ctx *x, unsigned char *live)
{
    Onnx__GraphProto *g = x->g;
    unsigned char *want = calloc(x->cap, 1);
    if (!want) { /* keep everything */
        memset(live, 1, g->n_node);
        return;
    }
    for (size_t k = 0; k < g->n_output; k++) {
        value *v = ox_lookup(x, g->output[k]->name, 0);
        if (v)
            want[v - x->v] = 1;
    }
    for (size_t i = g->n_node; i-- > 0;) {
        const Onnx__NodeProto *nd = g->node[i];
        for (size_t k = 0; k < nd->n_output && !live[i]; k++) {
            value *v = ox_lookup(x, nd->output[k], 0);
            live[i] = v && want[v - x->v];
        }
        for (size_t k = 0; live[i] && k < nd->n_input; k++) {
            value *v = ox_lookup(x, nd->input[k], 0);
            if (v)
                want[v - x->v] = 1;
        }
    }
    free(want);
}

xf_status xfc_from_onnx(const char *path, int size_h, int size_w, xf_gbuild *c, char *feature,
                        size_t feature_size, xf_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    xf_status s = xf__read_file(path, MAX_FILE, &buf, &len, err);
    if (s)
        return s;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!m)
        return xf__fail(err, XF_ERR_FORMAT,
                        "%s: not an ONNX model (protobuf decoding failed: "
                        "truncated or not a ModelProto)",
                        path);
    ctx x;
    memset(&x, 0, sizeof x);
    x.c = c, x.err = err, x.path = path, x.g = m->graph, x.feature_node = -1;
    x.size_h = size_h, x.size_w = size_w;
    x.fold_budget = 4 * len + ((size_t) 64 << 20);
    Onnx__GraphProto *g = m->graph;
    unsigned char *live = NULL;
    if (!g || !g->n_node || !g->n_output) {
        s = xf__fail(err, XF_ERR_FORMAT, "%s: the model has no graph, nodes or outputs", path);
        goto done;
    }
    int64_t opset = 0;
    for (size_t k = 0; k < m->n_opset_import; k++)
        if (!m->opset_import[k]->domain || !*m->opset_import[k]->domain ||
            strcmp(m->opset_import[k]->domain, "ai.onnx") == 0)
            opset = m->opset_import[k]->version;
    if (opset < 7 || opset > 21) {
        s = xf__fail(err, XF_ERR_UNSUPPORTED, "%s: opset %lld (supported: 7-21, tested 11-17)",
                     path, (long long) opset);
        goto done;
    }
    for (size_t i = 0; i < g->n_node; i++)
        if (!g->node[i]->op_type || !*g->node[i]->op_type) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: node %zu has no operator type", path, i);
            goto done;
        }
    for (size_t k = 0; k < g->n_input + g->n_output; k++) {
        const Onnx__ValueInfoProto *vi = k < g->n_input ? g->input[k] : g->output[k - g->n_input];
        if (!vi->name || !*vi->name) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: a graph input or output has no name", path);
            goto done;
        }
    }
    size_t names = g->n_initializer + g->n_input + g->n_output;
    for (size_t i = 0; i < g->n_node; i++)
        names += g->node[i]->n_output + g->node[i]->n_input;
    x.cap = 64;
    while (x.cap < 2 * names)
        x.cap *= 2;
    x.v = calloc(x.cap, sizeof *x.v);
    x.uses = calloc(x.cap, sizeof *x.uses);
    x.skip = calloc(g->n_node + 1, 1);
    x.fuse = calloc(g->n_node + 1, sizeof *x.fuse);
    x.fuse_src = calloc(g->n_node + 1, sizeof *x.fuse_src);
    x.fuse_eps = calloc(g->n_node + 1, sizeof *x.fuse_eps);
    live = calloc(g->n_node + 1, 1);
    if (!x.v || !x.uses || !x.skip || !x.fuse || !x.fuse_src || !x.fuse_eps || !live) {
        s = xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *nd = g->node[i];
        for (size_t k = 0; k < nd->n_output; k++)
            ox_lookup(&x, nd->output[k], 1);
        for (size_t k = 0; k < nd->n_input; k++) {
            value *v = ox_lookup(&x, nd->input[k], 1);
            if (v)
                x.uses[v - x.v]++;
        }
    }
    size_t n_cons = 0; /* consumer lists, node inputs only (a CSR by slot) */
    x.cons_off = calloc(x.cap + 1, sizeof *x.cons_off);
    for (size_t k = 0; x.cons_off && k < x.cap; k++)
        x.cons_off[k + 1] = x.cons_off[k] + x.uses[k], n_cons += (size_t) x.uses[k];
    x.cons = malloc((n_cons + 1) * sizeof *x.cons);
    int *fill = calloc(x.cap, sizeof *fill);
    if (!x.cons_off || !x.cons || !fill) {
        free(fill);
        s = xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++) {
            value *v = ox_lookup(&x, g->node[i]->input[k], 0);
            size_t slot = v ? (size_t) (v - x.v) : 0;
            if (v)
                x.cons[x.cons_off[slot] + fill[slot]++] = (int) i;
        }
    free(fill);
    for (size_t k = 0; k < g->n_output; k++) {
        value *v = ox_lookup(&x, g->output[k]->name, 1);
        if (v)
            x.uses[v - x.v]++;
    }
    for (size_t k = 0; k < g->n_initializer; k++) {
        value *v = ox_lookup(&x, g->initializer[k]->name, 1);
        if (!v || v->defined) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: an initializer has no name or a duplicate one",
                         path);
            goto done;
        }
        if ((s = ox_const_from_tensor(&x, g->initializer[k], v)))
            goto done;
    }
    /* the image input: the one graph input that is not an initializer */
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t k = 0; k < g->n_input; k++) {
        value *v = ox_lookup(&x, g->input[k]->name, 1);
        if (v && v->is_const)
            continue;
        if (in) {
            s = xf__fail(err, XF_ERR_UNSUPPORTED, "%s: more than one graph input ('%s', '%s')",
                         path, in->name, g->input[k]->name);
            goto done;
        }
        in = g->input[k];
    }
    if (!in) {
        s = xf__fail(err, XF_ERR_FORMAT, "%s: no graph input", path);
        goto done;
    }
    int64_t dims[4] = {-1, -1, -1, -1};
    const Onnx__TypeProto *tp = in->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type ||
        !tp->tensor_type->shape || tp->tensor_type->shape->n_dim != 4 ||
        tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        s = xf__fail(err, XF_ERR_UNSUPPORTED, "%s: input '%s' is not a float (N, C, H, W) tensor",
                     path, in->name);
        goto done;
    }
    for (int d = 0; d < 4; d++) {
        const Onnx__TensorShapeProto__Dimension *dm = tp->tensor_type->shape->dim[d];
        if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            dims[d] = dm->dim_value;
    }
    if (dims[1] != 3) {
        s = xf__fail(err, XF_ERR_UNSUPPORTED, "%s: input '%s' has %lld channels (RGB images: 3)",
                     path, in->name, (long long) dims[1]);
        goto done;
    }
    int64_t H = size_h > 0 ? size_h : dims[2], W = size_w > 0 ? size_w : dims[3];
    if (H < 1 || W < 1 || H > 16384 || W > 16384) {
        s = xf__fail(err, XF_ERR_ARG,
                     "%s: input height/width unknown or out of range: give "
                     "--size",
                     path);
        goto done;
    }
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_INPUT, p.h = H, p.w = W, p.c = 3;
    char nm[200];
    safe_name(&x, in->name, nm, sizeof nm);
    int j = xf__gb_add(c, &p, nm, NULL, err);
    if (j < 0) {
        s = err->code;
        goto done;
    }
    value *iv = ox_lookup(&x, in->name, 1);
    if (!iv) {
        s = xf__fail(err, XF_ERR_FORMAT, "%s: the graph input has no name", path);
        goto done;
    }
    set_act(iv, j, L_NCHW, 0);
    for (size_t i = 0; i < g->n_node && !s; i++) /* Constant nodes first: patterns read them */
        if (ox_is_op(g->node[i], "Constant"))
            s = op_node(&x, i);
    if (s)
        goto done;
    ox_find_patterns(&x);
    mark_live(&x, live);
    for (size_t i = 0; i < g->n_node && !s; i++)
        if (live[i] && !ox_is_op(g->node[i], "Constant"))
            s = op_node(&x, i);
    if (s)
        goto done;
    value *o = ox_lookup(&x, g->output[0]->name, 0);
    if (!o || !o->defined || o->is_const) {
        s = xf__fail(err, XF_ERR_FORMAT, "%s: output '%s' is not computed from the input", path,
                     g->output[0]->name);
        goto done;
    }
    if (feature && feature_size) {
        int fnode = x.feature_node >= 0 ? x.feature_node : o->node;
        snprintf(feature, feature_size, "%s", c->g.nodes[fnode].out_name);
    }
done:
    if (x.v)
        for (size_t k = 0; k < x.cap; k++)
            ox_const_free(&x.v[k]);
    free(x.v), free(x.uses), free(x.cons_off), free(x.cons), free(x.skip), free(x.fuse),
        free(x.fuse_src), free(x.fuse_eps), free(live);
    onnx__model_proto__free_unpacked(m, NULL);
    return s;
}
