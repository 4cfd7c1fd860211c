#!/bin/sh
# seqgen-train-mpi on this machine (loopback): 2 ranks against 1 process with the whole batch,
# ranks x threads, one set of files, resuming with the same and another number of ranks, a rank
# killed with -9, an error on one rank, and stopping with SIGUSR1 and Ctrl-C (docs/distributed.md).
# Usage: sh tests/mpi_test.sh [BUILD]   (from the repository root; BUILD = build)
set -u
build=${1:-build}
train="$build/bin/seqgen-train"
mpi="$build/bin/seqgen-train-mpi"
compare="$build/tests/compare_params"
tmp=$(mktemp -d)
trap 'pkill -9 -f "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"
. tests/checks.sh

# mpirun as root, more ranks than cores allowed, its own session (so that a background run
# still gets the signals this test sends it).
run_mpi() { np=$1; shift; setsid mpirun --allow-run-as-root --oversubscribe -np "$np" "$@"; }
# The largest parameter difference of two checkpoints relative to each tensor's largest value,
# and "identical" when they are the same bit for bit (tests/compare_params.c).
differ() { "$compare" "$1" "$2"; }
within() { awk -v d="$(differ "$1" "$2" | cut -d' ' -f1)" -v t="$3" 'BEGIN { exit !(d <= t) }'; }
identical() { differ "$1" "$2" | grep -q identical; }

# The communication layer alone (tests/comm_test.c), 3 ranks; rank 1's message alone printed.
expect 0 "the communication layer, 3 ranks" run_mpi 3 "$build/tests/comm_test"
sed 's/^/    /' "$tmp/out"
check "...only the failing rank's message printed" \
    sh -c "[ \"\$(grep comm_test: $tmp/err)\" = 'comm_test: message of rank 1 (rank 1: the first to fail, so printed)' ]"

# 300 iterations: 50 batches of 64 a epoch for 6 epochs, rows of 28 pixels.
run="--hidden 32 --units-per-step 28 --train-limit 3200 --test-limit 100 --quiet --out-dir $tmp"

expect 0 "1 process, 2 threads" "$train" $run --exp-name one2 --epochs 6 --threads 2
expect 0 "1 process, 1 thread" "$train" $run --exp-name one1 --epochs 6 --threads 1
expect 0 "2 ranks x 1 thread" run_mpi 2 "$mpi" $run --exp-name two --epochs 6 --threads 1
echo "    2 ranks against 1 process, 2 threads: $(differ "$tmp/one2/model.ckpt" "$tmp/two/model.ckpt")"
echo "    2 ranks against 1 process, 1 thread:  $(differ "$tmp/one1/model.ckpt" "$tmp/two/model.ckpt")"
check "...its parameters equal one process's with the whole batch within 1e-5 (1 thread)" \
    within "$tmp/one1/model.ckpt" "$tmp/two/model.ckpt" 1e-5
check "...and bit for bit those of one process with 2 threads (the same 2 slices of 32)" \
    identical "$tmp/one2/model.ckpt" "$tmp/two/model.ckpt"
check "...the same test NLL in every epoch's row" \
    sh -c "[ \"\$(cut -d, -f8 $tmp/one2/results.csv)\" = \"\$(cut -d, -f8 $tmp/two/results.csv)\" ]"
check "...one checkpoint, one results.csv, one config.txt and nothing else" \
    sh -c "[ \"\$(ls -A $tmp/two | tr '\n' ' ')\" = 'config.txt model.ckpt results.csv ' ]"
check "...results.csv has a header and one row per epoch, written once" \
    sh -c "[ \$(wc -l < $tmp/two/results.csv) -eq 7 ]"
check "...the ranks' parameters were compared each epoch (no 'differ' message)" \
    sh -c "! grep -q differ $tmp/err"

expect 0 "2 ranks x 2 threads" run_mpi 2 "$mpi" $run --exp-name two2 --epochs 6 --threads 2
echo "    2 ranks x 2 threads against 1 process, 1 thread: $(differ "$tmp/one1/model.ckpt" "$tmp/two2/model.ckpt")"
check "...equal within 1e-5" within "$tmp/one1/model.ckpt" "$tmp/two2/model.ckpt" 1e-5

expect 0 "3 ranks, scheduled sampling (p from 1 to 0.5)" run_mpi 3 "$mpi" $run --exp-name three \
    --epochs 2 --threads 1 --schedule linear --sched-k 1 --sched-c 0.005 --sched-eps 0.5
expect 0 "...1 process, the same" "$train" $run --exp-name three1 --epochs 2 --threads 1 \
    --schedule linear --sched-k 1 --sched-c 0.005 --sched-eps 0.5
echo "    3 ranks against 1 process with scheduled sampling: $(differ "$tmp/three1/model.ckpt" "$tmp/three/model.ckpt")"
check "...the same coins: equal within 1e-5" within "$tmp/three1/model.ckpt" "$tmp/three/model.ckpt" 1e-5
check "...the same teacher-forced fractions" \
    sh -c "[ \"\$(cut -d, -f5 $tmp/three/results.csv)\" = \"\$(cut -d, -f5 $tmp/three1/results.csv)\" ]"

# Resuming: 3 epochs, then 3 more, with 2 ranks and with 1 process.
expect 0 "2 ranks, 3 epochs" run_mpi 2 "$mpi" $run --exp-name res --epochs 3 --threads 1
cp -R "$tmp/res" "$tmp/res1"
expect 0 "...resumed with 2 ranks to 6 epochs" run_mpi 2 "$mpi" --out-dir "$tmp" --exp-name res \
    --resume --epochs 6 --quiet
check "...equals the uninterrupted 2-rank run bit for bit" identical "$tmp/two/model.ckpt" "$tmp/res/model.ckpt"
check "...results.csv: the same rows (but for the timings)" \
    sh -c "[ \"\$(cut -d, -f1,2,4-10,13,14 $tmp/two/results.csv)\" = \"\$(cut -d, -f1,2,4-10,13,14 $tmp/res/results.csv)\" ]"
expect 0 "...resumed instead by 1 process with 1 thread" "$train" --out-dir "$tmp" \
    --exp-name res1 --resume --epochs 6 --quiet --threads 1
check "...equal within 1e-5" within "$tmp/two/model.ckpt" "$tmp/res1/model.ckpt" 1e-5

# A rank killed with -9 in the middle of a run: the others end non-zero, the last checkpoint loads.
long="--hidden 64 --units-per-step 1 --train-limit 640 --test-limit 20 --quiet --out-dir $tmp --threads 1"
run_mpi 2 "$mpi" $long --exp-name killed --epochs 100 >"$tmp/out" 2>"$tmp/err" &
job=$!
for i in $(seq 1 300); do [ -s "$tmp/killed/model.ckpt" ] && break; sleep 0.1; done
sleep 1
victim=$(pgrep -f "seqgen-train-mpi .*--exp-name killed" | tail -n 1)
kill -9 "$victim"
wait $job
status=$?
check "a rank killed with -9: mpirun ends non-zero (exit $status)" [ "$status" -ne 0 ]
none_left() { ! pgrep -f "seqgen-train-mpi .*--exp-name killed" >/dev/null; }
check "...no rank of the job is left running" none_left
check "...the last checkpoint loads" sh -c "\"$compare\" $tmp/killed/model.ckpt $tmp/killed/model.ckpt >/dev/null"
expect 0 "...and the run resumes from it" run_mpi 2 "$mpi" --out-dir "$tmp" --exp-name killed \
    --resume --epochs 1 --quiet

# An error on one rank only (its data is missing): every rank ends, with its exit code, and the
# message is printed once.
expect 1 "data missing on rank 1 only" setsid mpirun --allow-run-as-root --oversubscribe \
    -np 1 "$mpi" $run --exp-name onerank --epochs 1 : -np 1 "$mpi" $run --exp-name onerank --epochs 1 \
    --data "$tmp/nothing"
check "...its message once: $(grep '^seqgen-train-mpi' "$tmp/err" | head -n 1)" \
    sh -c "[ \$(grep -c '^seqgen-train-mpi: ' $tmp/err) -eq 1 ] && grep -q 'nothing' $tmp/err"
check "...rank 0 made no run directory" [ ! -e "$tmp/onerank" ]
expect 2 "a usage error on every rank" run_mpi 2 "$mpi" --hidden 0
check "...printed once" sh -c "[ \$(grep -c '^seqgen-train-mpi: ' $tmp/err) -eq 1 ]"

# Stopping: SIGUSR1 to mpirun reaches the ranks at once; Ctrl-C (SIGINT to mpirun) as SIGTERM
# after Open MPI's odls_base_sigkill_timeout, which must leave the ranks time to save.
stop_and_resume() { # NAME SIGNAL EXIT MPIRUN-OPTIONS...
    name=$1 signal=$2 code=$3
    shift 3
    setsid mpirun --allow-run-as-root --oversubscribe "$@" -np 2 "$mpi" $long --exp-name "$name" \
        --epochs 30 >"$tmp/out" 2>"$tmp/err" &
    job=$!
    for i in $(seq 1 300); do [ -s "$tmp/$name/model.ckpt" ] && break; sleep 0.1; done
    kill "-$signal" "$(pgrep -f "^mpirun .*--exp-name $name")"
    wait $job
    status=$?
    check "$signal to mpirun: exit $code (exit $status)" [ "$status" -eq "$code" ]
    check "...saved, said once: $(grep '^seqgen-train-mpi' "$tmp/err" | head -n 1)" \
        sh -c "[ \$(grep -Ec '^seqgen-train-mpi: interrupted (in|after) epoch .*saved' $tmp/err) -eq 1 ]"
}
stop_and_resume usr1 USR1 130
expect 0 "...resumed to 3 epochs" run_mpi 2 "$mpi" --out-dir "$tmp" --exp-name usr1 --resume \
    --epochs 3 --quiet
expect 0 "...the same 3 epochs uninterrupted" run_mpi 2 "$mpi" $long --exp-name usr1-whole --epochs 3
check "...equal bit for bit" identical "$tmp/usr1/model.ckpt" "$tmp/usr1-whole/model.ckpt"
# (mpirun, aborting the job, exits 1 whatever the ranks' codes)
stop_and_resume ctrl-c INT 1 --mca odls_base_sigkill_timeout 5

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
