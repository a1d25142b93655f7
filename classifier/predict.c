/* predict.c — applying a classifier and reporting (see predict.h).
 *
 * It is: top-k selection, the TSV line (paths escaped so a tab or newline in a file name cannot
 * shift columns) or the JSON line (cJSON: any name gives valid JSON), the confusion matrix of
 * the inputs whose true class is known. It is not: extraction or option parsing.
 */
#include "predict.h"
#include "feats.h"
#include "io.h"
#include "metrics.h"
#include "provenance.h"
#include "report.h"
#include "wfile.h"

#include <cjson/cJSON.h>
#include <string.h>

struct xf_predictor {
    const xf_head *h;
    char *const *roots; /* of the inputs being predicted */
    int n_roots;
    xf_predict_opts o;
    xf_confusion cm;
    size_t failed, unknown_truth;
    float *dec, *prob;
    int *order;
    xf_mistakes mistakes; /* for --report */
};

xf_status xf__predictor_create(const xf_head *h, const xf_predict_opts *o, xf_predictor **out,
                               xf_error *err)
{
    xf_predictor *p = calloc(1, sizeof *p);
    if (!p)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    p->h = h;
    p->o = *o;
    p->o.top = o->top < h->k ? o->top : h->k;
    p->dec = malloc((size_t) h->k * sizeof(float));
    p->prob = malloc((size_t) h->k * sizeof(float));
    p->order = malloc((size_t) h->k * sizeof(int));
    xf_status s = p->dec && p->prob && p->order ? xf__confusion_init(&p->cm, h->k, err)
                                                : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (s) {
        xf__predictor_free(p);
        return s;
    }
    *out = p;
    return XF_OK;
}

void xf__predictor_free(xf_predictor *p)
{
    if (!p)
        return;
    xf__confusion_free(&p->cm);
    xf__mistakes_free(&p->mistakes);
    free(p->dec), free(p->prob), free(p->order);
    free(p);
}

/* a path in a TSV field: backslash, tab, newline and other control bytes escaped */
static void tsv_path(const char *s)
{
    xf__text_field(stdout, s);
}

/* the label file's header and columns, decided against the first inputs predicted */
static xf_status resolve_labels(xf_predictor *p, char *const *paths, size_t n, xf_error *err)
{
    xf_labelmap *lm = p->o.labels;
    if (!lm || lm->path)
        return XF_OK;
    return xf__labels_resolve(lm, p->o.labels_file ? p->o.labels_file : "labels", paths, n, err);
}

/* the length of the valid UTF-8 sequence at s (1..4), or 0 */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80             ? 1
            : (s[0] & 0xE0) == 0xC0 ? 2
            : (s[0] & 0xF0) == 0xE0 ? 3
            : (s[0] & 0xF8) == 0xF0 ? 4
                                    : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 2 && s[0] < 0xC2) || (n == 3 && s[0] == 0xE0 && s[1] < 0xA0) ||
        (n == 3 && s[0] == 0xED && s[1] >= 0xA0) || (n == 4 && s[0] == 0xF0 && s[1] < 0x90) ||
        (n == 4 && (s[0] > 0xF4 || (s[0] == 0xF4 && s[1] >= 0x90))))
        return 0; /* overlong, a surrogate, beyond U+10FFFF */
    return n;
}

/* A file name as a JSON string. A byte that is not valid UTF-8 becomes \udcXX, Python's
 * surrogateescape: json.loads then os.fsencode gives the original bytes back; jq shows U+FFFD.
 * The rest is escaped as JSON requires. */
static cJSON *json_name(const char *name)
{
    size_t n = strlen(name);
    char *out = malloc(n * 6 + 3), *w = out;
    if (!out)
        return NULL;
    *w++ = '"';
    for (const unsigned char *s = (const unsigned char *) name; *s;) {
        int len = utf8_len(s);
        if (len == 0)
            w += sprintf(w, "\\udc%02x", *s++);
        else if (*s == '"' || *s == '\\')
            *w++ = '\\', *w++ = (char) *s++;
        else if (*s < 0x20)
            w += sprintf(w, "\\u%04x", *s++);
        else
            for (int i = 0; i < len; i++)
                *w++ = (char) *s++;
    }
    *w++ = '"', *w = 0;
    cJSON *j = cJSON_CreateRaw(out);
    free(out);
    return j;
}

/* a probability as "%.6f" writes it */
static cJSON *prob6(float v)
{
    char b[32];
    snprintf(b, sizeof b, "%.6f", (double) v);
    return cJSON_CreateNumber(strtod(b, NULL));
}

static xf_status print_json(cJSON *j, xf_error *err)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    int ok = puts(text) >= 0;
    free(text);
    return ok ? XF_OK : xf__fail(err, XF_ERR_WRITE, "stdout: write failed");
}

xf_status xf__predict_one(xf_predictor *p, char *const *roots, int n_roots, const char *path,
                          xf_status st, const float *vec, const char *reason, xf_error *err)
{
    const xf_head *h = p->h;
    char buf[1024];
    const char *truth = xf__label_of(p->o.labels, roots, n_roots, path, buf, sizeof buf);
    if (st != XF_OK) {
        p->failed++;
        if (p->o.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddItemToObject(j, "path", json_name(path));
            cJSON_AddItemToObject(j, "error", json_name(reason ? reason : ""));
            return print_json(j, err);
        }
        tsv_path(path);
        printf("\t!error\t");
        tsv_path(reason ? reason : "");
        putchar('\n');
        return ferror(stdout) ? xf__fail(err, XF_ERR_WRITE, "stdout: write failed") : XF_OK;
    }
    xf__head_predict(h, vec, p->dec, p->prob);
    for (int i = 0; i < h->k; i++)
        p->order[i] = i;
    for (int i = 0; i < p->o.top; i++) /* partial selection sort: top entries by probability */
        for (int j = i + 1; j < h->k; j++)
            if (p->prob[p->order[j]] > p->prob[p->order[i]]) {
                int t = p->order[i];
                p->order[i] = p->order[j];
                p->order[j] = t;
            }
    int t = truth ? xf__class_index(h->labels, h->k, truth) : -1;
    if (t >= 0)
        xf__confusion_add(&p->cm, t, p->order[0]);
    else
        p->unknown_truth++;
    xf_status s =
        t >= 0 && t != p->order[0] && p->o.report
            ? xf__mistakes_add(&p->mistakes, path, t, p->order[0], p->prob[p->order[0]], err)
            : XF_OK;
    if (s)
        return s;
    if (p->o.json) {
        cJSON *j = cJSON_CreateObject(), *top = cJSON_CreateArray();
        cJSON_AddItemToObject(j, "path", json_name(path));
        if (t >= 0)
            cJSON_AddItemToObject(j, "truth", json_name(truth));
        for (int i = 0; top && i < p->o.top; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddItemToObject(e, "label", json_name(h->labels[p->order[i]]));
            cJSON_AddItemToObject(e, "prob", prob6(p->prob[p->order[i]]));
            cJSON_AddItemToArray(top, e);
        }
        cJSON_AddItemToObject(j, "top", top);
        return print_json(j, err);
    }
    tsv_path(path);
    for (int i = 0; i < p->o.top; i++) {
        putchar('\t');
        tsv_path(h->labels[p->order[i]]);
        printf("\t%.6f", (double) p->prob[p->order[i]]);
    }
    putchar('\n');
    return ferror(stdout) ? xf__fail(err, XF_ERR_WRITE, "stdout: write failed") : XF_OK;
}

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    xf_predictor *p = user;
    if (p->o.on_record)
        p->o.on_record(p->o.user, idx + 1, st == XF_OK ? NULL : reason);
    return xf__predict_one(p, p->roots, p->n_roots, path, st, vec, reason, err);
}

xf_status xf__predict_images(xf_predictor *p, const xf_model *m, const xf_inputs *in,
                             const xf_pipeline_opts *policy, xf_error *err)
{
    xf_pipeline_opts pl = *policy;
    char *layer_store[XF_MAX_LAYERS] = {0}, *made = NULL;
    int64_t dim;
    xf_status s = xf__provenance_options(p->h->features_json, m, &pl.pp, &pl.so, layer_store,
                                         &pl.so.l2norm, err);
    pl.pp.allow_truncated = policy->pp.allow_truncated; /* the caller's decoding policy */
    pl.pp.max_pixels = policy->pp.max_pixels;
    if (!s && (s = xf_session_check(m, &pl.so, &dim, err)) == XF_OK &&
        !(made = xf__provenance_make(m, &pl.pp, &pl.so, dim, pl.so.l2norm)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    if (!s && (s = xf__head_check_features(p->h, made, dim, err)))
        xf__wrap(err, "the backbone");
    free(made);
    size_t n_failed;
    pl.emit = emit, pl.user = p, pl.why = in->why;
    p->roots = in->roots, p->n_roots = in->n_roots;
    if (!s)
        s = resolve_labels(p, in->paths, in->n, err);
    if (!s)
        s = xf__pipeline_run(m, in->paths, in->n, &pl, &n_failed, err);
    p->roots = NULL, p->n_roots = 0;
    for (int l = 0; l < XF_MAX_LAYERS; l++)
        free(layer_store[l]);
    return s;
}

xf_status xf__predict_feature_file(xf_predictor *p, const char *path, xf_error *err)
{
    xf_featset fs;
    xf_status s = xf__feats_read(path, &fs, err);
    if (s)
        return s;
    if ((s = xf__head_check_features(p->h, fs.header_json, fs.dim, err)) && p->h->direct) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        s = xf__fail(err, XF_ERR_ARG,
                     "this classifier is a model that classifies images (give "
                     "it the images), not these features: %s",
                     why);
    }
    if (s)
        xf__wrap(err, path);
    char **roots = NULL;
    int n_roots = 0;
    if (!s && (s = xf__provenance_roots(fs.header_json, &roots, &n_roots, err)))
        xf__wrap(err, path);
    if (!s)
        s = resolve_labels(p, fs.paths, fs.n, err);
    for (size_t i = 0; i < fs.n && !s; i++) {
        if (fs.status[i] != XF_OK && !p->o.quiet)
            fprintf(stderr, "%s\n", fs.reasons[i] ? fs.reasons[i] : fs.paths[i]);
        s = xf__predict_one(p, roots, n_roots, fs.paths[i], fs.status[i],
                            fs.x + i * (size_t) fs.dim, fs.reasons[i], err);
    }
    for (int r = 0; r < n_roots; r++)
        free(roots[r]);
    free(roots);
    xf__featset_free(&fs);
    return s;
}

xf_status xf__predictor_finish(xf_predictor *p, int *failed, xf_error *err)
{
    *failed = p->failed > 0;
    if (p->cm.n == 0) {
        if (p->o.png || p->o.svg || p->o.metrics || p->o.report)
            fprintf(stderr, "classify: no true labels known; no confusion matrix or metrics "
                            "written\n");
        return XF_OK;
    }
    if (!p->o.quiet) {
        xf__confusion_print(&p->cm, p->h->labels, stderr);
        if (p->unknown_truth)
            fprintf(stderr, "(%zu inputs without a known true class are not counted)\n",
                    p->unknown_truth);
    }
    xf_status s = p->o.png ? xf__confusion_png(&p->cm, p->h->labels, p->o.png, err) : XF_OK;
    if (!s && p->o.svg)
        s = xf__confusion_svg(&p->cm, p->h->labels, p->o.svg, err);
    if (!s && p->o.metrics)
        s = xf__metrics_json(&p->cm, p->h->labels, p->o.metrics, err);
    if (!s && p->o.report)
        s = xf__classify_report(&p->cm, p->h->labels, &p->mistakes, p->failed,
                                p->o.classifier ? p->o.classifier : "?", p->o.report, err);
    return s;
}
