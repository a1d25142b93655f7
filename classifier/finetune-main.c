/* finetune — trains a new head, and optionally the top nodes of the backbone, on image folders.
 *
 * It is: argument parsing; caching the frozen part's output for the training and validation
 * images with the extraction pipeline (labels from folder names); xf__finetune; exit codes
 * (0 ok, 1 error, 2 usage). The result is an ordinary weights file: `classify -m OUT` gives its
 * classes, `extract-features -w OUT` its tuned features. The cache lives in memory, or with
 * --cache-dir in a reusable file (ftcache.c). It is not: the training (finetune.c).
 */
#include "cli.h"
#include "folder_labels.h"
#include "ftcache.h"
#include "gemm.h"
#include "feats.h"
#include "finetune.h"
#include "inputs.h"
#include "labels.h"
#include "pipeline.h"

#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: finetune TRAIN_DIR [--val VAL_DIR] -o OUT.gguf [options]\n"
        "Labels are the image folders' names. The frozen part runs once per image (cached).\n"
        "  -w FILE               backbone (default: the best in weights/, see extract-features)\n"
        "  --unfreeze-from NODE  train this node and everything after it up to the feature layer\n"
        "                        (default: head only); see extract-features --list-layers\n"
        "  --unfreeze K          or: the last K weighted nodes (earlier if a residual crosses)\n"
        "  --hidden N[,N...]     MLP head hidden sizes (ReLU); default: a linear head\n"
        "  --leaky               leaky ReLU (slope 0.01) in the hidden layers\n"
        "  --prelu               PReLU in the hidden layers (a learned slope per unit)\n"
        "  --freeze-bn           keep the scale/shift of unfrozen batch norms (models converted\n"
        "                        with xfer-convert --keep-bn; folded ones train with their conv)\n"
        "  --epochs N (20)  --batch N (32)  --lr F (1e-3)  --weight-decay F (1e-4)\n"
        "  --optimizer sgd|nesterov|adam|adamw|rmsprop|adagrad (adamw)  --momentum F (0.9, SGD)\n"
        "  --dropout F (0)  --label-smoothing F (0)  --balanced (class weights)\n"
        "  --warmup EPOCHS (1)  then cosine decay, or --step-epochs N --step-gamma F (0.1)\n"
        "  --patience N (5: stop after N epochs without a better val accuracy; 0 never)\n"
        "  --augment             random resized crop + flip: the frozen part runs again every\n"
        "                        epoch on new crops (slower; the validation set is not augmented)\n"
        "  --cache-dir DIR       keep the frozen part's outputs in a file in DIR instead of\n"
        "                        memory (datasets larger than RAM); a later run with the same\n"
        "                        model, boundary and images reuses it (the training set is not\n"
        "                        cached on disk with --augment)\n"
        "  --seed N (1)  -j N (threads for the caching pass)  --quiet\n");
}

typedef struct {
    float *x;
    int *y;
    size_t n, cap;
    int64_t dim;
    char **classes;
    int k, grow; /* grow: training set, new classes are collected */
    size_t skipped;
    const char *disk_dir; /* --cache-dir: rows go to a file, x and y map it */
    xf_ftcache disk;
    int mapped;
} cache;

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    (void) idx;
    cache *c = user;
    if (st != XF_OK) {
        fprintf(stderr, "%s\n", reason);
        c->skipped++;
        return XF_OK;
    }
    char buf[1024];
    const char *l = xf__label_of(NULL, path, buf, sizeof buf);
    int y = l ? xf__class_index(c->classes, c->k, l) : -1;
    if (y < 0) {
        fprintf(stderr, "finetune: %s: class '%s' not in the training set, skipped\n", path,
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

static xf_status fill(const xf_model *m, const char *dir, const char *layer, int pooled,
                      int threads, int augment, uint64_t aug_seed, cache *c, xf_error *err)
{
    xf_inputs in = {0};
    xf_status s = xf__inputs_add(&in, dir, NULL, err);
    if (!s && in.n == 0)
        s = xf__fail(err, XF_ERR_ARG, "%s: no images", dir);
    if (!s && c->grow) {
        c->k = xf__parent_classes(in.paths, in.n, &c->classes);
        if (c->k < 2)
            s = xf__fail(err, XF_ERR_ARG, "%s: need at least two class folders", dir);
    }
    xf_pipeline_opts po;
    memset(&po, 0, sizeof po);
    po.pp = xf_model_preproc(m);
    po.pp.augment = augment;
    po.pp.aug_seed = aug_seed;
    po.so = xf_session_default_opts();
    po.so.n_layers = 1;
    po.so.layers[0] = layer;
    po.so.pool = pooled ? XF_POOL_AVG : XF_POOL_NONE;
    po.threads = threads;
    po.batch = 4;
    po.emit = emit;
    po.user = c;
    size_t failed;
    if (!s && c->disk_dir) {
        uint64_t key = xf__ftcache_key(m, layer, pooled, &po.pp, in.paths, in.n, c->classes, c->k);
        if (xf__ftcache_load(&c->disk, c->disk_dir, key, c->dim, c->k, &c->x, &c->y, &c->n)) {
            fprintf(stderr, "finetune: %s: reusing %s (%zu images)\n", dir, c->disk.path, c->n);
            c->mapped = 1;
            xf__inputs_free(&in);
            return XF_OK;
        }
        s = xf__ftcache_create(&c->disk, c->disk_dir, key, c->dim, err);
    }
    if (!s)
        s = xf__pipeline_run(m, in.paths, in.n, &po, &failed, err);
    if (!s && c->disk_dir && !(s = xf__ftcache_finish(&c->disk, c->k, &c->x, &c->y, &c->n, err)))
        c->mapped = 1;
    xf__inputs_free(&in);
    return s;
}

/* --augment: the training images again, new crops for this epoch, same rows */
typedef struct {
    const xf_model *m;
    const char *dir, *layer;
    int pooled, threads;
    uint64_t seed;
    cache *train;
} augmenter;

static xf_status refresh(void *user, int epoch, float *train_x, xf_error *err)
{
    augmenter *a = user;
    cache c = {0};
    c.dim = a->train->dim;
    c.classes = a->train->classes;
    c.k = a->train->k;
    xf_status s = fill(a->m, a->dir, a->layer, a->pooled, a->threads, 1,
                       a->seed * 1000003u + (uint64_t) epoch, &c, err);
    if (!s && (c.n != a->train->n || memcmp(c.y, a->train->y, c.n * sizeof(int)) != 0))
        s = xf__fail(err, XF_ERR_IO, "%s: the training images changed during training", a->dir);
    if (!s)
        memcpy(train_x, c.x, c.n * (size_t) c.dim * sizeof(float));
    free(c.x);
    free(c.y);
    return s;
}

int main(int argc, char **argv)
{
    const char *train = NULL, *val = NULL, *out = NULL, *wpath = NULL, *cache_dir = NULL;
    xf_ft_opts o = xf__ft_default_opts();
    o.verbose = 1;
    int threads = 0, augment = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int takes = a[0] == '-' && strcmp(a, "--quiet") != 0 && strcmp(a, "-h") != 0 &&
                    strcmp(a, "--help") != 0 && strcmp(a, "--balanced") != 0 &&
                    strcmp(a, "--augment") != 0 && strcmp(a, "--leaky") != 0 &&
                    strcmp(a, "--prelu") != 0 && strcmp(a, "--freeze-bn") != 0;
        const char *v = takes ? (i + 1 < argc ? argv[++i] : NULL) : NULL;
        char *end = NULL;
        int ok = 1;
        if (takes && !v) {
            fprintf(stderr, "finetune: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--quiet") == 0) {
            o.verbose = 0;
        } else if (strcmp(a, "--balanced") == 0) {
            o.balanced = 1;
        } else if (strcmp(a, "--augment") == 0) {
            augment = 1;
        } else if (strcmp(a, "--prelu") == 0) {
            o.prelu = 1;
        } else if (strcmp(a, "--freeze-bn") == 0) {
            o.freeze_bn = 1;
        } else if (strcmp(a, "--leaky") == 0) {
            o.leaky = 1;
        } else if (strcmp(a, "--unfreeze") == 0) {
            o.unfreeze = (int) strtol(v, &end, 10), ok = !*end && o.unfreeze >= 1;
        } else if (strcmp(a, "--step-epochs") == 0) {
            o.step_every = (int) strtol(v, &end, 10), ok = !*end && o.step_every >= 1;
        } else if (strcmp(a, "--step-gamma") == 0) {
            o.step_gamma = strtof(v, &end), ok = !*end && o.step_gamma > 0 && o.step_gamma <= 1;
        } else if (strcmp(a, "--val") == 0) {
            val = v;
        } else if (strcmp(a, "--cache-dir") == 0) {
            cache_dir = v;
        } else if (strcmp(a, "-o") == 0) {
            out = v;
        } else if (strcmp(a, "-w") == 0) {
            wpath = v;
        } else if (strcmp(a, "--unfreeze-from") == 0) {
            o.unfreeze_from = v;
        } else if (strcmp(a, "--hidden") == 0) {
            const char *p = v;
            o.n_hidden = 0;
            while (ok && *p && o.n_hidden < 4) {
                long h = strtol(p, &end, 10);
                ok = end != p && h >= 1 && h <= 65536 && (*end == ',' || !*end);
                o.hidden[o.n_hidden++] = (int) h;
                p = *end ? end + 1 : end;
            }
            ok = ok && !*p;
        } else if (strcmp(a, "--epochs") == 0) {
            o.epochs = (int) strtol(v, &end, 10), ok = !*end && o.epochs >= 1 && o.epochs <= 10000;
        } else if (strcmp(a, "--batch") == 0) {
            o.batch = (int) strtol(v, &end, 10), ok = !*end && o.batch >= 1 && o.batch <= 4096;
        } else if (strcmp(a, "--patience") == 0) {
            o.patience = (int) strtol(v, &end, 10), ok = !*end && o.patience >= 0;
        } else if (strcmp(a, "--warmup") == 0) {
            o.warmup = (int) strtol(v, &end, 10), ok = !*end && o.warmup >= 0;
        } else if (strcmp(a, "-j") == 0) {
            threads = (int) strtol(v, &end, 10), ok = !*end && threads >= 1 && threads <= 256;
        } else if (strcmp(a, "--seed") == 0) {
            o.seed = strtoull(v, &end, 10), ok = !*end;
        } else if (strcmp(a, "--lr") == 0) {
            o.lr = strtof(v, &end), ok = !*end && o.lr > 0 && o.lr < 10;
        } else if (strcmp(a, "--weight-decay") == 0) {
            o.weight_decay = strtof(v, &end), ok = !*end && o.weight_decay >= 0;
        } else if (strcmp(a, "--momentum") == 0) {
            o.momentum = strtof(v, &end), ok = !*end && o.momentum >= 0 && o.momentum < 1;
        } else if (strcmp(a, "--dropout") == 0) {
            o.dropout = strtof(v, &end), ok = !*end && o.dropout >= 0 && o.dropout < 1;
        } else if (strcmp(a, "--label-smoothing") == 0) {
            o.label_smoothing = strtof(v, &end);
            ok = !*end && o.label_smoothing >= 0 && o.label_smoothing < 1;
        } else if (strcmp(a, "--optimizer") == 0) {
            ok = 1;
            if (strcmp(v, "sgd") == 0)
                o.opt = XF_OPT_SGD;
            else if (strcmp(v, "nesterov") == 0)
                o.opt = XF_OPT_NESTEROV;
            else if (strcmp(v, "adam") == 0)
                o.opt = XF_OPT_ADAM;
            else if (strcmp(v, "adamw") == 0)
                o.opt = XF_OPT_ADAMW;
            else if (strcmp(v, "rmsprop") == 0)
                o.opt = XF_OPT_RMSPROP;
            else if (strcmp(v, "adagrad") == 0)
                o.opt = XF_OPT_ADAGRAD;
            else
                ok = 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "finetune: unknown option %s (see --help)\n", a);
            return 2;
        } else if (train) {
            fprintf(stderr, "finetune: one training folder only\n");
            return 2;
        } else {
            train = a;
        }
        if (!ok) {
            fprintf(stderr, "finetune: bad value '%s' for %s (see --help)\n", v ? v : "", a);
            return 2;
        }
    }
    if (!train || !out) {
        usage(stderr);
        return 2;
    }
    char wbuf[4096];
    if (!wpath) {
        xf__default_weights(wbuf, sizeof wbuf);
        wpath = wbuf;
    }
    xf_error err;
    xf_model *m;
    if (xf_model_open(wpath, NULL, &m, &err) != XF_OK) {
        fprintf(stderr, "finetune: %s\n", err.msg);
        return 1;
    }
    const char *layer;
    int pooled;
    cache tr = {0}, va = {0};
    xf_status s = xf__ft_boundary(m, &o, &layer, &pooled, &err);
    if (!s) {
        int t = xf_model_tensor_find(m, layer);
        int64_t h, w, c;
        xf_model_tensor_shape(m, t, &h, &w, &c);
        tr.dim = va.dim = pooled ? c : h * w * c;
        tr.grow = 1;
        tr.disk_dir = augment ? NULL : cache_dir; /* augmentation rewrites the rows */
        va.disk_dir = cache_dir;
        if (o.verbose)
            fprintf(stderr, "finetune: backbone %s (%s); caching '%s'%s (%lld floats per image)\n",
                    xf_model_meta_str(m, "general.name"), wpath, layer, pooled ? " pooled" : "",
                    (long long) tr.dim);
        s = fill(m, train, layer, pooled, threads ? threads : xf__cpu_count(), 0, 0, &tr, &err);
    }
    if (!s && val) {
        va.classes = tr.classes;
        va.k = tr.k;
        s = fill(m, val, layer, pooled, threads ? threads : xf__cpu_count(), 0, 0, &va, &err);
    }
    augmenter aug = {m, train, layer, pooled, threads ? threads : xf__cpu_count(), o.seed, &tr};
    if (augment) {
        o.refresh = refresh;
        o.refresh_user = &aug;
    }
    if (!s) {
        if (!augment) /* training: BLAS on all cores (the pipeline set it to 1 per worker) */
            xf__blas_threads(threads ? threads : xf__cpu_count());
        if (o.verbose)
            fprintf(stderr, "finetune: %zu training and %zu validation images, %d classes\n", tr.n,
                    va.n, tr.k);
        s = xf__finetune(m, &o, tr.x, tr.y, tr.n, va.x, va.y, va.n, tr.dim, tr.k, tr.classes, out,
                         &err);
    }
    if (!s && o.verbose)
        fprintf(stderr, "finetune: wrote %s (classify -m %s IMAGES/)\n", out, out);
    for (int i = 0; i < tr.k; i++)
        free(tr.classes[i]);
    free(tr.classes);
    if (!tr.mapped)
        free(tr.x), free(tr.y);
    if (!va.mapped)
        free(va.x), free(va.y);
    xf__ftcache_close(&tr.disk);
    xf__ftcache_close(&va.disk);
    xf_model_free(m);
    if (s) {
        fprintf(stderr, "finetune: %s\n", err.msg);
        return s == XF_ERR_ARG ? 2 : 1;
    }
    return 0;
}
