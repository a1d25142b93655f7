#!/bin/sh
# run.sh — runs every test program in BUILD/tests, the fuzz targets replayed over their seeds
# and regression files, and the CLI tests; sums their "N passed, N failed[, N skipped]" lines
# and ends with the total in that form.
# It is: the runner behind `make test` (which sets XF_TEST_DIR to BUILD/tests). It is not: a
# test itself.
BUILD=${1:-build}
export XF_TEST_DIR=${XF_TEST_DIR:-$BUILD/tests}
TD=$XF_TEST_DIR
mkdir -p "$TD"
pass=0; fail=0; skip=0
tally() { # name, output file, exit code
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -1)
  p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
  s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
  [ -n "$line" ] || { p=0; f=1; echo "  (no summary line)"; }
  [ "$3" -ne 0 ] && [ "$f" -eq 0 ] && { f=1; echo "  (exit code $3)"; }
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
  printf '%-28s %s\n' "$1" "${line:-no summary}"
}
for t in "$BUILD"/tests/test_*; do
  case "$t" in *.log) continue;; esac
  [ -x "$t" ] || continue
  out="$BUILD/tests/$(basename "$t").log"
  "$t" > "$out" 2>&1; rc=$?
  grep -E '^(FAIL|SKIP)' "$out" | head -20
  tally "$(basename "$t")" "$out" $rc
done
# every fuzz target replayed over its seeds (the files the unit tests wrote, the committed
# models) and tests/data/regress/TARGET: a crash or a sanitizer report fails
for r in "$BUILD"/tests/replay_*; do
  case "$r" in *.log) continue;; esac
  t=${r##*/replay_}
  case $t in
    wfile) args="$TD/tiny.gguf $TD/tiny_backbone.gguf $TD/broken.gguf";;
    image) args="$TD/img $TD/cls";;
    tflite|onnx) args="tests/onnx/models $TD/tiny.gguf";;
    *) args="";;
  esac
  out="$BUILD/tests/replay_$t.log"
  "$r" $args tests/data/regress/$t > "$out" 2>&1; rc=$?
  tally "replay_$t" "$out" $rc
done
for t in tests/cli/*.sh; do
  case "$t" in */lib.sh) continue;; esac
  out="$BUILD/tests/$(basename "$t").log"
  sh "$t" "$BUILD" > "$out" 2>&1; rc=$?
  grep -E '^(FAIL|SKIP)' "$out" | head -20
  tally "$(basename "$t")" "$out" $rc
done
if [ $skip -gt 0 ]; then echo "$pass passed, $fail failed, $skip skipped"; else echo "$pass passed, $fail failed"; fi
[ $fail -eq 0 ]
