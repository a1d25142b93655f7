/* ft_graph.h — what trains: the nodes fine-tuning unfreezes, and the trainable graph built from
 * them (a copy of the unfrozen nodes reading the cached boundary tensor, global pooling, the
 * new head) with its parameters, gradients and optimizer state.
 * It is: planning and building. It is not: the training loop (finetune.c) or the file it
 * writes (ft_write.c).
 */
#ifndef XF_FT_GRAPH_H
#define XF_FT_GRAPH_H

#include "finetune.h"
#include "graph_build.h"

/* One parameter tensor: values, gradient, optimizer state. n = 0: none. */
typedef struct {
    float *p, *g, *s[2];
    size_t n;
} xf_param;

typedef struct xf_ftgraph {
    xf_gbuild gb;          /* node 0: input (the boundary tensor); trainable copies; the head */
    int *src;              /* the model node each node copies (-1: input, split act, head)    */
    xf_param *w, *b;       /* per node: weight and bias (their values are gb.w / gb.b)         */
    unsigned char *frozen; /* parameters not updated (affine nodes under --freeze-bn)         */
    unsigned char *drop;   /* dropout on this node's output (the last node of a hidden layer) */
    int head_first;        /* the first head node                                              */
} xf_ftgraph;

/* Builds the trainable graph for k classes; n_state: the optimizer's state vectors. */
xf_status xf__ftgraph_build(const xf_model *m, const xf_ft_opts *o, int k, int n_state,
                            xf_ftgraph *t, xf_error *err);
void xf__ftgraph_free(xf_ftgraph *t);

/* ft_write.c: the backbone with its trained nodes updated, the head, a softmax and the class
 * names, as an ordinary weights file; info: the xfer.finetune record (JSON). */
xf_status xf__ft_write(const xf_model *m, const xf_ftgraph *t, char *const *labels, int k,
                       const char *info, const char *path, xf_error *err);

#endif /* XF_FT_GRAPH_H */
