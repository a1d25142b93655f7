/* test_onnx.c — malformed ONNX models, built message by message with protobuf-c and written to
 * disk: a cyclic or unsorted graph, wrong tensor types, huge or inconsistent dimensions,
 * external data, NaN weights, a second input, an unknown operator, an output produced twice,
 * bad groups, a missing kernel shape, an unsupported opset, no graph. Each must fail with its
 * status and a message naming the file (and the node where there is one); the valid base model
 * must convert. Also the activations PyTorch does not export with their general attributes
 * (LeakyRelu with another slope, HardSigmoid with other alpha/beta, Clip with any bounds):
 * converted graphs evaluated against the ONNX formulas. Run under ASan by `make asan` (no leak on
 * any path).
 */
#include "convert/convert.h"
#include "onnx.pb-c.h"
#include "t.h"

#include <math.h>
#include <string.h>

#define PATH t_path("onnx_bad.onnx")

typedef struct {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__NodeProto conv, relu, *nodes[2];
    char *conv_in[2], *conv_out[1], *relu_in[1], *relu_out[1];
    Onnx__TensorProto w, *inits[1];
    int64_t wdims[4];
    float wdata[4 * 3 * 3 * 3];
    Onnx__ValueInfoProto in, in2, out, *inputs[2], *outputs[1];
    Onnx__TypeProto in_type;
    Onnx__TypeProto__Tensor in_tensor;
    Onnx__TensorShapeProto in_shape;
    Onnx__TensorShapeProto__Dimension dims[4], *dimp[4];
} net;

/* x (1, 3, 8, 8) -> Conv 3x3 (4 out) -> Relu -> z */
static void base(net *n)
{
    memset(n, 0, sizeof *n);
    onnx__model_proto__init(&n->model);
    onnx__graph_proto__init(&n->graph);
    onnx__operator_set_id_proto__init(&n->opset);
    n->opset.has_version = 1, n->opset.version = 13;
    n->opsets[0] = &n->opset;
    n->model.n_opset_import = 1, n->model.opset_import = n->opsets;
    n->model.graph = &n->graph;
    onnx__node_proto__init(&n->conv);
    onnx__node_proto__init(&n->relu);
    n->conv_in[0] = "x", n->conv_in[1] = "w", n->conv_out[0] = "y";
    n->relu_in[0] = "y", n->relu_out[0] = "z";
    n->conv.op_type = "Conv", n->conv.name = "conv0";
    n->conv.n_input = 2, n->conv.input = n->conv_in, n->conv.n_output = 1,
    n->conv.output = n->conv_out;
    n->relu.op_type = "Relu", n->relu.name = "relu0";
    n->relu.n_input = 1, n->relu.input = n->relu_in, n->relu.n_output = 1,
    n->relu.output = n->relu_out;
    n->nodes[0] = &n->conv, n->nodes[1] = &n->relu;
    n->graph.n_node = 2, n->graph.node = n->nodes;
    onnx__tensor_proto__init(&n->w);
    n->w.name = "w";
    n->w.has_data_type = 1, n->w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    n->wdims[0] = 4, n->wdims[1] = 3, n->wdims[2] = 3, n->wdims[3] = 3;
    n->w.n_dims = 4, n->w.dims = n->wdims;
    for (int i = 0; i < 108; i++)
        n->wdata[i] = (float) ((i * 37) % 11 - 5) / 10.0f;
    n->w.n_float_data = 108, n->w.float_data = n->wdata;
    n->inits[0] = &n->w;
    n->graph.n_initializer = 1, n->graph.initializer = n->inits;
    int64_t d[4] = {1, 3, 8, 8};
    onnx__tensor_shape_proto__init(&n->in_shape);
    for (int i = 0; i < 4; i++) {
        onnx__tensor_shape_proto__dimension__init(&n->dims[i]);
        n->dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        n->dims[i].dim_value = d[i];
        n->dimp[i] = &n->dims[i];
    }
    n->in_shape.n_dim = 4, n->in_shape.dim = n->dimp;
    onnx__type_proto__tensor__init(&n->in_tensor);
    n->in_tensor.has_elem_type = 1, n->in_tensor.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    n->in_tensor.shape = &n->in_shape;
    onnx__type_proto__init(&n->in_type);
    n->in_type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
    n->in_type.tensor_type = &n->in_tensor;
    onnx__value_info_proto__init(&n->in);
    n->in.name = "x", n->in.type = &n->in_type;
    onnx__value_info_proto__init(&n->in2);
    n->in2.name = "x2", n->in2.type = &n->in_type;
    onnx__value_info_proto__init(&n->out);
    n->out.name = "z";
    n->inputs[0] = &n->in, n->inputs[1] = &n->in2, n->outputs[0] = &n->out;
    n->graph.n_input = 1, n->graph.input = n->inputs;
    n->graph.n_output = 1, n->graph.output = n->outputs;
}

static void write_model(const net *n)
{
    size_t len = onnx__model_proto__get_packed_size(&n->model);
    uint8_t *buf = malloc(len + 1);
    onnx__model_proto__pack(&n->model, buf);
    FILE *f = fopen(PATH, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
}

/* writes n, converts it; returns the status, msg gets the message */
static xf_status convert(const net *n, char *msg, size_t size)
{
    write_model(n);
    xf_gbuild g;
    xf_error err;
    char feature[256];
    xf_status s = xf__gb_init(&g, &err);
    if (!s)
        s = xfc_from_onnx(PATH, 0, 0, &g, feature, sizeof feature, &err);
    snprintf(msg, size, "%s", s ? err.msg : "");
    xf__gb_free(&g);
    return s;
}

static void expect(const char *what, const net *n, xf_status want, const char *phrase)
{
    char msg[512];
    xf_status s = convert(n, msg, sizeof msg);
    printf("%-34s %-20s %s\n", what, xf_status_name(s), msg);
    T_CHECKF(s == want && strstr(msg, PATH) && strstr(msg, phrase), "%s: got %s '%s', want %s '%s'",
             what, xf_status_name(s), msg, xf_status_name(want), phrase);
}

/* x -> op0 -> op1 -> z (activation nodes with float attributes), converted and evaluated node
 * by node; returns the worst absolute difference to ref(x). */
static double chain(char *op0, Onnx__AttributeProto **a0, int n0, char *op1,
                    Onnx__AttributeProto **a1, int n1, double (*ref)(double))
{
    net n;
    base(&n);
    n.conv.op_type = op0, n.conv.n_input = 1, n.conv.n_attribute = (size_t) n0,
    n.conv.attribute = a0;
    n.relu.op_type = op1, n.relu.n_attribute = (size_t) n1, n.relu.attribute = a1;
    n.graph.n_initializer = 0;
    n.opset.version = 10; /* Clip bounds as attributes */
    write_model(&n);
    xf_gbuild g;
    xf_error err;
    char feature[256];
    double worst = 1e30;
    if (xf__gb_init(&g, &err) != XF_OK)
        return worst;
    xf_status s = xfc_from_onnx(PATH, 0, 0, &g, feature, sizeof feature, &err);
    T_CHECKF(s == XF_OK, "%s + %s convert: %s", op0, op1, s ? err.msg : "");
    if (s == XF_OK && g.g.n_nodes <= 16) {
        int nn = g.g.n_nodes;
        float *bufs[16] = {0};
        for (int i = 0; i < nn; i++) {
            xf_node *nd = &g.g.nodes[i];
            nd->weight = g.w[i], nd->bias = g.b[i];
            bufs[i] = calloc((size_t) (nd->h * nd->w * nd->c), sizeof(float));
        }
        for (int i = 0; i < 3 * 8 * 8; i++)
            bufs[0][i] = (float) (i % 97) / 8.0f - 6.0f;
        for (int i = 1; i < nn; i++)
            xf__node_forward(&g.g, i, bufs, 1, NULL);
        worst = 0;
        for (int i = 0; i < 3 * 8 * 8; i++)
            worst = fmax(worst, fabs((double) bufs[nn - 1][i] - ref((double) bufs[0][i])));
        printf("%s + %s: %d nodes, worst error %.2e\n", op0, op1, nn, worst);
        for (int i = 0; i < nn; i++)
            free(bufs[i]);
    }
    xf__gb_free(&g);
    return worst;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}
static double ref_leaky_hsig(double v)
{
    return clampd(0.2 * (v > 0 ? v : 0.1 * v) + 0.4, 0, 1);
}
static double ref_clips(double v)
{
    return fmax(clampd(v, -1, 2), 0.5);
}
static double ref_max_leaky(double v)
{
    v = fmin(v, 1.5);
    return v > 0 ? v : 0.3 * v;
}

/* the activations PyTorch does not export with their general attributes */
static void general_activations(void)
{
    Onnx__AttributeProto la = ONNX__ATTRIBUTE_PROTO__INIT, ha = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto hb = ONNX__ATTRIBUTE_PROTO__INIT, *lat[1] = {&la}, *hat[2] = {&ha, &hb};
    la.name = "alpha", la.has_f = 1, la.f = 0.1f;
    ha.name = "alpha", ha.has_f = 1, ha.f = 0.2f;
    hb.name = "beta", hb.has_f = 1, hb.f = 0.4f;
    T_CHECK(chain("LeakyRelu", lat, 1, "HardSigmoid", hat, 2, ref_leaky_hsig) < 1e-6);
    Onnx__AttributeProto lo = ONNX__ATTRIBUTE_PROTO__INIT, hi = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto lo2 = ONNX__ATTRIBUTE_PROTO__INIT, *c1[2] = {&lo, &hi}, *c2[1] = {&lo2};
    lo.name = "min", lo.has_f = 1, lo.f = -1;
    hi.name = "max", hi.has_f = 1, hi.f = 2;
    lo2.name = "min", lo2.has_f = 1, lo2.f = 0.5f;
    T_CHECK(chain("Clip", c1, 2, "Clip", c2, 1, ref_clips) < 1e-6);
    Onnx__AttributeProto hi3 = ONNX__ATTRIBUTE_PROTO__INIT, l3 = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto *c3[1] = {&hi3}, *l3a[1] = {&l3};
    hi3.name = "max", hi3.has_f = 1, hi3.f = 1.5f;
    l3.name = "alpha", l3.has_f = 1, l3.f = 0.3f;
    T_CHECK(chain("Clip", c3, 1, "LeakyRelu", l3a, 1, ref_max_leaky) < 1e-6);
}

int main(void)
{
    general_activations();
    net n;
    char msg[512];
    base(&n);
    T_CHECKF(convert(&n, msg, sizeof msg) == XF_OK, "the base model converts: %s", msg);

    base(&n);
    n.conv_in[0] = "z"; /* reads the output of a later node: a cycle */
    expect("cyclic graph", &n, XF_ERR_FORMAT, "not produced by an earlier node");
    base(&n);
    n.nodes[0] = &n.relu, n.nodes[1] = &n.conv; /* unsorted */
    expect("unsorted nodes", &n, XF_ERR_FORMAT, "relu0");
    base(&n);
    int64_t ints[108] = {0};
    n.w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    n.w.n_float_data = 0, n.w.n_int64_data = 108, n.w.int64_data = ints;
    expect("integer weights", &n, XF_ERR_UNSUPPORTED, "conv0");
    base(&n);
    n.w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__STRING;
    expect("string tensor", &n, XF_ERR_UNSUPPORTED, "data type 8");
    base(&n);
    n.wdims[0] = (int64_t) 1 << 40;
    expect("huge dimensions", &n, XF_ERR_BOUNDS, "huge");
    base(&n);
    n.wdims[0] = -4;
    expect("negative dimension", &n, XF_ERR_BOUNDS, "'w'");
    base(&n);
    n.w.n_float_data = 10;
    expect("too few values", &n, XF_ERR_FORMAT, "10 values for 108");
    base(&n);
    n.w.has_data_location = 1, n.w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    expect("external data", &n, XF_ERR_UNSUPPORTED, "external file");
    base(&n);
    n.wdata[5] = NAN;
    expect("NaN weight", &n, XF_ERR_VALUE, "NaN");
    base(&n);
    n.graph.n_input = 2;
    expect("two image inputs", &n, XF_ERR_UNSUPPORTED, "more than one graph input");
    base(&n);
    n.dims[1].dim_value = 1;
    expect("grey input", &n, XF_ERR_UNSUPPORTED, "1 channels");
    base(&n);
    n.dims[2].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    n.dims[2].dim_param = "height";
    expect("symbolic height, no --size", &n, XF_ERR_ARG, "--size");
    base(&n);
    n.relu.op_type = "FancyRelu";
    expect("unknown operator", &n, XF_ERR_UNSUPPORTED, "node 'relu0' (FancyRelu)");
    base(&n);
    n.relu_out[0] = "y"; /* y produced twice */
    n.out.name = "y";
    expect("output produced twice", &n, XF_ERR_FORMAT, "produced twice");
    base(&n);
    Onnx__AttributeProto group = ONNX__ATTRIBUTE_PROTO__INIT, *attrs[1] = {&group};
    group.name = "group", group.has_i = 1, group.i = 2;
    n.conv.n_attribute = 1, n.conv.attribute = attrs;
    expect("groups not dividing channels", &n, XF_ERR_SHAPE, "groups");
    base(&n);
    n.relu.op_type = "MaxPool";
    expect("MaxPool without kernel_shape", &n, XF_ERR_UNSUPPORTED, "kernel_shape");
    base(&n);
    n.opset.version = 3;
    expect("opset 3", &n, XF_ERR_UNSUPPORTED, "opset 3");
    base(&n);
    n.relu.op_type = NULL;
    expect("node without operator", &n, XF_ERR_FORMAT, "no operator type");
    base(&n);
    n.model.graph = NULL;
    expect("no graph", &n, XF_ERR_FORMAT, "no graph");
    base(&n);
    n.out.name = "nowhere";
    expect("output not computed", &n, XF_ERR_FORMAT, "not computed from the input");
    { /* D8: a file of a few hundred bytes asking folding for 4000 x 4000 floats twice and
       * more (each 61 MiB, the largest one constant may be) */
        base(&n);
        Onnx__NodeProto cos, fold, add, *nodes[4] = {&n.conv, &cos, &fold, &add};
        char *cos_in[1] = {"shp"}, *cos_out[1] = {"big"}, *fold_in[2] = {"big", "big"},
             *fold_out[1] = {"big2"}, *add_in[2] = {"y", "big2"}, *add_out[1] = {"z"};
        onnx__node_proto__init(&cos), onnx__node_proto__init(&fold), onnx__node_proto__init(&add);
        cos.op_type = "ConstantOfShape", cos.name = "cos0", cos.n_input = 1, cos.input = cos_in;
        cos.n_output = 1, cos.output = cos_out;
        fold.op_type = "Mul", fold.name = "mul0", fold.n_input = 2, fold.input = fold_in;
        fold.n_output = 1, fold.output = fold_out;
        add.op_type = "Add", add.name = "add0", add.n_input = 2, add.input = add_in;
        add.n_output = 1, add.output = add_out;
        Onnx__TensorProto shp, *inits[2] = {&n.w, &shp};
        int64_t sdims[1] = {2}, sval[2] = {4000, 4000};
        onnx__tensor_proto__init(&shp);
        shp.name = "shp", shp.has_data_type = 1,
        shp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        shp.n_dims = 1, shp.dims = sdims, shp.n_int64_data = 2, shp.int64_data = sval;
        n.graph.n_node = 4, n.graph.node = nodes;
        n.graph.n_initializer = 2, n.graph.initializer = inits;
        expect("folding a huge constant", &n, XF_ERR_BOUNDS, "folding would make");
    }
    remove(PATH);
    return t_done();
}
