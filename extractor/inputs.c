/* inputs.c — builds the ordered input list (see inputs.h).
 *
 * It is: files as given, directories walked recursively in sorted order (the dataset-folder
 * rules: hidden entries and non-image extensions skipped and counted), list files, and a
 * failure reason for whatever a walk finds that is not a readable file. It is not: decoding.
 */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DEPTH 64
#define MAX_PATH  4096

typedef struct {
    dev_t dev;
    ino_t ino;
} dir_id;

static xf_status push(xf_inputs *in, const char *p, const char *why, xf_error *err)
{
    size_t len = strlen(p);
    if (len > XF_MAX_PATH_BYTES)
        return xf__fail(err, XF_ERR_ARG,
                        "%.60s...: a path of %zu bytes, longer than the %d a feature file holds", p,
                        len, XF_MAX_PATH_BYTES);
    if (in->n == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 1024;
        char **np = realloc(in->paths, cap * sizeof *np);
        if (np)
            in->paths = np;
        char **nw = np ? realloc(in->why, cap * sizeof *nw) : NULL;
        if (!nw)
            return xf__fail(err, XF_ERR_NOMEM, "out of memory listing inputs");
        in->why = nw;
        in->cap = cap;
    }
    in->why[in->n] = NULL;
    if (!(in->paths[in->n] = strdup(p)) || (why && !(in->why[in->n] = strdup(why)))) {
        free(in->paths[in->n]);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory listing inputs");
    }
    in->n++;
    return XF_OK;
}

int xf__inputs_not_image(const char *name)
{
    static const char *const text[] = {
        "txt",    "csv",    "tsv", "json", "jsonl", "md",   "rst", "html",  "htm", "xml",
        "yaml",   "yml",    "ini", "cfg",  "toml",  "log",  "py",  "ipynb", "sh",  "c",
        "h",      "pdf",    "doc", "docx", "xls",   "xlsx", "zip", "tar",   "gz",  "tgz",
        "bz2",    "xz",     "7z",  "rar",  "npy",   "npz",  "pkl", "pt",    "pth", "onnx",
        "tflite", "gguf",   "bin", "h5",   "mp4",   "mov",  "avi", "mkv",   "mp3", "wav",
        "db",     "sqlite", "exe", "dll",  "so",    "o",    "a"};
    static const char *const names[] = {"README", "LICENSE", "LICENCE",  "COPYING",
                                        "NOTICE", "AUTHORS", "Makefile", "CHANGES"};
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    for (size_t i = 0; i < XF_COUNT(names); i++)
        if (strcasecmp(base, names[i]) == 0)
            return 1;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || strchr(dot, '/'))
        return 0;
    for (size_t i = 0; i < XF_COUNT(text); i++)
        if (strcasecmp(dot + 1, text[i]) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static const char *kind(mode_t m)
{
    return S_ISFIFO(m)                ? "not a regular file (a FIFO)"
           : S_ISSOCK(m)              ? "not a regular file (a socket)"
           : S_ISCHR(m) || S_ISBLK(m) ? "not a regular file (a device)"
                                      : "not a regular file";
}

static xf_status walk(xf_inputs *in, const char *dir, dir_id *stack, int depth, xf_error *err);

/* one entry found in a directory */
static xf_status entry(xf_inputs *in, const char *p, const char *name, dir_id *stack, int depth,
                       xf_error *err)
{
    struct stat st, lst;
    char why[160];
    if (strlen(p) >= MAX_PATH)
        return push(in, p, "path longer than 4096 bytes", err);
    if (stat(p, &st) != 0) {
        int e = errno;
        if (lstat(p, &lst) == 0 && S_ISLNK(lst.st_mode))
            return push(in, p, e == ELOOP ? "symlink loop" : "dangling symlink", err);
        snprintf(why, sizeof why, "cannot open: %s", strerror(e));
        return push(in, p, why, err);
    }
    if (S_ISDIR(st.st_mode)) {
        for (int k = 0; k <= depth; k++)
            if (stack[k].dev == st.st_dev && stack[k].ino == st.st_ino)
                return push(in, p, "symlink loop (a folder inside itself)", err);
        if (depth + 1 >= MAX_DEPTH)
            return push(in, p, "folders nested deeper than 64", err);
        stack[depth + 1].dev = st.st_dev;
        stack[depth + 1].ino = st.st_ino;
        return walk(in, p, stack, depth + 1, err);
    }
    if (!S_ISREG(st.st_mode))
        return push(in, p, kind(st.st_mode), err);
    if (xf__inputs_not_image(name)) {
        in->skipped++;
        return XF_OK;
    }
    return push(in, p, NULL, err);
}

static xf_status walk(xf_inputs *in, const char *dir, dir_id *stack, int depth, xf_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        char why[160];
        snprintf(why, sizeof why, "cannot list: %s", strerror(errno));
        return push(in, dir, why, err);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    xf_status s = XF_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') { /* ".", "..", and hidden entries (.DS_Store, .git...) */
            in->hidden += e->d_name[1] && !(e->d_name[1] == '.' && !e->d_name[2]);
            continue;
        }
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
    size_t dl = strlen(dir);
    for (size_t i = 0; i < n && !s; i++) {
        size_t len = dl + strlen(names[i]) + 2;
        char *p = malloc(len);
        if (!p) {
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(p, len, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
        s = entry(in, p, names[i], stack, depth, err);
        free(p);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return s;
}

xf_status xf__inputs_add(xf_inputs *in, const char *path, xf_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return xf__fail(err, XF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) /* given by name: taken whatever its name says */
        return push(in, path, S_ISREG(st.st_mode) ? NULL : kind(st.st_mode), err);
    char **nr = realloc(in->roots, (size_t) (in->n_roots + 1) * sizeof *nr);
    if (!nr || !(nr[in->n_roots] = strdup(path))) {
        if (nr)
            in->roots = nr;
        return xf__fail(err, XF_ERR_NOMEM, "out of memory listing inputs");
    }
    in->roots = nr;
    in->n_roots++;
    dir_id stack[MAX_DEPTH + 1];
    stack[0].dev = st.st_dev;
    stack[0].ino = st.st_ino;
    return walk(in, path, stack, 0, err);
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
    while (!s && (len = getdelim(&line, &cap, nul ? '\0' : '\n', f)) > 0) {
        if (!nul && memchr(line, '\0', (size_t) len)) {
            /* switch to NUL mode: split this chunk on NULs */
            nul = 1;
            for (char *p = line; p < line + len && !s; p += strlen(p) + 1)
                if (*p && *p != '\n')
                    s = push(in, p, NULL, err);
            continue;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == 0))
            line[--len] = 0;
        if (len > 0)
            s = push(in, line, NULL, err);
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
        s = xf__inputs_add(in, paths[i], err);
    if (!s && list)
        s = xf__inputs_add_list(in, list, err);
    if (!s && in->n == 0) {
        char what[160];
        xf__inputs_describe(in, 0, what, sizeof what); /* "0 inputs, 2 ... skipped" */
        const char *skips = strchr(what, ',');
        s = xf__fail(err, XF_ERR_IO, "%s%s: no images%s%s%s", n ? paths[0] : list,
                     n + (list != NULL) > 1 ? " ..." : "", skips ? " (" : "",
                     skips ? skips + 2 : "", skips ? ")" : "");
    }
    return s;
}

void xf__inputs_describe(const xf_inputs *in, size_t count, char *out, size_t size)
{
    char a[64] = "", b[64] = "";
    if (in->skipped)
        snprintf(a, sizeof a, "%zu non-image file%s", in->skipped, in->skipped == 1 ? "" : "s");
    if (in->hidden)
        snprintf(b, sizeof b, "%zu hidden entr%s", in->hidden, in->hidden == 1 ? "y" : "ies");
    if (!a[0] && !b[0])
        snprintf(out, size, "%zu input%s", count, count == 1 ? "" : "s");
    else
        snprintf(out, size, "%zu input%s, %s%s%s skipped", count, count == 1 ? "" : "s", a,
                 a[0] && b[0] ? " and " : "", b);
}

void xf__inputs_free(xf_inputs *in)
{
    for (size_t i = 0; i < in->n; i++) {
        free(in->paths[i]);
        free(in->why[i]);
    }
    for (int i = 0; i < in->n_roots; i++)
        free(in->roots[i]);
    free(in->paths);
    free(in->why);
    free(in->roots);
    memset(in, 0, sizeof *in);
}
