/* inputs.h — the ordered list of input files (directories walked recursively, sorted).
 * It is: path collection. It is not: decoding.
 */
#ifndef XF_INPUTS_H
#define XF_INPUTS_H

#include "base.h"

typedef struct {
    char **paths;
    size_t n, cap;
} xf_inputs;

/* Adds a file, or every regular file under a directory (sorted by byte order of names, symlink
 * loops skipped). Unreadable entries are reported through warn(path, reason) and skipped. */
xf_status xf__inputs_add(xf_inputs *in, const char *path,
                         void (*warn)(const char *path, const char *reason), xf_error *err);
/* Adds paths from a list file ("-" = stdin), newline or NUL separated. */
xf_status xf__inputs_add_list(xf_inputs *in, const char *list, xf_error *err);
/* Every path of paths[0..n) (xf__inputs_add), then the list file when not NULL. */
xf_status xf__inputs_collect(xf_inputs *in, char *const *paths, int n, const char *list,
                             xf_error *err);
void xf__inputs_free(xf_inputs *in);

#endif
