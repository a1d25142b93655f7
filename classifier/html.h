/* html.h — what the self-contained HTML reports share (xfer-audit's, classify --report): the
 * page head with its style, escaped text, and image thumbnails embedded as PNG data URIs.
 * It is: writing to an open FILE. It is not: a report (audit/report.c, classifier/report.c).
 */
#ifndef XF_HTML_H
#define XF_HTML_H

#include "base.h"

#define XF_HTML_THUMB 112 /* thumbnail side: a center crop, in pixels */

/* <!DOCTYPE html> ... <body><h1>title</h1> (title escaped) */
void xf__html_begin(FILE *f, const char *title);
/* s as HTML text: <>&" escaped, control bytes as spaces, bytes that are not UTF-8 as U+FFFD */
void xf__html_text(FILE *f, const char *s);
/* <figure>: the image at path as a thumbnail (or a grey box saying there is none), captioned */
void xf__html_figure(FILE *f, const char *path, const char *caption);

#endif
