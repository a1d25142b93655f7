/* xfer-convert — converts a pretrained model (TF.js, TFLite, ONNX) into an xfer weights file.
 *
 * It is: the option table, the reader chosen from the file (convert/convert.c), the metadata
 * from flags (preprocessing, feature layer, provenance, labels; meta.c writes it) and the
 * write. It is not: a format parser (weights/convert/).
 */
#include "cli.h"
#include "convert/convert.h"
#include "meta.h"

#include <string.h>

int main(int argc, char **argv)
{
    static const char *const presets[] = {"torchvision", "timm-inception", "keras-mobilenet", NULL};
    xf_meta m = {0};
    m.arch = "xfer", m.kind = "backbone", m.converter = "xfer-convert " XF_VERSION_STRING;
    m.layout = "nhwc", m.color = "rgb", m.resize = XF_RESIZE_BILINEAR, m.crop_pct = 0.875f;
    const char *out = NULL, *labels = NULL;
    float mean[3], sd[3], crop = 0;
    int interp = 0, to_onnx = 0;
    xf_cli_weights w = {0};
    int has_mean = 0, has_std = 0, has_preset = 0, preset = 0, size[2] = {0, 0}, list = 0, q = 0;
    xf_gbuild g;
    const xf_cli_opt opts[] = {
        {"--out", "-o", XF_CLI_STR, &out, .meta = "FILE", .help = "output weights file"},
        {"--name", NULL, XF_CLI_STR, &m.name, .meta = "NAME",
         .help = "general.name (default: the model path)"},
        {"--arch", NULL, XF_CLI_STR, &m.arch, .meta = "ARCH",
         .help = "general.architecture (default: xfer)"},
        {"--license", NULL, XF_CLI_STR, &m.license, .meta = "SPDX", .help = "general.license"},
        {"--source", NULL, XF_CLI_STR, &m.source, .meta = "TEXT",
         .help = "provenance: source package@version or URL"},
        {"--source-hash", NULL, XF_CLI_STR, &m.integrity, .meta = "TEXT",
         .help = "provenance: integrity hash of the source artifact"},
        {"--feature-layer", NULL, XF_CLI_STR, &m.feature_layer, .meta = "T",
         .help = "default feature tensor (default: ONNX: the input of the final classifier; else "
                 "the last map before a global pooling)"},
        {"--trainable-from", NULL, XF_CLI_STR, &m.trainable_from, .meta = "T",
         .help = "first tensor fine-tuning may unfreeze"},
        {"--pretrained-until", NULL, XF_CLI_STR, &m.pretrained_until, .meta = "T",
         .help = "last tensor that keeps the original pretrained weights"},
        {"--preset", NULL, XF_CLI_CHOICE, &preset, .choices = presets, .seen = &has_preset,
         .help = "preprocessing of a model family (explicit --mean/--std/--crop-pct win): "
                 "torchvision: ImageNet mean/std, crop 0.875; timm-inception and keras-mobilenet: "
                 "mean 0.5, std 0.5, crop 0.875"},
        {"--mean", NULL, XF_CLI_RGB, mean, .meta = "R,G,B", .seen = &has_mean,
         .help = "on [0,1] pixels (default: a quantized TFLite input's own scale/zero point; ONNX: "
                 "ImageNet's; else 0,0,0)"},
        {"--std", NULL, XF_CLI_RGB, sd, .meta = "R,G,B", .seen = &has_std,
         .help = "on [0,1] pixels (default: likewise, else 1,1,1)"},
        {"--crop-pct", NULL, XF_CLI_FLOAT, &crop, 0.0501, 1, .meta = "F",
         .help = "resize the shorter side to size/F, then center crop (default 0.875)"},
        {"--labels", NULL, XF_CLI_STR, &labels, .meta = "FILE",
         .help = "class labels, one per line"},
        {"--interp", NULL, XF_CLI_CHOICE, &interp, .choices = xf_cli_interp_names,
         .help = "resize filter the model was trained with (default bilinear; timm: bicubic)"},
        {"--size", NULL, XF_CLI_FUNC, size, .parse = xf_cli_parse_size, .meta = "N|HxW",
         .help = "network input size (ONNX; default: the model's own)"},
        {"--to-onnx", NULL, XF_CLI_FLAG, &to_onnx,
         .help = "MODEL is a classifier (classify -m): write it with its backbone (-w) as ONNX"},
        XF_CLI_WEIGHTS_OPTS(&w),
        {"--list-layers", NULL, XF_CLI_FLAG, &list,
         .help = "print every tensor (name, op, shape) and exit (no -o needed)"},
        XF_CLI_QUIET_OPT(&q),
        {"--keep-bn", NULL, XF_CLI_FLAG, &g.keep_bn,
         .help = "keep batch norms as their own affine nodes instead of folding them into the "
                 "convolutions (finetune --freeze-bn)"},
        {0},
    };
    const xf_cli cli = {"xfer-convert",
                        "MODEL -o OUT.gguf [options] | --to-onnx CLASSIFIER -o OUT.onnx",
                        "MODEL is a TF.js layers model.json (binary shards beside it), a .tflite "
                        "file (weights dequantized to float), or an .onnx file (torchvision/timm "
                        "conv nets, float32).",
                        NULL, opts};
    xf_error err;
    if (xf__gb_init(&g, &err) != XF_OK)
        return xf_cli_fail(&cli, &err);
    char **in;
    int n_in, rc = xf_cli_parse(&cli, argc, argv, &in, &n_in);
    if (rc < 0 && to_onnx) /* weights/convert/onnx_export.c */
        return xf__gb_free(&g), xfc_onnx_command(&cli, &w, n_in == 1 ? in[0] : NULL, out, q);
    const xfc_reader *rd = rc < 0 && n_in == 1 ? xfc_reader_for(in[0]) : NULL;
    if (rc < 0 && (rc = xf_cli_check_norm(&cli, has_mean ? mean : NULL, has_std ? sd : NULL)) < 0 &&
        (n_in != 1 || (!out && !list)))
        rc = xf_cli_usage(&cli, "expected one MODEL and -o OUT.gguf (see --help)");
    else if (rc < 0 && !rd)
        rc = (xf__fail(&err, XF_ERR_UNSUPPORTED, "%s: unknown model format (expected %s)", in[0],
                       xfc_reader_names()),
              xf_cli_fail(&cli, &err));
    else if (rc < 0 && (size[0] || size[1]) && !rd->resizable)
        rc = xf_cli_usage(&cli, "--size applies to ONNX models only (TF.js and TFLite graphs "
                                "have a fixed input size)");
    else if (rc < 0 && out && xf__out_check(out, &err) != XF_OK)
        rc = xf_cli_fail(&cli, &err);
    if (rc >= 0) {
        xf__gb_free(&g);
        return rc;
    }
    xfc_hints h = {.size_h = size[0], .size_w = size[1], .std = {1, 1, 1}};
    xf_status s = rd->read(in[0], &h, &g, &err);
    const char *chk[3] = {m.feature_layer, m.trainable_from, m.pretrained_until};
    for (int k = 0; k < 3 && !s; k++)
        if (chk[k] && (k ? xf__graph_find_node : xf__graph_find)(&g.g, chk[k]) < 0) {
            xf__gb_free(&g);
            return xf_cli_usage(&cli, "%s: no tensor named '%s' in the model", in[0], chk[k]);
        }
    if (!s && list) {
        xfc_print_layers(&g.g);
        xf__gb_free(&g);
        return xf_cli_close_stdout(&cli);
    }
    /* preprocessing: what the file implies unless a flag says otherwise; then the preset, then
     * the explicit flags */
    static const float norms[3][2][3] = {{{0, 0, 0}, {1, 1, 1}}, /* none, ImageNet, 0.5 */
                                         {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}},
                                         {{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}}};
    int hinted = h.has_norm && !(has_preset || has_mean || has_std);
    const float(*base)[3] = norms[has_preset ? 1 + (preset != 0) : 0];
    memcpy(m.mean, has_mean ? mean : hinted ? h.mean : base[0], sizeof mean);
    memcpy(m.std, has_std ? sd : hinted ? h.std : base[1], sizeof sd);
    m.crop_pct = crop > 0 ? crop : m.crop_pct, m.resize = interp ? XF_RESIZE_BICUBIC : m.resize;
    if (!s && hinted && !q)
        fprintf(stderr, "xfer-convert: %s: mean %g, std %g\n", h.norm_why, (double) m.mean[0],
                (double) m.std[0]);
    char **lv = NULL;
    int n_lv = 0;
    if (!s && labels && (s = xf__read_lines(labels, &lv, &n_lv, &err)) == XF_OK)
        m.labels = lv, m.n_labels = n_lv;
    if (!s) {
        const xf_node *inp = &g.g.nodes[0];
        m.name = m.name ? m.name : in[0];
        m.height = (uint32_t) inp->h, m.width = (uint32_t) inp->w, m.channels = (uint32_t) inp->c;
        m.feature_layer = m.feature_layer ? m.feature_layer
                          : h.feature[0]  ? h.feature
                                          : xfc_default_feature(&g.g);
        m.feature_dim = (uint32_t) g.g.nodes[xf__graph_find(&g.g, m.feature_layer)].c;
        s = xf__meta_write(g.meta, &m) ? xf__gb_write(&g, out, &err)
                                       : xf__fail(&err, XF_ERR_NOMEM, "out of memory");
    }
    if (!s && !q)
        fprintf(stderr, "xfer-convert: wrote %s (%d nodes, feature layer %s)\n", out, g.g.n_nodes,
                m.feature_layer);
    for (int k = 0; k < n_lv; k++)
        free(lv[k]);
    free(lv);
    xf__gb_free(&g);
    return s ? xf_cli_fail(&cli, &err) : XF_EXIT_OK;
}
