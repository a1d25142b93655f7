/* test_image.c — decoding of every image kind extract-features must handle, generated here.
 *
 * It is: images written with libjpeg/libpng from known pixels (RGB, grey, palette, grey+alpha,
 * RGBA, 16-bit, interlaced PNG; baseline, progressive, grey, Adobe CMYK and YCCK JPEG; EXIF
 * orientations 1-8) checked against those pixels, and the bad inputs (truncated JPEG, empty
 * file, GIF, text named .jpg, 100000x100000 header, directory) checked for their exact status.
 * It is not: the Pillow resize comparison (tests/oracle/, needs python3-pil).
 */
#include "image.h"
#include "t.h"

#include <gif_lib.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <time.h>
#include <webp/encode.h>
#include <webp/mux.h>

#define W 48
#define H 32

static xf_decode_opts opts(void)
{
    xf_decode_opts o = {(int64_t) 64 << 20, 0, 1, 0};
    return o;
}

static void pattern(uint8_t *px, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            px[(y * w + x) * 3] = (uint8_t) (x * 5);
            px[(y * w + x) * 3 + 1] = (uint8_t) (y * 7);
            px[(y * w + x) * 3 + 2] = (uint8_t) ((x + y) * 3);
        }
}

/* ---- PNG writer ---- */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} mem;

static void mem_write(png_structp png, png_bytep d, png_size_t n)
{
    mem *m = png_get_io_ptr(png);
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, d, n);
    m->n += n;
}
static void mem_flush(png_structp png)
{
    (void) png;
}

/* rows: raw bytes per colour type/bit depth */
static mem write_png(int w, int h, int ct, int depth, int interlace, uint8_t **rows, png_color *pal,
                     int npal)
{
    mem m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32) w, (png_uint_32) h, depth, ct,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal)
        png_set_PLTE(png, info, pal, npal);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return m;
}

static int decode(const mem *m, xf_rgb *im)
{
    xf_decode_opts o = opts();
    xf_error e;
    xf_status s = xf__decode_mem(m->p, m->n, "test", &o, im, &e);
    if (s)
        printf("decode: %s\n", e.msg);
    return s == XF_OK;
}

#define EXPECT_STATUS(bytes, len, want, allow)                                       \
    do {                                                                             \
        xf_decode_opts o_ = opts();                                                  \
        o_.allow_truncated = allow;                                                  \
        xf_rgb im_;                                                                  \
        xf_error e_;                                                                 \
        xf_status s_ = xf__decode_mem(bytes, len, "bad", &o_, &im_, &e_);            \
        T_CHECKF(s_ == (want), "got %s (%s)", xf_status_name(s_), s_ ? e_.msg : ""); \
        if (s_ == XF_OK)                                                             \
            xf__rgb_free(&im_);                                                      \
        else                                                                         \
            printf("ok   %-20s %s\n", xf_status_name(s_), e_.msg);                   \
    } while (0)

/* ---- WebP, GIF and TIFF made by their own libraries' encoders ---- */
static void mem_append(mem *m, const void *d, size_t n)
{
    if (m->n + n > m->cap) {
        m->cap = (m->n + n) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, d, n);
    m->n += n;
}

static int gif_put(GifFileType *g, const GifByteType *d, int n)
{
    mem_append(g->UserData, d, (size_t) n);
    return n;
}

/* a 2-frame GIF of palette indices idx (w x h), optionally interlaced, index 5 transparent;
 * the second frame is all index 1 */
static mem write_gif(int w, int h, uint8_t *idx, int interlace, const GifColorType *pal)
{
    mem m = {0};
    int e;
    GifFileType *g = EGifOpen(&m, gif_put, &e);
    ColorMapObject *map = GifMakeMapObject(256, pal);
    EGifSetGifVersion(g, true);
    EGifPutScreenDesc(g, w, h, 8, 0, map);
    GifByteType gce[4] = {1, 0, 0, 5}; /* transparent index 5 */
    EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, 4, gce);
    EGifPutImageDesc(g, 0, 0, w, h, interlace, NULL);
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    for (int p = 0; p < (interlace ? 4 : 1); p++)
        for (int y = interlace ? start[p] : 0; y < h; y += interlace ? step[p] : 1)
            EGifPutLine(g, idx + y * w, w);
    uint8_t *ones = malloc((size_t) w);
    memset(ones, 1, (size_t) w);
    EGifPutImageDesc(g, 0, 0, w, h, 0, NULL);
    for (int y = 0; y < h; y++)
        EGifPutLine(g, ones, w);
    free(ones);
    EGifCloseFile(g, &e);
    GifFreeMapObject(map);
    return m;
}

static mem write_tiff(int w, int h, uint8_t *rgb, int pages)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/t.tif", t_dir());
    TIFF *t = TIFFOpen(path, "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 4);
    for (int y = 0; y < h; y++)
        TIFFWriteScanline(t, rgb + (size_t) y * w * 3, (uint32_t) y, 0);
    for (int p = 1; p < pages; p++) { /* more pages: 2x2 black */
        uint8_t row[6] = {0};
        TIFFWriteDirectory(t);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 2);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, 2);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFWriteScanline(t, row, 0, 0);
        TIFFWriteScanline(t, row, 1, 0);
    }
    TIFFClose(t);
    mem m = {0};
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t k;
    while (f && (k = fread(buf, 1, sizeof buf, f)) > 0)
        mem_append(&m, buf, k);
    if (f)
        fclose(f);
    return m;
}

static void test_more_formats(void)
{
    enum { FW = 23, FH = 17 };
    uint8_t px[FW * FH * 3], rgba[FW * FH * 4];
    pattern(px, FW, FH);
    for (int i = 0; i < FW * FH; i++) {
        memcpy(rgba + 4 * i, px + 3 * i, 3);
        rgba[4 * i + 3] = (uint8_t) (i % 2 ? 255 : 0); /* every other pixel transparent */
    }
    xf_rgb im;
    uint8_t *enc = NULL;
    size_t n = WebPEncodeLosslessRGB(px, FW, FH, FW * 3, &enc);
    mem m = {0};
    mem_append(&m, enc, n);
    WebPFree(enc);
    T_CHECK(decode(&m, &im) && im.w == FW && im.h == FH && memcmp(im.px, px, sizeof px) == 0);
    xf__rgb_free(&im);
    free(m.p);
    n = WebPEncodeLosslessRGBA(rgba, FW, FH, FW * 4, &enc);
    m = (mem){0};
    mem_append(&m, enc, n);
    WebPFree(enc);
    int ok = decode(&m, &im), white = 1, same = 1;
    for (int i = 0; ok && i < FW * FH; i++)
        for (int c = 0; c < 3; c++)
            white &= i % 2 || im.px[3 * i + c] == 255,
                same &= !(i % 2) || im.px[3 * i + c] == px[3 * i + c];
    T_CHECKF(ok && white && same, "WebP with alpha: transparent on white %d, opaque kept %d", white,
             same);
    xf__rgb_free(&im);
    /* a WebP cut short is an error, not a crash */
    EXPECT_STATUS(m.p, m.n / 2, XF_ERR_IMAGE, 0);
    free(m.p);
    /* an animation (libwebpmux's encoder, lossless): its first frame, whatever follows */
    WebPAnimEncoderOptions ao;
    WebPConfig cfg;
    WebPPicture pic;
    WebPData anim = {0};
    ok = WebPAnimEncoderOptionsInit(&ao) && WebPConfigInit(&cfg) && WebPPictureInit(&pic);
    cfg.lossless = 1;
    WebPAnimEncoder *ae = ok ? WebPAnimEncoderNew(FW, FH, &ao) : NULL;
    uint8_t other[FW * FH * 3];
    for (int i = 0; i < FW * FH * 3; i++)
        other[i] = (uint8_t) (255 - px[i]);
    pic.width = FW, pic.height = FH, pic.use_argb = 1;
    for (int f = 0; ae && f < 3; f++) {
        ok = ok && WebPPictureImportRGB(&pic, f == 1 ? other : px, FW * 3) &&
             WebPAnimEncoderAdd(ae, &pic, f * 100, &cfg);
        WebPPictureFree(&pic);
    }
    ok = ae && ok && WebPAnimEncoderAdd(ae, NULL, 300, NULL) && WebPAnimEncoderAssemble(ae, &anim);
    WebPAnimEncoderDelete(ae);
    m = (mem){0};
    if (ok)
        mem_append(&m, anim.bytes, anim.size);
    WebPDataClear(&anim);
    T_CHECKF(ok && decode(&m, &im) && im.w == FW && im.h == FH && memcmp(im.px, px, sizeof px) == 0,
             "animated WebP (3 frames): the first frame's pixels (encoder ok %d)", ok);
    xf__rgb_free(&im);
    EXPECT_STATUS(m.p, m.n / 2, XF_ERR_IMAGE, 0);
    free(m.p);
    GifColorType pal[256];
    for (int i = 0; i < 256; i++)
        pal[i] = (GifColorType){(GifByteType) i, (GifByteType) (255 - i), (GifByteType) (i * 7)};
    uint8_t idx[FW * FH];
    for (int i = 0; i < FW * FH; i++)
        idx[i] = (uint8_t) ((i * 13) % 251);
    for (int il = 0; il < 2; il++) {
        m = write_gif(FW, FH, idx, il, pal);
        ok = decode(&m, &im), same = 1;
        for (int i = 0; ok && i < FW * FH; i++) {
            const uint8_t *q = im.px + 3 * i;
            if (idx[i] == 5)
                same &= q[0] == 255 && q[1] == 255 && q[2] == 255;
            else
                same &= q[0] == pal[idx[i]].Red && q[1] == pal[idx[i]].Green &&
                        q[2] == pal[idx[i]].Blue;
        }
        T_CHECKF(ok && im.w == FW && im.h == FH && same,
                 "GIF%s: the first frame's colours, index 5 transparent (white)",
                 il ? " interlaced" : "");
        xf__rgb_free(&im);
        EXPECT_STATUS(m.p, m.n / 3, XF_ERR_IMAGE, 0);
        /* a screen of 60000 x 60000: refused before any allocation */
        m.p[6] = 0x60, m.p[7] = 0xEA, m.p[8] = 0x60, m.p[9] = 0xEA;
        EXPECT_STATUS(m.p, m.n, XF_ERR_IMAGE, 0);
        free(m.p);
    }
    m = write_tiff(FW, FH, px, 1);
    T_CHECK(decode(&m, &im) && im.w == FW && im.h == FH && memcmp(im.px, px, sizeof px) == 0);
    xf__rgb_free(&im);
    EXPECT_STATUS(m.p, m.n / 2, XF_ERR_IMAGE, 0);
    free(m.p);
}

static char logged[2048];
static void capture(xf_log_level level, const char *line, void *user)
{
    (void) level, (void) user;
    strncat(logged, line, sizeof logged - strlen(logged) - 1);
}

/* a multi-page file says that its first page was used; a single page says nothing (the GIF and
 * WebP animations of test_more_formats print theirs) */
static void test_first_page_note(void)
{
    enum { FW = 9, FH = 7 };
    uint8_t px[FW * FH * 3];
    pattern(px, FW, FH);
    xf_rgb im;
    xf_log_set(capture, NULL, XF_LOG_INFO);
    for (int pages = 1; pages <= 3; pages += 2) {
        mem m = write_tiff(FW, FH, px, pages);
        logged[0] = 0;
        int ok = decode(&m, &im) && im.w == FW && im.h == FH && memcmp(im.px, px, sizeof px) == 0;
        T_CHECKF(ok && (strstr(logged, "multi-page TIFF: the first page is used") != NULL) ==
                           (pages > 1),
                 "TIFF of %d page(s): page 1's pixels, a note only when there are more", pages);
        if (ok)
            xf__rgb_free(&im);
        free(m.p);
    }
    xf_log_set(NULL, NULL, XF_LOG_INFO);
}

static void test_png(void)
{
    uint8_t px[W * H * 3], *rows[H], buf[W * H * 8];
    pattern(px, W, H);
    xf_rgb im;
    /* RGB 8-bit, plain and interlaced */
    for (int il = 0; il < 2; il++) {
        for (int y = 0; y < H; y++)
            rows[y] = px + y * W * 3;
        mem m = write_png(W, H, PNG_COLOR_TYPE_RGB, 8, il, rows, NULL, 0);
        T_CHECK(decode(&m, &im) && im.w == W && im.h == H && memcmp(im.px, px, sizeof px) == 0);
        xf__rgb_free(&im);
        free(m.p);
    }
    /* grey 8-bit */
    for (int y = 0; y < H; y++) {
        rows[y] = buf + y * W;
        for (int x = 0; x < W; x++)
            buf[y * W + x] = (uint8_t) (x * 5 + y);
    }
    mem m = write_png(W, H, PNG_COLOR_TYPE_GRAY, 8, 0, rows, NULL, 0);
    T_CHECK(decode(&m, &im));
    int ok = 1;
    for (int i = 0; i < W * H; i++)
        ok &= im.px[3 * i] == buf[i] && im.px[3 * i + 1] == buf[i] && im.px[3 * i + 2] == buf[i];
    T_CHECK(ok);
    xf__rgb_free(&im);
    free(m.p);
    /* palette */
    png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
    for (int y = 0; y < H; y++) {
        rows[y] = buf + y * W;
        for (int x = 0; x < W; x++)
            buf[y * W + x] = (uint8_t) ((x + y) % 4);
    }
    m = write_png(W, H, PNG_COLOR_TYPE_PALETTE, 8, 0, rows, pal, 4);
    T_CHECK(decode(&m, &im));
    ok = 1;
    for (int i = 0; i < W * H; i++) {
        png_color c = pal[buf[i]];
        ok &= im.px[3 * i] == c.red && im.px[3 * i + 1] == c.green && im.px[3 * i + 2] == c.blue;
    }
    T_CHECK(ok);
    xf__rgb_free(&im);
    free(m.p);
    /* RGBA: composited on white */
    for (int y = 0; y < H; y++) {
        rows[y] = buf + y * W * 4;
        for (int x = 0; x < W; x++) {
            uint8_t *p = buf + (y * W + x) * 4;
            p[0] = (uint8_t) (x * 5), p[1] = 0, p[2] = 200, p[3] = (uint8_t) (y * 8);
        }
    }
    m = write_png(W, H, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, rows, NULL, 0);
    T_CHECK(decode(&m, &im));
    int maxd = 0;
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 3; c++) {
            double a = buf[4 * i + 3] / 255.0;
            double want = buf[4 * i + c] * a + 255 * (1 - a);
            int d = abs((int) im.px[3 * i + c] - (int) (want + 0.5));
            maxd = d > maxd ? d : maxd;
        }
    T_CHECKF(maxd <= 1, "RGBA composite max diff %d", maxd);
    xf__rgb_free(&im);
    free(m.p);
    /* grey + alpha */
    for (int y = 0; y < H; y++) {
        rows[y] = buf + y * W * 2;
        for (int x = 0; x < W; x++)
            buf[(y * W + x) * 2] = 0, buf[(y * W + x) * 2 + 1] = (uint8_t) (x * 5);
    }
    m = write_png(W, H, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, rows, NULL, 0);
    T_CHECK(decode(&m, &im));
    T_CHECK(im.px[0] == 255 && abs(im.px[3 * 47] - (255 - 235)) <= 1);
    xf__rgb_free(&im);
    free(m.p);
    /* 16-bit RGB: scaled (v * 255 / 65535, rounded), not truncated */
    for (int y = 0; y < H; y++) {
        rows[y] = buf + y * W * 6;
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                unsigned v = (unsigned) (x * 1000 + y * 37 + c * 5000 + 127);
                buf[(y * W + x) * 6 + 2 * c] = (uint8_t) (v >> 8);
                buf[(y * W + x) * 6 + 2 * c + 1] = (uint8_t) v;
            }
    }
    m = write_png(W, H, PNG_COLOR_TYPE_RGB, 16, 1, rows, NULL, 0);
    T_CHECK(decode(&m, &im));
    maxd = 0;
    for (int i = 0; i < W * H; i++)
        for (int c = 0; c < 3; c++) {
            unsigned v = (unsigned) (buf[6 * i + 2 * c] << 8 | buf[6 * i + 2 * c + 1]);
            int d = abs((int) im.px[3 * i + c] - (int) ((v * 255.0) / 65535.0 + 0.5));
            maxd = d > maxd ? d : maxd;
        }
    T_CHECKF(maxd <= 1, "16-bit max diff %d", maxd);
    xf__rgb_free(&im);
    free(m.p);
}

/* ---- JPEG writer ---- */
static mem write_jpeg(int w, int h, int comps, J_COLOR_SPACE in_cs, J_COLOR_SPACE jpeg_cs,
                      int progressive, const uint8_t *px, const uint8_t *app1, unsigned app1_len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long outlen = 0;
    jpeg_mem_dest(&c, &out, &outlen);
    c.image_width = (JDIMENSION) w;
    c.image_height = (JDIMENSION) h;
    c.input_components = comps;
    c.in_color_space = in_cs;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, jpeg_cs);
    jpeg_set_quality(&c, 100, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (app1)
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, app1_len);
    while (c.next_scanline < c.image_height) {
        JSAMPLE row[W * 4 * 2];
        memcpy(row, px + (size_t) c.next_scanline * (size_t) w * (size_t) comps,
               (size_t) (w * comps));
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    mem m = {out, outlen, outlen};
    return m;
}

static double mean_abs(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += abs((int) a[i] - (int) b[i]);
    return s / (double) n;
}

static void test_jpeg(void)
{
    uint8_t px[W * H * 3];
    pattern(px, W, H);
    xf_rgb im;
    for (int prog = 0; prog < 2; prog++) {
        mem m = write_jpeg(W, H, 3, JCS_RGB, JCS_YCbCr, prog, px, NULL, 0);
        T_CHECK(decode(&m, &im) && im.w == W && im.h == H);
        double d = mean_abs(im.px, px, sizeof px);
        T_CHECKF(d < 2.0, "%s JPEG mean abs diff %.2f", prog ? "progressive" : "baseline", d);
        xf__rgb_free(&im);
        free(m.p);
    }
    uint8_t grey[W * H];
    for (int i = 0; i < W * H; i++)
        grey[i] = (uint8_t) (i % 251);
    mem m = write_jpeg(W, H, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 0, grey, NULL, 0);
    T_CHECK(decode(&m, &im));
    int ok = 1;
    for (int i = 0; i < W * H; i++)
        ok &= im.px[3 * i] == im.px[3 * i + 1] && im.px[3 * i + 1] == im.px[3 * i + 2];
    T_CHECK(ok);
    uint8_t g3[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        g3[i] = grey[i / 3];
    T_CHECKF(mean_abs(im.px, g3, sizeof g3) < 2.0, "grey JPEG diff");
    xf__rgb_free(&im);
    free(m.p);
    /* Adobe CMYK and YCCK, stored inverted as Photoshop does: the decoder must invert back */
    uint8_t cmyk[W * H * 4], want[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        int x = i % W, y = i / W; /* smooth: YCCK subsamples chroma */
        int cc = x * 5, mm = y * 6, yy = 60, k = (x + y) * 2;
        cmyk[4 * i] = (uint8_t) (255 - cc), cmyk[4 * i + 1] = (uint8_t) (255 - mm);
        cmyk[4 * i + 2] = (uint8_t) (255 - yy), cmyk[4 * i + 3] = (uint8_t) (255 - k);
        want[3 * i] = (uint8_t) ((255 - cc) * (255 - k) / 255);
        want[3 * i + 1] = (uint8_t) ((255 - mm) * (255 - k) / 255);
        want[3 * i + 2] = (uint8_t) ((255 - yy) * (255 - k) / 255);
    }
    for (int ycck = 0; ycck < 2; ycck++) {
        m = write_jpeg(W, H, 4, JCS_CMYK, ycck ? JCS_YCCK : JCS_CMYK, 0, cmyk, NULL, 0);
        T_CHECK(decode(&m, &im));
        double d = mean_abs(im.px, want, sizeof want);
        T_CHECKF(d < 3.0, "%s mean abs diff %.2f", ycck ? "YCCK" : "CMYK", d);
        xf__rgb_free(&im);
        free(m.p);
    }
}

/* EXIF APP1 with one IFD0 entry: orientation o, little or big endian */
static unsigned exif_block(uint8_t *b, int o, int le)
{
    memcpy(b, "Exif\0\0", 6);
    uint8_t *t = b + 6;
    memcpy(t, le ? "II*\0" : "MM\0*", 4);
#define P16(p, v)                                                 \
    (le ? ((p)[0] = (uint8_t) (v), (p)[1] = (uint8_t) ((v) >> 8)) \
        : ((p)[0] = (uint8_t) ((v) >> 8), (p)[1] = (uint8_t) (v)))
    t[4] = le ? 8 : 0, t[5] = 0, t[6] = 0, t[7] = le ? 0 : 8;
    P16(t + 8, 1);                                                /* one entry */
    P16(t + 10, 0x0112);                                          /* orientation */
    P16(t + 12, 3);                                               /* SHORT */
    t[14] = le ? 1 : 0, t[15] = 0, t[16] = 0, t[17] = le ? 0 : 1; /* count 1 */
    P16(t + 18, o);
    t[20] = t[21] = 0;
    t[22] = t[23] = t[24] = t[25] = 0; /* next IFD */
    return 6 + 26;
}

/* D12: decoding stops at the time budget (here a microsecond) with a reason that says so, and
 * decodes again without it */
static void test_time_budget(void)
{
    uint8_t px[W * H * 3], *rows[H];
    pattern(px, W, H);
    for (int y = 0; y < H; y++)
        rows[y] = px + y * W * 3;
    mem files[2] = {write_jpeg(W, H, 3, JCS_RGB, JCS_YCbCr, 1, px, NULL, 0),
                    write_png(W, H, PNG_COLOR_TYPE_RGB, 8, 1, rows, NULL, 0)};
    for (int k = 0; k < 2; k++) {
        xf_rgb im;
        xf_error err;
        xf_decode_opts o = opts();
        setenv("XFER_DECODE_SECONDS", "0.000001", 1);
        xf_status s = xf__decode_mem(files[k].p, files[k].n, "slow", &o, &im, &err);
        T_CHECKF(s == XF_ERR_IMAGE && strstr(err.msg, "time budget"), "%s over its time budget: %s",
                 k ? "PNG" : "JPEG", s ? err.msg : "decoded");
        if (!s)
            xf__rgb_free(&im);
        unsetenv("XFER_DECODE_SECONDS");
        T_CHECK(decode(&files[k], &im) && im.w == W);
        xf__rgb_free(&im);
        free(files[k].p);
    }
}

static void test_exif(void)
{
    /* 32x16 stored: left half red (TL quadrant pure red), right half green, bottom-left blue */
    enum { EW = 32, EH = 16 };
    uint8_t px[EW * EH * 3];
    for (int y = 0; y < EH; y++)
        for (int x = 0; x < EW; x++) {
            uint8_t *p = px + (y * EW + x) * 3;
            int q = (y >= EH / 2) * 2 + (x >= EW / 2); /* 0 TL, 1 TR, 2 BL, 3 BR */
            p[0] = q == 0 ? 255 : 0, p[1] = q == 1 ? 255 : 0, p[2] = q == 2 ? 255 : 0;
        }
    /* where stored TL (red) and TR (green) land: 0 TL 1 TR 2 BL 3 BR */
    static const int red_at[9] = {0, 0, 1, 3, 2, 0, 1, 3, 2};
    static const int green_at[9] = {0, 1, 0, 2, 3, 2, 3, 1, 0};
    for (int o = 1; o <= 8; o++)
        for (int le = 0; le < 2; le++) {
            uint8_t app1[64];
            unsigned n = exif_block(app1, o, le);
            T_CHECK(xf__exif_orientation(app1, n) == o);
            mem m = write_jpeg(EW, EH, 3, JCS_RGB, JCS_YCbCr, 0, px, app1, n);
            xf_rgb im;
            xf_error e;
            T_CHECK(decode(&m, &im) && xf__rgb_orient(&im, &e) == XF_OK);
            int dw = o >= 5 ? EH : EW, dh = o >= 5 ? EW : EH;
            T_CHECK(im.w == dw && im.h == dh);
            int cx[4] = {dw / 4, 3 * dw / 4, dw / 4, 3 * dw / 4};
            int cy[4] = {dh / 4, dh / 4, 3 * dh / 4, 3 * dh / 4};
            const uint8_t *r = im.px + (cy[red_at[o]] * dw + cx[red_at[o]]) * 3;
            const uint8_t *g = im.px + (cy[green_at[o]] * dw + cx[green_at[o]]) * 3;
            T_CHECKF(r[0] > 200 && r[1] < 60 && g[1] > 200 && g[0] < 60,
                     "orientation %d (%s): red %d,%d,%d green %d,%d,%d", o, le ? "II" : "MM", r[0],
                     r[1], r[2], g[0], g[1], g[2]);
            xf__rgb_free(&im);
            free(m.p);
        }
    /* 100,000 empty APP1 segments before the EXIF one (the corpus' FuzzTimeout.jpg has 125,000:
     * 6 s while libjpeg saved them): decided in well under a second, the orientation still read */
    {
        uint8_t app1[64];
        unsigned n = exif_block(app1, 6, 1);
        mem m = write_jpeg(EW, EH, 3, JCS_RGB, JCS_YCbCr, 0, px, app1, n);
        enum { N_SEG = 100000 };
        size_t big_n = m.n + 4 * (size_t) N_SEG;
        uint8_t *big = malloc(big_n);
        memcpy(big, m.p, 2);
        for (size_t i = 0; i < N_SEG; i++)
            memcpy(big + 2 + 4 * i, "\xFF\xE1\x00\x02", 4);
        memcpy(big + 2 + 4 * (size_t) N_SEG, m.p + 2, m.n - 2);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        mem bm = {big, big_n, big_n};
        xf_rgb im;
        xf_error e;
        int ok = decode(&bm, &im);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double) (t1.tv_sec - t0.tv_sec) + 1e-9 * (double) (t1.tv_nsec - t0.tv_nsec);
        T_CHECKF(ok && secs < 1.0, "100000 APP1 segments: decoded %d in %.3f s", ok, secs);
        if (ok) {
            T_CHECK(xf__rgb_orient(&im, &e) == XF_OK && im.w == EH && im.h == EW);
            xf__rgb_free(&im);
        }
        free(big);
        free(m.p);
    }
    /* hostile EXIF: offsets outside the block are ignored, never read */
    uint8_t bad[32];
    unsigned n = exif_block(bad, 6, 1);
    bad[6 + 4] = 0xF0;
    T_CHECK(xf__exif_orientation(bad, n) == 1);
    T_CHECK(xf__exif_orientation(bad, 10) == 1);
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static void test_bad(void)
{
    uint8_t px[W * H * 3];
    pattern(px, W, H);
    mem m = write_jpeg(W, H, 3, JCS_RGB, JCS_YCbCr, 0, px, NULL, 0);
    EXPECT_STATUS(m.p, m.n * 2 / 3, XF_ERR_IMAGE, 0); /* truncated: a warning is an error */
    EXPECT_STATUS(m.p, m.n * 2 / 3, XF_OK, 1);        /* ... unless allowed */
    EXPECT_STATUS(m.p, 0, XF_ERR_IMAGE, 0);
    EXPECT_STATUS(m.p, 20, XF_ERR_IMAGE, 0);
    EXPECT_STATUS("GIF89a\x01\x00\x01\x00", 10, XF_ERR_IMAGE, 0); /* a cut-off GIF */
    EXPECT_STATUS("RIFF\x10\x00\x00\x00WEBPVP8 ", 16, XF_ERR_IMAGE, 0);
    EXPECT_STATUS("II*\x00\x08\x00\x00\x00\x00\x00", 10, XF_ERR_IMAGE, 0);
    EXPECT_STATUS("<html><body>404</body></html>", 29, XF_ERR_UNSUPPORTED, 0);
    /* a JPEG whose SOF claims 60000 x 60000 */
    for (size_t i = 0; i + 9 < m.n; i++)
        if (m.p[i] == 0xFF && m.p[i + 1] == 0xC0) {
            m.p[i + 5] = 0xEA, m.p[i + 6] = 0x60, m.p[i + 7] = 0xEA, m.p[i + 8] = 0x60;
            break;
        }
    EXPECT_STATUS(m.p, m.n, XF_ERR_IMAGE, 0);
    free(m.p);
    /* a PNG whose IHDR claims 100000 x 100000 (valid CRC) */
    uint8_t *rows[H];
    for (int y = 0; y < H; y++)
        rows[y] = px + y * W * 3;
    m = write_png(W, H, PNG_COLOR_TYPE_RGB, 8, 0, rows, NULL, 0);
    uint8_t *ihdr = m.p + 8;
    uint32_t big = 100000;
    uint8_t be[4] = {(uint8_t) (big >> 24), (uint8_t) (big >> 16), (uint8_t) (big >> 8),
                     (uint8_t) big};
    memcpy(ihdr + 8, be, 4);
    memcpy(ihdr + 12, be, 4);
    uint32_t crc = crc32_png(ihdr + 4, 17);
    ihdr[21] = (uint8_t) (crc >> 24), ihdr[22] = (uint8_t) (crc >> 16);
    ihdr[23] = (uint8_t) (crc >> 8), ihdr[24] = (uint8_t) crc;
    EXPECT_STATUS(m.p, m.n, XF_ERR_IMAGE, 0);
    free(m.p);
    /* truncated PNG */
    m = write_png(W, H, PNG_COLOR_TYPE_RGB, 8, 0, rows, NULL, 0);
    EXPECT_STATUS(m.p, m.n / 2, XF_ERR_IMAGE, 0);
    free(m.p);
    /* a directory named .png, a missing file */
    mkdir(t_path("dir.png"), 0755);
    xf_preproc pp = {8, 8, 1.0f, {0, 0, 0}, {1, 1, 1}, 1, 0, 0, 0, 0, XF_INTERP_BILINEAR, 0};
    float out[8 * 8 * 3];
    xf_error e;
    T_CHECK(xf_image_load(t_path("dir.png"), &pp, out, &e) == XF_ERR_IO);
    T_CHECK(xf_image_load(t_path("missing.jpg"), &pp, out, &e) == XF_ERR_IO);
    T_CHECK(strstr(e.msg, "missing.jpg") != NULL);
}

/* red's span across the first row: the crop's width as a fraction of the image's */
static double red_span(const float *o, int side)
{
    double lo = 1e9, hi = -1e9;
    for (int x = 0; x < side; x++) {
        double v = (double) o[3 * x];
        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    return (hi - lo) * 0.2 / (5.0 * (W - 1) / 255.0); /* red's std is 0.2 */
}

/* the weak view crops at least 60% of the area; the strong view is XF_AUG_CROP's geometry with
 * colour operations and cutout on top, within the normalised 0..255 range, also when the
 * input is smaller than the output */
static void test_weak_strong(uint8_t *px, uint8_t **rows)
{
    for (int i = 0; i < W * W * 3; i++) /* red grows left to right, green down, blue flat */
        px[i] = (uint8_t) (i % 3 == 0 ? (i / 3 % W) * 5 : i % 3 == 1 ? (i / 3 / W) * 5 : 90);
    mem m = write_png(W, W, PNG_COLOR_TYPE_RGB, 8, 0, rows, NULL, 0);
    enum { S = 64 }; /* larger than the image: upscaled */
    xf_preproc pp = {S, S, 1.0f, {0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}, 1, 0, 0, 0, 0, 0, 0};
    float *a = malloc(sizeof(float) * S * S * 3), *b = malloc(sizeof(float) * S * S * 3);
    xf_error e;
    double weak_min = 1, crop_min = 1;
    int coloured = 0, same = 0, in_range = 1;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        pp.aug_seed = seed, pp.augment = XF_AUG_WEAK;
        T_CHECK(xf_image_load_mem(m.p, m.n, "weak", &pp, a, &e) == XF_OK);
        double sw = red_span(a, S);
        weak_min = sw < weak_min ? sw : weak_min;
        pp.augment = XF_AUG_CROP;
        T_CHECK(xf_image_load_mem(m.p, m.n, "crop", &pp, a, &e) == XF_OK);
        double sc = red_span(a, S);
        crop_min = sc < crop_min ? sc : crop_min;
        pp.augment = XF_AUG_STRONG;
        T_CHECK(xf_image_load_mem(m.p, m.n, "strong", &pp, b, &e) == XF_OK);
        coloured += memcmp(a, b, sizeof(float) * S * S * 3) != 0;
        T_CHECK(xf_image_load_mem(m.p, m.n, "strong", &pp, a, &e) == XF_OK);
        same += memcmp(a, b, sizeof(float) * S * S * 3) == 0;
        for (int i = 0; i < S * S * 3; i++) {
            int c = i % 3;
            float lo = -pp.mean[c] / pp.std[c], hi = (1 - pp.mean[c]) / pp.std[c];
            in_range &= isfinite(b[i]) && b[i] >= lo - 1e-4f && b[i] <= hi + 1e-4f;
        }
    }
    /* a weak crop is >= sqrt(0.6 * 3/4) = 0.67 of the width; the crop's 8% can be far less */
    T_CHECKF(weak_min > 0.6, "a weak view spans only %.2f of the width", weak_min);
    T_CHECKF(crop_min < 0.6, "no crop narrower than 0.6 in 24 (%.2f)", crop_min);
    T_CHECKF(coloured >= 20, "%d of 24 strong views differ from their crop", coloured);
    T_CHECK(same == 24);
    T_CHECK(in_range);
    pp.augment = 4;
    T_CHECK(xf_image_load_mem(m.p, m.n, "bad", &pp, a, &e) == XF_ERR_ARG);
    free(a), free(b), free(m.p);
}

static void test_preprocess(void)
{
    /* crop_pct 1 on an image already at the input size leaves it unchanged */
    uint8_t px[W * W * 3], *rows[W];
    for (int i = 0; i < W * W * 3; i++)
        px[i] = (uint8_t) ((i * 7) % 256);
    for (int y = 0; y < W; y++)
        rows[y] = px + y * W * 3;
    mem m = write_png(W, W, PNG_COLOR_TYPE_RGB, 8, 0, rows, NULL, 0);
    xf_preproc pp = {W, W, 1.0f, {0.5f, 0.25f, 0}, {0.5f, 0.5f, 2.0f}, 1, 0, 0, 0, 0, 0, 0};
    float *out = malloc(sizeof(float) * W * W * 3);
    xf_error e;
    T_CHECK(xf_image_load_mem(m.p, m.n, "id", &pp, out, &e) == XF_OK);
    double md = 0;
    for (int i = 0; i < W * W * 3; i++) {
        double want = (px[i] / 255.0 - (double) pp.mean[i % 3]) / (double) pp.std[i % 3];
        md = fmax(md, fabs((double) out[i] - want));
    }
    T_CHECKF(md < 1e-5, "identity preprocessing max diff %.3g", md);
    /* a constant image stays constant through resize + crop */
    memset(px, 77, sizeof px);
    free(m.p);
    m = write_png(W, W, PNG_COLOR_TYPE_RGB, 8, 0, rows, NULL, 0);
    xf_preproc p2 = {20, 20, 0.875f, {0, 0, 0}, {1, 1, 1}, 1, 0, 0, 0, 0, XF_INTERP_BILINEAR, 0};
    T_CHECK(xf_image_load_mem(m.p, m.n, "const", &p2, out, &e) == XF_OK);
    md = 0;
    for (int i = 0; i < 20 * 20 * 3; i++)
        md = fmax(md, fabs((double) out[i] - 77 / 255.0));
    T_CHECKF(md < 1e-5, "constant image max diff %.3g", md);
    p2.interp = XF_INTERP_BICUBIC; /* the cubic's weights sum to 1 as well */
    T_CHECK(xf_image_load_mem(m.p, m.n, "const", &p2, out, &e) == XF_OK);
    md = 0;
    for (int i = 0; i < 20 * 20 * 3; i++)
        md = fmax(md, fabs((double) out[i] - 77 / 255.0));
    T_CHECKF(md < 1e-5, "bicubic: constant image max diff %.3g", md);
    free(m.p);
    /* bicubic reproduces a linear ramp exactly away from the borders (Keys' cubic with
     * a = -0.5 is exact on polynomials up to degree 2), upscaling and downscaling alike;
     * and it is not the bilinear filter (which is also exact on ramps: a quadratic tells) */
    enum { RW = 64 };
    static uint8_t ramp[RW * RW * 3], *rr[RW];
    for (int y = 0; y < RW; y++) {
        rr[y] = ramp + y * RW * 3;
        for (int x = 0; x < RW; x++)
            for (int c = 0; c < 3; c++)
                rr[y][3 * x + c] = (uint8_t) (c == 2 ? (x - 32) * (x - 32) / 5 : 3 * x + 20);
    }
    m = write_png(RW, RW, PNG_COLOR_TYPE_RGB, 8, 0, rr, NULL, 0);
    float *o3 = malloc(sizeof(float) * 96 * 96 * 3), *o4 = malloc(sizeof(float) * 96 * 96 * 3);
    int sizes[2] = {96, 24};
    for (int t = 0; t < 2; t++) {
        int S = sizes[t];
        xf_preproc pc = {S, S, 1.0f, {0, 0, 0}, {1, 1, 1}, 1, 0, 0, 0, 0, XF_INTERP_BICUBIC, 0};
        xf_preproc pl = pc;
        pl.interp = XF_INTERP_BILINEAR;
        T_CHECK(xf_image_load_mem(m.p, m.n, "ramp", &pc, o3, &e) == XF_OK);
        T_CHECK(xf_image_load_mem(m.p, m.n, "ramp", &pl, o4, &e) == XF_OK);
        double worst = 0, quad_diff = 0, scale = (double) RW / S;
        for (int y = S / 4; y < 3 * S / 4; y++)
            for (int x = S / 4; x < 3 * S / 4; x++) {
                double sx = (x + 0.5) * scale - 0.5; /* the source position of pixel x */
                double want = (3 * sx + 20) / 255.0;
                const float *p = o3 + ((size_t) y * S + x) * 3;
                worst = fmax(worst, fabs((double) p[0] - want));
                quad_diff = fmax(quad_diff,
                                 fabs((double) p[2] - (double) o4[((size_t) y * S + x) * 3 + 2]));
            }
        T_CHECKF(worst < (S > RW ? 1e-5 : 2e-3), "bicubic %d -> %d: ramp off by %.3g", RW, S,
                 worst);
        T_CHECKF(quad_diff > 1e-4, "bicubic %d -> %d differs from bilinear on a parabola (%.3g)",
                 RW, S, quad_diff);
    }
    free(o3), free(o4), free(m.p);
    /* augmentation: a function of the seed only; differs from the center crop and by seed */
    for (int i = 0; i < W * W * 3; i++)
        px[i] = (uint8_t) ((i / 3 % W) * 5 + (i % 3) * 40); /* left-right gradient */
    m = write_png(W, W, PNG_COLOR_TYPE_RGB, 8, 0, rows, NULL, 0);
    xf_preproc pa = {16, 16, 1.0f, {0, 0, 0}, {1, 1, 1}, 1, 0, 0, 0, 0, XF_INTERP_BILINEAR, 0};
    float *c0 = malloc(sizeof(float) * 16 * 16 * 3), *a1 = malloc(sizeof(float) * 16 * 16 * 3);
    float *a2 = malloc(sizeof(float) * 16 * 16 * 3), *a3 = malloc(sizeof(float) * 16 * 16 * 3);
    T_CHECK(xf_image_load_mem(m.p, m.n, "aug", &pa, c0, &e) == XF_OK);
    pa.augment = 1, pa.aug_seed = 11;
    T_CHECK(xf_image_load_mem(m.p, m.n, "aug", &pa, a1, &e) == XF_OK);
    T_CHECK(xf_image_load_mem(m.p, m.n, "aug", &pa, a2, &e) == XF_OK);
    T_CHECK(memcmp(a1, a2, sizeof(float) * 16 * 16 * 3) == 0);
    T_CHECK(memcmp(a1, c0, sizeof(float) * 16 * 16 * 3) != 0);
    int flips = 0, differs = 0;
    for (uint64_t seed = 1; seed <= 16; seed++) {
        pa.aug_seed = seed;
        T_CHECK(xf_image_load_mem(m.p, m.n, "aug", &pa, a3, &e) == XF_OK);
        differs += memcmp(a3, a1, sizeof(float) * 16 * 16 * 3) != 0;
        flips += a3[0] > a3[15 * 3]; /* red grows left to right unless flipped */
    }
    T_CHECK(differs >= 15);
    T_CHECKF(flips >= 3 && flips <= 13, "%d of 16 crops flipped", flips);
    free(c0), free(a1), free(a2), free(a3);
    free(m.p);
    free(out);
    test_weak_strong(px, rows);
}

static void save(const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/img/%s", t_dir(), name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

/* Sample files for the tests/cli scripts: good and bad inputs in one folder. */
static void write_samples(void)
{
    mkdir(t_path("img"), 0755);
    mkdir(t_path("img/sub"), 0755);
    mkdir(t_path("img/dir.png"), 0755);
    uint8_t px[W * H * 3], *rows[H];
    pattern(px, W, H);
    for (int y = 0; y < H; y++)
        rows[y] = px + y * W * 3;
    mem m = write_jpeg(W, H, 3, JCS_RGB, JCS_YCbCr, 0, px, NULL, 0);
    save("a_good.jpg", m.p, m.n);
    save("c_truncated.jpg", m.p, m.n / 2);
    free(m.p);
    m = write_jpeg(W, H, 3, JCS_RGB, JCS_YCbCr, 1, px, NULL, 0);
    save("sub/progressive.jpeg", m.p, m.n);
    free(m.p);
    m = write_png(W, H, PNG_COLOR_TYPE_RGB, 8, 1, rows, NULL, 0);
    save("b_good.png", m.p, m.n);
    free(m.p);
    save("d_empty.jpg", "", 0);
    save("e_anim.gif", "GIF89a\x01\x00\x01\x00\x00\x00\x00;", 14);
    save("f_page.jpg", "<html>not found</html>\n", 23);
    /* a larger photo-sized JPEG for the resume test (slow enough to interrupt) */
    {
        enum { BW = 640, BH = 480 };
        uint8_t *big = malloc(BW * BH * 3);
        for (int y = 0; y < BH; y++)
            for (int x = 0; x < BW; x++) {
                uint8_t *p = big + (y * BW + x) * 3;
                p[0] = (uint8_t) (x ^ y), p[1] = (uint8_t) (x * 3), p[2] = (uint8_t) (y * 5);
            }
        struct jpeg_compress_struct c;
        struct jpeg_error_mgr jerr;
        c.err = jpeg_std_error(&jerr);
        jpeg_create_compress(&c);
        unsigned char *outb = NULL;
        unsigned long outlen = 0;
        jpeg_mem_dest(&c, &outb, &outlen);
        c.image_width = BW, c.image_height = BH, c.input_components = 3, c.in_color_space = JCS_RGB;
        jpeg_set_defaults(&c);
        jpeg_start_compress(&c, TRUE);
        while (c.next_scanline < BH) {
            JSAMPROW r = big + (size_t) c.next_scanline * BW * 3;
            jpeg_write_scanlines(&c, &r, 1);
        }
        jpeg_finish_compress(&c);
        jpeg_destroy_compress(&c);
        mkdir(t_path("big"), 0755);
        save("../big/photo.jpg", outb, outlen);
        free(outb);
        free(big);
    }
    /* two classes of 12 images each for the classifier CLI tests: warm vs cool colours */
    mkdir(t_path("cls"), 0755);
    mkdir(t_path("cls/warm"), 0755);
    mkdir(t_path("cls/cool"), 0755);
    uint32_t r = 5;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 12; i++) {
            for (int p = 0; p < W * H; p++) {
                r ^= r << 13, r ^= r >> 17, r ^= r << 5;
                int noise = (int) (r % 60);
                px[3 * p] = (uint8_t) (c ? 40 + noise : 180 + noise);
                px[3 * p + 1] = (uint8_t) (60 + (r >> 8) % 60);
                px[3 * p + 2] = (uint8_t) (c ? 180 + noise : 40 + noise);
            }
            m = write_png(W, H, PNG_COLOR_TYPE_RGB, 8, 0, rows, NULL, 0);
            char name[64];
            snprintf(name, sizeof name, "../cls/%s/%02d.png", c ? "cool" : "warm", i);
            save(name, m.p, m.n);
            free(m.p);
        }
}

int main(void)
{
    mkdir("build", 0755);
    mkdir(t_dir(), 0755);
    write_samples();
    test_png();
    test_jpeg();
    test_exif();
    test_bad();
    test_more_formats();
    test_first_page_note();
    test_time_budget();
    test_preprocess();
    return t_done();
}
