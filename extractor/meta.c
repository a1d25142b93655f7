/* meta.c — a backbone's metadata, read with every rule checked and written in one order
 * (see meta.h). It is: typed access through wfile.c's getters. It is not: the byte format.
 */
#include "meta.h"

#include <math.h>
#include <string.h>

const char *const xf__meta_keys[] = {
    XF_KEY_ARCH,
    XF_KEY_NAME,
    XF_KEY_LICENSE,
    XF_KEY_ALIGNMENT,
    XF_KEY_FORMAT_VERSION,
    XF_KEY_KIND,
    XF_KEY_GRAPH,
    XF_KEY_INPUT_HEIGHT,
    XF_KEY_INPUT_WIDTH,
    XF_KEY_INPUT_CHANNELS,
    XF_KEY_INPUT_LAYOUT,
    XF_KEY_INPUT_COLOR,
    XF_KEY_INPUT_RESIZE,
    XF_KEY_INPUT_CROP_PCT,
    XF_KEY_INPUT_MEAN,
    XF_KEY_INPUT_STD,
    XF_KEY_FEATURE_LAYER,
    XF_KEY_FEATURE_DIM,
    XF_KEY_TRAINABLE_FROM,
    XF_KEY_PRETRAINED_UNTIL,
    XF_KEY_LABELS,
    XF_KEY_SOURCE,
    XF_KEY_SOURCE_INTEGRITY,
    XF_KEY_CONVERTER,
    XF_KEY_FINETUNE,
    XF_KEY_CRC32C,
    XF_KEY_HEAD_DIM,
    XF_KEY_HEAD_SOLVER,
    XF_KEY_HEAD_NORMALIZE,
    XF_KEY_HEAD_L2,
    XF_KEY_HEAD_PROBA,
    XF_KEY_HEAD_C,
    XF_KEY_HEAD_CV_ACCURACY,
    XF_KEY_HEAD_TRAIN_COUNT,
    XF_KEY_FEATURES,
};
const int xf__meta_key_count = (int) XF_COUNT(xf__meta_keys);

/* optional string: absent is fine, another type is not */
static xf_status opt_str(const xf_wfile *wf, const char *key, const char **out, xf_error *err)
{
    *out = NULL;
    return xf__wfile_kv(wf, key) ? xf__wfile_get_str(wf, key, out, err) : XF_OK;
}

static xf_status opt_u32(const xf_wfile *wf, const char *key, uint32_t *out, xf_error *err)
{
    *out = 0;
    return xf__wfile_kv(wf, key) ? xf__wfile_get_u32(wf, key, out, err) : XF_OK;
}

/* a convention string: absent means the only value this build knows */
static xf_status convention(const char *key, const char *val, const char *known, xf_error *err)
{
    if (val && strcmp(val, known) != 0)
        return xf__fail(err, XF_ERR_UNSUPPORTED, "%s is '%s'; this build implements '%s' only", key,
                        val, known);
    return XF_OK;
}

xf_status xf__meta_read(const xf_wfile *wf, const xf_graph *g, xf_meta *m, xf_error *err)
{
    memset(m, 0, sizeof *m);
    xf_status s;
    if ((s = opt_str(wf, XF_KEY_ARCH, &m->arch, err)) ||
        (s = opt_str(wf, XF_KEY_NAME, &m->name, err)) ||
        (s = opt_str(wf, XF_KEY_LICENSE, &m->license, err)) ||
        (s = opt_str(wf, XF_KEY_KIND, &m->kind, err)) ||
        (s = opt_str(wf, XF_KEY_CONVERTER, &m->converter, err)) ||
        (s = opt_str(wf, XF_KEY_SOURCE, &m->source, err)) ||
        (s = opt_str(wf, XF_KEY_SOURCE_INTEGRITY, &m->integrity, err)) ||
        (s = opt_u32(wf, XF_KEY_INPUT_HEIGHT, &m->height, err)) ||
        (s = opt_u32(wf, XF_KEY_INPUT_WIDTH, &m->width, err)) ||
        (s = opt_u32(wf, XF_KEY_INPUT_CHANNELS, &m->channels, err)) ||
        (s = opt_str(wf, XF_KEY_INPUT_LAYOUT, &m->layout, err)) ||
        (s = opt_str(wf, XF_KEY_INPUT_COLOR, &m->color, err)) ||
        (s = opt_str(wf, XF_KEY_INPUT_RESIZE, &m->resize, err)) ||
        (s = xf__wfile_get_f32(wf, XF_KEY_INPUT_CROP_PCT, &m->crop_pct, err)) ||
        (s = xf__wfile_get_f32s(wf, XF_KEY_INPUT_MEAN, m->mean, 3, err)) ||
        (s = xf__wfile_get_f32s(wf, XF_KEY_INPUT_STD, m->std, 3, err)) ||
        (s = xf__wfile_get_str(wf, XF_KEY_FEATURE_LAYER, &m->feature_layer, err)) ||
        (s = opt_u32(wf, XF_KEY_FEATURE_DIM, &m->feature_dim, err)) ||
        (s = opt_str(wf, XF_KEY_TRAINABLE_FROM, &m->trainable_from, err)) ||
        (s = opt_str(wf, XF_KEY_PRETRAINED_UNTIL, &m->pretrained_until, err)) ||
        (s = opt_str(wf, XF_KEY_FINETUNE, &m->finetune, err)) ||
        (s = xf__wfile_get_u32(wf, XF_KEY_CRC32C, &m->crc32c, err)))
        return s;
    if (xf__wfile_kv(wf, XF_KEY_LABELS) &&
        (s = xf__wfile_get_strs(wf, XF_KEY_LABELS, &m->labels, &m->n_labels, err)))
        return s;
    if (m->kind && strcmp(m->kind, "backbone") != 0)
        return xf__fail(err, XF_ERR_FORMAT, "xfer.kind is '%s', not a backbone%s", m->kind,
                        strcmp(m->kind, "head") == 0 ? " (a classifier: give it to classify -m)"
                                                     : "");
    if ((s = convention(XF_KEY_INPUT_LAYOUT, m->layout, "nhwc", err)) ||
        (s = convention(XF_KEY_INPUT_COLOR, m->color, "rgb", err)) ||
        (m->resize && strcmp(m->resize, XF_RESIZE_BICUBIC) != 0 &&
         (s = convention(XF_KEY_INPUT_RESIZE, m->resize, XF_RESIZE_BILINEAR, err))))
        return s;
    const xf_node *in = &g->nodes[0];
    if ((m->height && m->height != in->h) || (m->width && m->width != in->w) ||
        (m->channels && m->channels != in->c))
        return xf__fail(err, XF_ERR_SHAPE,
                        "xfer.input is %ux%ux%u, the graph's input %lldx%lldx%lld", m->height,
                        m->width, m->channels, (long long) in->h, (long long) in->w,
                        (long long) in->c);
    if (in->c != 3)
        return xf__fail(err, XF_ERR_UNSUPPORTED, "input has %lld channels; images need 3",
                        (long long) in->c);
    if (!(m->crop_pct > 0.05f && m->crop_pct <= 1.0f))
        return xf__fail(err, XF_ERR_VALUE, "xfer.input.crop_pct %g outside (0.05, 1]",
                        (double) m->crop_pct);
    for (int c = 0; c < 3; c++)
        if (!(m->std[c] > 0))
            return xf__fail(err, XF_ERR_VALUE, "xfer.input.std[%d] must be > 0", c);
    int f = xf__graph_find(g, m->feature_layer);
    if (f < 0)
        return xf__fail(err, XF_ERR_FORMAT, "xfer.feature.layer '%s' is not a graph tensor",
                        m->feature_layer);
    if (m->feature_dim && m->feature_dim != g->nodes[f].c)
        return xf__fail(err, XF_ERR_SHAPE, "xfer.feature.dim is %u, layer '%s' has %lld channels",
                        m->feature_dim, m->feature_layer, (long long) g->nodes[f].c);
    return XF_OK;
}

int xf__meta_write(xf_wwriter *w, const xf_meta *m)
{
    int ok = 1;
#define STR(key, v) ok = ok && (!(v) || xf__ww_str(w, key, v))
#define U32(key, v) ok = ok && (!(v) || xf__ww_u32(w, key, v))
    STR(XF_KEY_ARCH, m->arch);
    STR(XF_KEY_NAME, m->name);
    STR(XF_KEY_KIND, m->kind);
    STR(XF_KEY_CONVERTER, m->converter);
    U32(XF_KEY_INPUT_HEIGHT, m->height);
    U32(XF_KEY_INPUT_WIDTH, m->width);
    U32(XF_KEY_INPUT_CHANNELS, m->channels);
    STR(XF_KEY_INPUT_LAYOUT, m->layout);
    STR(XF_KEY_INPUT_COLOR, m->color);
    STR(XF_KEY_INPUT_RESIZE, m->resize);
    ok = ok && xf__ww_f32(w, XF_KEY_INPUT_CROP_PCT, m->crop_pct) &&
         xf__ww_f32s(w, XF_KEY_INPUT_MEAN, m->mean, 3) &&
         xf__ww_f32s(w, XF_KEY_INPUT_STD, m->std, 3);
    STR(XF_KEY_FEATURE_LAYER, m->feature_layer);
    U32(XF_KEY_FEATURE_DIM, m->feature_dim);
    STR(XF_KEY_LICENSE, m->license);
    STR(XF_KEY_SOURCE, m->source);
    STR(XF_KEY_SOURCE_INTEGRITY, m->integrity);
    STR(XF_KEY_TRAINABLE_FROM, m->trainable_from);
    STR(XF_KEY_PRETRAINED_UNTIL, m->pretrained_until);
    ok = ok && (!m->n_labels ||
                xf__ww_strs(w, XF_KEY_LABELS, (const char *const *) m->labels, m->n_labels));
    STR(XF_KEY_FINETUNE, m->finetune);
#undef STR
#undef U32
    return ok;
}
