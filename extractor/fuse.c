/* fuse.c — inverted residual blocks, and convolutions with their residual add, run as one
 * kernel (see fuse.h).
 *
 * Per image: the depthwise output rows are made in strips of about 112 pixels; the expanded
 * rows each one needs are computed on first use into a ring of kh + 1 rows (each is computed
 * once: rows are needed in increasing order); then the strip is projected, with the residual
 * and the activation applied on the store, straight into the block's output.
 */
#include "fuse.h"
#include "conv_kernel.h"
#include "cpu.h"
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#define STRIP_PIXELS 112 /* depthwise output pixels projected at once */

static int pointwise(const xf_node *nd)
{
    return nd->op == XF_OP_CONV2D && nd->kh == 1 && nd->kw == 1 && nd->sh == 1 && nd->sw == 1 &&
           nd->groups == 1 && (nd->pt | nd->pb | nd->pl | nd->pr) == 0;
}

static int same_shape(const xf_node *a, const xf_node *b)
{
    return a->h == b->h && a->w == b->w && a->c == b->c;
}

/* node i feeds only the block: needed, one consumer, not an output */
static int inner(const int *uses, const unsigned char *out, int i)
{
    return uses[i] == 1 && !out[i];
}

/* node m is a gate's multiply only the block reads: x (h, w, c) times a (1, 1, c) gate */
static int gate_mul(const xf_graph *g, int m, const int *uses, const unsigned char *out)
{
    const xf_node *mn = &g->nodes[m];
    if (mn->op != XF_OP_MUL || mn->n_in != 2 || mn->act != XF_ACT_NONE || !inner(uses, out, m))
        return 0;
    const xf_node *x = &g->nodes[mn->in[0]], *gt = &g->nodes[mn->in[1]];
    return same_shape(x, mn) && gt->h * gt->w == 1 && gt->c == mn->c && mn->h * mn->w > 1 &&
           mn->in[0] != mn->in[1];
}

int xf__fuse_find(const xf_graph *g, int last, const int *uses, const unsigned char *out,
                  xf_fused *f)
{
    if (xf__isa() != XF_ISA_AVX512)
        return 0;
    const xf_node *nl = &g->nodes[last];
    xf_fused b = {-1, -1, -1, -1, -1, -1, -1, -1, -1};
    int d;
    if (nl->op == XF_OP_ADD && nl->n_in == 2) {
        for (int k = 0; k < 2 && b.a < 0; k++) {
            const xf_node *p = &g->nodes[nl->in[k]];
            if (p->op == XF_OP_CONV2D && !p->wino && p->act == XF_ACT_NONE &&
                inner(uses, out, nl->in[k]) && same_shape(&g->nodes[nl->in[1 - k]], p))
                b.a = last, b.p = nl->in[k], b.res = nl->in[1 - k];
        }
        if (b.a < 0)
            return 0;
        d = g->nodes[b.p].in[0];
        const xf_node *dn = &g->nodes[d];
        if (pointwise(&g->nodes[b.p]) && gate_mul(g, d, uses, out) && b.res != d) {
            b.m = d, b.x = dn->in[0], b.gate = dn->in[1]; /* gate -> project -> add */
            *f = b;
            return 1;
        }
        if (!pointwise(&g->nodes[b.p]) || dn->op != XF_OP_DWCONV2D || dn->mult != 1 ||
            dn->kh > XF_DW_MAX_KH || !inner(uses, out, d) || b.res == d) {
            b.x = d; /* a convolution and its residual add (any shape but Winograd's) */
            *f = b;
            return 1;
        }
    } else if (pointwise(nl)) {
        b.p = last, d = nl->in[0];
        if (gate_mul(g, d, uses, out)) { /* gate -> project */
            b.m = d, b.x = g->nodes[d].in[0], b.gate = g->nodes[d].in[1];
            *f = b;
            return 1;
        }
    } else if (nl->op == XF_OP_DWCONV2D) { /* expand -> depthwise, its output kept (a gate) */
        d = last;
    } else {
        return 0;
    }
    const xf_node *dn = &g->nodes[d];
    if (dn->op != XF_OP_DWCONV2D || dn->mult != 1 || dn->kh > XF_DW_MAX_KH ||
        (b.p >= 0 && !inner(uses, out, d)))
        return 0;
    b.d = d;
    int e = dn->in[0];
    const xf_node *en = &g->nodes[e];
    if (pointwise(en) && inner(uses, out, e) && (b.res < 0 || b.res != e))
        b.e = e, b.x = en->in[0];
    else
        b.x = e;
    if (b.p < 0 && b.e < 0) /* a lone depthwise: nothing to fuse */
        return 0;
    if (b.res == b.d || (b.e >= 0 && b.res == b.e))
        return 0;
    *f = b;
    return 1;
}

int xf__fuse_plan(const xf_graph *g, const unsigned char *needed, const unsigned char *out,
                  int fuse, unsigned char *inside, int *block, xf_fused *blocks)
{
    int n = g->n_nodes, nb = 0;
    int *uses = calloc((size_t) n, sizeof *uses);
    if (!uses)
        return -1;
    for (int i = 0; i < n; i++) {
        block[i] = -1;
        if (needed[i])
            for (int k = 0; k < g->nodes[i].n_in; k++)
                uses[g->nodes[i].in[k]]++;
    }
    /* from the last node back: a block takes its nodes before a smaller one ending inside it
     * could (the depthwise of expand -> depthwise -> project also ends an expand -> depthwise
     * block) */
    for (int i = n - 1; i >= 0 && fuse; i--) {
        xf_fused f;
        if (!needed[i] || inside[i] || !xf__fuse_find(g, i, uses, out, &f))
            continue;
        int in[4] = {f.e, f.d != i ? f.d : -1, f.p >= 0 && f.p != i ? f.p : -1, f.m}, free_ = 1;
        for (int k = 0; k < 4; k++)
            free_ = free_ && (in[k] < 0 || (!inside[in[k]] && block[in[k]] < 0));
        if (!free_)
            continue;
        for (int k = 0; k < 4; k++)
            if (in[k] >= 0)
                inside[in[k]] = 1;
        for (int j = i + 1; f.d == i && j < n && f.gap < 0; j++) { /* the gate's pooling */
            const xf_node *q = &g->nodes[j];
            if (needed[j] && q->op == XF_OP_GAP && q->n_in == 1 && q->in[0] == i &&
                q->act == XF_ACT_NONE && !inside[j] && block[j] < 0)
                f.gap = j, inside[j] = 2;
        }
        blocks[nb] = f;
        block[i] = nb++;
    }
    free(uses);
    return nb;
}

/* rows of the depthwise output per strip */
static int64_t strip_rows(const xf_node *d)
{
    int64_t r = STRIP_PIXELS / (d->w > 0 ? d->w : 1);
    return r < 1 ? 1 : r > d->h ? d->h : r;
}

/* rows gated and projected at a time: the kernel's block, fewer when they would fill half of L2 */
static int64_t gated_rows(const xf_node *x)
{
    int64_t r = ((128 * 1024) / (x->c > 0 ? x->c : 1)) / 14 * 14, pix = x->h * x->w;
    r = r < 14 ? 14 : r > XF_KCONV_BLOCK ? XF_KCONV_BLOCK : r;
    return r < pix ? r : pix;
}

size_t xf__fused_scratch(const xf_graph *g, const xf_fused *f)
{
    const xf_node *x = &g->nodes[f->x];
    if (f->m >= 0)
        return (size_t) ((gated_rows(x) * x->c + 15) / 16 * 16 + 2 * gated_rows(x) + 64);
    if (f->d < 0)
        return xf__conv2d_scratch(&g->nodes[f->p], x->h, x->w, x->c);
    const xf_node *d = &g->nodes[f->d];
    int64_t ce = d->c, iw = x->w;
    int64_t ring = f->e >= 0 ? (d->kh + 1) * iw * ce : 0;
    int64_t strip = strip_rows(d) * d->w * d->c;
    int64_t ptrs = 2 * (iw > strip_rows(d) * d->w ? iw : strip_rows(d) * d->w);
    return (size_t) (ring + strip + ptrs + 64);
}

typedef struct {
    const xf_node *e;
    const float *x; /* the image's input */
    int64_t iw, cx, ce, slots;
    float *ring;
    int64_t *held; /* input row in each slot, -1: none */
    const float **xp;
} expand_ring;

/* the expanded row iy, computed into its slot unless it is there */
static const float *expanded(expand_ring *r, int64_t iy)
{
    int64_t s = iy % r->slots;
    float *row = r->ring + s * r->iw * r->ce;
    if (r->held[s] == iy)
        return row;
    for (int64_t j = 0; j < r->iw; j++)
        r->xp[j] = r->x + (iy * r->iw + j) * r->cx;
    xf_kconv k = {.taps = 1, .cg = r->cx, .n = r->ce, .bias = r->e->bias, .act = r->e->act};
    xf__kconv_weights(&k, r->e->weight, r->ce, r->e->packed);
    xf__kconv_rows(&k, r->iw, r->xp, row, r->ce);
    r->held[s] = iy;
    return row;
}

/* gate -> project [-> add]: a few rows of x times the gate (xf__mul's product), then projected
 * from there by the same kernel as unfused */
static void gated_project(const xf_graph *g, const xf_fused *f, float *const *bufs, int n,
                          float *scratch)
{
    const xf_node *p = &g->nodes[f->p], *xn = &g->nodes[f->x];
    const xf_node *a = f->a >= 0 ? &g->nodes[f->a] : NULL;
    int64_t pix = xn->h * xn->w, c = xn->c, cp = p->c, R = gated_rows(xn);
    float *strip = scratch, *out = bufs[a ? f->a : f->p];
    const float **xp = (const float **) (void *) (scratch + (R * c + 15) / 16 * 16);
    for (int b = 0; b < n; b++) {
        const float *xb = bufs[f->x] + (size_t) b * (size_t) (pix * c);
        const float *gb = bufs[f->gate] + (size_t) b * (size_t) c;
        const float *rb = a ? bufs[f->res] + (size_t) b * (size_t) (pix * cp) : NULL;
        float *yb = out + (size_t) b * (size_t) (pix * cp);
        for (int64_t r0 = 0; r0 < pix; r0 += R) {
            int64_t rows = pix - r0 < R ? pix - r0 : R;
            xf__mul(xb + r0 * c, gb, 1, rows, c, 1, strip);
            for (int64_t j = 0; j < rows; j++)
                xp[j] = strip + j * c;
            xf_kconv k = {.taps = 1,
                          .cg = c,
                          .n = cp,
                          .bias = p->bias,
                          .res = rb ? rb + r0 * cp : NULL,
                          .ldres = cp,
                          .act = a ? a->act : p->act};
            xf__kconv_weights(&k, p->weight, cp, p->packed);
            xf__kconv_rows(&k, rows, xp, yb + r0 * cp, cp);
        }
    }
}

void xf__fused_forward(const xf_graph *g, const xf_fused *f, float *const *bufs, int n,
                       float *scratch)
{
    if (f->m >= 0) {
        gated_project(g, f, bufs, n, scratch);
        return;
    }
    if (f->d < 0) {
        const xf_node *xn = &g->nodes[f->x];
        xf__conv2d_res(&g->nodes[f->p], bufs[f->x], n, xn->h, xn->w, xn->c, bufs[f->res],
                       g->nodes[f->a].act, bufs[f->a], scratch);
        return;
    }
    const xf_node *d = &g->nodes[f->d], *xn = &g->nodes[f->x];
    const xf_node *p = f->p >= 0 ? &g->nodes[f->p] : NULL;
    const xf_node *e = f->e >= 0 ? &g->nodes[f->e] : NULL;
    const xf_node *a = f->a >= 0 ? &g->nodes[f->a] : NULL;
    int64_t ih = xn->h, iw = xn->w, cx = xn->c, ce = d->c, oh = d->h, ow = d->w;
    int64_t cp = p ? p->c : ce;
    int64_t R = strip_rows(d);
    int64_t ring_n = e ? (d->kh + 1) * iw * ce : 0;
    float *ring = scratch, *strip = ring + ring_n;
    /* the row pointers after the strip, on a 64-byte boundary of the (aligned) scratch: its
     * slack covers the rounding */
    const float **xp =
        (const float **) (void *) (scratch + ((ring_n + R * ow * ce + 15) & ~(int64_t) 15));
    int64_t held[XF_DW_MAX_KH + 1];
    float *out = bufs[a ? f->a : p ? f->p : f->d];
    for (int b = 0; b < n; b++) {
        const float *xb = bufs[f->x] + (size_t) b * (size_t) (ih * iw * cx);
        const float *rb = a ? bufs[f->res] + (size_t) b * (size_t) (oh * ow * cp) : NULL;
        float *yb = out + (size_t) b * (size_t) (oh * ow * cp);
        expand_ring r = {e, xb, iw, cx, ce, d->kh + 1, ring, held, xp};
        float *pool = f->gap >= 0 ? bufs[f->gap] + (size_t) b * (size_t) ce : NULL;
        if (pool)
            memset(pool, 0, (size_t) ce * sizeof(float));
        for (int64_t s = 0; s < r.slots; s++)
            held[s] = -1;
        for (int64_t oy0 = 0; oy0 < oh; oy0 += R) {
            int64_t rows = oh - oy0 < R ? oh - oy0 : R;
            for (int64_t oy = oy0; oy < oy0 + rows; oy++) {
                const float *in[XF_DW_MAX_KH];
                for (int ky = 0; ky < d->kh; ky++) {
                    int64_t iy = oy * d->sh + ky - d->pt;
                    in[ky] = iy < 0 || iy >= ih ? NULL : e ? expanded(&r, iy) : xb + iy * iw * cx;
                }
                xf__dw_row(d, in, iw, ce, p ? strip + (oy - oy0) * ow * ce : yb + oy * ow * ce);
                if (pool) /* while the row is in L1 */
                    xf__dw_pool_row(yb + oy * ow * ce, ow, ce, pool);
            }
            if (!p)
                continue;
            for (int64_t j = 0; j < rows * ow; j++)
                xp[j] = strip + j * ce;
            xf_kconv k = {.taps = 1,
                          .cg = ce,
                          .n = cp,
                          .bias = p->bias,
                          .res = rb ? rb + oy0 * ow * cp : NULL,
                          .ldres = cp,
                          .act = a ? a->act : p->act};
            xf__kconv_weights(&k, p->weight, cp, p->packed);
            xf__kconv_rows(&k, rows * ow, xp, yb + oy0 * ow * cp, cp);
        }
        float inv = 1.0f / (float) (oh * ow);
        for (int64_t ch = 0; pool && ch < ce; ch++)
            pool[ch] *= inv;
    }
}
