/* ft_unlabeled.c — the unlabelled pool's per-epoch weak and strong views (see ft_unlabeled.h).
 *
 * Each view is its own pipeline pass with its own seed (the pipeline seeds every image from
 * it and the image's index, so a view is the same whatever -j). Rows are written at the
 * image's index and compacted to the pairs whose two views both decoded; a failing image is
 * reported once, not every epoch. It is not: training (finetune.c).
 */
#include "ft_unlabeled.h"
#include "ft_dataset.h"
#include "gemm.h"

#include <string.h>

xf_status xf__ftunl_open(xf_ftunl *u, const char *const *dirs, int n_dirs, xf_error *err)
{
    xf_status s = XF_OK;
    for (int i = 0; !s && i < n_dirs; i++)
        s = xf__inputs_add(&u->in, dirs[i], err);
    if (!s && !u->in.n)
        s = xf__fail(err, XF_ERR_IO, "--unlabeled %s: no images", dirs[0]);
    size_t rows = u->in.n, bytes = rows * (size_t) u->dim * sizeof(float);
    if (!s && !(u->state = calloc(rows ? rows : 1, 1)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (!s && !(u->reserved = xf__memory_take(2 * bytes) ? 2 * bytes : 0))
        return xf__fail(err, XF_ERR_NOMEM,
                        "--unlabeled: %zu images need %.1f MiB for their two views, over the "
                        "memory budget of %.1f MiB (XFER_MAX_MEMORY; a later --unfreeze-from "
                        "makes rows smaller)",
                        rows, (double) (2 * bytes) / 1048576.0,
                        (double) xf__memory_budget() / 1048576.0);
    if (!s && (!(u->weak = xf__alloc(bytes + 64)) || !(u->strong = xf__alloc(bytes + 64))))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory for the views of %zu images", rows);
    return s;
}

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    (void) path, (void) err;
    xf_ftunl *u = user;
    if (st != XF_OK) {
        if (!(u->state[idx] & 4))
            xf__log(XF_LOG_WARN, "finetune: --unlabeled %s, skipped\n", reason);
        u->state[idx] = 4;
        return XF_OK;
    }
    float *row = (u->pass ? u->strong : u->weak) + idx * (size_t) u->dim;
    memcpy(row, vec, (size_t) u->dim * sizeof(float));
    if (u->pass == 0)
        u->state[idx] = (unsigned char) ((u->state[idx] & 4) | 1);
    else if (u->state[idx] & 1)
        u->state[idx] = (unsigned char) ((u->state[idx] & 4) | 2);
    return XF_OK;
}

xf_status xf__ftunl_views(void *user, int epoch, const float **weak, const float **strong,
                          size_t *n, xf_error *err)
{
    xf_ftunl *u = user;
    xf_pipeline_opts po = xf__ftdata_pipeline(u->m, u->layer, u->pooled, u->threads);
    po.emit = emit;
    po.user = u;
    po.why = u->in.why;
    for (size_t i = 0; i < u->in.n; i++)
        u->state[i] &= 4;
    xf_status s = XF_OK;
    size_t failed;
    for (u->pass = 0; !s && u->pass < 2; u->pass++) {
        po.pp.augment = u->pass || u->two_strong ? XF_AUG_STRONG : XF_AUG_WEAK;
        po.pp.aug_seed = (u->seed * 1000003u + (uint64_t) epoch) * 2 + (uint64_t) u->pass;
        s = xf__pipeline_run(u->m, u->in.paths, u->in.n, &po, &failed, err);
    }
    xf__blas_threads(u->threads); /* the pipeline left BLAS at 1 thread for its workers */
    u->n = 0;
    for (size_t i = 0; !s && i < u->in.n; i++)
        if ((u->state[i] & 3) == 2) {
            size_t d = (size_t) u->dim;
            if (u->n != i) {
                memcpy(u->weak + u->n * d, u->weak + i * d, d * sizeof(float));
                memcpy(u->strong + u->n * d, u->strong + i * d, d * sizeof(float));
            }
            u->n++;
        }
    if (!s && !u->n)
        s = xf__fail(err, XF_ERR_IMAGE, "--unlabeled: none of the %zu images could be read",
                     u->in.n);
    *weak = u->weak, *strong = u->strong, *n = u->n;
    return s;
}

void xf__ftunl_free(xf_ftunl *u)
{
    xf__inputs_free(&u->in);
    free(u->weak), free(u->strong), free(u->state);
    xf__memory_give(u->reserved);
    memset(u, 0, sizeof *u);
}
