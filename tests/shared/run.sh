#!/bin/bash
# tests/shared/run.sh — checks that need ../shared (real photos, broken-file corpora); run by
# .ci/run when ../shared exists, never by `make test`. Ends with "N passed, N failed".
B=${1:-build}; S=../shared
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
T=$B/tests/shared; mkdir -p "$T"
# hymenoptera: 398 files, one of them a GIF placeholder -> 398 rows (the GIF decoded), exit 0
$B/extract-features -w weights/mobilenet_v2.gguf --quiet --format npy -o "$T/hym" "$S/datasets/hymenoptera" 2>"$T/hym.err"
rc=$?
rows=$(wc -l < "$T/hym.paths.txt" 2>/dev/null || echo 0)
[ $rc -eq 0 ] && [ "$rows" -eq 398 ] && grep -q 'imageNotFound.gif' "$T/hym.paths.txt" \
  && ok "hymenoptera: 398 rows, the GIF decoded, exit 0" || no "hymenoptera: rc=$rc rows=$rows"
# every corpus file and the generated hostile ones, one process each (ASan build when present):
# no crash, no sanitizer report, each under 2 s, peak RSS under 512 MiB (make test-corpus)
line=$(tests/corpus/run.sh $B "$S/corpora" | tail -1) && ok "$line" || no "$line"
# preprocessing against Pillow on real photos (mean |diff| < 1 grey level)
if /usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null; then
  make -s $B/preprocess_dump >/dev/null
  imgs=$(ls "$S"/datasets/hymenoptera/val/*/*.jpg | head -60; ls "$S"/datasets/clothing_small/test/*/*.jpg | head -40; ls "$S"/weights/images/*)
  out=$(/usr/bin/python3 tests/oracle/check_resize.py $B/preprocess_dump $imgs) && ok "$out" || no "$out"
  out=$(/usr/bin/python3 tests/oracle/check_resize.py --bicubic $B/preprocess_dump $imgs) && ok "$out" || no "$out"
fi
# ImageNet backbones: the expected top-1 on the mirror's photos
for w in mobilenet_v2_imagenet_tf2 mobilenet_v2_imagenet; do
  [ -f weights/$w.gguf ] || { no "$w.gguf missing (WEIGHTS_MIRROR)"; continue; }
  $B/classify -m weights/$w.gguf --quiet --top 1 "$S/weights/images" > "$T/$w.tsv"
  got=$(awk -F'\t' '{n=split($1,p,"/"); printf "%s=%s;", p[n], $2}' "$T/$w.tsv")
  case "$got" in
    *"bird.bmp=chickadee;cat.bmp=Egyptian cat;cat_720p.jpg=Egyptian cat;dragonfly.bmp=dragonfly"*"hot_dog.jpg=hotdog"*) ok "$w top-1: $got";;
    *) no "$w top-1: $got";;
  esac
done
# backward passes against PyTorch autograd (tiny net, same weights and batch)
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  make -s $B/grad_dump >/dev/null && mkdir -p "$T/grad" && $B/grad_dump build/tests/tiny.gguf logits "$T/grad" >/dev/null
  out=$(/usr/bin/python3 tests/oracle/grad_check.py "$T/grad" 2>&1) && ok "$out" || no "$out"
  make -s $B/ntxent_dump >/dev/null && mkdir -p "$T/ntxent" && $B/ntxent_dump "$T/ntxent"
  out=$(/usr/bin/python3 tests/oracle/ntxent_check.py "$T/ntxent" 2>&1) && ok "$out" || no "$out"
else
  echo "SKIP backward vs PyTorch autograd: python3-torch not installed (make deps-bench)"
fi
# TFLite import against an independent numpy interpreter of the dequantized float graph
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  IM=$(ls "$S"/weights/images/*)
  $B/preprocess_dump 224 0.875 "$T/ref_in.npy" $IM
  for pair in mobilenet_v2_imagenet_tf2:tf2_mobilenet_v2_1.0_224_ptq mobilenet_v2_imagenet:mobilenet_v2_1.0_224_quant; do
    w=${pair%%:*}; f=${pair#*:}
    L=$($B/extract-features -w weights/$w.gguf --list-layers | tail -1 | awk '{print $1}')
    $B/extract-features -w weights/$w.gguf --quiet --format npy -o "$T/ref_f" $IM
    $B/extract-features -w weights/$w.gguf --quiet --layer "$L" --format npy -o "$T/ref_p" $IM
    out=$(/usr/bin/python3 tests/oracle/tflite_ref.py "$S/weights/$f.tflite" "$T/ref_f.npy" "$T/ref_p.npy" "$T/ref_in.npy" 2>&1) \
      && ok "$w vs numpy reference: $out" || no "$w vs numpy reference: $out"
  done
fi
# malformed TFLite: truncations and byte flips of a real file, never a crash (ASan build)
# ONNX export on real photos: a 10-class head on clothing_small's MobileNetV2 features, run by
# ONNX Runtime on the val photos, against classify (the bench's npm peer; make deps-ort)
W=weights/mobilenet_v2_imagenet_tf2.gguf
if [ -f "$W" ] && NODE_PATH=$B/peers/node_modules node -e "require('onnxruntime-node')" 2>/dev/null; then
  C="$S/datasets/clothing_small"
  $B/extract-features -w $W --quiet "$C/train" -o "$T/ct.bin" && $B/extract-features -w $W --quiet "$C/val" -o "$T/cv.bin"
  $B/train-classifier "$T/ct.bin" -o "$T/ct.gguf" --quiet -C 0.01 2>/dev/null
  $B/xfer-convert --to-onnx "$T/ct.gguf" -o "$T/ct.onnx" -q
  $B/classify -m "$T/ct.gguf" --top 99 --format json -q "$T/cv.bin" > "$T/ct.jsonl"
  /usr/bin/python3 -c 'import json,sys; [print(j["path"]) for j in map(json.loads, open(sys.argv[1])) if "top" in j]' "$T/ct.jsonl" > "$T/ct.paths"
  make -s $B/preprocess_dump >/dev/null
  $B/preprocess_dump 224 0.875 "$T/ct.npy" $(cat "$T/ct.paths")
  NODE_PATH=$B/peers/node_modules node tests/onnx/run_ort.js "$T/ct.onnx" "$T/ct.npy" > "$T/ct.ort"
  d=$(/usr/bin/python3 tests/onnx/compare_probs.py "$T/ct.jsonl" "$T/ct.ort")
  /usr/bin/python3 -c 'import sys; sys.exit(not float(sys.argv[1]) <= 1e-5)' "$d" \
    && ok "ONNX export, clothing_small 10 classes: ORT = classify within $d on $(wc -l < "$T/ct.paths") val photos" \
    || no "ONNX export, clothing_small: worst $d"
fi
XC=$B/xfer-convert; [ -x build/asan/xfer-convert ] && XC=build/asan/xfer-convert
src="$S/weights/mobilenet_v2_1.0_224_quant.tflite"; size=$(stat -c %s "$src"); crashes=0; cases=0
for i in $(seq 1 60); do
  cut=$(( (size / 61) * i )); head -c $cut "$src" > "$T/cut.tflite"
  $XC "$T/cut.tflite" -o "$T/cut.gguf" >/dev/null 2>"$T/cut.err"; rc=$?
  cases=$((cases + 1)); [ $rc -eq 1 ] || { crashes=$((crashes + 1)); echo "truncated at $cut: exit $rc"; tail -3 "$T/cut.err"; }
done
for i in $(seq 1 60); do
  cp "$src" "$T/flip.tflite"; chmod u+w "$T/flip.tflite"
  for k in 1 2 3 4; do
    off=$(( (i * 7919 * k + k * 104729) % 20000 ))
    printf "\\x$(printf %02x $(( (i * 31 + k * 97) % 256 )))" | dd of="$T/flip.tflite" bs=1 seek=$off conv=notrunc status=none
  done
  $XC "$T/flip.tflite" -o "$T/flip.gguf" >/dev/null 2>"$T/flip.err"; rc=$?
  cases=$((cases + 1)); [ $rc -le 1 ] || { crashes=$((crashes + 1)); echo "byte flips $i: exit $rc"; tail -3 "$T/flip.err"; }
done
[ $crashes -eq 0 ] && ok "malformed TFLite: $cases cases, clean errors, no crash" || no "malformed TFLite: $crashes of $cases crashed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
