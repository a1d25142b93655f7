/* linear_rule.h — how a trained linear classifier decides: the solver names, decision values
 * and each solver's probability rule.
 * It is: what inference needs (libxfer applies heads without LIBLINEAR). It is not: training
 * (classifier/linear.h, linear_train.c).
 */
#ifndef XF_LINEAR_RULE_H
#define XF_LINEAR_RULE_H

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

/* dec (k) = x (d) . W + b */
void xf__linear_decision(const float *W, const float *b, int d, int k, const float *x, float *dec);

/* Probabilities from decision values: logistic solvers use LIBLINEAR's rule (binary: sigmoid;
 * multi-class: one-vs-rest sigmoids normalised); with platt (2k: A, B per class) the fitted
 * sigmoids, normalised. */
void xf__linear_proba(const float *dec, int k, const float *platt, int logistic, float *prob);

#endif
