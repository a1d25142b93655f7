#!/bin/bash
# tests/shared/run.sh — checks that need ../shared (real photos, broken-file corpora); run by
# .ci/run when ../shared exists, never by `make test`. Ends with "N passed, N failed".
B=${1:-build}; S=../shared
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
T=$B/tests/shared; mkdir -p "$T"
# hymenoptera: 398 files, one GIF placeholder -> 397 rows, one failed record naming it, exit 3
$B/extract-features -w weights/mobilenet_v2.gguf --quiet --format npy -o "$T/hym" "$S/datasets/hymenoptera" 2>"$T/hym.err"
rc=$?
rows=$(wc -l < "$T/hym.paths.txt" 2>/dev/null || echo 0)
[ $rc -eq 3 ] && [ "$rows" -eq 397 ] && grep -q 'imageNotFound.gif' "$T/hym.failed.tsv" \
  && ok "hymenoptera: 397 rows, GIF recorded, exit 3" || no "hymenoptera: rc=$rc rows=$rows"
# every corpus file: a clean status, never a crash (ASan build when present)
EF=$B/extract-features; [ -x build/asan/extract-features ] && EF=build/asan/extract-features
for c in jpeg png; do
  $EF -w build/tests/tiny.gguf --quiet -j 2 "$S/corpora/$c" > "$T/$c.bin" 2>"$T/$c.err"
  rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 3 ]; then ok "corpus $c: exit $rc, $(grep -c . "$T/$c.err") failures reported"; else no "corpus $c: exit $rc"; tail -5 "$T/$c.err"; fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
