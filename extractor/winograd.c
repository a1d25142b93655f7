/* winograd.c — Winograd convolution F(2x2, 3x3) or F(4x4, 3x3) on the AVX-512 kernel (see
 * winograd.h).
 *
 * For a block of tiles (across the images of a batch, sized so the transformed inputs and
 * products stay in L2): V_i = (B^T d B)_i for each a x a input tile d and channel (i: the a^2
 * cells of the transform, a = 4 or 6), then M_i = V_i U_i for each i (tiles x cin times
 * cin x cout, on xf__kconv_rows), then each output tile Y = A^T M A, plus bias and activation,
 * stored where it lies inside the image. Every sum is in a fixed order per tile, so a tile's
 * result does not depend on the block or batch it is computed in.
 */
#include "winograd.h"
#include "act512.h"
#include "conv_kernel.h"
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

/* transformed inputs + products of a block: 256 KiB, or 2 MiB when the transformed weights
 * outgrow half of L2 (each block reads all of them: fewer, larger blocks read them fewer times) */
#define BLOCK_FLOATS     (64 * 1024)
#define BIG_BLOCK_FLOATS (512 * 1024)
#define BIG_WEIGHTS      (1 << 20)

int xf__wino_choice(const xf_node *nd, int64_t cin)
{
    static int chosen = -1; /* F(2x2, 3x3), or what $XF_WINOGRAD says: 4, or 0 (none) */
    int tile = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (tile < 0) { /* models opened in several threads all read the same value */
        const char *e = getenv("XF_WINOGRAD");
        tile = !e ? 2 : strcmp(e, "4") == 0 ? 4 : strcmp(e, "0") == 0 ? 0 : 2;
        __atomic_store_n(&chosen, tile, __ATOMIC_RELAXED);
    }
    int fits = xf__isa() == XF_ISA_AVX512 && nd->op == XF_OP_CONV2D && nd->kh == 3 && nd->kw == 3 &&
               nd->sh == 1 && nd->sw == 1 && nd->dil_h == 1 && nd->dil_w == 1 && nd->groups == 1 &&
               nd->pt <= 2 && nd->pb <= 2 && nd->pl <= 2 && nd->pr <= 2 && cin >= 16 &&
               nd->cout >= 16 && nd->h >= 8 && nd->w >= 8;
    return fits ? tile : 0;
}

size_t xf__wino_packed_floats(int tile, int64_t cin, int64_t cout)
{
    return (size_t) ((tile + 2) * (tile + 2)) * xf__kconv_packed_floats(cin, cout);
}

void xf__wino_pack(const float *w, int64_t cin, int64_t cout, int tile, float *out)
{
    static const double G4[6][3] = {{0.25, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    int a = tile + 2;
    const double(*G)[3] = a == 6 ? G4 : G2;
    size_t per = xf__kconv_packed_floats(cin, cout);
    memset(out, 0, (size_t) (a * a) * per * sizeof(float));
    for (int64_t c = 0; c < cin; c++)
        for (int64_t o = 0; o < cout; o++) {
            double g[3][3], t[6][3]; /* U = G g G^T, by t = G g first */
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    g[ky][kx] = (double) w[((ky * 3 + kx) * cin + c) * cout + o];
            for (int i = 0; i < a; i++)
                for (int q = 0; q < 3; q++)
                    t[i][q] = G[i][0] * g[0][q] + G[i][1] * g[1][q] + G[i][2] * g[2][q];
            size_t at = (size_t) ((o / XF_KCONV_PANEL) * XF_KCONV_PANEL * cin + c * XF_KCONV_PANEL +
                                  o % XF_KCONV_PANEL);
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++)
                    out[(size_t) (i * a + j) * per + at] =
                        (float) (t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
        }
}

/* most tiles per block: the transformed inputs (a^2 x cin) and products (a^2 x cout) of each */
static int64_t block_tiles(int a, int64_t cin, int64_t cout)
{
    int64_t floats = a * a * cin * cout * 4 > BIG_WEIGHTS ? BIG_BLOCK_FLOATS : BLOCK_FLOATS;
    int64_t t = floats / (a * a * (cin + cout));
    return t < 14 ? 14 : t / 14 * 14;
}

size_t xf__wino_scratch(int tile, int64_t cin, int64_t cout)
{
    int a = tile + 2;
    int64_t T = block_tiles(a, cin, cout);
    return (size_t) (a * a * T * (cin + cout) + 2 * T + 32);
}

#if defined(__x86_64__) && defined(__GNUC__)

/* r = B^T d for a column (or row) of six vectors */
XF_INLINE512 void bt6(const __m512 *d, __m512 *r)
{
    __m512 four = _mm512_set1_ps(4.0f), two = _mm512_set1_ps(2.0f);
    __m512 m5 = _mm512_set1_ps(-5.0f), m4 = _mm512_set1_ps(-4.0f);
    r[0] = _mm512_fmadd_ps(four, d[0], _mm512_fmadd_ps(m5, d[2], d[4]));
    r[1] = _mm512_fmadd_ps(m4, _mm512_add_ps(d[1], d[2]), _mm512_add_ps(d[3], d[4]));
    r[2] = _mm512_fmadd_ps(four, _mm512_sub_ps(d[1], d[2]), _mm512_sub_ps(d[4], d[3]));
    r[3] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[4], d[2]));
    r[4] = _mm512_fmadd_ps(two, _mm512_sub_ps(d[1], d[3]), _mm512_sub_ps(d[4], d[2]));
    r[5] = _mm512_fmadd_ps(four, d[1], _mm512_fmadd_ps(m5, d[3], d[5]));
}

/* o = A^T m for a column (or row) of six vectors */
XF_INLINE512 void at6(const __m512 *m, __m512 *o)
{
    __m512 p12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    __m512 p34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], p12), p34);
    o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
    o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), p34, p12);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m[5]);
}

/* F(2x2, 3x3): r = B^T d and o = A^T m for four vectors */
XF_INLINE512 void bt4(const __m512 *d, __m512 *r)
{
    r[0] = _mm512_sub_ps(d[0], d[2]);
    r[1] = _mm512_add_ps(d[1], d[2]);
    r[2] = _mm512_sub_ps(d[2], d[1]);
    r[3] = _mm512_sub_ps(d[1], d[3]);
}

XF_INLINE512 void at4(const __m512 *m, __m512 *o)
{
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
    o[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

static __mmask16 mask_of(int64_t left)
{
    return left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1);
}

typedef struct {
    const xf_node *nd;
    int64_t ih, iw, c, k, tx, tpi, T; /* tiles across, tiles per image, tiles per block */
} wino;

/* the transforms for a tile of m outputs (a = m + 2 inputs) a side: A = 6 (F(4x4, 3x3)) or 4 */

/* V for tiles [t0, t0 + nt) of the batch: V[(i * T + t) * c + ch] */
XF_INLINE512 void input_transform(const int A, const wino *w, const float *x, int64_t t0,
                                  int64_t nt, float *V)
{
    const xf_node *nd = w->nd;
    for (int64_t t = 0; t < nt; t++) {
        int64_t id = t0 + t, b = id / w->tpi, ty = id % w->tpi / w->tx, tx = id % w->tpi % w->tx;
        int64_t iy0 = ty * (A - 2) - nd->pt, ix0 = tx * (A - 2) - nd->pl;
        const float *xb = x + (size_t) b * (size_t) (w->ih * w->iw * w->c);
        const float *rowp[6];
        int colok[6];
        for (int r = 0; r < A; r++) {
            int64_t iy = iy0 + r, ix = ix0 + r;
            rowp[r] = iy >= 0 && iy < w->ih ? xb + iy * w->iw * w->c : NULL;
            colok[r] = ix >= 0 && ix < w->iw;
        }
        for (int64_t c0 = 0; c0 < w->c; c0 += 16) {
            __mmask16 m = mask_of(w->c - c0);
            __m512 d[6][6], tcol[6][6];
            for (int r = 0; r < A; r++)
                for (int s = 0; s < A; s++)
                    d[s][r] = rowp[r] && colok[s]
                                  ? _mm512_maskz_loadu_ps(m, rowp[r] + (ix0 + s) * w->c + c0)
                                  : _mm512_setzero_ps();
            for (int s = 0; s < A; s++) /* B^T d, column s (d[s] holds column s) */
                A == 6 ? bt6(d[s], tcol[s]) : bt4(d[s], tcol[s]);
            for (int r = 0; r < A; r++) { /* then each row of it times B */
                __m512 row[6], v[6];
                for (int s = 0; s < A; s++)
                    row[s] = tcol[s][r];
                A == 6 ? bt6(row, v) : bt4(row, v);
                for (int s = 0; s < A; s++)
                    _mm512_mask_storeu_ps(V + ((r * A + s) * w->T + t) * w->c + c0, m, v[s]);
            }
        }
    }
}

/* y for tiles [t0, t0 + nt) from M[(i * T + t) * k + ch]: A^T M A + bias, the activation */
XF_INLINE512 void output_transform(const int A, const wino *w, const float *M, int64_t t0,
                                   int64_t nt, float *y)
{
    const xf_node *nd = w->nd;
    int64_t oh = nd->h, ow = nd->w, K = w->k;
    for (int64_t t = 0; t < nt; t++) {
        int64_t id = t0 + t, b = id / w->tpi, ty = id % w->tpi / w->tx, tx = id % w->tpi % w->tx;
        int64_t oy0 = ty * (A - 2), ox0 = tx * (A - 2);
        int rows = (int) (oh - oy0 < A - 2 ? oh - oy0 : A - 2);
        int cols = (int) (ow - ox0 < A - 2 ? ow - ox0 : A - 2);
        float *yb = y + (size_t) b * (size_t) (oh * ow * K);
        for (int64_t k0 = 0; k0 < K; k0 += 16) {
            __mmask16 m = mask_of(K - k0);
            __m512 bias = nd->bias ? _mm512_maskz_loadu_ps(m, nd->bias + k0) : _mm512_setzero_ps();
            __m512 col[6][6], s[6][4];
            for (int i = 0; i < A * A; i++) /* col[j][r]: cell (r, j), column j */
                col[i % A][i / A] = _mm512_maskz_loadu_ps(m, M + (i * w->T + t) * K + k0);
            for (int j = 0; j < A; j++) /* A^T M, column j */
                A == 6 ? at6(col[j], s[j]) : at4(col[j], s[j]);
            for (int r = 0; r < rows; r++) {
                __m512 row[6], o[4];
                for (int j = 0; j < A; j++)
                    row[j] = s[j][r];
                A == 6 ? at6(row, o) : at4(row, o);
                float *yr = yb + ((oy0 + r) * ow + ox0) * K + k0;
                for (int c = 0; c < cols; c++)
                    _mm512_mask_storeu_ps(yr + c * K, m,
                                          xf__act512(_mm512_add_ps(o[c], bias), nd->act));
            }
        }
    }
}

XF_TARGET512 static void tiles6(const wino *w, const float *x, int64_t t0, int64_t nt, float *V)
{
    input_transform(6, w, x, t0, nt, V);
}

XF_TARGET512 static void tiles4(const wino *w, const float *x, int64_t t0, int64_t nt, float *V)
{
    input_transform(4, w, x, t0, nt, V);
}

XF_TARGET512 static void out6(const wino *w, const float *M, int64_t t0, int64_t nt, float *y)
{
    output_transform(6, w, M, t0, nt, y);
}

XF_TARGET512 static void out4(const wino *w, const float *M, int64_t t0, int64_t nt, float *y)
{
    output_transform(4, w, M, t0, nt, y);
}

XF_TARGET512 void xf__wino_conv(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw,
                                int64_t cin, float *y, float *scratch)
{
    int m = nd->wino_tile, a = m + 2;
    int64_t K = nd->cout, tx = (nd->w + m - 1) / m, ty = (nd->h + m - 1) / m;
    wino w = {nd, ih, iw, cin, K, tx, tx * ty, block_tiles(a, cin, K)};
    float *V = scratch, *M = V + a * a * w.T * cin;
    const float **xp = (const float **) (void *) (M + a * a * w.T * K);
    size_t per = xf__kconv_packed_floats(cin, K);
    int64_t total = (int64_t) n * w.tpi, blocks = (total + w.T - 1) / w.T;
    int64_t even =
        (total + blocks - 1) / blocks; /* blocks of even size: weights read fewer times */
    for (int64_t t0 = 0; t0 < total; t0 += even) {
        int64_t nt = total - t0 < even ? total - t0 : even;
        (a == 6 ? tiles6 : tiles4)(&w, x, t0, nt, V);
        for (int i = 0; i < a * a; i++) {
            for (int64_t t = 0; t < nt; t++)
                xp[t] = V + (i * w.T + t) * cin;
            xf_kconv k = {.taps = 1, .cg = cin, .n = K, .act = XF_ACT_NONE};
            xf__kconv_weights(&k, NULL, 0, nd->wino + (size_t) i * per);
            xf__kconv_rows(&k, nt, (const float *const *) xp, M + i * w.T * K, K);
        }
        (a == 6 ? out6 : out4)(&w, M, t0, nt, y);
    }
}
#else
void xf__wino_conv(const xf_node *nd, const float *x, int n, int64_t ih, int64_t iw, int64_t cin,
                   float *y, float *scratch)
{
    (void) nd, (void) x, (void) n, (void) ih, (void) iw, (void) cin, (void) y, (void) scratch;
    XF_ASSERT(!"xf__wino_conv without AVX-512");
}
#endif
