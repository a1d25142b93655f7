/* confusion_png.c — the confusion matrix as a PNG, laid out as the SVG (confusion_svg.c) and
 * scikit-learn's ConfusionMatrixDisplay: a title with accuracy and balanced accuracy, true
 * classes down and predicted across, each named, "True label" / "Predicted label", cells
 * coloured by the row-normalised rate on the Blues scale with their count (white on dark), a
 * colour bar. Text is drawn with the embedded 8x16 bitmap font (font.h): no font library. Cells
 * grow with the longest count and shrink with the class count, so 2 and 50 classes are legible.
 * It is: the drawing. It is not: the counting (metrics.c).
 */
#include "font.h"
#include "metrics.h"
#include "picture.h"

#include <string.h>

#define MAX_NAME 30 /* characters of a class name drawn; longer ones end in '~' */

typedef struct {
    uint8_t *px;
    int w, h;
} canvas;

static void fill(canvas *c, int x0, int y0, int w, int h, const unsigned char rgb[3])
{
    for (int y = y0 < 0 ? 0 : y0; y < y0 + h && y < c->h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x0 + w && x < c->w; x++)
            memcpy(c->px + ((size_t) y * (size_t) c->w + (size_t) x) * 3, rgb, 3);
}

/* the next code point of UTF-8 text (a byte that starts no valid sequence: '?') */
static uint32_t next_cp(const unsigned char **s)
{
    const unsigned char *p = *s;
    int len = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : 4;
    uint32_t cp = len == 1 ? p[0] : (uint32_t) (p[0] & (0x7F >> len));
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *s = p + 1;
            return '?';
        }
        cp = cp << 6 | (p[i] & 0x3F);
    }
    *s = p + len;
    return cp;
}

/* up to max characters of s: their count */
static int text_len(const char *s, int max)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p && n < max; n++)
        next_cp(&p);
    return n;
}

/* s at (x, y), its top-left corner; vertical: turned a quarter left (read bottom to top, the
 * first character at the bottom, (x, y) its bottom-left corner). At most max characters. */
static void text(canvas *c, int x, int y, const char *s, int max, const unsigned char ink[3],
                 int vertical)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *) s; *p && n < max; n++) {
        uint32_t cp = next_cp(&p);
        if (n == max - 1 && *p)
            cp = '~';
        if (cp < XF_FONT_FIRST || cp >= XF_FONT_FIRST + XF_FONT_COUNT)
            cp = '?';
        const unsigned char *g = xf__font_rows[cp - XF_FONT_FIRST];
        for (int r = 0; r < XF_FONT_H; r++)
            for (int b = 0; b < XF_FONT_W; b++)
                if (g[r] & (0x80 >> b)) {
                    int px = vertical ? x + r : x + n * XF_FONT_W + b;
                    int py = vertical ? y - n * XF_FONT_W - b : y + r;
                    fill(c, px, py, 1, 1, ink);
                }
    }
}

xf_status xf__confusion_png(const xf_confusion *c, char *const *labels, const char *path,
                            xf_error *err)
{
    static const unsigned char black[3] = {34, 34, 34}, white[3] = {255, 255, 255},
                               grid[3] = {68, 68, 68};
    int k = c->k, digits = 1, name = 1;
    if (k > 200)
        return xf__fail(err, XF_ERR_ARG, "%d classes: too many to draw", k);
    for (size_t i = 0; i < (size_t) k * (size_t) k; i++) {
        char s[24];
        int d = snprintf(s, sizeof s, "%lld", (long long) c->cm[i]);
        digits = d > digits ? d : digits;
    }
    for (int i = 0; i < k; i++) {
        int l = text_len(labels[i], MAX_NAME);
        name = l > name ? l : name;
    }
    int cell = 720 / k > 64 ? 64 : 720 / k, need = digits * XF_FONT_W + 8;
    cell = cell < need ? need : cell < XF_FONT_H + 6 ? XF_FONT_H + 6 : cell;
    int lw = name * XF_FONT_W, side = cell * k;
    int x0 = XF_FONT_H + 16 + lw + 8, y0 = 2 * XF_FONT_H + 18;
    int w = x0 + side + 90, h = y0 + side + 8 + lw + 12 + XF_FONT_H + 12;
    char title[128];
    int tl = snprintf(title, sizeof title, "accuracy %.4f, balanced accuracy %.4f (%lld images)",
                      xf__accuracy(c), xf__balanced_accuracy(c), (long long) c->n);
    if (w < tl * XF_FONT_W + 40) /* room for the title */
        x0 += (tl * XF_FONT_W + 40 - w) / 2, w = tl * XF_FONT_W + 40;
    canvas cv = {malloc((size_t) w * (size_t) h * 3), w, h};
    if (!cv.px)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    fill(&cv, 0, 0, w, h, white);
    text(&cv, (w - tl * XF_FONT_W) / 2, 10, title, tl, black, 0);
    for (int i = 0; i < k; i++) {
        int64_t row = 0;
        for (int j = 0; j < k; j++)
            row += c->cm[(size_t) i * (size_t) k + (size_t) j];
        for (int j = 0; j < k; j++) {
            int64_t v = c->cm[(size_t) i * (size_t) k + (size_t) j];
            double rate = row ? (double) v / (double) row : 0;
            unsigned char rgb[3];
            xf__blues(rate, rgb);
            fill(&cv, x0 + j * cell, y0 + i * cell, cell, cell, rgb);
            char s[24];
            int d = snprintf(s, sizeof s, "%lld", (long long) v);
            text(&cv, x0 + j * cell + (cell - d * XF_FONT_W) / 2,
                 y0 + i * cell + (cell - XF_FONT_H) / 2, s, d, rate > 0.5 ? white : black, 0);
        }
        int l = text_len(labels[i], MAX_NAME);
        text(&cv, x0 - 8 - l * XF_FONT_W, y0 + i * cell + (cell - XF_FONT_H) / 2, labels[i],
             MAX_NAME, black, 0); /* true class, right-aligned */
        text(&cv, x0 + i * cell + (cell - XF_FONT_H) / 2, y0 + side + 8 + l * XF_FONT_W, labels[i],
             MAX_NAME, black, 1); /* predicted class, read upwards, ending at the axis */
    }
    fill(&cv, x0 - 1, y0 - 1, side + 2, 1, grid), fill(&cv, x0 - 1, y0 + side, side + 2, 1, grid);
    fill(&cv, x0 - 1, y0 - 1, 1, side + 2, grid), fill(&cv, x0 + side, y0 - 1, 1, side + 2, grid);
    text(&cv, 8, y0 + side / 2 + 5 * XF_FONT_W, "True label", 10, black, 1);
    text(&cv, x0 + (side - 15 * XF_FONT_W) / 2, h - XF_FONT_H - 10, "Predicted label", 15, black,
         0);
    int bx = x0 + side + 16, bh = side < 240 ? side : 240;
    for (int y = 0; y < bh; y++) { /* colour bar: 1.0 at the top */
        unsigned char rgb[3];
        xf__blues(1.0 - (double) y / (bh > 1 ? bh - 1 : 1), rgb);
        fill(&cv, bx, y0 + y, 14, 1, rgb);
    }
    fill(&cv, bx - 1, y0 - 1, 16, 1, grid), fill(&cv, bx - 1, y0 + bh, 16, 1, grid);
    fill(&cv, bx - 1, y0 - 1, 1, bh + 2, grid), fill(&cv, bx + 14, y0 - 1, 1, bh + 2, grid);
    text(&cv, bx + 20, y0, "1.0", 3, black, 0);
    text(&cv, bx + 20, y0 + bh - XF_FONT_H, "0.0", 3, black, 0);
    xf_status s = xf__png_write_rgb(path, w, h, cv.px, err);
    free(cv.px);
    return s;
}
