/* train-classifier — feature file + labels -> classifier head file (GGUF).
 *
 * It is: argument parsing, reading feats.bin, calling xf__train_head and writing the head
 * atomically. Exit: 0 ok, 1 error, 2 usage. It is not: the training logic (train.c).
 */
#include "pipeline.h"
#include "train.h"

#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: train-classifier FEATS.bin -o CLASSIFIER.gguf [options]\n"
        "Labels are the parent folder name of each image path unless --labels is given.\n"
        "  -o FILE              output head file (written atomically)\n"
        "  --labels FILE        CSV/TSV 'path,label' (full path or basename)\n"
        "  --solver NAME        lr (default, L2 logistic regression), svm (L2-loss SVM),\n"
        "                       l1lr, l1svm (L1-regularised), cs (Crammer-Singer)\n"
        "  -C VALUE             fix C (default: chosen by stratified CV over 1e-4..10)\n"
        "  --grid LO:HI:STEP    log10 C grid for CV (default -4:1:0.5)\n"
        "  --folds K            cross-validation folds (default 5)\n"
        "  --seed N             fold assignment seed (default 1): same seed, same model bytes\n"
        "  --balanced           weight classes by n / (k * n_class)\n"
        "  --normalize MODE     none (default) | l2 | standardize | l2+standardize\n"
        "  --whiten pca|zca     whiten after the normalisation, learned on the training rows\n"
        "  --dims K             whitening components kept (default: all)\n"
        "  --quiet              no CV table\n");
}

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *labels = NULL;
    xf_train_opts o = xf__train_default_opts();
    o.verbose = 1;
    o.threads = xf__cpu_count();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int takes = strcmp(a, "-o") == 0 || strcmp(a, "--labels") == 0 ||
                    strcmp(a, "--solver") == 0 || strcmp(a, "-C") == 0 ||
                    strcmp(a, "--grid") == 0 || strcmp(a, "--folds") == 0 ||
                    strcmp(a, "--seed") == 0 || strcmp(a, "--normalize") == 0 ||
                    strcmp(a, "--whiten") == 0 || strcmp(a, "--dims") == 0;
        const char *v = takes ? (i + 1 < argc ? argv[++i] : NULL) : NULL;
        char *end = NULL;
        int ok = 1;
        if (takes && !v) {
            fprintf(stderr, "train-classifier: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0) {
            out = v;
        } else if (strcmp(a, "--labels") == 0) {
            labels = v;
        } else if (strcmp(a, "--solver") == 0) {
            ok = xf__solver_parse(v, &o.lin.solver);
        } else if (strcmp(a, "-C") == 0) {
            o.fixed_C = strtod(v, &end);
            ok = !*end && o.fixed_C > 0 && o.fixed_C < 1e9;
        } else if (strcmp(a, "--grid") == 0) {
            ok = sscanf(v, "%lf:%lf:%lf", &o.grid_lo, &o.grid_hi, &o.grid_step) == 3 &&
                 o.grid_step > 0 && o.grid_hi >= o.grid_lo && o.grid_lo > -10 && o.grid_hi < 10;
        } else if (strcmp(a, "--folds") == 0) {
            o.folds = (int) strtol(v, &end, 10);
            ok = !*end && o.folds >= 2 && o.folds <= 50;
        } else if (strcmp(a, "--seed") == 0) {
            o.seed = strtoull(v, &end, 10);
            ok = !*end;
        } else if (strcmp(a, "--normalize") == 0) {
            ok = xf__norm_parse(v, &o.norm);
        } else if (strcmp(a, "--whiten") == 0) {
            o.whiten = strcmp(v, "pca") == 0 ? 1 : strcmp(v, "zca") == 0 ? 2 : 0;
            ok = o.whiten != 0;
        } else if (strcmp(a, "--dims") == 0) {
            o.dims = (int) strtol(v, &end, 10);
            ok = !*end && o.dims >= 1;
        } else if (strcmp(a, "--balanced") == 0) {
            o.lin.balanced = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o.verbose = 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "train-classifier: unknown option %s (see --help)\n", a);
            return 2;
        } else if (in) {
            fprintf(stderr, "train-classifier: one feature file only\n");
            return 2;
        } else {
            in = a;
        }
        if (!ok) {
            fprintf(stderr, "train-classifier: bad value '%s' for %s (see --help)\n", v, a);
            return 2;
        }
    }
    if (!in || !out) {
        usage(stderr);
        return 2;
    }
    if (o.dims && !o.whiten) {
        fprintf(stderr, "train-classifier: --dims goes with --whiten\n");
        return 2;
    }
    xf_error err;
    xf_featset fs;
    xf_labelmap lm = {0};
    if (xf__feats_read(in, &fs, &err) != XF_OK) {
        fprintf(stderr, "train-classifier: %s\n", err.msg);
        return 1;
    }
    if (labels && xf__labels_read(labels, &lm, &err) != XF_OK) {
        fprintf(stderr, "train-classifier: %s\n", err.msg);
        xf__featset_free(&fs);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    xf_head h;
    xf_status s = xf__train_head(&fs, labels ? &lm : NULL, &o, &h, &err);
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
    if (s) {
        fprintf(stderr, "train-classifier: %s\n", err.msg);
        return 1;
    }
    return 0;
}
