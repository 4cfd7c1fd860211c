#!/bin/sh
# Professor forcing's cost per batch against teacher forcing (docs/results.md): one epoch of the
# first 1280 training digits with seqgen-train, each configuration alternately with and without
# --professor, RUNS times each; prints the median seconds of training (results.csv's `seconds`,
# which leave out the evaluation) and their ratio. Run on an otherwise idle machine.
# Usage: sh bench/professor.sh [RUNS] (from the repository root, after make)
set -eu
runs=${1:-3}
bin=build/bin/seqgen-train
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# name | options of both | the professor-forcing options
configs() {
    cat <<END
D 1, H 128 (MSE)||--professor --pf-lambda 0.001 --pf-disc-hidden 32 --pf-disc-layers 2
D 1, H 256 (MSE)|--hidden 256|--professor --pf-lambda 0.001 --pf-disc-hidden 32 --pf-disc-layers 2
D 28, H 512 (BCE)|--hidden 512 --pixels-per-step 28 --loss bce|--professor --pf-lambda 0.001
END
}
seconds() { # RUN_DIR: the epoch's training seconds
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i } NR == 2 { print $col["seconds"] }' \
        "$1/results.csv"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "professor forcing's cost, $runs runs each, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %12s %12s %8s\n' configuration "teacher s" "professor s" ratio
configs | while IFS='|' read -r name common pf; do
    : >"$out/tf" && : >"$out/pf"
    for _ in $(seq "$runs"); do
        for kind in tf pf; do
            extra=""
            [ "$kind" = pf ] && extra=$pf
            rm -rf "$out/run"
            # shellcheck disable=SC2086 # options are words
            "$bin" --out-dir "$out" --exp-name run --epochs 1 --train-limit 1280 --test-limit 1 \
                --quiet $common $extra >/dev/null
            seconds "$out/run" >>"$out/$kind"
        done
    done
    tf=$(median <"$out/tf") pf=$(median <"$out/pf")
    printf '%-20s %12s %12s %8.2f\n' "$name" "$tf" "$pf" "$(awk -v a="$pf" -v b="$tf" 'BEGIN { print a / b }')"
done
