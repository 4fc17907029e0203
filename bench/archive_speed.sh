#!/usr/bin/env bash
# Measures archive and check throughput (files per second, release build)
# on samples/photos and, when present, ../shared/corpus/photos.
# Usage: bench/archive_speed.sh [ROUNDS]   (default 3; the best round counts)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cargo build --release --quiet
bin=target/release/firstseen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # label dir
  local label=$1 dir=$2 n best_a=999999 best_c=999999 t0 t1 ms
  n=$(find "$dir" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) | wc -l)
  for _ in $(seq "$rounds"); do
    rm -rf "$tmp/a"
    t0=$(date +%s%N); "$bin" --archive "$tmp/a" archive "$dir" >/dev/null 2>&1; t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 )); (( ms < best_a )) && best_a=$ms
    t0=$(date +%s%N); "$bin" --archive "$tmp/a" check "$dir" >/dev/null 2>&1 || true; t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 )); (( ms < best_c )) && best_c=$ms
  done
  local mb
  mb=$(du -sm "$dir" | cut -f1)
  awk -v l="$label" -v n="$n" -v a="$best_a" -v c="$best_c" -v mb="$mb" -v cores="$(nproc)" 'BEGIN {
    printf "%-28s %3d files %4d MB  archive %6.0f ms = %6.1f files/s   check %6.0f ms = %6.1f files/s  (%d cores)\n",
      l, n, mb, a, n * 1000 / a, c, n * 1000 / c, cores }'
}

measure "samples/photos" samples/photos
if [ -d ../shared/corpus/photos ]; then
  measure "shared/corpus/photos" ../shared/corpus/photos
else
  echo "SKIPPED: ../shared/corpus/photos not found"
fi
