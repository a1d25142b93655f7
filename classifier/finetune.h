/* finetune.h — training a new head, and optionally the top nodes of the backbone, with
 * backpropagation on the CPU.
 * It is: the options, the boundary between the frozen and the trainable part, and the training
 * run (finetune.c: epochs, schedule, early stopping) over cached boundary activations; what
 * trains is ft_graph.c, the update rules optim.c, the output ft_write.c. It is not: image
 * loading (ft_dataset.c caches the frozen part's output) or augmentation.
 */
#ifndef XF_FINETUNE_H
#define XF_FINETUNE_H

#include "model.h"

typedef struct {
    const char *unfreeze_from; /* first trainable node (node or tensor name); NULL: head only */
    int unfreeze;              /* or: the last K weighted nodes (moved earlier until the
                                  frozen part hands over a single tensor) */
    int hidden[4], n_hidden;   /* MLP head hidden sizes; none: a linear head */
    int leaky;                 /* hidden activation: leaky ReLU instead of ReLU */
    int prelu;                 /* hidden activation: PReLU, learnable slope per unit (0.25) */
    int freeze_bn;             /* unfrozen affine nodes (batch norms kept by xfer-convert
                                  --keep-bn) keep their scale and shift */
    int epochs, batch;
    float lr, weight_decay, momentum, dropout, label_smoothing;
    const char *optimizer;         /* a name of optim.c's table (default adamw) */
    double beta1, beta2, eps, rho; /* the optimizers' constants (0.9, 0.999, 1e-8, 0.9) */
    int warmup;                    /* epochs of linear warm-up, then the schedule */
    int step_every;                /* > 0: step schedule, lr * step_gamma every step_every epochs;
                                      0: cosine decay to 0 */
    float step_gamma;
    int balanced; /* class weights n / (k * n_class) in the loss */
    int patience; /* stop after this many epochs without a better val accuracy (0: never) */
    uint64_t seed;
    int verbose;
    /* augmentation: called before each epoch (1-based) to refill train_x with freshly augmented
     * boundary activations of the same images in the same order; NULL: fixed cache */
    xf_status (*refresh)(void *user, int epoch, float *train_x, xf_error *err);
    void *refresh_user;
    /* unlabelled images, FixMatch-style (NULL: none): called before each epoch for n rows of
     * bdim floats, a weak and a strong view of each image. A weak view whose most likely class
     * has at least pseudo_threshold gives that class as the label of the strong view; their
     * cross-entropy, summed and divided by the mu * batch unlabelled rows of a step, is added
     * with weight unlabeled_weight. An epoch is then as many steps as the longer of the two
     * sets takes (the labelled batches start over, reshuffled) */
    xf_status (*unlabeled)(void *user, int epoch, const float **weak, const float **strong,
                           size_t *n, xf_error *err);
    void *unlabeled_user;
    float pseudo_threshold, unlabeled_weight; /* (0.95, 1) */
    int mu;                                   /* (7) */
    int align; /* distribution alignment (ReMixMatch): a weak view's probabilities times the
                  labelled class frequencies over the running mean prediction, renormalised,
                  before the threshold */
    /* contrastive pre-training (ft_contrastive.h), run by the caller before xf__finetune: its
     * settings, and the graph it trained (NULL: none), whose backbone nodes replace the
     * model's weights as the starting point; pretrain_images only goes into the record */
    int pretrain_epochs, pretrain_batch, proj_dim; /* (0, 128 images = 256 views, 128) */
    float temperature, pretrain_lr;                /* (0.2; 0: lr) */
    xf_status (*pretrain_views)(void *user, int epoch, const float **a, const float **b, size_t *n,
                                xf_error *err);
    void *pretrain_user;
    const struct xf_ftgraph *init;
    size_t pretrain_images;
    /* after each epoch (may be NULL): its figures; has_val 0 when evaluated on train */
    void (*on_epoch)(void *user, int epoch, double train_loss, double val_loss, double val_acc,
                     int has_val);
    void *epoch_user;
} xf_ft_opts;

xf_ft_opts xf__ft_default_opts(void);

/* Where the frozen part ends: the tensor to cache per image (layer name for extraction, and
 * whether it is pooled), checked to be the only tensor the trainable part reads. */
xf_status xf__ft_boundary(const xf_model *m, const xf_ft_opts *o, const char **layer, int *pooled,
                          xf_error *err);
/* Floats per image at that boundary: C pooled, else H * W * C. */
int64_t xf__ft_boundary_dim(const xf_model *m, const char *layer, int pooled);

/* Trains on cached boundary activations (train_x: n_train rows of bdim floats) with labels in
 * 0..k-1, evaluates on val each epoch (may be empty: then the last epoch is kept), writes
 * out_path. Frozen weights are never copied or written to: they stay in the mmapped model. */
xf_status xf__finetune(const xf_model *m, const xf_ft_opts *o, float *train_x, const int *train_y,
                       size_t n_train, const float *val_x, const int *val_y, size_t n_val,
                       int64_t bdim, int k, char *const *labels, const char *out_path,
                       xf_error *err);

#endif
