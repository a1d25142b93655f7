/* onnx_values.c — the ONNX reader's values: the name table, node attributes, constants
 * (initializers and Constant nodes, decoded and bounds-checked) and constant folding of the
 * shape arithmetic torch.onnx.export emits (Shape results, Gather, Unsqueeze, Squeeze, Concat,
 * Reshape, Flatten, Slice, Transpose, Cast, ConstantOfShape, Add/Sub/Mul/Div).
 * It is not: the mapping of operators on feature maps (onnx.c).
 */
#include "onnx_ctx.h"

#include <math.h>
#include <string.h>

/* ---- value table --------------------------------------------------------------------------- */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char) *s++) * 1099511628211ull;
    return h;
}

value *ox_lookup(ctx *x, const char *name, int create)
{
    if (!name || !*name)
        return NULL;
    for (size_t k = hash(name) & (x->cap - 1);; k = (k + 1) & (x->cap - 1)) {
        if (!x->v[k].name) {
            if (!create)
                return NULL;
            x->v[k].name = name;
            return &x->v[k];
        }
        if (strcmp(x->v[k].name, name) == 0)
            return &x->v[k];
    }
}

xf_status ox_fail_node(ctx *x, const Onnx__NodeProto *nd, xf_status code, const char *why)
{
    return xf__fail(x->err, code, "%s: node '%s' (%s): %s", x->path,
                    nd->name && *nd->name ? nd->name : (nd->n_output ? nd->output[0] : "?"),
                    nd->op_type ? nd->op_type : "?", why);
}

/* ---- attributes ---------------------------------------------------------------------------- */
const Onnx__AttributeProto *ox_attr(const Onnx__NodeProto *nd, const char *name)
{
    for (size_t k = 0; k < nd->n_attribute; k++)
        if (nd->attribute[k]->name && strcmp(nd->attribute[k]->name, name) == 0)
            return nd->attribute[k];
    return NULL;
}

int64_t ox_attr_i(const Onnx__NodeProto *nd, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = ox_attr(nd, name);
    return a && a->has_i ? a->i : def;
}

float ox_attr_f(const Onnx__NodeProto *nd, const char *name, float def)
{
    const Onnx__AttributeProto *a = ox_attr(nd, name);
    return a && a->has_f ? a->f : def;
}

/* ints attribute into out[0..max); returns the count, -1 when longer than max */
int ox_attr_ints(const Onnx__NodeProto *nd, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a = ox_attr(nd, name);
    if (!a)
        return 0;
    if (a->n_ints > (size_t) max)
        return -1;
    for (size_t k = 0; k < a->n_ints; k++)
        out[k] = a->ints[k];
    return (int) a->n_ints;
}

const char *ox_attr_s(const Onnx__NodeProto *nd, const char *name, char *buf, size_t size)
{
    const Onnx__AttributeProto *a = ox_attr(nd, name);
    if (!a || !a->has_s)
        return NULL;
    size_t n = a->s.len < size - 1 ? a->s.len : size - 1;
    if (n)
        memcpy(buf, a->s.data, n);
    buf[n] = 0;
    return buf;
}

/* ---- constants ----------------------------------------------------------------------------- */
void ox_const_free(value *v)
{
    free(v->f);
    free(v->i);
    v->f = NULL;
    v->i = NULL;
}

/* A TensorProto into v (float32 data for float types, int64 for integer types). */
xf_status ox_const_from_tensor(ctx *x, const Onnx__TensorProto *t, value *v)
{
    const char *nm = t->name ? t->name : "?";
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return xf__fail(x->err, XF_ERR_UNSUPPORTED,
                        "%s: tensor '%s' keeps its data in an external "
                        "file; re-export with the weights inside the .onnx (under 2 GB)",
                        x->path, nm);
    if (t->n_dims > MAX_RANK)
        return xf__fail(x->err, XF_ERR_BOUNDS, "%s: tensor '%s' has %zu dimensions", x->path, nm,
                        t->n_dims);
    int64_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || (t->dims[d] > 0 && n > MAX_CONST / t->dims[d]))
            return xf__fail(x->err, XF_ERR_BOUNDS, "%s: tensor '%s': bad or huge dimensions",
                            x->path, nm);
        n *= t->dims[d];
        v->dims[d] = t->dims[d];
    }
    ox_const_free(v); /* never holds data here; kept safe for any caller */
    v->rank = (int) t->n_dims;
    v->n = n;
    v->is_const = 1;
    v->defined = 1;
    int type = t->has_data_type ? t->data_type : 0;
    size_t esize =
        type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32
            ? 4
        : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
                type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
            ? 8
        : type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ? 2
        : type == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ||
                type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ||
                type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8
            ? 1
            : 0;
    if (!esize)
        return xf__fail(x->err, XF_ERR_UNSUPPORTED, "%s: tensor '%s': data type %d not supported",
                        x->path, nm, type);
    int is_float = type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                   type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
                   type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    size_t have = t->has_raw_data                                 ? t->raw_data.len / esize
                  : type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT  ? t->n_float_data
                  : type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64  ? t->n_int64_data
                  : type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                                                                  : t->n_int32_data;
    if (have != (size_t) n || (t->has_raw_data && t->raw_data.len != (size_t) n * esize))
        return xf__fail(x->err, XF_ERR_FORMAT, "%s: tensor '%s': %zu values for %lld elements",
                        x->path, nm, have, (long long) n);
    size_t cnt = n ? (size_t) n : 1;
    if (is_float ? !(v->f = malloc(cnt * sizeof(float))) : !(v->i = malloc(cnt * sizeof(int64_t))))
        return xf__fail(x->err, XF_ERR_NOMEM, "%s: out of memory for tensor '%s'", x->path, nm);
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    for (int64_t k = 0; k < n; k++) {
        double d = 0;
        int64_t iv = 0;
        switch (type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
            float f;
            if (raw)
                memcpy(&f, raw + k * 4, 4);
            else
                f = t->float_data[k];
            d = (double) f;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
            if (raw)
                memcpy(&d, raw + k * 8, 8);
            else
                d = t->double_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: {
            uint16_t h;
            if (raw)
                memcpy(&h, raw + k * 2, 2);
            else
                h = (uint16_t) t->int32_data[k];
            d = (double) xf__f16_to_f32(h);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
            if (raw)
                memcpy(&iv, raw + k * 8, 8);
            else
                iv = t->int64_data[k];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
            int32_t i32;
            if (raw)
                memcpy(&i32, raw + k * 4, 4);
            else
                i32 = t->int32_data[k];
            iv = i32;
            break;
        }
        default: /* one-byte types */
            iv = raw ? (type == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int8_t) raw[k] : raw[k])
                     : t->int32_data[k];
            break;
        }
        if (is_float) {
            if (!isfinite(d))
                return xf__fail(x->err, XF_ERR_VALUE, "%s: tensor '%s' holds NaN or Inf", x->path,
                                nm);
            v->f[k] = (float) d;
        } else {
            v->i[k] = iv;
        }
    }
    return XF_OK;
}

double ox_cval(const value *v, int64_t k)
{
    return v->f ? (double) v->f[k] : (double) v->i[k];
}

/* element k as an integer, clamped to +-2^60 (a float constant may hold anything) */
int64_t ox_ival(const value *v, int64_t k)
{
    double d = ox_cval(v, k), lim = 1152921504606846976.0;
    return d > lim ? (int64_t) lim : d < -lim ? -(int64_t) lim : (int64_t) d;
}

/* a * b when both are in [0, MAX_CONST] and so is the product, else -1 */
int64_t ox_mul_dims(int64_t a, int64_t b)
{
    if (a < 0 || b < 0 || (b > 0 && a > MAX_CONST / b))
        return -1;
    return a * b;
}

/* a new constant of the given dims; int64 or float storage */
xf_status ox_const_new(ctx *x, value *v, int rank, const int64_t *dims, int is_int)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0 || (dims[d] > 0 && n > MAX_CONST / dims[d]))
            return xf__fail(x->err, XF_ERR_BOUNDS, "%s: constant '%s': bad dimensions", x->path,
                            v->name);
        n *= dims[d];
        v->dims[d] = dims[d];
    }
    ox_const_free(v);
    size_t cnt = n ? (size_t) n : 1, bytes = cnt * (is_int ? sizeof(int64_t) : sizeof(float));
    if (x->fold_budget && (bytes > x->fold_budget || x->folded > x->fold_budget - bytes))
        return xf__fail(x->err, XF_ERR_BOUNDS,
                        "%s: constant '%s': folding would make %.1f MiB of constants from a "
                        "file of this size (bound %.1f MiB)",
                        x->path, v->name, (double) (x->folded + bytes) / 1048576.0,
                        (double) x->fold_budget / 1048576.0);
    x->folded += bytes;
    v->rank = rank;
    v->n = n;
    v->is_const = v->defined = 1;
    if (is_int ? !(v->i = calloc(cnt, sizeof(int64_t))) : !(v->f = calloc(cnt, sizeof(float))))
        return xf__fail(x->err, XF_ERR_NOMEM, "out of memory");
    return XF_OK;
}

/* stores d, clamped to the storage type's range (folded arithmetic may overflow) */
void ox_cset(value *v, int64_t k, double d)
{
    double lim = v->f ? 3.4e38 : 1152921504606846976.0;
    d = d > lim ? lim : d < -lim ? -lim : d == d ? d : 0;
    if (v->f)
        v->f[k] = (float) d;
    else
        v->i[k] = (int64_t) d;
}

/* the value of input k of nd, defined (an error otherwise) */
value *ox_in_val(ctx *x, const Onnx__NodeProto *nd, size_t k, xf_status *s)
{
    value *v = k < nd->n_input ? ox_lookup(x, nd->input[k], 0) : NULL;
    if (!v || !v->defined) {
        char why[300];
        snprintf(why, sizeof why,
                 "input %zu '%s' is not produced by an earlier node (missing, or "
                 "the graph is cyclic or unsorted)",
                 k, k < nd->n_input ? nd->input[k] : "");
        *s = ox_fail_node(x, nd, XF_ERR_FORMAT, why);
        return NULL;
    }
    return v;
}

int ox_is_op(const Onnx__NodeProto *nd, const char *op)
{
    return nd->op_type && strcmp(nd->op_type, op) == 0;
}

/* the scalar constant input k of nd (initializer or Constant node output), or NAN */
double ox_scalar_in(ctx *x, const Onnx__NodeProto *nd, size_t k)
{
    if (k >= nd->n_input)
        return (double) NAN;
    value *v = ox_lookup(x, nd->input[k], 0); /* Constant nodes are evaluated before the walk */
    return v && v->is_const && v->n == 1 ? ox_cval(v, 0) : (double) NAN;
}

/* ---- constant folding ---------------------------------------------------------------------- */
int ox_all_const(ctx *x, const Onnx__NodeProto *nd)
{
    for (size_t k = 0; k < nd->n_input; k++) {
        if (!*nd->input[k])
            continue;
        value *v = ox_lookup(x, nd->input[k], 0);
        if (!v || !v->defined || !v->is_const)
            return 0;
    }
    return 1;
}

/* Slice (any axes and steps) and Transpose of a constant: out[idx] = a[src(idx)] */
static xf_status ox_fold_gather_nd(ctx *x, const Onnx__NodeProto *nd, const value *a, value *out)
{
    xf_status s = XF_OK;
    int r = a->rank;
    int64_t start[MAX_RANK], step[MAX_RANK], odims[MAX_RANK], perm[MAX_RANK];
    for (int d = 0; d < r; d++)
        start[d] = 0, step[d] = 1, odims[d] = a->dims[d], perm[d] = d;
    if (strcmp(nd->op_type, "Transpose") == 0) {
        int n = ox_attr_ints(nd, "perm", perm, MAX_RANK);
        if (n == 0)
            for (int d = 0; d < r; d++)
                perm[d] = r - 1 - d;
        else if (n != r)
            return ox_fail_node(x, nd, XF_ERR_SHAPE, "perm does not match the rank");
        unsigned char seen[MAX_RANK] = {0};
        for (int d = 0; d < r; d++) {
            if (perm[d] < 0 || perm[d] >= r || seen[perm[d]]++)
                return ox_fail_node(x, nd, XF_ERR_SHAPE, "perm is not a permutation");
            odims[d] = a->dims[perm[d]];
        }
    } else {
        int64_t st[MAX_RANK], en[MAX_RANK], ax[MAX_RANK], sp[MAX_RANK];
        int n = 0;
        value *vs[4] = {NULL, NULL, NULL, NULL};
        for (int k = 0; k < 4; k++)
            if (nd->n_input > (size_t) k + 1 && *nd->input[k + 1] &&
                !(vs[k] = ox_in_val(x, nd, (size_t) k + 1, &s)))
                return s;
        if (vs[0] && vs[1]) {
            n = (int) vs[0]->n;
            if (n > MAX_RANK || vs[1]->n != n || (vs[2] && vs[2]->n != n) ||
                (vs[3] && vs[3]->n != n))
                return ox_fail_node(x, nd, XF_ERR_SHAPE, "starts/ends/axes/steps lengths differ");
            for (int k = 0; k < n; k++) {
                st[k] = (int64_t) fmax(fmin(ox_cval(vs[0], k), 1e15), -1e15);
                en[k] = (int64_t) fmax(fmin(ox_cval(vs[1], k), 1e15), -1e15);
                ax[k] = vs[2] ? ox_ival(vs[2], k) : k;
                sp[k] = vs[3] ? ox_ival(vs[3], k) : 1;
            }
        } else { /* opset < 10: attributes */
            n = ox_attr_ints(nd, "starts", st, MAX_RANK);
            if (n < 0 || ox_attr_ints(nd, "ends", en, MAX_RANK) != n)
                return ox_fail_node(x, nd, XF_ERR_SHAPE, "bad starts/ends");
            int na = ox_attr_ints(nd, "axes", ax, MAX_RANK);
            for (int k = 0; k < n; k++)
                ax[k] = na ? ax[k] : k, sp[k] = 1;
        }
        for (int k = 0; k < n; k++) {
            int64_t d = ax[k] < 0 ? ax[k] + r : ax[k], dim = d >= 0 && d < r ? a->dims[d] : 0;
            if (d < 0 || d >= r || sp[k] == 0)
                return ox_fail_node(x, nd, XF_ERR_SHAPE, "bad axis or zero step");
            int64_t b = st[k] < 0 ? st[k] + dim : st[k], e = en[k] < 0 ? en[k] + dim : en[k];
            if (sp[k] > 0) {
                b = b < 0 ? 0 : b > dim ? dim : b;
                e = e < 0 ? 0 : e > dim ? dim : e;
                odims[d] = e > b ? (e - b + sp[k] - 1) / sp[k] : 0;
            } else {
                b = b < 0 ? -1 : b > dim - 1 ? dim - 1 : b;
                e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
                odims[d] = b > e ? (b - e + (-sp[k]) - 1) / (-sp[k]) : 0;
            }
            start[d] = b, step[d] = sp[k];
        }
    }
    if ((s = ox_const_new(x, out, r, odims, a->i != NULL)))
        return s;
    int64_t idx[MAX_RANK] = {0};
    for (int64_t k = 0; k < out->n; k++) {
        int64_t src = 0;
        for (int d = 0; d < r; d++) { /* source coordinate along input axis d */
            int64_t c = 0;
            for (int e = 0; e < r; e++)
                if (perm[e] == d)
                    c = start[e] + idx[e] * step[e];
            src = src * a->dims[d] + c;
        }
        ox_cset(out, k, ox_cval(a, src));
        for (int d = r - 1; d >= 0; d--) { /* next output index */
            if (++idx[d] < odims[d])
                break;
            idx[d] = 0;
        }
    }
    return XF_OK;
}

xf_status ox_fold(ctx *x, const Onnx__NodeProto *nd, value *out)
{
    const char *op = nd->op_type;
    xf_status s = XF_OK;
    value *a = nd->n_input ? ox_in_val(x, nd, 0, &s) : NULL;
    if (s)
        return s;
    if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0 || strcmp(op, "Cast") == 0) {
        int to = (int) ox_attr_i(nd, "to", 1);
        int is_int = strcmp(op, "Cast") == 0 ? to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
                                                   to != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
                                             : a->i != NULL;
        if ((s = ox_const_new(x, out, a->rank, a->dims, is_int)))
            return s;
        for (int64_t k = 0; k < a->n; k++)
            ox_cset(out, k, ox_cval(a, k));
        return XF_OK;
    }
    if (strcmp(op, "Unsqueeze") == 0 || strcmp(op, "Squeeze") == 0 || strcmp(op, "Reshape") == 0 ||
        strcmp(op, "Flatten") == 0) {
        int64_t dims[MAX_RANK];
        int rank = 0;
        if (strcmp(op, "Reshape") == 0) {
            value *sh = ox_in_val(x, nd, 1, &s);
            if (!sh)
                return s;
            if (sh->n > MAX_RANK)
                return ox_fail_node(x, nd, XF_ERR_BOUNDS, "target rank too large");
            int64_t known = 1, neg = -1;
            rank = (int) sh->n;
            for (int d = 0; d < rank; d++) {
                dims[d] = ox_ival(sh, d);
                if (dims[d] == 0 && d < a->rank)
                    dims[d] = a->dims[d];
                if (dims[d] == -1)
                    neg = d;
                else if (dims[d] < 0)
                    return ox_fail_node(x, nd, XF_ERR_SHAPE, "bad target shape");
                else
                    known = ox_mul_dims(known, dims[d] ? dims[d] : 1);
            }
            if (neg >= 0)
                dims[neg] = known ? a->n / known : 0;
        } else if (strcmp(op, "Flatten") == 0) {
            int64_t ax = ox_attr_i(nd, "axis", 1), l = 1;
            if (ax < 0)
                ax += a->rank;
            for (int d = 0; d < ax && d < a->rank; d++)
                l = ox_mul_dims(l, a->dims[d]);
            rank = 2, dims[0] = l, dims[1] = l ? a->n / l : 0;
        } else {
            int64_t axes[MAX_RANK];
            int na = ox_attr_ints(nd, "axes", axes, MAX_RANK);
            if (nd->n_input > 1 && *nd->input[1]) {
                value *av = ox_in_val(x, nd, 1, &s);
                if (!av)
                    return s;
                na = av->n <= MAX_RANK ? (int) av->n : -1;
                for (int k = 0; k < na; k++)
                    axes[k] = ox_ival(av, k);
            }
            if (na < 0)
                return ox_fail_node(x, nd, XF_ERR_BOUNDS, "too many axes");
            int unsq = op[0] == 'U', orank = unsq ? a->rank + na : a->rank;
            if (orank > MAX_RANK)
                return ox_fail_node(x, nd, XF_ERR_BOUNDS, "rank too large");
            unsigned char mark[MAX_RANK] = {0};
            for (int k = 0; k < na; k++) {
                int64_t ax = axes[k] < 0 ? axes[k] + orank : axes[k];
                if (ax < 0 || ax >= orank)
                    return ox_fail_node(x, nd, XF_ERR_SHAPE, "axis out of range");
                mark[ax] = 1;
            }
            for (int d = 0, src = 0; d < orank; d++) {
                if (unsq && mark[d])
                    dims[rank++] = 1;
                else if (unsq)
                    dims[rank++] = a->dims[src++];
                else if (!(mark[d] || (na == 0 && a->dims[d] == 1)))
                    dims[rank++] = a->dims[d];
            }
        }
        int64_t prod = 1;
        for (int d = 0; d < rank; d++)
            prod = ox_mul_dims(prod, dims[d]);
        if (prod != a->n)
            return ox_fail_node(x, nd, XF_ERR_SHAPE, "element count changes");
        if ((s = ox_const_new(x, out, rank, dims, a->i != NULL)))
            return s;
        for (int64_t k = 0; k < a->n; k++)
            ox_cset(out, k, ox_cval(a, k));
        return XF_OK;
    }
    if (strcmp(op, "Gather") == 0) {
        value *ix = ox_in_val(x, nd, 1, &s);
        if (!ix)
            return s;
        if (ox_attr_i(nd, "axis", 0) != 0 || a->rank != 1)
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED,
                                "constant Gather beyond axis 0 of a vector");
        if ((s = ox_const_new(x, out, ix->rank, ix->dims, a->i != NULL)))
            return s;
        for (int64_t k = 0; k < ix->n; k++) {
            int64_t j = ox_ival(ix, k);
            j = j < 0 ? j + a->n : j;
            if (j < 0 || j >= a->n)
                return ox_fail_node(x, nd, XF_ERR_BOUNDS, "index out of range");
            ox_cset(out, k, ox_cval(a, j));
        }
        return XF_OK;
    }
    if (strcmp(op, "Concat") == 0) {
        int64_t total = 0;
        for (size_t k = 0; k < nd->n_input; k++) {
            value *v = ox_in_val(x, nd, k, &s);
            if (!v)
                return s;
            if (v->rank > 1)
                return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "constant Concat of non-vectors");
            total += v->n;
        }
        if ((s = ox_const_new(x, out, 1, &total, a->i != NULL)))
            return s;
        int64_t o = 0;
        for (size_t k = 0; k < nd->n_input; k++) {
            value *v = ox_lookup(x, nd->input[k], 0);
            for (int64_t j = 0; j < v->n; j++)
                ox_cset(out, o++, ox_cval(v, j));
        }
        return XF_OK;
    }
    if (strcmp(op, "Slice") == 0 || strcmp(op, "Transpose") == 0)
        return ox_fold_gather_nd(x, nd, a, out);
    if (strcmp(op, "ConstantOfShape") == 0) {
        int64_t dims[MAX_RANK];
        if (a->n > MAX_RANK)
            return ox_fail_node(x, nd, XF_ERR_BOUNDS, "rank too large");
        int64_t total = 1;
        for (int64_t k = 0; k < a->n; k++)
            total = ox_mul_dims(total, dims[k] = ox_ival(a, k));
        if (total < 0 || total > ((int64_t) 1 << 24)) /* shape arithmetic never needs more */
            return ox_fail_node(x, nd, XF_ERR_BOUNDS, "constant of more than 2^24 elements");
        const Onnx__AttributeProto *va = ox_attr(nd, "value");
        value fill;
        memset(&fill, 0, sizeof fill);
        fill.name = "value";
        if (va && va->t && (s = ox_const_from_tensor(x, va->t, &fill)))
            return s;
        if ((s = ox_const_new(x, out, (int) a->n, dims, fill.i != NULL)))
            goto cos_done;
        for (int64_t k = 0; k < out->n; k++)
            ox_cset(out, k, fill.n ? ox_cval(&fill, 0) : 0);
    cos_done:
        ox_const_free(&fill);
        return s;
    }
    static const char *const bin[] = {"Add", "Sub", "Mul", "Div"};
    for (int o = 0; o < 4; o++) {
        if (strcmp(op, bin[o]) != 0)
            continue;
        value *b = ox_in_val(x, nd, 1, &s);
        if (!b)
            return s;
        const value *big = a->n >= b->n ? a : b;
        if (!(a->n == b->n || a->n == 1 || b->n == 1))
            return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "constant broadcasting beyond scalars");
        if ((s = ox_const_new(x, out, big->rank, big->dims, a->i && b->i)))
            return s;
        for (int64_t k = 0; k < big->n; k++) {
            double p = ox_cval(a, a->n == 1 ? 0 : k), q = ox_cval(b, b->n == 1 ? 0 : k), r;
            r = o == 0 ? p + q : o == 1 ? p - q : o == 2 ? p * q : (q != 0 ? p / q : 0);
            if (o == 3 && a->i && b->i && q != 0)
                r = (double) ((int64_t) p / (int64_t) q);
            ox_cset(out, k, r);
        }
        return XF_OK;
    }
    return ox_fail_node(x, nd, XF_ERR_UNSUPPORTED, "not supported on constants");
}
