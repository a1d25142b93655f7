/* wfile.h — the weights file (GGUF v3 subset, weights/FORMAT.md §1) as bytes and typed values.
 *
 * It is: the interface of wfile.c, the only reader and writer of the format: parsed metadata
 * (xf_kv) and tensor views into the mapped file (xf_wtensor), the atomic writer, CRC32C. It is
 * not: what the keys mean (meta.h) or the graph (graph.h).
 */
#ifndef XF_WFILE_H
#define XF_WFILE_H

#include "base.h"

enum {
    XF_GGUF_U8 = 0,
    XF_GGUF_I8 = 1,
    XF_GGUF_U16 = 2,
    XF_GGUF_I16 = 3,
    XF_GGUF_U32 = 4,
    XF_GGUF_I32 = 5,
    XF_GGUF_F32 = 6,
    XF_GGUF_BOOL = 7,
    XF_GGUF_STR = 8,
    XF_GGUF_ARR = 9,
    XF_GGUF_U64 = 10,
    XF_GGUF_I64 = 11,
    XF_GGUF_F64 = 12,
};
enum { XF_TYPE_F32 = 0, XF_TYPE_F16 = 1 };

#define XF_WFILE_MAX_KV      65536
#define XF_WFILE_MAX_TENSORS 65536
#define XF_WFILE_MAX_STR     (1u << 20)
#define XF_WFILE_MAX_ARR     (1u << 24)
#define XF_WFILE_MAX_DIMS    4
#define XF_WFILE_ALIGN       64
#define XF_FORMAT_VERSION    1

typedef struct {
    char *key;
    uint32_t type;     /* XF_GGUF_* */
    uint32_t arr_type; /* element type when type == XF_GGUF_ARR */
    uint64_t count;    /* array length (1 for scalars) */
    struct {
        uint64_t u; /* exact for unsigned integer types */
        int64_t i;  /* exact for signed integer types   */
        double f;   /* every numeric type, converted     */
    } num;          /* scalar numeric value (xfer-inspect prints it; others use the getters) */
    char *str;      /* scalar string (NUL-terminated copy) */
    char **strs;    /* string array (copies) */
    double *nums;   /* numeric array, converted */
} xf_kv;

typedef struct {
    char *name;
    int n_dims;
    int64_t ne[XF_WFILE_MAX_DIMS]; /* GGUF order: ne[0] is the fastest-varying dimension */
    uint32_t type;                 /* XF_TYPE_F32 or XF_TYPE_F16 */
    uint64_t offset;               /* relative to the data section */
    size_t n_elems, nbytes;
    const void *data; /* view into the mapped file */
} xf_wtensor;

typedef struct {
    const uint8_t *base;
    size_t size;
    int mapped; /* base is an mmap (else borrowed memory) */
    void *map;  /* the mapping, for munmap */
    xf_kv *kv;
    int n_kv;
    xf_wtensor *t;
    int n_t;
    size_t data_off;
    uint32_t align;
} xf_wfile;

/* flags of xf__wfile_open */
enum {
    XF_WFILE_HEADER_ONLY = 1, /* skip the NaN/Inf scan of the tensor data (metadata lookups) */
};
xf_status xf__wfile_open(const char *path, unsigned flags, xf_wfile **out, xf_error *err);
/* Parses borrowed memory (must outlive the wfile); name is used in messages. */
xf_status xf__wfile_parse(const void *buf, size_t len, const char *name, unsigned flags,
                          xf_wfile **out, xf_error *err);
void xf__wfile_free(xf_wfile *wf);
const xf_kv *xf__wfile_kv(const xf_wfile *wf, const char *key);
const xf_wtensor *xf__wfile_tensor(const xf_wfile *wf, const char *name);
/* Typed getters: XF_OK, or XF_ERR_FORMAT naming the key when absent or of the wrong type. */
xf_status xf__wfile_get_str(const xf_wfile *wf, const char *key, const char **out, xf_error *err);
xf_status xf__wfile_get_u32(const xf_wfile *wf, const char *key, uint32_t *out, xf_error *err);
/* f32 scalar; a non-finite value is XF_ERR_VALUE */
xf_status xf__wfile_get_f32(const xf_wfile *wf, const char *key, float *out, xf_error *err);
/* string array: *out borrows the file's copies */
xf_status xf__wfile_get_strs(const xf_wfile *wf, const char *key, char *const **out, int *n,
                             xf_error *err);
xf_status xf__wfile_get_f32s(const xf_wfile *wf, const char *key, float *out, int n, xf_error *err);
uint32_t xf__crc32c(uint32_t crc, const void *buf, size_t len);
/* Checks xfer.data.crc32c against the data section. */
xf_status xf__wfile_verify(const xf_wfile *wf, xf_error *err);

typedef struct xf_wwriter xf_wwriter;
xf_wwriter *xf__ww_create(void);
void xf__ww_free(xf_wwriter *w);
/* Setters copy their arguments; a key set twice keeps the last value. Return 0 on NOMEM. */
int xf__ww_str(xf_wwriter *w, const char *key, const char *val);
int xf__ww_u32(xf_wwriter *w, const char *key, uint32_t val);
int xf__ww_f32(xf_wwriter *w, const char *key, float val);
int xf__ww_f32s(xf_wwriter *w, const char *key, const float *vals, int n);
int xf__ww_strs(xf_wwriter *w, const char *key, const char *const *vals, int n);
/* F32 tensor with dims in GGUF order (ne[0] fastest); data copied. */
int xf__ww_tensor(xf_wwriter *w, const char *name, int n_dims, const int64_t *ne,
                  const float *data);
/* Writes path as a complete file (io.h). Adds general.alignment, xfer.format_version and
 * xfer.data.crc32c. */
xf_status xf__ww_write(xf_wwriter *w, const char *path, xf_error *err);

#endif /* XF_WFILE_H */
