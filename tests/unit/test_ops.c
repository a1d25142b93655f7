/* test_ops.c — differential tests: every optimised kernel against its naive reference on random
 * shapes (odd sizes, stride 2, asymmetric padding, 1x1, rectangular kernels, depthwise with
 * multiplier), plus pooling, softmax and GAP against direct formulas.
 * It is: kernel-level checks with tolerance 1e-4 relative. It is not: a whole-network test.
 */
#include "t.h"
#include "xf_internal.h"

#include <float.h>
#include <string.h>

static uint32_t rng = 12345;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return (float) (rng & 0xffffff) / (float) 0x1000000 * 2.0f - 1.0f;
}

static float *rand_buf(size_t n)
{
    float *p = malloc(n * sizeof(float) + 64);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double m = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double) b[i]));
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double) a[i] - (double) b[i]) / scale);
    return m;
}

static int conv_groups = 1, conv_dil = 1; /* for the next conv_case */

static void conv_case(int n, int ih, int iw, int cin, int cout, int kh, int kw, int sh, int sw,
                      int pt, int pb, int pl, int pr, xf_act act, int depthwise, int mult)
{
    xf_graph g;
    memset(&g, 0, sizeof g);
    xf_node nodes[2];
    memset(nodes, 0, sizeof nodes);
    nodes[0].op = XF_OP_INPUT, nodes[0].h = ih, nodes[0].w = iw, nodes[0].c = cin;
    xf_node *nd = &nodes[1];
    nd->op = depthwise ? XF_OP_DWCONV2D : XF_OP_CONV2D;
    nd->kh = kh, nd->kw = kw, nd->sh = sh, nd->sw = sw;
    nd->pt = pt, nd->pb = pb, nd->pl = pl, nd->pr = pr;
    nd->cout = cout, nd->mult = mult, nd->act = act, nd->n_in = 1, nd->in[0] = 0;
    nd->groups = conv_groups, nd->dil_h = nd->dil_w = conv_dil;
    g.nodes = nodes;
    g.n_nodes = 2;
    xf_error err;
    T_CHECK(xf__node_infer(&g, nd, &err) == XF_OK);
    int64_t oc = depthwise ? (int64_t) cin * mult : cout;
    size_t wn = (size_t) kh * kw * (cin / conv_groups) * (depthwise ? mult : cout);
    float *w = rand_buf(wn), *b = rand_buf((size_t) oc), *x = rand_buf((size_t) n * ih * iw * cin);
    nd->weight = w;
    nd->bias = b;
    size_t yn = (size_t) n * nd->h * nd->w * oc;
    float *y = malloc(yn * sizeof(float)), *yr = malloc(yn * sizeof(float));
    if (depthwise) {
        xf__dwconv2d(nd, x, n, ih, iw, cin, y);
        xf__dwconv2d_ref(nd, x, n, ih, iw, cin, yr);
    } else {
        float *scratch = malloc(xf__conv2d_scratch(nd, ih, iw, cin) * sizeof(float) + 64);
        xf__conv2d(nd, x, n, ih, iw, cin, y, scratch);
        xf__conv2d_ref(nd, x, n, ih, iw, cin, yr);
        free(scratch);
    }
    double d = max_rel(y, yr, yn);
    T_CHECKF(d < 1e-4, "%s n=%d %dx%dx%d k=%dx%d s=%dx%d pad=%d,%d,%d,%d act=%s: max rel diff %.3e",
             depthwise ? "dwconv" : "conv", n, ih, iw, cin, kh, kw, sh, sw, pt, pb, pl, pr,
             xf__act_name(act), d);
    free(w), free(b), free(x), free(y), free(yr);
}

static void test_conv(void)
{
    conv_case(2, 7, 5, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, XF_ACT_NONE, 0, 1);
    conv_case(1, 9, 9, 8, 16, 1, 1, 1, 1, 0, 0, 0, 0, XF_ACT_RELU6, 0, 1); /* pointwise GEMM */
    conv_case(3, 11, 13, 5, 7, 3, 3, 2, 2, 0, 1, 0, 1, XF_ACT_RELU, 0, 1); /* Keras pad+valid */
    conv_case(1, 8, 8, 4, 6, 1, 1, 2, 2, 0, 0, 0, 0, XF_ACT_NONE, 0, 1);   /* strided 1x1 */
    conv_case(2, 10, 6, 3, 5, 1, 7, 1, 1, 0, 0, 3, 3, XF_ACT_RELU, 0, 1);  /* 1x7 */
    conv_case(2, 10, 6, 3, 5, 7, 1, 1, 1, 3, 3, 0, 0, XF_ACT_SIGMOID, 0, 1);
    conv_case(1, 15, 15, 3, 32, 3, 3, 2, 2, 0, 0, 0, 0, XF_ACT_NONE, 0, 1);
    conv_case(1, 6, 6, 2, 3, 5, 5, 1, 1, 2, 2, 2, 2, XF_ACT_NONE, 0, 1);
    conv_case(1, 40, 40, 64, 8, 3, 3, 1, 1, 1, 1, 1, 1, XF_ACT_NONE, 0, 1); /* several chunks */
    conv_groups = 4; /* grouped (RegNet, ResNeXt), then grouped + dilated */
    conv_case(2, 9, 7, 8, 12, 3, 3, 1, 1, 1, 1, 1, 1, XF_ACT_RELU, 0, 1);
    conv_case(1, 40, 40, 64, 16, 3, 3, 2, 2, 1, 1, 1, 1, XF_ACT_SILU, 0, 1);
    conv_dil = 2;
    conv_case(2, 11, 9, 8, 4, 3, 3, 1, 1, 2, 2, 2, 2, XF_ACT_GELU, 0, 1);
    conv_groups = 1;
    conv_case(1, 12, 12, 5, 6, 3, 3, 2, 2, 2, 2, 2, 2, XF_ACT_HARDSWISH, 0, 1);
    conv_dil = 1;
    for (int i = 0; i < 20; i++) { /* random shapes */
        int k = 1 + (int) (rng % 4), s = 1 + (int) ((rng >> 4) % 2);
        int ih = k + (int) ((rng >> 8) % 9), iw = k + (int) ((rng >> 12) % 9);
        int p = (int) ((rng >> 16) % (unsigned) k);
        conv_case(1 + (int) ((rng >> 3) % 3), ih, iw, 1 + (int) ((rng >> 5) % 9),
                  1 + (int) ((rng >> 7) % 9), k, k, s, s, p, p, p, p, (xf_act) ((rng >> 9) % 3), 0,
                  1);
        frand();
    }
}

static void test_dwconv(void)
{
    conv_case(2, 7, 9, 5, 0, 3, 3, 1, 1, 1, 1, 1, 1, XF_ACT_RELU6, 1, 1);
    conv_case(1, 12, 12, 16, 0, 3, 3, 2, 2, 0, 1, 0, 1, XF_ACT_RELU6, 1, 1);
    conv_case(1, 5, 5, 3, 0, 3, 3, 1, 1, 1, 1, 1, 1, XF_ACT_NONE, 1, 2); /* multiplier 2 */
    conv_case(1, 6, 4, 7, 0, 1, 1, 1, 1, 0, 0, 0, 0, XF_ACT_NONE, 1, 1); /* per-channel affine */
    conv_case(2, 9, 9, 33, 0, 5, 5, 2, 2, 2, 2, 2, 2, XF_ACT_RELU, 1, 1);
}

static void test_dense(void)
{
    xf_node nd;
    memset(&nd, 0, sizeof nd);
    nd.op = XF_OP_DENSE, nd.cout = 13, nd.act = XF_ACT_RELU;
    float *w = rand_buf(37 * 13), *b = rand_buf(13), *x = rand_buf(5 * 37);
    nd.weight = w, nd.bias = b;
    float y[5 * 13], yr[5 * 13];
    xf__dense(&nd, x, 5, 37, y);
    xf__dense_ref(&nd, x, 5, 37, yr);
    T_CHECKF(max_rel(y, yr, 65) < 1e-5, "dense diff %.3e", max_rel(y, yr, 65));
    free(w), free(b), free(x);
}

static void test_pool(void)
{
    /* avg pool 'same' 3x3 s1 on 4x4: corner divides by 4 (padded cells excluded) */
    xf_node nd;
    memset(&nd, 0, sizeof nd);
    nd.op = XF_OP_AVGPOOL, nd.kh = nd.kw = 3, nd.sh = nd.sw = 1, nd.pt = nd.pb = nd.pl = nd.pr = 1;
    nd.h = nd.w = 4;
    float x[16], y[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float) i;
    xf__pool2d(&nd, x, 1, 4, 4, 1, y);
    T_NEAR(y[0], (0 + 1 + 4 + 5) / 4.0, 1e-6, 0);
    T_NEAR(y[5], (0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10) / 9.0, 1e-6, 0);
    nd.count_pad = 1;
    xf__pool2d(&nd, x, 1, 4, 4, 1, y);
    T_NEAR(y[0], (0 + 1 + 4 + 5) / 9.0, 1e-6, 0);
    /* max pool 3x3 s2 valid on 5x5 with negatives: padding never wins */
    nd.op = XF_OP_MAXPOOL, nd.count_pad = 0, nd.sh = nd.sw = 2;
    nd.pt = nd.pb = nd.pl = nd.pr = 1, nd.h = nd.w = 2;
    for (int i = 0; i < 16; i++)
        x[i] = -100.0f - (float) i;
    xf__pool2d(&nd, x, 1, 4, 4, 1, y);
    T_NEAR(y[0], -100.0, 0, 0);
    /* GAP and softmax */
    float g[6] = {1, 2, 3, 5, 7, 11}, gy[3];
    xf__gap(g, 1, 2, 3, gy);
    T_NEAR(gy[0], 3.0, 1e-6, 0);
    T_NEAR(gy[2], 7.0, 1e-6, 0);
    float s[3] = {1000, 1001, 1002}, sy[3];
    xf__softmax(s, 1, 3, sy);
    T_NEAR(sy[0] + sy[1] + sy[2], 1.0, 1e-6, 0);
    T_NEAR(sy[2], exp(2) / (1 + exp(1) + exp(2)), 1e-6, 0);
}

/* the inlined exp/erf polynomials of op_act.c against double-precision libm on a dense grid:
 * error below 2e-6 */
static void test_act_accuracy(void)
{
    static const xf_act acts[] = {XF_ACT_SIGMOID, XF_ACT_SILU, XF_ACT_GELU, XF_ACT_HARDSWISH};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        double worst = 0;
        for (int i = -200000; i <= 200000; i++) {
            float x = (float) i * 5e-4f * (i % 7 == 0 ? 20.0f : 1.0f); /* [-100, 100] + dense near 0 */
            float y = x;
            xf__act_apply(&y, 1, acts[a]);
            double d = x, r;
            if (acts[a] == XF_ACT_SIGMOID)
                r = 1 / (1 + exp(-d));
            else if (acts[a] == XF_ACT_SILU)
                r = d / (1 + exp(-d));
            else if (acts[a] == XF_ACT_GELU)
                r = 0.5 * d * (1 + erf(d / sqrt(2.0)));
            else
                r = d * fmin(fmax(d + 3, 0), 6) / 6;
            /* relative (absolute near 0); GELU absolute below 1: A&S 7.1.26 bounds erf's
             * absolute error (1.5e-7), not the relative error of the tiny negative tail */
            double e = fabs((double) y - r) / fmax(fabs(r), acts[a] == XF_ACT_GELU ? 1.0 : 1e-3);
            worst = fmax(worst, e);
        }
        printf("act %-12s worst error vs libm (double) %.2e\n", xf__act_name(acts[a]), worst);
        T_CHECKF(worst < 2e-6, "act %s: worst error %.3e", xf__act_name(acts[a]), worst);
    }
}

int main(void)
{
    test_act_accuracy();
    test_conv();
    test_dwconv();
    test_dense();
    test_pool();
    return t_done();
}
