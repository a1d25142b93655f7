/* labelled.c — the labelled rows of a feature set (see labelled.h). */
#include "labelled.h"
#include "provenance.h"

#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

void xf__labelled_free(xf_labelled *l)
{
    for (int c = 0; l->classes && c < l->k; c++)
        free(l->classes[c]);
    free(l->classes), free(l->row), free(l->y), free(l->count);
    memset(l, 0, sizeof *l);
}

xf_status xf__labelled_rows(const xf_featset *fs, const xf_labelmap *lm, const char *tool,
                            xf_labelled *l, xf_error *err)
{
    memset(l, 0, sizeof *l);
    char buf[1024], **roots = NULL;
    int n_roots = 0;
    const char **names = malloc((fs->n + 1) * sizeof *names);
    l->row = malloc((fs->n + 1) * sizeof *l->row);
    l->y = malloc((fs->n + 1) * sizeof *l->y);
    xf_status s = names && l->row && l->y ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (!s)
        s = xf__provenance_roots(fs->header_json, &roots, &n_roots, err);
    /* names[] point into lm or are strdup'd (buf is reused): kept as owned copies */
    char **owned = s ? NULL : calloc(fs->n + 1, sizeof *owned);
    if (!s && !owned)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !s && i < fs->n; i++) {
        if (fs->status[i] != XF_OK) {
            l->failed++;
            continue;
        }
        const char *name = xf__label_of(lm, roots, n_roots, fs->paths[i], buf, sizeof buf);
        if (!name) {
            if (++l->unlabelled <= 5 && tool)
                xf__log(XF_LOG_WARN, "%s: %s: no label, skipped\n", tool, fs->paths[i]);
            continue;
        }
        if (!(owned[l->n] = strdup(name)))
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        names[l->n] = owned[l->n];
        l->row[l->n++] = i;
    }
    if (!s && tool && (l->failed || l->unlabelled))
        xf__log(XF_LOG_WARN, "%s: skipped %zu failed and %zu unlabelled records\n", tool, l->failed,
                l->unlabelled);
    /* the sorted unique classes */
    if (!s && !(l->classes = malloc((l->n + 1) * sizeof *l->classes)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (!s) {
        char **sorted = malloc((l->n + 1) * sizeof *sorted);
        if (!sorted)
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        for (size_t i = 0; sorted && i < l->n; i++)
            sorted[i] = owned[i];
        if (sorted && l->n > 1)
            qsort(sorted, l->n, sizeof *sorted, cmp_str);
        for (size_t i = 0; sorted && i < l->n && !s; i++)
            if (l->k == 0 || strcmp(l->classes[l->k - 1], sorted[i]) != 0) {
                if (!(l->classes[l->k] = strdup(sorted[i])))
                    s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
                else
                    l->k++;
            }
        free(sorted);
    }
    if (!s && l->k < 2)
        s = xf__fail(err, XF_ERR_ARG, "need at least two classes, found %d (%s)", l->k,
                     l->k ? l->classes[0] : "no labelled rows");
    if (!s && !(l->count = calloc((size_t) l->k, sizeof *l->count)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !s && i < l->n; i++) {
        l->y[i] = xf__class_index(l->classes, l->k, names[i]);
        l->count[l->y[i]]++;
    }
    for (size_t i = 0; !s && i < fs->n; i++) { /* a class whose every image failed would vanish */
        const char *name = fs->status[i] == XF_OK
                               ? NULL
                               : xf__label_of(lm, roots, n_roots, fs->paths[i], buf, sizeof buf);
        if (name && xf__class_index(l->classes, l->k, name) < 0)
            s = xf__fail(err, XF_ERR_ARG,
                         "class '%s' has no usable example: all its images failed (%s)", name,
                         fs->reasons[i] ? fs->reasons[i] : fs->paths[i]);
    }
    for (size_t i = 0; owned && i < l->n; i++)
        free(owned[i]);
    free(owned);
    free(names);
    for (int r = 0; r < n_roots; r++)
        free(roots[r]);
    free(roots);
    if (s)
        xf__labelled_free(l);
    return s;
}
