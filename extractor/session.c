/* session.c — xf_session: one thread's memory plan and the forward pass over a batch.
 *
 * It is: running only the nodes the requested layers depend on, in graph order, one image of
 * the batch after the other (the bits do not depend on the batch, and one image's tensors stay
 * in cache); one arena
 * whose tensor offsets are packed by lifetime (a tensor's space is reused once its last
 * consumer has run); feature pooling (avg/max/none) into the caller's buffer. It is not:
 * kernels (op_*.c) or anything that allocates during xf_session_run.
 */
#include "fuse.h"
#include "gemm.h"
#include "model.h"
#include "ops.h"

#include <float.h>
#include <math.h>
#include <string.h>

struct xf_session {
    const xf_model *model;
    int max_batch;
    int n_layers;
    int layer[XF_MAX_LAYERS];
    xf_pool pool;
    int64_t feat_dim;
    int l2norm;
    unsigned char *needed;
    unsigned char *inside; /* run inside a fused block: 1 no buffer of its own, 2 a buffer */
    int *block;            /* per node: index into blocks of the block it ends, or -1 */
    xf_fused *blocks;
    size_t *offset; /* floats, per node */
    float **buf;    /* per node: arena + offset */
    float *arena;
    float *scratch;
    size_t reserved; /* bytes taken from the memory budget (budget.c) */
};

xf_session_opts xf_session_default_opts(void)
{
    xf_session_opts o;
    memset(&o, 0, sizeof o);
    o.max_batch = 1;
    o.pool = XF_POOL_AVG;
    return o;
}

typedef struct {
    int node;
    size_t size;
} slot;

static int cmp_slot(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->node - y->node;
}

/* The fused blocks (fuse.h) among the needed nodes, unless $XF_NO_FUSE is set (tests compare
 * the two): their inner nodes get inside[] = 1 (a gate pooling the block computes: 2), their
 * last node an index into s->blocks. */
static xf_status find_blocks(xf_session *s, const xf_graph *g, xf_error *err)
{
    int n = g->n_nodes;
    unsigned char *out = calloc((size_t) n, 1);
    s->inside = calloc((size_t) n, 1);
    s->block = malloc((size_t) n * sizeof *s->block);
    s->blocks = malloc((size_t) n * sizeof *s->blocks);
    if (!out || !s->inside || !s->block || !s->blocks) {
        free(out);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    for (int l = 0; l < s->n_layers; l++)
        out[s->layer[l]] = 1;
    const char *off = getenv("XF_NO_FUSE");
    int fuse = !(off && *off && strcmp(off, "0") != 0);
    int nb = xf__fuse_plan(g, s->needed, out, fuse, s->inside, s->block, s->blocks);
    free(out);
    if (nb < 0)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    return XF_OK;
}

/* Greedy by size: each tensor takes the lowest offset free during its lifetime. */
static size_t plan(const xf_graph *g, const unsigned char *needed, const int *first,
                   const int *last, int batch, size_t *offset)
{
    int n = g->n_nodes, k = 0;
    slot *order = malloc((size_t) n * sizeof *order);
    int *placed = malloc((size_t) n * sizeof *placed);
    if (!order || !placed) {
        free(order);
        free(placed);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (needed[i]) {
            /* 16-float (64-byte) granularity keeps every tensor aligned */
            size_t sz = (xf__node_floats(&g->nodes[i], batch) + 15) & ~(size_t) 15;
            order[k].node = i;
            order[k].size = sz;
            k++;
        }
    qsort(order, (size_t) k, sizeof *order, cmp_slot);
    size_t total = 0;
    int n_placed = 0;
    for (int a = 0; a < k; a++) {
        int i = order[a].node;
        size_t off = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int p = 0; p < n_placed; p++) {
                int j = placed[p];
                int overlap_time = !(last[j] < first[i] || last[i] < first[j]);
                size_t jend =
                    offset[j] + ((xf__node_floats(&g->nodes[j], batch) + 15) & ~(size_t) 15);
                if (overlap_time && off < jend && offset[j] < off + order[a].size) {
                    off = jend;
                    moved = 1;
                }
            }
        }
        offset[i] = off;
        placed[n_placed++] = i;
        if (off + order[a].size > total)
            total = off + order[a].size;
    }
    free(order);
    free(placed);
    return total ? total : 16;
}

/* Checks the options and resolves the layers (node indices, feature length): no allocation. */
static xf_status resolve(const xf_model *model, const xf_session_opts *o, int *layer, int *n_layers,
                         int64_t *dim, xf_error *err)
{
    if (o->n_layers < 0 || o->n_layers > XF_MAX_LAYERS)
        return xf__fail(err, XF_ERR_ARG, "%d layers requested (limit %d)", o->n_layers,
                        XF_MAX_LAYERS);
    if (o->pool != XF_POOL_AVG && o->pool != XF_POOL_MAX && o->pool != XF_POOL_NONE)
        return xf__fail(err, XF_ERR_ARG, "unknown pooling %d", (int) o->pool);
    *n_layers = o->n_layers ? o->n_layers : 1;
    *dim = 0;
    for (int l = 0; l < *n_layers; l++) {
        const char *name = o->n_layers ? o->layers[l] : model->meta.feature_layer;
        int idx = name ? xf__graph_find(&model->graph, name) : -1;
        if (idx < 0)
            return xf__fail(err, XF_ERR_ARG, "unknown layer '%s' (see --list-layers)",
                            name ? name : "(null)");
        layer[l] = idx;
        const xf_node *nd = &model->graph.nodes[idx];
        *dim += o->pool == XF_POOL_NONE ? nd->h * nd->w * nd->c : nd->c;
    }
    return XF_OK;
}

xf_status xf_session_check(const xf_model *model, const xf_session_opts *opts, int64_t *dim,
                           xf_error *err)
{
    int layer[XF_MAX_LAYERS], n;
    return resolve(model, opts, layer, &n, dim, err);
}

xf_status xf_session_create(const xf_model *model, const xf_session_opts *opts, xf_session **out,
                            xf_error *err)
{
    if (!model || !out)
        return xf__fail(err, XF_ERR_ARG, "xf_session_create: NULL argument");
    *out = NULL;
    xf_session_opts o = opts ? *opts : xf_session_default_opts();
    if (o.max_batch < 1 || o.max_batch > 4096)
        return xf__fail(err, XF_ERR_ARG, "batch size %d outside 1..4096", o.max_batch);
    const xf_graph *g = &model->graph;
    xf_session *s = calloc(1, sizeof *s);
    if (!s)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    s->model = model;
    s->max_batch = o.max_batch;
    s->pool = o.pool;
    s->l2norm = o.l2norm;
    xf_status st = resolve(model, &o, s->layer, &s->n_layers, &s->feat_dim, err);
    if (st) {
        xf_session_free(s);
        return st;
    }
    int n = g->n_nodes;
    s->needed = calloc((size_t) n, 1);
    s->offset = calloc((size_t) n, sizeof *s->offset);
    int *last = malloc(2 * (size_t) n * sizeof *last), *first = last ? last + n : NULL;
    if (!s->needed || !s->offset || !last) {
        free(last);
        xf_session_free(s);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    for (int l = 0; l < s->n_layers; l++)
        s->needed[s->layer[l]] = 1;
    for (int i = n - 1; i >= 0; i--)
        if (s->needed[i])
            for (int k = 0; k < g->nodes[i].n_in; k++)
                s->needed[g->nodes[i].in[k]] = 1;
    if ((st = find_blocks(s, g, err))) {
        free(last);
        xf_session_free(s);
        return st;
    }
    /* lifetimes: a tensor lives from the step that writes it (its own, or the block's that
     * computes it) until the last step that reads it (a fused block reads its input, residual
     * and gate); nodes inside a block have no tensor */
    unsigned char *alloc = malloc((size_t) n);
    if (!alloc) {
        free(last);
        xf_session_free(s);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++)
        first[i] = last[i] = i, alloc[i] = s->needed[i] && s->inside[i] != 1;
    for (int i = 0; i < n; i++) {
        if (!alloc[i])
            continue;
        const xf_fused *f = s->block[i] >= 0 ? &s->blocks[s->block[i]] : NULL;
        int reads[XF_NODE_MAX_IN], nr = 0;
        if (f) {
            reads[nr++] = f->x;
            if (f->a >= 0)
                reads[nr++] = f->res;
            if (f->m >= 0)
                reads[nr++] = f->gate;
            if (f->gap >= 0) /* written by the block, at its step */
                first[f->gap] = i;
        } else {
            for (int k = 0; k < g->nodes[i].n_in; k++)
                reads[nr++] = g->nodes[i].in[k];
        }
        for (int k = 0; k < nr; k++)
            if (last[reads[k]] < i)
                last[reads[k]] = i;
    }
    for (int l = 0; l < s->n_layers; l++)
        last[s->layer[l]] = n;
    size_t scratch = 16;
    for (int i = 0; i < n; i++) {
        size_t sc = !alloc[i]          ? 0
                    : s->block[i] >= 0 ? xf__fused_scratch(g, &s->blocks[s->block[i]])
                                       : xf__node_scratch(g, &g->nodes[i]);
        scratch = sc > scratch ? sc : scratch;
    }
    size_t total = plan(g, alloc, first, last, 1, s->offset); /* images go through one at a time */
    free(alloc);
    free(last);
    size_t bytes, need;
    if (!total || !xf__mul_size(total, sizeof(float), &bytes) ||
        !xf__add_size(bytes, scratch * sizeof(float), &need)) {
        xf_session_free(s);
        return xf__fail(err, XF_ERR_NOMEM, "the model's activations overflow a size");
    }
    if (!xf__memory_take(need)) {
        size_t budget = xf__memory_budget(), used = xf__memory_taken();
        xf_session_free(s);
        return xf__fail(err, XF_ERR_NOMEM,
                        "one image through this model needs %.1f MiB of activations, over the "
                        "memory budget of %.1f MiB (%.1f MiB in use; XFER_MAX_MEMORY or "
                        "--max-memory sets it)",
                        (double) need / 1048576.0, (double) budget / 1048576.0,
                        (double) used / 1048576.0);
    }
    s->reserved = need;
    if (!(s->arena = xf__alloc(bytes)) || !(s->scratch = xf__alloc(scratch * sizeof(float)))) {
        xf_session_free(s);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory for a %zu MiB activation arena",
                        total * sizeof(float) >> 20);
    }
    if (!(s->buf = calloc((size_t) n, sizeof *s->buf))) {
        xf_session_free(s);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++)
        s->buf[i] = s->arena + s->offset[i];
    xf__log(XF_LOG_DEBUG, "xfer: session arena %.1f MiB, scratch %.1f MiB (batch %d)\n",
            (double) total * 4 / 1048576.0, (double) scratch * 4 / 1048576.0, o.max_batch);
    if (o.threads > 0)
        xf__blas_threads(o.threads);
    *out = s;
    return XF_OK;
}

size_t xf__session_reserved(const xf_session *s)
{
    return s->reserved;
}

void xf_session_free(xf_session *s)
{
    if (!s)
        return;
    free(s->needed);
    free(s->inside);
    free(s->block);
    free(s->blocks);
    free(s->offset);
    free(s->buf);
    free(s->arena);
    free(s->scratch);
    xf__memory_give(s->reserved);
    free(s);
}

int64_t xf_session_feat_dim(const xf_session *s)
{
    return s->feat_dim;
}

xf_status xf_session_run(xf_session *s, const float *input, int n, float *out, size_t out_len,
                         xf_error *err)
{
    if (!s || !input || !out)
        return xf__fail(err, XF_ERR_ARG, "xf_session_run: NULL argument");
    if (n < 1 || n > s->max_batch)
        return xf__fail(err, XF_ERR_ARG, "batch of %d images; session takes 1..%d", n,
                        s->max_batch);
    if (out_len < (size_t) n * (size_t) s->feat_dim)
        return xf__fail(err, XF_ERR_ARG, "output buffer holds %zu floats, need %lld", out_len,
                        (long long) n * s->feat_dim);
    const xf_graph *g = &s->model->graph;
    size_t in_len = xf__node_floats(&g->nodes[0], 1);
    for (int b = 0; b < n; b++) { /* each image alone: its working set stays in cache */
        memcpy(s->arena + s->offset[0], input + (size_t) b * in_len, in_len * sizeof(float));
        for (int i = 1; i < g->n_nodes; i++)
            if (s->block[i] >= 0)
                xf__fused_forward(g, &s->blocks[s->block[i]], s->buf, 1, s->scratch);
            else if (s->needed[i] && !s->inside[i])
                xf__node_forward(g, i, s->buf, 1, s->scratch);
        float *ob = out + (size_t) b * (size_t) s->feat_dim;
        int64_t col = 0;
        for (int l = 0; l < s->n_layers; l++) {
            const xf_node *nd = &g->nodes[s->layer[l]];
            const float *tb = s->arena + s->offset[s->layer[l]];
            int64_t hw = nd->h * nd->w, c = nd->c;
            int64_t width = s->pool == XF_POOL_NONE ? hw * c : c;
            if (s->pool == XF_POOL_NONE) {
                memcpy(ob + col, tb, (size_t) width * sizeof(float));
            } else if (s->pool == XF_POOL_AVG) {
                xf__gap(tb, 1, hw, c, ob + col);
            } else {
                for (int64_t ch = 0; ch < c; ch++)
                    ob[col + ch] = -FLT_MAX;
                for (int64_t q = 0; q < hw; q++)
                    for (int64_t ch = 0; ch < c; ch++)
                        ob[col + ch] =
                            tb[q * c + ch] > ob[col + ch] ? tb[q * c + ch] : ob[col + ch];
            }
            col += width;
        }
        if (s->l2norm) { /* the whole vector, all layers */
            double n2 = 0;
            for (int64_t j = 0; j < s->feat_dim; j++)
                n2 += (double) ob[j] * (double) ob[j];
            float inv = n2 > 0 ? (float) (1.0 / sqrt(n2)) : 0.0f;
            for (int64_t j = 0; j < s->feat_dim; j++)
                ob[j] *= inv;
        }
    }
    return XF_OK;
}
