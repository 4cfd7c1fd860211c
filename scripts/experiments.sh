#!/bin/sh
# make experiments: the study of docs/results.md. Trains each configuration below with
# seqgen-train on the bundled digits for the same number of epochs, evaluates it with
# seqgen-complete --metrics (500 and 300 given pixels; greedy, and sampling at temperatures 0.5
# and 1 with 3 seeds each), then measures each configuration's speed side by side and writes the
# summary table and the learning curves (scripts/experiments-summary.py).
#
# Usage: sh scripts/experiments.sh [BINDIR] [RUN...]   (from the repository root)
#   RUN...           only these runs (names from the list below); default all
#   EXP_EPOCHS=N     epochs per run (12)
#   EXP_DIR=DIR      where the runs go (experiments/study)
#   EXP_THREADS=N    threads of each program (default: the programs' own, one per core)
#   EXP_SPEED=0      skip the speed phase (when other runs share the machine; run it later)
#   EXP_SMOKE=1      a seconds-long check of the script itself: 256 training and 32 test digits
# Run again, it continues: a finished run is neither retrained nor re-evaluated, an interrupted
# one goes on where it stopped (seqgen-train --resume).
set -eu
bindir=${1:-build/bin}
[ $# -gt 0 ] && shift
epochs=${EXP_EPOCHS:-12}
dir=${EXP_DIR:-experiments/study}
threads=${EXP_THREADS:+--threads $EXP_THREADS}
train_limits="" test_limit="" speed_limits="--train-limit 1280 --test-limit 1"
seeds="1 2 3"
train_images=9003 batch=64
if [ "${EXP_SMOKE:-0}" = 1 ]; then
    train_limits="--train-limit 256 --test-limit 32" test_limit="--test-limit 32"
    seeds="1" train_images=256 speed_limits="--train-limit 128 --test-limit 1"
fi

# Scheduled sampling: p falls from 1 to its floor two thirds into training, counted in batches.
floor=0.5
batches=$(( (train_images + batch - 1) / batch * epochs ))
ss_params() { # SCHEDULE FLOOR -> the seqgen-train options that reach FLOOR at 2/3 of training
    awk -v s="$1" -v eps="$2" -v n="$batches" 'BEGIN {
        j = 2 * n / 3
        if (s == "linear") printf "--schedule linear --sched-k 1 --sched-c %.6g --sched-eps %s", (1 - eps) / j, eps
        if (s == "exp") printf "--schedule exp --sched-k %.9f --sched-eps %s", exp(log(eps) / j), eps
        if (s == "invsigmoid") {   # k / (k + exp(j / k)) = eps  <=>  j = k ln(k (1 - eps) / eps)
            lo = 1; hi = j
            for (i = 0; i < 100; i++) { k = (lo + hi) / 2; if (k * log(k * (1 - eps) / eps) < j) lo = k; else hi = k }
            printf "--schedule invsigmoid --sched-k %.4f --sched-eps %s", k, eps
        }
    }'
}

# name | epochs if not EXP_EPOCHS | seqgen-train options (the baseline is the original: H 128,
# L 1, D 1, MSE, Adam, teacher forcing)
runs() {
    cat <<EOF
baseline-s1||--seed 1
bce||--loss bce
layers2||--layers 2
d2||--pixels-per-step 2
d4||--pixels-per-step 4
h256-d4||--hidden 256 --pixels-per-step 4
h256-d4-s2||--hidden 256 --pixels-per-step 4 --seed 2
h256-d4-s3||--hidden 256 --pixels-per-step 4 --seed 3
ss-linear-sample||$(ss_params linear $floor) --feedback sample
ss-linear-threshold||$(ss_params linear $floor) --feedback threshold
ss-exp-sample||$(ss_params exp $floor) --feedback sample
ss-exp-threshold||$(ss_params exp $floor) --feedback threshold
ss-invsigmoid-sample||$(ss_params invsigmoid $floor) --feedback sample
ss-invsigmoid-threshold||$(ss_params invsigmoid $floor) --feedback threshold
stochastic||--binarize stochastic
baseline-s2||--seed 2
baseline-s3||--seed 3
h512-d4||--hidden 512 --pixels-per-step 4
h512-d4-s2||--hidden 512 --pixels-per-step 4 --seed 2
h512-d4-s3||--hidden 512 --pixels-per-step 4 --seed 3
ss-linear-sample-floor0||$(ss_params linear 0) --feedback sample
h256||--hidden 256
d28||--pixels-per-step 28
h256-d28||--hidden 256 --pixels-per-step 28
h512-d28||--hidden 512 --pixels-per-step 28
h512-d28-s2||--hidden 512 --pixels-per-step 28 --seed 2
h512-d28-s3||--hidden 512 --pixels-per-step 28 --seed 3
h512-d7||--hidden 512 --pixels-per-step 7
h512-d14||--hidden 512 --pixels-per-step 14
h1024-d28||--hidden 1024 --pixels-per-step 28
h512-d28-layers2||--hidden 512 --pixels-per-step 28 --layers 2
h512-d28-bce||--hidden 512 --pixels-per-step 28 --loss bce
h512-d28-bce-s2||--hidden 512 --pixels-per-step 28 --loss bce --seed 2
h512-d28-bce-s3||--hidden 512 --pixels-per-step 28 --loss bce --seed 3
h512-d28-bce-ar||--hidden 512 --pixels-per-step 28 --loss bce --head linear-ar
h512-d28-bce-ar-s2||--hidden 512 --pixels-per-step 28 --loss bce --head linear-ar --seed 2
h512-d28-bce-ar-s3||--hidden 512 --pixels-per-step 28 --loss bce --head linear-ar --seed 3
h512-d28-ss-linear-threshold||--hidden 512 --pixels-per-step 28 $(ss_params linear $floor) --feedback threshold
h512-d28-long|36|--hidden 512 --pixels-per-step 28
h512-d28-bce-pf||--hidden 512 --pixels-per-step 28 --loss bce --professor
h512-d28-bce-pf-l0.1||--hidden 512 --pixels-per-step 28 --loss bce --professor --pf-lambda 0.1
h512-d28-bce-pf-l0.01||--hidden 512 --pixels-per-step 28 --loss bce --professor --pf-lambda 0.01
h512-d28-bce-pf-l0.001||--hidden 512 --pixels-per-step 28 --loss bce --professor --pf-lambda 0.001
h512-d28-bce-pf-l0.001-s2||--hidden 512 --pixels-per-step 28 --loss bce --professor --pf-lambda 0.001 --seed 2
h512-d28-bce-pf-l0.001-s3||--hidden 512 --pixels-per-step 28 --loss bce --professor --pf-lambda 0.001 --seed 3
pf-l0.001||--professor --pf-lambda 0.001 --pf-disc-hidden 32 --pf-disc-layers 2
h256-pf-l0.001||--hidden 256 --professor --pf-lambda 0.001 --pf-disc-hidden 32 --pf-disc-layers 2
h512-d28-bce-made||--hidden 512 --pixels-per-step 28 --loss bce --head made-ar
h512-d28-bce-made-s2||--hidden 512 --pixels-per-step 28 --loss bce --head made-ar --seed 2
h512-d28-bce-made-s3||--hidden 512 --pixels-per-step 28 --loss bce --head made-ar --seed 3
h256-d28-bce||--hidden 256 --pixels-per-step 28 --loss bce
h256-d28-bce-ar||--hidden 256 --pixels-per-step 28 --loss bce --head linear-ar
h256-d28-bce-made||--hidden 256 --pixels-per-step 28 --loss bce --head made-ar
h512-d14-bce||--hidden 512 --pixels-per-step 14 --loss bce
h512-d14-bce-ar||--hidden 512 --pixels-per-step 14 --loss bce --head linear-ar
h512-d14-bce-made||--hidden 512 --pixels-per-step 14 --loss bce --head made-ar
h512-d7-bce||--hidden 512 --pixels-per-step 7 --loss bce
h512-d7-bce-ar||--hidden 512 --pixels-per-step 7 --loss bce --head linear-ar
h512-d7-bce-made||--hidden 512 --pixels-per-step 7 --loss bce --head made-ar
h512-d28-bce-made-pf||--hidden 512 --pixels-per-step 28 --loss bce --head made-ar --professor --pf-lambda 0.001
h512-d28-bce-made-long|36|--hidden 512 --pixels-per-step 28 --loss bce --head made-ar
h512-d28-bce-made-e24|24|--hidden 512 --pixels-per-step 28 --loss bce --head made-ar
h512-d28-bce-made-e24-s2|24|--hidden 512 --pixels-per-step 28 --loss bce --head made-ar --seed 2
h512-d28-bce-made-e24-s3|24|--hidden 512 --pixels-per-step 28 --loss bce --head made-ar --seed 3
h512-d28-bce-made-stochastic||--hidden 512 --pixels-per-step 28 --loss bce --head made-ar --binarize stochastic
h256-d28-bce-s2||--hidden 256 --pixels-per-step 28 --loss bce --seed 2
h256-d28-bce-s3||--hidden 256 --pixels-per-step 28 --loss bce --seed 3
h256-d28-bce-ar-s2||--hidden 256 --pixels-per-step 28 --loss bce --head linear-ar --seed 2
h256-d28-bce-ar-s3||--hidden 256 --pixels-per-step 28 --loss bce --head linear-ar --seed 3
h256-d28-bce-made-s2||--hidden 256 --pixels-per-step 28 --loss bce --head made-ar --seed 2
h256-d28-bce-made-s3||--hidden 256 --pixels-per-step 28 --loss bce --head made-ar --seed 3
h512-d14-bce-s2||--hidden 512 --pixels-per-step 14 --loss bce --seed 2
h512-d14-bce-s3||--hidden 512 --pixels-per-step 14 --loss bce --seed 3
h512-d14-bce-ar-s2||--hidden 512 --pixels-per-step 14 --loss bce --head linear-ar --seed 2
h512-d14-bce-ar-s3||--hidden 512 --pixels-per-step 14 --loss bce --head linear-ar --seed 3
h512-d14-bce-made-s2||--hidden 512 --pixels-per-step 14 --loss bce --head made-ar --seed 2
h512-d14-bce-made-s3||--hidden 512 --pixels-per-step 14 --loss bce --head made-ar --seed 3
h512-d7-bce-s2||--hidden 512 --pixels-per-step 7 --loss bce --seed 2
h512-d7-bce-s3||--hidden 512 --pixels-per-step 7 --loss bce --seed 3
h512-d7-bce-ar-s2||--hidden 512 --pixels-per-step 7 --loss bce --head linear-ar --seed 2
h512-d7-bce-ar-s3||--hidden 512 --pixels-per-step 7 --loss bce --head linear-ar --seed 3
h512-d7-bce-made-s2||--hidden 512 --pixels-per-step 7 --loss bce --head made-ar --seed 2
h512-d7-bce-made-s3||--hidden 512 --pixels-per-step 7 --loss bce --head made-ar --seed 3
h256-d14-bce||--hidden 256 --pixels-per-step 14 --loss bce
h256-d14-bce-s2||--hidden 256 --pixels-per-step 14 --loss bce --seed 2
h256-d14-bce-s3||--hidden 256 --pixels-per-step 14 --loss bce --seed 3
h256-d14-bce-ar||--hidden 256 --pixels-per-step 14 --loss bce --head linear-ar
h256-d14-bce-ar-s2||--hidden 256 --pixels-per-step 14 --loss bce --head linear-ar --seed 2
h256-d14-bce-ar-s3||--hidden 256 --pixels-per-step 14 --loss bce --head linear-ar --seed 3
h256-d14-bce-made||--hidden 256 --pixels-per-step 14 --loss bce --head made-ar
h256-d14-bce-made-s2||--hidden 256 --pixels-per-step 14 --loss bce --head made-ar --seed 2
h256-d14-bce-made-s3||--hidden 256 --pixels-per-step 14 --loss bce --head made-ar --seed 3
h256-d7-bce||--hidden 256 --pixels-per-step 7 --loss bce
h256-d7-bce-s2||--hidden 256 --pixels-per-step 7 --loss bce --seed 2
h256-d7-bce-s3||--hidden 256 --pixels-per-step 7 --loss bce --seed 3
h256-d7-bce-ar||--hidden 256 --pixels-per-step 7 --loss bce --head linear-ar
h256-d7-bce-ar-s2||--hidden 256 --pixels-per-step 7 --loss bce --head linear-ar --seed 2
h256-d7-bce-ar-s3||--hidden 256 --pixels-per-step 7 --loss bce --head linear-ar --seed 3
h256-d7-bce-made||--hidden 256 --pixels-per-step 7 --loss bce --head made-ar
h256-d7-bce-made-s2||--hidden 256 --pixels-per-step 7 --loss bce --head made-ar --seed 2
h256-d7-bce-made-s3||--hidden 256 --pixels-per-step 7 --loss bce --head made-ar --seed 3
EOF
}

wanted() { # NAME: is it among the runs asked for?
    [ -z "$only" ] && return 0
    for w in $only; do [ "$w" = "$1" ] && return 0; done
    return 1
}

evaluate() { # RUN_DIR: the completion metrics, one CSV row each, into RUN_DIR/metrics.csv
    run=$1 csv=$1/metrics.csv
    [ "$csv.done" -nt "$run/model.ckpt" ] && return 0
    rm -f "$csv"
    for given in 500 300; do
        "$bindir/seqgen-complete" --checkpoint "$run/model.ckpt" --metrics --no-gif --quiet \
            $threads $test_limit --given "$given" --metrics-csv "$csv" >/dev/null
        for temperature in 0.5 1; do
            for seed in $seeds; do
                "$bindir/seqgen-complete" --checkpoint "$run/model.ckpt" --metrics --no-gif --quiet \
                    $threads $test_limit --given "$given" --decode sample --temperature "$temperature" \
                    --seed "$seed" --metrics-csv "$csv" >/dev/null
            done
        done
    done
    # NLL on stochastically binarised test digits too, for the binarisation comparison
    "$bindir/seqgen-complete" --checkpoint "$run/model.ckpt" --metrics --no-gif --quiet $threads \
        $test_limit \
        --binarize stochastic --metrics-csv "$csv" >/dev/null
    touch "$csv.done"
}

only="$*"
mkdir -p "$dir"
runs | while IFS='|' read -r name run_epochs options; do
    wanted "$name" || continue
    run_epochs=${run_epochs:-$epochs}
    echo "experiments: $name ($options), $run_epochs epochs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ -f "$dir/$name/model.ckpt" ]; then
        "$bindir/seqgen-train" --out-dir "$dir" --exp-name "$name" --resume --epochs "$run_epochs" \
            $threads --quiet
    else
        # shellcheck disable=SC2086 # options are words
        "$bindir/seqgen-train" --out-dir "$dir" --exp-name "$name" --epochs "$run_epochs" \
            $threads $train_limits $options --quiet
    fi
    evaluate "$dir/$name"
done

# Speed, measured side by side once training is over (the runs above may have shared the
# machine): one epoch of each configuration on the first 1280 training digits.
[ "${EXP_SPEED:-1}" = 0 ] && exit 0
runs | while IFS='|' read -r name run_epochs options; do
    wanted "$name" || continue
    [ -f "$dir/speed/$name/results.csv" ] && continue
    echo "experiments: speed of $name, load $(cut -d' ' -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086 # options are words
    "$bindir/seqgen-train" --out-dir "$dir/speed" --exp-name "$name" --epochs 1 $speed_limits \
        $options --quiet
done
python3 scripts/experiments-summary.py "$dir"
