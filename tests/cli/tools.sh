#!/bin/sh
# tools.sh — what all seven tools share: the command-line conventions (--help, --version,
# --opt=value, --, unknown options, a full stdout), outputs that are not regular files (a device,
# a FIFO, a symlink to /dev/null, "-") staying what they are, and damaged weights refused.
# It is: one check per tool per rule, so a new tool or flag cannot miss one. It is not: the
# behaviour of any one tool (extract.sh, classify.sh, ...).
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-tools; rm -rf "$T"; mkdir -p "$T"
W=$TD/tiny.gguf; CLS=$TD/cls; IMG=$TD/img
TOOLS="extract-features xfer-feats train-classifier classify finetune xfer-convert xfer-inspect"

# fixtures: features, a classifier, a converted model
$B/extract-features -w $W --quiet $CLS -o "$T/f.bin"
$B/train-classifier "$T/f.bin" -o "$T/clf.gguf" --folds 3 --quiet 2>/dev/null
ONNX=tests/onnx/models/stem.onnx

# ---- conventions ----
for t in $TOOLS; do
  $B/$t --help > "$T/help" 2>&1; check "$t --help exits 0" "[ $? -eq 0 ] && grep -q -i usage $T/help"
  $B/$t --version > "$T/ver" 2>&1; check "$t --version exits 0" "[ $? -eq 0 ] && grep -q 'xfer' $T/ver"
  $B/$t --frobnicate > /dev/null 2>"$T/err"
  check "$t: unknown option exits 2 naming it" "[ $? -eq 2 ] && grep -q frobnicate $T/err && [ \$(wc -l < $T/err) -le 2 ]"
  if [ -w /dev/full ]; then
    $B/$t --help > /dev/full 2>"$T/err"
    check "$t --help to a full disk exits 5" "[ $? -eq 5 ] && grep -q 'write' $T/err"
  fi
done
$B/extract-features --weights=$W --quiet --format=csv -- $IMG/a_good.jpg > "$T/eq.csv"
check "--opt=value and -- accepted" "[ $? -eq 0 ] && [ \$(wc -l < $T/eq.csv) -eq 2 ]"
cp $IMG/a_good.jpg "$T/-dash.jpg"
AB=$(cd "$B" && pwd); AW=$(cd "$(dirname "$W")" && pwd)/$(basename "$W")
(cd "$T" && "$AB/extract-features" -w "$AW" --quiet --format csv -- -dash.jpg > dash.csv)
check "-- lets a file name start with a dash" "grep -q '^-dash.jpg,XF_OK' $T/dash.csv"
$B/extract-features -w$W --quiet -o"$T/joined.bin" $IMG/a_good.jpg
check "-wVALUE and -oVALUE accepted" "[ -s $T/joined.bin ]"

# ---- outputs that are not regular files stay what they are ----
outputs() { # $1: the output path; runs each tool's -o (or --confusion-png) at it
  $B/extract-features -w $W --quiet $CLS -o "$1" 2>/dev/null; echo "extract-features $?"
  $B/xfer-feats convert "$T/f.bin" --format csv -o "$1" 2>/dev/null; echo "xfer-feats $?"
  $B/train-classifier "$T/f.bin" --folds 3 --quiet -o "$1" 2>/dev/null; echo "train-classifier $?"
  $B/classify -m "$T/clf.gguf" "$T/f.bin" --confusion-png "$1" >/dev/null 2>&1; echo "classify $?"
  $B/classify -m "$T/clf.gguf" "$T/f.bin" --confusion-svg "$1" --metrics-json "$1" --report "$1" >/dev/null 2>&1; echo "classify-svg $?"
  $B/finetune $CLS -w $W --epochs 1 --quiet -o "$1" 2>/dev/null; echo "finetune $?"
  $B/xfer-convert $ONNX --quiet -o "$1" 2>/dev/null; echo "xfer-convert $?"
  $B/xfer-convert --to-onnx "$T/clf.gguf" -w $W --quiet -o "$1" 2>/dev/null; echo "xfer-convert-onnx $?"
}
if mknod "$T/mynull" c 1 3 2>/dev/null; then
  outputs "$T/mynull" > "$T/rcs"
  check "a character device given as -o stays a device (all tools)" "[ -c $T/mynull ]"
  check "... and every tool succeeds writing to it" "! grep -v ' 0$' $T/rcs"
  [ -s "$T/rcs" ] && grep -v ' 0$' "$T/rcs"
else
  echo "skip: mknod not permitted (not root): device outputs not checked"
fi
ln -s /dev/null "$T/tonull"
outputs "$T/tonull" > "$T/rcs"
check "a symlink to /dev/null stays a symlink to a device" "[ -L $T/tonull ] && [ -c /dev/null ] && [ \"\$(readlink $T/tonull)\" = /dev/null ]"
check "... every tool succeeds" "! grep -v ' 0$' $T/rcs"
mkfifo "$T/fifo"
(cat "$T/fifo" > "$T/fifo.out" &)
$B/xfer-feats convert "$T/f.bin" --format csv -o "$T/fifo"; rc=$?
sleep 0.2
check "a FIFO given as -o is written through" "[ $rc -eq 0 ] && [ -p $T/fifo ] && [ \$(wc -l < $T/fifo.out) -eq 25 ]"
$B/xfer-feats convert "$T/f.bin" --format npy -o /dev/null 2>"$T/err"
check "npy to a device: refused, the device untouched" "[ $? -eq 2 ] && grep -q 'regular file' $T/err && [ -c /dev/null ]"
$B/xfer-feats convert "$T/f.bin" --format csv -o - > "$T/stdout.csv"
check "-o - writes standard output" "[ \$(wc -l < $T/stdout.csv) -eq 25 ]"

# ---- damaged weights: the data checksum is verified by every tool that reads weights ----
cp $W "$T/flip.gguf"
size=$(stat -c %s "$T/flip.gguf")
printf '\377' | dd of="$T/flip.gguf" bs=1 seek=$((size - 9)) conv=notrunc 2>/dev/null
$B/extract-features -w "$T/flip.gguf" $CLS > /dev/null 2>"$T/err"
check "extract-features refuses a flipped byte" "[ $? -eq 1 ] && grep -q 'CRC32C' $T/err"
$B/classify -m "$T/clf.gguf" -w "$T/flip.gguf" $CLS > /dev/null 2>"$T/err"
check "classify refuses a flipped backbone" "[ $? -eq 1 ] && grep -q 'CRC32C' $T/err"
$B/finetune $CLS -w "$T/flip.gguf" --epochs 1 -o "$T/ft.gguf" --quiet 2>"$T/err"
check "finetune refuses a flipped byte" "[ $? -eq 1 ] && grep -q 'CRC32C' $T/err && [ ! -e $T/ft.gguf ]"
$B/xfer-inspect "$T/flip.gguf" > /dev/null 2>"$T/err"
check "xfer-inspect reports it" "[ $? -eq 1 ] && grep -q 'CRC32C' $T/err"
cp "$T/clf.gguf" "$T/flipclf.gguf"
size=$(stat -c %s "$T/flipclf.gguf")
printf '\377' | dd of="$T/flipclf.gguf" bs=1 seek=$((size - 5)) conv=notrunc 2>/dev/null
$B/classify -m "$T/flipclf.gguf" "$T/f.bin" > /dev/null 2>"$T/err"
check "classify refuses a flipped classifier" "[ $? -eq 1 ] && grep -q 'CRC32C' $T/err"
$B/extract-features -w "$T/flip.gguf" --no-verify --quiet $CLS > /dev/null 2>&1
check "--no-verify skips the check" "[ $? -eq 0 ]"
# mains only parse and call (ARCHITECTURE.md): every tool's source at most 150 lines
for m in extractor/extract-features.c extractor/xfer-feats.c classifier/train-classifier.c \
         classifier/classify.c classifier/finetune-main.c weights/xfer-convert.c \
         weights/xfer-inspect.c audit/xfer-audit.c; do
  check "$m: $(wc -l < $m) lines (at most 150)" "[ \$(wc -l < $m) -le 150 ]"
done
finish
