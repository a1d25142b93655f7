/* finetune — trains a new head, and optionally the top nodes of the backbone, on image folders.
 *
 * It is: the option table, the caching pass with progress (ft_dataset.c), xf__finetune and the
 * exit code. The result is an ordinary weights file: `classify -m OUT` gives its classes,
 * `extract-features -w OUT` its tuned features. It is not: the training (finetune.c).
 */
#include "cli.h"
#include "curves.h"
#include "finetune.h"
#include "ft_contrastive.h"
#include "ft_dataset.h"
#include "ft_step.h"
#include "ft_unlabeled.h"
#include "gemm.h"
#include "io.h"

#include <string.h>

/* one caching pass with its progress line */
static xf_status cache(xf_ftdata *d, const xf_model *m, const char *dir, const char *layer,
                       int pooled, int threads, int quiet, xf_error *err)
{
    xf_cli_progress bar;
    xf_cli_progress_start(&bar, "finetune", "images", 0, 0, quiet);
    d->progress = xf_cli_progress_hook, d->progress_user = &bar;
    xf_status s = xf__ftdata_fill(d, m, dir, layer, pooled, threads, 0, 0, err);
    xf_cli_progress_end(&bar);
    d->progress = NULL;
    return s;
}

int main(int argc, char **argv)
{
    xf_ft_opts o = xf__ft_default_opts();
    xf_cli_weights w = {0};
    const char *val = NULL, *out = NULL, *cache_dir = NULL, *plot = NULL, *wpath, *layer;
    xf_curves curves = {0};
    int threads = 0, augment = 0, quiet = 0, opt = 3;
    xf_cli_ints hidden = {o.hidden, 0, 4};
    const char *udirs[64];
    xf_cli_list ulist = {udirs, 0, 64};
    const xf_cli_opt opts[] = {
        {"--out", "-o", XF_CLI_STR, &out, .meta = "FILE", .help = "the fine-tuned model"},
        {"--val", NULL, XF_CLI_STR, &val, .meta = "DIR",
         .help = "validation images (class folders) for early stopping"},
        XF_CLI_WEIGHTS_OPTS(&w),
        {"--unfreeze-from", NULL, XF_CLI_STR, &o.unfreeze_from, .meta = "NODE",
         .help = "train this node and everything after it up to the feature layer (default: head "
                 "only; see extract-features --list-layers)"},
        {"--unfreeze", NULL, XF_CLI_INT, &o.unfreeze, 1, 1e6, .meta = "K",
         .help = "or: the last K weighted nodes (earlier if a residual crosses)"},
        {"--hidden", NULL, XF_CLI_FUNC, &hidden, .parse = xf_cli_parse_ints, .meta = "N[,N...]",
         .help = "MLP head hidden sizes (ReLU); default: a linear head"},
        {"--leaky", NULL, XF_CLI_FLAG, &o.leaky, .help = "leaky ReLU (0.01) in hidden layers"},
        {"--prelu", NULL, XF_CLI_FLAG, &o.prelu, .help = "PReLU (learned slopes) in hidden layers"},
        {"--freeze-bn", NULL, XF_CLI_FLAG, &o.freeze_bn,
         .help = "keep the scale/shift of unfrozen batch norms (models converted with xfer-convert "
                 "--keep-bn)"},
        {"--epochs", NULL, XF_CLI_INT, &o.epochs, 1, 10000, .meta = "N", .help = "(20)"},
        {"--batch", NULL, XF_CLI_INT, &o.batch, 1, 4096, .meta = "N", .help = "(32)"},
        {"--lr", NULL, XF_CLI_FLOAT, &o.lr, 1e-12, 9.999, .meta = "F", .help = "(1e-3)"},
        {"--weight-decay", NULL, XF_CLI_FLOAT, &o.weight_decay, 0, 1e3, .meta = "F",
         .help = "on trainable weights, not biases (default 1e-4)"},
        XF_FT_OPTIM_OPTS(&o, &opt),
        {"--dropout", NULL, XF_CLI_FLOAT, &o.dropout, 0, 0.9999, .meta = "F", .help = "(0)"},
        {"--label-smoothing", NULL, XF_CLI_FLOAT, &o.label_smoothing, 0, 0.9999, .meta = "F"},
        {"--balanced", NULL, XF_CLI_FLAG, &o.balanced, .help = "class weights n / (k * n_class)"},
        XF_FT_SCHEDULE_OPTS(&o),
        {"--patience", NULL, XF_CLI_INT, &o.patience, 0, 10000, .meta = "N",
         .help = "stop after N epochs without a better val accuracy, the best kept (5; 0: never)"},
        {"--augment", NULL, XF_CLI_FLAG, &augment,
         .help = "random resized crop + flip of the training images, recomputed every epoch"},
        {"--cache-dir", NULL, XF_CLI_STR, &cache_dir, .meta = "DIR",
         .help = "the frozen part's outputs in a file in DIR, reused by a later run (not with "
                 "--augment)"},
        XF_FT_UNLABELED_OPTS(&ulist, &o),
        XF_FT_PRETRAIN_OPTS(&o),
        {"--seed", NULL, XF_CLI_U64, &o.seed, .meta = "N",
         .help = "(default 1): same seed, same file, whatever -j"},
        XF_CLI_THREADS_OPT(&threads),
        {"--quiet", "-q", XF_CLI_FLAG, &quiet, .help = "no progress or per-epoch log"},
        {"--plot", NULL, XF_CLI_STR, &plot, .meta = "FILE",
         .help = "the learning curves (loss, accuracy per epoch) as SVG"},
        {0},
    };
    const xf_cli cli = {"finetune", "TRAIN_DIR [--val VAL_DIR] -o OUT.gguf [options]",
                        "Labels are the image folders' names. The frozen part runs once per "
                        "image (cached); the per-epoch log marks with * the epochs that improved "
                        "the validation accuracy, and the best one is kept.",
                        NULL, opts};
    char **in;
    int n_in, rc = xf_cli_parse(&cli, argc, argv, &in, &n_in);
    if (rc >= 0)
        return rc;
    if (n_in != 1 || !out)
        return xf_cli_usage(&cli, "expected one TRAIN_DIR and -o OUT.gguf (see --help)");
    o.optimizer = xf__optim_at(opt)->name, o.verbose = !quiet, o.n_hidden = hidden.n;
    o.on_epoch = plot ? xf__curves_add : NULL, o.epoch_user = &curves;
    xf_error err;
    xf_model *m;
    if (xf__out_check(out, &err) || (plot && xf__out_check(plot, &err)))
        return xf_cli_fail(&cli, &err);
    if ((rc = xf_cli_open_model(&cli, &w, &m, &wpath)) >= 0)
        return rc;
    int pooled, nt = xf_cli_threads(threads);
    xf_ftdata tr = {0}, va = {0};
    xf_status s = xf__ft_boundary(m, &o, &layer, &pooled, &err);
    if (s) /* a bad --unfreeze-from or --unfreeze */
        return (xf_model_free(m), xf_cli_usage(&cli, "%s", err.msg));
    tr.dim = va.dim = xf__ft_boundary_dim(m, layer, pooled);
    tr.grow = 1, tr.disk_dir = augment ? NULL : cache_dir; /* augmentation rewrites the rows */
    va.disk_dir = cache_dir;
    if (!quiet)
        fprintf(stderr, "finetune: backbone %s (%s); caching '%s'%s (%lld floats per image)\n",
                xf_model_meta_str(m, "general.name"), wpath, layer, pooled ? " pooled" : "",
                (long long) tr.dim);
    s = cache(&tr, m, in[0], layer, pooled, nt, quiet, &err);
    if (!s && val) {
        va.classes = tr.classes, va.k = tr.k;
        s = cache(&va, m, val, layer, pooled, nt, quiet, &err);
    }
    xf_ftaugment aug = {m, in[0], layer, pooled, nt, o.seed, &tr};
    o.refresh = augment ? xf__ftdata_refresh : NULL, o.refresh_user = &aug;
    xf_ftgraph pre_g = {0};
    if (!s && o.pretrain_epochs) /* the training and the unlabelled images (a pool of its own) */
        s = xf__ft_pretrain_folders(m, layer, pooled, nt, in[0], udirs, ulist.n, &o, &pre_g, &err);
    xf_ftunl ul = {
        .m = m, .layer = layer, .pooled = pooled, .threads = nt, .seed = o.seed, .dim = tr.dim};
    if (!s && ulist.n && (o.unlabeled_weight > 0 || !o.pretrain_epochs) &&
        !(s = xf__ftunl_open(&ul, udirs, ulist.n, &err)))
        o.unlabeled = xf__ftunl_views, o.unlabeled_user = &ul;
    if (!s) {
        xf__blas_threads(nt); /* training: BLAS on all cores (the pipeline set it to 1) */
        if (!quiet)
            fprintf(stderr, "finetune: %zu training, %zu validation images\n", tr.n, va.n);
        s = xf__finetune(m, &o, tr.x, tr.y, tr.n, va.x, va.y, va.n, tr.dim, tr.k, tr.classes, out,
                         &err);
    }
    if (!s && plot)
        s = xf__curves_svg(&curves, plot, &err);
    if (!s && !quiet)
        fprintf(stderr, "finetune: wrote %s (classify -m %s IMAGES/)\n", out, out);
    xf__curves_free(&curves);
    xf__ftgraph_free(&pre_g);
    xf__ftunl_free(&ul);
    xf__ftdata_free(&va);
    xf__ftdata_free(&tr);
    xf_model_free(m);
    return s ? xf_cli_fail(&cli, &err) : XF_EXIT_OK;
}
