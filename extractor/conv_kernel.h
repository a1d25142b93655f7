/* conv_kernel.h — xfer's own convolution micro-kernel for AVX-512: rows of an implicit GEMM,
 * y[r, :] = act(sum over taps and channels of x * W + b [+ res[r, :]]), with the activations
 * read in place (each output row names, per tap, a run of cg input floats: no im2col, no
 * packing of the activations) and bias, residual and activation applied on the store.
 *
 * It is: the kernel and the weight packing it prefers (32-column panels, k-major, zero padded,
 * made once when a model is opened). Every output element sums its products in one fixed
 * order (taps, then channels), whatever the tile, the number of rows or the batch, so results
 * are bit-identical in any batch and in fused and unfused use. It is not: the choice of when
 * to use it (op_conv2d.c, fuse.c) or the OpenBLAS fallback (gemm.c).
 */
#ifndef XF_CONV_KERNEL_H
#define XF_CONV_KERNEL_H

#include "graph.h"

#define XF_KCONV_PANEL 32  /* output columns per weight panel */
#define XF_KCONV_BLOCK 252 /* rows the kernel takes at once: 18 of its 14-row tiles */

typedef struct {
    int64_t taps, cg; /* each output row reads `taps` runs of cg floats: K = taps * cg       */
    int64_t n;        /* output columns                                                    */
    const float *w;   /* weights (K, n): panel p's row k is at w + p * pstride + k * ldw    */
    int64_t ldw, pstride;
    const float *bias; /* n floats, or NULL                                                 */
    const float *res;  /* residual rows added before the activation (row r at res + r*ldres) */
    int64_t ldres;
    xf_act act;
} xf_kconv;

/* Output rows [0, m): xp holds m * taps pointers (row r's tap t at xp[r * taps + t]); row r
 * is written at y + r * ldy (n floats). Needs xf__isa() == XF_ISA_AVX512. */
void xf__kconv_rows(const xf_kconv *k, int64_t m, const float *const *xp, float *y, int64_t ldy);

/* Floats of the packed form of a (K, n) weight matrix. */
size_t xf__kconv_packed_floats(int64_t K, int64_t n);
/* W (K, n), rows ldw apart, into panels: out[p * 32K + k * 32 + j] = W[k, 32p + j] (0 past n). */
void xf__kconv_pack(const float *w, int64_t K, int64_t n, int64_t ldw, float *out);
/* k's weight fields for packed weights (pack) or, when pack is NULL, for W as it is. */
void xf__kconv_weights(xf_kconv *k, const float *w, int64_t ldw, const float *pack);

#define XF_DW_MAX_KH 16 /* the depthwise kernel's tallest window */

/* Depthwise, multiplier 1 (dw_kernel.c): output rows [oy0, oy1) of one image of node nd (any
 * kernel size, stride and padding), y = act(b + sum of taps in (ky, kx) order), 8 output pixels
 * by 16 channels at a time, the channel tail masked. Needs XF_ISA_AVX512. */
void xf__dw_rows(const xf_node *nd, const float *x, int64_t ih, int64_t iw, int64_t c, float *y,
                 int64_t oy0, int64_t oy1);
/* One output row (nd->w pixels) from its kh input rows (rows[ky]: iw pixels of c floats, NULL
 * above or below the image). */
void xf__dw_row(const xf_node *nd, const float *const *rows, int64_t iw, int64_t c, float *y);
/* sum[ch] += y[j * c + ch] for the px pixels j of a row in order: the sums xf__gap makes, bit for
 * bit, one row at a time. Needs XF_ISA_AVX512. */
void xf__dw_pool_row(const float *y, int64_t px, int64_t c, float *sum);

#endif /* XF_CONV_KERNEL_H */
