/* ft_contrastive.h — contrastive pre-training of the trainable backbone part (finetune
 * --pretrain-epochs): SimCLR on unlabelled and labelled images together, before the head trains.
 * It is: the run (a projection head on the pooled features, NT-Xent on two strong views of each
 * image, the head discarded) and its flags. It is not: the loss (loss.c), the views
 * (ft_unlabeled.c) or the supervised training that follows (finetune.c, from o->init).
 */
#ifndef XF_FT_CONTRASTIVE_H
#define XF_FT_CONTRASTIVE_H

#include "ft_graph.h"

/* Trains the nodes o's unfreeze settings name, plus a projection head (dense to the pooled
 * width, ReLU, dense to proj_dim), for o->pretrain_epochs over o->pretrain_views's rows of
 * bdim floats; *out is that graph (free with xf__ftgraph_free), for o->init. */
xf_status xf__ft_pretrain(const xf_model *m, const xf_ft_opts *o, int64_t bdim, xf_ftgraph *out,
                          xf_error *err);

/* finetune's pre-training: a pool of the images under train_dir and udirs[0..n_udirs)
 * (ft_unlabeled.h, two strong views), xf__ft_pretrain over it at the boundary `layer` (pooled
 * or not), the pool freed again; then o->init is *g and o->pretrain_images the pool's usable
 * images. */
xf_status xf__ft_pretrain_folders(const xf_model *m, const char *layer, int pooled, int threads,
                                  const char *train_dir, const char *const *udirs, int n_udirs,
                                  xf_ft_opts *o, xf_ftgraph *g, xf_error *err);

/* finetune's flags for it (cli.h); o an xf_ft_opts */
#define XF_FT_PRETRAIN_OPTS(o)                                                               \
    {"--pretrain-epochs",                                                                    \
     NULL,                                                                                   \
     XF_CLI_INT,                                                                             \
     &(o)->pretrain_epochs,                                                                  \
     0,                                                                                      \
     10000,                                                                                  \
     .meta = "N",                                                                            \
     .help = "first, contrastive pre-training (SimCLR) of the unfrozen nodes on two strong " \
             "views of every training and --unlabeled image (0: none)"},                     \
        {"--pretrain-batch",                                                                 \
         NULL,                                                                               \
         XF_CLI_INT,                                                                         \
         &(o)->pretrain_batch,                                                               \
         2,                                                                                  \
         4096,                                                                               \
         .meta = "N",                                                                        \
         .help = "images per pre-training step, two views each (128)"},                      \
        {"--temperature",                                                                    \
         NULL,                                                                               \
         XF_CLI_FLOAT,                                                                       \
         &(o)->temperature,                                                                  \
         1e-3,                                                                               \
         100,                                                                                \
         .meta = "T",                                                                        \
         .help = "of the contrastive loss (0.2)"},                                           \
        {"--proj-dim",                                                                       \
         NULL,                                                                               \
         XF_CLI_INT,                                                                         \
         &(o)->proj_dim,                                                                     \
         2,                                                                                  \
         4096,                                                                               \
         .meta = "N",                                                                        \
         .help = "the projection head's output, discarded after pre-training (128)"},        \
    {                                                                                        \
        "--pretrain-lr", NULL, XF_CLI_FLOAT, &(o)->pretrain_lr, 1e-12, 9.999,                \
            .meta = "F", .help = "pre-training's learning rate (default: --lr)"              \
    }

#endif /* XF_FT_CONTRASTIVE_H */
