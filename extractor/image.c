/* image.c — JPEG and PNG bytes -> 8-bit RGB pixels, defensively.
 *
 * It is: format sniffing from the bytes, uncompressed 24/32-bit BMP, libjpeg-turbo decoding (grey,
 * YCbCr, CMYK/YCCK incl. Adobe-inverted, DCT-domain downscaling, EXIF orientation, warnings as
 * errors, a progressive scan limit) and libpng low-level decoding (palette, grey, alpha composited
 * on white, 16-bit scaled, interlaced), with pixel limits checked before any large allocation.
 * libjpeg's longjmp error model stays inside this file. It is not: resizing or normalisation
 * (preprocess.c), and no other file includes jpeglib.h or png.h.
 */
#include "image.h"
#include "io.h"
#include "picture.h"

#include <errno.h>
#include <setjmp.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#define MAX_SCANS 256

/* The time one image's decoding may take: $XFER_DECODE_SECONDS (0: no limit), default 5 s
 * (the slowest file of a 3,535-file corpus of broken images takes 55 ms; a 64 MP photo about
 * a second). Checked by libjpeg's progress monitor and after each PNG row. */
static double decode_deadline(void)
{
    const char *env = getenv("XFER_DECODE_SECONDS");
    double budget = env ? strtod(env, NULL) : 5.0;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return budget > 0 ? (double) t.tv_sec + 1e-9 * (double) t.tv_nsec + budget : 0;
}

static int past(double deadline)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return deadline > 0 && (double) t.tv_sec + 1e-9 * (double) t.tv_nsec > deadline;
}

void xf__rgb_free(xf_rgb *im)
{
    if (im) {
        free(im->px);
        im->px = NULL;
    }
}

xf_status xf__image_too_big(xf_error *err, const char *name, uint64_t w, uint64_t h, int64_t max)
{
    return xf__fail(err, XF_ERR_IMAGE, "%s: image is %llux%llu, over the %lld-pixel limit", name,
                    (unsigned long long) w, (unsigned long long) h, (long long) max);
}

/* ---- EXIF orientation (bounded TIFF walk of IFD0) ------------------------------------------ */
static unsigned rd16(const uint8_t *p, int le)
{
    return le ? (unsigned) (p[0] | p[1] << 8) : (unsigned) (p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
                    (uint32_t) p[3] << 24
              : (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

int xf__exif_orientation(const uint8_t *d, size_t n)
{
    if (n < 14 || memcmp(d, "Exif\0\0", 6) != 0)
        return 1;
    d += 6;
    n -= 6;
    int le;
    if (memcmp(d, "II*\0", 4) == 0)
        le = 1;
    else if (memcmp(d, "MM\0*", 4) == 0)
        le = 0;
    else
        return 1;
    uint32_t ifd = rd32(d + 4, le);
    if (ifd < 8 || ifd > n - 2)
        return 1;
    unsigned count = rd16(d + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t) ifd + 2 + (size_t) i * 12;
        if (e + 12 > n)
            return 1;
        if (rd16(d + e, le) == 0x0112 && rd16(d + e + 2, le) == 3) {
            unsigned v = rd16(d + e + 8, le);
            return v >= 1 && v <= 8 ? (int) v : 1;
        }
    }
    return 1;
}

/* ---- JPEG ---------------------------------------------------------------------------------------
 */
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int warnings;
    char first_warning[JMSG_LENGTH_MAX];
    double deadline; /* decode_deadline() */
} jerr_mgr;

static void jerr_exit(j_common_ptr c)
{
    jerr_mgr *e = (jerr_mgr *) c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

static void jerr_emit(j_common_ptr c, int level)
{
    jerr_mgr *e = (jerr_mgr *) c->err;
    if (level < 0) { /* a warning: corrupt data that libjpeg papers over */
        if (!e->warnings++)
            c->err->format_message(c, e->first_warning);
    }
}

static void jprogress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr) c;
    if (d->is_decompressor && d->input_scan_number > MAX_SCANS) {
        jerr_mgr *e = (jerr_mgr *) c->err;
        snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", MAX_SCANS);
        longjmp(e->jb, 1);
    }
    jerr_mgr *e = (jerr_mgr *) c->err;
    if (past(e->deadline)) {
        snprintf(e->msg, sizeof e->msg,
                 "decoding took longer than the time budget "
                 "(XFER_DECODE_SECONDS, default 5 s)");
        longjmp(e->jb, 1);
    }
}

/* The EXIF orientation from the first APP1 segment that has one, read from the bytes before
 * the first scan (libjpeg's jpeg_save_markers appends each saved marker by walking the whole
 * list: 125,000 APP1 markers in a 1 MB file took 6 s) */
static int jpeg_orientation(const uint8_t *d, size_t n)
{
    size_t i = 2; /* after SOI */
    while (i + 4 <= n && d[i] == 0xFF) {
        unsigned m = d[i + 1];
        if (m == 0xFF) { /* fill byte */
            i++;
            continue;
        }
        if (m == 0xDA || m == 0xD9) /* the first scan, or the end */
            break;
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* no length */
            i += 2;
            continue;
        }
        size_t seg = (size_t) d[i + 2] << 8 | d[i + 3];
        if (seg < 2 || i + 2 + seg > n)
            break;
        if (m == 0xE1) {
            int o = xf__exif_orientation(d + i + 4, seg - 2);
            if (o != 1)
                return o;
        }
        i += 2 + seg;
    }
    return 1;
}

static xf_status decode_jpeg(const uint8_t *data, size_t len, const char *name,
                             const xf_decode_opts *o, xf_rgb *out, xf_error *err)
{
    struct jpeg_decompress_struct cinfo;
    jerr_mgr jerr;
    struct jpeg_progress_mgr prog;
    memset(&jerr, 0, sizeof jerr);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jerr_exit;
    jerr.pub.emit_message = jerr_emit;
    uint8_t *volatile px = NULL;
    JSAMPLE *volatile row = NULL;
    if (setjmp(jerr.jb)) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        free(row);
        return xf__fail(err, XF_ERR_IMAGE, "%s: %s%s", name,
                        strstr(jerr.msg, "time budget") ? "" : "corrupt JPEG: ", jerr.msg);
    }
    jpeg_create_decompress(&cinfo);
    jerr.deadline = decode_deadline();
    prog.progress_monitor = jprogress;
    cinfo.progress = &prog;
    jpeg_mem_src(&cinfo, data, (unsigned long) len);
    jpeg_read_header(&cinfo, TRUE);
    uint64_t w0 = cinfo.image_width, h0 = cinfo.image_height;
    if (w0 * h0 > (uint64_t) o->max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        return xf__image_too_big(err, name, w0, h0, o->max_pixels);
    }
    int orient = o->exif_rotate ? jpeg_orientation(data, len) : 1;
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    int inverted = cmyk && cinfo.saw_Adobe_marker;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    /* DCT-domain scaling: the largest 1/2^k that keeps the shorter side >= min_side */
    uint64_t shorter = w0 < h0 ? w0 : h0;
    unsigned denom = 1;
    while (o->min_side > 0 && denom < 8 && shorter / (denom * 2) >= (uint64_t) o->min_side)
        denom *= 2;
    cinfo.scale_num = 1;
    cinfo.scale_denom = denom;
    jpeg_start_decompress(&cinfo);
    size_t w = cinfo.output_width, h = cinfo.output_height, nc = (size_t) cinfo.output_components;
    px = malloc(w * h * 3 + 1);
    row = malloc(w * nc + 1);
    if (!px || !row) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        free(row);
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory for %zux%zu pixels", name, w, h);
    }
    while (cinfo.output_scanline < h) {
        size_t y = cinfo.output_scanline;
        JSAMPROW rp = row;
        if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1)
            break;
        uint8_t *dst = px + y * w * 3;
        if (!cmyk) {
            memcpy(dst, row, w * 3);
            continue;
        }
        for (size_t x = 0; x < w; x++) {
            unsigned c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
            if (!inverted) {
                c = 255 - c, m = 255 - m, yy = 255 - yy, k = 255 - k;
            }
            dst[3 * x] = (uint8_t) ((c * k + 127) / 255);
            dst[3 * x + 1] = (uint8_t) ((m * k + 127) / 255);
            dst[3 * x + 2] = (uint8_t) ((yy * k + 127) / 255);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    if (jerr.warnings && !o->allow_truncated) {
        free(px);
        return xf__fail(err, XF_ERR_IMAGE,
                        "%s: corrupt or truncated JPEG: %s (--allow-truncated accepts it)", name,
                        jerr.first_warning);
    }
    out->px = px;
    out->w = (int) w;
    out->h = (int) h;
    out->orientation = o->exif_rotate ? orient : 1;
    return XF_OK;
}

/* ---- PNG ----------------------------------------------------------------------------------------
 */
static _Thread_local double png_deadline;

static void png_row_done(png_structp png, png_uint_32 row, int pass)
{
    (void) row, (void) pass;
    if (past(png_deadline))
        png_error(png,
                  "decoding took longer than the time budget (XFER_DECODE_SECONDS, default 5 s)");
}
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    char msg[256];
} png_src;

static void png_read_mem(png_structp png, png_bytep dst, png_size_t n)
{
    png_src *s = png_get_io_ptr(png);
    if (n > s->len - s->pos)
        png_error(png, "unexpected end of file (truncated)");
    memcpy(dst, s->p + s->pos, n);
    s->pos += n;
}

static void png_err(png_structp png, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void) png;
    (void) msg;
}

static xf_status decode_png(const uint8_t *data, size_t len, const char *name,
                            const xf_decode_opts *o, xf_rgb *out, xf_error *err)
{
    png_src src = {data, len, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_err, png_warn);
    if (!png)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", name);
    png_infop info = png_create_info_struct(png);
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        free(px);
        free(rows);
        return xf__fail(err, XF_ERR_IMAGE, "%s: %s%s", name,
                        strstr(src.msg, "time budget") ? "" : "corrupt PNG: ",
                        src.msg[0] ? src.msg : "out of memory");
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(png, 64u << 20);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((uint64_t) w * h > (uint64_t) o->max_pixels) {
        png_destroy_read_struct(&png, &info, NULL);
        return xf__image_too_big(err, name, w, h, o->max_pixels);
    }
    int ct = png_get_color_type(png, info);
    png_set_expand(png); /* palette -> RGB, grey < 8 bits -> 8, tRNS -> alpha */
    png_set_scale_16(png);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_color_16 white = {0, 255, 255, 255, 255};
    png_set_background(png, &white, PNG_BACKGROUND_GAMMA_SCREEN, 0, 1.0);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rb = png_get_rowbytes(png, info);
    if (png_get_channels(png, info) != 3 || rb != (size_t) w * 3) {
        png_destroy_read_struct(&png, &info, NULL);
        return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: PNG layout not reducible to 8-bit RGB", name);
    }
    px = malloc((size_t) h * rb + 1);
    rows = malloc((size_t) h * sizeof(png_bytep) + 1);
    if (!px || !rows) {
        png_destroy_read_struct(&png, &info, NULL);
        free(px);
        free(rows);
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory for %ux%u pixels", name, w, h);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = px + (size_t) y * rb;
    png_deadline = decode_deadline();
    png_set_read_status_fn(png, png_row_done);
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->px = px;
    out->w = (int) w;
    out->h = (int) h;
    out->orientation = 1;
    return XF_OK;
}

/* ---- BMP: uncompressed 24/32-bit, bottom-up or top-down ---------------------------------- */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static xf_status decode_bmp(const uint8_t *d, size_t len, const char *name, const xf_decode_opts *o,
                            xf_rgb *out, xf_error *err)
{
    if (len < 54)
        return xf__fail(err, XF_ERR_IMAGE, "%s: truncated BMP header", name);
    uint32_t off = le32(d + 10), hsize = le32(d + 14), comp = le32(d + 30);
    int32_t w = (int32_t) le32(d + 18), h = (int32_t) le32(d + 22);
    unsigned bpp = (unsigned) (d[28] | d[29] << 8);
    if (hsize < 40 || (bpp != 24 && bpp != 32) || !(comp == 0 || (comp == 3 && bpp == 32)))
        return xf__fail(err, XF_ERR_UNSUPPORTED,
                        "%s: BMP with %u bits/pixel, compression %u "
                        "(only uncompressed 24/32-bit)",
                        name, bpp, comp);
    int top_down = h < 0;
    int64_t hh = top_down ? -(int64_t) h : h;
    if (w < 1 || hh < 1 || (uint64_t) w * (uint64_t) hh > (uint64_t) o->max_pixels)
        return w < 1 || hh < 1
                   ? xf__fail(err, XF_ERR_IMAGE, "%s: BMP size %dx%lld", name, w, (long long) hh)
                   : xf__image_too_big(err, name, (uint64_t) w, (uint64_t) hh, o->max_pixels);
    size_t stride = ((size_t) w * bpp / 8 + 3) & ~(size_t) 3;
    if (off > len || stride * (size_t) hh > len - off)
        return xf__fail(err, XF_ERR_IMAGE, "%s: truncated BMP pixel data", name);
    uint8_t *px = malloc((size_t) w * (size_t) hh * 3);
    if (!px)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", name);
    for (int64_t y = 0; y < hh; y++) {
        const uint8_t *row = d + off + stride * (size_t) (top_down ? y : hh - 1 - y);
        uint8_t *dst = px + (size_t) y * (size_t) w * 3;
        for (int32_t x = 0; x < w; x++) {
            const uint8_t *s = row + (size_t) x * (bpp / 8);
            dst[3 * x] = s[2], dst[3 * x + 1] = s[1], dst[3 * x + 2] = s[0];
        }
    }
    out->px = px;
    out->w = w;
    out->h = (int) hh;
    out->orientation = 1;
    return XF_OK;
}

xf_status xf__decode_mem(const void *data, size_t len, const char *name, const xf_decode_opts *o,
                         xf_rgb *out, xf_error *err)
{
    const uint8_t *d = data;
    memset(out, 0, sizeof *out);
    if (len == 0)
        return xf__fail(err, XF_ERR_IMAGE, "%s: empty file", name);
    if (len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return decode_jpeg(d, len, name, o, out, err);
    if (len >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return decode_png(d, len, name, o, out, err);
    if (len >= 2 && memcmp(d, "BM", 2) == 0)
        return decode_bmp(d, len, name, o, out, err);
    if (len >= 4 && memcmp(d, "GIF8", 4) == 0)
        return xf__decode_gif(d, len, name, o, out, err);
    if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return xf__decode_webp(d, len, name, o, out, err);
    if (len >= 4 && (memcmp(d, "II*", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return xf__decode_tiff(d, len, name, o, out, err);
    const char *kind =
        len >= 1 && (d[0] == '<' || d[0] == '{') ? "text (HTML/XML/JSON?)" : "unknown format";
    return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: not an image xfer reads (%s)", name, kind);
}

/* w x h RGB pixels as a PNG on f; 0 when libpng fails */
static int png_to(FILE *f, int w, int h, const uint8_t *px)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        return 0;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32) w, (png_uint_32) h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, px + (size_t) y * (size_t) w * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 1;
}

xf_status xf__png_write_rgb(const char *path, int w, int h, const uint8_t *px, xf_error *err)
{
    xf_out o;
    xf_status s = xf__out_open(&o, path, XF_OUT_TEMP, err);
    if (s)
        return s;
    if (!png_to(o.f, w, h, px)) {
        xf__out_discard(&o, 0);
        return xf__fail(err, XF_ERR_WRITE, "%s: PNG write failed", path);
    }
    return xf__out_commit(&o, err);
}

xf_status xf__png_encode_rgb(int w, int h, const uint8_t *px, uint8_t **out, size_t *len,
                             xf_error *err)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return xf__fail(err, XF_ERR_NOMEM, "out of memory for a PNG");
    int ok = png_to(f, w, h, px);
    if (fclose(f) != 0 || !ok) {
        free(buf);
        return xf__fail(err, XF_ERR_NOMEM, "PNG encoding failed");
    }
    *out = (uint8_t *) buf, *len = n;
    return XF_OK;
}
