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

#endif
