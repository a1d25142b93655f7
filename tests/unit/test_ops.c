/* test_ops.c — every op of the op table against its reference twin, by iterating the table:
 * random shapes (odd channel counts, rectangular kernels, strides, asymmetric pads, groups,
 * dilation, multipliers, broadcasts), forward against forward_ref (1e-4 relative to the largest
 * output), backward against backward_ref where an op has one (1e-4) and against central finite
 * differences of L = sum(r * forward_ref) for every input and parameter (relative L2 below
 * 2e-3); plus the GEMM against its reference loops, the activation polynomials against libm,
 * and the pooling and softmax formulas.
 * It is: kernel-level checks; an op without a case generator here fails the test. It is not: a
 * whole-network test (test_golden, test_onnx).
 */
#include "conv_kernel.h"
#include "cpu.h"
#include "fuse.h"
#include "gemm.h"
#include "ops.h"
#include "t.h"
#include "winograd.h"

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

static int ri(int lo, int hi) /* uniform in [lo, hi] */
{
    frand();
    return lo + (int) (rng % (uint32_t) (hi - lo + 1));
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

/* ---- one test case: inputs 0..n_in-1 (input nodes), the op's node last ---- */
#define MAX_IN 4
typedef struct {
    xf_node nodes[MAX_IN + 1];
    int n_in, batch;
} tcase;

static xf_node *in_node(tcase *t, int h, int w, int c)
{
    xf_node *x = &t->nodes[t->n_in++];
    memset(x, 0, sizeof *x);
    x->op = XF_OP_INPUT, x->h = h, x->w = w, x->c = c;
    static char name[] = "x";
    x->name = x->out_name = name;
    return x;
}

/* any activation for forward checks; an invertible one for backward (a fused SiLU/GELU has no
 * backward by design) */
static xf_act rand_act(void)
{
    static const xf_act a[] = {XF_ACT_NONE,    XF_ACT_NONE,  XF_ACT_RELU,       XF_ACT_RELU6,
                               XF_ACT_SIGMOID, XF_ACT_LEAKY, XF_ACT_HARDSIGMOID};
    return a[ri(0, (int) XF_COUNT(a) - 1)];
}

/* window geometry: kernel, stride, pads smaller than the (dilated) kernel, input that fits */
static void window(xf_node *nd, int dil, int *ih, int *iw)
{
    nd->kh = ri(1, 5), nd->kw = ri(1, 5), nd->sh = ri(1, 2), nd->sw = ri(1, 2);
    nd->dil_h = nd->dil_w = dil;
    int ekh = (nd->kh - 1) * dil + 1, ekw = (nd->kw - 1) * dil + 1;
    nd->pt = ri(0, ekh - 1), nd->pb = ri(0, ekh - 1), nd->pl = ri(0, ekw - 1),
    nd->pr = ri(0, ekw - 1);
    *ih = ekh + ri(0, 7), *iw = ekw + ri(0, 7);
}

/* ---- generators: case k of op (k < 3: fixed shapes that reach specific kernel paths) ---- */
static void gen_conv2d(tcase *t, xf_node *nd, int k)
{
    int ih, iw, g = ri(1, 3);
    window(nd, ri(1, 2), &ih, &iw);
    int cin = g * ri(1, 4), cout = g * ri(1, 4);
    if (k == 0 || k % 4 == 1) { /* pointwise: the per-image GEMM path, in 256-row chunks */
        nd->kh = nd->kw = nd->sh = nd->sw = 1, nd->pt = nd->pb = nd->pl = nd->pr = 0;
        nd->dil_h = nd->dil_w = 1, g = 1, ih = k == 0 ? 17 : ri(1, 9), iw = k == 0 ? 19 : ri(1, 9);
        cin = ri(1, 40), cout = ri(1, 40);
    } else if (k == 2) { /* im2col in several chunks */
        nd->kh = nd->kw = 3, nd->sh = nd->sw = 1, nd->pt = nd->pb = nd->pl = nd->pr = 1;
        nd->dil_h = nd->dil_w = 1, g = 1, ih = iw = 40, cin = 64, cout = 8;
    }
    nd->groups = g, nd->cout = cout, nd->act = rand_act();
    in_node(t, ih, iw, cin);
    t->batch = k == 2 ? 1 : ri(1, 3);
}

static void gen_dwconv2d(tcase *t, xf_node *nd, int k)
{
    int ih, iw;
    window(nd, 1, &ih, &iw);
    nd->mult = k % 3 == 2 ? ri(2, 3) : 1, nd->act = rand_act();
    in_node(t, ih, iw, k == 0 ? 33 : ri(1, 40));
    t->batch = ri(1, 3);
}

static void gen_dense(tcase *t, xf_node *nd, int k)
{
    nd->cout = ri(1, 20), nd->act = rand_act();
    in_node(t, k % 2 ? ri(1, 3) : 1, k % 2 ? ri(1, 3) : 1, ri(1, 37));
    t->batch = ri(1, 5);
}

static void gen_pool(tcase *t, xf_node *nd, int k)
{
    int ih, iw;
    window(nd, 1, &ih, &iw);
    nd->count_pad = nd->op == XF_OP_AVGPOOL && k % 2;
    nd->act = rand_act();
    in_node(t, ih, iw, ri(1, 9));
    t->batch = ri(1, 2);
}

static void gen_map(tcase *t, xf_node *nd, int k) /* one map in, same shape out */
{
    (void) k;
    nd->act = nd->op == XF_OP_ACT ? (xf_act) ri(1, XF_ACT_COUNT_ - 1) : rand_act();
    in_node(t, ri(1, 5), ri(1, 5), ri(2, 19));
    t->batch = ri(1, 3);
}

static void gen_many(tcase *t, xf_node *nd, int k) /* add, concat: 2..4 inputs */
{
    int h = ri(1, 4), w = ri(1, 4), c = ri(1, 9), n = k == 0 ? 2 : ri(2, MAX_IN);
    for (int i = 0; i < n; i++)
        in_node(t, h, w, nd->op == XF_OP_CONCAT ? ri(1, 7) : c);
    nd->act = rand_act();
    t->batch = ri(1, 2);
}

static void gen_mul(tcase *t, xf_node *nd, int k)
{
    int h = ri(1, 5), w = ri(1, 5), c = ri(1, 17);
    in_node(t, h, w, c);
    if (k % 2) /* squeeze-excitation gate: (1, 1, C) broadcast over the pixels */
        in_node(t, 1, 1, c);
    else
        in_node(t, h, w, c);
    nd->act = rand_act();
    t->batch = ri(1, 3);
}

static void gen_layernorm(tcase *t, xf_node *nd, int k)
{
    nd->eps = k % 2 ? 1e-5f : 1e-3f;
    nd->act = rand_act();
    in_node(t, ri(1, 4), ri(1, 4), ri(2, 24));
    t->batch = ri(1, 2);
}

static void gen_shuffle(tcase *t, xf_node *nd, int k)
{
    (void) k;
    nd->groups = ri(1, 4);
    nd->act = rand_act();
    in_node(t, ri(1, 4), ri(1, 4), nd->groups * ri(1, 5));
    t->batch = ri(1, 2);
}

static void gen_slice(tcase *t, xf_node *nd, int k)
{
    (void) k;
    int c = ri(2, 12);
    nd->begin = ri(0, c - 1), nd->end = ri(nd->begin + 1, c);
    nd->act = rand_act();
    in_node(t, ri(1, 4), ri(1, 4), c);
    t->batch = ri(1, 2);
}

typedef void (*gen_fn)(tcase *t, xf_node *nd, int k);
static gen_fn gens[XF_OP_COUNT_] = {
    [XF_OP_CONV2D] = gen_conv2d,   [XF_OP_DWCONV2D] = gen_dwconv2d,
    [XF_OP_DENSE] = gen_dense,     [XF_OP_ADD] = gen_many,
    [XF_OP_CONCAT] = gen_many,     [XF_OP_MAXPOOL] = gen_pool,
    [XF_OP_AVGPOOL] = gen_pool,    [XF_OP_GAP] = gen_map,
    [XF_OP_ACT] = gen_map,         [XF_OP_SOFTMAX] = gen_map,
    [XF_OP_FLATTEN] = gen_map,     [XF_OP_MUL] = gen_mul,
    [XF_OP_PRELU] = gen_map,       [XF_OP_LAYERNORM] = gen_layernorm,
    [XF_OP_SHUFFLE] = gen_shuffle, [XF_OP_SLICE] = gen_slice,
    [XF_OP_AFFINE] = gen_map,
};

typedef struct {
    double fwd, bwd_ref, fd;
    int cases, fd_cases;
} op_stats;

/* L = sum(r * y) with y = forward_ref of the current inputs and parameters */
static double loss(const xf_graph *g, const xf_node *nd, float *const *bufs, int n, const float *r,
                   float *y)
{
    const float *x[MAX_IN];
    for (int k = 0; k < nd->n_in; k++)
        x[k] = bufs[nd->in[k]];
    xf__op(nd->op)->forward_ref(g, nd, x, y, n);
    double l = 0;
    for (size_t i = 0; i < xf__node_floats(nd, n); i++)
        l += (double) r[i] * (double) y[i];
    return l;
}

/* relative L2 distance of analytic a from the central differences over p[0..len) */
static double fd_check(const xf_graph *g, const xf_node *nd, float *const *bufs, int n,
                       const float *r, float *y, float *p, size_t len, const float *a, float eps)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < len; i++) {
        float keep = p[i];
        p[i] = keep + eps;
        double lp = loss(g, nd, bufs, n, r, y);
        p[i] = keep - eps;
        double lm = loss(g, nd, bufs, n, r, y);
        p[i] = keep;
        double fd = (lp - lm) / (2.0 * (double) eps);
        num += (fd - (double) a[i]) * (fd - (double) a[i]);
        den += fd * fd;
    }
    return den > 0 ? sqrt(num) / sqrt(den) : sqrt(num);
}

static void run_case(xf_op op, int k, op_stats *st)
{
    const xf_op_def *d = xf__op(op);
    tcase t;
    memset(&t, 0, sizeof t);
    xf_node nd;
    memset(&nd, 0, sizeof nd);
    nd.op = op;
    char name[] = "op";
    nd.name = nd.out_name = name;
    gens[op](&t, &nd, k);
    int i = t.n_in, n = t.batch;
    for (int j = 0; j < t.n_in; j++)
        nd.in[j] = j;
    nd.n_in = t.n_in;
    t.nodes[i] = nd;
    xf_node *o = &t.nodes[i];
    xf_graph g = {t.nodes, i + 1};
    xf_error err;
    xf_status s = xf__node_infer(&g, o, &err);
    T_CHECKF(s == XF_OK, "%s case %d: infer: %s", d->name, k, s ? err.msg : "");
    if (s)
        return;
    /* parameters */
    int64_t nw = xf__node_weight_count(&g, o);
    float *w = nw ? rand_buf((size_t) nw) : NULL;
    float *b = nw && d->bias && k % 3 ? rand_buf((size_t) o->c) : NULL;
    o->weight = w, o->bias = b;
    float *bufs[MAX_IN + 1], *grads[MAX_IN + 1], *dxr[MAX_IN];
    for (int j = 0; j < t.n_in; j++) {
        bufs[j] = rand_buf(xf__node_floats(&t.nodes[j], n));
        grads[j] = calloc(xf__node_floats(&t.nodes[j], n) + 1, sizeof(float));
        dxr[j] = calloc(xf__node_floats(&t.nodes[j], n) + 1, sizeof(float));
    }
    if (op == XF_OP_MAXPOOL || op == XF_OP_PRELU) { /* kinks: distinct values, none near 0 */
        size_t nx = xf__node_floats(&t.nodes[0], n);
        for (size_t j = 0; j < nx; j++)
            bufs[0][j] = -1.0f + ((float) (2 * j) + 1.5f) / (float) nx; /* never 0 */
        for (size_t j = nx; j > 1; j--) {
            size_t q = (size_t) ri(0, (int) j - 1);
            float tmp = bufs[0][j - 1];
            bufs[0][j - 1] = bufs[0][q], bufs[0][q] = tmp;
        }
    }
    size_t ny = xf__node_floats(o, n);
    bufs[i] = malloc(ny * sizeof(float) + 64);
    float *yr = malloc(ny * sizeof(float) + 64), *r = rand_buf(ny);
    float *scratch = malloc((2 * xf__node_scratch(&g, o) + 16) * sizeof(float));
    /* forward against its twin */
    const float *xin[MAX_IN];
    for (int j = 0; j < t.n_in; j++)
        xin[j] = bufs[j];
    xf__node_forward(&g, i, bufs, n, scratch);
    d->forward_ref(&g, o, xin, yr, n);
    double df = max_rel(bufs[i], yr, ny);
    st->fwd = fmax(st->fwd, df);
    st->cases++;
    T_CHECKF(df < 1e-4,
             "%s case %d (batch %d, in %lldx%lldx%lld, out %lldx%lldx%lld, act %s): "
             "forward differs from its reference by %.3e",
             d->name, k, n, (long long) t.nodes[0].h, (long long) t.nodes[0].w,
             (long long) t.nodes[0].c, (long long) o->h, (long long) o->w, (long long) o->c,
             xf__act_name(o->act), df);
    if (d->backward && (xf__act_invertible(o->act) || d->act_input)) {
        float *dw = nw ? calloc((size_t) nw, sizeof(float)) : NULL;
        float *db = b ? calloc((size_t) o->c, sizeof(float)) : NULL;
        grads[i] = malloc(ny * sizeof(float) + 64);
        memcpy(grads[i], r, ny * sizeof(float));
        s = xf__node_backward(&g, i, bufs, grads, n, scratch, dw, db, &err);
        T_CHECKF(s == XF_OK, "%s case %d: backward: %s", d->name, k, s ? err.msg : "");
        if (d->backward_ref) { /* the dy it saw: r with the activation undone */
            float *dy = malloc(ny * sizeof(float) + 64);
            memcpy(dy, r, ny * sizeof(float));
            if (d->act_input && !xf__act_invertible(o->act))
                xf__act_backward_x(bufs[0], dy, ny, o->act);
            else
                xf__act_backward(bufs[i], dy, ny, o->act);
            float *dwr = nw ? calloc((size_t) nw, sizeof(float)) : NULL;
            float *dbr = b ? calloc((size_t) o->c, sizeof(float)) : NULL;
            d->backward_ref(&g, o, xin, bufs[i], dy, dxr, n, dwr, dbr);
            double e = 0;
            for (int j = 0; j < t.n_in; j++)
                e = fmax(e, max_rel(grads[j], dxr[j], xf__node_floats(&t.nodes[j], n)));
            if (dw)
                e = fmax(e, max_rel(dw, dwr, (size_t) nw));
            if (db)
                e = fmax(e, max_rel(db, dbr, (size_t) o->c));
            st->bwd_ref = fmax(st->bwd_ref, e);
            T_CHECKF(e < 1e-4, "%s case %d: backward differs from its reference by %.3e", d->name,
                     k, e);
            free(dy), free(dwr), free(dbr);
        }
        /* finite differences where the op and its activation are smooth at this point */
        int kinked = o->act != XF_ACT_NONE && o->act != XF_ACT_SIGMOID && o->act != XF_ACT_SILU &&
                     o->act != XF_ACT_GELU;
        if (!kinked) {
            /* kinked ops: below half the distance of any input value to 0 or to another one */
            float eps = 1e-2f;
            if (op == XF_OP_MAXPOOL || op == XF_OP_PRELU)
                eps = fminf(1e-3f, 0.4f / (float) xf__node_floats(&t.nodes[0], n));
            double e = 0;
            for (int j = 0; j < t.n_in; j++)
                e = fmax(e, fd_check(&g, o, bufs, n, r, yr, bufs[j],
                                     xf__node_floats(&t.nodes[j], n), grads[j], eps));
            if (dw)
                e = fmax(e, fd_check(&g, o, bufs, n, r, yr, w, (size_t) nw, dw, eps));
            if (db)
                e = fmax(e, fd_check(&g, o, bufs, n, r, yr, b, (size_t) o->c, db, eps));
            st->fd = fmax(st->fd, e);
            st->fd_cases++;
            T_CHECKF(e < 2e-3, "%s case %d (act %s): backward vs finite differences %.3e", d->name,
                     k, xf__act_name(o->act), e);
        }
        free(dw), free(db), free(grads[i]);
    }
    for (int j = 0; j < t.n_in; j++)
        free(bufs[j]), free(grads[j]), free(dxr[j]);
    free(bufs[i]), free(yr), free(r), free(scratch), free(w), free(b);
}

static void test_table(void)
{
    for (int op = 0; op < XF_OP_COUNT_; op++) {
        const xf_op_def *d = xf__op((xf_op) op);
        if (op == XF_OP_INPUT) {
            T_CHECK(!d->forward && d->n_in == 0);
            continue;
        }
        T_CHECKF(gens[op] != NULL, "op %s has no case generator in test_ops.c", d->name);
        T_CHECKF(d->forward && d->forward_ref, "op %s needs forward and forward_ref", d->name);
        if (!gens[op] || !d->forward || !d->forward_ref)
            continue;
        op_stats st = {0, 0, 0, 0, 0};
        for (int k = 0; k < 16; k++)
            run_case((xf_op) op, k, &st);
        printf("%-10s %2d cases: forward %.1e  backward vs reference %s%.1e  vs finite "
               "differences %.1e (%d cases)%s\n",
               d->name, st.cases, st.fwd, d->backward_ref ? "" : "(none) ", st.bwd_ref, st.fd,
               st.fd_cases, d->backward ? "" : "  [no backward]");
        T_CHECKF(!d->backward || st.fd_cases > 0, "op %s: no finite-difference case ran", d->name);
    }
}

/* GEMM (BLAS, or the loops in a BLAS=0 build) against the reference loops */
static void test_gemm(void)
{
    double worst = 0;
    for (int c = 0; c < 40; c++) {
        int m = ri(1, 70), n = ri(1, 70), k = ri(1, 70), ta = ri(0, 1), tb = ri(0, 1);
        int acc = ri(0, 1), pad = ri(0, 3);
        int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        float *a = rand_buf((size_t) ((ta ? k : m) * lda)),
              *b = rand_buf((size_t) ((tb ? n : k) * ldb));
        float *c1 = rand_buf((size_t) (m * ldc)), *c2 = malloc((size_t) (m * ldc) * sizeof(float));
        memcpy(c2, c1, (size_t) (m * ldc) * sizeof(float));
        xf__sgemm_gen(ta, tb, m, n, k, a, lda, b, ldb, c1, ldc, acc);
        xf__sgemm_ref(ta, tb, m, n, k, a, lda, b, ldb, c2, ldc, acc);
        worst = fmax(worst, max_rel(c1, c2, (size_t) (m * ldc)));
        free(a), free(b), free(c1), free(c2);
    }
    printf("gemm: 40 shapes (transposes, leading dimensions, accumulate): max rel diff %.1e\n",
           worst);
    T_CHECKF(worst < 1e-5, "gemm vs reference loops: %.3e", worst);
}

/* the eigen-decomposition (LAPACK, or Jacobi in a BLAS=0 build) against the Jacobi reference on
 * random symmetric matrices: eigenvalues, and eigenvectors up to sign */
static void test_eigen(void)
{
    double wv = 0, wvec = 0;
    for (int c = 0; c < 6; c++) {
        int d = 3 + 7 * c;
        float *b = rand_buf((size_t) (d * d)), *a1 = malloc((size_t) (d * d) * sizeof(float));
        float *a2 = malloc((size_t) (d * d) * sizeof(float)), *w1 = malloc((size_t) d * 4);
        float *w2 = malloc((size_t) d * 4);
        for (int i = 0; i < d; i++) /* B B^T + diag: symmetric, distinct eigenvalues */
            for (int j = 0; j < d; j++) {
                double v = i == j ? 0.5 * i : 0;
                for (int k = 0; k < d; k++)
                    v += (double) b[i * d + k] * (double) b[j * d + k];
                a1[i * d + j] = a2[i * d + j] = (float) v;
            }
        xf_error e;
        T_CHECK(xf__ssyevd(d, a1, w1, &e) == XF_OK && xf__ssyevd_ref(d, a2, w2, &e) == XF_OK);
        for (int i = 0; i < d; i++) {
            wv = fmax(wv, fabs((double) w1[i] - (double) w2[i]) / fmax(1.0, fabs((double) w2[i])));
            double dot = 0;
            for (int k = 0; k < d; k++)
                dot += (double) a1[i * d + k] * (double) a2[i * d + k];
            wvec = fmax(wvec, 1 - fabs(dot));
        }
        free(b), free(a1), free(a2), free(w1), free(w2);
    }
    printf("eigen: 6 symmetric matrices (3..38): eigenvalues %.1e, eigenvectors 1-|cos| %.1e\n", wv,
           wvec);
    T_CHECKF(wv < 1e-4 && wvec < 1e-3, "eigen-decomposition vs Jacobi: values %.3e vectors %.3e",
             wv, wvec);
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
/* every activation at the extremes: finite, and its limit (large |x| once made a SiLU NaN) */
static void test_act_extremes(void)
{
    static const float xs[] = {-1e30f, -1e4f,   -200.0f, -89.0f, -88.5f, -87.0f,
                               -10.0f, -1e-30f, 0.0f,    1e-30f, 10.0f,  87.0f,
                               88.5f,  89.0f,   200.0f,  1e4f,   1e30f};
    enum { N = sizeof xs / sizeof xs[0] };
    for (int a = 1; a < XF_ACT_COUNT_; a++) {
        float y[3 * N]; /* three copies: the vector body and the masked tail both run */
        for (int i = 0; i < 3 * N; i++)
            y[i] = xs[i % N];
        xf__act_apply(y, 3 * N, (xf_act) a);
        for (int i = 0; i < 3 * N; i++) {
            double want = xf__act_ref((double) xs[i % N], (xf_act) a);
            double tol = 1e-5 * fmax(1.0, fabs(want));
            T_CHECKF(isfinite(y[i]) && fabs((double) y[i] - want) <= tol,
                     "%s(%g) = %g, expected %g", xf__act_name((xf_act) a), (double) xs[i % N],
                     (double) y[i], want);
        }
    }
}

static void test_act_accuracy(void)
{
    static const xf_act acts[] = {XF_ACT_SIGMOID, XF_ACT_SILU, XF_ACT_GELU, XF_ACT_HARDSWISH};
    for (size_t a = 0; a < XF_COUNT(acts); a++) {
        double worst = 0;
        for (int i = -200000; i <= 200000; i++) {
            float x =
                (float) i * 5e-4f * (i % 7 == 0 ? 20.0f : 1.0f); /* [-100, 100] + dense near 0 */
            float y = x;
            xf__act_apply(&y, 1, acts[a]);
            double r = xf__act_ref((double) x, acts[a]);
            /* relative (absolute near 0); GELU absolute below 1: A&S 7.1.26 bounds erf's
             * absolute error (1.5e-7), not the relative error of the tiny negative tail */
            double e = fabs((double) y - r) / fmax(fabs(r), acts[a] == XF_ACT_GELU ? 1.0 : 1e-3);
            worst = fmax(worst, e);
        }
        printf("act %-12s worst error vs libm (double) %.2e\n", xf__act_name(acts[a]), worst);
        T_CHECKF(worst < 2e-6, "act %s: worst error %.3e", xf__act_name(acts[a]), worst);
    }
}

/* The AVX-512 kernels' own contracts, on shapes that reach every tile and tail: packed and
 * unpacked weights give the same bits, and an image gives the same bits alone or in a batch
 * (the values against the reference are run_case's). */
static void test_kernels(void)
{
    if (xf__isa() != XF_ISA_AVX512) {
        T_SKIP("no AVX-512 (or XF_ISA=avx2): the own kernels are not used here");
        return;
    }
    for (int k = 0; k < 40; k++) {
        xf_node nodes[2];
        memset(nodes, 0, sizeof nodes);
        xf_node *x = &nodes[0], *nd = &nodes[1];
        char name[] = "k";
        x->op = XF_OP_INPUT, x->name = x->out_name = name;
        nd->op = k % 3 == 2 ? XF_OP_DWCONV2D : XF_OP_CONV2D, nd->name = nd->out_name = name;
        int ih, iw;
        window(nd, nd->op == XF_OP_CONV2D && k % 5 == 4 ? 2 : 1, &ih, &iw);
        if (k % 3 == 0) /* pointwise, many rows and panels */
            nd->kh = nd->kw = nd->sh = nd->sw = 1, nd->pt = nd->pb = nd->pl = nd->pr = 0,
            nd->dil_h = nd->dil_w = 1, ih = ri(1, 30), iw = ri(1, 30);
        else
            ih += ri(0, 20), iw += ri(0, 20);
        nd->groups = nd->op == XF_OP_CONV2D && k % 4 == 1 ? 2 : 1, nd->mult = 1;
        x->h = ih, x->w = iw, x->c = nd->groups * ri(1, 70);
        nd->cout = nd->groups * ri(1, 90), nd->act = rand_act();
        nd->in[0] = 0, nd->n_in = 1;
        xf_graph g = {nodes, 2};
        xf_error err;
        xf_status s = xf__node_infer(&g, nd, &err);
        T_CHECKF(s == XF_OK, "kernel case %d: %s", k, s ? err.msg : "");
        if (s)
            continue;
        int n = 3;
        int64_t nw = xf__node_weight_count(&g, nd);
        float *w = rand_buf((size_t) nw), *b = rand_buf((size_t) nd->c);
        nd->weight = w, nd->bias = k % 2 ? b : NULL;
        size_t nx = xf__node_floats(x, 1), ny = xf__node_floats(nd, 1);
        float *bufs[2] = {rand_buf(nx * (size_t) n), malloc(ny * (size_t) n * sizeof(float))};
        float *one[2] = {bufs[0] + nx, malloc(ny * sizeof(float))};
        float *scratch = malloc((xf__node_scratch(&g, nd) + 16) * sizeof(float));
        xf__node_forward(&g, 1, bufs, n, scratch);
        xf__node_forward(&g, 1, one, 1, scratch);
        T_CHECKF(memcmp(bufs[1] + ny, one[1], ny * sizeof(float)) == 0,
                 "%s case %d: image 1 differs alone and in a batch of 3", xf__op_name(nd->op), k);
        float *pk = NULL;
        if (nd->op == XF_OP_CONV2D) {
            int64_t G = nd->groups, og = nd->cout / G, K = (int64_t) nd->kh * nd->kw * (x->c / G);
            size_t per = xf__kconv_packed_floats(K, og);
            pk = malloc(per * (size_t) G * sizeof(float));
            for (int64_t gi = 0; gi < G; gi++)
                xf__kconv_pack(w + gi * og, K, og, nd->cout, pk + (size_t) gi * per);
            nd->packed = pk;
            xf__node_forward(&g, 1, one, 1, scratch);
            T_CHECKF(
                memcmp(bufs[1] + ny, one[1], ny * sizeof(float)) == 0,
                "conv2d case %d (%lldx%lldx%lld -> %d, k %dx%d s %d g %d): packed and unpacked "
                "weights differ",
                k, (long long) ih, (long long) iw, (long long) x->c, nd->cout, nd->kh, nd->kw,
                nd->sh, nd->groups);
        }
        free(w), free(b), free(bufs[0]), free(bufs[1]), free(one[1]), free(scratch), free(pk);
    }
}

/* Winograd F(4x4, 3x3) against the double-precision direct loops, on random 3x3 stride-1
 * convolutions (pads 0-2 on each side, outputs that are not multiples of 4, channel tails,
 * every activation, several blocks of tiles across a batch): within 1e-4 of the largest output
 * for F(4x4, 3x3), 1e-5 for F(2x2, 3x3) (the worst of each is printed), and an image's bits
 * the same alone and in a batch of 3. */
static void test_winograd(void)
{
    if (xf__isa() != XF_ISA_AVX512) {
        T_SKIP("no AVX-512 (or XF_ISA=avx2): Winograd is not used here");
        return;
    }
    double worst[2] = {0, 0};
    int ran = 0;
    for (int k = 0; k < 24; k++) {
        xf_node nodes[2];
        memset(nodes, 0, sizeof nodes);
        xf_node *x = &nodes[0], *nd = &nodes[1];
        char name[] = "w";
        x->op = XF_OP_INPUT, x->name = x->out_name = name;
        nd->op = XF_OP_CONV2D, nd->name = nd->out_name = name;
        nd->kh = nd->kw = 3, nd->sh = nd->sw = 1, nd->dil_h = nd->dil_w = 1, nd->groups = 1;
        nd->pt = ri(0, 2), nd->pb = ri(0, 2), nd->pl = ri(0, 2), nd->pr = ri(0, 2);
        x->h = ri(10, k < 4 ? 60 : 30), x->w = ri(10, 30), x->c = ri(16, k < 4 ? 24 : 90);
        nd->cout = ri(16, 100), nd->act = rand_act();
        nd->in[0] = 0, nd->n_in = 1;
        xf_graph g = {nodes, 2};
        xf_error err;
        xf_status s = xf__node_infer(&g, nd, &err);
        int tile = k % 2 ? 4 : 2; /* both, whatever $XF_WINOGRAD chooses for models */
        T_CHECKF(s == XF_OK, "winograd case %d: %s", k, s ? err.msg : "");
        if (s)
            continue;
        int n = 3;
        float *w = rand_buf((size_t) xf__node_weight_count(&g, nd)), *b = rand_buf((size_t) nd->c);
        nd->weight = w, nd->bias = k % 2 ? b : NULL;
        float *wino = malloc(xf__wino_packed_floats(tile, x->c, nd->cout) * sizeof(float));
        xf__wino_pack(w, x->c, nd->cout, tile, wino);
        nd->wino = wino, nd->wino_tile = tile;
        size_t nx = xf__node_floats(x, 1), ny = xf__node_floats(nd, 1);
        float *bufs[2] = {rand_buf(nx * (size_t) n), malloc(ny * (size_t) n * sizeof(float))};
        float *one[2] = {bufs[0] + nx, malloc(ny * sizeof(float))};
        float *ref = malloc(ny * (size_t) n * sizeof(float));
        float *scratch = malloc((xf__node_scratch(&g, nd) + 16) * sizeof(float));
        xf__node_forward(&g, 1, bufs, n, scratch);
        xf__node_forward(&g, 1, one, 1, scratch);
        xf__conv2d_ref(nd, bufs[0], n, x->h, x->w, x->c, ref);
        double e = max_rel(bufs[1], ref, ny * (size_t) n);
        worst[tile / 4] = e > worst[tile / 4] ? e : worst[tile / 4], ran++;
        T_CHECKF(e < (tile == 2 ? 1e-5 : 1e-4),
                 "winograd F(%dx%d) case %d (%dx%dx%d -> %d, pads %d %d %d %d): %.2g from the "
                 "reference",
                 tile, tile, k, (int) x->h, (int) x->w, (int) x->c, nd->cout, nd->pt, nd->pb,
                 nd->pl, nd->pr, e);
        T_CHECKF(memcmp(bufs[1] + ny, one[1], ny * sizeof(float)) == 0,
                 "winograd case %d: image 1 differs alone and in a batch of 3", k);
        free(w), free(b), free(wino), free(bufs[0]), free(bufs[1]), free(one[1]), free(ref),
            free(scratch);
    }
    printf("winograd: %d random convolutions, worst of the largest output from the double-"
           "precision reference: F(2x2, 3x3) %.2g, F(4x4, 3x3) %.2g\n",
           ran, worst[0], worst[1]);
}

/* Fused inverted-residual blocks against the same nodes run one by one: the same bits, on
 * random blocks (with and without expansion, projection and residual, 3x3 and 5x5, strides 1
 * and 2, channel counts that are not multiples of 16, several strips and a batch). */
static void test_fusion(void)
{
    if (xf__isa() != XF_ISA_AVX512) {
        T_SKIP("no AVX-512 (or XF_ISA=avx2): blocks are not fused here");
        return;
    }
    static const xf_act acts[] = {XF_ACT_RELU6, XF_ACT_NONE, XF_ACT_RELU, XF_ACT_SILU};
    for (int k = 0; k < 24; k++) {
        xf_node nd[5];
        memset(nd, 0, sizeof nd);
        char name[] = "f";
        for (int i = 0; i < 5; i++)
            nd[i].name = nd[i].out_name = name, nd[i].groups = 1, nd[i].dil_h = nd[i].dil_w = 1;
        int expand = k % 4 != 3, stride = k % 3 == 2 ? 2 : 1, kk = k % 5 == 4 ? 5 : 3;
        int gate = expand && k % 6 == 5; /* expand -> depthwise only, its output kept */
        int cin = ri(3, 40), ce = expand ? ri(8, 100) : cin, cout = ri(3, 40);
        int residual = stride == 1 && k % 2 == 0 && !gate;
        if (residual)
            cout = cin;
        nd[0].op = XF_OP_INPUT, nd[0].h = ri(kk, 30), nd[0].w = ri(kk, 30), nd[0].c = cin;
        int x = 0, e = expand ? 1 : -1, d = expand ? 2 : 1, p = d + 1, a = p + 1;
        if (expand) {
            nd[e].op = XF_OP_CONV2D, nd[e].kh = nd[e].kw = nd[e].sh = nd[e].sw = 1;
            nd[e].cout = ce, nd[e].act = acts[ri(0, 3)], nd[e].in[0] = x, nd[e].n_in = 1;
        }
        nd[d].op = XF_OP_DWCONV2D, nd[d].kh = nd[d].kw = kk, nd[d].sh = nd[d].sw = stride;
        nd[d].mult = 1, nd[d].pt = nd[d].pl = kk / 2 - (stride == 2 && k % 2);
        nd[d].pb = nd[d].pr = kk / 2;
        nd[d].act = acts[ri(0, 3)], nd[d].in[0] = expand ? e : x, nd[d].n_in = 1;
        nd[p].op = XF_OP_CONV2D, nd[p].kh = nd[p].kw = nd[p].sh = nd[p].sw = 1, nd[p].cout = cout;
        nd[p].act = residual ? XF_ACT_NONE : acts[ri(0, 3)], nd[p].in[0] = d, nd[p].n_in = 1;
        if (residual)
            nd[a].op = XF_OP_ADD, nd[a].in[0] = x, nd[a].in[1] = p, nd[a].n_in = 2,
            nd[a].act = k % 4 == 0 ? XF_ACT_RELU : XF_ACT_NONE;
        int n_nodes = gate ? d + 1 : residual ? a + 1 : p + 1, last = n_nodes - 1;
        xf_graph g = {nd, n_nodes};
        xf_error err;
        float *w[5] = {0}, *b[5] = {0};
        int ok = 1;
        for (int i = 1; i < n_nodes && ok; i++) {
            ok = xf__node_infer(&g, &nd[i], &err) == XF_OK;
            int64_t nw = ok ? xf__node_weight_count(&g, &nd[i]) : 0;
            if (nw) {
                nd[i].weight = w[i] = rand_buf((size_t) nw);
                nd[i].bias = b[i] = k % 3 ? rand_buf((size_t) nd[i].c) : NULL;
            }
        }
        T_CHECKF(ok, "fusion case %d: %s", k, ok ? "" : err.msg);
        if (!ok)
            continue;
        int uses[5] = {0};
        unsigned char out[5] = {0};
        for (int i = 1; i < n_nodes; i++)
            for (int j = 0; j < nd[i].n_in; j++)
                uses[nd[i].in[j]]++;
        out[last] = 1;
        xf_fused f;
        int found = xf__fuse_find(&g, last, uses, out, &f) == 1 && f.d == d && f.e == e;
        T_CHECKF(found, "fusion case %d: the block is not found", k);
        if (!found)
            continue;
        /* the session's plan takes the whole block, not the expand -> depthwise inside it */
        unsigned char needed[5] = {1, 1, 1, 1, 1}, inside[5] = {0};
        int block[5];
        xf_fused planned[5];
        int nb = xf__fuse_plan(&g, needed, out, 1, inside, block, planned);
        int whole = nb == 1 && block[last] == 0 && planned[0].d == d && planned[0].e == e;
        for (int i = 1; i < last; i++)
            whole = whole && inside[i] && block[i] < 0;
        T_CHECKF(whole, "fusion case %d: the plan has %d blocks, not one ending at node %d", k, nb,
                 last);
        int n = 2;
        float *bufs[5], *fused = malloc(xf__node_floats(&nd[last], n) * sizeof(float) + 64);
        size_t sc = xf__fused_scratch(&g, &f);
        for (int i = 0; i < n_nodes; i++) {
            bufs[i] = i ? malloc(xf__node_floats(&nd[i], n) * sizeof(float) + 64)
                        : rand_buf(xf__node_floats(&nd[0], n));
            size_t s = xf__node_scratch(&g, &nd[i]);
            sc = s > sc ? s : sc;
        }
        float *scratch = malloc((sc + 16) * sizeof(float));
        for (int i = 1; i < n_nodes; i++)
            xf__node_forward(&g, i, bufs, n, scratch);
        float *keep = bufs[last];
        bufs[last] = fused;
        xf__fused_forward(&g, &f, bufs, n, scratch);
        T_CHECKF(memcmp(fused, keep, xf__node_floats(&nd[last], n) * sizeof(float)) == 0,
                 "fusion case %d (%lldx%lldx%d, expand %d, k %d, s %d, residual %d): fused and "
                 "unfused differ",
                 k, (long long) nd[0].h, (long long) nd[0].w, cin, ce, kk, stride, residual);
        for (int i = 0; i < n_nodes; i++)
            free(i == last ? keep : bufs[i]), free(w[i]), free(b[i]);
        free(fused), free(scratch);
    }
}

/* EfficientNet's squeeze-excitation block, planned as the session plans it (expand ->
 * depthwise with the gate's pooling summed in, then gate -> project [-> add]) and run block by
 * block, against every node run alone: the same bits in the pooling and the output, on random
 * blocks (with and without expansion and residual, 3x3 and 5x5, strides 1 and 2, channel counts
 * that are not multiples of 16, maps larger than one gated strip, a batch of 2). */
static void test_gate_fusion(void)
{
    if (xf__isa() != XF_ISA_AVX512) {
        T_SKIP("no AVX-512 (or XF_ISA=avx2): gates are not fused here");
        return;
    }
    enum { N = 10 };
    for (int k = 0; k < 12; k++) {
        xf_node nd[N];
        memset(nd, 0, sizeof nd);
        char name[] = "s";
        for (int i = 0; i < N; i++)
            nd[i].name = nd[i].out_name = name, nd[i].groups = 1, nd[i].dil_h = nd[i].dil_w = 1;
        int expand = k % 3 != 2, stride = k % 4 == 3 ? 2 : 1, kk = k % 2 ? 5 : 3;
        int cin = ri(3, 40), ce = expand ? ri(8, 300) : cin, cout = ri(3, 40);
        int residual = stride == 1 && k % 4 != 1;
        if (residual)
            cout = cin;
        int big = k % 5 == 0; /* more pixels than one gated strip */
        nd[0].op = XF_OP_INPUT, nd[0].h = big ? ri(30, 40) : ri(kk, 16);
        nd[0].w = big ? ri(30, 40) : ri(kk, 16), nd[0].c = cin;
        int i = 1, e = -1;
        if (expand) {
            e = i++;
            nd[e].op = XF_OP_CONV2D, nd[e].kh = nd[e].kw = nd[e].sh = nd[e].sw = 1;
            nd[e].cout = ce, nd[e].act = XF_ACT_SILU, nd[e].in[0] = 0, nd[e].n_in = 1;
        }
        int d = i++, gp = i++, f1 = i++, f2 = i++, m = i++, p = i++, a = residual ? i++ : -1;
        nd[d].op = XF_OP_DWCONV2D, nd[d].kh = nd[d].kw = kk, nd[d].sh = nd[d].sw = stride;
        nd[d].mult = 1, nd[d].pt = nd[d].pl = kk / 2, nd[d].pb = nd[d].pr = kk / 2;
        nd[d].act = XF_ACT_SILU, nd[d].in[0] = expand ? e : 0, nd[d].n_in = 1;
        nd[gp].op = XF_OP_GAP, nd[gp].in[0] = d, nd[gp].n_in = 1;
        nd[f1].op = XF_OP_DENSE, nd[f1].cout = ri(2, 12), nd[f1].act = XF_ACT_SILU;
        nd[f1].in[0] = gp, nd[f1].n_in = 1;
        nd[f2].op = XF_OP_DENSE, nd[f2].cout = ce, nd[f2].act = XF_ACT_SIGMOID;
        nd[f2].in[0] = f1, nd[f2].n_in = 1;
        nd[m].op = XF_OP_MUL, nd[m].in[0] = d, nd[m].in[1] = f2, nd[m].n_in = 2;
        nd[p].op = XF_OP_CONV2D, nd[p].kh = nd[p].kw = nd[p].sh = nd[p].sw = 1, nd[p].cout = cout;
        nd[p].act = XF_ACT_NONE, nd[p].in[0] = m, nd[p].n_in = 1;
        if (residual)
            nd[a].op = XF_OP_ADD, nd[a].in[0] = 0, nd[a].in[1] = p, nd[a].n_in = 2;
        int n_nodes = i, last = n_nodes - 1;
        xf_graph g = {nd, n_nodes};
        xf_error err;
        float *w[N] = {0}, *b[N] = {0};
        int ok = 1;
        for (int j = 1; j < n_nodes && ok; j++) {
            ok = xf__node_infer(&g, &nd[j], &err) == XF_OK;
            int64_t nw = ok ? xf__node_weight_count(&g, &nd[j]) : 0;
            if (nw) {
                nd[j].weight = w[j] = rand_buf((size_t) nw);
                nd[j].bias = b[j] = rand_buf((size_t) nd[j].c);
            }
        }
        T_CHECKF(ok, "gate case %d: %s", k, ok ? "" : err.msg);
        if (!ok)
            continue;
        unsigned char needed[N], out[N] = {0}, inside[N] = {0};
        memset(needed, 1, sizeof needed);
        out[last] = 1;
        int block[N];
        xf_fused planned[N];
        int nb = xf__fuse_plan(&g, needed, out, 1, inside, block, planned);
        int want = expand ? 2 : 1; /* a lone depthwise is no block: its pooling runs alone */
        int shape = nb == want && block[last] >= 0 && planned[block[last]].m == m &&
                    planned[block[last]].gate == f2 && inside[m] == 1 &&
                    (!expand || (block[d] >= 0 && planned[block[d]].gap == gp && inside[gp] == 2));
        T_CHECKF(shape, "gate case %d: the plan has %d blocks (want %d), not the gate's", k, nb,
                 want);
        if (!shape)
            continue;
        int n = 2;
        float *ref[N], *got[N];
        size_t sc = 16;
        for (int j = 0; j < n_nodes; j++) {
            size_t len = xf__node_floats(&nd[j], n);
            ref[j] = j ? malloc(len * sizeof(float) + 64) : rand_buf(len);
            got[j] = j ? malloc(len * sizeof(float) + 64) : ref[0];
            size_t s1 = xf__node_scratch(&g, &nd[j]);
            size_t s2 = block[j] >= 0 ? xf__fused_scratch(&g, &planned[block[j]]) : 0;
            sc = s1 > sc ? s1 : sc, sc = s2 > sc ? s2 : sc;
        }
        float *scratch = malloc((sc + 16) * sizeof(float));
        for (int j = 1; j < n_nodes; j++)
            xf__node_forward(&g, j, ref, n, scratch);
        for (int j = 1; j < n_nodes; j++)
            if (block[j] >= 0)
                xf__fused_forward(&g, &planned[block[j]], got, n, scratch);
            else if (!inside[j])
                xf__node_forward(&g, j, got, n, scratch);
        int same =
            memcmp(got[last], ref[last], xf__node_floats(&nd[last], n) * sizeof(float)) == 0 &&
            memcmp(got[gp], ref[gp], xf__node_floats(&nd[gp], n) * sizeof(float)) == 0;
        T_CHECKF(same,
                 "gate case %d (%lldx%lldx%d, expand %d, k %d, s %d, residual %d): fused and "
                 "unfused differ",
                 k, (long long) nd[0].h, (long long) nd[0].w, cin, ce, kk, stride, residual);
        for (int j = 0; j < n_nodes; j++)
            free(ref[j]), free(j ? got[j] : NULL), free(w[j]), free(b[j]);
        free(scratch);
    }
}

/* A convolution and its residual add (ResNet's blocks) run as one kernel against the two nodes
 * run one by one: the same bits, on random convolutions (1x1, 3x3 and 1x3, strides 1 and 2,
 * channel counts that are not multiples of 16) whose residual is the input itself or a second
 * convolution of it (a downsampling branch). */
static void test_conv_add_fusion(void)
{
    if (xf__isa() != XF_ISA_AVX512) {
        T_SKIP("no AVX-512 (or XF_ISA=avx2): convolutions and adds are not fused here");
        return;
    }
    static const xf_act acts[] = {XF_ACT_RELU, XF_ACT_NONE, XF_ACT_RELU6, XF_ACT_SILU};
    for (int k = 0; k < 16; k++) {
        xf_node nd[4];
        memset(nd, 0, sizeof nd);
        char name[] = "r";
        for (int i = 0; i < 4; i++)
            nd[i].name = nd[i].out_name = name, nd[i].groups = 1, nd[i].dil_h = nd[i].dil_w = 1;
        int branch = k % 2, stride = branch && k % 4 == 1 ? 2 : 1;
        int kh = k % 3 == 0 ? 1 : 3, kw = k % 5 == 4 ? 1 : kh;
        int cin = ri(3, 70), cout = branch ? ri(3, 90) : cin;
        nd[0].op = XF_OP_INPUT, nd[0].h = ri(3, 24), nd[0].w = ri(3, 24), nd[0].c = cin;
        nd[1].op = XF_OP_CONV2D, nd[1].kh = kh, nd[1].kw = kw, nd[1].sh = nd[1].sw = stride;
        nd[1].pt = nd[1].pb = kh / 2, nd[1].pl = nd[1].pr = kw / 2;
        nd[1].cout = cout, nd[1].act = XF_ACT_NONE, nd[1].in[0] = 0, nd[1].n_in = 1;
        int res = 0, a = 2;
        if (branch) { /* a 1x1 convolution of the input, with the same stride */
            nd[2].op = XF_OP_CONV2D, nd[2].kh = nd[2].kw = 1, nd[2].sh = nd[2].sw = stride;
            nd[2].cout = cout, nd[2].act = acts[ri(0, 3)], nd[2].in[0] = 0, nd[2].n_in = 1;
            res = 2, a = 3;
        }
        nd[a].op = XF_OP_ADD, nd[a].in[0] = k % 3 ? res : 1, nd[a].in[1] = k % 3 ? 1 : res;
        nd[a].n_in = 2, nd[a].act = acts[ri(0, 3)];
        int n_nodes = a + 1;
        xf_graph g = {nd, n_nodes};
        xf_error err;
        float *w[4] = {0}, *b[4] = {0};
        int ok = 1;
        for (int i = 1; i < n_nodes && ok; i++) {
            ok = xf__node_infer(&g, &nd[i], &err) == XF_OK;
            int64_t nw = ok ? xf__node_weight_count(&g, &nd[i]) : 0;
            if (nw) {
                nd[i].weight = w[i] = rand_buf((size_t) nw);
                nd[i].bias = b[i] = k % 4 != 2 ? rand_buf((size_t) nd[i].c) : NULL;
            }
        }
        T_CHECKF(ok, "conv+add case %d: %s", k, ok ? "" : err.msg);
        if (!ok)
            continue;
        int uses[4] = {0};
        unsigned char out[4] = {0};
        for (int i = 1; i < n_nodes; i++)
            for (int j = 0; j < nd[i].n_in; j++)
                uses[nd[i].in[j]]++;
        out[a] = 1;
        xf_fused f;
        /* either convolution of a branch may be the fused one when both have no activation */
        int found = xf__fuse_find(&g, a, uses, out, &f) == 1 && f.d < 0 && f.e < 0 && f.a == a &&
                    f.x == 0 && ((f.p == 1 && f.res == res) || (branch && f.p == 2 && f.res == 1));
        T_CHECKF(found, "conv+add case %d: the block is not found", k);
        if (!found)
            continue;
        int n = 2;
        float *bufs[4], *fused = malloc(xf__node_floats(&nd[a], n) * sizeof(float) + 64);
        size_t sc = xf__fused_scratch(&g, &f);
        for (int i = 0; i < n_nodes; i++) {
            bufs[i] = i ? malloc(xf__node_floats(&nd[i], n) * sizeof(float) + 64)
                        : rand_buf(xf__node_floats(&nd[0], n));
            size_t s = xf__node_scratch(&g, &nd[i]);
            sc = s > sc ? s : sc;
        }
        float *scratch = malloc((sc + 16) * sizeof(float));
        for (int i = 1; i < n_nodes; i++)
            xf__node_forward(&g, i, bufs, n, scratch);
        float *keep = bufs[a];
        bufs[a] = fused;
        xf__fused_forward(&g, &f, bufs, n, scratch);
        T_CHECKF(memcmp(fused, keep, xf__node_floats(&nd[a], n) * sizeof(float)) == 0,
                 "conv+add case %d (%lldx%lldx%d -> %d, %dx%d, s %d, branch %d): fused and "
                 "unfused differ",
                 k, (long long) nd[0].h, (long long) nd[0].w, cin, cout, kh, kw, stride, branch);
        for (int i = 0; i < n_nodes; i++)
            free(i == a ? keep : bufs[i]), free(w[i]), free(b[i]);
        free(fused), free(scratch);
    }
}

int main(void)
{
    test_act_accuracy();
    test_act_extremes();
    test_table();
    test_kernels(); /* after the table: its random cases stay the ones it has always drawn */
    test_fusion();
    test_conv_add_fusion();
    test_winograd();
    test_gemm();
    test_eigen();
    test_pool();
    test_gate_fusion(); /* last: the random cases of the tests before it stay the ones they drew */
    return t_done();
}
