/* defaults.c — which weights file the tools use when none is named.
 *
 * It is: $XFER_WEIGHTS, else the best backbone present in weights/ (the current directory's,
 * then the one beside the executable's build/ directory): the TF2 ImageNet MobileNetV2, the
 * QAT ImageNet MobileNetV2, then the npm MobileNetV2; and finding the weights file whose data
 * checksum a classifier head recorded; and two small helpers of the tools' flags and labels
 * (R,G,B values, the parent folder of a path). It is not: downloading (make weights).
 */
#include "cli.h"
#include "meta.h"

#include <dirent.h>
#include <string.h>
#include <unistd.h>

static const char *const preferred[] = {"mobilenet_v2_imagenet_tf2.gguf",
                                        "mobilenet_v2_imagenet.gguf", "mobilenet_v2.gguf"};

/* weights directories to search: "weights", then "<exe dir>/../weights" */
static int weights_dirs(char dirs[2][4096])
{
    int n = 0;
    snprintf(dirs[n++], 4096, "weights");
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            if (snprintf(dirs[n], 4096, "%s/../weights", exe) < 4096)
                n++;
        }
    }
    return n;
}

int xf__default_weights(char *out, size_t size)
{
    const char *env = getenv("XFER_WEIGHTS");
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return 1;
    }
    char dirs[2][4096];
    int nd = weights_dirs(dirs);
    for (size_t p = 0; p < sizeof preferred / sizeof *preferred; p++)
        for (int d = 0; d < nd; d++) {
            snprintf(out, size, "%s/%s", dirs[d], preferred[p]);
            if (access(out, R_OK) == 0)
                return 1;
        }
    snprintf(out, size, "weights/%s", preferred[2]);
    return 0;
}

int xf__parse3(const char *s, float *v)
{
    char *end;
    for (int i = 0; i < 3; i++) {
        v[i] = strtof(s, &end);
        if (end == s || (i < 2 && *end != ',') || (i == 2 && *end))
            return 0;
        s = end + 1;
    }
    return 1;
}

int xf__weights_by_crc(const char *crc_hex, char *out, size_t size)
{
    char dirs[2][4096];
    int nd = weights_dirs(dirs);
    unsigned long want = strtoul(crc_hex, NULL, 16);
    for (int d = 0; d < nd; d++) {
        DIR *dir = opendir(dirs[d]);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 5, ".gguf") != 0)
                continue;
            snprintf(out, size, "%s/%s", dirs[d], e->d_name);
            xf_wfile *wf;
            if (xf__wfile_open(out, XF_WFILE_HEADER_ONLY, &wf, NULL) != XF_OK)
                continue;
            uint32_t crc;
            int match = xf__wfile_get_u32(wf, XF_KEY_CRC32C, &crc, NULL) == XF_OK && crc == want;
            xf__wfile_free(wf);
            if (match) {
                closedir(dir);
                return 1;
            }
        }
        if (dir)
            closedir(dir);
    }
    return 0;
}
