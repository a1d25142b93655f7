/* classify — predictions of a classifier head on images/folders or on a feature file.
 *
 * It is: argument parsing; for images, opening the backbone the head was trained on (checked by
 * its feature provenance) and running the extraction pipeline; printing top-k labels per input
 * (TSV or JSON lines) and, when true labels are known, accuracy figures and a confusion matrix.
 * Exit: 0 ok, 3 some inputs failed, 1 fatal, 2 usage. It is not: training.
 */
#include "cli.h"
#include "feats.h"
#include "head.h"
#include "inputs.h"
#include "labels.h"
#include "metrics.h"
#include "pipeline.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: classify -m CLASSIFIER.gguf [options] (IMAGES/DIRS... | FEATS.bin)\n"
        "Prints one line per input on stdout: TSV 'path, label1, prob1, label2, prob2, ...'\n"
        "(failed inputs: 'path, !error, reason'), or JSON lines with --format json.\n"
        "When true labels are known (parent folder names matching the classes, or --labels),\n"
        "accuracy, balanced accuracy, per-class precision/recall/F1 and the confusion matrix go\n"
        "to stderr.\n"
        "  -m FILE              classifier head from train-classifier (required), or a backbone\n"
        "                       with its own labels (ImageNet weights: ImageNet top-5)\n"
        "  -w FILE              backbone weights for images (default: the file in weights/ whose\n"
        "                       checksum the classifier recorded); must be the one it was\n"
        "                       trained on\n"
        "  --top K              labels per input (default: 5, at most the number of classes)\n"
        "  --format tsv|json    output format (default tsv)\n"
        "  --labels FILE        true labels, CSV/TSV 'path,label'\n"
        "  --confusion-png FILE draw the confusion matrix\n"
        "  -j N, --batch N      threads and batch size for images\n"
        "  --quiet              no progress or metrics on stderr\n");
}

typedef struct {
    const xf_head *h;
    int top, json, quiet;
    int l2norm; /* images: the head was trained on L2-normalised features */
    const xf_labelmap *lm;
    xf_confusion cm;
    size_t failed, unknown_truth;
    float *dec, *prob, *scratch;
    int *order;
} ctx;

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char) *s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    (void) idx;
    ctx *c = user;
    if (st != XF_OK) {
        c->failed++;
        if (!c->quiet)
            fprintf(stderr, "%s\n", reason);
        if (c->json) {
            printf("{\"path\":");
            json_str(path);
            printf(",\"error\":");
            json_str(reason ? reason : "");
            printf("}\n");
        } else {
            printf("%s\t!error\t%s\n", path, reason ? reason : "");
        }
        return ferror(stdout) ? xf__fail(err, XF_ERR_IO, "stdout: write failed") : XF_OK;
    }
    int k = c->h->k;
    if (c->l2norm && c->scratch) {
        double n2 = 0;
        for (int j = 0; j < c->h->dim; j++)
            n2 += (double) vec[j] * (double) vec[j];
        float inv = n2 > 0 ? (float) (1.0 / sqrt(n2)) : 0.0f;
        for (int j = 0; j < c->h->dim; j++)
            c->scratch[j] = vec[j] * inv;
        vec = c->scratch;
    }
    xf__head_predict(c->h, vec, c->dec, c->prob);
    for (int i = 0; i < k; i++)
        c->order[i] = i;
    for (int i = 0; i < c->top; i++) /* partial selection sort: top entries by probability */
        for (int j = i + 1; j < k; j++)
            if (c->prob[c->order[j]] > c->prob[c->order[i]]) {
                int t = c->order[i];
                c->order[i] = c->order[j];
                c->order[j] = t;
            }
    if (c->json) {
        printf("{\"path\":");
        json_str(path);
        printf(",\"top\":[");
        for (int i = 0; i < c->top; i++) {
            printf("%s{\"label\":", i ? "," : "");
            json_str(c->h->labels[c->order[i]]);
            printf(",\"prob\":%.6f}", (double) c->prob[c->order[i]]);
        }
        printf("]}\n");
    } else {
        printf("%s", path);
        for (int i = 0; i < c->top; i++)
            printf("\t%s\t%.6f", c->h->labels[c->order[i]], (double) c->prob[c->order[i]]);
        printf("\n");
    }
    char buf[1024];
    const char *truth = xf__label_of(c->lm, path, buf, sizeof buf);
    int t = truth ? xf__class_index(c->h->labels, k, truth) : -1;
    if (t >= 0)
        xf__confusion_add(&c->cm, t, c->order[0]);
    else
        c->unknown_truth++;
    return ferror(stdout) ? xf__fail(err, XF_ERR_IO, "stdout: write failed") : XF_OK;
}

/* Session options and preprocessing recorded in the head's feature provenance. */
static xf_status opts_from_head(const xf_head *h, const xf_model *m, xf_pipeline_opts *po,
                                char **layer_store, int *l2norm, xf_error *err)
{
    cJSON *j = cJSON_Parse(h->features_json);
    if (!j)
        return xf__fail(err, XF_ERR_FORMAT, "classifier: unreadable feature provenance");
    po->pp = xf_model_preproc(m);
    po->so = xf_session_default_opts();
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers"), *l;
    cJSON_ArrayForEach(l, layers)
    {
        if (po->so.n_layers < XF_MAX_LAYERS && cJSON_IsString(l)) {
            layer_store[po->so.n_layers] = strdup(l->valuestring);
            po->so.layers[po->so.n_layers] = layer_store[po->so.n_layers];
            po->so.n_layers++;
        }
    }
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(j, "pool");
    if (cJSON_IsString(pool))
        po->so.pool = strcmp(pool->valuestring, "max") == 0    ? XF_POOL_MAX
                      : strcmp(pool->valuestring, "none") == 0 ? XF_POOL_NONE
                                                               : XF_POOL_AVG;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input");
    const cJSON *crop = cJSON_GetObjectItemCaseSensitive(in, "crop_pct");
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(in, "mean");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(in, "std");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(in, "exif_rotate");
    if (cJSON_IsNumber(crop))
        po->pp.crop_pct = (float) crop->valuedouble;
    for (int c = 0; c < 3; c++) {
        if (cJSON_IsNumber(cJSON_GetArrayItem(mean, c)))
            po->pp.mean[c] = (float) cJSON_GetArrayItem(mean, c)->valuedouble;
        if (cJSON_IsNumber(cJSON_GetArrayItem(sd, c)))
            po->pp.std[c] = (float) cJSON_GetArrayItem(sd, c)->valuedouble;
    }
    po->pp.exif_rotate = !cJSON_IsFalse(ex);
    *l2norm = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "l2norm"));
    cJSON_Delete(j);
    return XF_OK;
}

int main(int argc, char **argv)
{
    const char *head_path = NULL, *wpath = NULL, *labels = NULL, *png = NULL;
    int top = 5, json = 0, quiet = 0, threads = 0, batch = 4;
    char **paths = argv + 1;
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int takes = strcmp(a, "-m") == 0 || strcmp(a, "-w") == 0 || strcmp(a, "--top") == 0 ||
                    strcmp(a, "--format") == 0 || strcmp(a, "--labels") == 0 ||
                    strcmp(a, "--confusion-png") == 0 || strcmp(a, "-j") == 0 ||
                    strcmp(a, "--batch") == 0;
        const char *v = takes ? (i + 1 < argc ? argv[++i] : NULL) : NULL;
        char *end = NULL;
        int ok = 1;
        if (takes && !v) {
            fprintf(stderr, "classify: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-m") == 0) {
            head_path = v;
        } else if (strcmp(a, "-w") == 0) {
            wpath = v;
        } else if (strcmp(a, "--labels") == 0) {
            labels = v;
        } else if (strcmp(a, "--confusion-png") == 0) {
            png = v;
        } else if (strcmp(a, "--top") == 0) {
            top = (int) strtol(v, &end, 10);
            ok = !*end && top >= 1 && top <= 100000;
        } else if (strcmp(a, "-j") == 0) {
            threads = (int) strtol(v, &end, 10);
            ok = !*end && threads >= 1 && threads <= 256;
        } else if (strcmp(a, "--batch") == 0) {
            batch = (int) strtol(v, &end, 10);
            ok = !*end && batch >= 1 && batch <= 1024;
        } else if (strcmp(a, "--format") == 0) {
            ok = strcmp(v, "tsv") == 0 || strcmp(v, "json") == 0;
            json = v[0] == 'j';
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "classify: unknown option %s (see --help)\n", a);
            return 2;
        } else {
            paths[n_paths++] = argv[i];
        }
        if (!ok) {
            fprintf(stderr, "classify: bad value '%s' for %s (see --help)\n", v, a);
            return 2;
        }
    }
    if (!head_path || n_paths == 0) {
        usage(stderr);
        return 2;
    }
    xf_error err;
    xf_head h;
    if (xf__head_read(head_path, &h, &err) != XF_OK) {
        /* a bare backbone with labels classifies into its own classes (ImageNet top-5) */
        xf_model *bb = NULL;
        xf_error e2;
        if (err.code != XF_ERR_FORMAT || xf_model_open(head_path, NULL, &bb, &e2) != XF_OK ||
            xf__head_from_backbone(bb, &h, &e2) != XF_OK) {
            if (bb)
                err = e2;
            xf_model_free(bb);
            fprintf(stderr, "classify: %s\n", err.msg);
            return 1;
        }
        xf_model_free(bb);
        if (!wpath)
            wpath = head_path;
    }
    ctx c;
    memset(&c, 0, sizeof c);
    c.h = &h;
    c.top = top < h.k ? top : h.k;
    c.json = json;
    c.quiet = quiet;
    xf_labelmap lm = {0};
    xf_status s = XF_OK;
    xf_model *model = NULL;
    xf_inputs in = {0};
    char *layer_store[XF_MAX_LAYERS] = {0};
    c.dec = malloc((size_t) h.k * sizeof(float));
    c.prob = malloc((size_t) h.k * sizeof(float));
    c.order = malloc((size_t) h.k * sizeof(int));
    c.scratch = malloc((size_t) h.dim * sizeof(float));
    if (!c.dec || !c.prob || !c.order || !c.scratch)
        s = xf__fail(&err, XF_ERR_NOMEM, "out of memory");
    if (!s && labels)
        s = xf__labels_read(labels, &lm, &err);
    c.lm = labels ? &lm : NULL;
    if (!s)
        s = xf__confusion_init(&c.cm, h.k, &err);
    /* a feature file is recognised by its magic */
    int feats_mode = 0;
    FILE *probe = fopen(paths[0], "rb");
    if (probe) {
        char magic[8];
        feats_mode = fread(magic, 1, 8, probe) == 8 && memcmp(magic, "XFEATS\r\n", 8) == 0;
        fclose(probe);
    }
    if (!s && feats_mode) {
        for (int p = 0; p < n_paths && !s; p++) {
            xf_featset fs;
            if ((s = xf__feats_read(paths[p], &fs, &err)))
                break;
            s = xf__head_check_features(&h, fs.header_json, fs.dim, &err);
            if (s)
                xf__wrap(&err, paths[p]);
            for (size_t i = 0; i < fs.n && !s; i++)
                s = emit(&c, i, fs.paths[i], fs.status[i], fs.x + i * (size_t) fs.dim,
                         fs.reasons[i], &err);
            xf__featset_free(&fs);
        }
    } else if (!s) {
        char wbuf[4096];
        if (!wpath) { /* the backbone the head was trained on, found by its checksum */
            cJSON *j = cJSON_Parse(h.features_json);
            const cJSON *crc = cJSON_GetObjectItemCaseSensitive(j, "weights_crc32c");
            if (!(cJSON_IsString(crc) && xf__weights_by_crc(crc->valuestring, wbuf, sizeof wbuf)))
                xf__default_weights(wbuf, sizeof wbuf);
            cJSON_Delete(j);
            wpath = wbuf;
        }
        xf_pipeline_opts po;
        memset(&po, 0, sizeof po);
        s = xf_model_open(wpath, NULL, &model, &err);
        if (!s)
            s = opts_from_head(&h, model, &po, layer_store, &c.l2norm, &err);
        char json_buf[8192];
        if (!s) {
            int64_t dim;
            s = xf_session_check(model, &po.so, &dim, &err);
            if (!s) {
                if (!xf__features_json(model, &po.pp, &po.so, dim, c.l2norm, json_buf,
                                       sizeof json_buf))
                    s = xf__fail(&err, XF_ERR_ARG, "layer names too long");
                else if ((s = xf__head_check_features(&h, json_buf, dim, &err)))
                    xf__wrap(&err, wpath);
            }
        }
        if (!s && !quiet)
            fprintf(stderr, "classify: backbone %s (%s), %d classes\n",
                    xf_model_meta_str(model, "general.name"), wpath, h.k);
        for (int p = 0; p < n_paths && !s; p++)
            s = xf__inputs_add(&in, paths[p], NULL, &err);
        if (!s) {
            po.threads = threads ? threads : xf__cpu_count();
            po.batch = batch;
            po.emit = emit;
            po.user = &c;
            size_t n_failed;
            s = xf__pipeline_run(model, in.paths, in.n, &po, &n_failed, &err);
        }
    }
    if (fflush(stdout) != 0 && !s)
        s = xf__fail(&err, XF_ERR_IO, "stdout: write failed");
    if (!s && c.cm.n > 0) {
        if (!quiet) {
            xf__confusion_print(&c.cm, h.labels, stderr);
            if (c.unknown_truth)
                fprintf(stderr, "(%zu inputs without a known true class are not counted)\n",
                        c.unknown_truth);
        }
        if (png)
            s = xf__confusion_png(&c.cm, png, &err);
    } else if (!s && png) {
        fprintf(stderr, "classify: no true labels known; --confusion-png not written\n");
    }
    for (int l = 0; l < XF_MAX_LAYERS; l++)
        free(layer_store[l]);
    xf__inputs_free(&in);
    xf_model_free(model);
    xf__confusion_free(&c.cm);
    xf__labels_free(&lm);
    free(c.dec);
    free(c.prob);
    free(c.order);
    free(c.scratch);
    xf__head_free(&h);
    if (s) {
        fprintf(stderr, "classify: %s\n", err.msg);
        return 1;
    }
    return c.failed ? 3 : 0;
}
