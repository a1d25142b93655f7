/* dw_kernel.c — the AVX-512 depthwise convolution kernel (multiplier 1; see conv_kernel.h).
 *
 * It is: per output row and 16-channel block, the pixels whose taps all lie inside the image
 * eight at a time (8 accumulators, each tap's weights loaded once for the eight), the border
 * pixels one at a time with their taps checked, four channel blocks at once (four independent
 * sums); bias first, then the taps in (ky, kx) order, so every pixel's sum has the same order
 * wherever it lies; and the channel sums of a row it wrote (a squeeze-excitation gate's pooling,
 * in xf__gap's order). It is not: other multipliers (op_dwconv2d.c).
 */
#include "act512.h"
#include "conv_kernel.h"
#include "ops.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))
#define PX     8 /* interior pixels per step (then 4, then 2) */
#define CBS    4 /* channel blocks of a border pixel computed together */

/* one pixel in nb channel blocks from cb0 (masks m, biases b), its taps checked against the
 * row's edges (rows[ky] NULL: above or below); the blocks' sums are independent chains, so a
 * border pixel does not wait on one FMA after the other */
TARGET INLINE void pixel(const int nb, const xf_node *nd, const float *const *rows, int64_t iw,
                         int64_t c, int64_t ox, int64_t cb0, const __mmask16 *m, const __m512 *b,
                         float *y)
{
    __m512 a[CBS];
#pragma GCC unroll 4
    for (int q = 0; q < nb; q++)
        a[q] = b[q];
    for (int ky = 0; ky < nd->kh; ky++) {
        if (!rows[ky])
            continue;
        for (int kx = 0; kx < nd->kw; kx++) {
            int64_t ix = ox * nd->sw + kx - nd->pl;
            if (ix < 0 || ix >= iw)
                continue;
            const float *xr = rows[ky] + ix * c + cb0;
            const float *wr = nd->weight + (ky * nd->kw + kx) * c + cb0;
#pragma GCC unroll 4
            for (int q = 0; q < nb; q++)
                a[q] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[q], xr + 16 * q),
                                       _mm512_maskz_loadu_ps(m[q], wr + 16 * q), a[q]);
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < nb; q++)
        _mm512_mask_storeu_ps(y + ox * c + cb0 + 16 * q, m[q], xf__act512(a[q], nd->act));
}

/* the pixels [ox0, ox1) one at a time, nb channel blocks together */
TARGET static void border(int nb, const xf_node *nd, const float *const *rows, int64_t iw,
                          int64_t c, int64_t ox0, int64_t ox1, int64_t cb0, const __mmask16 *m,
                          const __m512 *b, float *y)
{
    for (int64_t ox = ox0; ox < ox1; ox++)
        switch (nb) {
        case 4:
            pixel(4, nd, rows, iw, c, ox, cb0, m, b, y);
            break;
        case 3:
            pixel(3, nd, rows, iw, c, ox, cb0, m, b, y);
            break;
        case 2:
            pixel(2, nd, rows, iw, c, ox, cb0, m, b, y);
            break;
        default:
            pixel(1, nd, rows, iw, c, ox, cb0, m, b, y);
        }
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
    int64_t mid = hi - ((hi - lo) & 1); /* the interior in steps of 8, 4 and 2 */
    for (int64_t cb0 = 0; cb0 < c; cb0 += 16 * CBS) {
        int nb = (int) ((c - cb0 + 15) / 16 < CBS ? (c - cb0 + 15) / 16 : CBS);
        __mmask16 ms[CBS];
        __m512 bs[CBS];
        for (int q = 0; q < nb; q++) {
            int64_t left = c - cb0 - 16 * q;
            ms[q] = left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
            bs[q] = nd->bias ? _mm512_maskz_loadu_ps(ms[q], nd->bias + cb0 + 16 * q)
                             : _mm512_setzero_ps();
        }
        border(nb, nd, rows, iw, c, 0, lo, cb0, ms, bs, y);
        for (int q = 0; q < nb; q++) {
            int64_t cb = cb0 + 16 * q, ox = lo;
            __mmask16 m = ms[q];
            __m512 b = bs[q];
            for (; ox + PX <= hi; ox += PX)
                block8(form, nd, rows, c, ox, cb, m, b, y);
            for (; ox + 4 <= hi; ox += 4)
                pixels(4, nd, rows, c, ox, cb, m, b, y);
            for (; ox + 2 <= hi; ox += 2)
                pixels(2, nd, rows, c, ox, cb, m, b, y);
        }
        border(nb, nd, rows, iw, c, mid, ow, cb0, ms, bs, y);
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

TARGET void xf__dw_pool_row(const float *y, int64_t px, int64_t c, float *sum)
{
    for (int64_t cb = 0; cb < c; cb += 16) { /* a channel block's sums stay in a register */
        __mmask16 m = c - cb >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << (c - cb)) - 1);
        __m512 a = _mm512_maskz_loadu_ps(m, sum + cb);
        for (int64_t j = 0; j < px; j++)
            a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, y + j * c + cb));
        _mm512_mask_storeu_ps(sum + cb, m, a);
    }
}
#else
void xf__dw_pool_row(const float *y, int64_t px, int64_t c, float *sum)
{
    (void) y, (void) px, (void) c, (void) sum;
    XF_ASSERT(!"xf__dw_pool_row without AVX-512");
}

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
