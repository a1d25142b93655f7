/* labelled.h — the labelled rows of a feature set: which records train (ok and labelled), their
 * class index, the sorted class list. The one rule train-classifier and xfer-audit share.
 * It is: row selection and class numbering, with the refusals (fewer than two classes, a class
 * whose every image failed). It is not: normalisation or training (train.c).
 */
#ifndef XF_LABELLED_H
#define XF_LABELLED_H

#include "feats.h"
#include "labels.h"

typedef struct {
    size_t n;       /* usable rows                                  */
    size_t *row;    /* their record index in the feature set        */
    int *y;         /* their class, an index into classes           */
    char **classes; /* k sorted, unique class names                 */
    int k;
    int *count; /* rows per class                               */
    size_t failed, unlabelled;
} xf_labelled;

/* From fs's ok records: labels from lm (a label file) or the class folders under the roots the
 * provenance records. tool names the warnings ("train-classifier: x.jpg: no label, skipped");
 * NULL: no warnings.
 * XF_ERR_ARG for fewer than two classes or a class whose every image failed. */
xf_status xf__labelled_rows(const xf_featset *fs, const xf_labelmap *lm, const char *tool,
                            xf_labelled *out, xf_error *err);
void xf__labelled_free(xf_labelled *l);

#endif /* XF_LABELLED_H */
