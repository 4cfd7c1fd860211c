#!/bin/sh
# make demo: train the default configuration on the bundled digits, then complete test digits.
# Until the training and completion programs exist it says what it will do.
set -eu
bindir=${1:-build/bin}
if [ ! -x "$bindir/seqgen-train" ] || [ ! -x "$bindir/seqgen-complete" ]; then
    echo "demo: the library is built (lib/). The training and completion programs are not written"
    echo "demo: yet; when they are, this trains a 128-unit GRU on data/mnist10k and writes GIFs of"
    echo "demo: completed test digits to experiments/demo/."
    exit 0
fi
"$bindir/seqgen-train" --exp-name demo
"$bindir/seqgen-complete" --checkpoint experiments/demo/model.ckpt --out-dir experiments/demo/gifs --metrics
