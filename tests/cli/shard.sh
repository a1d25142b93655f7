#!/bin/sh
# shard.sh — extraction split into shards (--shard I/N and auto/N from SLURM_ARRAY_TASK_ID),
# --skip-existing reruns, xfer-feats merge (byte-identical to one run; missing, duplicated or
# mismatched parts refused), xfer-feats convert/info. Uses the files resume.sh made.
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-shard; rm -rf "$T"; mkdir -p "$T"
W=$TD/tiny.gguf; EF=$B/extract-features; XF=$B/xfer-feats; MANY=$B/tests/cli-resume/many
FULL=$B/tests/cli-resume/full.bin
for i in 0 1 2; do $EF -w $W --quiet --shard $i/3 -o "$T/p$i.bin" $MANY; done
SLURM_ARRAY_TASK_ID=3 $EF -w $W --quiet --shard auto/4 -o "$T/auto3.bin" $MANY
check "auto/N reads SLURM_ARRAY_TASK_ID" "$XF info $T/auto3.bin | grep -q '\"index\":3,\"count\":4,\"first\":300'"
$XF merge "$T/p2.bin" "$T/p0.bin" "$T/p1.bin" -o "$T/merged.bin"
check "merge in any order = single run, byte for byte" "cmp -s $T/merged.bin $FULL"
if command -v strace > /dev/null; then # D4 for merge: killed at its commit (fsync held), rerun
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o /dev/null -e trace=fsync \
    -e inject=fsync:delay_enter=3000000 $XF merge "$T/p0.bin" "$T/p1.bin" "$T/p2.bin" -o "$T/km.bin" 2>/dev/null & sp=$!
  n=0; while [ $n -lt 100 ] && [ ! -e "$T/km.bin.partial" ]; do sleep 0.05; n=$((n + 1)); done
  pkill -KILL -P $sp 2>/dev/null; wait $sp 2>/dev/null 2>&1
  had=$([ -e "$T/km.bin.partial" ] && echo 1 || echo 0)
  $XF merge "$T/p0.bin" "$T/p1.bin" "$T/p2.bin" -o "$T/km.bin"
  check "merge killed by SIGKILL at its commit ($had partial), then run again: byte-identical, nothing left" \
    "[ \$? -eq 0 ] && [ $had -eq 1 ] && cmp -s $T/km.bin $FULL && [ ! -e $T/km.bin.partial ]"
  # merge killed by SIGKILL at each of its first 20 writes, then merge --resume: every file of
  # the set what an uninterrupted merge writes, for each format, nothing left
  for fmt in bin npy csv svm; do
    d="$T/mk.$fmt"; rm -rf "$d"; mkdir -p "$d"; same=0; mid=0
    $XF merge "$T/p0.bin" "$T/p1.bin" "$T/p2.bin" -o "$d/ref.$fmt"
    for i in $(seq 1 20); do
      rm -f "$d"/k.*
      (ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o /dev/null -e trace=write \
        -e inject=write:signal=KILL:when=$i $XF merge "$T/p0.bin" "$T/p1.bin" "$T/p2.bin" -o "$d/k.$fmt" 2>/dev/null) 2>/dev/null
      [ -e "$d/k.$fmt" ] || mid=$((mid + 1))
      $XF merge --resume "$T/p0.bin" "$T/p1.bin" "$T/p2.bin" -o "$d/k.$fmt" 2>/dev/null
      ok=1; for f in "$d"/ref.*; do cmp -s "$f" "$d/k${f#$d/ref}" || ok=0; done
      ls "$d" | grep -q partial && ok=0
      same=$((same + ok))
    done
    echo "merge to $fmt: SIGKILL at each of its first 20 writes ($mid before the end), --resume byte-identical $same/20"
    check "merge to $fmt: killed at each of its first 20 writes ($mid before the end), --resume byte-identical $same/20" "[ $same -eq 20 ] && [ $mid -ge 5 ]"
  done
fi
(ulimit -f 2; $XF merge "$T/p2.bin" "$T/p0.bin" "$T/p1.bin" -o "$T/full.bin" 2>"$T/fz.err"); rc=$?
check "merge past ulimit -f (a full disk): exit 5, no partial left taking the space (D15)" "[ $rc -eq 5 ] && [ ! -e $T/full.bin.partial ] && [ ! -e $T/full.bin ]"
$XF merge "$T/p0.bin" "$T/p1.bin" -o "$T/x.bin" 2>"$T/err"; check "missing shard refused" "[ $? -eq 1 ] && [ ! -e $T/x.bin ]"
$XF merge "$T/p0.bin" "$T/p1.bin" "$T/p1.bin" -o "$T/x.bin" 2>"$T/err"; check "duplicate shard refused" "[ $? -eq 1 ] && grep -q twice $T/err"
$EF -w $W --quiet --pool max --shard 2/3 -o "$T/max2.bin" $MANY
$XF merge "$T/p0.bin" "$T/p1.bin" "$T/max2.bin" -o "$T/x.bin" 2>"$T/err"; check "mixed provenance refused" "[ $? -eq 1 ] && grep -q 'other weights' $T/err"
$XF merge $FULL -o "$T/x.bin" 2>"$T/err"; check "non-shard refused" "[ $? -eq 1 ] && grep -q 'not a shard' $T/err"
head -c 1500 "$T/p1.bin" > "$T/cut.bin"
$XF merge "$T/p0.bin" "$T/cut.bin" "$T/p2.bin" -o "$T/x.bin" 2>"$T/err"; check "truncated part refused" "[ $? -eq 1 ]"
touch -d '2000-01-01' "$T/p0.bin"; $EF -w $W --quiet --skip-existing --shard 0/3 -o "$T/p0.bin" $MANY
check "--skip-existing leaves a finished part alone" "[ $? -eq 0 ] && [ \$(stat -c %Y $T/p0.bin) -lt 1000000000 ]"
cp "$T/p0.bin" "$T/p0.good"; head -c 300 "$T/p0.good" > "$T/p0.bin"
$EF -w $W --quiet --skip-existing --shard 0/3 -o "$T/p0.bin" $MANY 2>"$T/skip.err"
check "--skip-existing makes a cut-off part again (D3)" "[ $? -eq 0 ] && grep -q 'not complete' $T/skip.err && cmp -s $T/p0.bin $T/p0.good"
$EF -w $W --quiet --format npy -o "$T/s.npy" $MANY; head -c 200 "$T/s.npy" > "$T/s.cut"; cp "$T/s.npy" "$T/s.good"; mv "$T/s.cut" "$T/s.npy"
$EF -w $W --quiet --skip-existing --format npy -o "$T/s.npy" $MANY 2>"$T/skip2.err"
check "... and a cut-off npy" "[ $? -eq 0 ] && grep -q 'not a complete npy' $T/skip2.err && cmp -s $T/s.npy $T/s.good"
touch -d '2000-01-01' "$T/s.npy"; $EF -w $W --skip-existing --format npy -o "$T/s.npy" $MANY 2>"$T/skip3.err"
check "... while a complete npy set is left alone" "[ $? -eq 0 ] && grep -q 'exists, skipped' $T/skip3.err && [ \$(stat -c %Y $T/s.npy) -lt 1000000000 ]"
for f in csv svm; do # the text formats: a cut-off file (or a libsvm file short of paths) again
  $EF -w $W --quiet -o "$T/s.$f" $MANY; cp "$T/s.$f" "$T/s.$f.good"
  head -c 300 "$T/s.$f.good" > "$T/s.$f"
  $EF -w $W --quiet --skip-existing -o "$T/s.$f" $MANY 2>"$T/skip4.err"
  check "... and a cut-off $f" "[ \$? -eq 0 ] && grep -q 'not a complete' $T/skip4.err && cmp -s $T/s.$f $T/s.$f.good"
  touch -d '2000-01-01' "$T/s.$f"; $EF -w $W --skip-existing -o "$T/s.$f" $MANY 2>"$T/skip4.err"
  check "... while a complete $f is left alone" "[ \$? -eq 0 ] && grep -q 'exists, skipped' $T/skip4.err && [ \$(stat -c %Y $T/s.$f) -lt 1000000000 ]"
done
head -n 5 "$T/s.svm.paths.txt" > "$T/p5"; mv "$T/p5" "$T/s.svm.paths.txt"
$EF -w $W --quiet --skip-existing -o "$T/s.svm" $MANY 2>"$T/skip4.err"
check "... and a libsvm file whose paths.txt is short" "[ \$? -eq 0 ] && grep -q '5 lines for 400 rows' $T/skip4.err && [ \$(wc -l < $T/s.svm.paths.txt) -eq 400 ]"
$XF merge "$T/p0.bin" "$T/p1.bin" "$T/p2.bin" -o "$T/m" --format npy
check "merge to npy" "[ \$(stat -c %s $T/m.npy) -eq \$((128 + 400 * 6 * 4)) ] && [ \$(wc -l < $T/m.paths.txt) -eq 400 ]"
$XF convert $FULL -o "$T/c.csv" --format csv; check "convert to csv" "[ \$(wc -l < $T/c.csv) -eq 401 ]"
$XF convert $FULL -o "$T/c.npy" --format npy; check "convert to npy = merge to npy" "cmp -s $T/c.npy $T/m.npy"
$XF info $FULL > "$T/info"; check "info counts" "grep -q '400 records (400 ok, 0 failed), dim 6' $T/info"
$EF -w $W --quiet --shard 3/3 -o "$T/x.bin" $MANY 2>/dev/null; check "bad shard index exits 2" "[ $? -eq 2 ]"
$EF -w $W --quiet --shard auto/3 -o "$T/x.bin" $MANY 2>/dev/null; check "auto without task id exits 2" "[ $? -eq 2 ]"
$EF -w $W --quiet --max-failures 1 $TD/img > /dev/null 2>&1; check "--max-failures stop exits 4" "[ $? -eq 4 ]"
finish
