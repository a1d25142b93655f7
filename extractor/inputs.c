/* inputs.c — builds the ordered input list: files as given, directories walked recursively in
 * sorted order, list files. It is: path collection with loop detection. It is not: decoding.
 */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    dev_t dev;
    ino_t ino;
} dir_id;

static xf_status push(xf_inputs *in, const char *p, xf_error *err)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 1024;
        char **np = realloc(in->paths, cap * sizeof *np);
        if (!np)
            return xf__fail(err, XF_ERR_NOMEM, "out of memory listing inputs");
        in->paths = np;
        in->cap = cap;
    }
    if (!(in->paths[in->n] = strdup(p)))
        return xf__fail(err, XF_ERR_NOMEM, "out of memory listing inputs");
    in->n++;
    return XF_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static xf_status walk(xf_inputs *in, const char *dir, dir_id *stack, int depth,
                      void (*warn)(const char *, const char *), xf_error *err)
{
    if (depth >= 64) {
        warn(dir, "directory nesting deeper than 64, skipped");
        return XF_OK;
    }
    DIR *d = opendir(dir);
    if (!d) {
        warn(dir, strerror(errno));
        return XF_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    xf_status s = XF_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                s = xf__fail(err, XF_ERR_NOMEM, "out of memory listing %s", dir);
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) {
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (!s && n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && !s; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *p = malloc(len);
        if (!p) {
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
        struct stat st;
        if (stat(p, &st) != 0) {
            warn(p, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            int loop = 0;
            for (int k = 0; k <= depth; k++)
                loop |= stack[k].dev == st.st_dev && stack[k].ino == st.st_ino;
            if (loop) {
                warn(p, "symlink loop, skipped");
            } else {
                stack[depth + 1].dev = st.st_dev;
                stack[depth + 1].ino = st.st_ino;
                s = walk(in, p, stack, depth + 1, warn, err);
            }
        } else if (S_ISREG(st.st_mode)) {
            s = push(in, p, err);
        }
        free(p);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return s;
}

static void warn_stderr(const char *path, const char *reason)
{
    fprintf(stderr, "%s: %s\n", path, reason);
}

xf_status xf__inputs_add(xf_inputs *in, const char *path,
                         void (*warn)(const char *path, const char *reason), xf_error *err)
{
    if (!warn)
        warn = warn_stderr;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return push(in, path, err); /* files (and missing paths) fail later, with a record */
    dir_id stack[65];
    stack[0].dev = st.st_dev;
    stack[0].ino = st.st_ino;
    return walk(in, path, stack, 0, warn, err);
}

xf_status xf__inputs_add_list(xf_inputs *in, const char *list, xf_error *err)
{
    FILE *f = strcmp(list, "-") == 0 ? stdin : fopen(list, "rb");
    if (!f)
        return xf__fail(err, XF_ERR_IO, "%s: cannot open: %s", list, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    xf_status s = XF_OK;
    int nul = 0;
    /* NUL-separated when the first chunk holds a NUL */
    int c = fgetc(f);
    if (c != EOF)
        ungetc(c, f);
    while (!s && (len = getdelim(&line, &cap, nul ? '\0' : '\n', f)) > 0) {
        if (!nul && memchr(line, '\0', (size_t) len)) {
            /* switch to NUL mode: split this chunk on NULs */
            nul = 1;
            for (char *p = line; p < line + len && !s; p += strlen(p) + 1)
                if (*p && *p != '\n')
                    s = push(in, p, err);
            continue;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == 0))
            line[--len] = 0;
        if (len > 0)
            s = push(in, line, err);
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return s;
}

xf_status xf__inputs_collect(xf_inputs *in, char *const *paths, int n, const char *list,
                             xf_error *err)
{
    xf_status s = XF_OK;
    for (int i = 0; i < n && !s; i++)
        s = xf__inputs_add(in, paths[i], NULL, err);
    return !s && list ? xf__inputs_add_list(in, list, err) : s;
}

void xf__inputs_free(xf_inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->paths[i]);
    free(in->paths);
    memset(in, 0, sizeof *in);
}
