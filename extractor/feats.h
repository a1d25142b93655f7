/* feats.h — writers of feature files (feats.bin stream and .npy); spec in weights/FORMAT.md.
 * It is: header + one record per input, in input order, failed inputs included. It is not:
 * image decoding or the forward pass.
 */
#ifndef XF_FEATS_H
#define XF_FEATS_H

#include "xf_internal.h"

typedef enum { XF_FEATS_BIN, XF_FEATS_NPY } xf_feats_format;

typedef struct xf_feats xf_feats;

/* Opens an output: path NULL = stdout (bin only). For a path, writes to a temporary name that
 * xf__feats_close renames into place. header_json: provenance (copied). */
xf_status xf__feats_open(const char *path, xf_feats_format fmt, int64_t dim,
                         const char *header_json, xf_feats **out, xf_error *err);
/* One record: status XF_OK with vec (dim floats), or an error status with a reason. */
xf_status xf__feats_write(xf_feats *f, const char *path, xf_status st, const float *vec,
                          const char *reason, xf_error *err);
/* Finishes (npy: fixes the row count; files: fsync + rename). commit=0 discards. */
xf_status xf__feats_close(xf_feats *f, int commit, xf_error *err);


/* Provenance JSON of features made with model + pp + session options (the feats.bin header, and
 * what a classifier head records). Returns 0 when it does not fit in size bytes. */
int xf__features_json(const xf_model *m, const xf_preproc *pp, const xf_session_opts *so,
                      int64_t dim, char *buf, size_t size);

/* ---- reading feats.bin ---- */
typedef struct {
    char *header_json; /* provenance */
    int64_t dim;
    size_t n;          /* records */
    char **paths;      /* n */
    xf_status *status; /* n */
    char **reasons;    /* n (NULL for ok records) */
    float *x;          /* n * dim; rows of failed records are zero */
} xf_featset;

/* Reads a whole feats.bin; every length is bounded and a cut-off record is an error naming the
 * file and the record index. */
xf_status xf__feats_read(const char *path, xf_featset *out, xf_error *err);
void xf__featset_free(xf_featset *fs);

#endif
