/* ft_dataset.c — fine-tuning's cached boundary activations (see ft_dataset.h).
 *
 * It is: the pipeline's emit collecting rows (or appending them to the cache file) with the
 * label of each image's folder, the cache key and reuse, the per-epoch augmented refill. It is
 * not: the cache file's format (ftcache.c).
 */
#include "ft_dataset.h"
#include "folder_labels.h"
#include "gemm.h"
#include "inputs.h"
#include "labels.h"

#include <string.h>

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    xf_ftdata *c = user;
    if (c->progress)
        c->progress(c->progress_user, idx + 1, c->total);
    if (st != XF_OK) {
        xf__log(XF_LOG_WARN, "%s\n", reason);
        c->skipped++;
        return XF_OK;
    }
    char buf[1024];
    const char *l = xf__label_of(NULL, c->in->roots, c->in->n_roots, path, buf, sizeof buf);
    int y = l ? xf__class_index(c->classes, c->k, l) : -1;
    if (y < 0) {
        xf__log(XF_LOG_WARN, "finetune: %s: class '%s' not in the training set, skipped\n", path,
                l ? l : "?");
        c->skipped++;
        return XF_OK;
    }
    if (c->disk_dir)
        return xf__ftcache_append(&c->disk, vec, y, err);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        float *nx = realloc(c->x, cap * (size_t) c->dim * sizeof(float));
        if (nx)
            c->x = nx;
        int *ny = nx ? realloc(c->y, cap * sizeof(int)) : NULL;
        if (!ny)
            return xf__fail(err, XF_ERR_NOMEM, "out of memory caching %zu images", c->n);
        c->y = ny;
        c->cap = cap;
    }
    memcpy(c->x + c->n * (size_t) c->dim, vec, (size_t) c->dim * sizeof(float));
    c->y[c->n++] = y;
    return XF_OK;
}

xf_pipeline_opts xf__ftdata_pipeline(const xf_model *m, const char *layer, int pooled, int threads)
{
    xf_pipeline_opts po;
    memset(&po, 0, sizeof po);
    po.pp = xf_model_preproc(m);
    po.so = xf_session_default_opts();
    po.so.n_layers = 1;
    po.so.layers[0] = layer;
    po.so.pool = pooled ? XF_POOL_AVG : XF_POOL_NONE;
    po.threads = threads;
    po.batch = 4;
    return po;
}

xf_status xf__ftdata_fill(xf_ftdata *c, const xf_model *m, const char *dir, const char *layer,
                          int pooled, int threads, int augment, uint64_t aug_seed, xf_error *err)
{
    xf_inputs in = {0};
    char *dirs[1] = {strdup(dir)};
    xf_status s = dirs[0] ? xf__inputs_collect(&in, dirs, 1, NULL, err)
                          : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    free(dirs[0]);
    if (!s && c->grow) {
        c->k = xf__classes_of(in.paths, in.n, in.roots, in.n_roots, &c->classes);
        if (c->k < 0)
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        else if (c->k < 2)
            s = xf__fail(err, XF_ERR_ARG, "%s: need at least two class folders", dir);
    }
    c->total = in.n;
    xf_pipeline_opts po = xf__ftdata_pipeline(m, layer, pooled, threads);
    po.pp.augment = augment;
    po.pp.aug_seed = aug_seed;
    po.emit = emit;
    po.user = c;
    po.why = in.why;
    c->in = &in;
    size_t failed;
    if (!s && c->disk_dir) {
        uint64_t key = xf__ftcache_key(m, layer, pooled, &po.pp, in.paths, in.n, c->classes, c->k);
        if (xf__ftcache_load(&c->disk, c->disk_dir, key, c->dim, c->k, &c->x, &c->y, &c->n)) {
            xf__log(XF_LOG_INFO, "finetune: %s: reusing %s (%zu images)\n", dir, c->disk.path,
                    c->n);
            c->mapped = 1;
            c->in = NULL;
            xf__inputs_free(&in);
            return XF_OK;
        }
        s = xf__ftcache_create(&c->disk, c->disk_dir, key, c->dim, err);
    }
    if (!s)
        s = xf__pipeline_run(m, in.paths, in.n, &po, &failed, err);
    if (!s && c->disk_dir && !(s = xf__ftcache_finish(&c->disk, c->k, &c->x, &c->y, &c->n, err)))
        c->mapped = 1;
    c->in = NULL;
    xf__inputs_free(&in);
    return s;
}

xf_status xf__ftdata_refresh(void *augment, int epoch, float *train_x, xf_error *err)
{
    xf_ftaugment *a = augment;
    xf_ftdata c = {0};
    c.dim = a->train->dim;
    c.classes = a->train->classes;
    c.k = a->train->k;
    c.progress = a->train->progress, c.progress_user = a->train->progress_user;
    xf_status s = xf__ftdata_fill(&c, a->m, a->dir, a->layer, a->pooled, a->threads, 1,
                                  a->seed * 1000003u + (uint64_t) epoch, err);
    if (!s && (c.n != a->train->n || memcmp(c.y, a->train->y, c.n * sizeof(int)) != 0))
        s = xf__fail(err, XF_ERR_IO, "%s: the training images changed during training", a->dir);
    if (!s)
        memcpy(train_x, c.x, c.n * (size_t) c.dim * sizeof(float));
    xf__blas_threads(a->threads); /* the pipeline left BLAS at 1 thread for its workers */
    free(c.x);
    free(c.y);
    return s;
}

void xf__ftdata_free(xf_ftdata *d)
{
    for (int i = 0; d->grow && i < d->k; i++)
        free(d->classes[i]);
    if (d->grow)
        free(d->classes);
    if (!d->mapped)
        free(d->x), free(d->y);
    xf__ftcache_close(&d->disk);
    memset(d, 0, sizeof *d);
}
