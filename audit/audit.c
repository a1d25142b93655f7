/* audit.c — label errors, duplicates, leakage and outliers from features (see audit.h).
 *
 * Label errors: out-of-fold probabilities (stratified k-fold, LIBLINEAR logistic regression,
 * C chosen by the same cross-validation as train-classifier) mixed with the label
 * distribution of each row's nearest neighbours (weight 0.3: measured best on hymenoptera and
 * clothing_small with injected flips; 0 is plain confident learning), then confident learning
 * (Northcutt, Jiang and Chuang 2021): per-class thresholds (the mean self-confidence), the
 * confident joint, calibrated to the class sizes, and for each class the rows with the largest
 * margin against their label pruned in the number the joint estimates wrong; of those, the ones
 * whose label is less likely than chance (1/k) are reported. Duplicates, leaks:
 * neighbours whose cosine passes the threshold (identical files are said so). Outliers: the mean
 * distance to the nearest neighbours, as a robust z-score (median and MAD over the set).
 */
#include "audit.h"
#include "io.h"
#include "linear.h"

#include <math.h>
#include <string.h>

#define MAX_IMAGE_BYTES ((size_t) 256 << 20) /* the decoder's own limit */

xf_audit_opts xf__audit_default_opts(void)
{
    xf_audit_opts o;
    memset(&o, 0, sizeof o);
    o.folds = 5, o.seed = 1, o.threads = 1, o.k = 10;
    o.dup_cosine = 0.90, o.outlier_z = 3.0, o.label_prob = 0.0, o.knn_weight = 0.3;
    return o;
}

const char *xf__find_kind_name(xf_find_kind k)
{
    static const char *const names[] = {"label", "duplicate", "leak", "outlier"};
    return names[k];
}

void xf__audit_free(xf_audit *a)
{
    free(a->f);
    free(a->noise);
    xf__labelled_free(&a->lab);
    memset(a, 0, sizeof *a);
}

static xf_status add(xf_audit *a, xf_finding f, xf_error *err)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        xf_finding *nf = realloc(a->f, cap * sizeof *nf);
        if (!nf)
            return xf__fail(err, XF_ERR_NOMEM, "out of memory");
        a->f = nf, a->cap = cap;
    }
    a->f[a->n++] = f;
    return XF_OK;
}

static int cmp_finding(const void *x, const void *y)
{
    const xf_finding *a = x, *b = y;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->rec < b->rec ? -1 : a->rec > b->rec;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *) x, b = *(const double *) y;
    return a < b ? -1 : a > b;
}

/* 1 when the two files hold the same bytes */
static int same_bytes(const char *p, const char *q)
{
    uint8_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int same = xf__read_file(p, MAX_IMAGE_BYTES, &a, &na, NULL) == XF_OK &&
               xf__read_file(q, MAX_IMAGE_BYTES, &b, &nb, NULL) == XF_OK && na == nb &&
               memcmp(a, b, na) == 0;
    free(a), free(b);
    return same;
}

/* a pair (i, r) of neighbours is reported once: from its smaller row, or from i when the
 * smaller row r does not list i among its own nk neighbours */
static int less_first(const long *nb, int nk, size_t i, long r)
{
    if (i < (size_t) r)
        return 1;
    for (int j = 0; j < nk; j++)
        if (nb[(size_t) r * (size_t) nk + (size_t) j] == (long) i)
            return 0;
    return 1;
}

typedef struct {
    const xf_audit_opts *o;
    int n_C;
} cv_progress;

static void cv_step(void *user, int i, double C, double accuracy)
{
    const cv_progress *p = user;
    (void) C, (void) accuracy;
    p->o->progress(p->o->user, "C values", (size_t) i + 1, (size_t) p->n_C);
}

enum {
    N_GRID = 11,        /* C from 1e-4 to 10, as train-classifier */
    GRID_ROWS = 20000,  /* above this many rows, C is chosen on a part of them: */
    GRID_PART = 10000,  /* a stratified part of about this many rows             */
    TRAIN_ROWS = 25000, /* above this many, the folds' models learn from a stratified part of
                         * about this many (each fold's model from 4/5 of it) and predict
                         * every row: memory and time stay flat as the set grows */
    SMALL_CLASS = 100   /* (classes smaller than this whole)                     */
};

/* in[i] = 1 for a stratified part of about `size` of the rows (classes smaller than
 * SMALL_CLASS whole); returns how many. Needs n ints of scratch. */
static size_t stratified_part(const xf_labelled *l, size_t size, uint64_t seed, int *scratch,
                              unsigned char *in)
{
    size_t m = 0;
    int parts = (int) ((l->n + size - 1) / size);
    xf__stratified_folds(l->y, l->n, l->k, parts, seed, scratch);
    for (size_t i = 0; i < l->n; i++) {
        in[i] = scratch[i] == 0 || l->count[l->y[i]] < SMALL_CLASS;
        m += in[i];
    }
    return m;
}

/* the C of the grid with the best cross-validated accuracy on a stratified part of the rows */
static xf_status choose_C_on_part(const float *X, const xf_labelled *l, int d,
                                  const xf_audit_opts *o, double *C, xf_error *err)
{
    size_t n = l->n, m = 0;
    int *ys = malloc((n + 1) * sizeof *ys), *fold = malloc((n + 1) * sizeof *fold);
    unsigned char *in = malloc(n + 1);
    if (ys && fold && in)
        m = stratified_part(l, GRID_PART, o->seed + 1, fold, in);
    float *Xs = malloc((m + 1) * (size_t) d * sizeof *Xs);
    xf_status s = in && ys && fold && Xs ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (!s) {
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (in[i]) {
                memcpy(Xs + m * (size_t) d, X + i * (size_t) d, (size_t) d * sizeof *Xs);
                ys[m++] = l->y[i];
            }
        xf__stratified_folds(ys, m, l->k, o->folds, o->seed, fold);
        double Cs[N_GRID], acc[N_GRID];
        for (int i = 0; i < N_GRID; i++)
            Cs[i] = pow(10.0, -4.0 + 0.5 * i);
        xf_lin_params lp = {XF_SOLVER_LR, 1.0, 0};
        cv_progress pr = {o, N_GRID};
        xf_cv_opts cv = {Cs,  N_GRID, fold, o->folds, o->threads, o->progress ? cv_step : NULL,
                         &pr, NULL};
        int best = 0;
        s = xf__linear_cv(Xs, ys, m, d, l->k, &lp, &cv, acc, &best, NULL, err);
        if (!s)
            *C = Cs[best];
        if (!s && o->verbose)
            fprintf(stderr,
                    "xfer-audit: C %.4g chosen on a stratified part of %zu of the %zu rows "
                    "(-C skips it)\n",
                    *C, m, n);
    }
    free(in), free(ys), free(fold), free(Xs);
    return s;
}

/* out-of-fold probabilities P (n, k) of the labelled rows X (n, d) */
static xf_status oof_proba(const float *X, const xf_labelled *l, int d, const xf_audit_opts *o,
                           float *P, double *acc_out, double *C_out, xf_error *err)
{
    double Cs[N_GRID], acc[N_GRID], fixed = o->C;
    if (!(fixed > 0) && l->n > GRID_ROWS) {
        xf_status s = choose_C_on_part(X, l, d, o, &fixed, err);
        if (s)
            return s;
    }
    int n_C = fixed > 0 ? 1 : N_GRID;
    for (int i = 0; i < n_C; i++)
        Cs[i] = fixed > 0 ? fixed : pow(10.0, -4.0 + 0.5 * i);
    int *fold = malloc((l->n + 1) * sizeof *fold);
    float *dec = malloc((l->n * (size_t) l->k + 1) * sizeof *dec);
    unsigned char *train = l->n > TRAIN_ROWS ? malloc(l->n + 1) : NULL;
    xf_status s = fold && dec && (train || l->n <= TRAIN_ROWS)
                      ? XF_OK
                      : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    int best = 0;
    if (!s && train) {
        size_t m = stratified_part(l, TRAIN_ROWS, o->seed + 2, fold, train);
        if (o->verbose)
            fprintf(stderr,
                    "xfer-audit: the out-of-fold models learn from a stratified part of %zu of "
                    "the %zu rows and predict all of them\n",
                    m, l->n);
    }
    if (!s) {
        xf__stratified_folds(l->y, l->n, l->k, o->folds, o->seed, fold);
        xf_lin_params lp = {XF_SOLVER_LR, 1.0, 0};
        cv_progress pr = {o, n_C};
        xf_cv_opts cv = {Cs,  n_C,  fold, o->folds, o->threads, o->progress ? cv_step : NULL,
                         &pr, train};
        s = xf__linear_cv(X, l->y, l->n, d, l->k, &lp, &cv, acc, &best, dec, err);
    }
    for (size_t i = 0; !s && i < l->n; i++)
        xf__linear_proba(dec + i * (size_t) l->k, l->k, NULL, 1, P + i * (size_t) l->k);
    if (!s)
        *acc_out = acc[best], *C_out = Cs[best];
    free(fold), free(dec), free(train);
    return s;
}

/* confident learning on P (n, k): flags[i] = 1 for the rows it finds mislabelled; noise[c] the
 * estimated fraction of class c that is */
static xf_status confident_learning(const float *P, const xf_labelled *l, unsigned char *flags,
                                    double *noise, xf_error *err)
{
    int k = l->k;
    size_t n = l->n;
    double *t = calloc((size_t) k, sizeof *t), *cj = calloc((size_t) (k * k), sizeof *cj);
    size_t *order = malloc((n + 1) * sizeof *order);
    double *margin = malloc((n + 1) * sizeof *margin);
    if (!t || !cj || !order || !margin) {
        free(t), free(cj), free(order), free(margin);
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        t[l->y[i]] += (double) P[i * (size_t) k + (size_t) l->y[i]];
    for (int c = 0; c < k; c++)
        t[c] /= l->count[c] ? l->count[c] : 1;
    for (size_t i = 0; i < n; i++) { /* the confident joint */
        const float *p = P + i * (size_t) k;
        int jbest = -1;
        for (int j = 0; j < k; j++)
            if ((double) p[j] >= t[j] && (jbest < 0 || p[j] > p[jbest]))
                jbest = j;
        if (jbest >= 0)
            cj[l->y[i] * k + jbest] += 1;
    }
    for (int c = 0; c < k; c++) { /* calibrated: each row sums to the class size */
        double row = 0;
        for (int j = 0; j < k; j++)
            row += cj[c * k + j];
        double off = row > 0 ? (row - cj[c * k + c]) / row : 0;
        noise[c] = off;
        /* prune: the off-diagonal count of rows of class c, largest margin first */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (l->y[i] != c)
                continue;
            const float *p = P + i * (size_t) k;
            double other = 0;
            for (int j = 0; j < k; j++)
                if (j != c && (double) p[j] > other)
                    other = (double) p[j];
            margin[m] = other - (double) p[c];
            order[m++] = i;
        }
        size_t remove = (size_t) floor(off * (double) l->count[c] + 0.5);
        for (size_t a = 1; a < m; a++) /* insertion sort by margin, descending (stable) */
            for (size_t b = a; b > 0 && margin[b] > margin[b - 1]; b--) {
                double tm = margin[b];
                margin[b] = margin[b - 1], margin[b - 1] = tm;
                size_t to = order[b];
                order[b] = order[b - 1], order[b - 1] = to;
            }
        for (size_t a = 0; a < remove && a < m; a++)
            if (margin[a] > 0) /* never a row whose label is still its most likely class */
                flags[order[a]] = 1;
    }
    free(t), free(cj), free(order), free(margin);
    return XF_OK;
}

xf_status xf__audit_run(const xf_featset *train, const xf_featset *test, const xf_labelmap *lm,
                        const xf_audit_opts *o, xf_audit *a, xf_error *err)
{
    memset(a, 0, sizeof *a);
    xf_status s = xf__labelled_rows(train, lm, "xfer-audit", &a->lab, err);
    if (s)
        return s;
    const xf_labelled *l = &a->lab;
    int d = (int) train->dim, k = l->k, nk = o->k;
    size_t n = l->n;
    if (test && test->dim != train->dim) {
        xf__audit_free(a);
        return xf__fail(err, XF_ERR_ARG,
                        "the test features have %lld dimensions, the training features %lld",
                        (long long) test->dim, (long long) train->dim);
    }
    /* the labelled rows: the feature file's own when every row is labelled, else a copy */
    int all = n == train->n;
    for (size_t i = 0; all && i < n; i++)
        all = l->row[i] == i;
    float *copy = all ? NULL : malloc((n * (size_t) d + 1) * sizeof *copy);
    const float *X = all ? train->x : copy;
    float *P = malloc((n * (size_t) k + 1) * 4);
    long *nb = malloc((n * (size_t) nk + 1) * sizeof *nb);
    float *ns = malloc((n * (size_t) nk + 1) * sizeof *ns);
    unsigned char *flag = calloc(n + 1, 1);
    double *dist = malloc((n + 1) * sizeof *dist), *sorted = malloc((n + 1) * sizeof *sorted);
    a->noise = calloc((size_t) k, sizeof *a->noise);
    if (!X || !P || !nb || !ns || !flag || !dist || !sorted || !a->noise)
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory for %zu x %d features", n, d);
    for (size_t i = 0; !s && copy && i < n; i++)
        memcpy(copy + i * (size_t) d, train->x + l->row[i] * (size_t) d,
               (size_t) d * sizeof(float));
    if (!s)
        s = oof_proba(X, l, d, o, P, &a->cv_accuracy, &a->C, err);
    if (!s)
        s = xf__knn(X, n, X, n, d, nk, 1, o, nb, ns, err);
    /* the neighbours' vote joins the classifier's: P = (1 - w) P + w q */
    for (size_t i = 0; !s && i < n; i++) {
        float *p = P + i * (size_t) k;
        int got = 0;
        for (int j = 0; j < nk; j++)
            got += nb[i * (size_t) nk + (size_t) j] >= 0;
        float w = (float) o->knn_weight;
        for (int c = 0; c < k; c++)
            p[c] *= 1 - w;
        for (int j = 0; j < nk && got; j++) {
            long r = nb[i * (size_t) nk + (size_t) j];
            if (r >= 0)
                p[l->y[r]] += w / (float) got;
        }
    }
    if (!s)
        s = confident_learning(P, l, flag, a->noise, err);
    /* a label is reported when it is also less likely than chance (1/k): pruning by the noise
     * rate also takes the classes the features confuse (longsleeve / t-shirt), whose labels keep
     * a fair share of the probability; a wrong label has next to none */
    float below = o->label_prob > 0 ? (float) o->label_prob : 1.0f / (float) k;
    for (size_t i = 0; !s && i < n; i++) {
        const float *p = P + i * (size_t) k;
        int sug = -1;
        for (int c = 0; c < k; c++)
            if (c != l->y[i] && (sug < 0 || p[c] > p[sug]))
                sug = c;
        if (flag[i] && p[l->y[i]] < below)
            s = add(a,
                    (xf_finding){XF_FIND_LABEL, l->row[i], (long) l->row[nb[i * (size_t) nk]],
                                 (double) p[sug], l->y[i], sug, 0},
                    err);
    }
    /* duplicates within train: each pair once */
    for (size_t i = 0; !s && i < n; i++)
        for (int j = 0; j < nk && !s; j++) {
            long r = nb[i * (size_t) nk + (size_t) j];
            double c = (double) ns[i * (size_t) nk + (size_t) j];
            if (r < 0 || c < o->dup_cosine || (size_t) r == i || (!less_first(nb, nk, i, r)))
                continue;
            int same = same_bytes(train->paths[l->row[i]], train->paths[l->row[r]]);
            s = add(a,
                    (xf_finding){XF_FIND_DUPLICATE, l->row[i], (long) l->row[r], c, l->y[i],
                                 same ? XF_SUGGEST_IDENTICAL : -1, 0},
                    err);
        }
    /* outliers: the mean distance to the neighbours, as a robust z-score */
    for (size_t i = 0; !s && i < n; i++) {
        double m = 0;
        int got = 0;
        for (int j = 0; j < nk; j++)
            if (nb[i * (size_t) nk + (size_t) j] >= 0)
                m += 1.0 - (double) ns[i * (size_t) nk + (size_t) j], got++;
        dist[i] = sorted[i] = got ? m / got : 0;
    }
    if (!s && n > 2) {
        qsort(sorted, n, sizeof *sorted, cmp_double);
        double med = sorted[n / 2];
        for (size_t i = 0; i < n; i++)
            sorted[i] = fabs(dist[i] - med);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        double mad = 1.4826 * sorted[n / 2];
        for (size_t i = 0; !s && i < n; i++) {
            double z = mad > 0 ? (dist[i] - med) / mad : 0;
            if (z >= o->outlier_z)
                s = add(a,
                        (xf_finding){XF_FIND_OUTLIER, l->row[i], (long) l->row[nb[i * (size_t) nk]],
                                     z, l->y[i], -1, 0},
                        err);
        }
    }
    /* the test set: copies of training images (leaks) and duplicates within it */
    if (!s && test) {
        size_t nt = 0;
        size_t *trow = malloc((test->n + 1) * sizeof *trow);
        float *T = malloc((test->n * (size_t) d + 1) * sizeof *T);
        long *tb = malloc((test->n * (size_t) nk + 1) * sizeof *tb);
        float *tsim = malloc((test->n * (size_t) nk + 1) * sizeof *tsim);
        if (!trow || !T || !tb || !tsim)
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory for the test features");
        for (size_t i = 0; !s && i < test->n; i++)
            if (test->status[i] == XF_OK) {
                memcpy(T + nt * (size_t) d, test->x + i * (size_t) d, (size_t) d * sizeof(float));
                trow[nt++] = i;
            }
        if (!s && nt)
            s = xf__knn(T, nt, X, n, d, 1, 0, o, tb, tsim, err);
        for (size_t i = 0; !s && i < nt; i++) {
            long r = tb[i];
            if (r < 0 || (double) tsim[i] < o->dup_cosine)
                continue;
            int same = same_bytes(test->paths[trow[i]], train->paths[l->row[r]]);
            s = add(a,
                    (xf_finding){XF_FIND_LEAK, trow[i], (long) l->row[r], (double) tsim[i], l->y[r],
                                 same ? XF_SUGGEST_IDENTICAL : -1, 1},
                    err);
        }
        if (!s && nt > 1)
            s = xf__knn(T, nt, T, nt, d, 1, 1, o, tb, tsim, err);
        for (size_t i = 0; !s && i < nt; i++) {
            long r = tb[i];
            if (r < 0 || (double) tsim[i] < o->dup_cosine || !less_first(tb, 1, i, r))
                continue;
            int same = same_bytes(test->paths[trow[i]], test->paths[trow[r]]);
            s = add(a,
                    (xf_finding){XF_FIND_DUPLICATE, trow[i], (long) trow[r], (double) tsim[i], -1,
                                 same ? XF_SUGGEST_IDENTICAL : -1, 1},
                    err);
        }
        free(trow), free(T), free(tb), free(tsim);
    }
    if (!s && a->n > 1)
        qsort(a->f, a->n, sizeof *a->f, cmp_finding);
    free(copy), free(P), free(nb), free(ns), free(flag), free(dist), free(sorted);
    if (s)
        xf__audit_free(a);
    return s;
}
