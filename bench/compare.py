#!/usr/bin/python3
"""Runs the libseqgen benchmark and the PyTorch one with the same options and prints the ratios.

Usage: bench/compare.py --bench build/bench/bench [-- OPTIONS...]; OPTIONS (--hidden, --layers,
--pixels-per-step, --batch, --threads, --reps, --sgemm-size) go to both programs. Each program's
last output line is a JSON object; a figure one side did not measure shows as n/a.

PyTorch runs once per split of the N threads between torch and OpenBLAS (torch threads x BLAS
threads, each from 1 to N), and each figure is compared with PyTorch's best run: on this project's
machines its fastest configuration is not the obvious one (2 x 2 oversubscribes 2 cores).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# (key, label, target ratio of libseqgen to PyTorch from issue 9, or None)
FIGURES = [
    ("train_images_per_s", "training images/s", 8.0),
    ("train_gflops", "training GFLOP/s", None),
    ("complete_per_s", "completions/s", 10.0),
    ("sgemm_gflops", "large sgemm GFLOP/s", None),
    ("peak_rss_mb", "peak RSS MB", None),
]


def run(command):
    """Runs a benchmark, echoes its output and returns its last line parsed as JSON."""
    print("$ " + " ".join(command), flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(done.stdout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        sys.exit(f"compare: {command[0]} failed (exit {done.returncode})")
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        sys.exit(f"compare: the last line of {command[0]}'s output is not JSON")


def best_pytorch(options, threads):
    """Runs PyTorch in every torch x BLAS thread split up to `threads`; keeps each figure's best
    (the highest rate, the lowest peak RSS) and says which split gave the training figure."""
    script = os.path.join(HERE, "pytorch_gru.py")
    options = [o for i, o in enumerate(options)
               if o != "--threads" and (i == 0 or options[i - 1] != "--threads")]
    best = {}
    for torch_threads in range(1, threads + 1):
        for blas_threads in range(1, threads + 1):
            result = run([sys.executable, script, "--threads", str(torch_threads),
                          "--blas-threads", str(blas_threads)] + options)
            result["split"] = f"{torch_threads}x{blas_threads}"
            for key, _, _ in FIGURES:
                value, old = result.get(key), best.get(key)
                lower_is_better = key == "peak_rss_mb"
                if value is not None and (old is None or (value < old if lower_is_better
                                                          else value > old)):
                    best[key] = value
                    if key == "train_images_per_s":
                        best["split"] = result["split"]
            best.setdefault("error", result.get("error"))
    print(f"PyTorch's best training split (torch x BLAS threads): {best.get('split', 'n/a')}")
    return best


def show(value):
    return "n/a" if value is None else f"{value:.1f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", required=True, help="the libseqgen benchmark program")
    p.add_argument("options", nargs="*", help="options for both programs (after --)")
    args = p.parse_args()
    ours = run([args.bench] + args.options)
    theirs = best_pytorch(args.options, ours.get("threads") or os.cpu_count())

    print(f"\n{'':22} {'libseqgen':>10} {'PyTorch':>10} {'ratio':>7}  target")
    for key, label, target in FIGURES:
        a, b = ours.get(key), theirs.get(key)
        ratio = a / b if a is not None and b else None
        verdict = ""
        if target is not None:
            verdict = f">= {target:g}x: " + ("n/a" if ratio is None else
                                             "met" if ratio >= target else "NOT met")
        shown_ratio = "n/a" if ratio is None else f"{ratio:.3g}"
        print(f"{label:22} {show(a):>10} {show(b):>10} {shown_ratio:>7}  {verdict}")
    if ours.get("train_gflops") is not None and ours.get("sgemm_gflops"):
        share = ours["train_gflops"] / ours["sgemm_gflops"]
        print(f"libseqgen training at {100 * share:.0f}% of its sgemm ceiling (target >= 70%: "
              f"{'met' if share >= 0.7 else 'NOT met'})")
    if theirs.get("error"):
        print(f"PyTorch side: {theirs['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
