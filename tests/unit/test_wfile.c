/* test_wfile.c — the weights-file reader and writer: round trip, and the broken-file table.
 *
 * It is: one malformed variant of a valid tiny model per reader rule (truncation at every byte
 * of the header, bad magic, version, huge counts and lengths, offsets past the end, misaligned
 * and overlapping tensors, holes, duplicate keys and names, bad types, wrong shapes, NaN/Inf,
 * checksum, unknown op, missing tensor), each asserting its specific status. Run under
 * `make asan` it also proves none of them reads out of bounds. It is not: a fuzzer.
 */
#include "io.h"
#include "meta.h"
#include "t.h"
#include "tiny.h"

#include <string.h>
#include <unistd.h>

typedef struct {
    size_t n_t, n_kv;
    int kvs, ts;
    size_t kv_key[64], kv_type[64], kv_val[64];
    char kv_name[64][64];
    size_t t_name[64], t_ndims[64], t_dims[64], t_type[64], t_off[64];
    size_t info_end, data_off;
} layout;

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}
static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void walk(const uint8_t *b, layout *L)
{
    memset(L, 0, sizeof *L);
    size_t pos = 8;
    L->n_t = get64(b + pos), pos += 8;
    L->n_kv = get64(b + pos), pos += 8;
    for (size_t i = 0; i < L->n_kv; i++) {
        L->kv_key[i] = pos;
        uint64_t kl = get64(b + pos);
        snprintf(L->kv_name[i], sizeof L->kv_name[i], "%.*s", (int) kl, b + pos + 8);
        pos += 8 + kl;
        L->kv_type[i] = pos;
        uint32_t t = get32(b + pos);
        pos += 4;
        L->kv_val[i] = pos;
        if (t == XF_GGUF_STR) {
            pos += 8 + get64(b + pos);
        } else if (t == XF_GGUF_ARR) {
            uint32_t at = get32(b + pos);
            uint64_t n = get64(b + pos + 4);
            pos += 12;
            for (uint64_t k = 0; k < n; k++)
                pos += at == XF_GGUF_STR ? 8 + get64(b + pos) : 4;
        } else {
            pos += 4;
        }
        L->kvs++;
    }
    for (size_t i = 0; i < L->n_t; i++) {
        L->t_name[i] = pos;
        pos += 8 + get64(b + pos);
        L->t_ndims[i] = pos;
        uint32_t nd = get32(b + pos);
        pos += 4;
        L->t_dims[i] = pos;
        pos += 8 * nd;
        L->t_type[i] = pos;
        pos += 4;
        L->t_off[i] = pos;
        pos += 8;
        L->ts++;
    }
    L->info_end = pos;
    L->data_off = (pos + 63) / 64 * 64;
}

static int kv_index(const layout *L, const char *name)
{
    for (int i = 0; i < L->kvs; i++)
        if (strcmp(L->kv_name[i], name) == 0)
            return i;
    return -1;
}

#define TMP t_path("broken.gguf")

static xf_status open_bytes(const uint8_t *b, size_t n, int verify, xf_error *err)
{
    FILE *f = fopen(TMP, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    xf_model *m = NULL;
    xf_open_opts o = {verify};
    xf_status s = xf_model_open(TMP, &o, &m, err);
    T_CHECK((s == XF_OK) == (m != NULL));
    xf_model_free(m);
    return s;
}

#define EXPECT(name, bytes, n, want)                                                         \
    do {                                                                                     \
        xf_error e_;                                                                         \
        e_.msg[0] = 0;                                                                       \
        xf_status s_ = open_bytes(bytes, n, 0, &e_);                                         \
        T_CHECKF(s_ == (want), "%s: got %s (%s), want %s", name, xf_status_name(s_), e_.msg, \
                 xf_status_name(want));                                                      \
        if (s_ == (want) && s_ != XF_OK)                                                     \
            printf("ok   %-24s %-20s %s\n", name, xf_status_name(s_), e_.msg);               \
    } while (0)

static uint8_t *load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t) ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    T_CHECK(fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static void wrong_shape(xf_gbuild *c)
{
    c->wshape[1][3] = 2; /* c1.weight written as (3,3,3,2): graph needs cout 4 */
}

static void missing_layer(xf_gbuild *c)
{
    xf__ww_str(c->meta, "xfer.feature.layer", "no_such_tensor");
}

/* every metadata key the code knows is documented in the format spec */
static void test_keys_documented(void)
{
    size_t n;
    uint8_t *spec = NULL;
    xf_error e;
    T_CHECKF(xf__read_file("weights/FORMAT.md", 1 << 20, &spec, &n, &e) == XF_OK, "%s", e.msg);
    for (int i = 0; spec && i < xf__meta_key_count; i++) {
        char quoted[128];
        snprintf(quoted, sizeof quoted, "`%s`", xf__meta_keys[i]);
        T_CHECKF(strstr((const char *) spec, quoted) != NULL, "%s is not in weights/FORMAT.md",
                 xf__meta_keys[i]);
    }
    free(spec);
}

int main(void)
{
    xf_error err;
    test_keys_documented();
    const char *good = t_path("tiny.gguf");
    T_CHECK(tiny_write(good, NULL, &err) == XF_OK);
    size_t n;
    uint8_t *b = load(good, &n);
    uint8_t *w = malloc(n + 256);
    layout L;
    walk(b, &L);
    T_CHECK(L.n_t == 8 && L.ts == 8);

    /* the valid file opens, with its checksum */
    xf_model *m;
    xf_open_opts vo = {1};
    T_CHECK(xf_model_open(good, &vo, &m, &err) == XF_OK);
    if (m) {
        T_CHECK(xf_model_label_count(m) == 3 && strcmp(xf_model_label(m, 2), "blue") == 0);
        T_CHECK(strcmp(xf_model_default_layer(m), "c2") == 0);
        T_CHECK(xf_model_tensor_find(m, "prob") == 6);
        xf_model_free(m);
    }
    T_CHECK(xf_model_open(t_path("does-not-exist.gguf"), NULL, &m, &err) == XF_ERR_IO && m == NULL);
    T_CHECK(strstr(err.msg, "does-not-exist.gguf") != NULL);

    /* truncation at every byte of the header and tensor table */
    int trunc_ok = 1;
    for (size_t len = 0; len < L.data_off + 8; len++) {
        xf_status s = open_bytes(b, len, 0, &err);
        if (len < L.info_end && s != XF_ERR_IO) {
            trunc_ok = 0;
            printf("FAIL truncated at %zu: %s (%s)\n", len, xf_status_name(s), err.msg);
        }
        if (s == XF_OK)
            trunc_ok = 0;
    }
    T_CHECK(trunc_ok);
    EXPECT("truncated data", b, n - 64, XF_ERR_BOUNDS);

#define FRESH() memcpy(w, b, n)
    FRESH(), w[0] = 'X';
    EXPECT("bad magic", w, n, XF_ERR_FORMAT);
    FRESH(), put32(w + 4, 2);
    EXPECT("GGUF version 2", w, n, XF_ERR_UNSUPPORTED);
    FRESH(), put64(w + 8, (uint64_t) 1 << 40);
    EXPECT("huge tensor count", w, n, XF_ERR_BOUNDS);
    FRESH(), put64(w + 16, (uint64_t) 1 << 62);
    EXPECT("huge metadata count", w, n, XF_ERR_BOUNDS);
    FRESH(), put64(w + L.kv_key[0], (uint64_t) 1 << 40);
    EXPECT("huge key length", w, n, XF_ERR_BOUNDS);
    FRESH(), put64(w + L.kv_key[0], 200);
    EXPECT("key length past data", w, n, XF_ERR_FORMAT); /* reads into binary: NUL or mismatch */
    int g = kv_index(&L, "xfer.graph");
    FRESH(), put64(w + L.kv_val[g], (uint64_t) 1 << 33);
    EXPECT("huge string", w, n, XF_ERR_BOUNDS);
    int mean = kv_index(&L, "xfer.input.mean");
    FRESH(), put64(w + L.kv_val[mean] + 4, (uint64_t) 1 << 60);
    EXPECT("huge array count", w, n, XF_ERR_BOUNDS);
    FRESH(), put64(w + L.kv_val[mean] + 4, (uint64_t) 1 << 20);
    EXPECT("array past end", w, n, XF_ERR_IO);
    FRESH(), put32(w + L.kv_val[mean], 9);
    EXPECT("nested array", w, n, XF_ERR_UNSUPPORTED);
    FRESH(), put32(w + L.kv_type[mean], 77);
    EXPECT("unknown value type", w, n, XF_ERR_FORMAT);
    int fv = kv_index(&L, "xfer.format_version");
    FRESH(), put32(w + L.kv_val[fv], 99);
    EXPECT("format version 99", w, n, XF_ERR_UNSUPPORTED);
    int al = kv_index(&L, "general.alignment");
    FRESH(), put32(w + L.kv_val[al], 48);
    EXPECT("alignment not 2^k", w, n, XF_ERR_FORMAT);
    int kw = kv_index(&L, "xfer.input.width"), kc = kv_index(&L, "xfer.input.color");
    FRESH(), memcpy(w + L.kv_key[kc] + 8, "xfer.input.width", 16);
    T_CHECK(strlen(L.kv_name[kw]) == 16 && strlen(L.kv_name[kc]) == 16);
    EXPECT("duplicate key", w, n, XF_ERR_FORMAT);
    FRESH(), memcpy(w + L.t_name[2] + 8, "c1.weight", 9);
    EXPECT("duplicate tensor", w, n, XF_ERR_FORMAT);
    FRESH(), put32(w + L.t_ndims[0], 5);
    EXPECT("5 dimensions", w, n, XF_ERR_BOUNDS);
    FRESH(), put64(w + L.t_dims[0], 0);
    EXPECT("zero dimension", w, n, XF_ERR_BOUNDS);
    FRESH(), put64(w + L.t_dims[0], (uint64_t) 1 << 40);
    EXPECT("huge dimension", w, n, XF_ERR_BOUNDS);
    FRESH(), put32(w + L.t_type[0], 2);
    EXPECT("quantized type", w, n, XF_ERR_UNSUPPORTED);
    FRESH(), put64(w + L.t_off[0], (uint64_t) 1 << 50);
    EXPECT("offset past end", w, n, XF_ERR_BOUNDS);
    FRESH(), put64(w + L.t_off[0], UINT64_MAX - 63);
    EXPECT("offset overflow", w, n, XF_ERR_BOUNDS);
    FRESH(), put64(w + L.t_off[1], get64(b + L.t_off[1]) + 4);
    EXPECT("misaligned offset", w, n, XF_ERR_FORMAT);
    FRESH(), put64(w + L.t_off[1], get64(b + L.t_off[0]));
    EXPECT("overlapping tensors", w, n, XF_ERR_BOUNDS);
    memcpy(w, b, n);
    memset(w + n, 0, 128);
    EXPECT("trailing bytes", w, n + 128, XF_ERR_FORMAT);
    FRESH();
    float nan = NAN, inf = INFINITY;
    memcpy(w + L.data_off + get64(b + L.t_off[0]) + 8, &nan, 4);
    EXPECT("NaN weight", w, n, XF_ERR_VALUE);
    FRESH(), memcpy(w + L.data_off + get64(b + L.t_off[3]), &inf, 4);
    EXPECT("Inf weight", w, n, XF_ERR_VALUE);
    FRESH(), w[L.data_off + get64(b + L.t_off[0]) + 1] ^= 0x10;
    xf_error e;
    T_CHECK(open_bytes(w, n, 1, &e) == XF_ERR_CHECKSUM);
    T_CHECK(open_bytes(w, n, 0, &e) == XF_OK); /* unverified: a changed weight is still valid */
    FRESH();
    char *gtext = (char *) w + L.kv_val[g] + 8;
    memcpy(gtext, "cinput", 6); /* first line "input image ..." -> unknown op */
    EXPECT("unknown op", w, n, XF_ERR_UNSUPPORTED);
    FRESH(), memcpy(w + L.t_name[0] + 8, "cX", 2);
    EXPECT("missing tensor", w, n, XF_ERR_FORMAT);

    T_CHECK(tiny_write(TMP, wrong_shape, &err) == XF_OK);
    T_CHECK(xf_model_open(TMP, NULL, &m, &err) == XF_ERR_SHAPE);
    printf("ok   %-24s %-20s %s\n", "wrong shape", xf_status_name(err.code), err.msg);
    T_CHECK(tiny_write(TMP, missing_layer, &err) == XF_OK);
    T_CHECK(xf_model_open(TMP, NULL, &m, &err) == XF_ERR_FORMAT);

    /* hostile graph: each concat quadruples the channels (3 * 4^k); sizes must stay bounded */
    {
        xf_graph gg;
        char text[4096] = "input k0 h=64 w=64 c=3\n";
        for (int i = 1; i <= 14; i++)
            snprintf(text + strlen(text), sizeof text - strlen(text),
                     "concat k%d in=k%d,k%d,k%d,k%d\n", i, i - 1, i - 1, i - 1, i - 1);
        xf_status st = xf__graph_parse(text, &gg, &err);
        T_CHECKF(st == XF_ERR_SHAPE, "channel explosion: %s", xf_status_name(st));
        printf("ok   %-24s %-20s %s\n", "huge activations", xf_status_name(st), err.msg);
    }

    /* the writer never leaves a partial file under the final name */
    T_CHECK(tiny_write(t_path("no-such-dir/x.gguf"), NULL, &err) == XF_ERR_WRITE);
    T_CHECK(access(t_path("no-such-dir/x.gguf"), F_OK) != 0);
    unlink(TMP);
    free(w);
    free(b);
    return t_done();
}
