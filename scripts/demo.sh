#!/bin/sh
# make demo: trains the configuration docs/results.md recommends (1 GRU layer of 512 units fed a
# row of 28 pixels per step, the pixels of a row predicted one after another by the MADE head of
# 256 units, BCE, Adam, teacher forcing, 24 epochs) on the bundled digits, then completes
# the first test digit of each class from its first 500 pixels by sampling and measures
# completion over the whole test set.
# Usage: sh scripts/demo.sh [BINDIR]   (from the repository root)
# DEMO_EPOCHS=N changes the number of epochs. Run again, it continues the same run (--resume):
# a finished run is not retrained, an interrupted one (Ctrl-C) goes on where it stopped.
set -eu
bindir=${1:-build/bin}
epochs=${DEMO_EPOCHS:-24}
run=experiments/demo
hidden=512 units_per_step=28 head=made-ar loss=bce # the configuration, in one place
start=$(date +%s)

if [ -f "$run/model.ckpt" ] && ! grep -q '^units-per-step ' "$run/config.txt"; then
    # written by libseqgen 0.2 or older, whose checkpoints this version does not read
    old="$run.$(date +%Y%m%d-%H%M%S)"
    echo "demo: $run was made by an older libseqgen; it is kept as $old and a new run starts" >&2
    mv "$run" "$old"
fi
if [ -f "$run/model.ckpt" ]; then
    if ! grep -qx "hidden $hidden" "$run/config.txt" ||
        ! grep -qx "units-per-step $units_per_step" "$run/config.txt" ||
        ! grep -qx "head $head" "$run/config.txt" || ! grep -qx "loss $loss" "$run/config.txt"
    then # a demo run made before the demo's configuration changed
        echo "demo: $run holds a run of another configuration; it goes on with that one" \
            "(delete $run to train the current demo)" >&2
    fi
    "$bindir/seqgen-train" --exp-name demo --resume --epochs "$epochs"
else
    "$bindir/seqgen-train" --exp-name demo --epochs "$epochs" --hidden "$hidden" \
        --pixels-per-step "$units_per_step" --head "$head" --loss "$loss"
fi
trained=$(date +%s)
"$bindir/seqgen-complete" --checkpoint "$run/model.ckpt" --out-dir "$run/completions" --metrics \
    --decode sample --seed 1
done=$(date +%s)

echo
echo "demo: training took $((trained - start)) s, completion and metrics $((done - trained)) s"
echo "demo: the animations are in $run/completions/ (overview.gif shows all ten digits);"
echo "demo: the learning curve (one row per epoch) is $run/results.csv"
