/* preprocess_dump.c — writes xfer's preprocessed pixels of images (mean 0, std 1, so values are
 * RGB/255) as one float32 .npy of shape (N, S, S, 3), for tests/oracle/check_resize.py to
 * compare with Pillow. Usage: preprocess_dump [--bicubic] SIZE CROP_PCT OUT.npy IMAGE...
 */
#include "xfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int cubic = argc > 1 && strcmp(argv[1], "--bicubic") == 0;
    argc -= cubic, argv += cubic;
    if (argc < 5) {
        fprintf(stderr, "usage: preprocess_dump [--bicubic] SIZE CROP_PCT OUT.npy IMAGE...\n");
        return 2;
    }
    int s = atoi(argv[1]), n = argc - 4;
    xf_preproc pp = {s, s, (float) atof(argv[2]), {0, 0, 0}, {1, 1, 1}, 1, 0, 0, 0, 0, cubic, 0};
    FILE *f = fopen(argv[3], "wb");
    if (!f)
        return 1;
    char h[128];
    memset(h, ' ', sizeof h);
    memcpy(h, "\x93NUMPY\x01\x00\x76\x00", 10);
    int l =
        snprintf(h + 10, 100,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d, 3), }", n, s, s);
    h[10 + l] = ' ';
    h[127] = '\n';
    fwrite(h, 1, 128, f);
    float *px = malloc((size_t) s * s * 3 * sizeof(float));
    for (int i = 0; i < n; i++) {
        xf_error e;
        if (xf_image_load(argv[4 + i], &pp, px, &e) != XF_OK) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        fwrite(px, sizeof(float), (size_t) s * s * 3, f);
    }
    free(px);
    return fclose(f) != 0;
}
