/* op_act.c — activations: the element-wise kernels every op's epilogue uses, their
 * derivatives, a double-precision reference, and the act op (an activation on its own).
 * Exponentials and erf are inlined polynomials (vectorised, AVX+FMA clone) rather than libm.
 *
 * It is: the kernels that touch each element once by its value alone. It is not: anything with
 * a window (op_pool.c), weights (op_conv2d.c, op_dwconv2d.c, op_dense.c) or two inputs
 * (op_eltwise.c).
 */
#include "act512.h"
#include "cpu.h"
#include "ops.h"

#include <math.h>
#include <string.h>

/* relu6(x + 3) / 6 as PyTorch computes it */
static inline float hard_sigmoid(float x)
{
    float t = x + 3.0f;
    return (t > 0 ? (t < 6 ? t : 6) : 0) / 6.0f;
}

/* e^x without libm calls, so loops over it vectorise: x = n ln2 + r, |r| <= ln2/2, e^r by a
 * degree-6 polynomial (relative error below 2e-7 over the float range; 0 below -87.3). */
static inline float exp_poly(float x)
{
    x = x < -87.3f ? -87.3f : x > 88.7f ? 88.7f : x;
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* round to nearest, no libm */
    float r = x - n * 0.693145752f - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f +
                                                  r * (0.0416666418f + r * (0.00833340362f +
                                                                            r * 0.00138874701f)))));
    int32_t bits = (int32_t) ((n + 127.0f) * 8388608.0f); /* 2^n's bits: no integer vector ops */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* 1 + erf(x) by Abramowitz & Stegun 7.1.26 (erf's absolute error below 1.5e-7) through
 * exp_poly, formed as erfc(|x|) for x < 0 so the tail suffers no cancellation */
static inline float one_plus_erf(float x)
{
    float a = x < 0 ? -x : x, t = 1.0f / (1.0f + 0.3275911f * a);
    float q = t *
              (0.254829592f +
               t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f)))) *
              exp_poly(-a * a);
    return x < 0 ? q : 2.0f - q;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* with the AVX-512 kernels: act512.h's vectors, so every path computes the same values */
XF_TARGET512 static void act_apply512(float *x, size_t n, xf_act act)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, xf__act512(_mm512_loadu_ps(x + i), act));
    if (i < n) {
        __mmask16 m = (__mmask16) ((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, xf__act512(_mm512_maskz_loadu_ps(m, x + i), act));
    }
}
#endif

XF_CLONES void xf__act_apply(float *restrict x, size_t n, xf_act act)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (act != XF_ACT_NONE && xf__isa() == XF_ISA_AVX512) {
        act_apply512(x, n, act);
        return;
    }
#endif
    switch (act) {
    case XF_ACT_NONE:
        break;
    case XF_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0 ? x[i] : 0;
        break;
    case XF_ACT_RELU6:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0 ? (x[i] < 6 ? x[i] : 6) : 0;
        break;
    case XF_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            x[i] = 1.0f / (1.0f + exp_poly(-x[i]));
        break;
    case XF_ACT_LEAKY:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0 ? x[i] : 0.01f * x[i];
        break;
    case XF_ACT_SILU:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] / (1.0f + exp_poly(-x[i]));
        break;
    case XF_ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++)
            x[i] = hard_sigmoid(x[i]);
        break;
    case XF_ACT_HARDSWISH:
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] * hard_sigmoid(x[i]);
        break;
    case XF_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * x[i] * one_plus_erf(x[i] * (float) M_SQRT1_2);
        break;
    case XF_ACT_COUNT_:
        break;
    }
}

int xf__act_invertible(xf_act a)
{
    return a != XF_ACT_SILU && a != XF_ACT_HARDSWISH && a != XF_ACT_GELU;
}

XF_CLONES void xf__bias_act_rows(float *restrict y, int64_t rows, int64_t c,
                                 const float *restrict bias, xf_act act)
{
    for (int64_t r = 0; r < rows; r++) {
        float *yr = y + r * c;
        if (bias)
            for (int64_t j = 0; j < c; j++)
                yr[j] += bias[j];
        if (act == XF_ACT_RELU6)
            for (int64_t j = 0; j < c; j++)
                yr[j] = yr[j] > 0 ? (yr[j] < 6 ? yr[j] : 6) : 0;
        else if (act == XF_ACT_RELU)
            for (int64_t j = 0; j < c; j++)
                yr[j] = yr[j] > 0 ? yr[j] : 0;
        else if (act != XF_ACT_NONE)
            xf__act_apply(yr, (size_t) c, act);
    }
}

double xf__act_ref(double x, xf_act act)
{
    switch (act) {
    case XF_ACT_NONE:
        return x;
    case XF_ACT_RELU:
        return x > 0 ? x : 0;
    case XF_ACT_RELU6:
        return x > 0 ? (x < 6 ? x : 6) : 0;
    case XF_ACT_SIGMOID:
        return 1 / (1 + exp(-x));
    case XF_ACT_LEAKY:
        return x > 0 ? x : 0.01 * x;
    case XF_ACT_SILU:
        return x / (1 + exp(-x));
    case XF_ACT_HARDSIGMOID:
        return fmin(fmax(x + 3, 0), 6) / 6;
    case XF_ACT_HARDSWISH:
        return x * fmin(fmax(x + 3, 0), 6) / 6;
    case XF_ACT_GELU:
        return 0.5 * x * (1 + erf(x * M_SQRT1_2));
    case XF_ACT_COUNT_:
        break;
    }
    return x;
}

void xf__act_backward(const float *y, float *dy, size_t n, xf_act act)
{
    switch (act) {
    case XF_ACT_NONE:
        break;
    case XF_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            dy[i] = y[i] > 0 ? dy[i] : 0;
        break;
    case XF_ACT_RELU6:
        for (size_t i = 0; i < n; i++)
            dy[i] = y[i] > 0 && y[i] < 6 ? dy[i] : 0;
        break;
    case XF_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dy[i] *= y[i] * (1 - y[i]);
        break;
    case XF_ACT_LEAKY: /* the output has the sign of the input */
        for (size_t i = 0; i < n; i++)
            dy[i] = y[i] > 0 ? dy[i] : 0.01f * dy[i];
        break;
    case XF_ACT_HARDSIGMOID: /* slope 1/6 strictly inside (0, 1) */
        for (size_t i = 0; i < n; i++)
            dy[i] = y[i] > 0 && y[i] < 1 ? dy[i] / 6.0f : 0;
        break;
    case XF_ACT_SILU:
    case XF_ACT_HARDSWISH:
    case XF_ACT_GELU:
    case XF_ACT_COUNT_:
        XF_ASSERT(0); /* callers use xf__act_backward_x */
    }
}

void xf__act_backward_x(const float *x, float *dy, size_t n, xf_act act)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i], d = 1;
        switch (act) {
        case XF_ACT_NONE:
            break;
        case XF_ACT_RELU:
            d = v > 0;
            break;
        case XF_ACT_RELU6:
            d = v > 0 && v < 6;
            break;
        case XF_ACT_LEAKY:
            d = v > 0 ? 1.0f : 0.01f;
            break;
        case XF_ACT_SIGMOID: {
            float s = 1.0f / (1.0f + expf(-v));
            d = s * (1 - s);
            break;
        }
        case XF_ACT_SILU: {
            float s = 1.0f / (1.0f + expf(-v));
            d = s * (1 + v * (1 - s));
            break;
        }
        case XF_ACT_HARDSIGMOID:
            d = v > -3 && v < 3 ? 1.0f / 6.0f : 0;
            break;
        case XF_ACT_HARDSWISH:
            d = v < -3 ? 0 : v > 3 ? 1 : (2 * v + 3) / 6.0f;
            break;
        case XF_ACT_GELU:
            d = 0.5f * (1.0f + erff(v * (float) M_SQRT1_2)) +
                v * expf(-0.5f * v * v) * (float) (0.5 * M_2_SQRTPI * M_SQRT1_2);
            break;
        case XF_ACT_COUNT_:
            break;
        }
        dy[i] *= d;
    }
}

/* ---- the act op: y = act(x); node.c applies the activation, backward undoes it from x ---- */
static void act_forward(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                        int n, float *scratch)
{
    (void) g, (void) scratch;
    memcpy(y, x[0], xf__node_floats(nd, n) * sizeof(float));
}

static void act_forward_ref(const xf_graph *g, const xf_node *nd, const float *const *x, float *y,
                            int n)
{
    (void) g;
    for (size_t i = 0; i < xf__node_floats(nd, n); i++)
        y[i] = (float) xf__act_ref((double) x[0][i], nd->act);
}

static void act_backward(const xf_graph *g, const xf_node *nd, const float *const *x,
                         const float *y, const float *dy, float *const *dx, int n, float *scratch,
                         float *dw, float *db)
{
    (void) g, (void) x, (void) y, (void) scratch, (void) dw, (void) db;
    if (dx[0])
        memcpy(dx[0], dy, xf__node_floats(nd, n) * sizeof(float));
}

const xf_op_def xf__op_act = {
    .name = "act",
    .n_in = 1,
    .attrs = XF_ATTR_ACT,
    .act_input = 1,
    .forward = act_forward,
    .forward_ref = act_forward_ref,
    .backward = act_backward,
};
