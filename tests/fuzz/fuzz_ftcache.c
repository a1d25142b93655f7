/* fuzz_ftcache.c — libFuzzer target: any bytes as finetune's feature cache file, loaded as the
 * cache of the key, dimension and class count its own header claims (so a consistent header is
 * reached), in a private folder made once per process; every row and label of a
 * file that loads is read. It is: a harness only. */
#include "ftcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[4096];
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/xfer-fuzz-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir))
            return dir[0] = 0, 0;
    }
    /* the header's own key (bytes 8..15), dim (16..23) and k (32..35), when present */
    uint64_t key = 1;
    int64_t dim = 4;
    uint32_t k = 3;
    if (size >= 36)
        memcpy(&key, data + 8, 8), memcpy(&dim, data + 16, 8), memcpy(&k, data + 32, 4);
    if (k > (1u << 20))
        k = 3;
    char path[4200];
    snprintf(path, sizeof path, "%s/xfer-finetune-%016llx.cache", dir, (unsigned long long) key);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok)
        return 0;
    xf_ftcache c;
    float *x;
    int *y;
    size_t n;
    if (xf__ftcache_load(&c, dir, key, dim, (int) k, &x, &y, &n)) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += (double) x[i * (size_t) dim] + y[i];
        (void) s;
        xf__ftcache_close(&c);
    }
    return 0;
}
