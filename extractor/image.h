/* image.h — private interface between image.c (decoding) and preprocess.c (resampling).
 * It is: the 8-bit RGB buffer type and the decode options. It is not public API, and not for
 * writing pictures (picture.h).
 */
#ifndef XF_IMAGE_H
#define XF_IMAGE_H

#include "base.h"

typedef struct {
    uint8_t *px; /* (h, w, 3) RGB, as stored (orientation not yet applied) */
    int w, h;
    int orientation; /* EXIF 1..8 to apply */
} xf_rgb;

typedef struct {
    int64_t max_pixels;
    int min_side; /* JPEG may be DCT-downscaled while its shorter side stays >= this */
    int exif_rotate;
    int allow_truncated;
} xf_decode_opts;

#define XF_MAX_FILE_BYTES ((size_t) 256 << 20)

xf_status xf__decode_mem(const void *data, size_t len, const char *name, const xf_decode_opts *o,
                         xf_rgb *out, xf_error *err);
/* "NAME: image is WxH, over the MAX-pixel limit" (XF_ERR_IMAGE), for every decoder */
xf_status xf__image_too_big(xf_error *err, const char *name, uint64_t w, uint64_t h, int64_t max);
/* image_formats.c: WebP (an animation: its first frame), GIF (the first frame), TIFF (the first
 * page) */
xf_status xf__decode_webp(const uint8_t *d, size_t len, const char *name, const xf_decode_opts *o,
                          xf_rgb *out, xf_error *err);
xf_status xf__decode_gif(const uint8_t *d, size_t len, const char *name, const xf_decode_opts *o,
                         xf_rgb *out, xf_error *err);
xf_status xf__decode_tiff(const uint8_t *d, size_t len, const char *name, const xf_decode_opts *o,
                          xf_rgb *out, xf_error *err);
void xf__rgb_free(xf_rgb *im);
int xf__exif_orientation(const uint8_t *d, size_t n);
/* Applies im->orientation in place (new buffer); sets it to 1. */
xf_status xf__rgb_orient(xf_rgb *im, xf_error *err);
/* splitmix64: the augmentation's random numbers (preprocess.c's crop, augment.c's colours) */
static inline uint64_t xf__splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* augment.c: XF_AUG_STRONG's colour operations and cutout on an (h, w, 3) tile of 0..255
 * values, in place; the cutout is filled with 255 * mean (0 once normalised); tmp holds h*w*3
 * floats */
void xf__augment_colour(float *px, int h, int w, const float mean[3], uint64_t seed, float *tmp);

#endif
