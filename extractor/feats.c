/* feats.c — feature files (weights/FORMAT.md §2): writers for feats.bin, .npy, CSV and LIBSVM,
 * resume of an interrupted feats.bin, and the reader.
 *
 * It is: buffered, checked writes to "<name>.partial", fsync'd and renamed only when complete,
 * so the final name never holds a partial file; one bounded record parser shared by the reader
 * and by resume. It is not: decoding or the forward pass.
 */
#include "feats.h"
#include "folder_labels.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define BIN_MAGIC     "XFEATS\r\n"
#define NPY_HEADER    128
#define MAX_PATH_LEN  65536
#define MAX_DIM       (1 << 22)
#define MAX_JSON_LEN  (1 << 20)

int xf__feats_format_parse(const char *s, xf_feats_format *out)
{
    static const char *const names[] = {"bin", "npy", "csv", "libsvm"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (xf_feats_format) i;
            return 1;
        }
    return 0;
}

/* ---- record parsing (reader and resume) -------------------------------------------------- */
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

static xf_status read_header(FILE *f, const char *name, uint32_t *dim, char **json, xf_error *err)
{
    char magic[8];
    uint32_t ver;
    int eof;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, BIN_MAGIC, 8) != 0)
        return xf__fail(err, XF_ERR_FORMAT, "%s: not an xfer feature file (bad magic)", name);
    if (fread(&ver, 4, 1, f) != 1 || fread(dim, 4, 1, f) != 1)
        return xf__fail(err, XF_ERR_IO, "%s: truncated header", name);
    if (ver != 1 || *dim < 1 || *dim > MAX_DIM)
        return xf__fail(err, ver != 1 ? XF_ERR_UNSUPPORTED : XF_ERR_BOUNDS,
                        "%s: version %u, dim %u (this build reads version 1, dim 1..%d)", name,
                        ver, *dim, MAX_DIM);
    if (!(*json = read_str(f, MAX_JSON_LEN, &eof)))
        return xf__fail(err, XF_ERR_IO, "%s: truncated or oversized header", name);
    return XF_OK;
}

/* One record. Returns 1 read, 0 clean end of file, -1 error (err set). row gets the vector
 * (zeros for a failed record). */
static int read_record(FILE *f, uint32_t dim, const char *name, size_t idx, char **path,
                       int32_t *st, char **reason, float *row, xf_error *err)
{
    int eof;
    *reason = NULL;
    if (!(*path = read_str(f, MAX_PATH_LEN, &eof))) {
        if (eof && !ferror(f))
            return 0;
        xf__fail(err, XF_ERR_IO, "%s: record %zu: truncated or bad path", name, idx);
        return -1;
    }
    const char *why = NULL;
    xf_status code = XF_ERR_IO;
    if (fread(st, 4, 1, f) != 1) {
        why = "truncated";
    } else if (*st == 0) {
        if (fread(row, sizeof(float), dim, f) != dim)
            why = "truncated vector";
        for (uint32_t k = 0; !why && k < dim; k++)
            if (!isfinite(row[k])) {
                why = "non-finite value";
                code = XF_ERR_VALUE;
            }
    } else {
        memset(row, 0, (size_t) dim * sizeof(float));
        if (!(*reason = read_str(f, MAX_PATH_LEN, &eof)))
            why = "truncated reason";
    }
    if (why) {
        xf__fail(err, code, "%s: record %zu: %s", name, idx, why);
        free(*path);
        *path = NULL;
        return -1;
    }
    return 1;
}

/* ---- writer ------------------------------------------------------------------------------------ */
struct xf_feats {
    xf_feats_format fmt;
    int64_t dim, rows;
    FILE *f, *paths, *aux; /* aux: npy failed.tsv / libsvm classes.txt */
    char *final[3], *tmp[3];
    int n_files;
    int to_stdout;
    char **classes;
    int n_classes;
};

static xf_status io_err(xf_error *err, const char *what)
{
    return xf__fail(err, XF_ERR_IO, "%s: write failed: %s", what, strerror(errno));
}

static FILE *open_partial(xf_feats *x, const char *final, const char *mode, xf_error *err)
{
    int k = x->n_files;
    size_t n = strlen(final) + 16;
    x->final[k] = strdup(final);
    x->tmp[k] = malloc(n);
    if (!x->final[k] || !x->tmp[k]) {
        free(x->final[k]);
        free(x->tmp[k]);
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(x->tmp[k], n, "%s.partial", final);
    x->n_files++;
    FILE *f = fopen(x->tmp[k], mode);
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

static int write_bin_header(FILE *f, int64_t dim, const char *json)
{
    uint32_t ver = 1, d = (uint32_t) dim, jl = (uint32_t) strlen(json);
    return fwrite(BIN_MAGIC, 1, 8, f) == 8 && fwrite(&ver, 4, 1, f) == 1 &&
           fwrite(&d, 4, 1, f) == 1 && fwrite(&jl, 4, 1, f) == 1 &&
           fwrite(json, 1, jl, f) == jl;
}

/* Continues x->tmp[0] (bin): checks its header, keeps whole records that match the expected
 * inputs, truncates the rest. */
static xf_status resume_bin(xf_feats *x, const xf_feats_opts *o, size_t *n_done,
                            size_t *n_failed, xf_error *err)
{
    const char *name = x->tmp[0];
    FILE *f = x->f;
    uint32_t dim;
    char *json = NULL;
    xf_status s = read_header(f, name, &dim, &json, err);
    if (!s && (dim != o->dim || strcmp(json, o->header_json) != 0))
        s = xf__fail(err, XF_ERR_ARG, "%s: cannot resume: it was started with other settings "
                     "(weights, layers, pooling or preprocessing); remove it or drop --resume",
                     name);
    free(json);
    float *row = malloc((size_t) dim * sizeof(float) + 4);
    long good = ftell(f);
    if (!s && !row)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    while (!s) {
        char *p, *reason;
        int32_t st;
        xf_error e2;
        int r = read_record(f, dim, name, *n_done, &p, &st, &reason, row, &e2);
        if (r <= 0) /* end, or a record cut by the interruption: keep what is whole */
            break;
        int match = *n_done < o->n_expect && strcmp(p, o->expect_paths[*n_done]) == 0;
        free(p);
        free(reason);
        if (!match) {
            s = xf__fail(err, XF_ERR_ARG, "%s: cannot resume: record %zu is not the same input "
                         "as before (the input list changed)", name, *n_done);
            break;
        }
        (*n_done)++;
        *n_failed += st != 0;
        x->rows++;
        good = ftell(f);
    }
    free(row);
    if (!s && (fflush(f) != 0 || ftruncate(fileno(f), good) != 0 || fseek(f, good, SEEK_SET) != 0))
        s = io_err(err, name);
    return s;
}

xf_status xf__feats_open(const xf_feats_opts *o, xf_feats **out, size_t *n_done,
                         size_t *n_failed, xf_error *err)
{
    *out = NULL;
    *n_done = *n_failed = 0;
    xf_feats *x = calloc(1, sizeof *x);
    if (!x)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    x->fmt = o->fmt;
    x->dim = o->dim;
    xf_status s = XF_OK;
    char name[4096];
    const char *path = o->path;
    size_t pl = path ? strlen(path) : 0;
    if (path && pl + 16 > sizeof name) {
        free(x);
        return xf__fail(err, XF_ERR_ARG, "output path too long");
    }
    if (o->resume && (o->fmt != XF_FEATS_BIN || !path)) {
        free(x);
        return xf__fail(err, XF_ERR_ARG, "--resume needs --format bin and -o FILE");
    }
    if (o->fmt == XF_FEATS_LIBSVM && o->n_classes > 0) {
        x->classes = o->classes ? (char **) calloc((size_t) o->n_classes, sizeof(char *)) : NULL;
        for (int i = 0; x->classes && i < o->n_classes; i++)
            x->classes[i] = strdup(o->classes[i]);
        x->n_classes = o->n_classes;
    }
    if (o->fmt == XF_FEATS_NPY || (o->fmt == XF_FEATS_LIBSVM && path)) {
        int npy = o->fmt == XF_FEATS_NPY;
        if (!path) {
            xf__feats_close(x, 0, NULL);
            return xf__fail(err, XF_ERR_ARG, "--format npy needs -o NAME");
        }
        int ext = npy && pl > 4 && strcmp(path + pl - 4, ".npy") == 0;
        int base = (int) (ext ? pl - 4 : pl);
        snprintf(name, sizeof name, npy ? "%.*s.npy" : "%.*s", base, path);
        if (!(x->f = open_partial(x, name, "wb", err)))
            goto fail;
        snprintf(name, sizeof name, "%.*s.paths.txt", base, path);
        if (!(x->paths = open_partial(x, name, "wb", err)))
            goto fail;
        snprintf(name, sizeof name, npy ? "%.*s.failed.tsv" : "%.*s.classes.txt", base, path);
        if (!(x->aux = open_partial(x, name, "wb", err)))
            goto fail;
        if (npy) {
            char h[NPY_HEADER];
            npy_header(h, 0, o->dim);
            if (fwrite(h, 1, NPY_HEADER, x->f) != NPY_HEADER) {
                s = io_err(err, x->tmp[0]);
                goto fail;
            }
        } else {
            for (int i = 0; i < x->n_classes; i++)
                fprintf(x->aux, "%d\t%s\n", i, x->classes[i]);
        }
        *out = x;
        return XF_OK;
    }
    if (path) {
        snprintf(name, sizeof name, "%s.partial", path);
        int cont = o->resume && access(name, F_OK) == 0;
        if (!(x->f = open_partial(x, path, cont ? "r+b" : "wb", err)))
            goto fail;
        if (cont) {
            if ((s = resume_bin(x, o, n_done, n_failed, err)))
                goto fail;
            *out = x;
            return XF_OK;
        }
    } else {
        x->f = stdout;
        x->to_stdout = 1;
    }
    int ok = 1;
    if (o->fmt == XF_FEATS_BIN) {
        ok = write_bin_header(x->f, o->dim, o->header_json);
    } else if (o->fmt == XF_FEATS_CSV) {
        ok = fprintf(x->f, "path,status") > 0;
        for (int64_t j = 0; ok && j < o->dim; j++)
            ok = fprintf(x->f, ",f%lld", (long long) j) > 0;
        ok = ok && fputc('\n', x->f) != EOF;
    }
    if (!ok) {
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

static int class_of(const xf_feats *x, const char *path)
{
    const char *start;
    size_t len;
    if (!xf__parent_dir(path, &start, &len))
        return -1;
    for (int i = 0; i < x->n_classes; i++)
        if (strlen(x->classes[i]) == len && memcmp(x->classes[i], start, len) == 0)
            return i;
    return -1;
}

static int csv_field(FILE *f, const char *s)
{
    if (fputc('"', f) == EOF)
        return 0;
    for (; *s; s++)
        if ((*s == '"' && fputc('"', f) == EOF) || fputc(*s, f) == EOF)
            return 0;
    return fputc('"', f) != EOF;
}

xf_status xf__feats_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                          const char *reason, xf_error *err)
{
    const char *where = x->to_stdout ? "stdout" : x->tmp[0];
    int ok = 1;
    switch (x->fmt) {
    case XF_FEATS_NPY:
        if (st == XF_OK) {
            ok = fwrite(vec, sizeof(float), (size_t) x->dim, x->f) == (size_t) x->dim &&
                 fprintf(x->paths, "%s\n", path) >= 0;
            x->rows++;
        } else {
            ok = fprintf(x->aux, "%s\t%s\t%s\n", path, xf_status_name(st), reason ? reason : "") >= 0;
        }
        break;
    case XF_FEATS_CSV:
        ok = csv_field(x->f, path) && fprintf(x->f, ",%d", (int) st) >= 0;
        for (int64_t j = 0; ok && st == XF_OK && j < x->dim; j++)
            ok = fprintf(x->f, ",%.9g", (double) vec[j]) >= 0;
        ok = ok && fputc('\n', x->f) != EOF;
        x->rows++;
        break;
    case XF_FEATS_LIBSVM:
        if (st != XF_OK)
            break;
        ok = fprintf(x->f, "%d", class_of(x, path)) >= 0;
        for (int64_t j = 0; ok && j < x->dim; j++)
            if (vec[j] != 0.0f)
                ok = fprintf(x->f, " %lld:%.9g", (long long) j + 1, (double) vec[j]) >= 0;
        ok = ok && fputc('\n', x->f) != EOF && (!x->paths || fprintf(x->paths, "%s\n", path) >= 0);
        x->rows++;
        break;
    case XF_FEATS_BIN: {
        uint32_t pl = (uint32_t) strlen(path);
        int32_t code = (int32_t) st;
        ok = fwrite(&pl, 4, 1, x->f) == 1 && fwrite(path, 1, pl, x->f) == pl &&
             fwrite(&code, 4, 1, x->f) == 1;
        if (ok && st == XF_OK) {
            ok = fwrite(vec, sizeof(float), (size_t) x->dim, x->f) == (size_t) x->dim;
        } else if (ok) {
            uint32_t rl = (uint32_t) (reason ? strlen(reason) : 0);
            ok = fwrite(&rl, 4, 1, x->f) == 1 && fwrite(reason ? reason : "", 1, rl, x->f) == rl;
        }
        x->rows++;
        break;
    }
    }
    return ok ? XF_OK : io_err(err, where);
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
    FILE *files[3] = {x->f, x->paths, x->aux};
    for (int k = 0; k < 3; k++) {
        FILE *f = files[k];
        if (!f)
            continue;
        if (f == stdout) {
            if (fflush(f) != 0 && !s)
                s = io_err(err, "stdout");
            continue;
        }
        if (!s && (fflush(f) != 0 || (commit && fsync(fileno(f)) != 0)))
            s = io_err(err, x->tmp[k]);
        if (fclose(f) != 0 && !s)
            s = io_err(err, x->tmp[k]);
    }
    /* an interrupted bin output stays as "<name>.partial" for --resume */
    int keep = !commit && x->fmt == XF_FEATS_BIN;
    for (int k = 0; k < x->n_files; k++) {
        if (commit && !s && rename(x->tmp[k], x->final[k]) != 0)
            s = xf__fail(err, XF_ERR_IO, "%s: rename failed: %s", x->final[k], strerror(errno));
        if ((!commit || s) && !keep)
            unlink(x->tmp[k]);
        free(x->tmp[k]);
        free(x->final[k]);
    }
    for (int i = 0; x->classes && i < x->n_classes; i++)
        free(x->classes[i]);
    free(x->classes);
    free(x);
    return s;
}

int xf__json_add_shard(char *buf, size_t size, int index, int count, size_t first, size_t n,
                       size_t total)
{
    size_t len = strlen(buf);
    if (len < 2 || buf[len - 1] != '}')
        return 0;
    int k = snprintf(buf + len - 1, size - (len - 1),
                     ",\"shard\":{\"index\":%d,\"count\":%d,\"first\":%zu,\"records\":%zu,"
                     "\"total\":%zu}}",
                     index, count, first, n, total);
    return k > 0 && (size_t) k < size - (len - 1);
}

void xf__json_drop_shard(char *buf)
{
    char *p = strstr(buf, ",\"shard\":{");
    if (p)
        strcpy(p, "}");
}

int xf__features_json(const xf_model *m, const xf_preproc *pp, const xf_session_opts *so,
                      int64_t dim, int l2norm, char *buf, size_t size)
{
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
                       "\"l2norm\":%s,\"tool\":\"xfer %s\"}",
                       name ? name : "", (unsigned) xf_model_checksum(m), lay,
                       pools[so->pool], (long long) dim, pp->size_h, pp->size_w,
                       (double) pp->crop_pct, (double) pp->mean[0], (double) pp->mean[1],
                       (double) pp->mean[2], (double) pp->std[0], (double) pp->std[1],
                       (double) pp->std[2], pp->exif_rotate ? "true" : "false", l2norm ? "true" : "false",
                       XF_VERSION_STRING);
    return len > 0 && (size_t) len < size;
}

/* ---- reader ------------------------------------------------------------------------------------ */
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

xf_status xf__feats_read(const char *path, xf_featset *fs, xf_error *err)
{
    memset(fs, 0, sizeof *fs);
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return xf__fail(err, XF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint32_t dim = 0;
    xf_status s = read_header(f, path, &dim, &fs->header_json, err);
    fs->dim = dim;
    size_t cap = 0;
    while (!s) {
        if (fs->n == cap) {
            cap = cap ? cap * 2 : 1024;
            size_t bytes;
            char **np = realloc(fs->paths, cap * sizeof *np);
            if (np)
                fs->paths = np;
            char **nr = np ? realloc(fs->reasons, cap * sizeof *nr) : NULL;
            if (nr)
                fs->reasons = nr;
            xf_status *ns = nr ? realloc(fs->status, cap * sizeof *ns) : NULL;
            if (ns)
                fs->status = ns;
            float *nx = ns && xf__mul_size(cap, (size_t) dim * sizeof(float), &bytes)
                            ? realloc(fs->x, bytes)
                            : NULL;
            if (!nx) {
                s = xf__fail(err, XF_ERR_NOMEM, "%s: out of memory at record %zu", path, fs->n);
                break;
            }
            fs->x = nx;
        }
        int32_t st;
        char *p, *reason;
        int r = read_record(f, dim, path, fs->n, &p, &st, &reason, fs->x + fs->n * dim, err);
        if (r == 0)
            break;
        if (r < 0) {
            s = err ? err->code : XF_ERR_IO;
            break;
        }
        fs->paths[fs->n] = p;
        fs->reasons[fs->n] = reason;
        fs->status[fs->n] = (xf_status) st;
        fs->n++;
    }
    if (f != stdin)
        fclose(f);
    if (s)
        xf__featset_free(fs);
    return s;
}
