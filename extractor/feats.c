/* feats.c — feature file writers: the streaming feats.bin format and NumPy .npy (+ paths.txt
 * and failed.tsv), spec in weights/FORMAT.md.
 *
 * It is: buffered, checked writes; files go to "<name>.tmp.<pid>" and are renamed only when
 * complete, so the final name never holds a partial file. It is not: a reader (examples/ and
 * the tests have those).
 */
#include "feats.h"

#include <errno.h>
#include <math.h>
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

int xf__features_json(const xf_model *m, const xf_preproc *pp, const xf_session_opts *so,
                      int64_t dim, char *buf, size_t size)
{
    const xf_kv *crc = xf__wfile_kv(m->wf, "xfer.data.crc32c");
    char lay[2048] = "";
    int n = so->n_layers ? so->n_layers : 1;
    for (int l = 0; l < n; l++)
        snprintf(lay + strlen(lay), sizeof lay - strlen(lay), "%s\"%s\"", l ? "," : "",
                 so->n_layers ? so->layers[l] : xf_model_default_layer(m));
    static const char *const pools[] = {"avg", "max", "none"};
    const char *name = xf_model_meta_str(m, "general.name");
    int len = snprintf(buf, size,
                       "{\"weights\":\"%s\",\"weights_crc32c\":\"%08x\",\"layers\":[%s],"
                       "\"pool\":\"%s\",\"dim\":%lld,\"input\":{\"height\":%d,\"width\":%d,"
                       "\"crop_pct\":%g,\"resize\":\"shorter_side_bilinear_antialias,center_crop\","
                       "\"mean\":[%g,%g,%g],\"std\":[%g,%g,%g],\"exif_rotate\":%s},"
                       "\"l2norm\":false,\"tool\":\"xfer %s\"}",
                       name ? name : "", crc ? (unsigned) crc->num.f : 0u, lay,
                       pools[so->pool], (long long) dim, pp->size_h, pp->size_w,
                       (double) pp->crop_pct, (double) pp->mean[0], (double) pp->mean[1],
                       (double) pp->mean[2], (double) pp->std[0], (double) pp->std[1],
                       (double) pp->std[2], pp->exif_rotate ? "true" : "false",
                       XF_VERSION_STRING);
    return len > 0 && (size_t) len < size;
}

/* ---- reader ------------------------------------------------------------------------------------ */
#define MAX_PATH_LEN  65536
#define MAX_DIM       (1 << 22)
#define MAX_JSON_LEN  (1 << 20)

void xf__featset_free(xf_featset *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->paths[i]);
        free(fs->reasons[i]);
    }
    free(fs->paths);
    free(fs->reasons);
    free(fs->status);
    free(fs->x);
    free(fs->header_json);
    memset(fs, 0, sizeof *fs);
}

static char *read_str(FILE *f, uint32_t max, int *eof)
{
    uint32_t len;
    size_t got = fread(&len, 1, 4, f);
    *eof = got == 0;
    if (got != 4 || len > max)
        return NULL;
    char *s = malloc((size_t) len + 1);
    if (!s)
        return NULL;
    if (fread(s, 1, len, f) != len) {
        free(s);
        return NULL;
    }
    s[len] = 0;
    return s;
}

xf_status xf__feats_read(const char *path, xf_featset *fs, xf_error *err)
{
    memset(fs, 0, sizeof *fs);
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return xf__fail(err, XF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char magic[8];
    uint32_t ver, dim;
    xf_status s = XF_OK;
    int eof;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, BIN_MAGIC, 8) != 0) {
        s = xf__fail(err, XF_ERR_FORMAT, "%s: not an xfer feature file (bad magic)", path);
        goto done;
    }
    if (fread(&ver, 4, 1, f) != 1 || fread(&dim, 4, 1, f) != 1) {
        s = xf__fail(err, XF_ERR_IO, "%s: truncated header", path);
        goto done;
    }
    if (ver != 1 || dim < 1 || dim > MAX_DIM) {
        s = xf__fail(err, ver != 1 ? XF_ERR_UNSUPPORTED : XF_ERR_BOUNDS,
                     "%s: version %u, dim %u (this build reads version 1, dim 1..%d)", path, ver,
                     dim, MAX_DIM);
        goto done;
    }
    fs->dim = dim;
    if (!(fs->header_json = read_str(f, MAX_JSON_LEN, &eof))) {
        s = xf__fail(err, XF_ERR_IO, "%s: truncated or oversized header", path);
        goto done;
    }
    size_t cap = 0;
    for (;;) {
        char *p = read_str(f, MAX_PATH_LEN, &eof);
        if (!p) {
            if (eof && !ferror(f))
                break;
            s = xf__fail(err, XF_ERR_IO, "%s: record %zu: truncated or bad path", path, fs->n);
            goto done;
        }
        if (fs->n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **np = realloc(fs->paths, cap * sizeof *np);
            char **nr = np ? realloc(fs->reasons, cap * sizeof *nr) : NULL;
            xf_status *ns = nr ? realloc(fs->status, cap * sizeof *ns) : NULL;
            size_t bytes;
            float *nx = NULL;
            if (np)
                fs->paths = np;
            if (nr)
                fs->reasons = nr;
            if (ns)
                fs->status = ns;
            if (ns && xf__mul_size(cap, (size_t) dim * sizeof(float), &bytes))
                nx = realloc(fs->x, bytes);
            if (!nx) {
                free(p);
                s = xf__fail(err, XF_ERR_NOMEM, "%s: out of memory at record %zu", path, fs->n);
                goto done;
            }
            fs->x = nx;
        }
        size_t i = fs->n++;
        fs->paths[i] = p;
        fs->reasons[i] = NULL;
        int32_t st;
        float *row = fs->x + i * dim;
        if (fread(&st, 4, 1, f) != 1) {
            fs->status[i] = XF_ERR_IO;
            s = xf__fail(err, XF_ERR_IO, "%s: record %zu: truncated", path, i);
            goto done;
        }
        fs->status[i] = (xf_status) st;
        if (st == 0) {
            if (fread(row, sizeof(float), dim, f) != dim) {
                s = xf__fail(err, XF_ERR_IO, "%s: record %zu: truncated vector", path, i);
                goto done;
            }
            for (uint32_t k = 0; k < dim; k++)
                if (!isfinite(row[k])) {
                    s = xf__fail(err, XF_ERR_VALUE, "%s: record %zu: non-finite value", path, i);
                    goto done;
                }
        } else {
            memset(row, 0, (size_t) dim * sizeof(float));
            if (!(fs->reasons[i] = read_str(f, MAX_PATH_LEN, &eof))) {
                s = xf__fail(err, XF_ERR_IO, "%s: record %zu: truncated reason", path, i);
                goto done;
            }
        }
    }
done:
    if (f != stdin)
        fclose(f);
    if (s)
        xf__featset_free(fs);
    return s;
}
