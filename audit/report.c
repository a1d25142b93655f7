/* report.c — the audit as one self-contained HTML page (see audit.h).
 *
 * It is: a summary (rows, classes, cross-validated accuracy, each class's size and estimated
 * noise), then each kind of finding, strongest first, with the image, its match or neighbour
 * and the suggested label; thumbnails are 112-pixel center crops encoded as PNG data URIs, so
 * the page needs no network and no other file (classifier/html.c, shared with classify's
 * report). It is not: the TSV (xfer-audit.c).
 */
#include "audit.h"
#include "html.h"
#include "io.h"

#include <string.h>

#define MAX_SHOWN 60 /* findings shown per kind */

static const char *class_name(const xf_audit *a, int c)
{
    return c >= 0 && c < a->lab.k ? a->lab.classes[c] : "";
}

xf_status xf__audit_report(const xf_audit *a, const xf_featset *train, const xf_featset *test,
                           const char *path, xf_error *err)
{
    xf_out o;
    xf_status s = xf__out_open(&o, path, XF_OUT_TEMP, err);
    if (s)
        return s;
    FILE *f = o.f;
    size_t counts[4] = {0};
    for (size_t i = 0; i < a->n; i++)
        counts[a->f[i].kind]++;
    xf__html_begin(f, "xfer-audit");
    fprintf(f, "<p>%zu training rows, %d classes, out-of-fold accuracy %.4f (C %.4g).", a->lab.n,
            a->lab.k, a->cv_accuracy, a->C);
    fprintf(
        f,
        " Findings: %zu likely wrong labels, %zu duplicate pairs, %zu leaks, %zu outliers.</p>\n",
        counts[XF_FIND_LABEL], counts[XF_FIND_DUPLICATE], counts[XF_FIND_LEAK],
        counts[XF_FIND_OUTLIER]);
    fputs("<h2>Classes</h2><table><tr><th>class</th><th>images</th><th>estimated wrong labels</th>"
          "</tr>\n",
          f);
    for (int c = 0; c < a->lab.k; c++) {
        fputs("<tr><td>", f);
        xf__html_text(f, a->lab.classes[c]);
        fprintf(f, "</td><td>%d</td><td>%.1f%%</td></tr>\n", a->lab.count[c], 100.0 * a->noise[c]);
    }
    fputs("</table>\n", f);
    static const char *const titles[] = {"Likely wrong labels", "Duplicates",
                                         "Test images that copy training images", "Outliers"};
    for (int kind = 0; kind < 4; kind++) {
        fprintf(f, "<h2>%s (%zu)</h2>\n", titles[kind], counts[kind]);
        size_t shown = 0;
        for (size_t i = 0; i < a->n && shown < MAX_SHOWN; i++) {
            const xf_finding *x = &a->f[i];
            if ((int) x->kind != kind)
                continue;
            shown++;
            const xf_featset *set = x->test ? test : train;
            const xf_featset *oset = x->kind == XF_FIND_DUPLICATE && x->test ? test : train;
            char cap[512];
            fputs("<div class=f>", f);
            snprintf(cap, sizeof cap, "%s", set->paths[x->rec]);
            xf__html_figure(f, set->paths[x->rec], cap);
            if (x->other >= 0) {
                snprintf(cap, sizeof cap, "%s%s",
                         x->kind == XF_FIND_LABEL || x->kind == XF_FIND_OUTLIER ? "nearest: " : "",
                         oset->paths[x->other]);
                xf__html_figure(f, oset->paths[x->other], cap);
            }
            fputs("<div class=s>", f);
            if (x->kind == XF_FIND_LABEL) {
                fputs("labelled <b>", f);
                xf__html_text(f, class_name(a, x->label));
                fputs("</b>, probably <b>", f);
                xf__html_text(f, class_name(a, x->suggested));
                fprintf(f, "</b> (%.2f)", x->score);
            } else if (x->kind == XF_FIND_OUTLIER) {
                fputs("in <b>", f);
                xf__html_text(f, class_name(a, x->label));
                fprintf(f, "</b>, far from everything (z %.1f)", x->score);
            } else {
                fprintf(f, "cosine %.4f%s", x->score,
                        x->suggested == XF_SUGGEST_IDENTICAL ? ", identical files" : "");
            }
            fputs("</div></div>\n", f);
        }
        if (counts[kind] > shown)
            fprintf(f, "<p>(%zu more in the TSV)</p>\n", counts[kind] - shown);
    }
    fputs("</body></html>\n", f);
    return ferror(f)
               ? (xf__out_discard(&o, 0), xf__fail(err, XF_ERR_WRITE, "%s: write failed", path))
               : xf__out_commit(&o, err);
}
