#!/bin/sh
# export.sh — xfer-convert --to-onnx against ONNX Runtime (npm onnxruntime-node, the bench's
# peer): for heads trained on six backbones that between them use every op and activation
# (binary and 3-class logistic, Platt-scaled SVM, L2/standardize/PCA folded in, several layers,
# max and no pooling), for a fine-tuned model and for a backbone with its own softmax, ORT's
# probabilities on xfer's preprocessed pixels must equal classify's within 1e-5, one image at a
# time and in one batch. Then the errors. It is: a check of the export. It is not: a test of
# the converters (onnx.sh).
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-export; rm -rf "$T"; mkdir -p "$T"
CV=$B/xfer-convert; CLS=$TD/cls; M=tests/onnx/models
NODE_PATH=$(cd "$B" && pwd)/peers/node_modules # make deps-ort; a sanitizer build uses build/'s
[ -d "$NODE_PATH" ] || NODE_PATH=$(pwd)/build/peers/node_modules
export NODE_PATH
$CV --to-onnx "$T/none.gguf" 2>"$T/usage.err"
check "--to-onnx without -o: usage, exit 2" "[ \$? -eq 2 ] && grep -q 'to-onnx' $T/usage.err"
$CV --to-onnx "$TD/tiny.gguf" -o "$T/nodir/x.onnx" 2>"$T/nodir.err"
check "--to-onnx into a missing folder: exit 5 (cannot write) before any work" "[ \$? -eq 5 ] && [ ! -e $T/nodir ]"
if ! command -v node >/dev/null || ! node -e "require('onnxruntime-node')" 2>/dev/null; then
  echo "SKIP ONNX export vs ONNX Runtime: onnxruntime-node is not in $B/peers (make deps-ort)"
  finish; exit
fi
meta() { $B/xfer-inspect "$1" | awk -v k="$2" '$1 == k {print $2}'; }
# same ID WHAT BACKBONE.gguf CLASSIFIER.gguf FEATS-OR-IMAGES...: export, run both, compare
same() {
  name=$1 what=$2 w=$3 c=$4; shift 4
  $CV --to-onnx "$c" -w "$w" -o "$T/$name.onnx" -q 2>"$T/$name.err"
  check "$what: exported" "[ \$? -eq 0 ] && [ -s $T/$name.onnx ]" || { cat "$T/$name.err"; return; }
  $B/classify -m "$c" -w "$w" --top 99 --format json -q "$@" > "$T/$name.jsonl"
  size=$(meta "$w" xfer.input.height); crop=$(meta "$w" xfer.input.crop_pct)
  /usr/bin/python3 -c 'import json,sys; [print(j["path"]) for j in map(json.loads, open(sys.argv[1])) if "top" in j]' \
    "$T/$name.jsonl" > "$T/$name.paths"
  $B/preprocess_dump "$size" "$crop" "$T/$name.npy" $(cat "$T/$name.paths")
  node tests/onnx/run_ort.js "$T/$name.onnx" "$T/$name.npy" > "$T/$name.ort" 2>"$T/$name.ort.err"
  d=$(/usr/bin/python3 tests/onnx/compare_probs.py "$T/$name.jsonl" "$T/$name.ort" 2>&1)
  echo "$what: worst $d"
  check "$what: ONNX Runtime's probabilities are classify's (worst |diff| $d over $(wc -l < $T/$name.paths) images, single and batched; limit 1e-5)" \
    "[ -n '$d' ] && /usr/bin/python3 -c 'import sys; sys.exit(not float(sys.argv[1]) <= 1e-5)' '$d'"
}
find $CLS -type f | sort | awk '{print $0 "," substr("abc", NR % 3 + 1, 1)}' > "$T/three.csv"
ef() { w=$1 o=$2; shift 2; $B/extract-features -w "$w" --quiet "$@" $CLS -o "$o"; }
tc() { f=$1 o=$2; shift 2; $B/train-classifier "$f" -o "$o" --quiet --folds 3 "$@" 2>/dev/null; }
for m in stem mobile shuffle next; do $CV $M/$m.onnx -o "$T/$m.gguf" --preset torchvision -q; done
$CV $M/stem_bn.onnx -o "$T/stem_bn.gguf" --preset torchvision --keep-bn -q
ef $TD/tiny.gguf "$T/tiny.bin"; tc "$T/tiny.bin" "$T/tiny-lr2.gguf"
same tiny2 "tiny, binary logistic" $TD/tiny.gguf "$T/tiny-lr2.gguf" "$T/tiny.bin"
ef "$T/stem.gguf" "$T/stem.bin"; tc "$T/stem.bin" "$T/stem-lr3.gguf" --labels "$T/three.csv"
same stem3 "stem, 3-class logistic" "$T/stem.gguf" "$T/stem-lr3.gguf" "$T/stem.bin"
L=$($CV $M/mobile.onnx --list-layers 2>/dev/null | awk '$2 == "dwconv2d" {print $1}' | head -2 | sed 's/^/--layer /')
ef "$T/mobile.gguf" "$T/mobile.bin" $L --pool max --l2norm
tc "$T/mobile.bin" "$T/mobile-svm.gguf" --labels "$T/three.csv" --solver svm --normalize l2+standardize
same mobile "mobile, two layers max-pooled, L2, Platt SVM, l2+standardize" "$T/mobile.gguf" "$T/mobile-svm.gguf" "$T/mobile.bin"
ef "$T/shuffle.gguf" "$T/shuffle.bin" --pool none
tc "$T/shuffle.bin" "$T/shuffle-pca.gguf" --whiten pca --dims 4
same shuffle "shuffle, unpooled, PCA whitening" "$T/shuffle.gguf" "$T/shuffle-pca.gguf" "$T/shuffle.bin"
ef "$T/next.gguf" "$T/next.bin"; tc "$T/next.bin" "$T/next-cs.gguf" --labels "$T/three.csv" --solver cs
same next "next (layernorm, gelu), Crammer-Singer" "$T/next.gguf" "$T/next-cs.gguf" "$T/next.bin"
ef "$T/stem_bn.gguf" "$T/bn.bin"; tc "$T/bn.bin" "$T/bn-l1.gguf" --solver l1lr --whiten zca
same bn "stem_bn --keep-bn (affine), L1 logistic, ZCA" "$T/stem_bn.gguf" "$T/bn-l1.gguf" "$T/bn.bin"
same tinysm "tiny as its own classifier (softmax over its labels)" $TD/tiny.gguf $TD/tiny.gguf $CLS
$B/finetune -w $TD/tiny.gguf $CLS -o "$T/ft.gguf" --epochs 2 --quiet 2>/dev/null
same ft "a fine-tuned model" "$T/ft.gguf" "$T/ft.gguf" $CLS
# errors
$CV --to-onnx "$T/tiny-lr2.gguf" -w "$T/stem.gguf" -o "$T/wrong.onnx" 2>"$T/wrong.err"
check "a head with another backbone: refused, nothing written" "[ \$? -eq 1 ] && grep -q 'not the backbone' $T/wrong.err && [ ! -e $T/wrong.onnx ]"
$CV --to-onnx "$T/stem.gguf" -o "$T/nolabels.onnx" 2>"$T/nolabels.err"
check "a backbone without labels: refused ($(head -c 90 $T/nolabels.err))" "[ \$? -eq 1 ] && [ ! -e $T/nolabels.onnx ]"
$CV --to-onnx "$TD/tiny.gguf" -o /dev/null -q
check "-o /dev/null: written in place, still a device" "[ \$? -eq 0 ] && [ -c /dev/null ]"
finish
