/* onnx_check.c — compares a converted model with reference outputs (tests/onnx/zoo.py, or the
 * small committed models of tests/onnx/models).
 *
 * usage: onnx_check MODEL.gguf INPUT.bin LOGITS.bin FEAT.bin [TOL]
 * INPUT is one NCHW float32 image (already normalised), LOGITS the reference output of the
 * last tensor, FEAT the reference pooled features of the model's default feature layer.
 * Prints "logits <rel L2> features <rel L2>" and exits 1 when either exceeds TOL (default 1e-4).
 * It is: a test oracle client. It is not: part of the library.
 */
#include "xfer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static float *read_floats(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *v = len > 0 ? malloc((size_t) len) : NULL;
    if (v && fread(v, 1, (size_t) len, f) != (size_t) len) {
        free(v);
        v = NULL;
    }
    fclose(f);
    *n = (size_t) len / sizeof(float);
    return v;
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double) a[i] - (double) b[i]) * ((double) a[i] - (double) b[i]);
        den += (double) b[i] * (double) b[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-30);
}

/* runs the model to one layer (pooled), returns malloc'd features and their count */
static float *run(const xf_model *m, const char *layer, const float *img, int64_t *dim)
{
    xf_error err;
    xf_session_opts so = xf_session_default_opts();
    if (layer) {
        so.n_layers = 1;
        so.layers[0] = layer;
    }
    xf_session *s = NULL;
    if (xf_session_create(m, &so, &s, &err) != XF_OK) {
        fprintf(stderr, "onnx_check: %s\n", err.msg);
        return NULL;
    }
    *dim = xf_session_feat_dim(s);
    float *out = malloc((size_t) *dim * sizeof(float));
    if (!out || xf_session_run(s, img, 1, out, (size_t) *dim, &err) != XF_OK) {
        fprintf(stderr, "onnx_check: %s\n", err.msg);
        free(out);
        out = NULL;
    }
    xf_session_free(s);
    return out;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: onnx_check MODEL.gguf INPUT.bin LOGITS.bin FEAT.bin [TOL]\n");
        return 2;
    }
    double tol = argc > 5 ? atof(argv[5]) : 1e-4;
    xf_error err;
    xf_model *m = NULL;
    if (xf_model_open(argv[1], NULL, &m, &err) != XF_OK) {
        fprintf(stderr, "onnx_check: %s\n", err.msg);
        return 1;
    }
    size_t nin, nl, nf;
    float *nchw = read_floats(argv[2], &nin), *ref_l = read_floats(argv[3], &nl);
    float *ref_f = read_floats(argv[4], &nf);
    int H = xf_model_input_height(m), W = xf_model_input_width(m);
    if (!nchw || !ref_l || !ref_f || nin != (size_t) 3 * H * W) {
        fprintf(stderr, "onnx_check: cannot read the reference files or input size differs\n");
        return 1;
    }
    float *img = malloc(nin * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                img[((size_t) y * W + x) * 3 + c] = nchw[((size_t) c * H + y) * W + x];
    int64_t dl = 0, df = 0;
    float *lg = run(m, xf_model_tensor_name(m, xf_model_tensor_count(m) - 1), img, &dl);
    float *ft = run(m, NULL, img, &df);
    if (!lg || !ft || (size_t) dl != nl || (size_t) df != nf) {
        fprintf(stderr,
                "onnx_check: output sizes differ: logits %lld vs %zu, features %lld vs %zu\n",
                (long long) dl, nl, (long long) df, nf);
        return 1;
    }
    double el = rel_l2(lg, ref_l, nl), ef = rel_l2(ft, ref_f, nf);
    printf("logits %.2e features %.2e\n", el, ef);
    free(nchw), free(ref_l), free(ref_f), free(img), free(lg), free(ft);
    xf_model_free(m);
    return el <= tol && ef <= tol ? 0 : 1;
}
