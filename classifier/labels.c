/* labels.c — true labels from class folders or label files (see labels.h).
 *
 * It is: an RFC 4180 reader (the delimiter is the first row's: a tab when it has one outside
 * quotes, else a comma), the header and column decision against the actual inputs, sorted
 * lookup by path and trailing part. It is not: prediction.
 */
#include "labels.h"
#include "folder_labels.h"
#include "io.h"

#include <string.h>
#include <strings.h>

#define MAX_LABEL_FILE ((size_t) 1 << 30)

/* the fields of one record starting at *p (advanced past it); NULL at the end of the text */
static char **record(const char **p, const char *end, char delim, int *n, int *bad_quote)
{
    const char *q = *p;
    if (q >= end)
        return NULL;
    char **f = NULL;
    int cap = 0;
    *n = 0;
    for (;;) {
        size_t len = 0, bcap = 64;
        char *buf = malloc(bcap);
        if (!buf)
            goto oom;
        int quoted = q < end && *q == '"';
        q += quoted;
        while (q < end) {
            char c = *q;
            if (quoted && c == '"' && q + 1 < end && q[1] == '"') { /* "" inside quotes */
                c = '"', q++;
            } else if (quoted && c == '"') {
                quoted = 2, q++;
                break;
            } else if (!quoted && (c == delim || c == '\n' || c == '\r')) {
                break;
            }
            if (len + 2 > bcap) {
                char *nb = realloc(buf, bcap *= 2);
                if (!nb) {
                    free(buf);
                    goto oom;
                }
                buf = nb;
            }
            buf[len++] = c, q++;
        }
        if (quoted == 1)
            *bad_quote = 1; /* the text ended inside quotes */
        while (quoted == 2 && q < end && *q != delim && *q != '\n' && *q != '\r')
            q++; /* characters after a closing quote: ignored */
        buf[len] = 0;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            char **nf = realloc(f, (size_t) cap * sizeof *nf);
            if (!nf) {
                free(buf);
                goto oom;
            }
            f = nf;
        }
        f[(*n)++] = buf;
        if (q < end && *q == delim) {
            q++;
            continue;
        }
        break;
    }
    if (q < end && *q == '\r')
        q++;
    if (q < end && *q == '\n')
        q++;
    *p = q;
    return f;
oom:
    for (int i = 0; i < *n; i++)
        free(f[i]);
    free(f);
    *n = -1;
    return NULL;
}

xf_status xf__labels_read(const char *file, xf_labelmap *lm, xf_error *err)
{
    memset(lm, 0, sizeof *lm);
    uint8_t *text;
    size_t len;
    xf_status s = xf__read_file(file, MAX_LABEL_FILE, &text, &len, err);
    if (s)
        return s;
    const char *p = (const char *) text, *end = p + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    char delim = ',';
    for (const char *q = p, *nl = memchr(p, '\n', (size_t) (end - p)); q < (nl ? nl : end); q++)
        if (*q == '\t') { /* a tab on the first line: TSV */
            delim = '\t';
            break;
        }
    size_t cap = 0, line = 0;
    while (!s) {
        int n = 0, bad_quote = 0;
        const char *at = p;
        char **f = record(&p, end, delim, &n, &bad_quote);
        if (n < 0)
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        if (!f)
            break;
        for (const char *c = at; c < p; c++)
            line += *c == '\n';
        if (bad_quote)
            s = xf__fail(err, XF_ERR_FORMAT, "%s:%zu: a quoted field is not closed", file, line);
        if (n == 1 && !f[0][0]) { /* an empty line */
            free(f[0]), free(f);
            continue;
        }
        if (lm->n_rows == cap) {
            cap = cap ? cap * 2 : 256;
            char ***nr = realloc(lm->rows, cap * sizeof *nr);
            int *nn = nr ? realloc(lm->n_fields, cap * sizeof *nn) : NULL;
            if (nr)
                lm->rows = nr;
            if (nn)
                lm->n_fields = nn;
            if (!nr || !nn) {
                for (int i = 0; i < n; i++)
                    free(f[i]);
                free(f);
                s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
                break;
            }
        }
        lm->rows[lm->n_rows] = f;
        lm->n_fields[lm->n_rows++] = n;
    }
    free(text);
    if (!s && lm->n_rows == 0)
        s = xf__fail(err, XF_ERR_FORMAT, "%s: no labels in it", file);
    if (s)
        xf__labels_free(lm);
    return s;
}

static int cmp_pair(const void *a, const void *b)
{
    return strcmp(**(char *const *const *) a, **(char *const *const *) b);
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

/* 1 when name matches one of the inputs: whole, a trailing part at a '/', or the basename */
static int names_an_input(const char *name, char *const *paths, size_t n)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n && nl; i++) {
        size_t pl = strlen(paths[i]);
        if (pl >= nl && strcmp(paths[i] + pl - nl, name) == 0 &&
            (pl == nl || paths[i][pl - nl - 1] == '/'))
            return 1;
    }
    return 0;
}

static int column_named(char **row, int n, const char *const *names)
{
    for (int c = 0; c < n; c++)
        for (int k = 0; names[k]; k++)
            if (strcasecmp(row[c], names[k]) == 0)
                return c;
    return -1;
}

xf_status xf__labels_resolve(xf_labelmap *lm, const char *file, char *const *paths, size_t n,
                             xf_error *err)
{
    static const char *const path_names[] = {"path",  "file",     "filename", "file_name",
                                             "image", "image_id", "img",      "id",
                                             "name",  "filepath", NULL};
    static const char *const label_names[] = {"label", "class",      "category", "target",
                                              "y",     "class_name", "species",  NULL};
    char **r0 = lm->rows[0];
    int n0 = lm->n_fields[0];
    lm->path_col = 0, lm->label_col = 1;
    int pc = column_named(r0, n0, path_names), lc = column_named(r0, n0, label_names);
    /* a header names its columns, or at least does not look like a row: a row's path names
     * one of the inputs or, when it is an image of another set, has an extension */
    const char *dot = strrchr(r0[0], '.');
    int row_like = names_an_input(r0[0], paths, n) ||
                   (n0 >= 2 && names_an_input(r0[1], paths, n)) ||
                   (dot && dot[1] && !strchr(dot, '/'));
    lm->header = pc >= 0 || lc >= 0 || !row_like;
    if (lm->header && pc >= 0 && lc >= 0 && pc != lc)
        lm->path_col = pc, lm->label_col = lc;
    else if (lm->header && n0 == 2 && (pc >= 0) != (lc >= 0)) /* one named: the other is it */
        lm->path_col = pc >= 0 ? pc : 1 - lc, lm->label_col = 1 - lm->path_col;
    else if (lm->header && n0 != 2)
        return xf__fail(err, XF_ERR_FORMAT,
                        "%s:1: a header with %d columns and none named "
                        "path/filename/image and label/class: which columns are which?",
                        file, n0);
    else if (!lm->header && n0 != 2)
        return xf__fail(err, XF_ERR_FORMAT,
                        "%s:1: %d fields; expected path,label (or a header "
                        "naming the columns)",
                        file, n0);
    size_t first = (size_t) lm->header, m = lm->n_rows - first;
    int need = (lm->path_col > lm->label_col ? lm->path_col : lm->label_col) + 1;
    char ***pairs = malloc((m + 1) * sizeof *pairs);
    char **pp = malloc((m + 1) * 2 * sizeof *pp);
    if (!pairs || !pp) {
        free(pairs), free(pp);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < m; i++) {
        char **row = lm->rows[first + i];
        if (lm->n_fields[first + i] < need || !row[lm->path_col][0] || !row[lm->label_col][0]) {
            free(pairs), free(pp);
            return xf__fail(err, XF_ERR_FORMAT, "%s: row %zu: expected a path and a label", file,
                            first + i + 1);
        }
        pp[2 * i] = row[lm->path_col], pp[2 * i + 1] = row[lm->label_col];
        pairs[i] = &pp[2 * i];
    }
    if (m > 1)
        qsort(pairs, m, sizeof *pairs, cmp_pair);
    free(lm->path), free(lm->label);
    lm->path = malloc((m + 1) * sizeof(char *));
    lm->label = malloc((m + 1) * sizeof(char *));
    for (size_t i = 0; lm->path && lm->label && i < m; i++)
        lm->path[i] = pairs[i][0], lm->label[i] = pairs[i][1];
    lm->n = m;
    free(pairs), free(pp);
    return lm->path && lm->label ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory");
}

void xf__labels_free(xf_labelmap *lm)
{
    for (size_t i = 0; i < lm->n_rows; i++) {
        for (int k = 0; k < lm->n_fields[i]; k++)
            free(lm->rows[i][k]);
        free(lm->rows[i]);
    }
    free(lm->rows);
    free(lm->n_fields);
    free(lm->path); /* the strings belong to rows */
    free(lm->label);
    memset(lm, 0, sizeof *lm);
}

const char *xf__label_of(const xf_labelmap *lm, char *const *roots, int n_roots, const char *path,
                         char *buf, size_t size)
{
    if (lm && lm->n) {
        for (const char *p = path; p; p = strchr(p, '/'), p = p ? p + 1 : NULL) {
            const char *l = find(lm, p);
            if (l)
                return l;
        }
        return NULL;
    }
    const char *start;
    size_t len;
    if (!xf__class_of(path, roots, n_roots, &start, &len) || len >= size)
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
