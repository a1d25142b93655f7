/* op_conv2d.c — 2-D convolution on NHWC float32 with folded batch norm and fused activation.
 *
 * It is: 1x1 stride-1 convolutions as GEMMs over each image's pixels; everything else as
 * row-chunked im2col + GEMM (chunks sized to stay in cache), bias + activation applied while
 * the chunk is hot. GEMM shapes never depend on the batch size, so an image's features are
 * bit-identical in any batch; direct-loop references of forward and backward for the tests. Weights
 * are (kh, kw, cin / groups, cout) row-major, as the converters store them; group g maps input
 * channels [g*cin/G, (g+1)*cin/G) to output channels [g*cout/G, (g+1)*cout/G), one GEMM per group
 * on a column block of the weights. Dilation spaces the taps. It is not: depthwise (op_dwconv2d.c).
 */
#include "conv_kernel.h"
#include "cpu.h"
#include "gemm.h"
#include "ops.h"
#include "winograd.h"

#include <string.h>

#define CHUNK_FLOATS (1 << 18) /* im2col chunk budget: 1 MiB */
#define MIN_ROWS     128

static int is_pointwise(const xf_node *nd)
{
    return nd->kh == 1 && nd->kw == 1 && nd->sh == 1 && nd->sw == 1 && nd->groups == 1 &&
           (nd->pt | nd->pb | nd->pl | nd->pr) == 0;
}

static int64_t chunk_rows(int64_t k)
{
    int64_t r = CHUNK_FLOATS / (k > 0 ? k : 1);
    return r < MIN_ROWS ? MIN_ROWS : r;
}

/* The AVX-512 kernel's output rows per call: its block, which reads each weight once (fewer
 * rows per call would fetch the weights of a large layer from memory once per call). */
static int64_t kernel_chunk(int64_t m)
{
    return XF_KCONV_BLOCK < m ? XF_KCONV_BLOCK : m;
}

/* The kernel reads each output row's inputs as runs: one run per tap, or, when the taps of a
 * kernel row are adjacent in memory (one group, no horizontal dilation), one run of kw * cg
 * floats per kernel row (the same products in the same order, fewer pointers). */
static int merged_rows(const xf_node *nd)
{
    return nd->groups == 1 && nd->dil_w == 1 && nd->kw > 1;
}

/* floats of the kernel's scratch: row pointers (two floats each), a zero run for padding and,
 * with merged runs, copies of the rows that cross an edge */
static size_t kernel_scratch(const xf_node *nd, int64_t cin)
{
    int64_t taps = (int64_t) nd->kh * nd->kw, cg = cin / nd->groups, k = taps * cg;
    int64_t chunk = kernel_chunk(nd->h * nd->w);
    return (size_t) (chunk * taps * 2 + nd->kw * cg + 16 + (merged_rows(nd) ? chunk * k : 0));
}

size_t xf__conv2d_scratch(const xf_node *nd, int64_t ih, int64_t iw, int64_t cin)
{
    (void) ih;
    (void) iw;
    size_t own = xf__isa() == XF_ISA_AVX512 ? kernel_scratch(nd, cin) : 0;
    size_t wino = nd->wino ? xf__wino_scratch(nd->wino_tile, cin, nd->cout) : 0;
    own = wino > own ? wino : own;
    if (is_pointwise(nd))
        return own;
    int64_t k = (int64_t) nd->kh * nd->kw * (cin / nd->groups);
    int64_t m = nd->h * nd->w;
    int64_t rows = chunk_rows(k);
    size_t col = (size_t) ((rows < m ? rows : m) * k);
    return col > own ? col : own;
}

/* The runs of output row (oy, ox), group gi, into row[]: pointers into x, the zero run, or a
 * copy in *edge (advanced) for a merged run that crosses the left or right edge. */
static inline void row_runs(const xf_node *nd, const float *xb, int64_t ih, int64_t iw, int64_t cin,
                            int64_t c0, int64_t cg, int64_t oy, int64_t ox, const float *zero,
                            float **edge, const float **row)
{
    int merged = merged_rows(nd);
    for (int ky = 0, t = 0; ky < nd->kh; ky++) {
        int64_t iy = oy * nd->sh + (int64_t) ky * nd->dil_h - nd->pt;
        int64_t ix0 = ox * nd->sw - nd->pl;
        if (merged) {
            if (iy < 0 || iy >= ih) {
                row[t++] = zero;
            } else if (ix0 >= 0 && ix0 + nd->kw <= iw) {
                row[t++] = xb + (iy * iw + ix0) * cin;
            } else {
                float *d = *edge;
                for (int kx = 0; kx < nd->kw; kx++, d += cg) {
                    int64_t ix = ix0 + kx;
                    if (ix < 0 || ix >= iw)
                        memset(d, 0, (size_t) cg * sizeof(float));
                    else
                        memcpy(d, xb + (iy * iw + ix) * cin, (size_t) cg * sizeof(float));
                }
                row[t++] = *edge;
                *edge = d;
            }
            continue;
        }
        for (int kx = 0; kx < nd->kw; kx++, t++) {
            int64_t ix = ix0 + (int64_t) kx * nd->dil_w;
            row[t] =
                iy < 0 || iy >= ih || ix < 0 || ix >= iw ? zero : xb + (iy * iw + ix) * cin + c0;
        }
    }
}

/* The AVX-512 path: per image, chunks of output rows, each row reading its inputs in place
 * (a padded tap reads zeros); res (NULL: none) is added before the activation. */
static void conv_kernel(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                        int64_t cin, const float *res, xf_act act, float *y, float *scratch)
{
    int64_t cout = nd->cout, G = nd->groups, cg = cin / G, og = cout / G;
    int64_t taps = (int64_t) nd->kh * nd->kw, m = nd->h * nd->w, ow = nd->w;
    int merged = merged_rows(nd);
    int64_t runs = merged ? nd->kh : taps, run = merged ? nd->kw * cg : cg;
    int64_t step = kernel_chunk(m);
    const float **xp = (const float **) (void *) scratch;
    float *zero = scratch + step * taps * 2, *edges = zero + nd->kw * cg + 16;
    memset(zero, 0, (size_t) (nd->kw * cg) * sizeof(float));
    size_t per_group = xf__kconv_packed_floats(taps * cg, og);
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t) b * (size_t) (ih * iw * cin);
        float *yb = y + (size_t) b * (size_t) (m * cout);
        const float *rb = res ? res + (size_t) b * (size_t) (m * cout) : NULL;
        for (int64_t r0 = 0; r0 < m; r0 += step) {
            int64_t rows = m - r0 < step ? m - r0 : step;
            for (int64_t gi = 0; gi < G; gi++) {
                float *edge = edges;
                if (is_pointwise(nd))
                    for (int64_t r = 0; r < rows; r++)
                        xp[r] = xb + (r0 + r) * cin + gi * cg;
                else
                    for (int64_t r = 0, oy = r0 / ow, ox = r0 % ow; r < rows; r++) {
                        row_runs(nd, xb, ih, iw, cin, gi * cg, cg, oy, ox, zero, &edge,
                                 xp + r * runs);
                        if (++ox == ow)
                            ox = 0, oy++;
                    }
                xf_kconv k = {.taps = runs,
                              .cg = run,
                              .n = og,
                              .bias = nd->bias ? nd->bias + gi * og : NULL,
                              .res = rb ? rb + r0 * cout + gi * og : NULL,
                              .ldres = cout,
                              .act = act};
                xf__kconv_weights(&k, nd->weight + gi * og, cout,
                                  nd->packed ? nd->packed + (size_t) gi * per_group : NULL);
                xf__kconv_rows(&k, rows, (const float *const *) xp, yb + r0 * cout + gi * og, cout);
            }
        }
    }
}

/* Rows [r0, r0+rows) of the im2col matrix of one image over input channels [c0, c0+cg):
 * (oh*ow, kh*kw*cg). */
static void im2col(const xf_node *nd, const float *x, int64_t ih, int64_t iw, int64_t cin,
                   int64_t c0, int64_t cg, int64_t r0, int64_t rows, float *col)
{
    int64_t ow = nd->w;
    size_t krow = (size_t) nd->kw * (size_t) cg;
    int whole = cg == cin && nd->dil_w == 1; /* a kernel row is one contiguous run of x */
    for (int64_t r = 0; r < rows; r++) {
        int64_t oy = (r0 + r) / ow, ox = (r0 + r) % ow;
        float *dst = col + r * nd->kh * (int64_t) krow;
        for (int ky = 0; ky < nd->kh; ky++, dst += krow) {
            int64_t iy = oy * nd->sh + (int64_t) ky * nd->dil_h - nd->pt;
            if (iy < 0 || iy >= ih) {
                memset(dst, 0, krow * sizeof(float));
                continue;
            }
            int64_t ix0 = ox * nd->sw - nd->pl;
            if (whole && ix0 >= 0 && ix0 + nd->kw <= iw) {
                memcpy(dst, x + (iy * iw + ix0) * cin, krow * sizeof(float));
                continue;
            }
            for (int kx = 0; kx < nd->kw; kx++) {
                int64_t ix = ix0 + (int64_t) kx * nd->dil_w;
                float *d = dst + kx * cg;
                if (ix < 0 || ix >= iw)
                    memset(d, 0, (size_t) cg * sizeof(float));
                else
                    memcpy(d, x + (iy * iw + ix) * cin + c0, (size_t) cg * sizeof(float));
            }
        }
    }
}

void xf__conv2d_res(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                    const float *res, xf_act act, float *y, float *scratch)
{
    XF_ASSERT(!nd->wino && xf__isa() == XF_ISA_AVX512);
    conv_kernel(nd, x, n, ih, iw, cin, res, act, y, scratch);
}

void xf__conv2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                float *y, float *scratch)
{
    int64_t cout = nd->cout;
    if (nd->wino) {
        xf__wino_conv(nd, x, n, ih, iw, cin, y, scratch);
        return;
    }
    if (xf__isa() == XF_ISA_AVX512) {
        conv_kernel(nd, x, n, ih, iw, cin, NULL, nd->act, y, scratch);
        return;
    }
    if (is_pointwise(nd)) {
        /* per image, in chunks of rows (bias+act while in cache): GEMM shapes depend only on
         * the image size, so results are bit-identical whatever the batch composition */
        int64_t m = ih * iw, step = 256;
        for (int b = 0; b < n; b++) {
            const float *xb = x + (size_t) b * (size_t) (m * cin);
            float *yb = y + (size_t) b * (size_t) (m * cout);
            for (int64_t r0 = 0; r0 < m; r0 += step) {
                int64_t rows = m - r0 < step ? m - r0 : step;
                xf__sgemm(rows, cout, cin, xb + r0 * cin, nd->weight, yb + r0 * cout, 0);
                xf__bias_act_rows(yb + r0 * cout, rows, cout, nd->bias, nd->act);
            }
        }
        return;
    }
    int64_t G = nd->groups, cg = cin / G, og = cout / G;
    int64_t k = (int64_t) nd->kh * nd->kw * cg;
    int64_t m = nd->h * nd->w;
    int64_t step = chunk_rows(k);
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t) b * (size_t) (ih * iw * cin);
        float *yb = y + (size_t) b * (size_t) (m * cout);
        for (int64_t r0 = 0; r0 < m; r0 += step) {
            int64_t rows = m - r0 < step ? m - r0 : step;
            for (int64_t gi = 0; gi < G; gi++) {
                im2col(nd, xb, ih, iw, cin, gi * cg, cg, r0, rows, scratch);
                xf__sgemm_gen(0, 0, rows, og, k, scratch, k, nd->weight + gi * og, cout,
                              yb + r0 * cout + gi * og, cout, 0);
            }
            xf__bias_act_rows(yb + r0 * cout, rows, cout, nd->bias, nd->act);
        }
    }
}

void xf__conv2d_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                    float *y)
{
    int64_t cout = nd->cout, cg = cin / nd->groups, og = cout / nd->groups;
    for (int b = 0; b < n; b++)
        for (int64_t oy = 0; oy < nd->h; oy++)
            for (int64_t ox = 0; ox < nd->w; ox++)
                for (int64_t co = 0; co < cout; co++) {
                    double s = nd->bias ? (double) nd->bias[co] : 0;
                    for (int ky = 0; ky < nd->kh; ky++)
                        for (int kx = 0; kx < nd->kw; kx++) {
                            int64_t iy = oy * nd->sh + ky * nd->dil_h - nd->pt;
                            int64_t ix = ox * nd->sw + kx * nd->dil_w - nd->pl;
                            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                                continue;
                            const float *xp = x + ((b * ih + iy) * iw + ix) * cin + co / og * cg;
                            const float *wp = nd->weight + ((ky * nd->kw + kx) * cg) * cout + co;
                            for (int64_t ci = 0; ci < cg; ci++)
                                s += (double) xp[ci] * (double) wp[ci * cout];
                        }
                    y[((b * nd->h + oy) * nd->w + ox) * cout + co] =
                        (float) xf__act_ref(s, nd->act);
                }
}

/* Rows [r0, r0+rows) of dcol (rows, kh*kw*cg) added back into dx channels [c0, c0+cg) (one
 * image). */
static void col2im_add(const xf_node *nd, const float *dcol, int64_t ih, int64_t iw, int64_t cin,
                       int64_t c0, int64_t cg, int64_t r0, int64_t rows, float *dx)
{
    int64_t ow = nd->w;
    for (int64_t r = 0; r < rows; r++) {
        int64_t oy = (r0 + r) / ow, ox = (r0 + r) % ow;
        const float *src = dcol + r * nd->kh * nd->kw * cg;
        for (int ky = 0; ky < nd->kh; ky++)
            for (int kx = 0; kx < nd->kw; kx++, src += cg) {
                int64_t iy = oy * nd->sh + (int64_t) ky * nd->dil_h - nd->pt;
                int64_t ix = ox * nd->sw + (int64_t) kx * nd->dil_w - nd->pl;
                if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                    continue;
                float *d = dx + (iy * iw + ix) * cin + c0;
                for (int64_t c = 0; c < cg; c++)
                    d[c] += src[c];
            }
    }
}

/* dy is the gradient after the activation has been undone (xf__act_backward). scratch holds
 * 2 * xf__conv2d_scratch() floats. */
void xf__conv2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                         int64_t cin, const float *dy, float *dx, float *dw, float *db,
                         float *scratch)
{
    int64_t cout = nd->cout, m = nd->h * nd->w;
    if (db)
        for (int64_t r = 0; r < (int64_t) n * m; r++)
            for (int64_t j = 0; j < cout; j++)
                db[j] += dy[r * cout + j];
    if (is_pointwise(nd)) {
        int64_t rows = (int64_t) n * m;
        if (dw)
            xf__sgemm_t(1, 0, cin, cout, rows, x, dy, dw, 1); /* x^T dy */
        if (dx)
            xf__sgemm_t(0, 1, rows, cin, cout, dy, nd->weight, dx, 0); /* dy W^T */
        return;
    }
    int64_t G = nd->groups, cg = cin / G, og = cout / G;
    int64_t k = (int64_t) nd->kh * nd->kw * cg, step = chunk_rows(k);
    float *col = scratch, *dcol = scratch + (step < m ? step : m) * k;
    if (dx)
        memset(dx, 0, (size_t) n * (size_t) (ih * iw * cin) * sizeof(float));
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t) b * (size_t) (ih * iw * cin);
        const float *dyb = dy + (size_t) b * (size_t) (m * cout);
        float *dxb = dx ? dx + (size_t) b * (size_t) (ih * iw * cin) : NULL;
        for (int64_t r0 = 0; r0 < m; r0 += step) {
            int64_t rows = m - r0 < step ? m - r0 : step;
            for (int64_t gi = 0; gi < G; gi++) {
                const float *dyg = dyb + r0 * cout + gi * og;
                if (dw) { /* dW[:, group cols] += col^T dy[:, group cols] */
                    im2col(nd, xb, ih, iw, cin, gi * cg, cg, r0, rows, col);
                    xf__sgemm_gen(1, 0, k, og, rows, col, k, dyg, cout, dw + gi * og, cout, 1);
                }
                if (dxb) { /* dcol = dy[:, group cols] @ W[:, group cols]^T */
                    xf__sgemm_gen(0, 1, rows, k, og, dyg, cout, nd->weight + gi * og, cout, dcol, k,
                                  0);
                    col2im_add(nd, dcol, ih, iw, cin, gi * cg, cg, r0, rows, dxb);
                }
            }
        }
    }
}

/* The backward pass by direct loops in double: the tests' twin of the im2col path. */
static void conv2d_backward_ref_k(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                                  int64_t cin, const float *dy, float *dx, float *dw, float *db)
{
    int64_t cout = nd->cout, cg = cin / nd->groups, og = cout / nd->groups;
    if (dx)
        for (size_t i = 0; i < (size_t) n * (size_t) (ih * iw * cin); i++)
            dx[i] = 0;
    for (int64_t co = 0; co < cout; co++) {
        double sb = 0;
        for (int b = 0; b < n; b++)
            for (int64_t o = 0; o < nd->h * nd->w; o++)
                sb += (double) dy[((int64_t) b * nd->h * nd->w + o) * cout + co];
        if (db)
            db[co] += (float) sb;
    }
    for (int ky = 0; ky < nd->kh; ky++)
        for (int kx = 0; kx < nd->kw; kx++)
            for (int64_t ci = 0; ci < cg; ci++)
                for (int64_t co = 0; co < cout; co++) {
                    double s = 0;
                    for (int b = 0; b < n; b++)
                        for (int64_t oy = 0; oy < nd->h; oy++)
                            for (int64_t ox = 0; ox < nd->w; ox++) {
                                int64_t iy = oy * nd->sh + ky * nd->dil_h - nd->pt;
                                int64_t ix = ox * nd->sw + kx * nd->dil_w - nd->pl;
                                if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                                    continue;
                                double g = (double) dy[((b * nd->h + oy) * nd->w + ox) * cout + co];
                                int64_t xi = ((b * ih + iy) * iw + ix) * cin + co / og * cg + ci;
                                s += g * (double) x[xi];
                                if (dx)
                                    dx[xi] +=
                                        (float) (g *
                                                 (double) nd->weight
                                                     [((ky * nd->kw + kx) * cg + ci) * cout + co]);
                            }
                    if (dw)
                        dw[((ky * nd->kw + kx) * cg + ci) * cout + co] += (float) s;
                }
}

/* ---- descriptor ---- */
static xf_status conv2d_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    xf_status s = xf__window_infer(g, nd, err);
    if (s)
        return s;
    const xf_node *x = &g->nodes[nd->in[0]];
    if (nd->cout < 1)
        return xf__node_shape_err(err, nd, "needs cout=");
    if (x->c % nd->groups || nd->cout % nd->groups)
        return xf__node_shape_err(err, nd, "groups must divide input and output channels");
    nd->c = nd->cout;
    return XF_OK;
}

static int conv2d_weight_shape(const xf_graph *g, const xf_node *nd, int64_t *shape)
{
    shape[0] = nd->kh, shape[1] = nd->kw, shape[2] = g->nodes[nd->in[0]].c / nd->groups;
    shape[3] = nd->cout;
    return 4;
}

static size_t conv2d_scratch(const xf_graph *g, const xf_node *nd)
{
    const xf_node *x = &g->nodes[nd->in[0]];
    return xf__conv2d_scratch(nd, x->h, x->w, x->c);
}

static void conv2d_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                           int n, float *scratch)
{
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__conv2d(nd, x[0], n, xn->h, xn->w, xn->c, y, scratch);
}

static void conv2d_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                               float *y, int n)
{
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__conv2d_ref(nd, x[0], n, xn->h, xn->w, xn->c, y);
}

static void conv2d_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                            const float *y, const float *dy, float *const *dx, int n,
                            float *scratch, float *dw, float *db)
{
    (void) y;
    const xf_node *xn = &g->nodes[nd->in[0]];
    xf__conv2d_backward(nd, x[0], n, xn->h, xn->w, xn->c, dy, dx[0], dw, db, scratch);
}

static void conv2d_backward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                                const float *y, const float *dy, float *const *dx, int n, float *dw,
                                float *db)
{
    (void) y;
    const xf_node *xn = &g->nodes[nd->in[0]];
    conv2d_backward_ref_k(nd, x[0], n, xn->h, xn->w, xn->c, dy, dx[0], dw, db);
}

const xf_op_def xf__op_conv2d = {
    .name = "conv2d",
    .n_in = 1,
    .attrs = XF_ATTR_WINDOW | XF_ATTR_COUT | XF_ATTR_GROUPS | XF_ATTR_DIL | XF_ATTR_ACT,
    .shown = XF_ATTR_WINDOW | XF_ATTR_COUT,
    .bias = 1,
    .own_act = 1,
    .fold_affine = 1,
    .infer = conv2d_infer,
    .weight_shape = conv2d_weight_shape,
    .scratch = conv2d_scratch,
    .forward = conv2d_forward,
    .forward_ref = conv2d_forward_ref,
    .backward = conv2d_backward,
    .backward_ref = conv2d_backward_ref,
};
