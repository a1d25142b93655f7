#!/bin/bash
# run.sh — `make bench`: forward-pass and end-to-end throughput of xfer next to PyTorch
# (Debian python3-torch) and ONNX Runtime (npm onnxruntime-node) measured in the same run, as
# ratios. Peers that are not installed are reported as such (make deps-bench installs PyTorch;
# ONNX Runtime is installed into build/peers from npm). Not a test: it prints, it never fails.
B=${1:-build}; SECS=${BENCH_SECONDS:-4}
PY=/usr/bin/python3
have_torch=0; $PY -c 'import torch, torchvision' 2>/dev/null && have_torch=1
mkdir -p $B/peers
if [ ! -d $B/peers/node_modules/onnxruntime-node ]; then
  (cd $B/peers && { [ -f package.json ] || npm init -y >/dev/null 2>&1; } && ONNXRUNTIME_NODE_INSTALL=skip npm install --ignore-scripts --silent onnxruntime-node >/dev/null 2>&1)
fi
have_ort=0; [ -d $B/peers/node_modules/onnxruntime-node ] && have_ort=1
if [ $have_torch = 1 ] && [ ! -f $B/peers/mobilenet_v2.onnx ]; then
  $PY tests/bench/peer_torch.py mobilenet_v2 1 1 1 --export $B/peers/mobilenet_v2.onnx >/dev/null 2>&1
fi
[ -f $B/peers/mobilenet_v2.onnx ] || have_ort=0
rate() { echo "$1" | awk '{print $1}'; }
echo "== forward pass, images/s (MobileNetV2 224, full network; ${SECS}s each; peak RSS of xfer)"
printf '%-14s %10s %10s %10s %12s %12s\n' config xfer PyTorch ORT xfer/PyTorch xfer/ORT
for w in mobilenet_v2_imagenet_tf2 mobilenet_v2; do
  [ -f weights/$w.gguf ] || continue
  for t in 1 2; do for b in 1 32; do
    x=$($B/bench_forward weights/$w.gguf $b $t $SECS); xr=$(rate "$x")
    pt=-; ort=-
    if [ $w = mobilenet_v2_imagenet_tf2 ]; then
      [ $have_torch = 1 ] && pt=$(rate "$($PY tests/bench/peer_torch.py mobilenet_v2 $b $t $SECS)")
      [ $have_ort = 1 ] && ort=$(rate "$(NODE_PATH=$B/peers/node_modules node tests/bench/peer_ort.js $B/peers/mobilenet_v2.onnx 224 $b $t $SECS)")
    fi
    r1=$(awk -v a=$xr -v b=$pt 'BEGIN{ if (b+0>0) printf "%.2f", a/b; else print "-" }')
    r2=$(awk -v a=$xr -v b=$ort 'BEGIN{ if (b+0>0) printf "%.2f", a/b; else print "-" }')
    printf '%-14s %10s %10s %10s %12s %12s   (%s, RSS %s)\n' "b$b t$t" $xr $pt $ort $r1 $r2 $w "$(echo $x | awk '{print $5, $6}')"
  done; done
done
# imported nets: one ONNX file exported from torchvision, converted for xfer, run by all three
if [ $have_torch = 1 ]; then
  echo "== ONNX imports, images/s (same ONNX file for xfer-convert and ORT; ${SECS}s each)"
  printf '%-26s %10s %10s %10s %12s %12s\n' config xfer PyTorch ORT xfer/PyTorch xfer/ORT
  for net in resnet50 efficientnet_b0; do
    [ -f $B/peers/$net.onnx ] || $PY tests/bench/peer_torch.py $net 1 1 1 --export $B/peers/$net.onnx >/dev/null 2>&1
    $B/xfer-convert $B/peers/$net.onnx -o $B/peers/$net.gguf --preset torchvision >/dev/null 2>&1 || continue
    for bt in "1 1" "1 2" "16 2"; do
      set -- $bt; b=$1; t=$2
      xr=$(rate "$($B/bench_forward $B/peers/$net.gguf $b $t $SECS)")
      pt=$(rate "$($PY tests/bench/peer_torch.py $net $b $t $SECS)")
      ort=-; [ $have_ort = 1 ] && ort=$(rate "$(NODE_PATH=$B/peers/node_modules node tests/bench/peer_ort.js $B/peers/$net.onnx 224 $b $t $SECS)")
      r1=$(awk -v a=$xr -v b=$pt 'BEGIN{ if (b+0>0) printf "%.2f", a/b; else print "-" }')
      r2=$(awk -v a=$xr -v b=$ort 'BEGIN{ if (b+0>0) printf "%.2f", a/b; else print "-" }')
      printf '%-26s %10s %10s %10s %12s %12s\n' "$net b$b t$t" $xr $pt $ort $r1 $r2
    done
  done
fi
if [ -f weights/inception_v3.gguf ]; then
  echo "== InceptionV3 299 (npm), xfer only"
  for t in 1 2; do for b in 1 32; do echo "b$b t$t: $($B/bench_forward weights/inception_v3.gguf $b $t $SECS)"; done; done
fi
# end to end: a JPEG folder to features
D=../shared/datasets/hymenoptera/val
[ -d $D ] || D=$B/tests/cli-resume/many
if [ -d $D ]; then
  n=$(find $D -type f | wc -l)
  echo "== end to end: $D ($n files) -> features, images/s"
  for j in 1 2; do
    t0=$(date +%s.%N); $B/extract-features --quiet -j $j $D > /dev/null 2>&1; t1=$(date +%s.%N)
    echo "xfer -j $j: $(awk -v n=$n -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f", n/(b-a)}') images/s"
  done
  if [ $have_torch = 1 ]; then
    for j in 1 2; do echo "PyTorch (PIL + torchvision, $j loader workers, $j threads): $($PY tests/bench/peer_torch_e2e.py $D $j $j 2>/dev/null)"; done
  else
    echo "PyTorch: not installed (make deps-bench)"
  fi
fi
# fine-tuning: seconds per epoch, last MobileNetV2 block + MLP head unfrozen, batch 32
H=../shared/datasets/hymenoptera/train
if [ -d $H ] && [ -f weights/mobilenet_v2_imagenet_tf2.gguf ]; then
  echo "== fine-tuning epoch (hymenoptera train, 244 images; last block + 1x1 conv + MLP 256 trainable, batch 32)"
  xs=$($B/finetune $H -o $B/peers/ft.gguf --epochs 3 --patience 0 --hidden 256 --dropout 0.2 --lr 3e-4 \
        --unfreeze-from MobileNetV2/expanded_conv_16/expand/relu6/Relu6 2>&1 | grep -o 'train [0-9.]* s' | awk '{print $2}' | sort -n | head -1)
  echo "xfer: ${xs} s/epoch (training only, all cores)"
  [ $have_torch = 1 ] && echo "PyTorch (same trainable part, 2 threads): $($PY tests/bench/peer_torch_ft.py 244 2 3)"
fi
