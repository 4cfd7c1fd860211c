#!/bin/sh
# Training throughput of 1 rank x 2 threads, 2 ranks x 1 thread and 1 rank x 1 thread, side by
# side in one run (docs/distributed.md): each configuration trains the same epoch, RUNS times,
# in turn (so a shared machine's load falls on all of them alike), and the median of each one's
# sequences per second (results.csv, the epoch's training alone) is printed.
# Usage: sh bench/distributed.sh [RUNS [seqgen-train options...]]   (after make check-mpi)
# Default options: the demo's model (H 128, one pixel per step, batch 64) on 1280 digits.
set -eu
runs=${1:-3}
[ $# -gt 0 ] && shift
options=${*:-"--hidden 128 --units-per-step 1 --train-limit 1280"}
bin=build/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"
mpi() { mpirun --allow-run-as-root --oversubscribe -np "$@"; }
i=1
while [ "$i" -le "$runs" ]; do
    for config in 1x2 2x1 1x1; do
        ranks=${config%x*} threads=${config#*x}
        name="$config-$i"
        set -- $options --epochs 1 --test-limit 8 --quiet --out-dir "$tmp" --exp-name "$name" \
            --threads "$threads"
        if [ "$ranks" -eq 1 ]; then "$bin/seqgen-train" "$@"; else mpi "$ranks" "$bin/seqgen-train-mpi" "$@"; fi
        tail -n 1 "$tmp/$name/results.csv" | cut -d, -f11 >> "$tmp/$config"
    done
    i=$((i + 1))
done
echo "options: $options; $runs runs each, alternating; sequences/s of training (median, and all runs)"
for config in 1x1 1x2 2x1; do
    printf '%-22s %8s   (%s)\n' "$(echo "$config" | sed 's/x/ rank(s) x /') thread(s)" \
        "$(sort -n "$tmp/$config" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" \
        "$(tr '\n' ' ' < "$tmp/$config" | sed 's/ $//')"
done
