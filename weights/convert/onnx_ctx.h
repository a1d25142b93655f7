/* onnx_ctx.h — shared state of the ONNX reader (onnx.c, onnx_values.c, onnx_patterns.c).
 *
 * It is: the value table (every ONNX tensor name: a constant, or an activation with its layout),
 * the reader's context, and the helpers the three files share. It is not: installed or used
 * outside weights/convert/.
 */
#ifndef XF_ONNX_CTX_H
#define XF_ONNX_CTX_H

#include "convert.h"

#include "onnx.pb-c.h"

#define MAX_RANK  8
#define MAX_FILE  ((size_t) 4 << 30)
#define MAX_CONST ((int64_t) 1 << 31)

enum { L_NCHW, L_NHWC, L_NC, L_FLAT, L_GROUPED, L_GROUPED_T }; /* activation layouts */
#define FUSE_LAYERNORM (XF_ACT_COUNT_ + 1)

typedef struct {
    const char *name; /* borrowed from the decoded model */
    int defined;
    int is_const;
    /* activation */
    int node;   /* producing xfc node */
    int layout; /* L_* */
    int groups; /* L_GROUPED*: the g of [N, g, C/g, H, W] */
    int own;    /* the node's output is this value alone (folding into it is safe) */
    int pad[4]; /* pending zero padding (top, bottom, left, right) from a Pad node */
    /* constant: float data or int64 data (shape arithmetic) */
    int rank;
    int64_t dims[MAX_RANK];
    int64_t n;
    float *f;
    int64_t *i;
} value;

typedef struct {
    Onnx__GraphProto *g;
    xf_gbuild *c;
    xf_error *err;
    const char *path;
    value *v; /* hash table keyed by name */
    size_t cap;
    int *uses;             /* per ONNX node output slot: consumers; indexed like v */
    int *cons_off, *cons;  /* per slot: the consuming node indices cons[cons_off[s]..cons_off[s+1]),
                            * ascending (node inputs only) */
    unsigned char *skip;   /* per node: folded into a later node by a pattern */
    int *fuse;             /* per node: xf_act a pattern gives this node (Mul -> SiLU...), or
                            * FUSE_LAYERNORM */
    const char **fuse_src; /* per node: the pattern's input */
    float *fuse_eps;       /* per node: a layer-norm pattern's epsilon */
    int size_h, size_w;    /* input size override (0: from the file) */
    int feature_node;      /* input of the last weighted node */
    size_t folded, fold_budget; /* bytes of constants made by folding, and their bound (a
                                 * multiple of the file's size: a small file cannot ask for a
                                 * large allocation) */
} ctx;

/* onnx_values.c: value table, attributes, constants, constant folding */
value *ox_lookup(ctx *x, const char *name, int create);
xf_status ox_fail_node(ctx *x, const Onnx__NodeProto *nd, xf_status code, const char *why);
const Onnx__AttributeProto *ox_attr(const Onnx__NodeProto *nd, const char *name);
int64_t ox_attr_i(const Onnx__NodeProto *nd, const char *name, int64_t def);
float ox_attr_f(const Onnx__NodeProto *nd, const char *name, float def);
/* ints attribute into out[0..max); returns the count, -1 when longer than max */
int ox_attr_ints(const Onnx__NodeProto *nd, const char *name, int64_t *out, int max);
const char *ox_attr_s(const Onnx__NodeProto *nd, const char *name, char *buf, size_t size);
void ox_const_free(value *v);
/* A TensorProto into v (float32 data for float types, int64 for integer types). */
xf_status ox_const_from_tensor(ctx *x, const Onnx__TensorProto *t, value *v);
double ox_cval(const value *v, int64_t k);
/* element k as an integer, clamped to +-2^60 */
int64_t ox_ival(const value *v, int64_t k);
/* a * b when both are in [0, MAX_CONST] and so is the product, else -1 */
int64_t ox_mul_dims(int64_t a, int64_t b);
xf_status ox_const_new(ctx *x, value *v, int rank, const int64_t *dims, int is_int);
void ox_cset(value *v, int64_t k, double d);
/* the value of input k of nd, defined (an error otherwise) */
value *ox_in_val(ctx *x, const Onnx__NodeProto *nd, size_t k, xf_status *s);
int ox_is_op(const Onnx__NodeProto *nd, const char *op);
/* the scalar constant input k of nd (initializer or Constant node output), or NAN */
double ox_scalar_in(ctx *x, const Onnx__NodeProto *nd, size_t k);
int ox_all_const(ctx *x, const Onnx__NodeProto *nd);
/* a node whose inputs are all constants, evaluated (the shape arithmetic of exports) */
xf_status ox_fold(ctx *x, const Onnx__NodeProto *nd, value *out);

/* onnx_patterns.c: marks activation and layer-norm patterns (ctx skip / fuse / fuse_src) */
void ox_find_patterns(ctx *x);

#endif
