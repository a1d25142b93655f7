/* fuzz_feats.c — libFuzzer target: any bytes as a feature file (feats.bin: header, provenance
 * JSON, records), through the tools' reader and the public one (its classes from the recorded
 * roots). It is: a harness only. */
#include "fuzz_file.h"

#include "feats.h"
#include "provenance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_file(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    xf_error err;
    xf_featset fs;
    if (xf__feats_read(path, &fs, &err) == XF_OK) {
        char **roots = NULL;
        int n = 0;
        if (xf__provenance_roots(fs.header_json, &roots, &n, &err) == XF_OK) {
            for (int r = 0; r < n; r++)
                free(roots[r]);
            free(roots);
        }
        xf__featset_free(&fs);
    }
    xf_features *f;
    if (xf_features_read(path, &f, &err) == XF_OK) {
        for (size_t i = 0; i < xf_features_count(f); i++)
            (void) xf_features_class(f, i);
        xf_features_free(f);
    }
    close(fd);
    return 0;
}
