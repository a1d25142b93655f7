/* feats.c — feature files (weights/FORMAT.md §2): the writer interface over the formats, the
 * feats.bin codec with resume of an interrupted file, and the reader.
 *
 * It is: the format table, buffered checked writes through io.c (a complete file under the final
 * name, or a "<name>.partial"), one bounded record parser shared by the reader and by resume.
 * It is not: the npy and text codecs (feats_npy.c, feats_text.c), decoding or the forward pass.
 */
#include "feats_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIN_MAGIC    "XFEATS\r\n"
#define MAX_DIM      (1 << 22)
#define MAX_JSON_LEN (1 << 20)

static const struct {
    const char *name;
    const xf_feats_codec *codec;
} formats[XF_FEATS_COUNT_] = {
    [XF_FEATS_BIN] = {"bin", &xf__feats_bin},
    [XF_FEATS_NPY] = {"npy", &xf__feats_npy},
    [XF_FEATS_CSV] = {"csv", &xf__feats_csv},
    [XF_FEATS_LIBSVM] = {"libsvm", &xf__feats_libsvm},
};

const char *const xf__feats_format_names[] = {"bin", "npy", "csv", "libsvm", NULL};

int xf__feats_format_parse(const char *s, xf_feats_format *out)
{
    for (int i = 0; i < XF_FEATS_COUNT_; i++)
        if (strcmp(s, formats[i].name) == 0) {
            *out = (xf_feats_format) i;
            return 1;
        }
    return 0;
}

const char *xf__feats_format_name(xf_feats_format f)
{
    return (unsigned) f < XF_FEATS_COUNT_ ? formats[f].name : "?";
}

void xf__feats_final_name(const char *path, xf_feats_format fmt, char *out, size_t size)
{
    size_t pl = strlen(path);
    int ext = pl > 4 && strcmp(path + pl - 4, ".npy") == 0;
    snprintf(out, size, fmt == XF_FEATS_NPY && !ext ? "%s.npy" : "%s", path);
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
                        "%s: version %u, dim %u (this build reads version 1, dim 1..%d)", name, ver,
                        *dim, MAX_DIM);
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
    if (!(*path = read_str(f, XF_MAX_PATH_BYTES, &eof))) {
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
        if (!(*reason = read_str(f, XF_MAX_PATH_BYTES, &eof)))
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

/* ---- the writer interface -------------------------------------------------------------- */
xf_status xf__feats_io_err(xf_error *err, const xf_out *o)
{
    return xf__fail(err, XF_ERR_WRITE, "%s: write failed: %s",
                    xf__out_in_place(o) ? (strcmp(o->path, "-") == 0 ? "stdout" : o->path) : o->tmp,
                    strerror(errno));
}

xf_status xf__feats_out(xf_feats *x, const char *name, xf_out_kind kind, xf_error *err)
{
    XF_ASSERT(x->n_out < 3);
    xf_status s = xf__out_open(&x->out[x->n_out], name, kind, err);
    if (!s)
        x->n_out++;
    return s;
}

xf_status xf__feats_open(const xf_feats_opts *o, xf_feats **out, size_t *n_done, size_t *n_failed,
                         xf_error *err)
{
    *out = NULL;
    *n_done = *n_failed = 0;
    if ((unsigned) o->fmt >= XF_FEATS_COUNT_)
        return xf__fail(err, XF_ERR_ARG, "unknown feature format");
    if (o->resume && (!o->path || strcmp(o->path, "-") == 0))
        return xf__fail(err, XF_ERR_ARG, "--resume needs -o FILE");
    if (o->path && strlen(o->path) + 16 > 4096)
        return xf__fail(err, XF_ERR_ARG, "output path too long");
    xf_feats *x = calloc(1, sizeof *x);
    if (!x)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    x->stamp.fd = -1;
    x->fmt = o->fmt;
    x->dim = o->dim;
    x->codec = formats[o->fmt].codec;
    if (o->n_classes > 0 && o->classes) {
        x->classes = calloc((size_t) o->n_classes, sizeof(char *));
        for (int i = 0; x->classes && i < o->n_classes; i++)
            x->classes[i] = strdup(o->classes[i]);
        x->n_classes = o->n_classes;
        x->roots = o->roots, x->n_roots = o->n_roots;
    }
    xf_status s = x->codec->open(x, o, n_done, n_failed, err);
    if (o->no_keep)
        x->keep = 0;
    if (s) {
        xf__feats_close(x, 0, NULL);
        return s;
    }
    *out = x;
    return XF_OK;
}

xf_status xf__feats_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                          const char *reason, xf_error *err)
{
    return x->codec->write(x, path, st, vec, reason, err);
}

xf_status xf__feats_close(xf_feats *x, int commit, xf_error *err)
{
    if (!x)
        return XF_OK;
    xf_status s = XF_OK;
    if (commit && x->codec->finish)
        s = x->codec->finish(x, err);
    if (commit && !s) /* one file, or a set that changes together */
        s = xf__out_commit_set(x->out, x->n_out, err);
    else
        for (int k = 0; k < x->n_out; k++) /* all of a resumable set, or none */
            xf__out_discard(&x->out[k], x->keep);
    xf__out_discard(&x->stamp, x->keep && !commit); /* kept with the partial files */
    for (int i = 0; x->classes && i < x->n_classes; i++)
        free(x->classes[i]);
    free(x->classes);
    free(x);
    return s;
}

/* ---- feats.bin ---------------------------------------------------------------------------- */
static int write_bin_header(FILE *f, int64_t dim, const char *json)
{
    uint32_t ver = 1, d = (uint32_t) dim, jl = (uint32_t) strlen(json);
    return fwrite(BIN_MAGIC, 1, 8, f) == 8 && fwrite(&ver, 4, 1, f) == 1 &&
           fwrite(&d, 4, 1, f) == 1 && fwrite(&jl, 4, 1, f) == 1 && fwrite(json, 1, jl, f) == jl;
}

/* Continues the partial file: checks its header, keeps whole records that match the expected
 * inputs, truncates the rest. A file too short to hold a header (killed before it was written)
 * starts afresh. */
static xf_status resume_bin(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                            int *fresh, xf_error *err)
{
    const char *name = x->out[0].tmp;
    FILE *f = x->out[0].f;
    uint32_t dim;
    char *json = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    rewind(f);
    long need = 8 + 4 + 4 + 4 + (long) strlen(o->header_json);
    if (size >= 0 && size < need) { /* no complete header: nothing to keep */
        char magic[8];
        size_t m = fread(magic, 1, 8, f);
        if (memcmp(magic, BIN_MAGIC, m) != 0)
            return xf__fail(err, XF_ERR_FORMAT, "%s: not an xfer feature file (bad magic)", name);
        *fresh = 1;
        return fflush(f) != 0 || ftruncate(fileno(f), 0) != 0 || fseek(f, 0, SEEK_SET) != 0
                   ? xf__feats_io_err(err, &x->out[0])
                   : XF_OK;
    }
    xf_status s = read_header(f, name, &dim, &json, err);
    if (!s && (dim != o->dim || strcmp(json, o->header_json) != 0))
        s = xf__fail(err, XF_ERR_ARG,
                     "%s: cannot resume: it was started with other settings "
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
            s = xf__fail(err, XF_ERR_ARG,
                         "%s: cannot resume: record %zu is not the same input "
                         "as before (the input list changed)",
                         name, *n_done);
            break;
        }
        (*n_done)++;
        *n_failed += st != 0;
        x->rows++;
        good = ftell(f);
    }
    free(row);
    if (!s && (fflush(f) != 0 || ftruncate(fileno(f), good) != 0 || fseek(f, good, SEEK_SET) != 0))
        s = xf__feats_io_err(err, &x->out[0]);
    return s;
}

static xf_status bin_open(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                          xf_error *err)
{
    xf_status s =
        xf__feats_out(x, o->path ? o->path : "-", o->resume ? XF_OUT_RESUME : XF_OUT_PARTIAL, err);
    if (s)
        return s;
    x->keep = 1; /* an interrupted bin output stays as "<name>.partial" for --resume */
    int fresh = 1;
    if (o->resume) {
        fresh = 0;
        if ((s = resume_bin(x, o, n_done, n_failed, &fresh, err)))
            return s;
    }
    if (fresh && !write_bin_header(x->out[0].f, o->dim, o->header_json))
        return xf__feats_io_err(err, &x->out[0]);
    return XF_OK;
}

static xf_status bin_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                           const char *reason, xf_error *err)
{
    FILE *f = x->out[0].f;
    uint32_t pl = (uint32_t) strlen(path);
    int32_t code = (int32_t) st;
    int ok =
        fwrite(&pl, 4, 1, f) == 1 && fwrite(path, 1, pl, f) == pl && fwrite(&code, 4, 1, f) == 1;
    if (ok && st == XF_OK) {
        ok = fwrite(vec, sizeof(float), (size_t) x->dim, f) == (size_t) x->dim;
    } else if (ok) {
        uint32_t rl = (uint32_t) (reason ? strlen(reason) : 0);
        ok = fwrite(&rl, 4, 1, f) == 1 && fwrite(reason ? reason : "", 1, rl, f) == rl;
    }
    x->rows++;
    return ok ? XF_OK : xf__feats_io_err(err, &x->out[0]);
}

const xf_feats_codec xf__feats_bin = {bin_open, bin_write, NULL};

/* ---- reader ------------------------------------------------------------------------------------
 */
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
        if (fs->n == cap) { /* grows with the records read: at most twice what they hold */
            size_t first = dim ? (size_t) 262144 / dim : 1024; /* 1 MiB of rows to start */
            cap = cap ? cap * 2 : first < 1 ? 1 : first > 1024 ? 1024 : first;
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

int xf__feats_sniff(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    char magic[8];
    int yes = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 8) == 8 &&
              memcmp(magic, BIN_MAGIC, 8) == 0;
    if (fd >= 0)
        close(fd);
    return yes;
}
