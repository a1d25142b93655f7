/* report.h — classify --report: the evaluation as one self-contained HTML page.
 * It is: the most confident mistakes kept while predicting, and the page (report.c). It is not:
 * the metrics (metrics.c) or prediction (predict.c).
 */
#ifndef XF_REPORT_H
#define XF_REPORT_H

#include "metrics.h"

#define XF_REPORT_MISTAKES 48 /* mistakes shown, the most confident first */

typedef struct {
    char *path;
    int truth, pred;
    float prob; /* the probability of the wrong class it chose */
} xf_mistake;

typedef struct {
    xf_mistake m[XF_REPORT_MISTAKES]; /* by prob, highest first */
    int n;
    size_t total; /* every mistake seen */
} xf_mistakes;

/* Counts a mistake and keeps it when it is among the XF_REPORT_MISTAKES most confident. */
xf_status xf__mistakes_add(xf_mistakes *ms, const char *path, int truth, int pred, float prob,
                           xf_error *err);
void xf__mistakes_free(xf_mistakes *ms);
/* The page: the figures, the per-class table, the confusion matrix (inline SVG) and the kept
 * mistakes with thumbnails of their images; failed: inputs that could not be classified. */
xf_status xf__classify_report(const xf_confusion *c, char *const *labels, const xf_mistakes *ms,
                              size_t failed, const char *classifier, const char *path,
                              xf_error *err);

#endif
