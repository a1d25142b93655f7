/* dw_kernel.c — the AVX-512 depthwise convolution kernel (multiplier 1; see conv_kernel.h).
 *
 * It is: per output row and 16-channel block, the pixels whose taps all lie inside the image
 * eight at a time (8 accumulators, each tap's weights loaded once for the eight), the border
 * pixels one at a time with their taps checked; bias first, then the taps in (ky, kx) order, so
 * every pixel's sum has the same order wherever it lies. It is not: other multipliers
 * (op_dwconv2d.c).
 */
#include "act512.h"
#include "conv_kernel.h"
#include "ops.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))
#define PX     8 /* interior pixels per step (then 4, then one at a time) */

/* one pixel, its taps checked against the row's edges (rows[ky] NULL: above or below) */
TARGET INLINE void pixel(const xf_node *nd, const float *const *rows, int64_t iw, int64_t c,
                         int64_t ox, int64_t cb, __mmask16 m, __m512 b, float *y)
{
    __m512 a = b;
    for (int ky = 0; ky < nd->kh; ky++) {
        if (!rows[ky])
            continue;
        for (int kx = 0; kx < nd->kw; kx++) {
            int64_t ix = ox * nd->sw + kx - nd->pl;
            if (ix < 0 || ix >= iw)
                continue;
            __m512 w = _mm512_maskz_loadu_ps(m, nd->weight + (ky * nd->kw + kx) * c + cb);
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, rows[ky] + ix * c + cb), w, a);
        }
    }
    _mm512_mask_storeu_ps(y + ox * c + cb, m, xf__act512(a, nd->act));
}

/* px interior pixels from ox (every tap inside horizontally) */
TARGET INLINE void pixels(const int px, const xf_node *nd, const float *const *rows, int64_t c,
                          int64_t ox, int64_t cb, __mmask16 m, __m512 b, float *y)
{
    __m512 a[PX];
    for (int j = 0; j < px; j++)
        a[j] = b;
    const int64_t step = nd->sw * c;
    for (int ky = 0; ky < nd->kh; ky++) {
        if (!rows[ky])
            continue;
        const float *xr = rows[ky] + (ox * nd->sw - nd->pl) * c + cb;
        const float *wr = nd->weight + ky * nd->kw * c + cb;
        for (int kx = 0; kx < nd->kw; kx++, xr += c, wr += c) {
            __m512 w = _mm512_maskz_loadu_ps(m, wr);
#pragma GCC unroll 8
            for (int j = 0; j < px; j++)
                a[j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xr + j * step), w, a[j]);
        }
    }
    float *yp = y + ox * c + cb;
#pragma GCC unroll 8
    for (int j = 0; j < px; j++)
        _mm512_mask_storeu_ps(yp + j * c, m, xf__act512(a[j], nd->act));
}

/* The same for the common windows (kw 3 or 5, stride 1 or 2, compile-time): each input vector
 * of a kernel row is loaded once and used by every output pixel it falls under. */
TARGET INLINE void pixels_reuse(const int px, const int sw, const int kw, const xf_node *nd,
                                const float *const *rows, int64_t c, int64_t ox, int64_t cb,
                                __mmask16 m, __m512 b, float *y)
{
    enum { NIN = 2 * PX + 5 - 2 };
    __m512 a[PX], in[NIN];
    for (int j = 0; j < px; j++)
        a[j] = b;
    const int nin = (px - 1) * sw + kw;
    for (int ky = 0; ky < nd->kh; ky++) {
        if (!rows[ky])
            continue;
        const float *xr = rows[ky] + (ox * sw - nd->pl) * c + cb;
        const float *wr = nd->weight + ky * kw * c + cb;
#pragma GCC unroll 19
        for (int q = 0; q < nin; q++)
            in[q] = _mm512_maskz_loadu_ps(m, xr + q * c);
#pragma GCC unroll 5
        for (int kx = 0; kx < kw; kx++) {
            __m512 w = _mm512_maskz_loadu_ps(m, wr + kx * c);
#pragma GCC unroll 8
            for (int j = 0; j < px; j++)
                a[j] = _mm512_fmadd_ps(in[j * sw + kx], w, a[j]);
        }
    }
    float *yp = y + ox * c + cb;
#pragma GCC unroll 8
    for (int j = 0; j < px; j++)
        _mm512_mask_storeu_ps(yp + j * c, m, xf__act512(a[j], nd->act));
}

#define REUSE(px, sw, kw) pixels_reuse(px, sw, kw, nd, rows, c, ox, cb, m, b, y)

/* PX interior pixels, the reuse form when the window is a common one */
TARGET INLINE void block8(int form, const xf_node *nd, const float *const *rows, int64_t c,
                          int64_t ox, int64_t cb, __mmask16 m, __m512 b, float *y)
{
    switch (form) {
    case 1:
        REUSE(PX, 1, 3);
        break;
    case 2:
        REUSE(PX, 2, 3);
        break;
    case 3:
        REUSE(PX, 1, 5);
        break;
    case 4:
        REUSE(PX, 2, 5);
        break;
    default:
        pixels(PX, nd, rows, c, ox, cb, m, b, y);
    }
}

TARGET void xf__dw_row(const xf_node *nd, const float *const *rows, int64_t iw, int64_t c, float *y)
{
    int form = nd->kw == 3   ? (nd->sw == 1   ? 1
                                : nd->sw == 2 ? 2
                                              : 0)
               : nd->kw == 5 ? (nd->sw == 1   ? 3
                                : nd->sw == 2 ? 4
                                              : 0)
                             : 0;
    int64_t ow = nd->w;
    /* interior columns: ox * sw - pl >= 0 and ox * sw - pl + kw <= iw */
    int64_t lo = (nd->pl + nd->sw - 1) / nd->sw, hi = (iw - nd->kw + nd->pl) / nd->sw + 1;
    lo = lo < ow ? lo : ow;
    hi = hi < lo ? lo : hi > ow ? ow : hi;
    for (int64_t cb = 0; cb < c; cb += 16) {
        int64_t left = c - cb;
        __mmask16 m = left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
        __m512 b = nd->bias ? _mm512_maskz_loadu_ps(m, nd->bias + cb) : _mm512_setzero_ps();
        int64_t ox = 0;
        for (; ox < lo; ox++)
            pixel(nd, rows, iw, c, ox, cb, m, b, y);
        for (; ox + PX <= hi; ox += PX)
            block8(form, nd, rows, c, ox, cb, m, b, y);
        for (; ox + 4 <= hi; ox += 4)
            pixels(4, nd, rows, c, ox, cb, m, b, y);
        for (; ox + 2 <= hi; ox += 2)
            pixels(2, nd, rows, c, ox, cb, m, b, y);
        for (; ox < ow; ox++)
            pixel(nd, rows, iw, c, ox, cb, m, b, y);
    }
}

void xf__dw_rows(const xf_node *nd, const float *x, int64_t ih, int64_t iw, int64_t c, float *y,
                 int64_t oy0, int64_t oy1)
{
    const float *rows[XF_DW_MAX_KH];
    XF_ASSERT(nd->kh <= XF_DW_MAX_KH);
    for (int64_t oy = oy0; oy < oy1; oy++) {
        for (int ky = 0; ky < nd->kh; ky++) {
            int64_t iy = oy * nd->sh + ky - nd->pt;
            rows[ky] = iy < 0 || iy >= ih ? NULL : x + iy * iw * c;
        }
        xf__dw_row(nd, rows, iw, c, y + oy * nd->w * c);
    }
}
#else
void xf__dw_row(const xf_node *nd, const float *const *rows, int64_t iw, int64_t c, float *y)
{
    (void) nd, (void) rows, (void) iw, (void) c, (void) y;
    XF_ASSERT(!"xf__dw_row without AVX-512");
}

void xf__dw_rows(const xf_node *nd, const float *x, int64_t ih, int64_t iw, int64_t c, float *y,
                 int64_t oy0, int64_t oy1)
{
    (void) nd, (void) x, (void) ih, (void) iw, (void) c, (void) y, (void) oy0, (void) oy1;
    XF_ASSERT(!"xf__dw_rows without AVX-512");
}
#endif
