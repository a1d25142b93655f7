/* tfjs.c — TF.js layers-format model (model.json + binary shards) -> xfer graph.
 *
 * It is: a cJSON reader of Keras 2 functional/sequential model configs as written by
 * tensorflowjs_converter, weight shards concatenated per manifest group and sliced in order,
 * dequantization (uint8/uint16 affine w = q*scale + min, float16), and the Keras semantics of
 * the supported layers (TF 'same' padding, ZeroPadding2D absorbed into the next valid
 * conv/pool, BatchNormalization folded, ReLU/Activation fused, Dropout as identity). Any other
 * layer is an error naming it. It is not: a TF.js graph-model (frozen GraphDef) reader.
 */
#include "convert.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#define MAX_JSON  ((size_t) 64 << 20)
#define MAX_SHARD ((size_t) 1 << 30)

typedef struct {
    char *name;
    float *data;
    int64_t shape[4];
    int nd;
    size_t n;
} wentry;

typedef struct {
    wentry *e;
    int n;
} wtable;

typedef struct {
    const char *name; /* keras layer name (borrowed from the JSON) */
    int node;         /* producer node */
    int pad[4];       /* pending ZeroPadding2D: top, bottom, left, right */
    int uses;         /* how many layers consume it */
} ktensor;

typedef struct {
    xf_gbuild *c;
    wtable wt;
    ktensor *kt;
    int n_kt;
    const char *path;
    xf_error *err;
} ctx;

static xf_status read_all(const char *path, size_t max, char **out, size_t *len, xf_error *err)
{
    uint8_t *buf;
    xf_status s = xf__read_file(path, max, &buf, len, err);
    *out = (char *) buf;
    return s;
}

static void wtable_free(wtable *t)
{
    for (int i = 0; i < t->n; i++) {
        free(t->e[i].name);
        free(t->e[i].data);
    }
    free(t->e);
}

static float half_to_float(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return xf__f16_to_f32(h);
}

/* Reads one manifest group: shards concatenated, then each weight sliced in order. */
static xf_status read_group(ctx *x, const cJSON *group, const char *dir)
{
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(group, "paths");
    const cJSON *weights = cJSON_GetObjectItemCaseSensitive(group, "weights");
    if (!cJSON_IsArray(paths) || !cJSON_IsArray(weights))
        return xf__fail(x->err, XF_ERR_FORMAT, "%s: weightsManifest group lacks paths/weights",
                        x->path);
    char *blob = NULL;
    size_t blen = 0;
    const cJSON *p;
    xf_status s = XF_OK;
    cJSON_ArrayForEach(p, paths)
    {
        if (!cJSON_IsString(p) || strstr(p->valuestring, "..") || p->valuestring[0] == '/') {
            s = xf__fail(x->err, XF_ERR_FORMAT, "%s: bad shard path", x->path);
            goto done;
        }
        char full[8192];
        if (snprintf(full, sizeof full, "%s/%s", dir, p->valuestring) >= (int) sizeof full) {
            s = xf__fail(x->err, XF_ERR_ARG, "%s: shard path too long", x->path);
            goto done;
        }
        char *sh;
        size_t slen;
        if ((s = read_all(full, MAX_SHARD, &sh, &slen, x->err)))
            goto done;
        char *nb = realloc(blob, blen + slen + 1);
        if (!nb) {
            free(sh);
            s = xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
            goto done;
        }
        blob = nb;
        memcpy(blob + blen, sh, slen);
        blen += slen;
        free(sh);
    }
    size_t off = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, weights)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(w, "name");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(w, "shape");
        const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(w, "dtype");
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(w, "quantization");
        if (!cJSON_IsString(name) || !cJSON_IsArray(shape) || !cJSON_IsString(dtype)) {
            s = xf__fail(x->err, XF_ERR_FORMAT, "%s: malformed weight spec", x->path);
            goto done;
        }
        if (strcmp(dtype->valuestring, "float32") != 0) {
            s = xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: weight '%s': dtype %s", x->path,
                         name->valuestring, dtype->valuestring);
            goto done;
        }
        wentry e;
        memset(&e, 0, sizeof e);
        e.n = 1;
        const cJSON *d;
        cJSON_ArrayForEach(d, shape)
        {
            if (!cJSON_IsNumber(d) || d->valuedouble < 1 || d->valuedouble > (1 << 24) ||
                e.nd == 4) {
                s = xf__fail(x->err, XF_ERR_FORMAT, "%s: weight '%s': bad shape", x->path,
                             name->valuestring);
                goto done;
            }
            e.shape[e.nd++] = (int64_t) d->valuedouble;
            if (!xf__mul_size(e.n, (size_t) d->valuedouble, &e.n) || e.n > ((size_t) 1 << 30)) {
                s = xf__fail(x->err, XF_ERR_BOUNDS, "%s: weight '%s': too large", x->path,
                             name->valuestring);
                goto done;
            }
        }
        int qbytes = 4;
        double qmin = 0, qscale = 1;
        const char *qtype = "float32";
        if (q) {
            const cJSON *qt = cJSON_GetObjectItemCaseSensitive(q, "dtype");
            const cJSON *qm = cJSON_GetObjectItemCaseSensitive(q, "min");
            const cJSON *qs = cJSON_GetObjectItemCaseSensitive(q, "scale");
            qtype = cJSON_IsString(qt) ? qt->valuestring : "?";
            if (strcmp(qtype, "uint8") == 0 || strcmp(qtype, "uint16") == 0) {
                if (!cJSON_IsNumber(qm) || !cJSON_IsNumber(qs)) {
                    s = xf__fail(x->err, XF_ERR_FORMAT,
                                 "%s: weight '%s': quantization lacks "
                                 "min/scale",
                                 x->path, name->valuestring);
                    goto done;
                }
                qmin = qm->valuedouble;
                qscale = qs->valuedouble;
                qbytes = qtype[4] == '8' ? 1 : 2;
            } else if (strcmp(qtype, "float16") == 0) {
                qbytes = 2;
            } else {
                s = xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: weight '%s': quantization %s",
                             x->path, name->valuestring, qtype);
                goto done;
            }
        }
        size_t bytes = e.n * (size_t) qbytes;
        if (bytes > blen - off) {
            s = xf__fail(x->err, XF_ERR_BOUNDS,
                         "%s: weight '%s' runs past the end of its shards "
                         "(%zu bytes)",
                         x->path, name->valuestring, blen);
            goto done;
        }
        e.data = malloc(e.n * sizeof(float));
        e.name = strdup(name->valuestring);
        wentry *ne = realloc(x->wt.e, (size_t) (x->wt.n + 1) * sizeof *ne);
        if (!e.data || !e.name || !ne) {
            free(e.data);
            free(e.name);
            if (ne)
                x->wt.e = ne;
            s = xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
            goto done;
        }
        x->wt.e = ne;
        const uint8_t *src = (const uint8_t *) blob + off;
        for (size_t i = 0; i < e.n; i++) {
            if (qbytes == 4)
                memcpy(&e.data[i], src + 4 * i, 4);
            else if (qbytes == 1)
                e.data[i] = (float) (src[i] * qscale + qmin);
            else if (qtype[0] == 'u')
                e.data[i] = (float) ((src[2 * i] | src[2 * i + 1] << 8) * qscale + qmin);
            else
                e.data[i] = half_to_float(src + 2 * i);
            if (!isfinite(e.data[i])) {
                x->wt.e[x->wt.n++] = e;
                s = xf__fail(x->err, XF_ERR_VALUE, "%s: weight '%s' has a non-finite value",
                             x->path, e.name);
                goto done;
            }
        }
        x->wt.e[x->wt.n++] = e;
        off += bytes;
    }
    if (off != blen)
        xf__log(XF_LOG_WARN, "%s: %zu unused bytes at the end of a shard group\n", x->path,
                blen - off);
done:
    free(blob);
    return s;
}

/* "<layer>/<param>" exactly, or as a suffix after '/'. */
static const wentry *find_w(ctx *x, const char *layer, const char *param)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", layer, param);
    size_t kl = strlen(key);
    for (int i = 0; i < x->wt.n; i++) {
        const char *n = x->wt.e[i].name;
        size_t nl = strlen(n);
        if (strcmp(n, key) == 0 ||
            (nl > kl && n[nl - kl - 1] == '/' && strcmp(n + nl - kl, key) == 0))
            return &x->wt.e[i];
    }
    return NULL;
}

static const wentry *need_w(ctx *x, const char *layer, const char *param, int64_t n)
{
    const wentry *e = find_w(x, layer, param);
    if (!e) {
        xf__fail(x->err, XF_ERR_FORMAT, "%s: layer '%s': weight '%s' not in the manifest", x->path,
                 layer, param);
        return NULL;
    }
    if (n >= 0 && (int64_t) e->n != n) {
        xf__fail(x->err, XF_ERR_SHAPE, "%s: layer '%s': weight '%s' has %zu values, expected %lld",
                 x->path, layer, param, e->n, (long long) n);
        return NULL;
    }
    return e;
}

static float *copy_w(ctx *x, const wentry *e)
{
    float *p = malloc(e->n * sizeof(float));
    if (!p)
        xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    else
        memcpy(p, e->data, e->n * sizeof(float));
    return p;
}

static ktensor *kfind(ctx *x, const char *name)
{
    for (int i = 0; i < x->n_kt; i++)
        if (strcmp(x->kt[i].name, name) == 0)
            return &x->kt[i];
    return NULL;
}

static xf_status kput(ctx *x, const char *name, int node, const int *pad)
{
    ktensor *k = kfind(x, name);
    if (!k)
        return xf__fail(x->err, XF_ERR_FORMAT, "%s: layer '%s' not declared", x->path, name);
    k->node = node;
    for (int i = 0; i < 4; i++)
        k->pad[i] = pad ? pad[i] : 0;
    return XF_OK;
}

static int json_int(const cJSON *o, const char *key, int idx, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsArray(v))
        v = cJSON_GetArrayItem(v, idx);
    return cJSON_IsNumber(v) ? v->valueint : dflt; /* cJSON saturates it to int's range */
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int act_from(const char *a, xf_act *out)
{
    if (strcmp(a, "linear") == 0 || !a[0])
        *out = XF_ACT_NONE;
    else if (strcmp(a, "relu") == 0)
        *out = XF_ACT_RELU;
    else if (strcmp(a, "sigmoid") == 0)
        *out = XF_ACT_SIGMOID;
    else if (strcmp(a, "relu6") == 0)
        *out = XF_ACT_RELU6;
    else
        return 0;
    return 1;
}

/* One Keras layer. ins: its input tensors (already produced). */
static xf_status layer(ctx *x, const char *cls, const char *name, const cJSON *cfg, ktensor **ins,
                       int n_in)
{
    xf_gbuild *c = x->c;
    xf_error *err = x->err;
    int node = -1;
    xf_node p;
    memset(&p, 0, sizeof p);
    p.n_in = n_in > XF_NODE_MAX_IN ? XF_NODE_MAX_IN : n_in;
    for (int i = 0; i < p.n_in; i++)
        p.in[i] = ins[i]->node;
    int pending = n_in == 1 && (ins[0]->pad[0] | ins[0]->pad[1] | ins[0]->pad[2] | ins[0]->pad[3]);
    const char *data_format = json_str(cfg, "data_format");
    if (data_format[0] && strcmp(data_format, "channels_last") != 0)
        return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': data_format %s", x->path, name,
                        data_format);

    if (strcmp(cls, "Dropout") == 0 || strcmp(cls, "SpatialDropout2D") == 0 ||
        strcmp(cls, "GaussianNoise") == 0) {
        return kput(x, name, ins[0]->node, ins[0]->pad);
    }
    if (strcmp(cls, "ZeroPadding2D") == 0) {
        const cJSON *pad = cJSON_GetObjectItemCaseSensitive(cfg, "padding");
        int pd[4] = {0};
        if (cJSON_IsNumber(pad)) {
            pd[0] = pd[1] = pd[2] = pd[3] = pad->valueint;
        } else if (cJSON_IsArray(pad) && cJSON_IsArray(cJSON_GetArrayItem(pad, 0))) {
            const cJSON *a0 = cJSON_GetArrayItem(pad, 0), *a1 = cJSON_GetArrayItem(pad, 1);
            pd[0] =
                cJSON_IsNumber(cJSON_GetArrayItem(a0, 0)) ? cJSON_GetArrayItem(a0, 0)->valueint : 0;
            pd[1] =
                cJSON_IsNumber(cJSON_GetArrayItem(a0, 1)) ? cJSON_GetArrayItem(a0, 1)->valueint : 0;
            pd[2] =
                cJSON_IsNumber(cJSON_GetArrayItem(a1, 0)) ? cJSON_GetArrayItem(a1, 0)->valueint : 0;
            pd[3] =
                cJSON_IsNumber(cJSON_GetArrayItem(a1, 1)) ? cJSON_GetArrayItem(a1, 1)->valueint : 0;
        } else if (cJSON_IsArray(pad)) {
            pd[0] = pd[1] = json_int(cfg, "padding", 0, 0);
            pd[2] = pd[3] = json_int(cfg, "padding", 1, 0);
        }
        for (int i = 0; i < 4; i++)
            if (pd[i] < 0 || pd[i] > 64)
                return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': padding %d", x->path,
                                name, pd[i]);
        for (int i = 0; i < 4; i++)
            pd[i] += ins[0]->pad[i];
        return kput(x, name, ins[0]->node, pd);
    }
    if (pending && strcmp(cls, "Conv2D") != 0 && strcmp(cls, "DepthwiseConv2D") != 0 &&
        strcmp(cls, "AveragePooling2D") != 0)
        return xf__fail(err, XF_ERR_UNSUPPORTED,
                        "%s: layer '%s' (%s) after ZeroPadding2D: only convolutions and average "
                        "pooling can absorb zero padding",
                        x->path, name, cls);

    if (strcmp(cls, "Conv2D") == 0 || strcmp(cls, "DepthwiseConv2D") == 0 ||
        strcmp(cls, "MaxPooling2D") == 0 || strcmp(cls, "AveragePooling2D") == 0) {
        int is_pool = strstr(cls, "Pooling") != NULL;
        p.op = strcmp(cls, "Conv2D") == 0         ? XF_OP_CONV2D
               : cls[0] == 'D'                    ? XF_OP_DWCONV2D
               : strcmp(cls, "MaxPooling2D") == 0 ? XF_OP_MAXPOOL
                                                  : XF_OP_AVGPOOL;
        const char *ksz = is_pool ? "pool_size" : "kernel_size";
        p.kh = json_int(cfg, ksz, 0, 0);
        p.kw = json_int(cfg, ksz, 1, p.kh);
        p.sh = json_int(cfg, "strides", 0, is_pool ? p.kh : 1);
        p.sw = json_int(cfg, "strides", 1, p.sh);
        if (json_int(cfg, "dilation_rate", 0, 1) != 1 || json_int(cfg, "dilation_rate", 1, 1) != 1)
            return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': dilated convolution", x->path,
                            name);
        if (p.kh < 1 || p.kw < 1 || p.sh < 1 || p.sw < 1 || p.kh > 64 || p.kw > 64)
            return xf__fail(err, XF_ERR_FORMAT, "%s: layer '%s': bad kernel or strides", x->path,
                            name);
        const xf_node *src = &c->g.nodes[ins[0]->node];
        const char *padding = json_str(cfg, "padding");
        if (strcmp(padding, "same") == 0) {
            if (pending)
                return xf__fail(err, XF_ERR_UNSUPPORTED,
                                "%s: layer '%s': 'same' after "
                                "ZeroPadding2D",
                                x->path, name);
            xf__gb_same_pad(src->h, p.kh, p.sh, &p.pt, &p.pb);
            xf__gb_same_pad(src->w, p.kw, p.sw, &p.pl, &p.pr);
        } else if (strcmp(padding, "valid") == 0) {
            p.pt = ins[0]->pad[0], p.pb = ins[0]->pad[1], p.pl = ins[0]->pad[2],
            p.pr = ins[0]->pad[3];
            if (pending && p.op == XF_OP_AVGPOOL)
                p.count_pad = 1; /* explicit zeros are real cells */
        } else {
            return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': padding '%s'", x->path, name,
                            padding);
        }
        int64_t cin = src->c;
        if (p.op == XF_OP_CONV2D) {
            p.cout = json_int(cfg, "filters", 0, 0);
            if (json_int(cfg, "groups", 0, 1) != 1)
                return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': grouped convolution",
                                x->path, name);
        }
        if (p.op == XF_OP_DWCONV2D)
            p.mult = json_int(cfg, "depth_multiplier", 0, 1);
        xf_act act = XF_ACT_NONE;
        if (!is_pool && !act_from(json_str(cfg, "activation"), &act))
            return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': activation '%s'", x->path,
                            name, json_str(cfg, "activation"));
        p.act = act;
        if ((node = xf__gb_add(c, &p, name, NULL, err)) < 0)
            return xf__wrap(err, x->path);
        if (!is_pool) {
            int dw = p.op == XF_OP_DWCONV2D;
            int64_t cout = c->g.nodes[node].c;
            int64_t n = (int64_t) p.kh * p.kw * cin * (dw ? p.mult : p.cout);
            const wentry *kw = need_w(x, name, dw ? "depthwise_kernel" : "kernel", n);
            if (!kw)
                return err->code;
            float *w = copy_w(x, kw), *b = NULL;
            if (!w)
                return err->code;
            const cJSON *ub = cJSON_GetObjectItemCaseSensitive(cfg, "use_bias");
            if (!cJSON_IsFalse(ub)) {
                const wentry *bw = need_w(x, name, "bias", cout);
                if (!bw || !(b = copy_w(x, bw))) {
                    free(w);
                    return err->code;
                }
            }
            int64_t shape[4] = {p.kh, p.kw, cin, dw ? p.mult : p.cout};
            xf__gb_set_params(c, node, w, shape, 4, b);
        }
        return kput(x, name, node, NULL);
    }
    if (strcmp(cls, "BatchNormalization") == 0) {
        int axis = json_int(cfg, "axis", 0, -1);
        if (axis != -1 && axis != 3)
            return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': batch norm axis %d", x->path,
                            name, axis);
        int64_t ch = c->g.nodes[ins[0]->node].c;
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(cfg, "scale");
        const cJSON *ce = cJSON_GetObjectItemCaseSensitive(cfg, "center");
        const wentry *g = cJSON_IsFalse(sc) ? NULL : need_w(x, name, "gamma", ch);
        const wentry *be = cJSON_IsFalse(ce) ? NULL : need_w(x, name, "beta", ch);
        const wentry *mu = need_w(x, name, "moving_mean", ch);
        const wentry *va = need_w(x, name, "moving_variance", ch);
        if ((!cJSON_IsFalse(sc) && !g) || (!cJSON_IsFalse(ce) && !be) || !mu || !va)
            return err->code;
        const cJSON *eps = cJSON_GetObjectItemCaseSensitive(cfg, "epsilon");
        float e =
            cJSON_IsNumber(eps) && fabs(eps->valuedouble) < 1e30 ? (float) eps->valuedouble : 1e-3f;
        int src_excl = kfind(x, c->g.nodes[ins[0]->node].out_name) == NULL ||
                       kfind(x, c->g.nodes[ins[0]->node].out_name)->uses <= 1;
        node = xf__gb_batchnorm(c, ins[0]->node, g ? g->data : NULL, be ? be->data : NULL, mu->data,
                                va->data, e, src_excl, name, err);
        if (node < 0)
            return xf__wrap(err, x->path);
        return kput(x, name, node, NULL);
    }
    if (strcmp(cls, "ReLU") == 0 || strcmp(cls, "Activation") == 0) {
        xf_act act;
        if (cls[0] == 'R') {
            const cJSON *mv = cJSON_GetObjectItemCaseSensitive(cfg, "max_value");
            double slope =
                cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cfg, "negative_slope"))
                    ? cJSON_GetObjectItemCaseSensitive(cfg, "negative_slope")->valuedouble
                    : 0;
            double thr = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cfg, "threshold"))
                             ? cJSON_GetObjectItemCaseSensitive(cfg, "threshold")->valuedouble
                             : 0;
            if (slope != 0 || thr != 0 || (cJSON_IsNumber(mv) && mv->valuedouble != 6))
                return xf__fail(err, XF_ERR_UNSUPPORTED,
                                "%s: layer '%s': ReLU with slope/threshold/max other than 6",
                                x->path, name);
            act = cJSON_IsNumber(mv) ? XF_ACT_RELU6 : XF_ACT_RELU;
        } else {
            const char *a = json_str(cfg, "activation");
            if (strcmp(a, "softmax") == 0) {
                p.op = XF_OP_SOFTMAX;
                if ((node = xf__gb_add(c, &p, name, NULL, err)) < 0)
                    return xf__wrap(err, x->path);
                return kput(x, name, node, NULL);
            }
            if (!act_from(a, &act))
                return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': activation '%s'", x->path,
                                name, a);
        }
        const char *src_name = c->g.nodes[ins[0]->node].out_name;
        int src_excl = kfind(x, src_name) == NULL || kfind(x, src_name)->uses <= 1;
        if (act == XF_ACT_NONE)
            return kput(x, name, ins[0]->node, NULL);
        if ((node = xf__gb_activation(c, ins[0]->node, act, src_excl, name, err)) < 0)
            return xf__wrap(err, x->path);
        return kput(x, name, node, NULL);
    }
    if (strcmp(cls, "Add") == 0 || strcmp(cls, "Concatenate") == 0) {
        if (n_in < 2 || n_in > XF_NODE_MAX_IN)
            return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': %d inputs", x->path, name,
                            n_in);
        for (int i = 0; i < n_in; i++)
            if (ins[i]->pad[0] | ins[i]->pad[1] | ins[i]->pad[2] | ins[i]->pad[3])
                return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': padded input", x->path,
                                name);
        if (cls[0] == 'C') {
            int axis = json_int(cfg, "axis", 0, -1);
            if (axis != -1 && axis != 3)
                return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': concat axis %d", x->path,
                                name, axis);
        }
        p.op = cls[0] == 'A' ? XF_OP_ADD : XF_OP_CONCAT;
        if ((node = xf__gb_add(c, &p, name, NULL, err)) < 0)
            return xf__wrap(err, x->path);
        return kput(x, name, node, NULL);
    }
    if (strcmp(cls, "GlobalAveragePooling2D") == 0 || strcmp(cls, "Flatten") == 0) {
        p.op = cls[0] == 'G' ? XF_OP_GAP : XF_OP_FLATTEN;
        if ((node = xf__gb_add(c, &p, name, NULL, err)) < 0)
            return xf__wrap(err, x->path);
        return kput(x, name, node, NULL);
    }
    if (strcmp(cls, "Dense") == 0) {
        const xf_node *src = &c->g.nodes[ins[0]->node];
        if (src->h != 1 || src->w != 1)
            return xf__fail(err, XF_ERR_UNSUPPORTED,
                            "%s: layer '%s': Dense on a %lldx%lld map (Flatten first)", x->path,
                            name, (long long) src->h, (long long) src->w);
        p.op = XF_OP_DENSE;
        p.cout = json_int(cfg, "units", 0, 0);
        xf_act act = XF_ACT_NONE;
        const char *a = json_str(cfg, "activation");
        int softmax = strcmp(a, "softmax") == 0;
        if (!softmax && !act_from(a, &act))
            return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': activation '%s'", x->path,
                            name, a);
        p.act = act;
        /* with softmax: the dense output is "<name>_logits", the softmax node outputs "<name>" */
        char logits[300];
        snprintf(logits, sizeof logits, "%s_logits", name);
        if ((node = xf__gb_add(c, &p, name, softmax ? logits : NULL, err)) < 0)
            return xf__wrap(err, x->path);
        const wentry *kw = need_w(x, name, "kernel", src->c * (int64_t) p.cout);
        if (!kw)
            return err->code;
        float *w = copy_w(x, kw), *b = NULL;
        if (!w)
            return err->code;
        if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cfg, "use_bias"))) {
            const wentry *bw = need_w(x, name, "bias", p.cout);
            if (!bw || !(b = copy_w(x, bw))) {
                free(w);
                return err->code;
            }
        }
        int64_t shape[2] = {src->c, p.cout};
        xf__gb_set_params(c, node, w, shape, 2, b);
        if (softmax) {
            xf_node sm;
            memset(&sm, 0, sizeof sm);
            sm.op = XF_OP_SOFTMAX;
            sm.in[0] = node;
            sm.n_in = 1;
            char smname[300];
            snprintf(smname, sizeof smname, "%s_softmax", name);
            if ((node = xf__gb_add(c, &sm, smname, name, err)) < 0)
                return xf__wrap(err, x->path);
        }
        return kput(x, name, node, NULL);
    }
    return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: layer '%s': unsupported layer class '%s'",
                    x->path, name, cls);
}

/* Inbound layer names of a Keras 2 layer: inbound_nodes[0] = [[name, 0, 0, {}], ...]. */
static int inbound(const cJSON *L, const char **names, int max)
{
    const cJSON *ib = cJSON_GetObjectItemCaseSensitive(L, "inbound_nodes");
    if (!cJSON_IsArray(ib) || cJSON_GetArraySize(ib) == 0)
        return 0;
    if (cJSON_GetArraySize(ib) > 1)
        return -1; /* shared layer */
    const cJSON *first = cJSON_GetArrayItem(ib, 0), *e;
    int n = 0;
    cJSON_ArrayForEach(e, first)
    {
        const cJSON *nm = cJSON_GetArrayItem(e, 0);
        if (!cJSON_IsString(nm) || n == max)
            return -1;
        names[n++] = nm->valuestring;
    }
    return n;
}

xf_status xfc_from_tfjs(const char *path, xf_gbuild *c, xf_error *err)
{
    char *text;
    size_t len;
    xf_status s = read_all(path, MAX_JSON, &text, &len, err);
    if (s)
        return s;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root)
        return xf__fail(err, XF_ERR_FORMAT, "%s: not valid JSON", path);
    ctx x = {c, {NULL, 0}, NULL, 0, path, err};
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    const cJSON *topo = cJSON_GetObjectItemCaseSensitive(root, "modelTopology");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(topo, "model_config");
    if (!mc)
        mc = topo;
    const char *cls = json_str(mc, "class_name");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(mc, "config");
    const cJSON *layers =
        cJSON_IsArray(cfg) ? cfg : cJSON_GetObjectItemCaseSensitive(cfg, "layers");
    int sequential = strcmp(cls, "Sequential") == 0;
    const cJSON *manifest = cJSON_GetObjectItemCaseSensitive(root, "weightsManifest");
    const cJSON *group, *L;
    if (!cJSON_IsArray(layers) || !cJSON_IsArray(manifest)) {
        s = xf__fail(err, XF_ERR_FORMAT,
                     "%s: not a TF.js layers model (no modelTopology layers "
                     "or weightsManifest)",
                     path);
        goto done;
    }
    if (!sequential && strcmp(cls, "Model") != 0 && strcmp(cls, "Functional") != 0) {
        s = xf__fail(err, XF_ERR_UNSUPPORTED, "%s: model class '%s'", path, cls);
        goto done;
    }
    cJSON_ArrayForEach(group, manifest) if ((s = read_group(&x, group, dir))) goto done;

    int n_layers = cJSON_GetArraySize(layers);
    x.kt = calloc((size_t) n_layers + 1, sizeof *x.kt);
    if (!x.kt) {
        s = xf__fail(err, XF_ERR_NOMEM, "out of memory");
        goto done;
    }
    const char *prev = NULL;
    cJSON_ArrayForEach(L, layers)
    {
        const cJSON *lc = cJSON_GetObjectItemCaseSensitive(L, "config");
        const char *nm = json_str(L, "name")[0] ? json_str(L, "name") : json_str(lc, "name");
        if (!nm[0] || kfind(&x, nm)) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: layer without a unique name", path);
            goto done;
        }
        x.kt[x.n_kt].name = nm;
        x.kt[x.n_kt].node = -1;
        x.n_kt++;
        const char *ins[XF_NODE_MAX_IN];
        int n = sequential ? (prev != NULL) : inbound(L, ins, XF_NODE_MAX_IN);
        if (sequential && prev)
            ins[0] = prev;
        for (int i = 0; i < n; i++) {
            ktensor *k = kfind(&x, ins[i]);
            if (k)
                k->uses++;
        }
        prev = nm;
    }
    int first = 1;
    prev = NULL;
    cJSON_ArrayForEach(L, layers)
    {
        const cJSON *lc = cJSON_GetObjectItemCaseSensitive(L, "config");
        const char *lcls = json_str(L, "class_name");
        const char *nm = json_str(L, "name")[0] ? json_str(L, "name") : json_str(lc, "name");
        const char *ins[XF_NODE_MAX_IN];
        int n = sequential ? (prev != NULL) : inbound(L, ins, XF_NODE_MAX_IN);
        if (sequential && prev)
            ins[0] = prev;
        prev = nm;
        if (n < 0) {
            s = xf__fail(err, XF_ERR_UNSUPPORTED,
                         "%s: layer '%s': shared or malformed inbound "
                         "nodes",
                         path, nm);
            goto done;
        }
        int is_input = strcmp(lcls, "InputLayer") == 0;
        if (first || is_input) {
            const cJSON *bis = cJSON_GetObjectItemCaseSensitive(lc, "batch_input_shape");
            if (!bis)
                bis = cJSON_GetObjectItemCaseSensitive(lc, "batch_shape");
            if (!first || !cJSON_IsArray(bis) || cJSON_GetArraySize(bis) != 4) {
                s = xf__fail(err, XF_ERR_UNSUPPORTED,
                             "%s: layer '%s': need one NHWC image input "
                             "with a known size",
                             path, nm);
                goto done;
            }
            xf_node p;
            memset(&p, 0, sizeof p);
            p.op = XF_OP_INPUT;
            p.h = json_int(lc, "batch_input_shape", 1, 0);
            p.w = json_int(lc, "batch_input_shape", 2, 0);
            p.c = json_int(lc, "batch_input_shape", 3, 0);
            if (!cJSON_GetObjectItemCaseSensitive(lc, "batch_input_shape")) {
                p.h = json_int(lc, "batch_shape", 1, 0);
                p.w = json_int(lc, "batch_shape", 2, 0);
                p.c = json_int(lc, "batch_shape", 3, 0);
            }
            int node = xf__gb_add(c, &p, is_input ? nm : "input", NULL, err);
            if (node < 0) {
                s = xf__wrap(err, path);
                goto done;
            }
            first = 0;
            if (is_input) {
                if ((s = kput(&x, nm, node, NULL)))
                    goto done;
                continue;
            }
            /* sequential model without InputLayer: the first layer reads "input" */
            ins[0] = "input";
            x.kt[x.n_kt].name = "input";
            x.kt[x.n_kt].node = node;
            x.kt[x.n_kt].uses = 1;
            x.n_kt++;
            n = 1;
        }
        ktensor *in_t[XF_NODE_MAX_IN];
        for (int i = 0; i < n; i++) {
            in_t[i] = kfind(&x, ins[i]);
            if (!in_t[i] || in_t[i]->node < 0) {
                s = xf__fail(err, XF_ERR_FORMAT,
                             "%s: layer '%s': input '%s' is not an earlier "
                             "layer",
                             path, nm, ins[i]);
                goto done;
            }
        }
        if (n == 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: layer '%s' has no input", path, nm);
            goto done;
        }
        if ((s = layer(&x, lcls, nm, lc, in_t, n)))
            goto done;
    }
done:
    free(x.kt);
    wtable_free(&x.wt);
    cJSON_Delete(root);
    return s;
}
