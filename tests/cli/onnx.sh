#!/bin/sh
# onnx.sh — ONNX import on the committed small models (tests/onnx/models, made by tiny.py from
# PyTorch with reference outputs): conversion, logits and pooled features against PyTorch
# (relative L2 below 1e-5), the converted model in extract-features and finetune, the flags, and
# malformed files (truncated, bit-flipped, empty, not ONNX, unsupported operator): a clear
# one-line error naming the file, exit 1, no crash and nothing written.
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-onnx; rm -rf "$T"; mkdir -p "$T"
M=tests/onnx/models; CV=$B/xfer-convert
for m in stem mobile shuffle next stem_bn; do
  $CV $M/$m.onnx -o "$T/$m.gguf" --preset torchvision 2>"$T/$m.err"
  check "$m: converts" "[ $? -eq 0 ] && [ -s $T/$m.gguf ]"
  r=$($B/tests/onnx_check "$T/$m.gguf" $M/$m.input.bin $M/$m.logits.bin $M/$m.feat.bin 1e-5 2>&1); rc=$?
  echo "$m: $r"
  check "$m: logits and features match PyTorch ($r)" "[ $rc -eq 0 ]"
done
$B/xfer-inspect "$T/stem.gguf" > "$T/inspect.txt" 2>&1
check "preset stored (ImageNet mean)" "grep -q '0.485' $T/inspect.txt"
$CV $M/stem.onnx -o "$T/nopreset.gguf" 2>"$T/np.err"
check "no preset: ImageNet mean/std assumed and said" "grep -q 'ImageNet mean/std assumed' $T/np.err && $B/xfer-inspect $T/nopreset.gguf | grep -q '0.229'"
$CV $M/stem.onnx -o "$T/tim.gguf" --preset timm-inception 2>/dev/null
check "--preset timm-inception: mean 0.5" "$B/xfer-inspect $T/tim.gguf | grep -q 'xfer.input.mean *\[0.5, 0.5, 0.5\]'"
$CV $M/next.onnx --list-layers > "$T/layers.txt" 2>/dev/null
check "--list-layers prints the tensors" "[ $? -eq 0 ] && grep -q 'layernorm' $T/layers.txt && grep -q '^output ' $T/layers.txt"
$CV $M/stem.onnx -o "$T/s64.gguf" --size 64 2>/dev/null
check "--size 64 rebuilds the graph" "[ $? -eq 0 ] && $B/xfer-inspect $T/s64.gguf 2>&1 | grep -q 'input.*64'"
$CV $M/shuffle.onnx -o "$T/bad.gguf" --size 48 2>"$T/err"
check "--size that breaks a fixed reshape: clear error" "[ $? -eq 1 ] && grep -q 'shuffle.onnx' $T/err && [ ! -e $T/bad.gguf ]"
$CV $M/stem.onnx -o "$T/x.gguf" --preset caffe 2>/dev/null; check "unknown preset exits 2" "[ $? -eq 2 ]"
$B/extract-features -w "$T/mobile.gguf" --quiet $TD/cls > "$T/f.bin" 2>"$T/ef.err"
check "extract-features runs the import" "[ $? -eq 0 ] && [ -s $T/f.bin ]"
$B/finetune $TD/cls -w "$T/next.gguf" --unfreeze 1 --epochs 2 --batch 8 -o "$T/ft.gguf" --quiet 2>"$T/ft.err"
check "finetune unfreezes the last block of an import" "[ $? -eq 0 ] && [ -s $T/ft.gguf ]"
$CV $M/mobile.onnx -o "$T/mobile_plain.gguf" 2>/dev/null
$B/finetune $TD/cls -w "$T/mobile_plain.gguf" --unfreeze 5 --epochs 2 --batch 8 -o "$T/ftm.gguf" --quiet 2>"$T/ftm.err"
check "finetune through squeeze-excitation, fused SiLU and PReLU" "[ $? -eq 0 ] && $B/classify -m $T/ftm.gguf $TD/cls >/dev/null 2>&1"
# batch norms kept apart (--keep-bn) and frozen in fine-tuning (--freeze-bn), PReLU head
$CV $M/stem_bn.onnx -o "$T/bn.gguf" --keep-bn 2>/dev/null
r=$($B/tests/onnx_check "$T/bn.gguf" $M/stem_bn.input.bin $M/stem_bn.logits.bin $M/stem_bn.feat.bin 1e-5 2>&1)
check "--keep-bn: affine nodes, same outputs ($r)" "[ $? -eq 0 ] && $B/xfer-inspect $T/bn.gguf | grep -q ' affine '"
tens() { $B/xfer-inspect "$1" --tensors | grep "$2" | awk '{print $1, $3}'; }
for fr in "--freeze-bn" ""; do
  $B/finetune $TD/cls -w "$T/bn.gguf" --unfreeze-from /c1/Conv_output_0 --epochs 3 --batch 8 \
    --lr 0.05 --weight-decay 0.01 --hidden 8 --prelu -o "$T/bn_ft$fr.gguf" --quiet $fr 2>"$T/bnft.err"
  check "finetune $fr --prelu on a --keep-bn import" "[ $? -eq 0 ] && tens $T/bn_ft$fr.gguf ft_prelu1.weight | grep -q prelu"
  check "$fr: convolutions trained" "[ \"\$(tens $T/bn.gguf /c1/Conv_output_0.weight)\" != \"\$(tens $T/bn_ft$fr.gguf /c1/Conv_output_0.weight)\" ]"
done
check "--freeze-bn: batch-norm scale/shift bit-identical" "[ \"\$(tens $T/bn.gguf BatchNorm)\" = \"\$(tens $T/bn_ft--freeze-bn.gguf BatchNorm)\" ] && [ -n \"\$(tens $T/bn.gguf BatchNorm)\" ]"
check "without it they train" "[ \"\$(tens $T/bn.gguf BatchNorm)\" != \"\$(tens $T/bn_ft.gguf BatchNorm)\" ]"
# malformed files
size=$(wc -c < $M/mobile.onnx)
for cut in 1 17 100 1000 $((size / 2)) $((size - 1)); do
  head -c $cut $M/mobile.onnx > "$T/cut.onnx"
  $CV "$T/cut.onnx" -o "$T/cut.gguf" 2>"$T/err"; rc=$?
  check "truncated at $cut: exit 1, names the file, nothing written" "[ $rc -eq 1 ] && grep -q 'cut.onnx' $T/err && [ \$(wc -l < $T/err) -eq 1 ] && [ ! -e $T/cut.gguf ]"
done
i=0
for pos in 3 40 200 900 2000 5000 8000 10000; do
  i=$((i + 1))
  cp $M/mobile.onnx "$T/flip.onnx"
  printf '\377' | dd of="$T/flip.onnx" bs=1 seek=$pos conv=notrunc 2>/dev/null
  $CV "$T/flip.onnx" -o "$T/flip$i.gguf" 2>"$T/err"; rc=$?
  check "byte $pos flipped: exit 0 or 1, no crash" "[ $rc -eq 0 ] || [ $rc -eq 1 ]"
done
: > "$T/empty.onnx"; $CV "$T/empty.onnx" -o "$T/e.gguf" 2>"$T/err"
check "empty file: exit 1" "[ $? -eq 1 ] && grep -q 'empty.onnx' $T/err"
$CV tests/cli/onnx.sh.onnx -o "$T/e.gguf" 2>"$T/err"; check "missing file: exit 1" "[ $? -eq 1 ] && grep -q 'cannot open' $T/err"
head -c 3000 /dev/urandom > "$T/rand.onnx"; $CV "$T/rand.onnx" -o "$T/e.gguf" 2>"$T/err"
check "random bytes: exit 1" "[ $? -eq 1 ]"
sed 's/Relu/Relx/g' $M/stem.onnx > "$T/relx.onnx"; $CV "$T/relx.onnx" -o "$T/e.gguf" 2>"$T/err"
check "unknown operator: names op and node" "[ $? -eq 1 ] && grep -q \"(Relx): operator not supported\" $T/err"
# --interp bicubic: recorded in the file, used by default, recorded in the features, refused by
# a classifier trained on bilinear features, and the flag of the tools overrides it
$CV $M/mobile.onnx -o "$T/bicubic.gguf" --preset torchvision --interp bicubic --quiet
check "xfer-convert --interp bicubic: the resize key" "$B/xfer-inspect $T/bicubic.gguf | grep -q 'shorter_side_bicubic_antialias'"
$B/extract-features -w "$T/bicubic.gguf" --quiet $TD/cls -o "$T/bc.bin"
$B/extract-features -w "$T/bicubic.gguf" --quiet --interp bilinear $TD/cls -o "$T/bl.bin"
check "... features made with it say so" "$B/xfer-feats info $T/bc.bin | grep -q bicubic && $B/xfer-feats info $T/bl.bin | grep -q bilinear"
check "... and differ from bilinear ones" "! cmp -s $T/bc.bin $T/bl.bin"
$B/train-classifier "$T/bl.bin" --folds 2 --quiet -o "$T/bl.gguf" 2>/dev/null
$B/classify -m "$T/bl.gguf" "$T/bc.bin" > /dev/null 2>"$T/err"
check "a bilinear-trained classifier refuses bicubic features" "[ $? -eq 1 ] && grep -q 'different preprocessing' $T/err"
finish
