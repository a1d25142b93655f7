#!/bin/sh
# demo.sh — the main job end to end on the default weights: a few thousand Fashion-MNIST images
# (Debian's dataset-fashion-mnist) as class folders, then the three commands users run:
# extract-features -> train-classifier -> classify, printing accuracy. Run by `make demo`.
set -eu
B=${1:-build}
D=$B/demo; FM=/usr/share/datasets/fashion-mnist
mkdir -p "$D"
if [ ! -f weights/mobilenet_v2_imagenet_tf2.gguf ] && [ -z "${XFER_WEIGHTS:-}" ]; then
  echo "demo: NOTE: no ImageNet weights (see $B/weights.log): running on the npm MobileNetV2; for the ImageNet backbone: make weights WEIGHTS_MIRROR=DIR (the catalogue's .tflite files)"
fi
if [ ! -d "$D/train" ]; then
  $B/examples/mnist_to_png $FM/train-images-idx3-ubyte.gz $FM/train-labels-idx1-ubyte.gz "$D/train" 200
  $B/examples/mnist_to_png $FM/t10k-images-idx3-ubyte.gz $FM/t10k-labels-idx1-ubyte.gz "$D/test" 50
fi
echo "== extract-features $D/train > $D/train.bin   (2000 images, 10 classes)"
$B/extract-features "$D/train" > "$D/train.bin"
echo "== train-classifier $D/train.bin -o $D/clf.gguf"
$B/train-classifier "$D/train.bin" -o "$D/clf.gguf"
echo "== classify -m $D/clf.gguf $D/test/   (500 images; predictions in $D/predictions.tsv)"
$B/classify -m "$D/clf.gguf" --confusion-svg "$D/confusion.svg" --confusion-png "$D/confusion.png" "$D/test" > "$D/predictions.tsv"
echo "== first predictions:"; head -3 "$D/predictions.tsv"
