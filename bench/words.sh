#!/bin/sh
# libseqgen against PyTorch on a word list, side by side (issue 22; make bench-words): for each
# seed, bench/words.c with 1 and with 2 threads, then bench/pytorch_words.py with torch 1 and 2
# threads (OpenBLAS 1 thread: see bench/README.md on oversubscription; the 2-thread run only for
# its first PT2_STEPS steps (default 300), a speed measurement: on a busy 2-core machine it runs
# 10-20 times slower and the whole budget would take far too long), one after the other, so
# that other work on a shared machine falls on both. Checks that both read the same symbols
# (counts, V, T, checksums), then prints every run, the medians over seeds and the ratios
# NLL libseqgen / NLL PyTorch and symbols/s libseqgen (best thread count) / PyTorch (best split).
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
    for threads in 1 2; do
        echo "## seed $seed: PyTorch, $threads torch + 1 OpenBLAS threads (load $(cut -d' ' -f1 /proc/loadavg))"
        steps=0
        [ "$threads" = 2 ] && steps=${PT2_STEPS:-300}
        record "$python" bench/pytorch_words.py --seed "$seed" --threads "$threads" \
            --blas-threads 1 --max-steps "$steps" "$@"
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
            else f"PyTorch {r['threads']}x{r['blas_threads']}t")
print(f"\n{'run':18} {'seed':>4} {'test NLL':>9} {'train loss':>10} {'train s':>8} "
      f"{'CPU s':>8} {'symbols/s':>10}")
for r in runs:
    print(f"{name(r) + ('*' if r.get('speed_only') else ''):18} {r['seed']:>4} {r['test_nll']:9.4f} {r['train_loss']:10.4f} "
          f"{r['train_seconds']:8.2f} {r['train_cpu_seconds']:8.2f} {r['symbols_per_s']:10.0f}")
seeds = sorted({r["seed"] for r in runs})
def median(impl, key, threads=None):
    """Median over seeds of each seed's figure (for speed: its best thread count)."""
    per_seed = []
    for s in seeds:
        rs = [r for r in runs if r["implementation"] == impl and r["seed"] == s
              and (threads is None or r["threads"] == threads)]
        per_seed.append(max(r[key] for r in rs) if key == "symbols_per_s" else
                        statistics.median(r[key] for r in rs))
    return statistics.median(per_seed)
print("(* a speed measurement over the first steps only: its NLL is not the budget's)")
print(f"\nMedians over seeds {seeds}:")
for impl in ("libseqgen", "pytorch"):
    for t in (1, 2):
        full = not any(r.get("speed_only") for r in runs
                       if r["implementation"] == impl and r["threads"] == t)
        nll = f"{median(impl, 'test_nll', t):.4f}" if full else "n/a (speed only)"
        print(f"  {impl:9} {t} threads: test NLL {nll}, "
              f"{median(impl, 'symbols_per_s', t):.0f} symbols/s")
nll_ours, nll_theirs = median("libseqgen", "test_nll", 1), median("pytorch", "test_nll", 1)
speed_ours, speed_theirs = median("libseqgen", "symbols_per_s"), median("pytorch", "symbols_per_s")
print(f"NLL libseqgen / PyTorch (1-thread runs): {nll_ours:.4f} / {nll_theirs:.4f} = "
      f"{nll_ours / nll_theirs:.4f}   target within 2%: "
      f"{'met' if abs(nll_ours / nll_theirs - 1) <= 0.02 else 'NOT met'}")
print(f"symbols/s libseqgen best / PyTorch best (per seed, then median): {speed_ours:.0f} / "
      f"{speed_theirs:.0f} = {speed_ours / speed_theirs:.2f}x   target >= 3x: "
      f"{'met' if speed_ours / speed_theirs >= 3 else 'NOT met'}")
PY
