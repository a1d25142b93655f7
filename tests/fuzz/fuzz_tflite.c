/* fuzz_tflite.c — libFuzzer target: any bytes as a .tflite file through the converter's
 * FlatBuffers walker and op conversion (written to a temporary file, as xfer-convert reads
 * files). It is: a harness only. */
#include "convert/convert.h"

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/xfer-fuzz-%d.tflite", (int) getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    xf_gbuild g;
    xf_error err;
    float mean[3], sd[3];
    int q;
    if (xf__gb_init(&g, &err) == XF_OK) {
        xfc_from_tflite(path, &g, mean, sd, &q, &err);
        xf__gb_free(&g);
    }
    unlink(path);
    return 0;
}
