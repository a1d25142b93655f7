/* feats_text.c — the text outputs: CSV (a header row "path,status,f0,...", one row per input,
 * status a word: XF_OK, XF_ERR_IMAGE...; a failed row has every column, the features empty)
 * and LIBSVM ("label idx:value ..." for successful inputs, the label being the index of the
 * image's class folder (folder_labels.h) in the class list; with -o NAME also NAME.paths.txt
 * and NAME.classes.txt), and --resume of both.
 * Neither format has room for the settings, so a resumable run keeps them beside its partial
 * files in NAME.settings.partial (the provenance JSON, the input list's size and hash, the
 * classes), written before any row and removed once the output is complete; a resume whose
 * settings differ is refused. Rows are then matched to the inputs in order (libsvm: through
 * paths.txt, as it holds no failed input) and a torn last row is cut off.
 * It is: two codecs of the feature-file writer (feats_impl.h) and the completeness check of
 * --skip-existing. It is not: readers.
 */
#include "feats_impl.h"
#include "folder_labels.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the settings stamp ---------------------------------------------------------------- */
static char *stamp_text(const xf_feats *x, const xf_feats_opts *o)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    if (!m)
        return NULL;
    uint32_t h = 2166136261u; /* FNV-1a of the input list, each path and its NUL */
    for (size_t i = 0; i < o->n_expect; i++)
        for (const unsigned char *p = (const unsigned char *) o->expect_paths[i];; p++) {
            h = (h ^ *p) * 16777619u;
            if (!*p)
                break;
        }
    int ok = fprintf(m, "%s\ninputs %zu %08x\n", o->header_json ? o->header_json : "", o->n_expect,
                     (unsigned) h) > 0;
    for (int i = 0; ok && i < x->n_classes; i++)
        ok = fputs("class ", m) >= 0 && xf__text_field(m, x->classes[i]) && fputc('\n', m) != EOF;
    if (fclose(m) != 0 || !ok)
        return free(buf), NULL;
    return buf;
}

static xf_status cut_at(xf_feats *x, int k, long keep, xf_error *err)
{
    FILE *f = x->out[k].f;
    return fflush(f) != 0 || ftruncate(x->out[k].fd, keep) != 0 || fseek(f, keep, SEEK_SET) != 0
               ? xf__feats_io_err(err, &x->out[k])
               : XF_OK;
}

/* 1 when path names a file xfer writes under a temporary name (absent or regular), so its
 * partial files can be kept; 0 for standard output, a device, FIFO or socket (written in place) */
static int resumable(const char *path)
{
    struct stat st;
    return path && strcmp(path, "-") != 0 && (stat(path, &st) != 0 || S_ISREG(st.st_mode));
}

static xf_status refused(xf_error *err, const char *name)
{
    return xf__fail(err, XF_ERR_ARG,
                    "%s: cannot resume: it was started with other settings (weights, layers, "
                    "pooling, preprocessing, classes or inputs); remove it or drop --resume",
                    name);
}

/* Opens the partial files of a resumable output: names[0..n_files), then the stamp
 * NAME.settings.partial (locked and never through a link, like them). With resume and the
 * stamp holding these settings, *fresh = 0: the caller continues the files. Else every file is
 * emptied and the stamp written, before any row; a resume over rows written with other
 * settings (or none recorded) is refused. */
static xf_status open_resumable(xf_feats *x, const xf_feats_opts *o, const char *const *names,
                                int n_files, int *fresh, xf_error *err)
{
    xf_out_kind kind = o->resume ? XF_OUT_RESUME : XF_OUT_PARTIAL;
    char name[4200];
    snprintf(name, sizeof name, "%s.settings", o->path);
    xf_status s = XF_OK;
    for (int k = 0; !s && k < n_files; k++)
        s = xf__feats_out(x, names[k], kind, err);
    if (!s)
        s = xf__out_open(&x->stamp, name, kind, err);
    if (s)
        return s;
    x->keep = 1; /* an interrupted output stays as NAME.*.partial for --resume */
    char *want = stamp_text(x, o);
    size_t wl = want ? strlen(want) : 0;
    char *had = want ? calloc(1, wl + 2) : NULL;
    if (!had)
        return free(want), xf__fail(err, XF_ERR_NOMEM, "out of memory");
    *fresh = !(o->resume && fread(had, 1, wl + 1, x->stamp.f) == wl && memcmp(had, want, wl) == 0);
    free(had);
    for (int k = 0; o->resume && *fresh && k < x->n_out; k++) /* rows of unknown settings */
        if (fseek(x->out[k].f, 0, SEEK_END) != 0 || ftell(x->out[k].f) != 0)
            return free(want), refused(err, x->out[k].tmp);
    for (int k = 0; *fresh && k < x->n_out; k++)
        if ((s = cut_at(x, k, 0, err)))
            break;
    if (!s && *fresh &&
        (fflush(x->stamp.f) != 0 || ftruncate(x->stamp.fd, 0) != 0 ||
         fseek(x->stamp.f, 0, SEEK_SET) != 0 || fwrite(want, 1, wl, x->stamp.f) != wl ||
         fflush(x->stamp.f) != 0))
        s = xf__feats_io_err(err, &x->stamp);
    free(want);
    return s;
}

const char *xf__feats_as_written(int (*field)(FILE *, const char *), const char *s, char *buf,
                                 size_t size)
{
    FILE *m = fmemopen(buf, size, "w");
    if (!m)
        return "";
    int ok = field(m, s) && fflush(m) == 0 && ftell(m) < (long) size;
    fclose(m);
    return ok ? buf : "";
}

/* 1 when the next bytes of f are want, else 0 (f left after what matched) */
static int next_is(FILE *f, const char *want)
{
    for (; *want; want++)
        if (fgetc(f) != (unsigned char) *want)
            return 0;
    return 1;
}

/* reads the rest of a line: 1 (whole, *commas counted), 0 (cut off by the interruption) */
static int rest_of_line(FILE *f, long *commas)
{
    int c;
    *commas = 0;
    while ((c = fgetc(f)) != EOF && c != '\n')
        *commas += c == ',';
    return c == '\n';
}

/* the status whose name is s (the words CSV rows carry) */
static int status_parse(const char *s, xf_status *out)
{
    for (int k = XF_OK; k >= XF_ERR_INTERRUPTED; k--)
        if (strcmp(s, xf_status_name((xf_status) k)) == 0)
            return *out = (xf_status) k, 1;
    return 0;
}

/* ---- CSV ----------------------------------------------------------------------------------- */
static int csv_header(FILE *f, int64_t dim)
{
    int ok = fprintf(f, "path,status") > 0;
    for (int64_t j = 0; ok && j < dim; j++)
        ok = fprintf(f, ",f%lld", (long long) j) > 0;
    return ok && fputc('\n', f) != EOF;
}

/* Keeps the whole rows of the partial CSV (each the next input's), cuts off the rest. */
static xf_status csv_resume(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                            xf_error *err)
{
    FILE *f = x->out[0].f;
    size_t size = 2 * XF_MAX_PATH_BYTES + 8; /* the longest path, every quote doubled */
    char *head = NULL, *buf = malloc(size);
    size_t hl = 0;
    FILE *m = buf ? open_memstream(&head, &hl) : NULL;
    int ok = m && csv_header(m, o->dim);
    if (m)
        fclose(m);
    if (!ok) {
        free(buf), free(head);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    rewind(f);
    long good = 0, commas;
    if (next_is(f, head))
        good = ftell(f);
    else if (!feof(f))
        good = -1;
    for (size_t i = 0; good > 0 && i < o->n_expect; i++) {
        const char *want = xf__feats_as_written(xf__csv_field, o->expect_paths[i], buf, size);
        char status[40];
        int sl = 0, c = EOF;
        if (!next_is(f, want) || fgetc(f) != ',') {
            if (!feof(f))
                good = -1;
            break;
        }
        while (sl < 39 && (c = fgetc(f)) != EOF && c != ',' && c != '\n')
            status[sl++] = (char) c;
        status[sl] = 0;
        if (c == EOF || !rest_of_line(f, &commas))
            break; /* cut off: from here on again */
        xf_status st;
        if (c != ',' || commas != o->dim - 1 || !status_parse(status, &st)) {
            good = -1;
            break;
        }
        (*n_done)++, *n_failed += st != XF_OK, x->rows++;
        good = ftell(f);
    }
    free(buf), free(head);
    if (good < 0)
        return xf__fail(err, XF_ERR_FORMAT,
                        "%s: cannot resume: row %zu is not what this run writes there",
                        x->out[0].tmp, *n_done + 1);
    if (good == 0)
        return cut_at(x, 0, 0, err) || !csv_header(f, o->dim) ? xf__feats_io_err(err, &x->out[0])
                                                              : XF_OK;
    return cut_at(x, 0, good, err);
}

static xf_status csv_open(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                          xf_error *err)
{
    int fresh = 1;
    xf_status s;
    if (resumable(o->path)) {
        const char *names[1] = {o->path};
        if ((s = open_resumable(x, o, names, 1, &fresh, err)))
            return s;
    } else if ((s = xf__feats_out(x, o->path ? o->path : "-", XF_OUT_PARTIAL, err))) {
        return s;
    }
    if (!fresh)
        return csv_resume(x, o, n_done, n_failed, err);
    return csv_header(x->out[0].f, o->dim) ? XF_OK : xf__feats_io_err(err, &x->out[0]);
}

static xf_status csv_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                           const char *reason, xf_error *err)
{
    (void) reason;
    FILE *f = x->out[0].f;
    int ok = xf__csv_field(f, path) && fprintf(f, ",%s", xf_status_name(st)) >= 0;
    for (int64_t j = 0; ok && j < x->dim; j++)
        ok = st == XF_OK ? fprintf(f, ",%.9g", (double) vec[j]) >= 0 : fputc(',', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    x->rows++;
    return ok ? XF_OK : xf__feats_io_err(err, &x->out[0]);
}

const xf_feats_codec xf__feats_csv = {csv_open, csv_write, NULL};

/* The label of path: its class's index in the list, -1 when it has no class folder. */
static xf_status class_of(const xf_feats *x, const char *path, int *label, xf_error *err)
{
    const char *start;
    size_t len;
    *label = -1;
    if (!xf__class_of(path, x->roots, x->n_roots, &start, &len))
        return XF_OK;
    for (int i = 0; i < x->n_classes; i++)
        if (strlen(x->classes[i]) == len && memcmp(x->classes[i], start, len) == 0)
            return *label = i, XF_OK;
    return xf__fail(err, XF_ERR_ARG, "%s: its class '%.*s' is not in the class list (--classes)",
                    path, (int) len, start);
}

/* Keeps the rows of the partial libsvm set whose paths.txt line and row are both whole, cuts
 * off the rest. An input with no line before the next input's was a failed one. */
static xf_status libsvm_resume(xf_feats *x, const xf_feats_opts *o, size_t *n_done,
                               size_t *n_failed, xf_error *err)
{
    FILE *svm = x->out[0].f, *pf = x->out[1].f;
    size_t size = 4 * XF_MAX_PATH_BYTES + 8; /* the longest path, every byte escaped */
    char *buf = malloc(size);
    if (!buf)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    rewind(svm), rewind(pf);
    long keep_svm = 0, keep_paths = 0, commas;
    int bad = 0, cut = 0;
    xf_status s = XF_OK;
    for (size_t i = 0; !s && !bad && !cut && i < o->n_expect; i++) {
        long at = ftell(pf);
        if (!next_is(pf, xf__feats_as_written(xf__text_field, o->expect_paths[i], buf, size)) ||
            fgetc(pf) != '\n') {
            if (fseek(pf, at, SEEK_SET) != 0)
                s = xf__feats_io_err(err, &x->out[1]);
            continue; /* failed, or not reached */
        }
        int label, c;
        if ((s = class_of(x, o->expect_paths[i], &label, err)))
            break;
        char lab[16];
        snprintf(lab, sizeof lab, "%d", label);
        if (!next_is(svm, lab) || (c = fgetc(svm)) == EOF) {
            bad = !feof(svm);
            cut = 1;
            break;
        }
        if (c != ' ' && c != '\n') {
            bad = 1;
            break;
        }
        if (c == ' ' && !rest_of_line(svm, &commas)) {
            cut = 1;
            break;
        }
        *n_done = i + 1, x->rows++;
        keep_svm = ftell(svm), keep_paths = ftell(pf);
    }
    if (!s && !bad && !cut && fseek(pf, keep_paths, SEEK_SET) == 0) /* a line no input explains */
        bad = rest_of_line(pf, &commas);
    free(buf);
    *n_failed = *n_done - (size_t) x->rows;
    if (!s && bad)
        s = xf__fail(err, XF_ERR_FORMAT,
                     "%s: cannot resume: row %lld is not what this run writes there", x->out[0].tmp,
                     (long long) x->rows + 1);
    if (!s)
        s = cut_at(x, 0, keep_svm, err);
    if (!s)
        s = cut_at(x, 1, keep_paths, err);
    return s;
}

static xf_status libsvm_open(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                             xf_error *err)
{
    if (!resumable(o->path)) /* standard output or a device: the rows only, in place */
        return xf__feats_out(x, o->path ? o->path : "-", XF_OUT_PARTIAL, err);
    char paths[4200], classes[4200];
    snprintf(paths, sizeof paths, "%s.paths.txt", o->path);
    snprintf(classes, sizeof classes, "%s.classes.txt", o->path);
    const char *names[3] = {o->path, paths, classes};
    int fresh;
    xf_status s = open_resumable(x, o, names, 3, &fresh, err);
    if (!s && !fresh)
        s = libsvm_resume(x, o, n_done, n_failed, err);
    if (!s)
        s = cut_at(x, 2, 0, err); /* the class list, whole every time */
    for (int i = 0; !s && i < x->n_classes; i++)
        if (fprintf(x->out[2].f, "%d\t", i) < 0 || !xf__text_field(x->out[2].f, x->classes[i]) ||
            fputc('\n', x->out[2].f) == EOF)
            s = xf__feats_io_err(err, &x->out[2]);
    return s;
}

static xf_status libsvm_write(xf_feats *x, const char *path, xf_status st, const float *vec,
                              const char *reason, xf_error *err)
{
    (void) reason;
    if (st != XF_OK)
        return XF_OK;
    FILE *f = x->out[0].f;
    int label;
    xf_status s = class_of(x, path, &label, err);
    if (s)
        return s;
    int ok = fprintf(f, "%d", label) >= 0;
    for (int64_t j = 0; ok && j < x->dim; j++)
        if (vec[j] != 0.0f)
            ok = fprintf(f, " %lld:%.9g", (long long) j + 1, (double) vec[j]) >= 0;
    ok = ok && fputc('\n', f) != EOF;
    x->rows++;
    if (!ok)
        return xf__feats_io_err(err, &x->out[0]);
    return x->n_out < 2 || (xf__text_field(x->out[1].f, path) && fputc('\n', x->out[1].f) != EOF)
               ? XF_OK
               : xf__feats_io_err(err, &x->out[1]);
}

const xf_feats_codec xf__feats_libsvm = {libsvm_open, libsvm_write, NULL};

/* the lines of a file, and whether its last byte ends one; -1 when it cannot be read */
static long long count_lines(const char *path, int *ends_whole)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long long n = 0;
    int c, last = '\n';
    while ((c = fgetc(f)) != EOF)
        n += (last = c) == '\n';
    fclose(f);
    *ends_whole = last == '\n';
    return n;
}

xf_status xf__text_check(const char *path, xf_feats_format fmt, xf_error *err)
{
    int whole = 0, pwhole = 0;
    long long rows = count_lines(path, &whole);
    FILE *f = fopen(path, "rb");
    char head[16] = {0};
    int headed = f && fread(head, 1, 13, f) == 13 && memcmp(head, "path,status,f", 13) == 0;
    if (f)
        fclose(f);
    if (rows < 0 || !whole || (fmt == XF_FEATS_CSV && (!headed || rows < 1)))
        return xf__fail(err, XF_ERR_FORMAT, "%s: not a complete %s file", path,
                        xf__feats_format_name(fmt));
    if (fmt != XF_FEATS_LIBSVM)
        return XF_OK;
    char paths[4200];
    snprintf(paths, sizeof paths, "%s.paths.txt", path);
    long long lines = count_lines(paths, &pwhole);
    if (lines < 0)
        return xf__fail(err, XF_ERR_FORMAT, "%s: missing", paths);
    return lines == rows && pwhole
               ? XF_OK
               : xf__fail(err, XF_ERR_FORMAT, "%s: %lld lines for %lld rows", paths, lines, rows);
}
