# lib.sh — the prelude every CLI test script sources: the build folder ($1), its fixtures'
# folder ($TD: $XF_TEST_DIR, written by the unit tests), and the check counters. It is: shared
# shell. It is not: a test.
B=${1:-build}
TD=${XF_TEST_DIR:-$B/tests}
pass=0; fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { if eval "$2"; then ok; else no "$1"; fi; }
# render_page FILE.html: headless Chromium (when installed) renders it: a screenshot that is
# not blank, no console error
render_page() {
  if ! command -v chromium > /dev/null; then
    echo "skip: chromium not installed: $1 is not rendered"; return
  fi
  timeout 60 chromium --headless --no-sandbox --disable-gpu --screenshot="$1.png" \
    --window-size=1000,800 --enable-logging=stderr --v=0 "file://$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" \
    > /dev/null 2>"$1.chrome.err"
  check "Chromium renders $(basename "$1") (a screenshot that is not blank)" "[ -s $1.png ] && [ \$(stat -c %s $1.png) -gt 20000 ]"
  check "... no console errors" "! grep -i 'CONSOLE.*error\|Uncaught' $1.chrome.err"
}
finish() { echo "$pass passed, $fail failed"; [ $fail -eq 0 ]; }
