/* minimal.c — the usage block of include/xfer.h as a program: one image in, one feature
 * vector out. `make test` builds and runs it, so the documented usage cannot rot.
 * Usage: minimal WEIGHTS.gguf IMAGE
 */
#include <stdio.h>
#include <stdlib.h>

#include "xfer.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s WEIGHTS.gguf IMAGE\n", argv[0]);
        return 2;
    }
    xf_error err;
    xf_model *model = NULL;
    if (xf_model_open(argv[1], NULL, &model, &err) != XF_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    xf_session_opts so = xf_session_default_opts(); /* default feature layer, avg pool */
    xf_session *sess = NULL;
    if (xf_session_create(model, &so, &sess, &err) != XF_OK) {
        fprintf(stderr, "%s\n", err.msg);
        xf_model_free(model);
        return 1;
    }
    int64_t dim = xf_session_feat_dim(sess);
    float *img = malloc(xf_model_input_len(model) * sizeof(float)); /* (1, H, W, 3) */
    float *feat = malloc((size_t) dim * sizeof(float));
    xf_preproc pp = xf_model_preproc(model);
    int rc = 1;
    if (img && feat && xf_image_load(argv[2], &pp, img, &err) == XF_OK &&
        xf_session_run(sess, img, 1, feat, (size_t) dim, &err) == XF_OK) {
        printf("%s: %lld features from layer %s:", argv[2], (long long) dim,
               xf_model_default_layer(model));
        for (int i = 0; i < dim && i < 4; i++)
            printf(" %.5f", (double) feat[i]);
        printf("%s\n", dim > 4 ? " ..." : "");
        rc = 0;
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    free(img);
    free(feat);
    xf_session_free(sess);
    xf_model_free(model);
    return rc;
}
