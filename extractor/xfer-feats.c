/* xfer-feats — feature-file utilities: info, convert between formats, merge shards.
 *
 * It is: a thin main over feats.c: `info` prints a file's provenance and counts; `convert`
 * rewrites a feats.bin as npy/csv/libsvm/bin; `merge` joins the parts of a sharded run
 * (extract-features --shard) after checking they share one provenance and cover the input
 * list exactly once, giving the bytes a single run would have written. It is not: extraction.
 * Exit: 0 ok, 1 error, 2 usage.
 */
#include "feats.h"
#include "folder_labels.h"

#include <cjson/cJSON.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: xfer-feats info FILE...\n"
               "       xfer-feats convert IN.bin -o OUT --format npy|csv|libsvm|bin\n"
               "       xfer-feats merge PART.bin... -o OUT [--format bin|npy]\n"
               "merge checks that the parts share weights, layers, pooling and preprocessing and\n"
               "that every shard 0..N-1 is present exactly once, then writes them in input order.\n");
}

static int info(int n, char **files)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        xf_featset fs;
        xf_error err;
        if (xf__feats_read(files[i], &fs, &err) != XF_OK) {
            fprintf(stderr, "xfer-feats: %s\n", err.msg);
            rc = 1;
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
    xf_feats *f;
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

static long jint(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (long) v->valuedouble : -1;
}

static xf_status merge(int n, char **files, const char *out, xf_feats_format fmt, xf_error *err)
{
    xf_featset *sets = calloc((size_t) n, sizeof *sets);
    int *order = malloc((size_t) n * sizeof *order);
    long count = -1, total = -1;
    char *base = NULL;
    xf_status s = sets && order ? XF_OK : xf__fail(err, XF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && !s; i++) {
        if ((s = xf__feats_read(files[i], &sets[i], err)))
            break;
        cJSON *j = cJSON_Parse(sets[i].header_json);
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shard");
        long idx = jint(sh, "index"), cnt = jint(sh, "count"), first = jint(sh, "first");
        long recs = jint(sh, "records"), tot = jint(sh, "total");
        cJSON_Delete(j);
        if (idx < 0 || cnt < 1 || idx >= cnt || first < 0 || recs < 0 || tot < 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: not a shard (made without --shard)", files[i]);
            break;
        }
        if ((size_t) recs != sets[i].n) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: shard %ld holds %zu of its %ld records "
                         "(incomplete part?)", files[i], idx, sets[i].n, recs);
            break;
        }
        if (count < 0) {
            count = cnt, total = tot;
            for (long k = 0; k < n; k++)
                order[k] = -1;
        }
        if (cnt != count || tot != total) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: shard of %ld over %ld inputs, others are of "
                         "%ld over %ld", files[i], cnt, tot, count, total);
            break;
        }
        if (cnt != n) {
            s = xf__fail(err, XF_ERR_FORMAT, "%d parts given for a run of %ld shards", n, cnt);
            break;
        }
        if (order[idx] >= 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "shard %ld given twice (%s and %s)", idx,
                         files[order[idx]], files[i]);
            break;
        }
        order[idx] = i;
        xf__json_drop_shard(sets[i].header_json);
        if (!base) {
            base = sets[i].header_json;
        } else if (strcmp(base, sets[i].header_json) != 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: made with other weights, layers, pooling or "
                         "preprocessing than %s", files[i], files[0]);
            break;
        }
    }
    xf_featset *sorted = s ? NULL : malloc((size_t) n * sizeof *sorted);
    size_t expect = 0;
    for (int k = 0; !s && k < n; k++) {
        if (order[k] < 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "shard %d of %d is missing", k, n);
            break;
        }
        sorted[k] = sets[order[k]];
        expect += sorted[k].n;
    }
    if (!s && (long) expect != total)
        s = xf__fail(err, XF_ERR_FORMAT, "the shards hold %zu records, the run had %ld inputs",
                     expect, total);
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
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1], *out = NULL;
    xf_feats_format fmt = XF_FEATS_BIN;
    int n = 0;
    char **files = argv + 2;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            if (!xf__feats_format_parse(argv[++i], &fmt)) {
                fprintf(stderr, "xfer-feats: unknown format '%s'\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "xfer-feats: unknown option %s (see --help)\n", argv[i]);
            return 2;
        } else {
            files[n++] = argv[i];
        }
    }
    if (strcmp(cmd, "info") == 0 && n > 0)
        return info(n, files);
    xf_error err;
    xf_status s;
    if (strcmp(cmd, "convert") == 0 && n == 1 && out) {
        xf_featset fs;
        if ((s = xf__feats_read(files[0], &fs, &err)) == XF_OK) {
            xf__json_drop_shard(fs.header_json);
            s = write_sets(&fs, 1, fs.header_json, out, fmt, &err);
            xf__featset_free(&fs);
        }
    } else if (strcmp(cmd, "merge") == 0 && n > 0 && out) {
        s = merge(n, files, out, fmt, &err);
    } else {
        usage(stderr);
        return 2;
    }
    if (s) {
        fprintf(stderr, "xfer-feats: %s\n", err.msg);
        return 1;
    }
    return 0;
}
