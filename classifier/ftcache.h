/* ftcache.h — finetune's on-disk cache of the frozen part's outputs (--cache-dir).
 * It is: one file per (model data checksum, boundary tensor, pooling, preprocessing, class
 * list, image list with sizes and modification times): a header, n rows of dim floats, n int32
 * labels. Written under a temporary name and renamed when complete; mapped read-only when used,
 * so rows are paged in from disk (a dataset need not fit in memory) and a second run with the
 * same images and boundary skips the backbone. It is not: the extraction (the caller appends
 * rows) or the in-memory cache finetune uses without --cache-dir.
 */
#ifndef XF_FTCACHE_H
#define XF_FTCACHE_H

#include "base.h"

typedef struct {
    char path[4096], tmp[4200];
    FILE *f; /* open while writing */
    int64_t dim;
    uint64_t key;
    size_t n, cap;
    int *y;    /* labels while writing */
    void *map; /* the finished file, mapped */
    size_t maplen;
} xf_ftcache;

uint64_t xf__ftcache_key(const xf_model *m, const char *layer, int pooled, const xf_preproc *pp,
                         char *const *paths, size_t n, char *const *classes, int k);
/* 1 when dir holds a complete cache for key: x, y, n then view the mapped file. */
int xf__ftcache_load(xf_ftcache *c, const char *dir, uint64_t key, int64_t dim, int k, float **x,
                     int **y, size_t *n);
xf_status xf__ftcache_create(xf_ftcache *c, const char *dir, uint64_t key, int64_t dim,
                             xf_error *err);
xf_status xf__ftcache_append(xf_ftcache *c, const float *row, int label, xf_error *err);
/* Completes the file (labels, header, fsync, rename) and maps it into x, y, n. */
xf_status xf__ftcache_finish(xf_ftcache *c, int k, float **x, int **y, size_t *n, xf_error *err);
/* Unmaps; an unfinished temporary file is removed. */
void xf__ftcache_close(xf_ftcache *c);

#endif
