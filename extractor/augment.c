/* augment.c — the colour half of the strong training augmentation (XF_AUG_STRONG, see xfer.h).
 *
 * It is: two operations drawn from a small RandAugment set (autocontrast, brightness, colour,
 * contrast, equalize, posterize, sharpness, solarize), each at a random magnitude, then cutout
 * (one square of up to half the side, filled with the normalisation mean), on the cropped
 * input tile in 0..255 before normalisation, every choice a function of the seed. It is not:
 * the geometric part (the random resized crop and flip, preprocess.c).
 */
#include "image.h"

#include <math.h>
#include <string.h>

static double uniform(uint64_t *s) /* [0, 1) */
{
    return (double) (xf__splitmix64(s) >> 11) / 9007199254740992.0;
}

static float clamp255(double v)
{
    return (float) (v < 0 ? 0 : v > 255 ? 255 : v);
}

static double grey(const float *p) /* ITU-R 601 luma, as PIL's convert("L") */
{
    return 0.299 * (double) p[0] + 0.587 * (double) p[1] + 0.114 * (double) p[2];
}

/* out = mix of px and a reference: a = 1 is px, 0 the reference (PIL's ImageEnhance) */
static void blend_grey(float *px, size_t n, double a, int per_pixel)
{
    double mean = 0;
    for (size_t i = 0; !per_pixel && i < n; i++)
        mean += grey(px + 3 * i);
    mean = n ? mean / (double) n : 0;
    for (size_t i = 0; i < n; i++) {
        double ref = per_pixel ? grey(px + 3 * i) : mean;
        for (int c = 0; c < 3; c++)
            px[3 * i + c] = clamp255(ref + a * ((double) px[3 * i + c] - ref));
    }
}

static void autocontrast(float *px, size_t n)
{
    for (int c = 0; c < 3; c++) {
        double lo = 255, hi = 0;
        for (size_t i = 0; i < n; i++) {
            double v = (double) px[3 * i + c];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
        if (hi - lo < 1)
            continue;
        for (size_t i = 0; i < n; i++)
            px[3 * i + c] = clamp255(255.0 * ((double) px[3 * i + c] - lo) / (hi - lo));
    }
}

static void equalize(float *px, size_t n)
{
    for (int c = 0; c < 3; c++) {
        size_t hist[256] = {0}, cum = 0;
        float map[256];
        for (size_t i = 0; i < n; i++)
            hist[(int) px[3 * i + c]]++;
        for (int v = 0; v < 256; v++) {
            map[v] = (float) (255.0 * (double) cum / (double) n);
            cum += hist[v];
        }
        for (size_t i = 0; i < n; i++)
            px[3 * i + c] = map[(int) px[3 * i + c]];
    }
}

/* blend with a 3x3 smoothing (PIL's SMOOTH kernel: centre 5, the rest 1); edges kept */
static void sharpness(float *px, int h, int w, double a, float *tmp)
{
    memcpy(tmp, px, (size_t) h * (size_t) w * 3 * sizeof(float));
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++)
            for (int c = 0; c < 3; c++) {
                double s = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        s += (double)
                            tmp[((size_t) (y + dy) * (size_t) w + (size_t) (x + dx)) * 3 + c];
                s = (s + 4.0 * (double) tmp[((size_t) y * (size_t) w + (size_t) x) * 3 + c]) / 13.0;
                float *p = px + ((size_t) y * (size_t) w + (size_t) x) * 3 + c;
                *p = clamp255(s + a * ((double) *p - s));
            }
}

void xf__augment_colour(float *px, int h, int w, const float mean[3], uint64_t seed, float *tmp)
{
    size_t n = (size_t) h * (size_t) w;
    for (size_t i = 0; i < 3 * n; i++) /* the ops below index histograms with these */
        px[i] = clamp255((double) px[i]);
    uint64_t st = seed ^ 0xA5A5A5A5DEADBEEFull;
    for (int k = 0; k < 2; k++) {
        int op = (int) (uniform(&st) * 9);
        double m = uniform(&st);              /* magnitude in [0, 1) */
        double a = 0.05 + 1.9 * uniform(&st); /* enhance factors: PIL's range 0.05..1.95 */
        switch (op) {
        case 0: /* identity */
            break;
        case 1:
            autocontrast(px, n);
            break;
        case 2: /* brightness: blend with black */
            for (size_t i = 0; i < 3 * n; i++)
                px[i] = clamp255(a * (double) px[i]);
            break;
        case 3: /* colour: blend with the pixel's grey */
            blend_grey(px, n, a, 1);
            break;
        case 4: /* contrast: blend with the mean grey */
            blend_grey(px, n, a, 0);
            break;
        case 5:
            equalize(px, n);
            break;
        case 6: { /* posterize: keep 4..8 bits */
            int bits = 4 + (int) (m * 5);
            float q = (float) (1 << (8 - bits));
            for (size_t i = 0; i < 3 * n; i++)
                px[i] = floorf(px[i] / q) * q;
            break;
        }
        case 7:
            sharpness(px, h, w, a, tmp);
            break;
        default: { /* solarize: invert above a threshold in 0..256 */
            float t = (float) (256.0 * m);
            for (size_t i = 0; i < 3 * n; i++)
                px[i] = px[i] >= t ? 255.0f - px[i] : px[i];
            break;
        }
        }
    }
    /* cutout: a square of side up to half the shorter side, centred anywhere */
    int side = (int) (uniform(&st) * 0.5 * (h < w ? h : w));
    int cy = (int) (uniform(&st) * h), cx = (int) (uniform(&st) * w);
    for (int y = cy - side / 2; y < cy - side / 2 + side; y++)
        for (int x = cx - side / 2; x < cx - side / 2 + side; x++)
            if (y >= 0 && y < h && x >= 0 && x < w)
                for (int c = 0; c < 3; c++)
                    px[((size_t) y * (size_t) w + (size_t) x) * 3 + c] = 255.0f * mean[c];
}
