/* ft_graph.c — what trains, and the trainable graph (see ft_graph.h).
 *
 * It is: the unfreezing plan (a single boundary tensor between the frozen and the trainable
 * part), copies of the unfrozen nodes with their weights, a fused SiLU/HardSwish/GELU split off
 * into an act node (their backward needs the input), He-initialised head layers. It is not:
 * training.
 */
#include "ft_graph.h"
#include "model.h"
#include "ops.h"

#include <math.h>
#include <string.h>

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
        return xf__fail(err, XF_ERR_ARG,
                        "--unfreeze-from '%s' has %d inputs; start at a node "
                        "with one",
                        o->unfreeze_from, g->nodes[u].n_in);
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
                return xf__fail(err, XF_ERR_ARG,
                                "--unfreeze-from '%s': node '%s' also reads '%s' "
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

int64_t xf__ft_boundary_dim(const xf_model *m, const char *layer, int pooled)
{
    int64_t h, w, c;
    xf_model_tensor_shape(m, xf_model_tensor_find(m, layer), &h, &w, &c);
    return pooled ? c : h * w * c;
}

xf_status xf__ft_boundary(const xf_model *m, const xf_ft_opts *o, const char **layer, int *pooled,
                          xf_error *err)
{
    unsigned char *train = calloc((size_t) m->graph.n_nodes, 1);
    int u, b, f;
    if (!train)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    xf_status s = plan_nodes(m, o, &u, &b, &f, train, err);
    free(train);
    if (s)
        return s;
    if (b < 0 && o->pretrain_epochs > 0)
        return xf__fail(err, XF_ERR_ARG,
                        "--pretrain-epochs trains the backbone's top nodes: give --unfreeze-from "
                        "or --unfreeze (a head on frozen features would be thrown away)");
    *layer = b < 0 ? m->meta.feature_layer : m->graph.nodes[b].out_name;
    *pooled = b < 0;
    return XF_OK;
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

static int tg_add(xf_ftgraph *t, const xf_node *proto, const char *name, const char *out, int src,
                  xf_error *err)
{
    int i = xf__gb_add(&t->gb, proto, name, out, err);
    if (i >= 0)
        t->src[i] = src;
    return i;
}

/* Parameters of node i: copies of w0/b0 (the model's), else PReLU's 0.25 or He initialisation. */
static xf_status tg_params(xf_ftgraph *t, int i, int n_state, const float *w0, const float *b0,
                           uint64_t *seed, xf_error *err)
{
    xf_node *nd = &t->gb.g.nodes[i];
    int64_t nw = xf__node_weight_count(&t->gb.g, nd), shape[4];
    if (nw == 0)
        return XF_OK;
    int rank = xf__node_weight_shape(&t->gb.g, nd, shape), has_b = xf__op(nd->op)->bias;
    size_t nb = (size_t) nd->c;
    float *w = malloc((size_t) nw * sizeof(float)), *b = has_b ? calloc(nb, sizeof(float)) : NULL;
    xf_param *pw = &t->w[i], *pb = &t->b[i];
    pw->n = (size_t) nw, pb->n = has_b ? nb : 0;
    pw->g = calloc(pw->n, sizeof(float)), pb->g = calloc(pb->n + 1, sizeof(float));
    int ok = w && (b || !has_b) && pw->g && pb->g;
    for (int q = 0; q < n_state; q++)
        ok = ok && (pw->s[q] = calloc(pw->n, sizeof(float))) &&
             (pb->s[q] = calloc(pb->n + 1, sizeof(float)));
    if (!ok) {
        free(w), free(b);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory for trainable parameters");
    }
    if (w0) {
        memcpy(w, w0, (size_t) nw * sizeof(float));
        if (b0 && b)
            memcpy(b, b0, nb * sizeof(float));
    } else if (nd->op == XF_OP_PRELU) { /* PyTorch's initial slope */
        for (int64_t j = 0; j < nw; j++)
            w[j] = 0.25f;
    } else { /* He initialisation, fan-in = weights per output */
        double sd = sqrt(2.0 / (double) (nw / nd->c));
        for (int64_t j = 0; j < nw; j++)
            w[j] = (float) (sd * rnd_normal(seed));
    }
    xf__gb_set_params(&t->gb, i, w, shape, rank, b);
    pw->p = w, pb->p = b;
    nd->weight = w, nd->bias = b,
    nd->packed = nd->wino = NULL; /* these weights change: no packed copy */
    return XF_OK;
}

void xf__ftgraph_free(xf_ftgraph *t)
{
    for (int i = 0; t->w && i < t->gb.g.n_nodes; i++)
        for (int k = 0; k < 2; k++) {
            xf_param *p = k ? &t->b[i] : &t->w[i];
            free(p->g), free(p->s[0]), free(p->s[1]);
        }
    xf__gb_free(&t->gb);
    free(t->src), free(t->w), free(t->b), free(t->frozen), free(t->drop);
    memset(t, 0, sizeof *t);
}

xf_status xf__ftgraph_build(const xf_model *m, const xf_ft_opts *o, int k, int n_state,
                            xf_ftgraph *t, xf_error *err)
{
    const xf_graph *g = &m->graph;
    int cap = 2 * g->n_nodes + 8; /* + act nodes split off trainable nodes */
    memset(t, 0, sizeof *t);
    xf_status s = xf__gb_init(&t->gb, err);
    if (s)
        return s;
    t->src = calloc((size_t) cap, sizeof *t->src);
    t->w = calloc((size_t) cap, sizeof *t->w), t->b = calloc((size_t) cap, sizeof *t->b);
    t->frozen = calloc((size_t) cap, 1), t->drop = calloc((size_t) cap, 1);
    unsigned char *train = calloc((size_t) g->n_nodes, 1);
    int *map = malloc((size_t) g->n_nodes * sizeof(int));
    if (!t->src || !t->w || !t->b || !t->frozen || !t->drop || !train || !map) {
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
            if (j < 0 ||
                (s = tg_params(t, j, n_state, g->nodes[i].weight, g->nodes[i].bias, &seed, err))) {
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
    t->head_first = t->gb.g.n_nodes;
    for (int h = 0; h <= o->n_hidden; h++) {
        memset(&p, 0, sizeof p);
        p.op = XF_OP_DENSE, p.in[0] = last, p.n_in = 1;
        p.cout = h < o->n_hidden ? o->hidden[h] : k;
        p.act = h == o->n_hidden || o->prelu ? XF_ACT_NONE : o->leaky ? XF_ACT_LEAKY : XF_ACT_RELU;
        char name[32];
        snprintf(name, sizeof name, h < o->n_hidden ? "ft_hidden%d" : "ft_logits", h + 1);
        int j = tg_add(t, &p, name, name, -1, err);
        if (j < 0 || (s = tg_params(t, j, n_state, NULL, NULL, &seed, err))) {
            s = s ? s : err->code;
            goto done;
        }
        if (h < o->n_hidden && o->prelu) {
            memset(&p, 0, sizeof p);
            p.op = XF_OP_PRELU, p.in[0] = j, p.n_in = 1;
            snprintf(name, sizeof name, "ft_prelu%d", h + 1);
            if ((j = tg_add(t, &p, name, name, -1, err)) < 0 ||
                (s = tg_params(t, j, n_state, NULL, NULL, &seed, err))) {
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
