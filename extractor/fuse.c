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

int xf__fuse_find(const xf_graph *g, int last, const int *uses, const unsigned char *out,
                  xf_fused *f)
{
    if (xf__isa() != XF_ISA_AVX512)
        return 0;
    const xf_node *nl = &g->nodes[last];
    xf_fused b = {-1, -1, -1, -1, -1, -1};
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
        if (!pointwise(&g->nodes[b.p]) || dn->op != XF_OP_DWCONV2D || dn->mult != 1 ||
            dn->kh > XF_DW_MAX_KH || !inner(uses, out, d) || b.res == d) {
            b.x = d; /* a convolution and its residual add (any shape but Winograd's) */
            *f = b;
            return 1;
        }
    } else if (pointwise(nl)) {
        b.p = last, d = nl->in[0];
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
        int in[3] = {f.e, f.d != i ? f.d : -1, f.p >= 0 && f.p != i ? f.p : -1}, free_ = 1;
        for (int k = 0; k < 3; k++)
            free_ = free_ && (in[k] < 0 || (!inside[in[k]] && block[in[k]] < 0));
        if (!free_)
            continue;
        for (int k = 0; k < 3; k++)
            if (in[k] >= 0)
                inside[in[k]] = 1;
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

size_t xf__fused_scratch(const xf_graph *g, const xf_fused *f)
{
    const xf_node *x = &g->nodes[f->x];
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

void xf__fused_forward(const xf_graph *g, const xf_fused *f, float *const *bufs, int n,
                       float *scratch)
{
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
    }
}
