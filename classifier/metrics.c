/* metrics.c — confusion matrix, accuracy figures, their table and JSON, and the colour scale
 * of the pictures (see metrics.h). */
#include "metrics.h"
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

/* matplotlib's "Blues", nine stops */
static const unsigned char blues[9][3] = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239},
                                          {158, 202, 225}, {107, 174, 214}, {66, 146, 198},
                                          {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};

void xf__blues(double t, unsigned char rgb[3])
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    int i = t >= 1 ? 7 : (int) (t * 8);
    double f = t * 8 - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = (unsigned char) (blues[i][k] + f * (blues[i + 1][k] - blues[i][k]) + 0.5);
}
