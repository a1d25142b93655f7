/* winograd.h — dense 3x3 stride-1 convolutions by Winograd's minimal filtering (Lavin and
 * Gray, 2015): F(2x2, 3x3) makes each 2x2 output tile from a 4x4 input tile with 16 products per
 * channel pair instead of 36; F(4x4, 3x3) each 4x4 tile from 6x6 with 36 instead of 144. Inputs
 * and outputs are transformed by fixed matrices, the weights once when a model is opened, and
 * the products become 16 (or 36) matrix products over the channels, run on the AVX-512
 * convolution kernel (conv_kernel.h).
 *
 * F(2x2, 3x3) is the default: its rounding error is that of the direct kernel (a few 1e-6 of a
 * layer's largest output; tested against the double-precision reference), while F(4x4, 3x3)'s
 * is about 20x larger (5e-5 per layer, 1.3e-4 at the end of InceptionV3: over the 1e-4 the
 * conformance table allows) for about 3% more speed on ResNet-50; $XF_WINOGRAD=4 chooses it,
 * $XF_WINOGRAD=0 turns Winograd off.
 *
 * It is: the choice of which convolutions take this path, the weight transform and the forward
 * pass. Each tile's result depends only on its own inputs (a fixed order of sums), so features
 * stay bit-identical whatever the batch. It is not: the backward pass (fine-tuning uses the
 * direct kernel), strided or grouped convolutions.
 */
#ifndef XF_WINOGRAD_H
#define XF_WINOGRAD_H

#include "graph.h"

#include <stddef.h>

/* The output tile's side with which conv2d node nd over cin input channels runs by Winograd on
 * this machine (2, or 4 with $XF_WINOGRAD=4), or 0 when it does not: it needs AVX-512, 3x3,
 * stride 1, no dilation, one group, pads of at most 2, at least 16 input and output channels,
 * an output of at least 8x8, and $XF_WINOGRAD not "0". */
int xf__wino_choice(const xf_node *nd, int64_t cin);
/* Floats of the transformed weights: (tile + 2)^2 matrices (cin, cout) in the kernel's panels. */
size_t xf__wino_packed_floats(int tile, int64_t cin, int64_t cout);
/* w (3, 3, cin, cout) row-major into out (xf__wino_packed_floats floats). */
void xf__wino_pack(const float *w, int64_t cin, int64_t cout, int tile, float *out);
/* Forward scratch in floats. */
size_t xf__wino_scratch(int tile, int64_t cin, int64_t cout);
/* y = act(conv(x) + bias) for n images (ih, iw, cin) NHWC, with nd->wino's weights, made for
 * tile nd->wino_tile. */
void xf__wino_conv(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                   float *y, float *scratch);

#endif /* XF_WINOGRAD_H */
