/* fuzz_onnx.c — libFuzzer target: any bytes as an .onnx file through protobuf decoding,
 * constant folding and operator mapping (written to a temporary file, as xfer-convert reads
 * files). It is: a harness only. */
#include "convert/convert.h"

#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], feature[256];
    snprintf(path, sizeof path, "/tmp/xfer-fuzz-%d.onnx", (int) getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    xf_gbuild g;
    xf_error err;
    if (xf__gb_init(&g, &err) == XF_OK) {
        xfc_from_onnx(path, 0, 0, &g, feature, sizeof feature, &err);
        xf__gb_free(&g);
    }
    unlink(path);
    return 0;
}
