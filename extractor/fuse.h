/* fuse.h — the fusion pass: node sequences a session runs as one kernel so that their
 * intermediate tensors never leave the cache. Two patterns: the inverted residual block of
 * MobileNetV2: [expand 1x1 conv] -> depthwise -> project 1x1 conv [-> add of a residual], and
 * EfficientNet's expand -> depthwise before its squeeze-excitation gate, computed in row strips:
 * each expanded row is made once into a small ring, each depthwise row from the ring, and the
 * projection every few rows (the gate's global pooling summed as the depthwise rows are made);
 * the gate's multiply and the projection after it [-> add], a few rows gated and projected at a
 * time; and a convolution followed by a residual add (ResNet's blocks), the add and its
 * activation applied on the convolution's store.
 *
 * It is: finding the blocks (only nodes nothing else reads and no caller asked for), running one,
 * and its scratch. Each value is computed by the same kernel with the same summation order as
 * unfused, so outputs are bit-identical with and without fusion (tested). It is not: the
 * kernels (conv_kernel.c, dw_kernel.c) or the session's memory plan (session.c).
 */
#ifndef XF_FUSE_H
#define XF_FUSE_H

#include "graph.h"

typedef struct {
    int x;    /* the block's input node                                   */
    int e;    /* expand 1x1 conv, or -1 (a block without expansion)       */
    int d;    /* depthwise conv, or -1: a convolution p and its add a     */
    int p;    /* project 1x1 conv, or -1 (expand -> depthwise: the depthwise output is kept,
               * as a squeeze-excitation gate needs the whole map)             */
    int a;    /* add of the residual, or -1                               */
    int res;  /* with a: the residual's node (the add's other input)      */
    int m;    /* with d < 0: a squeeze-excitation gate's multiply before p (x times a (1, 1, c)
               * gate), applied to a few rows at a time just before they are projected; or -1 */
    int gate; /* with m: the gate's node (the multiply's second input)   */
    int gap;  /* with p < 0: the global average pooling of the depthwise output, summed as its
               * rows are made (its tensor is written by the block, at the block's step); or -1 */
} xf_fused;

/* The block ending at node `last` (its add, project conv or depthwise), when there is one: every
 * node before the last is needed, has one consumer (uses[] counts them among the needed nodes) and
 * is not an output (out[i] != 0); the kernels are the AVX-512 ones. Returns 1 and fills f. */
int xf__fuse_find(const xf_graph *g, int last, const int *uses, const unsigned char *out,
                  xf_fused *f);
/* The blocks of a graph: needed[i] marks the nodes that run, out[i] those a caller reads;
 * inside[] (zeroed by the caller) gets 1 for each node run inside a block, 2 for a node a block
 * computes whose tensor is still needed (a gate's pooling: it lives from the block's step
 * on), block[i] the index
 * into blocks (n_nodes entries) of the block node i ends, or -1. From the last node back, so
 * that the largest block wins. fuse 0: none. Returns the number of blocks, -1 out of memory. */
int xf__fuse_plan(const xf_graph *g, const unsigned char *needed, const unsigned char *out,
                  int fuse, unsigned char *inside, int *block, xf_fused *blocks);
/* The block's output (node f->a, else f->p, else f->d) for a batch of n from its input and
 * residual. */
void xf__fused_forward(const xf_graph *g, const xf_fused *f, float *const *bufs, int n,
                       float *scratch);
/* Scratch floats of xf__fused_forward. */
size_t xf__fused_scratch(const xf_graph *g, const xf_fused *f);

#endif /* XF_FUSE_H */
