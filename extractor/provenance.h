/* provenance.h — what a feature vector was made with: the JSON every feature file carries in
 * its header and every classifier records (weights/FORMAT.md §2).
 *
 * It is: making it (with cJSON, so any name or path gives valid JSON), comparing a classifier's
 * with a feature file's (naming the first difference), turning it back into the session and
 * preprocessing options that reproduce it, and the shard member of sharded runs. It is not:
 * the feature file codecs (feats.c).
 */
#ifndef XF_PROVENANCE_H
#define XF_PROVENANCE_H

#include "base.h"

/* The provenance of features made with model m, preprocessing pp and session options so
 * (dim floats per image, l2norm: unit length). malloc'd; NULL on NOMEM. */
char *xf__provenance_make(const xf_model *m, const xf_preproc *pp, const xf_session_opts *so,
                          int64_t dim, int l2norm);
/* XF_OK when features with provenance `given` can feed a classifier trained on `trained`
 * (same weights checksum, layers, pooling, preprocessing and normalisation); else XF_ERR_ARG
 * naming the first difference, or XF_ERR_FORMAT when either is unreadable. */
xf_status xf__provenance_check(const char *trained, const char *given, xf_error *err);
/* The options that reproduce `json` on model m: layers (names copied into layer_store, which
 * the caller frees), pooling, l2norm and the preprocessing (the model's, with the recorded
 * crop, mean, std and EXIF rule). */
xf_status xf__provenance_options(const char *json, const xf_model *m, xf_preproc *pp,
                                 xf_session_opts *so, char **layer_store, int *l2norm,
                                 xf_error *err);
/* The backbone the features were made with: its name (general.name, into name) and its weights
 * checksum. XF_ERR_FORMAT when no checksum is recorded. */
xf_status xf__provenance_backbone(const char *json, char *name, size_t size, uint32_t *crc,
                                  xf_error *err);

/* json + "roots":[...]: the directories walked, which define the classes (folder_labels.h);
 * malloc'd, NULL on NOMEM. No roots: json copied. */
char *xf__provenance_add_roots(const char *json, char *const *roots, int n);
/* The recorded roots: *roots malloc'd (free each and the array), *n of them (0 without). */
xf_status xf__provenance_roots(const char *json, char ***roots, int *n, xf_error *err);

/* A shard of a sharded run: inputs [first, first + records) of total, part index of count. */
typedef struct {
    long index, count, first, records, total;
} xf_shard;

/* json + "shard":{...} as its last member; malloc'd, NULL on NOMEM. */
char *xf__provenance_add_shard(const char *json, const xf_shard *sh);
/* Reads the shard member (XF_ERR_FORMAT without a complete one) and, with drop, rewrites json
 * in place without it (a merged file equals a single run's). */
xf_status xf__provenance_take_shard(char *json, xf_shard *sh, int drop, xf_error *err);

#endif /* XF_PROVENANCE_H */
