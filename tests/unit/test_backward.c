/* test_backward.c — the derivatives every backward pass is built on, against central finite
 * differences: each activation from its output (where invertible) and from its input (all),
 * and the softmax cross-entropy with label smoothing. Relative L2 error below 1e-3.
 * It is: the pieces node.c applies around the op kernels (the kernels themselves are checked
 * op by op, through the op table, by test_ops.c). It is not: an op test.
 */
#include "ops.h"
#include "t.h"

#include <string.h>

static uint32_t rng = 777;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
    return (float) (rng & 0xffffff) / (float) 0x1000000 * 2.0f - 1.0f;
}

int main(void)
{
    /* activations from the input, for all (the path act nodes of imported nets take) */
    for (int a = XF_ACT_RELU; a < XF_ACT_COUNT_; a++) {
        enum { N = 64 };
        float x[N], dy[N], g[N];
        double num = 0, den = 0;
        for (int i = 0; i < N; i++) {
            x[i] = 0.1f + 5.8f * (frand() + 1) / 2 * (i % 2 ? 1 : -1) + (i % 7 == 0 ? 6.5f : 0);
            if (fabsf(fabsf(x[i]) - 3) < 0.01f) /* hard sigmoid's kinks */
                x[i] += 0.05f;
            g[i] = dy[i] = frand();
        }
        xf__act_backward_x(x, dy, N, (xf_act) a);
        for (int i = 0; i < N; i++) {
            float e = 1e-3f, yp = x[i] + e, ym = x[i] - e;
            xf__act_apply(&yp, 1, (xf_act) a);
            xf__act_apply(&ym, 1, (xf_act) a);
            double fd = (double) g[i] * ((double) yp - (double) ym) / (2e-3);
            num += (fd - (double) dy[i]) * (fd - (double) dy[i]);
            den += fd * fd;
        }
        double e = sqrt(num) / (sqrt(den) + 1e-12);
        printf("%-34s dx %.2e (from input)\n", xf__act_name((xf_act) a), e);
        T_CHECKF(e < 1e-3, "act %s from input: %.3e", xf__act_name((xf_act) a), e);
    }

    /* activations: derivative from the output, inputs kept away from the kinks */
    for (int a = XF_ACT_RELU; a < XF_ACT_COUNT_; a++) {
        if (!xf__act_invertible((xf_act) a))
            continue;
        enum { N = 64 };
        float x[N], y[N], dy[N], yp[N], ym[N];
        double num = 0, den = 0;
        for (int i = 0; i < N; i++) {
            x[i] = 0.1f + 5.8f * (frand() + 1) / 2 * (i % 2 ? 1 : -1) + (i % 7 == 0 ? 6.5f : 0);
            y[i] = x[i];
            dy[i] = frand();
        }
        xf__act_apply(y, N, (xf_act) a);
        float g[N];
        memcpy(g, dy, sizeof g);
        xf__act_backward(y, dy, N, (xf_act) a);
        for (int i = 0; i < N; i++) {
            float e = 1e-3f;
            yp[i] = x[i] + e, ym[i] = x[i] - e;
            xf__act_apply(&yp[i], 1, (xf_act) a);
            xf__act_apply(&ym[i], 1, (xf_act) a);
            double fd = (double) g[i] * ((double) yp[i] - (double) ym[i]) / (2e-3);
            num += (fd - (double) dy[i]) * (fd - (double) dy[i]);
            den += fd * fd;
        }
        double e = sqrt(num) / (sqrt(den) + 1e-12);
        printf("%-34s dx %.2e\n", xf__act_name((xf_act) a), e);
        T_CHECKF(e < 1e-3, "act %s: %.3e", xf__act_name((xf_act) a), e);
    }

    /* softmax cross-entropy with label smoothing */
    {
        enum { R = 3, K = 5 };
        float lg[R * K], d[R * K], tmp[R * K];
        int lab[R] = {0, 3, 4};
        for (int i = 0; i < R * K; i++)
            lg[i] = 2 * frand();
        double l0 = xf__softmax_xent(lg, lab, R, K, 0.1f, d);
        T_CHECK(l0 > 0);
        double num = 0, den = 0;
        for (int i = 0; i < R * K; i++) {
            float keep = lg[i];
            lg[i] = keep + 1e-2f;
            double lp = xf__softmax_xent(lg, lab, R, K, 0.1f, tmp);
            lg[i] = keep - 1e-2f;
            double lm = xf__softmax_xent(lg, lab, R, K, 0.1f, tmp);
            lg[i] = keep;
            double fd = (lp - lm) / 2e-2;
            num += (fd - (double) d[i]) * (fd - (double) d[i]);
            den += fd * fd;
        }
        double e = sqrt(num) / sqrt(den);
        printf("%-34s dlogits %.2e\n", "softmax cross-entropy (smoothing)", e);
        T_CHECKF(e < 1e-3, "softmax xent: %.3e", e);
    }
    return t_done();
}
