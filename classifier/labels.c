/* labels.c — true labels from folder names or a labels file. See labels.h. */
#include "labels.h"
#include "folder_labels.h"

#include <errno.h>
#include <string.h>

static int cmp_pair(const void *a, const void *b)
{
    return strcmp(**(char *const *const *) a, **(char *const *const *) b);
}

xf_status xf__labels_read(const char *file, xf_labelmap *lm, xf_error *err)
{
    memset(lm, 0, sizeof *lm);
    FILE *f = fopen(file, "r");
    if (!f)
        return xf__fail(err, XF_ERR_IO, "%s: cannot open: %s", file, strerror(errno));
    char *line = NULL;
    size_t cap = 0, n = 0, alloc = 0, lineno = 0;
    char ***pairs = NULL;
    xf_status s = XF_OK;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        char *sep = strchr(line, '\t');
        if (!sep)
            sep = strrchr(line, ',');
        if (!sep || sep == line || !sep[1]) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s:%zu: expected 'path,label' or 'path<TAB>label'",
                         file, lineno);
            break;
        }
        *sep = 0;
        if (lineno == 1 && strcmp(line, "path") == 0)
            continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 256;
            char ***np = realloc(pairs, alloc * sizeof *np);
            if (!np) {
                s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
                break;
            }
            pairs = np;
        }
        char **pr = malloc(2 * sizeof *pr);
        if (!pr || !(pr[0] = strdup(line)) || !(pr[1] = strdup(sep + 1))) {
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
            break;
        }
        pairs[n++] = pr;
    }
    free(line);
    fclose(f);
    if (!s && n > 1)
        qsort(pairs, n, sizeof *pairs, cmp_pair);
    lm->path = malloc((n + 1) * sizeof(char *));
    lm->label = malloc((n + 1) * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        if (lm->path && lm->label) {
            lm->path[i] = pairs[i][0];
            lm->label[i] = pairs[i][1];
        }
        free(pairs[i]);
    }
    free(pairs);
    lm->n = n;
    if (!s && (!lm->path || !lm->label))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (s)
        xf__labels_free(lm);
    return s;
}

void xf__labels_free(xf_labelmap *lm)
{
    if (lm->path && lm->label)
        for (size_t i = 0; i < lm->n; i++) {
            free(lm->path[i]);
            free(lm->label[i]);
        }
    free(lm->path);
    free(lm->label);
    memset(lm, 0, sizeof *lm);
}

static const char *find(const xf_labelmap *lm, const char *key)
{
    size_t lo = 0, hi = lm->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(lm->path[mid], key);
        if (c == 0)
            return lm->label[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *xf__label_of(const xf_labelmap *lm, const char *path, char *buf, size_t size)
{
    if (lm && lm->n) {
        const char *l = find(lm, path);
        if (!l) {
            const char *base = strrchr(path, '/');
            l = find(lm, base ? base + 1 : path);
        }
        return l;
    }
    const char *start;
    size_t len;
    if (!xf__parent_dir(path, &start, &len) || len >= size)
        return NULL;
    memcpy(buf, start, len);
    buf[len] = 0;
    return buf;
}

int xf__class_index(char *const *classes, int k, const char *label)
{
    int lo = 0, hi = k;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(classes[mid], label);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
