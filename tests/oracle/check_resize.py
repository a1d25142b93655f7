# check_resize.py — xfer's resize + center crop against Pillow (Debian python3-pil) on real
# photos: Image.resize(shorter side -> round(S/crop), BILINEAR or BICUBIC) then a center crop,
# with torchvision's size and offset rules. Prints the mean absolute difference in grey levels
# of 255 and fails above 1.0.
# Usage: /usr/bin/python3 check_resize.py [--bicubic] DUMP_TOOL IMAGE...
import subprocess, sys, tempfile, numpy as np
from PIL import Image, ImageOps
args = sys.argv[1:]
cubic = args[:1] == ["--bicubic"]
args = args[cubic:]
tool, images, S, crop = args[0], args[1:], 224, 0.875
with tempfile.NamedTemporaryFile(suffix=".npy") as t:
    subprocess.run([tool] + (["--bicubic"] if cubic else []) + [str(S), str(crop), t.name, *images],
                   check=True)
    ours = np.load(t.name) * 255.0
worst = 0.0
for im_path, o in zip(images, ours):
    im = ImageOps.exif_transpose(Image.open(im_path)).convert("RGB")
    w, h = im.size; target = round(S / crop)
    nw, nh = (target, int(target * h / w)) if w <= h else (int(target * w / h), target)
    r = np.asarray(im.resize((nw, nh), Image.BICUBIC if cubic else Image.BILINEAR), dtype=np.float64)
    top, left = int(round((nh - S) / 2.0)), int(round((nw - S) / 2.0))
    ref = r[top:top + S, left:left + S]
    worst = max(worst, float(np.abs(ref - o).mean()))
print(f"{len(images)} photos, {'bicubic' if cubic else 'bilinear'}: worst mean |xfer - Pillow| = "
      f"{worst:.3f} grey levels (limit 1.0)")
sys.exit(0 if worst < 1.0 else 1)
