/* mnist_to_png.c — writes the first N images per class of a (Fashion-)MNIST IDX pair (gzip) as
 * PNG files in OUT/<class>/NNNNN.png, the class-folder layout xfer's tools read. Demo data
 * preparation only (make demo); not part of the library.
 * Usage: mnist_to_png IMAGES.gz LABELS.gz OUT PER_CLASS
 */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *const classes[10] = {"tshirt_top", "trouser", "pullover", "dress", "coat",
                                        "sandal",     "shirt",   "sneaker",  "bag",   "ankle_boot"};

static int read_be32(gzFile f, unsigned *v)
{
    unsigned char b[4];
    if (gzread(f, b, 4) != 4)
        return 0;
    *v = (unsigned) b[0] << 24 | (unsigned) b[1] << 16 | (unsigned) b[2] << 8 | b[3];
    return 1;
}

static int write_png(const char *path, const unsigned char *px, unsigned w, unsigned h)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fclose(f);
        return 0;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (unsigned y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep) (px + y * w));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mnist_to_png IMAGES.gz LABELS.gz OUT PER_CLASS\n");
        return 2;
    }
    int per = atoi(argv[4]);
    gzFile fi = gzopen(argv[1], "rb"), fl = gzopen(argv[2], "rb");
    unsigned mi, n, h, w, ml, nl;
    if (!fi || !fl || !read_be32(fi, &mi) || !read_be32(fi, &n) || !read_be32(fi, &h) ||
        !read_be32(fi, &w) || !read_be32(fl, &ml) || !read_be32(fl, &nl) || mi != 2051 ||
        ml != 2049 || n != nl || h > 1024 || w > 1024) {
        fprintf(stderr, "mnist_to_png: %s / %s: not an IDX image/label pair\n", argv[1], argv[2]);
        return 1;
    }
    mkdir(argv[3], 0755);
    int count[10] = {0};
    unsigned char *px = malloc((size_t) h * w);
    char path[4096];
    for (unsigned i = 0; i < n; i++) {
        unsigned char lab;
        if (gzread(fi, px, h * w) != (int) (h * w) || gzread(fl, &lab, 1) != 1 || lab > 9) {
            fprintf(stderr, "mnist_to_png: truncated at image %u\n", i);
            return 1;
        }
        if (count[lab] >= per)
            continue;
        snprintf(path, sizeof path, "%s/%s", argv[3], classes[lab]);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/%s/%05u.png", argv[3], classes[lab], i);
        if (!write_png(path, px, w, h)) {
            fprintf(stderr, "mnist_to_png: %s: %s\n", path, strerror(errno));
            return 1;
        }
        count[lab]++;
    }
    free(px);
    gzclose(fi);
    gzclose(fl);
    return 0;
}
