/* xfer-audit — what to fix in a labelled image set before training: likely wrong labels,
 * duplicates, test images that copy training images, outliers; from features already extracted.
 *
 * It is: the option table, reading the feature files and the label file, the summary on
 * stderr. The analysis is audit.c's, the TSV and the cleaned label file findings.c's, the page
 * report.c's. It is not: a tool that changes the image folders (nothing there is moved).
 */
#include "audit.h"
#include "cli.h"
#include "io.h"

#include <string.h>

static void progress(void *user, const char *what, size_t done, size_t total)
{
    xf_cli_progress *p = user;
    if (!p->tool || strcmp(p->unit, what) != 0 || p->total != total) {
        if (p->tool)
            xf_cli_progress_end(p);
        xf_cli_progress_start(p, "xfer-audit", what, total, 0, p->quiet);
    }
    xf_cli_progress_tick(p, done);
}

int main(int argc, char **argv)
{
    const char *test = NULL, *labels = NULL, *tsv = NULL, *html = NULL, *fix = NULL;
    int quiet = 0, relabel = 0, threads = 0;
    xf_audit_opts o = xf__audit_default_opts();
    const xf_cli_opt opts[] = {
        {"--test", NULL, XF_CLI_STR, &test, .meta = "FEATS",
         .help = "the test set's features: leaks (copies of training images) and its duplicates"},
        {"--labels", NULL, XF_CLI_STR, &labels, .meta = "FILE",
         .help = "training labels: CSV or TSV (as train-classifier; default: the class folders)"},
        {"--tsv", NULL, XF_CLI_STR, &tsv, .meta = "FILE",
         .help = "the findings as TSV to FILE (default: standard output)"},
        {"--out", "-o", XF_CLI_STR, &html, .meta = "FILE",
         .help = "a self-contained HTML report with thumbnails"},
        {"--fix", NULL, XF_CLI_STR, &fix, .meta = "DIR",
         .help = "write DIR/labels.csv without the likely wrong labels (train-classifier "
                 "--labels); duplicates and outliers are left to you"},
        {"--relabel", NULL, XF_CLI_FLAG, &relabel,
         .help = "with --fix: give likely wrong labels their suggested class instead"},
        {"--folds", NULL, XF_CLI_INT, &o.folds, 2, 50, .meta = "K",
         .help = "out-of-fold probabilities by stratified K-fold (default 5)"},
        {"-C", NULL, XF_CLI_DOUBLE, &o.C, 1e-6, 1e6, .meta = "VALUE",
         .help = "the classifier's C, no grid (default: the best of 1e-4..10 by "
                 "cross-validation; above 20,000 rows, on a stratified part of 10,000)"},
        {"--seed", NULL, XF_CLI_U64, &o.seed, .meta = "N", .help = "fold assignment (default 1)"},
        {"--neighbours", NULL, XF_CLI_INT, &o.k, 1, 100, .meta = "K",
         .help = "nearest neighbours consulted (default 10)"},
        {"--duplicate-cosine", NULL, XF_CLI_DOUBLE, &o.dup_cosine, 0.5, 1, .meta = "C",
         .help = "near duplicates: cosine of the features at least C (default 0.90)"},
        {"--knn-weight", NULL, XF_CLI_DOUBLE, &o.knn_weight, 0, 1, .meta = "W",
         .help = "weight of the neighbours' labels against the classifier's probabilities "
                 "(default 0.3; 0 with --label-prob 1: plain confident learning)"},
        {"--label-prob", NULL, XF_CLI_DOUBLE, &o.label_prob, 1e-6, 1, .meta = "P",
         .help = "likely wrong labels: only those the classifier gives a probability below P "
                 "(default 1/classes, chance; 1: all that confident learning prunes)"},
        {"--outlier-z", NULL, XF_CLI_DOUBLE, &o.outlier_z, 0, 1000, .meta = "Z",
         .help = "outliers: neighbour distance at least Z robust deviations (default 3.0)"},
        XF_CLI_THREADS_OPT(&threads),
        XF_CLI_QUIET_OPT(&quiet),
        {0},
    };
    const xf_cli cli = {"xfer-audit", "TRAIN.bin [options] > findings.tsv",
                        "Findings, one per line: kind (label, duplicate, leak, outlier), path, "
                        "other (the match or the nearest neighbour), score, label, suggested (the "
                        "likely class; 'identical' for files with the same bytes).",
                        XF_CLI_EXIT_TEXT, opts};
    char **in;
    int n_in, rc = xf_cli_parse(&cli, argc, argv, &in, &n_in);
    if (rc >= 0)
        return rc;
    if (n_in != 1)
        return xf_cli_usage(&cli, "expected one training feature file (see --help)");
    if (relabel && !fix)
        return xf_cli_usage(&cli, "--relabel goes with --fix");
    o.threads = xf_cli_threads(threads), o.verbose = !quiet;
    xf_cli_progress bar = {0};
    bar.quiet = quiet;
    o.progress = progress, o.user = &bar;
    xf_error err;
    xf_featset tr = {0}, te = {0};
    xf_labelmap lm = {0};
    xf_audit a = {0};
    xf_status s = XF_OK;
    if ((tsv && (s = xf__out_check(tsv, &err))) || (html && (s = xf__out_check(html, &err))))
        return xf_cli_fail(&cli, &err);
    if (!(s = xf__feats_read(in[0], &tr, &err)) && test)
        s = xf__feats_read(test, &te, &err);
    if (!s && labels && !(s = xf__labels_read(labels, &lm, &err)))
        s = xf__labels_resolve(&lm, labels, tr.paths, tr.n, &err);
    if (!s)
        s = xf__audit_run(&tr, test ? &te : NULL, labels ? &lm : NULL, &o, &a, &err);
    if (bar.tool)
        xf_cli_progress_end(&bar);
    if (!s)
        s = xf__audit_write_tsv(&a, &tr, &te, tsv, &err);
    if (!s && html)
        s = xf__audit_report(&a, &tr, &te, html, &err);
    char fixed[4200] = "";
    if (!s && fix)
        s = xf__audit_write_fix(&a, &tr, fix, relabel, fixed, sizeof fixed, &err);
    if (!s && !quiet) {
        size_t c[4] = {0};
        for (size_t i = 0; i < a.n; i++)
            c[a.f[i].kind]++;
        fprintf(stderr, "xfer-audit: %zu rows, %d classes, out-of-fold accuracy %.4f (C %.4g)\n",
                a.lab.n, a.lab.k, a.cv_accuracy, a.C);
        for (int k = 0; k < a.lab.k; k++)
            fprintf(stderr, "  %-20s %6d images, %5.1f%% estimated wrong labels\n",
                    a.lab.classes[k], a.lab.count[k], 100.0 * a.noise[k]);
        fprintf(stderr,
                "xfer-audit: %zu likely wrong labels, %zu duplicate pairs, %zu leaks, "
                "%zu outliers%s%s\n",
                c[XF_FIND_LABEL], c[XF_FIND_DUPLICATE], c[XF_FIND_LEAK], c[XF_FIND_OUTLIER],
                fix ? "; cleaned labels in " : "", fixed);
    }
    int wrc = s ? XF_EXIT_OK : xf_cli_close_stdout(&cli);
    xf__audit_free(&a);
    xf__labels_free(&lm);
    xf__featset_free(&tr);
    if (test)
        xf__featset_free(&te);
    return s ? xf_cli_fail(&cli, &err) : wrc;
}
