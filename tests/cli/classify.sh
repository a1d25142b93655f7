#!/bin/sh
# classify.sh — command-line behaviour of train-classifier and classify: the three-command
# workflow on generated class folders with the tiny model, feature-file and image inputs,
# output formats, metrics, and the refusals (wrong features, bad files, bad flags).
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-classify; rm -rf "$T"; mkdir -p "$T"
W=$TD/tiny.gguf; CLS=$TD/cls   # written by test_wfile / test_image
TC=$B/train-classifier; CL=$B/classify

$B/extract-features -w $W --quiet $CLS > "$T/f.bin"; check "extract class folders" "[ $? -eq 0 ]"
$TC "$T/f.bin" -o "$T/clf.gguf" --folds 3 2>"$T/train.err"; check "train exits 0" "[ $? -eq 0 ] && [ -s $T/clf.gguf ]"
check "CV table printed" "grep -q 'chosen' $T/train.err"
$TC "$T/f.bin" -o "$T/clf2.gguf" --folds 3 --quiet 2>/dev/null
check "same data and seed: identical file" "cmp -s $T/clf.gguf $T/clf2.gguf"
$CL -m "$T/clf.gguf" -w $W $CLS > "$T/pred.tsv" 2>"$T/cl.err"; rc=$?
check "classify images exits 0" "[ $rc -eq 0 ] && [ \$(wc -l < $T/pred.tsv) -eq 24 ]"
check "accuracy reported" "grep -q '^accuracy 1.0000' $T/cl.err"
check "tsv has label and probability" "head -1 $T/pred.tsv | awk -F'\t' '{exit !(NF == 5 && (\$2 == \"cool\" || \$2 == \"warm\"))}'"
$CL -m "$T/clf.gguf" "$T/f.bin" --format json --top 1 > "$T/pred.json" 2>/dev/null
check "feature-file input, JSON lines" "[ \$(grep -c '\"label\"' $T/pred.json) -eq 24 ]"
$CL -m "$T/clf.gguf" -w $W $CLS --confusion-png "$T/cm.png" >/dev/null 2>&1
check "confusion PNG written" "head -c 4 $T/cm.png | grep -q PNG"
$CL -m "$T/clf.gguf" -w $W $CLS --confusion-png "$T/cm.png" --confusion-svg "$T/cm2.svg" >/dev/null 2>"$T/png.err"
if /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
  check "confusion PNG: title, names and counts drawn in their places (Pillow reads it)" "/usr/bin/python3 -c '
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert(\"L\"); w, h = im.size
dark = lambda box: sum(1 for v in im.crop(box).getdata() if v < 100)
assert w > 300 and h > 200, im.size
assert dark((0, 0, w, 34)) > 100          # the title line
assert dark((30, 40, w // 3, h * 2 // 3)) > 60  # the class names left of the matrix
assert dark((0, h - 40, w, h)) > 50        # the x axis title
' $T/cm.png"
fi
# the SVG picture and the JSON metrics, with class names that need escaping
mkdir -p "$T/named"; cp -r $CLS/cool "$T/named/a&b<c>"; cp -r $CLS/warm "$T/named/warm \"x\""
cp "$T/named/warm \"x\"/05.png" "$T/named/a&b<c>/moved.png"   # one mistake by construction
$B/extract-features -w $W --quiet "$T/named" -o "$T/named.bin"
$TC "$T/named.bin" --folds 3 --quiet -o "$T/named.gguf" 2>/dev/null
$CL -m "$T/named.gguf" "$T/named.bin" --confusion-svg "$T/cm.svg" --metrics-json "$T/m.json" >/dev/null 2>"$T/named.err"
check "SVG written, names escaped" "head -2 $T/cm.svg | grep -q '<svg' && grep -q 'a&amp;b&lt;c&gt;' $T/cm.svg && grep -q 'warm &quot;x&quot;' $T/cm.svg && ! grep -q 'a&b' $T/cm.svg"
check "SVG title has the accuracy of stderr" "grep -q \"accuracy \$(sed -n 's/^accuracy \([0-9.]*\) .*/\1/p' $T/named.err),\" $T/cm.svg"
check "SVG: one cell per class pair" "[ \$(grep -c '<rect x=.*<title>' $T/cm.svg) -eq 4 ]"
if /usr/bin/python3 -c 'import xml' 2>/dev/null; then
  check "SVG is well-formed XML" "/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' $T/cm.svg"
  check "metrics JSON: accuracy, names and the matrix agree with stderr" "/usr/bin/python3 -c '
import json, sys
m = json.load(open(sys.argv[1])); err = open(sys.argv[2]).read()
acc = float(err.split(\"accuracy \")[1].split()[0])
assert abs(m[\"accuracy\"] - acc) < 1e-4 and m[\"n\"] == 25
assert [c[\"name\"] for c in m[\"classes\"]] == [\"a&b<c>\", \"warm \\\"x\\\"\"]
assert sum(map(sum, m[\"confusion\"])) == 25 and m[\"classes\"][0][\"support\"] == 13
' $T/m.json $T/named.err"
fi
# --report: one self-contained page (the mistake made by construction shown with its picture)
$CL -m "$T/named.gguf" "$T/named.bin" --report "$T/r.html" >"$T/named.jsonl" 2>/dev/null
wrong=$(grep -c 'a&b<c>/moved.png	warm' "$T/named.jsonl")
check "--report: the table, the matrix, names escaped, no network" "grep -q '<h2>Classes' $T/r.html && grep -q '<svg' $T/r.html && grep -q 'a&amp;b&lt;c&gt;' $T/r.html && ! grep -q 'a&b<' $T/r.html && ! grep -q 'http://[^w]\|https://' $T/r.html"
check "--report: each mistake with its thumbnail ($wrong)" "[ $wrong -ge 1 ] && [ \$(grep -c 'class=m><figure><img' $T/r.html) -eq $wrong ] && grep -q 'moved.png' $T/r.html"
$CL -m "$T/named.gguf" "$T/named.bin" --report "$T/none/r.html" >/dev/null 2>&1
check "--report into a missing folder: refused before classifying" "[ \$? -eq 5 ]"
render_page "$T/r.html"
$CL -m "$T/clf.gguf" -w $W $TD/img > "$T/bad.tsv" 2>/dev/null; rc=$?
check "bad images: exit 3, one row each" "[ $rc -eq 3 ] && [ \$(grep -c '!error' $T/bad.tsv) -eq 4 ]"
$B/extract-features -w $W --quiet --pool max $CLS > "$T/max.bin"
$CL -m "$T/clf.gguf" "$T/max.bin" > /dev/null 2>"$T/err"; rc=$?
check "features with other pooling refused" "[ $rc -eq 1 ] && grep -q 'different pooling' $T/err"
$B/extract-features -w $W --quiet --layer c1 $CLS > "$T/c1.bin"
$CL -m "$T/clf.gguf" "$T/c1.bin" > /dev/null 2>"$T/err"
check "features of another dimension refused" "[ $? -eq 1 ] && grep -q 'dimensions' $T/err"
$CL -m "$T/f.bin" "$T/f.bin" > /dev/null 2>"$T/err"; check "feature file as classifier refused" "[ $? -eq 1 ]"
$CL -m $W "$T/f.bin" > /dev/null 2>"$T/err"; check "backbone head on another layer's features refused: it classifies images" "[ $? -eq 1 ] && grep -q 'classifies images' $T/err && grep -q 'dimensions' $T/err"
$CL -m $W $CLS --top 2 > "$T/own.tsv" 2>/dev/null; check "bare backbone gives its own classes" "[ $? -eq 0 ] && [ \$(wc -l < $T/own.tsv) -eq 24 ] && head -1 $T/own.tsv | grep -qE 'red|green|blue'"
$TC "$T/f.bin" 2>/dev/null; check "missing -o exits 2" "[ $? -eq 2 ]"
$TC "$T/f.bin" -o "$T/x.gguf" --solver magic 2>/dev/null; check "bad solver exits 2" "[ $? -eq 2 ]"
$TC $TD/one.bin -o "$T/x.gguf" --quiet 2>"$T/err"; check "one class: exit 1, message" "[ $? -eq 1 ] && grep -q 'two classes' $T/err && [ ! -e $T/x.gguf ]"
for s in svm l1lr l1svm cs; do
  $TC "$T/f.bin" -o "$T/$s.gguf" --solver $s --folds 3 --quiet 2>/dev/null && \
  $CL -m "$T/$s.gguf" "$T/f.bin" > /dev/null 2>"$T/$s.err"
  check "solver $s trains and classifies" "grep -q '^accuracy' $T/$s.err"
  $TC "$T/f.bin" -o "$T/$s.2.gguf" --solver $s --folds 3 --quiet 2>/dev/null
  check "solver $s: same data and seed, identical file (CV folds on threads)" "cmp -s $T/$s.gguf $T/$s.2.gguf"
done
# --unlabeled: self-training with 3 labels per class; the rest of the same file pseudo-labelled
$B/extract-features -w $W --quiet $CLS -o "$T/st.bin"
find $CLS -type f | sort | awk -F/ '{n[$(NF-1)]++; if (n[$(NF-1)] <= 3) print $0 "," $(NF-1)}' > "$T/few.csv"
$TC "$T/st.bin" --labels "$T/few.csv" --folds 3 -o "$T/st.gguf" --unlabeled "$T/st.bin" 2>"$T/st.err"
rows=$($B/xfer-inspect "$T/st.gguf" | awk '$1 == "xfer.head.train_count" {print $2}')
check "--unlabeled: self-training rounds, pseudo-labelled rows join the 6 labelled ($rows rows)" \
  "[ \$? -eq 0 ] && grep -q 'self-training round 1' $T/st.err && [ ${rows:-0} -gt 6 ]"
$B/extract-features -w $W --quiet --layer c1 $CLS -o "$T/st_c1.bin"
$TC "$T/st.bin" --labels "$T/few.csv" --folds 3 -o "$T/st2.gguf" --unlabeled "$T/st_c1.bin" 2>"$T/st2.err"
check "--unlabeled features of another layer: refused" "[ \$? -eq 1 ] && grep -q 'unlabelled features' $T/st2.err && [ ! -e $T/st2.gguf ]"
finish
