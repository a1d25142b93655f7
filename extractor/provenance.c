/* provenance.c — the feature provenance JSON (see provenance.h), made and read with cJSON.
 *
 * It is: one writer whose output is the same for the same settings (key order fixed, numbers as
 * "%g" writes them), one reader per question. It is not: file I/O.
 */
#include "provenance.h"
#include "meta.h"

#include <cjson/cJSON.h>
#include <string.h>

static const char *const pool_names[] = {"avg", "max", "none"};

/* a float as "%g" writes it: 0.485f is recorded as 0.485, not 0.48500001430511475 */
static cJSON *num(double v)
{
    char b[32];
    snprintf(b, sizeof b, "%g", v);
    return cJSON_CreateNumber(strtod(b, NULL));
}

static cJSON *floats3(const float *v)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < 3; i++)
        cJSON_AddItemToArray(a, num((double) v[i]));
    return a;
}

char *xf__provenance_make(const xf_model *m, const xf_preproc *pp, const xf_session_opts *so,
                          int64_t dim, int l2norm)
{
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", (unsigned) xf_model_checksum(m));
    const char *name = xf_model_meta_str(m, "general.name");
    cJSON *j = cJSON_CreateObject(), *layers = cJSON_CreateArray(), *in = cJSON_CreateObject();
    int n = so->n_layers ? so->n_layers : 1;
    for (int l = 0; layers && l < n; l++)
        cJSON_AddItemToArray(
            layers, cJSON_CreateString(so->n_layers ? so->layers[l] : xf_model_default_layer(m)));
    cJSON_AddItemToObject(in, "height", cJSON_CreateNumber(pp->size_h));
    cJSON_AddItemToObject(in, "width", cJSON_CreateNumber(pp->size_w));
    cJSON_AddItemToObject(in, "crop_pct", num((double) pp->crop_pct));
    cJSON_AddItemToObject(in, "resize",
                          cJSON_CreateString(pp->interp == XF_INTERP_BICUBIC ? XF_RESIZE_BICUBIC
                                                                             : XF_RESIZE_BILINEAR));
    cJSON_AddItemToObject(in, "mean", floats3(pp->mean));
    cJSON_AddItemToObject(in, "std", floats3(pp->std));
    cJSON_AddItemToObject(in, "exif_rotate", cJSON_CreateBool(pp->exif_rotate));
    if (pp->full_decode) /* absent: JPEGs DCT-scaled, the default */
        cJSON_AddItemToObject(in, "dct_scaling", cJSON_CreateBool(0));
    cJSON_AddItemToObject(j, "weights", cJSON_CreateString(name ? name : ""));
    cJSON_AddItemToObject(j, "weights_crc32c", cJSON_CreateString(crc));
    cJSON_AddItemToObject(j, "layers", layers);
    cJSON_AddItemToObject(j, "pool", cJSON_CreateString(pool_names[so->pool]));
    cJSON_AddItemToObject(j, "dim", cJSON_CreateNumber((double) dim));
    cJSON_AddItemToObject(j, "input", in);
    cJSON_AddItemToObject(j, "l2norm", cJSON_CreateBool(l2norm));
    cJSON_AddItemToObject(j, "tool", cJSON_CreateString("xfer " XF_VERSION_STRING));
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return text;
}

static char *field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return v ? cJSON_PrintUnformatted(v) : NULL;
}

xf_status xf__provenance_check(const char *trained, const char *given, xf_error *err)
{
    cJSON *a = cJSON_Parse(trained), *b = cJSON_Parse(given);
    xf_status s = XF_OK;
    static const char *const keys[] = {"weights_crc32c", "layers", "pool", "input", "l2norm"};
    static const char *const what[] = {"a different backbone (weights file)", "different layers",
                                       "different pooling", "different preprocessing",
                                       "different normalisation"};
    if (!a || !b) {
        s = xf__fail(err, XF_ERR_FORMAT, "unreadable feature provenance");
    } else {
        for (size_t i = 0; i < XF_COUNT(keys) && !s; i++) {
            char *x = field(a, keys[i]), *y = field(b, keys[i]);
            if ((x || y) && (!x || !y || strcmp(x, y) != 0))
                s = xf__fail(err, XF_ERR_ARG,
                             "features were made with %s: %s is %s, the classifier was trained "
                             "with %s",
                             what[i], keys[i], y ? y : "absent", x ? x : "absent");
            free(x);
            free(y);
        }
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    return s;
}

/* a JSON number as a float, saturated (a double beyond float's range would be undefined) */
static float to_float(double v)
{
    return v > 3.4e38 ? 3.4e38f : v < -3.4e38 ? -3.4e38f : (float) v;
}

xf_status xf__provenance_options(const char *json, const xf_model *m, xf_preproc *pp,
                                 xf_session_opts *so, char **layer_store, int *l2norm,
                                 xf_error *err)
{
    cJSON *j = cJSON_Parse(json);
    if (!j)
        return xf__fail(err, XF_ERR_FORMAT, "unreadable feature provenance");
    *pp = xf_model_preproc(m);
    *so = xf_session_default_opts();
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers"), *l;
    cJSON_ArrayForEach(l, layers)
    {
        if (so->n_layers < XF_MAX_LAYERS && cJSON_IsString(l) &&
            (layer_store[so->n_layers] = strdup(l->valuestring))) {
            so->layers[so->n_layers] = layer_store[so->n_layers];
            so->n_layers++;
        }
    }
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(j, "pool");
    for (int p = 0; p < 3; p++)
        if (cJSON_IsString(pool) && strcmp(pool->valuestring, pool_names[p]) == 0)
            so->pool = (xf_pool) p;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "input");
    const cJSON *crop = cJSON_GetObjectItemCaseSensitive(in, "crop_pct");
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(in, "mean");
    const cJSON *sd = cJSON_GetObjectItemCaseSensitive(in, "std");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(in, "exif_rotate");
    if (cJSON_IsNumber(crop))
        pp->crop_pct = to_float(crop->valuedouble);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(in, "resize");
    if (cJSON_IsString(rs))
        pp->interp = strcmp(rs->valuestring, XF_RESIZE_BICUBIC) == 0 ? XF_INTERP_BICUBIC
                                                                     : XF_INTERP_BILINEAR;
    for (int c = 0; c < 3; c++) {
        if (cJSON_IsNumber(cJSON_GetArrayItem(mean, c)))
            pp->mean[c] = to_float(cJSON_GetArrayItem(mean, c)->valuedouble);
        if (cJSON_IsNumber(cJSON_GetArrayItem(sd, c)))
            pp->std[c] = to_float(cJSON_GetArrayItem(sd, c)->valuedouble);
    }
    pp->exif_rotate = !cJSON_IsFalse(ex);
    pp->full_decode = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(in, "dct_scaling"));
    *l2norm = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "l2norm"));
    cJSON_Delete(j);
    return XF_OK;
}

xf_status xf__provenance_backbone(const char *json, char *name, size_t size, uint32_t *crc,
                                  xf_error *err)
{
    cJSON *j = cJSON_Parse(json);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "weights_crc32c");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "weights");
    char *end = NULL;
    unsigned long v = cJSON_IsString(c) ? strtoul(c->valuestring, &end, 16) : 0;
    int ok = cJSON_IsString(c) && end && !*end && c->valuestring[0];
    snprintf(name, size, "%s", cJSON_IsString(w) ? w->valuestring : "?");
    cJSON_Delete(j);
    *crc = (uint32_t) v;
    return ok ? XF_OK : xf__fail(err, XF_ERR_FORMAT, "feature provenance has no weights checksum");
}

char *xf__provenance_add_roots(const char *json, char *const *roots, int n)
{
    if (n == 0)
        return strdup(json);
    cJSON *j = cJSON_Parse(json), *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(roots[i]));
    if (!j || !a) {
        cJSON_Delete(j);
        cJSON_Delete(a);
        return NULL;
    }
    cJSON_AddItemToObject(j, "roots", a);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

xf_status xf__provenance_roots(const char *json, char ***roots, int *n, xf_error *err)
{
    *roots = NULL, *n = 0;
    cJSON *j = cJSON_Parse(json);
    if (!j)
        return xf__fail(err, XF_ERR_FORMAT, "unreadable feature provenance");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "roots"), *r;
    if (!cJSON_IsArray(a)) /* absent, or not a list (an object's members would be walked) */
        a = NULL;
    int k = a ? cJSON_GetArraySize(a) : 0;
    xf_status s = XF_OK;
    if (k > 0 && !(*roots = calloc((size_t) k, sizeof **roots)))
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
    cJSON_ArrayForEach(r, a)
    {
        if (s || !cJSON_IsString(r))
            continue;
        if (!((*roots)[*n] = strdup(r->valuestring))) {
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
            break;
        }
        (*n)++;
    }
    cJSON_Delete(j);
    return s;
}

char *xf__provenance_add_shard(const char *json, const xf_shard *sh)
{
    cJSON *j = cJSON_Parse(json), *o = cJSON_CreateObject();
    if (!j || !o) {
        cJSON_Delete(j);
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddItemToObject(o, "index", cJSON_CreateNumber((double) sh->index));
    cJSON_AddItemToObject(o, "count", cJSON_CreateNumber((double) sh->count));
    cJSON_AddItemToObject(o, "first", cJSON_CreateNumber((double) sh->first));
    cJSON_AddItemToObject(o, "records", cJSON_CreateNumber((double) sh->records));
    cJSON_AddItemToObject(o, "total", cJSON_CreateNumber((double) sh->total));
    cJSON_AddItemToObject(j, "shard", o);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

static long jint(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15 ? (long) v->valuedouble
                                                                             : -1;
}

xf_status xf__provenance_take_shard(char *json, xf_shard *sh, int drop, xf_error *err)
{
    cJSON *j = cJSON_Parse(json);
    if (!j)
        return xf__fail(err, XF_ERR_FORMAT, "unreadable feature provenance");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "shard");
    sh->index = jint(o, "index"), sh->count = jint(o, "count"), sh->first = jint(o, "first");
    sh->records = jint(o, "records"), sh->total = jint(o, "total");
    xf_status s = XF_OK;
    if (sh->index < 0 || sh->count < 1 || sh->index >= sh->count || sh->first < 0 ||
        sh->records < 0 || sh->total < 0)
        s = xf__fail(err, XF_ERR_FORMAT, "not a shard (made without --shard)");
    if (drop && o) {
        cJSON_DeleteItemFromObjectCaseSensitive(j, "shard");
        char *text = cJSON_PrintUnformatted(j);
        if (!text)
            s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        else if (strlen(text) <= strlen(json)) /* shorter: it lost a member */
            strcpy(json, text);
        free(text);
    }
    cJSON_Delete(j);
    return s;
}
