/* feats_text.c — the text outputs: CSV (a header row "path,status,f0,...", one row per input,
 * status a word: XF_OK, XF_ERR_IMAGE...; a failed row has every column, the features empty)
 * and LIBSVM ("label idx:value ..." for successful inputs, the label being the index of the
 * image's class folder (folder_labels.h) in the class list; with -o NAME also NAME.paths.txt
 * and NAME.classes.txt).
 * It is: two codecs of the feature-file writer (feats_impl.h). It is not: readers.
 */
#include "feats_impl.h"
#include "folder_labels.h"

#include <string.h>

static xf_status csv_open(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                          xf_error *err)
{
    (void) n_done, (void) n_failed;
    xf_status s = xf__feats_out(x, o->path ? o->path : "-", XF_OUT_PARTIAL, err);
    if (s)
        return s;
    FILE *f = x->out[0].f;
    int ok = fprintf(f, "path,status") > 0;
    for (int64_t j = 0; ok && j < o->dim; j++)
        ok = fprintf(f, ",f%lld", (long long) j) > 0;
    ok = ok && fputc('\n', f) != EOF;
    return ok ? XF_OK : xf__feats_io_err(err, &x->out[0]);
}

static xf_status csv_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                           const char *reason, xf_error *err)
{
    (void) reason;
    FILE *f = x->out[0].f;
    int ok = xf__csv_field(f, path) && fprintf(f, ",%s", xf_status_name(st)) >= 0;
    for (int64_t j = 0; ok && j < x->dim; j++)
        ok = st == XF_OK ? fprintf(f, ",%.9g", (double) vec[j]) >= 0 : fputc(',', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    x->rows++;
    return ok ? XF_OK : xf__feats_io_err(err, &x->out[0]);
}

const xf_feats_codec xf__feats_csv = {csv_open, csv_write, NULL};

/* The label of path: its class's index in the list, -1 when it has no class folder. */
static xf_status class_of(const xf_feats *x, const char *path, int *label, xf_error *err)
{
    const char *start;
    size_t len;
    *label = -1;
    if (!xf__class_of(path, x->roots, x->n_roots, &start, &len))
        return XF_OK;
    for (int i = 0; i < x->n_classes; i++)
        if (strlen(x->classes[i]) == len && memcmp(x->classes[i], start, len) == 0)
            return *label = i, XF_OK;
    return xf__fail(err, XF_ERR_ARG, "%s: its class '%.*s' is not in the class list (--classes)",
                    path, (int) len, start);
}

static xf_status libsvm_open(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                             xf_error *err)
{
    (void) n_done, (void) n_failed;
    int to_file = o->path && strcmp(o->path, "-") != 0;
    xf_status s = xf__feats_out(x, to_file ? o->path : "-", XF_OUT_PARTIAL, err);
    if (s || !to_file)
        return s;
    char name[4200];
    snprintf(name, sizeof name, "%s.paths.txt", o->path);
    if ((s = xf__feats_out(x, name, XF_OUT_PARTIAL, err)))
        return s;
    snprintf(name, sizeof name, "%s.classes.txt", o->path);
    if ((s = xf__feats_out(x, name, XF_OUT_PARTIAL, err)))
        return s;
    for (int i = 0; i < x->n_classes; i++)
        if (fprintf(x->out[2].f, "%d\t", i) < 0 || !xf__text_field(x->out[2].f, x->classes[i]) ||
            fputc('\n', x->out[2].f) == EOF)
            return xf__feats_io_err(err, &x->out[2]);
    return XF_OK;
}

static xf_status libsvm_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                              const char *reason, xf_error *err)
{
    (void) reason;
    if (st != XF_OK)
        return XF_OK;
    FILE *f = x->out[0].f;
    int label;
    xf_status s = class_of(x, path, &label, err);
    if (s)
        return s;
    int ok = fprintf(f, "%d", label) >= 0;
    for (int64_t j = 0; ok && j < x->dim; j++)
        if (vec[j] != 0.0f)
            ok = fprintf(f, " %lld:%.9g", (long long) j + 1, (double) vec[j]) >= 0;
    ok = ok && fputc('\n', f) != EOF;
    x->rows++;
    if (!ok)
        return xf__feats_io_err(err, &x->out[0]);
    return x->n_out < 2 || (xf__text_field(x->out[1].f, path) && fputc('\n', x->out[1].f) != EOF)
               ? XF_OK
               : xf__feats_io_err(err, &x->out[1]);
}

const xf_feats_codec xf__feats_libsvm = {libsvm_open, libsvm_write, NULL};
