/* test_backward.c — the derivatives every backward pass is built on, against central finite
 * differences: each activation from its output (where invertible) and from its input (all),
 * the softmax cross-entropy with label smoothing, and NT-Xent (normalisation, cosine
 * similarities, cross-entropy over the other rows). Relative L2 error below 1e-3.
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

    /* NT-Xent: 2n rows of d, one row of zeros (the norm's floor) and a partner pair that is
     * already the nearest (its hit counted) */
    for (int pass = 0; pass < 2; pass++) {
        enum { N = 5, D = 7 };
        float z[2 * N * D], dz[2 * N * D], tmp[2 * N * D], tau = pass ? 0.5f : 0.1f;
        for (int i = 0; i < 2 * N * D; i++)
            z[i] = frand();
        for (int c = 0; c < D; c++)
            z[(N + 1) * D + c] = z[1 * D + c] * 2.0f + 0.01f * frand();
        int hits = -1;
        double l0 = xf__ntxent(z, N, D, tau, dz, &hits);
        T_CHECKF(l0 > 0 && hits >= 2 && hits <= 2 * N, "ntxent loss %.3f hits %d", l0, hits);
        double num = 0, den = 0;
        for (int i = 0; i < 2 * N * D; i++) {
            float keep = z[i];
            z[i] = keep + 1e-3f;
            double lp = xf__ntxent(z, N, D, tau, tmp, NULL);
            z[i] = keep - 1e-3f;
            double lm = xf__ntxent(z, N, D, tau, tmp, NULL);
            z[i] = keep;
            double fd = (lp - lm) / 2e-3;
            num += (fd - (double) dz[i]) * (fd - (double) dz[i]);
            den += fd * fd;
        }
        double e = sqrt(num) / sqrt(den);
        printf("%-34s dz %.2e (tau %.1f)\n", "NT-Xent", e, (double) tau);
        T_CHECKF(e < 1e-3, "ntxent tau %.1f: %.3e", (double) tau, e);
    }
    { /* two identical pairs, orthogonal to each other: every row finds its partner */
        float z[4 * 2] = {1, 0, 0, 1, 1, 0, 0, 1}, dz[8];
        int hits = 0;
        double l = xf__ntxent(z, 2, 2, 0.5f, dz, &hits);
        double want = log(exp(2.0) + 2.0) - 2.0; /* s = 1/tau for the partner, 0 for the rest */
        T_CHECKF(hits == 4 && fabs(l - want) < 1e-6, "ntxent exact: %.6f vs %.6f, hits %d", l, want,
                 hits);
    }
    return t_done();
}
