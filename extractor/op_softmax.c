/* op_softmax.c — softmax over the channels of each pixel (the probabilities of a classifier).
 * It is: the kernel, its double-precision reference and the softmax descriptor; there is no
 * backward (training stops at the logits: loss.c takes them). It is not: the loss.
 */
#include "ops.h"

#include <math.h>

void xf__softmax(const float *x, int n, int64_t c, float *y)
{
    for (int64_t r = 0; r < (int64_t) n; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        float mx = xr[0];
        for (int64_t i = 1; i < c; i++)
            mx = xr[i] > mx ? xr[i] : mx;
        double sum = 0;
        for (int64_t i = 0; i < c; i++) {
            yr[i] = expf(xr[i] - mx);
            sum += (double) yr[i];
        }
        for (int64_t i = 0; i < c; i++)
            yr[i] = (float) ((double) yr[i] / sum);
    }
}

static void softmax_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                            int n, float *scratch)
{
    (void) g, (void) scratch;
    xf__softmax(x[0], n * (int) (nd->h * nd->w), nd->c, y);
}

static void softmax_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x,
                                float *y, int n)
{
    (void) g;
    int64_t rows = (int64_t) n * nd->h * nd->w, c = nd->c;
    for (int64_t r = 0; r < rows; r++) {
        double mx = (double) x[0][r * c], sum = 0;
        for (int64_t i = 1; i < c; i++)
            mx = fmax(mx, (double) x[0][r * c + i]);
        for (int64_t i = 0; i < c; i++)
            sum += exp((double) x[0][r * c + i] - mx);
        for (int64_t i = 0; i < c; i++)
            y[r * c + i] = (float) (exp((double) x[0][r * c + i] - mx) / sum);
    }
}

const xf_op_def xf__op_softmax = {
    .name = "softmax",
    .n_in = 1,
    .own_act = 1, /* takes no activation */
    .forward = softmax_forward,
    .forward_ref = softmax_forward_ref,
};
