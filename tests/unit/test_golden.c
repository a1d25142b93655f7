/* test_golden.c — end-to-end conformance of the converted npm backbones with TF.js.
 *
 * It is: the same synthetic images as tests/golden/golden.js, run through the weights/ files, with
 * every recorded layer (pooled) compared to the TF.js outputs in tests/golden/golden.json:
 * relative L2 below 1e-4. A missing weights file is a visible SKIP. It is not: a per-op test.
 */
#include "model.h"
#include "t.h"

#include <cjson/cJSON.h>
#include <string.h>

#define TOL 1e-4

static void synthetic_image(int kind, int h, int w, float *px)
{
    uint32_t s = 2463534242u;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int v;
                if (kind == 0) {
                    v = (x + 2 * y + 40 * c) % 256;
                } else if (kind == 1) {
                    v = ((x / 16 + y / 16) % 2) ? 200 - 50 * c : 30 + 40 * c;
                } else {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    v = (int) (s & 255);
                }
                px[(y * w + x) * 3 + c] = (float) v / 255.0f;
            }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t) n + 1);
    if (b && fread(b, 1, (size_t) n, f) == (size_t) n)
        b[n] = 0;
    fclose(f);
    return b;
}

static void check_model(const char *name, const cJSON *spec)
{
    char path[256];
    snprintf(path, sizeof path, "weights/%s.gguf", name);
    xf_model *m;
    xf_error err;
    xf_open_opts oo = {1};
    if (xf_model_open(path, &oo, &m, &err) != XF_OK) {
        T_SKIP("%s: %s (run 'make weights')", name, err.msg);
        return;
    }
    const cJSON *layers = cJSON_GetObjectItem(spec, "layers"), *L;
    int h = xf_model_input_height(m), w = xf_model_input_width(m);
    T_CHECK(h == cJSON_GetObjectItem(spec, "height")->valueint);
    float *img = malloc((size_t) 3 * h * w * 3 * sizeof(float));
    for (int k = 0; k < 3; k++)
        synthetic_image(k, h, w, img + (size_t) k * h * w * 3);
    cJSON_ArrayForEach(L, layers)
    {
        xf_session_opts so = xf_session_default_opts();
        so.max_batch = 3;
        so.n_layers = 1;
        so.layers[0] = L->string;
        xf_session *s;
        if (xf_session_create(m, &so, &s, &err) != XF_OK) {
            T_CHECKF(0, "%s: %s", name, err.msg);
            continue;
        }
        int dim = (int) xf_session_feat_dim(s);
        float *out = malloc((size_t) 3 * dim * sizeof(float));
        float *one = malloc((size_t) dim * sizeof(float));
        T_CHECK(xf_session_run(s, img, 3, out, (size_t) 3 * dim, &err) == XF_OK);
        for (int k = 0; k < 3; k++) {
            const cJSON *ref = cJSON_GetArrayItem(L, k), *v;
            T_CHECKF(cJSON_GetArraySize(ref) == dim, "%s/%s dim %d vs %d", name, L->string,
                     cJSON_GetArraySize(ref), dim);
            if (cJSON_GetArraySize(ref) != dim)
                continue;
            double *r = malloc((size_t) dim * sizeof(double));
            int i = 0;
            cJSON_ArrayForEach(v, ref) r[i++] = v->valuedouble;
            double d = t_rel_l2(out + (size_t) k * dim, r, dim);
            printf("%-13s %-22s image %d: rel L2 %.2e  (first: %.6f vs %.6f)\n", name, L->string, k,
                   d, (double) out[(size_t) k * dim], r[0]);
            T_CHECKF(d < TOL, "%s %s image %d: rel L2 %.3e", name, L->string, k, d);
            /* batch of one gives the same result as inside a batch of three */
            xf_session_run(s, img + (size_t) k * h * w * 3, 1, one, (size_t) dim, &err);
            double db = 0;
            for (int j = 0; j < dim; j++) {
                double e = fabs((double) one[j] - (double) out[(size_t) k * dim + (size_t) j]);
                db = e > db ? e : db;
            }
            T_CHECKF(db == 0, "%s %s batch 1 vs 3: max diff %.3e (must be bit-identical)", name,
                     L->string, db);
            free(r);
        }
        free(one);
        free(out);
        xf_session_free(s);
    }
    free(img);
    xf_model_free(m);
}

int main(void)
{
    char *text = slurp("tests/golden/golden.json");
    T_CHECK(text != NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    T_CHECK(root != NULL);
    const cJSON *models = cJSON_GetObjectItem(root, "models"), *mm;
    cJSON_ArrayForEach(mm, models) check_model(mm->string, mm);
    cJSON_Delete(root);
    free(text);
    return t_done();
}
