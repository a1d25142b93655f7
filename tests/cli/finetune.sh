#!/bin/sh
# finetune.sh — the finetune tool on the tiny model and generated class folders: it learns,
# the written file works with classify and extract-features, frozen layers stay bit-identical
# after training with momentum and weight decay, the same seed gives the same file, the disk
# cache (--cache-dir) gives the same file and is reused, --unlabeled (pseudo-labels, a broken
# image reported once, its settings recorded, deterministic), --pretrain-epochs (contrastive
# pre-training: recorded, deterministic, only the unfrozen layer changes), bad arguments are
# refused.
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-finetune; rm -rf "$T"; mkdir -p "$T"
W=$TD/tiny.gguf; CLS=$TD/cls; FT=$B/finetune; EF=$B/extract-features
$FT $CLS --val $CLS -w $W -o "$T/ft.gguf" --unfreeze-from c2 --optimizer sgd --momentum 0.9 \
  --weight-decay 0.01 --lr 0.05 --epochs 30 --patience 0 --hidden 8 2>"$T/log"
check "finetune with c2 unfrozen exits 0" "[ $? -eq 0 ] && [ -s $T/ft.gguf ]"
check "per-epoch log" "grep -q 'epoch 30 .*val accuracy' $T/log"
$B/classify -m "$T/ft.gguf" $CLS > "$T/pred.tsv" 2>"$T/cl.err"
check "classify -m the tuned file" "[ $? -eq 0 ] && [ \$(wc -l < $T/pred.tsv) -eq 24 ]"
check "it learned the two classes" "grep -qE '^accuracy (0.9|1.0)' $T/cl.err"
# (the arrays, after the 128-byte header: it records which weights made them)
for m in "$W" "$T/ft.gguf"; do n=$(basename $m .gguf)
  $EF -w $m --quiet --layer d1 --pool none --format npy -o "$T/d1_$n" $CLS
  $EF -w $m --quiet --layer c2 --pool none --format npy -o "$T/c2_$n" $CLS; done
check "frozen layers bit-identical after SGD with momentum and decay" "cmp -s -i 128 $T/d1_tiny.npy $T/d1_ft.npy"
check "the unfrozen layer changed" "! cmp -s -i 128 $T/c2_tiny.npy $T/c2_ft.npy"
$FT $CLS -w $W -o "$T/head.gguf" --epochs 20 --quiet 2>/dev/null
$EF -w "$T/head.gguf" --quiet --layer c2 --pool none --format npy -o "$T/c2_head" $CLS
check "head only: the backbone is untouched" "cmp -s -i 128 $T/c2_tiny.npy $T/c2_head.npy"
$FT $CLS -w $W -o "$T/head2.gguf" --epochs 20 --quiet -j 1 2>/dev/null
check "same seed, same file (any -j)" "cmp -s $T/head.gguf $T/head2.gguf"
$FT $CLS -w $W -o "$T/k1.gguf" --unfreeze 1 --epochs 3 --quiet 2>/dev/null
$EF -w "$T/k1.gguf" --quiet --layer c2 --pool none --format npy -o "$T/c2_k1" $CLS
$EF -w "$T/k1.gguf" --quiet --layer d1 --pool none --format npy -o "$T/d1_k1" $CLS
check "--unfreeze 1 trains c2 only" "! cmp -s -i 128 $T/c2_tiny.npy $T/c2_k1.npy && cmp -s -i 128 $T/d1_tiny.npy $T/d1_k1.npy"
for opt in "--hidden 8 --leaky" "--optimizer rmsprop" "--optimizer adagrad --lr 0.05" "--optimizer nesterov --step-epochs 2 --balanced --label-smoothing 0.1"; do
  $FT $CLS -w $W -o "$T/o.gguf" --epochs 4 --quiet $opt 2>/dev/null
  check "training with $opt" "[ $? -eq 0 ] && [ -s $T/o.gguf ]"
done
# --cache-dir: the frozen part's outputs in a reusable file; same result as the memory cache
$FT $CLS --val $CLS -w $W -o "$T/mem.gguf" --unfreeze-from c2 --epochs 3 --quiet 2>/dev/null
$FT $CLS --val $CLS -w $W -o "$T/disk1.gguf" --unfreeze-from c2 --epochs 3 --cache-dir "$T/cache" 2>"$T/c1.err"
# (training and validation are the same folder here: one file, the validation pass reuses it)
check "--cache-dir: same file as the memory cache" "[ -s $T/disk1.gguf ] && cmp -s $T/mem.gguf $T/disk1.gguf && [ \$(ls $T/cache/*.cache | wc -l) -eq 1 ] && [ \$(grep -c reusing $T/c1.err) -eq 1 ] && ! ls $T/cache/*.partial 2>/dev/null"
$FT $CLS --val $CLS -w $W -o "$T/disk2.gguf" --unfreeze-from c2 --epochs 3 --cache-dir "$T/cache" 2>"$T/c2.err"
check "second run reuses both caches, same file" "[ \$(grep -c 'reusing' $T/c2.err) -eq 2 ] && cmp -s $T/mem.gguf $T/disk2.gguf"
for f in $T/cache/*.cache; do head -c 100 "$f" > "$f.x" && mv "$f.x" "$f"; done
$FT $CLS --val $CLS -w $W -o "$T/disk3.gguf" --unfreeze-from c2 --epochs 3 --cache-dir "$T/cache" 2>"$T/c3.err"
check "a truncated cache file is recomputed, not trusted" "[ \$(grep -c reusing $T/c3.err) -eq 1 ] && cmp -s $T/mem.gguf $T/disk3.gguf"
$FT $CLS -w $W -o "$T/disk4.gguf" --unfreeze-from c1 --epochs 2 --cache-dir "$T/cache" --quiet 2>/dev/null
check "another boundary: a new cache file" "[ \$(ls $T/cache/*.cache | wc -l) -eq 2 ]"
$FT $CLS -w $W -o "$T/aug1.gguf" --augment --unfreeze-from c2 --epochs 3 --quiet -j 1 2>/dev/null
$FT $CLS -w $W -o "$T/aug2.gguf" --augment --unfreeze-from c2 --epochs 3 --quiet -j 2 2>/dev/null
check "--augment: same seed, same file for any -j" "[ -s $T/aug1.gguf ] && cmp -s $T/aug1.gguf $T/aug2.gguf"
# --unlabeled: a flat folder of unlabelled images (one broken), one labelled image per class
mkdir -p "$T/lab/cool" "$T/lab/warm" "$T/unl"
cp $CLS/cool/00.png "$T/lab/cool/"; cp $CLS/warm/00.png "$T/lab/warm/"
for f in $CLS/*/*.png; do c=$(basename $(dirname $f)); cp $f "$T/unl/${c}_$(basename $f)"; done
printf 'not a png' > "$T/unl/zz_broken.png"
U="$T/lab -w $W --epochs 6 --lr 0.05 --unfreeze-from c2 --unlabeled $T/unl"
$FT $U --pseudo-threshold 0.6 -o "$T/u1.gguf" -j 1 2>"$T/u1.err"
check "--unlabeled trains, the log gives the pseudo-labelled share" "[ $? -eq 0 ] && [ -s $T/u1.gguf ] && grep -q 'epoch  6 .*pseudo-labelled [1-9][0-9.]*%' $T/u1.err"
check "... the broken image is reported once, not every epoch" "[ \$(grep -c 'zz_broken.png.*skipped' $T/u1.err) -eq 1 ]"
check "... the file records the pool and the settings" "grep -aq '\"unlabeled_images\":24,\"pseudo_threshold\":0.6,\"unlabeled_weight\":1,\"mu\":7,\"align\":false' $T/u1.gguf"
$FT $U --pseudo-threshold 0.6 --align -o "$T/ua.gguf" --quiet 2>/dev/null
$EF -w "$T/ua.gguf" --quiet --layer c2 --pool none --format npy -o "$T/c2_ua" $CLS
$FT $U --pseudo-threshold 0.6 -o "$T/u2.gguf" -j 2 --quiet 2>/dev/null
check "... same seed, same file for any -j" "cmp -s $T/u1.gguf $T/u2.gguf"
$FT $U --pseudo-threshold 0.6 --unlabeled-weight 0 -o "$T/u0.gguf" --quiet 2>/dev/null
$FT $U --pseudo-threshold 1 -o "$T/ut.gguf" 2>"$T/ut.err"
for n in u1 u0 ut; do $EF -w "$T/$n.gguf" --quiet --layer c2 --pool none --format npy -o "$T/c2_$n" $CLS; done
check "... the unlabelled loss changes the result; weight 0 and threshold 1 do the same" "! cmp -s -i 128 $T/c2_u1.npy $T/c2_u0.npy && grep -q 'pseudo-labelled 0.0%' $T/ut.err && cmp -s -i 128 $T/c2_u0.npy $T/c2_ut.npy"
$FT $T/lab -w $W --epochs 1 --unfreeze-from c2 --unlabeled "$T/nowhere" --unlabeled-weight 0 -o "$T/x.gguf" 2>"$T/err"
check "... weight 0 without --pretrain-epochs still reads the folder: a missing one exits 1" "[ $? -eq 1 ] && grep -q nowhere $T/err && [ ! -e $T/x.gguf ]"
check "... --align changes the pseudo-labels (recorded)" "grep -aq '\"align\":true' $T/ua.gguf && ! cmp -s -i 128 $T/c2_u1.npy $T/c2_ua.npy"
# --pretrain-epochs: contrastive pre-training of c2 on the training and the unlabelled images
P="$T/lab -w $W --epochs 3 --unfreeze-from c2 --unlabeled $T/unl --unlabeled-weight 0 --pretrain-epochs 3 --pretrain-batch 8"
$FT $P -o "$T/p1.gguf" -j 1 2>"$T/p1.err"
check "--pretrain-epochs trains, the log gives the loss and the partners found" "[ $? -eq 0 ] && [ -s $T/p1.gguf ] && grep -q 'pre-training epoch  3  NT-Xent loss [0-9.]*  partner nearest [0-9.]*%.*(26 images)' $T/p1.err"
check "... the file records the pool and the settings" "grep -aq '\"pretrain_epochs\":3,\"pretrain_images\":26,\"pretrain_batch\":8,\"temperature\":0.2,\"proj_dim\":128,\"pretrain_lr\":0.001' $T/p1.gguf"
$FT $P -o "$T/p2.gguf" -j 2 --quiet 2>/dev/null
check "... same seed, same file for any -j" "cmp -s $T/p1.gguf $T/p2.gguf"
$FT $P --pretrain-epochs 0 -o "$T/p0.gguf" --quiet 2>/dev/null
for n in p1 p0; do $EF -w "$T/$n.gguf" --quiet --layer c2 --pool none --format npy -o "$T/c2_$n" $CLS
  $EF -w "$T/$n.gguf" --quiet --layer d1 --pool none --format npy -o "$T/d1_$n" $CLS; done
check "... it changes the unfrozen layer, not the frozen one" "! cmp -s -i 128 $T/c2_p1.npy $T/c2_p0.npy && cmp -s -i 128 $T/d1_p1.npy $T/d1_tiny.npy"
$FT $T/lab -w $W --pretrain-epochs 2 -o "$T/x.gguf" 2>"$T/err"
check "... with nothing unfrozen: exit 2 saying why, nothing written" "[ $? -eq 2 ] && grep -q 'pretrain-epochs trains the backbone' $T/err && [ ! -e $T/x.gguf ]"
mkdir -p "$T/many"; for i in $(seq 1 200); do ln -sf "$(cd $CLS && pwd)/cool/01.png" "$T/many/$i.png"; done
XFER_MAX_MEMORY=64K $FT $T/lab -w $W --epochs 1 --unfreeze-from c2 --unlabeled "$T/many" -o "$T/x.gguf" 2>"$T/err"
check "... views over the memory budget: exit 1 with the figures, nothing written" "[ $? -eq 1 ] && grep -q '200 images need 0.1 MiB for their two views, over the memory budget' $T/err && [ ! -e $T/x.gguf ]"
$FT $U --unlabeled "$T/nowhere" -o "$T/x.gguf" 2>"$T/err"
check "... a missing --unlabeled folder: exit 1 naming it, nothing written" "[ $? -eq 1 ] && grep -q nowhere $T/err && [ ! -e $T/x.gguf ]"
$FT $CLS -w $W -o "$T/x.gguf" --unfreeze-from nope 2>"$T/err"; check "unknown node exits 2" "[ $? -eq 2 ] && grep -q nope $T/err && [ ! -e $T/x.gguf ]"
$FT $CLS -w $W -o "$T/x.gguf" --unfreeze-from fc 2>"$T/err"; check "node after the feature layer exits 2" "[ $? -eq 2 ]"
$FT $CLS -w $W -o "$T/x.gguf" --optimizer magic 2>/dev/null; check "bad optimizer exits 2" "[ $? -eq 2 ]"
$FT $TD/big -w $W -o "$T/x.gguf" 2>"$T/err"; check "fewer than two classes exits 1" "[ $? -eq 1 ] && grep -q 'two class' $T/err"
# --plot: the learning curves, one point per epoch in each of the three series
$FT $CLS -w $W --val $CLS --epochs 6 --patience 0 --quiet -o "$T/pl.gguf" --plot "$T/curves.svg"
check "--plot writes an SVG" "[ $? -eq 0 ] && head -2 $T/curves.svg | grep -q '<svg'"
check "... three curves of 6 epochs" "[ \$(grep -c '<polyline' $T/curves.svg) -eq 3 ] && ! grep '<polyline' $T/curves.svg | awk -F'points=\"' '{n = split(\$2, a, \" \"); if (n - 1 != 6) bad = 1} END {exit !bad}'"
if /usr/bin/python3 -c 'import xml' 2>/dev/null; then
  check "... well-formed XML" "/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' $T/curves.svg"
fi
$FT $CLS -w $W --epochs 1 --quiet -o "$T/pl2.gguf" --plot /nonexistent/c.svg 2>"$T/err"
check "--plot to a missing folder: refused before training" "[ $? -ne 0 ] && grep -q nonexistent $T/err && [ ! -e $T/pl2.gguf ]"
finish
