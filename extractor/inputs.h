/* inputs.h — the ordered list of inputs: files as given, directories walked the way dataset
 * folders are read by torchvision's ImageFolder and Keras (sorted, hidden entries and files
 * whose extension says they are not images skipped), list files.
 * It is: path collection, with a failure reason for every entry found that cannot be an image
 * (a FIFO, a device, a dangling or looping symlink, a path too long), and the walked roots that
 * define the classes (folder_labels.h). It is not: decoding.
 */
#ifndef XF_INPUTS_H
#define XF_INPUTS_H

#include "base.h"

typedef struct {
    char **paths;
    char **why; /* per path: NULL, or why it cannot be read (a failed record, not read) */
    size_t n, cap;
    char **roots; /* the directories walked, as given: a class is a folder under one */
    int n_roots;
    size_t skipped; /* files skipped for their extension (.txt, .csv, .json, ...) */
    size_t hidden;  /* hidden entries skipped (.DS_Store, .ipynb_checkpoints, ...) */
} xf_inputs;

/* Adds a file, or every image file under a directory (sorted by byte order of names, hidden
 * entries skipped, symlinks followed with loops detected). A path that does not exist is an
 * error (XF_ERR_IO), so a typo is not mistaken for a folder of failed images. */
xf_status xf__inputs_add(xf_inputs *in, const char *path, xf_error *err);
/* Adds paths from a list file ("-" = stdin), newline or NUL separated; entries are taken as
 * they are (a missing file becomes a failed record). */
xf_status xf__inputs_add_list(xf_inputs *in, const char *list, xf_error *err);
/* Every path of paths[0..n) (xf__inputs_add), then the list file when not NULL. No input at
 * all is an error (XF_ERR_IO "DIR: no images (2 non-image files skipped)"). */
xf_status xf__inputs_collect(xf_inputs *in, char *const *paths, int n, const char *list,
                             xf_error *err);
/* 1 when the name says it is not an image: its extension (a text, table, archive, model...) or
 * a README, LICENSE and the like. */
int xf__inputs_not_image(const char *name);
/* "N inputs" plus what was skipped, for the tools' banners: "398 inputs, 3 non-image files and
 * 1 hidden entry skipped". */
void xf__inputs_describe(const xf_inputs *in, size_t count, char *out, size_t size);
void xf__inputs_free(xf_inputs *in);

#endif
