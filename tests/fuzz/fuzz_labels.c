/* fuzz_labels.c — libFuzzer target: any bytes as a label file (--labels: CSV/TSV, quoting, BOM,
 * header and column detection), then resolved against a few input paths. It is: a harness
 * only. */
#include "fuzz_file.h"

#include "labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    xf_error err;
    xf_labelmap lm = {0};
    if (xf__labels_read(path, &lm, &err) == XF_OK) {
        char a[] = "data/ants/1.jpg", b[] = "data/bees/2.jpg", c[] = "x.png";
        char *paths[3] = {a, b, c};
        if (xf__labels_resolve(&lm, "fuzz", paths, 3, &err) == XF_OK) {
            char buf[256];
            for (int i = 0; i < 3; i++)
                (void) xf__label_of(&lm, NULL, 0, paths[i], buf, sizeof buf);
        }
    }
    xf__labels_free(&lm);
    close(fd);
    return 0;
}
