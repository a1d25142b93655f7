/* font.h — the bitmap font the confusion PNG writes its text with: Terminus Font 8x16 (SIL Open
 * Font License 1.1, from Debian's console-setup-linux), U+0020..U+00FF, made into a C array at
 * build time by font-gen.c (build/gen/font.c).
 * It is: the glyph table. It is not: drawing (confusion_png.c).
 */
#ifndef XF_BITMAP_FONT_H
#define XF_BITMAP_FONT_H

#define XF_FONT_W     8
#define XF_FONT_H     16
#define XF_FONT_FIRST 0x20
#define XF_FONT_COUNT 224

/* row r of the glyph of code point c (FIRST <= c < FIRST + COUNT); bit 7 is the left pixel */
extern const unsigned char xf__font_rows[XF_FONT_COUNT][XF_FONT_H];

#endif
