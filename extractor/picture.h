/* picture.h — writing 8-bit RGB pictures (the confusion matrix, report thumbnails).
 * It is: the interface of the encoding half of image.c (the one file that includes png.h).
 * It is not: decoding (image.h, private to image.c and preprocess.c).
 */
#ifndef XF_PICTURE_H
#define XF_PICTURE_H

#include "base.h"

/* Writes an 8-bit RGB PNG (h, w, 3) to path as a complete file (io.h's output rules). */
xf_status xf__png_write_rgb(const char *path, int w, int h, const uint8_t *px, xf_error *err);
/* The same PNG in memory: *out malloc'd, *len bytes (report thumbnails). */
xf_status xf__png_encode_rgb(int w, int h, const uint8_t *px, uint8_t **out, size_t *len,
                             xf_error *err);

#endif /* XF_PICTURE_H */
