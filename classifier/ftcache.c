/* ftcache.c — finetune's on-disk cache of the frozen part's outputs (see ftcache.h). */
#include "ftcache.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC  "XFFTC01"
#define HEADER 64

typedef struct {
    char magic[8];
    uint64_t key;
    int64_t dim;
    uint64_t n;
    uint32_t k;
    char pad[HEADER - 8 - 8 - 8 - 8 - 4];
} header;

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

uint64_t xf__ftcache_key(const xf_model *m, const char *layer, int pooled, const xf_preproc *pp,
                         char *const *paths, size_t n, char *const *classes, int k)
{
    uint64_t h = 1469598103934665603ull;
    uint64_t c = xf_model_checksum(m);
    h = fnv(h, &c, sizeof c);
    h = fnv(h, layer, strlen(layer) + 1);
    h = fnv(h, &pooled, sizeof pooled);
    int geo[3] = {pp->size_h, pp->size_w, pp->exif_rotate};
    float nums[7] = {pp->crop_pct, pp->mean[0], pp->mean[1], pp->mean[2],
                     pp->std[0],   pp->std[1],  pp->std[2]};
    h = fnv(h, geo, sizeof geo);
    h = fnv(h, nums, sizeof nums);
    for (int i = 0; i < k; i++)
        h = fnv(h, classes[i], strlen(classes[i]) + 1);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        int64_t meta[3] = {0, 0, 0};
        if (stat(paths[i], &st) == 0)
            meta[0] = (int64_t) st.st_size, meta[1] = (int64_t) st.st_mtim.tv_sec,
            meta[2] = (int64_t) st.st_mtim.tv_nsec;
        h = fnv(h, paths[i], strlen(paths[i]) + 1);
        h = fnv(h, meta, sizeof meta);
    }
    return h;
}

static void name(char *out, size_t size, const char *dir, uint64_t key, const char *suffix)
{
    snprintf(out, size, "%s/xfer-finetune-%016llx.cache%s", dir, (unsigned long long) key, suffix);
}

/* maps path and checks it against key/dim/k; 1 when valid */
static int map_file(xf_ftcache *c, const char *path, uint64_t key, int64_t dim, int k, float **x,
                    int **y, size_t *n)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    struct stat st;
    header h;
    /* dim and n bounded first, so the size below cannot wrap around */
    int ok = fstat(fd, &st) == 0 && st.st_size >= HEADER && pread(fd, &h, sizeof h, 0) == HEADER &&
             memcmp(h.magic, MAGIC, 8) == 0 && h.key == key && h.dim == dim &&
             h.k == (uint32_t) k && h.n < ((uint64_t) 1 << 32) && dim > 0 && dim <= (1 << 24) &&
             (uint64_t) st.st_size == HEADER + h.n * (uint64_t) dim * 4 + h.n * 4;
    void *map = ok && h.n ? mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (!map || map == MAP_FAILED)
        return 0;
    int *labels = (int *) ((char *) map + HEADER + h.n * (uint64_t) dim * 4);
    for (uint64_t i = 0; i < h.n; i++)
        if (labels[i] < 0 || labels[i] >= k) {
            munmap(map, (size_t) st.st_size);
            return 0;
        }
    c->map = map;
    c->maplen = (size_t) st.st_size;
    *x = (float *) ((char *) map + HEADER);
    *y = labels;
    *n = (size_t) h.n;
    return 1;
}

int xf__ftcache_load(xf_ftcache *c, const char *dir, uint64_t key, int64_t dim, int k, float **x,
                     int **y, size_t *n)
{
    memset(c, 0, sizeof *c);
    name(c->path, sizeof c->path, dir, key, "");
    return map_file(c, c->path, key, dim, k, x, y, n);
}

xf_status xf__ftcache_create(xf_ftcache *c, const char *dir, uint64_t key, int64_t dim,
                             xf_error *err)
{
    memset(c, 0, sizeof *c);
    c->key = key, c->dim = dim;
    name(c->path, sizeof c->path, dir, key, "");
    char host[40];
    xf__temp_host(host, sizeof host);
    snprintf(c->tmp, sizeof c->tmp, "%s.tmp.%s.%d.XXXXXX", c->path, host, (int) getpid());
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return xf__fail(err, XF_ERR_IO, "%s: cannot create the cache folder: %s", dir,
                        strerror(errno));
    xf__temps_clean_stale(c->path);
    int fd = mkostemp(c->tmp, O_CLOEXEC); /* a new file: nothing planted there is followed */
    if (fd < 0 || !(c->f = fdopen(fd, "wb"))) {
        xf_status s = xf__fail(err, XF_ERR_IO, "%s: cannot write: %s", c->tmp, strerror(errno));
        if (fd >= 0)
            close(fd), unlink(c->tmp);
        c->tmp[0] = 0;
        return s;
    }
    xf__temp_add(c->tmp);
    header h;
    memset(&h, 0, sizeof h); /* the real header is written on finish */
    if (fwrite(&h, sizeof h, 1, c->f) != 1)
        return xf__fail(err, XF_ERR_IO, "%s: write failed: %s", c->tmp, strerror(errno));
    return XF_OK;
}

xf_status xf__ftcache_append(xf_ftcache *c, const float *row, int label, xf_error *err)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        int *ny = realloc(c->y, cap * sizeof(int));
        if (!ny)
            return xf__fail(err, XF_ERR_NOMEM, "out of memory");
        c->y = ny, c->cap = cap;
    }
    if (fwrite(row, sizeof(float), (size_t) c->dim, c->f) != (size_t) c->dim)
        return xf__fail(err, XF_ERR_IO, "%s: write failed (disk full?): %s", c->tmp,
                        strerror(errno));
    c->y[c->n++] = label;
    return XF_OK;
}

xf_status xf__ftcache_finish(xf_ftcache *c, int k, float **x, int **y, size_t *n, xf_error *err)
{
    header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.key = c->key, h.dim = c->dim, h.n = c->n, h.k = (uint32_t) k;
    int ok = fwrite(c->y, sizeof(int), c->n, c->f) == c->n && fflush(c->f) == 0 &&
             fseek(c->f, 0, SEEK_SET) == 0 && fwrite(&h, sizeof h, 1, c->f) == 1 &&
             fflush(c->f) == 0 && fsync(fileno(c->f)) == 0;
    ok = fclose(c->f) == 0 && ok;
    c->f = NULL;
    free(c->y);
    c->y = NULL;
    if (!ok || rename(c->tmp, c->path) != 0) {
        xf_status s =
            xf__fail(err, XF_ERR_IO, "%s: cannot complete the cache: %s", c->tmp, strerror(errno));
        unlink(c->tmp);
        xf__temp_forget(c->tmp);
        c->tmp[0] = 0;
        return s;
    }
    xf__temp_forget(c->tmp);
    c->tmp[0] = 0;
    if (c->n == 0) {
        *x = NULL, *y = NULL, *n = 0;
        return XF_OK;
    }
    if (!map_file(c, c->path, c->key, c->dim, k, x, y, n))
        return xf__fail(err, XF_ERR_IO, "%s: cannot map the cache just written", c->path);
    return XF_OK;
}

void xf__ftcache_close(xf_ftcache *c)
{
    if (c->f)
        fclose(c->f);
    if (c->tmp[0])
        unlink(c->tmp), xf__temp_forget(c->tmp);
    if (c->map)
        munmap(c->map, c->maplen);
    free(c->y);
    memset(c, 0, sizeof *c);
}
