/* extract-features — images in, one feature vector per image out (feats.bin or .npy).
 *
 * It is: argument parsing, the choice of weights, the provenance header, and mapping results
 * to exit codes (0 all good, 3 finished with failed images, 1 fatal, 2 usage). The work is
 * done by the library (pipeline.c, feats.c). It is not: a decoder or a network runner.
 */
#include "cli.h"
#include "feats.h"
#include "folder_labels.h"
#include "inputs.h"
#include "pipeline.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: extract-features [options] PATH... > feats.bin\n"
        "PATH is an image (JPEG/PNG, sniffed from the bytes) or a directory (recursive, sorted).\n"
        "  -w FILE            weights file (default: $XFER_WEIGHTS, else the best of weights/\n"
        "                     mobilenet_v2_imagenet_tf2.gguf, mobilenet_v2_imagenet.gguf,\n"
        "                     mobilenet_v2.gguf that exists)\n"
        "  --list FILE        read more paths from FILE ('-' = stdin), newline or NUL separated\n"
        "  --layer NAME       feature tensor (repeatable; concatenated in order)\n"
        "  --list-layers      print the model's tensors with shapes and exit\n"
        "  --pool avg|max|none  spatial pooling per layer (default avg)\n"
        "  --size N           input size (default: from the weights file)\n"
        "  --crop-pct F       resize shorter side to size/F, then center crop (default: file)\n"
        "  --mean R,G,B       subtracted from [0,1] pixels (default: file)\n"
        "  --std R,G,B        divides after the mean (default: file)\n"
        "  --no-exif-rotate   ignore JPEG EXIF orientation\n"
        "  --allow-truncated  accept JPEGs with corrupt/truncated data (libjpeg fills grey)\n"
        "  --max-pixels N     refuse larger images (default 67108864)\n"
        "  --l2norm           scale each image's vector to unit length\n"
        "  --format FMT       bin (default), npy (needs -o NAME: NAME.npy, NAME.paths.txt,\n"
        "                     NAME.failed.tsv), csv, libsvm (label = index of the parent\n"
        "                     folder among the sorted folder names; with -o also NAME.paths.txt\n"
        "                     and NAME.classes.txt)\n"
        "  -o FILE            write to FILE (as FILE.partial, renamed when complete)\n"
        "  --resume           continue an interrupted -o FILE run from FILE.partial\n"
        "  -j N               worker threads (default: CPUs available to this process)\n"
        "  --batch N          images per forward pass (default 4)\n"
        "  --max-failures N   stop after N failed images (default: never)\n"
        "  --shard I/N        process only the I-th of N contiguous parts of the sorted input\n"
        "                     list (I from 0); auto/N takes I from SLURM_ARRAY_TASK_ID or\n"
        "                     JOB_COMPLETION_INDEX. Merge the parts with xfer-feats merge\n"
        "  --skip-existing    with -o: exit 0 at once when the output already exists\n"
        "  --quiet            no progress on stderr (failed images are still reported)\n"
        "Exit: 0 all images done; 1 fatal error (weights, inputs, memory); 2 usage;\n"
        "      3 finished, some images failed (each has a record); 4 stopped by --max-failures;\n"
        "      5 cannot write the output (no such directory, disk full...; -o keeps\n"
        "      FILE.partial for --resume)\n"
        );
}

typedef struct {
    xf_feats *out;
    size_t done, total, start;
    double t0, last;
    int quiet, tty, l2norm;
    int64_t dim;
    float *tmp;
} run_state;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static xf_status emit(void *user, size_t idx, const char *path, xf_status st, const float *vec,
                      const char *reason, xf_error *err)
{
    (void) idx;
    run_state *r = user;
    if (st != XF_OK) /* always reported, even with --quiet; the reason starts with the path */
        fprintf(stderr, "%s%s\n", r->tty && !r->quiet ? "\r\033[K" : "", reason);
    r->done++;
    double t = now();
    if (!r->quiet && (t - r->last > (r->tty ? 0.25 : 5) || r->done == r->total)) {
        double rate = (double) (r->done - r->start) / (t - r->t0 + 1e-9);
        double eta = rate > 0 ? (double) (r->total - r->done) / rate : 0;
        if (r->tty) {
            char bar[31];
            int fill = r->total ? (int) (30 * r->done / r->total) : 30;
            for (int i = 0; i < 30; i++)
                bar[i] = i < fill ? '#' : '.';
            bar[30] = 0;
            fprintf(stderr, "\r[%s] %zu/%zu  %.1f images/s  ETA %d:%02d%s", bar, r->done,
                    r->total, rate, (int) eta / 60, (int) eta % 60, r->done == r->total ? "\n" : "");
        } else {
            fprintf(stderr, "extract-features: %zu/%zu images, %.1f images/s, ETA %.0f s\n",
                    r->done, r->total, rate, eta);
        }
        r->last = t;
    }
    if (vec && r->l2norm) {
        double n2 = 0;
        for (int64_t j = 0; j < r->dim; j++)
            n2 += (double) vec[j] * (double) vec[j];
        float inv = n2 > 0 ? (float) (1.0 / sqrt(n2)) : 0.0f;
        for (int64_t j = 0; j < r->dim; j++)
            r->tmp[j] = vec[j] * inv;
        vec = r->tmp;
    }
    return xf__feats_write(r->out, path, st, vec, reason, err);
}

static long parse_long(const char *s, long lo, long hi, int *ok)
{
    char *end;
    long v = strtol(s, &end, 10);
    *ok = *s && !*end && v >= lo && v <= hi;
    return v;
}

static void warn_input(const char *path, const char *reason)
{
    fprintf(stderr, "extract-features: %s: %s\n", path, reason);
}

int main(int argc, char **argv)
{
    const char *wpath = NULL, *out_path = NULL, *list = NULL;
    const char *layers[XF_MAX_LAYERS];
    int n_layers = 0, list_layers = 0, quiet = 0, threads = 0, batch = 4;
    int size = 0, exif = 1, allow_trunc = 0, have_mean = 0, have_std = 0, l2norm = 0, resume = 0;
    int skip_existing = 0;
    const char *shard = NULL;
    long long max_pixels = 0;
    long max_fail = 0;
    float crop = 0, mean[3], stdv[3];
    xf_pool pool = XF_POOL_AVG;
    xf_feats_format fmt = XF_FEATS_BIN;
    char **paths = argv + 1; /* positional arguments are compacted in place */
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int flag_takes = a[0] == '-' && a[1] &&
            (strcmp(a, "-w") == 0 || strcmp(a, "-o") == 0 || strcmp(a, "-j") == 0 ||
             strcmp(a, "--list") == 0 || strcmp(a, "--layer") == 0 || strcmp(a, "--pool") == 0 ||
             strcmp(a, "--size") == 0 || strcmp(a, "--crop-pct") == 0 ||
             strcmp(a, "--mean") == 0 || strcmp(a, "--std") == 0 || strcmp(a, "--format") == 0 ||
             strcmp(a, "--batch") == 0 || strcmp(a, "--max-failures") == 0 ||
             strcmp(a, "--max-pixels") == 0 || strcmp(a, "--shard") == 0);
        const char *v = flag_takes ? (i + 1 < argc ? argv[++i] : NULL) : NULL;
        int ok = 1;
        if (flag_takes && !v) {
            fprintf(stderr, "extract-features: %s needs a value (see --help)\n", a);
            return 2;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-w") == 0) {
            wpath = v;
        } else if (strcmp(a, "-o") == 0) {
            out_path = v;
        } else if (strcmp(a, "--list") == 0) {
            list = v;
        } else if (strcmp(a, "--layer") == 0) {
            if (n_layers == XF_MAX_LAYERS) {
                fprintf(stderr, "extract-features: at most %d --layer\n", XF_MAX_LAYERS);
                return 2;
            }
            layers[n_layers++] = v;
        } else if (strcmp(a, "--list-layers") == 0) {
            list_layers = 1;
        } else if (strcmp(a, "--pool") == 0) {
            if (strcmp(v, "avg") == 0)
                pool = XF_POOL_AVG;
            else if (strcmp(v, "max") == 0)
                pool = XF_POOL_MAX;
            else if (strcmp(v, "none") == 0)
                pool = XF_POOL_NONE;
            else
                ok = 0;
        } else if (strcmp(a, "--format") == 0) {
            ok = xf__feats_format_parse(v, &fmt);
        } else if (strcmp(a, "--l2norm") == 0) {
            l2norm = 1;
        } else if (strcmp(a, "--resume") == 0) {
            resume = 1;
        } else if (strcmp(a, "--skip-existing") == 0) {
            skip_existing = 1;
        } else if (strcmp(a, "--shard") == 0) {
            shard = v;
        } else if (strcmp(a, "--size") == 0) {
            size = (int) parse_long(v, 1, 4096, &ok);
        } else if (strcmp(a, "-j") == 0) {
            threads = (int) parse_long(v, 1, 256, &ok);
        } else if (strcmp(a, "--batch") == 0) {
            batch = (int) parse_long(v, 1, 1024, &ok);
        } else if (strcmp(a, "--max-failures") == 0) {
            max_fail = parse_long(v, 1, 2000000000L, &ok);
        } else if (strcmp(a, "--max-pixels") == 0) {
            max_pixels = parse_long(v, 1, 2000000000L, &ok);
        } else if (strcmp(a, "--crop-pct") == 0) {
            char *end;
            crop = strtof(v, &end);
            ok = !*end && crop > 0.05f && crop <= 1.0f;
        } else if (strcmp(a, "--mean") == 0) {
            ok = have_mean = xf__parse3(v, mean);
        } else if (strcmp(a, "--std") == 0) {
            ok = have_std = xf__parse3(v, stdv) && stdv[0] > 0 && stdv[1] > 0 && stdv[2] > 0;
        } else if (strcmp(a, "--no-exif-rotate") == 0) {
            exif = 0;
        } else if (strcmp(a, "--allow-truncated") == 0) {
            allow_trunc = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "extract-features: unknown option %s (see --help)\n", a);
            return 2;
        } else {
            paths[n_paths++] = argv[i];
        }
        if (!ok) {
            fprintf(stderr, "extract-features: bad value '%s' for %s (see --help)\n", v, a);
            return 2;
        }
    }
    long shard_i = 0, shard_n = 1;
    if (shard) {
        const char *slash = strchr(shard, '/');
        char *end;
        shard_n = slash ? strtol(slash + 1, &end, 10) : 0;
        int ok = slash && !*end && shard_n >= 1 && shard_n <= 1000000;
        if (ok && strncmp(shard, "auto/", 5) == 0) {
            const char *env = getenv("SLURM_ARRAY_TASK_ID");
            if (!env || !*env)
                env = getenv("JOB_COMPLETION_INDEX");
            if (!env || !*env) {
                fprintf(stderr, "extract-features: --shard auto/N needs SLURM_ARRAY_TASK_ID or "
                                "JOB_COMPLETION_INDEX\n");
                return 2;
            }
            shard_i = strtol(env, &end, 10);
            ok = !*end;
        } else if (ok) {
            shard_i = strtol(shard, &end, 10);
            ok = end == slash;
        }
        if (!ok || shard_i < 0 || shard_i >= shard_n) {
            fprintf(stderr, "extract-features: --shard expects I/N with 0 <= I < N (got %s)\n",
                    shard);
            return 2;
        }
    }
    if (skip_existing && out_path) {
        char fin[4096];
        size_t ol = strlen(out_path);
        int npy_ext = ol > 4 && strcmp(out_path + ol - 4, ".npy") == 0;
        snprintf(fin, sizeof fin, fmt == XF_FEATS_NPY && !npy_ext ? "%s.npy" : "%s", out_path);
        if (access(fin, F_OK) == 0) {
            if (!quiet)
                fprintf(stderr, "extract-features: %s exists, skipped (--skip-existing)\n", fin);
            return 0;
        }
    }
    char wbuf[4096];
    int named = wpath != NULL;
    if (!wpath) {
        xf__default_weights(wbuf, sizeof wbuf);
        wpath = wbuf;
    }
    xf_error err;
    xf_model *model;
    if (xf_model_open(wpath, NULL, &model, &err) != XF_OK) {
        fprintf(stderr, "extract-features: %s\n", err.msg);
        if (err.code == XF_ERR_IO && !named)
            fprintf(stderr, "extract-features: hint: run 'make weights', or pass -w FILE\n");
        return 1;
    }
    if (list_layers) {
        printf("%-32s %-9s %s\n", "tensor", "op", "shape (h, w, c)");
        for (int i = 0; i < xf_model_tensor_count(model); i++) {
            int64_t h, w, c;
            xf_model_tensor_shape(model, i, &h, &w, &c);
            const char *name = xf_model_tensor_name(model, i);
            printf("%-32s %-9s (%lld, %lld, %lld)%s\n", name,
                   xf_model_tensor_op(model, i), (long long) h, (long long) w,
                   (long long) c, strcmp(name, xf_model_default_layer(model)) == 0 ? "  [default]" : "");
        }
        xf_model_free(model);
        return 0;
    }
    if (n_paths == 0 && !list) {
        fprintf(stderr, "extract-features: no input paths (see --help)\n");
        xf_model_free(model);
        return 2;
    }
    if (!out_path && fmt == XF_FEATS_BIN && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "extract-features: refusing to write binary features to a terminal; "
                        "redirect (> feats.bin) or use -o FILE\n");
        xf_model_free(model);
        return 2;
    }
    xf_pipeline_opts po;
    memset(&po, 0, sizeof po);
    po.pp = xf_model_preproc(model);
    if (size)
        po.pp.size_h = po.pp.size_w = size;
    if (crop > 0)
        po.pp.crop_pct = crop;
    if (have_mean)
        memcpy(po.pp.mean, mean, sizeof mean);
    if (have_std)
        memcpy(po.pp.std, stdv, sizeof stdv);
    po.pp.exif_rotate = exif;
    po.pp.allow_truncated = allow_trunc;
    po.pp.max_pixels = max_pixels;
    if (size && (size != xf_model_input_height(model) || size != xf_model_input_width(model))) {
        fprintf(stderr, "extract-features: --size %d: this model's graph is fixed at %dx%d\n",
                size, xf_model_input_height(model), xf_model_input_width(model));
        xf_model_free(model);
        return 2;
    }
    po.so = xf_session_default_opts();
    po.so.n_layers = n_layers;
    for (int l = 0; l < n_layers; l++)
        po.so.layers[l] = layers[l];
    po.so.pool = pool;
    po.threads = threads ? threads : xf__cpu_count();
    po.batch = batch;
    po.max_failures = (size_t) max_fail;

    int64_t dim;
    if (xf_session_check(model, &po.so, &dim, &err) != XF_OK) {
        fprintf(stderr, "extract-features: %s\n", err.msg);
        xf_model_free(model);
        return 2;
    }

    xf_inputs in = {0};
    xf_status s = XF_OK;
    for (int i = 0; i < n_paths && !s; i++)
        s = xf__inputs_add(&in, paths[i], warn_input, &err);
    if (!s && list)
        s = xf__inputs_add_list(&in, list, &err);
    if (s) {
        fprintf(stderr, "extract-features: %s\n", err.msg);
        xf__inputs_free(&in);
        xf_model_free(model);
        return 1;
    }

    /* this shard's contiguous part of the sorted list; its range goes into the header */
    size_t total = in.n, first = total * (size_t) shard_i / (size_t) shard_n;
    size_t count = total * (size_t) (shard_i + 1) / (size_t) shard_n - first;
    char header[8192];
    if (!xf__features_json(model, &po.pp, &po.so, dim, l2norm, header, sizeof header) ||
        (shard && !xf__json_add_shard(header, sizeof header, (int) shard_i, (int) shard_n, first,
                                      count, total))) {
        fprintf(stderr, "extract-features: layer names too long\n");
        xf__inputs_free(&in);
        xf_model_free(model);
        return 2;
    }
    const char *lay = n_layers ? layers[0] : xf_model_default_layer(model);
    if (!quiet)
        fprintf(stderr, "extract-features: backbone %s (%s), layer %s%s, %lld-d, %zu inputs, "
                        "%d threads\n",
                xf_model_meta_str(model, "general.name"), wpath, lay, n_layers > 1 ? " (+more)" : "",
                (long long) dim, count, po.threads);
    run_state rs = {NULL, 0, count, 0, now(), 0, quiet, isatty(STDERR_FILENO), l2norm, dim,
                    malloc((size_t) dim * sizeof(float))};
    char **classes = NULL;
    int n_classes = fmt == XF_FEATS_LIBSVM ? xf__parent_classes(in.paths, in.n, &classes) : 0;
    xf_feats_opts fo = {out_path, fmt, dim, header, classes, n_classes, resume,
                        in.paths + first, count};
    size_t n_failed = 0, n_done = 0, done_failed = 0;
    s = rs.tmp ? xf__feats_open(&fo, &rs.out, &n_done, &done_failed, &err)
               : xf__fail(&err, XF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_classes; i++)
        free(classes[i]);
    free(classes);
    if (!s) {
        if (resume && !quiet)
            fprintf(stderr, "extract-features: resuming after %zu records already written\n",
                    n_done);
        rs.done = rs.start = n_done;
        po.start = n_done;
        po.emit = emit;
        po.user = &rs;
        s = xf__pipeline_run(model, in.paths + first, count, &po, &n_failed, &err);
        n_failed += done_failed;
        xf_error cerr;
        xf_status cs = xf__feats_close(rs.out, s == XF_OK, &cerr);
        if (!s && cs) {
            s = cs;
            err = cerr;
        }
    }
    xf__inputs_free(&in);
    xf_model_free(model);
    free(rs.tmp);
    if (s) {
        fprintf(stderr, "extract-features: %s\n", err.msg);
        return s == XF_ERR_IO ? 5 : s == XF_ERR_ARG && strstr(err.msg, "--max-failures") ? 4 : 1;
    }
    if (n_failed) {
        fprintf(stderr, "extract-features: %zu of %zu images failed\n", n_failed, rs.total);
        return 3;
    }
    return 0;
}
