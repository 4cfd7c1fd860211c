#!/bin/sh
# libseqgen against PyTorch on a word list, side by side (issue 22; make bench-words): for each
# seed, bench/words.c with 1 and with 2 threads, then bench/pytorch_words.py in each torch x
# OpenBLAS thread split of PT_SPLITS (default "1x1 1x1p 2x1 1x2"; a trailing p runs PyTorch's
# packed sequences instead of padded batches; 2 x 2 oversubscribes two cores, see
# bench/README.md; a split of 2 torch threads runs only its first PT2_STEPS steps (default 300),
# a speed measurement: on a busy 2-core machine it runs 10-20 times slower and the whole budget
# would take far too long), one after the other, so
# that other work on a shared machine falls on both. Checks that both read the same symbols
# (counts, V, T, checksums), then prints every run, the medians over seeds and the ratios
# NLL libseqgen / NLL PyTorch (1-thread runs) and symbols/s libseqgen (best thread count) /
# PyTorch (best split), per seed and their medians.
# Usage: sh bench/words.sh [SEEDS] [options for both programs...]   (SEEDS default "1 2 3")
# Environment: WORDS_BIN (build/bench/words), TORCH_PYTHON (/usr/bin/python3), WORDS_LOG (a
# file to keep every run's JSON line in; default a temporary one).
set -eu
seeds=${1:-"1 2 3"}
[ $# -gt 0 ] && shift
bin=${WORDS_BIN:-build/bench/words}
python=${TORCH_PYTHON:-/usr/bin/python3}
log=${WORDS_LOG:-$(mktemp)}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
: > "$log"
# Runs a program, shows its output and keeps its last line (the JSON object) in the log.
record() {
    "$@" > "$out"
    cat "$out"
    tail -n 1 "$out" >> "$log"
}
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/'), options: $*"
for seed in $seeds; do
    for threads in 1 2; do
        echo "## seed $seed: libseqgen, $threads threads (load $(cut -d' ' -f1 /proc/loadavg))"
        record "$bin" --seed "$seed" --threads "$threads" "$@"
    done
    for split in ${PT_SPLITS:-1x1 1x1p 2x1 1x2}; do
        packed=
        case $split in *p) packed=--packed split=${split%p} ;; esac
        threads=${split%x*} blas=${split#*x}
        echo "## seed $seed: PyTorch, $threads torch + $blas OpenBLAS threads${packed:+, packed} (load $(cut -d' ' -f1 /proc/loadavg))"
        steps=0
        [ "$threads" -gt 1 ] && steps=${PT2_STEPS:-300}
        record "$python" bench/pytorch_words.py --seed "$seed" --threads "$threads" \
            --blas-threads "$blas" --max-steps "$steps" $packed "$@"
    done
done
"$python" - "$log" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
same = ("vocab", "steps_T", "train_words", "test_words", "train_symbols", "test_symbols",
        "train_checksum", "test_checksum")
first = {k: runs[0][k] for k in same}
for r in runs:
    if {k: r[k] for k in same} != first:
        sys.exit(f"words.sh: the two sides read different symbols: {first} against "
                 f"{ {k: r[k] for k in same} }")
print(f"\nBoth sides read the same symbols: {first}")
def name(r):
    return (f"libseqgen {r['threads']}t" if r["implementation"] == "libseqgen"
            else f"PyTorch {r['threads']}x{r['blas_threads']}t{' packed' if r.get('packed') else ''}")
print(f"\n{'run':25} {'seed':>4} {'test NLL':>9} {'train loss':>10} {'train s':>8} "
      f"{'CPU s':>8} {'symbols/s':>10}")
for r in runs:
    print(f"{name(r) + ('*' if r.get('speed_only') else ''):25} {r['seed']:>4} {r['test_nll']:9.4f} {r['train_loss']:10.4f} "
          f"{r['train_seconds']:8.2f} {r['train_cpu_seconds']:8.2f} {r['symbols_per_s']:10.0f}")
seeds = sorted({r["seed"] for r in runs})
print("(* a speed measurement over the first steps only: its NLL is not the budget's)")
print(f"\nMedians over seeds {seeds}:")
for n in sorted({name(r) for r in runs}):
    rs = [r for r in runs if name(r) == n]
    nll = ("n/a (speed only)" if any(r.get("speed_only") for r in rs)
           else f"{statistics.median(r['test_nll'] for r in rs):.4f}")
    print(f"  {n:25} test NLL {nll}, {statistics.median(r['symbols_per_s'] for r in rs):.0f} "
          f"symbols/s")
def best(impl, seed):
    """The fastest run of an implementation for a seed."""
    return max((r for r in runs if r["implementation"] == impl and r["seed"] == seed),
               key=lambda r: r["symbols_per_s"])
def full_nll(impl, seed):
    """The NLL of the seed's 1-thread run (1 + 1 padded for PyTorch): a whole budget."""
    return next(r["test_nll"] for r in runs if r["implementation"] == impl and r["seed"] == seed
                and r["threads"] == 1 and r.get("blas_threads", 1) == 1
                and not r.get("packed"))
nll = {i: statistics.median(full_nll(i, s) for s in seeds) for i in ("libseqgen", "pytorch")}
ratios = [full_nll("libseqgen", s) / full_nll("pytorch", s) for s in seeds]
print(f"NLL libseqgen / PyTorch (1-thread runs): per seed "
      f"{', '.join(f'{x:.4f}' for x in ratios)}; medians {nll['libseqgen']:.4f} / "
      f"{nll['pytorch']:.4f} = {nll['libseqgen'] / nll['pytorch']:.4f}   target within 2%: "
      f"{'met' if abs(nll['libseqgen'] / nll['pytorch'] - 1) <= 0.02 else 'NOT met'}")
speed = [(best("libseqgen", s), best("pytorch", s)) for s in seeds]
ratios = [a["symbols_per_s"] / b["symbols_per_s"] for a, b in speed]
ours = statistics.median(a["symbols_per_s"] for a, _ in speed)
theirs = statistics.median(b["symbols_per_s"] for _, b in speed)
print(f"symbols/s, each side's best run per seed ({', '.join(name(a) + ' / ' + name(b) for a, b in speed)}): "
      f"per seed {', '.join(f'{x:.2f}x' for x in ratios)}, median {statistics.median(ratios):.2f}x; "
      f"medians {ours:.0f} / {theirs:.0f} = {ours / theirs:.2f}x   target >= 3x: "
      f"{'met' if statistics.median(ratios) >= 3 else 'NOT met'}")
PY
