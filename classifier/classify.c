/* classify — predictions of a classifier on images and folders, or on a feature file.
 *
 * It is: the option table; for images, opening the backbone the classifier was trained on
 * (found by its checksum, or -w, checked before anything runs); the predictor (predict.c) does
 * the rest: one line per input (TSV or JSON lines) and the evaluation against known labels. It
 * is not: training.
 */
#include "cli.h"
#include "feats.h"
#include "io.h"
#include "predict.h"
#include "provenance.h"

static void on_record(void *user, size_t done, const char *reason)
{
    xf_cli_progress *bar = user;
    if (reason)
        xf_cli_progress_say(bar, reason);
    xf_cli_progress_tick(bar, done);
}

int main(int argc, char **argv)
{
    static const char *const fmts[] = {"tsv", "json", NULL};
    xf_cli_weights w = {0};
    xf_cli_decode dec = {0};
    xf_cli_progress bar = {0};
    xf_predict_opts po = {.top = 5, .on_record = on_record, .user = &bar};
    const char *model_path = NULL, *labels = NULL;
    int threads = 0, batch = 4;
    const xf_cli_opt opts[] = {
        {"--model", "-m", XF_CLI_STR, &model_path, .meta = "FILE",
         .help = "the classifier: a head from train-classifier, a fine-tuned model from finetune, "
                 "or a backbone with its own labels (the ImageNet weights: ImageNet top-5)"},
        XF_CLI_WEIGHTS_OPTS(&w),
        {"--top", NULL, XF_CLI_INT, &po.top, 1, 100000, .meta = "K",
         .help = "labels per input (default: 5, at most the number of classes)"},
        {"--format", NULL, XF_CLI_CHOICE, &po.json, .choices = fmts,
         .help = "TSV 'path, label1, prob1, ...' (failed inputs: 'path, !error, reason'; tabs, "
                 "newlines and backslashes in paths as \\t \\n \\\\), or JSON lines (default tsv)"},
        {"--labels", NULL, XF_CLI_STR, &labels, .meta = "FILE",
         .help = "true labels: CSV or TSV, a header row or none, columns by name "
                 "(path/filename/image..., label/class...) (default: the class folders)"},
        {"--confusion-png", NULL, XF_CLI_STR, &po.png, .meta = "FILE",
         .help = "the picture of --confusion-svg as PNG (text in an embedded bitmap font)"},
        {"--confusion-svg", NULL, XF_CLI_STR, &po.svg, .meta = "FILE",
         .help = "the confusion matrix with class names, counts, rates and accuracy, as SVG"},
        {"--metrics-json", NULL, XF_CLI_STR, &po.metrics, .meta = "FILE",
         .help = "accuracy, balanced accuracy, per-class figures and the matrix, as JSON"},
        {"--report", NULL, XF_CLI_STR, &po.report, .meta = "FILE",
         .help = "one HTML page: per-class table, the matrix, the most confident mistakes"},
        XF_CLI_DECODE_OPTS(&dec),
        XF_CLI_THREADS_OPT(&threads),
        XF_CLI_BATCH_OPT(&batch),
        {"--quiet", "-q", XF_CLI_FLAG, &po.quiet, .help = "no progress or metrics on stderr"},
        {0},
    };
    const xf_cli cli = {
        "classify", "-m CLASSIFIER.gguf [options] (IMAGES/DIRS... | FEATS.bin)",
        "Prints one line per input on stdout. When true labels are known (the class folders, "
        "or --labels), accuracy, balanced accuracy, per-class precision/recall/F1 and the "
        "confusion matrix go to stderr.",
        XF_CLI_EXIT_TEXT, opts};
    char **in;
    int n_in, rc = xf_cli_parse(&cli, argc, argv, &in, &n_in);
    if (rc >= 0)
        return rc;
    if (!model_path || n_in == 0)
        return xf_cli_usage(&cli, "expected -m CLASSIFIER.gguf and inputs (see --help)");
    xf_error err;
    xf_head h;
    xf_model *model = NULL;
    const char *used = NULL;
    if ((po.png && xf__out_check(po.png, &err)) || (po.svg && xf__out_check(po.svg, &err)) ||
        (po.metrics && xf__out_check(po.metrics, &err)) ||
        (po.report && xf__out_check(po.report, &err)))
        return xf_cli_fail(&cli, &err);
    int kind, feats_mode = xf__feats_sniff(in[0]);
    po.classifier = model_path;
    if ((rc = xf_cli_open_classifier(&cli, &w, model_path, !feats_mode, &h, &kind, &model,
                                     &used)) >= 0)
        return rc;
    xf_labelmap lm = {0};
    xf_status s = labels ? xf__labels_read(labels, &lm, &err) : XF_OK;
    po.labels = labels ? &lm : NULL, po.labels_file = labels;
    xf_predictor *pr = NULL;
    xf_inputs inputs = {0};
    if (!s)
        s = xf__predictor_create(&h, &po, &pr, &err);
    char bb[512] = "?";
    uint32_t crc;
    if (!s && feats_mode && !po.quiet) {
        xf__provenance_backbone(h.features_json, bb, sizeof bb, &crc, NULL);
        fprintf(stderr, "classify: %d classes, trained on features of %s; %d feature file%s\n", h.k,
                bb, n_in, n_in == 1 ? "" : "s");
    }
    for (int p = 0; feats_mode && p < n_in && !s; p++)
        s = xf__predict_feature_file(pr, in[p], &err);
    if (!s && !feats_mode && !(s = xf__inputs_collect(&inputs, in, n_in, NULL, &err))) {
        xf_pipeline_opts pl = {.threads = xf_cli_threads(threads), .batch = batch};
        pl.pp = xf_model_preproc(model);
        xf_cli_apply_preproc(&cli, model, &pl.pp, NULL, &dec);
        xf__inputs_describe(&inputs, inputs.n, bb, sizeof bb);
        if (!po.quiet)
            fprintf(stderr, "classify: backbone %s (%s), %d classes, %s\n",
                    xf_model_meta_str(model, "general.name"), used, h.k, bb);
        xf_cli_progress_start(&bar, "classify", "images", inputs.n, 0, po.quiet);
        s = xf__predict_images(pr, model, &inputs, &pl, &err);
        xf_cli_progress_end(&bar);
    }
    int failed = 0;
    rc = xf_cli_close_stdout(&cli);
    if (!s && !rc)
        s = xf__predictor_finish(pr, &failed, &err);
    xf__inputs_free(&inputs);
    xf__predictor_free(pr);
    xf_model_free(model);
    xf__labels_free(&lm);
    xf__head_free(&h);
    if (s)
        return xf_cli_fail(&cli, &err);
    return rc ? rc : failed ? XF_EXIT_PARTIAL : XF_EXIT_OK;
}
