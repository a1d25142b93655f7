/* convert.h — the source-format readers behind xfer-convert, as one table.
 * It is: one reader per format filling an xf_gbuild, with what the format says about its own
 * preprocessing and feature layer (hints), the lookup by file name or content, and the one
 * writer (a classifier as ONNX). It is not:
 * metadata policy (the main) or the graph builder (extractor/graph_build.h).
 */
#ifndef XF_CONVERT_H
#define XF_CONVERT_H

#include "cli.h"
#include "graph_build.h"
#include "head.h"
#include "io.h"

/* What a source file tells about itself, beyond its graph and weights. */
typedef struct {
    int size_h, size_w; /* in: the input size to build for (0: the file's; resizable readers) */
    int has_norm;       /* out: the file implies a normalisation (mean/std below) ...          */
    float mean[3], std[3];
    const char *norm_why; /* ... for this reason, said on stderr when no flag overrides it      */
    char feature[256];    /* out: the default feature tensor ("": the last map before pooling)  */
} xfc_hints;

typedef struct {
    const char *name;   /* "onnx"                                     */
    const char *suffix; /* "model.json" style file-name ending        */
    int resizable;      /* --size rebuilds the graph at another size  */
    /* 1 when the first bytes look like this format */
    int (*sniff)(const uint8_t *head, size_t n);
    xf_status (*read)(const char *path, xfc_hints *h, xf_gbuild *c, xf_error *err);
} xfc_reader;

/* The reader for path: by its name's ending, else by its first bytes; NULL when none fits. */
const xfc_reader *xfc_reader_for(const char *path);
/* The map that a graph's last global pooling reduces (what extract-features pools the same way);
 * without a global pooling, the last tensor. */
const char *xfc_default_feature(const xf_graph *g);
/* --list-layers: every tensor of g, one line each (name, op, shape), on stdout. */
void xfc_print_layers(const xf_graph *g);
/* "model.json, .tflite or .onnx" */
const char *xfc_reader_names(void);

/* Writes classifier h as an ONNX file (onnx_export.c): a head with its backbone m (the one its
 * features were made with), or a softmax model (h->direct) that is m itself. */
xf_status xfc_export_onnx(const xf_head *h, const xf_model *m, const char *out, xf_error *err);
/* xfer-convert --to-onnx CLASSIFIER -o OUT: finds the backbone (-w, else by its checksum),
 * exports, says what it wrote; returns the exit code. */
int xfc_onnx_command(const xf_cli *c, xf_cli_weights *w, const char *clf, const char *out,
                     int quiet);

/* TF.js layers model: path to model.json (shards beside it). */
xf_status xfc_from_tfjs(const char *path, xf_gbuild *c, xf_error *err);

/* TFLite flatbuffer. A uint8/int8 input's quantization is returned as mean/std (on [0,1]
 * pixels) with *input_quantized = 1; otherwise mean/std are left alone. */
xf_status xfc_from_tflite(const char *path, xf_gbuild *c, float *mean, float *stdv,
                          int *input_quantized, xf_error *err);

/* ONNX model (one float NCHW image input). size_h/size_w override the input size (0: the
 * file's). feature receives the default feature tensor: the input of the last weighted node. */
xf_status xfc_from_onnx(const char *path, int size_h, int size_w, xf_gbuild *c, char *feature,
                        size_t feature_size, xf_error *err);

#endif
