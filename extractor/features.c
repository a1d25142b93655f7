/* features.c — the feature-file reader of the public API (include/xfer.h: xf_features_*), for
 * programs and the Python package.
 * It is: accessors over one read feats.bin (feats.c's xf__feats_read). It is not: the reader
 * itself, or the writers.
 */
#include "feats.h"
#include "folder_labels.h"
#include "provenance.h"

#include <string.h>

struct xf_features {
    xf_featset set;
    char **cls; /* per record: its class, or NULL */
};

xf_status xf_features_read(const char *path, xf_features **out, xf_error *err)
{
    *out = NULL;
    xf_features *f = calloc(1, sizeof *f);
    if (!f)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    xf_status s = xf__feats_read(path, &f->set, err);
    char **roots = NULL;
    int n_roots = 0;
    if (s) {
        free(f);
        return s;
    }
    if ((s = xf__provenance_roots(f->set.header_json, &roots, &n_roots, err)) ||
        !(f->cls = calloc(f->set.n + 1, sizeof *f->cls)))
        s = s ? s : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !s && i < f->set.n; i++) {
        const char *start;
        size_t len;
        if (xf__class_of(f->set.paths[i], roots, n_roots, &start, &len) &&
            !(f->cls[i] = strndup(start, len)))
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    for (int r = 0; r < n_roots; r++)
        free(roots[r]);
    free(roots);
    if (s) {
        xf_features_free(f);
        return s;
    }
    *out = f;
    return XF_OK;
}

void xf_features_free(xf_features *f)
{
    if (!f)
        return;
    for (size_t i = 0; f->cls && i < f->set.n; i++)
        free(f->cls[i]);
    free(f->cls);
    xf__featset_free(&f->set);
    free(f);
}

const char *xf_features_class(const xf_features *f, size_t i)
{
    return i < f->set.n ? f->cls[i] : NULL;
}

size_t xf_features_count(const xf_features *f)
{
    return f->set.n;
}

int64_t xf_features_dim(const xf_features *f)
{
    return f->set.dim;
}

const char *xf_features_header(const xf_features *f)
{
    return f->set.header_json;
}

const char *xf_features_path(const xf_features *f, size_t i)
{
    return i < f->set.n ? f->set.paths[i] : NULL;
}

xf_status xf_features_status(const xf_features *f, size_t i)
{
    return i < f->set.n ? f->set.status[i] : XF_ERR_ARG;
}

const char *xf_features_reason(const xf_features *f, size_t i)
{
    return i < f->set.n ? f->set.reasons[i] : NULL;
}

const float *xf_features_row(const xf_features *f, size_t i)
{
    return i < f->set.n ? f->set.x + i * (size_t) f->set.dim : NULL;
}
