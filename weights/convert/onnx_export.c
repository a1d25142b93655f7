/* onnx_export.c — a classifier as one ONNX file (opset 17), written with protobuf-c: for a
 * head from train-classifier its backbone up to the feature layers, their pooling and
 * normalisation, the linear layer and the head's probability rule; for a fine-tuned model or a
 * backbone with labels the whole network.
 * It is: the mapping of each xfer op to ONNX nodes (NCHW inside; the input is NHWC pixels in
 * [0, 1], normalised by the graph), the file, and xfer-convert --to-onnx. It is not: the ONNX
 * reader (onnx.c) or a general ONNX writer.
 */
#include "cli.h"
#include "convert.h"
#include "head.h"
#include "io.h"
#include "linear_rule.h"
#include "model.h"
#include "onnx.pb-c.h"
#include "provenance.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
    Onnx__GraphProto *g;
    size_t cap_node, cap_init;
    void **mem; /* every allocation, freed at the end */
    size_t n_mem, cap_mem;
    int tmp; /* counter for intermediate names */
    jmp_buf oom;
} ex;

/* protobuf-c's messages hold char * that packing only reads: const names are stored as is */
static char *mut(const void *p)
{
    return (char *) (uintptr_t) p;
}

static void *ex_alloc(ex *e, size_t n)
{
    if (e->n_mem == e->cap_mem) {
        size_t cap = e->cap_mem ? 2 * e->cap_mem : 256;
        void **m = realloc(e->mem, cap * sizeof *m);
        if (!m)
            longjmp(e->oom, 1);
        e->mem = m, e->cap_mem = cap;
    }
    void *p = calloc(1, n ? n : 1);
    if (!p)
        longjmp(e->oom, 1);
    return e->mem[e->n_mem++] = p;
}

static char *ex_str(ex *e, const char *fmt, ...) XF_PRINTF(2, 3);
static char *ex_str(ex *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = ex_alloc(e, (size_t) n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* intermediate tensors: "xfer:BASE:N" (no converted model names a tensor so) */
static const char *ex_tmp(ex *e, const char *base)
{
    return ex_str(e, "xfer:%s:%d", base, e->tmp++);
}

static void *grow(ex *e, void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? 2 * *cap : 64;
    void *p = ex_alloc(e, c * elem);
    if (n)
        memcpy(p, arr, n * elem);
    *cap = c;
    return p;
}

static Onnx__NodeProto *ex_node(ex *e, const char *op, int n_in, const char *const *in,
                                const char *out)
{
    Onnx__NodeProto *n = ex_alloc(e, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = mut(op);
    n->name = mut(out);
    n->n_input = (size_t) n_in;
    n->input = ex_alloc(e, (size_t) n_in * sizeof *n->input);
    for (int i = 0; i < n_in; i++)
        n->input[i] = mut(in[i]);
    n->n_output = 1;
    n->output = ex_alloc(e, sizeof *n->output);
    n->output[0] = mut(out);
    Onnx__GraphProto *g = e->g;
    g->node = grow(e, g->node, g->n_node, &e->cap_node, sizeof *g->node);
    g->node[g->n_node++] = n;
    return n;
}

static const char *ex_op1(ex *e, const char *op, const char *x, const char *out)
{
    ex_node(e, op, 1, &x, out);
    return out;
}

static const char *ex_op2(ex *e, const char *op, const char *a, const char *b, const char *out)
{
    const char *in[2] = {a, b};
    ex_node(e, op, 2, in, out);
    return out;
}

static Onnx__AttributeProto *ex_attr(ex *e, Onnx__NodeProto *n, const char *name,
                                     Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = ex_alloc(e, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = mut(name), a->has_type = 1, a->type = type;
    Onnx__AttributeProto **arr = ex_alloc(e, (n->n_attribute + 1) * sizeof *arr);
    if (n->n_attribute)
        memcpy(arr, n->attribute, n->n_attribute * sizeof *arr);
    arr[n->n_attribute++] = a;
    n->attribute = arr;
    return a;
}

static void attr_i(ex *e, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = ex_attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1, a->i = v;
}

static void attr_f(ex *e, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = ex_attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1, a->f = v;
}

static void attr_ints(ex *e, Onnx__NodeProto *n, const char *name, int k, const int64_t *v)
{
    Onnx__AttributeProto *a = ex_attr(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t) k;
    a->ints = ex_alloc(e, (size_t) k * sizeof *a->ints);
    memcpy(a->ints, v, (size_t) k * sizeof *a->ints);
}

/* an initializer; data is copied when copy, else referenced (the model outlives the write) */
static const char *ex_init(ex *e, const char *name, int type, int n_dims, const int64_t *dims,
                           const void *data, size_t bytes, int copy)
{
    Onnx__TensorProto *t = ex_alloc(e, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = mut(name);
    t->has_data_type = 1, t->data_type = type;
    t->n_dims = (size_t) n_dims;
    t->dims = ex_alloc(e, (size_t) n_dims * sizeof *t->dims);
    if (n_dims) /* a scalar has none */
        memcpy(t->dims, dims, (size_t) n_dims * sizeof *t->dims);
    t->has_raw_data = 1, t->raw_data.len = bytes;
    t->raw_data.data = copy ? memcpy(ex_alloc(e, bytes), data, bytes) : (uint8_t *) mut(data);
    Onnx__GraphProto *g = e->g;
    g->initializer =
        grow(e, g->initializer, g->n_initializer, &e->cap_init, sizeof *g->initializer);
    g->initializer[g->n_initializer++] = t;
    return name;
}

static const char *ex_f32(ex *e, const char *name, int n_dims, const int64_t *dims, const float *v,
                          int copy)
{
    size_t n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= (size_t) dims[i];
    return ex_init(e, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, n_dims, dims, v,
                   n * sizeof(float), copy);
}

static const char *ex_i64s(ex *e, int k, const int64_t *v)
{
    int64_t d = k;
    return ex_init(e, ex_tmp(e, "const"), ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, &d, v,
                   (size_t) k * sizeof *v, 1);
}

static const char *ex_scalar(ex *e, float v)
{
    return ex_f32(e, ex_tmp(e, "const"), 0, NULL, &v, 1);
}

/* a per-channel vector (C) shaped (C, 1, 1) to broadcast over NCHW */
static const char *ex_channel(ex *e, const char *name, const float *v, int64_t c)
{
    int64_t d[3] = {c, 1, 1};
    return ex_f32(e, name, 3, d, v, 0);
}

static const char *ex_transpose(ex *e, const char *x, const int64_t *perm, int k, const char *out)
{
    attr_ints(e, ex_node(e, "Transpose", 1, &x, out), "perm", k, perm);
    return out;
}

static const int64_t to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};

/* out = act(x) */
static const char *ex_act(ex *e, xf_act act, const char *x, const char *out)
{
    switch (act) {
    case XF_ACT_NONE:
        return ex_op1(e, "Identity", x, out);
    case XF_ACT_RELU:
        return ex_op1(e, "Relu", x, out);
    case XF_ACT_RELU6: {
        const char *in[3] = {x, ex_scalar(e, 0.0f), ex_scalar(e, 6.0f)};
        ex_node(e, "Clip", 3, in, out);
        return out;
    }
    case XF_ACT_SIGMOID:
        return ex_op1(e, "Sigmoid", x, out);
    case XF_ACT_LEAKY:
        attr_f(e, ex_node(e, "LeakyRelu", 1, &x, out), "alpha", 0.01f);
        return out;
    case XF_ACT_SILU:
        return ex_op2(e, "Mul", x, ex_op1(e, "Sigmoid", x, ex_tmp(e, out)), out);
    case XF_ACT_HARDSIGMOID: {
        Onnx__NodeProto *n = ex_node(e, "HardSigmoid", 1, &x, out);
        attr_f(e, n, "alpha", 1.0f / 6.0f), attr_f(e, n, "beta", 0.5f);
        return out;
    }
    case XF_ACT_HARDSWISH:
        return ex_op1(e, "HardSwish", x, out);
    case XF_ACT_GELU: { /* x * 0.5 * (1 + erf(x / sqrt 2)) */
        const char *t = ex_op2(e, "Div", x, ex_scalar(e, (float) sqrt(2.0)), ex_tmp(e, out));
        t = ex_op2(e, "Add", ex_op1(e, "Erf", t, ex_tmp(e, out)), ex_scalar(e, 1.0f),
                   ex_tmp(e, out));
        t = ex_op2(e, "Mul", x, t, ex_tmp(e, out));
        return ex_op2(e, "Mul", t, ex_scalar(e, 0.5f), out);
    }
    default:
        return NULL;
    }
}

static void geometry(ex *e, Onnx__NodeProto *n, const xf_node *p)
{
    int64_t k[2] = {p->kh, p->kw}, s[2] = {p->sh, p->sw}, pad[4] = {p->pt, p->pl, p->pb, p->pr};
    attr_ints(e, n, "kernel_shape", 2, k);
    attr_ints(e, n, "strides", 2, s);
    attr_ints(e, n, "pads", 4, pad);
}

/* conv2d (KH, KW, Cin/G, Cout) and dwconv2d (KH, KW, C, mult) weights as ONNX's
 * (Cout, Cin/G, KH, KW) */
static const char *conv_weight(ex *e, const xf_node *p, int64_t cin)
{
    int dw = p->op == XF_OP_DWCONV2D;
    int64_t cout = dw ? cin * p->mult : p->cout, cg = dw ? 1 : cin / (p->groups ? p->groups : 1);
    int64_t kk = (int64_t) p->kh * p->kw, d[4] = {cout, cg, p->kh, p->kw};
    float *w = ex_alloc(e, (size_t) (cout * cg * kk) * sizeof(float));
    for (int64_t o = 0; o < cout; o++)
        for (int64_t i = 0; i < cg; i++)
            for (int64_t q = 0; q < kk; q++)
                w[(o * cg + i) * kk + q] = dw ? p->weight[q * cout + o] /* c * mult + m == o */
                                              : p->weight[(q * cg + i) * cout + o];
    return ex_f32(e, ex_str(e, "%s.weight", p->name), 4, d, w, 0);
}

/* one xfer node: its ONNX nodes, the output called t[i] */
static int node_to_onnx(ex *e, const xf_graph *gr, int i, const char **t)
{
    const xf_node *p = &gr->nodes[i];
    const xf_node *a = p->n_in ? &gr->nodes[p->in[0]] : NULL;
    const char *x = p->n_in ? t[p->in[0]] : NULL, *name = p->out_name;
    const char *o = p->act == XF_ACT_NONE ? name : ex_tmp(e, name);
    Onnx__NodeProto *n;
    switch (p->op) {
    case XF_OP_INPUT:
        t[i] = ex_transpose(e, "xfer:pixels:normalised", to_nchw, 4, name);
        return 1;
    case XF_OP_CONV2D:
    case XF_OP_DWCONV2D: {
        const char *in[3] = {
            x, conv_weight(e, p, a->c),
            p->bias ? ex_f32(e, ex_str(e, "%s.bias", p->name), 1, &p->c, p->bias, 0) : NULL};
        n = ex_node(e, "Conv", p->bias ? 3 : 2, in, o);
        geometry(e, n, p);
        int64_t dil[2] = {p->dil_h ? p->dil_h : 1, p->dil_w ? p->dil_w : 1};
        attr_ints(e, n, "dilations", 2, dil);
        attr_i(e, n, "group", p->op == XF_OP_DWCONV2D ? a->c : p->groups ? p->groups : 1);
        break;
    }
    case XF_OP_DENSE: { /* (Cin * H * W, Cout) on the (h, w, c) order of the input */
        const char *h = a->h * a->w > 1 ? ex_transpose(e, x, to_nhwc, 4, ex_tmp(e, name)) : x;
        const char *f = ex_tmp(e, name);
        attr_i(e, ex_node(e, "Flatten", 1, &h, f), "axis", 1);
        int64_t d[2] = {a->h * a->w * a->c, p->cout}, shape[4] = {0, p->cout, 1, 1};
        const char *in[3] = {
            f, ex_f32(e, ex_str(e, "%s.weight", p->name), 2, d, p->weight, 0),
            p->bias ? ex_f32(e, ex_str(e, "%s.bias", p->name), 1, &d[1], p->bias, 0) : NULL};
        const char *y = ex_tmp(e, name);
        ex_node(e, "Gemm", p->bias ? 3 : 2, in, y);
        ex_op2(e, "Reshape", y, ex_i64s(e, 4, shape), o);
        break;
    }
    case XF_OP_ADD:
    case XF_OP_CONCAT: {
        const char *in[XF_NODE_MAX_IN];
        for (int k = 0; k < p->n_in; k++)
            in[k] = t[p->in[k]];
        n = ex_node(e, p->op == XF_OP_ADD ? "Sum" : "Concat", p->n_in, in, o);
        if (p->op == XF_OP_CONCAT)
            attr_i(e, n, "axis", 1);
        break;
    }
    case XF_OP_MAXPOOL:
    case XF_OP_AVGPOOL:
        n = ex_node(e, p->op == XF_OP_MAXPOOL ? "MaxPool" : "AveragePool", 1, &x, o);
        geometry(e, n, p);
        if (p->op == XF_OP_AVGPOOL)
            attr_i(e, n, "count_include_pad", p->count_pad);
        break;
    case XF_OP_GAP:
        ex_op1(e, "GlobalAveragePool", x, o);
        break;
    case XF_OP_ACT:
        t[i] = ex_act(e, p->act, x, name);
        return t[i] != NULL;
    case XF_OP_SOFTMAX:
        attr_i(e, ex_node(e, "Softmax", 1, &x, o), "axis", 1);
        break;
    case XF_OP_FLATTEN: {
        int64_t shape[4] = {0, -1, 1, 1};
        ex_op2(e, "Reshape", ex_transpose(e, x, to_nhwc, 4, ex_tmp(e, name)), ex_i64s(e, 4, shape),
               o);
        break;
    }
    case XF_OP_MUL:
        ex_op2(e, "Mul", x, t[p->in[1]], o);
        break;
    case XF_OP_PRELU:
        ex_op2(e, "PRelu", x, ex_channel(e, ex_str(e, "%s.weight", p->name), p->weight, a->c), o);
        break;
    case XF_OP_AFFINE: {
        const char *s = ex_channel(e, ex_str(e, "%s.weight", p->name), p->weight, a->c);
        if (!p->bias) {
            ex_op2(e, "Mul", x, s, o);
            break;
        }
        ex_op2(e, "Add", ex_op2(e, "Mul", x, s, ex_tmp(e, name)),
               ex_channel(e, ex_str(e, "%s.bias", p->name), p->bias, a->c), o);
        break;
    }
    case XF_OP_LAYERNORM: { /* per pixel over channels: channels last for LayerNormalization */
        float *zero = p->bias ? NULL : ex_alloc(e, (size_t) a->c * sizeof(float));
        const char *in[3] = {
            ex_transpose(e, x, to_nhwc, 4, ex_tmp(e, name)),
            ex_f32(e, ex_str(e, "%s.weight", p->name), 1, &a->c, p->weight, 0),
            ex_f32(e, ex_str(e, "%s.bias", p->name), 1, &a->c, p->bias ? p->bias : zero, 0)};
        const char *y = ex_tmp(e, name);
        n = ex_node(e, "LayerNormalization", 3, in, y);
        attr_i(e, n, "axis", -1);
        attr_f(e, n, "epsilon", p->eps);
        ex_transpose(e, y, to_nchw, 4, o);
        break;
    }
    case XF_OP_SHUFFLE: { /* (N, G, C/G, H, W) -> (N, C/G, G, H, W) */
        int64_t g = p->groups, s5[5] = {0, g, a->c / g, a->h, a->w}, s4[4] = {0, a->c, a->h, a->w};
        int64_t perm[5] = {0, 2, 1, 3, 4};
        const char *y = ex_op2(e, "Reshape", x, ex_i64s(e, 5, s5), ex_tmp(e, name));
        ex_op2(e, "Reshape", ex_transpose(e, y, perm, 5, ex_tmp(e, name)), ex_i64s(e, 4, s4), o);
        break;
    }
    case XF_OP_SLICE: {
        int64_t b = p->begin, en = p->end, ax = 1;
        const char *in[4] = {x, ex_i64s(e, 1, &b), ex_i64s(e, 1, &en), ex_i64s(e, 1, &ax)};
        ex_node(e, "Slice", 4, in, o);
        break;
    }
    default:
        return 0;
    }
    t[i] = p->act == XF_ACT_NONE ? o : ex_act(e, p->act, o, name);
    return t[i] != NULL;
}

static Onnx__ValueInfoProto *value_info(ex *e, const char *name, int n, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = ex_alloc(e, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = mut(name);
    Onnx__TypeProto *tp = ex_alloc(e, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = ex_alloc(e, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1, tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    Onnx__TensorShapeProto *sh = ex_alloc(e, sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t) n;
    sh->dim = ex_alloc(e, (size_t) n * sizeof *sh->dim);
    for (int i = 0; i < n; i++) {
        Onnx__TensorShapeProto__Dimension *d = ex_alloc(e, sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] < 0)
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM,
            d->dim_param = "batch";
        else
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE,
            d->dim_value = dims[i];
        sh->dim[i] = d;
    }
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, tp->tensor_type = tt;
    v->type = tp;
    return v;
}

/* the head's features: each layer pooled (or flattened in (h, w, c) order), concatenated,
 * L2-normalised when the features were */
static const char *features(ex *e, const xf_model *m, const xf_session_opts *so, int l2norm,
                            const char **t)
{
    const char *parts[XF_MAX_LAYERS];
    for (int l = 0; l < so->n_layers; l++) {
        const char *x = t[xf_model_tensor_find(m, so->layers[l])];
        if (so->pool == XF_POOL_NONE)
            x = ex_transpose(e, x, to_nhwc, 4, ex_tmp(e, "features"));
        else
            x = ex_op1(e, so->pool == XF_POOL_AVG ? "GlobalAveragePool" : "GlobalMaxPool", x,
                       ex_tmp(e, "features"));
        parts[l] = ex_tmp(e, "features");
        attr_i(e, ex_node(e, "Flatten", 1, &x, parts[l]), "axis", 1);
    }
    const char *f = "features";
    if (so->n_layers > 1 || l2norm)
        f = ex_tmp(e, "features");
    attr_i(e, ex_node(e, "Concat", so->n_layers, parts, f), "axis", 1);
    if (l2norm) {
        Onnx__NodeProto *n = ex_node(e, "LpNormalization", 1, &f, "features");
        attr_i(e, n, "axis", 1), attr_i(e, n, "p", 2);
        f = "features";
    }
    return f;
}

/* decision and probabilities from the features, as xf__head_predict and xf__linear_proba */
static void head_to_onnx(ex *e, const xf_head *h, const char *f)
{
    if (h->l2) {
        const char *y = ex_tmp(e, "head");
        Onnx__NodeProto *n = ex_node(e, "LpNormalization", 1, &f, y);
        attr_i(e, n, "axis", 1), attr_i(e, n, "p", 2);
        f = y;
    }
    int64_t wd[2] = {h->dim, h->k}, bd[1] = {h->k};
    const char *mm =
        ex_op2(e, "MatMul", f, ex_f32(e, "head.weight", 2, wd, h->W, 0), ex_tmp(e, "head"));
    ex_op2(e, "Add", mm, ex_f32(e, "head.bias", 1, bd, h->b, 0), "decision");
    if (h->k == 2 && h->logistic && !h->platt) { /* p0 = sigmoid(dec0), p1 = 1 - p0 */
        int64_t b = 0, en = 1, ax = 1;
        const char *in[4] = {"decision", ex_i64s(e, 1, &b), ex_i64s(e, 1, &en), ex_i64s(e, 1, &ax)};
        const char *d0 = ex_tmp(e, "head");
        ex_node(e, "Slice", 4, in, d0);
        const char *p0 = ex_op1(e, "Sigmoid", d0, ex_tmp(e, "head"));
        const char *pr[2] = {p0, ex_op2(e, "Sub", ex_scalar(e, 1.0f), p0, ex_tmp(e, "head"))};
        attr_i(e, ex_node(e, "Concat", 2, pr, "probabilities"), "axis", 1);
        return;
    }
    const char *z = "decision";
    if (h->platt) { /* z = -(A dec + B) */
        float *A = ex_alloc(e, (size_t) h->k * sizeof(float)),
              *B = ex_alloc(e, (size_t) h->k * sizeof(float));
        for (int c = 0; c < h->k; c++)
            A[c] = -h->platt[2 * c], B[c] = -h->platt[2 * c + 1];
        z = ex_op2(e, "Mul", z, ex_f32(e, "head.platt_a", 1, bd, A, 0), ex_tmp(e, "head"));
        z = ex_op2(e, "Add", z, ex_f32(e, "head.platt_b", 1, bd, B, 0), ex_tmp(e, "head"));
    }
    const char *s = ex_op1(e, "Sigmoid", z, ex_tmp(e, "head"));
    int64_t ax = 1;
    const char *in[2] = {s, ex_i64s(e, 1, &ax)};
    const char *sum = ex_tmp(e, "head");
    ex_node(e, "ReduceSum", 2, in, sum);
    ex_op2(e, "Div", s, sum, "probabilities");
}

static Onnx__StringStringEntryProto *prop(ex *e, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *p = ex_alloc(e, sizeof *p);
    onnx__string_string_entry_proto__init(p);
    p->key = mut(key), p->value = mut(value);
    return p;
}

static xf_status build(ex *e, const xf_head *h, const xf_model *m, const char *out, xf_error *err)
{
    const xf_graph *gr = &m->graph;
    const xf_node *in0 = &gr->nodes[0];
    const char **t = ex_alloc(e, (size_t) gr->n_nodes * sizeof *t);
    xf_preproc pp = xf_model_preproc(m);
    xf_session_opts so = xf_session_default_opts();
    char *store[XF_MAX_LAYERS] = {0};
    int l2norm = 0, n_out = 1;
    xf_status s = XF_OK;
    if (!h->direct &&
        (s = xf__provenance_options(h->features_json, m, &pp, &so, store, &l2norm, err)))
        return s;
    for (int l = 0; l < so.n_layers; l++) { /* keep the names in the arena */
        so.layers[l] = ex_str(e, "%s", store[l]);
        free(store[l]);
    }
    /* pixels in [0, 1] -> (x - mean) / std */
    int64_t c3[1] = {3};
    ex_op2(e, "Div",
           ex_op2(e, "Sub", "pixels", ex_f32(e, "xfer:mean", 1, c3, pp.mean, 1),
                  "xfer:pixels:centred"),
           ex_f32(e, "xfer:std", 1, c3, pp.std, 1), "xfer:pixels:normalised");
    static const char *const fixed[] = {"pixels", "features", "decision", "probabilities"};
    for (int k = 0; k < 4; k++)
        if (xf_model_tensor_find(m, fixed[k]) >= 0)
            return xf__fail(err, XF_ERR_UNSUPPORTED,
                            "the backbone has a tensor named '%s', a name the ONNX file needs",
                            fixed[k]);
    /* only the nodes the outputs need: up to the feature layers for a head */
    int last = gr->n_nodes - 1;
    char *need = ex_alloc(e, (size_t) gr->n_nodes);
    need[last] = (char) h->direct;
    for (int l = 0; l < so.n_layers; l++) {
        int i = xf_model_tensor_find(m, so.layers[l]);
        if (i < 0)
            return xf__fail(err, XF_ERR_FORMAT, "the backbone has no tensor '%s'", so.layers[l]);
        need[i] = 1;
    }
    for (int i = last; i >= 0; i--)
        for (int k = 0; need[i] && k < gr->nodes[i].n_in; k++)
            need[gr->nodes[i].in[k]] = 1;
    for (int i = 0; i < gr->n_nodes; i++)
        if (need[i] && !node_to_onnx(e, gr, i, t))
            return xf__fail(err, XF_ERR_UNSUPPORTED, "node %s: no ONNX mapping", gr->nodes[i].name);
    if (h->direct) {
        attr_i(e, ex_node(e, "Flatten", 1, &t[last], "probabilities"), "axis", 1);
    } else {
        head_to_onnx(e, h, features(e, m, &so, l2norm, t));
        n_out = 3;
    }
    Onnx__GraphProto *g = e->g;
    int64_t din[4] = {-1, in0->h, in0->w, 3}, dk[2] = {-1, h->k}, dd[2] = {-1, h->dim};
    g->n_input = 1;
    g->input = ex_alloc(e, sizeof *g->input);
    g->input[0] = value_info(e, "pixels", 4, din);
    g->n_output = (size_t) n_out;
    g->output = ex_alloc(e, 3 * sizeof *g->output);
    g->output[0] = value_info(e, "probabilities", 2, dk);
    if (n_out == 3) {
        g->output[1] = value_info(e, "decision", 2, dk);
        g->output[2] = value_info(e, "features", 2, dd);
    }
    g->name = "xfer classifier";

    Onnx__ModelProto mp;
    onnx__model_proto__init(&mp);
    mp.has_ir_version = 1, mp.ir_version = 8;
    Onnx__OperatorSetIdProto *op = ex_alloc(e, sizeof *op);
    onnx__operator_set_id_proto__init(op);
    op->domain = "", op->has_version = 1, op->version = 17;
    mp.n_opset_import = 1, mp.opset_import = ex_alloc(e, sizeof *mp.opset_import);
    mp.opset_import[0] = op;
    mp.producer_name = "xfer", mp.producer_version = XF_VERSION_STRING;
    mp.doc_string = ex_str(
        e,
        "Input 'pixels': (batch, %d, %d, 3) float32 RGB in [0, 1] (8-bit value / 255), the "
        "image's shorter side resized to %d / %g (%s) and center-cropped; the graph subtracts "
        "the mean and divides by the std. Output 'probabilities': (batch, %d), the classes in "
        "the order of metadata 'classes'.",
        (int) in0->h, (int) in0->w, (int) in0->h, (double) pp.crop_pct,
        pp.interp == XF_INTERP_BICUBIC ? "bicubic" : "bilinear", h->k);
    cJSON *cls = cJSON_CreateArray();
    for (int c = 0; cls && c < h->k; c++)
        cJSON_AddItemToArray(cls, cJSON_CreateString(h->labels[c]));
    char *cls_text = cls ? cJSON_PrintUnformatted(cls) : NULL;
    cJSON_Delete(cls);
    if (!cls_text)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    const char *name = xf_model_meta_str(m, "general.name");
    mp.n_metadata_props = 0;
    mp.metadata_props = ex_alloc(e, 4 * sizeof *mp.metadata_props);
    mp.metadata_props[mp.n_metadata_props++] = prop(e, "classes", ex_str(e, "%s", cls_text));
    free(cls_text);
    mp.metadata_props[mp.n_metadata_props++] = prop(e, "backbone", name ? name : "");
    mp.metadata_props[mp.n_metadata_props++] =
        prop(e, "backbone_crc32c", ex_str(e, "%08x", xf_model_checksum(m)));
    if (!h->direct)
        mp.metadata_props[mp.n_metadata_props++] = prop(e, "features", h->features_json);
    mp.graph = g;

    size_t len = onnx__model_proto__get_packed_size(&mp);
    uint8_t *buf = ex_alloc(e, len);
    onnx__model_proto__pack(&mp, buf);
    xf_out o;
    if ((s = xf__out_open(&o, out, XF_OUT_TEMP, err)))
        return s;
    if (fwrite(buf, 1, len, o.f) != len) {
        xf__out_discard(&o, 0);
        return xf__fail(err, XF_ERR_WRITE, "%s: write failed", out);
    }
    return xf__out_commit(&o, err);
}

xf_status xfc_export_onnx(const xf_head *h, const xf_model *m, const char *out, xf_error *err)
{
    /* on the heap: nothing that changes after setjmp lives in this frame */
    ex *e = calloc(1, sizeof *e);
    Onnx__GraphProto *g = calloc(1, sizeof *g);
    xf_status s = XF_ERR_NOMEM;
    if (!e || !g)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    else if (setjmp(e->oom))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    else {
        onnx__graph_proto__init(g);
        e->g = g;
        s = build(e, h, m, out, err);
    }
    for (size_t i = 0; e && i < e->n_mem; i++)
        free(e->mem[i]);
    if (e)
        free(e->mem);
    free(e);
    free(g);
    return s;
}

int xfc_onnx_command(const xf_cli *c, xf_cli_weights *w, const char *clf, const char *out,
                     int quiet)
{
    if (!clf || !out)
        return xf_cli_usage(c, "--to-onnx: expected one CLASSIFIER.gguf and -o OUT.onnx");
    xf_error err;
    if (xf__out_check(out, &err))
        return xf_cli_fail(c, &err);
    xf_head h;
    xf_model *m;
    const char *used = NULL;
    int kind, rc = xf_cli_open_classifier(c, w, clf, 1, &h, &kind, &m, &used);
    if (rc >= 0)
        return rc;
    xf_status s = xfc_export_onnx(&h, m, out, &err);
    if (!s && !quiet)
        fprintf(stderr, "%s: wrote %s: %s classifier, %d classes, backbone %s (%s)\n", c->tool, out,
                kind == XF_CLASSIFIER_HEAD ? "a linear" : "a softmax", h.k,
                xf_model_meta_str(m, "general.name"), used);
    xf__head_free(&h);
    xf_model_free(m);
    return s ? xf_cli_fail(c, &err) : XF_EXIT_OK;
}
