/* folder_labels.c — the class of an image is the folder it lies in (see folder_labels.h). */
#include "folder_labels.h"
#include "io.h"

#include <ctype.h>
#include <string.h>

static int parent_dir(const char *path, const char **start, size_t *len)
{
    const char *end = strrchr(path, '/');
    if (!end || end == path)
        return 0;
    const char *s = end - 1;
    while (s > path && s[-1] != '/')
        s--;
    *start = s;
    *len = (size_t) (end - s);
    return *len > 0 && !(*len == 1 && s[0] == '.') && !(*len == 2 && s[0] == '.' && s[1] == '.');
}

int xf__class_of(const char *path, char *const *roots, int n_roots, const char **start, size_t *len)
{
    size_t best = 0;
    for (int r = 0; r < n_roots; r++) {
        size_t rl = strlen(roots[r]);
        while (rl > 1 && roots[r][rl - 1] == '/')
            rl--;
        if (rl > best && strncmp(path, roots[r], rl) == 0 && path[rl] == '/')
            best = rl;
    }
    if (best) {
        const char *rest = path + best;
        while (*rest == '/')
            rest++;
        const char *slash = strchr(rest, '/');
        if (slash && slash > rest) { /* a folder between the root and the file */
            *start = rest;
            *len = (size_t) (slash - rest);
            return !(*len == 1 && rest[0] == '.') &&
                   !(*len == 2 && rest[0] == '.' && rest[1] == '.');
        }
    }
    return parent_dir(path, start, len);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int xf__classes_of(char *const *paths, size_t n, char *const *roots, int n_roots, char ***out)
{
    char **v = malloc((n + 1) * sizeof *v);
    int k = 0;
    *out = NULL;
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *start;
        size_t len;
        if (!xf__class_of(paths[i], roots, n_roots, &start, &len))
            continue;
        if (!(v[k] = strndup(start, len))) {
            for (int j = 0; j < k; j++)
                free(v[j]);
            free(v);
            return -1;
        }
        k++;
    }
    if (k > 1)
        qsort(v, (size_t) k, sizeof *v, cmp_str);
    int u = 0;
    for (int i = 0; i < k; i++) {
        if (u && strcmp(v[u - 1], v[i]) == 0) {
            free(v[i]);
            continue;
        }
        v[u++] = v[i];
    }
    *out = v;
    return u;
}

/* "\\t" -> TAB and the other escapes of xf__text_field, in place */
static void unescape(char *s)
{
    char *w = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'x' && isxdigit((unsigned char) s[2]) &&
            isxdigit((unsigned char) s[3])) {
            char hex[3] = {s[2], s[3], 0};
            *w++ = (char) strtol(hex, NULL, 16);
            s += 3;
        } else if (*s == '\\' && s[1]) {
            s++;
            *w++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
        } else {
            *w++ = *s;
        }
    }
    *w = 0;
}

int xf__classes_read(const char *file, char ***out, xf_error *err)
{
    char **lines;
    int n;
    *out = NULL;
    if (xf__read_lines(file, &lines, &n, err) != XF_OK)
        return -1;
    int k = 0;
    xf_status s = XF_OK;
    for (int i = 0; i < n && !s; i++) {
        char *name = lines[i], *tab = strchr(name, '\t');
        if (tab && tab > name && strspn(name, "0123456789") == (size_t) (tab - name)) {
            if (atoi(name) != k)
                s = xf__fail(err, XF_ERR_FORMAT, "%s: line %d: class index %d, expected %d", file,
                             i + 1, atoi(name), k);
            name = tab + 1;
        }
        unescape(name);
        memmove(lines[i], name, strlen(name) + 1);
        if (!s && !lines[i][0])
            continue; /* a blank line */
        for (int j = 0; !s && j < k; j++)
            if (strcmp(lines[j], lines[i]) == 0)
                s = xf__fail(err, XF_ERR_FORMAT, "%s: line %d: class '%s' listed twice", file,
                             i + 1, lines[i]);
        if (!s) {
            char *t = lines[k];
            lines[k++] = lines[i];
            lines[i] = t;
        }
    }
    if (!s && k == 0)
        s = xf__fail(err, XF_ERR_FORMAT, "%s: no class names", file);
    for (int i = s ? 0 : k; i < n; i++)
        free(lines[i]);
    if (s) {
        free(lines);
        return -1;
    }
    *out = lines;
    return k;
}
