/* xfer-inspect — what is in an xfer file: a backbone's metadata, layers and checksum, or a
 * classifier head's classes, training settings and the provenance of its features.
 *
 * It is: a main over wfile.c (the raw keys and tensors) and xf_model (full validation of a
 * backbone); an internal tool on purpose, it reads model.h. It is not: a converter or an
 * editor; it never writes.
 */
#include "cli.h"
#include "meta.h"
#include "model.h"

#include <string.h>

static void print_kv(const xf_kv *kv)
{
    printf("  %-28s ", kv->key);
    if (kv->type == XF_GGUF_STR) {
        if (strcmp(kv->key, XF_KEY_GRAPH) == 0) {
            int lines = 0;
            for (const char *p = kv->str; *p; p++)
                lines += *p == '\n';
            printf("(%d lines, %zu bytes)\n", lines, strlen(kv->str));
        } else {
            printf("%s\n", kv->str);
        }
    } else if (kv->type == XF_GGUF_ARR) {
        printf("[");
        for (uint64_t i = 0; i < kv->count && i < 6; i++)
            if (kv->arr_type == XF_GGUF_STR)
                printf("%s\"%s\"", i ? ", " : "", kv->strs[i]);
            else
                printf("%s%g", i ? ", " : "", kv->nums[i]);
        printf("%s] (%llu)\n", kv->count > 6 ? ", ..." : "", (unsigned long long) kv->count);
    } else if (strcmp(kv->key, XF_KEY_CRC32C) == 0) {
        printf("%08llx\n", (unsigned long long) kv->num.u); /* as the feature files show it */
    } else if (kv->type == XF_GGUF_F32 || kv->type == XF_GGUF_F64) {
        printf("%.9g\n", kv->num.f);
    } else if (kv->type == XF_GGUF_U8 || kv->type == XF_GGUF_U16 || kv->type == XF_GGUF_U32 ||
               kv->type == XF_GGUF_U64) {
        printf("%llu\n", (unsigned long long) kv->num.u);
    } else {
        printf("%lld\n", (long long) kv->num.i);
    }
}

static void print_tensors(const xf_wfile *wf)
{
    printf("tensors: %-40s %-24s %s\n", "name", "shape (GGUF order)", "crc32c");
    for (int i = 0; i < wf->n_t; i++) {
        const xf_wtensor *t = &wf->t[i];
        char shape[64] = "";
        for (int d = 0; d < t->n_dims; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? "," : "",
                     (long long) t->ne[d]);
        printf("  %-40s %-24s %08x\n", t->name, shape,
               (unsigned) xf__crc32c(0, t->data, t->nbytes));
    }
}

/* a head file: its classes and how it was trained, then the features it expects */
static void print_head(const xf_wfile *wf)
{
    char *const *labels;
    int k = 0;
    const char *solver = "?", *norm = "?", *proba = "?", *feats = "";
    float C = 0, acc = 0;
    uint32_t dim = 0, n = 0;
    xf__wfile_get_strs(wf, XF_KEY_LABELS, &labels, &k, NULL);
    xf__wfile_get_str(wf, XF_KEY_HEAD_SOLVER, &solver, NULL);
    xf__wfile_get_str(wf, XF_KEY_HEAD_NORMALIZE, &norm, NULL);
    xf__wfile_get_str(wf, XF_KEY_HEAD_PROBA, &proba, NULL);
    xf__wfile_get_str(wf, XF_KEY_FEATURES, &feats, NULL);
    xf__wfile_get_f32(wf, XF_KEY_HEAD_C, &C, NULL);
    xf__wfile_get_f32(wf, XF_KEY_HEAD_CV_ACCURACY, &acc, NULL);
    xf__wfile_get_u32(wf, XF_KEY_HEAD_DIM, &dim, NULL);
    xf__wfile_get_u32(wf, XF_KEY_HEAD_TRAIN_COUNT, &n, NULL);
    printf("classifier head: %d classes on %u-d features\n  classes:", k, dim);
    for (int c = 0; c < k; c++)
        printf("%s %s", c ? "," : "", labels[c]);
    printf("\n  solver %s, C %g, cross-validated accuracy %.4f on %u rows, normalisation %s, "
           "probabilities %s\n  features it expects: %s\n",
           solver, (double) C, (double) acc, n, norm, proba, feats);
}

int main(int argc, char **argv)
{
    int no_layers = 0, tensors = 0;
    const xf_cli_opt opts[] = {
        {"--no-layers", NULL, XF_CLI_FLAG, &no_layers, .help = "skip a backbone's layer table"},
        {"--tensors", NULL, XF_CLI_FLAG, &tensors, .help = "every tensor's shape and CRC32C"},
        {0},
    };
    const xf_cli cli = {
        "xfer-inspect", "FILE [--no-layers] [--tensors]",
        "Prints a weights file's metadata and verifies its checksum; for a "
        "backbone, the layers with output shapes and parameter counts; for a "
        "classifier head, its classes, training settings and the provenance of "
        "the features it was trained on.",
        "exit: 0 valid, 1 invalid or unreadable, 2 usage, 5 cannot write to stdout\n", opts};
    char **in;
    int n_in, rc = xf_cli_parse(&cli, argc, argv, &in, &n_in);
    if (rc >= 0)
        return rc;
    if (n_in != 1)
        return xf_cli_usage(&cli, "expected one FILE (see --help)");
    xf_error err;
    xf_wfile *wf = NULL;
    xf_status s = xf__wfile_open(in[0], 0, &wf, &err);
    if (!s && (s = xf__wfile_verify(wf, &err)))
        xf__wrap(&err, in[0]);
    const char *kind = "";
    xf_model *m = NULL;
    if (!s)
        xf__wfile_get_str(wf, XF_KEY_KIND, &kind, NULL);
    if (!s && strcmp(kind, "head") != 0 && xf_model_open(in[0], NULL, &m, &err) != XF_OK)
        s = err.code;
    if (s) {
        xf__wfile_free(wf);
        fprintf(stderr, "xfer-inspect: %s [%s]\n", err.msg, xf_status_name(err.code));
        return XF_EXIT_ERROR;
    }
    printf("%s: GGUF v3, %d metadata keys, %d tensors, %zu bytes, checksum OK\n", in[0], wf->n_kv,
           wf->n_t, wf->size);
    printf("metadata:\n");
    for (int i = 0; i < wf->n_kv; i++)
        print_kv(&wf->kv[i]);
    if (!m)
        print_head(wf);
    if (m && !no_layers) {
        printf("layers: %-28s %-9s %-26s %10s\n", "tensor", "op", "output (h, w, c)", "params");
        int64_t total = 0;
        for (int i = 0; i < m->graph.n_nodes; i++) {
            const xf_node *nd = &m->graph.nodes[i];
            char shape[64];
            snprintf(shape, sizeof shape, "(%lld, %lld, %lld)", (long long) nd->h,
                     (long long) nd->w, (long long) nd->c);
            printf("  %4d  %-28s %-9s %-26s %10lld%s%s\n", i, nd->out_name, xf__op_name(nd->op),
                   shape, (long long) nd->n_params, nd->act ? " act=" : "",
                   nd->act ? xf__act_name(nd->act) : "");
            total += nd->n_params;
        }
        printf("total parameters: %lld\n", (long long) total);
    }
    if (tensors)
        print_tensors(wf);
    xf_model_free(m);
    xf__wfile_free(wf);
    return xf_cli_close_stdout(&cli);
}
