/* graph_build.h — a graph under construction with weights it owns: what the converters
 * (TF.js/Keras, TFLite, ONNX) and fine-tuning (classifier/) build and write.
 *
 * It is: appending nodes with shape inference (the op descriptors' rules), owned weights in the
 * layout the kernels want, batch-norm folding and activation fusion, and writing the weights
 * file. It is not: any source format's parser, or execution.
 */
#ifndef XF_GRAPH_BUILD_H
#define XF_GRAPH_BUILD_H

#include "graph.h"

typedef struct {
    xf_graph g;
    float **w, **b;       /* owned weight / bias per node (NULL when none)        */
    int64_t (*wshape)[4]; /* row-major weight shape per node                     */
    int *wnd;
    int cap;
    xf_wwriter *meta; /* metadata keys to write (xfer.graph is added on write) */
    int keep_bn;      /* 1: batch norms stay affine nodes (fine-tuning may train or freeze
                       * them apart from the convs) */
} xf_gbuild;

xf_status xf__gb_init(xf_gbuild *c, xf_error *err);
void xf__gb_free(xf_gbuild *c);

/* Appends a copy of proto (op, geometry, act, in[]) named name (output tensor out, or name).
 * Returns the node index, or -1 with err set. */
int xf__gb_add(xf_gbuild *c, const xf_node *proto, const char *name, const char *out,
               xf_error *err);
/* Gives node idx its weight (row-major shape, nd dims; ownership taken) and bias (or NULL). */
void xf__gb_set_params(xf_gbuild *c, int idx, float *w, const int64_t *shape, int nd, float *b);

/* y = (x - mean) / sqrt(var + eps) * gamma + beta on node idx's output channels. gamma/beta may
 * be NULL (1 / 0). Folded into idx when exclusive (no other consumer), c->keep_bn is 0 and idx
 * is a conv, depthwise conv, dense or layer norm without activation; otherwise an affine node is
 * appended. Returns the index of the node now producing the result, or -1. */
int xf__gb_batchnorm(xf_gbuild *c, int idx, const float *gamma, const float *beta,
                     const float *mean, const float *var, float eps, int exclusive,
                     const char *name, xf_error *err);

/* y = x * scale + shift per channel (either may be NULL): a constant scale/shift of the source
 * graph, folded like a batch norm but regardless of c->keep_bn. */
int xf__gb_affine(xf_gbuild *c, int idx, const float *scale, const float *shift, int exclusive,
                  const char *name, xf_error *err);

/* Applies act to node idx's output: fused when exclusive and idx has no activation yet (or a
 * ReLU that act subsumes), otherwise an act node. Returns the index now producing the result,
 * or -1. */
int xf__gb_activation(xf_gbuild *c, int idx, xf_act act, int exclusive, const char *name,
                      xf_error *err);

/* Renames node idx's output tensor. */
int xf__gb_rename(xf_gbuild *c, int idx, const char *out);

/* Writes graph + weights + metadata to path (atomic). */
xf_status xf__gb_write(xf_gbuild *c, const char *path, xf_error *err);

/* Same-padding split (TF/Keras): total = max((ceil(in/s)-1)*s + k - in, 0); before = total/2. */
void xf__gb_same_pad(int64_t in, int k, int s, int *before, int *after);

#endif /* XF_GRAPH_BUILD_H */
