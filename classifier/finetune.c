/* finetune.c — the training run of fine-tuning (see finetune.h).
 *
 * It is: mini-batches over the cached boundary activations with softmax cross-entropy (label
 * smoothing, class weights), dropout, the optimizer step (optim.c) on trainable parameters only,
 * linear warm-up then cosine or step decay, the consistency loss on unlabelled images
 * (pseudo-labels from weak views, learnt on strong ones), evaluation every epoch, early
 * stopping keeping the best epoch's parameters, and the xfer.finetune record. It is not: what
 * trains (ft_graph.c), the file it writes (ft_write.c) or data loading (ft_dataset.c).
 */
#include "ft_step.h"
#include "ops.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include <time.h>

xf_ft_opts xf__ft_default_opts(void)
{
    xf_ft_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 20;
    o.batch = 32;
    o.lr = 1e-3f;
    o.weight_decay = 1e-4f;
    o.momentum = 0.9f;
    o.optimizer = "adamw";
    o.beta1 = 0.9, o.beta2 = 0.999, o.eps = 1e-8, o.rho = 0.9;
    o.warmup = 1;
    o.patience = 5;
    o.seed = 1;
    o.step_gamma = 0.1f;
    o.pseudo_threshold = 0.95f, o.unlabeled_weight = 1.0f, o.mu = 7;
    o.pretrain_batch = 128, o.proj_dim = 128, o.temperature = 0.2f;
    return o;
}

/* this epoch's unlabelled views and where the steps are in them */
typedef struct {
    const float *weak, *strong;
    size_t n, pos, *order, *rows; /* rows: a batch's indices */
    uint64_t seed;
    size_t seen, used;    /* rows this epoch, those above the threshold */
    double loss;          /* their summed cross-entropy */
    double *prior, *mean; /* --align: labelled class frequencies, running mean prediction */
    long batches;
} unlabelled;

/* distribution alignment of cnt rows of k probabilities, in place */
static void align(unlabelled *u, float *p, int cnt, int64_t k)
{
    for (int64_t j = 0; j < k; j++) { /* the mean over this batch, then a running average */
        double m = 0;
        for (int r = 0; r < cnt; r++)
            m += (double) p[(int64_t) r * k + j] / cnt;
        u->mean[j] = u->batches ? 0.9 * u->mean[j] + 0.1 * m : m;
    }
    u->batches++;
    for (int r = 0; r < cnt; r++) {
        float *q = p + (int64_t) r * k;
        double z = 0;
        for (int64_t j = 0; j < k; j++)
            z += (double) (q[j] = (float) ((double) q[j] * u->prior[j] / (u->mean[j] + 1e-12)));
        for (int64_t j = 0; j < k; j++)
            q[j] = z > 0 ? (float) ((double) q[j] / z) : q[j];
    }
}

/* The consistency part of one step: mu * batch unlabelled rows, batch rows at a time. The weak
 * view's prediction (no dropout) labels the rows it is sure of; the strong view of those learns
 * it, the gradient added to the labelled batch's. */
static xf_status unlabelled_step(xf_ftgraph *t, xf_ftwork *w, const xf_ft_opts *o, unlabelled *u,
                                 int64_t bdim, int64_t k, int *yb, float *keep, xf_error *err)
{
    int last = t->gb.g.n_nodes - 1, total = o->mu * o->batch;
    xf_status s = XF_OK;
    for (int done = 0; !s && done < total; done += w->batch) {
        int cnt = total - done < w->batch ? total - done : w->batch, sure = 0;
        size_t *rows = u->rows;
        for (int r = 0; r < cnt; r++) {
            if (u->pos == u->n) { /* the pool starts over, reshuffled */
                for (size_t i = u->n; i > 1; i--) {
                    size_t j = (size_t) (xf__ft_rnd(&u->seed) % i), tmp = u->order[i - 1];
                    u->order[i - 1] = u->order[j], u->order[j] = tmp;
                }
                u->pos = 0;
            }
            rows[r] = u->order[u->pos++];
            memcpy(w->buf[0] + (size_t) r * (size_t) bdim, u->weak + rows[r] * (size_t) bdim,
                   (size_t) bdim * sizeof(float));
        }
        xf__ft_forward(t, w, cnt, 0, NULL);
        xf__softmax(w->buf[last], cnt, k, w->grad[last]);
        if (o->align)
            align(u, w->grad[last], cnt, k);
        for (int r = 0; r < cnt; r++) {
            const float *p = w->grad[last] + (int64_t) r * k;
            int arg = 0;
            for (int64_t j = 1; j < k; j++)
                arg = p[j] > p[arg] ? (int) j : arg;
            keep[r] = p[arg] >= o->pseudo_threshold ? 1.0f : 0.0f;
            yb[r] = arg;
            sure += keep[r] > 0;
        }
        u->seen += (size_t) cnt, u->used += (size_t) sure;
        if (!sure)
            continue;
        for (int r = 0; r < cnt; r++)
            memcpy(w->buf[0] + (size_t) r * (size_t) bdim, u->strong + rows[r] * (size_t) bdim,
                   (size_t) bdim * sizeof(float));
        xf__ft_forward(t, w, cnt, o->dropout, &u->seed);
        xf__softmax(w->buf[last], cnt, k, w->grad[last]);
        float scale = o->unlabeled_weight / (float) total;
        for (int r = 0; r < cnt; r++) {
            float *g = w->grad[last] + (int64_t) r * k;
            if (keep[r] > 0)
                u->loss -= log((double) g[yb[r]] + 1e-30);
            for (int64_t j = 0; j < k; j++)
                g[j] = keep[r] * scale * (g[j] - (j == yb[r] ? 1.0f : 0.0f));
        }
        s = xf__ft_backward(t, w, cnt, o->dropout, err);
    }
    return s;
}

static void evaluate(xf_ftgraph *t, xf_ftwork *w, const float *x, const int *y, size_t n,
                     int64_t bdim, double *loss, double *acc)
{
    int last = t->gb.g.n_nodes - 1;
    int64_t k = t->gb.g.nodes[last].c;
    double l = 0;
    size_t hit = 0;
    for (size_t r0 = 0; r0 < n; r0 += (size_t) w->batch) {
        int cnt = (int) (n - r0 < (size_t) w->batch ? n - r0 : (size_t) w->batch);
        memcpy(w->buf[0], x + r0 * (size_t) bdim, (size_t) cnt * (size_t) bdim * sizeof(float));
        xf__ft_forward(t, w, cnt, 0, NULL);
        l += xf__softmax_xent(w->buf[last], y + r0, cnt, k, 0, w->grad[last]) * cnt;
        for (int r = 0; r < cnt; r++) {
            const float *lg = w->buf[last] + (int64_t) r * k;
            int arg = 0;
            for (int64_t j = 1; j < k; j++)
                arg = lg[j] > lg[arg] ? (int) j : arg;
            hit += arg == y[r0 + (size_t) r];
        }
    }
    *loss = n ? l / (double) n : 0;
    *acc = n ? (double) hit / (double) n : 0;
}

/* what was trained and how: the fine-tuned file's xfer.finetune record */
static char *record(const xf_ftgraph *t, const xf_ft_opts *o, const xf_optim *opt, int epoch,
                    const char *acc_key, double acc, size_t n_unl)
{
    int trained = 0;
    const char *first = "";
    for (int i = 1; i < t->head_first; i++)
        if (t->src[i] >= 0 && !trained++)
            first = t->gb.g.nodes[i].name;
    cJSON *j = cJSON_CreateObject(), *hidden = cJSON_CreateArray();
    for (int h = 0; hidden && h < o->n_hidden; h++)
        cJSON_AddItemToArray(hidden, cJSON_CreateNumber(o->hidden[h]));
    char v[32];
    cJSON_AddStringToObject(j, "unfreeze_from", first);
    cJSON_AddNumberToObject(j, "trainable_nodes", trained);
    cJSON_AddItemToObject(j, "hidden", hidden);
    cJSON_AddStringToObject(j, "hidden_activation",
                            o->prelu   ? "prelu"
                            : o->leaky ? "leaky"
                                       : "relu");
    cJSON_AddNumberToObject(j, "best_epoch", epoch);
    snprintf(v, sizeof v, "%.4f", acc);
    cJSON_AddNumberToObject(j, acc_key, strtod(v, NULL));
    cJSON_AddStringToObject(j, "optimizer", opt->name);
    snprintf(v, sizeof v, "%g", (double) o->lr);
    cJSON_AddNumberToObject(j, "lr", strtod(v, NULL));
    cJSON_AddNumberToObject(j, "batch", o->batch);
    cJSON_AddNumberToObject(j, "epochs", o->epochs);
    cJSON_AddBoolToObject(j, "augment", o->refresh != NULL);
    if (o->unlabeled) {
        cJSON_AddNumberToObject(j, "unlabeled_images", (double) n_unl);
        snprintf(v, sizeof v, "%g", (double) o->pseudo_threshold);
        cJSON_AddNumberToObject(j, "pseudo_threshold", strtod(v, NULL));
        snprintf(v, sizeof v, "%g", (double) o->unlabeled_weight);
        cJSON_AddNumberToObject(j, "unlabeled_weight", strtod(v, NULL));
        cJSON_AddNumberToObject(j, "mu", o->mu);
        cJSON_AddBoolToObject(j, "align", o->align);
    }
    if (o->init) {
        cJSON_AddNumberToObject(j, "pretrain_epochs", o->pretrain_epochs);
        cJSON_AddNumberToObject(j, "pretrain_images", (double) o->pretrain_images);
        cJSON_AddNumberToObject(j, "pretrain_batch", o->pretrain_batch);
        snprintf(v, sizeof v, "%g", (double) o->temperature);
        cJSON_AddNumberToObject(j, "temperature", strtod(v, NULL));
        cJSON_AddNumberToObject(j, "proj_dim", o->proj_dim);
        snprintf(v, sizeof v, "%g", (double) (o->pretrain_lr > 0 ? o->pretrain_lr : o->lr));
        cJSON_AddNumberToObject(j, "pretrain_lr", strtod(v, NULL));
    }
    cJSON_AddNumberToObject(j, "seed", (double) o->seed);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return text;
}

/* ---- the loop -----------------------------------------------------------------------------------
 */
static xf_status snapshot(const xf_ftgraph *t, float ***best, xf_error *err)
{
    if (!*best && !(*best = calloc((size_t) t->gb.g.n_nodes * 2, sizeof(float *))))
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < t->gb.g.n_nodes; i++) {
        if (!t->w[i].n)
            continue;
        if (!(*best)[2 * i] && (!((*best)[2 * i] = malloc(t->w[i].n * sizeof(float))) ||
                                !((*best)[2 * i + 1] = malloc((t->b[i].n + 1) * sizeof(float)))))
            return xf__fail(err, XF_ERR_NOMEM, "out of memory");
        memcpy((*best)[2 * i], t->w[i].p, t->w[i].n * sizeof(float));
        if (t->b[i].n)
            memcpy((*best)[2 * i + 1], t->b[i].p, t->b[i].n * sizeof(float));
    }
    return XF_OK;
}

xf_status xf__finetune(const xf_model *m, const xf_ft_opts *o, float *train_x, const int *train_y,
                       size_t n_train, const float *val_x, const int *val_y, size_t n_val,
                       int64_t bdim, int k, char *const *labels, const char *out_path,
                       xf_error *err)
{
    if (o->epochs < 1 || o->batch < 1 || !(o->lr > 0) || o->dropout < 0 || o->dropout >= 1 ||
        n_train < 1 || k < 2)
        return xf__fail(err, XF_ERR_ARG, "bad fine-tuning settings or no data");
    const xf_optim *opt = xf__optim_find(o->optimizer ? o->optimizer : "adamw");
    if (!opt)
        return xf__fail(err, XF_ERR_ARG, "unknown optimizer '%s'", o->optimizer);
    xf_ftgraph t;
    xf_ftwork w;
    memset(&w, 0, sizeof w);
    xf_status s = xf__ftgraph_build(m, o, k, opt->n_state, &t, err);
    const xf_node *in = &t.gb.g.nodes[0];
    if (!s && in->h * in->w * in->c != bdim)
        s = xf__fail(err, XF_ERR_ARG, "cached rows have %lld floats, the trainable part reads %lld",
                     (long long) bdim, (long long) (in->h * in->w * in->c));
    if (!s && o->init) { /* the pre-trained backbone nodes (the same plan, the same indices) */
        if (o->init->head_first != t.head_first)
            s = xf__fail(err, XF_ERR_ARG, "the pre-trained graph does not match the trainable one");
        for (int i = 1; !s && i < t.head_first; i++) {
            if (t.w[i].n)
                memcpy(t.w[i].p, o->init->w[i].p, t.w[i].n * sizeof(float));
            if (t.b[i].n)
                memcpy(t.b[i].p, o->init->b[i].p, t.b[i].n * sizeof(float));
        }
    }
    if (!s)
        s = xf__ftwork_alloc(&t, o->batch, &w, err);
    size_t *order = malloc(n_train * sizeof *order);
    int *yb = malloc((size_t) o->batch * sizeof *yb);
    float **best = NULL, *keep = malloc((size_t) o->batch * sizeof *keep);
    unlabelled u = {0};
    u.rows = malloc((size_t) o->batch * sizeof *u.rows);
    u.seed = o->seed * 0x9E3779B97F4A7C15ull + 7;
    u.prior = calloc((size_t) k, sizeof(double)), u.mean = calloc((size_t) k, sizeof(double));
    for (size_t i = 0; u.prior && i < n_train; i++)
        u.prior[train_y[i]] += 1.0 / (double) n_train;
    if (!s && (!order || !yb || !keep || !u.rows || !u.prior || !u.mean))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (!s && o->unlabeled && !(o->mu >= 1 && o->pseudo_threshold >= 0 && o->unlabeled_weight >= 0))
        s = xf__fail(err, XF_ERR_ARG, "bad unlabelled-data settings");
    struct timespec tv0, tv1;
    clock_gettime(CLOCK_MONOTONIC, &tv0);
    if (!s && o->unlabeled)
        s = o->unlabeled(o->unlabeled_user, 1, &u.weak, &u.strong, &u.n, err);
    clock_gettime(CLOCK_MONOTONIC, &tv1);
    double views_secs = /* the first epoch's, made before its steps could be counted */
        (double) (tv1.tv_sec - tv0.tv_sec) + (double) (tv1.tv_nsec - tv0.tv_nsec) * 1e-9;
    if (!s && o->unlabeled && !(u.order = malloc(u.n * sizeof *u.order)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    uint64_t seed = o->seed * 0x2545F4914F6CDD1Dull + 3;
    double best_acc = -1, best_loss = 1e300;
    int best_epoch = 0, since = 0, last = t.gb.g.n_nodes - 1;
    long step = 0, steps_per_epoch = (long) ((n_train + (size_t) o->batch - 1) / (size_t) o->batch);
    if (o->unlabeled) { /* an epoch is a pass over the longer of the two sets */
        size_t per = (size_t) o->mu * (size_t) o->batch;
        long us = (long) ((u.n + per - 1) / per);
        steps_per_epoch = us > steps_per_epoch ? us : steps_per_epoch;
    }
    long total = steps_per_epoch * o->epochs, warm = steps_per_epoch * o->warmup;
    size_t n_unl = u.n; /* the order's size: the first epoch's usable images */
    for (size_t i = 0; !s && i < n_train; i++)
        order[i] = i;
    float *cw = NULL;
    if (!s && o->balanced) {
        cw = calloc((size_t) k, sizeof(float));
        if (!cw)
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        for (size_t i = 0; cw && i < n_train; i++)
            cw[train_y[i]] += 1;
        int present = 0;
        for (int j = 0; cw && j < k; j++)
            present += cw[j] > 0;
        for (int j = 0; cw && j < k; j++)
            cw[j] = cw[j] > 0 ? (float) n_train / ((float) present * cw[j]) : 0.0f;
    }
    for (int ep = 1; !s && ep <= o->epochs; ep++) {
        struct timespec t0, t1;
        if (o->refresh && (s = o->refresh(o->refresh_user, ep, train_x, err)))
            break;
        clock_gettime(CLOCK_MONOTONIC, &tv0);
        if (o->unlabeled && ep > 1 &&
            (s = o->unlabeled(o->unlabeled_user, ep, &u.weak, &u.strong, &u.n, err)))
            break;
        clock_gettime(CLOCK_MONOTONIC, &tv1);
        if (ep > 1)
            views_secs =
                (double) (tv1.tv_sec - tv0.tv_sec) + (double) (tv1.tv_nsec - tv0.tv_nsec) * 1e-9;
        if (o->unlabeled) { /* the order covers this epoch's rows (fewer if images failed) */
            u.n = u.n < n_unl ? u.n : n_unl;
            for (size_t i = 0; i < u.n; i++)
                u.order[i] = i;
            u.pos = u.n, u.seen = u.used = 0, u.loss = 0; /* shuffled on first use */
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        double tl = 0;
        size_t r0 = n_train, seen = 0;
        for (long st = 0; !s && st < steps_per_epoch; st++, r0 += (size_t) o->batch) {
            if (r0 >= n_train) { /* (re)shuffle */
                for (size_t i = n_train; i > 1; i--) {
                    size_t j = (size_t) (xf__ft_rnd(&seed) % i), tmp = order[i - 1];
                    order[i - 1] = order[j];
                    order[j] = tmp;
                }
                r0 = 0;
            }
            int cnt = (int) (n_train - r0 < (size_t) o->batch ? n_train - r0 : (size_t) o->batch);
            seen += (size_t) cnt;
            for (int r = 0; r < cnt; r++) {
                memcpy(w.buf[0] + (size_t) r * (size_t) bdim,
                       train_x + order[r0 + (size_t) r] * (size_t) bdim,
                       (size_t) bdim * sizeof(float));
                yb[r] = train_y[order[r0 + (size_t) r]];
            }
            xf__ft_forward(&t, &w, cnt, o->dropout, &seed);
            tl += xf__softmax_xent(w.buf[last], yb, cnt, k, o->label_smoothing, w.grad[last]) * cnt;
            if (cw) /* class weights scale each row's gradient */
                for (int r = 0; r < cnt; r++)
                    for (int j = 0; j < k; j++)
                        w.grad[last][(size_t) r * (size_t) k + (size_t) j] *= cw[yb[r]];
            if ((s = xf__ft_backward(&t, &w, cnt, o->dropout, err)))
                break;
            if (o->unlabeled && (s = unlabelled_step(&t, &w, o, &u, bdim, k, yb, keep, err)))
                break;
            step++;
            double lr = xf__ft_lr((double) o->lr, step, warm, total, ep, o->step_every,
                                  (double) o->step_gamma);
            xf_optim_hp hp = {(double) (float) lr,  o->beta1, o->beta2, o->eps, o->rho,
                              (double) o->momentum, step};
            xf__ft_update(&t, opt, &hp, o->weight_decay);
        }
        if (s)
            break;
        struct timespec t_mid;
        clock_gettime(CLOCK_MONOTONIC, &t_mid);
        double train_secs =
            (double) (t_mid.tv_sec - t0.tv_sec) + (double) (t_mid.tv_nsec - t0.tv_nsec) * 1e-9;
        double vl = 0, va = 0;
        evaluate(&t, &w, n_val ? val_x : train_x, n_val ? val_y : train_y, n_val ? n_val : n_train,
                 bdim, &vl, &va);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs =
            (double) (t1.tv_sec - t_mid.tv_sec) + (double) (t1.tv_nsec - t_mid.tv_nsec) * 1e-9;
        int better = va > best_acc || (va == best_acc && vl < best_loss);
        if (o->on_epoch)
            o->on_epoch(o->epoch_user, ep, tl / (double) seen, vl, va, n_val > 0);
        char unl[160] = "";
        if (o->unlabeled)
            snprintf(unl, sizeof unl, "  pseudo-labelled %.1f%% (loss %.4f)  views %.1f s",
                     u.seen ? 100.0 * (double) u.used / (double) u.seen : 0.0,
                     u.used ? u.loss / (double) u.used : 0.0, views_secs);
        if (o->verbose)
            xf__log(XF_LOG_INFO,
                    "finetune: epoch %2d  train loss %.4f  %s loss %.4f  %s accuracy "
                    "%.4f  train %.2f s  eval %.2f s%s%s\n",
                    ep, tl / (double) seen, n_val ? "val" : "train (eval)", vl,
                    n_val ? "val" : "train (eval)", va, train_secs, secs, unl, better ? "  *" : "");
        if (better) {
            best_acc = va, best_loss = vl, best_epoch = ep, since = 0;
            s = snapshot(&t, &best, err);
        } else if (o->patience && ++since >= o->patience) {
            if (o->verbose)
                xf__log(XF_LOG_INFO, "finetune: no better %s accuracy for %d epochs, stopping\n",
                        n_val ? "val" : "train", o->patience);
            break;
        }
    }
    if (!s && best) { /* restore the best epoch */
        for (int i = 0; i < t.gb.g.n_nodes; i++)
            if (t.w[i].n) {
                memcpy(t.w[i].p, best[2 * i], t.w[i].n * sizeof(float));
                if (t.b[i].n)
                    memcpy(t.b[i].p, best[2 * i + 1], t.b[i].n * sizeof(float));
            }
        if (o->verbose)
            xf__log(XF_LOG_INFO, "finetune: keeping epoch %d (%s accuracy %.4f)\n", best_epoch,
                    n_val ? "val" : "train", best_acc);
        char *info = record(&t, o, opt, best_epoch, n_val ? "val_accuracy" : "train_accuracy",
                            best_acc, n_unl);
        s = info ? xf__ft_write(m, &t, labels, k, info, out_path, err)
                 : xf__fail(err, XF_ERR_NOMEM, "out of memory");
        free(info);
    }
    if (best)
        for (int i = 0; i < 2 * t.gb.g.n_nodes; i++)
            free(best[i]);
    free(best);
    free(cw);
    free(order);
    free(yb);
    free(keep), free(u.rows), free(u.order), free(u.prior), free(u.mean);
    xf__ftwork_free(&t, &w);
    xf__ftgraph_free(&t);
    return s;
}
