/* extract-features — images in, one feature vector per image out (feats.bin, npy, csv, libsvm).
 *
 * It is: the option table, the provenance header, the emit callback that writes records and
 * shows progress, the exit code. The work is the library's (inputs.c, pipeline.c, feats.c). It
 * is not: a decoder or a network runner.
 */
#include "cli.h"
#include "feats.h"
#include "folder_labels.h"
#include "inputs.h"
#include "pipeline.h"
#include "provenance.h"

#include <string.h>
#include <unistd.h>

typedef struct {
    xf_feats *out;
    xf_cli_progress bar;
    size_t done;
} run_state;

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    (void) idx;
    run_state *r = user;
    if (st != XF_OK) /* always reported, even with --quiet; the reason starts with the path */
        xf_cli_progress_say(&r->bar, reason);
    xf_cli_progress_tick(&r->bar, ++r->done);
    return xf__feats_write(r->out, path, st, vec, reason, err);
}

static int parse_shard(const char *v, void *dest, char *why, size_t n)
{
    long *sh = dest; /* index, count */
    char *end;
    const char *slash = strchr(v, '/'), *env = NULL;
    sh[1] = slash ? strtol(slash + 1, &end, 10) : 0;
    if (!slash || *end || sh[1] < 1 || sh[1] > 1000000)
        return snprintf(why, n, "expected I/N with 0 <= I < N, or auto/N"), 0;
    if (strncmp(v, "auto/", 5) == 0) {
        if (!(env = getenv("SLURM_ARRAY_TASK_ID")) || !*env)
            env = getenv("JOB_COMPLETION_INDEX");
        if (!env || !*env)
            return snprintf(why, n, "auto/N needs SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"), 0;
    }
    sh[0] = strtol(env ? env : v, &end, 10);
    if (end != (env ? env + strlen(env) : slash) || sh[0] < 0 || sh[0] >= sh[1])
        return snprintf(why, n, "expected I/N with 0 <= I < N (task index %s)", env ? env : v), 0;
    return 1;
}

int main(int argc, char **argv)
{
    static const char *const pools[] = {"avg", "max", "none", NULL};
    static const char *const formats[] = {"bin", "npy", "csv", "libsvm", NULL};
    xf_cli_weights w = {0};
    const char *out = NULL, *list = NULL, *layer_v[XF_MAX_LAYERS];
    xf_cli_list layers = {layer_v, 0, XF_MAX_LAYERS};
    int list_layers = 0, quiet = 0, threads = 0, batch = 4, size = 0, no_exif = 0, trunc = 0;
    int l2norm = 0, resume = 0, skip = 0, pool = XF_POOL_AVG, fmt = XF_FEATS_BIN, has_fmt = 0;
    int has_mean = 0, has_std = 0, has_shard = 0;
    int64_t max_pixels = 0, max_fail = 0;
    long shard[2] = {0, 1};
    float crop = 0, mean[3], sd[3];
    const xf_cli_opt opts[] = {
        XF_CLI_WEIGHTS_OPTS(&w),
        {"--out", "-o", XF_CLI_STR, &out, .meta = "FILE", .help = "write to FILE (as "
         "FILE.partial, renamed when complete; '-' or a device: written in place)"},
        {"--format", NULL, XF_CLI_CHOICE, &fmt, .choices = formats, .seen = &has_fmt, .help =
         "bin (default), npy (-o NAME: NAME.npy, NAME.paths.txt, NAME.failed.tsv), csv, libsvm "
         "(label = index of the parent folder among the sorted folder names; with -o also "
         "NAME.paths.txt and NAME.classes.txt)"},
        {"--list", NULL, XF_CLI_STR, &list, .meta = "FILE",
         .help = "more input paths from FILE ('-' = stdin), newline or NUL separated"},
        {"--layer", NULL, XF_CLI_LIST, &layers, .meta = "NAME",
         .help = "feature tensor (repeatable; concatenated in order)"},
        {"--list-layers", NULL, XF_CLI_FLAG, &list_layers,
         .help = "print the model's tensors with shapes and exit"},
        {"--pool", NULL, XF_CLI_CHOICE, &pool, .choices = pools,
         .help = "spatial pooling per layer (default avg; none: flattened H*W*C)"},
        {"--l2norm", NULL, XF_CLI_FLAG, &l2norm, .help = "scale each image's vector to unit length"},
        {"--size", NULL, XF_CLI_INT, &size, 1, 4096, .meta = "N",
         .help = "input size (must equal the model's)"},
        {"--crop-pct", NULL, XF_CLI_FLOAT, &crop, 0.0501, 1, .meta = "F",
         .help = "resize the shorter side to size/F, then center crop (default: the file's)"},
        {"--mean", NULL, XF_CLI_RGB, mean, .meta = "R,G,B", .seen = &has_mean,
         .help = "subtracted from [0,1] pixels (default: the file's)"},
        {"--std", NULL, XF_CLI_RGB, sd, .meta = "R,G,B", .seen = &has_std,
         .help = "divides after the mean (default: the file's)"},
        {"--no-exif-rotate", NULL, XF_CLI_FLAG, &no_exif, .help = "ignore JPEG EXIF orientation"},
        {"--allow-truncated", NULL, XF_CLI_FLAG, &trunc,
         .help = "accept JPEGs with corrupt/truncated data (libjpeg fills grey)"},
        {"--max-pixels", NULL, XF_CLI_I64, &max_pixels, 1, 2e9, .meta = "N",
         .help = "refuse larger images (default 67108864)"},
        {"--resume", NULL, XF_CLI_FLAG, &resume, .help = "continue an interrupted -o FILE run "
         "from FILE.partial"},
        XF_CLI_THREADS_OPT(&threads),
        XF_CLI_BATCH_OPT(&batch),
        {"--max-failures", NULL, XF_CLI_I64, &max_fail, 1, 2e9, .meta = "N",
         .help = "stop after N failed images (default: never)"},
        {"--shard", NULL, XF_CLI_FUNC, shard, .parse = parse_shard, .meta = "I/N", .seen =
         &has_shard, .help = "only the I-th of N contiguous parts of the sorted input list (I "
         "from 0); auto/N takes I from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX. Merge the "
         "parts with xfer-feats merge"},
        {"--skip-existing", NULL, XF_CLI_FLAG, &skip,
         .help = "with -o: exit 0 at once when the output already exists"},
        XF_CLI_QUIET_OPT(&quiet),
        {NULL},
    };
    const xf_cli cli = {"extract-features", "[options] PATH... > feats.bin",
        "PATH is an image (JPEG, PNG or BMP, sniffed from the bytes) or a directory (recursive, "
        "sorted).", "exit: 0 all images done; 1 fatal error (weights, inputs, memory); 2 usage;\n"
        "      3 finished, some images failed (each has a record); 4 stopped by --max-failures;\n"
        "      5 cannot write the output (no such directory, disk full...; -o keeps\n"
        "      FILE.partial for --resume)\n", opts};
    char **paths;
    int n_paths, rc = xf_cli_parse(&cli, argc, argv, &paths, &n_paths);
    if (rc >= 0)
        return rc;
    char fin[4200];
    if (skip && out) {
        xf__feats_final_name(out, (xf_feats_format) fmt, fin, sizeof fin);
        if (access(fin, F_OK) == 0) {
            if (!quiet)
                fprintf(stderr, "extract-features: %s exists, skipped (--skip-existing)\n", fin);
            return 0;
        }
    }
    xf_model *model;
    const char *wpath;
    if ((rc = xf_cli_open_model(&cli, &w, &model, &wpath)) >= 0)
        return rc;
    xf_error err;
    xf_status s = XF_OK;
    xf_pipeline_opts po = {.threads = xf_cli_threads(threads), .batch = batch,
                           .max_failures = (size_t) max_fail, .emit = emit};
    po.pp = xf_model_preproc(model);
    po.pp.crop_pct = crop > 0 ? crop : po.pp.crop_pct;
    if (has_mean)
        memcpy(po.pp.mean, mean, sizeof mean);
    if (has_std)
        memcpy(po.pp.std, sd, sizeof sd);
    po.pp.exif_rotate = !no_exif, po.pp.allow_truncated = trunc, po.pp.max_pixels = max_pixels;
    po.so = xf_session_default_opts();
    po.so.n_layers = layers.n, po.so.pool = (xf_pool) pool, po.so.l2norm = l2norm;
    memcpy(po.so.layers, layer_v, sizeof(char *) * (size_t) layers.n);
    int64_t dim;
    if (list_layers)
        rc = (xf_cli_list_layers(model), xf_cli_close_stdout(&cli));
    else if (n_paths == 0 && !list)
        rc = xf_cli_usage(&cli, "no input paths (see --help)");
    else if (!out && fmt == XF_FEATS_BIN && isatty(STDOUT_FILENO))
        rc = xf_cli_usage(&cli, "refusing to write binary features to a terminal; redirect "
                          "(> feats.bin) or use -o FILE");
    else if (size && (size != xf_model_input_height(model) || size != xf_model_input_width(model)))
        rc = xf_cli_usage(&cli, "--size %d: this model's graph is fixed at %dx%d", size,
                          xf_model_input_height(model), xf_model_input_width(model));
    else if (xf_session_check(model, &po.so, &dim, &err) != XF_OK)
        rc = xf_cli_usage(&cli, "%s", err.msg);
    if (rc >= 0) {
        xf_model_free(model);
        return rc;
    }
    xf_inputs in = {0};
    for (int i = 0; i < n_paths && !s; i++)
        s = xf__inputs_add(&in, paths[i], NULL, &err);
    if (!s && list)
        s = xf__inputs_add_list(&in, list, &err);
    /* this shard's contiguous part of the sorted list; its range goes into the header */
    size_t total = in.n, first = total * (size_t) shard[0] / (size_t) shard[1];
    size_t count = total * (size_t) (shard[0] + 1) / (size_t) shard[1] - first;
    xf_shard sh = {shard[0], shard[1], (long) first, (long) count, (long) total};
    char *header = s ? NULL : xf__provenance_make(model, &po.pp, &po.so, dim, l2norm);
    if (header && has_shard) {
        char *with = xf__provenance_add_shard(header, &sh);
        free(header);
        header = with;
    }
    if (!s && !header)
        s = xf__fail(&err, XF_ERR_NOMEM, "out of memory");
    if (!s && !quiet)
        fprintf(stderr, "extract-features: backbone %s (%s), layer %s%s, %lld-d, %zu inputs, "
                        "%d thread%s\n", xf_model_meta_str(model, "general.name"), wpath,
                layers.n ? layer_v[0] : xf_model_default_layer(model),
                layers.n > 1 ? " (+more)" : "", (long long) dim, count, po.threads,
                po.threads == 1 ? "" : "s");
    char **classes = NULL;
    int n_classes = !s && fmt == XF_FEATS_LIBSVM ? xf__parent_classes(in.paths, in.n, &classes) : 0;
    xf_feats_opts fo = {out, (xf_feats_format) fmt, dim, header, classes, n_classes, resume,
                        in.paths + first, count};
    size_t n_failed = 0, n_done = 0, done_failed = 0;
    run_state rs = {0};
    if (!s)
        s = xf__feats_open(&fo, &rs.out, &n_done, &done_failed, &err);
    for (int i = 0; i < n_classes; i++)
        free(classes[i]);
    free(classes);
    if (!s) {
        if (resume && !quiet)
            fprintf(stderr, "extract-features: resuming after %zu records already written\n",
                    n_done);
        xf_cli_progress_start(&rs.bar, "extract-features", "images", count, n_done, quiet);
        rs.done = po.start = n_done;
        po.user = &rs;
        s = xf__pipeline_run(model, in.paths + first, count, &po, &n_failed, &err);
        xf_cli_progress_end(&rs.bar);
        n_failed += done_failed;
        xf_error cerr;
        xf_status cs = xf__feats_close(rs.out, s == XF_OK, &cerr);
        if (!s && cs)
            s = cs, err = cerr;
    }
    free(header);
    xf__inputs_free(&in);
    xf_model_free(model);
    if (s)
        return xf_cli_fail(&cli, &err);
    if (n_failed)
        fprintf(stderr, "extract-features: %zu of %zu images failed\n", n_failed, count);
    return n_failed ? XF_EXIT_PARTIAL : XF_EXIT_OK;
}
