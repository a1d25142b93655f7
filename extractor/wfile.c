/* wfile.c — the one reader and writer of xfer weights files (GGUF v3 subset, weights/FORMAT.md).
 *
 * It is: bounded parsing of the header, metadata and tensor table of an mmapped file, with a
 * specific status for each malformation; NaN/Inf and overlap checks; CRC32C of the data
 * section; the writer (complete files only, through io.c). It is not: graph semantics (graph.c) or
 * model policy (model.c); it knows keys only as typed values.
 */
#include "wfile.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAME 256

/* ---- bounded cursor ------------------------------------------------------------------------ */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    const char *name;
    xf_error *err;
} cursor;

static xf_status truncated(cursor *c, const char *what)
{
    return xf__fail(c->err, XF_ERR_IO, "%s: truncated file: %zu bytes end inside %s at offset %zu",
                    c->name, c->len, what, c->pos);
}

static xf_status rd(cursor *c, void *out, size_t n, const char *what)
{
    if (n > c->len - c->pos)
        return truncated(c, what);
    memcpy(out, c->p + c->pos, n);
    c->pos += n;
    return XF_OK;
}

static xf_status rd_u32(cursor *c, uint32_t *v, const char *what)
{
    return rd(c, v, 4, what);
}

static xf_status rd_u64(cursor *c, uint64_t *v, const char *what)
{
    return rd(c, v, 8, what);
}

/* Reads a GGUF string into a fresh NUL-terminated copy; max bounds its length. */
static xf_status rd_str(cursor *c, char **out, uint64_t max, const char *what)
{
    uint64_t n;
    xf_status s = rd_u64(c, &n, what);
    if (s)
        return s;
    if (n > max)
        return xf__fail(c->err, XF_ERR_BOUNDS, "%s: %s: string length %llu exceeds limit %llu",
                        c->name, what, (unsigned long long) n, (unsigned long long) max);
    if (n > c->len - c->pos)
        return truncated(c, what);
    char *str = malloc((size_t) n + 1);
    if (!str)
        return xf__fail(c->err, XF_ERR_NOMEM, "%s: out of memory", c->name);
    memcpy(str, c->p + c->pos, (size_t) n);
    str[n] = 0;
    if (strlen(str) != n) {
        free(str);
        return xf__fail(c->err, XF_ERR_FORMAT, "%s: %s: string contains a NUL byte", c->name, what);
    }
    c->pos += (size_t) n;
    *out = str;
    return XF_OK;
}

static size_t scalar_size(uint32_t t)
{
    switch (t) {
    case XF_GGUF_U8:
    case XF_GGUF_I8:
    case XF_GGUF_BOOL:
        return 1;
    case XF_GGUF_U16:
    case XF_GGUF_I16:
        return 2;
    case XF_GGUF_U32:
    case XF_GGUF_I32:
    case XF_GGUF_F32:
        return 4;
    case XF_GGUF_U64:
    case XF_GGUF_I64:
    case XF_GGUF_F64:
        return 8;
    }
    return 0;
}

/* Reads one numeric scalar of type t as double (and exact u64/i64). */
static xf_status rd_num(cursor *c, uint32_t t, xf_kv *kv, double *d, const char *what)
{
    uint8_t b[8] = {0};
    size_t n = scalar_size(t);
    xf_status s = rd(c, b, n, what);
    if (s)
        return s;
    double v = 0;
    switch (t) {
    case XF_GGUF_U8:
        v = b[0];
        break;
    case XF_GGUF_BOOL:
        if (b[0] > 1)
            return xf__fail(c->err, XF_ERR_FORMAT, "%s: %s: bool value %u", c->name, what, b[0]);
        v = b[0];
        break;
    case XF_GGUF_I8:
        v = (int8_t) b[0];
        break;
    case XF_GGUF_U16: {
        uint16_t x;
        memcpy(&x, b, 2);
        v = x;
        break;
    }
    case XF_GGUF_I16: {
        int16_t x;
        memcpy(&x, b, 2);
        v = x;
        break;
    }
    case XF_GGUF_U32: {
        uint32_t x;
        memcpy(&x, b, 4);
        v = x;
        break;
    }
    case XF_GGUF_I32: {
        int32_t x;
        memcpy(&x, b, 4);
        v = x;
        break;
    }
    case XF_GGUF_F32: {
        float x;
        memcpy(&x, b, 4);
        v = (double) x;
        break;
    }
    case XF_GGUF_U64: {
        uint64_t x;
        memcpy(&x, b, 8);
        v = (double) x;
        if (kv)
            kv->num.u = x;
        break;
    }
    case XF_GGUF_I64: {
        int64_t x;
        memcpy(&x, b, 8);
        v = (double) x;
        if (kv)
            kv->num.i = x;
        break;
    }
    case XF_GGUF_F64: {
        double x;
        memcpy(&x, b, 8);
        v = x;
        break;
    }
    }
    if (kv) {
        kv->num.f = v;
        if (t != XF_GGUF_U64 && t != XF_GGUF_I64 && t != XF_GGUF_F32 && t != XF_GGUF_F64) {
            kv->num.i = (int64_t) v; /* the other integer types are exact in a double */
            kv->num.u = v < 0 ? 0 : (uint64_t) v;
        }
    }
    *d = v;
    return XF_OK;
}

static void kv_clear(xf_kv *kv)
{
    free(kv->key);
    free(kv->str);
    if (kv->strs)
        for (uint64_t i = 0; i < kv->count; i++)
            free(kv->strs[i]);
    free(kv->strs);
    free(kv->nums);
}

static xf_status read_kv(cursor *c, xf_kv *kv)
{
    xf_status s = rd_str(c, &kv->key, MAX_NAME, "metadata key");
    if (s)
        return s;
    if (!kv->key[0])
        return xf__fail(c->err, XF_ERR_FORMAT, "%s: empty metadata key", c->name);
    if ((s = rd_u32(c, &kv->type, kv->key)))
        return s;
    kv->count = 1;
    if (kv->type == XF_GGUF_STR)
        return rd_str(c, &kv->str, XF_WFILE_MAX_STR, kv->key);
    if (kv->type == XF_GGUF_ARR) {
        uint64_t n;
        if ((s = rd_u32(c, &kv->arr_type, kv->key)) || (s = rd_u64(c, &n, kv->key)))
            return s;
        if (n > XF_WFILE_MAX_ARR)
            return xf__fail(c->err, XF_ERR_BOUNDS, "%s: key '%s': array count %llu exceeds %u",
                            c->name, kv->key, (unsigned long long) n, XF_WFILE_MAX_ARR);
        if (kv->arr_type == XF_GGUF_STR) {
            /* each string takes at least 8 bytes: bound the count by what remains */
            if (n > (c->len - c->pos) / 8)
                return truncated(c, kv->key);
            kv->strs = calloc((size_t) n + 1, sizeof *kv->strs);
            if (!kv->strs)
                return xf__fail(c->err, XF_ERR_NOMEM, "%s: out of memory", c->name);
            kv->count = n;
            for (uint64_t i = 0; i < n; i++)
                if ((s = rd_str(c, &kv->strs[i], XF_WFILE_MAX_STR, kv->key)))
                    return s;
            return XF_OK;
        }
        size_t es = scalar_size(kv->arr_type);
        if (es == 0)
            return xf__fail(
                c->err, kv->arr_type == XF_GGUF_ARR ? XF_ERR_UNSUPPORTED : XF_ERR_FORMAT,
                "%s: key '%s': array element type %u not allowed", c->name, kv->key, kv->arr_type);
        size_t bytes;
        if (!xf__mul_size((size_t) n, es, &bytes) || bytes > c->len - c->pos)
            return truncated(c, kv->key);
        kv->nums = malloc(((size_t) n + 1) * sizeof(double));
        if (!kv->nums)
            return xf__fail(c->err, XF_ERR_NOMEM, "%s: out of memory", c->name);
        kv->count = n;
        for (uint64_t i = 0; i < n; i++)
            if ((s = rd_num(c, kv->arr_type, NULL, &kv->nums[i], kv->key)))
                return s;
        return XF_OK;
    }
    if (scalar_size(kv->type) == 0)
        return xf__fail(c->err, XF_ERR_FORMAT, "%s: key '%s': unknown value type %u", c->name,
                        kv->key, kv->type);
    double d;
    return rd_num(c, kv->type, kv, &d, kv->key);
}

static int cmp_kv_key(const void *a, const void *b)
{
    return strcmp((*(const xf_kv *const *) a)->key, (*(const xf_kv *const *) b)->key);
}

static int cmp_t_name(const void *a, const void *b)
{
    return strcmp((*(const xf_wtensor *const *) a)->name, (*(const xf_wtensor *const *) b)->name);
}

static int cmp_t_off(const void *a, const void *b)
{
    uint64_t x = (*(const xf_wtensor *const *) a)->offset;
    uint64_t y = (*(const xf_wtensor *const *) b)->offset;
    return x < y ? -1 : x > y;
}

static xf_status read_tensor_info(cursor *c, xf_wtensor *t)
{
    xf_status s = rd_str(c, &t->name, MAX_NAME, "tensor name");
    if (s)
        return s;
    if (!t->name[0])
        return xf__fail(c->err, XF_ERR_FORMAT, "%s: empty tensor name", c->name);
    uint32_t nd;
    if ((s = rd_u32(c, &nd, t->name)))
        return s;
    if (nd < 1 || nd > XF_WFILE_MAX_DIMS)
        return xf__fail(c->err, XF_ERR_BOUNDS, "%s: tensor '%s': %u dimensions (1..%d allowed)",
                        c->name, t->name, nd, XF_WFILE_MAX_DIMS);
    t->n_dims = (int) nd;
    size_t n = 1;
    for (uint32_t i = 0; i < nd; i++) {
        uint64_t d;
        if ((s = rd_u64(c, &d, t->name)))
            return s;
        if (d < 1 || d > INT32_MAX || !xf__mul_size(n, (size_t) d, &n))
            return xf__fail(c->err, XF_ERR_BOUNDS, "%s: tensor '%s': dimension %u is %llu", c->name,
                            t->name, i, (unsigned long long) d);
        t->ne[i] = (int64_t) d;
    }
    for (int i = t->n_dims; i < XF_WFILE_MAX_DIMS; i++)
        t->ne[i] = 1;
    t->n_elems = n;
    if ((s = rd_u32(c, &t->type, t->name)) || (s = rd_u64(c, &t->offset, t->name)))
        return s;
    if (t->type != XF_TYPE_F32 && t->type != XF_TYPE_F16)
        return xf__fail(c->err, XF_ERR_UNSUPPORTED,
                        "%s: tensor '%s': type %u (only F32=0 and F16=1 are supported)", c->name,
                        t->name, t->type);
    if (!xf__mul_size(n, t->type == XF_TYPE_F32 ? 4 : 2, &t->nbytes))
        return xf__fail(c->err, XF_ERR_BOUNDS, "%s: tensor '%s': size overflows", c->name, t->name);
    return XF_OK;
}

static xf_status check_values(const xf_wfile *wf, const xf_wtensor *t, const char *name,
                              xf_error *err)
{
    (void) wf;
    for (size_t i = 0; i < t->n_elems; i++) {
        float v;
        if (t->type == XF_TYPE_F32) {
            memcpy(&v, (const uint8_t *) t->data + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, (const uint8_t *) t->data + 2 * i, 2);
            v = xf__f16_to_f32(h);
        }
        if (!isfinite(v))
            return xf__fail(err, XF_ERR_VALUE, "%s: tensor '%s': element %zu is %s", name, t->name,
                            i, isnan(v) ? "NaN" : "Inf");
    }
    return XF_OK;
}

static xf_status parse(xf_wfile *wf, const char *name, unsigned flags, xf_error *err)
{
    cursor c = {wf->base, wf->size, 0, name, err};
    xf_status s;
    char magic[4];
    if ((s = rd(&c, magic, 4, "magic")))
        return s;
    if (memcmp(magic, "GGUF", 4) != 0)
        return xf__fail(err, XF_ERR_FORMAT, "%s: not a GGUF/xfer weights file (bad magic)", name);
    uint32_t version;
    uint64_t n_t, n_kv;
    if ((s = rd_u32(&c, &version, "version")))
        return s;
    if (version != 3)
        return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: GGUF version %u (only 3 is supported)", name,
                        version);
    if ((s = rd_u64(&c, &n_t, "tensor count")) || (s = rd_u64(&c, &n_kv, "metadata count")))
        return s;
    if (n_t > XF_WFILE_MAX_TENSORS || n_kv > XF_WFILE_MAX_KV)
        return xf__fail(err, XF_ERR_BOUNDS, "%s: %llu tensors / %llu metadata keys (limit %d)",
                        name, (unsigned long long) n_t, (unsigned long long) n_kv, XF_WFILE_MAX_KV);
    wf->kv = calloc((size_t) n_kv + 1, sizeof *wf->kv);
    wf->t = calloc((size_t) n_t + 1, sizeof *wf->t);
    if (!wf->kv || !wf->t)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", name);
    for (uint64_t i = 0; i < n_kv; i++) {
        wf->n_kv++;
        if ((s = read_kv(&c, &wf->kv[i])))
            return s;
    }
    for (uint64_t i = 0; i < n_t; i++) {
        wf->n_t++;
        if ((s = read_tensor_info(&c, &wf->t[i])))
            return s;
    }
    /* duplicates: sort pointers by name */
    size_t nptr = (size_t) (n_kv > n_t ? n_kv : n_t) + 1;
    void **ptr = malloc(nptr * sizeof *ptr);
    if (!ptr)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", name);
    for (int i = 0; i < wf->n_kv; i++)
        ptr[i] = &wf->kv[i];
    qsort(ptr, (size_t) wf->n_kv, sizeof *ptr, cmp_kv_key);
    for (int i = 1; i < wf->n_kv; i++)
        if (strcmp(((xf_kv *) ptr[i])->key, ((xf_kv *) ptr[i - 1])->key) == 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: duplicate metadata key '%s'", name,
                         ((xf_kv *) ptr[i])->key);
            free(ptr);
            return s;
        }
    for (int i = 0; i < wf->n_t; i++)
        ptr[i] = &wf->t[i];
    qsort(ptr, (size_t) wf->n_t, sizeof *ptr, cmp_t_name);
    for (int i = 1; i < wf->n_t; i++)
        if (strcmp(((xf_wtensor *) ptr[i])->name, ((xf_wtensor *) ptr[i - 1])->name) == 0) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: duplicate tensor name '%s'", name,
                         ((xf_wtensor *) ptr[i])->name);
            free(ptr);
            return s;
        }

    /* alignment */
    wf->align = 32;
    const xf_kv *al = xf__wfile_kv(wf, "general.alignment");
    if (al) {
        if (al->type != XF_GGUF_U32 || al->num.u < 1 || al->num.u > 4096 ||
            ((uint32_t) al->num.u & ((uint32_t) al->num.u - 1)) != 0) {
            free(ptr);
            return xf__fail(err, XF_ERR_FORMAT,
                            "%s: general.alignment must be a u32 power of two <= 4096", name);
        }
        wf->align = (uint32_t) al->num.u;
    }
    size_t data_off = (c.pos + wf->align - 1) / wf->align * wf->align;
    if (data_off > wf->size) {
        free(ptr);
        return truncated(&c, "padding before the data section");
    }
    wf->data_off = data_off;
    size_t data_len = wf->size - data_off;

    /* offsets: aligned, inside the file, no overlap, no holes */
    for (int i = 0; i < wf->n_t; i++) {
        xf_wtensor *t = &wf->t[i];
        size_t end;
        if (t->offset % wf->align != 0) {
            free(ptr);
            return xf__fail(err, XF_ERR_FORMAT, "%s: tensor '%s': offset %llu not a multiple of %u",
                            name, t->name, (unsigned long long) t->offset, wf->align);
        }
        if (t->offset > data_len || !xf__add_size((size_t) t->offset, t->nbytes, &end) ||
            end > data_len) {
            free(ptr);
            return xf__fail(err, XF_ERR_BOUNDS,
                            "%s: tensor '%s': data at 0x%llx+%zu past end of data section "
                            "(%zu bytes; truncated file?)",
                            name, t->name, (unsigned long long) t->offset, t->nbytes, data_len);
        }
        t->data = wf->base + data_off + t->offset;
    }
    for (int i = 0; i < wf->n_t; i++)
        ptr[i] = &wf->t[i];
    qsort(ptr, (size_t) wf->n_t, sizeof *ptr, cmp_t_off);
    size_t expect = 0;
    for (int i = 0; i < wf->n_t; i++) {
        xf_wtensor *t = ptr[i];
        if (t->offset < expect) {
            s = xf__fail(err, XF_ERR_BOUNDS, "%s: tensor '%s' overlaps the previous tensor", name,
                         t->name);
            free(ptr);
            return s;
        }
        if (t->offset - expect >= wf->align) {
            s = xf__fail(err, XF_ERR_FORMAT, "%s: %llu unaccounted bytes before tensor '%s'", name,
                         (unsigned long long) (t->offset - expect), t->name);
            free(ptr);
            return s;
        }
        expect = (size_t) t->offset + t->nbytes;
        expect = (expect + wf->align - 1) / wf->align * wf->align;
    }
    free(ptr);
    if (data_len > expect)
        return xf__fail(err, XF_ERR_FORMAT, "%s: %zu unaccounted bytes after the last tensor", name,
                        data_len - expect);

    /* our semantics version */
    const xf_kv *fv = xf__wfile_kv(wf, "xfer.format_version");
    if (!fv || fv->type != XF_GGUF_U32)
        return xf__fail(err, XF_ERR_FORMAT,
                        "%s: missing u32 xfer.format_version (not an xfer file?)", name);
    if (fv->num.u != XF_FORMAT_VERSION)
        return xf__fail(err, XF_ERR_UNSUPPORTED,
                        "%s: xfer.format_version %llu; this build reads version %d (reconvert "
                        "with this xfer-convert)",
                        name, (unsigned long long) fv->num.u, XF_FORMAT_VERSION);
    for (int i = 0; !(flags & XF_WFILE_HEADER_ONLY) && i < wf->n_t; i++)
        if ((s = check_values(wf, &wf->t[i], name, err)))
            return s;
    return XF_OK;
}

xf_status xf__wfile_parse(const void *buf, size_t len, const char *name, unsigned flags,
                          xf_wfile **out, xf_error *err)
{
    *out = NULL;
    xf_wfile *wf = calloc(1, sizeof *wf);
    if (!wf)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", name);
    wf->base = buf;
    wf->size = len;
    xf_status s = parse(wf, name, flags, err);
    if (s) {
        xf__wfile_free(wf);
        return s;
    }
    *out = wf;
    return XF_OK;
}

xf_status xf__wfile_open(const char *path, unsigned flags, xf_wfile **out, xf_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xf__fail(err, XF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return xf__fail(err, XF_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return xf__fail(err, XF_ERR_IO, "%s: empty file", path);
    }
    void *map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return xf__fail(err, XF_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    xf_status s = xf__wfile_parse(map, (size_t) st.st_size, path, flags, out, err);
    if (s) {
        munmap(map, (size_t) st.st_size);
        return s;
    }
    (*out)->mapped = 1;
    (*out)->map = map;
    return XF_OK;
}

void xf__wfile_free(xf_wfile *wf)
{
    if (!wf)
        return;
    for (int i = 0; i < wf->n_kv; i++)
        kv_clear(&wf->kv[i]);
    for (int i = 0; i < wf->n_t; i++)
        free(wf->t[i].name);
    free(wf->kv);
    free(wf->t);
    if (wf->mapped)
        munmap(wf->map, wf->size);
    free(wf);
}

const xf_kv *xf__wfile_kv(const xf_wfile *wf, const char *key)
{
    for (int i = 0; i < wf->n_kv; i++)
        if (wf->kv[i].key && strcmp(wf->kv[i].key, key) == 0)
            return &wf->kv[i];
    return NULL;
}

const xf_wtensor *xf__wfile_tensor(const xf_wfile *wf, const char *name)
{
    for (int i = 0; i < wf->n_t; i++)
        if (wf->t[i].name && strcmp(wf->t[i].name, name) == 0)
            return &wf->t[i];
    return NULL;
}

xf_status xf__wfile_get_str(const xf_wfile *wf, const char *key, const char **out, xf_error *err)
{
    const xf_kv *kv = xf__wfile_kv(wf, key);
    if (!kv || kv->type != XF_GGUF_STR)
        return xf__fail(err, XF_ERR_FORMAT, "%s metadata key '%s'",
                        kv ? "wrong type for" : "missing", key);
    *out = kv->str;
    return XF_OK;
}

xf_status xf__wfile_get_u32(const xf_wfile *wf, const char *key, uint32_t *out, xf_error *err)
{
    const xf_kv *kv = xf__wfile_kv(wf, key);
    if (!kv || kv->type != XF_GGUF_U32)
        return xf__fail(err, XF_ERR_FORMAT, "%s metadata key '%s' (u32)",
                        kv ? "wrong type for" : "missing", key);
    *out = (uint32_t) kv->num.u;
    return XF_OK;
}

xf_status xf__wfile_get_f32(const xf_wfile *wf, const char *key, float *out, xf_error *err)
{
    const xf_kv *kv = xf__wfile_kv(wf, key);
    if (!kv || kv->type != XF_GGUF_F32)
        return xf__fail(err, XF_ERR_FORMAT, "%s metadata key '%s' (f32)",
                        kv ? "wrong type for" : "missing", key);
    if (!isfinite(kv->num.f))
        return xf__fail(err, XF_ERR_VALUE, "metadata key '%s' is not finite", key);
    *out = (float) kv->num.f;
    return XF_OK;
}

xf_status xf__wfile_get_strs(const xf_wfile *wf, const char *key, char *const **out, int *n,
                             xf_error *err)
{
    const xf_kv *kv = xf__wfile_kv(wf, key);
    if (!kv || kv->type != XF_GGUF_ARR || kv->arr_type != XF_GGUF_STR)
        return xf__fail(err, XF_ERR_FORMAT, "%s metadata key '%s' (string array)",
                        kv ? "wrong type for" : "missing", key);
    *out = kv->strs;
    *n = (int) kv->count;
    return XF_OK;
}

xf_status xf__wfile_get_f32s(const xf_wfile *wf, const char *key, float *out, int n, xf_error *err)
{
    const xf_kv *kv = xf__wfile_kv(wf, key);
    if (!kv || kv->type != XF_GGUF_ARR || kv->arr_type != XF_GGUF_F32 || kv->count != (uint64_t) n)
        return xf__fail(err, XF_ERR_FORMAT, "%s metadata key '%s' (f32[%d])",
                        kv ? "wrong type for" : "missing", key, n);
    for (int i = 0; i < n; i++) {
        if (!isfinite(kv->nums[i]))
            return xf__fail(err, XF_ERR_VALUE, "metadata key '%s': element %d is not finite", key,
                            i);
        out[i] = (float) kv->nums[i];
    }
    return XF_OK;
}

/* ---- CRC32C (Castagnoli) ----------------------------------------------------------------------
 */
static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t) c;
    while (n--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#endif

uint32_t xf__crc32c(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc_hw(crc, p, len);
#endif
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

xf_status xf__wfile_verify(const xf_wfile *wf, xf_error *err)
{
    uint32_t want = 0;
    xf_status s = xf__wfile_get_u32(wf, "xfer.data.crc32c", &want, err);
    if (s)
        return s;
    uint32_t got = xf__crc32c(0, wf->base + wf->data_off, wf->size - wf->data_off);
    if (got != want)
        return xf__fail(err, XF_ERR_CHECKSUM,
                        "data section CRC32C is %08x, metadata says %08x (corrupt or modified "
                        "file)",
                        got, want);
    return XF_OK;
}

/* ---- writer ------------------------------------------------------------------------------------
 */
typedef struct {
    char *key;
    uint32_t type, arr_type;
    uint32_t u32;
    float f32;
    char *str;
    float *f32s;
    char **strs;
    int n;
} wkv;

typedef struct {
    char *name;
    int n_dims;
    int64_t ne[XF_WFILE_MAX_DIMS];
    float *data;
    size_t n_elems;
} wtensor;

struct xf_wwriter {
    wkv *kv;
    int n_kv, cap_kv;
    wtensor *t;
    int n_t, cap_t;
};

xf_wwriter *xf__ww_create(void)
{
    return calloc(1, sizeof(xf_wwriter));
}

static void wkv_clear(wkv *k)
{
    free(k->key);
    free(k->str);
    free(k->f32s);
    if (k->strs)
        for (int i = 0; i < k->n; i++)
            free(k->strs[i]);
    free(k->strs);
    memset(k, 0, sizeof *k);
}

void xf__ww_free(xf_wwriter *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_kv; i++)
        wkv_clear(&w->kv[i]);
    for (int i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->kv);
    free(w->t);
    free(w);
}

static wkv *ww_slot(xf_wwriter *w, const char *key)
{
    for (int i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) {
            wkv_clear(&w->kv[i]);
            w->kv[i].key = strdup(key);
            return w->kv[i].key ? &w->kv[i] : NULL;
        }
    if (w->n_kv == w->cap_kv) {
        int cap = w->cap_kv ? 2 * w->cap_kv : 32;
        wkv *nk = realloc(w->kv, (size_t) cap * sizeof *nk);
        if (!nk)
            return NULL;
        w->kv = nk;
        w->cap_kv = cap;
    }
    wkv *k = &w->kv[w->n_kv];
    memset(k, 0, sizeof *k);
    k->key = strdup(key);
    if (!k->key)
        return NULL;
    w->n_kv++;
    return k;
}

int xf__ww_str(xf_wwriter *w, const char *key, const char *val)
{
    wkv *k = ww_slot(w, key);
    if (!k)
        return 0;
    k->type = XF_GGUF_STR;
    k->str = strdup(val);
    return k->str != NULL;
}

int xf__ww_u32(xf_wwriter *w, const char *key, uint32_t val)
{
    wkv *k = ww_slot(w, key);
    if (!k)
        return 0;
    k->type = XF_GGUF_U32;
    k->u32 = val;
    return 1;
}

int xf__ww_f32(xf_wwriter *w, const char *key, float val)
{
    wkv *k = ww_slot(w, key);
    if (!k)
        return 0;
    k->type = XF_GGUF_F32;
    k->f32 = val;
    return 1;
}

int xf__ww_f32s(xf_wwriter *w, const char *key, const float *vals, int n)
{
    wkv *k = ww_slot(w, key);
    if (!k)
        return 0;
    k->type = XF_GGUF_ARR;
    k->arr_type = XF_GGUF_F32;
    k->n = n;
    k->f32s = malloc((size_t) (n ? n : 1) * sizeof(float));
    if (!k->f32s)
        return 0;
    memcpy(k->f32s, vals, (size_t) n * sizeof(float));
    return 1;
}

int xf__ww_strs(xf_wwriter *w, const char *key, const char *const *vals, int n)
{
    wkv *k = ww_slot(w, key);
    if (!k)
        return 0;
    k->type = XF_GGUF_ARR;
    k->arr_type = XF_GGUF_STR;
    k->strs = calloc((size_t) n + 1, sizeof(char *));
    if (!k->strs)
        return 0;
    k->n = n;
    for (int i = 0; i < n; i++)
        if (!(k->strs[i] = strdup(vals[i])))
            return 0;
    return 1;
}

int xf__ww_tensor(xf_wwriter *w, const char *name, int n_dims, const int64_t *ne, const float *data)
{
    if (n_dims < 1 || n_dims > XF_WFILE_MAX_DIMS)
        return 0;
    if (w->n_t == w->cap_t) {
        int cap = w->cap_t ? 2 * w->cap_t : 64;
        wtensor *nt = realloc(w->t, (size_t) cap * sizeof *nt);
        if (!nt)
            return 0;
        w->t = nt;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    size_t n = 1;
    for (int i = 0; i < n_dims; i++) {
        t->ne[i] = ne[i];
        n *= (size_t) ne[i];
    }
    t->n_dims = n_dims;
    t->n_elems = n;
    t->name = strdup(name);
    t->data = malloc(n * sizeof(float));
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return 0;
    }
    memcpy(t->data, data, n * sizeof(float));
    w->n_t++;
    return 1;
}

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(buf *b, uint32_t v)
{
    put(b, &v, 4);
}

static void put_u64(buf *b, uint64_t v)
{
    put(b, &v, 8);
}

static void put_str(buf *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}

static void put_pad(buf *b, size_t align)
{
    static const uint8_t zeros[64] = {0};
    while (b->len % align)
        put(b, zeros, 1);
}

xf_status xf__ww_write(xf_wwriter *w, const char *path, xf_error *err)
{
    buf data = {0}, head = {0};
    uint64_t *offs = calloc((size_t) w->n_t + 1, sizeof *offs);
    if (!offs)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < w->n_t; i++) {
        put_pad(&data, XF_WFILE_ALIGN);
        offs[i] = data.len;
        put(&data, w->t[i].data, w->t[i].n_elems * sizeof(float));
    }
    put_pad(&data, XF_WFILE_ALIGN);
    if (!xf__ww_u32(w, "general.alignment", XF_WFILE_ALIGN) ||
        !xf__ww_u32(w, "xfer.format_version", XF_FORMAT_VERSION) ||
        !xf__ww_u32(w, "xfer.data.crc32c", xf__crc32c(0, data.p, data.len)))
        data.oom = 1;

    put(&head, "GGUF", 4);
    put_u32(&head, 3);
    put_u64(&head, (uint64_t) w->n_t);
    put_u64(&head, (uint64_t) w->n_kv);
    for (int i = 0; i < w->n_kv; i++) {
        const wkv *k = &w->kv[i];
        put_str(&head, k->key);
        put_u32(&head, k->type);
        if (k->type == XF_GGUF_STR) {
            put_str(&head, k->str);
        } else if (k->type == XF_GGUF_U32) {
            put_u32(&head, k->u32);
        } else if (k->type == XF_GGUF_F32) {
            put(&head, &k->f32, 4);
        } else {
            put_u32(&head, k->arr_type);
            put_u64(&head, (uint64_t) k->n);
            for (int j = 0; j < k->n; j++) {
                if (k->arr_type == XF_GGUF_STR)
                    put_str(&head, k->strs[j]);
                else
                    put(&head, &k->f32s[j], 4);
            }
        }
    }
    for (int i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        put_str(&head, t->name);
        put_u32(&head, (uint32_t) t->n_dims);
        for (int d = 0; d < t->n_dims; d++)
            put_u64(&head, (uint64_t) t->ne[d]);
        put_u32(&head, XF_TYPE_F32);
        put_u64(&head, offs[i]);
    }
    put_pad(&head, XF_WFILE_ALIGN);
    free(offs);
    xf_status s = XF_OK;
    if (head.oom || data.oom) {
        s = xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    xf_out o;
    if ((s = xf__out_open(&o, path, XF_OUT_TEMP, err)))
        goto done;
    if (fwrite(head.p, 1, head.len, o.f) != head.len ||
        fwrite(data.p, 1, data.len, o.f) != data.len) {
        s = xf__fail(err, XF_ERR_WRITE, "%s: write failed: %s", path, strerror(errno));
        xf__out_discard(&o, 0);
        goto done;
    }
    s = xf__out_commit(&o, err);
done:
    free(head.p);
    free(data.p);
    return s;
}
