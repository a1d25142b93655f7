/* metrics.h — evaluation of predictions against true labels: confusion matrix, accuracy,
 * balanced accuracy, per-class precision/recall/F1; printed as a table, written as JSON or
 * drawn as an SVG (confusion_svg.c) or a PNG (confusion_png.c).
 * It is: counting and reporting. It is not: prediction.
 */
#ifndef XF_METRICS_H
#define XF_METRICS_H

#include "base.h"

typedef struct {
    int k;
    int64_t *cm; /* (k, k): rows true class, columns predicted */
    int64_t n;
} xf_confusion;

xf_status xf__confusion_init(xf_confusion *c, int k, xf_error *err);
void xf__confusion_free(xf_confusion *c);
void xf__confusion_add(xf_confusion *c, int truth, int pred);
double xf__accuracy(const xf_confusion *c);
double xf__balanced_accuracy(const xf_confusion *c);
/* Accuracy, balanced accuracy, per-class P/R/F1/support and the matrix, as text. */
void xf__confusion_print(const xf_confusion *c, char *const *labels, FILE *f);
/* Class i's precision, recall, F1 and support (its true count). */
void xf__class_scores(const xf_confusion *c, int i, double *prec, double *rec, double *f1,
                      int64_t *support);
/* confusion_png.c: the SVG's picture as a PNG, its text in an embedded bitmap font (font.h). */
xf_status xf__confusion_png(const xf_confusion *c, char *const *labels, const char *path,
                            xf_error *err);
/* The colour of rate t in [0, 1] on matplotlib's "Blues" scale (both pictures use it). */
void xf__blues(double t, unsigned char rgb[3]);
/* confusion_svg.c: the matrix with class names, axis titles, colour bar and accuracy, as a
 * file, or written to f (standalone: with the XML declaration; else to sit inside HTML). */
xf_status xf__confusion_svg(const xf_confusion *c, char *const *labels, const char *path,
                            xf_error *err);
void xf__confusion_svg_write(const xf_confusion *c, char *const *labels, FILE *f, int standalone);
/* The figures as one JSON document: n, accuracy, balanced_accuracy, classes (name, precision,
 * recall, f1, support) and confusion (rows: true). */
xf_status xf__metrics_json(const xf_confusion *c, char *const *labels, const char *path,
                           xf_error *err);

#endif
