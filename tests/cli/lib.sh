# lib.sh — the prelude every CLI test script sources: the build folder ($1), its fixtures'
# folder ($TD: $XF_TEST_DIR, written by the unit tests), and the check counters. It is: shared
# shell. It is not: a test.
B=${1:-build}
TD=${XF_TEST_DIR:-$B/tests}
pass=0; fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { if eval "$2"; then ok; else no "$1"; fi; }
finish() { echo "$pass passed, $fail failed"; [ $fail -eq 0 ]; }
