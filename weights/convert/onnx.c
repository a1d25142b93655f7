/* onnx.c — reads an ONNX conv net (torchvision, timm exports) into an xfer graph.
 *
 * It is: protobuf-c decoding of the model (onnx.proto from Debian's libonnx-dev, compiled by
 * protoc-c at build time), initializers as constants, constant folding of the shape arithmetic
 * torch.onnx.export emits (Shape/Gather/Unsqueeze/Concat/Reshape...), and a mapping of each
 * operator onto xfer's NHWC ops. Every activation value remembers its logical layout: NCHW maps
 * onto NHWC memory directly; a Transpose to NHWC (ConvNeXt) is only a change of that label; the
 * Reshape-Transpose-Reshape of ShuffleNet becomes a channel shuffle; a Flatten of a map feeds the
 * next Gemm with its weight rows permuted from CHW to HWC order. Batch norm and constant scales or
 * shifts fold into the producing conv when it has no other consumer; Sigmoid*x becomes SiLU,
 * HardSigmoid*x HardSwish, and the erf form of GELU one activation.
 * It is not: a general ONNX runtime. One image input, static shapes, float32; anything else is
 * an error naming the operator and the node.
 */
#include "convert.h"

#include "onnx.pb-c.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_RANK     8
#define MAX_FILE     ((size_t) 4 << 30)
#define MAX_CONST    ((int64_t) 1 << 31)

enum { L_NCHW, L_NHWC, L_NC, L_FLAT, L_GROUPED, L_GROUPED_T }; /* activation layouts */
#define FUSE_LAYERNORM (XF_ACT_COUNT_ + 1)

typedef struct {
    const char *name; /* borrowed from the decoded model */
    int defined;
    int is_const;
    /* activation */
    int node;   /* producing xfc node */
    int layout; /* L_* */
    int groups; /* L_GROUPED*: the g of [N, g, C/g, H, W] */
    int own;    /* the node's output is this value alone (folding into it is safe) */
    int pad[4]; /* pending zero padding (top, bottom, left, right) from a Pad node */
    /* constant: float data or int64 data (shape arithmetic) */
    int rank;
    int64_t dims[MAX_RANK];
    int64_t n;
    float *f;
    int64_t *i;
} value;

typedef struct {
    Onnx__GraphProto *g;
    xfc_graph *c;
    xf_error *err;
    const char *path;
    value *v; /* hash table keyed by name */
    size_t cap;
    int *uses;   /* per ONNX node output slot: consumers; indexed like v */
    unsigned char *skip; /* per node: folded into a later node by a pattern */
    int *fuse;           /* per node: xf_act a pattern gives this node (Mul -> SiLU...), or
                          * FUSE_LAYERNORM */
    const char **fuse_src; /* per node: the pattern's input */
    float *fuse_eps;       /* per node: a layer-norm pattern's epsilon */
    int size_h, size_w;  /* input size override (0: from the file) */
    int feature_node;    /* input of the last weighted node */
} ctx;

/* ---- value table --------------------------------------------------------------------------- */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char) *s++) * 1099511628211ull;
    return h;
}

static value *lookup(ctx *x, const char *name, int create)
{
    if (!name || !*name)
        return NULL;
    for (size_t k = hash(name) & (x->cap - 1);; k = (k + 1) & (x->cap - 1)) {
        if (!x->v[k].name) {
            if (!create)
                return NULL;
            x->v[k].name = name;
            return &x->v[k];
        }
        if (strcmp(x->v[k].name, name) == 0)
            return &x->v[k];
    }
}

static xf_status fail_node(ctx *x, const Onnx__NodeProto *nd, xf_status code, const char *why)
{
    return xf__fail(x->err, code, "%s: node '%s' (%s): %s", x->path,
                    nd->name && *nd->name ? nd->name : (nd->n_output ? nd->output[0] : "?"),
                    nd->op_type ? nd->op_type : "?", why);
}

/* ---- attributes ---------------------------------------------------------------------------- */
static const Onnx__AttributeProto *attr(const Onnx__NodeProto *nd, const char *name)
{
    for (size_t k = 0; k < nd->n_attribute; k++)
        if (nd->attribute[k]->name && strcmp(nd->attribute[k]->name, name) == 0)
            return nd->attribute[k];
    return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *nd, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    return a && a->has_i ? a->i : def;
}

static float attr_f(const Onnx__NodeProto *nd, const char *name, float def)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    return a && a->has_f ? a->f : def;
}

/* ints attribute into out[0..max); returns the count, -1 when longer than max */
static int attr_ints(const Onnx__NodeProto *nd, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    if (!a)
        return 0;
    if (a->n_ints > (size_t) max)
        return -1;
    for (size_t k = 0; k < a->n_ints; k++)
        out[k] = a->ints[k];
    return (int) a->n_ints;
}

static const char *attr_s(const Onnx__NodeProto *nd, const char *name, char *buf, size_t size)
{
    const Onnx__AttributeProto *a = attr(nd, name);
    if (!a || !a->has_s)
        return NULL;
    size_t n = a->s.len < size - 1 ? a->s.len : size - 1;
    if (n)
        memcpy(buf, a->s.data, n);
    buf[n] = 0;
    return buf;
}

/* ---- constants ----------------------------------------------------------------------------- */
static void const_free(value *v)
{
    free(v->f);
    free(v->i);
    v->f = NULL;
    v->i = NULL;
}

/* A TensorProto into v (float32 data for float types, int64 for integer types). */
static xf_status const_from_tensor(ctx *x, const Onnx__TensorProto *t, value *v)
{
    const char *nm = t->name ? t->name : "?";
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: tensor '%s' keeps its data in an external "
                        "file; re-export with the weights inside the .onnx (under 2 GB)", x->path, nm);
    if (t->n_dims > MAX_RANK)
        return xf__fail(x->err, XF_ERR_BOUNDS, "%s: tensor '%s' has %zu dimensions", x->path, nm,
                        t->n_dims);
    int64_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || (t->dims[d] > 0 && n > MAX_CONST / t->dims[d]))
            return xf__fail(x->err, XF_ERR_BOUNDS, "%s: tensor '%s': bad or huge dimensions",
                            x->path, nm);
        n *= t->dims[d];
        v->dims[d] = t->dims[d];
    }
    const_free(v); /* never holds data here; kept safe for any caller */
    v->rank = (int) t->n_dims;
    v->n = n;
    v->is_const = 1;
    v->defined = 1;
    int type = t->has_data_type ? t->data_type : 0;
    size_t esize = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4
                 : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? 8
                 : type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ? 2
                 : type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL || type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ||
                   type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? 1 : 0;
    if (!esize)
        return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: tensor '%s': data type %d not supported",
                        x->path, nm, type);
    int is_float = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                   type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
                   type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    size_t have = t->has_raw_data ? t->raw_data.len / esize
                : type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? t->n_float_data
                : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? t->n_int64_data
                : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                : t->n_int32_data;
    if (have != (size_t) n || (t->has_raw_data && t->raw_data.len != (size_t) n * esize))
        return xf__fail(x->err, XF_ERR_FORMAT, "%s: tensor '%s': %zu values for %lld elements",
                        x->path, nm, have, (long long) n);
    size_t cnt = n ? (size_t) n : 1;
    if (is_float ? !(v->f = malloc(cnt * sizeof(float))) : !(v->i = malloc(cnt * sizeof(int64_t))))
        return xf__fail(x->err, XF_ERR_NOMEM, "%s: out of memory for tensor '%s'", x->path, nm);
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    for (int64_t k = 0; k < n; k++) {
        double d = 0;
        int64_t iv = 0;
        switch (type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
            float f;
            if (raw)
                memcpy(&f, raw + k * 4, 4);
            else
                f = t->float_data[k];
            d = f;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
            if (raw)
                memcpy(&d, raw + k * 8, 8);
            else
                d = t->double_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: {
            uint16_t h;
            if (raw)
                memcpy(&h, raw + k * 2, 2);
            else
                h = (uint16_t) t->int32_data[k];
            d = xf__f16_to_f32(h);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
            if (raw)
                memcpy(&iv, raw + k * 8, 8);
            else
                iv = t->int64_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
            int32_t i32;
            if (raw)
                memcpy(&i32, raw + k * 4, 4);
            else
                i32 = t->int32_data[k];
            iv = i32;
            break;
        }
        default: /* one-byte types */
            iv = raw ? (type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int8_t) raw[k] : raw[k])
                     : t->int32_data[k];
            break;
        }
        if (is_float) {
            if (!isfinite(d))
                return xf__fail(x->err, XF_ERR_VALUE, "%s: tensor '%s' holds NaN or Inf",
                                x->path, nm);
            v->f[k] = (float) d;
        } else {
            v->i[k] = iv;
        }
    }
    return XF_OK;
}

static double cval(const value *v, int64_t k)
{
    return v->f ? (double) v->f[k] : (double) v->i[k];
}

/* element k as an integer, clamped to +-2^60 (a float constant may hold anything) */
static int64_t ival(const value *v, int64_t k)
{
    double d = cval(v, k), lim = 1152921504606846976.0;
    return d > lim ? (int64_t) lim : d < -lim ? -(int64_t) lim : (int64_t) d;
}

/* a * b when both are in [0, MAX_CONST] and so is the product, else -1 */
static int64_t mul_dims(int64_t a, int64_t b)
{
    if (a < 0 || b < 0 || (b > 0 && a > MAX_CONST / b))
        return -1;
    return a * b;
}

/* a new constant of the given dims; int64 or float storage */
static xf_status const_new(ctx *x, value *v, int rank, const int64_t *dims, int is_int)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0 || (dims[d] > 0 && n > MAX_CONST / dims[d]))
            return xf__fail(x->err, XF_ERR_BOUNDS, "%s: constant '%s': bad dimensions", x->path,
                            v->name);
        n *= dims[d];
        v->dims[d] = dims[d];
    }
    const_free(v);
    v->rank = rank;
    v->n = n;
    v->is_const = v->defined = 1;
    size_t cnt = n ? (size_t) n : 1;
    if (is_int ? !(v->i = calloc(cnt, sizeof(int64_t))) : !(v->f = calloc(cnt, sizeof(float))))
        return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    return XF_OK;
}

/* stores d, clamped to the storage type's range (folded arithmetic may overflow) */
static void cset(value *v, int64_t k, double d)
{
    double lim = v->f ? 3.4e38 : 1152921504606846976.0;
    d = d > lim ? lim : d < -lim ? -lim : d == d ? d : 0;
    if (v->f)
        v->f[k] = (float) d;
    else
        v->i[k] = (int64_t) d;
}

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

/* the value of input k of nd, defined (an error otherwise) */
static value *in_val(ctx *x, const Onnx__NodeProto *nd, size_t k, xf_status *s)
{
    value *v = k < nd->n_input ? lookup(x, nd->input[k], 0) : NULL;
    if (!v || !v->defined) {
        char why[300];
        snprintf(why, sizeof why, "input %zu '%s' is not produced by an earlier node (missing, or "
                 "the graph is cyclic or unsorted)", k, k < nd->n_input ? nd->input[k] : "");
        *s = fail_node(x, nd, XF_ERR_FORMAT, why);
        return NULL;
    }
    return v;
}

static int uses_of(ctx *x, const value *v)
{
    return x->uses[v - x->v];
}

/* the node's output value (created in the table beforehand) */
static value *out_val(ctx *x, const Onnx__NodeProto *nd, size_t k)
{
    return k < nd->n_output ? lookup(x, nd->output[k], 1) : NULL;
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
    int j = xfc_affine(x->c, a->node, scale, shift, exclusive(x, a), nm, x->err);
    if (j < 0)
        return fail_node(x, nd, x->err->code, x->err->msg);
    set_act(out, j, a->layout, 1);
    return XF_OK;
}

/* Broadcast a constant over channels: per-channel (C values in the layout's channel position)
 * or a scalar; writes C floats. 0 when the shape is something else. */
static int per_channel(const value *k, const value *a, int64_t ch, float *out)
{
    if (k->n == 1) {
        for (int64_t j = 0; j < ch; j++)
            out[j] = (float) cval(k, 0);
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
        out[j] = (float) cval(k, j);
    return 1;
}

/* ---- operators on activations -------------------------------------------------------------- */
static int parse_pool_geometry(ctx *x, const Onnx__NodeProto *nd, const xf_node *src, xf_node *p,
                               int64_t kh, int64_t kw, xf_status *s)
{
    int64_t st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, dil[2] = {1, 1};
    if (attr_ints(nd, "strides", st, 2) < 0 || attr_ints(nd, "pads", pads, 4) < 0 ||
        attr_ints(nd, "dilations", dil, 2) < 0) {
        *s = fail_node(x, nd, XF_ERR_FORMAT, "strides/pads/dilations of the wrong length");
        return 0;
    }
    char ap[32];
    const char *auto_pad = attr_s(nd, "auto_pad", ap, sizeof ap);
    if (kh < 1 || kw < 1 || kh > 1024 || kw > 1024 || st[0] < 1 || st[1] < 1 || st[0] > 1024 ||
        st[1] > 1024 || dil[0] < 1 || dil[1] < 1 || dil[0] > 1024 || dil[1] > 1024) {
        *s = fail_node(x, nd, XF_ERR_FORMAT, "kernel, strides or dilations out of range");
        return 0;
    }
    for (int k = 0; k < 4; k++)
        if (pads[k] < 0 || pads[k] > 1024) {
            *s = fail_node(x, nd, XF_ERR_FORMAT, "negative or huge padding");
            return 0;
        }
    p->kh = (int) kh, p->kw = (int) kw, p->sh = (int) st[0], p->sw = (int) st[1];
    p->dil_h = (int) dil[0], p->dil_w = (int) dil[1];
    p->pt = (int) pads[0], p->pl = (int) pads[1], p->pb = (int) pads[2], p->pr = (int) pads[3];
    if (auto_pad && (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0)) {
        int ekh = (p->kh - 1) * p->dil_h + 1, ekw = (p->kw - 1) * p->dil_w + 1;
        xfc_same_pad(src->h, ekh, p->sh, &p->pt, &p->pb);
        xfc_same_pad(src->w, ekw, p->sw, &p->pl, &p->pr);
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
    value *w = in_val(x, nd, 1, &s);
    if (!w)
        return s;
    value *b = nd->n_input > 2 && *nd->input[2] ? in_val(x, nd, 2, &s) : NULL;
    if (s)
        return s;
    if (a->layout != L_NCHW || !w->is_const || w->rank != 4 || !w->f || (b && (!b->is_const || !b->f)))
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "needs an NCHW input and constant float "
                         "weights (O, I/groups, kh, kw)");
    const xf_node *src = xnode(x, a);
    int64_t O = w->dims[0], I = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    int64_t g = attr_i(nd, "group", 1), C = src->c;
    if (g < 1 || g > C || C % g || O % g || I * g != C || (b && b->n != O))
        return fail_node(x, nd, XF_ERR_SHAPE, "weight shape does not match the input channels "
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
                        wt[((ky * kw + kx) * I + ci) * O + o] = w->f[((o * I + ci) * kh + ky) * kw + kx];
    }
    if (b)
        memcpy(bias, b->f, (size_t) O * sizeof(float));
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xfc_add(x->c, &p, nm, NULL, x->err);
    if (j < 0) {
        free(wt), free(bias);
        return fail_node(x, nd, x->err->code, x->err->msg);
    }
    int64_t shape[4] = {kh, kw, depthwise ? C : I, depthwise ? O / C : O};
    xfc_set_params(x->c, j, wt, shape, 4, bias);
    x->feature_node = a->node;
    set_act(out, j, L_NCHW, 1);
    return XF_OK;
}

/* Gemm / MatMul with a constant weight: dense on vectors, 1x1 conv on NHWC maps (ConvNeXt). */
static xf_status op_linear(ctx *x, const Onnx__NodeProto *nd, value *a, value *out)
{
    xf_status s = XF_OK;
    int gemm = strcmp(nd->op_type, "Gemm") == 0;
    value *w = in_val(x, nd, 1, &s);
    if (!w)
        return s;
    value *b = gemm && nd->n_input > 2 && *nd->input[2] ? in_val(x, nd, 2, &s) : NULL;
    if (s)
        return s;
    int tb = gemm && attr_i(nd, "transB", 0);
    float alpha = gemm ? attr_f(nd, "alpha", 1) : 1, beta = gemm ? attr_f(nd, "beta", 1) : 1;
    if (!w->is_const || !w->f || w->rank != 2 || (b && (!b->is_const || !b->f)) ||
        (gemm && attr_i(nd, "transA", 0)))
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "needs a constant 2-D float weight (and no "
                         "transA)");
    const xf_node *src = xnode(x, a);
    int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
    int map = a->layout == L_NHWC && !gemm;
    int64_t in_len = map ? src->c : src->h * src->w * src->c;
    if (!(map || a->layout == L_NC || a->layout == L_FLAT) || K != in_len ||
        (b && b->n != N && b->n != 1))
        return fail_node(x, nd, XF_ERR_SHAPE, "input is not a vector (or NHWC map) of the "
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
    p.kh = p.kw = p.sh = p.sw = 1;
    p.cout = (int) N;
    p.in[0] = a->node, p.n_in = 1;
    if (!map)
        p.kh = p.kw = p.sh = p.sw = 0;
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xfc_add(x->c, &p, nm, NULL, x->err);
    if (j < 0) {
        free(wt), free(bias);
        return fail_node(x, nd, x->err->code, x->err->msg);
    }
    int64_t shape4[4] = {1, 1, K, N}, shape2[2] = {K, N};
    xfc_set_params(x->c, j, wt, map ? shape4 : shape2, map ? 4 : 2, bias);
    x->feature_node = a->node;
    set_act(out, j, map ? L_NHWC : L_NC, 1);
    return XF_OK;
}

static xf_status add_node(ctx *x, const Onnx__NodeProto *nd, xf_node *p, value *out, int layout)
{
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xfc_add(x->c, p, nm, NULL, x->err);
    if (j < 0)
        return fail_node(x, nd, x->err->code, x->err->msg);
    set_act(out, j, layout, 1);
    return XF_OK;
}

static xf_status op_pool(ctx *x, const Onnx__NodeProto *nd, value *a, value *out)
{
    xf_status s = XF_OK;
    int is_max = strcmp(nd->op_type, "MaxPool") == 0;
    int64_t k[2] = {0, 0};
    if (a->layout != L_NCHW || attr_ints(nd, "kernel_shape", k, 2) != 2)
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "needs an NCHW input and a 2-D kernel_shape");
    if (nd->n_output > 1 && *nd->output[1])
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "the indices output is not supported");
    const xf_node *src = xnode(x, a);
    xf_node p;
    memset(&p, 0, sizeof p);
    if (!parse_pool_geometry(x, nd, src, &p, k[0], k[1], &s))
        return s;
    if (p.dil_h != 1 || p.dil_w != 1)
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "dilated pooling");
    p.dil_h = p.dil_w = 0;
    p.op = is_max ? XF_OP_MAXPOOL : XF_OP_AVGPOOL;
    p.count_pad = !is_max && attr_i(nd, "count_include_pad", 0);
    if (a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3]) {
        /* explicit zeros (older exports of count_include_pad=True): counted in the divisor */
        if (is_max || (!p.count_pad && (p.pt || p.pb || p.pl || p.pr)))
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "zero padding before a max pool or a "
                             "pad-excluding padded average pool");
        p.count_pad = 1;
        p.pt += a->pad[0], p.pb += a->pad[1], p.pl += a->pad[2], p.pr += a->pad[3];
    }
    if (attr_i(nd, "ceil_mode", 0)) { /* PyTorch's rule: the last window starts inside */
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
                    return fail_node(x, nd, XF_ERR_UNSUPPORTED, "ceil_mode with "
                                     "count_include_pad on a partial window");
                *hi[d] += (int) extra;
            }
        }
    }
    p.in[0] = a->node, p.n_in = 1;
    return add_node(x, nd, &p, out, L_NCHW);
}

static xf_status op_act(ctx *x, const Onnx__NodeProto *nd, value *a, xf_act act, value *out)
{
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xfc_activation(x->c, a->node, act, exclusive(x, a), nm, x->err);
    if (j < 0)
        return fail_node(x, nd, x->err->code, x->err->msg);
    set_act(out, j, a->layout, 1);
    return XF_OK;
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
            return fail_node(x, nd, XF_ERR_SHAPE, "bad target shape");
        else
            known = mul_dims(known, dims[d]);
    }
    if (dims[0] != 1 && !(neg == 0))
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "reshapes across the batch dimension");
    if (neg >= 0) {
        if (known < 1 || total % known)
            return fail_node(x, nd, XF_ERR_SHAPE, "target shape does not divide the input");
        dims[neg] = total / known;
    }
    int64_t prod = 1;
    for (int d = 0; d < rank; d++)
        prod = mul_dims(prod, dims[d]);
    if (prod != total)
        return fail_node(x, nd, XF_ERR_SHAPE, "target shape has another element count");
    alias(x, out, a);
    if (rank == 2) { /* (N, K): a vector */
        if (src->h * src->w == 1 || a->layout == L_NC || a->layout == L_FLAT) {
            out->layout = a->layout == L_FLAT ? L_FLAT : L_NC;
            return XF_OK;
        }
        if (a->layout != L_NCHW)
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "flattening an NHWC-labelled map");
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
    return fail_node(x, nd, XF_ERR_UNSUPPORTED, "this reshape of a feature map (only flatten, "
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
    int n = attr_ints(nd, "perm", perm, MAX_RANK);
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
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "this transpose (only NCHW<->NHWC and the "
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

static xf_status slice_channels(ctx *x, const Onnx__NodeProto *nd, value *a, int64_t b0,
                                int64_t e0, value *out)
{
    int64_t c = xnode(x, a)->c;
    if (b0 < 0)
        b0 += c;
    if (e0 < 0)
        e0 += c;
    e0 = e0 > c ? c : e0;
    if (b0 < 0 || b0 >= e0)
        return fail_node(x, nd, XF_ERR_SHAPE, "empty or bad channel range");
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

/* ---- constant folding ---------------------------------------------------------------------- */
static int all_const(ctx *x, const Onnx__NodeProto *nd)
{
    for (size_t k = 0; k < nd->n_input; k++) {
        if (!*nd->input[k])
            continue;
        value *v = lookup(x, nd->input[k], 0);
        if (!v || !v->defined || !v->is_const)
            return 0;
    }
    return 1;
}

/* Slice (any axes and steps) and Transpose of a constant: out[idx] = a[src(idx)] */
static xf_status fold_gather_nd(ctx *x, const Onnx__NodeProto *nd, const value *a, value *out)
{
    xf_status s = XF_OK;
    int r = a->rank;
    int64_t start[MAX_RANK], step[MAX_RANK], odims[MAX_RANK], perm[MAX_RANK];
    for (int d = 0; d < r; d++)
        start[d] = 0, step[d] = 1, odims[d] = a->dims[d], perm[d] = d;
    if (strcmp(nd->op_type, "Transpose") == 0) {
        int n = attr_ints(nd, "perm", perm, MAX_RANK);
        if (n == 0)
            for (int d = 0; d < r; d++)
                perm[d] = r - 1 - d;
        else if (n != r)
            return fail_node(x, nd, XF_ERR_SHAPE, "perm does not match the rank");
        unsigned char seen[MAX_RANK] = {0};
        for (int d = 0; d < r; d++) {
            if (perm[d] < 0 || perm[d] >= r || seen[perm[d]]++)
                return fail_node(x, nd, XF_ERR_SHAPE, "perm is not a permutation");
            odims[d] = a->dims[perm[d]];
        }
    } else {
        int64_t st[MAX_RANK], en[MAX_RANK], ax[MAX_RANK], sp[MAX_RANK];
        int n = 0;
        value *vs[4] = {NULL, NULL, NULL, NULL};
        for (int k = 0; k < 4; k++)
            if (nd->n_input > (size_t) k + 1 && *nd->input[k + 1] &&
                !(vs[k] = in_val(x, nd, (size_t) k + 1, &s)))
                return s;
        if (vs[0] && vs[1]) {
            n = (int) vs[0]->n;
            if (n > MAX_RANK || vs[1]->n != n || (vs[2] && vs[2]->n != n) || (vs[3] && vs[3]->n != n))
                return fail_node(x, nd, XF_ERR_SHAPE, "starts/ends/axes/steps lengths differ");
            for (int k = 0; k < n; k++) {
                st[k] = (int64_t) fmax(fmin(cval(vs[0], k), 1e15), -1e15);
                en[k] = (int64_t) fmax(fmin(cval(vs[1], k), 1e15), -1e15);
                ax[k] = vs[2] ? ival(vs[2], k) : k;
                sp[k] = vs[3] ? ival(vs[3], k) : 1;
            }
        } else { /* opset < 10: attributes */
            n = attr_ints(nd, "starts", st, MAX_RANK);
            if (n < 0 || attr_ints(nd, "ends", en, MAX_RANK) != n)
                return fail_node(x, nd, XF_ERR_SHAPE, "bad starts/ends");
            int na = attr_ints(nd, "axes", ax, MAX_RANK);
            for (int k = 0; k < n; k++)
                ax[k] = na ? ax[k] : k, sp[k] = 1;
        }
        for (int k = 0; k < n; k++) {
            int64_t d = ax[k] < 0 ? ax[k] + r : ax[k], dim = d >= 0 && d < r ? a->dims[d] : 0;
            if (d < 0 || d >= r || sp[k] == 0)
                return fail_node(x, nd, XF_ERR_SHAPE, "bad axis or zero step");
            int64_t b = st[k] < 0 ? st[k] + dim : st[k], e = en[k] < 0 ? en[k] + dim : en[k];
            if (sp[k] > 0) {
                b = b < 0 ? 0 : b > dim ? dim : b;
                e = e < 0 ? 0 : e > dim ? dim : e;
                odims[d] = e > b ? (e - b + sp[k] - 1) / sp[k] : 0;
            } else {
                b = b < 0 ? -1 : b > dim - 1 ? dim - 1 : b;
                e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
                odims[d] = b > e ? (b - e + (-sp[k]) - 1) / (-sp[k]) : 0;
            }
            start[d] = b, step[d] = sp[k];
        }
    }
    if ((s = const_new(x, out, r, odims, a->i != NULL)))
        return s;
    int64_t idx[MAX_RANK] = {0};
    for (int64_t k = 0; k < out->n; k++) {
        int64_t src = 0;
        for (int d = 0; d < r; d++) { /* source coordinate along input axis d */
            int64_t c = 0;
            for (int e = 0; e < r; e++)
                if (perm[e] == d)
                    c = start[e] + idx[e] * step[e];
            src = src * a->dims[d] + c;
        }
        cset(out, k, cval(a, src));
        for (int d = r - 1; d >= 0; d--) { /* next output index */
            if (++idx[d] < odims[d])
                break;
            idx[d] = 0;
        }
    }
    return XF_OK;
}

static xf_status fold(ctx *x, const Onnx__NodeProto *nd, value *out)
{
    const char *op = nd->op_type;
    xf_status s = XF_OK;
    value *a = nd->n_input ? in_val(x, nd, 0, &s) : NULL;
    if (s)
        return s;
    if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0 || strcmp(op, "Cast") == 0) {
        int to = (int) attr_i(nd, "to", 1);
        int is_int = strcmp(op, "Cast") == 0 ? to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
                     to != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE : a->i != NULL;
        if ((s = const_new(x, out, a->rank, a->dims, is_int)))
            return s;
        for (int64_t k = 0; k < a->n; k++)
            cset(out, k, cval(a, k));
        return XF_OK;
    }
    if (strcmp(op, "Unsqueeze") == 0 || strcmp(op, "Squeeze") == 0 ||
        strcmp(op, "Reshape") == 0 || strcmp(op, "Flatten") == 0) {
        int64_t dims[MAX_RANK];
        int rank = 0;
        if (strcmp(op, "Reshape") == 0) {
            value *sh = in_val(x, nd, 1, &s);
            if (!sh)
                return s;
            if (sh->n > MAX_RANK)
                return fail_node(x, nd, XF_ERR_BOUNDS, "target rank too large");
            int64_t known = 1, neg = -1;
            rank = (int) sh->n;
            for (int d = 0; d < rank; d++) {
                dims[d] = ival(sh, d);
                if (dims[d] == 0 && d < a->rank)
                    dims[d] = a->dims[d];
                if (dims[d] == -1)
                    neg = d;
                else if (dims[d] < 0)
                    return fail_node(x, nd, XF_ERR_SHAPE, "bad target shape");
                else
                    known = mul_dims(known, dims[d] ? dims[d] : 1);
            }
            if (neg >= 0)
                dims[neg] = known ? a->n / known : 0;
        } else if (strcmp(op, "Flatten") == 0) {
            int64_t ax = attr_i(nd, "axis", 1), l = 1;
            if (ax < 0)
                ax += a->rank;
            for (int d = 0; d < ax && d < a->rank; d++)
                l = mul_dims(l, a->dims[d]);
            rank = 2, dims[0] = l, dims[1] = l ? a->n / l : 0;
        } else {
            int64_t axes[MAX_RANK];
            int na = attr_ints(nd, "axes", axes, MAX_RANK);
            if (nd->n_input > 1 && *nd->input[1]) {
                value *av = in_val(x, nd, 1, &s);
                if (!av)
                    return s;
                na = av->n <= MAX_RANK ? (int) av->n : -1;
                for (int k = 0; k < na; k++)
                    axes[k] = ival(av, k);
            }
            if (na < 0)
                return fail_node(x, nd, XF_ERR_BOUNDS, "too many axes");
            int unsq = op[0] == 'U', orank = unsq ? a->rank + na : a->rank;
            if (orank > MAX_RANK)
                return fail_node(x, nd, XF_ERR_BOUNDS, "rank too large");
            unsigned char mark[MAX_RANK] = {0};
            for (int k = 0; k < na; k++) {
                int64_t ax = axes[k] < 0 ? axes[k] + orank : axes[k];
                if (ax < 0 || ax >= orank)
                    return fail_node(x, nd, XF_ERR_SHAPE, "axis out of range");
                mark[ax] = 1;
            }
            for (int d = 0, src = 0; d < orank; d++) {
                if (unsq && mark[d])
                    dims[rank++] = 1;
                else if (unsq)
                    dims[rank++] = a->dims[src++];
                else if (!(mark[d] || (na == 0 && a->dims[d] == 1)))
                    dims[rank++] = a->dims[d];
            }
        }
        int64_t prod = 1;
        for (int d = 0; d < rank; d++)
            prod = mul_dims(prod, dims[d]);
        if (prod != a->n)
            return fail_node(x, nd, XF_ERR_SHAPE, "element count changes");
        if ((s = const_new(x, out, rank, dims, a->i != NULL)))
            return s;
        for (int64_t k = 0; k < a->n; k++)
            cset(out, k, cval(a, k));
        return XF_OK;
    }
    if (strcmp(op, "Gather") == 0) {
        value *ix = in_val(x, nd, 1, &s);
        if (!ix)
            return s;
        if (attr_i(nd, "axis", 0) != 0 || a->rank != 1)
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "constant Gather beyond axis 0 of a vector");
        if ((s = const_new(x, out, ix->rank, ix->dims, a->i != NULL)))
            return s;
        for (int64_t k = 0; k < ix->n; k++) {
            int64_t j = ival(ix, k);
            j = j < 0 ? j + a->n : j;
            if (j < 0 || j >= a->n)
                return fail_node(x, nd, XF_ERR_BOUNDS, "index out of range");
            cset(out, k, cval(a, j));
        }
        return XF_OK;
    }
    if (strcmp(op, "Concat") == 0) {
        int64_t total = 0;
        for (size_t k = 0; k < nd->n_input; k++) {
            value *v = in_val(x, nd, k, &s);
            if (!v)
                return s;
            if (v->rank > 1)
                return fail_node(x, nd, XF_ERR_UNSUPPORTED, "constant Concat of non-vectors");
            total += v->n;
        }
        if ((s = const_new(x, out, 1, &total, a->i != NULL)))
            return s;
        int64_t o = 0;
        for (size_t k = 0; k < nd->n_input; k++) {
            value *v = lookup(x, nd->input[k], 0);
            for (int64_t j = 0; j < v->n; j++)
                cset(out, o++, cval(v, j));
        }
        return XF_OK;
    }
    if (strcmp(op, "Slice") == 0 || strcmp(op, "Transpose") == 0)
        return fold_gather_nd(x, nd, a, out);
    if (strcmp(op, "ConstantOfShape") == 0) {
        int64_t dims[MAX_RANK];
        if (a->n > MAX_RANK)
            return fail_node(x, nd, XF_ERR_BOUNDS, "rank too large");
        int64_t total = 1;
        for (int64_t k = 0; k < a->n; k++)
            total = mul_dims(total, dims[k] = ival(a, k));
        if (total < 0 || total > ((int64_t) 1 << 24)) /* shape arithmetic never needs more */
            return fail_node(x, nd, XF_ERR_BOUNDS, "constant of more than 2^24 elements");
        const Onnx__AttributeProto *va = attr(nd, "value");
        value fill;
        memset(&fill, 0, sizeof fill);
        fill.name = "value";
        if (va && va->t && (s = const_from_tensor(x, va->t, &fill)))
            return s;
        if ((s = const_new(x, out, (int) a->n, dims, fill.i != NULL)))
            goto cos_done;
        for (int64_t k = 0; k < out->n; k++)
            cset(out, k, fill.n ? cval(&fill, 0) : 0);
    cos_done:
        const_free(&fill);
        return s;
    }
    static const char *const bin[] = {"Add", "Sub", "Mul", "Div"};
    for (int o = 0; o < 4; o++) {
        if (strcmp(op, bin[o]) != 0)
            continue;
        value *b = in_val(x, nd, 1, &s);
        if (!b)
            return s;
        const value *big = a->n >= b->n ? a : b;
        if (!(a->n == b->n || a->n == 1 || b->n == 1))
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "constant broadcasting beyond scalars");
        if ((s = const_new(x, out, big->rank, big->dims, a->i && b->i)))
            return s;
        for (int64_t k = 0; k < big->n; k++) {
            double p = cval(a, a->n == 1 ? 0 : k), q = cval(b, b->n == 1 ? 0 : k), r;
            r = o == 0 ? p + q : o == 1 ? p - q : o == 2 ? p * q : (q != 0 ? p / q : 0);
            if (o == 3 && a->i && b->i && q != 0)
                r = (double) ((int64_t) p / (int64_t) q);
            cset(out, k, r);
        }
        return XF_OK;
    }
    return fail_node(x, nd, XF_ERR_UNSUPPORTED, "not supported on constants");
}

/* ---- patterns ------------------------------------------------------------------------------ */
/* index of the only node consuming output name, or -1 */
static int sole_consumer(ctx *x, const char *name, int from)
{
    int found = -1;
    Onnx__GraphProto *g = x->g;
    for (size_t i = (size_t) from; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++)
            if (strcmp(g->node[i]->input[k], name) == 0) {
                if (found >= 0 && found != (int) i)
                    return -1;
                found = (int) i;
            }
    return found;
}

static int is_op(const Onnx__NodeProto *nd, const char *op)
{
    return nd->op_type && strcmp(nd->op_type, op) == 0;
}

/* the scalar constant input k of nd (initializer or Constant node output), or NAN */
static double scalar_in(ctx *x, const Onnx__NodeProto *nd, size_t k)
{
    if (k >= nd->n_input)
        return NAN;
    value *v = lookup(x, nd->input[k], 0);
    if (v && v->is_const && v->n == 1)
        return cval(v, 0);
    /* a Constant node later in the list is not folded yet: look it up */
    for (size_t i = 0; i < x->g->n_node; i++) {
        const Onnx__NodeProto *c = x->g->node[i];
        if (is_op(c, "Constant") && c->n_output && strcmp(c->output[0], nd->input[k]) == 0) {
            const Onnx__AttributeProto *a = attr(c, "value");
            if (a && a->t && a->t->has_raw_data && a->t->data_type == 1 && a->t->raw_data.len == 4) {
                float f;
                memcpy(&f, a->t->raw_data.data, 4);
                return f;
            }
            if (a && a->t && a->t->n_float_data == 1)
                return a->t->float_data[0];
        }
    }
    return NAN;
}

/* the first node from index from on that reads name and has type op, or -1 */
static int consumer_op(ctx *x, const char *name, int from, const char *op)
{
    for (size_t i = (size_t) from; i < x->g->n_node; i++)
        for (size_t k = 0; k < x->g->node[i]->n_input; k++)
            if (is_op(x->g->node[i], op) && strcmp(x->g->node[i]->input[k], name) == 0)
                return (int) i;
    return -1;
}

static int reduces_last_axis(ctx *x, const Onnx__NodeProto *nd)
{
    int64_t axes[2];
    int n = attr_ints(nd, "axes", axes, 2);
    if (n == 0 && nd->n_input > 1)
        return scalar_in(x, nd, 1) == -1;
    return n == 1 && axes[0] == -1 && attr_i(nd, "keepdims", 1) == 1;
}

/* opsets below 17 spell LayerNorm out: m = mean(x), d = x - m, v = mean(d^2),
 * y = d / sqrt(v + eps) over the last axis; the last Div becomes one layer norm of x */
static void find_layernorm(ctx *x, size_t i)
{
    Onnx__GraphProto *g = x->g;
    const Onnx__NodeProto *r1 = g->node[i];
    if (!is_op(r1, "ReduceMean") || !reduces_last_axis(x, r1))
        return;
    int sub = sole_consumer(x, r1->output[0], (int) i + 1);
    if (sub < 0 || !is_op(g->node[sub], "Sub") || strcmp(g->node[sub]->input[0], r1->input[0]) ||
        strcmp(g->node[sub]->input[1], r1->output[0]))
        return;
    const char *d = g->node[sub]->output[0];
    int pw = consumer_op(x, d, sub + 1, "Pow"), dv = consumer_op(x, d, sub + 1, "Div");
    if (pw < 0 || dv < 0 || scalar_in(x, g->node[pw], 1) != 2)
        return;
    int r2 = sole_consumer(x, g->node[pw]->output[0], pw + 1);
    if (r2 < 0 || !is_op(g->node[r2], "ReduceMean") || !reduces_last_axis(x, g->node[r2]))
        return;
    int ad = sole_consumer(x, g->node[r2]->output[0], r2 + 1);
    double eps = ad >= 0 && is_op(g->node[ad], "Add") ? scalar_in(x, g->node[ad], 1) : (double) NAN;
    int sq = ad >= 0 ? sole_consumer(x, g->node[ad]->output[0], ad + 1) : -1;
    if (!(eps > 0 && eps < 1) || sq < 0 || !is_op(g->node[sq], "Sqrt") ||
        sole_consumer(x, g->node[sq]->output[0], sq + 1) != dv ||
        strcmp(g->node[dv]->input[0], d) || strcmp(g->node[dv]->input[1], g->node[sq]->output[0]))
        return;
    x->skip[i] = x->skip[sub] = x->skip[pw] = x->skip[r2] = x->skip[ad] = x->skip[sq] = 1;
    x->fuse[dv] = FUSE_LAYERNORM;
    x->fuse_src[dv] = r1->input[0];
    x->fuse_eps[dv] = (float) eps;
}

/* Sigmoid(x)*x -> SiLU, HardSigmoid(x)*x -> HardSwish, x*0.5*(1+erf(x/sqrt 2)) -> GELU, and the
 * spelt-out LayerNorm: the inner nodes are skipped, the last node computes the whole from x. */
static void find_patterns(ctx *x)
{
    Onnx__GraphProto *g = x->g;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *nd = g->node[i];
        if (!nd->n_input || !nd->n_output)
            continue;
        const char *xin = nd->input[0];
        if ((is_op(nd, "Sigmoid") || is_op(nd, "HardSigmoid")) &&
            (!is_op(nd, "HardSigmoid") || (fabsf(attr_f(nd, "alpha", 0.2f) - 1.0f / 6) < 1e-6f &&
                                           fabsf(attr_f(nd, "beta", 0.5f) - 0.5f) < 1e-6f))) {
            int m = sole_consumer(x, nd->output[0], (int) i + 1);
            const Onnx__NodeProto *mn = m >= 0 ? g->node[m] : NULL;
            if (mn && is_op(mn, "Mul") && mn->n_input == 2 &&
                (strcmp(mn->input[0], xin) == 0 || strcmp(mn->input[1], xin) == 0)) {
                x->skip[i] = 1;
                x->fuse[m] = is_op(nd, "Sigmoid") ? XF_ACT_SILU : XF_ACT_HARDSWISH;
                x->fuse_src[m] = xin;
            }
        }
        if (is_op(nd, "Div") && nd->n_input == 2 && fabs(scalar_in(x, nd, 1) - M_SQRT2) < 1e-5) {
            int e = sole_consumer(x, nd->output[0], (int) i + 1);
            int ad = e >= 0 && is_op(g->node[e], "Erf") ? sole_consumer(x, g->node[e]->output[0], e + 1) : -1;
            if (ad < 0 || !is_op(g->node[ad], "Add") || scalar_in(x, g->node[ad], 1) != 1)
                continue;
            int m1 = sole_consumer(x, g->node[ad]->output[0], ad + 1);
            if (m1 < 0 || !is_op(g->node[m1], "Mul"))
                continue;
            int m2 = sole_consumer(x, g->node[m1]->output[0], m1 + 1);
            if (m2 < 0 || !is_op(g->node[m2], "Mul") || scalar_in(x, g->node[m2], 1) != 0.5 ||
                !(strcmp(g->node[m1]->input[0], xin) == 0 || strcmp(g->node[m1]->input[1], xin) == 0))
                continue;
            x->skip[i] = x->skip[e] = x->skip[ad] = x->skip[m1] = 1;
            x->fuse[m2] = XF_ACT_GELU;
            x->fuse_src[m2] = xin;
        }
        find_layernorm(x, i);
    }
}

/* ---- the walk ------------------------------------------------------------------------------ */
/* layer norm over channels (the last axis of an NHWC-labelled map, or a vector); scale/bias
 * NULL: 1 / 0 */
static xf_status add_layernorm(ctx *x, const Onnx__NodeProto *nd, value *a, const float *scale,
                               const float *bias, float eps, value *out)
{
    if (a->layout != L_NHWC && a->layout != L_NC)
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "layer norm other than over channels (the "
                         "last axis of an NHWC map, or a vector)");
    if (!(eps > 0 && eps < 1))
        return fail_node(x, nd, XF_ERR_VALUE, "epsilon outside (0, 1)");
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
    xf_status s = add_node(x, nd, &p, out, a->layout);
    if (s) {
        free(w), free(b);
        return s;
    }
    int64_t shape[1] = {ch};
    xfc_set_params(x->c, out->node, w, shape, 1, b);
    return XF_OK;
}

static xf_status op_binary(ctx *x, const Onnx__NodeProto *nd, value *out)
{
    xf_status s = XF_OK;
    value *a = in_val(x, nd, 0, &s), *b = a ? in_val(x, nd, 1, &s) : NULL;
    if (!b)
        return s;
    int add = is_op(nd, "Add"), sub = is_op(nd, "Sub"), div = is_op(nd, "Div");
    if (!a->is_const && !b->is_const) {
        if (sub || div)
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "between two feature maps");
        const xf_node *na = xnode(x, a), *nb = xnode(x, b);
        if (add && (na->h != nb->h || na->w != nb->w || na->c != nb->c || a->layout != b->layout))
            return fail_node(x, nd, XF_ERR_SHAPE, "adds maps of different shapes or layouts");
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
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "a constant minus/over a feature map");
    value *m = a->is_const ? b : a, *k = a->is_const ? a : b;
    int64_t ch = xnode(x, m)->c;
    float *v = malloc((size_t) ch * sizeof(float));
    if (!v)
        return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    if (!per_channel(k, m, ch, v)) {
        free(v);
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "constant operand is neither a scalar nor "
                         "per-channel");
    }
    for (int64_t j = 0; j < ch; j++) {
        if (div && v[j] == 0) {
            free(v);
            return fail_node(x, nd, XF_ERR_VALUE, "division by zero");
        }
        v[j] = sub ? -v[j] : div ? 1.0f / v[j] : v[j];
    }
    s = add || sub ? channel_affine(x, nd, m, NULL, v, out) : channel_affine(x, nd, m, v, NULL, out);
    free(v);
    return s;
}

static xf_status op_batchnorm(ctx *x, const Onnx__NodeProto *nd, value *a, value *out)
{
    xf_status s = XF_OK;
    value *p[4];
    for (int k = 0; k < 4; k++)
        if (!(p[k] = in_val(x, nd, (size_t) k + 1, &s)))
            return s;
    int64_t ch = xnode(x, a)->c;
    for (int k = 0; k < 4; k++)
        if (!p[k]->is_const || !p[k]->f || p[k]->n != ch)
            return fail_node(x, nd, XF_ERR_SHAPE, "scale/bias/mean/var must be constant "
                             "per-channel vectors");
    if (!is_channel_axis(a, 1) && a->layout != L_NC)
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "batch norm on an NHWC-labelled map");
    for (int64_t j = 0; j < ch; j++)
        if (!(p[3]->f[j] >= 0))
            return fail_node(x, nd, XF_ERR_VALUE, "negative running variance");
    char nm[200];
    safe_name(x, out->name, nm, sizeof nm);
    int j = xfc_batchnorm(x->c, a->node, p[0]->f, p[1]->f, p[2]->f, p[3]->f,
                          attr_f(nd, "epsilon", 1e-5f), exclusive(x, a), nm, x->err);
    if (j < 0)
        return fail_node(x, nd, x->err->code, x->err->msg);
    set_act(out, j, a->layout, 1);
    return XF_OK;
}

static xf_status add_layernorm(ctx *x, const Onnx__NodeProto *nd, value *a, const float *scale,
                               const float *bias, float eps, value *out);

/* The last node of a pattern (find_patterns), computed from the pattern's input. */
static xf_status op_fused(ctx *x, size_t i, value *out)
{
    const Onnx__NodeProto *nd = x->g->node[i];
    value *src = lookup(x, x->fuse_src[i], 0);
    if (!src || !src->defined || src->is_const)
        return fail_node(x, nd, XF_ERR_FORMAT, "pattern without its input");
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
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "operator from a custom domain");
    if (!nd->n_output)
        return fail_node(x, nd, XF_ERR_FORMAT, "no output");
    value *out = out_val(x, nd, 0);
    if (!out)
        return fail_node(x, nd, XF_ERR_FORMAT, "unnamed first output");
    if (out->defined)
        return fail_node(x, nd, XF_ERR_FORMAT, "output is produced twice");
    if (is_op(nd, "Constant")) {
        const Onnx__AttributeProto *a = attr(nd, "value");
        if (a && a->t)
            return const_from_tensor(x, a->t, out);
        if ((a = attr(nd, "value_float")) && a->has_f) {
            if ((s = const_new(x, out, 0, NULL, 0)))
                return s;
            out->f[0] = a->f;
            return XF_OK;
        }
        if ((a = attr(nd, "value_int")) && a->has_i) {
            if ((s = const_new(x, out, 0, NULL, 1)))
                return s;
            out->i[0] = a->i;
            return XF_OK;
        }
        if ((a = attr(nd, "value_ints"))) {
            int64_t n = (int64_t) a->n_ints;
            if ((s = const_new(x, out, 1, &n, 1)))
                return s;
            for (int64_t k = 0; k < n; k++)
                out->i[k] = a->ints[k];
            return XF_OK;
        }
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "Constant without a tensor value");
    }
    if (x->skip[i])
        return XF_OK;
    if (!nd->n_input)
        return fail_node(x, nd, XF_ERR_FORMAT, "no input");
    if (x->fuse[i])
        return op_fused(x, i, out);
    value *a = in_val(x, nd, 0, &s);
    if (!a)
        return s;
    if (all_const(x, nd))
        return fold(x, nd, out);
    if (is_op(nd, "Add") || is_op(nd, "Sub") || is_op(nd, "Mul") || is_op(nd, "Div"))
        return op_binary(x, nd, out);

    if (a->is_const)
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "constant first operand of a feature-map op");
    if (is_op(nd, "Conv"))
        return op_conv(x, nd, a, out);
    if (is_op(nd, "Gemm") || is_op(nd, "MatMul"))
        return op_linear(x, nd, a, out);
    if (is_op(nd, "BatchNormalization"))
        return op_batchnorm(x, nd, a, out);
    if (is_op(nd, "Relu"))
        return op_act(x, nd, a, XF_ACT_RELU, out);
    if (is_op(nd, "Sigmoid"))
        return op_act(x, nd, a, XF_ACT_SIGMOID, out);
    if (is_op(nd, "HardSwish"))
        return op_act(x, nd, a, XF_ACT_HARDSWISH, out);
    if (is_op(nd, "HardSigmoid")) {
        if (fabsf(attr_f(nd, "alpha", 0.2f) - 1.0f / 6) > 1e-6f || attr_f(nd, "beta", 0.5f) != 0.5f)
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "HardSigmoid other than PyTorch's "
                             "(alpha 1/6, beta 0.5)");
        return op_act(x, nd, a, XF_ACT_HARDSIGMOID, out);
    }
    if (is_op(nd, "LeakyRelu")) {
        if (fabsf(attr_f(nd, "alpha", 0.01f) - 0.01f) > 1e-7f)
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "LeakyRelu slope other than 0.01 (use "
                             "PRelu)");
        return op_act(x, nd, a, XF_ACT_LEAKY, out);
    }
    if (is_op(nd, "Clip")) {
        double lo = nd->n_input > 1 && *nd->input[1] ? scalar_in(x, nd, 1) : (double) attr_f(nd, "min", -INFINITY);
        double hi = nd->n_input > 2 && *nd->input[2] ? scalar_in(x, nd, 2) : (double) attr_f(nd, "max", INFINITY);
        if (lo == 0 && hi == 6)
            return op_act(x, nd, a, XF_ACT_RELU6, out);
        if (lo == 0 && isinf(hi))
            return op_act(x, nd, a, XF_ACT_RELU, out);
        return fail_node(x, nd, XF_ERR_UNSUPPORTED, "Clip other than [0, 6] or [0, inf)");
    }
    if (is_op(nd, "PRelu")) {
        value *sl = in_val(x, nd, 1, &s);
        if (!sl)
            return s;
        int64_t ch = xnode(x, a)->c;
        float *v = sl->is_const ? malloc((size_t) ch * sizeof(float)) : NULL;
        if (!v || !per_channel(sl, a, ch, v)) {
            free(v);
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "slope must be a constant scalar or "
                             "per-channel");
        }
        xf_node p;
        memset(&p, 0, sizeof p);
        p.op = XF_OP_PRELU, p.in[0] = a->node, p.n_in = 1;
        if ((s = add_node(x, nd, &p, out, a->layout))) {
            free(v);
            return s;
        }
        int64_t shape[1] = {ch};
        xfc_set_params(x->c, out->node, v, shape, 1, NULL);
        return XF_OK;
    }
    if (is_op(nd, "MaxPool") || is_op(nd, "AveragePool"))
        return op_pool(x, nd, a, out);
    if (is_op(nd, "GlobalAveragePool") || is_op(nd, "GlobalMaxPool") || is_op(nd, "ReduceMean")) {
        if (is_op(nd, "ReduceMean")) {
            int64_t axes[4];
            int na = attr_ints(nd, "axes", axes, 4);
            if (nd->n_input > 1 && *nd->input[1]) {
                value *av = in_val(x, nd, 1, &s);
                if (!av)
                    return s;
                na = av->n == 2 ? 2 : -1;
                for (int k = 0; k < na; k++)
                    axes[k] = ival(av, k);
            }
            int spatial = a->layout == L_NCHW && na == 2 &&
                          ((axes[0] == 2 && axes[1] == 3) || (axes[0] == -2 && axes[1] == -1));
            if (!spatial)
                return fail_node(x, nd, XF_ERR_UNSUPPORTED, "ReduceMean other than over H, W");
        } else if (a->layout != L_NCHW) {
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "global pooling of a non-NCHW value");
        }
        const xf_node *src = xnode(x, a);
        xf_node p;
        memset(&p, 0, sizeof p);
        p.in[0] = a->node, p.n_in = 1;
        if (is_op(nd, "GlobalMaxPool"))
            p.op = XF_OP_MAXPOOL, p.kh = (int) src->h, p.kw = (int) src->w, p.sh = p.sw = 1;
        else
            p.op = XF_OP_GAP;
        int keep = !is_op(nd, "ReduceMean") || attr_i(nd, "keepdims", 1);
        return add_node(x, nd, &p, out, keep ? L_NCHW : L_NC);
    }
    if (is_op(nd, "Concat")) {
        xf_node p;
        memset(&p, 0, sizeof p);
        p.op = XF_OP_CONCAT;
        if (!is_channel_axis(a, attr_i(nd, "axis", 1)))
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "concatenation other than on channels");
        for (size_t k = 0; k < nd->n_input; k++) {
            value *v = in_val(x, nd, k, &s);
            if (!v)
                return s;
            if (v->is_const || v->layout != a->layout)
                return fail_node(x, nd, XF_ERR_UNSUPPORTED, "inputs of mixed layouts or constants");
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
    if (is_op(nd, "Identity") || is_op(nd, "Dropout")) {
        alias(x, out, a);
        return XF_OK;
    }
    if (is_op(nd, "Flatten")) {
        int64_t ax = attr_i(nd, "axis", 1), shape[2] = {1, -1};
        if (ax != 1)
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "Flatten other than axis 1");
        return reshape_act(x, nd, a, shape, 2, out);
    }
    if (is_op(nd, "Reshape") || is_op(nd, "Squeeze") || is_op(nd, "Unsqueeze")) {
        int64_t shape[MAX_RANK];
        int rank;
        if (is_op(nd, "Reshape")) {
            value *sh = in_val(x, nd, 1, &s);
            if (!sh)
                return s;
            if (!sh->is_const || sh->n > MAX_RANK || sh->n < 1)
                return fail_node(x, nd, XF_ERR_UNSUPPORTED, "target shape is not a constant");
            rank = (int) sh->n;
            for (int d = 0; d < rank; d++)
                shape[d] = ival(sh, d);
        } else { /* (N,C,1,1) <-> (N,C) */
            const xf_node *src = xnode(x, a);
            if (src->h * src->w != 1)
                return fail_node(x, nd, XF_ERR_UNSUPPORTED, "squeeze of a feature map");
            int sq = is_op(nd, "Squeeze");
            rank = sq ? 2 : 4;
            shape[0] = 1, shape[1] = src->c, shape[2] = shape[3] = 1;
        }
        return reshape_act(x, nd, a, shape, rank, out);
    }
    if (is_op(nd, "Transpose"))
        return op_transpose(x, nd, a, out);
    if (is_op(nd, "Shape")) { /* of a feature map: a constant (static shapes) */
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
        int64_t b0 = attr_i(nd, "start", 0), e0 = attr_i(nd, "end", rank);
        b0 = b0 < 0 ? b0 + rank : b0, e0 = e0 < 0 ? e0 + rank : e0;
        b0 = b0 < 0 ? 0 : b0 > rank ? rank : b0, e0 = e0 < b0 ? b0 : e0 > rank ? rank : e0;
        int64_t n = e0 - b0;
        if ((s = const_new(x, out, 1, &n, 1)))
            return s;
        for (int64_t k = 0; k < n; k++)
            out->i[k] = sh[b0 + k];
        return XF_OK;
    }
    if (is_op(nd, "Softmax")) {
        int64_t ax = attr_i(nd, "axis", -1);
        if (!(a->layout == L_NC || a->layout == L_FLAT) || !(ax == 1 || ax == -1))
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "softmax other than over class scores");
        xf_node p;
        memset(&p, 0, sizeof p);
        p.op = XF_OP_SOFTMAX, p.in[0] = a->node, p.n_in = 1;
        return add_node(x, nd, &p, out, L_NC);
    }
    if (is_op(nd, "LayerNormalization")) {
        value *sc = in_val(x, nd, 1, &s);
        value *bi = sc && nd->n_input > 2 && *nd->input[2] ? in_val(x, nd, 2, &s) : NULL;
        if (s)
            return s;
        int64_t ch = xnode(x, a)->c, ax = attr_i(nd, "axis", -1);
        if (ax != -1 && ax != (a->layout == L_NC ? 1 : 3))
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "layer norm other than over the last axis");
        if (!sc->is_const || !sc->f || sc->n != ch || (bi && (!bi->is_const || !bi->f || bi->n != ch)))
            return fail_node(x, nd, XF_ERR_SHAPE, "scale/bias must be constant per-channel");
        return add_layernorm(x, nd, a, sc->f, bi ? bi->f : NULL, attr_f(nd, "epsilon", 1e-5f), out);
    }
    if (is_op(nd, "Split") || is_op(nd, "Slice")) {
        int64_t axis = 0;
        if (is_op(nd, "Slice")) {
            value *st = in_val(x, nd, 1, &s), *en = st ? in_val(x, nd, 2, &s) : NULL;
            value *ax = en && nd->n_input > 3 && *nd->input[3] ? in_val(x, nd, 3, &s) : NULL;
            value *sp = en && nd->n_input > 4 && *nd->input[4] ? in_val(x, nd, 4, &s) : NULL;
            if (s || !en)
                return s ? s : fail_node(x, nd, XF_ERR_FORMAT, "Slice without starts/ends");
            if (!st->is_const || !en->is_const || st->n != 1 || en->n != 1 ||
                (ax && (!ax->is_const || ax->n != 1)) || (sp && (!sp->is_const || cval(sp, 0) != 1)))
                return fail_node(x, nd, XF_ERR_UNSUPPORTED, "Slice other than one constant "
                                 "channel range with step 1");
            axis = ax ? ival(ax, 0) : 0;
            if (!is_channel_axis(a, axis))
                return fail_node(x, nd, XF_ERR_UNSUPPORTED, "Slice other than on channels");
            double e = cval(en, 0);
            return slice_channels(x, nd, a, ival(st, 0), e > 1e15 ? INT64_MAX / 2 : (int64_t) e, out);
        }
        axis = attr_i(nd, "axis", 0);
        if (!is_channel_axis(a, axis))
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "Split other than on channels");
        int64_t sizes[XF_NODE_MAX_IN], c = xnode(x, a)->c, n_out = (int64_t) nd->n_output;
        int ns = attr_ints(nd, "split", sizes, XF_NODE_MAX_IN);
        if (nd->n_input > 1 && *nd->input[1]) {
            value *sv = in_val(x, nd, 1, &s);
            if (!sv)
                return s;
            ns = sv->is_const && sv->n <= XF_NODE_MAX_IN ? (int) sv->n : -1;
            for (int k = 0; k < ns; k++)
                sizes[k] = ival(sv, k);
        }
        if (n_out > XF_NODE_MAX_IN || ns < 0 || (ns && ns != n_out) || (!ns && c % n_out))
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "this split");
        int64_t b0 = 0;
        for (int64_t k = 0; k < n_out; k++) {
            int64_t len = ns ? sizes[k] : c / n_out;
            value *o = out_val(x, nd, (size_t) k);
            if (o && (s = slice_channels(x, nd, a, b0, b0 + len, o)))
                return s;
            b0 += len;
        }
        if (b0 != c)
            return fail_node(x, nd, XF_ERR_SHAPE, "split sizes do not add up to the channels");
        return XF_OK;
    }
    if (is_op(nd, "Pad")) {
        int64_t pads[8] = {0};
        char mode[32];
        const char *md = attr_s(nd, "mode", mode, sizeof mode);
        int np = attr_ints(nd, "pads", pads, 8);
        if (nd->n_input > 1 && *nd->input[1]) {
            value *pv = in_val(x, nd, 1, &s);
            if (!pv)
                return s;
            np = pv->is_const && pv->n == 8 ? 8 : -1;
            for (int k = 0; k < np; k++)
                pads[k] = ival(pv, k);
        }
        double cv = nd->n_input > 2 && *nd->input[2] ? scalar_in(x, nd, 2) : (double) attr_f(nd, "value", 0);
        if ((md && strcmp(md, "constant") != 0) || np != 8 || cv != 0 || a->layout != L_NCHW ||
            pads[0] || pads[1] || pads[4] || pads[5])
            return fail_node(x, nd, XF_ERR_UNSUPPORTED, "Pad other than zeros around H and W");
        for (int k = 0; k < 8; k++)
            if (pads[k] < 0 || pads[k] > 1024)
                return fail_node(x, nd, XF_ERR_UNSUPPORTED, "negative or huge padding");
        alias(x, out, a);
        out->own = 0;
        out->pad[0] += (int) pads[2], out->pad[1] += (int) pads[6];
        out->pad[2] += (int) pads[3], out->pad[3] += (int) pads[7];
        return XF_OK;
    }
    return fail_node(x, nd, XF_ERR_UNSUPPORTED, "operator not supported");
}

static xf_status read_file(const char *path, uint8_t **buf, size_t *len, xf_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return xf__fail(err, XF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 || (size_t) st.st_size > MAX_FILE) {
        fclose(f);
        return xf__fail(err, XF_ERR_BOUNDS, "%s: empty, unreadable or larger than 4 GiB", path);
    }
    *len = (size_t) st.st_size;
    *buf = malloc(*len);
    if (!*buf) {
        fclose(f);
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(*buf, 1, *len, f);
    fclose(f);
    if (got != *len) {
        free(*buf);
        return xf__fail(err, XF_ERR_IO, "%s: short read", path);
    }
    return XF_OK;
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
        value *v = lookup(x, g->output[k]->name, 0);
        if (v)
            want[v - x->v] = 1;
    }
    for (size_t i = g->n_node; i-- > 0;) {
        const Onnx__NodeProto *nd = g->node[i];
        for (size_t k = 0; k < nd->n_output && !live[i]; k++) {
            value *v = lookup(x, nd->output[k], 0);
            live[i] = v && want[v - x->v];
        }
        for (size_t k = 0; live[i] && k < nd->n_input; k++) {
            value *v = lookup(x, nd->input[k], 0);
            if (v)
                want[v - x->v] = 1;
        }
    }
    free(want);
}

xf_status xfc_from_onnx(const char *path, int size_h, int size_w, xfc_graph *c, char *feature,
                        size_t feature_size, xf_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    xf_status s = read_file(path, &buf, &len, err);
    if (s)
        return s;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!m)
        return xf__fail(err, XF_ERR_FORMAT, "%s: not an ONNX model (protobuf decoding failed: "
                        "truncated or not a ModelProto)", path);
    ctx x;
    memset(&x, 0, sizeof x);
    x.c = c, x.err = err, x.path = path, x.g = m->graph, x.feature_node = -1;
    x.size_h = size_h, x.size_w = size_w;
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
            lookup(&x, nd->output[k], 1);
        for (size_t k = 0; k < nd->n_input; k++) {
            value *v = lookup(&x, nd->input[k], 1);
            if (v)
                x.uses[v - x.v]++;
        }
    }
    for (size_t k = 0; k < g->n_output; k++) {
        value *v = lookup(&x, g->output[k]->name, 1);
        if (v)
            x.uses[v - x.v]++;
    }
    for (size_t k = 0; k < g->n_initializer; k++) {
        value *v = lookup(&x, g->initializer[k]->name, 1);
        if (!v || v->defined) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: an initializer has no name or a duplicate one",
                         path);
            goto done;
        }
        if ((s = const_from_tensor(&x, g->initializer[k], v)))
            goto done;
    }
    /* the image input: the one graph input that is not an initializer */
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t k = 0; k < g->n_input; k++) {
        value *v = lookup(&x, g->input[k]->name, 1);
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
        s = xf__fail(err, XF_ERR_ARG, "%s: input height/width unknown or out of range: give "
                     "--size", path);
        goto done;
    }
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_INPUT, p.h = H, p.w = W, p.c = 3;
    char nm[200];
    safe_name(&x, in->name, nm, sizeof nm);
    int j = xfc_add(c, &p, nm, NULL, err);
    if (j < 0) {
        s = err->code;
        goto done;
    }
    value *iv = lookup(&x, in->name, 1);
    if (!iv) {
        s = xf__fail(err, XF_ERR_FORMAT, "%s: the graph input has no name", path);
        goto done;
    }
    set_act(iv, j, L_NCHW, 0);
    find_patterns(&x);
    mark_live(&x, live);
    for (size_t i = 0; i < g->n_node && !s; i++)
        if (live[i] || is_op(g->node[i], "Constant"))
            s = op_node(&x, i);
    if (s)
        goto done;
    value *o = lookup(&x, g->output[0]->name, 0);
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
            const_free(&x.v[k]);
    free(x.v), free(x.uses), free(x.skip), free(x.fuse), free(x.fuse_src), free(x.fuse_eps), free(live);
    onnx__model_proto__free_unpacked(m, NULL);
    return s;
}
