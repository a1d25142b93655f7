/* classifier.c — classifiers in the public API (include/xfer.h: xf_classifier_*), for programs
 * and the Python package: what classify applies, on feature rows the caller holds.
 * It is: accessors and batched prediction over one opened head (head.c). It is not: the head
 * file, its probability rules (linear_rule.c) or training (classifier/).
 */
#include "head.h"

#include <math.h>
#include <string.h>

struct xf_classifier {
    xf_head head;
    int kind; /* XF_CLASSIFIER_HEAD, _FINETUNED or _BACKBONE */
};

xf_status xf_classifier_open(const char *path, const xf_open_opts *opts, xf_classifier **out,
                             xf_error *err)
{
    *out = NULL;
    xf_error local;
    err = err ? err : &local;
    xf_open_opts oo = opts ? *opts : xf_open_default_opts();
    xf_classifier *c = calloc(1, sizeof *c);
    if (!c)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    c->kind = xf__classifier_open(path, oo.verify_checksum, &c->head, err);
    if (c->kind < 0) {
        free(c);
        return err->code;
    }
    *out = c;
    return XF_OK;
}

void xf_classifier_free(xf_classifier *c)
{
    if (!c)
        return;
    xf__head_free(&c->head);
    free(c);
}

int64_t xf_classifier_dim(const xf_classifier *c)
{
    return c->head.dim;
}

int xf_classifier_class_count(const xf_classifier *c)
{
    return c->head.k;
}

const char *xf_classifier_class(const xf_classifier *c, int i)
{
    return i >= 0 && i < c->head.k ? c->head.labels[i] : NULL;
}

const char *xf_classifier_kind(const xf_classifier *c)
{
    return c->kind == XF_CLASSIFIER_HEAD        ? "head"
           : c->kind == XF_CLASSIFIER_FINETUNED ? "finetuned"
                                                : "backbone";
}

const char *xf_classifier_features(const xf_classifier *c)
{
    return c->head.features_json;
}

xf_status xf_classifier_check(const xf_classifier *c, const char *features_header, int64_t dim,
                              xf_error *err)
{
    return xf__head_check_features(&c->head, features_header, dim, err);
}

xf_status xf_classifier_predict(const xf_classifier *c, const float *x, size_t n, int64_t dim,
                                float *prob, float *dec, xf_error *err)
{
    const xf_head *h = &c->head;
    if (dim != h->dim)
        return xf__fail(err, XF_ERR_ARG, "rows have %lld values, the classifier expects %d",
                        (long long) dim, h->dim);
    float *scratch = dec ? NULL : malloc((size_t) h->k * sizeof(float));
    if (!dec && !scratch)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * (size_t) h->dim;
        for (int j = 0; j < h->dim; j++)
            if (!isfinite(row[j])) {
                free(scratch);
                return xf__fail(err, XF_ERR_VALUE, "row %zu: value %d is %s", i, j,
                                isnan(row[j]) ? "NaN" : "infinite");
            }
        xf__head_predict(h, row, dec ? dec + i * (size_t) h->k : scratch, prob + i * (size_t) h->k);
    }
    free(scratch);
    return XF_OK;
}
