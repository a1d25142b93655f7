/* convert.c — the table of source-format readers (see convert.h): each format's reader, its
 * file-name ending and a sniff of its first bytes, and what it implies for preprocessing.
 * It is: the registry xfer-convert and the fuzz targets use. It is not: a parser.
 */
#include "convert.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int sniff_tfjs(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) /* a JSON object with a model topology */
        if (b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t')
            return b[i] == '{' && memmem(b, n, "modelTopology", 13) != NULL;
    return 0;
}

static int sniff_tflite(const uint8_t *b, size_t n)
{
    return n >= 8 && memcmp(b + 4, "TFL3", 4) == 0;
}

static int sniff_onnx(const uint8_t *b, size_t n)
{
    return n >= 2 && b[0] == 0x08 && b[1] >= 3 && b[1] <= 12; /* field 1 (ir_version) first */
}

static xf_status read_tfjs(const char *path, xfc_hints *h, xf_gbuild *c, xf_error *err)
{
    (void) h;
    return xfc_from_tfjs(path, c, err);
}

static xf_status read_tflite(const char *path, xfc_hints *h, xf_gbuild *c, xf_error *err)
{
    xf_status s = xfc_from_tflite(path, c, h->mean, h->std, &h->has_norm, err);
    if (!s && h->has_norm)
        h->norm_why = "the file's input quantization";
    return s;
}

static xf_status read_onnx(const char *path, xfc_hints *h, xf_gbuild *c, xf_error *err)
{
    xf_status s = xfc_from_onnx(path, h->size_h, h->size_w, c, h->feature, sizeof h->feature, err);
    if (!s) { /* ONNX conv nets are nearly all torchvision/timm ImageNet models */
        static const float m[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
        memcpy(h->mean, m, sizeof m);
        memcpy(h->std, sd, sizeof sd);
        h->has_norm = 1;
        h->norm_why = "no --preset/--mean/--std: ImageNet mean/std assumed (--preset torchvision)";
    }
    return s;
}

static const xfc_reader readers[] = {
    {"tfjs", ".json", 0, sniff_tfjs, read_tfjs},
    {"tflite", ".tflite", 0, sniff_tflite, read_tflite},
    {"onnx", ".onnx", 1, sniff_onnx, read_onnx},
};

const xfc_reader *xfc_reader_for(const char *path)
{
    size_t len = strlen(path);
    for (size_t i = 0; i < XF_COUNT(readers); i++) {
        size_t sl = strlen(readers[i].suffix);
        if (len >= sl && strcmp(path + len - sl, readers[i].suffix) == 0)
            return &readers[i];
    }
    uint8_t head[4096];
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    ssize_t n = fd >= 0 ? read(fd, head, sizeof head) : -1;
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; n > 0 && i < XF_COUNT(readers); i++)
        if (readers[i].sniff(head, (size_t) n))
            return &readers[i];
    return NULL;
}

const char *xfc_reader_names(void)
{
    return "model.json (TF.js), .tflite or .onnx";
}

/* The map that the last global pooling reduces (extract-features pools it the same way);
 * without a global pooling, the last tensor. */
const char *xfc_default_feature(const xf_graph *g)
{
    for (int i = g->n_nodes - 1; i > 0; i--) {
        const xf_node *nd = &g->nodes[i], *src = nd->n_in ? &g->nodes[nd->in[0]] : NULL;
        int global = nd->op == XF_OP_GAP || ((nd->op == XF_OP_AVGPOOL || nd->op == XF_OP_MAXPOOL) &&
                                             nd->h == 1 && nd->w == 1);
        if (global && src && src->h * src->w > 1)
            return src->out_name;
    }
    return g->nodes[g->n_nodes - 1].out_name;
}

void xfc_print_layers(const xf_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const xf_node *nd = &g->nodes[i];
        printf("%-48s %-9s %lldx%lldx%lld\n", nd->out_name, xf__op_name(nd->op), (long long) nd->h,
               (long long) nd->w, (long long) nd->c);
    }
}
