/* grad_dump.c — for tests/oracle/grad_check.py: loads a weights file, runs a fixed batch through
 * the whole graph up to its logits with the same node dispatcher fine-tuning uses
 * (xf__node_forward / xf__node_backward), takes the mean softmax cross-entropy, and writes the
 * input batch, labels, every weight/bias and every gradient (also d loss / d input, "dinput")
 * as raw float32 files in OUT_DIR. Fused SiLU/HardSwish/GELU are split off their node first,
 * as finetune does. Usage: grad_dump WEIGHTS LOGITS_TENSOR OUT_DIR
 */
#include "model.h"
#include "ops.h"

#include <string.h>

static void dump(const char *dir, const char *name, const float *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.f32", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, sizeof(float), n, f);
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    xf_model *m;
    xf_error err;
    if (xf_model_open(argv[1], NULL, &m, &err) != XF_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    /* a copy of the graph with non-invertible fused activations as act nodes */
    xf_graph split = {calloc((size_t) m->graph.n_nodes * 2, sizeof(xf_node)), 0};
    int *map = calloc((size_t) m->graph.n_nodes, sizeof(int));
    for (int i = 0; i < m->graph.n_nodes; i++) {
        xf_node q = m->graph.nodes[i];
        for (int k = 0; k < q.n_in; k++)
            q.in[k] = map[q.in[k]];
        xf_act a = q.op != XF_OP_ACT && !xf__act_invertible(q.act) ? q.act : XF_ACT_NONE;
        if (a)
            q.act = XF_ACT_NONE;
        split.nodes[split.n_nodes++] = q;
        if (a) {
            xf_node t;
            memset(&t, 0, sizeof t);
            t.op = XF_OP_ACT, t.act = a, t.in[0] = split.n_nodes - 1, t.n_in = 1;
            t.h = q.h, t.w = q.w, t.c = q.c;
            t.name = t.out_name = q.out_name;
            split.nodes[split.n_nodes - 1].out_name = "~pre";
            split.nodes[split.n_nodes++] = t;
        }
        map[i] = split.n_nodes - 1;
    }
    const xf_graph *g = &split;
    int last = xf__graph_find(g, argv[2]), n = 3;
    if (last < 0)
        return 1;
    float **buf = calloc((size_t) g->n_nodes, sizeof(float *));
    float **grad = calloc((size_t) g->n_nodes, sizeof(float *));
    float **tmp = calloc((size_t) g->n_nodes, sizeof(float *));
    float **view = calloc((size_t) g->n_nodes, sizeof(float *));
    size_t sc = 64;
    for (int i = 0; i <= last; i++) {
        const xf_node *nd = &g->nodes[i];
        size_t f = (size_t) n * (size_t) (nd->h * nd->w * nd->c) + 16;
        buf[i] = calloc(f, sizeof(float)), grad[i] = calloc(f, sizeof(float));
        tmp[i] = calloc(f, sizeof(float));
        if (nd->op == XF_OP_CONV2D) {
            const xf_node *x = &g->nodes[nd->in[0]];
            size_t s = 2 * xf__conv2d_scratch(nd, x->h, x->w, x->c);
            sc = s > sc ? s : sc;
        }
    }
    float *scratch = calloc(sc, sizeof(float));
    uint32_t r = 4242;
    size_t nin = (size_t) n * (size_t) (g->nodes[0].h * g->nodes[0].w * g->nodes[0].c);
    for (size_t i = 0; i < nin; i++) {
        r ^= r << 13, r ^= r >> 17, r ^= r << 5;
        buf[0][i] = (float) (r % 2000) / 1000.0f - 1.0f;
    }
    for (int i = 1; i <= last; i++)
        xf__node_forward(g, i, buf, n, scratch);
    int k = (int) g->nodes[last].c, labels[3] = {0, 1 % k, 2 % k};
    double loss = xf__softmax_xent(buf[last], labels, n, k, 0, grad[last]);
    float **dw = calloc((size_t) g->n_nodes, sizeof(float *)),
          **db = calloc((size_t) g->n_nodes, sizeof(float *));
    for (int i = last; i >= 1; i--) {
        const xf_node *nd = &g->nodes[i];
        if (nd->n_params) {
            dw[i] = calloc((size_t) nd->n_params, sizeof(float));
            db[i] = calloc((size_t) nd->c, sizeof(float));
        }
        view[i] = grad[i];
        for (int q = 0; q < nd->n_in; q++)
            view[nd->in[q]] = tmp[nd->in[q]];
        if (xf__node_backward(g, i, buf, view, n, scratch, dw[i], db[i], &err) != XF_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        for (int q = 0; q < nd->n_in; q++) {
            const xf_node *x = &g->nodes[nd->in[q]];
            size_t len = (size_t) n * (size_t) (x->h * x->w * x->c);
            for (size_t e = 0; e < len; e++)
                grad[nd->in[q]][e] += tmp[nd->in[q]][e];
            view[nd->in[q]] = NULL;
        }
    }
    dump(argv[3], "input", buf[0], nin);
    dump(argv[3], "dinput", grad[0], nin);
    float lf = (float) loss;
    dump(argv[3], "loss", &lf, 1);
    for (int i = 1; i <= last; i++) {
        const xf_node *nd = &g->nodes[i];
        if (!nd->n_params)
            continue;
        size_t nw = (size_t) nd->n_params - (size_t) nd->c;
        char name[300];
        snprintf(name, sizeof name, "%s.weight", nd->name);
        dump(argv[3], name, nd->weight, nw);
        snprintf(name, sizeof name, "%s.bias", nd->name);
        dump(argv[3], name, nd->bias, (size_t) nd->c);
        snprintf(name, sizeof name, "%s.dweight", nd->name);
        dump(argv[3], name, dw[i], nw);
        snprintf(name, sizeof name, "%s.dbias", nd->name);
        dump(argv[3], name, db[i], (size_t) nd->c);
    }
    printf("loss %.6f\n", loss);
    return 0;
}
