/* folder_labels.h — the class of an image from where it lies, as torchvision's ImageFolder and
 * Keras' image_dataset_from_directory read a dataset folder: the top-level folder under the
 * walked root (train/ants/2019/x.jpg is an ant), else the folder the file is in.
 * It is: the one rule every tool applies to paths. It is not: label files (classifier/labels.h).
 */
#ifndef XF_FOLDER_LABELS_H
#define XF_FOLDER_LABELS_H

#include "base.h"

/* The class of path (*start, *len into path; 0 when there is none): under one of roots (the
 * directories walked; the longest that fits) with at least one folder between it and the file,
 * that first folder; else the parent folder's name (not "." or ".."). */
int xf__class_of(const char *path, char *const *roots, int n_roots, const char **start,
                 size_t *len);
/* The sorted unique classes of paths; *out malloc'd (free each and the array). Returns the
 * count, -1 on NOMEM. */
int xf__classes_of(char *const *paths, size_t n, char *const *roots, int n_roots, char ***out);
/* A class list file, as NAME.classes.txt is written ("0<TAB>ants" per line, the index being
 * the line's) or one class name per line: *out malloc'd; returns the count, or -1 with err
 * (unreadable, empty, a class twice). */
int xf__classes_read(const char *file, char ***out, xf_error *err);

#endif /* XF_FOLDER_LABELS_H */
