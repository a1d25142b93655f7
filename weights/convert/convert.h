/* convert.h — entry points of the source-format readers used by xfer-convert.
 * It is: one function per format filling an xfc_graph. It is not: metadata policy (the main).
 */
#ifndef XF_CONVERT_H
#define XF_CONVERT_H

#include "builder.h"

/* TF.js layers model: path to model.json (shards beside it). */
xf_status xfc_from_tfjs(const char *path, xfc_graph *c, xf_error *err);

#endif
