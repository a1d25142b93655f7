/* html.c — the pieces of the self-contained HTML reports (see html.h).
 * It is: the style, escaping, base64 and thumbnails (decoded by libxfer like any input, center
 * cropped, PNG-encoded). It is not: a report's content.
 */
#include "html.h"
#include "picture.h"

#include <string.h>

void xf__html_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>", f);
    xf__html_text(f, title);
    fputs(
        "</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        ".f{display:flex;gap:12px;align-items:flex-start;margin:8px 0;padding:8px;"
        "border:1px solid #ddd;border-radius:6px}figure{margin:0;width:112px}"
        "figcaption{font-size:11px;word-break:break-all}.none{width:112px;height:112px;"
        "background:#eee;color:#888;display:flex;align-items:center;justify-content:center}"
        ".s{font-size:13px}svg{max-width:100%;height:auto}.g{display:flex;flex-wrap:wrap;gap:10px}"
        ".m{width:120px;font-size:12px;padding:6px;border:1px solid "
        "#ddd;border-radius:6px}</style></head><body>\n<h1>",
        f);
    xf__html_text(f, title);
    fputs("</h1>\n", f);
}

void xf__html_text(FILE *f, const char *s)
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
    enum { T = XF_HTML_THUMB };
    xf_preproc pp;
    memset(&pp, 0, sizeof pp);
    pp.size_h = pp.size_w = T, pp.crop_pct = 1, pp.exif_rotate = 1;
    pp.std[0] = pp.std[1] = pp.std[2] = 1;
    float *px = malloc(T * T * 3 * sizeof *px);
    uint8_t *rgb = malloc(T * T * 3), *png = NULL;
    size_t len = 0;
    xf_error e;
    int ok = px && rgb && xf_image_load(path, &pp, px, &e) == XF_OK;
    for (int i = 0; ok && i < T * T * 3; i++) {
        float v = px[i] * 255.0f + 0.5f;
        rgb[i] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
    }
    ok = ok && xf__png_encode_rgb(T, T, rgb, &png, &len, &e) == XF_OK;
    if (ok) {
        fprintf(f, "<img alt=\"\" width=%d height=%d src=\"data:image/png;base64,", T, T);
        base64(f, png, len);
        fputs("\">", f);
    } else {
        fputs("<div class=none>no picture</div>", f);
    }
    free(px), free(rgb), free(png);
}

void xf__html_figure(FILE *f, const char *path, const char *caption)
{
    fputs("<figure>", f);
    thumb(f, path);
    fputs("<figcaption>", f);
    xf__html_text(f, caption);
    fputs("</figcaption></figure>", f);
}
