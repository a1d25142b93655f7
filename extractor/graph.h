/* graph.h — the network: ops, activations, nodes, and the op descriptor every op file fills.
 *
 * It is: the xf_op enum (from ops.def), xf_node (one op with its geometry and weight views),
 * xf_graph, the op descriptor (arity, attributes, shape and weight rules, kernels) and the graph
 * text parser/formatter (graph.c). It is not: the kernels (ops.h) or execution (node.c,
 * session.c).
 */
#ifndef XF_GRAPH_H
#define XF_GRAPH_H

#include "wfile.h"

typedef enum {
#define XF_OP(e, name) XF_OP_##e,
#include "ops.def"
#undef XF_OP
    XF_OP_COUNT_
} xf_op;

/* leaky: x for x > 0, 0.01 x otherwise (PyTorch's default slope); silu: x * sigmoid(x);
 * hardsigmoid: relu6(x + 3) / 6; hardswish: x * hardsigmoid(x); gelu: x * Phi(x) (erf form).
 * silu, hardswish and gelu cannot be undone from their output: backward needs the input. */
typedef enum {
    XF_ACT_NONE,
    XF_ACT_RELU,
    XF_ACT_RELU6,
    XF_ACT_SIGMOID,
    XF_ACT_LEAKY,
    XF_ACT_SILU,
    XF_ACT_HARDSIGMOID,
    XF_ACT_HARDSWISH,
    XF_ACT_GELU,
    XF_ACT_COUNT_
} xf_act;

/* 1 when the activation's derivative is a function of its output (backward can undo it). */
int xf__act_invertible(xf_act a);

#define XF_NODE_MAX_IN 8

typedef struct {
    xf_op op;
    char *name;             /* node name: weights are "<name>.weight" / "<name>.bias" */
    char *out_name;         /* tensor name of its output (what --layer selects)       */
    int in[XF_NODE_MAX_IN]; /* producer node indices */
    int n_in;
    int kh, kw, sh, sw;         /* kernel and stride (conv, dwconv, pools)           */
    int pt, pb, pl, pr;         /* explicit padding top/bottom/left/right            */
    int cout;                   /* conv/dense output channels                        */
    int mult;                   /* dwconv depth multiplier                           */
    int count_pad;              /* avgpool: 1 counts padded cells in the divisor     */
    int groups;                 /* conv2d and shuffle groups (xf__node_infer: 0 -> 1) */
    int dil_h, dil_w;           /* conv2d dilation (xf__node_infer: 0 -> 1)          */
    int begin, end;             /* slice channel range                               */
    float eps;                  /* layernorm epsilon                                 */
    xf_act act;                 /* fused activation                                  */
    const float *weight, *bias; /* views into the model (bias may be NULL)            */
    const float *packed;        /* conv2d, dense: weights in the AVX-512 kernel's panels, or NULL
                                 * (made at open; a node whose weights change has none) */
    const float *wino;          /* conv2d 3x3 stride 1: Winograd-transformed weights (winograd.h),
                                 * instead of packed; made at open, or NULL */
    int wino_tile;              /* the output tile they are made for (2 or 4)         */
    int64_t h, w, c;            /* output shape per image                             */
    int64_t n_params;           /* weight + bias elements, set by xf__graph_bind          */
} xf_node;

typedef struct {
    xf_node *nodes;
    int n_nodes;
} xf_graph;

/* Attributes of the graph text (weights/FORMAT.md §1.1), in the order they are written. */
enum {
    XF_ATTR_HWC = 1u << 0,       /* h= w= c= (input)                   */
    XF_ATTR_K = 1u << 1,         /* k=KH,KW                             */
    XF_ATTR_S = 1u << 2,         /* s=SH,SW                             */
    XF_ATTR_PAD = 1u << 3,       /* pad=T,B,L,R                         */
    XF_ATTR_COUT = 1u << 4,      /* cout=                               */
    XF_ATTR_GROUPS = 1u << 5,    /* groups= (default 1)                 */
    XF_ATTR_DIL = 1u << 6,       /* dil=DH,DW (default 1,1)             */
    XF_ATTR_MULT = 1u << 7,      /* mult= (default 1)                   */
    XF_ATTR_COUNT_PAD = 1u << 8, /* count_pad=0/1 (default 0)           */
    XF_ATTR_RANGE = 1u << 9,     /* begin= end=                         */
    XF_ATTR_EPS = 1u << 10,      /* eps=                                */
    XF_ATTR_ACT = 1u << 11,      /* act= (default none)                 */
    XF_ATTR_WINDOW = XF_ATTR_K | XF_ATTR_S | XF_ATTR_PAD,
};

#define XF_IN_MANY (-1) /* n_in of ops taking two or more inputs */

/* What an op is, for every part of xfer that handles nodes: one per op file, listed in ops.def.
 * Kernels get the node, its inputs' buffers x[0..n_in) and the batch size n (images). */
typedef struct {
    const char *name;
    int n_in;        /* exact number of inputs, or XF_IN_MANY                               */
    unsigned attrs;  /* XF_ATTR_* the graph text may give                                   */
    unsigned shown;  /* attrs always written (the others only when not at their default)    */
    int bias;        /* 1: weights may come with a per-output-channel bias                  */
    int own_act;     /* 1: forward applies nd->act itself; 0: node.c applies it afterwards  */
    int fold_affine; /* 1: a per-channel scale/shift after it folds into weight and bias    */
    int act_input;   /* 1: its output before the activation is input 0 (the act op)         */
    /* Output shape (nd->h, w, c) from the inputs; NULL: input 0's shape. Checks the attrs. */
    xf_status (*infer)(const xf_graph *g, xf_node *nd, xf_error *err);
    /* Row-major weight shape; returns its rank. NULL: the op has no weights. */
    int (*weight_shape)(const xf_graph *g, const xf_node *nd, int64_t *shape);
    /* Forward scratch in floats (backward takes twice this); NULL: none. */
    size_t (*scratch)(const xf_graph *g, const xf_node *nd);
    /* y (n, h, w, c) from the inputs; NULL only for the input op. */
    void (*forward)(const xf_graph *g, const xf_node *nd, const float *const *x, float *y, int n,
                    float *scratch);
    /* The same by the most direct loops (double accumulation where it sums): the tests' twin. */
    void (*forward_ref)(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                        int n);
    /* dy: dL/d(output) with the activation already undone. Writes dx[k] (overwritten) for the
     * inputs whose dx[k] is not NULL, accumulates dw/db (may be NULL). NULL: no backward. */
    void (*backward)(const xf_graph *g, const xf_node *nd, const float *const *x, const float *y,
                     const float *dy, float *const *dx, int n, float *scratch, float *dw,
                     float *db);
    /* A slower, more direct backward where the fast one is specialised; NULL: backward is it. */
    void (*backward_ref)(const xf_graph *g, const xf_node *nd, const float *const *x,
                         const float *y, const float *dy, float *const *dx, int n, float *dw,
                         float *db);
} xf_op_def;

#define XF_OP(e, name) extern const xf_op_def xf__op_##name;
#include "ops.def"
#undef XF_OP

/* The descriptor of op (never NULL for a valid op). */
const xf_op_def *xf__op(xf_op op);
const char *xf__op_name(xf_op op);
const char *xf__act_name(xf_act a);
/* Parses the graph text (one node per line, weights/FORMAT.md) and infers shapes. */
xf_status xf__graph_parse(const char *text, xf_graph *g, xf_error *err);
/* Binds weights: checks every tensor the graph needs exists in wf with the right shape and
 * points the nodes at data[t] (tensor t's values as F32); marks used[t]. */
xf_status xf__graph_bind(xf_graph *g, const xf_wfile *wf, const float *const *data,
                         unsigned char *used, xf_error *err);
void xf__graph_free(xf_graph *g);
/* Infers nd's output shape from its inputs (earlier nodes of g); used by parse and converters. */
xf_status xf__node_infer(const xf_graph *g, xf_node *nd, xf_error *err);
/* For the ops' infer rules: output h, w of a window (k, s, pad, dil) over input 0, c kept. */
xf_status xf__window_infer(const xf_graph *g, xf_node *nd, xf_error *err);
/* XF_ERR_SHAPE naming the node and its op. */
xf_status xf__node_shape_err(xf_error *err, const xf_node *nd, const char *why);
/* Row-major weight shape (0 for ops without weights): the descriptor's rule. */
int xf__node_weight_shape(const xf_graph *g, const xf_node *nd, int64_t *shape);
/* Weight elements of nd (0 when none). */
int64_t xf__node_weight_count(const xf_graph *g, const xf_node *nd);
/* Floats of nd's output for n images. */
size_t xf__node_floats(const xf_node *nd, int n);
/* The inverse of parse: graph text, malloc'd (NULL on NOMEM). */
char *xf__graph_format(const xf_graph *g);
int xf__graph_find(const xf_graph *g, const char *tensor_name);
/* By output tensor name, else by node name (folded layers keep the first layer's name). */
int xf__graph_find_node(const xf_graph *g, const char *name);

/* node.c: node i of g from its inputs' buffers into bufs[i] (scratch: xf__node_scratch). */
void xf__node_forward(const xf_graph *g, int i, float *const *bufs, int n, float *scratch);
/* Forward scratch floats of node nd (0 when none). */
size_t xf__node_scratch(const xf_graph *g, const xf_node *nd);
/* Backward of node i: grads[i] holds dL/d(output) (consumed: the activation is undone in place);
 * writes grads[input] for inputs whose grads[] is not NULL (overwritten, so a tensor consumed by
 * several nodes must be summed by the caller), accumulates dw/db (may be NULL). scratch:
 * 2 * xf__node_scratch floats. */
xf_status xf__node_backward(const xf_graph *g, int i, float *const *bufs, float *const *grads,
                            int n, float *scratch, float *dw, float *db, xf_error *err);

#endif /* XF_GRAPH_H */
