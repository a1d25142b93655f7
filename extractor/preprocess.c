/* preprocess.c — decoded RGB -> the network's input tensor.
 *
 * It is: EXIF orientation, resize of the shorter side to size/crop_pct with antialiased
 * bilinear (Pillow's BILINEAR: triangle filter widened by the downscale factor, i.e. area-like
 * averaging when shrinking), center crop (only the cropped output pixels are computed), or for
 * training a seeded random resized crop + flip (the strong view's colour operations are
 * augment.c's), and (v/255 - mean) / std. It is not: decoding (image.c).
 */
#include "image.h"
#include "io.h"

#include <math.h>
#include <string.h>

/* Source pixel of displayed (x, y) for EXIF orientation o; stored image is w x h. */
static void orient_src(int o, int w, int h, int x, int y, int *sx, int *sy)
{
    switch (o) {
    case 2:
        *sx = w - 1 - x, *sy = y;
        break;
    case 3:
        *sx = w - 1 - x, *sy = h - 1 - y;
        break;
    case 4:
        *sx = x, *sy = h - 1 - y;
        break;
    case 5:
        *sx = y, *sy = x;
        break;
    case 6:
        *sx = y, *sy = h - 1 - x;
        break;
    case 7:
        *sx = w - 1 - y, *sy = h - 1 - x;
        break;
    case 8:
        *sx = w - 1 - y, *sy = x;
        break;
    default:
        *sx = x, *sy = y;
        break;
    }
}

xf_status xf__rgb_orient(xf_rgb *im, xf_error *err)
{
    int o = im->orientation;
    if (o <= 1 || o > 8)
        return XF_OK;
    int dw = o >= 5 ? im->h : im->w, dh = o >= 5 ? im->w : im->h;
    uint8_t *px = malloc((size_t) dw * (size_t) dh * 3 + 1);
    if (!px)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory rotating image");
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            int sx, sy;
            orient_src(o, im->w, im->h, x, y, &sx, &sy);
            memcpy(px + ((size_t) y * dw + x) * 3, im->px + ((size_t) sy * im->w + sx) * 3, 3);
        }
    free(im->px);
    im->px = px;
    im->w = dw;
    im->h = dh;
    im->orientation = 1;
    return XF_OK;
}

typedef struct {
    int *start, *len; /* per output index: first source index and tap count */
    float *w;         /* per output index: ksize weights */
    int ksize;
} coeffs;

static void coeffs_free(coeffs *c)
{
    free(c->start);
    free(c->len);
    free(c->w);
}

/* Pillow's filters: the triangle (bilinear) and Keys' cubic with a = -0.5 (bicubic) */
static double filter(double t, int cubic)
{
    t = fabs(t);
    if (!cubic)
        return t < 1 ? 1 - t : 0;
    const double a = -0.5;
    if (t < 1)
        return ((a + 2) * t - (a + 3)) * t * t + 1;
    return t < 2 ? (((t - 5) * t + 8) * t - 4) * a : 0;
}

/* Output indices [0, n) of a resize by `scale` input pixels per output pixel, output pixel i
 * centred at (a + i + 0.5) * scale (Pillow's rule; a = first output index of a crop, or the
 * crop box origin / scale); the filter's support widened by the downscale factor. */
static int coeffs_make(coeffs *c, int in_size, double scale, double a, int n, int cubic)
{
    double fscale = scale > 1 ? scale : 1;
    double support = (cubic ? 2.0 : 1.0) * fscale;
    c->ksize = (int) ceil(support) * 2 + 1;
    c->start = malloc((size_t) n * sizeof(int));
    c->len = malloc((size_t) n * sizeof(int));
    c->w = calloc((size_t) n * (size_t) c->ksize, sizeof(float));
    if (!c->start || !c->len || !c->w)
        return 0;
    for (int i = 0; i < n; i++) {
        double center = (a + i + 0.5) * scale;
        int xmin = (int) (center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int) (center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        if (xmax > c->ksize)
            xmax = c->ksize;
        double ww = 0, k[64 * 2 + 1];
        double *kk = c->ksize <= 129 ? k : NULL;
        float *wi = c->w + (size_t) i * c->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = filter((x + xmin - center + 0.5) / fscale, cubic);
            if (kk)
                kk[x] = v;
            wi[x] = (float) v;
            ww += v;
        }
        for (int x = 0; x < xmax; x++)
            wi[x] = ww != 0 ? (float) ((kk ? kk[x] : (double) wi[x]) / ww) : 0.0f;
        c->start[i] = xmin;
        c->len[i] = xmax;
    }
    return 1;
}

static float clip255(float v)
{
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* decoded pixels, read only: rows of stride bytes, (h, w, 3) RGB */
typedef struct {
    const uint8_t *px;
    int w, h;
    size_t stride;
} pixels;

/* Resizes (shorter side -> round(size / crop_pct)), crops the centre, normalises. */
static xf_status resample(const pixels *im, const xf_preproc *pp, float *out, xf_error *err)
{
    int th = pp->size_h, tw = pp->size_w;
    /* torchvision rounds with Python's round(): half to even, i.e. nearbyint() */
    int target = (int) nearbyint((double) (th > tw ? th : tw) / (double) pp->crop_pct);
    int rw, rh;
    if (im->w <= im->h) {
        rw = target;
        rh = (int) ((int64_t) target * im->h / im->w);
    } else {
        rh = target;
        rw = (int) ((int64_t) target * im->w / im->h);
    }
    if (rw < tw)
        rw = tw;
    if (rh < th)
        rh = th;
    int top = (int) nearbyint((rh - th) / 2.0), left = (int) nearbyint((rw - tw) / 2.0);
    double sx = (double) im->w / rw, sy = (double) im->h / rh, ax = left, ay = top;
    int flip = 0;
    if (pp->augment) { /* random resized crop of the image, then a coin for the flip */
        uint64_t st = pp->aug_seed;
        double area = (double) im->w * im->h, cw = im->w, ch = im->h, x0 = 0, y0 = 0;
        double smin = pp->augment == XF_AUG_WEAK ? 0.6 : 0.08;
        for (int tries = 0; tries < 10; tries++) {
            double s =
                smin + (1 - smin) * ((double) (xf__splitmix64(&st) >> 11) / 9007199254740992.0);
            double lr = log(0.75) + (log(4.0 / 3) - log(0.75)) *
                                        ((double) (xf__splitmix64(&st) >> 11) / 9007199254740992.0);
            double w = nearbyint(sqrt(area * s * exp(lr))), h = nearbyint(sqrt(area * s / exp(lr)));
            if (w >= 1 && h >= 1 && w <= im->w && h <= im->h) {
                cw = w, ch = h;
                x0 = (double) (xf__splitmix64(&st) % (uint64_t) (im->w - (int) w + 1));
                y0 = (double) (xf__splitmix64(&st) % (uint64_t) (im->h - (int) h + 1));
                break;
            }
        }
        sx = cw / tw, sy = ch / th, ax = x0 / sx, ay = y0 / sy;
        flip = (xf__splitmix64(&st) & 1) != 0;
    }
    coeffs cx = {0}, cy = {0};
    float *tmp = NULL;
    xf_status s = XF_OK;
    int cubic = pp->interp == XF_INTERP_BICUBIC;
    if (!coeffs_make(&cx, im->w, sx, ax, tw, cubic) ||
        !coeffs_make(&cy, im->h, sy, ay, th, cubic) ||
        !(tmp = malloc((size_t) (im->h > th ? im->h : th) * (size_t) tw * 3 * sizeof(float)))) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory resizing");
        goto done;
    }
    /* horizontal pass over the rows the vertical pass will read */
    int ymin = cy.start[0], ymax = cy.start[th - 1] + cy.len[th - 1];
    for (int y = ymin; y < ymax; y++) {
        const uint8_t *row = im->px + (size_t) y * im->stride;
        float *trow = tmp + (size_t) y * tw * 3;
        for (int x = 0; x < tw; x++) {
            const float *w = cx.w + (size_t) x * cx.ksize;
            const uint8_t *p = row + (size_t) cx.start[x] * 3;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < cx.len[x]; k++) {
                r += w[k] * p[3 * k];
                g += w[k] * p[3 * k + 1];
                b += w[k] * p[3 * k + 2];
            }
            int ox = flip ? tw - 1 - x : x;
            if (cubic) /* its negative lobes overshoot: clipped to 0..255 as Pillow does */
                r = clip255(r), g = clip255(g), b = clip255(b);
            trow[3 * ox] = r, trow[3 * ox + 1] = g, trow[3 * ox + 2] = b;
        }
    }
    float scale[3], shift[3];
    int strong = pp->augment == XF_AUG_STRONG; /* normalised after the colour operations */
    for (int c = 0; c < 3; c++) {
        scale[c] = 1.0f / (255.0f * pp->std[c]);
        shift[c] = -pp->mean[c] / pp->std[c];
    }
    for (int y = 0; y < th; y++) {
        const float *w = cy.w + (size_t) y * cy.ksize;
        float *orow = out + (size_t) y * tw * 3;
        for (int x = 0; x < tw * 3; x++) {
            float v = 0;
            for (int k = 0; k < cy.len[y]; k++)
                v += w[k] * tmp[(size_t) (cy.start[y] + k) * tw * 3 + x];
            if (cubic)
                v = clip255(v);
            orow[x] = strong ? v : v * scale[x % 3] + shift[x % 3];
        }
    }
    if (strong) { /* the tile is th x tw x 3 and tmp holds at least that much */
        xf__augment_colour(out, th, tw, pp->mean, pp->aug_seed, tmp);
        for (size_t i = 0; i < (size_t) th * (size_t) tw * 3; i++)
            out[i] = out[i] * scale[i % 3] + shift[i % 3];
    }
done:
    free(tmp);
    coeffs_free(&cx);
    coeffs_free(&cy);
    return s;
}

static xf_status check_pp(const xf_preproc *pp, xf_error *err)
{
    if (!pp || pp->size_h < 1 || pp->size_w < 1 || pp->size_h > XF_MAX_INPUT_SIDE ||
        pp->size_w > XF_MAX_INPUT_SIDE)
        return xf__fail(err, XF_ERR_ARG, "input size must be 1..8192");
    if (pp->interp != XF_INTERP_BILINEAR && pp->interp != XF_INTERP_BICUBIC)
        return xf__fail(err, XF_ERR_ARG, "interpolation %d is neither bilinear nor bicubic",
                        pp->interp);
    if (pp->augment < XF_AUG_NONE || pp->augment > XF_AUG_STRONG)
        return xf__fail(err, XF_ERR_ARG, "augmentation %d is not one of XF_AUG_*", pp->augment);
    if (!(pp->crop_pct > 0.05f && pp->crop_pct <= 1.0f))
        return xf__fail(err, XF_ERR_ARG, "crop fraction %g outside (0.05, 1]",
                        (double) pp->crop_pct);
    for (int c = 0; c < 3; c++)
        if (!(pp->std[c] > 0) || !isfinite(pp->mean[c]))
            return xf__fail(err, XF_ERR_ARG, "std must be > 0 and mean finite");
    return XF_OK;
}

xf_status xf_image_load_mem(const void *data, size_t len, const char *name, const xf_preproc *pp,
                            float *out, xf_error *err)
{
    xf_status s = check_pp(pp, err);
    if (s)
        return s;
    xf_decode_opts o;
    o.max_pixels = pp->max_pixels > 0 ? pp->max_pixels : (int64_t) 64 << 20;
    o.exif_rotate = pp->exif_rotate;
    o.allow_truncated = pp->allow_truncated;
    /* keep >= 2x the resize target before antialiasing so DCT scaling cannot alias */
    int big = pp->size_h > pp->size_w ? pp->size_h : pp->size_w;
    o.min_side = pp->full_decode ? 0 : (int) (2.0 * big / (double) pp->crop_pct);
    xf_rgb im;
    if ((s = xf__decode_mem(data, len, name, &o, &im, err)))
        return s;
    if ((s = xf__rgb_orient(&im, err)) == XF_OK) {
        pixels view = {im.px, im.w, im.h, (size_t) im.w * 3};
        s = resample(&view, pp, out, err);
    }
    if (s)
        xf__wrap(err, name);
    xf__rgb_free(&im);
    return s;
}

xf_status xf_image_from_rgb(const uint8_t *rgb, int w, int h, size_t stride, const xf_preproc *pp,
                            float *out, xf_error *err)
{
    xf_status s = check_pp(pp, err);
    if (s)
        return s;
    int64_t max = pp->max_pixels > 0 ? pp->max_pixels : (int64_t) 64 << 20;
    if (!rgb || w < 1 || h < 1 || (stride && stride < (size_t) w * 3))
        return xf__fail(err, XF_ERR_ARG,
                        "pixels: need (h, w, 3) uint8 with w, h >= 1 (got %d x %d)", w, h);
    if ((int64_t) w * h > max)
        return xf__fail(err, XF_ERR_IMAGE, "pixels: %d x %d is over the %lld-pixel limit", w, h,
                        (long long) max);
    pixels im = {rgb, w, h, stride ? stride : (size_t) w * 3}; /* read in place, no copy */
    return resample(&im, pp, out, err);
}

xf_status xf_image_load(const char *path, const xf_preproc *pp, float *out, xf_error *err)
{
    uint8_t *buf;
    size_t len;
    xf_status s = xf__read_file(path, XF_MAX_FILE_BYTES, &buf, &len, err);
    if (s)
        return s;
    s = xf_image_load_mem(buf, len, path, pp, out, err);
    free(buf);
    return s;
}
