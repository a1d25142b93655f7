/* xfer-inspect — prints a weights file's metadata, layer table and checksum status.
 *
 * It is: a thin main over xf_model (full validation) plus the raw key list from wfile.c.
 * It is not: a converter or an editor; it never writes.
 */
#include "model.h" /* an internal tool on purpose: it shows the raw file */

#include <string.h>

static void print_kv(const xf_kv *kv)
{
    printf("  %-28s ", kv->key);
    if (kv->type == XF_GGUF_STR) {
        if (strcmp(kv->key, "xfer.graph") == 0) {
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
    } else if (kv->type == XF_GGUF_U64) {
        printf("%llu\n", (unsigned long long) kv->num.u);
    } else if (kv->type == XF_GGUF_I64) {
        printf("%lld\n", (long long) kv->num.i);
    } else {
        printf("%.9g\n", kv->num.f);
    }
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int layers = 1, tensors = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: xfer-inspect FILE [--no-layers] [--tensors]\n"
                   "Prints metadata, the layer list with output shapes and parameter counts, and\n"
                   "verifies the data checksum; --tensors adds each tensor's shape and CRC32C.\n"
                   "Exit 0 valid, 1 invalid or unreadable, 2 usage.\n");
            return 0;
        } else if (strcmp(argv[i], "--no-layers") == 0) {
            layers = 0;
        } else if (strcmp(argv[i], "--tensors") == 0) {
            tensors = 1;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "xfer-inspect: unexpected argument '%s' (see --help)\n", argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "usage: xfer-inspect FILE\n");
        return 2;
    }
    xf_error err;
    xf_open_opts o = {1};
    xf_model *m;
    if (xf_model_open(path, &o, &m, &err) != XF_OK) {
        fprintf(stderr, "xfer-inspect: %s [%s]\n", err.msg, xf_status_name(err.code));
        return 1;
    }
    const xf_wfile *wf = m->wf;
    printf("%s: GGUF v3, %d metadata keys, %d tensors, %zu bytes, checksum OK\n", path, wf->n_kv,
           wf->n_t, wf->size);
    printf("metadata:\n");
    for (int i = 0; i < wf->n_kv; i++)
        print_kv(&wf->kv[i]);
    if (layers) {
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
    if (tensors) {
        printf("tensors: %-40s %-24s %s\n", "name", "shape (GGUF order)", "crc32c");
        for (int i = 0; i < wf->n_t; i++) {
            const xf_wtensor *t = &wf->t[i];
            char shape[64] = "";
            for (int d = 0; d < t->n_dims; d++)
                snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld",
                         d ? "," : "", (long long) t->ne[d]);
            printf("  %-40s %-24s %08x\n", t->name, shape,
                   (unsigned) xf__crc32c(0, t->data, t->nbytes));
        }
    }
    xf_model_free(m);
    return 0;
}
