/* model.c — xf_model: an opened, validated, immutable weights file with its graph.
 *
 * It is: opening (mmap via wfile.c), optional checksum verification, F16 -> F32 expansion,
 * graph parse + weight binding, and the metadata the tools need (preprocessing, feature layer,
 * labels). It is not: execution (session.c) or the file format itself (weights/wfile.c).
 */
#include "xf_internal.h"

#include <math.h>
#include <string.h>

static xf_status get_f32(const xf_wfile *wf, const char *key, float *out, xf_error *err)
{
    const xf_kv *kv = xf__wfile_kv(wf, key);
    if (!kv || kv->type != XF_GGUF_F32)
        return xf__fail(err, XF_ERR_FORMAT, "%s metadata key '%s' (f32)",
                        kv ? "wrong type for" : "missing", key);
    if (!isfinite(kv->num.f))
        return xf__fail(err, XF_ERR_VALUE, "metadata key '%s' is not finite", key);
    *out = (float) kv->num.f;
    return XF_OK;
}

static xf_status expand_f16(xf_model *m, xf_error *err)
{
    for (int i = 0; i < m->wf->n_t; i++) {
        xf_wtensor *t = &m->wf->t[i];
        if (t->type != XF_TYPE_F16)
            continue;
        float *f = xf__alloc(t->n_elems * sizeof(float));
        float **no = realloc(m->owned, (size_t) (m->n_owned + 1) * sizeof *no);
        if (!f || !no) {
            free(f);
            if (no)
                m->owned = no;
            return xf__fail(err, XF_ERR_NOMEM, "out of memory expanding F16 tensor '%s'",
                            t->name);
        }
        m->owned = no;
        m->owned[m->n_owned++] = f;
        for (size_t j = 0; j < t->n_elems; j++) {
            uint16_t h;
            memcpy(&h, (const uint8_t *) t->data + 2 * j, 2);
            f[j] = xf__f16_to_f32(h);
        }
        t->data = f;
        t->type = XF_TYPE_F32;
    }
    return XF_OK;
}

static xf_status load(xf_model *m, const xf_open_opts *opts, xf_error *err)
{
    xf_wfile *wf = m->wf;
    xf_status s;
    if (opts && opts->verify_checksum && (s = xf__wfile_verify(wf, err)))
        return s;
    if ((s = expand_f16(m, err)))
        return s;
    const char *graph;
    if ((s = xf__wfile_get_str(wf, "xfer.graph", &graph, err)))
        return s;
    if ((s = xf__graph_parse(graph, &m->graph, err)))
        return s;
    unsigned char *used = calloc((size_t) wf->n_t + 1, 1);
    if (!used)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    s = xf__graph_bind(&m->graph, wf, used, err);
    for (int i = 0; !s && i < wf->n_t; i++)
        if (!used[i])
            s = xf__fail(err, XF_ERR_FORMAT, "tensor '%s' is not used by the graph",
                         wf->t[i].name);
    free(used);
    if (s)
        return s;

    const xf_node *in = &m->graph.nodes[0];
    xf_preproc *pp = &m->pp;
    memset(pp, 0, sizeof *pp);
    pp->size_h = (int) in->h;
    pp->size_w = (int) in->w;
    pp->exif_rotate = 1;
    if (in->c != 3)
        return xf__fail(err, XF_ERR_UNSUPPORTED, "input has %lld channels; images need 3",
                        (long long) in->c);
    if ((s = get_f32(wf, "xfer.input.crop_pct", &pp->crop_pct, err)) ||
        (s = xf__wfile_get_f32s(wf, "xfer.input.mean", pp->mean, 3, err)) ||
        (s = xf__wfile_get_f32s(wf, "xfer.input.std", pp->std, 3, err)))
        return s;
    if (!(pp->crop_pct > 0.05f && pp->crop_pct <= 1.0f))
        return xf__fail(err, XF_ERR_VALUE, "xfer.input.crop_pct %g outside (0.05, 1]",
                        (double) pp->crop_pct);
    for (int c = 0; c < 3; c++)
        if (!(pp->std[c] > 0))
            return xf__fail(err, XF_ERR_VALUE, "xfer.input.std[%d] must be > 0", c);
    if ((s = xf__wfile_get_str(wf, "xfer.feature.layer", &m->feature_layer, err)))
        return s;
    if (xf__graph_find(&m->graph, m->feature_layer) < 0)
        return xf__fail(err, XF_ERR_FORMAT, "xfer.feature.layer '%s' is not a graph tensor",
                        m->feature_layer);
    const xf_kv *lab = xf__wfile_kv(wf, "xfer.labels");
    if (lab) {
        if (lab->type != XF_GGUF_ARR || lab->arr_type != XF_GGUF_STR)
            return xf__fail(err, XF_ERR_FORMAT, "xfer.labels must be a string array");
        m->labels = lab->strs;
        m->n_labels = (int) lab->count;
    }
    return XF_OK;
}

xf_status xf_model_open(const char *path, const xf_open_opts *opts, xf_model **out, xf_error *err)
{
    if (!out || !path)
        return xf__fail(err, XF_ERR_ARG, "xf_model_open: NULL argument");
    *out = NULL;
    xf_model *m = calloc(1, sizeof *m);
    if (!m)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", path);
    xf_status s = xf__wfile_open(path, &m->wf, err);
    if (!s && (s = load(m, opts, err)))
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
    const xf_kv *kv = xf__wfile_kv(m->wf, key);
    return kv && kv->type == XF_GGUF_STR ? kv->str : NULL;
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
    return m->feature_layer;
}

int xf_model_label_count(const xf_model *m)
{
    return m->n_labels;
}

const char *xf_model_label(const xf_model *m, int i)
{
    return i >= 0 && i < m->n_labels ? m->labels[i] : NULL;
}

xf_preproc xf_model_preproc(const xf_model *m)
{
    return m->pp;
}
