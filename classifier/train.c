/* train.c — feature set + labels -> classifier head (see train.h). */
#include "train.h"
#include "gemm.h"
#include "labelled.h"

#include <math.h>
#include <string.h>
#include <time.h>

static const char *const norm_names[] = {"none", "l2", "standardize", "l2+standardize"};

const char *xf__norm_name(xf_norm n)
{
    return norm_names[n];
}

int xf__norm_parse(const char *s, xf_norm *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, norm_names[i]) == 0) {
            *out = (xf_norm) i;
            return 1;
        }
    return 0;
}

xf_train_opts xf__train_default_opts(void)
{
    xf_train_opts o;
    memset(&o, 0, sizeof o);
    o.lin.solver = XF_SOLVER_LR;
    o.grid_lo = -4, o.grid_hi = 1, o.grid_step = 0.5;
    o.folds = 5;
    o.seed = 1;
    o.norm = XF_NORM_NONE;
    o.threads = 2;
    return o;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}

typedef struct {
    double t0;
    int n_C;
} cv_clock;

/* one row of the C search, printed as soon as that C is done, with the time to go */
static void cv_row(void *user, int i, double C, double accuracy)
{
    cv_clock *c = user;
    double el = seconds() - c->t0, eta = el / (i + 1) * (c->n_C - i - 1);
    xf__log(XF_LOG_INFO, "  C = %-10.4g accuracy %.4f   %2d/%d, %.1f s, ETA %.0f s\n", C, accuracy,
            i + 1, c->n_C, el, eta);
}

xf_status xf__train_head(const xf_featset *fs, const xf_labelmap *lm, const xf_train_opts *o,
                         xf_head *h, xf_error *err)
{
    memset(h, 0, sizeof *h);
    int d = (int) fs->dim;
    float *X = NULL, *mu = NULL, *sd = NULL, *W = NULL, *dec = NULL, *wmap = NULL, *wmu = NULL;
    int *fold = NULL, *yall = NULL;
    double *Cs = NULL, *acc = NULL;
    xf_labelled lab;
    /* self-training's rounds (extra rows) repeat the labelled rows: their warnings said once */
    xf_status s = xf__labelled_rows(fs, lm, o->n_extra ? NULL : "train-classifier", &lab, err);
    if (s)
        return s;
    size_t n = lab.n + o->n_extra; /* the labelled rows, then the extra (pseudo-labelled) ones */
    int k = lab.k, *count = lab.count;
    int *y = yall = malloc(n * sizeof *y + 4);
    h->labels = calloc((size_t) k, sizeof *h->labels);
    for (int c = 0; h->labels && c < k; c++)
        h->labels[c] = strdup(lab.classes[c]);
    h->k = k;
    X = malloc(n * (size_t) d * sizeof(float) + 4);
    if (!h->labels || !X || !y) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory for %zu x %d features", n, d);
        goto done;
    }
    for (size_t i = 0; i < lab.n; i++) {
        memcpy(X + i * (size_t) d, fs->x + lab.row[i] * (size_t) d, (size_t) d * sizeof(float));
        y[i] = lab.y[i];
    }
    for (size_t i = 0; i < o->n_extra; i++) {
        memcpy(X + (lab.n + i) * (size_t) d, o->extra_x + i * (size_t) d,
               (size_t) d * sizeof(float));
        y[lab.n + i] = o->extra_y[i];
    }
    for (int c = 0; c < k; c++)
        if (count[c] < o->folds) {
            s = xf__fail(err, XF_ERR_ARG,
                         "class '%s' has %d examples; %d-fold cross-validation "
                         "needs at least %d (use --folds)",
                         h->labels[c], count[c], o->folds, o->folds);
            goto done;
        }
    /* normalisation learned on these rows */
    int l2 = o->norm == XF_NORM_L2 || o->norm == XF_NORM_L2_STANDARDIZE;
    int stdz = o->norm == XF_NORM_STANDARDIZE || o->norm == XF_NORM_L2_STANDARDIZE;
    if (l2)
        for (size_t i = 0; i < n; i++) {
            float *x = X + i * (size_t) d;
            double s2 = 0;
            for (int j = 0; j < d; j++)
                s2 += (double) x[j] * (double) x[j];
            float inv = s2 > 0 ? (float) (1.0 / sqrt(s2)) : 0.0f;
            for (int j = 0; j < d; j++)
                x[j] *= inv;
        }
    mu = calloc((size_t) d, sizeof(float));
    sd = malloc((size_t) d * sizeof(float));
    if (!mu || !sd) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int j = 0; j < d; j++)
        sd[j] = 1.0f;
    if (stdz) {
        for (int j = 0; j < d; j++) {
            double m = 0, v = 0;
            for (size_t i = 0; i < n; i++)
                m += (double) X[i * (size_t) d + (size_t) j];
            m /= (double) n;
            for (size_t i = 0; i < n; i++) {
                double e = (double) X[i * (size_t) d + (size_t) j] - m;
                v += e * e;
            }
            v = sqrt(v / (double) n);
            mu[j] = (float) m;
            sd[j] = v > 1e-12 ? (float) v : 1.0f;
            for (size_t i = 0; i < n; i++)
                X[i * (size_t) d + (size_t) j] = (X[i * (size_t) d + (size_t) j] - mu[j]) / sd[j];
        }
    }
    /* optional PCA/ZCA whitening: train on z = (x - wmu) . wmap, fold the map back afterwards */
    int dz = d;
    if (o->whiten) {
        if ((s = xf__whiten_fit(X, n, d, o->dims ? o->dims : d, o->whiten == 2, &wmap, &wmu, &dz,
                                err)))
            goto done;
        float *Z = malloc(n * (size_t) dz * sizeof(float) + 4);
        if (!Z) {
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                X[i * (size_t) d + (size_t) j] -= wmu[j];
        xf__sgemm((int64_t) n, dz, d, X, wmap, Z, 0);
        free(X);
        X = Z;
    }
    /* C by stratified cross-validation */
    int n_C = o->fixed_C > 0 ? 1 : (int) floor((o->grid_hi - o->grid_lo) / o->grid_step + 1e-9) + 1;
    if (n_C < 1 || n_C > 100) {
        s = xf__fail(err, XF_ERR_ARG, "bad C grid");
        goto done;
    }
    Cs = malloc((size_t) n_C * sizeof *Cs);
    acc = malloc((size_t) n_C * sizeof *acc);
    fold = malloc(n * sizeof *fold);
    dec = malloc(n * (size_t) k * sizeof(float) + 4);
    if (!Cs || !acc || !fold || !dec) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_C; i++)
        Cs[i] = o->fixed_C > 0 ? o->fixed_C : pow(10.0, o->grid_lo + i * o->grid_step);
    xf__stratified_folds(y, n, k, o->folds, o->seed, fold);
    int best;
    if (o->verbose)
        xf__log(XF_LOG_INFO, "train-classifier: %d-fold stratified CV (%s, %zu rows, %d classes)\n",
                o->folds, xf__solver_name(o->lin.solver), n, k);
    cv_clock clock = {seconds(), n_C};
    xf_cv_opts cv = {Cs, n_C, fold, o->folds, o->threads, o->verbose ? cv_row : NULL, &clock, NULL};
    if ((s = xf__linear_cv(X, y, n, dz, k, &o->lin, &cv, acc, &best, dec, err)))
        goto done;
    if (o->verbose)
        xf__log(XF_LOG_INFO, "  chosen: C = %.4g (the best accuracy; ties: the smaller C)\n",
                Cs[best]);
    if (o->verbose && n_C > 2 && (best == n_C - 1 || (best == 0 && acc[1] < acc[0])))
        xf__log(XF_LOG_WARN,
                "train-classifier: the chosen C is at the %s end of the grid: a "
                "%s C may do better (--grid LO:HI:STEP, log10)\n",
                best ? "high" : "low", best ? "larger" : "smaller");
    xf_lin_params lp = o->lin;
    lp.C = Cs[best];
    W = malloc((size_t) d * (size_t) k * sizeof(float));
    h->b = malloc((size_t) k * sizeof(float));
    float *Wz = o->whiten ? malloc((size_t) dz * (size_t) k * sizeof(float)) : W;
    if (!W || !h->b || !Wz) {
        if (Wz != W)
            free(Wz);
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        goto done;
    }
    s = xf__linear_train(X, y, n, dz, k, &lp, Wz, h->b, err);
    if (!s && o->whiten) { /* W = wmap . Wz, b -= W^T wmu */
        xf__sgemm(d, k, dz, wmap, Wz, W, 0);
        for (int c = 0; c < k; c++) {
            double bb = (double) h->b[c];
            for (int j = 0; j < d; j++)
                bb -= (double) W[(size_t) j * (size_t) k + (size_t) c] * (double) wmu[j];
            h->b[c] = (float) bb;
        }
    }
    if (Wz != W)
        free(Wz);
    if (s)
        goto done;
    /* Platt scaling on the held-out decision values, one sigmoid per class */
    if (!xf__solver_is_logistic(o->lin.solver)) {
        h->platt = malloc(2 * (size_t) k * sizeof(float));
        float *f = malloc(n * sizeof(float));
        unsigned char *t = malloc(n);
        if (!h->platt || !f || !t) {
            free(f);
            free(t);
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int c = 0; c < k; c++) {
            for (size_t i = 0; i < n; i++) {
                f[i] = dec[i * (size_t) k + (size_t) c];
                t[i] = y[i] == c;
            }
            xf__platt_fit(f, t, n, &h->platt[2 * c], &h->platt[2 * c + 1]);
        }
        free(f);
        free(t);
    }
    /* fold standardisation into W, b: x' = (x - mu) / sd */
    for (int c = 0; c < k; c++) {
        double bb = (double) h->b[c];
        for (int j = 0; j < d; j++) {
            float *w = &W[(size_t) j * (size_t) k + (size_t) c];
            *w /= sd[j];
            bb -= (double) *w * (double) mu[j];
        }
        h->b[c] = (float) bb;
    }
    h->W = W;
    W = NULL;
    h->dim = d;
    h->l2 = l2;
    h->logistic = !h->platt;
    h->C = (float) Cs[best];
    h->cv_accuracy = (float) acc[best];
    h->n_train = (uint32_t) n;
    h->solver = strdup(xf__solver_name(o->lin.solver));
    char norm[64];
    snprintf(norm, sizeof norm, "%s%s", xf__norm_name(o->norm),
             o->whiten == 1   ? "+pca"
             : o->whiten == 2 ? "+zca"
                              : "");
    if (o->whiten)
        snprintf(norm + strlen(norm), sizeof norm - strlen(norm), "%d", o->dims ? o->dims : d);
    h->normalize = strdup(norm);
    h->features_json = strdup(fs->header_json);
    if (!h->solver || !h->normalize || !h->features_json)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
done:
    xf__labelled_free(&lab);
    free(yall);
    free(X);
    free(mu);
    free(sd);
    free(W);
    free(wmap);
    free(wmu);
    free(dec);
    free(fold);
    free(Cs);
    free(acc);
    if (s)
        xf__head_free(h);
    return s;
}
