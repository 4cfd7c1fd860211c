#!/bin/sh
# Issue 17's two speed figures (make bench-heads): the MADE head's share of the training time at
# H 512, D 28, M 256 (bound: at most 25%), and libseqgen against PyTorch on that model. Runs,
# alternately RUNS times (default 5), build/bench/bench --head independent, bench --head made-ar
# and bench/pytorch_gru.py --head made-ar in each torch x OpenBLAS thread split of PT_SPLITS
# (default "1x1 2x1 1x2"; 2 x 2 oversubscribes two cores, see bench/README.md), all with
# --train-only (training images/s: teacher forcing, MSE, Adam; no completion, step or sgemm), so
# that other work on a shared machine falls on every side alike. Then prints the medians, the
# head's share 1 - ips(made-ar) / ips(independent) (libseqgen on N threads, on 1 thread, and per
# CPU-second on 1 thread) and the speed ratio libseqgen made-ar (N threads) / PyTorch made-ar
# (its best split by median).
# Usage: sh bench/heads.sh [RUNS] [options for both programs, e.g. --reps 5 --batch 64]
#   (not --threads: bench uses all cores and 1, PyTorch the splits; --hidden H and
#   --pixels-per-step D replace 512 and 28, for a quick try)
# Environment: BENCH_BIN (build/bench/bench), TORCH_PYTHON (/usr/bin/python3), HEAD_HIDDEN (256),
# PT_SPLITS, HEADS_LOG (a file to keep every run's JSON line in; default a temporary one).
set -eu
runs=${1:-5}
[ $# -gt 0 ] && shift
bin=${BENCH_BIN:-build/bench/bench}
python=${TORCH_PYTHON:-/usr/bin/python3}
m=${HEAD_HIDDEN:-256}
log=${HEADS_LOG:-$(mktemp)}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
: > "$log"
# Runs a program (after its label), shows its output and keeps "label JSON" in the log.
record() {
    label=$1
    shift
    echo "## $label (load $(cut -d' ' -f1 /proc/loadavg))"
    "$@" > "$out"
    cat "$out"
    printf '%s ' "$label" >> "$log"
    tail -n 1 "$out" >> "$log"
}
model="--hidden 512 --pixels-per-step 28 --train-only"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/'), M $m, options: $*"
i=1
while [ "$i" -le "$runs" ]; do
    # shellcheck disable=SC2086 # $model is a list of options
    record independent "$bin" $model --head independent "$@"
    # shellcheck disable=SC2086
    record made-ar "$bin" $model --head made-ar --head-hidden "$m" "$@"
    for split in ${PT_SPLITS:-1x1 2x1 1x2}; do
        # shellcheck disable=SC2086
        record "pytorch-$split" "$python" bench/pytorch_gru.py $model --head made-ar \
            --head-hidden "$m" --threads "${split%x*}" --blas-threads "${split#*x}" "$@"
    done
    i=$((i + 1))
done
"$python" - "$log" "$m" <<'PY'
import json, statistics, sys
runs, m = {}, int(sys.argv[2])
for line in open(sys.argv[1]):
    label, record = line.split(" ", 1)
    r = json.loads(record)
    want = ("independent", 0) if label == "independent" else ("made-ar", m)
    if (r.get("head"), r.get("head_hidden")) != want:
        sys.exit(f"heads.sh: run {label} measured head {r.get('head')} M {r.get('head_hidden')}, "
                 f"not {want[0]} M {want[1]}")
    runs.setdefault(label, []).append(r)
    size = (r["hidden"], r.get("pixels_per_step", r.get("units_per_step")))

def med(label, key):
    values = [r[key] for r in runs.get(label, []) if r.get(key) is not None]
    return statistics.median(values) if values else None

def fmt(x, spec=".1f"):
    return "n/a" if x is None else format(x, spec)

n = len(runs["independent"])
print(f"\nTraining images/s, H {size[0]}, D {size[1]}, M {m}: medians of {n} runs each")
keys = [("train_images_per_s", "N threads"), ("train_images_per_s_1thread", "1 thread"),
        ("train_images_per_cpu_s_1thread", "1 thread, per CPU-s")]
print(f"  {'libseqgen':30} {'independent':>12} {'made-ar':>12} {'head share':>11}")
for key, what in keys:
    ind, made = med("independent", key), med("made-ar", key)
    share = None if ind is None or made is None else 1 - made / ind
    print(f"  {what:30} {fmt(ind):>12} {fmt(made):>12} {fmt(share and 100 * share):>10}%"
          + ("" if share is None else f"   bound 25%: {'met' if share <= 0.25 else 'NOT met'}"))
splits = sorted(k for k in runs if k.startswith("pytorch-"))
for s in splits:
    print(f"  PyTorch made-ar {s[8:]:14} {'':>12} {fmt(med(s, 'train_images_per_s')):>12}")
best = max(splits, key=lambda s: med(s, "train_images_per_s") or 0, default=None)
lib, pt = med("made-ar", "train_images_per_s"), best and med(best, "train_images_per_s")
if lib and pt:
    print(f"libseqgen / PyTorch, made-ar: {lib:.1f} / {pt:.1f} (PyTorch's best split "
          f"{best[8:]}) = {lib / pt:.2f}")
else:
    print("libseqgen / PyTorch, made-ar: n/a (a side measured nothing)")
PY
