/* report.c — classify --report (see report.h): accuracy and balanced accuracy, a per-class
 * table (precision, recall, F1, support), the confusion matrix as confusion_svg.c draws it, and
 * the most confident mistakes, each with a thumbnail of its image (classifier/html.c), so a
 * user sees what the classifier confuses and whether the label or the prediction is wrong.
 * It is: the page. It is not: the metrics or their JSON (metrics.c).
 */
#include "report.h"
#include "html.h"
#include "io.h"

#include <string.h>

xf_status xf__mistakes_add(xf_mistakes *ms, const char *path, int truth, int pred, float prob,
                           xf_error *err)
{
    ms->total++;
    if (ms->n == XF_REPORT_MISTAKES && prob <= ms->m[ms->n - 1].prob)
        return XF_OK;
    char *copy = strdup(path);
    if (!copy)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (ms->n == XF_REPORT_MISTAKES)
        free(ms->m[--ms->n].path); /* the least confident leaves */
    int i = ms->n++;
    for (; i > 0 && ms->m[i - 1].prob < prob; i--) /* ties keep input order */
        ms->m[i] = ms->m[i - 1];
    ms->m[i] = (xf_mistake){copy, truth, pred, prob};
    return XF_OK;
}

void xf__mistakes_free(xf_mistakes *ms)
{
    for (int i = 0; i < ms->n; i++)
        free(ms->m[i].path);
    ms->n = 0;
}

xf_status xf__classify_report(const xf_confusion *c, char *const *labels, const xf_mistakes *ms,
                              size_t failed, const char *classifier, const char *path,
                              xf_error *err)
{
    xf_out o;
    xf_status s = xf__out_open(&o, path, XF_OUT_TEMP, err);
    if (s)
        return s;
    FILE *f = o.f;
    xf__html_begin(f, "classify");
    fputs("<p>Classifier <code>", f);
    xf__html_text(f, classifier);
    fprintf(f,
            "</code>: %lld images with a known class, accuracy <b>%.4f</b>, balanced accuracy "
            "<b>%.4f</b>, %zu mistakes",
            (long long) c->n, xf__accuracy(c), xf__balanced_accuracy(c), ms->total);
    if (failed)
        fprintf(f, "; %zu inputs could not be classified", failed);
    fputs(".</p>\n<h2>Classes</h2><table><tr><th>class</th><th>precision</th><th>recall</th>"
          "<th>F1</th><th>images</th></tr>\n",
          f);
    for (int i = 0; i < c->k; i++) {
        double p, r, f1;
        int64_t support;
        xf__class_scores(c, i, &p, &r, &f1, &support);
        fputs("<tr><td>", f);
        xf__html_text(f, labels[i]);
        fprintf(f, "</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%lld</td></tr>\n", p, r, f1,
                (long long) support);
    }
    fputs("</table>\n<h2>Confusion matrix</h2>\n", f);
    xf__confusion_svg_write(c, labels, f, 0);
    fprintf(f, "<h2>Most confident mistakes (%d of %zu)</h2>\n<div class=g>\n", ms->n, ms->total);
    for (int i = 0; i < ms->n; i++) {
        const xf_mistake *m = &ms->m[i];
        fputs("<div class=m>", f);
        xf__html_figure(f, m->path, m->path);
        fputs("labelled <b>", f);
        xf__html_text(f, labels[m->truth]);
        fputs("</b>, predicted <b>", f);
        xf__html_text(f, labels[m->pred]);
        fprintf(f, "</b> (%.3f)</div>\n", (double) m->prob);
    }
    fputs("</div></body></html>\n", f);
    if (ferror(f)) {
        xf__out_discard(&o, 0);
        return xf__fail(err, XF_ERR_WRITE, "%s: write failed", path);
    }
    return xf__out_commit(&o, err);
}
