/* classify — predictions of a classifier on images and folders, or on a feature file.
 *
 * It is: the option table; for images, opening the backbone the classifier was trained on
 * (found by its checksum, or -w, checked before anything runs) and running the extraction
 * pipeline; one line per input (TSV or JSON lines) and, when true labels are known, the
 * evaluation (predict.c). It is not: training.
 */
#include "cli.h"
#include "feats.h"
#include "inputs.h"
#include "io.h"
#include "pipeline.h"
#include "predict.h"
#include "provenance.h"

#include <string.h>

typedef struct {
    xf_predictor *pr;
    xf_cli_progress bar;
    size_t done;
} run;

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    (void) idx;
    run *r = user;
    if (st != XF_OK)
        xf_cli_progress_say(&r->bar, reason);
    xf_cli_progress_tick(&r->bar, ++r->done);
    return xf__predict_one(r->pr, path, st, vec, reason, err);
}

/* The backbone for images: -w, else the weights file whose checksum the classifier recorded.
 * Either way it must be that backbone. */
static int open_backbone(const xf_cli *cli, xf_cli_weights *w, const xf_head *h, xf_model **m,
                         const char **used)
{
    uint32_t want;
    xf_error err;
    char name[512];
    static char found[4096];
    if (xf__provenance_backbone(h->features_json, name, sizeof name, &want, &err) != XF_OK)
        return xf_cli_fail(cli, &err);
    if (!w->path && !getenv("XFER_WEIGHTS")) {
        if (!xf_cli_weights_by_crc(want, found, sizeof found)) {
            fprintf(stderr, "%s: the classifier was trained on features of backbone '%s' "
                            "(weights checksum %08x), which is not in weights/; give its file "
                            "with -w FILE\n", cli->tool, name, (unsigned) want);
            return XF_EXIT_ERROR;
        }
        w->path = found;
    }
    int rc = xf_cli_open_model(cli, w, m, used);
    if (rc < 0 && xf_model_checksum(*m) != want) {
        fprintf(stderr, "%s: %s is not the backbone the classifier was trained on: its weights "
                        "checksum is %08x, the classifier needs '%s' (%08x)\n", cli->tool, *used,
                (unsigned) xf_model_checksum(*m), name, (unsigned) want);
        xf_model_free(*m);
        return XF_EXIT_ERROR;
    }
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const fmts[] = {"tsv", "json", NULL};
    xf_cli_weights w = {0};
    xf_predict_opts po = {.top = 5};
    const char *model_path = NULL, *labels = NULL;
    int threads = 0, batch = 4, quiet = 0, max_pixels_set = 0, trunc = 0;
    int64_t max_pixels = 0;
    const xf_cli_opt opts[] = {
        {"--model", "-m", XF_CLI_STR, &model_path, .meta = "FILE", .help = "the classifier: a "
         "head from train-classifier, a fine-tuned model from finetune, or a backbone with its "
         "own labels (the ImageNet weights: ImageNet top-5)"},
        XF_CLI_WEIGHTS_OPTS(&w),
        {"--top", NULL, XF_CLI_INT, &po.top, 1, 100000, .meta = "K",
         .help = "labels per input (default: 5, at most the number of classes)"},
        {"--format", NULL, XF_CLI_CHOICE, &po.json, .choices = fmts,
         .help = "output: TSV 'path, label1, prob1, ...' (failed inputs: 'path, !error, "
                 "reason'; tabs, newlines and backslashes in paths escaped as \\t \\n \\\\), or "
                 "JSON lines (default tsv)"},
        {"--labels", NULL, XF_CLI_STR, &labels, .meta = "FILE",
         .help = "true labels, CSV/TSV 'path,label' (default: the folder names)"},
        {"--confusion-png", NULL, XF_CLI_STR, &po.png, .meta = "FILE",
         .help = "draw the confusion matrix"},
        {"--allow-truncated", NULL, XF_CLI_FLAG, &trunc,
         .help = "accept JPEGs with corrupt/truncated data (libjpeg fills grey)"},
        {"--max-pixels", NULL, XF_CLI_I64, &max_pixels, 1, 2e9, .meta = "N",
         .seen = &max_pixels_set, .help = "refuse larger images (default 67108864)"},
        XF_CLI_THREADS_OPT(&threads),
        XF_CLI_BATCH_OPT(&batch),
        {"--quiet", "-q", XF_CLI_FLAG, &quiet, .help = "no progress or metrics on stderr"},
        {NULL},
    };
    const xf_cli cli = {"classify", "-m CLASSIFIER.gguf [options] (IMAGES/DIRS... | FEATS.bin)",
        "Prints one line per input on stdout. When true labels are known (the class folders, "
        "or --labels), accuracy, balanced accuracy, per-class precision/recall/F1 and the "
        "confusion matrix go to stderr.", "exit: 0 ok; 1 error; 2 usage; 3 some inputs failed; "
        "5 cannot write the output\n", opts};
    char **in;
    int n_in, rc = xf_cli_parse(&cli, argc, argv, &in, &n_in);
    if (rc >= 0)
        return rc;
    if (!model_path || n_in == 0)
        return xf_cli_usage(&cli, "expected -m CLASSIFIER.gguf and inputs (see --help)");
    xf_error err;
    if (po.png && xf__out_check(po.png, &err))
        return xf_cli_fail(&cli, &err);
    xf_head h;
    xf_model *model = NULL;
    const char *used = NULL;
    int kind = xf__classifier_open(model_path, !w.no_verify, &h, &err);
    if (kind < 0)
        return xf_cli_fail(&cli, &err);
    int feats_mode = xf__feats_sniff(in[0]);
    if (!feats_mode) {
        if (kind != XF_CLASSIFIER_HEAD && !w.path)
            w.path = model_path; /* it is its own backbone */
        rc = kind == XF_CLASSIFIER_HEAD ? open_backbone(&cli, &w, &h, &model, &used)
                                        : xf_cli_open_model(&cli, &w, &model, &used);
        if (rc >= 0) {
            xf__head_free(&h);
            return rc;
        }
    }
    xf_labelmap lm = {0};
    xf_status s = labels ? xf__labels_read(labels, &lm, &err) : XF_OK;
    po.quiet = quiet;
    po.labels = labels ? &lm : NULL;
    xf_predictor *pr = NULL;
    if (!s)
        s = xf__predictor_create(&h, &po, &pr, &err);
    if (!s && feats_mode) {
        for (int p = 0; p < n_in && !s; p++)
            s = xf__predict_feature_file(pr, in[p], &err);
    } else if (!s) {
        xf_pipeline_opts pl = {.threads = xf_cli_threads(threads), .batch = batch, .emit = emit};
        char *layer_store[XF_MAX_LAYERS] = {0};
        int64_t dim;
        char *made = NULL;
        s = xf__provenance_options(h.features_json, model, &pl.pp, &pl.so, layer_store,
                                   &pl.so.l2norm, &err);
        pl.pp.allow_truncated = trunc;
        if (max_pixels_set)
            pl.pp.max_pixels = max_pixels;
        if (!s && (s = xf_session_check(model, &pl.so, &dim, &err)) == XF_OK &&
            !(made = xf__provenance_make(model, &pl.pp, &pl.so, dim, pl.so.l2norm)))
            s = xf__fail(&err, XF_ERR_NOMEM, "out of memory");
        if (!s && (s = xf__head_check_features(&h, made, dim, &err)))
            xf__wrap(&err, used);
        free(made);
        xf_inputs inputs = {0};
        for (int p = 0; p < n_in && !s; p++)
            s = xf__inputs_add(&inputs, in[p], NULL, &err);
        if (!s && !quiet)
            fprintf(stderr, "classify: backbone %s (%s), %d classes, %zu inputs\n",
                    xf_model_meta_str(model, "general.name"), used, h.k, inputs.n);
        if (!s) {
            run r = {pr, {0}, 0};
            xf_cli_progress_start(&r.bar, "classify", "images", inputs.n, 0, quiet);
            pl.user = &r;
            size_t n_failed;
            s = xf__pipeline_run(model, inputs.paths, inputs.n, &pl, &n_failed, &err);
            xf_cli_progress_end(&r.bar);
        }
        for (int l = 0; l < XF_MAX_LAYERS; l++)
            free(layer_store[l]);
        xf__inputs_free(&inputs);
    }
    int failed = 0;
    rc = xf_cli_close_stdout(&cli);
    if (!s && !rc)
        s = xf__predictor_finish(pr, &failed, &err);
    xf__predictor_free(pr);
    xf_model_free(model);
    xf__labels_free(&lm);
    xf__head_free(&h);
    if (s)
        return xf_cli_fail(&cli, &err);
    return rc ? rc : failed ? XF_EXIT_PARTIAL : XF_EXIT_OK;
}
