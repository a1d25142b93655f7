/* curves.h — the per-epoch figures of a fine-tuning run and their picture (curves_svg.c).
 * It is: a collector for xf_ft_opts.on_epoch and the SVG writer. It is not: the training.
 */
#ifndef XF_CURVES_H
#define XF_CURVES_H

#include "base.h"

typedef struct {
    double *v; /* per epoch: training loss, validation loss, validation accuracy */
    int n, cap;
    int has_val; /* 0: the "validation" figures are the training set's (no --val) */
} xf_curves;

/* the on_epoch hook: user is an xf_curves */
void xf__curves_add(void *user, int epoch, double train_loss, double val_loss, double val_acc,
                    int has_val);
void xf__curves_free(xf_curves *c);
/* Loss (training, validation) and validation accuracy per epoch, the kept epoch marked. */
xf_status xf__curves_svg(const xf_curves *c, const char *path, xf_error *err);

#endif
