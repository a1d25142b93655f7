/* feats_impl.h — what the feature-file codecs share: the open output, one writer per format.
 * It is: private to feats.c, feats_npy.c and feats_text.c. It is not: API.
 */
#ifndef XF_FEATS_IMPL_H
#define XF_FEATS_IMPL_H

#include "feats.h"
#include "io.h"

typedef struct {
    /* files, header; n_done/n_failed: records already there (resume) */
    xf_status (*open)(xf_feats *x, const xf_feats_opts *o, size_t *n_done, size_t *n_failed,
                      xf_error *err);
    xf_status (*write)(xf_feats *x, const char *path, xf_status st, const float *vec,
                       const char *reason, xf_error *err);
    /* before the files are committed (npy: the final row count); may be NULL */
    xf_status (*finish)(xf_feats *x, xf_error *err);
} xf_feats_codec;

struct xf_feats {
    const xf_feats_codec *codec;
    xf_feats_format fmt;
    int64_t dim, rows;
    xf_out out[3]; /* the main file, then companions */
    int n_out;
    int keep;     /* an uncommitted main file stays for --resume */
    uint32_t tag; /* npy: the settings' hash its header carries (feats_npy.c) */
    xf_out stamp; /* csv, libsvm: NAME.settings.partial while resumable (feats_text.c) */
    char **classes;
    int n_classes;
    char *const *roots; /* the caller's (xf_feats_opts) */
    int n_roots;
};

extern const xf_feats_codec xf__feats_bin, xf__feats_npy, xf__feats_csv, xf__feats_libsvm;

/* Opens out[n_out++] for name (PARTIAL, or RESUME). */
xf_status xf__feats_out(xf_feats *x, const char *name, xf_out_kind kind, xf_error *err);
xf_status xf__feats_io_err(xf_error *err, const xf_out *o);
/* feats_text.c: s as a field writer (xf__csv_field, xf__text_field) writes it, into buf, or ""
 * when it does not fit: what --resume compares the partial files' lines with */
const char *xf__feats_as_written(int (*field)(FILE *, const char *), const char *s, char *buf,
                                 size_t size);

#endif /* XF_FEATS_IMPL_H */
