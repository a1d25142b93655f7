/* model.h — what an opened xf_model holds, for the library files that run it (session.c, the
 * provenance, fine-tuning) and for xfer-inspect, which shows the raw file on purpose.
 *
 * It is: struct xf_model. It is not: for the tools' mains, which use the public accessors of
 * xfer.h (a main that needs more gets a public accessor).
 */
#ifndef XF_MODEL_H
#define XF_MODEL_H

#include "meta.h"

struct xf_model {
    xf_wfile *wf;
    xf_meta meta;   /* validated metadata (borrowing wf's strings) */
    xf_graph graph; /* parsed, bound to wf's tensors */
    float **owned;  /* F16 tensors expanded to F32 */
    int n_owned;
    xf_preproc pp; /* the file's preprocessing */
};

#endif /* XF_MODEL_H */
