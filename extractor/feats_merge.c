/* feats_merge.c — feature sets written out again: conversion between formats and the merge of
 * a sharded run's parts (extract-features --shard) into the bytes a single run would have
 * written, after checking the parts share one provenance and cover the input list exactly once.
 * It is: what xfer-feats does. It is not: extraction.
 */
#include "feats.h"
#include "folder_labels.h"
#include "provenance.h"

#include <string.h>

/* Writes records [0, n) of each set in order into one output. */
/* libsvm's class list: the file's, else the classes of all records (paths) under the roots */
static int class_list(char **paths, size_t total, char *const *roots, int n_roots,
                      const char *classes_file, char ***classes, xf_error *err)
{
    if (classes_file)
        return xf__classes_read(classes_file, classes, err);
    int n = xf__classes_of(paths, total, roots, n_roots, classes);
    if (n < 0)
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
    return n;
}

xf_status xf__feats_write_sets(xf_featset *sets, int n_sets, const char *header, const char *out,
                               xf_feats_format fmt, const char *classes_file, int resume,
                               xf_error *err)
{
    char **roots = NULL, **classes = NULL, **paths = NULL;
    int n_roots = 0, n_classes = 0;
    size_t total = 0, i = 0;
    for (int k = 0; k < n_sets; k++)
        total += sets[k].n;
    xf_status s = XF_OK;
    if (!(paths = malloc((total + 1) * sizeof *paths))) /* the records, in order */
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int k = 0; paths && k < n_sets; k++)
        for (size_t r = 0; r < sets[k].n; r++)
            paths[i++] = sets[k].paths[r];
    if (!s && fmt == XF_FEATS_LIBSVM) {
        s = xf__provenance_roots(header, &roots, &n_roots, err);
        if (!s &&
            (n_classes = class_list(paths, total, roots, n_roots, classes_file, &classes, err)) < 0)
            s = err ? err->code : XF_ERR_FORMAT, n_classes = 0;
    } else if (!s && classes_file) {
        s = xf__fail(err, XF_ERR_ARG, "--classes is for --format libsvm");
    }
    xf_feats_opts fo = {.path = out,
                        .fmt = fmt,
                        .dim = sets[0].dim,
                        .header_json = header,
                        .classes = classes,
                        .n_classes = n_classes,
                        .roots = roots,
                        .n_roots = n_roots,
                        .resume = resume,
                        .no_keep = !resume, /* without --resume a failed one leaves nothing */
                        .expect_paths = paths,
                        .n_expect = total};
    xf_feats *f = NULL;
    size_t nd = 0, nf, at = 0;
    if (!s)
        s = xf__feats_open(&fo, &f, &nd, &nf, err);
    for (int k = 0; !s && k < n_sets; k++)
        for (size_t r = 0; !s && r < sets[k].n; r++)
            s = at++ < nd
                    ? XF_OK /* already in the partial output */
                    : xf__feats_write(
                          f, sets[k].paths[r], sets[k].status[r],
                          sets[k].status[r] == XF_OK ? sets[k].x + r * (size_t) sets[k].dim : NULL,
                          sets[k].reasons[r], err);
    if (!s)
        s = xf__feats_close(f, 1, err);
    else if (f)
        xf__feats_close(f, 0, NULL);
    for (int c = 0; c < n_classes; c++)
        free(classes[c]);
    free(classes);
    for (int r = 0; r < n_roots; r++)
        free(roots[r]);
    free(roots);
    free(paths);
    return s;
}

xf_status xf__feats_merge(int n, char **files, const char *out, xf_feats_format fmt,
                          const char *classes_file, int resume, xf_error *err)
{
    xf_featset *sets = calloc((size_t) n, sizeof *sets), *sorted = NULL;
    int *order = malloc((size_t) n * sizeof *order);
    xf_shard first = {0, -1, 0, 0, -1};
    char *base = NULL;
    xf_status s = sets && order ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int k = 0; order && k < n; k++)
        order[k] = -1;
    for (int i = 0; i < n && !s; i++) {
        xf_shard sh;
        if ((s = xf__feats_read(files[i], &sets[i], err)))
            break;
        if ((s = xf__provenance_take_shard(sets[i].header_json, &sh, 1, err))) {
            xf__wrap(err, files[i]);
            break;
        }
        if ((size_t) sh.records != sets[i].n)
            s = xf__fail(err, XF_ERR_FORMAT,
                         "%s: shard %ld holds %zu of its %ld records "
                         "(incomplete part?)",
                         files[i], sh.index, sets[i].n, sh.records);
        else if (first.count >= 0 && (sh.count != first.count || sh.total != first.total))
            s = xf__fail(err, XF_ERR_FORMAT,
                         "%s: shard of %ld over %ld inputs, others are of "
                         "%ld over %ld",
                         files[i], sh.count, sh.total, first.count, first.total);
        else if (sh.count != n)
            s = xf__fail(err, XF_ERR_FORMAT, "%d parts given for a run of %ld shards", n, sh.count);
        else if (order[sh.index] >= 0)
            s = xf__fail(err, XF_ERR_FORMAT, "shard %ld given twice (%s and %s)", sh.index,
                         files[order[sh.index]], files[i]);
        else if (base && strcmp(base, sets[i].header_json) != 0)
            s = xf__fail(err, XF_ERR_FORMAT,
                         "%s: made with other weights, layers, pooling or "
                         "preprocessing than %s",
                         files[i], files[0]);
        if (s)
            break;
        first = first.count < 0 ? sh : first;
        order[sh.index] = i;
        base = base ? base : sets[i].header_json;
    }
    size_t expect = 0;
    if (!s && !(sorted = malloc((size_t) n * sizeof *sorted)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int k = 0; !s && k < n; k++) {
        if (order[k] < 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "shard %d of %d is missing", k, n);
            break;
        }
        sorted[k] = sets[order[k]];
        expect += sorted[k].n;
    }
    if (!s && (long) expect != first.total)
        s = xf__fail(err, XF_ERR_FORMAT, "the shards hold %zu records, the run had %ld inputs",
                     expect, first.total);
    if (!s)
        s = xf__feats_write_sets(sorted, n, base, out, fmt, classes_file, resume, err);
    free(sorted);
    for (int i = 0; sets && i < n; i++)
        xf__featset_free(&sets[i]);
    free(sets);
    free(order);
    return s;
}
