#!/bin/bash
# fetch-catalog.sh — gets every TFLite entry of weights/catalog.tsv it can and converts it to
# $WEIGHTS_DIR/NAME.gguf (default weights/). Each file comes from $WEIGHTS_MIRROR (a local folder, for air-gapped
# clusters) when set and present there, else by download (curl); every file is checked against
# its sha256 and only renamed into place when it matches. Entries it cannot get are reported,
# not fatal. The npm entries are made by the Makefile (weights/fetch-npm.sh).
# Usage: fetch-catalog.sh BUILD_DIR
set -u
B=${1:-build}; DL=$B/dl; CONVERT=$B/xfer-convert
W=${WEIGHTS_DIR:-weights}
mkdir -p "$DL" "$W"
got=0; missed=0
fetch() { # file url sha256 -> $DL/file
  local f=$1 url=$2 sum=$3 tmp="$DL/$1.part.$$"
  if [ -f "$DL/$f" ] && echo "$sum  $DL/$f" | sha256sum -c --status; then return 0; fi
  if [ -n "${WEIGHTS_MIRROR:-}" ] && [ -f "$WEIGHTS_MIRROR/$f" ]; then
    cp "$WEIGHTS_MIRROR/$f" "$tmp" || { rm -f "$tmp"; return 1; }
  elif command -v curl >/dev/null; then
    curl -fsSL --retry 2 --connect-timeout 15 --max-time 300 -o "$tmp" "$url" 2>/dev/null || { rm -f "$tmp"; echo "  $f: download failed ($url)"; return 1; }
  else
    echo "  $f: not in a mirror and curl is missing"; return 1
  fi
  if ! echo "$sum  $tmp" | sha256sum -c --status; then
    echo "  $f: sha256 mismatch, discarded"; rm -f "$tmp"; return 1
  fi
  mv "$tmp" "$DL/$f"
}
while IFS=$'\t' read -r name file url sum bytes lic fmt input labels lurl lsum notes; do
  case "$name" in '#'*|'') continue;; esac
  [ "$fmt" = tflite ] || continue
  out=$W/$name.gguf
  if [ -f "$out" ] && [ "$out" -nt weights/catalog.tsv ] && [ "$out" -nt "$CONVERT" ]; then got=$((got + 1)); continue; fi
  if ! fetch "$file" "$url" "$sum"; then echo "weights: $name: not available"; missed=$((missed + 1)); continue; fi
  largs=()
  if [ "$labels" != - ]; then
    if fetch "$labels" "$lurl" "$lsum"; then largs=(--labels "$DL/$labels"); else echo "weights: $name: labels not available, converting without"; fi
  fi
  if "$CONVERT" "$DL/$file" -o "$out" --name "$name ($file)" --arch mobilenet --license "$lic" \
       --source "$url" --source-hash "sha256:$sum" --crop-pct 0.875 "${largs[@]}" 2>"$DL/$name.log"; then
    echo "weights: $name -> $out"; got=$((got + 1))
  else
    echo "weights: $name: conversion failed: $(tail -1 "$DL/$name.log")"; missed=$((missed + 1))
  fi
done < weights/catalog.tsv
echo "weights: $got catalogue entries converted, $missed not available"
exit 0
