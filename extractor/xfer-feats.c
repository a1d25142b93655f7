/* xfer-feats — feature-file utilities: info, convert between formats, merge shards.
 *
 * It is: a thin main over feats.c: `info` prints a file's provenance and counts; `convert`
 * rewrites a feats.bin as npy/csv/libsvm/bin; `merge` joins the parts of a sharded run
 * (extract-features --shard) after checking they share one provenance and cover the input
 * list exactly once, giving the bytes a single run would have written. It is not: extraction.
 */
#include "cli.h"
#include "feats.h"
#include "folder_labels.h"
#include "provenance.h"

#include <string.h>

static int info(int n, char **files)
{
    int rc = XF_EXIT_OK;
    for (int i = 0; i < n; i++) {
        xf_featset fs;
        xf_error err;
        if (xf__feats_read(files[i], &fs, &err) != XF_OK) {
            fprintf(stderr, "xfer-feats: %s\n", err.msg);
            rc = XF_EXIT_ERROR;
            continue;
        }
        size_t failed = 0;
        for (size_t r = 0; r < fs.n; r++)
            failed += fs.status[r] != XF_OK;
        printf("%s: %zu records (%zu ok, %zu failed), dim %lld\n  %s\n", files[i], fs.n,
               fs.n - failed, failed, (long long) fs.dim, fs.header_json);
        for (size_t r = 0, shown = 0; r < fs.n && shown < 5; r++)
            if (fs.status[r] != XF_OK) {
                printf("  failed: %s\n", fs.reasons[r] ? fs.reasons[r] : fs.paths[r]);
                shown++;
            }
        xf__featset_free(&fs);
    }
    return rc;
}

/* Writes records [0, n) of each set in order into one output. */
static xf_status write_sets(xf_featset *sets, int n_sets, const char *header, const char *out,
                            xf_feats_format fmt, xf_error *err)
{
    size_t total = 0;
    for (int k = 0; k < n_sets; k++)
        total += sets[k].n;
    char **all = malloc((total + 1) * sizeof *all), **classes = NULL;
    if (!all)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory");
    size_t i = 0;
    for (int k = 0; k < n_sets; k++)
        for (size_t r = 0; r < sets[k].n; r++)
            all[i++] = sets[k].paths[r];
    int n_classes = fmt == XF_FEATS_LIBSVM ? xf__parent_classes(all, total, &classes) : 0;
    xf_feats_opts fo = {out, fmt, sets[0].dim, header, classes, n_classes, 0, NULL, 0};
    xf_feats *f = NULL;
    size_t nd, nf;
    xf_status s = xf__feats_open(&fo, &f, &nd, &nf, err);
    for (int k = 0; !s && k < n_sets; k++)
        for (size_t r = 0; !s && r < sets[k].n; r++)
            s = xf__feats_write(f, sets[k].paths[r], sets[k].status[r],
                                sets[k].status[r] == XF_OK ? sets[k].x + r * (size_t) sets[k].dim
                                                           : NULL,
                                sets[k].reasons[r], err);
    if (!s)
        s = xf__feats_close(f, 1, err);
    else if (f)
        xf__feats_close(f, 0, NULL);
    for (int c = 0; c < n_classes; c++)
        free(classes[c]);
    free(classes);
    free(all);
    return s;
}

static xf_status merge(int n, char **files, const char *out, xf_feats_format fmt, xf_error *err)
{
    xf_featset *sets = calloc((size_t) n, sizeof *sets), *sorted = NULL;
    int *order = malloc((size_t) n * sizeof *order);
    xf_shard first = {0, -1, 0, 0, -1};
    char *base = NULL;
    xf_status s = sets && order ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int k = 0; order && k < n; k++)
        order[k] = -1;
    for (int i = 0; i < n && !s; i++) {
        xf_shard sh;
        if ((s = xf__feats_read(files[i], &sets[i], err)))
            break;
        if ((s = xf__provenance_take_shard(sets[i].header_json, &sh, 1, err))) {
            xf__wrap(err, files[i]);
            break;
        }
        if ((size_t) sh.records != sets[i].n)
            s = xf__fail(err, XF_ERR_FORMAT, "%s: shard %ld holds %zu of its %ld records "
                         "(incomplete part?)", files[i], sh.index, sets[i].n, sh.records);
        else if (first.count >= 0 && (sh.count != first.count || sh.total != first.total))
            s = xf__fail(err, XF_ERR_FORMAT, "%s: shard of %ld over %ld inputs, others are of "
                         "%ld over %ld", files[i], sh.count, sh.total, first.count, first.total);
        else if (sh.count != n)
            s = xf__fail(err, XF_ERR_FORMAT, "%d parts given for a run of %ld shards", n, sh.count);
        else if (order[sh.index] >= 0)
            s = xf__fail(err, XF_ERR_FORMAT, "shard %ld given twice (%s and %s)", sh.index,
                         files[order[sh.index]], files[i]);
        else if (base && strcmp(base, sets[i].header_json) != 0)
            s = xf__fail(err, XF_ERR_FORMAT, "%s: made with other weights, layers, pooling or "
                         "preprocessing than %s", files[i], files[0]);
        if (s)
            break;
        first = first.count < 0 ? sh : first;
        order[sh.index] = i;
        base = base ? base : sets[i].header_json;
    }
    size_t expect = 0;
    if (!s && !(sorted = malloc((size_t) n * sizeof *sorted)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int k = 0; !s && k < n; k++) {
        if (order[k] < 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "shard %d of %d is missing", k, n);
            break;
        }
        sorted[k] = sets[order[k]];
        expect += sorted[k].n;
    }
    if (!s && (long) expect != first.total)
        s = xf__fail(err, XF_ERR_FORMAT, "the shards hold %zu records, the run had %ld inputs",
                     expect, first.total);
    if (!s)
        s = write_sets(sorted, n, base, out, fmt, err);
    free(sorted);
    for (int i = 0; sets && i < n; i++)
        xf__featset_free(&sets[i]);
    free(sets);
    free(order);
    return s;
}

int main(int argc, char **argv)
{
    static const char *const formats[] = {"bin", "npy", "csv", "libsvm", NULL};
    const char *out = NULL;
    int fmt = XF_FEATS_BIN;
    const xf_cli_opt opts[] = {
        {"--out", "-o", XF_CLI_STR, &out, .meta = "OUT", .help = "output of convert and merge"},
        {"--format", NULL, XF_CLI_CHOICE, &fmt, .choices = formats,
         .help = "output format of convert and merge (default bin)"},
        {NULL},
    };
    const xf_cli cli = {"xfer-feats",
                        "info FILE...\n       xfer-feats convert IN.bin -o OUT --format "
                        "npy|csv|libsvm|bin\n       xfer-feats merge PART.bin... -o OUT "
                        "[--format bin|npy|csv|libsvm]",
                        "merge checks that the parts share weights, layers, pooling and "
                        "preprocessing and that every shard 0..N-1 is present exactly once, then "
                        "writes them in input order.", NULL, opts};
    char **ops;
    int n, rc = xf_cli_parse(&cli, argc, argv, &ops, &n);
    if (rc >= 0)
        return rc;
    const char *cmd = n ? ops[0] : "";
    xf_error err;
    xf_status s;
    if (strcmp(cmd, "info") == 0 && n > 1) {
        rc = info(n - 1, ops + 1);
        int wrc = xf_cli_close_stdout(&cli);
        return wrc ? wrc : rc;
    } else if (strcmp(cmd, "convert") == 0 && n == 2 && out) {
        xf_featset fs;
        xf_shard sh;
        if ((s = xf__feats_read(ops[1], &fs, &err)) == XF_OK) {
            xf__provenance_take_shard(fs.header_json, &sh, 1, NULL); /* a part stands alone */
            s = write_sets(&fs, 1, fs.header_json, out, (xf_feats_format) fmt, &err);
            xf__featset_free(&fs);
        }
    } else if (strcmp(cmd, "merge") == 0 && n > 1 && out) {
        s = merge(n - 1, ops + 1, out, (xf_feats_format) fmt, &err);
    } else if (strcmp(cmd, "info") && strcmp(cmd, "convert") && strcmp(cmd, "merge")) {
        return xf_cli_usage(&cli, "%s%s%s: expected info, convert or merge (see --help)",
                            n ? "unknown command '" : "no command", n ? cmd : "", n ? "'" : "");
    } else {
        return xf_cli_usage(&cli, "%s: missing files or -o OUT (see --help)", cmd);
    }
    return s ? xf_cli_fail(&cli, &err) : XF_EXIT_OK;
}
