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

xf_status xf__extract(const xf_model *m, char *const *paths, size_t n, const xf_extract_opts *o,
                      xf_extract_result *r, xf_error *err)
{
    memset(r, 0, sizeof *r);
    int64_t dim;
    xf_status s = xf_session_check(m, &o->po.so, &dim, err);
    if (s)
        return s;
    /* this shard's contiguous part of the sorted list; its range goes into the header */
    long si = o->sharded ? o->shard_index : 0, sc = o->sharded ? o->shard_count : 1;
    size_t first = n * (size_t) si / (size_t) sc;
    r->count = n * (size_t) (si + 1) / (size_t) sc - first;
    char *header = xf__provenance_make(m, &o->po.pp, &o->po.so, dim, o->po.so.l2norm);
    if (header && o->sharded) {
        xf_shard sh = {si, sc, (long) first, (long) r->count, (long) n};
        char *with = xf__provenance_add_shard(header, &sh);
        free(header);
        header = with;
    }
    char **classes = NULL;
    int n_classes =
        header && o->fmt == XF_FEATS_LIBSVM ? xf__parent_classes(paths, n, &classes) : 0;
    xf_feats_opts fo = {o->out,    o->fmt,        dim,
                        header,    classes,       n_classes < 0 ? 0 : n_classes,
                        o->resume, paths + first, r->count};
    run rn = {o, NULL, 0, r->count};
    size_t n_failed = 0, done_failed = 0;
    if (!header || n_classes < 0)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
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
        s = xf__pipeline_run(m, paths + first, r->count, &po, &n_failed, err);
        r->failed = n_failed + done_failed;
        xf_error cerr;
        xf_status cs = xf__feats_close(rn.out, s == XF_OK, &cerr);
        if (!s && cs)
            s = cs, *err = cerr;
    }
    free(header);
    return s;
}
