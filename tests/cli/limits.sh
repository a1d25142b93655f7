#!/bin/sh
# limits.sh — memory tied to what is present or to the budget (reliability audit D8): a
# feature file declaring a huge dimension reads in little memory; a model whose one image needs
# more than --max-memory is refused before any image, with the figures; a budget that holds one
# worker but not two runs with one; a bad --max-memory is a usage error. It is: a check of the
# bounds. It is not: a test of the readers (the fuzz replays are).
. "$(dirname "$0")/lib.sh"
T=$B/tests/cli-limits; rm -rf "$T"; mkdir -p "$T"
EF=$B/extract-features
# a 49-byte feature file declaring dim 4,194,304 (the reader used to reserve 16 GiB up front)
printf 'XFEATS\r\n\001\000\000\000\000\000\100\000\035\000\000\000{"weights":"x","dim":4194304}' > "$T/wide.bin"
case "${XF_TEST_CC:-}" in
  *sanitize*) # ASan reserves terabytes of address space: ulimit -v cannot apply (fuzz_feats does)
    echo "SKIP the address-space limit under a sanitizer build";;
  *) (ulimit -v 1000000; $B/xfer-feats info "$T/wide.bin" > "$T/wide.out" 2>&1)
     check "a feature file declaring dim 4194304: read within 1 GB of address space" "[ \$? -eq 0 ] && grep -q '0 records' $T/wide.out";;
esac
$B/xfer-convert tests/onnx/models/stem.onnx --size 1024 --preset torchvision -q -o "$T/big.gguf"
$EF -w "$T/big.gguf" --max-memory 20M $TD/cls -o "$T/a.bin" 2>"$T/a.err"
check "one image over --max-memory 20M: exit 1 before any image, the figures said ($(head -c 120 $T/a.err))" \
  "[ \$? -eq 1 ] && grep -q 'memory budget of 20.0 MiB' $T/a.err && [ ! -e $T/a.bin ]"
$EF -w "$T/big.gguf" --max-memory 60M -j 2 --batch 4 $TD/cls -o "$T/b.bin" 2>"$T/b.err"
check "a budget for one worker of batch 1: it runs so, and says so ($(grep -o 'batch [0-9]* and [0-9]* worker[s]*' $T/b.err))" \
  "[ \$? -eq 0 ] && grep -q 'batch 1 and 1 worker (not 4 and 2)' $T/b.err"
$EF -w "$T/big.gguf" -j 2 $TD/cls -o "$T/c.bin" 2>/dev/null
check "... the same features as without a budget" "cmp -s $T/b.bin $T/c.bin"
$EF -w "$T/big.gguf" --max-memory lots $TD/cls -o "$T/d.bin" 2>"$T/d.err"
check "--max-memory lots: usage error" "[ \$? -eq 2 ] && grep -q 'max-memory' $T/d.err"
XFER_MAX_MEMORY=20M $EF -w "$T/big.gguf" $TD/cls -o "$T/e.bin" 2>"$T/e.err"
check "XFER_MAX_MEMORY sets the same budget" "[ \$? -eq 1 ] && grep -q 'memory budget of 20.0 MiB' $T/e.err"
finish
