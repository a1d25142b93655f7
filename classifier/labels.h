/* labels.h — true labels of inputs: the class folder (folder_labels.h), or a label file as
 * people write them: CSV per RFC 4180 (quoted fields, commas and newlines in quotes, CRLF, a
 * UTF-8 BOM) or TSV, with or without a header row.
 * It is: reading the file, deciding its header and columns against the inputs, lookup, the
 * sorted class list, and writing a label file back. It is not: prediction.
 */
#ifndef XF_LABELS_H
#define XF_LABELS_H

#include "base.h"

typedef struct {
    char **path, **label; /* sorted by path (after xf__labels_resolve) */
    size_t n;
    char ***rows; /* the file's rows as read, fields NUL-terminated */
    int *n_fields;
    size_t n_rows;
    int header; /* 1: the first row was a header */
    int path_col, label_col;
} xf_labelmap;

/* Reads a label file (the fields of every row; see xf__labels_resolve). */
xf_status xf__labels_read(const char *file, xf_labelmap *lm, xf_error *err);
/* Decides, against the inputs paths[0..n), whether the first row is a header (it names one of
 * the columns below, or its path neither names an input, by full path, trailing part or
 * basename, nor has a file extension) and which columns hold the path and the
 * label (by header name: path/file/filename/image/image_id/id/name and
 * label/class/category/target/y; else the first two of a two-column file), then builds the map.
 * XF_ERR_FORMAT naming the line when a row has too few fields or the columns are ambiguous. */
xf_status xf__labels_resolve(xf_labelmap *lm, const char *file, char *const *paths, size_t n,
                             xf_error *err);
void xf__labels_free(xf_labelmap *lm);
/* The label of path: from lm when given (the exact path, else its longest trailing part the
 * file names, down to the basename), else its class folder under roots. NULL when there is
 * none. Points into lm or into buf. */
const char *xf__label_of(const xf_labelmap *lm, char *const *roots, int n_roots, const char *path,
                         char *buf, size_t size);
/* Index of label in the sorted list classes[0..k), or -1. */
int xf__class_index(char *const *classes, int k, const char *label);

#endif
