/* conv_kernel.c — the AVX-512 implicit-GEMM convolution kernel (see conv_kernel.h).
 *
 * A tile is up to 14 output rows by one 32-column panel: 28 zmm accumulators, two weight loads
 * and 14 broadcasts per input float, no spills. Column tails are masked (the packed weights are
 * zero padded; unpacked ones are read with masked loads), row tails use narrower tiles of the
 * same code. Rows go in blocks of 252; a block goes in segments of products, and in each segment
 * every panel passes over the block (weights in L1, the block's inputs in L2).
 */
#include "conv_kernel.h"
#include "act512.h"
#include "ops.h"

#include <string.h>

#define MR 14             /* rows per tile */
#define KB 256            /* products per segment: a panel's 32 KiB of weights, kept in L1 */
#define MB XF_KCONV_BLOCK /* rows per block: their inputs over a segment (252 KiB) stay in L2 */

size_t xf__kconv_packed_floats(int64_t K, int64_t n)
{
    int64_t panels = (n + XF_KCONV_PANEL - 1) / XF_KCONV_PANEL;
    return (size_t) (panels * XF_KCONV_PANEL * K);
}

void xf__kconv_pack(const float *w, int64_t K, int64_t n, int64_t ldw, float *out)
{
    int64_t panels = (n + XF_KCONV_PANEL - 1) / XF_KCONV_PANEL;
    for (int64_t p = 0; p < panels; p++)
        for (int64_t k = 0; k < K; k++) {
            float *dst = out + (p * K + k) * XF_KCONV_PANEL;
            for (int64_t j = 0; j < XF_KCONV_PANEL; j++) {
                int64_t col = p * XF_KCONV_PANEL + j;
                dst[j] = col < n ? w[k * ldw + col] : 0.0f;
            }
        }
}

void xf__kconv_weights(xf_kconv *k, const float *w, int64_t ldw, const float *pack)
{
    if (pack) {
        k->w = pack, k->ldw = XF_KCONV_PANEL, k->pstride = XF_KCONV_PANEL * k->taps * k->cg;
    } else {
        k->w = w, k->ldw = ldw, k->pstride = XF_KCONV_PANEL;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))

/* the activations cheap enough to apply on the unrolled store of every row; the others are
 * applied in place after it (the same values: a float stored and loaded is exact), so that
 * their code is not repeated for each of the 28 tile shapes times 14 rows */
static int act_on_store(xf_act act)
{
    return act == XF_ACT_NONE || act == XF_ACT_RELU || act == XF_ACT_RELU6;
}

/* acc + bias [+ res], and the activation when it is cheap, for the masked store */
TARGET INLINE __m512 epilogue(__m512 s, const float *bias, const float *res, __mmask16 m,
                              xf_act act)
{
    if (bias)
        s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, bias));
    if (res)
        s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, res));
    if (act == XF_ACT_RELU)
        s = _mm512_max_ps(s, _mm512_setzero_ps());
    else if (act == XF_ACT_RELU6)
        s = _mm512_min_ps(_mm512_max_ps(s, _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
    return s;
}

/* the other activations, in place on rows [0, mr) of the stored tile */
TARGET static void act_rows(int mr, int nv, float *y, int64_t ldy, int64_t col, __mmask16 m0,
                            __mmask16 m1, xf_act act)
{
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++) {
            float *p = y + i * ldy + col + 16 * v;
            __mmask16 m = v ? m1 : m0;
            _mm512_mask_storeu_ps(p, m, xf__act512(_mm512_maskz_loadu_ps(m, p), act));
        }
}

/* Rows [0, mr) of a tile, columns [col, col + 16 * nv) of panel w (masks m0, m1), products
 * k0 <= k < k1 of the flattened (tap, channel) index: the first segment starts from zero, the
 * others from the partial sums stored in y; the last applies the epilogue. */
TARGET INLINE void tile(const int mr, const int nv, const xf_kconv *k, const float *const *xp,
                        const float *w, int64_t col, __mmask16 m0, __mmask16 m1, float *y,
                        int64_t ldy, const float *res, int64_t k0, int64_t k1, int first, int last)
{
    __m512 a0[MR], a1[MR];
#pragma GCC unroll 14
    for (int i = 0; i < mr; i++) {
        a0[i] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, y + i * ldy + col);
        a1[i] = first || nv < 2 ? _mm512_setzero_ps()
                                : _mm512_maskz_loadu_ps(m1, y + i * ldy + col + 16);
    }
    const int64_t taps = k->taps, cg = k->cg, ldw = k->ldw;
    for (int64_t t = k0 / cg, c0 = k0 % cg; t < taps && t * cg < k1; t++, c0 = 0) {
        const float *p[MR];
#pragma GCC unroll 14
        for (int i = 0; i < mr; i++)
            p[i] = xp[i * taps + t];
        int64_t c1 = k1 - t * cg < cg ? k1 - t * cg : cg;
        const float *wt = w + (t * cg + c0) * ldw;
        for (int64_t c = c0; c < c1; c++, wt += ldw) {
            _mm_prefetch((const char *) (wt + 16 * ldw), _MM_HINT_T0);
            _mm_prefetch((const char *) (wt + 16 * ldw + 16), _MM_HINT_T0);
            __m512 w0 = _mm512_maskz_loadu_ps(m0, wt);
            __m512 w1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, wt + 16) : w0;
#pragma GCC unroll 14
            for (int i = 0; i < mr; i++) {
                __m512 b = _mm512_set1_ps(p[i][c]);
                a0[i] = _mm512_fmadd_ps(b, w0, a0[i]);
                if (nv > 1)
                    a1[i] = _mm512_fmadd_ps(b, w1, a1[i]);
            }
        }
    }
    const float *bias = k->bias ? k->bias + col : NULL;
#pragma GCC unroll 14
    for (int i = 0; i < mr; i++) {
        float *yr = y + i * ldy + col;
        const float *rr = res ? res + i * k->ldres + col : NULL;
        if (!last) { /* a partial sum, exact: the next segment continues the same chain */
            _mm512_mask_storeu_ps(yr, m0, a0[i]);
            if (nv > 1)
                _mm512_mask_storeu_ps(yr + 16, m1, a1[i]);
            continue;
        }
        _mm512_mask_storeu_ps(yr, m0, epilogue(a0[i], bias, rr, m0, k->act));
        if (nv > 1)
            _mm512_mask_storeu_ps(
                yr + 16, m1,
                epilogue(a1[i], bias ? bias + 16 : NULL, rr ? rr + 16 : NULL, m1, k->act));
    }
    if (last && !act_on_store(k->act))
        act_rows(mr, nv, y, ldy, col, m0, m1, k->act);
}

#define TILE_CASE(r)                                                             \
    case r:                                                                      \
        if (nv > 1)                                                              \
            tile(r, 2, k, xp, w, col, m0, m1, y, ldy, res, k0, k1, first, last); \
        else                                                                     \
            tile(r, 1, k, xp, w, col, m0, m1, y, ldy, res, k0, k1, first, last); \
        break;

TARGET static void tile_any(int mr, int nv, const xf_kconv *k, const float *const *xp,
                            const float *w, int64_t col, __mmask16 m0, __mmask16 m1, float *y,
                            int64_t ldy, const float *res, int64_t k0, int64_t k1, int first,
                            int last)
{
    switch (mr) {
        TILE_CASE(1)
        TILE_CASE(2)
        TILE_CASE(3)
        TILE_CASE(4)
        TILE_CASE(5)
        TILE_CASE(6)
        TILE_CASE(7)
        TILE_CASE(8)
        TILE_CASE(9)
        TILE_CASE(10)
        TILE_CASE(11)
        TILE_CASE(12)
        TILE_CASE(13)
        TILE_CASE(14)
    default:
        break;
    }
}

static __mmask16 mask_of(int64_t cols)
{
    return cols >= 16 ? (__mmask16) 0xFFFF : cols <= 0 ? 0 : (__mmask16) ((1u << cols) - 1);
}

/* Blocks of MB rows; in each, segments of KB products; in each, every panel passes over the
 * block's tiles (the panel's segment of weights stays in L1, the block's inputs in L2), so a
 * weight is fetched from memory once per block, not once per tile. */
TARGET void xf__kconv_rows(const xf_kconv *k, int64_t m, const float *const *xp, float *y,
                           int64_t ldy)
{
    int64_t panels = (k->n + XF_KCONV_PANEL - 1) / XF_KCONV_PANEL, K = k->taps * k->cg;
    for (int64_t r0 = 0; r0 < m; r0 += MB) {
        int64_t mb = m - r0 < MB ? m - r0 : MB;
        const float *const *xb = xp + r0 * k->taps;
        float *yb = y + r0 * ldy;
        const float *rb = k->res ? k->res + r0 * k->ldres : NULL;
        for (int64_t k0 = 0, k1; k0 < K; k0 = k1) {
            k1 = K - k0 < KB + KB / 2 ? K : k0 + KB;
            for (int64_t p = 0; p < panels; p++) {
                int64_t col = p * XF_KCONV_PANEL, left = k->n - col;
                int nv = left > 16 ? 2 : 1;
                __mmask16 m0 = mask_of(left), m1 = mask_of(left - 16);
                const float *w = k->w + p * k->pstride;
                for (int64_t r = 0; r < mb; r += MR) {
                    int mr = (int) (mb - r < MR ? mb - r : MR);
                    tile_any(mr, nv, k, xb + r * k->taps, w, col, m0, m1, yb + r * ldy, ldy,
                             rb ? rb + r * k->ldres : NULL, k0, k1, k0 == 0, k1 == K);
                }
            }
        }
    }
}
#else
void xf__kconv_rows(const xf_kconv *k, int64_t m, const float *const *xp, float *y, int64_t ldy)
{
    (void) k, (void) m, (void) xp, (void) y, (void) ldy;
    XF_ASSERT(!"xf__kconv_rows without AVX-512");
}
#endif
