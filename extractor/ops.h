/* ops.h — the kernels behind the op descriptors, NHWC float32, n = images in the batch.
 *
 * It is: forward and backward kernels with the shapes of every argument, their reference twins
 * (suffix _ref, used by the tests), the shared bias + activation epilogue and the training loss.
 * Backward kernels take dy with the activation already undone, accumulate (+=) parameter
 * gradients dw, db and overwrite input gradients dx; dw, db or dx may be NULL (not needed).
 * It is not: dispatch (node.c) or GEMM (gemm.h).
 */
#ifndef XF_OPS_H
#define XF_OPS_H

#include "graph.h"

/* ---- activations (op_act.c) ---- */
/* x (n) <- act(x) in place */
void xf__act_apply(float *x, size_t n, xf_act act);
/* dy (n) <- dy * act'(.) in place, from the activation's output y (n); invertible acts only */
void xf__act_backward(const float *y, float *dy, size_t n, xf_act act);
/* dy (n) <- dy * act'(x) in place, from the activation's input x (n); any act */
void xf__act_backward_x(const float *x, float *dy, size_t n, xf_act act);

/* y (rows, c) += bias (c) [when bias], then act, row by row while the rows are hot */
void xf__bias_act_rows(float *y, int64_t rows, int64_t c, const float *bias, xf_act act);
/* act of one value in double precision with libm: the references' activation */
double xf__act_ref(double x, xf_act act);

/* ---- convolution (op_conv2d.c): x (n, ih, iw, cin) -> y (n, oh, ow, cout), weights
 * (kh, kw, cin / groups, cout) row-major; scratch: xf__conv2d_scratch floats ---- */
size_t xf__conv2d_scratch(const xf_node *nd, int64_t ih, int64_t iw, int64_t cin);
/* y = act(conv(x) + res), res shaped as y: the AVX-512 kernel with the add fused into its store
 * (a fused block's; not for Winograd convolutions). Needs XF_ISA_AVX512. */
void xf__conv2d_res(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                    const float *res, xf_act act, float *y, float *scratch);
void xf__conv2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                float *y, float *scratch);
void xf__conv2d_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                    float *y);
/* dy (n, oh, ow, cout); dx (n, ih, iw, cin); dw like the weights; db (cout);
 * scratch: 2 * xf__conv2d_scratch floats */
void xf__conv2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                         int64_t cin, const float *dy, float *dx, float *dw, float *db,
                         float *scratch);

/* ---- depthwise (op_dwconv2d.c): x (n, ih, iw, c) -> y (n, oh, ow, c * mult), weights
 * (kh, kw, c, mult) row-major, output channel = ci * mult + m ---- */
void xf__dwconv2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                  float *y);
void xf__dwconv2d_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                      float *y);
/* dy (n, oh, ow, c * mult); dx (n, ih, iw, c); dw (kh, kw, c, mult); db (c * mult) */
void xf__dwconv2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                           int64_t c, const float *dy, float *dx, float *dw, float *db);
void xf__dwconv2d_backward_ref(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                               int64_t c, const float *dy, float *dx, float *dw, float *db);

/* ---- dense (op_dense.c): x (n, in) @ W (in, out) + b (out) -> y (n, out) ---- */
void xf__dense(const xf_node *nd, const float *x, int n, int64_t in, float *y);
/* dy (n, out); dx (n, in); dw (in, out); db (out) */
void xf__dense_backward(const xf_node *nd, const float *x, int n, int64_t in, const float *dy,
                        float *dx, float *dw, float *db);

/* ---- pooling (op_pool.c) ---- */
/* windows: x (n, ih, iw, c) -> y (n, oh, ow, c) */
void xf__pool2d(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t c,
                float *y);
/* dy (n, oh, ow, c) -> dx (n, ih, iw, c) */
void xf__pool2d_backward(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                         int64_t c, const float *dy, float *dx);
/* global average: x (n, hw, c) -> y (n, c) */
void xf__gap(const float *x, int n, int64_t hw, int64_t c, float *y);
/* dy (n, c) -> dx (n, hw, c) */
void xf__gap_backward(const float *dy, int n, int64_t hw, int64_t c, float *dx);

/* ---- softmax (op_softmax.c): x (rows, c) -> y (rows, c), over c ---- */
void xf__softmax(const float *x, int rows, int64_t c, float *y);

/* ---- element-wise with two inputs (op_eltwise.c). mul: x (n, pix, c) * x2, x2 of the same
 * shape or one (1, c) vector per image (bcast) ---- */
void xf__mul(const float *x, const float *x2, int n, int64_t pix, int64_t c, int bcast, float *y);
/* dx (n, pix, c); dx2 like x2 (summed over pixels when bcast) */
void xf__mul_backward(const float *x, const float *x2, int n, int64_t pix, int64_t c, int bcast,
                      const float *dy, float *dx, float *dx2);

/* ---- per-pixel ops, rows = images * pixels (op_norm.c, op_channel.c) ---- */
/* x (rows, c), slope (c) -> y (rows, c) */
void xf__prelu(const float *x, int64_t rows, int64_t c, const float *slope, float *y);
/* dx (rows, c); dslope (c) */
void xf__prelu_backward(const float *x, int64_t rows, int64_t c, const float *slope,
                        const float *dy, float *dx, float *dslope);
/* layer norm over c, weight (c), bias (c): x (rows, c) -> y (rows, c) */
void xf__layernorm(const xf_node *nd, const float *x, int64_t rows, int64_t c, float *y);
void xf__layernorm_backward(const xf_node *nd, const float *x, int64_t rows, int64_t c,
                            const float *dy, float *dx, float *dw, float *db);
/* x * weight (c) + bias (c): x (rows, c) -> y (rows, c) */
void xf__affine(const xf_node *nd, const float *x, int64_t rows, int64_t c, float *y);
void xf__affine_backward(const xf_node *nd, const float *x, int64_t rows, int64_t c,
                         const float *dy, float *dx, float *dw, float *db);
/* channel shuffle: x (rows, c) -> y (rows, c) */
void xf__shuffle(const float *x, int64_t rows, int64_t c, int groups, float *y);
void xf__shuffle_backward(const float *dy, int64_t rows, int64_t c, int groups, float *dx);
/* channels [begin, end): x (rows, c) -> y (rows, end - begin) */
void xf__slice(const float *x, int64_t rows, int64_t c, int begin, int end, float *y);
/* dy (rows, end - begin) -> dx (rows, c), zero outside the slice */
void xf__slice_backward(const float *dy, int64_t rows, int64_t c, int begin, int end, float *dx);

/* ---- loss (loss.c) ---- */
/* Mean softmax cross-entropy of logits (n, k) against labels (n), with label smoothing eps;
 * writes dlogits (n, k) and returns the loss. */
double xf__softmax_xent(const float *logits, const int *labels, int n, int64_t k, float smoothing,
                        float *dlogits);
/* NT-Xent (SimCLR's normalised temperature-scaled cross-entropy) of z (2n, d): rows r and n + r
 * are two views of one image. Each row is L2-normalised (norms below 1e-12 count as 1e-12);
 * row i's loss is the cross-entropy of picking its partner among the 2n - 1 other rows with
 * logits cosine / tau. Returns the mean over the 2n rows and writes dz (2n, d); *hits (may be
 * NULL): the rows whose most similar other row is their partner. Needs n >= 1. */
double xf__ntxent(const float *z, int n, int64_t d, float tau, float *dz, int *hits);

#endif /* XF_OPS_H */
