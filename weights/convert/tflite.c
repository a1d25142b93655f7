/* tflite.c — TFLite flatbuffer (.tflite) -> xfer graph, for float execution.
 *
 * It is: a bounds-checked FlatBuffers walker (every offset, vtable and vector checked against
 * the buffer before use; field ids from TFLite's public schema.fbs; no generated code), and the
 * conversion of the vision subset: CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D,
 * MAX_POOL_2D, MEAN (spatial), RESHAPE, SQUEEZE, CONCATENATION, FULLY_CONNECTED, SOFTMAX, PAD,
 * LOGISTIC, RELU, RELU6, QUANTIZE/DEQUANTIZE (identity in float), fused RELU/RELU6. uint8/int8
 * weights with per-tensor or per-channel scale and zero point are dequantized; a uint8 input's
 * quantization becomes the stored mean/std. It is not: an integer runtime; any other op is an
 * error naming it and its output tensor.
 */
#include "convert.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* ---- FlatBuffers, checked ------------------------------------------------------------------ */
typedef struct {
    const uint8_t *b;
    size_t n;
    int bad; /* sticky: any out-of-range access sets it and yields zeros */
} fb;

static uint32_t u32_at(fb *f, size_t pos)
{
    uint32_t v = 0;
    if (pos > f->n || f->n - pos < 4) {
        f->bad = 1;
        return 0;
    }
    memcpy(&v, f->b + pos, 4);
    return v;
}

static uint16_t u16_at(fb *f, size_t pos)
{
    uint16_t v = 0;
    if (pos > f->n || f->n - pos < 2) {
        f->bad = 1;
        return 0;
    }
    memcpy(&v, f->b + pos, 2);
    return v;
}

/* Position of field id in table t, or 0 when absent (or the table is malformed). */
static size_t field(fb *f, size_t t, int id)
{
    if (!t)
        return 0;
    int32_t so = (int32_t) u32_at(f, t);
    int64_t vt = (int64_t) t - so;
    if (f->bad || vt < 0 || (uint64_t) vt + 4 > f->n) {
        f->bad = 1;
        return 0;
    }
    uint16_t vsize = u16_at(f, (size_t) vt), tsize = u16_at(f, (size_t) vt + 2);
    if (vsize < 4 || (vsize & 1) || (uint64_t) vt + vsize > f->n || t + tsize > f->n) {
        f->bad = 1;
        return 0;
    }
    if (4 + 2 * (size_t) id + 2 > vsize)
        return 0;
    uint16_t off = u16_at(f, (size_t) vt + 4 + 2 * (size_t) id);
    if (!off)
        return 0;
    if (off >= tsize) {
        f->bad = 1;
        return 0;
    }
    return t + off;
}

static size_t deref(fb *f, size_t pos)
{
    if (!pos)
        return 0;
    uint32_t off = u32_at(f, pos);
    if (f->bad || off == 0 || (uint64_t) pos + off >= f->n) {
        f->bad = 1;
        return 0;
    }
    return pos + off;
}

static size_t table_field(fb *f, size_t t, int id)
{
    return deref(f, field(f, t, id));
}

/* Vector field: returns its first element's position, *len elements of esize bytes. */
static size_t vec(fb *f, size_t t, int id, size_t esize, uint32_t *len)
{
    *len = 0;
    size_t v = deref(f, field(f, t, id));
    if (!v)
        return 0;
    uint32_t n = u32_at(f, v);
    if (f->bad || (uint64_t) n * esize > f->n - v - 4) {
        f->bad = 1;
        return 0;
    }
    *len = n;
    return v + 4;
}

static size_t vec_table(fb *f, size_t elems, uint32_t i)
{
    return deref(f, elems + 4 * (size_t) i);
}

static int32_t i32_field(fb *f, size_t t, int id, int32_t dflt)
{
    size_t p = field(f, t, id);
    return p ? (int32_t) u32_at(f, p) : dflt;
}

static uint8_t u8_field(fb *f, size_t t, int id, uint8_t dflt)
{
    size_t p = field(f, t, id);
    if (!p)
        return dflt;
    if (p >= f->n) {
        f->bad = 1;
        return dflt;
    }
    return f->b[p];
}

/* String field copied into out (sanitised for the graph syntax: no spaces, '=' or ','). */
static void str_field(fb *f, size_t t, int id, char *out, size_t size)
{
    uint32_t n;
    size_t p = vec(f, t, id, 1, &n);
    size_t m = n < size - 1 ? n : size - 1;
    for (size_t i = 0; i < m; i++) {
        char c = (char) f->b[p + i];
        out[i] =
            (c <= ' ' || c == '=' || c == ',' || c == '#' || (unsigned char) c >= 127) ? '_' : c;
    }
    out[m] = 0;
}

/* ---- TFLite schema subset ------------------------------------------------------------------ */
enum {
    OP_ADD = 0,
    OP_AVERAGE_POOL_2D = 1,
    OP_CONCATENATION = 2,
    OP_CONV_2D = 3,
    OP_DEPTHWISE_CONV_2D = 4,
    OP_DEQUANTIZE = 6,
    OP_FULLY_CONNECTED = 9,
    OP_LOGISTIC = 14,
    OP_MAX_POOL_2D = 17,
    OP_MUL = 18,
    OP_RELU = 19,
    OP_RELU6 = 21,
    OP_RESHAPE = 22,
    OP_SOFTMAX = 25,
    OP_PAD = 34,
    OP_MEAN = 40,
    OP_SQUEEZE = 43,
    OP_QUANTIZE = 114,
    OP_HARD_SWISH = 117
};
enum { T_FLOAT32 = 0, T_FLOAT16 = 1, T_INT32 = 2, T_UINT8 = 3, T_INT64 = 4, T_INT8 = 9 };

typedef struct {
    char name[200];
    int type;
    int shape[8], rank;
    uint32_t buffer;
    size_t scale_pos, zp_pos; /* quantization vectors in the buffer (unaligned: memcpy) */
    uint32_t n_scale, n_zp;
    int qdim;
    int node;   /* producing xfer node, -1 when a constant */
    int pad[4]; /* pending PAD */
} tensor;

typedef struct {
    fb f;
    size_t model, sub, buffers;
    uint32_t n_buffers;
    tensor *t;
    uint32_t n_t;
    xf_gbuild *c;
    const char *path;
    xf_error *err;
    float in_mean, in_std;
    int in_quant;
} ctx;

static const char *op_name(int code)
{
    switch (code) {
    case OP_MUL:
        return "MUL";
    case OP_HARD_SWISH:
        return "HARD_SWISH";
    case 5:
        return "DEPTH_TO_SPACE";
    case 23:
        return "RESIZE_BILINEAR";
    case 28:
        return "TANH";
    case 41:
        return "SUB";
    case 49:
        return "SPLIT";
    case 53:
        return "CAST";
    case 77:
        return "SPLIT_V";
    default:
        return "builtin";
    }
}

static xf_status bad(ctx *x, const char *what)
{
    return xf__fail(x->err, XF_ERR_FORMAT, "%s: malformed TFLite file: %s", x->path, what);
}

static float get_scale(ctx *x, const tensor *t, int i)
{
    float v;
    memcpy(&v, x->f.b + t->scale_pos + 4 * (size_t) i, 4);
    return v;
}

static int64_t get_zp(ctx *x, const tensor *t, int i)
{
    int64_t v;
    if (!t->n_zp)
        return 0;
    memcpy(&v, x->f.b + t->zp_pos + 8 * (size_t) (t->n_zp == 1 ? 0 : i), 8);
    return v;
}

static size_t t_count(const tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (size_t) t->shape[i];
    return n;
}

/* Constant tensor as float (dequantized). Returns malloc'd data or NULL with err set. */
static float *constant(ctx *x, uint32_t ti)
{
    tensor *t = &x->t[ti];
    if (t->buffer == 0 || t->buffer >= x->n_buffers) {
        xf__fail(x->err, XF_ERR_FORMAT, "%s: tensor '%s' should be constant but has no data",
                 x->path, t->name);
        return NULL;
    }
    size_t bt = vec_table(&x->f, x->buffers, t->buffer);
    uint32_t nbytes;
    size_t data = vec(&x->f, bt, 0, 1, &nbytes);
    size_t n = t_count(t), es = t->type == T_FLOAT32 || t->type == T_INT32 ? 4
                                : t->type == T_FLOAT16                     ? 2
                                : t->type == T_UINT8 || t->type == T_INT8  ? 1
                                                                           : 0;
    if (x->f.bad || !es || n == 0 || n > ((size_t) 1 << 28) || nbytes != n * es) {
        xf__fail(x->err, es ? XF_ERR_FORMAT : XF_ERR_UNSUPPORTED,
                 "%s: tensor '%s': %u data bytes for %zu elements of type %d", x->path, t->name,
                 nbytes, n, t->type);
        return NULL;
    }
    int quant = t->type != T_FLOAT32 && t->type != T_FLOAT16;
    if (quant && t->n_scale == 0) {
        xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: tensor '%s': integer data without a scale",
                 x->path, t->name);
        return NULL;
    }
    int64_t chans = t->n_scale > 1 ? t->shape[t->qdim] : 1;
    if (quant && t->n_scale > 1 && (t->qdim < 0 || t->qdim >= t->rank || t->n_scale != chans)) {
        xf__fail(x->err, XF_ERR_FORMAT, "%s: tensor '%s': %u scales for quantized dimension %d",
                 x->path, t->name, t->n_scale, t->qdim);
        return NULL;
    }
    size_t inner = 1;
    for (int d = t->qdim + 1; d < t->rank; d++)
        inner *= (size_t) t->shape[d];
    float *out = malloc(n * sizeof(float));
    if (!out) {
        xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    const uint8_t *p = x->f.b + data;
    for (size_t i = 0; i < n; i++) {
        int ch = t->n_scale > 1 ? (int) ((i / inner) % (size_t) chans) : 0;
        double q;
        switch (t->type) {
        case T_FLOAT32:
            memcpy(&out[i], p + 4 * i, 4);
            continue;
        case T_FLOAT16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = xf__f16_to_f32(h);
            continue;
        }
        case T_INT32: {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            q = v;
            break;
        }
        case T_UINT8:
            q = p[i];
            break;
        default:
            q = (int8_t) p[i];
            break;
        }
        out[i] = (float) ((double) get_scale(x, t, ch) * (q - (double) get_zp(x, t, ch)));
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i])) {
            xf__fail(x->err, XF_ERR_VALUE, "%s: tensor '%s' has a non-finite value", x->path,
                     t->name);
            free(out);
            return NULL;
        }
    return out;
}

static xf_status read_tensors(ctx *x)
{
    uint32_t n;
    size_t elems = vec(&x->f, x->sub, 0, 4, &n);
    if (x->f.bad || n == 0 || n > 100000)
        return bad(x, "tensor list");
    x->t = calloc(n, sizeof *x->t);
    if (!x->t)
        return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    x->n_t = n;
    for (uint32_t i = 0; i < n; i++) {
        tensor *t = &x->t[i];
        size_t tt = vec_table(&x->f, elems, i);
        uint32_t rank;
        size_t sp = vec(&x->f, tt, 0, 4, &rank);
        if (x->f.bad || rank > 8)
            return bad(x, "tensor shape");
        t->rank = (int) rank;
        for (uint32_t d = 0; d < rank; d++) {
            t->shape[d] = (int32_t) u32_at(&x->f, sp + 4 * d);
            if (t->shape[d] < 1 || t->shape[d] > (1 << 24))
                return bad(x, "tensor dimension");
        }
        t->type = u8_field(&x->f, tt, 1, 0);
        t->buffer = (uint32_t) i32_field(&x->f, tt, 2, 0);
        str_field(&x->f, tt, 3, t->name, sizeof t->name);
        t->name[strcspn(t->name, ";")] = 0; /* fused names: keep the first */
        if (!t->name[0])
            snprintf(t->name, sizeof t->name, "t%u", i);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(x->t[j].name, t->name) == 0) {
                size_t l = strlen(t->name);
                snprintf(t->name + (l < 180 ? l : 180), 20, "_%u", i);
                break;
            }
        size_t q = table_field(&x->f, tt, 4);
        if (q) {
            t->scale_pos = vec(&x->f, q, 2, 4, &t->n_scale);
            t->zp_pos = vec(&x->f, q, 3, 8, &t->n_zp);
            t->qdim = i32_field(&x->f, q, 6, 0);
            if (t->n_zp > 1 && t->n_zp != t->n_scale)
                return bad(x, "zero points and scales differ in count");
        }
        t->node = -1;
        if (x->f.bad)
            return bad(x, "tensor table");
    }
    return XF_OK;
}

static int fused(ctx *x, int code, xf_act *act)
{
    (void) x;
    switch (code) {
    case 0:
        *act = XF_ACT_NONE;
        return 1;
    case 1:
        *act = XF_ACT_RELU;
        return 1;
    case 3:
        *act = XF_ACT_RELU6;
        return 1;
    default:
        return 0;
    }
}

static int add_node(ctx *x, xf_node *p, uint32_t out, xf_error *err)
{
    return xf__gb_add(x->c, p, x->t[out].name, NULL, err);
}

/* one operator */
static xf_status convert_op(ctx *x, int code, size_t op, const int32_t *in, uint32_t n_in,
                            uint32_t out)
{
    fb *f = &x->f;
    size_t opt = table_field(f, op, 4);
    xf_node p;
    memset(&p, 0, sizeof p);
    xf_act act = XF_ACT_NONE;
    tensor *o = &x->t[out];
    for (uint32_t i = 0; i < n_in; i++)
        if (in[i] < -1 || in[i] >= (int32_t) x->n_t)
            return bad(x, "operator input index");
    tensor *a = n_in > 0 && in[0] >= 0 ? &x->t[in[0]] : NULL;
    if (!a)
        return bad(x, "operator without input");
    int node = -1;
    int pending = a->pad[0] | a->pad[1] | a->pad[2] | a->pad[3];
    if (pending && code != OP_CONV_2D && code != OP_DEPTHWISE_CONV_2D)
        return xf__fail(x->err, XF_ERR_UNSUPPORTED,
                        "%s: PAD before op %d ('%s') cannot be "
                        "absorbed",
                        x->path, code, o->name);
    if (a->node < 0 && code != OP_QUANTIZE && code != OP_DEQUANTIZE)
        return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: op %d ('%s') on a constant input", x->path,
                        code, o->name);
    switch (code) {
    case OP_QUANTIZE:
    case OP_DEQUANTIZE:
        if (a->node < 0)
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: DEQUANTIZE of a constant ('%s')",
                            x->path, o->name);
        o->node = a->node;
        memcpy(o->pad, a->pad, sizeof o->pad);
        return XF_OK;
    case OP_PAD: {
        if (n_in < 2 || in[1] < 0)
            return bad(x, "PAD without paddings");
        tensor *pt = &x->t[in[1]];
        if (pt->type != T_INT32 && pt->type != T_INT64)
            return bad(x, "PAD paddings type");
        uint32_t nb;
        size_t bt = vec_table(f, x->buffers, pt->buffer < x->n_buffers ? pt->buffer : 0);
        size_t d = vec(f, bt, 0, 1, &nb);
        size_t es = pt->type == T_INT32 ? 4 : 8;
        if (f->bad || nb != 8 * es)
            return bad(x, "PAD paddings must be 4x2");
        int64_t v[8];
        for (int i = 0; i < 8; i++) {
            if (es == 4) {
                int32_t w;
                memcpy(&w, f->b + d + 4 * (size_t) i, 4);
                v[i] = w;
            } else {
                memcpy(&v[i], f->b + d + 8 * (size_t) i, 8);
            }
        }
        if (v[0] || v[1] || v[6] || v[7])
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: PAD on batch or channels ('%s')",
                            x->path, o->name);
        o->node = a->node;
        for (int i = 0; i < 4; i++) {
            if (v[2 + i] < 0 || v[2 + i] > 64)
                return bad(x, "PAD amount");
            o->pad[i] = a->pad[i] + (int) v[2 + i];
        }
        return XF_OK;
    }
    case OP_CONV_2D:
    case OP_DEPTHWISE_CONV_2D:
    case OP_AVERAGE_POOL_2D:
    case OP_MAX_POOL_2D: {
        int conv = code == OP_CONV_2D, dw = code == OP_DEPTHWISE_CONV_2D;
        int pool = !conv && !dw;
        int padding = u8_field(f, opt, 0, 0);
        p.sw = i32_field(f, opt, 1, 1);
        p.sh = i32_field(f, opt, 2, 1);
        int act_field = conv ? 3 : dw ? 4 : 5;
        if (!fused(x, u8_field(f, opt, act_field, 0), &act))
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': fused activation %d", x->path,
                            o->name, u8_field(f, opt, act_field, 0));
        if ((conv && (i32_field(f, opt, 4, 1) != 1 || i32_field(f, opt, 5, 1) != 1)) ||
            (dw && (i32_field(f, opt, 5, 1) != 1 || i32_field(f, opt, 6, 1) != 1)))
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': dilated convolution", x->path,
                            o->name);
        tensor *w = NULL;
        if (pool) {
            p.kw = i32_field(f, opt, 3, 1);
            p.kh = i32_field(f, opt, 4, 1);
            p.op = code == OP_MAX_POOL_2D ? XF_OP_MAXPOOL : XF_OP_AVGPOOL;
        } else {
            if (n_in < 2 || in[1] < 0)
                return bad(x, "convolution without weights");
            w = &x->t[in[1]];
            if (w->rank != 4)
                return bad(x, "convolution weights must be 4-D");
            p.kh = w->shape[1];
            p.kw = w->shape[2];
            p.op = conv ? XF_OP_CONV2D : XF_OP_DWCONV2D;
        }
        if (p.sh < 1 || p.sw < 1 || p.kh < 1 || p.kw < 1 || p.sh > 64 || p.sw > 64)
            return bad(x, "kernel or stride");
        const xf_node *src = &x->c->g.nodes[a->node];
        if (padding == 0) { /* SAME */
            if (pending)
                return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': SAME after PAD", x->path,
                                o->name);
            xf__gb_same_pad(src->h, p.kh, p.sh, &p.pt, &p.pb);
            xf__gb_same_pad(src->w, p.kw, p.sw, &p.pl, &p.pr);
        } else {
            p.pt = a->pad[0], p.pb = a->pad[1], p.pl = a->pad[2], p.pr = a->pad[3];
        }
        int64_t cin = src->c;
        if (conv) {
            p.cout = w->shape[0];
            if (w->shape[3] != cin)
                return xf__fail(x->err, XF_ERR_SHAPE,
                                "%s: '%s': weights for %d input channels, "
                                "input has %lld",
                                x->path, o->name, w->shape[3], (long long) cin);
        }
        if (dw) {
            p.mult = i32_field(f, opt, 3, 1);
            if (p.mult < 1 || w->shape[0] != 1 || w->shape[3] != cin * p.mult)
                return bad(x, "depthwise weights shape");
        }
        p.act = act;
        p.in[0] = a->node;
        p.n_in = 1;
        if ((node = add_node(x, &p, out, x->err)) < 0)
            return xf__wrap(x->err, x->path);
        if (!pool) {
            float *wd = constant(x, (uint32_t) in[1]);
            if (!wd)
                return x->err->code;
            int64_t cout = x->c->g.nodes[node].c;
            float *wt = wd;
            if (conv) { /* OHWI -> HWIO */
                wt = malloc(t_count(w) * sizeof(float));
                if (!wt) {
                    free(wd);
                    return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
                }
                size_t khw = (size_t) p.kh * (size_t) p.kw;
                for (int64_t co = 0; co < cout; co++)
                    for (size_t s = 0; s < khw; s++)
                        for (int64_t ci = 0; ci < cin; ci++)
                            wt[(s * (size_t) cin + (size_t) ci) * (size_t) cout + (size_t) co] =
                                wd[((size_t) co * khw + s) * (size_t) cin + (size_t) ci];
                free(wd);
            }
            float *bd = NULL;
            if (n_in > 2 && in[2] >= 0) {
                if (t_count(&x->t[in[2]]) != (size_t) cout) {
                    free(wt);
                    return bad(x, "bias size");
                }
                if (!(bd = constant(x, (uint32_t) in[2]))) {
                    free(wt);
                    return x->err->code;
                }
            }
            int64_t shape[4] = {p.kh, p.kw, cin, conv ? p.cout : p.mult};
            xf__gb_set_params(x->c, node, wt, shape, 4, bd);
        }
        o->node = node;
        return XF_OK;
    }
    case OP_ADD:
    case OP_CONCATENATION: {
        int is_add = code == OP_ADD;
        if (n_in < 2 || n_in > XF_NODE_MAX_IN)
            return bad(x, "ADD/CONCATENATION inputs");
        if (!fused(x, u8_field(f, opt, is_add ? 0 : 1, 0), &act))
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': fused activation", x->path,
                            o->name);
        if (!is_add) {
            int axis = i32_field(f, opt, 0, 0);
            if (axis != 3 && axis != -1)
                return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': concatenation on axis %d",
                                x->path, o->name, axis);
        }
        p.op = is_add ? XF_OP_ADD : XF_OP_CONCAT;
        p.act = act;
        for (uint32_t i = 0; i < n_in; i++) {
            if (in[i] < 0 || x->t[in[i]].node < 0)
                return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': constant operand", x->path,
                                o->name);
            p.in[i] = x->t[in[i]].node;
        }
        p.n_in = (int) n_in;
        break;
    }
    case OP_MEAN: {
        uint32_t na = 0;
        if (n_in < 2 || in[1] < 0)
            return bad(x, "MEAN axes");
        tensor *ax = &x->t[in[1]];
        size_t bt = vec_table(f, x->buffers, ax->buffer < x->n_buffers ? ax->buffer : 0);
        size_t d = vec(f, bt, 0, 1, &na);
        int32_t axes[2] = {0, 0};
        if (f->bad || ax->type != T_INT32 || na != 8)
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': MEAN must reduce axes 1 and 2",
                            x->path, o->name);
        memcpy(axes, f->b + d, 8);
        if (!((axes[0] == 1 && axes[1] == 2) || (axes[0] == 2 && axes[1] == 1)))
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': MEAN must reduce axes 1 and 2",
                            x->path, o->name);
        p.op = XF_OP_GAP;
        p.in[0] = a->node;
        p.n_in = 1;
        break;
    }
    case OP_RESHAPE:
    case OP_SQUEEZE: {
        const xf_node *src = &x->c->g.nodes[a->node];
        if (src->h == 1 && src->w == 1) { /* already (1,1,C): a view */
            o->node = a->node;
            return XF_OK;
        }
        p.op = XF_OP_FLATTEN;
        p.in[0] = a->node;
        p.n_in = 1;
        break;
    }
    case OP_FULLY_CONNECTED: {
        if (n_in < 2 || in[1] < 0)
            return bad(x, "FULLY_CONNECTED without weights");
        tensor *w = &x->t[in[1]];
        const xf_node *src = &x->c->g.nodes[a->node];
        int64_t cin = src->h * src->w * src->c;
        if (!fused(x, u8_field(f, opt, 0, 0), &act))
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': fused activation", x->path,
                            o->name);
        if (w->rank != 2 || w->shape[1] != cin)
            return xf__fail(x->err, XF_ERR_SHAPE, "%s: '%s': weights do not match %lld inputs",
                            x->path, o->name, (long long) cin);
        p.op = XF_OP_DENSE;
        p.cout = w->shape[0];
        p.act = act;
        p.in[0] = a->node;
        p.n_in = 1;
        if ((node = add_node(x, &p, out, x->err)) < 0)
            return xf__wrap(x->err, x->path);
        float *wd = constant(x, (uint32_t) in[1]), *bd = NULL;
        float *wt = wd ? malloc(t_count(w) * sizeof(float)) : NULL;
        if (!wt) {
            free(wd);
            return wd ? xf__fail(x->err, XF_ERR_NOMEM, "out of memory") : x->err->code;
        }
        for (int64_t co = 0; co < p.cout; co++) /* (out, in) -> (in, out) */
            for (int64_t ci = 0; ci < cin; ci++)
                wt[ci * p.cout + co] = wd[co * cin + ci];
        free(wd);
        if (n_in > 2 && in[2] >= 0 && !(bd = constant(x, (uint32_t) in[2]))) {
            free(wt);
            return x->err->code;
        }
        int64_t shape[2] = {cin, p.cout};
        xf__gb_set_params(x->c, node, wt, shape, 2, bd);
        o->node = node;
        return XF_OK;
    }
    case OP_SOFTMAX: {
        size_t bp = field(f, opt, 0);
        float beta = 1.0f;
        if (bp)
            memcpy(&beta, f->b + bp, 4);
        if (beta != 1.0f)
            return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: '%s': softmax beta %g", x->path,
                            o->name, (double) beta);
        p.op = XF_OP_SOFTMAX;
        p.in[0] = a->node;
        p.n_in = 1;
        break;
    }
    case OP_LOGISTIC:
    case OP_RELU:
    case OP_RELU6:
        act = code == OP_LOGISTIC ? XF_ACT_SIGMOID : code == OP_RELU ? XF_ACT_RELU : XF_ACT_RELU6;
        if ((node = xf__gb_activation(x->c, a->node, act, 0, o->name, x->err)) < 0)
            return xf__wrap(x->err, x->path);
        o->node = node;
        return XF_OK;
    default:
        return xf__fail(x->err, XF_ERR_UNSUPPORTED,
                        "%s: unsupported TFLite operator %s (code %d) producing '%s'", x->path,
                        op_name(code), code, o->name);
    }
    if ((node = add_node(x, &p, out, x->err)) < 0)
        return xf__wrap(x->err, x->path);
    o->node = node;
    return XF_OK;
}

static xf_status convert(ctx *x)
{
    fb *f = &x->f;
    if (f->n < 8 || memcmp(f->b + 4, "TFL3", 4) != 0)
        return xf__fail(x->err, XF_ERR_FORMAT, "%s: not a TFLite file (no TFL3 identifier)",
                        x->path);
    x->model = u32_at(f, 0); /* root table offset (deref() treats position 0 as absent) */
    if (x->model < 8 || x->model >= f->n)
        return bad(x, "root offset");
    uint32_t n_sub, n_codes, n_ops;
    size_t subs = vec(f, x->model, 2, 4, &n_sub);
    size_t codes = vec(f, x->model, 1, 4, &n_codes);
    x->buffers = vec(f, x->model, 4, 4, &x->n_buffers);
    if (f->bad || n_sub < 1)
        return bad(x, "model table");
    if (n_sub > 1)
        xf__log(XF_LOG_WARN, "%s: %u subgraphs; converting the first\n", x->path, n_sub);
    x->sub = vec_table(f, subs, 0);
    xf_status s = read_tensors(x);
    if (s)
        return s;
    uint32_t n_in, n_out;
    size_t ins = vec(f, x->sub, 1, 4, &n_in);
    vec(f, x->sub, 2, 4, &n_out);
    size_t ops = vec(f, x->sub, 3, 4, &n_ops);
    if (f->bad || n_in != 1 || n_out < 1 || n_ops == 0 || n_ops > 100000)
        return bad(x, "need one input, outputs and operators");
    uint32_t it = u32_at(f, ins);
    if (it >= x->n_t || x->t[it].rank != 4 || x->t[it].shape[0] != 1 || x->t[it].shape[3] != 3)
        return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: input must be one (1, H, W, 3) image",
                        x->path);
    tensor *in = &x->t[it];
    xf_node p;
    memset(&p, 0, sizeof p);
    p.op = XF_OP_INPUT;
    p.h = in->shape[1], p.w = in->shape[2], p.c = 3;
    if ((in->node = xf__gb_add(x->c, &p, in->name, NULL, x->err)) < 0)
        return xf__wrap(x->err, x->path);
    if ((in->type == T_UINT8 || in->type == T_INT8) && in->n_scale == 1) {
        /* real = scale * (q - zp), q = pixel (uint8) => mean zp/255, std 1/(255 scale) */
        double scale = (double) get_scale(x, in, 0), zp = (double) get_zp(x, in, 0);
        if (in->type == T_INT8)
            zp += 128; /* int8 input: q = pixel - 128 */
        if (!(scale > 0))
            return bad(x, "input scale");
        x->in_quant = 1;
        x->in_mean = (float) (zp / 255.0);
        x->in_std = (float) (1.0 / (255.0 * scale));
    }
    for (uint32_t i = 0; i < n_ops; i++) {
        size_t op = vec_table(f, ops, i);
        uint32_t oc = (uint32_t) i32_field(f, op, 0, 0), ni, no;
        size_t oi = vec(f, op, 1, 4, &ni), oo = vec(f, op, 2, 4, &no);
        if (f->bad || oc >= n_codes || no != 1 || ni > 16)
            return bad(x, "operator table");
        size_t code_t = vec_table(f, codes, oc);
        int code = i32_field(f, code_t, 3, 0);
        int dep = (int8_t) u8_field(f, code_t, 0, 0);
        if (dep > code)
            code = dep; /* older files keep the code in the deprecated byte */
        int32_t in_idx[16];
        for (uint32_t k = 0; k < ni; k++)
            in_idx[k] = (int32_t) u32_at(f, oi + 4 * k);
        uint32_t out = u32_at(f, oo);
        if (f->bad || out >= x->n_t)
            return bad(x, "operator output");
        if ((s = convert_op(x, code, op, in_idx, ni, out)))
            return s;
        if (f->bad)
            return bad(x, "operator options");
    }
    return XF_OK;
}

xf_status xfc_from_tflite(const char *path, xf_gbuild *c, float *mean, float *stdv,
                          int *input_quantized, xf_error *err)
{
    uint8_t *b;
    size_t len;
    xf_status s = xf__read_file(path, (size_t) 1 << 30, &b, &len, err);
    if (s)
        return s;
    ctx x;
    memset(&x, 0, sizeof x);
    x.f.b = b;
    x.f.n = (size_t) len;
    x.c = c;
    x.path = path;
    x.err = err;
    s = convert(&x);
    if (!s && x.in_quant) {
        for (int i = 0; i < 3; i++) {
            mean[i] = x.in_mean;
            stdv[i] = x.in_std;
        }
    }
    *input_quantized = x.in_quant;
    free(x.t);
    free(b);
    return s;
}
