/* feats_npy.c — the NumPy output: NAME.npy (format 1.0, '<f4', shape (rows, dim), successful
 * rows only), NAME.paths.txt (one path per row) and NAME.failed.tsv (path, status, reason).
 * It is: the npy codec of the feature-file writer (feats_impl.h). It is not: a reader.
 */
#include "feats_impl.h"

#include <string.h>
#include <sys/stat.h>

#define NPY_HEADER 128

static void npy_header(char *h, int64_t rows, int64_t dim)
{
    memset(h, ' ', NPY_HEADER);
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = NPY_HEADER - 10;
    memcpy(h + 8, &hl, 2);
    int n = snprintf(h + 10, NPY_HEADER - 10,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     (long long) rows, (long long) dim);
    h[10 + n] = ' ';
    h[NPY_HEADER - 1] = '\n';
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
    snprintf(name, sizeof name, "%.*s.npy", base, o->path);
    if ((s = xf__feats_out(x, name, XF_OUT_PARTIAL, err)))
        return s;
    if (xf__out_in_place(&x->out[0]))
        return xf__fail(err, XF_ERR_ARG,
                        "%s: npy output needs a regular file (its header is completed last)", name);
    snprintf(name, sizeof name, "%.*s.paths.txt", base, o->path);
    if ((s = xf__feats_out(x, name, XF_OUT_PARTIAL, err)))
        return s;
    snprintf(name, sizeof name, "%.*s.failed.tsv", base, o->path);
    if ((s = xf__feats_out(x, name, XF_OUT_PARTIAL, err)))
        return s;
    char h[NPY_HEADER];
    npy_header(h, 0, o->dim);
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
    npy_header(h, x->rows, x->dim);
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
    int ok = f && fstat(fileno(f), &st) == 0 && fread(h, 1, NPY_HEADER, f) == NPY_HEADER &&
             memcmp(h, "\x93NUMPY\x01\x00", 8) == 0 && strstr(h, "'<f4'") &&
             strstr(h, "'shape': (") &&
             sscanf(strstr(h, "'shape': (") + 10, "%lld, %lld", &rows, &dim) == 2 && rows >= 0 &&
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
