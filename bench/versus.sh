#!/bin/sh
# Old and new library side by side (make bench-versus REV=...): builds bench/bench.c at git
# revision REV in a temporary worktree and from this tree, then runs the two benchmarks
# alternately, RUNS times each, and prints the median of each figure and the ratio new / old.
# Alternating spreads the load of a shared machine evenly over both. Usage:
#   sh bench/versus.sh REV [RUNS] [bench options...]
set -eu
rev=$1
runs=${2:-3}
shift; [ $# -gt 0 ] && shift
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/old" 2>/dev/null || true; rm -rf "$tmp"' EXIT
git worktree add -q --detach "$tmp/old" "$rev"
make -C "$tmp/old" -s build/bench/bench > /dev/null
make -s build/bench/bench > /dev/null
i=1
while [ "$i" -le "$runs" ]; do
    "$tmp/old/build/bench/bench" "$@" | tail -n 1 >> "$tmp/old.json"
    ./build/bench/bench "$@" | tail -n 1 >> "$tmp/new.json"
    i=$((i + 1))
done
python3 - "$tmp/old.json" "$tmp/new.json" "$rev" <<'PY'
import json, statistics, sys
old = [json.loads(l) for l in open(sys.argv[1])]
new = [json.loads(l) for l in open(sys.argv[2])]
keys = ["train_images_per_s", "train_images_per_s_1thread", "complete_per_s",
        "complete_per_s_1thread", "step_us"]
print(f"{'figure':32} {'old ' + sys.argv[3][:10]:>16} {'new':>12} {'new/old':>8}   ({len(old)} runs each, medians)")
for k in keys:
    o = [r[k] for r in old if r.get(k) is not None]
    n = [r[k] for r in new if r.get(k) is not None]
    if not o or not n:  # step_us with an autoregressive head: not measured
        print(f"{k:32} {'-':>16} {'-':>12} {'-':>8}")
        continue
    o, n = statistics.median(o), statistics.median(n)
    print(f"{k:32} {o:16.2f} {n:12.2f} {n / o:8.3f}")
PY
