#!/bin/sh
# audit.sh — xfer-audit end to end on the tiny model's class folders: flipped labels found and
# suggested back, an exact copy found as a duplicate (score 1) and as a leak from the test set,
# the TSV's columns, --fix dropping or relabelling what it flagged, the HTML report
# self-contained (checked in headless Chromium when it is installed), the refusals.
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-audit; rm -rf "$T"; mkdir -p "$T/data"
W=$TD/tiny.gguf; CLS=$TD/cls; AU=$B/xfer-audit
cp -r $CLS/cool $CLS/warm "$T/data/"
cp "$T/data/cool/00.png" "$T/data/cool/copy.png"
mkdir -p "$T/test/cool"; cp "$T/data/warm/05.png" "$T/test/cool/leak.png"; cp $CLS/cool/03.png "$T/test/cool/03.png"
$B/extract-features -w $W --quiet "$T/data" -o "$T/train.bin"
$B/extract-features -w $W --quiet "$T/test" -o "$T/test.bin"
# labels with three flips
{ echo "path,label"; for f in "$T"/data/*/*.png; do
    c=$(basename "$(dirname "$f")")
    case "$f" in */cool/01.png|*/cool/02.png|*/warm/04.png) c=$([ $c = cool ] && echo warm || echo cool) ;; esac
    echo "$f,$c"; done; } > "$T/noisy.csv"
$AU "$T/train.bin" --labels "$T/noisy.csv" --test "$T/test.bin" --tsv "$T/f.tsv" -o "$T/r.html" \
  --fix "$T/fix" 2>"$T/err"; rc=$?
check "exit 0" "[ $rc -eq 0 ]"
check "TSV header" "head -1 $T/f.tsv | grep -q '^kind	path	other	score	label	suggested$'"
for f in cool/01.png cool/02.png warm/04.png; do
  check "flipped $f found, its true class suggested" "awk -F'\t' -v p=$f '\$1 == \"label\" && index(\$2, p) && \$6 == (p ~ /cool/ ? \"cool\" : \"warm\")' $T/f.tsv | grep -q ."
done
check "no other label flagged" "[ \$(grep -c '^label' $T/f.tsv) -eq 3 ]"
check "the copy is a duplicate, identical" "grep -P '^duplicate\t.*cool/(00|copy).png\t.*cool/(00|copy).png\t1.0000\tcool\tidentical$' $T/f.tsv | grep -q ."
check "different files are not called identical" "! grep -P '^duplicate\t.*cool/03.png\t.*cool/05.png\t.*identical' $T/f.tsv | grep -q ."
check "the test copy is a leak" "grep -P '^leak\t.*test/cool/leak.png\t.*warm/05.png\t1.0000\twarm\tidentical$' $T/f.tsv | grep -q ."
check "summary on stderr" "grep -q '3 likely wrong labels' $T/err"
check "--fix drops the flagged rows" "[ \$(grep -c . $T/fix/labels.csv) -eq \$((25 - 3 + 1)) ] && ! grep -q 'cool/01.png' $T/fix/labels.csv"
$AU "$T/train.bin" --labels "$T/noisy.csv" --fix "$T/fix2" --relabel -q > /dev/null
check "--relabel gives them their suggested class" "grep -q 'cool/01.png,cool' $T/fix2/labels.csv && grep -q 'warm/04.png,warm' $T/fix2/labels.csv"
$B/train-classifier "$T/train.bin" --labels "$T/fix2/labels.csv" --folds 2 -o "$T/c.gguf" -q 2>/dev/null
check "the fixed labels train" "[ -s $T/c.gguf ]"
check "report: self-contained HTML with thumbnails" "grep -q '<img alt=\"\" width=112 height=112 src=\"data:image/png;base64,' $T/r.html && ! grep -q 'src=\"http' $T/r.html"
render_page "$T/r.html"
$AU 2>"$T/err"; check "no input: exit 2" "[ $? -eq 2 ]"
$AU "$T/train.bin" --relabel 2>"$T/err"; check "--relabel without --fix: exit 2" "[ $? -eq 2 ]"
$AU "$T/missing.bin" 2>"$T/err"; check "missing file: exit 1 naming it" "[ $? -eq 1 ] && grep -q missing.bin $T/err"
finish
