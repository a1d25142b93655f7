/* feats.c — feature file writers: the streaming feats.bin format and NumPy .npy (+ paths.txt
 * and failed.tsv), spec in weights/FORMAT.md.
 *
 * It is: buffered, checked writes; files go to "<name>.tmp.<pid>" and are renamed only when
 * complete, so the final name never holds a partial file. It is not: a reader (examples/ and
 * the tests have those).
 */
#include "feats.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define BIN_MAGIC "XFEATS\r\n"
#define NPY_HEADER 128

struct xf_feats {
    xf_feats_format fmt;
    int64_t dim, rows;
    FILE *f, *paths, *failed;
    char *final[3], *tmp[3];
    int n_files;
    int to_stdout;
};

static xf_status io_err(xf_error *err, const char *what)
{
    return xf__fail(err, XF_ERR_IO, "%s: write failed: %s", what, strerror(errno));
}

static FILE *open_tmp(xf_feats *x, const char *final, xf_error *err)
{
    int k = x->n_files;
    size_t n = strlen(final) + 32;
    x->final[k] = strdup(final);
    x->tmp[k] = malloc(n);
    if (!x->final[k] || !x->tmp[k]) {
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(x->tmp[k], n, "%s.tmp.%ld", final, (long) getpid());
    x->n_files++;
    FILE *f = fopen(x->tmp[k], "wb");
    if (!f)
        xf__fail(err, XF_ERR_IO, "%s: cannot create: %s", x->tmp[k], strerror(errno));
    return f;
}

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

xf_status xf__feats_open(const char *path, xf_feats_format fmt, int64_t dim,
                         const char *header_json, xf_feats **out, xf_error *err)
{
    *out = NULL;
    xf_feats *x = calloc(1, sizeof *x);
    if (!x)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    x->fmt = fmt;
    x->dim = dim;
    xf_status s = XF_OK;
    if (fmt == XF_FEATS_NPY) {
        if (!path) {
            free(x);
            return xf__fail(err, XF_ERR_ARG, "--format npy needs -o NAME");
        }
        char name[4096];
        size_t pl = strlen(path);
        int has_ext = pl > 4 && strcmp(path + pl - 4, ".npy") == 0;
        snprintf(name, sizeof name, "%.*s.npy", (int) (has_ext ? pl - 4 : pl), path);
        if (!(x->f = open_tmp(x, name, err)))
            goto fail;
        snprintf(name, sizeof name, "%.*s.paths.txt", (int) (has_ext ? pl - 4 : pl), path);
        if (!(x->paths = open_tmp(x, name, err)))
            goto fail;
        snprintf(name, sizeof name, "%.*s.failed.tsv", (int) (has_ext ? pl - 4 : pl), path);
        if (!(x->failed = open_tmp(x, name, err)))
            goto fail;
        char h[NPY_HEADER];
        npy_header(h, 0, dim);
        if (fwrite(h, 1, NPY_HEADER, x->f) != NPY_HEADER) {
            s = io_err(err, x->tmp[0]);
            goto fail;
        }
        *out = x;
        return XF_OK;
    }
    if (path) {
        if (!(x->f = open_tmp(x, path, err)))
            goto fail;
    } else {
        x->f = stdout;
        x->to_stdout = 1;
    }
    uint32_t ver = 1, d = (uint32_t) dim, jl = (uint32_t) strlen(header_json);
    if (fwrite(BIN_MAGIC, 1, 8, x->f) != 8 || fwrite(&ver, 4, 1, x->f) != 1 ||
        fwrite(&d, 4, 1, x->f) != 1 || fwrite(&jl, 4, 1, x->f) != 1 ||
        fwrite(header_json, 1, jl, x->f) != jl) {
        s = io_err(err, path ? x->tmp[0] : "stdout");
        goto fail;
    }
    *out = x;
    return XF_OK;
fail:
    if (!s)
        s = err ? err->code : XF_ERR_IO;
    xf__feats_close(x, 0, NULL);
    return s;
}

xf_status xf__feats_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                          const char *reason, xf_error *err)
{
    const char *where = x->to_stdout ? "stdout" : x->tmp[0];
    if (x->fmt == XF_FEATS_NPY) {
        if (st == XF_OK) {
            if (fwrite(vec, sizeof(float), (size_t) x->dim, x->f) != (size_t) x->dim ||
                fprintf(x->paths, "%s\n", path) < 0)
                return io_err(err, where);
            x->rows++;
        } else if (fprintf(x->failed, "%s\t%s\t%s\n", path, xf_status_name(st),
                           reason ? reason : "") < 0) {
            return io_err(err, x->tmp[2]);
        }
        return XF_OK;
    }
    uint32_t pl = (uint32_t) strlen(path);
    int32_t code = (int32_t) st;
    if (fwrite(&pl, 4, 1, x->f) != 1 || fwrite(path, 1, pl, x->f) != pl ||
        fwrite(&code, 4, 1, x->f) != 1)
        return io_err(err, where);
    if (st == XF_OK) {
        if (fwrite(vec, sizeof(float), (size_t) x->dim, x->f) != (size_t) x->dim)
            return io_err(err, where);
    } else {
        uint32_t rl = (uint32_t) (reason ? strlen(reason) : 0);
        if (fwrite(&rl, 4, 1, x->f) != 1 || fwrite(reason ? reason : "", 1, rl, x->f) != rl)
            return io_err(err, where);
    }
    x->rows++;
    return XF_OK;
}

xf_status xf__feats_close(xf_feats *x, int commit, xf_error *err)
{
    if (!x)
        return XF_OK;
    xf_status s = XF_OK;
    if (commit && x->fmt == XF_FEATS_NPY && x->f) {
        char h[NPY_HEADER];
        npy_header(h, x->rows, x->dim);
        if (fseek(x->f, 0, SEEK_SET) != 0 || fwrite(h, 1, NPY_HEADER, x->f) != NPY_HEADER)
            s = io_err(err, x->tmp[0]);
    }
    FILE *files[3] = {x->f, x->paths, x->failed};
    for (int k = 0; k < 3; k++) {
        FILE *f = files[k];
        if (!f)
            continue;
        if (f == stdout) {
            if (fflush(f) != 0 && !s)
                s = io_err(err, "stdout");
            continue;
        }
        if (commit && !s && (fflush(f) != 0 || fsync(fileno(f)) != 0))
            s = io_err(err, x->tmp[k]);
        if (fclose(f) != 0 && commit && !s)
            s = io_err(err, x->tmp[k]);
    }
    for (int k = 0; k < x->n_files; k++) {
        if (commit && !s && rename(x->tmp[k], x->final[k]) != 0)
            s = xf__fail(err, XF_ERR_IO, "%s: rename failed: %s", x->final[k], strerror(errno));
        if (!commit || s)
            unlink(x->tmp[k]);
        free(x->tmp[k]);
        free(x->final[k]);
    }
    free(x);
    return s;
}
