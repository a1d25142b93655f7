/* optim.h — the optimizers of fine-tuning, as a table: each a step function over one parameter
 * tensor with its hyper-parameters passed in (llm.c style), and how many state vectors it keeps.
 * It is: the update rules. It is not: the schedule (finetune.c decides lr per step) or which
 * tensors train (ft_graph.c: frozen tensors simply get no step).
 */
#ifndef XF_OPTIM_H
#define XF_OPTIM_H

#include "base.h"

typedef struct {
    double lr;           /* this step's learning rate (after the schedule)                    */
    double beta1, beta2; /* Adam's moment decays (0.9, 0.999)                                 */
    double eps;          /* Adam, RMSprop, AdaGrad denominator guard (1e-8)                   */
    double rho;          /* RMSprop's decay of the squared gradient (0.9)                     */
    double momentum;     /* SGD, Nesterov (0.9)                                               */
    long t;              /* the step count, from 1 (Adam's bias correction)                   */
} xf_optim_hp;

typedef struct {
    const char *name; /* "adamw": the flag, the log and the fine-tuned file's record */
    int n_state;      /* state vectors per parameter tensor */
    /* p -= update(g) over n values; wd: this tensor's weight decay (0 for biases); zeroes g */
    void (*step)(const xf_optim_hp *hp, float wd, float *p, float *g, float *const *state,
                 size_t n);
} xf_optim;

/* By name, or NULL. */
const xf_optim *xf__optim_find(const char *name);
/* The names in table order, NULL-terminated (for the option's choices). */
extern const char *const xf__optim_names[];
const xf_optim *xf__optim_at(int i);

/* The optimizer's flags for a tool's option table (cli.h): the choice's index goes to *opt;
 * o is an xf_ft_opts (finetune.h) */
#define XF_FT_OPTIM_OPTS(o, opt)                                                                     \
    {"--optimizer", NULL, XF_CLI_CHOICE, (opt), .choices = xf__optim_names, .help = "(adamw)"},      \
        {"--momentum", NULL, XF_CLI_FLOAT, &(o)->momentum, 0, 0.9999, .meta = "F", .help = "(0.9)"}, \
        {"--beta1", NULL,     XF_CLI_DOUBLE, &(o)->beta1,                                            \
         0,         0.999999, .meta = "F",   .help = "Adam (0.9)"},                                  \
        {"--beta2", NULL,     XF_CLI_DOUBLE, &(o)->beta2,                                            \
         0,         1 - 1e-9, .meta = "F",   .help = "Adam (0.999)"},                                \
        {"--eps",       NULL,                                                                        \
         XF_CLI_DOUBLE, &(o)->eps,                                                                   \
         1e-30,         1,                                                                           \
         .meta = "F",   .help = "Adam, RMSprop and AdaGrad's denominator guard (1e-8)"},             \
    {                                                                                                \
        "--rho", NULL, XF_CLI_DOUBLE, &(o)->rho, 0, 0.999999, .meta = "F", .help = "RMSprop (0.9)"   \
    }

#endif /* XF_OPTIM_H */
