#!/bin/sh
# run.sh — `make test-corpus`: every file of ../shared/corpora (broken JPEG and PNG files) and
# of the hostile images hostile.py makes, each through its own extract-features process (the
# ASan + UBSan build when there is one), timed and measured. One summary line: files, decoded,
# rejected by reason, crashes, sanitizer reports, the slowest file and the peak RSS; it fails
# on a crash, a report, a file slower than 2 s or a peak over 512 MiB.
# Usage: run.sh BUILD [CORPUS_DIR...]
B=${1:-build}; shift
[ $# -gt 0 ] || set -- ../shared/corpora
T=$B/tests/corpus; rm -rf "$T"; mkdir -p "$T"
EF=$B/extract-features; W=$B/tests/tiny.gguf
[ -x build/asan/extract-features ] && EF=build/asan/extract-features && W=build/asan/tests/tiny.gguf
/usr/bin/python3 tests/corpus/hostile.py "$T/hostile" > /dev/null || exit 1
find "$@" "$T/hostile" -type f ! -name 'README*' | sort > "$T/files"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
while IFS= read -r f; do
  /usr/bin/time -f '%e %M' -o "$T/time" "$EF" -w "$W" -q -j 1 --format csv -o - -- "$f" \
    > "$T/out" 2> "$T/err"
  rc=$?
  secs=$(tail -1 "$T/time" | cut -d' ' -f1); rss=$(tail -1 "$T/time" | cut -d' ' -f2)
  case $rc in 0) kind=decoded;; 3) kind=rejected;; *) kind=crash;; esac
  grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$T/err" && kind=report
  reason=$(grep -v '^extract-features:' "$T/err" | head -1 | awk -v f="$f" '
    { s = index($0, f ": ") == 1 ? substr($0, length(f) + 3) : $0 }
    s ~ /time budget/ { print "over the time budget"; next }
    s ~ /pixel limit|too large|65500|over the/ { print "too large"; next }
    s ~ /not an image|unknown format|not a supported/ { print "not an image"; next }
    s ~ /empty/ { print "empty"; next }
    match(s, /(corrupt|truncated)[a-z ]* (JPEG|PNG|GIF|WebP|TIFF|BMP)/) { x = substr(s, RSTART, RLENGTH); sub(/.* /, "", x); print "corrupt " x; next }
    match(s, /(JPEG|PNG|GIF|WebP|TIFF|BMP)/) { print "corrupt " substr(s, RSTART, RLENGTH); next }
    { print "other: " substr(s, 1, 30) }')
  printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "${secs:-0}" "${rss:-0}" "$f" "$reason"
done < "$T/files" > "$T/results.tsv"
awk -F'\t' '
  { n++; k[$1]++; if ($1 == "rejected") why[$5]++
    if ($2 + 0 > slow) { slow = $2 + 0; slowf = $4 }
    if ($3 + 0 > rss) rss = $3 + 0 }
  END {
    r = ""; m = 0
    for (w in why) if (why[w] > 0) { r = r (r ? ", " : "") why[w] " " w }
    printf "corpus: %d files, %d decoded, %d rejected (%s), crashes %d, sanitizer reports %d, slowest %.2f s (%s), peak RSS %.0f MiB\n",
      n, k["decoded"], k["rejected"], r, k["crash"], k["report"], slow, slowf, rss / 1024
    exit (k["crash"] + k["report"] > 0 || slow >= 2 || rss > 512 * 1024) ? 1 : 0
  }' "$T/results.tsv"
