/* feats_npy.c — the NumPy output: NAME.npy (format 1.0, '<f4', shape (rows, dim), successful
 * rows only), NAME.paths.txt (one path per row) and NAME.failed.tsv (path, status, reason),
 * and --resume of the three partial files: the inputs are walked in order, each matched to
 * the next whole path line (with a whole row) or the next whole failure line, so what each file
 * had flushed when the run was killed does not matter; the rest is cut off.
 * It is: the npy codec of the feature-file writer (feats_impl.h) and the completeness check of
 * --skip-existing. It is not: a reader.
 */
#include "feats_impl.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_HEADER 128

/* the header, with the settings' hash in its padding (tag != 0) for --resume: the final header
 * keeps it too, as a run killed between the final header and the renames is resumed from it */
static void npy_header(char *h, int64_t rows, int64_t dim, uint32_t tag)
{
    memset(h, ' ', NPY_HEADER);
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = NPY_HEADER - 10;
    memcpy(h + 8, &hl, 2);
    int n = snprintf(h + 10, NPY_HEADER - 10,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     (long long) rows, (long long) dim);
    h[10 + n] = ' ';
    char t[16];
    if (tag && snprintf(t, sizeof t, "# xf:%08x", (unsigned) tag) == 13)
        memcpy(h + NPY_HEADER - 15, t, 13); /* padding; the final header has none */
    h[NPY_HEADER - 1] = '\n';
}

static uint32_t settings_tag(const char *json)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *) json; p && *p; p++)
        h = (h ^ *p) * 16777619u;
    return h ? h : 1;
}

/* the whole lines of f: their count and end offsets (ends[i]: after line i's newline) */
static xf_status whole_lines(FILE *f, long **ends, size_t *n, char ***text, xf_error *err)
{
    size_t cap = 0, len = 0, lcap = 0;
    char *line = NULL;
    int c;
    *ends = NULL, *text = NULL, *n = 0;
    rewind(f);
    for (long off = 0; (c = fgetc(f)) != EOF; off++) {
        if (len + 1 >= lcap) {
            char *nl = realloc(line, lcap = lcap ? 2 * lcap : 256);
            if (!nl)
                return free(line), xf__fail(err, XF_ERR_NOMEM, "out of memory");
            line = nl;
        }
        if (c != '\n') {
            line[len++] = (char) c;
            continue;
        }
        line[len] = 0, len = 0;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            long *ne = realloc(*ends, cap * sizeof *ne);
            char **nt = ne ? realloc(*text, cap * sizeof *nt) : NULL;
            if (ne)
                *ends = ne;
            if (!nt)
                return free(line), xf__fail(err, XF_ERR_NOMEM, "out of memory");
            *text = nt;
        }
        (*ends)[*n] = off + 1;
        if (!((*text)[*n] = strdup(line)))
            return free(line), xf__fail(err, XF_ERR_NOMEM, "out of memory");
        (*n)++;
    }
    free(line);
    return XF_OK;
}

static xf_status npy_resume(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                            int *fresh, xf_error *err)
{
    FILE *npy = x->out[0].f, *pf = x->out[1].f, *ff = x->out[2].f;
    const char *name = x->out[0].tmp;
    char h[NPY_HEADER + 1] = {0}, tag[16];
    long size = fseek(npy, 0, SEEK_END) == 0 ? ftell(npy) : -1;
    rewind(npy);
    if (size < NPY_HEADER) { /* killed before the header: start afresh */
        *fresh = 1;
        return XF_OK;
    }
    snprintf(tag, sizeof tag, "# xf:%08x", (unsigned) settings_tag(o->header_json));
    long long dim = -1, rows0 = -1;
    const char *dict = h + 10; /* after the magic, version and length (binary) */
    if (fread(h, 1, NPY_HEADER, npy) != NPY_HEADER || memcmp(h, "\x93NUMPY\x01\x00", 8) != 0 ||
        !strstr(dict, "'shape': (") ||
        sscanf(strstr(dict, "'shape': (") + 10, "%lld, %lld", &rows0, &dim) != 2)
        return xf__fail(err, XF_ERR_FORMAT, "%s: cannot resume: not a partial npy file", name);
    if (dim != o->dim || !strstr(dict, tag))
        return xf__fail(err, XF_ERR_ARG,
                        "%s: cannot resume: it was started with other settings (weights, layers, "
                        "pooling or preprocessing); remove it or drop --resume",
                        name);
    long *pe = NULL, *fe = NULL;
    char **pt = NULL, **ft = NULL;
    size_t np = 0, nf = 0, ip = 0, jf = 0;
    size_t rows = (size_t) ((size - NPY_HEADER) / (4 * dim));
    xf_status s = whole_lines(pf, &pe, &np, &pt, err);
    if (!s)
        s = whole_lines(ff, &fe, &nf, &ft, err);
    size_t bufsize = 4 * XF_MAX_PATH_BYTES + 8; /* the longest path, every byte escaped */
    char *buf = s ? NULL : malloc(bufsize);
    if (!s && !buf)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !s && i < o->n_expect; i++) {
        const char *want = xf__feats_as_written(xf__text_field, o->expect_paths[i], buf, bufsize);
        size_t wl = strlen(want);
        if (ip < np && ip < rows && strcmp(pt[ip], want) == 0)
            ip++;
        else if (jf < nf && strncmp(ft[jf], want, wl) == 0 && ft[jf][wl] == '\t')
            jf++;
        else
            break;
    }
    *n_done = ip + jf, *n_failed = jf, x->rows = (int64_t) ip;
    long keep[3] = {NPY_HEADER + (long) ip * 4 * (long) dim, ip ? pe[ip - 1] : 0,
                    jf ? fe[jf - 1] : 0};
    FILE *fs[3] = {npy, pf, ff};
    for (int k = 0; !s && k < 3; k++)
        if (fflush(fs[k]) != 0 || ftruncate(fileno(fs[k]), keep[k]) != 0 ||
            fseek(fs[k], keep[k], SEEK_SET) != 0)
            s = xf__feats_io_err(err, &x->out[k]);
    for (size_t i = 0; i < np; i++)
        free(pt[i]);
    for (size_t i = 0; i < nf; i++)
        free(ft[i]);
    free(pe), free(fe), free(pt), free(ft), free(buf);
    return s;
}

static xf_status npy_open(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                          xf_error *err)
{
    (void) n_done, (void) n_failed;
    if (!o->path || strcmp(o->path, "-") == 0)
        return xf__fail(err, XF_ERR_ARG, "--format npy needs -o NAME");
    struct stat st;
    if (stat(o->path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return xf__fail(err, XF_ERR_ARG,
                        "%s: npy output needs a regular file (its header is completed last)",
                        o->path);
    char name[4200];
    size_t pl = strlen(o->path);
    int base = (int) (pl > 4 && strcmp(o->path + pl - 4, ".npy") == 0 ? pl - 4 : pl);
    xf_status s;
    xf_out_kind kind = o->resume ? XF_OUT_RESUME : XF_OUT_PARTIAL;
    snprintf(name, sizeof name, "%.*s.npy", base, o->path);
    if ((s = xf__feats_out(x, name, kind, err)))
        return s;
    if (xf__out_in_place(&x->out[0]))
        return xf__fail(err, XF_ERR_ARG,
                        "%s: npy output needs a regular file (its header is completed last)", name);
    snprintf(name, sizeof name, "%.*s.paths.txt", base, o->path);
    if ((s = xf__feats_out(x, name, kind, err)))
        return s;
    snprintf(name, sizeof name, "%.*s.failed.tsv", base, o->path);
    if ((s = xf__feats_out(x, name, kind, err)))
        return s;
    x->keep = 1; /* an interrupted set stays as NAME.*.partial for --resume */
    x->tag = settings_tag(o->header_json);
    int fresh = !o->resume; /* npy_resume sets it for a partial set too short to keep */
    if (o->resume && (s = npy_resume(x, o, n_done, n_failed, &fresh, err)))
        return s;
    if (!fresh)
        return XF_OK;
    char h[NPY_HEADER];
    npy_header(h, 0, o->dim, x->tag);
    for (int k = 0; k < 3; k++) /* afresh: every file empty, then the header */
        if (fflush(x->out[k].f) != 0 || ftruncate(fileno(x->out[k].f), 0) != 0 ||
            fseek(x->out[k].f, 0, SEEK_SET) != 0)
            return xf__feats_io_err(err, &x->out[k]);
    return fwrite(h, 1, NPY_HEADER, x->out[0].f) == NPY_HEADER ? XF_OK
                                                               : xf__feats_io_err(err, &x->out[0]);
}

static xf_status npy_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                           const char *reason, xf_error *err)
{
    if (st != XF_OK)
        return xf__text_field(x->out[2].f, path) &&
                       fprintf(x->out[2].f, "\t%s\t", xf_status_name(st)) >= 0 &&
                       xf__text_field(x->out[2].f, reason ? reason : "") &&
                       fputc('\n', x->out[2].f) != EOF
                   ? XF_OK
                   : xf__feats_io_err(err, &x->out[2]);
    x->rows++;
    if (fwrite(vec, sizeof(float), (size_t) x->dim, x->out[0].f) != (size_t) x->dim)
        return xf__feats_io_err(err, &x->out[0]);
    return xf__text_field(x->out[1].f, path) && fputc('\n', x->out[1].f) != EOF
               ? XF_OK
               : xf__feats_io_err(err, &x->out[1]);
}

/* the row count goes into the header once all rows are there */
static xf_status npy_finish(xf_feats *x, xf_error *err)
{
    char h[NPY_HEADER];
    npy_header(h, x->rows, x->dim, x->tag);
    FILE *f = x->out[0].f;
    return fseek(f, 0, SEEK_SET) == 0 && fwrite(h, 1, NPY_HEADER, f) == NPY_HEADER
               ? XF_OK
               : xf__feats_io_err(err, &x->out[0]);
}

const xf_feats_codec xf__feats_npy = {npy_open, npy_write, npy_finish};

xf_status xf__npy_check(const char *path, xf_error *err)
{
    FILE *f = fopen(path, "rb");
    char h[NPY_HEADER + 1] = {0}, paths[4200];
    long long rows = -1, dim = -1;
    struct stat st;
    const char *dict = h + 10; /* after the magic, version and length (binary) */
    int ok = f && fstat(fileno(f), &st) == 0 && fread(h, 1, NPY_HEADER, f) == NPY_HEADER &&
             memcmp(h, "\x93NUMPY\x01\x00", 8) == 0 && strstr(dict, "'<f4'") &&
             strstr(dict, "'shape': (") &&
             sscanf(strstr(dict, "'shape': (") + 10, "%lld, %lld", &rows, &dim) == 2 && rows >= 0 &&
             dim > 0 && (long long) st.st_size == NPY_HEADER + rows * dim * 4;
    if (f)
        fclose(f);
    if (!ok)
        return xf__fail(err, XF_ERR_FORMAT, "%s: not a complete npy file of float32 rows", path);
    size_t pl = strlen(path); /* its paths.txt holds one line per row */
    snprintf(paths, sizeof paths, "%.*s.paths.txt", (int) (pl > 4 ? pl - 4 : pl), path);
    long long lines = 0;
    int c;
    if (!(f = fopen(paths, "rb")))
        return xf__fail(err, XF_ERR_FORMAT, "%s: missing", paths);
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    return lines == rows
               ? XF_OK
               : xf__fail(err, XF_ERR_FORMAT, "%s: %lld lines for %lld rows", paths, lines, rows);
}
