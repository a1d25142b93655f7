/* extract-features — images in, one feature vector per image out (feats.bin, npy, csv, libsvm).
 *
 * It is: the option table, the provenance header, the emit callback that writes records and
 * shows progress, the exit code. The work is the library's (inputs.c, pipeline.c, feats.c). It
 * is not: a decoder or a network runner.
 */
#include "cli.h"
#include "extract.h"
#include "inputs.h"

#include <string.h>
#include <unistd.h>

typedef struct {
    xf_cli_progress bar;
    const char *backbone, *layer, *inputs; /* inputs: "398 inputs, 2 non-image files skipped" */
    size_t total;
    int threads, quiet;
} ui;

static void on_start(void *user, size_t count, int64_t dim, size_t resumed)
{
    ui *u = user;
    char part[32] = ""; /* a shard's part of the inputs */
    if (count != u->total)
        snprintf(part, sizeof part, "%zu of ", count);
    if (!u->quiet)
        fprintf(stderr, "extract-features: backbone %s, layer %s, %lld-d, %s%s, %d thread%s\n",
                u->backbone, u->layer, (long long) dim, part, u->inputs, u->threads,
                u->threads == 1 ? "" : "s");
    if (resumed && !u->quiet)
        fprintf(stderr, "extract-features: resuming after %zu records already written\n", resumed);
    xf_cli_progress_start(&u->bar, "extract-features", "images", count, resumed, u->quiet);
}

static void on_record(void *user, size_t done, size_t count, const char *reason)
{
    (void) count;
    ui *u = user;
    if (reason) /* always reported, even with --quiet; the reason starts with the path */
        xf_cli_progress_say(&u->bar, reason);
    xf_cli_progress_tick(&u->bar, done);
}

int main(int argc, char **argv)
{
    static const char *const pools[] = {"avg", "max", "none", NULL};
    xf_cli_weights w = {0};
    xf_cli_preproc pre = {0};
    xf_cli_decode dec = {0};
    xf_cli_feats_out fo = {NULL, NULL, XF_FEATS_BIN, 0};
    const char *list = NULL, *layer_v[XF_MAX_LAYERS];
    xf_cli_list layers = {layer_v, 0, XF_MAX_LAYERS};
    int list_layers = 0, quiet = 0, threads = 0, batch = 4, l2norm = 0, resume = 0, skip = 0;
    int pool = XF_POOL_AVG, has_shard = 0;
    int64_t max_fail = 0;
    long shard[2] = {0, 1};
    const xf_cli_opt opts[] = {
        XF_CLI_WEIGHTS_OPTS(&w),
        XF_CLI_FEATS_OUT_OPTS(&fo),
        {"--list", NULL, XF_CLI_STR, &list, .meta = "FILE",
         .help = "more input paths from FILE ('-' = stdin), newline or NUL separated"},
        {"--layer", NULL, XF_CLI_LIST, &layers, .meta = "NAME",
         .help = "feature tensor (repeatable; concatenated in order)"},
        {"--list-layers", NULL, XF_CLI_FLAG, &list_layers, .help = "print the tensors and exit"},
        {"--pool", NULL, XF_CLI_CHOICE, &pool, .choices = pools,
         .help = "spatial pooling per layer (default avg; none: flattened H*W*C)"},
        {"--l2norm", NULL, XF_CLI_FLAG, &l2norm, .help = "scale each vector to unit length"},
        XF_CLI_PREPROC_OPTS(&pre, &dec),
        {"--resume", NULL, XF_CLI_FLAG, &resume, .help = "continue from FILE.partial"},
        XF_CLI_THREADS_OPT(&threads),
        XF_CLI_BATCH_OPT(&batch),
        {"--max-failures", NULL, XF_CLI_I64, &max_fail, 1, 2e9, .meta = "N",
         .help = "stop after N failed images (default: never)"},
        {"--shard", NULL, XF_CLI_FUNC, shard, .parse = xf_cli_parse_shard, .meta = "I/N",
         .seen = &has_shard,
         .help = "part I (from 0; auto: $SLURM_ARRAY_TASK_ID) of N of the inputs"},
        {"--skip-existing", NULL, XF_CLI_FLAG, &skip,
         .help = "with -o: exit 0 at once when the output already exists"},
        XF_CLI_QUIET_OPT(&quiet),
        {0},
    };
    const xf_cli cli = {
        "extract-features", "[options] PATH... > feats.bin",
        "PATH is an image (JPEG, PNG, BMP, WebP, GIF, TIFF: sniffed from the bytes) or a "
        "directory (recursive, sorted; hidden entries and files whose extension "
        "says they are not images skipped).",
        XF_CLI_EXIT_TEXT, opts};
    char **paths;
    int n_paths, rc = xf_cli_parse(&cli, argc, argv, &paths, &n_paths);
    if (rc >= 0 || (rc = xf_cli_feats_format(&cli, &fo)) >= 0)
        return rc;
    const char *out = fo.path;
    xf_feats_format fmt = (xf_feats_format) fo.fmt;
    if (skip && xf_cli_output_exists(&cli, &fo, quiet))
        return XF_EXIT_OK;
    xf_model *model;
    const char *wpath;
    if ((rc = xf_cli_open_model(&cli, &w, &model, &wpath)) >= 0)
        return rc;
    xf_error err;
    xf_extract_opts eo = {0};
    eo.out = out, eo.fmt = fmt, eo.resume = resume, eo.sharded = has_shard;
    eo.shard_index = shard[0], eo.shard_count = shard[1], eo.classes_file = fo.classes;
    eo.on_start = on_start, eo.on_record = on_record;
    xf_pipeline_opts *po = &eo.po;
    po->threads = xf_cli_threads(threads), po->batch = batch, po->max_failures = (size_t) max_fail;
    po->interrupted = (xf_cli_catch_signals(), &xf_cli_interrupted);
    po->pp = xf_model_preproc(model);
    po->so = xf_session_default_opts();
    po->so.n_layers = layers.n, po->so.pool = (xf_pool) pool, po->so.l2norm = l2norm;
    memcpy(po->so.layers, layer_v, sizeof(char *) * (size_t) layers.n);
    int64_t dim;
    if (list_layers)
        rc = (xf_cli_list_layers(model), xf_cli_close_stdout(&cli));
    else if (n_paths == 0 && !list)
        rc = xf_cli_usage(&cli, "no input paths (see --help)");
    else if (!out && fmt == XF_FEATS_BIN && isatty(STDOUT_FILENO))
        rc = xf_cli_usage(&cli, "refusing to write binary features to a terminal; redirect "
                                "(> feats.bin) or use -o FILE");
    else if ((rc = xf_cli_apply_preproc(&cli, model, &po->pp, &pre, &dec)) < 0 &&
             xf_session_check(model, &po->so, &dim, &err) != XF_OK)
        rc = xf_cli_usage(&cli, "%s", err.msg);
    if (rc >= 0) {
        xf_model_free(model);
        return rc;
    }
    xf_inputs in = {0};
    xf_status s = xf__inputs_collect(&in, paths, n_paths, list, &err);
    char name[4200], inputs[200];
    snprintf(name, sizeof name, "%s (%s)", xf_model_meta_str(model, "general.name"), wpath);
    xf__inputs_describe(&in, in.n, inputs, sizeof inputs);
    ui u = {0};
    u.inputs = inputs, u.total = in.n;
    u.backbone = name, u.layer = layers.n ? layer_v[0] : xf_model_default_layer(model);
    u.threads = po->threads, u.quiet = quiet, eo.user = &u;
    xf_extract_result r = {0, 0};
    if (!s)
        s = xf__extract(model, &in, &eo, &r, &err);
    if (u.bar.tool)
        xf_cli_progress_end(&u.bar);
    xf__inputs_free(&in);
    xf_model_free(model);
    if (s)
        return xf_cli_fail(&cli, &err);
    if (r.failed)
        fprintf(stderr, "extract-features: %zu of %zu images failed\n", r.failed, r.count);
    return r.failed ? XF_EXIT_PARTIAL : XF_EXIT_OK;
}
