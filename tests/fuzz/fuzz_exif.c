/* fuzz_exif.c — libFuzzer target: any bytes as EXIF data: the TIFF walk that finds the
 * orientation, and the same bytes as the APP1 segment of a JPEG (the segment scan before
 * decoding), decoded with and without orientation. It is: a harness only. */
#include "image.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void) xf__exif_orientation(data, size);
    if (size > 65000)
        return 0;
    /* SOI, APP1 "Exif\0\0" + data, then EOI: no image, but every marker walked */
    static uint8_t jpg[65536 + 16];
    size_t seg = size + 8;
    memcpy(jpg, "\xFF\xD8\xFF\xE1", 4);
    jpg[4] = (uint8_t) (seg >> 8), jpg[5] = (uint8_t) seg;
    memcpy(jpg + 6, "Exif\0\0", 6);
    memcpy(jpg + 12, data, size);
    memcpy(jpg + 12 + size, "\xFF\xD9", 2);
    static float out[8 * 8 * 3];
    xf_preproc pp = {8, 8, 1, {0, 0, 0}, {1, 1, 1}, 1, 1 << 20, 0, 0, 0, 0, 0};
    xf_error err;
    xf_image_load_mem(jpg, size + 14, "fuzz", &pp, out, &err);
    return 0;
}
