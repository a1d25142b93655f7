#!/bin/sh
# install.sh — what `make install` put under BUILD/tests/prefix (the test target installs there
# first): the layout, a program built against it with pkg-config alone, libxfer.so exporting
# only the public API, the man pages, the installed tools finding weights in share/xfer/weights.
# It is: a check of the installed tree. It is not: a test of the tools' behaviour.
. "$(dirname "$0")/lib.sh"
P=$B/tests/prefix; T=$B/tests/cli-install; rm -rf "$T"; mkdir -p "$T"; T=$(cd "$T" && pwd)
P=$(cd "$P" && pwd) || { no "make install made $B/tests/prefix"; finish; exit; }
for f in bin/extract-features bin/train-classifier bin/classify bin/finetune bin/xfer-feats \
         bin/xfer-convert bin/xfer-inspect bin/xfer-audit lib/libxfer.so.0 lib/libxfer.a \
         include/xfer.h lib/pkgconfig/xfer.pc share/man/man1/extract-features.1 \
         share/man/man1/xfer-audit.1 share/xfer/catalog.tsv; do
  check "installed $f" "[ -f $P/$f ]"
done
check "libxfer.so -> libxfer.so.0" "[ \"\$(readlink $P/lib/libxfer.so)\" = libxfer.so.0 ]"
check "soname libxfer.so.0" "objdump -p $P/lib/libxfer.so.0 | grep -q 'SONAME *libxfer.so.0'"
nm -D --defined-only "$P/lib/libxfer.so.0" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort > "$T/exported"
grep -oE '^XF_API [^(]*\(' include/xfer.h | grep -oE 'xf_[a-z_]+\($' | tr -d '(' | sort > "$T/declared"
check "the .so exports exactly the XF_API functions of xfer.h ($(wc -l < "$T/declared"))" \
  "[ -s $T/declared ] && cmp -s $T/exported $T/declared"
PC="env PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config"
check "pkg-config knows xfer $($PC --modversion xfer 2>/dev/null)" "$PC --exists xfer"
# built with pkg-config only (plus the build's own compiler flags: a sanitizer build's .so needs
# its runtime)
${XF_TEST_CC:-cc} examples/minimal.c $($PC --cflags --libs xfer) -o "$T/minimal" 2>"$T/cc.err"
check "examples/minimal.c builds with pkg-config --cflags --libs xfer" "[ -x $T/minimal ]"
check "and links libxfer.so.0" "LD_LIBRARY_PATH=$P/lib ldd $T/minimal | grep -q '$P/lib/libxfer.so.0'"
LD_LIBRARY_PATH=$P/lib "$T/minimal" "$TD/tiny.gguf" "$TD/cls/cool/00.png" > "$T/min.out" 2>&1
check "and runs: a feature vector" "grep -q 'features from layer' $T/min.out"
if command -v man >/dev/null; then
  for t in extract-features train-classifier classify xfer-audit; do
    MANWIDTH=100 man -l "$P/share/man/man1/$t.1" > "$T/$t.txt" 2>/dev/null
    "$P/bin/$t" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' > "$T/$t.opts"
    check "man $t shows every option of its --help ($(wc -l < "$T/$t.opts"))" \
      "[ -s $T/$t.opts ] && while read o; do grep -q -- \"\$o\" $T/$t.txt || exit 1; done < $T/$t.opts"
  done
else
  echo "SKIP man pages not rendered: man is not installed"
fi
# the installed tools find their weights in PREFIX/share/xfer/weights (no ./weights here, no cache)
mkdir -p "$T/run/a" "$T/home" && cp "$TD/cls/cool/00.png" "$T/run/a/" && cp "$TD/tiny.gguf" "$P/share/xfer/weights/mobilenet_v2.gguf"
(cd "$T/run" && env -u XFER_WEIGHTS HOME="$T/home" XDG_CACHE_HOME= "$P/bin/extract-features" a -o x.bin > out 2>&1)
check "installed extract-features finds share/xfer/weights" "grep -q 'share/xfer/weights/mobilenet_v2.gguf' $T/run/out && [ -s $T/run/x.bin ]"
mkdir -p "$T/home/.cache/xfer" && cp "$TD/tiny.gguf" "$T/home/.cache/xfer/mobilenet_v2.gguf"
(cd "$T/run" && env -u XFER_WEIGHTS HOME="$T/home" XDG_CACHE_HOME= "$P/bin/extract-features" a -o x.bin > out 2>&1)
check "~/.cache/xfer comes before share/xfer/weights" "grep -q '$T/home/.cache/xfer/mobilenet_v2.gguf' $T/run/out"
rm -f "$P/share/xfer/weights/mobilenet_v2.gguf"
# the installed Python package finds the installed library (not the source tree's)
site=$(ls -d "$P"/lib/python3*/dist-packages 2>/dev/null | head -1); TDA=$(cd "$TD" && pwd)
check "the Python package installed in PREFIX/lib/python3.X/dist-packages" "[ -f $site/xfer/__init__.py ]"
case "${XF_TEST_CC:-}" in *sanitize*) ;; *)
  if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    (cd "$T" && env -u XFER_LIBRARY PYTHONPATH="$site" /usr/bin/python3 -c '
import sys, xfer
m = xfer.Model(sys.argv[1])
assert xfer._lib._name.startswith(sys.argv[2]), xfer._lib._name
print(m.extract([sys.argv[3]]).shape)' "$TDA/tiny.gguf" "$P/lib" "$TDA/cls/cool/00.png") > "$T/py.out" 2>&1
    check "installed Python package: import, extract, on PREFIX/lib/libxfer.so.0 ($(tail -1 $T/py.out))" "grep -q '^(1, ' $T/py.out"
  fi;;
esac
finish
