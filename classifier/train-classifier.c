/* train-classifier — feature file + labels -> classifier head file (GGUF).
 *
 * It is: the option table, reading the feature file and the labels, xf__train_head and the
 * head's write. It is not: the training logic (train.c, linear_train.c).
 */
#include "cli.h"
#include "io.h"
#include "provenance.h"
#include "train.h"

#include <string.h>
#include <time.h>

/* --grid LO:HI:STEP (log10 C) */
static int parse_grid(const char *v, void *dest, char *why, size_t n)
{
    double *g = dest;
    char extra;
    if (sscanf(v, "%lf:%lf:%lf%c", &g[0], &g[1], &g[2], &extra) != 3 || !(g[2] > 0) ||
        g[1] < g[0] || g[0] <= -10 || g[1] >= 10 || (g[1] - g[0]) / g[2] > 99)
        return snprintf(why, n,
                        "expected LO:HI:STEP with -10 < LO <= HI < 10, STEP > 0, at "
                        "most 100 values"),
               0;
    return 1;
}

int main(int argc, char **argv)
{
    static const char *const solvers[] = {"lr", "svm", "l1lr", "l1svm", "cs", NULL};
    static const char *const norms[] = {"none", "l2", "standardize", "l2+standardize", NULL};
    static const char *const whitens[] = {"pca", "zca", NULL};
    const char *out = NULL, *labels = NULL, *unlabeled = NULL;
    xf_train_opts o = xf__train_default_opts();
    xf_selftrain_opts st = {.threshold = 0, .rounds = 5, .verbose = 1};
    int solver = 0, norm = 0, whiten = -1, quiet = 0, threads = 0;
    double grid[3] = {o.grid_lo, o.grid_hi, o.grid_step};
    const xf_cli_opt opts[] = {
        {"--out", "-o", XF_CLI_STR, &out, .meta = "FILE", .help = "output classifier file"},
        {"--labels", NULL, XF_CLI_STR, &labels, .meta = "FILE",
         .help = "labels: CSV or TSV, a header row or none, columns by name (path/filename/"
                 "image..., label/class...); paths whole, a trailing part or the basename"},
        {"--solver", NULL, XF_CLI_CHOICE, &solver, .choices = solvers,
         .help = "lr (default, L2 logistic regression), svm (L2-loss SVM), l1lr, l1svm "
                 "(L1-regularised), cs (Crammer-Singer)"},
        {"-C", NULL, XF_CLI_DOUBLE, &o.fixed_C, 1e-300, 1e9, .meta = "VALUE",
         .help = "fix C (default: chosen by stratified CV over 1e-4..10)"},
        {"--grid", NULL, XF_CLI_FUNC, grid, .parse = parse_grid, .meta = "LO:HI:STEP",
         .help = "log10 C grid for CV (default -4:1:0.5)"},
        {"--folds", NULL, XF_CLI_INT, &o.folds, 2, 50, .meta = "K",
         .help = "cross-validation folds (default 5)"},
        {"--seed", NULL, XF_CLI_U64, &o.seed, .meta = "N",
         .help = "fold assignment seed (default 1): same seed, same classifier bytes"},
        {"--balanced", NULL, XF_CLI_FLAG, &o.lin.balanced,
         .help = "weight classes by n / (k * n_class)"},
        {"--normalize", NULL, XF_CLI_CHOICE, &norm, .choices = norms,
         .help = "feature normalisation learned on the training rows (default none)"},
        {"--whiten", NULL, XF_CLI_CHOICE, &whiten, .choices = whitens,
         .help = "PCA or ZCA whitening after the normalisation, learned on the training rows"},
        {"--dims", NULL, XF_CLI_INT, &o.dims, 1, 1 << 22, .meta = "K",
         .help = "whitening components kept (default: all)"},
        {"--unlabeled", NULL, XF_CLI_STR, &unlabeled, .meta = "FEATS.bin",
         .help = "self-training: features of unlabelled images (labels ignored; may be the same "
                 "file, its labelled rows left out) pseudo-labelled by the head, in rounds"},
        {"--pseudo-threshold", NULL, XF_CLI_FLOAT, &st.threshold, 0, 1, .meta = "P",
         .help = "a pseudo-label's probability at least (default 0: the quota alone decides)"},
        {"--self-train-rounds", NULL, XF_CLI_INT, &st.rounds, 1, 100, .meta = "N",
         .help = "at most N rounds (default 5; fewer when the pseudo-labels stop changing)"},
        XF_CLI_THREADS_OPT(&threads),
        {"--quiet", "-q", XF_CLI_FLAG, &quiet, .help = "no CV table"},
        {0},
    };
    const xf_cli cli = {"train-classifier", "FEATS.bin -o CLASSIFIER.gguf [options]",
                        "Labels are the folder of each image path (the class folder under the "
                        "extracted root) unless --labels is given.",
                        NULL, opts};
    char **in;
    int n_in, rc = xf_cli_parse(&cli, argc, argv, &in, &n_in);
    if (rc >= 0)
        return rc;
    if (n_in != 1 || !out)
        return xf_cli_usage(&cli, "expected one feature file and -o CLASSIFIER.gguf (see --help)");
    if (o.dims && whiten < 0)
        return xf_cli_usage(&cli, "--dims goes with --whiten");
    o.lin.solver = (xf_solver) solver, o.norm = (xf_norm) norm, o.whiten = whiten + 1;
    o.grid_lo = grid[0], o.grid_hi = grid[1], o.grid_step = grid[2];
    o.verbose = !quiet, o.threads = xf_cli_threads(threads);
    xf_error err;
    xf_featset fs;
    xf_labelmap lm = {0};
    if (xf__out_check(out, &err) || xf__feats_read(in[0], &fs, &err))
        return xf_cli_fail(&cli, &err);
    if (o.dims > fs.dim) {
        xf__featset_free(&fs);
        return xf_cli_usage(&cli, "--dims %d outside 1..%lld (the feature dimension)", o.dims,
                            (long long) fs.dim);
    }
    if (labels && (xf__labels_read(labels, &lm, &err) != XF_OK ||
                   xf__labels_resolve(&lm, labels, fs.paths, fs.n, &err) != XF_OK)) {
        xf__featset_free(&fs);
        return xf_cli_fail(&cli, &err);
    }
    char bb[512] = "?";
    uint32_t crc;
    xf__provenance_backbone(fs.header_json, bb, sizeof bb, &crc, NULL);
    if (!quiet)
        fprintf(stderr, "train-classifier: %s: %zu records, %lld-d features of %s\n", in[0], fs.n,
                (long long) fs.dim, bb);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    xf_head h;
    xf_featset u = {0};
    st.unlabeled = &u, st.verbose = !quiet;
    xf_status s = unlabeled ? xf__feats_read(unlabeled, &u, &err) : XF_OK;
    if (!s)
        s = unlabeled ? xf__self_train(&fs, labels ? &lm : NULL, &o, &st, &h, &err)
                      : xf__train_head(&fs, labels ? &lm : NULL, &o, &h, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!s) {
        s = xf__head_write(&h, out, &err);
        if (!s)
            fprintf(stderr,
                    "train-classifier: %s: %d classes, %u rows, %d-d, solver %s, C %.4g, CV "
                    "accuracy %.4f, %.1f s\n",
                    out, h.k, h.n_train, h.dim, h.solver, (double) h.C, (double) h.cv_accuracy,
                    (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) * 1e-9);
        xf__head_free(&h);
    }
    xf__labels_free(&lm);
    xf__featset_free(&fs);
    xf__featset_free(&u);
    return s ? xf_cli_fail(&cli, &err) : XF_EXIT_OK;
}
