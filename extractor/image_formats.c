/* image_formats.c — the decoders of the image formats after JPEG, PNG and BMP: WebP (libwebp;
 * an animation's first frame through libwebpdemux), GIF (giflib; the first frame) and TIFF
 * (libtiff; the first page, any sample layout libtiff's RGBA reader handles). Each checks the
 * pixel limit before it allocates, reads only from memory, and composites transparency on
 * white, as PNG alpha is. An animation or a multi-page file says on the log (INFO) that its
 * first frame or page was used.
 * It is: three decoders behind xf__decode_mem (image.c sniffs the bytes). It is not: the
 * sniffing, orientation or resizing.
 */
#include "image.h"

#include <gif_lib.h>
#include <stdarg.h>
#include <string.h>
#include <tiffio.h>
#include <webp/decode.h>
#include <webp/demux.h>

static uint8_t on_white(unsigned c, unsigned a)
{
    return (uint8_t) ((c * a + 255 * (255 - a) + 127) / 255);
}

/* ---- WebP -------------------------------------------------------------------------------- */
/* an animation: the canvas after its first frame (the demuxer's size checked before decoding) */
static xf_status webp_first_frame(const uint8_t *d, size_t len, const char *name,
                                  const xf_decode_opts *o, xf_rgb *out, xf_error *err)
{
    WebPData data = {d, len};
    WebPDemuxer *dm = WebPDemux(&data);
    if (!dm)
        return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt animated WebP", name);
    uint64_t w = WebPDemuxGetI(dm, WEBP_FF_CANVAS_WIDTH),
             h = WebPDemuxGetI(dm, WEBP_FF_CANVAS_HEIGHT);
    uint32_t frames = WebPDemuxGetI(dm, WEBP_FF_FRAME_COUNT);
    WebPDemuxDelete(dm);
    if (w < 1 || h < 1 || frames < 1)
        return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt animated WebP", name);
    if (w * h > (uint64_t) o->max_pixels)
        return xf__image_too_big(err, name, w, h, o->max_pixels);
    WebPAnimDecoderOptions ao;
    if (!WebPAnimDecoderOptionsInit(&ao))
        return xf__fail(err, XF_ERR_UNSUPPORTED, "%s: libwebp's animation decoder is too old",
                        name);
    ao.color_mode = MODE_RGBA, ao.use_threads = 0;
    WebPAnimDecoder *ad = WebPAnimDecoderNew(&data, &ao);
    uint8_t *canvas = NULL, *px = malloc((size_t) (w * h * 3));
    int ts = 0;
    xf_status s = XF_OK;
    if (!px)
        s = xf__fail(err, XF_ERR_NOMEM, "%s: out of memory for %llux%llu pixels", name,
                     (unsigned long long) w, (unsigned long long) h);
    else if (!ad || !WebPAnimDecoderGetNext(ad, &canvas, &ts) || !canvas)
        s = xf__fail(err, XF_ERR_IMAGE, "%s: corrupt animated WebP", name);
    for (size_t i = 0; !s && i < (size_t) (w * h); i++)
        for (int c = 0; c < 3; c++)
            px[3 * i + (size_t) c] = on_white(canvas[4 * i + (size_t) c], canvas[4 * i + 3]);
    WebPAnimDecoderDelete(ad);
    if (s) {
        free(px);
        return s;
    }
    xf__log(XF_LOG_INFO, "%s: animated WebP (%u frames): the first frame is used\n", name, frames);
    out->px = px, out->w = (int) w, out->h = (int) h, out->orientation = 1;
    return XF_OK;
}

xf_status xf__decode_webp(const uint8_t *d, size_t len, const char *name, const xf_decode_opts *o,
                          xf_rgb *out, xf_error *err)
{
    WebPBitstreamFeatures f;
    if (WebPGetFeatures(d, len, &f) != VP8_STATUS_OK || f.width < 1 || f.height < 1)
        return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt WebP", name);
    if (f.has_animation)
        return webp_first_frame(d, len, name, o, out, err);
    uint64_t w = (uint64_t) f.width, h = (uint64_t) f.height;
    if (w * h > (uint64_t) o->max_pixels)
        return xf__image_too_big(err, name, w, h, o->max_pixels);
    uint8_t *rgba = malloc((size_t) (w * h * 4));
    if (!rgba)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory for %llux%llu pixels", name,
                        (unsigned long long) w, (unsigned long long) h);
    if (!WebPDecodeRGBAInto(d, len, rgba, (size_t) (w * h * 4), (int) (w * 4))) {
        free(rgba);
        return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt WebP", name);
    }
    for (size_t i = 0; i < (size_t) (w * h); i++) /* in place: RGBA -> RGB on white */
        for (int c = 0; c < 3; c++)
            rgba[3 * i + (size_t) c] = on_white(rgba[4 * i + (size_t) c], rgba[4 * i + 3]);
    out->px = rgba, out->w = (int) w, out->h = (int) h, out->orientation = 1;
    return XF_OK;
}

/* ---- GIF --------------------------------------------------------------------------------- */
typedef struct {
    const uint8_t *p;
    size_t n, pos;
} mem_src;

static int gif_read(GifFileType *g, GifByteType *buf, int n)
{
    mem_src *s = g->UserData;
    size_t k = n < 0 ? 0 : (size_t) n;
    k = k < s->n - s->pos ? k : s->n - s->pos;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    return (int) k;
}

static xf_status gif_frame(GifFileType *g, const char *name, const xf_decode_opts *o, int transp,
                           xf_rgb *out, xf_error *err)
{
    if (DGifGetImageDesc(g) != GIF_OK)
        return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt GIF: %s", name, GifErrorString(g->Error));
    const GifImageDesc *im = &g->Image;
    const ColorMapObject *map = im->ColorMap ? im->ColorMap : g->SColorMap;
    uint64_t fw = (uint64_t) im->Width, fh = (uint64_t) im->Height;
    uint64_t w = g->SWidth > 0 ? (uint64_t) g->SWidth : fw,
             h = g->SHeight > 0 ? (uint64_t) g->SHeight : fh;
    if (fw < 1 || fh < 1 || w < 1 || h < 1 || !map)
        return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt GIF: %s", name,
                        map ? "an empty frame" : "no colour map");
    if (w * h > (uint64_t) o->max_pixels || fw * fh > (uint64_t) o->max_pixels)
        return xf__image_too_big(err, name, w > fw ? w : fw, h > fh ? h : fh, o->max_pixels);
    uint8_t *px = malloc((size_t) (w * h * 3)), *line = malloc((size_t) fw);
    if (!px || !line) {
        free(px), free(line);
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", name);
    }
    memset(px, 255, (size_t) (w * h * 3)); /* outside the frame and transparent: white */
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    int passes = im->Interlace ? 4 : 1;
    for (int p = 0; p < passes; p++)
        for (uint64_t y = im->Interlace ? (uint64_t) start[p] : 0; y < fh;
             y += im->Interlace ? (uint64_t) step[p] : 1) {
            if (DGifGetLine(g, line, (int) fw) != GIF_OK) {
                free(px), free(line);
                return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt GIF: %s", name,
                                GifErrorString(g->Error));
            }
            uint64_t yy = (uint64_t) im->Top + y;
            for (uint64_t x = 0; yy < h && x < fw; x++) {
                uint64_t xx = (uint64_t) im->Left + x;
                if (xx >= w || line[x] == transp || line[x] >= map->ColorCount)
                    continue;
                uint8_t *q = px + (yy * w + xx) * 3;
                const GifColorType *c = &map->Colors[line[x]];
                q[0] = c->Red, q[1] = c->Green, q[2] = c->Blue;
            }
        }
    free(line);
    out->px = px, out->w = (int) w, out->h = (int) h, out->orientation = 1;
    return XF_OK;
}

/* after a frame: 1 when another image follows (extensions in between are skipped) */
static int gif_more_frames(GifFileType *g)
{
    for (int records = 0; records < 1000; records++) {
        GifRecordType rt;
        int code;
        GifByteType *ext = NULL;
        if (DGifGetRecordType(g, &rt) != GIF_OK || rt == TERMINATE_RECORD_TYPE)
            return 0;
        if (rt == IMAGE_DESC_RECORD_TYPE)
            return 1;
        if (rt != EXTENSION_RECORD_TYPE || DGifGetExtension(g, &code, &ext) != GIF_OK)
            return 0;
        while (ext && DGifGetExtensionNext(g, &ext) == GIF_OK)
            ;
        if (ext)
            return 0;
    }
    return 0;
}

xf_status xf__decode_gif(const uint8_t *d, size_t len, const char *name, const xf_decode_opts *o,
                         xf_rgb *out, xf_error *err)
{
    mem_src src = {d, len, 0};
    int e = 0;
    GifFileType *g = DGifOpen(&src, gif_read, &e);
    if (!g)
        return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt GIF: %s", name, GifErrorString(e));
    int transp = -1, done = 0;
    xf_status s = XF_OK;
    for (int records = 0; !done && records < 100000; records++) { /* the first frame only */
        GifRecordType rt;
        if (DGifGetRecordType(g, &rt) != GIF_OK)
            break;
        if (rt == IMAGE_DESC_RECORD_TYPE) {
            s = gif_frame(g, name, o, transp, out, err), done = 1;
            if (!s && gif_more_frames(g))
                xf__log(XF_LOG_INFO, "%s: animated GIF: the first frame is used\n", name);
            break;
        }
        if (rt == TERMINATE_RECORD_TYPE) {
            s = xf__fail(err, XF_ERR_IMAGE, "%s: GIF without an image", name), done = 1;
            break;
        }
        int code;
        GifByteType *ext = NULL;
        if (rt != EXTENSION_RECORD_TYPE || DGifGetExtension(g, &code, &ext) != GIF_OK)
            break;
        if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1))
            transp = ext[4];
        while (ext && DGifGetExtensionNext(g, &ext) == GIF_OK)
            ;
        if (ext) /* the loop stopped on an error */
            break;
    }
    if (!done)
        s = xf__fail(err, XF_ERR_IMAGE, "%s: corrupt GIF: %s", name, GifErrorString(g->Error));
    DGifCloseFile(g, &e);
    return s;
}

/* ---- TIFF -------------------------------------------------------------------------------- */
typedef struct {
    mem_src m;
    char msg[200];
} tiff_src;

static tmsize_t tiff_read(thandle_t h, void *buf, tmsize_t n)
{
    mem_src *s = &((tiff_src *) h)->m;
    size_t k = n < 0 ? 0 : (size_t) n;
    k = k < s->n - s->pos ? k : s->n - s->pos;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    return (tmsize_t) k;
}

static tmsize_t tiff_write(thandle_t h, void *buf, tmsize_t n)
{
    (void) h, (void) buf, (void) n;
    return 0;
}

static toff_t tiff_seek(thandle_t h, toff_t off, int whence)
{
    mem_src *s = &((tiff_src *) h)->m;
    uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->n : 0;
    if (off > UINT64_MAX - base || base + off > s->n)
        return (toff_t) -1;
    s->pos = (size_t) (base + off);
    return s->pos;
}

static int tiff_close(thandle_t h)
{
    (void) h;
    return 0;
}

static toff_t tiff_size(thandle_t h)
{
    return ((tiff_src *) h)->m.n;
}

static int tiff_error(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
    XF_PRINTF(4, 0);
static int tiff_error(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
    (void) t, (void) module;
    tiff_src *s = user;
    if (!s->msg[0])
        vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    return 1; /* handled: nothing on stderr */
}

static int tiff_warning(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
    (void) t, (void) user, (void) module, (void) fmt, (void) ap;
    return 1;
}

xf_status xf__decode_tiff(const uint8_t *d, size_t len, const char *name, const xf_decode_opts *o,
                          xf_rgb *out, xf_error *err)
{
    tiff_src src = {{d, len, 0}, ""};
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return xf__fail(err, XF_ERR_NOMEM, "%s: out of memory", name);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, tiff_error, &src);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, tiff_warning, NULL);
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t) o->max_pixels * 8 + (1 << 20));
    TIFF *t = TIFFClientOpenExt(name, "rm", (thandle_t) &src, tiff_read, tiff_write, tiff_seek,
                                tiff_close, tiff_size, NULL, NULL, opts);
    TIFFOpenOptionsFree(opts);
    if (!t)
        return xf__fail(err, XF_ERR_IMAGE, "%s: corrupt TIFF: %s", name,
                        src.msg[0] ? src.msg : "cannot read its header");
    uint32_t w = 0, h = 0;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    xf_status s = XF_OK;
    uint32_t *rgba = NULL;
    if (w < 1 || h < 1)
        s = xf__fail(err, XF_ERR_IMAGE, "%s: corrupt TIFF: no size", name);
    else if ((uint64_t) w * h > (uint64_t) o->max_pixels)
        s = xf__image_too_big(err, name, w, h, o->max_pixels);
    else if (!(rgba = malloc((size_t) w * h * 4)))
        s = xf__fail(err, XF_ERR_NOMEM, "%s: out of memory for %ux%u pixels", name, w, h);
    else if (!TIFFReadRGBAImageOriented(t, w, h, rgba, ORIENTATION_TOPLEFT, 0))
        s = xf__fail(err, XF_ERR_IMAGE, "%s: corrupt or unsupported TIFF: %s", name,
                     src.msg[0] ? src.msg : "unreadable pixels");
    if (!s && TIFFReadDirectory(t))
        xf__log(XF_LOG_INFO, "%s: multi-page TIFF: the first page is used\n", name);
    TIFFClose(t);
    if (s) {
        free(rgba);
        return s;
    }
    uint8_t *px = (uint8_t *) rgba; /* in place: packed ABGR words -> RGB bytes on white */
    for (size_t i = 0; i < (size_t) w * h; i++) {
        uint32_t v = rgba[i];
        unsigned a = TIFFGetA(v);
        uint8_t r = on_white(TIFFGetR(v), a), g = on_white(TIFFGetG(v), a),
                b = on_white(TIFFGetB(v), a);
        px[3 * i] = r, px[3 * i + 1] = g, px[3 * i + 2] = b;
    }
    out->px = px, out->w = (int) w, out->h = (int) h, out->orientation = 1;
    return XF_OK;
}
