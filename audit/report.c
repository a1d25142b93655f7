/* report.c — the audit as one self-contained HTML page (see audit.h).
 *
 * It is: a summary (rows, classes, cross-validated accuracy, each class's size and estimated
 * noise), then each kind of finding, strongest first, with the image, its match or neighbour
 * and the suggested label; thumbnails are 112-pixel center crops encoded as PNG data URIs, so
 * the page needs no network and no other file. Text is HTML-escaped; bytes that are not UTF-8
 * become U+FFFD. It is not: the TSV (xfer-audit.c).
 */
#include "audit.h"
#include "io.h"
#include "picture.h"

#include <string.h>

#define THUMB     112
#define MAX_SHOWN 60 /* findings shown per kind */

static void html_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p == '<')
            fputs("&lt;", f);
        else if (*p == '>')
            fputs("&gt;", f);
        else if (*p == '&')
            fputs("&amp;", f);
        else if (*p == '"')
            fputs("&quot;", f);
        else if (*p < 0x20)
            fputc(' ', f);
        else if (*p >= 0x80) { /* keep valid UTF-8 sequences, replace the rest */
            int n = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
            int ok = n > 0;
            for (int i = 1; ok && i < n; i++)
                ok = (p[i] & 0xC0) == 0x80;
            if (ok) {
                fwrite(p, 1, (size_t) n, f);
                p += n - 1;
            } else {
                fputs("\xEF\xBF\xBD", f);
            }
        } else
            fputc(*p, f);
    }
}

static void base64(FILE *f, const uint8_t *d, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t) d[i] << 16 | (i + 1 < n ? (uint32_t) d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        fputc(tbl[v >> 18 & 63], f);
        fputc(tbl[v >> 12 & 63], f);
        fputc(i + 1 < n ? tbl[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? tbl[v & 63] : '=', f);
    }
}

/* <img> of a center-cropped thumbnail, or a grey box saying why there is none */
static void thumb(FILE *f, const char *path)
{
    xf_preproc pp;
    memset(&pp, 0, sizeof pp);
    pp.size_h = pp.size_w = THUMB, pp.crop_pct = 1, pp.exif_rotate = 1;
    pp.std[0] = pp.std[1] = pp.std[2] = 1;
    float *px = malloc(THUMB * THUMB * 3 * sizeof *px);
    uint8_t *rgb = malloc(THUMB * THUMB * 3), *png = NULL;
    size_t len = 0;
    xf_error e;
    int ok = px && rgb && xf_image_load(path, &pp, px, &e) == XF_OK;
    for (int i = 0; ok && i < THUMB * THUMB * 3; i++) {
        float v = px[i] * 255.0f + 0.5f;
        rgb[i] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
    }
    ok = ok && xf__png_encode_rgb(THUMB, THUMB, rgb, &png, &len, &e) == XF_OK;
    if (ok) {
        fputs("<img alt=\"\" width=112 height=112 src=\"data:image/png;base64,", f);
        base64(f, png, len);
        fputs("\">", f);
    } else {
        fputs("<div class=none>no picture</div>", f);
    }
    free(px), free(rgb), free(png);
}

static const char *class_name(const xf_audit *a, int c)
{
    return c >= 0 && c < a->lab.k ? a->lab.classes[c] : "";
}

static void figure(FILE *f, const char *path, const char *caption)
{
    fputs("<figure>", f);
    thumb(f, path);
    fputs("<figcaption>", f);
    html_text(f, caption);
    fputs("</figcaption></figure>", f);
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
    fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
          "<title>xfer-audit</title><style>"
          "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
          "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;"
          "text-align:right}td:first-child,th:first-child{text-align:left}"
          ".f{display:flex;gap:12px;align-items:flex-start;margin:8px 0;padding:8px;"
          "border:1px solid #ddd;border-radius:6px}figure{margin:0;width:112px}"
          "figcaption{font-size:11px;word-break:break-all}.none{width:112px;height:112px;"
          "background:#eee;color:#888;display:flex;align-items:center;justify-content:center}"
          ".s{font-size:13px}</style></head><body>\n<h1>xfer-audit</h1>\n",
          f);
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
        html_text(f, a->lab.classes[c]);
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
            figure(f, set->paths[x->rec], cap);
            if (x->other >= 0) {
                snprintf(cap, sizeof cap, "%s%s",
                         x->kind == XF_FIND_LABEL || x->kind == XF_FIND_OUTLIER ? "nearest: " : "",
                         oset->paths[x->other]);
                figure(f, oset->paths[x->other], cap);
            }
            fputs("<div class=s>", f);
            if (x->kind == XF_FIND_LABEL) {
                fputs("labelled <b>", f);
                html_text(f, class_name(a, x->label));
                fputs("</b>, probably <b>", f);
                html_text(f, class_name(a, x->suggested));
                fprintf(f, "</b> (%.2f)", x->score);
            } else if (x->kind == XF_FIND_OUTLIER) {
                fputs("in <b>", f);
                html_text(f, class_name(a, x->label));
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
