/* confusion_svg.c — the confusion matrix as an SVG picture, laid out as scikit-learn's
 * ConfusionMatrixDisplay draws it: true classes down, predicted across, each named; colour by
 * the row-normalised rate (a light-to-dark blue scale with its colour bar), the count written
 * in every cell (white on dark); a title with accuracy and balanced accuracy. Sizes follow the
 * class count, so 2 and 50 classes are both legible; text stays text (sharp at any zoom, no
 * font files).
 * It is: the drawing (see metrics.h). It is not: the counting (metrics.c).
 */
#include "io.h"
#include "metrics.h"

#include <string.h>

static void colour(double t, char out[8])
{
    unsigned char c[3];
    xf__blues(t, c);
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* s as XML character data (control characters dropped) */
static void xml(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char) *s;
        if (ch == '&')
            fputs("&amp;", f);
        else if (ch == '<')
            fputs("&lt;", f);
        else if (ch == '>')
            fputs("&gt;", f);
        else if (ch == '"')
            fputs("&quot;", f);
        else if (ch >= 0x20 || ch == '\t')
            fputc(ch, f);
    }
}

static size_t longest(char *const *labels, int k)
{
    size_t m = 1;
    for (int i = 0; i < k; i++) {
        size_t l = strlen(labels[i]);
        m = l > m ? l : m;
    }
    return m > 40 ? 40 : m;
}

void xf__confusion_svg_write(const xf_confusion *c, char *const *labels, FILE *f, int standalone)
{
    int k = c->k;
    double cell = 720.0 / k;
    cell = cell > 64 ? 64 : cell < 18 ? 18 : cell;
    double font = cell * 0.34 > 16 ? 16 : cell * 0.34 < 7 ? 7 : cell * 0.34;
    double lfont = cell * 0.42 > 14 ? 14 : cell * 0.42 < 8 ? 8 : cell * 0.42;
    double lw = (double) longest(labels, k) * lfont * 0.6;
    double x0 = lw + 50, y0 = 60, side = cell * k;
    double width = x0 + side + 110, height = y0 + side + lw * 0.71 + 60;
    if (width < 520) /* room for the title */
        x0 += (520 - width) / 2, width = 520;
    if (standalone)
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
    fprintf(f,
            "<text x=\"%.1f\" y=\"30\" font-size=\"15\" text-anchor=\"middle\">accuracy %.4f, "
            "balanced accuracy %.4f (%lld images)</text>\n",
            width / 2, xf__accuracy(c), xf__balanced_accuracy(c), (long long) c->n);
    for (int i = 0; i < k; i++) {
        int64_t row = 0;
        for (int j = 0; j < k; j++)
            row += c->cm[(size_t) i * (size_t) k + (size_t) j];
        for (int j = 0; j < k; j++) {
            int64_t v = c->cm[(size_t) i * (size_t) k + (size_t) j];
            double rate = row ? (double) v / (double) row : 0;
            char col[8];
            colour(rate, col);
            double x = x0 + j * cell, y = y0 + i * cell;
            fprintf(
                f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
                x, y, cell, cell, col);
            xml(f, labels[i]);
            fputs(" predicted as ", f);
            xml(f, labels[j]);
            fprintf(f, ": %lld of %lld (%.1f%%)</title></rect>\n", (long long) v, (long long) row,
                    100 * rate);
            if (v || k <= 20)
                fprintf(f,
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" text-anchor=\"middle\" "
                        "dominant-baseline=\"central\" fill=\"%s\">%lld</text>\n",
                        x + cell / 2, y + cell / 2, font, rate > 0.5 ? "white" : "black",
                        (long long) v);
        }
    }
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            x0, y0, side, side);
    for (int i = 0; i < k; i++) { /* true classes on the left, predicted ones below, slanted */
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" text-anchor=\"end\" "
                "dominant-baseline=\"central\">",
                x0 - 6, y0 + (i + 0.5) * cell, lfont);
        xml(f, labels[i]);
        fputs("</text>\n", f);
        double x = x0 + (i + 0.5) * cell, y = y0 + side + 8;
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" text-anchor=\"end\" "
                "dominant-baseline=\"central\" transform=\"rotate(-45 %.1f %.1f)\">",
                x, y, lfont, x, y);
        xml(f, labels[i]);
        fputs("</text>\n", f);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\">Predicted "
            "label</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 %.1f %.1f)\">True label</text>\n",
            x0 + side / 2, height - 14, x0 - lw - 30, y0 + side / 2, x0 - lw - 30, y0 + side / 2);
    /* the colour bar: the row-normalised rate, 0 to 1 */
    double bx = x0 + side + 30, bh = side < 200 ? side : 200;
    fputs("<defs><linearGradient id=\"bar\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">", f);
    for (int i = 0; i < 9; i++) {
        char col[8];
        colour(i / 8.0, col);
        fprintf(f, "<stop offset=\"%.3f\" stop-color=\"%s\"/>", i / 8.0, col);
    }
    fprintf(f,
            "</linearGradient></defs>\n"
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" fill=\"url(#bar)\" "
            "stroke=\"#444\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">1.0</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">0.0</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" transform=\"rotate(-90 %.1f %.1f)\" "
            "text-anchor=\"middle\">share of the true class</text>\n</svg>\n",
            bx, y0, bh, bx + 18, y0 + 8, bx + 18, y0 + bh, bx + 48, y0 + bh / 2, bx + 48,
            y0 + bh / 2);
}

xf_status xf__confusion_svg(const xf_confusion *c, char *const *labels, const char *path,
                            xf_error *err)
{
    xf_out o;
    xf_status s = xf__out_open(&o, path, XF_OUT_TEMP, err);
    if (s)
        return s;
    xf__confusion_svg_write(c, labels, o.f, 1);
    if (ferror(o.f)) {
        xf__out_discard(&o, 0);
        return xf__fail(err, XF_ERR_WRITE, "%s: write failed", path);
    }
    return xf__out_commit(&o, err);
}
