/* ft_step.h — the pieces of one training step on the trainable graph (ft_graph.h), shared by
 * supervised fine-tuning (finetune.c) and contrastive pre-training (ft_contrastive.c).
 * It is: the per-node work buffers, forward with dropout, backward (gradients summed into the
 * parameters' g), the optimizer step over every trainable tensor, the learning-rate schedule.
 * It is not: a loss or a training loop.
 */
#ifndef XF_FT_STEP_H
#define XF_FT_STEP_H

#include "ft_graph.h"
#include "optim.h"

typedef struct {
    float **buf, **grad, **tmp; /* per node: activations, dL/d(output), scratch for inputs */
    unsigned char **mask;       /* dropout masks of hidden layers */
    float *scratch;
    int batch;
} xf_ftwork;

/* Buffers for up to batch rows through every node of t. */
xf_status xf__ftwork_alloc(const xf_ftgraph *t, int batch, xf_ftwork *w, xf_error *err);
void xf__ftwork_free(const xf_ftgraph *t, xf_ftwork *w);

/* Forward of rows [0, n) already in w->buf[0]; dropout (drawn from *seed) on hidden layers. */
void xf__ft_forward(xf_ftgraph *t, xf_ftwork *w, int n, float dropout, uint64_t *seed);
/* Backward from w->grad[last] (dL/d(last output)); parameter gradients add into t's g. */
xf_status xf__ft_backward(xf_ftgraph *t, xf_ftwork *w, int n, float dropout, xf_error *err);
/* One optimizer step on every trainable tensor; weight decay on weights, not biases. */
void xf__ft_update(xf_ftgraph *t, const xf_optim *opt, const xf_optim_hp *hp, float wd);

/* The learning rate of step (from 1): linear warm-up over warm steps, then steps of gamma every
 * step_every epochs (> 0), else cosine decay to 0 at total steps. */
double xf__ft_lr(double lr, long step, long warm, long total, int epoch, int step_every,
                 double gamma);

/* the schedule's flags for a tool's option table (cli.h); o an xf_ft_opts */
#define XF_FT_SCHEDULE_OPTS(o)                                                         \
    {                                                                                  \
        "--warmup",                                                                    \
        NULL,                                                                          \
        XF_CLI_INT,                                                                    \
        &(o)->warmup,                                                                  \
        0,                                                                             \
        10000,                                                                         \
        .meta = "EPOCHS",                                                              \
        .help = "linear warm-up, then cosine decay (default 1)"},                      \
        {"--step-epochs",                                                              \
         NULL,                                                                         \
         XF_CLI_INT,                                                                   \
         &(o)->step_every,                                                             \
         1,                                                                            \
         10000,                                                                        \
         .meta = "N",                                                                  \
         .help = "instead of cosine: multiply lr by --step-gamma every N epochs"},     \
    {                                                                                  \
        "--step-gamma", NULL, XF_CLI_FLOAT, &(o)->step_gamma, 1e-6, 1, .meta = "F",    \
                                                                       .help = "(0.1)" \
    }

/* xorshift64: dropout masks and shuffles */
static inline uint64_t xf__ft_rnd(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

#endif /* XF_FT_STEP_H */
