/* ft_write.c — the result of fine-tuning as an ordinary weights file (see ft_graph.h).
 *
 * It is: the backbone's graph with each trained node's weights replaced, global pooling of the
 * feature layer, the head's layers, a softmax, the class names and the backbone's metadata
 * (renamed, with the xfer.finetune record). It is not: training.
 */
#include "ft_graph.h"
#include "model.h"

#include <string.h>

static float *dup_floats(const float *p, size_t n)
{
    float *d = p ? malloc(n * sizeof(float) + 4) : NULL;
    if (d)
        memcpy(d, p, n * sizeof(float));
    return d;
}

xf_status xf__ft_write(const xf_model *m, const xf_ftgraph *t, char *const *labels, int k,
                       const char *info, const char *path, xf_error *err)
{
    const xf_graph *g = &m->graph;
    xf_gbuild c;
    xf_status s = xf__gb_init(&c, err);
    if (s)
        return s;
    int *from_t = malloc((size_t) g->n_nodes * sizeof(int));
    if (!from_t) {
        xf__gb_free(&c);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++)
        from_t[i] = -1;
    for (int j = 1; j < t->gb.g.n_nodes; j++)
        if (t->src[j] >= 0)
            from_t[t->src[j]] = j;
    for (int i = 0; i < g->n_nodes && !s; i++) { /* the backbone, trained nodes updated */
        const xf_node *nd = &g->nodes[i];
        if (xf__gb_add(&c, nd, nd->name, nd->out_name, err) < 0) {
            s = err->code;
            break;
        }
        int64_t nw = nd->op == XF_OP_INPUT ? 0 : xf__node_weight_count(g, nd);
        if (!nw)
            continue;
        int64_t shape[4];
        int ndims = xf__node_weight_shape(g, nd, shape);
        int j = from_t[i];
        const float *w = j >= 0 ? t->w[j].p : nd->weight, *b = j >= 0 ? t->b[j].p : nd->bias;
        xf__gb_set_params(&c, i, dup_floats(w, (size_t) nw), shape, ndims,
                          xf__op(nd->op)->bias ? dup_floats(b, (size_t) nd->c) : NULL);
    }
    /* the head: pooled feature layer -> dense layers -> softmax */
    int prev = xf__graph_find(g, m->meta.feature_layer);
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_GAP, p.in[0] = prev, p.n_in = 1;
    if (!s && (prev = xf__gb_add(&c, &p, "ft_pool", NULL, err)) < 0)
        s = err->code;
    for (int j = t->head_first; j < t->gb.g.n_nodes && !s; j++) {
        xf_node q = t->gb.g.nodes[j];
        q.in[0] = prev;
        int idx = xf__gb_add(&c, &q, q.name, NULL, err);
        if (idx < 0) {
            s = err->code;
            break;
        }
        int64_t shape[4];
        int ndims = xf__node_weight_shape(&t->gb.g, &t->gb.g.nodes[j], shape);
        xf__gb_set_params(&c, idx, dup_floats(t->w[j].p, t->w[j].n), shape, ndims,
                          t->b[j].n ? dup_floats(t->b[j].p, t->b[j].n) : NULL);
        prev = idx;
    }
    memset(&p, 0, sizeof p);
    p.op = XF_OP_SOFTMAX, p.in[0] = prev, p.n_in = 1;
    if (!s && xf__gb_add(&c, &p, "ft_prob", NULL, err) < 0)
        s = err->code;
    if (!s) { /* the backbone's metadata, renamed, with the new classes and the record */
        xf_meta meta = m->meta;
        char full[512];
        snprintf(full, sizeof full, "%s, fine-tuned", meta.name ? meta.name : "backbone");
        meta.name = full, meta.labels = labels, meta.n_labels = k, meta.finetune = info;
        if (!xf__meta_write(c.meta, &meta))
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    if (!s)
        s = xf__gb_write(&c, path, err);
    free(from_t);
    xf__gb_free(&c);
    return s;
}
