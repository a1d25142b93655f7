/* xfer-feats — feature-file utilities: info, convert between formats, merge shards.
 *
 * It is: a thin main over feats.c and feats_merge.c: `info` prints a file's provenance and
 * counts; `convert` rewrites a feats.bin as npy/csv/libsvm/bin; `merge` joins the parts of a
 * sharded run. It is not: extraction.
 */
#include "cli.h"
#include "feats.h"
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

int main(int argc, char **argv)
{
    xf_cli_feats_out fo = {NULL, NULL, XF_FEATS_BIN, 0};
    int resume = 0;
    const xf_cli_opt opts[] = {XF_CLI_FEATS_OUT_OPTS(&fo),
                               {"--resume", NULL, XF_CLI_FLAG, &resume,
                                .help = "convert, merge: continue the partial output of a run "
                                        "that was killed"},
                               {0}};
    const xf_cli cli = {"xfer-feats",
                        "info FILE...\n       xfer-feats convert IN.bin -o OUT --format "
                        "npy|csv|libsvm|bin\n       xfer-feats merge PART.bin... -o OUT "
                        "[--format bin|npy|csv|libsvm]",
                        "merge checks that the parts share weights, layers, pooling and "
                        "preprocessing and that every shard 0..N-1 is present exactly once, then "
                        "writes them in input order.",
                        NULL, opts};
    char **ops;
    int n, rc = xf_cli_parse(&cli, argc, argv, &ops, &n);
    if (rc >= 0 || (rc = xf_cli_feats_format(&cli, &fo)) >= 0)
        return rc;
    const char *out = fo.path, *classes = fo.classes;
    xf_feats_format fmt = (xf_feats_format) fo.fmt;
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
            s = xf__feats_write_sets(&fs, 1, fs.header_json, out, fmt, classes, resume, &err);
            xf__featset_free(&fs);
        }
    } else if (strcmp(cmd, "merge") == 0 && n > 1 && out) {
        s = xf__feats_merge(n - 1, ops + 1, out, fmt, classes, resume, &err);
    } else if (strcmp(cmd, "info") && strcmp(cmd, "convert") && strcmp(cmd, "merge")) {
        return xf_cli_usage(&cli, "%s%s%s: expected info, convert or merge (see --help)",
                            n ? "unknown command '" : "no command", n ? cmd : "", n ? "'" : "");
    } else {
        return xf_cli_usage(&cli, "%s: missing files or -o OUT (see --help)", cmd);
    }
    return s ? xf_cli_fail(&cli, &err) : XF_EXIT_OK;
}
