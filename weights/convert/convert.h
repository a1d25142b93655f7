/* convert.h — entry points of the source-format readers used by xfer-convert.
 * It is: one function per format filling an xf_gbuild. It is not: metadata policy (the main).
 */
#ifndef XF_CONVERT_H
#define XF_CONVERT_H

#include "graph_build.h"

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
