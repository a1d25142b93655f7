#!/bin/sh
# zoo.sh — the ONNX conformance table: 13 torchvision models (random weights, fixed seed,
# calibrated batch norm) exported by tests/onnx/zoo.py, converted with xfer-convert and run by
# onnx_check against PyTorch's logits and pooled features; relative L2 must stay below 1e-4.
# Prints a Markdown table and ends with "N passed, N failed". Needs Debian's python3-torch and
# python3-torchvision (make deps-bench). It is: `make test-zoo`. It is not: part of make test.
B=${1:-build}
Z=$B/zoo; mkdir -p "$Z"
pass=0; fail=0
echo "| model | nodes | logits rel. L2 | features rel. L2 | feature layer (dim) |"
echo "|---|---|---|---|---|"
for m in resnet18 resnet50 mobilenet_v2 mobilenet_v3_large efficientnet_b0 densenet121 vgg16_bn \
         squeezenet1_1 shufflenet_v2_x1_0 regnet_y_400mf convnext_tiny googlenet inception_v3; do
  [ -s "$Z/$m.onnx" ] || /usr/bin/python3 tests/onnx/zoo.py "$Z" $m > "$Z/$m.export.log" 2>&1
  if ! $B/xfer-convert "$Z/$m.onnx" -o "$Z/$m.gguf" --preset torchvision > "$Z/$m.convert.log" 2>&1; then
    fail=$((fail + 1)); echo "| $m | conversion failed: $(tail -1 "$Z/$m.convert.log") | | | |"; continue
  fi
  r=$($B/tests/onnx_check "$Z/$m.gguf" "$Z/$m.input.bin" "$Z/$m.logits.bin" "$Z/$m.feat.bin" 1e-4 2>&1); rc=$?
  nodes=$(sed -nE 's/.*\(([0-9]+) nodes, feature layer ([^)]*)\).*/\1/p' "$Z/$m.convert.log")
  layer=$(sed -nE 's/.*\(([0-9]+) nodes, feature layer ([^)]*)\).*/\2/p' "$Z/$m.convert.log")
  dim=$(($(wc -c < "$Z/$m.feat.bin") / 4))
  set -- $r
  echo "| $m | $nodes | ${2:-?} | ${4:-?} | \`$layer\` ($dim) |"
  if [ $rc -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $m: $r"; fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
