/* test_backward.c — every backward kernel against central finite differences of
 * L = sum(g * forward(x)) for a random g: input gradients and parameter gradients of conv2d
 * (3x3, strided and padded, 1x1, 1x7), depthwise conv (multiplier 1 and 2), dense, average and
 * max pooling, global average pooling, activations (from the output where invertible, from the
 * input for all), grouped and dilated conv, the gating multiply (same shape and broadcast),
 * PReLU, layer norm, per-channel affine, channel shuffle and slice, and softmax cross-entropy with
 * label smoothing. Relative L2 error below 1e-3 in float32. The groundwork of fine-tuning.
 */
#include "ops.h"
#include "t.h"

#include <string.h>

static uint32_t rng = 777;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    return (float) (rng & 0xffffff) / (float) 0x1000000 * 2.0f - 1.0f;
}
static float *rnd(size_t n)
{
    float *p = malloc(n * sizeof(float) + 64);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

typedef struct {
    xf_node nd;
    int n;
    int64_t ih, iw, cin;
    float *x, *w, *b, *y, *g;
    size_t nx, nw, nb, ny;
} op_case;

static void forward(op_case *c)
{
    xf_node *nd = &c->nd;
    nd->weight = c->w;
    nd->bias = c->b;
    switch (nd->op) {
    case XF_OP_CONV2D: {
        float *s = malloc((xf__conv2d_scratch(nd, c->ih, c->iw, c->cin) + 16) * sizeof(float));
        xf__conv2d(nd, c->x, c->n, c->ih, c->iw, c->cin, c->y, s);
        free(s);
        break;
    }
    case XF_OP_DWCONV2D:
        xf__dwconv2d_ref(nd, c->x, c->n, c->ih, c->iw, c->cin, c->y);
        break;
    case XF_OP_DENSE:
        xf__dense(nd, c->x, c->n, c->cin, c->y);
        break;
    case XF_OP_AVGPOOL:
    case XF_OP_MAXPOOL:
        xf__pool2d(nd, c->x, c->n, c->ih, c->iw, c->cin, c->y);
        break;
    case XF_OP_GAP:
        xf__gap(c->x, c->n, c->ih * c->iw, c->cin, c->y);
        break;
    case XF_OP_MUL: /* the second input plays the weight */
        xf__mul(c->x, c->w, c->n, c->ih * c->iw, c->cin, c->nw == (size_t) (c->n * c->cin), c->y);
        break;
    case XF_OP_PRELU:
        xf__prelu(c->x, c->n * c->ih * c->iw, c->cin, c->w, c->y);
        break;
    case XF_OP_LAYERNORM:
        xf__layernorm(nd, c->x, c->n * c->ih * c->iw, c->cin, c->y);
        break;
    case XF_OP_AFFINE:
        xf__affine(nd, c->x, c->n * c->ih * c->iw, c->cin, c->y);
        break;
    case XF_OP_SHUFFLE:
        xf__shuffle(c->x, c->n * c->ih * c->iw, c->cin, nd->groups, c->y);
        break;
    case XF_OP_SLICE:
        xf__slice(c->x, c->n * c->ih * c->iw, c->cin, nd->begin, nd->end, c->y);
        break;
    default:
        break;
    }
}

static double loss(op_case *c)
{
    forward(c);
    double l = 0;
    for (size_t i = 0; i < c->ny; i++)
        l += (double) c->g[i] * (double) c->y[i];
    return l;
}

/* relative L2 distance between analytic a and numeric d/dp of loss over p[0..n) */
static double check(op_case *c, float *p, size_t n, const float *a, float eps)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = keep + eps;
        double lp = loss(c);
        p[i] = keep - eps;
        double lm = loss(c);
        p[i] = keep;
        double fd = (lp - lm) / (2.0 * (double) eps);
        num += (fd - (double) a[i]) * (fd - (double) a[i]);
        den += fd * fd;
    }
    return sqrt(num) / (sqrt(den) + 1e-12);
}

static void run_case(const char *name, op_case *c, float eps)
{
    xf_error err;
    xf_graph g;
    xf_node in;
    memset(&in, 0, sizeof in);
    in.op = XF_OP_INPUT, in.h = c->ih, in.w = c->iw, in.c = c->cin;
    xf_node nodes[2] = {in, c->nd};
    nodes[1].in[0] = 0, nodes[1].n_in = 1;
    g.nodes = nodes, g.n_nodes = 2;
    if (c->nd.op != XF_OP_DENSE && c->nd.op != XF_OP_GAP && c->nd.op != XF_OP_MUL) {
        T_CHECK(xf__node_infer(&g, &nodes[1], &err) == XF_OK);
        c->nd.h = nodes[1].h, c->nd.w = nodes[1].w, c->nd.c = nodes[1].c;
        c->nd.groups = nodes[1].groups, c->nd.dil_h = nodes[1].dil_h, c->nd.dil_w = nodes[1].dil_w;
    }
    c->nx = (size_t) c->n * (size_t) (c->ih * c->iw * c->cin);
    c->ny = (size_t) c->n * (size_t) (c->nd.h * c->nd.w * c->nd.c);
    c->x = rnd(c->nx), c->g = rnd(c->ny), c->y = malloc(c->ny * sizeof(float) + 64);
    c->w = c->nw ? rnd(c->nw) : NULL, c->b = c->nb ? rnd(c->nb) : NULL;
    forward(c);
    float *dx = calloc(c->nx, sizeof(float)), *dw = calloc(c->nw + 1, sizeof(float));
    float *db = calloc(c->nb + 1, sizeof(float));
    xf_node *nd = &c->nd;
    switch (nd->op) {
    case XF_OP_CONV2D: {
        float *s = malloc((2 * xf__conv2d_scratch(nd, c->ih, c->iw, c->cin) + 16) * sizeof(float));
        xf__conv2d_backward(nd, c->x, c->n, c->ih, c->iw, c->cin, c->g, dx, dw, db, s);
        free(s);
        break;
    }
    case XF_OP_DWCONV2D:
        xf__dwconv2d_backward(nd, c->x, c->n, c->ih, c->iw, c->cin, c->g, dx, dw, db);
        break;
    case XF_OP_DENSE:
        xf__dense_backward(nd, c->x, c->n, c->cin, c->g, dx, dw, db);
        break;
    case XF_OP_AVGPOOL:
    case XF_OP_MAXPOOL:
        xf__pool2d_backward(nd, c->x, c->n, c->ih, c->iw, c->cin, c->g, dx);
        break;
    case XF_OP_GAP:
        xf__gap_backward(c->g, c->n, c->ih * c->iw, c->cin, dx);
        break;
    case XF_OP_MUL:
        xf__mul_backward(c->x, c->w, c->n, c->ih * c->iw, c->cin, c->nw == (size_t) (c->n * c->cin),
                         c->g, dx, dw);
        break;
    case XF_OP_PRELU:
        xf__prelu_backward(c->x, c->n * c->ih * c->iw, c->cin, c->w, c->g, dx, dw);
        break;
    case XF_OP_LAYERNORM:
        xf__layernorm_backward(nd, c->x, c->n * c->ih * c->iw, c->cin, c->g, dx, dw, db);
        break;
    case XF_OP_AFFINE:
        xf__affine_backward(nd, c->x, c->n * c->ih * c->iw, c->cin, c->g, dx, dw, db);
        break;
    case XF_OP_SHUFFLE:
        xf__shuffle_backward(c->g, c->n * c->ih * c->iw, c->cin, nd->groups, dx);
        break;
    case XF_OP_SLICE:
        xf__slice_backward(c->g, c->n * c->ih * c->iw, c->cin, nd->begin, nd->end, dx);
        break;
    default:
        break;
    }
    double ex = check(c, c->x, c->nx, dx, eps);
    double ew = c->nw ? check(c, c->w, c->nw, dw, eps) : 0;
    double eb = c->nb ? check(c, c->b, c->nb, db, eps) : 0;
    printf("%-34s dx %.2e  dw %.2e  db %.2e\n", name, ex, ew, eb);
    T_CHECKF(ex < 1e-3 && ew < 1e-3 && eb < 1e-3, "%s: dx %.3e dw %.3e db %.3e", name, ex, ew, eb);
    free(c->x), free(c->g), free(c->y), free(c->w), free(c->b), free(dx), free(dw), free(db);
}

static op_case conv(int n, int ih, int iw, int cin, int cout, int kh, int kw, int s, int pt, int pb,
                    int pl, int pr, int depthwise, int mult)
{
    op_case c;
    memset(&c, 0, sizeof c);
    c.nd.op = depthwise ? XF_OP_DWCONV2D : XF_OP_CONV2D;
    c.nd.kh = kh, c.nd.kw = kw, c.nd.sh = c.nd.sw = s;
    c.nd.pt = pt, c.nd.pb = pb, c.nd.pl = pl, c.nd.pr = pr;
    c.nd.cout = cout, c.nd.mult = mult;
    c.n = n, c.ih = ih, c.iw = iw, c.cin = cin;
    c.nw = (size_t) kh * kw * cin * (depthwise ? mult : cout);
    c.nb = depthwise ? (size_t) cin * mult : (size_t) cout;
    return c;
}

int main(void)
{
    /* linear in x, w and b: central differences are exact, a large step avoids rounding noise */
    op_case c = conv(2, 7, 6, 3, 4, 3, 3, 1, 1, 1, 1, 1, 0, 1);
    run_case("conv 3x3 same", &c, 0.25f);
    c = conv(1, 9, 8, 5, 6, 3, 3, 2, 0, 1, 0, 1, 0, 1);
    run_case("conv 3x3 stride 2 (Keras pad)", &c, 0.25f);
    c = conv(2, 5, 5, 8, 7, 1, 1, 1, 0, 0, 0, 0, 0, 1);
    run_case("conv 1x1 (GEMM path)", &c, 0.25f);
    c = conv(1, 6, 9, 4, 3, 1, 7, 1, 0, 0, 3, 3, 0, 1);
    run_case("conv 1x7", &c, 0.25f);
    c = conv(2, 7, 7, 6, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    run_case("depthwise 3x3", &c, 0.25f);
    c = conv(1, 8, 8, 3, 0, 3, 3, 2, 0, 1, 0, 1, 1, 2);
    run_case("depthwise 3x3 stride 2, mult 2", &c, 0.25f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_DENSE, c.nd.cout = 5, c.nd.h = c.nd.w = 1, c.nd.c = 5;
    c.n = 3, c.ih = c.iw = 1, c.cin = 11, c.nw = 55, c.nb = 5;
    run_case("dense", &c, 0.25f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_AVGPOOL, c.nd.kh = c.nd.kw = 3, c.nd.sh = c.nd.sw = 1;
    c.nd.pt = c.nd.pb = c.nd.pl = c.nd.pr = 1;
    c.n = 2, c.ih = 5, c.iw = 4, c.cin = 3;
    run_case("avg pool 3x3 same (pad excluded)", &c, 0.25f);
    c.nd.count_pad = 1;
    run_case("avg pool 3x3 same (pad counted)", &c, 0.25f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_MAXPOOL, c.nd.kh = c.nd.kw = 3, c.nd.sh = c.nd.sw = 2;
    c.n = 1, c.ih = 7, c.iw = 7, c.cin = 2;
    run_case("max pool 3x3 stride 2", &c, 1e-3f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_GAP, c.nd.h = c.nd.w = 1, c.nd.c = 4;
    c.n = 2, c.ih = 3, c.iw = 5, c.cin = 4;
    run_case("global average pool", &c, 0.25f);

    c = conv(2, 7, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 0, 1);
    c.nd.groups = 2, c.nw /= 2;
    run_case("conv 3x3 groups 2", &c, 0.25f);
    c = conv(1, 9, 9, 4, 8, 3, 3, 2, 2, 2, 2, 2, 0, 1);
    c.nd.groups = 4, c.nd.dil_h = c.nd.dil_w = 2, c.nw /= 4;
    run_case("conv 3x3 groups 4 dilation 2", &c, 0.25f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_MUL, c.nd.h = 3, c.nd.w = 4, c.nd.c = 5;
    c.n = 2, c.ih = 3, c.iw = 4, c.cin = 5, c.nw = 2 * 5;
    run_case("mul, (1,1,C) gate", &c, 0.25f);
    c.nw = 2 * 3 * 4 * 5;
    run_case("mul, same shape", &c, 0.25f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_PRELU;
    c.n = 2, c.ih = 3, c.iw = 3, c.cin = 4, c.nw = 4;
    run_case("prelu", &c, 1e-4f); /* small step: few inputs straddle the kink at 0 */
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_LAYERNORM, c.nd.eps = 1e-6f;
    c.n = 2, c.ih = 2, c.iw = 3, c.cin = 7, c.nw = 7, c.nb = 7;
    run_case("layer norm over channels", &c, 1e-2f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_AFFINE;
    c.n = 2, c.ih = 3, c.iw = 2, c.cin = 5, c.nw = 5, c.nb = 5;
    run_case("affine (unfolded batch norm)", &c, 0.25f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_SHUFFLE, c.nd.groups = 3;
    c.n = 2, c.ih = 2, c.iw = 2, c.cin = 12;
    run_case("channel shuffle, 3 groups", &c, 0.25f);
    memset(&c, 0, sizeof c);
    c.nd.op = XF_OP_SLICE, c.nd.begin = 2, c.nd.end = 7;
    c.n = 2, c.ih = 2, c.iw = 3, c.cin = 9;
    run_case("channel slice [2, 7)", &c, 0.25f);

    /* activations from the input, for all (the path act nodes of imported nets take) */
    for (int a = XF_ACT_RELU; a < XF_ACT_COUNT_; a++) {
        enum { N = 64 };
        float x[N], dy[N], g[N];
        double num = 0, den = 0;
        for (int i = 0; i < N; i++) {
            x[i] = 0.1f + 5.8f * (frand() + 1) / 2 * (i % 2 ? 1 : -1) + (i % 7 == 0 ? 6.5f : 0);
            if (fabsf(fabsf(x[i]) - 3) < 0.01f) /* hard sigmoid's kinks */
                x[i] += 0.05f;
            g[i] = dy[i] = frand();
        }
        xf__act_backward_x(x, dy, N, (xf_act) a);
        for (int i = 0; i < N; i++) {
            float e = 1e-3f, yp = x[i] + e, ym = x[i] - e;
            xf__act_apply(&yp, 1, (xf_act) a);
            xf__act_apply(&ym, 1, (xf_act) a);
            double fd = (double) g[i] * ((double) yp - (double) ym) / (2e-3);
            num += (fd - (double) dy[i]) * (fd - (double) dy[i]);
            den += fd * fd;
        }
        double e = sqrt(num) / (sqrt(den) + 1e-12);
        printf("%-34s dx %.2e (from input)\n", xf__act_name((xf_act) a), e);
        T_CHECKF(e < 1e-3, "act %s from input: %.3e", xf__act_name((xf_act) a), e);
    }

    /* activations: derivative from the output, inputs kept away from the kinks */
    for (int a = XF_ACT_RELU; a < XF_ACT_COUNT_; a++) {
        if (!xf__act_invertible((xf_act) a))
            continue;
        enum { N = 64 };
        float x[N], y[N], dy[N], yp[N], ym[N];
        double num = 0, den = 0;
        for (int i = 0; i < N; i++) {
            x[i] = 0.1f + 5.8f * (frand() + 1) / 2 * (i % 2 ? 1 : -1) + (i % 7 == 0 ? 6.5f : 0);
            y[i] = x[i];
            dy[i] = frand();
        }
        xf__act_apply(y, N, (xf_act) a);
        float g[N];
        memcpy(g, dy, sizeof g);
        xf__act_backward(y, dy, N, (xf_act) a);
        for (int i = 0; i < N; i++) {
            float e = 1e-3f;
            yp[i] = x[i] + e, ym[i] = x[i] - e;
            xf__act_apply(&yp[i], 1, (xf_act) a);
            xf__act_apply(&ym[i], 1, (xf_act) a);
            double fd = (double) g[i] * ((double) yp[i] - (double) ym[i]) / (2e-3);
            num += (fd - (double) dy[i]) * (fd - (double) dy[i]);
            den += fd * fd;
        }
        double e = sqrt(num) / (sqrt(den) + 1e-12);
        printf("%-34s dx %.2e\n", xf__act_name((xf_act) a), e);
        T_CHECKF(e < 1e-3, "act %s: %.3e", xf__act_name((xf_act) a), e);
    }

    /* softmax cross-entropy with label smoothing */
    {
        enum { R = 3, K = 5 };
        float lg[R * K], d[R * K], tmp[R * K];
        int lab[R] = {0, 3, 4};
        for (int i = 0; i < R * K; i++)
            lg[i] = 2 * frand();
        double l0 = xf__softmax_xent(lg, lab, R, K, 0.1f, d);
        T_CHECK(l0 > 0);
        double num = 0, den = 0;
        for (int i = 0; i < R * K; i++) {
            float keep = lg[i];
            lg[i] = keep + 1e-2f;
            double lp = xf__softmax_xent(lg, lab, R, K, 0.1f, tmp);
            lg[i] = keep - 1e-2f;
            double lm = xf__softmax_xent(lg, lab, R, K, 0.1f, tmp);
            lg[i] = keep;
            double fd = (lp - lm) / 2e-2;
            num += (fd - (double) d[i]) * (fd - (double) d[i]);
            den += fd * fd;
        }
        double e = sqrt(num) / sqrt(den);
        printf("%-34s dlogits %.2e\n", "softmax cross-entropy (smoothing)", e);
        T_CHECKF(e < 1e-3, "softmax xent: %.3e", e);
    }
    return t_done();
}
