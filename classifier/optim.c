/* optim.c — the update rules of fine-tuning (see optim.h), in double per element.
 *
 * It is: SGD and Nesterov momentum, Adam and AdamW (decoupled decay, Loshchilov & Hutter),
 * RMSprop, AdaGrad; L2 decay is added to the gradient except in AdamW. It is not: the schedule.
 */
#include "optim.h"

#include <math.h>
#include <string.h>

static void sgd_like(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st,
                     size_t n, int nesterov)
{
    float *m = st[0];
    for (size_t j = 0; j < n; j++) {
        double gr = (double) g[j] + (double) wd * (double) p[j];
        m[j] = (float) (hp->momentum * (double) m[j] + gr);
        double d = nesterov ? gr + hp->momentum * (double) m[j] : (double) m[j];
        p[j] -= (float) (hp->lr * d);
        g[j] = 0;
    }
}

static void sgd(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st, size_t n)
{
    sgd_like(hp, wd, p, g, st, n, 0);
}

static void nesterov(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st,
                     size_t n)
{
    sgd_like(hp, wd, p, g, st, n, 1);
}

static void adam_like(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st,
                      size_t n, int decoupled)
{
    double b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps;
    double c1 = 1 - pow(b1, (double) hp->t), c2 = 1 - pow(b2, (double) hp->t);
    float *m = st[0], *v = st[1];
    for (size_t j = 0; j < n; j++) {
        double gr = (double) g[j];
        if (!decoupled)
            gr += (double) wd * (double) p[j];
        m[j] = (float) (b1 * (double) m[j] + (1 - b1) * gr);
        v[j] = (float) (b2 * (double) v[j] + (1 - b2) * gr * gr);
        double upd = ((double) m[j] / c1) / (sqrt((double) v[j] / c2) + eps);
        if (decoupled)
            upd += (double) wd * (double) p[j];
        p[j] -= (float) (hp->lr * upd);
        g[j] = 0;
    }
}

static void adam(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st, size_t n)
{
    adam_like(hp, wd, p, g, st, n, 0);
}

static void adamw(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st, size_t n)
{
    adam_like(hp, wd, p, g, st, n, 1);
}

static void squares(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st, size_t n,
                    int rmsprop)
{
    float *v = st[0];
    double rho = hp->rho;
    for (size_t j = 0; j < n; j++) {
        double gr = (double) g[j] + (double) wd * (double) p[j];
        double vv = rmsprop ? rho * (double) v[j] + (1 - rho) * gr * gr : (double) v[j] + gr * gr;
        v[j] = (float) vv;
        p[j] -= (float) (hp->lr * gr / (sqrt(vv) + hp->eps));
        g[j] = 0;
    }
}

static void rmsprop(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st, size_t n)
{
    squares(hp, wd, p, g, st, n, 1);
}

static void adagrad(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *st, size_t n)
{
    squares(hp, wd, p, g, st, n, 0);
}

static const xf_optim table[] = {
    {"sgd", 1, sgd},     {"nesterov", 1, nesterov}, {"adam", 2, adam},
    {"adamw", 2, adamw}, {"rmsprop", 1, rmsprop},   {"adagrad", 1, adagrad},
};

const char *const xf__optim_names[] = {"sgd",     "nesterov", "adam", "adamw",
                                       "rmsprop", "adagrad",  NULL};

const xf_optim *xf__optim_at(int i)
{
    return i >= 0 && i < (int) XF_COUNT(table) ? &table[i] : NULL;
}

const xf_optim *xf__optim_find(const char *name)
{
    for (size_t i = 0; i < XF_COUNT(table); i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}
