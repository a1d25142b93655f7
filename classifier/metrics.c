/* metrics.c — confusion matrix, accuracy figures and their table / PNG (see metrics.h). */
#include "metrics.h"
#include "picture.h"

#include "io.h"

#include <cjson/cJSON.h>
#include <string.h>

xf_status xf__confusion_init(xf_confusion *c, int k, xf_error *err)
{
    c->k = k;
    c->n = 0;
    c->cm = calloc((size_t) k * (size_t) k, sizeof *c->cm);
    return c->cm ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory");
}

void xf__confusion_free(xf_confusion *c)
{
    free(c->cm);
    c->cm = NULL;
}

void xf__confusion_add(xf_confusion *c, int truth, int pred)
{
    c->cm[(size_t) truth * (size_t) c->k + (size_t) pred]++;
    c->n++;
}

static int64_t row_sum(const xf_confusion *c, int r)
{
    int64_t s = 0;
    for (int j = 0; j < c->k; j++)
        s += c->cm[(size_t) r * (size_t) c->k + (size_t) j];
    return s;
}

static int64_t col_sum(const xf_confusion *c, int col)
{
    int64_t s = 0;
    for (int i = 0; i < c->k; i++)
        s += c->cm[(size_t) i * (size_t) c->k + (size_t) col];
    return s;
}

double xf__accuracy(const xf_confusion *c)
{
    int64_t hit = 0;
    for (int i = 0; i < c->k; i++)
        hit += c->cm[(size_t) i * (size_t) c->k + (size_t) i];
    return c->n ? (double) hit / (double) c->n : 0;
}

double xf__balanced_accuracy(const xf_confusion *c)
{
    double s = 0;
    int present = 0;
    for (int i = 0; i < c->k; i++) {
        int64_t r = row_sum(c, i);
        if (r) {
            s += (double) c->cm[(size_t) i * (size_t) c->k + (size_t) i] / (double) r;
            present++;
        }
    }
    return present ? s / present : 0;
}

void xf__class_scores(const xf_confusion *c, int i, double *prec, double *rec, double *f1,
                      int64_t *support)
{
    double tp = (double) c->cm[(size_t) i * (size_t) c->k + (size_t) i];
    int64_t r = row_sum(c, i), p = col_sum(c, i);
    *prec = p ? tp / (double) p : 0, *rec = r ? tp / (double) r : 0;
    *f1 = *prec + *rec > 0 ? 2 * *prec * *rec / (*prec + *rec) : 0;
    *support = r;
}

void xf__confusion_print(const xf_confusion *c, char *const *labels, FILE *f)
{
    fprintf(f, "accuracy %.4f (%lld images), balanced accuracy %.4f\n", xf__accuracy(c),
            (long long) c->n, xf__balanced_accuracy(c));
    fprintf(f, "%-16s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
    for (int i = 0; i < c->k; i++) {
        double prec, rec, f1;
        int64_t r;
        xf__class_scores(c, i, &prec, &rec, &f1, &r);
        fprintf(f, "%-16.16s %9.4f %9.4f %9.4f %8lld\n", labels[i], prec, rec, f1, (long long) r);
    }
    fprintf(f, "confusion matrix (rows: true, columns: predicted)\n%-12s", "");
    for (int j = 0; j < c->k; j++)
        fprintf(f, " %8.8s", labels[j]);
    fprintf(f, "\n");
    for (int i = 0; i < c->k; i++) {
        fprintf(f, "%-12.12s", labels[i]);
        for (int j = 0; j < c->k; j++)
            fprintf(f, " %8lld", (long long) c->cm[(size_t) i * (size_t) c->k + (size_t) j]);
        fprintf(f, "\n");
    }
}

xf_status xf__metrics_json(const xf_confusion *c, char *const *labels, const char *path,
                           xf_error *err)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root && cJSON_AddNumberToObject(root, "n", (double) c->n) &&
             cJSON_AddNumberToObject(root, "accuracy", xf__accuracy(c)) &&
             cJSON_AddNumberToObject(root, "balanced_accuracy", xf__balanced_accuracy(c));
    cJSON *classes = ok ? cJSON_AddArrayToObject(root, "classes") : NULL;
    cJSON *cm = classes ? cJSON_AddArrayToObject(root, "confusion") : NULL;
    ok = cm != NULL;
    for (int i = 0; ok && i < c->k; i++) {
        double prec, rec, f1;
        int64_t sup;
        xf__class_scores(c, i, &prec, &rec, &f1, &sup);
        cJSON *o = cJSON_CreateObject(), *row = cJSON_CreateArray();
        ok = o && row && cJSON_AddItemToArray(classes, o) && cJSON_AddItemToArray(cm, row);
        if (!ok) {
            cJSON_Delete(o), cJSON_Delete(row);
            break;
        }
        ok = cJSON_AddStringToObject(o, "name", labels[i]) &&
             cJSON_AddNumberToObject(o, "precision", prec) &&
             cJSON_AddNumberToObject(o, "recall", rec) && cJSON_AddNumberToObject(o, "f1", f1) &&
             cJSON_AddNumberToObject(o, "support", (double) sup);
        for (int j = 0; ok && j < c->k; j++)
            ok = cJSON_AddItemToArray(
                row, cJSON_CreateNumber((double) c->cm[(size_t) i * (size_t) c->k + (size_t) j]));
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    xf_out o;
    xf_status s = xf__out_open(&o, path, XF_OUT_TEMP, err);
    if (!s) {
        fputs(text, o.f);
        fputc('\n', o.f);
        s = ferror(o.f)
                ? (xf__out_discard(&o, 0), xf__fail(err, XF_ERR_WRITE, "%s: write failed", path))
                : xf__out_commit(&o, err);
    }
    cJSON_free(text);
    return s;
}

/* 3x5 digits, one row of 3 bits per nibble, top row first */
static const uint16_t digits[10] = {0x7B6F, 0x2C97, 0x73E7, 0x72CF, 0x5BC9,
                                    0x79CF, 0x79EF, 0x7249, 0x7BEF, 0x7BCF};

static void draw_number(uint8_t *px, int w, int x0, int y0, long long v, int scale, uint8_t ink)
{
    char s[24];
    int n = snprintf(s, sizeof s, "%lld", v);
    for (int d = 0; d < n; d++) {
        uint16_t g = digits[s[d] - '0'];
        for (int r = 0; r < 5; r++)
            for (int col = 0; col < 3; col++)
                if (g & (1u << (14 - (r * 3 + col))))
                    for (int yy = 0; yy < scale; yy++)
                        for (int xx = 0; xx < scale; xx++) {
                            int x = x0 + (d * 4 + col) * scale + xx, y = y0 + r * scale + yy;
                            uint8_t *p = px + ((size_t) y * (size_t) w + (size_t) x) * 3;
                            p[0] = p[1] = p[2] = ink;
                        }
    }
}

xf_status xf__confusion_png(const xf_confusion *c, const char *path, xf_error *err)
{
    const int cell = 48, scale = 2;
    int w = c->k * cell;
    if (c->k > 200)
        return xf__fail(err, XF_ERR_ARG, "%d classes: too many to draw", c->k);
    uint8_t *px = malloc((size_t) w * (size_t) w * 3);
    if (!px)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < c->k; i++) {
        int64_t r = row_sum(c, i);
        for (int j = 0; j < c->k; j++) {
            int64_t v = c->cm[(size_t) i * (size_t) c->k + (size_t) j];
            double frac = r ? (double) v / (double) r : 0;
            uint8_t R = (uint8_t) (255 - 215 * frac), G = (uint8_t) (255 - 160 * frac), B = 255;
            for (int y = i * cell; y < (i + 1) * cell; y++)
                for (int x = j * cell; x < (j + 1) * cell; x++) {
                    uint8_t *p = px + ((size_t) y * (size_t) w + (size_t) x) * 3;
                    int border = x % cell == 0 || y % cell == 0;
                    p[0] = border ? 160 : R, p[1] = border ? 160 : G, p[2] = border ? 160 : B;
                }
            char s[24];
            int digits_n = snprintf(s, sizeof s, "%lld", (long long) v);
            int tw = digits_n * 4 * scale;
            if (tw < cell - 4)
                draw_number(px, w, j * cell + (cell - tw) / 2, i * cell + (cell - 5 * scale) / 2,
                            (long long) v, scale, frac > 0.5 ? 255 : 0);
        }
    }
    xf_status s = xf__png_write_rgb(path, w, w, px, err);
    free(px);
    return s;
}
