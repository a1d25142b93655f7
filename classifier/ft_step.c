/* ft_step.c — one training step's pieces on the trainable graph (see ft_step.h).
 *
 * It is: work buffers, forward with inverted dropout, backward through the node dispatcher
 * (an input's gradient is summed over the nodes that read it), the optimizer step, the
 * schedule. It is not: a loss (loss.c) or a loop (finetune.c, ft_contrastive.c).
 */
#include "ft_step.h"
#include "ops.h"

#include <math.h>
#include <string.h>

xf_status xf__ftwork_alloc(const xf_ftgraph *t, int batch, xf_ftwork *w, xf_error *err)
{
    int n = t->gb.g.n_nodes;
    memset(w, 0, sizeof *w);
    w->batch = batch;
    w->buf = calloc((size_t) n, sizeof(float *));
    w->grad = calloc((size_t) n, sizeof(float *));
    w->tmp = calloc((size_t) n, sizeof(float *));
    w->mask = calloc((size_t) n, sizeof(unsigned char *));
    size_t sc = 16;
    int ok = w->buf && w->grad && w->tmp && w->mask;
    for (int i = 0; ok && i < n; i++) {
        const xf_node *nd = &t->gb.g.nodes[i];
        size_t f = xf__node_floats(nd, batch) + 16;
        ok = (w->buf[i] = xf__alloc(f * sizeof(float))) &&
             (w->grad[i] = xf__alloc(f * sizeof(float))) &&
             (w->tmp[i] = xf__alloc(f * sizeof(float))) && (w->mask[i] = calloc(f, 1));
        size_t c2 = 2 * xf__node_scratch(&t->gb.g, nd);
        sc = c2 > sc ? c2 : sc;
    }
    if (ok)
        ok = (w->scratch = xf__alloc(sc * sizeof(float))) != NULL;
    return ok ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory for training buffers");
}

void xf__ftwork_free(const xf_ftgraph *t, xf_ftwork *w)
{
    for (int i = 0; i < t->gb.g.n_nodes; i++) {
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

void xf__ft_forward(xf_ftgraph *t, xf_ftwork *w, int n, float dropout, uint64_t *seed)
{
    for (int i = 1; i < t->gb.g.n_nodes; i++) {
        xf__node_forward(&t->gb.g, i, w->buf, n, w->scratch);
        if (dropout > 0 && t->drop[i]) {
            size_t len = xf__node_floats(&t->gb.g.nodes[i], n);
            float keep = 1.0f / (1.0f - dropout);
            for (size_t j = 0; j < len; j++) {
                w->mask[i][j] =
                    (double) (xf__ft_rnd(seed) >> 11) / 9007199254740992.0 >= (double) dropout;
                w->buf[i][j] = w->mask[i][j] ? w->buf[i][j] * keep : 0.0f;
            }
        }
    }
}

xf_status xf__ft_backward(xf_ftgraph *t, xf_ftwork *w, int n, float dropout, xf_error *err)
{
    int last = t->gb.g.n_nodes - 1;
    for (int i = 1; i < last; i++)
        memset(w->grad[i], 0, xf__node_floats(&t->gb.g.nodes[i], n) * sizeof(float));
    float **view = calloc((size_t) t->gb.g.n_nodes, sizeof(float *));
    if (!view)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    xf_status s = XF_OK;
    for (int i = last; i >= 1 && !s; i--) {
        const xf_node *nd = &t->gb.g.nodes[i];
        if (dropout > 0 && t->drop[i]) {
            float keep = 1.0f / (1.0f - dropout);
            size_t len = xf__node_floats(nd, n);
            for (size_t j = 0; j < len; j++)
                w->grad[i][j] = w->mask[i][j] ? w->grad[i][j] * keep : 0.0f;
        }
        /* inputs get their gradient in a scratch buffer, then summed (shared tensors) */
        view[i] = w->grad[i];
        for (int k = 0; k < nd->n_in; k++)
            view[nd->in[k]] = nd->in[k] > 0 ? w->tmp[nd->in[k]] : NULL;
        s = xf__node_backward(&t->gb.g, i, w->buf, view, n, w->scratch, t->w[i].g, t->b[i].g, err);
        for (int k = 0; k < nd->n_in; k++) {
            int j = nd->in[k];
            if (j > 0) {
                size_t len = xf__node_floats(&t->gb.g.nodes[j], n);
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

void xf__ft_update(xf_ftgraph *t, const xf_optim *opt, const xf_optim_hp *hp, float wd)
{
    for (int i = 1; i < t->gb.g.n_nodes; i++) {
        xf_param *p[2] = {&t->w[i], &t->b[i]};
        for (int q = 0; q < 2; q++) {
            if (!p[q]->n)
                continue;
            if (t->frozen[i]) /* no step, no decay: the gradient only flows through */
                memset(p[q]->g, 0, p[q]->n * sizeof(float));
            else
                opt->step(hp, q == 0 ? wd : 0.0f, p[q]->p, p[q]->g, p[q]->s, p[q]->n);
        }
    }
}

double xf__ft_lr(double lr, long step, long warm, long total, int epoch, int step_every,
                 double gamma)
{
    if (step <= warm)
        return lr * (double) step / (double) warm;
    if (step_every > 0)
        return lr * pow(gamma, (double) ((epoch - 1) / step_every));
    return lr * 0.5 *
           (1 + cos(3.141592653589793 * (double) (step - warm) / (double) (total - warm + 1)));
}
