/* xf_internal.h — private declarations shared by extractor/, weights/ and classifier/.
 *
 * It is: the error/log helpers, the weights-file reader/writer interface (weights/wfile.c),
 * the graph representation and the op kernels. It is not installed and not a stable API.
 */
#ifndef XF_INTERNAL_H
#define XF_INTERNAL_H

#include "xfer.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Kept in release builds; only for our own invariants, never for input. */
#define XF_ASSERT(c)                                                                               \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "xfer: internal error %s:%d: %s\n", __FILE__, __LINE__, #c);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Hot loops are compiled twice, for AVX+FMA and for baseline x86-64, chosen at load time by
 * CPU features (target_clones "fma" implies AVX; "arch=" clones would test the CPU model). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(XF_NO_CLONES)
#define XF_CLONES __attribute__((target_clones("fma", "default")))
#else
#define XF_CLONES
#endif

#if defined(__GNUC__)
#define XF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define XF_PRINTF(a, b)
#endif

/* error.c: fills err (may be NULL) and returns code. */
xf_status xf__fail(xf_error *err, xf_status code, const char *fmt, ...) XF_PRINTF(3, 4);
/* Prefixes err->msg with "prefix: " (context chaining), returns err->code. */
xf_status xf__wrap(xf_error *err, const char *prefix);
void xf__log(xf_log_level level, const char *fmt, ...) XF_PRINTF(2, 3);

/* Overflow-checked arithmetic on sizes: return 0 on overflow. */
int xf__mul_size(size_t a, size_t b, size_t *out);
int xf__add_size(size_t a, size_t b, size_t *out);

/* Allocation of 64-byte aligned zeroed memory; NULL on failure. Free with free(). */
void *xf__alloc(size_t n);

/* --------------------------------------------------------------------------------------------
 * weights/wfile.c — the only reader/writer of the GGUF-based weights file (weights/FORMAT.md)
 * ------------------------------------------------------------------------------------------ */
enum {
    XF_GGUF_U8 = 0,
    XF_GGUF_I8 = 1,
    XF_GGUF_U16 = 2,
    XF_GGUF_I16 = 3,
    XF_GGUF_U32 = 4,
    XF_GGUF_I32 = 5,
    XF_GGUF_F32 = 6,
    XF_GGUF_BOOL = 7,
    XF_GGUF_STR = 8,
    XF_GGUF_ARR = 9,
    XF_GGUF_U64 = 10,
    XF_GGUF_I64 = 11,
    XF_GGUF_F64 = 12,
};
enum { XF_TYPE_F32 = 0, XF_TYPE_F16 = 1 };

#define XF_WFILE_MAX_KV      65536
#define XF_WFILE_MAX_TENSORS 65536
#define XF_WFILE_MAX_STR     (1u << 20)
#define XF_WFILE_MAX_ARR     (1u << 24)
#define XF_WFILE_MAX_DIMS    4
#define XF_WFILE_ALIGN       64
#define XF_FORMAT_VERSION    1

typedef struct {
    char *key;
    uint32_t type;     /* XF_GGUF_* */
    uint32_t arr_type; /* element type when type == XF_GGUF_ARR */
    uint64_t count;    /* array length (1 for scalars) */
    union {
        uint64_t u;
        int64_t i;
        double f;
    } num;         /* scalar numeric value, converted */
    char *str;     /* scalar string (NUL-terminated copy) */
    char **strs;   /* string array (copies) */
    double *nums;  /* numeric array, converted */
} xf_kv;

typedef struct {
    char *name;
    int n_dims;
    int64_t ne[XF_WFILE_MAX_DIMS]; /* GGUF order: ne[0] is the fastest-varying dimension */
    uint32_t type;                  /* XF_TYPE_F32 or XF_TYPE_F16 */
    uint64_t offset;                /* relative to the data section */
    size_t n_elems, nbytes;
    const void *data; /* view into the mapped file */
} xf_wtensor;

typedef struct {
    const uint8_t *base;
    size_t size;
    int mapped; /* base is an mmap (else borrowed memory) */
    void *map;  /* the mapping, for munmap */
    xf_kv *kv;
    int n_kv;
    xf_wtensor *t;
    int n_t;
    size_t data_off;
    uint32_t align;
} xf_wfile;

xf_status xf__wfile_open(const char *path, xf_wfile **out, xf_error *err);
/* Parses borrowed memory (must outlive the wfile); name is used in messages. */
xf_status xf__wfile_parse(const void *buf, size_t len, const char *name, xf_wfile **out,
                          xf_error *err);
void xf__wfile_free(xf_wfile *wf);
const xf_kv *xf__wfile_kv(const xf_wfile *wf, const char *key);
const xf_wtensor *xf__wfile_tensor(const xf_wfile *wf, const char *name);
/* Typed getters: XF_OK, or XF_ERR_FORMAT naming the key when absent or of the wrong type. */
xf_status xf__wfile_get_str(const xf_wfile *wf, const char *key, const char **out, xf_error *err);
xf_status xf__wfile_get_u32(const xf_wfile *wf, const char *key, uint32_t *out, xf_error *err);
xf_status xf__wfile_get_f32s(const xf_wfile *wf, const char *key, float *out, int n,
                             xf_error *err);
uint32_t xf__crc32c(uint32_t crc, const void *buf, size_t len);
/* Checks xfer.data.crc32c against the data section. */
xf_status xf__wfile_verify(const xf_wfile *wf, xf_error *err);

typedef struct xf_wwriter xf_wwriter;
xf_wwriter *xf__ww_create(void);
void xf__ww_free(xf_wwriter *w);
/* Setters copy their arguments; a key set twice keeps the last value. Return 0 on NOMEM. */
int xf__ww_str(xf_wwriter *w, const char *key, const char *val);
int xf__ww_u32(xf_wwriter *w, const char *key, uint32_t val);
int xf__ww_f32(xf_wwriter *w, const char *key, float val);
int xf__ww_f32s(xf_wwriter *w, const char *key, const float *vals, int n);
int xf__ww_strs(xf_wwriter *w, const char *key, const char *const *vals, int n);
/* F32 tensor with dims in GGUF order (ne[0] fastest); data copied. */
int xf__ww_tensor(xf_wwriter *w, const char *name, int n_dims, const int64_t *ne,
                  const float *data);
/* Writes path.tmp, fsyncs, renames onto path. Adds general.alignment and xfer.data.crc32c. */
xf_status xf__ww_write(xf_wwriter *w, const char *path, xf_error *err);

/* --------------------------------------------------------------------------------------------
 * graph.c — the network: nodes parsed from xfer.graph, shapes inferred and checked
 * ------------------------------------------------------------------------------------------ */
typedef enum {
    XF_OP_INPUT,
    XF_OP_CONV2D,
    XF_OP_DWCONV2D,
    XF_OP_DENSE,
    XF_OP_ADD,
    XF_OP_CONCAT,
    XF_OP_MAXPOOL,
    XF_OP_AVGPOOL,
    XF_OP_GAP,
    XF_OP_ACT,
    XF_OP_SOFTMAX,
    XF_OP_FLATTEN,
    XF_OP_MUL,       /* x * y, y of the same shape or (1, 1, C) (squeeze-excitation gates) */
    XF_OP_PRELU,     /* x > 0 ? x : slope[c] * x, slopes are the node's weight (c)         */
    XF_OP_LAYERNORM, /* per pixel over channels: (x - mean) / sqrt(var + eps) * w + b     */
    XF_OP_SHUFFLE,   /* channel shuffle: out[o] = in[(o % groups) * (C / groups) + o / groups] */
    XF_OP_SLICE,     /* channels [begin, end)                                             */
    XF_OP_AFFINE,    /* x * weight[c] + bias[c]: a batch norm kept apart from its conv    */
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
    int64_t h, w, c;            /* output shape per image                             */
    int64_t n_params;           /* weight + bias elements, set by xf__graph_bind          */
} xf_node;

typedef struct {
    xf_node *nodes;
    int n_nodes;
} xf_graph;

const char *xf__op_name(xf_op op);
const char *xf__act_name(xf_act a);
/* Parses the graph text (one node per line, weights/FORMAT.md) and infers shapes. */
xf_status xf__graph_parse(const char *text, xf_graph *g, xf_error *err);
/* Binds weights: checks every tensor the graph needs exists with the right shape; marks used. */
xf_status xf__graph_bind(xf_graph *g, const xf_wfile *wf, unsigned char *used, xf_error *err);
void xf__graph_free(xf_graph *g);
/* Infers nd's output shape from its inputs (earlier nodes of g); used by parse and converters. */
xf_status xf__node_infer(const xf_graph *g, xf_node *nd, xf_error *err);
/* Row-major weight shape of a conv2d (kh, kw, cin, cout), dwconv2d (kh, kw, c, mult) or dense
 * (in, out) node; returns the rank, 0 for ops without weights. */
int xf__node_weight_shape(const xf_graph *g, const xf_node *nd, int64_t *shape);
/* The inverse of parse: graph text, malloc'd (NULL on NOMEM). */
char *xf__graph_format(const xf_graph *g);
int xf__graph_find(const xf_graph *g, const char *tensor_name);
/* By output tensor name, else by node name (folded layers keep the first layer's name). */
int xf__graph_find_node(const xf_graph *g, const char *name);

/* --------------------------------------------------------------------------------------------
 * model.c — the opened model
 * ------------------------------------------------------------------------------------------ */
struct xf_model {
    xf_wfile *wf;
    xf_graph graph;
    float **owned; /* F16 tensors converted to F32 */
    int n_owned;
    xf_preproc pp;
    const char *feature_layer;
    char **labels;
    int n_labels;
};

/* --------------------------------------------------------------------------------------------
 * op kernels (ops_*.c). NHWC float32. n = images. Each optimised kernel has a reference twin
 * used by the tests (suffix _ref).
 * ------------------------------------------------------------------------------------------ */
void xf__act_apply(float *x, size_t n, xf_act act);

/* x (n, ih, iw, cin) -> y (n, oh, ow, cout); node holds geometry and weights (kh, kw, cin, cout)
 * row-major. scratch: xf__conv2d_scratch(node, ih, iw, cin) floats. */
size_t xf__conv2d_scratch(const xf_node *nd, int64_t ih, int64_t iw, int64_t cin);
void xf__conv2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                float *y, float *scratch);
void xf__conv2d_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                    float *y);
/* Depthwise: weights (kh, kw, c, mult) row-major; y channel = ci*mult + m. */
void xf__dwconv2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                  float *y);
void xf__dwconv2d_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                      float *y);
/* Dense: x (n, in) @ W (in, out) + b. */
void xf__dense(const xf_node *nd, const float *x, int n, int64_t in, float *y);
void xf__dense_ref(const xf_node *nd, const float *x, int n, int64_t in, float *y);
void xf__pool2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                float *y);
void xf__gap(const float *x, int n, int64_t hw, int64_t c, float *y);
void xf__softmax(const float *x, int n, int64_t c, float *y);

/* op_elem.c: the ops with two inputs or per-channel parameters; rows = images * pixels.
 * mul: y2 has c2 = c (same shape) or is one (1, 1, c) vector per image (pix = pixels). */
void xf__mul(const float *x, const float *x2, int n, int64_t pix, int64_t c, int bcast, float *y);
void xf__prelu(const float *x, int64_t rows, int64_t c, const float *slope, float *y);
void xf__layernorm(const xf_node *nd, const float *x, int64_t rows, int64_t c, float *y);
void xf__shuffle(const float *x, int64_t rows, int64_t c, int groups, float *y);
void xf__slice(const float *x, int64_t rows, int64_t c, int begin, int end, float *y);
void xf__affine(const xf_node *nd, const float *x, int64_t rows, int64_t c, float *y);
void xf__affine_backward(const xf_node *nd, const float *x, int64_t rows, int64_t c,
                         const float *dy, float *dx, float *dw, float *db);
/* backward; dx2 receives the gradient of the second input (summed over pixels when bcast) */
void xf__mul_backward(const float *x, const float *x2, int n, int64_t pix, int64_t c, int bcast,
                      const float *dy, float *dx, float *dx2);
void xf__prelu_backward(const float *x, int64_t rows, int64_t c, const float *slope,
                        const float *dy, float *dx, float *dslope);
void xf__layernorm_backward(const xf_node *nd, const float *x, int64_t rows, int64_t c,
                            const float *dy, float *dx, float *dw, float *db);
void xf__shuffle_backward(const float *dy, int64_t rows, int64_t c, int groups, float *dx);
void xf__slice_backward(const float *dy, int64_t rows, int64_t c, int begin, int end, float *dx);
/* dy <- dy * act'(x) from the activation's input x (for every activation) */
void xf__act_backward_x(const float *x, float *dy, size_t n, xf_act act);

/* session.c: the feature length a session with opts would produce (validates the options and
 * layer names, allocates nothing). */
xf_status xf__session_dim(const xf_model *model, const xf_session_opts *opts, int64_t *dim,
                          xf_error *err);

/* node.c: node i of g from its inputs' buffers into bufs[i] (scratch: conv2d im2col). */
void xf__node_forward(const xf_graph *g, int i, float *const *bufs, int n, float *scratch);
/* Backward of node i: grads[i] holds dL/d(output) (consumed: the activation is undone in place);
 * writes grads[input] for inputs whose grads[] is not NULL (overwritten, so a tensor consumed by
 * several nodes must be summed by the caller), accumulates dw/db (may be NULL). scratch:
 * 2 * xf__conv2d_scratch floats. */
xf_status xf__node_backward(const xf_graph *g, int i, float *const *bufs, float *const *grads,
                            int n, float *scratch, float *dw, float *db, xf_error *err);

/* gemm.c: C (m, n) = op(A) @ op(B) [+ C if accumulate], row-major with leading dimensions (row
 * strides) lda, ldb, ldc; op transposes when ta / tb (A stored as (k, m), B as (n, k)). */
void xf__sgemm_gen(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                   const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate);
/* gemm.c: C (m, n) = A (m, k) @ B (k, n) [+ C if accumulate]; row-major, contiguous. */
void xf__sgemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c,
               int accumulate);
/* The same with A (m, k) stored transposed when ta (as (k, m)) and B (k, n) when tb (as (n, k)). */
void xf__sgemm_t(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                 float *c, int accumulate);
void xf__blas_threads(int n);

/* ---- backward passes (fine-tuning). dy is the gradient of the loss with respect to the node's
 * output; parameter gradients (dw, db) are accumulated (+=), input gradients (dx) overwritten.
 * Pass dx = NULL when the input needs no gradient (frozen below this node). ---- */
/* dy <- dy * act'(y), in place, from the node's output y */
void xf__act_backward(const float *y, float *dy, size_t n, xf_act act);
void xf__conv2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                         int64_t cin, const float *dy, float *dx, float *dw, float *db,
                         float *scratch);
void xf__dwconv2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                           int64_t c, const float *dy, float *dx, float *dw, float *db);
void xf__dense_backward(const xf_node *nd, const float *x, int n, int64_t in, const float *dy,
                        float *dx, float *dw, float *db);
void xf__pool2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                         int64_t c, const float *dy, float *dx);
void xf__gap_backward(const float *dy, int n, int64_t hw, int64_t c, float *dx);
/* Mean softmax cross-entropy of logits (n, k) against labels, with label smoothing eps;
 * writes dlogits (n, k) and returns the loss. */
double xf__softmax_xent(const float *logits, const int *labels, int n, int64_t k, float smoothing,
                        float *dlogits);

/* defaults.c: "R,G,B" flag values (1 when three numbers), and the parent folder name of a path
 * (*start, *len into path; 0 when the path has no parent folder). */
int xf__parse3(const char *s, float *v);
int xf__parent_dir(const char *path, const char **start, size_t *len);

/* defaults.c: the weights file tools use when none is named (1 when it exists), and the one
 * whose xfer.data.crc32c is crc_hex (1 when found). */
int xf__default_weights(char *out, size_t size);
int xf__weights_by_crc(const char *crc_hex, char *out, size_t size);

/* F16 -> F32 */
float xf__f16_to_f32(uint16_t h);

#endif /* XF_INTERNAL_H */
