/* extract.h — inputs to a feature file: one extraction run, the whole of extract-features but
 * its options and messages.
 * It is: the shard's part of the input list, the provenance header, the output (with resume),
 * the pipeline, the commit. It is not: option parsing or progress display (the caller's hooks).
 */
#ifndef XF_EXTRACT_H
#define XF_EXTRACT_H

#include "feats.h"
#include "inputs.h"
#include "pipeline.h"

typedef struct {
    xf_pipeline_opts po; /* preprocessing, layers, pooling, threads, batch, failure limit */
    const char *out;     /* NULL or "-": standard output                                  */
    xf_feats_format fmt;
    int resume;
    int sharded; /* only part shard_index of shard_count, recorded in the header   */
    long shard_index, shard_count;
    const char *classes_file; /* libsvm: the class list (folder_labels.h); NULL: the inputs' */
    /* hooks (may be NULL): before the run, and after every record (reason: a failure's) */
    void (*on_start)(void *user, size_t count, int64_t dim, size_t resumed);
    void (*on_record)(void *user, size_t done, size_t count, const char *reason);
    void *user;
} xf_extract_opts;

typedef struct {
    size_t count;  /* inputs of this run (the shard's part) */
    size_t failed; /* of which failed (resumed records included) */
} xf_extract_result;

/* Extracts the features of the inputs into the output (the walked roots go into the header). */
xf_status xf__extract(const xf_model *m, const xf_inputs *in, const xf_extract_opts *o,
                      xf_extract_result *r, xf_error *err);

#endif /* XF_EXTRACT_H */
