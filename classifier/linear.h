/* linear.h — linear classifiers trained with LIBLINEAR, exported to dense (W, b).
 *
 * It is: solver names, training on dense rows, stratified k-fold cross-validation over a C
 * grid, Platt scaling, and the probability rule of each solver. It is not: feature
 * normalisation (train.c) or the head file (head.c). Training is linear_train.c (the only
 * user of LIBLINEAR), the decision and probability rules linear_rule.c.
 */
#ifndef XF_LINEAR_H
#define XF_LINEAR_H

#include "base.h"

typedef enum {
    XF_SOLVER_LR,    /* L2-regularised logistic regression (primal)     */
    XF_SOLVER_SVM,   /* L2-regularised L2-loss SVM (dual)               */
    XF_SOLVER_L1LR,  /* L1-regularised logistic regression              */
    XF_SOLVER_L1SVM, /* L1-regularised L2-loss SVM                      */
    XF_SOLVER_CS,    /* Crammer-Singer multi-class SVM                  */
    XF_SOLVER_COUNT_
} xf_solver;

const char *xf__solver_name(xf_solver s); /* "lr", "svm", "l1lr", "l1svm", "cs" */
int xf__solver_parse(const char *name, xf_solver *out);
int xf__solver_is_logistic(xf_solver s);

typedef struct {
    xf_solver solver;
    double C;
    int balanced; /* class weights n / (k * n_c) */
} xf_lin_params;

/* Trains on rows[0..n) of X (n, d) with labels y in 0..k-1. Writes W (d, k) row-major and
 * b (k): decision value of class c = x . W[:, c] + b[c]. Needs at least 2 classes present. */
xf_status xf__linear_train(const float *X, const int *y, size_t n, int d, int k,
                           const xf_lin_params *p, float *W, float *b, xf_error *err);

/* dec (k) = x (d) . W + b */
void xf__linear_decision(const float *W, const float *b, int d, int k, const float *x, float *dec);

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

/* Probabilities from decision values: logistic solvers use LIBLINEAR's rule (binary: sigmoid;
 * multi-class: one-vs-rest sigmoids normalised); with platt (2k: A, B per class) the fitted
 * sigmoids, normalised. */
void xf__linear_proba(const float *dec, int k, const float *platt, int logistic, float *prob);

#endif
