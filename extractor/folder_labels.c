/* folder_labels.c — the class of an image is the folder it is in (see folder_labels.h). */
#include "folder_labels.h"

#include <string.h>

int xf__parent_dir(const char *path, const char **start, size_t *len)
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int xf__parent_classes(char *const *paths, size_t n, char ***out)
{
    char **v = malloc((n + 1) * sizeof *v);
    int k = 0;
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *start;
        size_t len;
        if (!xf__parent_dir(paths[i], &start, &len))
            continue;
        v[k] = strndup(start, len);
        if (!v[k])
            break;
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
