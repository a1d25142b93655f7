/* test_classifier.c — training, head files and prediction on generated feature files.
 *
 * It is: Gaussian blobs written as feats.bin (paths carry folder labels), trained through the
 * same code as train-classifier; checks of accuracy, probabilities summing to 1, byte-identical
 * heads for the same seed, fold stratification, every bad input (wrong dimension, one class,
 * class with too few rows, tampered and truncated head files), and — when Debian's
 * liblinear-tools are installed — predictions and probabilities equal to liblinear-train /
 * liblinear-predict on the same data and C. It is not: an accuracy benchmark.
 */
#include "metrics.h"
#include "t.h"
#include "tiny.h"
#include "train.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define D 8
static uint64_t rs = 7;
static double gauss(void)
{
    double u = 0;
    for (int i = 0; i < 12; i++) {
        rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
        u += (double) (rs >> 11) / 9007199254740992.0;
    }
    return u - 6;
}

/* n per class of k classes, centres spread by sep; failing adds one failed record */
static void write_blobs(const char *path, int k, int n, double sep, int dim, int failing)
{
    xf_feats *f;
    xf_error e;
    xf_feats_opts fo = {.path = path,
                        .fmt = XF_FEATS_BIN,
                        .dim = dim,
                        .header_json = "{\"weights_crc32c\":\"0000abcd\"}"};
    size_t nd, nf;
    T_CHECK(xf__feats_open(&fo, &f, &nd, &nf, &e) == XF_OK);
    float v[64];
    char p[64];
    for (int i = 0; i < n * k; i++) {
        int c = i % k;
        for (int j = 0; j < dim; j++)
            v[j] = (float) (gauss() + (j == c % dim ? sep : 0) +
                            (j == (c + 1) % dim ? sep / 2 : 0) + 0.5);
        snprintf(p, sizeof p, "data/class%c/img%04d.jpg", 'A' + c, i);
        xf__feats_write(f, p, XF_OK, v, NULL, &e);
    }
    if (failing)
        xf__feats_write(f, "data/classA/bad.gif", XF_ERR_UNSUPPORTED, NULL, "not a JPEG", &e);
    T_CHECK(xf__feats_close(f, 1, &e) == XF_OK);
}

static int files_equal(const char *a, const char *b)
{
    FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
    int eq = x && y;
    while (eq) {
        int c1 = fgetc(x), c2 = fgetc(y);
        eq = c1 == c2;
        if (c1 == EOF || !eq)
            break;
    }
    if (x)
        fclose(x);
    if (y)
        fclose(y);
    return eq;
}

static void test_train_predict(void)
{
    const char *fp = t_path("blobs.bin");
    write_blobs(fp, 3, 60, 4.0, D, 1);
    xf_featset fs;
    xf_error e;
    T_CHECK(xf__feats_read(fp, &fs, &e) == XF_OK);
    T_CHECK(fs.n == 181 && fs.dim == D && fs.status[180] == XF_ERR_UNSUPPORTED);
    for (int solver = 0; solver < XF_SOLVER_COUNT_; solver++) {
        xf_train_opts o = xf__train_default_opts();
        o.lin.solver = (xf_solver) solver;
        xf_head h;
        T_CHECKF(xf__train_head(&fs, NULL, &o, &h, &e) == XF_OK, "%s: %s",
                 xf__solver_name((xf_solver) solver), e.msg);
        if (!h.W)
            continue;
        T_CHECK(h.k == 3 && strcmp(h.labels[2], "classC") == 0 && h.n_train == 180);
        T_CHECKF((double) h.cv_accuracy > 0.9, "%s CV accuracy %.3f",
                 xf__solver_name((xf_solver) solver), (double) h.cv_accuracy);
        /* the head file round-trips and predicts the same */
        T_CHECK(xf__head_write(&h, t_path("head.gguf"), &e) == XF_OK);
        xf_head r;
        T_CHECK(xf__head_read(t_path("head.gguf"), &r, &e) == XF_OK);
        int agree = 1, sums = 1, correct = 0;
        float dec[3], prob[3], dec2[3], prob2[3];
        for (size_t i = 0; i < 180; i++) {
            xf__head_predict(&h, fs.x + i * D, dec, prob);
            xf__head_predict(&r, fs.x + i * D, dec2, prob2);
            agree &= memcmp(dec, dec2, sizeof dec) == 0 && memcmp(prob, prob2, sizeof prob) == 0;
            sums &= fabs((double) prob[0] + (double) prob[1] + (double) prob[2] - 1.0) < 1e-5;
            T_CHECK(dec[0] == dec2[0]);
            int arg = 0;
            for (int c = 1; c < 3; c++)
                arg = prob[c] > prob[arg] ? c : arg;
            correct += arg == (int) (i % 3);
        }
        T_CHECK(agree);
        T_CHECK(sums);
        T_CHECKF(correct > 170, "%s training accuracy %d/180", xf__solver_name((xf_solver) solver),
                 correct);
        T_CHECK((r.platt != NULL) == !xf__solver_is_logistic((xf_solver) solver));
        xf__head_free(&r);
        xf__head_free(&h);
    }
    /* same seed: byte-identical head; threads do not matter */
    xf_train_opts o = xf__train_default_opts();
    xf_head h1, h2;
    o.threads = 1;
    T_CHECK(xf__train_head(&fs, NULL, &o, &h1, &e) == XF_OK);
    o.threads = 2;
    T_CHECK(xf__train_head(&fs, NULL, &o, &h2, &e) == XF_OK);
    xf__head_write(&h1, t_path("h1.gguf"), &e);
    xf__head_write(&h2, t_path("h2.gguf"), &e);
    T_CHECK(files_equal(t_path("h1.gguf"), t_path("h2.gguf")));
    /* provenance check */
    T_CHECK(xf__head_check_features(&h1, fs.header_json, D, &e) == XF_OK);
    T_CHECK(xf__head_check_features(&h1, fs.header_json, D + 1, &e) == XF_ERR_ARG);
    T_CHECK(xf__head_check_features(&h1, "{\"weights_crc32c\":\"0000ffff\"}", D, &e) ==
                XF_ERR_ARG &&
            strstr(e.msg, "backbone") != NULL);
    xf__head_free(&h1);
    xf__head_free(&h2);
    /* an L2-normalising head ignores the input's scale */
    o.norm = XF_NORM_L2;
    T_CHECK(xf__train_head(&fs, NULL, &o, &h1, &e) == XF_OK && h1.l2);
    float xs[D], d1[3], p1[3], d2[3], p2[3];
    for (int j = 0; j < D; j++)
        xs[j] = 3.0f * fs.x[5 * D + j];
    xf__head_predict(&h1, fs.x + 5 * D, d1, p1);
    xf__head_predict(&h1, xs, d2, p2);
    T_CHECKF(fabs((double) d1[0] - (double) d2[0]) < 1e-5 &&
                 fabs((double) p1[1] - (double) p2[1]) < 1e-6,
             "L2 head: %g vs %g", (double) d1[0], (double) d2[0]);
    xf__head_free(&h1);
    /* stratified folds: every fold holds 12 of each class */
    int y[180], fold[180], cnt[5][3] = {{0}};
    for (int i = 0; i < 180; i++)
        y[i] = i % 3;
    xf__stratified_folds(y, 180, 3, 5, 42, fold);
    int even = 1;
    for (int i = 0; i < 180; i++)
        cnt[fold[i]][y[i]]++;
    for (int f = 0; f < 5; f++)
        for (int c = 0; c < 3; c++)
            even &= cnt[f][c] == 12;
    T_CHECK(even);
    xf__featset_free(&fs);
}

static void test_bad_inputs(void)
{
    xf_error e;
    xf_featset fs;
    xf_head h;
    xf_train_opts o = xf__train_default_opts();
    write_blobs(t_path("one.bin"), 1, 20, 1.0, D, 0);
    T_CHECK(xf__feats_read(t_path("one.bin"), &fs, &e) == XF_OK);
    T_CHECK(xf__train_head(&fs, NULL, &o, &h, &e) == XF_ERR_ARG && strstr(e.msg, "two classes"));
    xf__featset_free(&fs);
    write_blobs(t_path("few.bin"), 2, 3, 1.0, D, 0);
    T_CHECK(xf__feats_read(t_path("few.bin"), &fs, &e) == XF_OK);
    T_CHECK(xf__train_head(&fs, NULL, &o, &h, &e) == XF_ERR_ARG && strstr(e.msg, "--folds"));
    xf__featset_free(&fs);
    /* a labels file naming a class whose rows all failed */
    FILE *lf = fopen(t_path("labels.csv"), "w");
    fprintf(lf, "path,label\nimg0000.jpg,cat\nimg0001.jpg,dog\nimg0002.jpg,cat\nbad.gif,bird\n");
    fclose(lf);
    xf_labelmap lm;
    write_blobs(t_path("lab.bin"), 2, 10, 3.0, D, 1);
    T_CHECK(xf__feats_read(t_path("lab.bin"), &fs, &e) == XF_OK);
    T_CHECK(xf__labels_read(t_path("labels.csv"), &lm, &e) == XF_OK &&
            xf__labels_resolve(&lm, "labels.csv", fs.paths, fs.n, &e) == XF_OK && lm.n == 4 &&
            lm.header == 1);
    o.folds = 2;
    T_CHECK(xf__train_head(&fs, &lm, &o, &h, &e) == XF_ERR_ARG);
    T_CHECKF(strstr(e.msg, "bird") != NULL, "%s", e.msg);
    xf__labels_free(&lm);
    xf__featset_free(&fs);
    /* truncated feature file: a clear error naming the record */
    FILE *f = fopen(t_path("blobs.bin"), "rb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(t_path("cut.bin"), "wb");
    fwrite(buf, 1, n - 7, f);
    fclose(f);
    T_CHECK(xf__feats_read(t_path("cut.bin"), &fs, &e) == XF_ERR_IO && strstr(e.msg, "record"));
    T_CHECK(tiny_write(t_path("tiny_backbone.gguf"), NULL, &e) == XF_OK);
    T_CHECK(xf__feats_read(t_path("tiny_backbone.gguf"), &fs, &e) == XF_ERR_FORMAT);
    /* tampered and truncated head files */
    f = fopen(t_path("head.gguf"), "rb");
    static char hb[1 << 16];
    n = fread(hb, 1, sizeof hb, f);
    fclose(f);
    hb[n - 70] ^= 0x01;
    f = fopen(t_path("tampered.gguf"), "wb");
    fwrite(hb, 1, n, f);
    fclose(f);
    T_CHECK(xf__head_read(t_path("tampered.gguf"), &h, &e) == XF_ERR_CHECKSUM);
    f = fopen(t_path("short.gguf"), "wb");
    fwrite(hb, 1, n / 2, f);
    fclose(f);
    xf_status s = xf__head_read(t_path("short.gguf"), &h, &e);
    T_CHECKF(s == XF_ERR_BOUNDS || s == XF_ERR_IO, "%s", e.msg);
    T_CHECK(xf__head_read(t_path("tiny_backbone.gguf"), &h, &e) == XF_ERR_FORMAT &&
            strstr(e.msg, "not a classifier head"));
}

/* Same data and C through Debian's liblinear-train / liblinear-predict. */
static void test_liblinear_tools(void)
{
    if (access("/usr/bin/liblinear-train", X_OK) != 0) {
        T_SKIP("liblinear-tools not installed (make deps-oracles): LIBLINEAR equality not checked");
        return;
    }
    xf_featset fs;
    xf_error e;
    write_blobs(t_path("ll.bin"), 3, 40, 2.0, D, 0);
    T_CHECK(xf__feats_read(t_path("ll.bin"), &fs, &e) == XF_OK);
    FILE *f = fopen(t_path("ll.svm"), "w");
    for (size_t i = 0; i < fs.n; i++) {
        fprintf(f, "%d", (int) (i % 3));
        for (int j = 0; j < D; j++)
            fprintf(f, " %d:%.9g", j + 1, (double) fs.x[i * D + (size_t) j]);
        fprintf(f, "\n");
    }
    fclose(f);
    for (int binary = 0; binary < 2; binary++) {
        int k = binary ? 2 : 3;
        xf_train_opts o = xf__train_default_opts();
        o.fixed_C = 0.5;
        o.norm = XF_NORM_NONE;
        xf_featset sub = fs;
        size_t keep = fs.n;
        if (binary) { /* first two classes only */
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "awk '$1 != 2' %s > %s", t_path("ll.svm"), t_path("ll2.svm"));
            T_CHECK(system(cmd) == 0);
            for (size_t i = 0; i < fs.n; i++)
                if (i % 3 == 2) { /* skipped by training: failed, and of no class */
                    fs.status[i] = XF_ERR_IMAGE;
                    free(fs.paths[i]);
                    fs.paths[i] = strdup("orphan.jpg");
                }
            keep = fs.n * 2 / 3;
        }
        xf_head h;
        T_CHECK(xf__train_head(&sub, NULL, &o, &h, &e) == XF_OK && h.k == k);
        char cmd[2048];
        const char *data = binary ? t_path("ll2.svm") : t_path("ll.svm");
        snprintf(cmd, sizeof cmd,
                 "liblinear-train -q -s 0 -c 0.5 -B 1 %s %s && "
                 "liblinear-predict -b 1 %s %s %s > /dev/null",
                 data, t_path("ll.model"), data, t_path("ll.model"), t_path("ll.out"));
        T_CHECK(system(cmd) == 0);
        FILE *po = fopen(t_path("ll.out"), "r");
        char line[512];
        int order[3] = {0, 1, 2}, nl = 0;
        T_CHECK(po && fgets(line, sizeof line, po)); /* "labels 0 1 2" in LIBLINEAR's order */
        char *tok = strtok(line + 7, " \n");
        while (tok && nl < 3) {
            order[nl++] = atoi(tok);
            tok = strtok(NULL, " \n");
        }
        int same_pred = 1;
        double maxdp = 0;
        size_t row = 0;
        for (size_t i = 0; i < fs.n && fgets(line, sizeof line, po); i++) {
            while (fs.status[row] != XF_OK)
                row++;
            float dec[3], prob[3];
            xf__head_predict(&h, fs.x + row * D, dec, prob);
            char *p = line;
            int lp = (int) strtol(p, &p, 10);
            int arg = 0;
            for (int c = 1; c < k; c++)
                arg = prob[c] > prob[arg] ? c : arg;
            same_pred &= arg == lp;
            for (int c = 0; c < nl; c++) {
                double v = strtod(p, &p);
                maxdp = fmax(maxdp, fabs(v - (double) prob[order[c]]));
            }
            row++;
        }
        fclose(po);
        T_CHECKF(same_pred, "%s: predictions differ from liblinear-predict",
                 binary ? "binary" : "3-class");
        T_CHECKF(maxdp < 1e-5, "%s: probability max diff %.3g", binary ? "binary" : "3-class",
                 maxdp);
        printf("liblinear-tools %s: %zu rows, predictions %s, probability max diff %.2g\n",
               binary ? "binary" : "3-class", keep, same_pred ? "equal" : "DIFFER", maxdp);
        xf__head_free(&h);
    }
    xf__featset_free(&fs);
}

/* the whitening map makes the covariance of z = (x - mean) . map the identity */
static void test_whiten(void)
{
    enum { N = 400, DW = 6 };
    static float X[N * DW];
    for (int i = 0; i < N; i++) { /* correlated, unequal variances */
        double g[DW];
        for (int k = 0; k < DW; k++)
            g[k] = gauss();
        float row[DW] = {
            (float) (3 * g[0]),    (float) (g[0] + g[1]),         (float) (0.5 * g[1] + g[2]),
            (float) (g[0] - g[3]), (float) (2 * g[3] + 1 + g[4]), (float) (0.5 * g[5] + g[0])};
        memcpy(X + i * DW, row, sizeof row);
    }
    for (int zca = 0; zca < 2; zca++) {
        float *map, *mu;
        int dout;
        xf_error e;
        int dims = zca ? DW : 4;
        T_CHECK(xf__whiten_fit(X, N, DW, dims, zca, &map, &mu, &dout, &e) == XF_OK);
        T_CHECK(dout == (zca ? DW : 4));
        double cov[DW][DW] = {{0}}, maxerr = 0;
        for (int i = 0; i < N; i++) {
            double z[DW] = {0};
            for (int k = 0; k < dout; k++)
                for (int j = 0; j < DW; j++)
                    z[k] += ((double) X[i * DW + j] - (double) mu[j]) * (double) map[j * dout + k];
            for (int a = 0; a < dout; a++)
                for (int b = 0; b < dout; b++)
                    cov[a][b] += z[a] * z[b] / N;
        }
        for (int a = 0; a < dout; a++)
            for (int b = 0; b < dout; b++)
                maxerr = fmax(maxerr, fabs(cov[a][b] - (a == b)));
        T_CHECKF(maxerr < 1e-3, "%s: covariance of z differs from I by %.3g", zca ? "ZCA" : "PCA",
                 maxerr);
        free(map);
        free(mu);
    }
    xf_featset fs;
    xf_error e;
    T_CHECK(xf__feats_read(t_path("blobs.bin"), &fs, &e) == XF_OK);
    xf_train_opts o = xf__train_default_opts();
    o.whiten = 1, o.dims = 4;
    xf_head h;
    T_CHECK(xf__train_head(&fs, NULL, &o, &h, &e) == XF_OK && h.dim == D &&
            strcmp(h.normalize, "none+pca4") == 0 && h.cv_accuracy > 0.9f);
    xf__head_free(&h);
    o.whiten = 1, o.dims = D + 1;
    T_CHECK(xf__train_head(&fs, NULL, &o, &h, &e) == XF_ERR_ARG);
    xf__featset_free(&fs);
}

static void test_metrics(void)
{
    xf_confusion c;
    xf_error e;
    T_CHECK(xf__confusion_init(&c, 2, &e) == XF_OK);
    for (int i = 0; i < 8; i++)
        xf__confusion_add(&c, 0, 0);
    xf__confusion_add(&c, 0, 1), xf__confusion_add(&c, 0, 1);
    xf__confusion_add(&c, 1, 1), xf__confusion_add(&c, 1, 0);
    T_NEAR(xf__accuracy(&c), 9.0 / 12, 1e-12, 0);
    T_NEAR(xf__balanced_accuracy(&c), (0.8 + 0.5) / 2, 1e-12, 0);
    char a[] = "ant", b[] = "b\xc3\xa9"
                            "e \xe2\x9c\x93"; /* Latin-1 and a check mark the font lacks */
    char *names[2] = {a, b};
    T_CHECK(xf__confusion_png(&c, names, t_path("cm.png"), &e) == XF_OK);
    xf__confusion_free(&c);
}

/* rows of fs the head classifies as their class folder says */
static int n_correct(const xf_head *h, const xf_featset *fs)
{
    int ok = 0;
    float dec[8], prob[8];
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->status[i] != XF_OK)
            continue;
        xf__head_predict(h, fs->x + i * (size_t) fs->dim, dec, prob);
        int arg = 0;
        for (int c = 1; c < h->k; c++)
            arg = prob[c] > prob[arg] ? c : arg;
        ok += strstr(fs->paths[i], h->labels[arg]) != NULL;
    }
    return ok;
}

/* self-training: 5 labels per class of three overlapping blobs, 600 rows unlabelled: the
 * pseudo-labels join (more training rows), as many of each class (the labelled mix: 5 each),
 * the CV accuracy stays the labelled rows', the accuracy on all rows does not drop (here
 * 515 -> 536 of 600), the same inputs give the same head; unlabelled features of another
 * backbone are refused */
static void test_self_training(void)
{
    const char *fp = t_path("selftrain.bin"), *lp = t_path("selftrain.csv");
    write_blobs(fp, 3, 200, 2.5, D, 0);
    FILE *f = fopen(lp, "w");
    for (int i = 0; f && i < 15; i++)
        fprintf(f, "data/class%c/img%04d.jpg,class%c\n", 'A' + i % 3, i, 'A' + i % 3);
    if (f)
        fclose(f);
    xf_featset fs;
    xf_labelmap lm = {0};
    xf_error e;
    T_CHECK(xf__feats_read(fp, &fs, &e) == XF_OK);
    T_CHECK(xf__labels_read(lp, &lm, &e) == XF_OK &&
            xf__labels_resolve(&lm, lp, fs.paths, fs.n, &e) == XF_OK);
    xf_train_opts o = xf__train_default_opts();
    o.folds = 3, o.verbose = 0;
    size_t added[3];
    xf_selftrain_opts so = {.unlabeled = &fs, .threshold = 0.8f, .rounds = 5, .added = added};
    xf_head base, self, again;
    T_CHECK(xf__train_head(&fs, &lm, &o, &base, &e) == XF_OK);
    T_CHECK(xf__self_train(&fs, &lm, &o, &so, &self, &e) == XF_OK);
    T_CHECK(xf__self_train(&fs, &lm, &o, &so, &again, &e) == XF_OK);
    int b = n_correct(&base, &fs), s = n_correct(&self, &fs);
    T_CHECKF(self.n_train > 15 && self.cv_accuracy == base.cv_accuracy && s >= b,
             "self-training: %u rows (15 labelled), CV %.3f vs %.3f, correct %d vs %d of 600",
             self.n_train, (double) self.cv_accuracy, (double) base.cv_accuracy, s, b);
    printf("self-training on blobs: %d of 600 right with 15 labels, %d with %u pseudo-labels "
           "(%zu, %zu, %zu)\n",
           b, s, self.n_train - 15, added[0], added[1], added[2]);
    T_CHECKF(added[0] > 0 && added[0] == added[1] && added[1] == added[2] &&
                 added[0] + added[1] + added[2] == self.n_train - 15,
             "pseudo-labels per class %zu, %zu, %zu (5 labels each)", added[0], added[1], added[2]);
    T_CHECK(memcmp(self.W, again.W, (size_t) D * 3 * sizeof(float)) == 0);
    xf__head_free(&base), xf__head_free(&self), xf__head_free(&again);
    xf_featset other = fs;
    other.header_json = "{\"weights_crc32c\":\"0000beef\"}";
    so.unlabeled = &other;
    T_CHECKF(xf__self_train(&fs, &lm, &o, &so, &self, &e) == XF_ERR_ARG &&
                 strstr(e.msg, "unlabelled features"),
             "other backbone's unlabelled features: %s", e.msg);
    xf__labels_free(&lm);
    xf__featset_free(&fs);
}

int main(void)
{
    mkdir(t_dir(), 0755);
    test_train_predict();
    test_self_training();
    test_bad_inputs();
    test_liblinear_tools();
    test_whiten();
    test_metrics();
    return t_done();
}
