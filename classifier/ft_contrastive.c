/* ft_contrastive.c — SimCLR-style pre-training of the trainable backbone part (see
 * ft_contrastive.h).
 *
 * Each epoch the pool gives two strong views of every image at the frozen part's boundary;
 * steps take pretrain_batch images in a shuffled order, run both views through the trainable
 * nodes, the pooling and the projection head, and minimise NT-Xent (the other views of the
 * batch are the negatives). Warm-up then cosine decay over the pre-training epochs, no
 * dropout. It is not: the supervised run (finetune.c), which starts from these nodes.
 */
#include "ft_contrastive.h"
#include "ft_step.h"
#include "ft_unlabeled.h"
#include "gemm.h"
#include "ops.h"

#include <math.h>
#include <string.h>
#include <time.h>

static double since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

xf_status xf__ft_pretrain(const xf_model *m, const xf_ft_opts *o, int64_t bdim, xf_ftgraph *out,
                          xf_error *err)
{
    memset(out, 0, sizeof *out);
    const xf_optim *opt = xf__optim_find(o->optimizer ? o->optimizer : "adamw");
    if (!opt)
        return xf__fail(err, XF_ERR_ARG, "unknown optimizer '%s'", o->optimizer);
    if (o->pretrain_epochs < 1 || o->pretrain_batch < 2 || o->proj_dim < 2 ||
        !(o->temperature > 0) || !o->pretrain_views)
        return xf__fail(err, XF_ERR_ARG, "bad contrastive pre-training settings");
    xf_ft_opts q = *o; /* the projection head: the pooled width, ReLU, proj_dim */
    int f = xf__graph_find(&m->graph, m->meta.feature_layer);
    q.n_hidden = 1, q.hidden[0] = f >= 0 ? m->graph.nodes[f].c : 0, q.prelu = q.leaky = 0;
    xf_ftgraph *t = out;
    xf_ftwork w;
    memset(&w, 0, sizeof w);
    xf_status s = xf__ftgraph_build(m, &q, q.proj_dim, opt->n_state, t, err);
    if (!s && t->head_first < 3) /* input, pooling: nothing of the backbone trains */
        s = xf__fail(err, XF_ERR_ARG, "--pretrain-epochs: no backbone node is unfrozen");
    if (!s)
        s = xf__ftwork_alloc(t, 2 * o->pretrain_batch, &w, err);
    size_t *order = NULL, n = 0, n0 = 0;
    const float *va, *vb;
    uint64_t seed = o->seed * 0x9E3779B97F4A7C15ull + 11;
    int last = t->gb.g.n_nodes - 1, k = o->proj_dim;
    long step = 0, total = 0, warm = 0;
    double lr0 = o->pretrain_lr > 0 ? (double) o->pretrain_lr : (double) o->lr;
    for (int ep = 1; !s && ep <= o->pretrain_epochs; ep++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if ((s = o->pretrain_views(o->pretrain_user, ep, &va, &vb, &n, err)))
            break;
        double views_secs = since(&t0);
        if (ep == 1) { /* the first epoch's images set the order's size and the schedule */
            n0 = n;
            long per = (long) ((n0 + (size_t) o->pretrain_batch - 1) / (size_t) o->pretrain_batch);
            total = per * o->pretrain_epochs, warm = per * o->warmup;
            if (n0 < 2 || !(order = malloc(n0 * sizeof *order))) {
                s = n0 < 2 ? xf__fail(err, XF_ERR_ARG,
                                      "--pretrain-epochs needs two images or more, %zu read", n0)
                           : xf__fail(err, XF_ERR_NOMEM, "out of memory");
                break;
            }
        }
        n = n < n0 ? n : n0;
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t) (xf__ft_rnd(&seed) % i), tmp = order[i - 1];
            order[i - 1] = order[j], order[j] = tmp;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        double loss = 0;
        size_t rows = 0, hits = 0;
        for (size_t r0 = 0; !s && r0 < n; r0 += (size_t) o->pretrain_batch) {
            int cnt =
                (int) (n - r0 < (size_t) o->pretrain_batch ? n - r0 : (size_t) o->pretrain_batch);
            if (cnt < 2) /* one image has no negatives */
                continue;
            for (int r = 0; r < cnt; r++) {
                size_t img = order[r0 + (size_t) r], len = (size_t) bdim * sizeof(float);
                memcpy(w.buf[0] + (size_t) r * (size_t) bdim, va + img * (size_t) bdim, len);
                memcpy(w.buf[0] + (size_t) (cnt + r) * (size_t) bdim, vb + img * (size_t) bdim,
                       len);
            }
            xf__ft_forward(t, &w, 2 * cnt, 0, NULL);
            int hit = 0;
            double l = xf__ntxent(w.buf[last], cnt, k, o->temperature, w.grad[last], &hit);
            if (!isfinite(l)) {
                s = xf__fail(err, XF_ERR_NOMEM,
                             "out of memory (or a non-finite loss) in "
                             "contrastive pre-training");
                break;
            }
            loss += l * 2 * cnt, rows += 2 * (size_t) cnt, hits += (size_t) hit;
            if ((s = xf__ft_backward(t, &w, 2 * cnt, 0, err)))
                break;
            step++;
            xf_optim_hp hp = {(double) (float) xf__ft_lr(lr0, step, warm, total, ep, 0, 1),
                              o->beta1,
                              o->beta2,
                              o->eps,
                              o->rho,
                              (double) o->momentum,
                              step};
            xf__ft_update(t, opt, &hp, o->weight_decay);
        }
        if (!s && o->verbose)
            xf__log(XF_LOG_INFO,
                    "finetune: pre-training epoch %2d  NT-Xent loss %.4f  partner nearest "
                    "%.1f%%  train %.2f s  views %.1f s  (%zu images)\n",
                    ep, rows ? loss / (double) rows : 0.0,
                    rows ? 100.0 * (double) hits / (double) rows : 0.0, since(&t0), views_secs, n);
    }
    free(order);
    xf__ftwork_free(t, &w);
    if (s)
        xf__ftgraph_free(t);
    return s;
}

xf_status xf__ft_pretrain_folders(const xf_model *m, const char *layer, int pooled, int threads,
                                  const char *train_dir, const char *const *udirs, int n_udirs,
                                  xf_ft_opts *o, xf_ftgraph *g, xf_error *err)
{
    const char *dirs[65] = {train_dir};
    if (n_udirs > 64)
        return xf__fail(err, XF_ERR_ARG, "at most 64 --unlabeled folders");
    memcpy(dirs + 1, udirs, (size_t) n_udirs * sizeof *dirs);
    xf_ftunl pool = {.m = m,
                     .layer = layer,
                     .pooled = pooled,
                     .threads = threads,
                     .seed = o->seed * 31 + 17, /* not the --unlabeled views' */
                     .dim = xf__ft_boundary_dim(m, layer, pooled),
                     .two_strong = 1};
    xf_status s = xf__ftunl_open(&pool, dirs, n_udirs + 1, err);
    if (!s) {
        o->pretrain_views = xf__ftunl_views, o->pretrain_user = &pool;
        xf__blas_threads(threads); /* training: BLAS on all cores (the pipeline set it to 1) */
        if (!(s = xf__ft_pretrain(m, o, pool.dim, g, err)))
            o->init = g, o->pretrain_images = pool.n;
    }
    xf__ftunl_free(&pool);
    o->pretrain_views = NULL, o->pretrain_user = NULL;
    return s;
}
