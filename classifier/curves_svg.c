/* curves_svg.c — fine-tuning's learning curves as an SVG picture: training and validation loss
 * on the left, validation accuracy on the right, per epoch, the kept (best) epoch marked.
 * It is: collecting the per-epoch figures (the finetune on_epoch hook) and drawing them. It is
 * not: the training (finetune.c).
 */
#include "curves.h"
#include "io.h"

#include <string.h>

void xf__curves_add(void *user, int epoch, double train_loss, double val_loss, double val_acc,
                    int has_val)
{
    xf_curves *c = user;
    (void) epoch;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        double *p = realloc(c->v, (size_t) cap * 3 * sizeof *p);
        if (!p)
            return; /* the picture then stops at the last epoch that fitted */
        c->v = p, c->cap = cap;
    }
    c->v[3 * c->n] = train_loss, c->v[3 * c->n + 1] = val_loss, c->v[3 * c->n + 2] = val_acc;
    c->n++, c->has_val = has_val;
}

void xf__curves_free(xf_curves *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* one panel: series (column col of v, and col2 when >= 0) against the epochs */
static void panel(FILE *f, const xf_curves *c, double x0, const char *title, int col, int col2,
                  double lo, double hi, int best)
{
    const double y0 = 50, w = 300, h = 220;
    int n = c->n;
    fprintf(f,
            "<text x=\"%.0f\" y=\"30\" font-size=\"14\" text-anchor=\"middle\">%s</text>\n"
            "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            x0 + w / 2, title, x0, y0, w, h);
    for (int t = 0; t <= 4; t++) { /* y ticks */
        double v = lo + (hi - lo) * t / 4, y = y0 + h - h * t / 4;
        fprintf(f,
                "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" "
                "dominant-baseline=\"central\">%.3g</text>\n",
                x0, y, x0 + w, y, x0 - 5, y, v);
    }
    int step = n > 10 ? (n + 9) / 10 : 1;
    for (int e = 1; e <= n; e += step) { /* x ticks */
        double x = x0 + (n > 1 ? w * (e - 1) / (n - 1) : w / 2);
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%d</text>\n",
                x, y0 + h + 16, e);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\">epoch</text>\n",
            x0 + w / 2, y0 + h + 34);
    if (best >= 0) {
        double x = x0 + (n > 1 ? w * best / (n - 1) : w / 2);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#888\" "
                "stroke-dasharray=\"4 3\"><title>kept: epoch %d</title></line>\n",
                x, y0, x, y0 + h, best + 1);
    }
    const char *colour[2] = {"#1f77b4", "#ff7f0e"}; /* training, validation */
    for (int s = 0; s < 2; s++) {
        int k = s ? col2 : col, paint = col == 2 ? 1 : s; /* accuracy is validation's */
        if (k < 0)
            continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                colour[paint]);
        for (int e = 0; e < n; e++) {
            double v = c->v[3 * e + k], x = x0 + (n > 1 ? w * e / (n - 1) : w / 2);
            double y = y0 + h - h * (hi > lo ? (v - lo) / (hi - lo) : 0.5);
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fputs("\"/>\n", f);
    }
}

xf_status xf__curves_svg(const xf_curves *c, const char *path, xf_error *err)
{
    if (c->n == 0)
        return xf__fail(err, XF_ERR_ARG, "%s: no epoch to plot", path);
    double lmax = 0, amin = 1, amax = 0;
    int best = 0;
    for (int e = 0; e < c->n; e++) {
        const double *v = c->v + 3 * e;
        lmax = v[0] > lmax ? v[0] : lmax, lmax = v[1] > lmax ? v[1] : lmax;
        amin = v[2] < amin ? v[2] : amin, amax = v[2] > amax ? v[2] : amax;
        const double *b = c->v + 3 * best; /* finetune's rule: higher accuracy, then lower loss */
        if (v[2] > b[2] || (v[2] == b[2] && v[1] < b[1]))
            best = e;
    }
    double alo = amin - 0.05 < 0 ? 0 : amin - 0.05, ahi = amax + 0.02 > 1 ? 1 : amax + 0.02;
    const char *set = c->has_val ? "validation" : "training (eval)";
    xf_out o;
    xf_status s = xf__out_open(&o, path, XF_OUT_TEMP, err);
    if (s)
        return s;
    FILE *f = o.f;
    fputs(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
        "width=\"780\" height=\"340\" viewBox=\"0 0 780 340\" font-family=\"DejaVu Sans, "
        "Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        f);
    char title[96];
    panel(f, c, 60, "loss (the dashed line: the kept epoch)", 0, 1, 0, lmax * 1.05, best);
    snprintf(title, sizeof title, "%s accuracy (best %.4f, epoch %d)", set, c->v[3 * best + 2],
             best + 1);
    panel(f, c, 440, title, 2, -1, alo, ahi, best);
    fprintf(f,
            "<line x1=\"260\" y1=\"326\" x2=\"280\" y2=\"326\" stroke=\"#1f77b4\" "
            "stroke-width=\"2\"/><text x=\"285\" y=\"330\" font-size=\"11\">training</text>\n"
            "<line x1=\"360\" y1=\"326\" x2=\"380\" y2=\"326\" stroke=\"#ff7f0e\" "
            "stroke-width=\"2\"/><text x=\"385\" y=\"330\" font-size=\"11\">%s</text>\n</svg>\n",
            set);
    if (ferror(f)) {
        xf__out_discard(&o, 0);
        return xf__fail(err, XF_ERR_WRITE, "%s: write failed", path);
    }
    return xf__out_commit(&o, err);
}
