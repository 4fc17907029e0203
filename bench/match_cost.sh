#!/usr/bin/env bash
# What the feature matcher costs, against a baseline firstseen measured in
# the same run: archive time per photo, check time per query (one process
# per query, as a user runs it), and bytes stored per item, on the 2-3 MP
# JPEGs of the corpus.
#
# Usage: bench/match_cost.sh [BASELINE_REV] [ROUNDS]
#   BASELINE_REV  a git revision to build as the peer (default faa2b49, the
#                 last commit before local features); built once into
#                 target/baseline-<rev>.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-faa2b49}
rounds=${2:-3}
corpus=${FIRSTSEEN_SHARED:-../shared}/corpus/photos
[ -d "$corpus" ] || { echo "SKIPPED: $corpus not found"; exit 0; }

cargo build --release --quiet
new=$PWD/target/release/firstseen
base_dir=$PWD/target/baseline-$rev
if [ ! -x "$base_dir/bin/firstseen" ]; then
  wt=$(mktemp -d)
  git worktree add --detach -f "$wt" "$rev" >/dev/null
  (cd "$wt" && CARGO_TARGET_DIR="$base_dir/target" cargo build --release --quiet)
  mkdir -p "$base_dir/bin"
  cp "$base_dir/target/release/firstseen" "$base_dir/bin/"
  git worktree remove --force "$wt"
fi
old=$base_dir/bin/firstseen

mid=()
for f in "$corpus"/*.jpg; do
  px=$(python3 - "$f" <<'PY' 2>/dev/null || echo 0
import struct, sys
d = open(sys.argv[1], 'rb').read()
i = 2
while i < len(d):
    if d[i] != 0xFF: break
    m = d[i + 1]
    if m in (0xC0, 0xC1, 0xC2):
        h, w = struct.unpack('>HH', d[i + 5:i + 9]); print(w * h); break
    i += 2 + struct.unpack('>H', d[i + 2:i + 4])[0]
PY
)
  if [ "$px" -ge 1500000 ] && [ "$px" -le 3500000 ]; then mid+=("$f"); fi
done
echo "${#mid[@]} corpus JPEGs of 1.5-3.5 MP; best of $rounds rounds"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

best() { sort -n | head -1; }
for which in old new; do
  bin=${!which}
  # Archive: the mid-size photos into a fresh archive.
  a=$(for r in $(seq "$rounds"); do
        rm -rf "$tmp/a-$which"
        s=$(date +%s.%N); "$bin" --archive "$tmp/a-$which" archive "${mid[@]}" >/dev/null; e=$(date +%s.%N)
        echo "$e - $s" | bc -l
      done | best)
  # Check: each photo, one process each, against the whole corpus.
  rm -rf "$tmp/c-$which"; "$bin" --archive "$tmp/c-$which" archive "$corpus" >/dev/null
  # Wall-clock and CPU (user + system, both cores) seconds of each round.
  rm -f "$tmp/rounds"
  for r in $(seq "$rounds"); do
    TIMEFORMAT='%R %U %S'
    { time (for f in "${mid[@]}"; do "$bin" --archive "$tmp/c-$which" check "$f" >/dev/null; done) ; } 2>>"$tmp/rounds"
  done
  c=$(awk '{print $1}' "$tmp/rounds" | best)
  cpu=$(awk '{print $2 + $3}' "$tmp/rounds" | best)
  n=${#mid[@]}
  printf '%s: archive %.0f ms/photo, check %.0f ms/query (CPU %.0f ms/query)\n' "$which" \
    "$(echo "1000*$a/$n" | bc -l)" "$(echo "1000*$c/$n" | bc -l)" "$(echo "1000*$cpu/$n" | bc -l)"
  eval "arch_$which=$a; chk_$which=$c; cpu_$which=$cpu"
done
printf 'ratio new/old: archive %.2fx, check %.2fx (CPU %.2fx)\n' "$(echo "$arch_new/$arch_old" | bc -l)" \
  "$(echo "$chk_new/$chk_old" | bc -l)" "$(echo "$cpu_new/$cpu_old" | bc -l)"
db=$tmp/c-new/catalog.sqlite
if [ -f "$db" ] && command -v sqlite3 >/dev/null; then
  sqlite3 "$db" "SELECT printf('features stored: %d items, %.0f bytes per item (max %d)', count(*), avg(length(data)), max(length(data))) FROM item_features"
fi
"$new" --archive "$tmp/c-new" export -o "$tmp/m.jsonl" >/dev/null
"$old" --archive "$tmp/c-old" export -o "$tmp/m-old.jsonl" >/dev/null
items=$(($(wc -l < "$tmp/m.jsonl") - 1))
printf 'manifest: %.0f bytes per item (baseline %.0f)\n' \
  "$(echo "$(wc -c < "$tmp/m.jsonl")/$items" | bc -l)" "$(echo "$(wc -c < "$tmp/m-old.jsonl")/$items" | bc -l)"
