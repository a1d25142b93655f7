/* ntxent_dump.c — for tests/oracle/ntxent_check.py: NT-Xent (loss.c) on fixed pseudo-random
 * batches, written as raw float32 files in OUT_DIR: per case c, c.z (2n, d), c.dz, c.loss and
 * c.shape (n, d, tau). Cases: small and wide batches, two temperatures, a row of zeros (the
 * norm's floor). Usage: ntxent_dump OUT_DIR
 */
#include "ops.h"

#include <stdlib.h>

static void dump(const char *dir, int c, const char *what, const float *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%d.%s.f32", dir, c, what);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, sizeof(float), n, f);
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    static const struct {
        int n, d;
        float tau;
    } cases[] = {{3, 4, 0.5f}, {16, 32, 0.2f}, {64, 128, 0.1f}, {5, 7, 1.0f}};
    uint32_t r = 12345;
    for (int c = 0; c < 4; c++) {
        size_t len = 2 * (size_t) cases[c].n * (size_t) cases[c].d;
        float *z = malloc(len * sizeof(float)), *dz = malloc(len * sizeof(float));
        if (!z || !dz)
            return 1;
        for (size_t i = 0; i < len; i++) {
            r ^= r << 13, r ^= r >> 17, r ^= r << 5;
            z[i] = (float) (r & 0xffffff) / (float) 0x1000000 * 2.0f - 1.0f;
        }
        if (c == 3)
            for (int k = 0; k < cases[c].d; k++)
                z[k] = 0;
        float loss = (float) xf__ntxent(z, cases[c].n, cases[c].d, cases[c].tau, dz, NULL);
        float shape[3] = {(float) cases[c].n, (float) cases[c].d, cases[c].tau};
        dump(argv[1], c, "z", z, len), dump(argv[1], c, "dz", dz, len);
        dump(argv[1], c, "loss", &loss, 1), dump(argv[1], c, "shape", shape, 3);
        free(z), free(dz);
    }
    return 0;
}
