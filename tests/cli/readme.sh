#!/bin/sh
# readme.sh — the README's "From Python", "Export to ONNX" and "Install" commands, run as the
# README writes them (taken from it at test time, so they cannot drift): in a scratch folder
# holding what they name (weights/…, a.jpg, b.png, val.bin, clf.gguf), the install into a
# scratch prefix instead of /usr/local. It is: a check that the README's commands work. It is
# not: a test of what they do (python.sh, export.sh, install.sh).
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-readme; rm -rf "$T"; mkdir -p "$T/weights"; T=$(cd "$T" && pwd)
ROOT=$(pwd); BA=$(cd "$B" && pwd)
# block HEADING N: the N-th indented code block of the README section HEADING, unindented
block() {
  awk -v h="$1" -v n="$2" '
    $0 == h { on = 1; next }
    on && /^## / { exit }
    on && /^    / { if (!inb) { k++; inb = 1 } if (k == n) print substr($0, 5); next }
    on { inb = 0 }' README.md
}
W=weights/mobilenet_v2_imagenet_tf2.gguf; [ -f $W ] || W=$TD/tiny.gguf
ln -s "$(cd "$(dirname $W)" && pwd)/$(basename $W)" "$T/weights/mobilenet_v2_imagenet_tf2.gguf"
ln -s "$ROOT/python" "$T/python"
cp "$(ls $TD/cls/cool/* | head -1)" "$T/a.jpg"; cp "$(ls $TD/cls/warm/* | head -1)" "$T/b.png"
$B/extract-features -w $W --quiet $TD/cls -o "$T/val.bin"
$B/train-classifier "$T/val.bin" --folds 3 --quiet -o "$T/clf.gguf" 2>/dev/null
case "${XF_TEST_CC:-}" in *sanitize*) py=0;; *) py=1;; esac
/usr/bin/python3 -c 'import numpy' 2>/dev/null || py=0
if [ $py = 1 ]; then
  block "## From Python" 1 > "$T/py1.sh"
  (cd "$T" && XFER_LIBRARY=$BA/libxfer.so.0 sh ./py1.sh) > "$T/py1.out" 2>&1
  check "README From Python, block 1 runs ($(wc -l < $T/py1.sh) lines)" "[ \$? -eq 0 ] && [ -s $T/py1.sh ]" || cat "$T/py1.out"
  { echo "import xfer"; block "## From Python" 2; } > "$T/py2.py"
  (cd "$T" && XFER_LIBRARY=$BA/libxfer.so.0 PYTHONPATH=python /usr/bin/python3 py2.py) > "$T/py2.out" 2>&1
  check "README From Python, block 2 runs" "[ \$? -eq 0 ] && grep -q predict_proba $T/py2.py" || cat "$T/py2.out"
else
  echo "SKIP the README's Python blocks: no numpy in /usr/bin/python3, or a sanitizer build"
fi
block "## Export to ONNX" 1 | sed "s|build/|$BA/|g" > "$T/onnx.sh"
(cd "$T" && sh ./onnx.sh) > "$T/onnx.out" 2>&1
check "README Export to ONNX runs" "[ \$? -eq 0 ] && [ -s $T/clf.onnx ]" || cat "$T/onnx.out"
if [ "$B" != build ]; then # make install would build this configuration again in build/
  echo "SKIP the README's Install block: not the default build (make test runs it)"; finish; exit
fi
block "## Install" 1 | sed "s|/usr/local|$T/prefix|; s|#.*||" > "$T/install.sh"
make -s $(sed 's/^make //' "$T/install.sh") INSTALL_WEIGHTS= > "$T/install.out" 2>&1
check "README Install: make install into a prefix" "[ \$? -eq 0 ] && [ -f $T/prefix/lib/pkgconfig/xfer.pc ]" || cat "$T/install.out"
block "## Install" 2 | sed "s|prog.c|$ROOT/examples/minimal.c|; s|-o prog|-o $T/prog|" > "$T/cc.sh"
PKG_CONFIG_PATH=$T/prefix/lib/pkgconfig sh "$T/cc.sh" > "$T/cc.out" 2>&1
check "README Install: a program built with pkg-config alone" "[ \$? -eq 0 ] && [ -x $T/prog ]" || cat "$T/cc.out"
make -s uninstall PREFIX="$T/prefix" > /dev/null 2>&1
check "make uninstall leaves no file ($(find $T/prefix -type f -o -type l | head -3))" "[ -z \"\$(find $T/prefix -type f -o -type l)\" ]"
finish
