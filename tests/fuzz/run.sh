#!/bin/sh
# run.sh — `make fuzz`'s runner: each libFuzzer target for SECONDS over its corpus (seeded from
# tests/data/regress/TARGET), as many at once as there are cores (each one process on one core,
# so each still gets SECONDS of a core), then one line per target — executions, executions per
# second, corpus size, findings — and a total. A finding (a crash, a sanitizer report, a leak, a
# timeout) is kept as FUZZ/crash_TARGET-* and fails the run: copy it to
# tests/data/regress/TARGET/ with the fix. Usage: run.sh FUZZ_DIR SECONDS TARGET...
F=$1; S=$2; shift 2
J=${FUZZ_JOBS:-$(nproc)}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
total=0; bad=0; running=0
for t in "$@"; do
  rm -f "$F"/crash_$t-* "$F/fuzz_$t.rc"
  { "$F/fuzz_$t" -max_total_time="$S" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="$F/crash_$t-" "$F/corpus_$t" > "$F/fuzz_$t.log" 2>&1
    echo $? > "$F/fuzz_$t.rc"; } &
  running=$((running + 1))
  [ $running -lt "$J" ] || { wait; running=0; }
done
wait
printf '%-10s %12s %9s %8s %s\n' target executions exec/s corpus findings
for t in "$@"; do
  rc=$(cat "$F/fuzz_$t.rc" 2>/dev/null || echo '?')
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$F/fuzz_$t.log" | tail -1)
  runs=$(echo "$done_line" | sed -n 's/^#\([0-9]*\).*/\1/p')
  eps=$(echo "$done_line" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
  corp=$(echo "$done_line" | sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p')
  found=$(ls "$F"/crash_$t-* 2>/dev/null | wc -l)
  [ "$rc" = 0 ] && [ "$found" -eq 0 ] || bad=$((bad + 1))
  printf '%-10s %12s %9s %8s %s\n' "$t" "${runs:-?}" "${eps:-?}" "${corp:-?}" \
    "$([ "$found" -eq 0 ] && [ "$rc" = 0 ] && echo 0 || echo "$found (exit $rc: $F/fuzz_$t.log)")"
  total=$((total + ${runs:-0}))
done
echo "fuzz: $total executions over $# targets, $bad with findings"
[ $bad -eq 0 ]
