/* linear.h — linear classifiers trained with LIBLINEAR, exported to dense (W, b).
 *
 * It is: training on dense rows, stratified k-fold cross-validation over a C grid and Platt
 * scaling. It is not: feature
 * normalisation (train.c), the head file (extractor/head.c) or the decision and probability
 * rules (extractor/linear_rule.h). Training is linear_train.c, the only user of LIBLINEAR.
 */
#ifndef XF_LINEAR_H
#define XF_LINEAR_H

#include "linear_rule.h"

typedef struct {
    xf_solver solver;
    double C;
    int balanced; /* class weights n / (k * n_c) */
} xf_lin_params;

/* Trains on rows[0..n) of X (n, d) with labels y in 0..k-1. Writes W (d, k) row-major and
 * b (k): decision value of class c = x . W[:, c] + b[c]. Needs at least 2 classes present. */
xf_status xf__linear_train(const float *X, const int *y, size_t n, int d, int k,
                           const xf_lin_params *p, float *W, float *b, xf_error *err);

/* Stratified fold of each row: classes shuffled with seed, dealt round-robin. */
void xf__stratified_folds(const int *y, size_t n, int k, int folds, uint64_t seed, int *fold);

typedef struct {
    const double *Cs; /* the grid */
    int n_C;
    const int *fold; /* per row: its fold (xf__stratified_folds) */
    int folds;
    int threads; /* folds trained at once; results do not depend on it */
    /* after each C, in grid order (may be NULL): progress for a long search */
    void (*on_C)(void *user, int i, double C, double accuracy);
    void *user;
    /* per row (may be NULL: all): 1 when it may train its folds' models; every row is still
     * predicted by the model of its own fold. Bounds the memory and time of a large set by the
     * rows trained on (LIBLINEAR's copy of a row is 16 bytes per value). */
    const unsigned char *train;
} xf_cv_opts;

/* Cross-validated accuracy acc[i] for each C of the grid; dec_out (n, k), when not NULL,
 * receives the held-out decision values of the best C. best: index into Cs (ties: the
 * smaller C). */
xf_status xf__linear_cv(const float *X, const int *y, size_t n, int d, int k,
                        const xf_lin_params *p, const xf_cv_opts *cv, double *acc, int *best,
                        float *dec_out, xf_error *err);

/* Platt's sigmoid P(+|f) = 1 / (1 + exp(A f + B)) fitted to decision values f and 0/1 targets
 * (Lin, Lin & Weng's robust Newton method). */
void xf__platt_fit(const float *f, const unsigned char *t, size_t n, float *A, float *B);

#endif
