/* ft_dataset.h — fine-tuning's data: the frozen part's output (the boundary tensor) for every
 * image of a class-folder tree, with its label, cached in memory or in a reusable file.
 * It is: filling it with the extraction pipeline (labels from folder names), and refilling the
 * training rows with fresh augmented crops each epoch. It is not: training (finetune.c) or the
 * on-disk format (ftcache.c).
 */
#ifndef XF_FT_DATASET_H
#define XF_FT_DATASET_H

#include "ftcache.h"
#include "inputs.h"
#include "pipeline.h"

typedef struct {
    float *x; /* n rows of dim floats */
    int *y;   /* n labels in 0..k-1  */
    size_t n, cap;
    int64_t dim;
    char **classes; /* sorted class names (the training set's) */
    int k;
    int grow;             /* the training set: its folders define the classes */
    size_t skipped;       /* images that failed or whose class is unknown */
    size_t total;         /* images of the current caching pass */
    const xf_inputs *in;  /* the current pass's inputs (their roots define the classes) */
    const char *disk_dir; /* --cache-dir: rows go to a file, x and y map it */
    xf_ftcache disk;
    int mapped;
    /* called after each image of a caching pass (may be NULL) */
    void (*progress)(void *user, size_t done, size_t total);
    void *progress_user;
} xf_ftdata;

/* The boundary tensor `layer` (pooled or not) of every image under dir. A training set
 * (grow) collects its classes from the folders; a validation set keeps the training set's and
 * skips images of other classes. With disk_dir, a cache file of the same model, boundary,
 * preprocessing and images is reused. */
xf_status xf__ftdata_fill(xf_ftdata *d, const xf_model *m, const char *dir, const char *layer,
                          int pooled, int threads, int augment, uint64_t aug_seed, xf_error *err);
/* Training rows of an epoch's augmented crops, for xf_ft_opts.refresh: d's images again, in
 * the same order, with the epoch's seed, into train_x. */
typedef struct {
    const xf_model *m;
    const char *dir, *layer;
    int pooled, threads;
    uint64_t seed;
    xf_ftdata *train;
} xf_ftaugment;
xf_status xf__ftdata_refresh(void *augment, int epoch, float *train_x, xf_error *err);
void xf__ftdata_free(xf_ftdata *d);
/* The extraction pipeline's settings for the boundary tensor `layer` (pooled or not); the
 * caller sets the augmentation, emit, user and why. */
xf_pipeline_opts xf__ftdata_pipeline(const xf_model *m, const char *layer, int pooled, int threads);

#endif /* XF_FT_DATASET_H */
