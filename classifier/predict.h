/* predict.h — applying a classifier and reporting: one output line per input (TSV or JSON),
 * the evaluation against known labels, and what a classifier file is.
 * It is: the part of classify that is not option parsing, usable on feature files and on the
 * pipeline's records alike. It is not: feature extraction or training.
 */
#ifndef XF_PREDICT_H
#define XF_PREDICT_H

#include "head.h"
#include "inputs.h"
#include "labels.h"
#include "pipeline.h"

typedef struct {
    int top;                 /* labels per input (capped at the class count)          */
    int json;                /* JSON lines instead of TSV                              */
    int quiet;               /* no metrics or failure lines on stderr                  */
    const char *png;         /* draw the confusion matrix here (NULL: no picture)      */
    const char *svg;         /* the same, with names and titles, as SVG (NULL: none)   */
    const char *metrics;     /* the metrics as JSON here (NULL: none)                  */
    const char *report;      /* the evaluation as an HTML page here (NULL: none)       */
    const char *classifier;  /* its file, named on the page                            */
    xf_labelmap *labels;     /* true labels (NULL: the class folders); read, resolved
                                against the first inputs predicted                     */
    const char *labels_file; /* its name, for messages                                 */
    /* after each image (reason: a failure's), for progress; may be NULL */
    void (*on_record)(void *user, size_t done, const char *reason);
    void *user;
} xf_predict_opts;

typedef struct xf_predictor xf_predictor;

xf_status xf__predictor_create(const xf_head *h, const xf_predict_opts *o, xf_predictor **out,
                               xf_error *err);
/* One input: its line on stdout and its place in the evaluation (its true class: the label
 * file's, else its class folder under roots). */
xf_status xf__predict_one(xf_predictor *p, char *const *roots, int n_roots, const char *path,
                          xf_status st, const float *vec, const char *reason, xf_error *err);
/* Every image of in through backbone m with the classifier's own layers, pooling and
 * preprocessing (its features' provenance, checked against m; policy: threads, batch and the
 * decoding rules). */
xf_status xf__predict_images(xf_predictor *p, const xf_model *m, const xf_inputs *in,
                             const xf_pipeline_opts *policy, xf_error *err);
/* Every record of a feature file, after checking its provenance against the classifier's. */
xf_status xf__predict_feature_file(xf_predictor *p, const char *path, xf_error *err);
/* The evaluation on stderr and the picture; *failed: inputs that failed. */
xf_status xf__predictor_finish(xf_predictor *p, int *failed, xf_error *err);
void xf__predictor_free(xf_predictor *p);

#endif /* XF_PREDICT_H */
