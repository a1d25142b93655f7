/* fuzz_tfjs.c — libFuzzer target: any bytes as a TF.js layers model: the bytes up to the first
 * NUL are model.json, the rest its one weights shard (group1-shard1of1.bin), both written into
 * a private folder made once per process; then the converter builds the graph. It is: a
 * harness only. */
#include "convert/convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int put(const char *dir, const char *name, const uint8_t *d, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    int ok = f && fwrite(d, 1, n, f) == n;
    return f && fclose(f) == 0 && ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[4096];
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/xfer-fuzz-tfjs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir))
            return dir[0] = 0, 0;
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t jn = nul ? (size_t) (nul - data) : size;
    if (!put(dir, "model.json", data, jn) ||
        !put(dir, "group1-shard1of1.bin", nul ? nul + 1 : data, nul ? size - jn - 1 : 0))
        return 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/model.json", dir);
    xf_gbuild g;
    xf_error err;
    if (xf__gb_init(&g, &err) == XF_OK) {
        xfc_from_tfjs(path, &g, &err);
        xf__gb_free(&g);
    }
    return 0;
}
