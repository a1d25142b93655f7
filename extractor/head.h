/* head.h — classifier head files: a dense layer on backbone features, its class names, its
 * probability rule and the fingerprint of the features it was trained on.
 * It is: the in-memory head, its GGUF file (xfer.kind = "head", weights/FORMAT.md §1.2) and
 * prediction. It is not: training (linear.c) or feature extraction.
 */
#ifndef XF_HEAD_H
#define XF_HEAD_H

#include "wfile.h"

typedef struct {
    int dim, k;
    float *W;     /* (dim, k): normalisation already folded in */
    float *b;     /* (k) */
    float *platt; /* (k, 2) A, B; NULL for logistic heads */
    int l2;       /* L2-normalise features before W */
    int logistic; /* probability rule, see xf__linear_proba */
    int direct;   /* a backbone's own output: x already holds the class probabilities */
    char **labels;
    char *solver, *normalize, *features_json;
    float C, cv_accuracy;
    uint32_t n_train;
} xf_head;

void xf__head_free(xf_head *h);
xf_status xf__head_write(const xf_head *h, const char *path, xf_error *err);
xf_status xf__head_read(const char *path, xf_head *h, xf_error *err);
/* A backbone's own classifier (its last tensor and xfer.labels) as a head, so `classify -m`
 * with a bare backbone prints its classes (ImageNet top-5). */
xf_status xf__head_from_backbone(const xf_model *m, xf_head *h, xf_error *err);
/* dec (k) and prob (k) for one feature vector x (dim); x is not modified. */
void xf__head_predict(const xf_head *h, const float *x, float *dec, float *prob);

enum { XF_CLASSIFIER_HEAD, XF_CLASSIFIER_FINETUNED, XF_CLASSIFIER_BACKBONE };
/* Opens path as a classifier: a head file (train-classifier), or a weights file whose last
 * tensor is a softmax over its labels (a fine-tuned model, or a backbone such as the ImageNet
 * ones) as a head that passes the probabilities through. Returns the kind, or -1 with err. */
int xf__classifier_open(const char *path, int verify, xf_head *h, xf_error *err);
/* Compares the provenance of features (feats.bin header JSON) with what the head was trained
 * on; XF_ERR_ARG with a message naming the first difference. */
xf_status xf__head_check_features(const xf_head *h, const char *features_json, int64_t dim,
                                  xf_error *err);

#endif
