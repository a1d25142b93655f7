"""hostile.py — writes the generated hostile images of `make test-corpus` into a folder: no
file is committed, every one is made here from its description. Each targets a decoder limit:
declared sizes past the pixel limit, a PNG bomb (a 20000 x 20000 image in 1 MB), a JPEG with
thousands of scans and markers, zero and one-byte files, headers cut short, random bytes
behind each magic number, a GIF with 10,000 frames, a TIFF whose directories loop.
Standard library only (zlib, struct). Usage: hostile.py DIR
"""
import os
import random
import struct
import sys
import zlib

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(7)


def put(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, raw, depth=8, ct=2):
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ct, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))


# a PNG bomb: 20000 x 20000 grey, every row zero: 400 MB of pixels in a few hundred KB
rows = zlib.compressobj(9)
body = b"".join(rows.compress(b"\0" * 20001) for _ in range(20000)) + rows.flush()
put("png_bomb_20000x20000.png",
    b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
    + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b""))
put("png_declares_2^31.png", png(0x7fffffff, 0x7fffffff, b"\0" * 16))
put("png_zero_size.png", png(0, 0, b""))
put("png_many_chunks.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
    + png_chunk(b"tEXt", b"k\0v") * 50000 + png_chunk(b"IDAT", zlib.compress(b"\0" * 13 * 4))
    + png_chunk(b"IEND", b""))
# JPEG: SOF 65500 x 65500; a scan count far past the limit; 200,000 APP markers
soi, eoi = b"\xff\xd8", b"\xff\xd9"
sof = b"\xff\xc2" + struct.pack(">HBHHB", 17, 8, 65500, 65500, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(1, 65))
put("jpeg_65500x65500.jpg", soi + dqt + sof + eoi)
sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x00\x00"
put("jpeg_many_scans.jpg", soi + dqt + sof.replace(struct.pack(">HH", 65500, 65500), struct.pack(">HH", 64, 64))
    + (sos + b"\x00" * 8) * 5000 + eoi)
put("jpeg_200000_markers.jpg", soi + b"\xff\xe2\x00\x02" * 200000 + dqt + eoi)
for magic, name in [(b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"BM", "bmp"),
                    (b"RIFF\x00\x10\x00\x00WEBPVP8 ", "webp"), (b"GIF89a", "gif"),
                    (b"II*\x00", "tiff"), (b"MM\x00*", "tiff_be")]:
    for k in range(4):
        put("random_after_%s_%d" % (name, k), magic + bytes(rng.randrange(256) for _ in range(rng.choice([3, 100, 5000]))))
    put("cut_%s" % name, magic[:-1])
put("empty", b"")
put("one_byte", b"\xff")
# GIF: 10,000 one-pixel frames
gif = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
put("gif_10000_frames.gif", gif + frame * 10000 + b"\x3b")
# TIFF whose first directory points back at itself
ifd = struct.pack("<H", 1) + struct.pack("<HHII", 256, 3, 1, 8) + struct.pack("<I", 8)
put("tiff_loop.tif", b"II*\x00" + struct.pack("<I", 8) + ifd)
print("%d hostile files in %s" % (len(os.listdir(out)), out))
