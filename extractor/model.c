/* model.c — xf_model: an opened, validated, immutable weights file with its graph.
 *
 * It is: opening (mmap via wfile.c), checksum verification (by default), F16 -> F32 expansion,
 * graph parse + weight binding, the metadata (meta.c) and the accessors of xfer.h. It is not:
 * execution (session.c) or the file format itself (wfile.c).
 */
#include "model.h"
#include "conv_kernel.h"
#include "cpu.h"
#include "winograd.h"

#include <string.h>

xf_open_opts xf_open_default_opts(void)
{
    xf_open_opts o;
    memset(&o, 0, sizeof o);
    o.verify_checksum = 1;
    return o;
}

/* F16 tensors get an F32 copy owned by the model; the wfile's table is left as read (nbytes,
 * data and type describe the file), the graph binds the copies. */
static xf_status expand_f16(xf_model *m, const float **f32, xf_error *err)
{
    for (int i = 0; i < m->wf->n_t; i++) {
        const xf_wtensor *t = &m->wf->t[i];
        f32[i] = t->data;
        if (t->type != XF_TYPE_F16)
            continue;
        float *f = xf__alloc(t->n_elems * sizeof(float));
        float **no = realloc(m->owned, (size_t) (m->n_owned + 1) * sizeof *no);
        if (!f || !no) {
            free(f);
            if (no)
                m->owned = no;
            return xf__fail(err, XF_ERR_NOMEM, "out of memory expanding F16 tensor '%s'", t->name);
        }
        m->owned = no;
        m->owned[m->n_owned++] = f;
        for (size_t j = 0; j < t->n_elems; j++) {
            uint16_t h;
            memcpy(&h, (const uint8_t *) t->data + 2 * j, 2);
            f[j] = xf__f16_to_f32(h);
        }
        f32[i] = f;
    }
    return XF_OK;
}

/* A buffer the model owns (freed with it); NULL on NOMEM. */
static float *own(xf_model *m, size_t floats)
{
    float *f = xf__alloc(floats * sizeof(float));
    float **no = f ? realloc(m->owned, (size_t) (m->n_owned + 1) * sizeof *no) : NULL;
    if (!no) {
        free(f);
        return NULL;
    }
    m->owned = no;
    m->owned[m->n_owned++] = f;
    return f;
}

/* With the AVX-512 kernels: every convolution's and dense layer's weights in the kernel's
 * panels, group by group, once (the forward pass then reads them in order); a convolution that
 * runs by Winograd gets its transformed weights instead. */
static xf_status pack_weights(xf_model *m, xf_error *err)
{
    if (xf__isa() != XF_ISA_AVX512)
        return XF_OK;
    for (int i = 0; i < m->graph.n_nodes; i++) {
        xf_node *nd = &m->graph.nodes[i];
        if (nd->op != XF_OP_CONV2D && nd->op != XF_OP_DENSE)
            continue;
        const xf_node *src = &m->graph.nodes[nd->in[0]];
        int dense = nd->op == XF_OP_DENSE; /* a 1x1 convolution of the flattened input */
        int64_t G = dense ? 1 : nd->groups, og = nd->cout / G;
        int64_t K = dense ? src->h * src->w * src->c : (int64_t) nd->kh * nd->kw * (src->c / G);
        int wino = dense ? 0 : xf__wino_choice(nd, src->c);
        size_t per =
            wino ? xf__wino_packed_floats(wino, src->c, og) : xf__kconv_packed_floats(K, og);
        float *p = own(m, per * (size_t) G);
        if (!p)
            return xf__fail(err, XF_ERR_NOMEM, "out of memory packing the weights of '%s'",
                            nd->name);
        if (wino) { /* 3x3 stride 1: the transformed weights only */
            xf__wino_pack(nd->weight, src->c, nd->cout, wino, p);
            nd->wino = p, nd->wino_tile = wino;
            continue;
        }
        for (int64_t g = 0; g < G; g++)
            xf__kconv_pack(nd->weight + g * og, K, og, nd->cout, p + (size_t) g * per);
        nd->packed = p;
    }
    return XF_OK;
}

static xf_status load(xf_model *m, const xf_open_opts *opts, xf_error *err)
{
    xf_wfile *wf = m->wf;
    xf_status s;
    if (opts->verify_checksum && (s = xf__wfile_verify(wf, err)))
        return s;
    const char *graph;
    if ((s = xf__wfile_get_str(wf, XF_KEY_GRAPH, &graph, err))) {
        const char *kind = NULL;
        if (xf__wfile_get_str(wf, XF_KEY_KIND, &kind, NULL) == XF_OK && strcmp(kind, "head") == 0)
            return xf__fail(err, XF_ERR_FORMAT,
                            "a classifier head, not a backbone (it classifies "
                            "features: give it to classify -m; xfer-inspect shows it)");
        return s;
    }
    if ((s = xf__graph_parse(graph, &m->graph, err)))
        return s;
    const float **f32 = calloc((size_t) wf->n_t + 1, sizeof *f32);
    unsigned char *used = calloc((size_t) wf->n_t + 1, 1);
    if (!used || !f32) {
        free(used);
        free(f32);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    if (!(s = expand_f16(m, f32, err)))
        s = xf__graph_bind(&m->graph, wf, f32, used, err);
    for (int i = 0; !s && i < wf->n_t; i++)
        if (!used[i])
            s = xf__fail(err, XF_ERR_FORMAT, "tensor '%s' is not used by the graph", wf->t[i].name);
    free(used);
    free(f32);
    if (s || (s = xf__meta_read(wf, &m->graph, &m->meta, err)) || (s = pack_weights(m, err)))
        return s;
    xf_preproc *pp = &m->pp;
    memset(pp, 0, sizeof *pp);
    pp->size_h = (int) m->graph.nodes[0].h;
    pp->size_w = (int) m->graph.nodes[0].w;
    pp->exif_rotate = 1;
    pp->crop_pct = m->meta.crop_pct;
    pp->interp = m->meta.resize && strcmp(m->meta.resize, XF_RESIZE_BICUBIC) == 0
                     ? XF_INTERP_BICUBIC
                     : XF_INTERP_BILINEAR;
    memcpy(pp->mean, m->meta.mean, sizeof pp->mean);
    memcpy(pp->std, m->meta.std, sizeof pp->std);
    return XF_OK;
}

xf_status xf_model_open(const char *path, const xf_open_opts *opts, xf_model **out, xf_error *err)
{
    if (!out || !path)
        return xf__fail(err, XF_ERR_ARG, "xf_model_open: NULL argument");
    *out = NULL;
    xf_open_opts o = opts ? *opts : xf_open_default_opts();
    xf_model *m = calloc(1, sizeof *m);
    if (!m)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", path);
    xf_status s = xf__wfile_open(path, 0, &m->wf, err);
    if (!s && (s = load(m, &o, err)))
        xf__wrap(err, path);
    if (s) {
        xf_model_free(m);
        return s;
    }
    *out = m;
    return XF_OK;
}

void xf_model_free(xf_model *m)
{
    if (!m)
        return;
    xf__graph_free(&m->graph);
    for (int i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    xf__wfile_free(m->wf);
    free(m);
}

const char *xf_model_meta_str(const xf_model *m, const char *key)
{
    const char *v = NULL;
    return xf__wfile_get_str(m->wf, key, &v, NULL) == XF_OK ? v : NULL;
}

uint32_t xf_model_checksum(const xf_model *m)
{
    return m->meta.crc32c;
}

int xf_model_input_height(const xf_model *m)
{
    return m->pp.size_h;
}

int xf_model_input_width(const xf_model *m)
{
    return m->pp.size_w;
}

size_t xf_model_input_len(const xf_model *m)
{
    return (size_t) m->pp.size_h * (size_t) m->pp.size_w * 3;
}

int xf_model_tensor_count(const xf_model *m)
{
    return m->graph.n_nodes;
}

const char *xf_model_tensor_name(const xf_model *m, int i)
{
    return i >= 0 && i < m->graph.n_nodes ? m->graph.nodes[i].out_name : NULL;
}

const char *xf_model_tensor_op(const xf_model *m, int i)
{
    return i >= 0 && i < m->graph.n_nodes ? xf__op_name(m->graph.nodes[i].op) : NULL;
}

void xf_model_tensor_shape(const xf_model *m, int i, int64_t *h, int64_t *w, int64_t *c)
{
    if (i < 0 || i >= m->graph.n_nodes) {
        *h = *w = *c = 0;
        return;
    }
    const xf_node *nd = &m->graph.nodes[i];
    *h = nd->h;
    *w = nd->w;
    *c = nd->c;
}

int xf_model_tensor_find(const xf_model *m, const char *name)
{
    return xf__graph_find(&m->graph, name);
}

const char *xf_model_default_layer(const xf_model *m)
{
    return m->meta.feature_layer;
}

int xf_model_label_count(const xf_model *m)
{
    return m->meta.n_labels;
}

const char *xf_model_label(const xf_model *m, int i)
{
    return i >= 0 && i < m->meta.n_labels ? m->meta.labels[i] : NULL;
}

xf_preproc xf_model_preproc(const xf_model *m)
{
    return m->pp;
}
