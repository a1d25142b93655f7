/* linear_train.c — the only file that includes <linear.h>: LIBLINEAR training exported to
 * dense weights, stratified cross-validation, Platt scaling.
 *
 * It is: problem construction (rows point into one node array: 16 bytes per value plus two
 * nodes per row), LIBLINEAR's check_parameter string wrapped into xf_error, its printing routed
 * to xf_log. It is not: the decision and probability rules (linear_rule.c: inference never
 * links LIBLINEAR) or any file format; the project never reads LIBLINEAR's text model files.
 */
#include "gemm.h"
#include "linear.h"

#include <linear.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

static const int ids[XF_SOLVER_COUNT_] = {L2R_LR, L2R_L2LOSS_SVC_DUAL, L1R_LR, L1R_L2LOSS_SVC,
                                          MCSVM_CS};

static pthread_mutex_t rand_lock = PTHREAD_MUTEX_INITIALIZER;

static void quiet_print(const char *s)
{
    xf__log(XF_LOG_DEBUG, "%s", s);
}

/* One node array for the rows (all, or those with train[i]; the others get NULL): nonzero
 * values, the bias feature d+1 = 1, a terminator. */
static struct feature_node *build_nodes(const float *X, size_t n, int d, const unsigned char *train,
                                        struct feature_node **rows)
{
    size_t per_row = (size_t) d + 2, total, used = 0;
    for (size_t i = 0; i < n; i++)
        used += !train || train[i];
    if (!xf__mul_size(used ? used : 1, per_row, &total))
        return NULL;
    struct feature_node *nodes = malloc(total * sizeof *nodes), *q = nodes;
    if (!nodes)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        rows[i] = NULL;
        if (train && !train[i])
            continue;
        rows[i] = q;
        const float *x = X + i * (size_t) d;
        for (int j = 0; j < d; j++)
            if (x[j] != 0.0f) {
                q->index = j + 1;
                q->value = (double) x[j];
                q++;
            }
        q->index = d + 1;
        q->value = 1.0;
        q++;
        q->index = -1;
        q++;
    }
    return nodes;
}

/* Trains on the m rows given; exports column c of W and b[c] for class c. warm (may be NULL;
 * (d + 1) * k doubles, *warmed 0 at first): the primal logistic solver starts from the solution
 * warm holds (the same rows at the previous C of a grid) and leaves its own there. Its stopping
 * rule is relative to the gradient at zero, so a warm start reaches the same tolerance, sooner. */
static xf_status train_rows(struct feature_node **rows, const int *y, size_t m, int d, int k,
                            const xf_lin_params *p, float *W, float *b, double *warm, int *warmed,
                            xf_error *err)
{
    double *yy = malloc((m ? m : 1) * sizeof *yy);
    int *count = calloc((size_t) k, sizeof *count);
    int *wl = malloc((size_t) k * sizeof *wl), *lab = malloc((size_t) k * sizeof *lab);
    double *wv = malloc((size_t) k * sizeof *wv);
    xf_status s = XF_OK;
    struct model *mdl = NULL;
    if (!yy || !count || !wl || !wv || !lab) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < m; i++) {
        yy[i] = y[i];
        count[y[i]]++;
    }
    int present = 0;
    for (int c = 0; c < k; c++)
        present += count[c] > 0;
    if (present < 2) {
        s = xf__fail(err, XF_ERR_ARG, "training needs at least two classes with examples, got %d",
                     present);
        goto done;
    }
    struct problem prob = {(int) m, d + 1, yy, rows, 1.0};
    struct parameter par;
    memset(&par, 0, sizeof par);
    par.solver_type = ids[p->solver];
    par.C = p->C;
    par.eps = p->solver == XF_SOLVER_LR ? 0.01 : 0.1; /* LIBLINEAR's defaults */
    par.p = 0.1;
    if (p->balanced) {
        par.nr_weight = k;
        par.weight_label = wl;
        par.weight = wv;
        for (int c = 0; c < k; c++) {
            wl[c] = c;
            wv[c] = count[c] ? (double) m / ((double) present * count[c]) : 1.0;
        }
    }
    if (warm && p->solver != XF_SOLVER_LR)
        warm = NULL;
    if (warm && *warmed)
        par.init_sol = warm;
    const char *msg = check_parameter(&prob, &par);
    if (msg) {
        s = xf__fail(err, XF_ERR_ARG, "LIBLINEAR: %s", msg);
        goto done;
    }
    /* LIBLINEAR's coordinate-descent solvers shuffle with the C library's rand(), one state for
     * the process: trained one at a time from a fixed seed, the result does not depend on which
     * cross-validation thread runs first (the primal logistic solver draws no random numbers) */
    int draws = p->solver != XF_SOLVER_LR;
    if (draws) {
        pthread_mutex_lock(&rand_lock);
        srand(1);
    }
    mdl = train(&prob, &par);
    if (draws)
        pthread_mutex_unlock(&rand_lock);
    if (!mdl) {
        s = xf__fail(err, XF_ERR_NOMEM, "LIBLINEAR training failed");
        goto done;
    }
    int nr = get_nr_class(mdl);
    if (warm) { /* LIBLINEAR's own layout: (d + 1) x (2 classes: 1; else nr) */
        memcpy(warm, mdl->w, (size_t) (d + 1) * (size_t) (nr == 2 ? 1 : nr) * sizeof *warm);
        *warmed = 1;
    }
    get_labels(mdl, lab);
    for (int c = 0; c < k; c++)
        b[c] = -1e30f; /* a class absent from these rows is never predicted */
    memset(W, 0, (size_t) d * (size_t) k * sizeof(float));
    for (int li = 0; li < nr; li++) {
        int c = lab[li];
        for (int j = 0; j < d; j++)
            W[(size_t) j * (size_t) k + (size_t) c] = (float) get_decfun_coef(mdl, j + 1, li);
        b[c] = (float) get_decfun_bias(mdl, li); /* the bias feature's weight times 1 */
    }
done:
    if (mdl)
        free_and_destroy_model(&mdl);
    free(yy);
    free(count);
    free(wl);
    free(wv);
    free(lab);
    return s;
}

xf_status xf__linear_train(const float *X, const int *y, size_t n, int d, int k,
                           const xf_lin_params *p, float *W, float *b, xf_error *err)
{
    set_print_string_function(quiet_print);
    if (n > INT32_MAX)
        return xf__fail(err, XF_ERR_BOUNDS, "training set too large");
    struct feature_node **rows = malloc((n ? n : 1) * sizeof *rows);
    struct feature_node *nodes = rows ? build_nodes(X, n, d, NULL, rows) : NULL;
    xf_status s = nodes ? train_rows(rows, y, n, d, k, p, W, b, NULL, NULL, err)
                        : xf__fail(err, XF_ERR_NOMEM,
                                   "out of memory for %zu x %d training "
                                   "values (LIBLINEAR needs 16 bytes per value)",
                                   n, d);
    free(nodes);
    free(rows);
    return s;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

void xf__stratified_folds(const int *y, size_t n, int k, int folds, uint64_t seed, int *fold)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) {
        for (size_t i = 0; i < n; i++)
            fold[i] = (int) (i % (size_t) folds);
        return;
    }
    uint64_t st = seed * 0x9E3779B97F4A7C15ull + 1;
    int offset = 0;
    for (int c = 0; c < k; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (y[i] == c)
                idx[m++] = i;
        for (size_t i = m; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t) (next_rand(&st) % i);
            size_t t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
        for (size_t i = 0; i < m; i++)
            fold[idx[i]] = (int) ((i + (size_t) offset) % (size_t) folds);
        offset = (int) ((m + (size_t) offset) % (size_t) folds); /* keep fold sizes even */
    }
    free(idx);
}

typedef struct {
    const float *X;
    const int *y, *fold;
    struct feature_node **rows;
    size_t n;
    int d, k, f;
    xf_lin_params p;
    float *dec;   /* shared (n, k): each fold writes only its own rows */
    double *warm; /* this fold's solution at the previous C ((d + 1) * k) */
    int warmed;
    xf_status s;
    xf_error err;
} fold_job;

static void *run_fold(void *arg)
{
    fold_job *j = arg;
    size_t m = 0;
    struct feature_node **sub = malloc((j->n ? j->n : 1) * sizeof *sub);
    int *ys = malloc((j->n ? j->n : 1) * sizeof *ys);
    float *W = malloc((size_t) j->d * (size_t) j->k * sizeof(float) + 4);
    float *b = malloc((size_t) j->k * sizeof(float) + 4);
    if (!sub || !ys || !W || !b) {
        j->s = xf__fail(&j->err, XF_ERR_NOMEM, "out of memory for cross-validation");
    } else {
        for (size_t i = 0; i < j->n; i++)
            if (j->fold[i] != j->f && j->rows[i]) {
                sub[m] = j->rows[i];
                ys[m++] = j->y[i];
            }
        j->s = train_rows(sub, ys, m, j->d, j->k, &j->p, W, b, j->warm, &j->warmed, &j->err);
        for (size_t i = 0; !j->s && i < j->n; i++)
            if (j->fold[i] == j->f)
                xf__linear_decision(W, b, j->d, j->k, j->X + i * (size_t) j->d,
                                    j->dec + i * (size_t) j->k);
    }
    free(sub);
    free(ys);
    free(W);
    free(b);
    return NULL;
}

xf_status xf__linear_cv(const float *X, const int *y, size_t n, int d, int k,
                        const xf_lin_params *p, const xf_cv_opts *cv, double *acc, int *best,
                        float *dec_out, xf_error *err)
{
    const double *Cs = cv->Cs;
    const int *fold = cv->fold;
    int n_C = cv->n_C, folds = cv->folds, threads = cv->threads;
    set_print_string_function(quiet_print);
    struct feature_node **rows = malloc((n ? n : 1) * sizeof *rows);
    struct feature_node *nodes = rows ? build_nodes(X, n, d, cv->train, rows) : NULL;
    float *dec = malloc(n * (size_t) k * sizeof(float) + 4);
    fold_job *jobs = calloc((size_t) folds, sizeof *jobs);
    pthread_t *th = calloc((size_t) folds, sizeof *th);
    size_t per_fold = (size_t) (d + 1) * (size_t) k;
    double *warm = malloc((size_t) folds * per_fold * sizeof *warm);
    xf_status s = XF_OK;
    if (!nodes || !dec || !jobs || !th || !warm) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory for cross-validation");
        goto done;
    }
    if (threads < 1)
        threads = 1;
    *best = 0;
    for (int ci = 0; ci < n_C && !s; ci++) {
        for (int f = 0; f < folds; f++) {
            fold_job jb = {X, y, fold, rows, n, d, k, f, *p, dec, NULL, 0, XF_OK, {XF_OK, ""}};
            jb.warm = warm + (size_t) f * per_fold;
            jb.warmed = jobs[f].warmed; /* jobs start zeroed: cold at the first C */
            jb.p.C = Cs[ci];
            jobs[f] = jb;
        }
        for (int f0 = 0; f0 < folds; f0 += threads) { /* waves of `threads` folds */
            int started = 0;
            for (int f = f0; f < folds && f < f0 + threads; f++)
                if (threads == 1 || pthread_create(&th[f], NULL, run_fold, &jobs[f]) != 0)
                    run_fold(&jobs[f]);
                else
                    started |= 1 << (f - f0);
            for (int f = f0; f < folds && f < f0 + threads; f++)
                if (started & (1 << (f - f0)))
                    pthread_join(th[f], NULL);
        }
        size_t correct = 0;
        for (int f = 0; f < folds && !s; f++)
            if (jobs[f].s) {
                s = jobs[f].s;
                if (err)
                    *err = jobs[f].err;
            }
        for (size_t i = 0; !s && i < n; i++) {
            const float *di = dec + i * (size_t) k;
            int arg = 0;
            for (int c = 1; c < k; c++)
                if (di[c] > di[arg])
                    arg = c;
            correct += arg == y[i];
        }
        acc[ci] = n ? (double) correct / (double) n : 0;
        if (!s && cv->on_C)
            cv->on_C(cv->user, ci, Cs[ci], acc[ci]);
        if (!s && (ci == 0 || acc[ci] > acc[*best])) {
            *best = ci;
            if (dec_out)
                memcpy(dec_out, dec, n * (size_t) k * sizeof(float));
        }
    }
done:
    free(nodes);
    free(rows);
    free(dec);
    free(warm);
    free(jobs);
    free(th);
    return s;
}

void xf__platt_fit(const float *f, const unsigned char *t, size_t n, float *Aout, float *Bout)
{
    double prior1 = 0, prior0 = 0;
    for (size_t i = 0; i < n; i++)
        t[i] ? prior1++ : prior0++;
    double hi = (prior1 + 1.0) / (prior1 + 2.0), lo = 1.0 / (prior0 + 2.0);
    double A = 0.0, B = log((prior0 + 1.0) / (prior1 + 1.0)), fval = 0.0;
    const double sigma = 1e-12, eps = 1e-5, min_step = 1e-10;
    for (size_t i = 0; i < n; i++) {
        double ti = t[i] ? hi : lo, fApB = (double) f[i] * A + B;
        fval += fApB >= 0 ? ti * fApB + log(1 + exp(-fApB)) : (ti - 1) * fApB + log(1 + exp(fApB));
    }
    for (int it = 0; it < 100; it++) {
        double h11 = sigma, h22 = sigma, h21 = 0, g1 = 0, g2 = 0;
        for (size_t i = 0; i < n; i++) {
            double ti = t[i] ? hi : lo, fApB = (double) f[i] * A + B, p, q;
            if (fApB >= 0) {
                p = exp(-fApB) / (1.0 + exp(-fApB));
                q = 1.0 / (1.0 + exp(-fApB));
            } else {
                p = 1.0 / (1.0 + exp(fApB));
                q = exp(fApB) / (1.0 + exp(fApB));
            }
            double d2 = p * q, d1 = ti - p;
            h11 += (double) f[i] * (double) f[i] * d2;
            h22 += d2;
            h21 += (double) f[i] * d2;
            g1 += (double) f[i] * d1;
            g2 += d1;
        }
        if (fabs(g1) < eps && fabs(g2) < eps)
            break;
        double det = h11 * h22 - h21 * h21;
        double dA = -(h22 * g1 - h21 * g2) / det, dB = -(-h21 * g1 + h11 * g2) / det;
        double gd = g1 * dA + g2 * dB, step = 1;
        while (step >= min_step) {
            double nA = A + step * dA, nB = B + step * dB, nf = 0;
            for (size_t i = 0; i < n; i++) {
                double ti = t[i] ? hi : lo, fApB = (double) f[i] * nA + nB;
                nf += fApB >= 0 ? ti * fApB + log(1 + exp(-fApB))
                                : (ti - 1) * fApB + log(1 + exp(fApB));
            }
            if (nf < fval + 0.0001 * step * gd) {
                A = nA, B = nB, fval = nf;
                break;
            }
            step /= 2;
        }
        if (step < min_step)
            break;
    }
    *Aout = (float) A;
    *Bout = (float) B;
}
