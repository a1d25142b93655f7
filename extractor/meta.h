/* meta.h — the metadata schema of weights files (weights/FORMAT.md §1): every key xfer reads or
 * writes, the backbone's metadata as one struct, one validating read and one write.
 *
 * It is: the only place key names are spelt (XF_KEY_*) and the rules a backbone's metadata must
 * follow (preprocessing conventions this build implements, a feature layer that exists, a
 * feature dimension that agrees with the graph). It is not: the byte format (wfile.h) or the
 * graph (graph.h); head files' keys are here, their reading is classifier/head.c.
 */
#ifndef XF_META_H
#define XF_META_H

#include "graph.h"

#define XF_KEY_ARCH             "general.architecture"
#define XF_KEY_NAME             "general.name"
#define XF_KEY_LICENSE          "general.license"
#define XF_KEY_ALIGNMENT        "general.alignment"
#define XF_KEY_FORMAT_VERSION   "xfer.format_version"
#define XF_KEY_KIND             "xfer.kind"
#define XF_KEY_GRAPH            "xfer.graph"
#define XF_KEY_INPUT_HEIGHT     "xfer.input.height"
#define XF_KEY_INPUT_WIDTH      "xfer.input.width"
#define XF_KEY_INPUT_CHANNELS   "xfer.input.channels"
#define XF_KEY_INPUT_LAYOUT     "xfer.input.layout"
#define XF_KEY_INPUT_COLOR      "xfer.input.color"
#define XF_KEY_INPUT_RESIZE     "xfer.input.resize"
#define XF_KEY_INPUT_CROP_PCT   "xfer.input.crop_pct"
#define XF_KEY_INPUT_MEAN       "xfer.input.mean"
#define XF_KEY_INPUT_STD        "xfer.input.std"
#define XF_KEY_FEATURE_LAYER    "xfer.feature.layer"
#define XF_KEY_FEATURE_DIM      "xfer.feature.dim"
#define XF_KEY_TRAINABLE_FROM   "xfer.trainable.from"
#define XF_KEY_PRETRAINED_UNTIL "xfer.pretrained.until"
#define XF_KEY_LABELS           "xfer.labels"
#define XF_KEY_SOURCE           "xfer.source"
#define XF_KEY_SOURCE_INTEGRITY "xfer.source.integrity"
#define XF_KEY_CONVERTER        "xfer.converter"
#define XF_KEY_FINETUNE         "xfer.finetune"
#define XF_KEY_CRC32C           "xfer.data.crc32c"
/* classifier head files (xfer.kind = "head", FORMAT.md §1.2) */
#define XF_KEY_HEAD_DIM         "xfer.head.dim"
#define XF_KEY_HEAD_SOLVER      "xfer.head.solver"
#define XF_KEY_HEAD_NORMALIZE   "xfer.head.normalize"
#define XF_KEY_HEAD_L2          "xfer.head.l2"
#define XF_KEY_HEAD_PROBA       "xfer.head.proba"
#define XF_KEY_HEAD_C           "xfer.head.C"
#define XF_KEY_HEAD_CV_ACCURACY "xfer.head.cv_accuracy"
#define XF_KEY_HEAD_TRAIN_COUNT "xfer.head.train_count"
#define XF_KEY_FEATURES         "xfer.features"

/* Every key above, for the test that checks FORMAT.md documents each one. */
extern const char *const xf__meta_keys[];
extern const int xf__meta_key_count;

/* The resize rules this build implements (FORMAT.md §3). */
#define XF_RESIZE_BILINEAR "shorter_side_bilinear_antialias,center_crop"
#define XF_RESIZE_BICUBIC  "shorter_side_bicubic_antialias,center_crop"

/* A backbone's metadata. Strings and labels are borrowed from the file it was read from (or
 * from the caller, for writing); NULL / 0 means absent. */
typedef struct {
    const char *arch, *name, *license, *kind, *converter, *source, *integrity;
    uint32_t height, width, channels; /* network input; 0 when absent (the graph's input rules) */
    const char *layout, *color, *resize;
    float crop_pct, mean[3], std[3];
    const char *feature_layer;
    uint32_t feature_dim; /* 0 when absent */
    const char *trainable_from, *pretrained_until, *finetune;
    char *const *labels;
    int n_labels;
    uint32_t crc32c; /* the data section's checksum (always present: the writer adds it) */
} xf_meta;

/* Reads and validates a backbone's metadata against its graph g (already parsed): kind,
 * preprocessing conventions (XF_ERR_UNSUPPORTED for a layout, colour or resize rule this build
 * does not implement), input size and feature dimension against the graph (XF_ERR_SHAPE),
 * crop and std ranges (XF_ERR_VALUE). */
xf_status xf__meta_read(const xf_wfile *wf, const xf_graph *g, xf_meta *m, xf_error *err);
/* Sets every present field of m on w in the canonical order (the graph, alignment, version and
 * checksum are added by the writers). 0 on NOMEM. */
int xf__meta_write(xf_wwriter *w, const xf_meta *m);

#endif /* XF_META_H */
