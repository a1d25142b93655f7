/* labels.h — true labels of inputs: the parent folder name, or a CSV/TSV file "path,label".
 * It is: lookup and the sorted class list. It is not: prediction.
 */
#ifndef XF_LABELS_H
#define XF_LABELS_H

#include "base.h"

typedef struct {
    char **path, **label; /* from a labels file, sorted by path */
    size_t n;
} xf_labelmap;

/* Reads "path,label" or "path<TAB>label" lines (a header line "path,label" is skipped). */
xf_status xf__labels_read(const char *file, xf_labelmap *lm, xf_error *err);
void xf__labels_free(xf_labelmap *lm);
/* The label of path: from lm when given (exact path, else basename), else the parent folder
 * name. NULL when there is none. Points into lm or into a static-free copy in buf. */
const char *xf__label_of(const xf_labelmap *lm, const char *path, char *buf, size_t size);
/* Index of label in the sorted list classes[0..k), or -1. */
int xf__class_index(char *const *classes, int k, const char *label);

#endif
