/* builder.h — graph construction shared by the converters (TF.js/Keras, TFLite, ONNX).
 *
 * It is: appending nodes with shape inference (graph.c's rules), owned weights in the layout
 * the kernels want, batch-norm folding and activation fusion, and writing the weights file.
 * It is not: any source format's parser.
 */
#ifndef XF_BUILDER_H
#define XF_BUILDER_H

#include "xf_internal.h"

typedef struct {
    xf_graph g;
    float **w, **b;     /* owned weight / bias per node (NULL when none)        */
    int64_t (*wshape)[4]; /* row-major weight shape per node                     */
    int *wnd;
    int cap;
    xf_wwriter *meta; /* metadata keys to write (xfer.graph is added on write) */
    int keep_bn;      /* 1: batch norms stay affine nodes (fine-tuning may train or freeze
                       * them apart from the convs) */
} xfc_graph;

xf_status xfc_init(xfc_graph *c, xf_error *err);
void xfc_free(xfc_graph *c);

/* Appends a copy of proto (op, geometry, act, in[]) named name (output tensor out, or name).
 * Returns the node index, or -1 with err set. */
int xfc_add(xfc_graph *c, const xf_node *proto, const char *name, const char *out,
            xf_error *err);
/* Gives node idx its weight (row-major shape, nd dims; ownership taken) and bias (or NULL). */
void xfc_set_params(xfc_graph *c, int idx, float *w, const int64_t *shape, int nd, float *b);

/* y = (x - mean) / sqrt(var + eps) * gamma + beta on node idx's output channels. gamma/beta may
 * be NULL (1 / 0). Folded into idx when exclusive (no other consumer), c->keep_bn is 0 and idx
 * is a conv, depthwise conv, dense or layer norm without activation; otherwise an affine node is
 * appended. Returns the index of the node now producing the result, or -1. */
int xfc_batchnorm(xfc_graph *c, int idx, const float *gamma, const float *beta, const float *mean,
                  const float *var, float eps, int exclusive, const char *name, xf_error *err);

/* y = x * scale + shift per channel (either may be NULL): a constant scale/shift of the source
 * graph, folded like a batch norm but regardless of c->keep_bn. */
int xfc_affine(xfc_graph *c, int idx, const float *scale, const float *shift, int exclusive,
               const char *name, xf_error *err);

/* Applies act to node idx's output: fused when exclusive and idx has no activation yet (or a
 * ReLU that act subsumes), otherwise an act node. Returns the index now producing the result,
 * or -1. */
int xfc_activation(xfc_graph *c, int idx, xf_act act, int exclusive, const char *name,
                   xf_error *err);

/* Renames node idx's output tensor. */
int xfc_rename(xfc_graph *c, int idx, const char *out);

/* Writes graph + weights + metadata to path (atomic). */
xf_status xfc_write(xfc_graph *c, const char *path, xf_error *err);

/* Same-padding split (TF/Keras): total = max((ceil(in/s)-1)*s + k - in, 0); before = total/2. */
void xfc_same_pad(int64_t in, int k, int s, int *before, int *after);

#endif
