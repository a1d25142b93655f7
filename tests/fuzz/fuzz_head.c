/* fuzz_head.c — libFuzzer target: any bytes as a classifier file (a head from train-classifier:
 * GGUF, its keys and tensors validated; else a softmax model), then one prediction and the
 * provenance check against its own recorded features. It is: a harness only. */
#include "fuzz_file.h"

#include "head.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    xf_error err;
    xf_classifier *c;
    if (xf_classifier_open(path, NULL, &c, &err) == XF_OK) {
        int64_t dim = xf_classifier_dim(c);
        int k = xf_classifier_class_count(c);
        float *x = dim > 0 && dim < (1 << 20) ? calloc((size_t) dim, sizeof *x) : NULL;
        float *p = k > 0 && k < (1 << 20) ? malloc((size_t) k * sizeof *p) : NULL;
        if (x && p)
            xf_classifier_predict(c, x, 1, dim, p, NULL, &err);
        const char *fj = xf_classifier_features(c);
        if (fj)
            xf_classifier_check(c, fj, dim, &err);
        free(x), free(p);
        xf_classifier_free(c);
    }
    close(fd);
    return 0;
}
