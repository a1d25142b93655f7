/* folder_labels.h — the class of an image from where it lies: the folder it is in.
 * It is: the one rule every tool applies to paths. It is not: label files (classifier/labels.h).
 */
#ifndef XF_FOLDER_LABELS_H
#define XF_FOLDER_LABELS_H

#include "base.h"

/* The parent folder name of a path (*start, *len into path; 0 when the path has no parent
 * folder, or it is "." or ".."). */
int xf__parent_dir(const char *path, const char **start, size_t *len);
/* Sorted unique parent-folder names of paths; *out malloc'd (free each and the array).
 * Returns the count, -1 on NOMEM. */
int xf__parent_classes(char *const *paths, size_t n, char ***out);

#endif /* XF_FOLDER_LABELS_H */
