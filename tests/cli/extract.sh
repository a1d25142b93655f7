#!/bin/sh
# extract.sh — command-line behaviour of extract-features and the compiled example, on the
# tiny model and sample images written by test_wfile and test_image (run before this script).
# It is: exit codes, messages, record counts, atomic output, byte-identical output for any -j.
. "$(dirname "$0")/lib.sh"
EF=$B/extract-features
T=$B/tests/cli; rm -rf "$T"; mkdir -p "$T"
W=$TD/tiny.gguf; IMG=$TD/img   # written by test_wfile / test_image

check "help exits 0" "$EF --help >/dev/null"
$EF --frobnicate x 2>"$T/err"; check "unknown flag exits 2" "[ $? -eq 2 ] && grep -q 'unknown option' $T/err"
$EF -w "$W" --pool 2>"$T/err"; check "missing value exits 2" "[ $? -eq 2 ]"
$EF -w "$W" --pool median "$IMG" 2>"$T/err"; check "bad value exits 2" "[ $? -eq 2 ] && grep -q median $T/err"
$EF -w "$T/none.gguf" "$IMG" >/dev/null 2>"$T/err"; check "missing weights exits 1 naming the file" "[ $? -eq 1 ] && grep -q none.gguf $T/err"
$EF -w "$IMG/a_good.jpg" "$IMG" >/dev/null 2>"$T/err"; check "non-weights file exits 1" "[ $? -eq 1 ] && grep -q 'bad magic' $T/err"
$EF -w "$W" --layer nope "$IMG" >/dev/null 2>"$T/err"; check "unknown layer exits 2" "[ $? -eq 2 ] && grep -q nope $T/err"
$EF -w "$W" --list-layers > "$T/layers"; check "list-layers marks default" "grep -q 'c2 .*\[default\]' $T/layers"

$EF -w "$W" --quiet -j 1 "$IMG" > "$T/j1.bin" 2>"$T/err"; rc=$?
check "bad images give exit 3" "[ $rc -eq 3 ]"
check "each bad image named on stderr" "[ \$(grep -c -E 'c_truncated|d_empty|e_anim|f_page' $T/err) -eq 4 ]"
$EF -w "$W" --quiet -j 2 --batch 2 "$IMG" > "$T/j2.bin" 2>/dev/null
check "output identical for -j 1 and -j 2" "cmp -s $T/j1.bin $T/j2.bin"
# the tiny model's layers are below OpenBLAS's threading size; a real MobileNetV2's are not
RW=weights/mobilenet_v2.gguf
if [ -f "$RW" ]; then
  mkdir -p "$T/real/a" && for i in 0 1 2; do ln -f "$TD/big/photo.jpg" "$T/real/a/$i.jpg"; done
  $EF -w "$RW" --quiet -j 1 -o "$T/rj1.bin" "$T/real" && $EF -w "$RW" --quiet -j 2 --batch 1 -o "$T/rj2.bin" "$T/real"
  check "MobileNetV2 features identical for -j 1 and -j 2" "cmp -s $T/rj1.bin $T/rj2.bin"
else
  echo "skip: $RW missing (make weights): -j 1 against -j 2 on a real model"
fi
check "magic" "head -c 8 $T/j1.bin | grep -q XFEATS"
$EF -w "$W" --quiet -o "$T/out.bin" "$IMG" 2>/dev/null
check "-o writes the same bytes" "cmp -s $T/j1.bin $T/out.bin"
check "no temporary left" "[ -z \"\$(ls $T | grep tmp)\" ]"
$EF -w "$W" --quiet -o "$T/nodir/out.bin" "$IMG" 2>"$T/err"; check "unwritable output exits 5" "[ $? -eq 5 ] && [ ! -e $T/nodir/out.bin ]"
$EF -w "$W" --quiet --max-failures 1 -o "$T/stop.bin" "$IMG" 2>"$T/err"; check "max-failures stops with 4, no file" "[ $? -eq 4 ] && [ ! -e $T/stop.bin ]"
$EF -w "$W" --quiet --format npy -o "$T/f" "$IMG" 2>/dev/null
check "npy written" "head -c 6 $T/f.npy | tail -c 5 | grep -q NUMPY && [ \$(wc -l < $T/f.paths.txt) -eq 3 ] && [ \$(wc -l < $T/f.failed.tsv) -eq 4 ]"
check "npy size = header + 3 x 6 floats" "[ \$(stat -c %s $T/f.npy) -eq \$((128 + 3 * 6 * 4)) ]"
printf '%s\n%s\n' "$IMG/b_good.png" "$IMG/a_good.jpg" > "$T/list"
$EF -w "$W" --quiet --list "$T/list" > "$T/list.bin"; check "--list input exits 0" "[ $? -eq 0 ]"
$EF -w "$W" --quiet --layer c1 --layer c2 --pool max --format npy -o "$T/two" "$IMG/a_good.jpg"
check "two layers concatenated: 4 + 6 floats" "[ \$(stat -c %s $T/two.npy) -eq \$((128 + 10 * 4)) ]"

$B/examples/minimal "$W" "$IMG/a_good.jpg" > "$T/min" 2>&1
check "example runs" "grep -q '6 features from layer c2' $T/min"
$B/examples/minimal "$W" "$IMG/d_empty.jpg" > "$T/min" 2>&1
check "example reports a bad image" "[ $? -eq 1 ] && grep -q 'empty file' $T/min"
# a 640x480 JPEG for an 8x8 input is decoded at 1/8 (DCT scaling); --full-decode at full size,
# said in the provenance, the features close (the same picture) but not the same
$EF -w "$W" --quiet --format csv $TD/big/photo.jpg > "$T/dct.csv"
$EF -w "$W" --quiet --format csv --full-decode $TD/big/photo.jpg > "$T/full.csv"
$EF -w "$W" --quiet --full-decode -o "$T/full.bin" $TD/big/photo.jpg
check "--full-decode: recorded as \"dct_scaling\":false, features near the DCT-scaled ones" \
  "$B/xfer-feats info $T/full.bin | grep -q '\"dct_scaling\":false' && ! cmp -s $T/dct.csv $T/full.csv && paste -d, $T/dct.csv $T/full.csv | tail -1 | awk -F, '{n=(NF-4)/2; for(i=3;i<3+n;i++){d+=(\$i-\$(i+n+2))^2; s+=\$i^2}} END {exit !(d/s < 0.01)}'"
finish
