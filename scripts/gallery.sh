#!/bin/sh
# The gallery of docs/results.md: the same test digits (the first of each class) completed by
# each given run of the study, from 500 and from 300 given pixels, greedily and by sampling at
# temperature 1 (seed 1), as one overview GIF per run, given count and decoder.
# Usage: sh scripts/gallery.sh BINDIR OUT_DIR RUN_DIR...   (from the repository root)
set -eu
bindir=$1 out=$2
shift 2
mkdir -p "$out"
for run in "$@"; do
    name=$(basename "$run")
    for given in 500 300; do
        for decode in greedy sample; do
            tmp="$out/.$name-$given-$decode"
            "$bindir/seqgen-complete" --checkpoint "$run/model.ckpt" --given "$given" \
                --decode "$decode" --seed 1 --scale 3 --columns 5 --out-dir "$tmp" --quiet
            mv "$tmp/overview.gif" "$out/$name-$given-$decode.gif"
            rm -rf "$tmp"
        done
    done
done
