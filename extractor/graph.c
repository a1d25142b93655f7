/* graph.c — the network graph: parsing xfer.graph text, shape inference, binding weights.
 *
 * It is: a strict line parser (one node per line, weights/FORMAT.md "Graph") that accepts only
 * the attributes each op's descriptor lists, topological checks (inputs must be defined
 * earlier), the shape and weight-shape rules through the descriptors, and the formatter (the
 * inverse of the parser). It is not: execution (node.c, session.c) or memory planning.
 */
#include "graph.h"

#include <ctype.h>
#include <string.h>

#define MAX_NODES 65536
#define MAX_LINE  4096
#define MAX_DIM   (1 << 24)

static const char *const act_names[XF_ACT_COUNT_] = {
    "none", "relu", "relu6", "sigmoid", "leaky", "silu", "hardsigmoid", "hardswish", "gelu",
};

const char *xf__op_name(xf_op op)
{
    return (unsigned) op < XF_OP_COUNT_ ? xf__op(op)->name : "?";
}

const char *xf__act_name(xf_act a)
{
    return (unsigned) a < XF_ACT_COUNT_ ? act_names[a] : "?";
}

void xf__graph_free(xf_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i].name);
        free(g->nodes[i].out_name);
    }
    free(g->nodes);
    g->nodes = NULL;
    g->n_nodes = 0;
}

int xf__graph_find(const xf_graph *g, const char *tensor_name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].out_name, tensor_name) == 0)
            return i;
    return -1;
}

int xf__graph_find_node(const xf_graph *g, const char *name)
{
    int i = xf__graph_find(g, name);
    for (int k = 0; i < 0 && k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].name, name) == 0)
            i = k;
    return i;
}

size_t xf__node_floats(const xf_node *nd, int n)
{
    return (size_t) n * (size_t) (nd->h * nd->w * nd->c);
}

/* Parses "a,b,c" of up to n non-negative ints; returns count or -1. */
static int parse_ints(const char *s, int *out, int n)
{
    int k = 0;
    while (*s) {
        if (k == n || !isdigit((unsigned char) *s))
            return -1;
        long v = 0;
        while (isdigit((unsigned char) *s)) {
            v = v * 10 + (*s - '0');
            if (v > MAX_DIM)
                return -1;
            s++;
        }
        out[k++] = (int) v;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return k;
}

static xf_status bad(xf_error *err, int line, const char *what, const char *val)
{
    return xf__fail(err, XF_ERR_FORMAT, "xfer.graph line %d: %s '%s'", line, what, val);
}

/* The attribute a key sets, or 0 for an unknown key. */
static unsigned attr_of(const char *k)
{
    static const struct {
        const char *key;
        unsigned attr;
    } keys[] = {
        {"h", XF_ATTR_HWC},
        {"w", XF_ATTR_HWC},
        {"c", XF_ATTR_HWC},
        {"k", XF_ATTR_K},
        {"s", XF_ATTR_S},
        {"pad", XF_ATTR_PAD},
        {"cout", XF_ATTR_COUT},
        {"groups", XF_ATTR_GROUPS},
        {"dil", XF_ATTR_DIL},
        {"mult", XF_ATTR_MULT},
        {"count_pad", XF_ATTR_COUNT_PAD},
        {"begin", XF_ATTR_RANGE},
        {"end", XF_ATTR_RANGE},
        {"eps", XF_ATTR_EPS},
        {"act", XF_ATTR_ACT},
    };
    for (size_t i = 0; i < XF_COUNT(keys); i++)
        if (strcmp(k, keys[i].key) == 0)
            return keys[i].attr;
    return 0;
}

static xf_status parse_attr(xf_graph *g, xf_node *nd, int line, char *tok, xf_error *err)
{
    char *eq = strchr(tok, '=');
    if (!eq)
        return bad(err, line, "expected key=value, got", tok);
    *eq = 0;
    const char *k = tok;
    char *v = eq + 1;
    int vals[4], n;
    if (strcmp(k, "out") == 0) {
        if (!*v || strlen(v) > 255)
            return bad(err, line, "bad out name", v);
        free(nd->out_name);
        nd->out_name = strdup(v);
        return nd->out_name ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    if (strcmp(k, "in") == 0) {
        char *save = NULL;
        for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (nd->n_in == XF_NODE_MAX_IN)
                return bad(err, line, "too many inputs at", t);
            int idx = xf__graph_find(g, t);
            if (idx < 0)
                return bad(err, line, "input is not an earlier node's output:", t);
            nd->in[nd->n_in++] = idx;
        }
        return XF_OK;
    }
    unsigned attr = attr_of(k);
    if (!attr)
        return bad(err, line, "unknown attribute", k);
    if (!(xf__op(nd->op)->attrs & attr))
        return xf__fail(err, XF_ERR_FORMAT,
                        "xfer.graph line %d: attribute '%s' is not one of "
                        "op %s's",
                        line, k, xf__op_name(nd->op));
    switch (attr) {
    case XF_ATTR_ACT:
        for (int a = 0; a < XF_ACT_COUNT_; a++)
            if (strcmp(v, act_names[a]) == 0) {
                nd->act = (xf_act) a;
                return XF_OK;
            }
        return xf__fail(err, XF_ERR_UNSUPPORTED, "xfer.graph line %d: unknown activation '%s'",
                        line, v);
    case XF_ATTR_K:
    case XF_ATTR_S:
        if ((n = parse_ints(v, vals, 2)) != 2 || vals[0] < 1 || vals[1] < 1)
            return bad(err, line, "expected two positive ints for", k);
        if (attr == XF_ATTR_K)
            nd->kh = vals[0], nd->kw = vals[1];
        else
            nd->sh = vals[0], nd->sw = vals[1];
        return XF_OK;
    case XF_ATTR_DIL:
        if ((n = parse_ints(v, vals, 2)) != 2 || vals[0] < 1 || vals[1] < 1 || vals[0] > 1024 ||
            vals[1] > 1024)
            return bad(err, line, "expected dil=h,w (1..1024), got", v);
        nd->dil_h = vals[0], nd->dil_w = vals[1];
        return XF_OK;
    case XF_ATTR_EPS: {
        char *end;
        float e = strtof(v, &end);
        if (end == v || *end || !(e > 0 && e < 1))
            return bad(err, line, "expected eps in (0, 1), got", v);
        nd->eps = e;
        return XF_OK;
    }
    case XF_ATTR_PAD:
        if (parse_ints(v, vals, 4) != 4)
            return bad(err, line, "expected pad=top,bottom,left,right, got", v);
        nd->pt = vals[0], nd->pb = vals[1], nd->pl = vals[2], nd->pr = vals[3];
        return XF_OK;
    default:
        break;
    }
    if (parse_ints(v, vals, 1) != 1)
        return bad(err, line, "expected an int for", k);
    switch (attr) {
    case XF_ATTR_HWC:
        *(k[0] == 'h' ? &nd->h : k[0] == 'w' ? &nd->w : &nd->c) = vals[0];
        break;
    case XF_ATTR_COUT:
        nd->cout = vals[0];
        break;
    case XF_ATTR_GROUPS:
        nd->groups = vals[0];
        break;
    case XF_ATTR_MULT:
        nd->mult = vals[0];
        break;
    case XF_ATTR_COUNT_PAD:
        nd->count_pad = vals[0];
        break;
    case XF_ATTR_RANGE:
        *(k[0] == 'b' ? &nd->begin : &nd->end) = vals[0];
        break;
    default:
        XF_ASSERT(0);
    }
    return XF_OK;
}

static xf_status shape_err(xf_error *err, const xf_node *nd, const char *why)
{
    return xf__fail(err, XF_ERR_SHAPE, "xfer.graph node '%s' (%s): %s", nd->name,
                    xf__op_name(nd->op), why);
}

xf_status xf__node_shape_err(xf_error *err, const xf_node *nd, const char *why)
{
    return shape_err(err, nd, why);
}

/* Output size of a window op along one axis; 0 when the window does not fit. */
static int64_t window_out(int64_t in, int k, int s, int p0, int p1)
{
    int64_t span = in + p0 + p1;
    if (span < k || s < 1)
        return 0;
    return (span - k) / s + 1;
}

xf_status xf__window_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    const xf_node *x = &g->nodes[nd->in[0]];
    if (nd->kh < 1 || nd->kw < 1 || nd->sh < 1 || nd->sw < 1)
        return shape_err(err, nd, "needs k= and s=");
    int ekh = (nd->kh - 1) * nd->dil_h + 1, ekw = (nd->kw - 1) * nd->dil_w + 1;
    if (nd->pt >= ekh || nd->pb >= ekh || nd->pl >= ekw || nd->pr >= ekw)
        return shape_err(err, nd, "padding must be smaller than the kernel");
    nd->h = window_out(x->h, ekh, nd->sh, nd->pt, nd->pb);
    nd->w = window_out(x->w, ekw, nd->sw, nd->pl, nd->pr);
    if (nd->h < 1 || nd->w < 1)
        return shape_err(err, nd, "kernel larger than the padded input");
    nd->c = x->c;
    return XF_OK;
}

/* Arity and attribute defaults, the op's shape rule, then bounds: per-image activations stay
 * below 2^31 elements, so sizes computed from them (times a batch of at most 4096) cannot
 * overflow. */
xf_status xf__node_infer(const xf_graph *g, xf_node *nd, xf_error *err)
{
    if ((unsigned) nd->op >= XF_OP_COUNT_)
        return xf__fail(err, XF_ERR_UNSUPPORTED, "node '%s': unknown op %d", nd->name,
                        (int) nd->op);
    const xf_op_def *d = xf__op(nd->op);
    if (d->n_in == XF_IN_MANY ? nd->n_in < 2 : nd->n_in != d->n_in)
        return shape_err(err, nd,
                         d->n_in == 0   ? "takes no input"
                         : d->n_in == 1 ? "needs exactly one input"
                         : d->n_in == 2 ? "needs exactly two inputs"
                                        : "needs at least two inputs");
    nd->groups = nd->groups ? nd->groups : 1;
    nd->dil_h = nd->dil_h ? nd->dil_h : 1;
    nd->dil_w = nd->dil_w ? nd->dil_w : 1;
    if ((nd->groups != 1 && !(d->attrs & XF_ATTR_GROUPS)) ||
        ((nd->dil_h != 1 || nd->dil_w != 1) && !(d->attrs & XF_ATTR_DIL)))
        return shape_err(err, nd, "groups= and dil= are for conv2d (groups= also shuffle)");
    xf_status s = XF_OK;
    if (d->infer) {
        s = d->infer(g, nd, err);
    } else {
        const xf_node *x = &g->nodes[nd->in[0]];
        nd->h = x->h, nd->w = x->w, nd->c = x->c;
    }
    if (s)
        return s;
    if (nd->c < 1 || nd->c > MAX_DIM || nd->h > XF_MAX_INPUT_SIDE || nd->w > XF_MAX_INPUT_SIDE ||
        nd->h * nd->w * nd->c > ((int64_t) 1 << 31))
        return shape_err(err, nd, "output larger than 2^31 elements per image");
    return XF_OK;
}

xf_status xf__graph_parse(const char *text, xf_graph *g, xf_error *err)
{
    memset(g, 0, sizeof *g);
    size_t n_lines = 1;
    for (const char *p = text; *p; p++)
        n_lines += *p == '\n';
    if (n_lines > MAX_NODES)
        return xf__fail(err, XF_ERR_BOUNDS, "xfer.graph: %zu lines (limit %d)", n_lines, MAX_NODES);
    g->nodes = calloc(n_lines, sizeof *g->nodes);
    if (!g->nodes)
        return xf__fail(err, XF_ERR_NOMEM, "xfer.graph: out of memory");
    const char *p = text;
    int line = 0;
    xf_status s = XF_OK;
    char buf[MAX_LINE + 1];
    while (*p) {
        line++;
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t) (e - p) : strlen(p);
        if (len > MAX_LINE) {
            s = xf__fail(err, XF_ERR_BOUNDS, "xfer.graph line %d: longer than %d bytes", line,
                         MAX_LINE);
            goto fail;
        }
        memcpy(buf, p, len);
        buf[len] = 0;
        p += len + (e != NULL);
        char *save = NULL;
        char *op = strtok_r(buf, " \t\r", &save);
        if (!op || op[0] == '#')
            continue;
        xf_node *nd = &g->nodes[g->n_nodes];
        memset(nd, 0, sizeof *nd);
        nd->op = XF_OP_COUNT_;
        for (int o = 0; o < XF_OP_COUNT_; o++)
            if (strcmp(op, xf__op((xf_op) o)->name) == 0)
                nd->op = (xf_op) o;
        if (nd->op == XF_OP_COUNT_) {
            s = xf__fail(err, XF_ERR_UNSUPPORTED, "xfer.graph line %d: unknown op '%s'", line, op);
            goto fail;
        }
        char *name = strtok_r(NULL, " \t\r", &save);
        if (!name || strchr(name, '=') || strlen(name) > 200) {
            s = bad(err, line, "expected a node name after", op);
            goto fail;
        }
        g->n_nodes++; /* owned from here: freed by graph_free */
        nd->name = strdup(name);
        nd->out_name = strdup(name);
        if (!nd->name || !nd->out_name) {
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (char *t = strtok_r(NULL, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save))
            if ((s = parse_attr(g, nd, line, t, err)))
                goto fail;
        for (int i = 0; i < g->n_nodes - 1; i++)
            if (strcmp(g->nodes[i].out_name, nd->out_name) == 0 ||
                strcmp(g->nodes[i].name, nd->name) == 0) {
                s = bad(err, line, "duplicate node or output name", nd->out_name);
                goto fail;
            }
        if (nd->op == XF_OP_INPUT && g->n_nodes != 1) {
            s = bad(err, line, "input must be the first node, not", nd->name);
            goto fail;
        }
        if ((s = xf__node_infer(g, nd, err)))
            goto fail;
    }
    if (g->n_nodes == 0 || g->nodes[0].op != XF_OP_INPUT) {
        s = xf__fail(err, XF_ERR_FORMAT, "xfer.graph: must start with an input node");
        goto fail;
    }
    return XF_OK;
fail:
    xf__graph_free(g);
    return s;
}

/* Looks up name.suffix with exactly dims ne[0..nd) (GGUF order). */
static xf_status bind_one(const xf_wfile *wf, const float *const *data, const xf_node *nd,
                          const char *suffix, int n_dims, const int64_t *ne, const float **out,
                          unsigned char *used, xf_error *err)
{
    char tname[300];
    snprintf(tname, sizeof tname, "%s.%s", nd->name, suffix);
    const xf_wtensor *t = xf__wfile_tensor(wf, tname);
    if (!t)
        return xf__fail(err, XF_ERR_FORMAT, "tensor '%s' needed by node '%s' is missing", tname,
                        nd->name);
    int ok = t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++)
        ok = t->ne[i] == ne[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < n_dims; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "",
                     (long long) ne[i]);
        for (int i = 0; i < t->n_dims; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "",
                     (long long) t->ne[i]);
        return xf__fail(err, XF_ERR_SHAPE, "tensor '%s': shape [%s], graph needs [%s]", tname, got,
                        want);
    }
    *out = data[t - wf->t];
    used[t - wf->t] = 1;
    return XF_OK;
}

int xf__node_weight_shape(const xf_graph *g, const xf_node *nd, int64_t *shape)
{
    const xf_op_def *d = xf__op(nd->op);
    return d->weight_shape ? d->weight_shape(g, nd, shape) : 0;
}

int64_t xf__node_weight_count(const xf_graph *g, const xf_node *nd)
{
    int64_t shape[4], n = 1;
    int rank = xf__node_weight_shape(g, nd, shape);
    for (int d = 0; d < rank; d++)
        n *= shape[d];
    return rank ? n : 0;
}

xf_status xf__graph_bind(xf_graph *g, const xf_wfile *wf, const float *const *data,
                         unsigned char *used, xf_error *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        xf_node *nd = &g->nodes[i];
        int64_t shape[4], wne[4], bne[1] = {nd->c};
        int wnd = xf__node_weight_shape(g, nd, shape);
        if (!wnd)
            continue;
        for (int d = 0; d < wnd; d++) /* GGUF order: fastest dimension first */
            wne[d] = shape[wnd - 1 - d];
        xf_status s = bind_one(wf, data, nd, "weight", wnd, wne, &nd->weight, used, err);
        if (s)
            return s;
        nd->n_params = 1;
        for (int d = 0; d < wnd; d++)
            nd->n_params *= wne[d];
        char tname[300];
        snprintf(tname, sizeof tname, "%s.bias", nd->name);
        nd->bias = NULL;
        if (xf__op(nd->op)->bias && xf__wfile_tensor(wf, tname) &&
            (s = bind_one(wf, data, nd, "bias", 1, bne, &nd->bias, used, err)))
            return s;
        if (nd->bias)
            nd->n_params += nd->c;
    }
    return XF_OK;
}

/* Appends printf output to a growing string; returns 0 on NOMEM. */
static int cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...) XF_PRINTF(4, 5);
static int cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return 0;
        if (*buf && *len + (size_t) n < *cap) {
            *len += (size_t) n;
            return 1;
        }
        size_t nc = *cap ? *cap * 2 : 4096;
        while (nc < *len + (size_t) n + 1)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return 0;
        *buf = nb;
        *cap = nc;
    }
}

/* The attributes of nd, in the order of the XF_ATTR_* bits: the shown ones always, the others
 * when not at their default. */
static int cat_attrs(char **buf, size_t *len, size_t *cap, const xf_node *nd)
{
    const xf_op_def *d = xf__op(nd->op);
    unsigned a = d->attrs, sh = d->shown;
#define WANT(bit, nondefault) ((a & (bit)) && ((sh & (bit)) || (nondefault)))
    int ok = 1;
    if (WANT(XF_ATTR_HWC, 1))
        ok = cat(buf, len, cap, " h=%lld w=%lld c=%lld", (long long) nd->h, (long long) nd->w,
                 (long long) nd->c);
    if (ok && WANT(XF_ATTR_K, 1))
        ok = cat(buf, len, cap, " k=%d,%d s=%d,%d pad=%d,%d,%d,%d", nd->kh, nd->kw, nd->sh, nd->sw,
                 nd->pt, nd->pb, nd->pl, nd->pr);
    if (ok && WANT(XF_ATTR_COUT, 1))
        ok = cat(buf, len, cap, " cout=%d", nd->cout);
    if (ok && WANT(XF_ATTR_GROUPS, nd->groups != 1))
        ok = cat(buf, len, cap, " groups=%d", nd->groups);
    if (ok && WANT(XF_ATTR_DIL, nd->dil_h != 1 || nd->dil_w != 1))
        ok = cat(buf, len, cap, " dil=%d,%d", nd->dil_h, nd->dil_w);
    if (ok && WANT(XF_ATTR_MULT, nd->mult != 1))
        ok = cat(buf, len, cap, " mult=%d", nd->mult);
    if (ok && WANT(XF_ATTR_COUNT_PAD, nd->count_pad))
        ok = cat(buf, len, cap, " count_pad=1");
    if (ok && WANT(XF_ATTR_RANGE, 1))
        ok = cat(buf, len, cap, " begin=%d end=%d", nd->begin, nd->end);
    if (ok && WANT(XF_ATTR_EPS, 1))
        ok = cat(buf, len, cap, " eps=%.9g", (double) nd->eps);
    if (ok && WANT(XF_ATTR_ACT, nd->act != XF_ACT_NONE))
        ok = cat(buf, len, cap, " act=%s", xf__act_name(nd->act));
#undef WANT
    return ok;
}

char *xf__graph_format(const xf_graph *g)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int ok = 1;
    for (int i = 0; ok && i < g->n_nodes; i++) {
        const xf_node *nd = &g->nodes[i];
        ok = cat(&buf, &len, &cap, "%s %s", xf__op_name(nd->op), nd->name);
        if (ok && strcmp(nd->out_name, nd->name) != 0)
            ok = cat(&buf, &len, &cap, " out=%s", nd->out_name);
        for (int k = 0; ok && k < nd->n_in; k++)
            ok = cat(&buf, &len, &cap, "%s%s", k ? "," : " in=", g->nodes[nd->in[k]].out_name);
        ok = ok && cat_attrs(&buf, &len, &cap, nd) && cat(&buf, &len, &cap, "\n");
    }
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}
