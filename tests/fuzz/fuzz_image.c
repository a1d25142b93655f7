/* fuzz_image.c — libFuzzer target: any bytes as an image (JPEG/PNG/BMP decode, EXIF,
 * orientation, resize + crop to 32x32). It is: a harness only. */
#include "xfer.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static float out[32 * 32 * 3];
    xf_preproc pp = {32, 32, 0.875f, {0, 0, 0}, {1, 1, 1}, 1, (int64_t) 1 << 22, 0, 0, 0, 0, 0};
    xf_error err;
    xf_image_load_mem(data, size, "fuzz", &pp, out, &err);
    pp.allow_truncated = 1;
    xf_image_load_mem(data, size, "fuzz", &pp, out, &err);
    return 0;
}
