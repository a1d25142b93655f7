#!/bin/sh
# folders.sh — dataset folders and label files as users have them: stray files (.DS_Store,
# notes.txt, labels.csv, README), nested class folders, FIFOs, devices and dangling symlinks
# among the images, a missing path, an empty folder; label files as pandas and spreadsheets
# write them (header or not, other column orders, quotes, a BOM, CRLF, TSV); the formats'
# class numbering and escaping.
# It is: end-to-end checks through extract-features, train-classifier and classify. It is not:
# the readers' unit tests (test_classifier.c).
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-folders; rm -rf "$T"; mkdir -p "$T"
W=$TD/tiny.gguf; CLS=$TD/cls
EF="$B/extract-features -w $W --quiet"; TC=$B/train-classifier; CL="$B/classify -w $W"

# ---- a dataset folder with what real ones hold besides images ----
D=$T/data
mkdir -p "$D/cool/2019" "$D/warm" "$D/.ipynb_checkpoints"
cp $CLS/cool/0[1-5].png "$D/cool/"; cp $CLS/cool/0[6-9].png "$D/cool/2019/"
cp $CLS/warm/*.png "$D/warm/"
touch "$D/.DS_Store" "$D/cool/notes.txt" "$D/labels.csv" "$D/warm/README" "$D/warm/._x.png"
cp $CLS/cool/01.png "$D/.ipynb_checkpoints/"
n_img=$(find "$D" -name '*.png' ! -path '*/.*' | wc -l)
$EF "$D" -o "$T/d.bin" 2>"$T/err"; rc=$?
check "stray files skipped, not failed records (exit 0)" "[ $rc -eq 0 ] && [ ! -s $T/err ]"
$B/xfer-feats info "$T/d.bin" > "$T/info"
check "records are the images only" "grep -q \"^$T/d.bin: $n_img records ($n_img ok, 0 failed)\" $T/info"
$B/extract-features -w $W "$D" -o "$T/d2.bin" 2>"$T/err"
check "the banner says what was skipped" "grep -q '$n_img inputs, 3 non-image files and 3 hidden entries skipped' $T/err"
$TC "$T/d.bin" -o "$T/d.gguf" --folds 2 --quiet 2>/dev/null
$B/xfer-inspect "$T/d.gguf" > "$T/insp" 2>&1
check "a nested folder is part of its top-level class (2 classes)" "$CL -m $T/d.gguf $D 2>&1 >/dev/null | grep -q '^cool .* 9\$'"

mkfifo "$D/warm/pipe.png"; ln -s /nonexistent "$D/warm/dangling.png"; ln -s .. "$D/warm/loop"
timeout 20 $EF "$D" -o "$T/f.bin" 2>"$T/err"; rc=$?
check "a FIFO among the images does not hang; exit 3" "[ $rc -eq 3 ]"
check "FIFO, dangling symlink and loop are failed records with reasons" \
  "grep -q 'pipe.png: not a regular file (a FIFO)' $T/err && grep -q 'dangling.png: dangling symlink' $T/err && grep -q 'loop: symlink loop' $T/err"
if mknod "$D/warm/dev.png" c 1 3 2>/dev/null; then
  timeout 20 $EF "$D" -o "$T/f.bin" 2>"$T/err"
  check "a device among the images is not read" "grep -q 'dev.png: not a regular file (a device)' $T/err"
fi
rm -f "$D/warm/pipe.png" "$D/warm/dangling.png" "$D/warm/loop" "$D/warm/dev.png"
$EF "$T/typo" > /dev/null 2>"$T/err"
check "a missing path: exit 1 naming it" "[ $? -eq 1 ] && grep -q 'typo: cannot open' $T/err"
mkdir "$T/empty"; touch "$T/empty/a.txt"
for t in extract classify finetune; do
  case $t in
    extract) $EF "$T/empty" > /dev/null 2>"$T/err" ;;
    classify) $CL -m "$T/d.gguf" "$T/empty" > /dev/null 2>"$T/err" ;;
    finetune) $B/finetune "$T/empty" -w $W -o "$T/ft.gguf" --quiet 2>"$T/err" ;;
  esac
  check "$t: an empty folder is an error saying so" "[ $? -eq 1 ] && grep -q 'empty: no images (1 non-image file skipped)' $T/err"
done
$B/finetune "$D" -w $W --val "$T/typo" -o "$T/ft.gguf" --epochs 1 --quiet 2>"$T/err"
check "finetune --val with a typo is an error" "[ $? -eq 1 ] && grep -q typo $T/err && [ ! -e $T/ft.gguf ]"

# ---- label files ----
ls "$D"/cool/*.png "$D"/cool/2019/*.png "$D"/warm/*.png > "$T/all"
lab() { # $1 file, $2 header line or "", $3 separator, $4 path style (full|base), then rows
  f=$1; h=$2; sep=$3; style=$4
  { [ -n "$h" ] && printf '%s\n' "$h"
    while read -r p; do
      c=cool; case $p in */warm/*) c=warm ;; esac
      [ "$style" = base ] && p=$(basename "$p")
      printf '%s%s%s\n' "$p" "$sep" "$(echo $c | tr a-z A-Z)"
    done < "$T/all"; } > "$f"
}
train_with() { # $1 label file; the classifier's classes must be COOL and WARM
  $TC "$T/d.bin" --labels "$1" --folds 2 -o "$T/l.gguf" --quiet 2>"$T/err" &&
    $CL -m "$T/l.gguf" "$T/d.bin" --labels "$1" 2>&1 >/dev/null | grep -q '^accuracy'
}
lab "$T/l1.csv" "" , full;              check "no header, full paths" "train_with $T/l1.csv"
lab "$T/l2.csv" "path,label" , full;    check "header path,label" "train_with $T/l2.csv"
lab "$T/l3.csv" "filename,class" , base; check "header filename,class, base names" "train_with $T/l3.csv"
lab "$T/l4.tsv" "image	category" "	" base; check "TSV" "train_with $T/l4.tsv"
awk -F, 'NR == 1 {print "label,path"; next} {print $2 "," $1}' "$T/l2.csv" > "$T/l5.csv"
check "label column first, named" "train_with $T/l5.csv"
awk -F, 'NR == 1 {print ",path,label"; next} {print NR - 2 "," $0}' "$T/l2.csv" > "$T/l6.csv"
check "pandas to_csv with its index column" "train_with $T/l6.csv"
{ printf '\357\273\277'; sed 's/$/\r/' "$T/l2.csv"; } > "$T/l7.csv"
check "UTF-8 BOM and CRLF" "train_with $T/l7.csv"
awk -F, 'NR == 1 {print; next} {print "\"" $1 "\",\"" $2 "\""}' "$T/l2.csv" > "$T/l8.csv"
check "quoted fields" "train_with $T/l8.csv"
{ echo "path,label"; grep warm "$T/l2.csv"; grep cool "$T/l2.csv" | sed 's/,COOL/,"COOL, the cold one"/'; } > "$T/l9.csv"
$TC "$T/d.bin" --labels "$T/l9.csv" --folds 2 -o "$T/l9.gguf" --quiet 2>"$T/err"
check "a quoted label with a comma stays one label" "$B/xfer-inspect $T/l9.gguf | grep -q 'COOL, the cold one'"
printf 'a,b,c\nx,y,z\n' > "$T/bad.csv"
$TC "$T/d.bin" --labels "$T/bad.csv" -o "$T/bad.gguf" 2>"$T/err"
check "three unnamed columns: an error naming the file" "[ $? -eq 1 ] && grep -q 'bad.csv:1' $T/err"
{ cat "$T/l2.csv"; echo "elsewhere/val/img9.png,COOL"; } > "$T/l10.csv"
check "rows for images of another set do not matter" "train_with $T/l10.csv"

# ---- formats: libsvm class numbers, escaping, the format from the extension ----
$EF "$D/warm" --format libsvm -o "$T/warm.svm"
check "a folder of one class: labels by its class" "[ \"\$(cat $T/warm.svm.classes.txt)\" = \"0	warm\" ]"
$EF "$D" --format libsvm -o "$T/all.svm"
$EF "$D/warm" --format libsvm --classes "$T/all.svm.classes.txt" -o "$T/warm2.svm"
check "--classes pins the numbers (warm is 1)" "[ \"\$(cut -d' ' -f1 $T/warm2.svm | sort -u)\" = 1 ]"
printf 'cool\n' > "$T/onlycool"
$EF "$D" --format libsvm --classes "$T/onlycool" -o "$T/x.svm" 2>"$T/err"
check "a class missing from --classes: an error naming it" "[ $? -eq 1 ] && grep -q \"class 'warm' is not in the class list\" $T/err"
mkdir -p "$T/odd/a"; cp $CLS/cool/01.png "$T/odd/a/tab	and
newline.png"
$EF "$T/odd" --format npy -o "$T/odd"
check "paths.txt keeps one line per row (tab, newline escaped)" "[ \$(wc -l < $T/odd.paths.txt) -eq 1 ] && grep -q 'tab\\\\tand\\\\nnewline' $T/odd.paths.txt"
$EF "$D" -o "$T/ext.npy"
check "-o x.npy writes npy" "head -c 6 $T/ext.npy | tail -c 5 | grep -q NUMPY && [ -s $T/ext.paths.txt ]"
$B/xfer-feats convert "$T/d.bin" -o "$T/conv.csv"
check "xfer-feats convert -o x.csv writes CSV" "head -1 $T/conv.csv | grep -q '^path,status,f0'"
$EF "$D" -o "$T/ext.npy" --format bin 2>"$T/err"
check "-o x.npy --format bin: a usage error" "[ $? -eq 2 ] && grep -q 'names a npy file' $T/err"
$EF "$TD/img" --format csv -o "$T/failed.csv" 2>/dev/null
check "CSV: a failed row has every column, status a word" \
  "awk -F, 'NR > 1 && \$2 != \"XF_OK\" {bad += (NF != 8)} END {exit bad}' $T/failed.csv && grep -q ',XF_ERR_IMAGE,' $T/failed.csv"
cp $CLS/cool/01.png "$T/odd/a/caf$(printf '\351') \"q\".png"
$CL -m "$T/d.gguf" "$T/odd" --format json > "$T/odd.json" 2>/dev/null
if command -v python3 > /dev/null; then
  check "JSON lines stay valid with a Latin-1 byte in a name, and give the bytes back" \
    "python3 -c 'import json, os, sys; [os.stat(os.fsencode(json.loads(l)[\"path\"])) for l in open(sys.argv[1], \"rb\")]' $T/odd.json"
fi
$EF "$D" --mean 127,127,127 -o "$T/m.bin" 2>"$T/err"
check "--mean on 0..255 refused with the [0,1] equivalent" "[ $? -eq 2 ] && grep -q '0.498' $T/err"
$TC "$T/d.bin" -o "$T/b.gguf" --folds 2 2>"$T/err"
check "train-classifier names the features' backbone" "head -1 $T/err | grep -q 'features of tiny test model'"
# a path longer than a feature file holds is refused before anything is written (the reader
# would reject the whole file)
long=$T; i=0; while [ $i -lt 6600 ]; do long="$long/aaaaaaaaa"; i=$((i + 1)); done
echo "$long/x.jpg" > "$T/long.txt"
$EF --list "$T/long.txt" -o "$T/long.bin" 2>"$T/err"; rc=$?
check "a 66,000-byte path: exit 1, said, nothing written" "[ $rc -eq 1 ] && grep -q 'longer than the 65536 a feature file holds' $T/err && [ ! -e $T/long.bin ] && [ ! -e $T/long.bin.partial ]"
finish
