#!/bin/sh
# fetch-npm.sh — fetches nsfwjs@4.4.0 from the npm registry, checks it against the registry's
# sha512 integrity, and unwraps its models into build/npm/{mobilenet_v2,inception_v3}/.
# It is: download + verification + unwrap. It is not: conversion (xfer-convert does that).
set -eu
PKG=nsfwjs@4.4.0
INTEGRITY='sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA=='
OUT=${1:-build/npm}
command -v npm >/dev/null || { echo "fetch-npm: npm not found (make deps)" >&2; exit 1; }
mkdir -p "$OUT"
if [ ! -f "$OUT/nsfwjs-4.4.0.tgz" ]; then
  (cd "$OUT" && npm pack --silent "$PKG" >/dev/null 2>"npm-pack.log") || {
    echo "fetch-npm: npm pack $PKG failed (registry unreachable?): $(tail -1 "$OUT/npm-pack.log")" >&2; exit 1; }
fi
got=$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$OUT/nsfwjs-4.4.0.tgz")
if [ "$got" != "$INTEGRITY" ]; then
  echo "fetch-npm: $OUT/nsfwjs-4.4.0.tgz: integrity mismatch (got $got)" >&2
  rm -f "$OUT/nsfwjs-4.4.0.tgz"; exit 1
fi
rm -rf "$OUT/package" && tar -xzf "$OUT/nsfwjs-4.4.0.tgz" -C "$OUT"
node "$(dirname "$0")/unwrap-nsfwjs.js" "$OUT/package" "$OUT"
