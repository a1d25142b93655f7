/* finetune.c — backpropagation through the unfrozen top of a backbone and a new MLP head.
 *
 * It is: building the trainable graph (input = the cached boundary tensor, copies of the
 * unfrozen nodes with their weights, global average pooling, hidden dense layers, logits);
 * mini-batch training with softmax cross-entropy (label smoothing), dropout, SGD/Nesterov/
 * Adam/AdamW, weight decay on trainable parameters only, linear warm-up + cosine schedule,
 * early stopping on validation accuracy keeping the best parameters; and writing the backbone
 * + head as one weights file through the converters' builder. It is not: data loading.
 */
#include "finetune.h"
#include "graph_build.h"
#include "ops.h"

#include <math.h>
#include <string.h>
#include <time.h>

xf_ft_opts xf__ft_default_opts(void)
{
    xf_ft_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 20;
    o.batch = 32;
    o.lr = 1e-3f;
    o.weight_decay = 1e-4f;
    o.momentum = 0.9f;
    o.opt = XF_OPT_ADAMW;
    o.warmup = 1;
    o.patience = 5;
    o.seed = 1;
    o.step_gamma = 0.1f;
    return o;
}

/* ---- which nodes train ---------------------------------------------------------------------- */
static xf_status plan_nodes(const xf_model *m, const xf_ft_opts *o, int *u_out, int *b_out,
                            int *f_out, unsigned char *train, xf_error *err)
{
    const xf_graph *g = &m->graph;
    int f = xf__graph_find(g, m->meta.feature_layer);
    *f_out = f;
    if (!o->unfreeze_from && o->unfreeze > 0) { /* the last K weighted nodes, then earlier */
        int u = f + 1, seen = 0;
        while (u > 1 && seen < o->unfreeze)
            seen += g->nodes[--u].n_params > 0;
        for (; u >= 1; u--) {
            xf_ft_opts q = *o;
            q.unfreeze = 0;
            q.unfreeze_from = g->nodes[u].name;
            xf_error e2;
            if (plan_nodes(m, &q, u_out, b_out, f_out, train, &e2) == XF_OK)
                return XF_OK;
        }
        return xf__fail(err, XF_ERR_ARG, "--unfreeze %d: no single-tensor boundary found",
                        o->unfreeze);
    }
    if (!o->unfreeze_from) {
        *u_out = *b_out = -1;
        return XF_OK;
    }
    int u = xf__graph_find_node(g, o->unfreeze_from);
    if (u < 1)
        return xf__fail(err, XF_ERR_ARG, "--unfreeze-from '%s': no such node", o->unfreeze_from);
    if (u > f)
        return xf__fail(err, XF_ERR_ARG, "--unfreeze-from '%s' comes after the feature layer '%s'",
                        o->unfreeze_from, m->meta.feature_layer);
    if (g->nodes[u].n_in != 1)
        return xf__fail(err, XF_ERR_ARG, "--unfreeze-from '%s' has %d inputs; start at a node "
                        "with one", o->unfreeze_from, g->nodes[u].n_in);
    int b = g->nodes[u].in[0];
    memset(train, 0, (size_t) g->n_nodes);
    train[f] = 1;
    for (int i = f; i >= u; i--)
        if (train[i])
            for (int k = 0; k < g->nodes[i].n_in; k++)
                if (g->nodes[i].in[k] >= u)
                    train[g->nodes[i].in[k]] = 1;
    for (int i = u; i <= f; i++)
        for (int k = 0; train[i] && k < g->nodes[i].n_in; k++) {
            int j = g->nodes[i].in[k];
            if (j != b && !(j >= u && train[j]))
                return xf__fail(err, XF_ERR_ARG, "--unfreeze-from '%s': node '%s' also reads '%s' "
                                "from the frozen part; unfreeze from an earlier node",
                                o->unfreeze_from, g->nodes[i].name, g->nodes[j].out_name);
            for (int k2 = 0; k2 < k; k2++)
                if (g->nodes[i].in[k2] == j)
                    return xf__fail(err, XF_ERR_UNSUPPORTED, "node '%s' reads one tensor twice",
                                    g->nodes[i].name);
        }
    *u_out = u;
    *b_out = b;
    return XF_OK;
}

xf_status xf__ft_boundary(const xf_model *m, const xf_ft_opts *o, const char **layer,
                          int *pooled, xf_error *err)
{
    unsigned char *train = calloc((size_t) m->graph.n_nodes, 1);
    int u, b, f;
    if (!train)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    xf_status s = plan_nodes(m, o, &u, &b, &f, train, err);
    free(train);
    if (s)
        return s;
    *layer = b < 0 ? m->meta.feature_layer : m->graph.nodes[b].out_name;
    *pooled = b < 0;
    return XF_OK;
}

/* ---- the trainable graph -------------------------------------------------------------------- */
typedef struct {
    xf_graph g;     /* node 0: input (boundary); then trainable nodes; then the head */
    int *src;       /* model node index of each graph node, -1 for input and head */
    float **w, **b; /* owned parameters per node (NULL when none) */
    float **dw, **db, **m1, **m2, **v1, **v2;
    size_t *nw;
    unsigned char *frozen; /* parameters not updated (affine nodes under --freeze-bn) */
    unsigned char *drop;   /* dropout on this node's output (the last node of a hidden layer) */
    int n_head_first; /* first head node */
} tgraph;

static int64_t weight_count(const xf_graph *g, const xf_node *nd)
{
    int64_t shape[4], n = 1;
    int nd_ = xf__node_weight_shape(g, nd, shape);
    for (int d = 0; d < nd_; d++)
        n *= shape[d];
    return nd_ ? n : 0;
}

static void tg_free(tgraph *t)
{
    for (int i = 0; i < t->g.n_nodes; i++) {
        free(t->g.nodes[i].name);
        free(t->g.nodes[i].out_name);
        free(t->w[i]), free(t->b[i]), free(t->dw[i]), free(t->db[i]);
        free(t->m1[i]), free(t->m2[i]), free(t->v1[i]), free(t->v2[i]);
    }
    free(t->g.nodes);
    free(t->src), free(t->w), free(t->b), free(t->dw), free(t->db);
    free(t->m1), free(t->m2), free(t->v1), free(t->v2), free(t->nw);
    free(t->frozen), free(t->drop);
}

static uint64_t rnd_u64(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static double rnd_normal(uint64_t *s)
{
    double u1 = ((double) (rnd_u64(s) >> 11) + 1) / 9007199254740993.0;
    double u2 = (double) (rnd_u64(s) >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static int tg_add(tgraph *t, const xf_node *proto, const char *name, const char *out, int src,
                  xf_error *err)
{
    int i = t->g.n_nodes;
    xf_node *nd = &t->g.nodes[i];
    *nd = *proto;
    nd->name = strdup(name);
    nd->out_name = strdup(out);
    t->g.n_nodes++;
    t->src[i] = src;
    if (!nd->name || !nd->out_name || xf__node_infer(&t->g, nd, err) != XF_OK) {
        if (!nd->name || !nd->out_name)
            xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return -1;
    }
    return i;
}

static xf_status tg_params(tgraph *t, int i, const float *w0, const float *b0, uint64_t *seed,
                           xf_error *err)
{
    xf_node *nd = &t->g.nodes[i];
    int64_t nw = weight_count(&t->g, nd);
    if (nw == 0)
        return XF_OK;
    size_t nb = (size_t) nd->c;
    t->nw[i] = (size_t) nw;
    t->w[i] = malloc((size_t) nw * sizeof(float));
    t->b[i] = calloc(nb, sizeof(float));
    t->dw[i] = calloc((size_t) nw, sizeof(float)), t->db[i] = calloc(nb, sizeof(float));
    t->m1[i] = calloc((size_t) nw, sizeof(float)), t->m2[i] = calloc(nb, sizeof(float));
    t->v1[i] = calloc((size_t) nw, sizeof(float)), t->v2[i] = calloc(nb, sizeof(float));
    if (!t->w[i] || !t->b[i] || !t->dw[i] || !t->db[i] || !t->m1[i] || !t->m2[i] || !t->v1[i] ||
        !t->v2[i])
        return xf__fail(err, XF_ERR_NOMEM, "out of memory for trainable parameters");
    if (w0) {
        memcpy(t->w[i], w0, (size_t) nw * sizeof(float));
        if (b0)
            memcpy(t->b[i], b0, nb * sizeof(float));
    } else if (nd->op == XF_OP_PRELU) { /* PyTorch's initial slope */
        for (int64_t j = 0; j < nw; j++)
            t->w[i][j] = 0.25f;
    } else { /* He initialisation, fan-in = weights per output */
        double sd = sqrt(2.0 / (double) (nw / nd->c));
        for (int64_t j = 0; j < nw; j++)
            t->w[i][j] = (float) (sd * rnd_normal(seed));
    }
    nd->weight = t->w[i];
    nd->bias = t->b[i];
    return XF_OK;
}

static xf_status build(const xf_model *m, const xf_ft_opts *o, int k, tgraph *t, xf_error *err)
{
    const xf_graph *g = &m->graph;
    int cap = 2 * g->n_nodes + 8; /* + act nodes split off trainable nodes */
    memset(t, 0, sizeof *t);
    t->g.nodes = calloc((size_t) cap, sizeof *t->g.nodes);
    t->src = calloc((size_t) cap, sizeof *t->src);
    t->w = calloc((size_t) cap, sizeof(float *)), t->b = calloc((size_t) cap, sizeof(float *));
    t->dw = calloc((size_t) cap, sizeof(float *)), t->db = calloc((size_t) cap, sizeof(float *));
    t->m1 = calloc((size_t) cap, sizeof(float *)), t->m2 = calloc((size_t) cap, sizeof(float *));
    t->v1 = calloc((size_t) cap, sizeof(float *)), t->v2 = calloc((size_t) cap, sizeof(float *));
    t->nw = calloc((size_t) cap, sizeof(size_t));
    t->frozen = calloc((size_t) cap, 1), t->drop = calloc((size_t) cap, 1);
    unsigned char *train = calloc((size_t) g->n_nodes, 1);
    int *map = malloc((size_t) g->n_nodes * sizeof(int));
    xf_status s = XF_OK;
    if (!t->g.nodes || !t->src || !t->w || !t->b || !t->dw || !t->db || !t->m1 || !t->m2 ||
        !t->v1 || !t->v2 || !t->nw || !t->frozen || !t->drop || !train || !map) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        goto done;
    }
    int u, b, f;
    if ((s = plan_nodes(m, o, &u, &b, &f, train, err)))
        goto done;
    uint64_t seed = o->seed * 0x9E3779B97F4A7C15ull + 7;
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_INPUT;
    const xf_node *bn = &g->nodes[b < 0 ? f : b];
    p.h = b < 0 ? 1 : bn->h, p.w = b < 0 ? 1 : bn->w, p.c = bn->c;
    if (tg_add(t, &p, "ft_input", "ft_input", -1, err) < 0) {
        s = err->code;
        goto done;
    }
    int last = 0;
    if (b >= 0) {
        for (int i = 0; i < g->n_nodes; i++)
            map[i] = i == b ? 0 : -1;
        for (int i = u; i <= f; i++) {
            if (!train[i])
                continue;
            xf_node q = g->nodes[i];
            for (int kk = 0; kk < q.n_in; kk++)
                q.in[kk] = map[q.in[kk]];
            /* a fused SiLU/HardSwish/GELU needs its input for backward: split it off */
            xf_act split = q.op != XF_OP_ACT && !xf__act_invertible(q.act) ? q.act : XF_ACT_NONE;
            char pre[300];
            snprintf(pre, sizeof pre, "%s~pre", g->nodes[i].out_name);
            if (split)
                q.act = XF_ACT_NONE;
            int j = tg_add(t, &q, g->nodes[i].name, split ? pre : g->nodes[i].out_name, i, err);
            if (j < 0 || (s = tg_params(t, j, g->nodes[i].weight, g->nodes[i].bias, &seed, err))) {
                s = s ? s : err->code;
                goto done;
            }
            t->frozen[j] = o->freeze_bn && q.op == XF_OP_AFFINE;
            if (split) {
                memset(&p, 0, sizeof p);
                p.op = XF_OP_ACT, p.act = split, p.in[0] = j, p.n_in = 1;
                snprintf(pre, sizeof pre, "%s~act", g->nodes[i].name);
                if ((j = tg_add(t, &p, pre, g->nodes[i].out_name, -1, err)) < 0) {
                    s = err->code;
                    goto done;
                }
            }
            map[i] = last = j;
        }
        memset(&p, 0, sizeof p);
        p.op = XF_OP_GAP, p.in[0] = last, p.n_in = 1;
        if ((last = tg_add(t, &p, "ft_pool", "ft_pool", -1, err)) < 0) {
            s = err->code;
            goto done;
        }
    }
    t->n_head_first = t->g.n_nodes;
    for (int h = 0; h <= o->n_hidden; h++) {
        memset(&p, 0, sizeof p);
        p.op = XF_OP_DENSE, p.in[0] = last, p.n_in = 1;
        p.cout = h < o->n_hidden ? o->hidden[h] : k;
        p.act = h == o->n_hidden || o->prelu ? XF_ACT_NONE : o->leaky ? XF_ACT_LEAKY : XF_ACT_RELU;
        char name[32];
        snprintf(name, sizeof name, h < o->n_hidden ? "ft_hidden%d" : "ft_logits", h + 1);
        int j = tg_add(t, &p, name, name, -1, err);
        if (j < 0 || (s = tg_params(t, j, NULL, NULL, &seed, err))) {
            s = s ? s : err->code;
            goto done;
        }
        if (h < o->n_hidden && o->prelu) {
            memset(&p, 0, sizeof p);
            p.op = XF_OP_PRELU, p.in[0] = j, p.n_in = 1;
            snprintf(name, sizeof name, "ft_prelu%d", h + 1);
            if ((j = tg_add(t, &p, name, name, -1, err)) < 0 ||
                (s = tg_params(t, j, NULL, NULL, &seed, err))) {
                s = s ? s : err->code;
                goto done;
            }
        }
        t->drop[j] = h < o->n_hidden;
        last = j;
    }
done:
    free(train);
    free(map);
    return s;
}

/* ---- training -------------------------------------------------------------------------------- */
typedef struct {
    float **buf, **grad, **tmp; /* per node: activations, dL/d(output), scratch for inputs */
    unsigned char **mask;       /* dropout masks of hidden layers */
    float *scratch;
    int batch;
} work;

static size_t nfloats(const xf_node *nd, int n)
{
    return (size_t) n * (size_t) (nd->h * nd->w * nd->c);
}

static xf_status work_alloc(const tgraph *t, int batch, work *w, xf_error *err)
{
    int n = t->g.n_nodes;
    memset(w, 0, sizeof *w);
    w->batch = batch;
    w->buf = calloc((size_t) n, sizeof(float *));
    w->grad = calloc((size_t) n, sizeof(float *));
    w->tmp = calloc((size_t) n, sizeof(float *));
    w->mask = calloc((size_t) n, sizeof(unsigned char *));
    size_t sc = 16;
    int ok = w->buf && w->grad && w->tmp && w->mask;
    for (int i = 0; ok && i < n; i++) {
        const xf_node *nd = &t->g.nodes[i];
        size_t f = nfloats(nd, batch) + 16;
        ok = (w->buf[i] = xf__alloc(f * sizeof(float))) && (w->grad[i] = xf__alloc(f * sizeof(float))) &&
             (w->tmp[i] = xf__alloc(f * sizeof(float))) && (w->mask[i] = calloc(f, 1));
        size_t c2 = 2 * xf__node_scratch(&t->g, nd);
        sc = c2 > sc ? c2 : sc;
    }
    if (ok)
        ok = (w->scratch = xf__alloc(sc * sizeof(float))) != NULL;
    return ok ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory for training buffers");
}

static void work_free(const tgraph *t, work *w)
{
    for (int i = 0; i < t->g.n_nodes; i++) {
        if (w->buf)
            free(w->buf[i]);
        if (w->grad)
            free(w->grad[i]);
        if (w->tmp)
            free(w->tmp[i]);
        if (w->mask)
            free(w->mask[i]);
    }
    free(w->buf), free(w->grad), free(w->tmp), free(w->mask), free(w->scratch);
}

/* forward of rows [0, n) already in buf[0]; dropout on hidden layers when training */
static void forward(tgraph *t, work *w, int n, float dropout, uint64_t *seed)
{
    for (int i = 1; i < t->g.n_nodes; i++) {
        xf__node_forward(&t->g, i, w->buf, n, w->scratch);
        if (dropout > 0 && t->drop[i]) {
            size_t len = nfloats(&t->g.nodes[i], n);
            float keep = 1.0f / (1.0f - dropout);
            for (size_t j = 0; j < len; j++) {
                w->mask[i][j] = (double) (rnd_u64(seed) >> 11) / 9007199254740992.0 >= (double) dropout;
                w->buf[i][j] = w->mask[i][j] ? w->buf[i][j] * keep : 0.0f;
            }
        }
    }
}

static xf_status backward(tgraph *t, work *w, int n, float dropout, xf_error *err)
{
    int last = t->g.n_nodes - 1;
    for (int i = 1; i < last; i++)
        memset(w->grad[i], 0, nfloats(&t->g.nodes[i], n) * sizeof(float));
    float **view = calloc((size_t) t->g.n_nodes, sizeof(float *));
    if (!view)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    xf_status s = XF_OK;
    for (int i = last; i >= 1 && !s; i--) {
        const xf_node *nd = &t->g.nodes[i];
        if (dropout > 0 && t->drop[i]) {
            float keep = 1.0f / (1.0f - dropout);
            size_t len = nfloats(nd, n);
            for (size_t j = 0; j < len; j++)
                w->grad[i][j] = w->mask[i][j] ? w->grad[i][j] * keep : 0.0f;
        }
        /* inputs get their gradient in a scratch buffer, then summed (shared tensors) */
        view[i] = w->grad[i];
        for (int k = 0; k < nd->n_in; k++)
            view[nd->in[k]] = nd->in[k] > 0 ? w->tmp[nd->in[k]] : NULL;
        s = xf__node_backward(&t->g, i, w->buf, view, n, w->scratch, t->dw[i], t->db[i], err);
        for (int k = 0; k < nd->n_in; k++) {
            int j = nd->in[k];
            if (j > 0) {
                size_t len = nfloats(&t->g.nodes[j], n);
                for (size_t e = 0; e < len; e++)
                    w->grad[j][e] += w->tmp[j][e];
            }
            view[j] = NULL;
        }
        view[i] = NULL;
    }
    free(view);
    return s;
}

static void update(tgraph *t, const xf_ft_opts *o, float lr, long step)
{
    double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double c1 = 1 - pow(b1, (double) step), c2 = 1 - pow(b2, (double) step);
    for (int i = 1; i < t->g.n_nodes; i++) {
        if (!t->nw[i])
            continue;
        size_t nb = (size_t) t->g.nodes[i].c;
        if (t->frozen[i]) { /* no step, no decay: the gradient only flows through */
            memset(t->dw[i], 0, t->nw[i] * sizeof(float));
            memset(t->db[i], 0, nb * sizeof(float));
            continue;
        }
        float *p[2] = {t->w[i], t->b[i]}, *g[2] = {t->dw[i], t->db[i]};
        float *m[2] = {t->m1[i], t->m2[i]}, *v[2] = {t->v1[i], t->v2[i]};
        size_t len[2] = {t->nw[i], nb};
        for (int q = 0; q < 2; q++) {
            float wd = q == 0 ? o->weight_decay : 0.0f; /* no decay on biases */
            for (size_t j = 0; j < len[q]; j++) {
                double gr = (double) g[q][j];
                if (o->opt == XF_OPT_RMSPROP || o->opt == XF_OPT_ADAGRAD) {
                    gr += (double) wd * (double) p[q][j];
                    double vv = o->opt == XF_OPT_RMSPROP ? 0.9 * (double) v[q][j] + 0.1 * gr * gr
                                                         : (double) v[q][j] + gr * gr;
                    v[q][j] = (float) vv;
                    p[q][j] -= (float) ((double) lr * gr / (sqrt(vv) + 1e-8));
                } else if (o->opt == XF_OPT_ADAM || o->opt == XF_OPT_ADAMW) {
                    if (o->opt == XF_OPT_ADAM)
                        gr += (double) wd * (double) p[q][j];
                    m[q][j] = (float) (b1 * (double) m[q][j] + (1 - b1) * gr);
                    v[q][j] = (float) (b2 * (double) v[q][j] + (1 - b2) * gr * gr);
                    double upd = ((double) m[q][j] / c1) / (sqrt((double) v[q][j] / c2) + eps);
                    if (o->opt == XF_OPT_ADAMW)
                        upd += (double) wd * (double) p[q][j];
                    p[q][j] -= (float) ((double) lr * upd);
                } else {
                    gr += (double) wd * (double) p[q][j];
                    m[q][j] = (float) ((double) o->momentum * (double) m[q][j] + gr);
                    double d = o->opt == XF_OPT_NESTEROV ? gr + (double) o->momentum * (double) m[q][j]
                                                         : (double) m[q][j];
                    p[q][j] -= (float) ((double) lr * d);
                }
                g[q][j] = 0;
            }
        }
    }
}

static void evaluate(tgraph *t, work *w, const float *x, const int *y, size_t n, int64_t bdim,
                     double *loss, double *acc)
{
    int last = t->g.n_nodes - 1;
    int64_t k = t->g.nodes[last].c;
    double l = 0;
    size_t hit = 0;
    for (size_t r0 = 0; r0 < n; r0 += (size_t) w->batch) {
        int cnt = (int) (n - r0 < (size_t) w->batch ? n - r0 : (size_t) w->batch);
        memcpy(w->buf[0], x + r0 * (size_t) bdim, (size_t) cnt * (size_t) bdim * sizeof(float));
        forward(t, w, cnt, 0, NULL);
        l += xf__softmax_xent(w->buf[last], y + r0, cnt, k, 0, w->grad[last]) * cnt;
        for (int r = 0; r < cnt; r++) {
            const float *lg = w->buf[last] + (int64_t) r * k;
            int arg = 0;
            for (int64_t j = 1; j < k; j++)
                arg = lg[j] > lg[arg] ? (int) j : arg;
            hit += arg == y[r0 + (size_t) r];
        }
    }
    *loss = n ? l / (double) n : 0;
    *acc = n ? (double) hit / (double) n : 0;
}

/* ---- output ------------------------------------------------------------------------------------ */
static void copy_meta(const xf_wfile *wf, xf_wwriter *w)
{
    static const char *const skip[] = {"xfer.graph", "general.alignment", "xfer.format_version",
                                       "xfer.data.crc32c", "xfer.labels", "general.name"};
    for (int i = 0; i < wf->n_kv; i++) {
        const xf_kv *kv = &wf->kv[i];
        int s = 0;
        for (size_t j = 0; j < sizeof skip / sizeof *skip; j++)
            s |= strcmp(kv->key, skip[j]) == 0;
        if (s)
            continue;
        if (kv->type == XF_GGUF_STR)
            xf__ww_str(w, kv->key, kv->str);
        else if (kv->type == XF_GGUF_U32)
            xf__ww_u32(w, kv->key, (uint32_t) kv->num.f);
        else if (kv->type == XF_GGUF_F32)
            xf__ww_f32(w, kv->key, (float) kv->num.f);
        else if (kv->type == XF_GGUF_ARR && kv->arr_type == XF_GGUF_STR)
            xf__ww_strs(w, kv->key, (const char *const *) kv->strs, (int) kv->count);
        else if (kv->type == XF_GGUF_ARR && kv->arr_type == XF_GGUF_F32 && kv->count <= 64) {
            float v[64];
            for (uint64_t j = 0; j < kv->count; j++)
                v[j] = (float) kv->nums[j];
            xf__ww_f32s(w, kv->key, v, (int) kv->count);
        }
    }
}

static float *dup_floats(const float *p, size_t n)
{
    float *d = p ? malloc(n * sizeof(float) + 4) : NULL;
    if (d)
        memcpy(d, p, n * sizeof(float));
    return d;
}

static xf_status write_model(const xf_model *m, const tgraph *t, char *const *labels, int k,
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
    for (int j = 1; j < t->g.n_nodes; j++)
        if (t->src[j] >= 0)
            from_t[t->src[j]] = j;
    for (int i = 0; i < g->n_nodes && !s; i++) { /* the backbone, trained nodes updated */
        const xf_node *nd = &g->nodes[i];
        if (xf__gb_add(&c, nd, nd->name, nd->out_name, err) < 0) {
            s = err->code;
            break;
        }
        int64_t nw = nd->op == XF_OP_INPUT ? 0 : weight_count(g, nd);
        if (!nw)
            continue;
        int64_t shape[4];
        int ndims = xf__node_weight_shape(g, nd, shape);
        int j = from_t[i];
        const float *w = j >= 0 ? t->w[j] : nd->weight, *b = j >= 0 ? t->b[j] : nd->bias;
        xf__gb_set_params(&c, i, dup_floats(w, (size_t) nw), shape, ndims,
                       nd->op == XF_OP_PRELU ? NULL : dup_floats(b, (size_t) nd->c));
    }
    /* the head: pooled feature layer -> dense layers -> softmax */
    int prev = xf__graph_find(g, m->meta.feature_layer);
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_GAP, p.in[0] = prev, p.n_in = 1;
    if (!s && (prev = xf__gb_add(&c, &p, "ft_pool", NULL, err)) < 0)
        s = err->code;
    for (int j = t->n_head_first; j < t->g.n_nodes && !s; j++) {
        xf_node q = t->g.nodes[j];
        q.in[0] = prev;
        int idx = xf__gb_add(&c, &q, q.name, NULL, err);
        if (idx < 0) {
            s = err->code;
            break;
        }
        int64_t shape[4];
        int ndims = xf__node_weight_shape(&t->g, &t->g.nodes[j], shape);
        xf__gb_set_params(&c, idx, dup_floats(t->w[j], t->nw[j]), shape, ndims,
                       q.op == XF_OP_PRELU ? NULL : dup_floats(t->b[j], (size_t) q.c));
        prev = idx;
    }
    memset(&p, 0, sizeof p);
    p.op = XF_OP_SOFTMAX, p.in[0] = prev, p.n_in = 1;
    if (!s && xf__gb_add(&c, &p, "ft_prob", NULL, err) < 0)
        s = err->code;
    if (!s) {
        copy_meta(m->wf, c.meta);
        const char *name = xf_model_meta_str(m, "general.name");
        char full[512];
        snprintf(full, sizeof full, "%s, fine-tuned", name ? name : "backbone");
        if (!xf__ww_str(c.meta, "general.name", full) ||
            !xf__ww_strs(c.meta, "xfer.labels", (const char *const *) labels, k) ||
            !xf__ww_str(c.meta, "xfer.finetune", info))
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    if (!s)
        s = xf__gb_write(&c, path, err);
    free(from_t);
    xf__gb_free(&c);
    return s;
}

/* ---- the loop ----------------------------------------------------------------------------------- */
static xf_status snapshot(const tgraph *t, float ***best, xf_error *err)
{
    if (!*best && !(*best = calloc((size_t) t->g.n_nodes * 2, sizeof(float *))))
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < t->g.n_nodes; i++) {
        if (!t->nw[i])
            continue;
        size_t nb = (size_t) t->g.nodes[i].c;
        if (!(*best)[2 * i] && (!((*best)[2 * i] = malloc(t->nw[i] * sizeof(float))) ||
                                !((*best)[2 * i + 1] = malloc(nb * sizeof(float)))))
            return xf__fail(err, XF_ERR_NOMEM, "out of memory");
        memcpy((*best)[2 * i], t->w[i], t->nw[i] * sizeof(float));
        memcpy((*best)[2 * i + 1], t->b[i], nb * sizeof(float));
    }
    return XF_OK;
}

xf_status xf__finetune(const xf_model *m, const xf_ft_opts *o, float *train_x,
                       const int *train_y, size_t n_train, const float *val_x, const int *val_y,
                       size_t n_val, int64_t bdim, int k, char *const *labels,
                       const char *out_path, xf_error *err)
{
    if (o->epochs < 1 || o->batch < 1 || !(o->lr > 0) || o->dropout < 0 || o->dropout >= 1 ||
        n_train < 1 || k < 2)
        return xf__fail(err, XF_ERR_ARG, "bad fine-tuning settings or no data");
    tgraph t;
    work w;
    memset(&w, 0, sizeof w);
    xf_status s = build(m, o, k, &t, err);
    if (!s && t.g.nodes[0].h * t.g.nodes[0].w * t.g.nodes[0].c != bdim)
        s = xf__fail(err, XF_ERR_ARG, "cached rows have %lld floats, the trainable part reads %lld",
                     (long long) bdim, (long long) (t.g.nodes[0].h * t.g.nodes[0].w * t.g.nodes[0].c));
    if (!s)
        s = work_alloc(&t, o->batch, &w, err);
    size_t *order = malloc(n_train * sizeof *order);
    int *yb = malloc((size_t) o->batch * sizeof *yb);
    float **best = NULL;
    if (!s && (!order || !yb))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    uint64_t seed = o->seed * 0x2545F4914F6CDD1Dull + 3;
    double best_acc = -1, best_loss = 1e300;
    int best_epoch = 0, since = 0, last = t.g.n_nodes - 1;
    long step = 0, steps_per_epoch = (long) ((n_train + (size_t) o->batch - 1) / (size_t) o->batch);
    long total = steps_per_epoch * o->epochs, warm = steps_per_epoch * o->warmup;
    for (size_t i = 0; !s && i < n_train; i++)
        order[i] = i;
    float *cw = NULL;
    if (!s && o->balanced) {
        cw = calloc((size_t) k, sizeof(float));
        if (!cw)
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        for (size_t i = 0; cw && i < n_train; i++)
            cw[train_y[i]] += 1;
        int present = 0;
        for (int j = 0; cw && j < k; j++)
            present += cw[j] > 0;
        for (int j = 0; cw && j < k; j++)
            cw[j] = cw[j] > 0 ? (float) n_train / ((float) present * cw[j]) : 0.0f;
    }
    for (int ep = 1; !s && ep <= o->epochs; ep++) {
        struct timespec t0, t1;
        if (o->refresh && (s = o->refresh(o->refresh_user, ep, train_x, err)))
            break;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = n_train; i > 1; i--) { /* shuffle */
            size_t j = (size_t) (rnd_u64(&seed) % i), tmp = order[i - 1];
            order[i - 1] = order[j];
            order[j] = tmp;
        }
        double tl = 0;
        for (size_t r0 = 0; !s && r0 < n_train; r0 += (size_t) o->batch) {
            int cnt = (int) (n_train - r0 < (size_t) o->batch ? n_train - r0 : (size_t) o->batch);
            for (int r = 0; r < cnt; r++) {
                memcpy(w.buf[0] + (size_t) r * (size_t) bdim, train_x + order[r0 + (size_t) r] * (size_t) bdim,
                       (size_t) bdim * sizeof(float));
                yb[r] = train_y[order[r0 + (size_t) r]];
            }
            forward(&t, &w, cnt, o->dropout, &seed);
            tl += xf__softmax_xent(w.buf[last], yb, cnt, k, o->label_smoothing, w.grad[last]) * cnt;
            if (cw) /* class weights scale each row's gradient */
                for (int r = 0; r < cnt; r++)
                    for (int j = 0; j < k; j++)
                        w.grad[last][(size_t) r * (size_t) k + (size_t) j] *= cw[yb[r]];
            if ((s = backward(&t, &w, cnt, o->dropout, err)))
                break;
            step++;
            double lr = step <= warm ? (double) o->lr * (double) step / (double) warm
                        : o->step_every > 0
                            ? (double) o->lr *
                                  pow((double) o->step_gamma, (double) ((ep - 1) / o->step_every))
                            : (double) o->lr * 0.5 *
                                  (1 + cos(3.141592653589793 * (double) (step - warm) /
                                           (double) (total - warm + 1)));
            update(&t, o, (float) lr, step);
        }
        if (s)
            break;
        struct timespec t_mid;
        clock_gettime(CLOCK_MONOTONIC, &t_mid);
        double train_secs = (double) (t_mid.tv_sec - t0.tv_sec) +
                            (double) (t_mid.tv_nsec - t0.tv_nsec) * 1e-9;
        double vl = 0, va = 0;
        evaluate(&t, &w, n_val ? val_x : train_x, n_val ? val_y : train_y, n_val ? n_val : n_train,
                 bdim, &vl, &va);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double) (t1.tv_sec - t_mid.tv_sec) + (double) (t1.tv_nsec - t_mid.tv_nsec) * 1e-9;
        int better = va > best_acc || (va == best_acc && vl < best_loss);
        if (o->verbose)
            xf__log(XF_LOG_INFO, "finetune: epoch %2d  train loss %.4f  %s loss %.4f  %s accuracy "
                    "%.4f  train %.2f s  eval %.2f s%s\n", ep, tl / (double) n_train,
                    n_val ? "val" : "train (eval)", vl, n_val ? "val" : "train (eval)", va,
                    train_secs, secs, better ? "  *" : "");
        if (better) {
            best_acc = va, best_loss = vl, best_epoch = ep, since = 0;
            s = snapshot(&t, &best, err);
        } else if (o->patience && ++since >= o->patience) {
            if (o->verbose)
                xf__log(XF_LOG_INFO, "finetune: no better %s accuracy for %d epochs, stopping\n",
                        n_val ? "val" : "train", o->patience);
            break;
        }
    }
    if (!s && best) { /* restore the best epoch */
        for (int i = 0; i < t.g.n_nodes; i++)
            if (t.nw[i]) {
                memcpy(t.w[i], best[2 * i], t.nw[i] * sizeof(float));
                memcpy(t.b[i], best[2 * i + 1], (size_t) t.g.nodes[i].c * sizeof(float));
            }
        char info[512];
        snprintf(info, sizeof info,
                 "{\"unfreeze_from\":\"%s\",\"trainable_nodes\":%d,\"hidden\":%d,\"best_epoch\":%d,"
                 "\"%s_accuracy\":%.4f,\"optimizer\":%d,\"lr\":%g,\"batch\":%d,\"seed\":%llu}",
                 o->unfreeze_from ? o->unfreeze_from : "", t.n_head_first - 2 < 0 ? 0 : t.n_head_first - 2,
                 o->n_hidden, best_epoch, n_val ? "val" : "train", best_acc, (int) o->opt,
                 (double) o->lr, o->batch, (unsigned long long) o->seed);
        s = write_model(m, &t, labels, k, info, out_path, err);
    }
    if (best)
        for (int i = 0; i < 2 * t.g.n_nodes; i++)
            free(best[i]);
    free(best);
    free(cw);
    free(order);
    free(yb);
    work_free(&t, &w);
    tg_free(&t);
    return s;
}
