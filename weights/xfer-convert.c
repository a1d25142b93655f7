/* xfer-convert — converts a pretrained model into an xfer weights file.
 *
 * It is: a thin main: picks the reader from the input (model.json = TF.js layers model, .tflite,
 * .onnx), adds
 * the metadata from flags (preprocessing, feature layer, provenance, labels) and writes the
 * file atomically. It is not: a format parser (weights/convert/).
 */
#include "cli.h"
#include "convert/convert.h"
#include "meta.h"

#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: xfer-convert MODEL -o OUT.gguf [options]\n"
            "  MODEL                 TF.js layers model.json (binary shards beside it), a\n"
            "                        .tflite file (weights dequantized to float), or an .onnx\n"
            "                        file (torchvision/timm conv nets, float32)\n"
            "  -o FILE               output weights file (written atomically)\n"
            "  --name NAME           general.name\n"
            "  --arch ARCH           general.architecture (default: xfer)\n"
            "  --license SPDX        general.license\n"
            "  --source TEXT         provenance: source package@version or URL\n"
            "  --source-hash TEXT    provenance: integrity hash of the source artifact\n"
            "  --feature-layer T     default feature tensor (default: last spatial tensor)\n"
            "  --trainable-from T    first tensor fine-tuning may unfreeze\n"
            "  --pretrained-until T  last tensor that keeps the original pretrained weights\n"
            "  --mean R,G,B          on [0,1] pixels (default: a quantized TFLite input's\n"
            "                        own scale/zero point; ONNX: ImageNet's; else 0,0,0)\n"
            "  --std R,G,B           on [0,1] pixels (default: likewise, else 1,1,1)\n"
            "  --crop-pct F          resize shorter side to size/F, center crop (default 0.875)\n"
            "  --labels FILE         class labels, one per line\n"
            "  --size N | HxW        network input size (default: the model's own)\n"
            "  --preset NAME         preprocessing of a model family; flags given after it win:\n"
            "                        torchvision      ImageNet mean/std, crop 0.875\n"
            "                        timm-inception   mean 0.5, std 0.5, crop 0.875\n"
            "                        keras-mobilenet  mean 0.5, std 0.5, crop 0.875\n"
            "  --list-layers         print every tensor (name, shape) and exit (no -o needed)\n"
            "  --keep-bn             keep batch norms as their own affine nodes instead of\n"
            "                        folding them into the convolutions (finetune --freeze-bn)\n");
}

static int read_labels(const char *path, char ***out, int *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    char **v = NULL;
    int k = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char **nv = realloc(v, (size_t) (k + 1) * sizeof *nv);
        if (!nv || !(nv[k] = strdup(line))) {
            free(nv ? nv : v);
            fclose(f);
            return 0;
        }
        v = nv;
        k++;
    }
    fclose(f);
    *out = v;
    *n = k;
    return 1;
}

/* The map that the last global pooling reduces (extract-features pools it the same way);
 * without a global pooling, the last tensor. */
static const char *default_feature(const xf_graph *g)
{
    for (int i = g->n_nodes - 1; i > 0; i--) {
        const xf_node *nd = &g->nodes[i];
        const xf_node *src = nd->n_in ? &g->nodes[nd->in[0]] : NULL;
        int global = nd->op == XF_OP_GAP ||
                     ((nd->op == XF_OP_AVGPOOL || nd->op == XF_OP_MAXPOOL) && nd->h == 1 &&
                      nd->w == 1);
        if (global && src && src->h * src->w > 1)
            return src->out_name;
    }
    return g->nodes[g->n_nodes - 1].out_name;
}

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *name = NULL, *arch = "xfer", *license = NULL;
    const char *source = NULL, *hash = NULL, *feature = NULL, *trainable = NULL, *pre = NULL;
    const char *labels = NULL;
    float mean[3] = {0, 0, 0}, stdv[3] = {1, 1, 1}, crop = 0.875f;
    int have_norm = 0, size_h = 0, size_w = 0, list = 0, keep_bn = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = a[0] == '-' && strcmp(a, "-h") != 0 && strcmp(a, "--help") != 0 &&
                    strcmp(a, "--list-layers") != 0 && strcmp(a, "--keep-bn") != 0;
        if (takes && !v) {
            fprintf(stderr, "xfer-convert: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0) {
            out = v;
        } else if (strcmp(a, "--name") == 0) {
            name = v;
        } else if (strcmp(a, "--arch") == 0) {
            arch = v;
        } else if (strcmp(a, "--license") == 0) {
            license = v;
        } else if (strcmp(a, "--source") == 0) {
            source = v;
        } else if (strcmp(a, "--source-hash") == 0) {
            hash = v;
        } else if (strcmp(a, "--feature-layer") == 0) {
            feature = v;
        } else if (strcmp(a, "--trainable-from") == 0) {
            trainable = v;
        } else if (strcmp(a, "--pretrained-until") == 0) {
            pre = v;
        } else if (strcmp(a, "--labels") == 0) {
            labels = v;
        } else if (strcmp(a, "--mean") == 0 || strcmp(a, "--std") == 0) {
            have_norm = 1;
            if (!xf__parse3(v, a[2] == 'm' ? mean : stdv)) {
                fprintf(stderr, "xfer-convert: %s expects R,G,B\n", a);
                return 2;
            }
        } else if (strcmp(a, "--list-layers") == 0 || strcmp(a, "--keep-bn") == 0) {
            *(a[2] == 'l' ? &list : &keep_bn) = 1;
            continue;
        } else if (strcmp(a, "--size") == 0) {
            char *end;
            long h = strtol(v, &end, 10), w = h;
            if (*end == 'x')
                w = strtol(end + 1, &end, 10);
            if (*end || h < 8 || w < 8 || h > 4096 || w > 4096) {
                fprintf(stderr, "xfer-convert: --size expects N or HxW in 8..4096\n");
                return 2;
            }
            size_h = (int) h, size_w = (int) w;
        } else if (strcmp(a, "--preset") == 0) {
            static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
            static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};
            crop = 0.875f;
            have_norm = 1;
            if (strcmp(v, "torchvision") == 0) {
                memcpy(mean, imagenet_mean, sizeof mean);
                memcpy(stdv, imagenet_std, sizeof stdv);
            } else if (strcmp(v, "timm-inception") == 0 || strcmp(v, "keras-mobilenet") == 0) {
                for (int c = 0; c < 3; c++)
                    mean[c] = 0.5f, stdv[c] = 0.5f;
            } else {
                fprintf(stderr, "xfer-convert: unknown --preset %s (torchvision, timm-inception, "
                                "keras-mobilenet)\n", v);
                return 2;
            }
        } else if (strcmp(a, "--crop-pct") == 0) {
            char *end;
            crop = strtof(v, &end);
            if (*end || !(crop > 0.05f && crop <= 1)) {
                fprintf(stderr, "xfer-convert: --crop-pct expects a number in (0.05, 1]\n");
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "xfer-convert: unknown option %s (see --help)\n", a);
            return 2;
        } else {
            if (in) {
                fprintf(stderr, "xfer-convert: one input model only\n");
                return 2;
            }
            in = a;
            continue;
        }
        i++;
    }
    if (!in || (!out && !list)) {
        usage(stderr);
        return 2;
    }
    for (int c = 0; c < 3; c++)
        if (!(stdv[c] > 0)) {
            fprintf(stderr, "xfer-convert: --std values must be > 0\n");
            return 2;
        }
    xf_error err;
    xf_gbuild g;
    if (xf__gb_init(&g, &err) != XF_OK) {
        fprintf(stderr, "xfer-convert: %s\n", err.msg);
        return 1;
    }
    g.keep_bn = keep_bn;
    size_t len = strlen(in);
    xf_status s;
    char onnx_feature[256] = "";
    if ((size_h || size_w) && !(len >= 5 && strcmp(in + len - 5, ".onnx") == 0)) {
        fprintf(stderr, "xfer-convert: --size applies to ONNX models only (TF.js and TFLite "
                        "graphs have a fixed input size)\n");
        xf__gb_free(&g);
        return 2;
    }
    if (len >= 5 && strcmp(in + len - 5, ".onnx") == 0) {
        s = xfc_from_onnx(in, size_h, size_w, &g, onnx_feature, sizeof onnx_feature, &err);
        if (!s && !have_norm) { /* ONNX conv nets are nearly all torchvision/timm ImageNet */
            static const float m0[3] = {0.485f, 0.456f, 0.406f}, s0[3] = {0.229f, 0.224f, 0.225f};
            memcpy(mean, m0, sizeof mean);
            memcpy(stdv, s0, sizeof stdv);
            fprintf(stderr, "xfer-convert: no --preset/--mean/--std: ImageNet mean/std assumed "
                            "(--preset torchvision)\n");
        }
    } else if (len >= 5 && strcmp(in + len - 5, ".json") == 0) {
        s = xfc_from_tfjs(in, &g, &err);
    } else if (len >= 7 && strcmp(in + len - 7, ".tflite") == 0) {
        float qm[3], qs[3];
        int quant = 0;
        s = xfc_from_tflite(in, &g, qm, qs, &quant, &err);
        if (!s && quant && !have_norm) {
            memcpy(mean, qm, sizeof qm);
            memcpy(stdv, qs, sizeof qs);
            fprintf(stderr, "xfer-convert: input normalisation from the file's quantization: "
                            "mean %g, std %g\n", (double) mean[0], (double) stdv[0]);
        }
    } else {
        s = xf__fail(&err, XF_ERR_UNSUPPORTED, "%s: unknown model format (expected model.json, .tflite or .onnx)",
                     in);
    }
    if (!s) {
        const char *chk[3] = {feature, trainable, pre};
        for (int k = 0; k < 3 && !s; k++)
            if (chk[k] && (k == 0 ? xf__graph_find(&g.g, chk[k]) : xf__graph_find_node(&g.g, chk[k])) < 0)
                s = xf__fail(&err, XF_ERR_ARG, "%s: no tensor named '%s' in the model", in,
                             chk[k]);
    }
    if (!s && list) {
        for (int i = 0; i < g.g.n_nodes; i++) {
            const xf_node *nd = &g.g.nodes[i];
            printf("%-48s %-9s %lldx%lldx%lld\n", nd->out_name, xf__op_name(nd->op),
                   (long long) nd->h, (long long) nd->w, (long long) nd->c);
        }
        xf__gb_free(&g);
        return 0;
    }
    if (!s) {
        const xf_node *inp = &g.g.nodes[0];
        const char *fl = feature ? feature : onnx_feature[0] ? onnx_feature : default_feature(&g.g);
        const xf_node *fn = &g.g.nodes[xf__graph_find(&g.g, fl)];
        xf_wwriter *m = g.meta;
        int ok = xf__ww_str(m, "general.architecture", arch) &&
                 xf__ww_str(m, "general.name", name ? name : in) &&
                 xf__ww_str(m, "xfer.kind", "backbone") &&
                 xf__ww_str(m, "xfer.converter", "xfer-convert " XF_VERSION_STRING) &&
                 xf__ww_u32(m, "xfer.input.height", (uint32_t) inp->h) &&
                 xf__ww_u32(m, "xfer.input.width", (uint32_t) inp->w) &&
                 xf__ww_u32(m, "xfer.input.channels", (uint32_t) inp->c) &&
                 xf__ww_str(m, "xfer.input.layout", "nhwc") &&
                 xf__ww_str(m, "xfer.input.color", "rgb") &&
                 xf__ww_str(m, "xfer.input.resize", "shorter_side_bilinear_antialias,center_crop") &&
                 xf__ww_f32(m, "xfer.input.crop_pct", crop) &&
                 xf__ww_f32s(m, "xfer.input.mean", mean, 3) &&
                 xf__ww_f32s(m, "xfer.input.std", stdv, 3) &&
                 xf__ww_str(m, "xfer.feature.layer", fl) &&
                 xf__ww_u32(m, "xfer.feature.dim", (uint32_t) fn->c);
        if (ok && license)
            ok = xf__ww_str(m, "general.license", license);
        if (ok && source)
            ok = xf__ww_str(m, "xfer.source", source);
        if (ok && hash)
            ok = xf__ww_str(m, "xfer.source.integrity", hash);
        if (ok && trainable)
            ok = xf__ww_str(m, "xfer.trainable.from", trainable);
        if (ok && pre)
            ok = xf__ww_str(m, "xfer.pretrained.until", pre);
        if (ok && labels) {
            char **lv = NULL;
            int n = 0;
            if (!read_labels(labels, &lv, &n)) {
                s = xf__fail(&err, XF_ERR_IO, "%s: cannot read labels", labels);
            } else {
                ok = xf__ww_strs(m, "xfer.labels", (const char *const *) lv, n);
                for (int k = 0; k < n; k++)
                    free(lv[k]);
                free(lv);
            }
        }
        if (!s && !ok)
            s = xf__fail(&err, XF_ERR_NOMEM, "out of memory");
        if (!s)
            s = xf__gb_write(&g, out, &err);
        if (!s)
            fprintf(stderr, "xfer-convert: wrote %s (%d nodes, feature layer %s)\n", out,
                    g.g.n_nodes, fl);
    }
    xf__gb_free(&g);
    if (s) {
        fprintf(stderr, "xfer-convert: %s\n", err.msg);
        return s == XF_ERR_ARG ? 2 : 1;
    }
    return 0;
}
