/* linear_rule.c — how a trained linear classifier decides: solver names, decision values and
 * the probability rule of each solver (LIBLINEAR's for logistic heads, Platt's sigmoids else).
 * It is: what inference needs (libxfer, so classify and the C API never link LIBLINEAR).
 * It is not: training (classifier/linear_train.c).
 */
#include "linear_rule.h"

#include <math.h>
#include <string.h>

static const char *const names[XF_SOLVER_COUNT_] = {"lr", "svm", "l1lr", "l1svm", "cs"};

const char *xf__solver_name(xf_solver s)
{
    return (unsigned) s < XF_SOLVER_COUNT_ ? names[s] : "?";
}

int xf__solver_parse(const char *name, xf_solver *out)
{
    for (int i = 0; i < XF_SOLVER_COUNT_; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (xf_solver) i;
            return 1;
        }
    return 0;
}

int xf__solver_is_logistic(xf_solver s)
{
    return s == XF_SOLVER_LR || s == XF_SOLVER_L1LR;
}

void xf__linear_decision(const float *W, const float *b, int d, int k, const float *x, float *dec)
{
    for (int c = 0; c < k; c++)
        dec[c] = b[c];
    for (int j = 0; j < d; j++) {
        float v = x[j];
        if (v == 0.0f)
            continue;
        const float *w = W + (size_t) j * (size_t) k;
        for (int c = 0; c < k; c++)
            dec[c] += v * w[c];
    }
}

static double sigmoid(double z)
{
    return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

void xf__linear_proba(const float *dec, int k, const float *platt, int logistic, float *prob)
{
    double sum = 0;
    if (k == 2 && logistic && !platt) {
        /* LIBLINEAR stores one vector for two classes: dec[1] == -dec[0] */
        prob[0] = (float) sigmoid((double) dec[0]);
        prob[1] = 1.0f - prob[0];
        return;
    }
    for (int c = 0; c < k; c++) {
        double z = platt ? -((double) platt[2 * c] * (double) dec[c] + (double) platt[2 * c + 1])
                         : (double) dec[c];
        prob[c] = (float) sigmoid(z);
        sum += (double) prob[c];
    }
    for (int c = 0; c < k; c++)
        prob[c] = sum > 0 ? (float) ((double) prob[c] / sum) : 1.0f / (float) k;
}
