#!/bin/sh
# zoo.sh — the ONNX conformance table: 13 torchvision models (random weights, fixed seed,
# calibrated batch norm) exported by tests/onnx/zoo.py, converted with xfer-convert and run by
# onnx_check against PyTorch's logits and pooled features; relative L2 must stay below 1e-4.
# The table uses each model's default opset; the same models are then exported at opsets 11 and
# 17 and checked again (ZOO_OPSETS to change); then resnet18 and efficientnet_b0 imports are
# fine-tuned, and the gradient through the small imported models (tests/onnx/models) is checked
# against PyTorch autograd (tests/oracle/grad_check_onnx.py). Ends with "N passed, N failed". Needs Debian's
# python3-torch and python3-torchvision (make deps-bench). It is: `make test-zoo`.
B=${1:-build}
MODELS="resnet18 resnet50 mobilenet_v2 mobilenet_v3_large efficientnet_b0 densenet121 vgg16_bn
        squeezenet1_1 shufflenet_v2_x1_0 regnet_y_400mf convnext_tiny googlenet inception_v3"
pass=0; fail=0
run() { # opset-dir opset-flag table(1/0)
  Z=$1; flag=$2; table=$3; mkdir -p "$Z"
  [ "$table" = 1 ] && echo "| model | nodes | logits rel. L2 | features rel. L2 | feature layer (dim) |" && echo "|---|---|---|---|---|"
  for m in $MODELS; do
    [ -s "$Z/$m.onnx" ] || /usr/bin/python3 tests/onnx/zoo.py "$Z" $flag $m > "$Z/$m.export.log" 2>&1
    if ! $B/xfer-convert "$Z/$m.onnx" -o "$Z/$m.gguf" --preset torchvision > "$Z/$m.convert.log" 2>&1; then
      fail=$((fail + 1)); echo "FAIL $Z/$m: $(tail -1 "$Z/$m.convert.log")"; continue
    fi
    r=$($B/tests/onnx_check "$Z/$m.gguf" "$Z/$m.input.bin" "$Z/$m.logits.bin" "$Z/$m.feat.bin" 1e-4 2>&1); rc=$?
    if [ $rc -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $Z/$m: $r"; fi
    echo "$m $r" >> "$Z/results.txt"
    if [ "$table" = 1 ]; then
      nodes=$(sed -nE 's/.*\(([0-9]+) nodes, feature layer ([^)]*)\).*/\1/p' "$Z/$m.convert.log")
      layer=$(sed -nE 's/.*\(([0-9]+) nodes, feature layer ([^)]*)\).*/\2/p' "$Z/$m.convert.log")
      set -- $r
      echo "| $m | $nodes | ${2:-?} | ${4:-?} | \`$layer\` ($(($(wc -c < "$Z/$m.feat.bin") / 4))) |"
    fi
  done
}
rm -f $B/zoo/*/results.txt
run $B/zoo/default "" 1
for op in ${ZOO_OPSETS:-11 17}; do
  run $B/zoo/opset$op "--opset $op" 0
  echo "opset $op: $(wc -l < $B/zoo/opset$op/results.txt) models checked, worst relative L2 $(awk '{print $3; print $5}' $B/zoo/opset$op/results.txt | sort -g | tail -1)"
done
# fine-tuning imports: the last blocks of resnet18 and efficientnet_b0 (squeeze-excitation,
# SiLU split off its conv) on the generated class folders make test writes
if [ -d build/tests/cls ]; then
  for m in resnet18 efficientnet_b0; do
    if $B/finetune build/tests/cls -w $B/zoo/default/$m.gguf --unfreeze 3 --epochs 2 --batch 8 \
         --hidden 16 -o $B/zoo/ft_$m.gguf --quiet 2>$B/zoo/ft_$m.log &&
       $B/classify -m $B/zoo/ft_$m.gguf build/tests/cls > /dev/null 2>&1; then
      pass=$((pass + 1)); echo "finetune --unfreeze 3 on the $m import: ok"
    else
      fail=$((fail + 1)); echo "FAIL finetune on the $m import: $(tail -1 $B/zoo/ft_$m.log)"
    fi
  done
fi
# backward through imported graphs: d loss / d input against PyTorch autograd on the small models
for m in stem mobile shuffle next; do
  $B/xfer-convert tests/onnx/models/$m.onnx -o $B/zoo/g_$m.gguf > /dev/null 2>&1
  logits=$($B/xfer-convert tests/onnx/models/$m.onnx --list-layers 2>/dev/null |
           awk '$2 == "dense" || $2 == "conv2d" {n = $1} END {print n}')
  mkdir -p $B/zoo/grad_$m
  if $B/grad_dump $B/zoo/g_$m.gguf "$logits" $B/zoo/grad_$m > /dev/null &&
     r=$(/usr/bin/python3 tests/oracle/grad_check_onnx.py $m $B/zoo/grad_$m 2>/dev/null | tail -1); then
    pass=$((pass + 1)); echo "$r"
  else
    fail=$((fail + 1)); echo "FAIL gradient check on $m: $r"
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
