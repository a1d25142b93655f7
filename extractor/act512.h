/* act512.h — the activations on 16 floats at once in AVX-512 registers: the same formulas as
 * op_act.c's scalar code (the exp and erf polynomials, the same constants), written with
 * intrinsics so that every kernel that applies an activation (the convolution kernel's store,
 * the depthwise kernel, xf__act_apply on an AVX-512 machine) computes bit-identical values.
 *
 * It is: static inline functions for the files that include it (all compiled for AVX-512 by
 * their target attribute). It is not: a dispatcher (callers check xf__isa()).
 */
#ifndef XF_ACT512_H
#define XF_ACT512_H

#include "graph.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define XF_TARGET512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define XF_INLINE512 static inline __attribute__((always_inline)) XF_TARGET512

/* e^x (neg 0) or e^-x (neg 1, a constant once inlined): x = n ln2 + r, e^r by the degree-6
 * polynomial of op_act.c, times 2^n by scalef (p 2^n exactly, as a multiply by 2^n's bits would
 * give, in one instruction). For e^-x the sign is folded in instead of negating x: with q = -r
 * the reduction is x + n ln2 and each Horner step p r + c is c - p q, and round to nearest is
 * symmetric, so the bits are those of e^(0 - x). The exponent is clamped to [-87.3, 88] so that
 * the result is finite (2^128 would be inf, and the reciprocal below would turn inf into NaN). */
XF_INLINE512 __m512 xf__exp512_sign(__m512 x, const int neg)
{
#define XF_FMA_(a, b, c) (neg ? _mm512_fnmadd_ps(a, b, c) : _mm512_fmadd_ps(a, b, c))
    x = neg ? _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(87.3f)), _mm512_set1_ps(-88.0f))
            : _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.0f));
    __m512 big = _mm512_set1_ps(12582912.0f);
    __m512 n = _mm512_sub_ps(XF_FMA_(x, _mm512_set1_ps(1.44269504f), big), big);
    __m512 r = neg ? _mm512_fmadd_ps(n, _mm512_set1_ps(0.693145752f), x)
                   : _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);
    r = neg ? _mm512_fmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r)
            : _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_set1_ps(0.00138874701f);
    p = XF_FMA_(p, r, _mm512_set1_ps(0.00833340362f));
    p = XF_FMA_(p, r, _mm512_set1_ps(0.0416666418f));
    p = XF_FMA_(p, r, _mm512_set1_ps(0.166666672f));
    p = XF_FMA_(p, r, _mm512_set1_ps(0.5f));
    p = XF_FMA_(p, r, _mm512_set1_ps(1.0f));
    p = XF_FMA_(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
#undef XF_FMA_
}

XF_INLINE512 __m512 xf__exp512(__m512 x)
{
    return xf__exp512_sign(x, 0);
}

XF_INLINE512 __m512 xf__expneg512(__m512 x) /* e^-x */
{
    return xf__exp512_sign(x, 1);
}

/* 1 / y by the hardware estimate and one Newton step (relative error about 1e-7: a division's
 * accuracy at a fraction of its cost) */
XF_INLINE512 __m512 xf__recip512(__m512 y)
{
    __m512 r = _mm512_rcp14_ps(y);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(y, r, _mm512_set1_ps(2.0f)));
}

/* relu6(x + 3) / 6 */
XF_INLINE512 __m512 xf__hsig512(__m512 x)
{
    __m512 t = _mm512_add_ps(x, _mm512_set1_ps(3.0f));
    t = _mm512_min_ps(_mm512_max_ps(t, _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
    return _mm512_div_ps(t, _mm512_set1_ps(6.0f));
}

/* 1 + erf(x): Abramowitz & Stegun 7.1.26 as erfc(|x|) for x < 0 */
XF_INLINE512 __m512 xf__one_plus_erf512(__m512 x)
{
    __m512 a = _mm512_abs_ps(x);
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), a, _mm512_set1_ps(1.0f)));
    __m512 q = _mm512_set1_ps(1.061405429f);
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-1.453152027f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(1.421413741f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-0.284496736f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(0.254829592f));
    q = _mm512_mul_ps(_mm512_mul_ps(q, t),
                      xf__exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a))));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_set1_ps(2.0f), q), q);
}

XF_INLINE512 __m512 xf__act512(__m512 x, xf_act act)
{
    __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case XF_ACT_RELU:
        return _mm512_max_ps(x, zero);
    case XF_ACT_RELU6:
        return _mm512_min_ps(_mm512_max_ps(x, zero), _mm512_set1_ps(6.0f));
    case XF_ACT_SIGMOID:
        return xf__recip512(_mm512_add_ps(one, xf__expneg512(x)));
    case XF_ACT_LEAKY: {
        __mmask16 pos = _mm512_cmp_ps_mask(x, zero, _CMP_GT_OQ);
        return _mm512_mask_blend_ps(pos, _mm512_mul_ps(x, _mm512_set1_ps(0.01f)), x);
    }
    case XF_ACT_SILU:
        return _mm512_mul_ps(x, xf__recip512(_mm512_add_ps(one, xf__expneg512(x))));
    case XF_ACT_HARDSIGMOID:
        return xf__hsig512(x);
    case XF_ACT_HARDSWISH:
        return _mm512_mul_ps(x, xf__hsig512(x));
    case XF_ACT_GELU:
        return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x),
                             xf__one_plus_erf512(_mm512_mul_ps(x, _mm512_set1_ps(0.707106781f))));
    default:
        return x;
    }
}

#endif
#endif /* XF_ACT512_H */
