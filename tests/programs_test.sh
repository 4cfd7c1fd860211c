#!/bin/sh
# End-to-end test of the programs seqgen-train, seqgen-complete, seqgen-convert and seqgen-text on a tiny configuration:
# files produced, exact --resume (after a clean stop and after Ctrl-C), GIFs, metrics, and the
# documented exit codes and messages for bad options, bad checkpoints and bad data directories.
# Usage: sh tests/programs_test.sh [BINDIR [MAKE_MARKOV]]   (from the repository root; BINDIR =
# build/bin; MAKE_MARKOV = build/tests/make_markov, which writes the .npy data of the section on
# a user's own sequences)
set -u
bin=${1:-build/bin}
make_markov=${2:-build/tests/make_markov}
train="$bin/seqgen-train"
complete="$bin/seqgen-complete"
data=data/mnist10k
tmp=$(mktemp -d)
busy_pid=
trap '[ -n "$busy_pid" ] && kill -9 $busy_pid 2>/dev/null; rm -rf "$tmp"' EXIT
. tests/checks.sh

# Runtime errors: exactly one line on stderr, naming the cause ($1, a grep -E pattern).
one_line_naming() { [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -Eq -e "$1" "$tmp/err"; }
# Usage errors: the reason in one line, then how to get help, as GNU programs do (the whole
# usage text would hide the reason).
usage_error() { [ "$(wc -l <"$tmp/err")" -eq 2 ] && head -n 1 "$tmp/err" | grep -q "^$1: " &&
    [ "$(tail -n 1 "$tmp/err")" = "Try '$1 --help' for more information." ]; }
rows() { tail -n +2 "$1" | wc -l; }
# The files in directory $1 whose names match the grep -E pattern $2, one per line.
matching() { ls -A "$1" | grep -E "$2"; }
# with_file_limit BLOCKS COMMAND...: runs COMMAND with files limited to BLOCKS blocks of 512
# bytes (ulimit -f): a write beyond that fails, or kills a program that does not expect it.
with_file_limit() { sh -c 'ulimit -f "$1" && shift && exec "$@"' with_file_limit "$@"; }
# full_disk DIR COMMAND...: runs COMMAND with DIR a 64 KiB tmpfs (in a mount namespace of its
# own) that holds the files of $tmp/seed and is then filled up; lists what DIR then holds, with
# each file's cksum, into $tmp/listing. Its status is COMMAND's, 77 if no tmpfs can be mounted.
if unshare -m true 2>/dev/null; then namespace="unshare -m"; else namespace="unshare -rm"; fi
full_disk() {
    $namespace sh -c 'tmp=$1 dir=$2; shift 2
        mount -t tmpfs -o size=64k seqgen-test "$dir" 2>/dev/null || exit 77
        cp -R "$tmp/seed/." "$dir/" && { head -c 1048576 /dev/zero >"$dir/fill"; } 2>/dev/null
        "$@"; status=$?
        (cd "$dir" && for f in $(ls -A); do [ "$f" = fill ] || cksum "$f"; done) >"$tmp/listing"
        exit $status' full_disk "$tmp" "$@"
}
# A GIF: the signature, a logical screen of width $2 x height $3, the trailer byte.
is_gif() {
    [ "$(head -c 6 "$1")" = GIF89a ] || return 1
    set -- "$1" "$2" "$3" $(od -An -tu1 -j6 -N4 "$1")
    [ $(($4 + 256 * $5)) -eq "$2" ] && [ $(($6 + 256 * $7)) -eq "$3" ] &&
        [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' ')" = 3b ]
}
# results.csv without the timing columns (seconds, images/s, evaluation seconds).
untimed() { cut -d, -f1,2,4-10,13- "$1"; }

tiny="--data $data --train-limit 64 --test-limit 20 --hidden 8 --threads 1 --quiet"

# ---- help and version -------------------------------------------------------------------------
for prog in "$train" "$complete"; do
    expect 0 "$(basename "$prog") --help" "$prog" --help
    check "$(basename "$prog") --help prints the usage" grep -q '^Usage: ' "$tmp/out"
    expect 0 "$(basename "$prog") --version" "$prog" --version
    check "$(basename "$prog") --version names the version" grep -Eq '[0-9]+\.[0-9]+\.[0-9]+' "$tmp/out"
done

# ---- training: files ----------------------------------------------------------------------------
expect 0 "train 2 epochs" $train $tiny --out-dir "$tmp/runs" --exp-name straight --epochs 2
run="$tmp/runs/straight"
check "results.csv has a header and 2 rows" [ "$(rows "$run/results.csv")" -eq 2 ]
check "results.csv rows are epochs 1 and 2" [ "$(cut -d, -f1 "$run/results.csv" | tr '\n' ' ')" = "epoch 1 2 " ]
check "config.txt records the command line" grep -q -- '--exp-name straight' "$run/config.txt"
check "model.ckpt written" [ -s "$run/model.ckpt" ]
expect 1 "a second run into the same directory is refused" $train $tiny --out-dir "$tmp/runs" --exp-name straight --epochs 2
check "...naming --resume" one_line_naming 'resume'

# ---- exact resume ---------------------------------------------------------------------------------
expect 0 "train 1 epoch" $train $tiny --out-dir "$tmp/runs" --exp-name resumed --epochs 1
expect 0 "resume to 2 epochs" $train --out-dir "$tmp/runs" --exp-name resumed --resume --epochs 2 --quiet
check "resumed model.ckpt equals the straight run's, byte for byte" cmp -s "$run/model.ckpt" "$tmp/runs/resumed/model.ckpt"
check "resumed results.csv equals the straight run's (timings aside)" \
    sh -c "[ \"\$(cut -d, -f1,2,4-10,13- '$run/results.csv')\" = \"\$(cut -d, -f1,2,4-10,13- '$tmp/runs/resumed/results.csv')\" ]"
expect 0 "resume when all epochs are done does nothing" $train --out-dir "$tmp/runs" --exp-name resumed --resume --epochs 2 --quiet
check "...and adds no row" [ "$(rows "$tmp/runs/resumed/results.csv")" -eq 2 ]

# ---- professor forcing: trains, writes its columns, resumes exactly, completes digits ------------
pf="--pixels-per-step 28 --batch-size 16 --loss bce --professor --pf-lambda 0.5 --pf-disc-hidden 6 --pf-disc-layers 2 --pf-given 392 --pf-band 0,1"
expect 0 "professor forcing: train 2 epochs" $train $tiny $pf --out-dir "$tmp/runs" --exp-name pf --epochs 2
check "...results.csv ends with disc_loss, disc_accuracy, adv_loss, adv_passed" \
    sh -c "head -n 1 '$tmp/runs/pf/results.csv' | grep -q ',disc_loss,disc_accuracy,adv_loss,adv_passed\$'"
check "...2 rows of 18 columns, with numbers in them" \
    sh -c "[ \"\$(tail -n +2 '$tmp/runs/pf/results.csv' | awk -F, 'NF == 18 && \$15 > 0 && \$16 >= 0 && \$17 > 0 && \$18 == 1' | wc -l)\" -eq 2 ]"
check "...config.txt records it" grep -q '^pf-given 392$' "$tmp/runs/pf/config.txt"
expect 0 "professor forcing: 1 epoch" $train $tiny $pf --out-dir "$tmp/runs" --exp-name pf-resumed --epochs 1
expect 0 "...then --resume to 2" $train --out-dir "$tmp/runs" --exp-name pf-resumed --resume --epochs 2 --quiet
check "...model.ckpt equals the straight run's, byte for byte" cmp -s "$tmp/runs/pf/model.ckpt" "$tmp/runs/pf-resumed/model.ckpt"
check "...and so does results.csv (timings aside)" \
    sh -c "[ \"\$(cut -d, -f1,2,4-10,13- '$tmp/runs/pf/results.csv')\" = \"\$(cut -d, -f1,2,4-10,13- '$tmp/runs/pf-resumed/results.csv')\" ]"
expect 2 "--resume with a professor-forcing option" $train --out-dir "$tmp/runs" --exp-name pf --resume --pf-lambda 2
check "...in one line, then how to get help" usage_error seqgen-train
expect 0 "...its checkpoint completes digits" $complete --checkpoint "$tmp/runs/pf/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --given 392
check "...and reports the completion error" grep -q 'pixel error' "$tmp/out"
expect 2 "--professor with scheduled sampling" $train $tiny --professor --schedule linear
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "--pf-band 0.9,0.1" $train $tiny --professor --pf-band 0.9,0.1
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "--pf-band 0.5" $train $tiny --professor --pf-band 0.5
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "--pf-given beyond a sequence" $train $tiny --professor --pf-given 785 --out-dir "$tmp/runs" --exp-name pf-given
check "...in one line, then how to get help" usage_error seqgen-train

# Ctrl-C mid-run: the program finishes the batch, saves and exits 130; resuming then gives the
# same model as never stopping.
long="--data $data --train-limit 1024 --test-limit 20 --hidden 16 --batch-size 16 --threads 1 --quiet --epochs 3"
expect 0 "straight run for the interruption test" $train $long --out-dir "$tmp/runs" --exp-name long
$train $long --out-dir "$tmp/runs" --exp-name interrupted >/dev/null 2>"$tmp/err" &
pid=$!
# Interrupt during epoch 2: as soon as epoch 1's row is written.
tries=0
while [ ! -s "$tmp/runs/interrupted/results.csv" ] && [ $tries -lt 600 ]; do
    sleep 0.05
    tries=$((tries + 1))
done
kill -INT $pid
wait $pid
status=$?
if [ $status -eq 130 ]; then
    ok "Ctrl-C saves and exits 130"
    check "...saying how to continue" one_line_naming 'interrupted.*--resume'
    expect 0 "resume after Ctrl-C" $train --out-dir "$tmp/runs" --exp-name interrupted --resume --quiet
    check "...ends with the model of the uninterrupted run" cmp -s "$tmp/runs/long/model.ckpt" "$tmp/runs/interrupted/model.ckpt"
elif [ $status -eq 0 ]; then
    ok "Ctrl-C arrived after the run ended (machine fast): nothing to check"
else
    echo "    exit $status"; not_ok "Ctrl-C saves and exits 130"
fi

# ---- completion ----------------------------------------------------------------------------------
expect 0 "complete the first test digit of each class" $complete --checkpoint "$run/model.ckpt" --data $data --out-dir "$tmp/gifs" --scale 2
check "ten GIFs named LABEL-INDEX.gif and an overview" [ "$(ls "$tmp/gifs" | grep -Ec '^[0-9]-[0-9]{4}\.gif$')" -eq 10 ]
check "the digit GIF is a GIF of 3 panels of 28x28 at scale 2" is_gif "$(ls "$tmp/gifs"/[0-9]-*.gif | head -n 1)" 172 56
check "overview.gif is a GIF of 2 columns and 5 rows" is_gif "$tmp/gifs/overview.gif" 346 288
expect 0 "complete chosen digits by sampling" $complete --checkpoint "$run/model.ckpt" --data $data --out-dir "$tmp/chosen" --indices 3,17 --decode sample --temperature 0.5 --seed 4
check "...names the files by label and index" sh -c "ls '$tmp/chosen' | grep -q -- '-0003.gif' && ls '$tmp/chosen' | grep -q -- '-0017.gif'"
expect 0 "metrics" $complete --checkpoint "$run/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --given 392 --metrics-csv "$tmp/metrics.csv"
check "...prints label kept with its bounds" grep -Eq 'label kept +[0-9.]+ \(true images [0-9.]+, blank completion [0-9.]+\)' "$tmp/out"
check "...over the 20 test digits asked" grep -q 'over 20 test images, 392 of 784' "$tmp/out"
check "...and appends a CSV row" [ "$(rows "$tmp/metrics.csv")" -eq 1 ]
expect 0 "a row per step (D = 28) evaluated from 500 pixels, not a multiple of 28" $train $tiny --out-dir "$tmp/runs" --exp-name d28 --pixels-per-step 28 --epochs 1
expect 0 "...completes from 300 given pixels" $complete --checkpoint "$tmp/runs/d28/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --given 300
check "...over 300 of 784 pixels" grep -q 'over 20 test images, 300 of 784' "$tmp/out"
expect 0 "with a start step (D = 28)" $train $tiny --out-dir "$tmp/runs" --exp-name start --pixels-per-step 28 --start-step --epochs 1
check "...config.txt says so" grep -qx 'start-step 1' "$tmp/runs/start/config.txt"
expect 0 "...digits sampled from nothing (--given 0)" $complete --checkpoint "$tmp/runs/start/model.ckpt" --data $data --out-dir "$tmp/nothing" --indices 0,1 --given 0 --decode sample --seed 3 --metrics --test-limit 20
check "...two GIFs and the metrics over 0 of 784 pixels given" sh -c "[ \$(ls '$tmp/nothing' | grep -Ec '^[0-9]-000[01]\\.gif\$') -eq 2 ] && grep -q 'over 20 test images, 0 of 784' '$tmp/out'"
expect 0 "...resumes with its start step from the checkpoint" $train --out-dir "$tmp/runs" --exp-name start --resume --epochs 2 --quiet
check "...and config.txt still says so" grep -qx 'start-step 1' "$tmp/runs/start/config.txt"
expect 0 "with the linear autoregressive head (D = 28)" $train $tiny --out-dir "$tmp/runs" --exp-name ar --pixels-per-step 28 --head linear-ar --loss bce --epochs 1
check "...config.txt says so" grep -qx 'head linear-ar' "$tmp/runs/ar/config.txt"
expect 0 "...completes from 300 given pixels, unit by unit within a row" $complete --checkpoint "$tmp/runs/ar/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --given 300
expect 0 "...resumes with its head from the checkpoint" $train --out-dir "$tmp/runs" --exp-name ar --resume --epochs 2 --quiet
check "...and config.txt still says so" grep -qx 'head linear-ar' "$tmp/runs/ar/config.txt"
expect 2 "...but refuses scheduled sampling" $train $tiny --out-dir "$tmp/runs" --exp-name ar-sampled --head linear-ar --schedule linear --sched-c 0.001
check "...as a usage error" usage_error seqgen-train
check "...saying it trains by teacher forcing only" grep -q 'teacher forcing only' "$tmp/err"
expect 0 "with the MADE autoregressive head (D = 28, 16 hidden units)" $train $tiny --out-dir "$tmp/runs" --exp-name made --pixels-per-step 28 --head made-ar --head-hidden 16 --loss bce --epochs 1
check "...config.txt says so" sh -c "grep -qx 'head made-ar' '$tmp/runs/made/config.txt' && grep -qx 'head-hidden 16' '$tmp/runs/made/config.txt'"
expect 0 "...completes from 300 given pixels, unit by unit within a row" $complete --checkpoint "$tmp/runs/made/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --given 300
expect 0 "...resumes with its head and hidden units from the checkpoint" $train --out-dir "$tmp/runs" --exp-name made --resume --epochs 2 --quiet
check "...and config.txt still says so" sh -c "grep -qx 'head made-ar' '$tmp/runs/made/config.txt' && grep -qx 'head-hidden 16' '$tmp/runs/made/config.txt'"
expect 2 "...but refuses scheduled sampling" $train $tiny --out-dir "$tmp/runs" --exp-name made-sampled --head made-ar --schedule linear --sched-c 0.001
check "...saying it trains by teacher forcing only" grep -q 'made-ar trains by teacher forcing only' "$tmp/err"
expect 2 "--head-hidden with another head is a usage error" $train $tiny --out-dir "$tmp/runs" --exp-name hidden-linear --head linear-ar --head-hidden 16
check "...naming the head" grep -q "head-hidden sets the made-ar head's hidden units; this run's head is linear-ar" "$tmp/err"

# ---- resuming reads the checkpoint alone ------------------------------------------------------------
# config.txt is a copy for people and scripts: whatever happens to it, --resume gives the model of
# the uninterrupted run. A file the program does read (results.csv) must be a regular file of
# short lines: anything else is refused at once with one line naming it. `timeout 20` turns a
# hang (reading /dev/zero without end) into a failure.
expect 0 "straight D = 28 run for the resume tests" $train $tiny --out-dir "$tmp/runs" --exp-name d28-straight --pixels-per-step 28 --epochs 2
for case in edited emptied cut deleted dev-zero; do
    copy="$tmp/runs/d28-$case"
    cp -R "$tmp/runs/d28" "$copy"
    case $case in
    edited) sed -i 's/^pixels-per-step 28$/pixels-per-step 1/; s/^batch-size .*/batch-size 7/; s/^loss .*/loss bce/' "$copy/config.txt" ;;
    emptied) : >"$copy/config.txt" ;;
    cut) sed -i '/^epochs /q' "$copy/config.txt" ;;
    deleted) rm "$copy/config.txt" ;;
    dev-zero) rm "$copy/config.txt" && ln -s /dev/zero "$copy/config.txt" ;;
    esac
    expect 0 "config.txt $case, then --resume" timeout 20 $train --out-dir "$tmp/runs" --exp-name "d28-$case" --resume --epochs 2 --quiet
    check "...ends with the straight run's model.ckpt, byte for byte" cmp -s "$tmp/runs/d28-straight/model.ckpt" "$copy/model.ckpt"
    check "...and a config.txt with the checkpoint's settings" grep -qx 'units-per-step 28' "$copy/config.txt"
done
check "the edited config.txt was not read: the run kept MSE and batches of 64" \
    sh -c "grep -qx 'loss mse' '$tmp/runs/d28-edited/config.txt' && grep -qx 'batch-size 64' '$tmp/runs/d28-edited/config.txt'"
cp -R "$tmp/runs/d28" "$tmp/runs/d28-csv-zero"
rm "$tmp/runs/d28-csv-zero/results.csv" && ln -s /dev/zero "$tmp/runs/d28-csv-zero/results.csv"
expect 1 "results.csv a link to /dev/zero, then --resume" timeout 20 $train --out-dir "$tmp/runs" --exp-name d28-csv-zero --resume --epochs 2 --quiet
check "...refused in one line naming results.csv" one_line_naming 'd28-csv-zero/results\.csv: not a regular file'
cp -R "$tmp/runs/d28" "$tmp/runs/d28-csv-long"
head -c 5000 /dev/zero | tr '\0' 1 >>"$tmp/runs/d28-csv-long/results.csv"
expect 1 "results.csv with a 5000-byte line, then --resume" timeout 20 $train --out-dir "$tmp/runs" --exp-name d28-csv-long --resume --epochs 2 --quiet
check "...refused in one line naming the file and the line" one_line_naming 'd28-csv-long/results\.csv: line 3 is longer than 4096 bytes'
check "...and results.csv is left as it was" [ "$(wc -c <"$tmp/runs/d28-csv-long/results.csv")" -eq $(($(wc -c <"$tmp/runs/d28/results.csv") + 5000)) ]

# ---- the run directory: one seqgen-train at a time, nothing left behind by a failure -------------
# A run killed while saving leaves a temporary file (model.ckpt.tmp-XXXXXXXX from the library,
# results.csv.tmp-XXXXXX and config.txt.tmp-XXXXXX from the program). The next seqgen-train on
# the run, holding the run's lock, removes exactly those names and nothing else.
expect 0 "a run for the stale temporaries" $train $tiny --out-dir "$tmp/runs" --exp-name stale --epochs 1
stale="$tmp/runs/stale"
for f in model.ckpt.tmp-0123abcd results.csv.tmp-AbC12z config.txt.tmp-xY9z0Q \
    model.ckpt.tmp-0123abc model.ckpt.tmp-0123abcd9 model.ckpt.tmp-0123ABCD model.ckpt.tmp-AbC12z \
    model.ckpt.tmp-0123abcd.old results.csv.tmp-0123abcd results.csv.tmp-AbC12 results.csv.tmp \
    notes.txt.tmp-AbC12z x-model.ckpt.tmp-0123abcd; do
    head -c 1000 /dev/zero >"$stale/$f"
done
ln -s /dev/null "$stale/model.ckpt.tmp-feedbeef"
mkdir "$stale/results.csv.tmp-dirABC"
expect 0 "...resume" $train --out-dir "$tmp/runs" --exp-name stale --resume --epochs 2 --quiet
check "...removes the temporaries of its own files" \
    [ -z "$(matching "$stale" '^(model\.ckpt\.tmp-0123abcd|results\.csv\.tmp-AbC12z|config\.txt\.tmp-xY9z0Q)$')" ]
check "...and leaves every other name, links and directories alone" \
    [ "$(matching "$stale" 'tmp' | wc -l)" -eq 12 ]
head -c 1000 /dev/zero >"$stale/model.ckpt.tmp-fedcba98"
expect 0 "...a new run over it (--force)" $train $tiny --out-dir "$tmp/runs" --exp-name stale --epochs 1 --force
check "...removes them too" [ ! -e "$stale/model.ckpt.tmp-fedcba98" ]
check "...and only them" [ "$(matching "$stale" 'tmp' | wc -l)" -eq 12 ]

# A second seqgen-train on a run that one is training is refused, whatever it asks: it would
# remove the first one's results.csv and temporaries, and the two would overwrite each other.
$train --data $data --train-limit 1024 --test-limit 20 --hidden 16 --batch-size 16 --threads 1 \
    --quiet --epochs 1000000 --out-dir "$tmp/runs" --exp-name busy >/dev/null 2>&1 &
busy_pid=$!
tries=0
while [ ! -s "$tmp/runs/busy/model.ckpt" ] && [ $tries -lt 600 ]; do sleep 0.05; tries=$((tries + 1)); done
expect 1 "a second seqgen-train on a run in training (--force) is refused" $train $tiny --out-dir "$tmp/runs" --exp-name busy --epochs 1 --force
check "...in one line naming the run" one_line_naming 'runs/busy.*another seqgen-train'
expect 1 "...and so is --resume" $train --out-dir "$tmp/runs" --exp-name busy --resume --epochs 1 --quiet
check "...in one line naming the run" one_line_naming 'runs/busy.*another seqgen-train'
check "...the first run is still training" kill -0 $busy_pid
kill -9 $busy_pid
wait $busy_pid 2>/dev/null
busy_pid=
expect 0 "once it is killed (-9), the run can be resumed" $train --out-dir "$tmp/runs" --exp-name busy --resume --epochs 1 --quiet

# Writes beyond the file-size limit (ulimit -f) fail without killing the program: it reports the
# file, removes its temporary and leaves the old file as it was.
cp -R "$tmp/runs/d28" "$tmp/runs/d28-limit"
awk 'BEGIN { for (i = 0; i < 4000; i++) printf "0,%099d\n", i }' >>"$tmp/runs/d28-limit/results.csv"
cp "$tmp/runs/d28-limit/results.csv" "$tmp/results-before.csv"
expect 1 "results.csv rewritten beyond the file-size limit at --resume" with_file_limit 200 $train --out-dir "$tmp/runs" --exp-name d28-limit --resume --epochs 1 --quiet
check "...one line naming results.csv" one_line_naming 'd28-limit/results\.csv.*(large|limit)'
check "...no temporary file left" [ -z "$(matching "$tmp/runs/d28-limit" '\.tmp-')" ]
check "...results.csv as it was" cmp -s "$tmp/results-before.csv" "$tmp/runs/d28-limit/results.csv"
expect 1 "GIFs beyond the file-size limit" with_file_limit 1 $complete --checkpoint "$run/model.ckpt" --data $data --out-dir "$tmp/limit-gifs/a/b" --count 2
check "...one line naming the GIF" one_line_naming 'limit-gifs/a/b/.*\.gif.*(large|limit)'
check "...no directory left that it created and left empty" [ ! -e "$tmp/limit-gifs" ]
# The limit holds for stdout and stderr (files here) too: the row must need more than they do.
long_dir="$tmp/$(printf '%0200d' 0)/$(printf '%0200d' 1)"
mkdir -p "$long_dir" && cp "$run/model.ckpt" "$long_dir/"
expect 1 "--metrics-csv beyond the file-size limit" with_file_limit 1 $complete --checkpoint "$long_dir/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --metrics-csv "$tmp/limit.csv"
check "...one line naming the file" one_line_naming 'limit\.csv.*(large|limit)'
check "...no file left" [ ! -e "$tmp/limit.csv" ]
head -c 1000 /dev/zero | tr '\0' x >"$tmp/limit.csv"
cp "$tmp/limit.csv" "$tmp/limit-before.csv"
expect 1 "...appending to a file" with_file_limit 1 $complete --checkpoint "$run/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --metrics-csv "$tmp/limit.csv"
check "...leaves it as it was" cmp -s "$tmp/limit.csv" "$tmp/limit-before.csv"

# A full disk (a small tmpfs): --metrics-csv leaves no empty file, and an existing file whole.
mkdir -p "$tmp/full" "$tmp/seed"
full_disk "$tmp/full" true
if [ $? -eq 77 ]; then
    echo "skipped: the full-disk tests (no privilege to mount a tmpfs)"
else
    expect 1 "--metrics-csv on a full disk" full_disk "$tmp/full" $complete --checkpoint "$run/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --metrics-csv "$tmp/full/m.csv"
    check "...one line naming the file" one_line_naming 'full/m\.csv.*No space'
    check "...no empty file left" [ ! -s "$tmp/listing" ]
    # 4096 bytes: a row more needs a new page of the tmpfs
    awk 'BEGIN { s = sprintf("%4074s", ""); gsub(/ /, "x", s); print "checkpoint,sequences"; print s }' >"$tmp/seed/m.csv"
    expect 1 "...appending to a file" full_disk "$tmp/full" $complete --checkpoint "$run/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --metrics-csv "$tmp/full/m.csv"
    check "...leaves it as it was" [ "$(cat "$tmp/listing")" = "$(cd "$tmp/seed" && cksum m.csv)" ]
fi

# ---- a user's own sequences: .npy files of the order-2 Markov chain of tests/markov.h ----------
markov="$tmp/markov"
mkdir -p "$markov"
truth=$("$make_markov" "$markov")
expect 0 "train on a directory of train.npy and test.npy" $train --data "$markov" --out-dir "$tmp/runs" --exp-name markov --hidden 16 --start-step --loss bce --lr 0.01 --epochs 4 --threads 2 --quiet
nll=$(tail -n 1 "$tmp/runs/markov/results.csv" | cut -d, -f8)
echo "    test NLL $nll nats per sequence, the chain's $truth"
check "...test NLL within 1% of the chain's exact NLL" awk -v a="$nll" -v b="$truth" 'BEGIN { exit !(a < 1.01 * b && a > 0.97 * b) }'
check "...no labels: label kept not measured" [ "$(tail -n 1 "$tmp/runs/markov/results.csv" | cut -d, -f10)" = nan ]
check "...config.txt says half of a sequence is given to completion" grep -qx 'eval-given half' "$tmp/runs/markov/config.txt"
expect 0 "...completes sequences of 200 single bits, named by index" $complete --checkpoint "$tmp/runs/markov/model.ckpt" --data "$markov" --out-dir "$tmp/markov-gifs" --count 3 --scale 1 --metrics --test-limit 50
check "...three GIFs 0000.gif to 0002.gif" [ "$(ls "$tmp/markov-gifs" | grep -Ec '^000[0-2]\.gif$')" -eq 3 ]
check "...each of 3 panels of the 200 bits wrapped into 14 rows of 15" is_gif "$tmp/markov-gifs/0000.gif" 49 14
check "...metrics without label kept, 100 of 200 units given" sh -c "grep -q 'over 50 test sequences, 100 of 200 units' '$tmp/out' && ! grep -q 'label kept' '$tmp/out'"
small="--train-limit 64 --test-limit 20 --hidden 8 --threads 1 --quiet"
expect 0 "a .npy file with --test" $train --data "$markov/train.npy" --test "$markov/test.npy" $small --out-dir "$tmp/runs" --exp-name markov-files --epochs 1
expect 0 "...resumes from the checkpoint alone (data and test files recorded)" $train --out-dir "$tmp/runs" --exp-name markov-files --resume --epochs 2 --quiet
check "...config.txt names the test file" grep -qx "test $markov/test.npy" "$tmp/runs/markov-files/config.txt"
expect 1 "a .npy file without --test" $train --data "$markov/train.npy" $small --out-dir "$tmp/runs" --exp-name markov-notest --epochs 1
check "...says to give --test" one_line_naming 'give the test sequences with --test'
mkdir -p "$tmp/markov150"
"$make_markov" "$tmp/markov150" 100 50 150 >/dev/null
expect 2 "training and test sequences of different lengths" $train --data "$markov/train.npy" --test "$tmp/markov150/test.npy" $small --out-dir "$tmp/runs" --exp-name mixed --epochs 1
check "...in one line, then how to get help" usage_error seqgen-train
check "...names both shapes" grep -q 'test sequences (150 steps of 1 units) are not of the training sequences. shape (200 of 1)' "$tmp/err"
expect 1 "the Markov model on MNIST (sequences of another length)" $complete --checkpoint "$tmp/runs/markov/model.ckpt" --data $data --out-dir "$tmp/x-markov" --count 1 --given 100
check "...names both lengths" one_line_naming 'for sequences of 200 steps, these have 784'
check "...found before any work: no output directory" [ ! -e "$tmp/x-markov" ]
expect 1 "...also without pictures" $complete --checkpoint "$tmp/runs/markov/model.ckpt" --data $data --no-gif --metrics --given 100
check "...names both lengths" one_line_naming 'for sequences of 200 steps'
mkdir -p "$tmp/cut"
head -c 50000 "$markov/train.npy" >"$tmp/cut/train.npy"
cp "$markov/test.npy" "$tmp/cut/test.npy"
expect 1 "a truncated train.npy" $train --data "$tmp/cut" $small --out-dir "$tmp/runs" --exp-name cut --epochs 1
check "...names the file and how much is missing" one_line_naming 'cut/train\.npy.*(truncat|announce|bytes)'
# magic, version 1.0, a header of 118 bytes (0x76: the dict padded with spaces, then a newline)
printf '\223NUMPY\001\000\166\000' >"$tmp/cut/train.npy"
printf '%-117s\n' "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" >>"$tmp/cut/train.npy"
head -c 24 /dev/zero >>"$tmp/cut/train.npy"
expect 1 "a float32 train.npy" $train --data "$tmp/cut" $small --out-dir "$tmp/runs" --exp-name float --epochs 1
check "...names the file and the dtype" one_line_naming 'cut/train\.npy.*f4'
expect 2 "--units-per-step 3 on sequences of 200 steps of 1" $train --data "$markov" $small --out-dir "$tmp/runs" --exp-name d3 --units-per-step 3
check "...in one line, then how to get help" usage_error seqgen-train
check "...names both" grep -q 'units-per-step 3 must be a multiple of the data.s 1 units per step' "$tmp/err"

# ---- usage errors: exit 2, the reason and how to get help ------------------------------------------
expect 2 "unknown option" $train --bogus
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "--hidden 0" $train --hidden 0
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "--loss foo" $train --loss foo
check "...in one line, then how to get help" usage_error seqgen-train
check "...names the choices" grep -q 'mse|bce' "$tmp/err"
expect 2 "--lr abc" $train --lr abc
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "--resume with a model option" $train --out-dir "$tmp/runs" --exp-name straight --resume --hidden 16
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "--exp-name with a slash" $train --exp-name a/b
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "a schedule the library refuses (exp with k = 2)" $train --schedule exp --sched-k 2
check "...in one line, then how to get help" usage_error seqgen-train
check "...names the bound" grep -q 'k' "$tmp/err"
expect 2 "--pixels-per-step 5 (does not divide 784)" $train $tiny --out-dir "$tmp/runs" --exp-name d5 --pixels-per-step 5
check "...in one line, then how to get help" usage_error seqgen-train
expect 2 "complete without --checkpoint" $complete --data $data
check "...in one line, then how to get help" usage_error seqgen-complete
expect 2 "--count and --indices together" $complete --checkpoint "$run/model.ckpt" --count 2 --indices 1
check "...in one line, then how to get help" usage_error seqgen-complete
expect 2 "--indices 1,x" $complete --checkpoint "$run/model.ckpt" --data $data --indices 1,x --out-dir "$tmp/x"
check "...in one line, then how to get help" usage_error seqgen-complete
expect 2 "--given 785 (beyond the 784 pixels)" $complete --checkpoint "$run/model.ckpt" --data $data --given 785 --no-gif --metrics
check "...in one line, then how to get help" usage_error seqgen-complete
expect 2 "--scale 0" $complete --checkpoint "$run/model.ckpt" --scale 0
check "...in one line, then how to get help" usage_error seqgen-complete
expect 2 "--temperature 0" $complete --checkpoint "$run/model.ckpt" --temperature 0
check "...in one line, then how to get help" usage_error seqgen-complete
expect 2 "unexpected argument" $complete --checkpoint "$run/model.ckpt" extra
check "...in one line, then how to get help" usage_error seqgen-complete
# seqgen-complete checks everything it was asked before any work: a run asked for nothing, or for
# what cannot be done, is refused at once.
expect 2 "--no-gif without --metrics: asked for nothing" $complete --checkpoint "$run/model.ckpt" --data $data --no-gif
check "...in one line, then how to get help" usage_error seqgen-complete
check "...naming --metrics" grep -q -- '--metrics' "$tmp/err"
for indices in '' -1 '1,,2' '1,' ',1' 1x; do
    expect 2 "--indices '$indices', refused before the checkpoint is read" $complete --checkpoint "$tmp/none.ckpt" --data $data --indices "$indices"
    check "...in one line, then how to get help" usage_error seqgen-complete
done
expect 2 "--indices with --no-gif (it chooses the pictures)" $complete --checkpoint "$run/model.ckpt" --data $data --no-gif --metrics --indices 3
check "...in one line, then how to get help" usage_error seqgen-complete
check "...naming --indices" grep -q -- '--indices' "$tmp/err"
expect 2 "an overview taller than a GIF can be (--scale 64 --count 40 --columns 1)" timeout 20 $complete --checkpoint "$run/model.ckpt" --data $data --scale 64 --count 40 --columns 1 --out-dir "$tmp/huge"
check "...in one line, then how to get help" usage_error seqgen-complete
check "...before any work: nothing written" [ ! -e "$tmp/huge" ]

# ---- runtime errors: exit 1 and one line naming the cause -----------------------------------------
expect 1 "missing checkpoint" $complete --checkpoint "$tmp/none.ckpt" --data $data --out-dir "$tmp/x"
check "...names the file" one_line_naming 'none\.ckpt'
cp "$run/model.ckpt" "$tmp/corrupt.ckpt"
size=$(wc -c <"$tmp/corrupt.ckpt")
printf '\377' | dd of="$tmp/corrupt.ckpt" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect 1 "corrupt checkpoint (one byte changed)" $complete --checkpoint "$tmp/corrupt.ckpt" --data $data --out-dir "$tmp/x"
check "...names the file and the damage" one_line_naming 'corrupt\.ckpt.*(CRC|checksum|damaged)'
head -c $((size - 7)) "$run/model.ckpt" >"$tmp/short.ckpt"
expect 1 "truncated checkpoint" $complete --checkpoint "$tmp/short.ckpt" --data $data --out-dir "$tmp/x"
check "...names the file" one_line_naming 'short\.ckpt'
printf 'not a checkpoint\n' >"$tmp/text.ckpt"
expect 1 "a text file as checkpoint" $complete --checkpoint "$tmp/text.ckpt" --data $data --out-dir "$tmp/x"
check "...names the file" one_line_naming 'text\.ckpt'
mkdir -p "$tmp/empty"
expect 1 "train on a directory without MNIST files" $train --data "$tmp/empty" --out-dir "$tmp/runs" --exp-name nodata
check "...names the directory" one_line_naming "$tmp/empty"
expect 1 "complete on a directory without MNIST files" $complete --checkpoint "$run/model.ckpt" --data "$tmp/empty" --out-dir "$tmp/x"
check "...names the directory" one_line_naming "$tmp/empty"
# Without --data: $SEQGEN_DATA, else the bundled digits in ./data/mnist10k, else where make
# install put them (the path --help names). When neither is there, the message says how to
# choose the data.
expect 1 "SEQGEN_DATA naming a directory that does not exist" env SEQGEN_DATA="$tmp/nowhere" $train --out-dir "$tmp/runs" --exp-name env-data
check "...one line naming it, SEQGEN_DATA and --data" one_line_naming 'nowhere.*SEQGEN_DATA.*--data'
mkdir -p "$tmp/elsewhere"
case $train in /*) train_path=$train ;; *) train_path=$PWD/$train ;; esac
installed=$($train --help | grep -o '[^ ]*/seqgen/mnist10k$')
if [ -n "$installed" ] && [ -d "$installed" ]; then
    echo "skipped: the programs without data (the digits are installed in $installed)"
else
    expect 1 "run outside the source tree without --data, the digits not installed" sh -c "cd '$tmp/elsewhere' && exec env -u SEQGEN_DATA '$train_path' --quiet --epochs 1"
    check "...one line naming --data and SEQGEN_DATA" one_line_naming '--data.*SEQGEN_DATA'
    check "...and where it looked" one_line_naming "data/mnist10k.*${installed:-/seqgen/mnist10k}"
    check "...having created nothing" [ -z "$(ls -A "$tmp/elsewhere")" ]
fi
expect 1 "resume a run that does not exist" $train --out-dir "$tmp/runs" --exp-name never --resume
check "...names its model.ckpt" one_line_naming 'never/model\.ckpt'
expect 1 "--indices beyond the test set" $complete --checkpoint "$run/model.ckpt" --data $data --indices 5,997 --out-dir "$tmp/x997"
check "...says so" one_line_naming '997'
check "...before any work: no output directory" [ ! -e "$tmp/x997" ]
expect 1 "--metrics-csv in a directory that does not exist" $complete --checkpoint "$run/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --metrics-csv "$tmp/no/such/m.csv"
check "...names it" one_line_naming 'no/such/m\.csv'
check "...before any work: no metrics computed" [ ! -s "$tmp/out" ]

# ---- seqgen-convert: checkpoints to safetensors and back -----------------------------------------
convert="$bin/seqgen-convert"
st="$tmp/convert"
mkdir -p "$st"
expect 0 "convert a training checkpoint to safetensors" $convert "$run/model.ckpt" "$st/a.safetensors"
check "...says which way and the model" grep -q 'checkpoint to safetensors, D 1, H 8, L 1' "$tmp/out"
expect 0 "convert it back to a model checkpoint" $convert "$st/a.safetensors" "$st/a.ckpt"
check "...the direction told by the content, not the name" grep -q 'safetensors to model checkpoint' "$tmp/out"
expect 0 "and to safetensors again" $convert "$st/a.ckpt" "$st/b.safetensors"
check "...byte for byte the first file: the round trip is exact" cmp -s "$st/a.safetensors" "$st/b.safetensors"
expect 0 "the original project's names under a prefix" $convert --prefix model. --gru rnn --linear linear "$run/model.ckpt" "$st/orig.safetensors"
check "...rnn.weight_ih_l0 and linear.bias in the header" sh -c "grep -q '\"model.rnn.weight_ih_l0\"' '$st/orig.safetensors' && grep -q '\"model.linear.bias\"' '$st/orig.safetensors'"
expect 0 "...back with the same names" $convert --prefix model. --gru rnn --linear linear "$st/orig.safetensors" "$st/orig.ckpt"
check "...the same model checkpoint as from the default names" cmp -s "$st/a.ckpt" "$st/orig.ckpt"
expect 0 "the completions of the converted model equal the original's" $complete --checkpoint "$st/a.ckpt" --data $data --no-gif --metrics --test-limit 20 --given 392
grep 'over 20 test images' "$tmp/out" > "$st/converted.metrics"
expect 0 "...(the original's)" $complete --checkpoint "$run/model.ckpt" --data $data --no-gif --metrics --test-limit 20 --given 392
check "...the same metrics" sh -c "grep 'over 20 test images' '$tmp/out' | cmp -s - '$st/converted.metrics'"
expect 1 "safetensors with other names" $convert "$st/orig.safetensors" "$st/x.ckpt"
check "...one line naming the tensor looked for and the file's first" one_line_naming 'no tensor "weight_ih_l0".*first tensor is "model.rnn.weight_ih_l0"'
check "...writing nothing" [ ! -e "$st/x.ckpt" ]
printf 'not a model at all' > "$st/junk"
expect 1 "an input that is neither" $convert "$st/junk" "$st/x.ckpt"
check "...one line naming the file" one_line_naming 'junk: header length'
expect 1 "an input that does not exist" $convert "$st/none" "$st/x.ckpt"
check "...one line naming it" one_line_naming 'none: no such file'
expect 1 "an output directory that does not exist" $convert "$run/model.ckpt" "$st/no/such/x.safetensors"
check "...one line naming it" one_line_naming 'no/such'
expect 2 "one argument" $convert "$run/model.ckpt"
check "...is a usage error" usage_error seqgen-convert
expect 2 "--steps with a checkpoint" $convert --steps 784 "$run/model.ckpt" "$st/x.safetensors"
check "...is a usage error" usage_error seqgen-convert
expect 2 "--steps not a number" $convert --steps x "$st/a.safetensors" "$st/x.ckpt"
check "...is a usage error" usage_error seqgen-convert
expect 0 "--help" $convert --help
check "...shows the options" grep -q -- '--linear NAME' "$tmp/out"

# ---- the study's script (scripts/experiments.sh), a seconds-long smoke run ------------------------
study="$tmp/study"
expect 0 "experiments.sh smoke run of three configurations" env EXP_SMOKE=1 EXP_EPOCHS=3 \
    EXP_DIR="$study" sh scripts/experiments.sh "$bin" baseline-s1 ss-exp-sample d2
check "...summarises all three in summary.md" \
    [ "$(grep -Ec '^\| (baseline-s1|ss-exp-sample|d2) \|' "$study/summary.md")" -eq 3 ]
check "...evaluates each: 2 givens x (greedy + 2 temperatures) + stochastic NLL" \
    [ "$(rows "$study/d2/metrics.csv")" -eq 7 ]
check "...scheduled sampling is at its floor p = 0.5 through the last third" \
    [ "$(tail -n 1 "$study/ss-exp-sample/results.csv" | cut -d, -f4)" = 0.500000 ]
expect 0 "experiments.sh run again: nothing to redo" env EXP_SMOKE=1 EXP_EPOCHS=3 \
    EXP_DIR="$study" sh scripts/experiments.sh "$bin" d2
check "...and the metrics are not appended twice" [ "$(rows "$study/d2/metrics.csv")" -eq 7 ]
expect 0 "experiments.sh EXP_SPEED=0: trains and evaluates" env EXP_SMOKE=1 EXP_EPOCHS=1 \
    EXP_SPEED=0 EXP_DIR="$study" sh scripts/experiments.sh "$bin" bce
check "...but times nothing (the first runs were timed)" \
    sh -c "[ -f '$study/bce/metrics.csv.done' ] && [ ! -e '$study/speed/bce' ] && [ -f '$study/speed/d2/results.csv' ]"

# ---- seqgen-text: a character model of a text file of words ------------------------------------
text="$bin/seqgen-text"
tw="$tmp/text"
mkdir -p "$tw"
# 400 words of one to three syllables of a made-up language: 12 letters, V = 13 with the end.
awk 'BEGIN { srand(7); n = split("ka lo mi nu ta re so", s, " ");
    for (i = 0; i < 400; i++) { w = ""; k = 1 + int(rand() * 3);
        for (j = 0; j < k; j++) w = w s[1 + int(rand() * n)]; print w } }' >"$tw/words.txt"
letters=$(fold -w1 "$tw/words.txt" | sort -u | tr -d '\n')
tiny_text="--text $tw/words.txt --out-dir $tw/runs --hidden 16 --embedding 8 --epochs 3 --batch-size 16 --lr 0.01 --threads 1 --quiet"
expect 0 "seqgen-text --help" $text --help
check "...shows both commands" sh -c "grep -q '^Usage: seqgen-text train' '$tmp/out' && grep -q 'seqgen-text generate' '$tmp/out'"
expect 0 "seqgen-text --version" $text --version
check "...names the version" grep -Eq '[0-9]+\.[0-9]+\.[0-9]+' "$tmp/out"
expect 0 "seqgen-text train: 3 epochs on 400 words" $text train $tiny_text --exp-name words
trun="$tw/runs/words"
check "results.csv has a header and 3 rows" [ "$(rows "$trun/results.csv")" -eq 3 ]
check "...with the NLL in nats and bits per symbol and per line" \
    grep -q '^epoch,iterations,seconds,train_loss,test_nll_nats_per_symbol,test_nll_bits_per_symbol,test_nll_nats_per_line,' "$trun/results.csv"
check "config.txt records the command line and V = 13" \
    sh -c "grep -q -- '--exp-name words' '$trun/config.txt' && grep -qx 'vocab 13' '$trun/config.txt'"
check "model.ckpt written" [ -s "$trun/model.ckpt" ]
check "the held-out NLL per symbol falls, below log V = log 13" \
    awk -F, 'NR == 2 { first = $5 } NR == 4 { last = $5 } END { exit !(last < first && last < log(13)) }' "$trun/results.csv"
check "...and bits per symbol are nats / log 2" \
    awk -F, 'NR > 1 { d = $6 - $5 / log(2); if (d > 1e-5 || d < -1e-5) bad = 1 } END { exit bad }' "$trun/results.csv"
check "...and the completion of the held-out lines: symbol error, exact lines, mean lengths, copies" \
    sh -c "grep -q '^epoch,.*,eval_seconds,completion_symbol_error,completion_exact,completion_mean_generated,completion_mean_true,completion_copies\$' '$trun/results.csv' && awk -F, 'NR > 1 { if (!(\$10 >= 0 && \$11 >= 0 && \$11 <= 1 && \$12 >= 0 && \$13 >= 1 && \$14 >= 0 && \$14 <= 1)) bad = 1 } END { exit bad }' '$trun/results.csv'"
expect 1 "a second run into the same directory is refused" $text train $tiny_text --exp-name words
check "...naming --force" one_line_naming 'exists.*--force'
expect 0 "...and --force starts over" $text train $tiny_text --exp-name words --force
check "...with the same results (same seed)" [ "$(rows "$trun/results.csv")" -eq 3 ]
# Exact resume: 1 epoch, then --resume to 3, from model.ckpt alone.
expect 0 "seqgen-text train 1 epoch" $text train $tiny_text --exp-name words-resumed --epochs 1
expect 0 "seqgen-text train --resume to 3 epochs" $text train --out-dir "$tw/runs" --exp-name words-resumed --resume --epochs 3 --quiet
check "...model.ckpt equals the straight run's, byte for byte" cmp -s "$trun/model.ckpt" "$tw/runs/words-resumed/model.ckpt"
check "...results.csv equals the straight run's (timings aside)" \
    sh -c "[ \"\$(cut -d, -f1,2,4-7 '$trun/results.csv')\" = \"\$(cut -d, -f1,2,4-7 '$tw/runs/words-resumed/results.csv')\" ]"
expect 0 "resume when all epochs are done does nothing" $text train --out-dir "$tw/runs" --exp-name words-resumed --resume --epochs 3 --quiet
check "...and adds no row" [ "$(rows "$tw/runs/words-resumed/results.csv")" -eq 3 ]
expect 2 "--resume with a model option" $text train --out-dir "$tw/runs" --exp-name words-resumed --resume --hidden 8
check "...is a usage error" usage_error seqgen-text
expect 1 "--resume of a run that does not exist" $text train --out-dir "$tw/runs" --exp-name never --resume
check "...one line naming its model.ckpt" one_line_naming 'never/model.ckpt: no such file'
expect 1 "--resume of a seqgen-train run" $text train --out-dir "$tmp/runs" --exp-name resumed --resume
check "...one line: not a text run" one_line_naming 'not a training checkpoint of seqgen-text'
expect 1 "seqgen-train --resume of a text run" $train --out-dir "$tw/runs" --exp-name words-resumed --resume
check "...one line: not its run" one_line_naming 'not a training checkpoint of seqgen-train'
# A text that changed since is refused, whatever changed.
cp "$tw/words.txt" "$tw/changing.txt"
expect 0 "a run of 1 epoch on a copy of the words" $text train $tiny_text --text "$tw/changing.txt" --exp-name changing --epochs 1
cp "$tw/runs/changing/model.ckpt" "$tw/changing.ckpt"
# the first line's first syllable swapped for another: the same letters, count and lengths
awk 'NR == 1 { $0 = (substr($0, 1, 2) == "ka" ? "lo" : "ka") substr($0, 3) } 1' "$tw/words.txt" >"$tw/changing.txt"
expect 1 "--resume after a line of the text changed" $text train --out-dir "$tw/runs" --exp-name changing --resume --epochs 2
check "...one line: not the text of the run, its lines differ" one_line_naming 'changing.txt is not the text the run was trained on \(its lines differ\)'
check "...and the checkpoint is left as it was" cmp -s "$tw/changing.ckpt" "$tw/runs/changing/model.ckpt"
{ cat "$tw/words.txt"; echo kaka; } >"$tw/changing.txt"
expect 1 "--resume after a line was added" $text train --out-dir "$tw/runs" --exp-name changing --resume --epochs 2
check "...one line: its number of lines differs" one_line_naming 'changing.txt is not the text .*number of training lines'
{ cat "$tw/words.txt"; echo 'kaé'; } >"$tw/changing.txt"
expect 1 "--resume after a new character" $text train --out-dir "$tw/runs" --exp-name changing --resume --epochs 2
check "...one line: its characters differ" one_line_naming 'changing.txt is not the text .*characters differ'
cp "$tw/words.txt" "$tw/changing.txt"
expect 0 "...and with the text as it was, it resumes" $text train --out-dir "$tw/runs" --exp-name changing --resume --epochs 2 --quiet
check "...to 2 rows" [ "$(rows "$tw/runs/changing/results.csv")" -eq 2 ]
# Ctrl-C or SIGTERM: the batch is finished, the training state saved, exit 130; --resume then
# ends with the model of the run that was never interrupted.
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do cat "$tw/words.txt"; done >"$tw/many.txt"
many="--text $tw/many.txt --out-dir $tw/runs --hidden 16 --embedding 8 --epochs 40 --threads 1 --quiet"
expect 0 "straight run for the interruption tests" $text train $many --exp-name many
for signal in INT TERM; do
    $text train $many --exp-name "interrupted-$signal" 2>"$tmp/err" &
    pid=$!
    tries=0
    while [ ! -s "$tw/runs/interrupted-$signal/results.csv" ] && [ $tries -lt 600 ]; do
        sleep 0.05
        tries=$((tries + 1))
    done
    kill -$signal $pid
    wait $pid
    status=$?
    if [ $status -eq 130 ]; then
        ok "seqgen-text train: SIG$signal saves and exits 130"
        check "...saying where it saved and how to continue" one_line_naming 'interrupted .*saved .*model.ckpt.*--resume'
        expect 0 "...and the saved model generates" $text generate --checkpoint "$tw/runs/interrupted-$signal/model.ckpt" --count 5
        check "...5 lines" [ "$(wc -l <"$tmp/out")" -eq 5 ]
        expect 0 "resume after SIG$signal" $text train --out-dir "$tw/runs" --exp-name "interrupted-$signal" --resume --quiet
        check "...ends with the model of the uninterrupted run" cmp -s "$tw/runs/many/model.ckpt" "$tw/runs/interrupted-$signal/model.ckpt"
        check "...and its rows (timings aside)" \
            sh -c "[ \"\$(cut -d, -f1,2,5-7 '$tw/runs/many/results.csv')\" = \"\$(cut -d, -f1,2,5-7 '$tw/runs/interrupted-$signal/results.csv')\" ]"
    elif [ $status -eq 0 ]; then
        ok "SIG$signal arrived after the run ended (machine fast): nothing to check"
    else
        echo "    exit $status"; not_ok "seqgen-text train: SIG$signal saves and exits 130"
    fi
done
expect 0 "generate 50 words" $text generate --checkpoint "$trun/model.ckpt" --count 50 --seed 3
cp "$tmp/out" "$tw/gen1"
check "...50 lines" [ "$(wc -l <"$tw/gen1")" -eq 50 ]
check "...made only of the vocabulary's letters" sh -c "! grep -q '[^$letters]' '$tw/gen1'"
expect 0 "generate again with the same seed and 2 threads" $text generate --checkpoint "$trun/model.ckpt" --count 50 --seed 3 --threads 2
check "...gives the same words" cmp -s "$tw/gen1" "$tmp/out"
expect 0 "generate with another seed" $text generate --checkpoint "$trun/model.ckpt" --count 50 --seed 4
check "...gives other words" sh -c "! cmp -s '$tw/gen1' '$tmp/out'"
expect 0 "generate with --prefix ka --top-k 3 --temperature 0.7" $text generate --checkpoint "$trun/model.ckpt" --count 20 --prefix ka --top-k 3 --temperature 0.7
check "...every line starts with the prefix" [ "$(grep -c '^ka' "$tmp/out")" -eq 20 ]
expect 0 "generate --greedy" $text generate --checkpoint "$trun/model.ckpt" --count 3 --greedy --max-length 4
check "...the same line three times, at most 4 letters" sh -c "[ \$(sort -u '$tmp/out' | wc -l) -eq 1 ] && [ \$(head -n 1 '$tmp/out' | wc -c) -le 5 ]"
expect 0 "generate --max-length 1 after a prefix" $text generate --checkpoint "$trun/model.ckpt" --count 20 --prefix kaka --max-length 1
check "...at most one character after it" [ "$(awk '{ print length($0) }' "$tmp/out" | sort -n | tail -n 1)" -le 5 ]
expect 1 "a prefix outside the vocabulary" $text generate --checkpoint "$trun/model.ckpt" --prefix 'kaé'
check "...one line naming the character" one_line_naming "prefix.*U\+00E9"
expect 1 "a checkpoint of binary units (MNIST) given to generate" $text generate --checkpoint "$run/model.ckpt"
check "...one line: no vocabulary" one_line_naming 'no vocabulary.*not a model of text'
expect 1 "a checkpoint that does not exist" $text generate --checkpoint "$tw/none.ckpt"
check "...one line naming it" one_line_naming 'none.ckpt: no such file'
expect 1 "a text file that does not exist" $text train --text "$tw/none.txt" --out-dir "$tw/runs" --exp-name bad
check "...one line naming it" one_line_naming 'none.txt: no such file'
check "...and no run directory left" [ ! -e "$tw/runs/bad" ]
printf 'ka\nlo\000mi\n' >"$tw/binary.txt"
expect 1 "a binary file (a NUL byte)" $text train --text "$tw/binary.txt" --out-dir "$tw/runs" --exp-name bad
check "...one line naming the line and the NUL" one_line_naming 'binary.txt: line 2.*NUL'
: >"$tw/empty.txt"
expect 1 "an empty file" $text train --text "$tw/empty.txt" --out-dir "$tw/runs" --exp-name bad
check "...one line saying so" one_line_naming 'empty.txt: the file is empty'
expect 2 "no command" $text
check "...is a usage error" usage_error seqgen-text
expect 2 "an unknown command" $text fit --text "$tw/words.txt"
check "...is a usage error" usage_error seqgen-text
expect 2 "train without --text" $text train --out-dir "$tw/runs"
check "...is a usage error" usage_error seqgen-text
expect 2 "train --hidden 0" $text train $tiny_text --hidden 0
check "...is a usage error" usage_error seqgen-text
expect 2 "train --holdout-every 1" $text train $tiny_text --holdout-every 1
check "...is a usage error" usage_error seqgen-text
expect 2 "train --lr x" $text train $tiny_text --lr x
check "...is a usage error" usage_error seqgen-text
expect 2 "train with an extra argument" $text train $tiny_text extra
check "...is a usage error" usage_error seqgen-text
expect 2 "generate without --checkpoint" $text generate --count 3
check "...is a usage error" usage_error seqgen-text
expect 2 "generate --top-p 0" $text generate --checkpoint "$trun/model.ckpt" --top-p 0
check "...is a usage error" usage_error seqgen-text
expect 2 "generate --temperature 0" $text generate --checkpoint "$trun/model.ckpt" --temperature 0
check "...is a usage error" usage_error seqgen-text
expect 2 "generate --count 0" $text generate --checkpoint "$trun/model.ckpt" --count 0
check "...is a usage error" usage_error seqgen-text
expect 2 "an option of train given to generate" $text generate --checkpoint "$trun/model.ckpt" --text "$tw/words.txt"
check "...is a usage error" usage_error seqgen-text

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
