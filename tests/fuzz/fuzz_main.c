/* fuzz_main.c — runs a libFuzzer target over files or directories of inputs without libFuzzer,
 * so the fuzz targets double as regression tests. Prints "N passed, 0 failed" (a crash or a
 * sanitizer report is the failure). Usage: fuzz_X FILE_OR_DIR... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (64L << 20)) {
        fclose(f);
        return 0;
    }
    uint8_t *buf = malloc((size_t) n + 1);
    size_t got = buf ? fread(buf, 1, (size_t) n, f) : 0;
    fclose(f);
    if (buf && got == (size_t) n)
        LLVMFuzzerTestOneInput(buf, (size_t) n);
    free(buf);
    return 1;
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        n += run_path(p);
    }
    if (d)
        closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++)
        n += run_path(argv[i]);
    printf("%d passed, 0 failed\n", n);
    return 0;
}
