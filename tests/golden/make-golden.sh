#!/bin/sh
# make-golden.sh — `make golden`: regenerates tests/golden/golden.json by running the original
# TF.js models (npm nsfwjs, unpacked by `make weights` into BUILD/npm) with @tensorflow/tfjs
# (installed from npm into BUILD/peers). It is: the only way the goldens change. It is not: a
# test (test_golden.c compares the C engine with the file it writes).
set -eu
B=${1:-build}
[ -f "$B/npm/mobilenet_v2/model.json" ] || weights/fetch-npm.sh "$B/npm"
mkdir -p "$B/peers"
if [ ! -d "$B/peers/node_modules/@tensorflow/tfjs" ]; then
  (cd "$B/peers" && { [ -f package.json ] || npm init -y >/dev/null 2>&1; } &&
   npm install --silent --no-audit --no-fund @tensorflow/tfjs >/dev/null 2>&1)
fi
NODE_PATH="$B/peers/node_modules" node tests/golden/golden.js "$B/npm" tests/golden/golden.json.new
mv tests/golden/golden.json.new tests/golden/golden.json
echo "golden: wrote tests/golden/golden.json (compare with git diff; make test checks the engine against it)"
