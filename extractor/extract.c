/* extract.c — one extraction run (see extract.h).
 * It is: the glue of inputs, provenance, feature output and pipeline that every caller of the
 * library would otherwise rewrite. It is not: a decoder or a network runner.
 */
#include "extract.h"
#include "folder_labels.h"
#include "provenance.h"

#include <string.h>

typedef struct {
    const xf_extract_opts *o;
    xf_feats *out;
    size_t done, count;
} run;

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    (void) idx;
    run *r = user;
    if (r->o->on_record)
        r->o->on_record(r->o->user, ++r->done, r->count, st == XF_OK ? NULL : reason);
    return xf__feats_write(r->out, path, st, vec, reason, err);
}

/* The libsvm class list: the file's, else the classes of every input (not just this shard's,
 * so the parts of a sharded run number them alike). -1 with err. */
static int class_list(const xf_inputs *in, const xf_extract_opts *o, char ***classes, xf_error *err)
{
    *classes = NULL;
    if (o->fmt != XF_FEATS_LIBSVM)
        return 0;
    if (o->classes_file)
        return xf__classes_read(o->classes_file, classes, err);
    int k = xf__classes_of(in->paths, in->n, in->roots, in->n_roots, classes);
    if (k < 0)
        xf__fail(err, XF_ERR_NOMEM, "out of memory");
    return k;
}

xf_status xf__extract(const xf_model *m, const xf_inputs *in, const xf_extract_opts *o,
                      xf_extract_result *r, xf_error *err)
{
    memset(r, 0, sizeof *r);
    char *const *paths = in->paths;
    size_t n = in->n;
    int64_t dim;
    xf_status s = xf_session_check(m, &o->po.so, &dim, err);
    if (s)
        return s;
    /* this shard's contiguous part of the sorted list; its range goes into the header */
    long si = o->sharded ? o->shard_index : 0, sc = o->sharded ? o->shard_count : 1;
    size_t first = n * (size_t) si / (size_t) sc;
    r->count = n * (size_t) (si + 1) / (size_t) sc - first;
    char *header = xf__provenance_make(m, &o->po.pp, &o->po.so, dim, o->po.so.l2norm);
    if (header && in->n_roots) {
        char *with = xf__provenance_add_roots(header, in->roots, in->n_roots);
        free(header);
        header = with;
    }
    if (header && o->sharded) {
        xf_shard sh = {si, sc, (long) first, (long) r->count, (long) n};
        char *with = xf__provenance_add_shard(header, &sh);
        free(header);
        header = with;
    }
    char **classes = NULL;
    int n_classes = header ? class_list(in, o, &classes, err) : 0;
    xf_feats_opts fo = {.path = o->out,
                        .fmt = o->fmt,
                        .dim = dim,
                        .header_json = header,
                        .classes = classes,
                        .n_classes = n_classes < 0 ? 0 : n_classes,
                        .roots = in->roots,
                        .n_roots = in->n_roots,
                        .resume = o->resume,
                        .expect_paths = paths + first,
                        .n_expect = r->count};
    run rn = {o, NULL, 0, r->count};
    size_t n_failed = 0, done_failed = 0;
    if (!header)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    else if (n_classes < 0)
        s = err ? err->code : XF_ERR_FORMAT;
    if (!s)
        s = xf__feats_open(&fo, &rn.out, &rn.done, &done_failed, err);
    for (int i = 0; i < n_classes; i++)
        free(classes[i]);
    free(classes);
    if (!s) {
        if (o->on_start)
            o->on_start(o->user, r->count, dim, rn.done);
        xf_pipeline_opts po = o->po;
        po.start = rn.done, po.emit = emit, po.user = &rn;
        po.why = in->why ? in->why + first : NULL;
        s = xf__pipeline_run(m, paths + first, r->count, &po, &n_failed, err);
        r->failed = n_failed + done_failed;
        if (s == XF_ERR_INTERRUPTED && err && o->out && strcmp(o->out, "-") != 0) {
            size_t l = strlen(err->msg);
            snprintf(err->msg + l, sizeof err->msg - l, "; %s",
                     "the partial output is kept: rerun the same command with --resume");
        }
        xf_error cerr;
        xf_status cs = xf__feats_close(rn.out, s == XF_OK, &cerr);
        if (!s && cs)
            s = cs, *err = cerr;
    }
    free(header);
    return s;
}
