/* train.h — from a feature set with labels to a classifier head.
 * It is: row selection, class list, normalisation (learned on the training rows and folded
 * into the head), C selection by stratified k-fold CV, the final fit and Platt scaling.
 * It is not: I/O (the mains) or LIBLINEAR itself (linear.c).
 */
#ifndef XF_TRAIN_H
#define XF_TRAIN_H

#include "feats.h"
#include "head.h"
#include "labels.h"
#include "linear.h"

typedef enum { XF_NORM_NONE, XF_NORM_L2, XF_NORM_STANDARDIZE, XF_NORM_L2_STANDARDIZE } xf_norm;

typedef struct {
    xf_lin_params lin;
    double fixed_C;                     /* > 0: use it (CV still reported) */
    double grid_lo, grid_hi, grid_step; /* log10 C grid */
    int folds;
    uint64_t seed;
    xf_norm norm;
    int verbose;
    int threads; /* cross-validation folds trained in parallel */
    int whiten;  /* 0 none, 1 PCA, 2 ZCA (after the normalisation), keeping `dims` components */
    int dims;
    /* rows trained on beside the labelled ones (self-training's pseudo-labels): n_extra rows
     * of extra_x (n_extra, dim) with classes extra_y (indices into the sorted class list) */
    const float *extra_x;
    const int *extra_y;
    size_t n_extra;
} xf_train_opts;

xf_train_opts xf__train_default_opts(void);
const char *xf__norm_name(xf_norm n);
int xf__norm_parse(const char *s, xf_norm *out);

/* whiten.c: map (d, d_out) and mean (d) with z = (x - mean) . map; see whiten.c. */
xf_status xf__whiten_fit(const float *X, size_t n, int d, int dims, int zca, float **map,
                         float **mean, int *d_out, xf_error *err);

/* Trains a head on the ok, labelled records of fs. lm may be NULL (labels from folder names). */
xf_status xf__train_head(const xf_featset *fs, const xf_labelmap *lm, const xf_train_opts *o,
                         xf_head *out, xf_error *err);

/* selftrain.c: self-training on unlabelled features (train-classifier --unlabeled): the head of
 * the labelled rows labels the unlabelled ones; those it is at least threshold sure of join
 * the training set (at the C the labelled rows chose), class by class, as many per labelled row
 * in every class (a quota growing each round), rounds times or until nothing changes.
 * The head's CV accuracy stays the labelled rows' own. */
typedef struct {
    const xf_featset *unlabeled; /* same provenance as the labelled features (checked)   */
    float threshold;             /* a pseudo-label's probability at least (default 0)    */
    int rounds;                  /* at most (default 5)                                  */
    int verbose;
    size_t *added; /* optional, per class: the last round's pseudo-labels (0s if it chose none) */
} xf_selftrain_opts;
xf_status xf__self_train(const xf_featset *fs, const xf_labelmap *lm, const xf_train_opts *o,
                         const xf_selftrain_opts *so, xf_head *out, xf_error *err);

#endif
