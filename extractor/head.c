/* head.c — classifier head files (GGUF, xfer.kind = "head") and prediction.
 *
 * It is: writing/reading a head through weights/wfile.c with every field validated, a softmax
 * model as a pass-through head, opening either kind as a classifier, the decision +
 * probability computation, and the feature-provenance check (same backbone, layers, pooling
 * and preprocessing). It is not: training; inference never needs LIBLINEAR.
 */
#include "head.h"
#include "linear_rule.h"
#include "meta.h"
#include "provenance.h"

#include <math.h>
#include <string.h>

void xf__head_free(xf_head *h)
{
    if (!h)
        return;
    if (h->labels)
        for (int c = 0; c < h->k; c++)
            free(h->labels[c]);
    free(h->labels);
    free(h->W);
    free(h->b);
    free(h->platt);
    free(h->solver);
    free(h->normalize);
    free(h->features_json);
    memset(h, 0, sizeof *h);
}

xf_status xf__head_write(const xf_head *h, const char *path, xf_error *err)
{
    xf_wwriter *w = xf__ww_create();
    if (!w)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    int64_t wne[2] = {h->k, h->dim}, bne[1] = {h->k}, pne[2] = {2, h->k};
    int ok = xf__ww_str(w, XF_KEY_ARCH, "xfer-head") &&
             xf__ww_str(w, XF_KEY_NAME, "linear classifier head") &&
             xf__ww_str(w, XF_KEY_KIND, "head") &&
             xf__ww_str(w, XF_KEY_CONVERTER, "train-classifier " XF_VERSION_STRING) &&
             xf__ww_u32(w, XF_KEY_HEAD_DIM, (uint32_t) h->dim) &&
             xf__ww_strs(w, XF_KEY_LABELS, (const char *const *) h->labels, h->k) &&
             xf__ww_str(w, XF_KEY_HEAD_SOLVER, h->solver) &&
             xf__ww_str(w, XF_KEY_HEAD_NORMALIZE, h->normalize) &&
             xf__ww_u32(w, XF_KEY_HEAD_L2, (uint32_t) h->l2) &&
             xf__ww_str(w, XF_KEY_HEAD_PROBA, h->platt ? "platt" : "logistic") &&
             xf__ww_f32(w, XF_KEY_HEAD_C, h->C) &&
             xf__ww_f32(w, XF_KEY_HEAD_CV_ACCURACY, h->cv_accuracy) &&
             xf__ww_u32(w, XF_KEY_HEAD_TRAIN_COUNT, h->n_train) &&
             xf__ww_str(w, XF_KEY_FEATURES, h->features_json) &&
             xf__ww_tensor(w, "head.weight", 2, wne, h->W) &&
             xf__ww_tensor(w, "head.bias", 1, bne, h->b) &&
             (!h->platt || xf__ww_tensor(w, "head.platt", 2, pne, h->platt));
    xf_status s = ok ? xf__ww_write(w, path, err) : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    xf__ww_free(w);
    return s;
}

static float *copy_tensor(const xf_wfile *wf, const char *name, int n_dims, const int64_t *ne,
                          xf_error *err)
{
    const xf_wtensor *t = xf__wfile_tensor(wf, name);
    if (!t || t->n_dims != n_dims) {
        xf__fail(err, XF_ERR_FORMAT, "tensor '%s' missing or of the wrong rank", name);
        return NULL;
    }
    for (int i = 0; i < n_dims; i++)
        if (t->ne[i] != ne[i]) {
            xf__fail(err, XF_ERR_SHAPE, "tensor '%s': dimension %d is %lld, expected %lld", name, i,
                     (long long) t->ne[i], (long long) ne[i]);
            return NULL;
        }
    float *p = malloc(t->n_elems * sizeof(float));
    if (!p) {
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (t->type == XF_TYPE_F32) {
        memcpy(p, t->data, t->n_elems * sizeof(float));
    } else {
        for (size_t i = 0; i < t->n_elems; i++) {
            uint16_t v;
            memcpy(&v, (const uint8_t *) t->data + 2 * i, 2);
            p[i] = xf__f16_to_f32(v);
        }
    }
    return p;
}

static char *dup_str(const xf_wfile *wf, const char *key, xf_error *err)
{
    const char *v;
    if (xf__wfile_get_str(wf, key, &v, err))
        return NULL;
    char *d = strdup(v);
    if (!d)
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
    return d;
}

static xf_status load(const xf_wfile *wf, xf_head *h, xf_error *err)
{
    const char *kind;
    uint32_t dim, l2;
    xf_status s;
    if ((s = xf__wfile_get_str(wf, XF_KEY_KIND, &kind, err)))
        return s;
    if (strcmp(kind, "head") != 0)
        return xf__fail(err, XF_ERR_FORMAT,
                        "xfer.kind is '%s', not a classifier head (a "
                        "backbone? pass it with -w)",
                        kind);
    char *const *labels;
    int n_labels = 0;
    if ((s = xf__wfile_get_u32(wf, XF_KEY_HEAD_DIM, &dim, err)) ||
        (s = xf__wfile_get_u32(wf, XF_KEY_HEAD_L2, &l2, err)))
        return s;
    if (xf__wfile_get_strs(wf, XF_KEY_LABELS, &labels, &n_labels, NULL) || n_labels < 2 ||
        n_labels > 100000)
        return xf__fail(err, XF_ERR_FORMAT, "xfer.labels must list 2..100000 class names");
    if (dim < 1 || dim > (1u << 22))
        return xf__fail(err, XF_ERR_BOUNDS, "xfer.head.dim %u out of range", dim);
    h->dim = (int) dim;
    h->k = n_labels;
    h->l2 = l2 != 0;
    h->labels = calloc((size_t) h->k, sizeof *h->labels);
    if (!h->labels)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int c = 0; c < h->k; c++)
        if (!(h->labels[c] = strdup(labels[c])))
            return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    const char *proba;
    if ((s = xf__wfile_get_str(wf, XF_KEY_HEAD_PROBA, &proba, err)))
        return s;
    int64_t wne[2] = {h->k, h->dim}, bne[1] = {h->k}, pne[2] = {2, h->k};
    if (!(h->W = copy_tensor(wf, "head.weight", 2, wne, err)) ||
        !(h->b = copy_tensor(wf, "head.bias", 1, bne, err)))
        return err->code;
    if (strcmp(proba, "platt") == 0) {
        if (!(h->platt = copy_tensor(wf, "head.platt", 2, pne, err)))
            return err->code;
    } else if (strcmp(proba, "logistic") != 0) {
        return xf__fail(err, XF_ERR_UNSUPPORTED, "xfer.head.proba '%s'", proba);
    }
    h->logistic = !h->platt;
    if (!(h->solver = dup_str(wf, XF_KEY_HEAD_SOLVER, err)) ||
        !(h->normalize = dup_str(wf, XF_KEY_HEAD_NORMALIZE, err)) ||
        !(h->features_json = dup_str(wf, XF_KEY_FEATURES, err)))
        return err->code;
    /* how it was trained: informative, absent in hand-made heads */
    if (xf__wfile_kv(wf, XF_KEY_HEAD_C) && (s = xf__wfile_get_f32(wf, XF_KEY_HEAD_C, &h->C, err)))
        return s;
    if (xf__wfile_kv(wf, XF_KEY_HEAD_CV_ACCURACY) &&
        (s = xf__wfile_get_f32(wf, XF_KEY_HEAD_CV_ACCURACY, &h->cv_accuracy, err)))
        return s;
    if (xf__wfile_kv(wf, XF_KEY_HEAD_TRAIN_COUNT) &&
        (s = xf__wfile_get_u32(wf, XF_KEY_HEAD_TRAIN_COUNT, &h->n_train, err)))
        return s;
    return XF_OK;
}

xf_status xf__head_read(const char *path, xf_head *h, xf_error *err)
{
    memset(h, 0, sizeof *h);
    xf_wfile *wf;
    xf_status s = xf__wfile_open(path, 0, &wf, err);
    if (s)
        return s;
    if (!(s = xf__wfile_verify(wf, err)))
        s = load(wf, h, err);
    xf__wfile_free(wf);
    if (s) {
        xf__wrap(err, path);
        xf__head_free(h);
    }
    return s;
}

xf_status xf__head_from_backbone(const xf_model *m, xf_head *h, xf_error *err)
{
    memset(h, 0, sizeof *h);
    int last = xf_model_tensor_count(m) - 1;
    int64_t hh, ww, c;
    xf_model_tensor_shape(m, last, &hh, &ww, &c);
    int k = xf_model_label_count(m);
    if (k < 2 || hh != 1 || ww != 1 || c != k)
        return xf__fail(err, XF_ERR_ARG,
                        "this backbone has no classifier of its own (its last "
                        "tensor is not one score per stored label); train one with "
                        "train-classifier");
    if (strcmp(xf_model_tensor_op(m, last), "softmax") != 0)
        return xf__fail(err, XF_ERR_UNSUPPORTED, "the backbone's last tensor is not a softmax");
    h->dim = h->k = k;
    h->direct = 1;
    h->labels = calloc((size_t) k, sizeof *h->labels);
    h->W = calloc(1, sizeof(float));
    h->b = calloc(1, sizeof(float));
    h->solver = strdup("backbone");
    h->normalize = strdup("none");
    xf_preproc pp = xf_model_preproc(m);
    xf_session_opts so = xf_session_default_opts();
    so.n_layers = 1;
    so.layers[0] = xf_model_tensor_name(m, last);
    if (!h->labels || !h->W || !h->b || !h->solver || !h->normalize ||
        !(h->features_json = xf__provenance_make(m, &pp, &so, k, 0)))
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < k; i++)
        if (!(h->labels[i] = strdup(xf_model_label(m, i))))
            return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    return XF_OK;
}

void xf__head_predict(const xf_head *h, const float *x, float *dec, float *prob)
{
    if (h->direct) {
        memcpy(dec, x, (size_t) h->k * sizeof(float));
        memcpy(prob, x, (size_t) h->k * sizeof(float));
        return;
    }
    /* an L2 head scales x by 1/|x| first: dec = b + (W^T x) / |x|, no copy of x */
    double inv = 1.0;
    if (h->l2) {
        double n2 = 0;
        for (int j = 0; j < h->dim; j++)
            n2 += (double) x[j] * (double) x[j];
        inv = n2 > 0 ? 1.0 / sqrt(n2) : 0.0;
    }
    for (int c = 0; c < h->k; c++)
        dec[c] = 0.0f;
    for (int j = 0; j < h->dim; j++) {
        float v = x[j];
        if (v == 0.0f)
            continue;
        const float *w = h->W + (size_t) j * (size_t) h->k;
        for (int c = 0; c < h->k; c++)
            dec[c] += v * w[c];
    }
    for (int c = 0; c < h->k; c++)
        dec[c] = (float) ((double) dec[c] * inv + (double) h->b[c]);
    xf__linear_proba(dec, h->k, h->platt, h->logistic, prob);
}

xf_status xf__head_check_features(const xf_head *h, const char *features_json, int64_t dim,
                                  xf_error *err)
{
    if (dim != h->dim)
        return xf__fail(err, XF_ERR_ARG,
                        "features have %lld dimensions, the classifier expects "
                        "%d",
                        (long long) dim, h->dim);
    return xf__provenance_check(h->features_json, features_json, err);
}

int xf__classifier_open(const char *path, int verify, xf_head *h, xf_error *err)
{
    xf_wfile *wf;
    const char *kind = NULL;
    memset(h, 0, sizeof *h);
    xf_status s = xf__wfile_open(path, XF_WFILE_HEADER_ONLY, &wf, err);
    if (s)
        return -1;
    int is_head =
        xf__wfile_get_str(wf, "xfer.kind", &kind, NULL) == XF_OK && strcmp(kind, "head") == 0;
    int tuned = xf__wfile_kv(wf, "xfer.finetune") != NULL;
    xf__wfile_free(wf);
    if (is_head)
        return xf__head_read(path, h, err) ? -1 : XF_CLASSIFIER_HEAD;
    xf_open_opts oo = xf_open_default_opts();
    oo.verify_checksum = verify;
    xf_model *m;
    if (xf_model_open(path, &oo, &m, err))
        return -1;
    s = xf__head_from_backbone(m, h, err);
    xf_model_free(m);
    if (s) {
        xf__wrap(err, path);
        return -1;
    }
    return tuned ? XF_CLASSIFIER_FINETUNED : XF_CLASSIFIER_BACKBONE;
}
