/* ft_unlabeled.h — fine-tuning's unlabelled images (finetune --unlabeled): the pool, and each
 * epoch's weak and strong augmented views of it at the frozen part's boundary.
 * It is: collecting the images (any folder layout, labels ignored), running the extraction
 * pipeline twice per epoch (XF_AUG_WEAK, XF_AUG_STRONG), skipping and reporting the images that
 * fail. It is not: the consistency loss (finetune.c) or the labelled data (ft_dataset.c).
 */
#ifndef XF_FT_UNLABELED_H
#define XF_FT_UNLABELED_H

#include "inputs.h"
#include "model.h"

typedef struct {
    const xf_model *m;
    const char *layer;
    int pooled, threads;
    uint64_t seed;
    int64_t dim;
    xf_inputs in;
    float *weak, *strong; /* in.n rows each; this epoch's first n are the usable pairs */
    unsigned char *state; /* per input: 1 its weak view this pass, 2 both, 4 reported failed */
    size_t n;
    size_t reserved; /* taken from the memory budget (budget.c) for the views */
    int pass;        /* 0: weak, 1: strong (the emit's target) */
    int two_strong;  /* contrastive pre-training: both views strong, with their own seeds */
} xf_ftunl;

/* The images under dirs[0..n_dirs) (files or folders, walked as inputs.h says). */
xf_status xf__ftunl_open(xf_ftunl *u, const char *const *dirs, int n_dirs, xf_error *err);
/* For xf_ft_opts.unlabeled (and .pretrain_views, two_strong): the epoch's views of every image
 * that decodes, in input order. */
xf_status xf__ftunl_views(void *u, int epoch, const float **weak, const float **strong, size_t *n,
                          xf_error *err);
void xf__ftunl_free(xf_ftunl *u);

/* finetune's flags for it (cli.h): dirs an xf_cli_list, o an xf_ft_opts (finetune.h) */
#define XF_FT_UNLABELED_OPTS(dirs, o)                                                             \
    {"--unlabeled",                                                                               \
     NULL,                                                                                        \
     XF_CLI_LIST,                                                                                 \
     (dirs),                                                                                      \
     .meta = "DIR",                                                                               \
     .help = "unlabelled images (any layout; repeatable): each epoch a weak view (flip, mild "    \
             "crop) of each that the model is sure of labels its strong view (crop, colour, "     \
             "cutout), FixMatch-style"},                                                          \
        {"--pseudo-threshold",                                                                    \
         NULL,                                                                                    \
         XF_CLI_FLOAT,                                                                            \
         &(o)->pseudo_threshold,                                                                  \
         0,                                                                                       \
         1,                                                                                       \
         .meta = "P",                                                                             \
         .help = "the weak view's top probability that makes a pseudo-label (0.95)"},             \
        {"--align", NULL, XF_CLI_FLAG, &(o)->align,                                               \
         .help = "distribution alignment: pseudo-labels pulled to the labelled class mix"},       \
        {"--unlabeled-weight",                                                                    \
         NULL,                                                                                    \
         XF_CLI_FLOAT,                                                                            \
         &(o)->unlabeled_weight,                                                                  \
         0,                                                                                       \
         1e3,                                                                                     \
         .meta = "F",                                                                             \
         .help = "of the unlabelled loss (1; 0 with --pretrain-epochs: the images for it only)"}, \
    {                                                                                             \
        "--mu", NULL, XF_CLI_INT, &(o)->mu, 1, 64,                                                \
            .meta = "N", .help = "unlabelled images per labelled one in a step (7)"               \
    }

#endif /* XF_FT_UNLABELED_H */
