/* graph_build.c — a graph with owned weights, for the converters and fine-tuning (see
 * graph_build.h).
 *
 * It is: node appending with the descriptors' shape rules, BN folding, activation fusion, and
 * the final write through wfile.c. It is not: a parser of any source format.
 */
#include "graph_build.h"

#include <math.h>
#include <string.h>

xf_status xf__gb_init(xf_gbuild *c, xf_error *err)
{
    memset(c, 0, sizeof *c);
    c->meta = xf__ww_create();
    if (!c->meta)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    return XF_OK;
}

void xf__gb_free(xf_gbuild *c)
{
    for (int i = 0; i < c->g.n_nodes; i++) {
        free(c->w[i]);
        free(c->b[i]);
    }
    free(c->w);
    free(c->b);
    free(c->wshape);
    free(c->wnd);
    xf__graph_free(&c->g);
    xf__ww_free(c->meta);
    memset(c, 0, sizeof *c);
}

static int grow(xf_gbuild *c)
{
    if (c->g.n_nodes < c->cap)
        return 1;
    int cap = c->cap ? c->cap * 2 : 256;
    xf_node *n = realloc(c->g.nodes, (size_t) cap * sizeof *n);
    if (!n)
        return 0;
    c->g.nodes = n;
    float **w = realloc(c->w, (size_t) cap * sizeof *w);
    if (!w)
        return 0;
    c->w = w;
    float **b = realloc(c->b, (size_t) cap * sizeof *b);
    if (!b)
        return 0;
    c->b = b;
    int64_t(*ws)[4] = realloc(c->wshape, (size_t) cap * sizeof *ws);
    if (!ws)
        return 0;
    c->wshape = ws;
    int *wnd = realloc(c->wnd, (size_t) cap * sizeof *wnd);
    if (!wnd)
        return 0;
    c->wnd = wnd;
    c->cap = cap;
    return 1;
}

int xf__gb_add(xf_gbuild *c, const xf_node *proto, const char *name, const char *out, xf_error *err)
{
    if (!grow(c)) {
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return -1;
    }
    int i = c->g.n_nodes;
    xf_node *nd = &c->g.nodes[i];
    *nd = *proto;
    nd->name = strdup(name);
    nd->out_name = strdup(out ? out : name);
    nd->weight = nd->bias = NULL;
    c->w[i] = c->b[i] = NULL;
    c->wnd[i] = 0;
    if (!nd->name || !nd->out_name) {
        free(nd->name);
        free(nd->out_name);
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (int j = 0; j < i; j++)
        if (strcmp(c->g.nodes[j].out_name, nd->out_name) == 0 ||
            strcmp(c->g.nodes[j].name, nd->name) == 0) {
            xf__fail(err, XF_ERR_FORMAT, "duplicate layer name '%s'", nd->name);
            free(nd->name);
            free(nd->out_name);
            return -1;
        }
    c->g.n_nodes++;
    if (xf__node_infer(&c->g, nd, err) != XF_OK) {
        c->g.n_nodes--;
        free(nd->name);
        free(nd->out_name);
        return -1;
    }
    return i;
}

void xf__gb_set_params(xf_gbuild *c, int idx, float *w, const int64_t *shape, int nd, float *b)
{
    free(c->w[idx]);
    free(c->b[idx]);
    c->w[idx] = w;
    c->b[idx] = b;
    c->wnd[idx] = nd;
    for (int i = 0; i < nd; i++)
        c->wshape[idx][i] = shape[i];
}

int xf__gb_rename(xf_gbuild *c, int idx, const char *out)
{
    char *o = strdup(out);
    if (!o)
        return 0;
    free(c->g.nodes[idx].out_name);
    c->g.nodes[idx].out_name = o;
    return 1;
}

static int64_t wcount(const xf_gbuild *c, int idx)
{
    int64_t n = 1;
    for (int i = 0; i < c->wnd[idx]; i++)
        n *= c->wshape[idx][i];
    return n;
}

/* scale/shift (owned, either NULL) folded into idx or applied by a new affine node */
static int apply_affine(xf_gbuild *c, int idx, float *scale, float *shift, int foldable,
                        const char *name, xf_error *err)
{
    int64_t ch = c->g.nodes[idx].c;
    xf_node *nd = &c->g.nodes[idx];
    foldable = foldable && nd->act == XF_ACT_NONE && c->w[idx] && xf__op(nd->op)->fold_affine;
    if (foldable) {
        int64_t n = wcount(c, idx);
        if (scale)
            for (int64_t j = 0; j < n; j++)
                c->w[idx][j] *= scale[j % ch];
        if (!c->b[idx] && !(c->b[idx] = calloc((size_t) ch, sizeof(float)))) {
            free(scale), free(shift);
            xf__fail(err, XF_ERR_NOMEM, "out of memory");
            return -1;
        }
        for (int64_t k = 0; k < ch; k++)
            c->b[idx][k] = c->b[idx][k] * (scale ? scale[k] : 1.0f) + (shift ? shift[k] : 0.0f);
        free(scale), free(shift);
        if (!xf__gb_rename(c, idx, name)) {
            xf__fail(err, XF_ERR_NOMEM, "out of memory");
            return -1;
        }
        return idx;
    }
    if (!scale && (scale = malloc((size_t) ch * sizeof(float))))
        for (int64_t k = 0; k < ch; k++)
            scale[k] = 1.0f;
    if (!shift)
        shift = calloc((size_t) ch, sizeof(float));
    if (!scale || !shift) {
        free(scale), free(shift);
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return -1;
    }
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_AFFINE;
    p.in[0] = idx;
    p.n_in = 1;
    int j = xf__gb_add(c, &p, name, NULL, err);
    if (j < 0) {
        free(scale), free(shift);
        return -1;
    }
    int64_t shape[1] = {ch};
    xf__gb_set_params(c, j, scale, shape, 1, shift);
    return j;
}

int xf__gb_batchnorm(xf_gbuild *c, int idx, const float *gamma, const float *beta,
                     const float *mean, const float *var, float eps, int exclusive,
                     const char *name, xf_error *err)
{
    int64_t ch = c->g.nodes[idx].c;
    float *scale = malloc((size_t) ch * sizeof(float)),
          *shift = malloc((size_t) ch * sizeof(float));
    if (!scale || !shift) {
        free(scale);
        free(shift);
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (int64_t k = 0; k < ch; k++) {
        double inv = 1.0 / sqrt((double) var[k] + (double) eps);
        double g = gamma ? (double) gamma[k] : 1.0;
        scale[k] = (float) (g * inv);
        shift[k] = (float) ((beta ? (double) beta[k] : 0.0) - (double) mean[k] * g * inv);
    }
    return apply_affine(c, idx, scale, shift, exclusive && !c->keep_bn, name, err);
}

int xf__gb_affine(xf_gbuild *c, int idx, const float *scale, const float *shift, int exclusive,
                  const char *name, xf_error *err)
{
    size_t bytes = (size_t) c->g.nodes[idx].c * sizeof(float);
    float *sc = scale ? malloc(bytes) : NULL, *sh = shift ? malloc(bytes) : NULL;
    if ((scale && !sc) || (shift && !sh)) {
        free(sc), free(sh);
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return -1;
    }
    if (sc)
        memcpy(sc, scale, bytes);
    if (sh)
        memcpy(sh, shift, bytes);
    return apply_affine(c, idx, sc, sh, exclusive, name, err);
}

int xf__gb_activation(xf_gbuild *c, int idx, xf_act act, int exclusive, const char *name,
                      xf_error *err)
{
    xf_node *nd = &c->g.nodes[idx];
    /* relu6(relu(x)) = relu6(x): PyTorch exports some ReLU6 as Relu then Clip */
    int merge = nd->act == XF_ACT_RELU && (act == XF_ACT_RELU6 || act == XF_ACT_RELU);
    if (exclusive && (nd->act == XF_ACT_NONE || merge) && nd->op != XF_OP_INPUT &&
        nd->op != XF_OP_SOFTMAX && nd->op != XF_OP_MAXPOOL) {
        nd->act = act;
        if (!xf__gb_rename(c, idx, name)) {
            xf__fail(err, XF_ERR_NOMEM, "out of memory");
            return -1;
        }
        return idx;
    }
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_ACT;
    p.act = act;
    p.in[0] = idx;
    p.n_in = 1;
    return xf__gb_add(c, &p, name, NULL, err);
}

void xf__gb_same_pad(int64_t in, int k, int s, int *before, int *after)
{
    int64_t out = (in + s - 1) / s;
    int64_t total = (out - 1) * s + k - in;
    if (total < 0)
        total = 0;
    *before = (int) (total / 2);
    *after = (int) (total - total / 2);
}

xf_status xf__gb_write(xf_gbuild *c, const char *path, xf_error *err)
{
    char *text = xf__graph_format(&c->g);
    if (!text || !xf__ww_str(c->meta, "xfer.graph", text)) {
        free(text);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    free(text);
    for (int i = 0; i < c->g.n_nodes; i++) {
        if (!c->w[i])
            continue;
        int64_t ne[4];
        for (int d = 0; d < c->wnd[i]; d++)
            ne[d] = c->wshape[i][c->wnd[i] - 1 - d];
        char tname[300];
        snprintf(tname, sizeof tname, "%s.weight", c->g.nodes[i].name);
        if (!xf__ww_tensor(c->meta, tname, c->wnd[i], ne, c->w[i]))
            return xf__fail(err, XF_ERR_NOMEM, "out of memory");
        if (c->b[i]) {
            int64_t bne[1] = {c->g.nodes[i].c};
            snprintf(tname, sizeof tname, "%s.bias", c->g.nodes[i].name);
            if (!xf__ww_tensor(c->meta, tname, 1, bne, c->b[i]))
                return xf__fail(err, XF_ERR_NOMEM, "out of memory");
        }
    }
    return xf__ww_write(c->meta, path, err);
}
