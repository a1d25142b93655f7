#!/bin/bash
# run.sh — `make bench`: xfer's speed next to ONNX Runtime (npm onnxruntime-node) and PyTorch
# (Debian python3-torch), measured in the same run as ratios. Forward passes run the same ONNX
# file (exported from torchvision) in xfer (after xfer-convert) and in ORT; every figure is the
# median of ROUNDS interleaved rounds (xfer, ORT, ... then again), each ratio taken inside its
# round; one core is CPU 0 (taskset), two cores are CPUs 0-1, where ORT runs both ways (2
# intra-op threads, and 2 one-thread processes: its best) and xfer as 2 sessions. "avx2" is
# xfer with XF_ISA=avx2: the path of a CPU without AVX-512 (OpenBLAS), what xfer ran before its
# own kernels. "% peak": GFLOP/s over the FMA peak the probe measures here (per core).
# Not a test: it prints, it never fails. Peers that are missing are said to be.
B=${1:-build}; SECS=${BENCH_SECONDS:-3}; ROUNDS=${BENCH_ROUNDS:-3}
PY=/usr/bin/python3
have_torch=0; $PY -c 'import torch, torchvision' 2>/dev/null && have_torch=1
mkdir -p $B/peers
[ -d $B/peers/node_modules/onnxruntime-node ] || make -s deps-ort BUILD=$B >/dev/null 2>&1
have_ort=0; [ -d $B/peers/node_modules/onnxruntime-node ] && have_ort=1
[ $have_torch = 1 ] || echo "PyTorch: not installed (make deps-bench): no ONNX exports, no PyTorch figures"
[ $have_ort = 1 ] || echo "ONNX Runtime: npm install failed: no ORT figures"
PEAK=$(taskset -c 0 $B/peak 1 | awk '{print $1}')
echo "FMA peak of one core here: $PEAK GFLOPS ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs))"

rate() { awk '{print $1}'; }
xfer() { # weights batch cpus threads -> images/s
  taskset -c $3 $B/bench_forward $1 $2 $4 $SECS | rate
}
xfer_avx2() { XF_ISA=avx2 xfer "$@"; }
ort() { # onnx batch cpus threads
  NODE_PATH=$B/peers/node_modules taskset -c $3 node tests/bench/peer_ort.js $1 224 $2 $4 $SECS | rate
}
ort2p() { # onnx batch: two one-thread processes on CPUs 0 and 1, images/s added
  local a b
  a=$(mktemp); b=$(mktemp)
  NODE_PATH=$B/peers/node_modules taskset -c 0 node tests/bench/peer_ort.js $1 224 $2 1 $SECS > $a &
  NODE_PATH=$B/peers/node_modules taskset -c 1 node tests/bench/peer_ort.js $1 224 $2 1 $SECS > $b
  wait
  awk '{s += $1} END {printf "%.1f", s}' $a $b; rm -f $a $b
}
median() { tr ' ' '\n' | grep -v -e '^$' -e '^-$' | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-"}'; }

# one network: rows b1/b16 x 1 core/2 cores; columns xfer, avx2, ORT (intra), ORT 2 procs
bench_net() { # label gguf onnx ("" without ORT)
  local label=$1 g=$2 onnx=$3 gf cfg
  gf=$($B/bench_forward $g 1 1 0.2 | awk '{print $(NF-1)}')
  echo "== $label ($gf GFLOP/image), images/s (median of $ROUNDS rounds; ratios per round)"
  printf '%-10s %8s %8s %8s %8s %9s %9s %9s %7s\n' config xfer avx2 ORT ORT-2p xfer/ORT xfer/2p xfer/avx2 '%peak'
  for cfg in "1 0 1" "16 0 1" "1 0,1 2" "16 0,1 2"; do
    local b cpus t X="" A="" O="" P="" R="" RP="" RA="" r x a o p xm
    read -r b cpus t <<< "$cfg"
    for r in $(seq $ROUNDS); do
      x=$(xfer $g $b $cpus $t); a=$(xfer_avx2 $g $b $cpus $t); o=-; p=-
      [ -n "$onnx" ] && o=$(ort $onnx $b $cpus $t 2>/dev/null); o=${o:--}
      [ -n "$onnx" ] && [ $t = 2 ] && p=$(ort2p $onnx $b 2>/dev/null); p=${p:--}
      X="$X $x"; A="$A $a"; O="$O $o"; P="$P $p"
      R="$R $(ratio $x $o)"; RP="$RP $(ratio $x $p)"; RA="$RA $(ratio $x $a)"
    done
    xm=$(echo $X | median)
    printf '%-10s %8s %8s %8s %8s %9s %9s %9s %7s\n' "b$b ${t}c" $xm "$(echo $A | median)" \
      "$(echo $O | median)" "$(echo $P | median)" "$(echo $R | median)" "$(echo $RP | median)" \
      "$(echo $RA | median)" "$(awk -v r=$xm -v g=$gf -v p=$PEAK -v t=$t 'BEGIN {printf "%.0f", 100 * r * g / (p * t)}')"
  done
}
for net in mobilenet_v2 resnet50 efficientnet_b0; do
  if [ $have_torch = 1 ] && [ ! -f $B/peers/$net.onnx ]; then
    $PY tests/bench/peer_torch.py $net 1 1 1 --export $B/peers/$net.onnx >/dev/null 2>&1
  fi
  [ -f $B/peers/$net.onnx ] || continue
  $B/xfer-convert $B/peers/$net.onnx -o $B/peers/$net.gguf --preset torchvision --quiet 2>/dev/null || continue
  o=$B/peers/$net.onnx; [ $have_ort = 1 ] || o=""
  bench_net "$net 224 (torchvision, the same ONNX file)" $B/peers/$net.gguf "$o"
done
for w in mobilenet_v2_imagenet_tf2 inception_v3; do
  [ -f weights/$w.gguf ] || continue
  echo "== weights/$w.gguf (xfer only), images/s"
  for cfg in "1 0 1" "16 0 1" "1 0,1 2"; do
    set -- $cfg; X=""; A=""
    for r in $(seq $ROUNDS); do X="$X $(xfer weights/$w.gguf $1 $2 $3)"; A="$A $(xfer_avx2 weights/$w.gguf $1 $2 $3)"; done
    x=$(echo $X | median); a=$(echo $A | median)
    echo "b$1 ${3}c: xfer $x, avx2 $a, xfer/avx2 $(ratio $x $a)"
  done
done
[ $have_torch = 1 ] && echo "PyTorch eager, mobilenet_v2 b1 1c: $(taskset -c 0 $PY tests/bench/peer_torch.py mobilenet_v2 1 1 $SECS | rate) images/s"
# end to end: a JPEG folder to features, hymenoptera (photos of about 500x375)
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
  fi
fi
# end to end on 12-megapixel JPEGs (what phones take): 20 hymenoptera val photos upscaled to
# 4000 pixels wide (Lanczos, quality 92; no 12-MP photo set is at hand), xfer with its DCT-domain
# decode and with --full-decode, PyTorch with PIL's full decode and with its draft mode
V=../shared/datasets/hymenoptera/val; M=$B/peers/12mp
if [ $have_torch = 1 ] && [ -d $V ]; then
  [ -d $M ] || $PY - $V $M <<'PYEOF'
import sys, glob, os
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
for f in sorted(glob.glob(src + "/*/*.jp*g"))[::8][:20]:
    o = os.path.join(dst, os.path.relpath(f, src)); os.makedirs(os.path.dirname(o), exist_ok=True)
    im = Image.open(f).convert("RGB"); s = 4000 / max(im.size)
    im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.LANCZOS).save(o, quality=92)
PYEOF
  n=$(find $M -type f | wc -l)
  echo "== end to end: $n JPEGs of about 4000x3000 (12 MP) -> features, images/s (median of $ROUNDS)"
  for j in 1 2; do
    X=""; F=""; P=""; D=""
    for r in $(seq $ROUNDS); do
      t0=$(date +%s.%N); $B/extract-features --quiet -j $j $M > /dev/null 2>&1; t1=$(date +%s.%N)
      $B/extract-features --quiet -j $j --full-decode $M > /dev/null 2>&1; t2=$(date +%s.%N)
      X="$X $(awk -v n=$n -v a=$t0 -v b=$t1 'BEGIN{printf "%.1f", n/(b-a)}')"
      F="$F $(awk -v n=$n -v a=$t1 -v b=$t2 'BEGIN{printf "%.1f", n/(b-a)}')"
      P="$P $($PY tests/bench/peer_torch_e2e.py $M $j $j 2>/dev/null | rate)"
      D="$D $($PY tests/bench/peer_torch_e2e.py $M $j $j --draft 2>/dev/null | rate)"
    done
    echo "-j $j: xfer $(echo $X | median), xfer --full-decode $(echo $F | median), PyTorch+PIL $(echo $P | median), PyTorch+PIL draft $(echo $D | median)"
  done
fi
# fine-tuning: seconds per epoch, last MobileNetV2 block + 1x1 conv + MLP head, batch 32
H=../shared/datasets/hymenoptera/train
if [ -d $H ] && [ -f weights/mobilenet_v2_imagenet_tf2.gguf ]; then
  echo "== fine-tuning epoch (hymenoptera train, 244 images; last block + 1x1 conv + MLP 256 trainable, batch 32)"
  xs=$($B/finetune $H -o $B/peers/ft.gguf --epochs 3 --patience 0 --hidden 256 --dropout 0.2 --lr 3e-4 \
        --unfreeze-from MobileNetV2/expanded_conv_17/expand/relu6/Relu6 2>&1 | grep -o 'train [0-9.]* s' | awk '{print $2}' | sort -n | head -1)
  echo "xfer: ${xs} s/epoch (training only, 2 cores)"
  [ $have_torch = 1 ] && echo "PyTorch (same trainable part, 2 threads): $($PY tests/bench/peer_torch_ft.py 244 2 3)"
fi
