#!/usr/bin/python3
"""The libseqgen benchmark task done with PyTorch on the CPU, for comparison.

Same model (nn.GRU + nn.Linear + sigmoid), loss (MSE), optimiser (Adam, lr 1e-3), sizes and
completion task as bench/bench.c; prints a table and, as its last line, one JSON object with the
same keys. Needs Debian's python3-torch (seen by /usr/bin/python3); without it, it says so and
prints the JSON line with nulls, exiting 0, so that a comparison script can report it.
"""
import argparse
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time

IMAGE_PIXELS = 28 * 28
JSON_KEYS = ("train_images_per_s", "train_gflops", "complete_per_s", "sgemm_gflops",
             "threads", "hidden", "batch", "peak_rss_mb")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=128, help="GRU units per layer (128)")
    p.add_argument("--layers", type=int, default=1, help="GRU layers (1)")
    p.add_argument("--pixels-per-step", type=int, default=1,
                   help="pixels per sequence step D; must divide 784 and --given (1)")
    p.add_argument("--batch", type=int, default=64, help="training batch size (64)")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="torch.set_num_threads (all cores)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OpenBLAS threads under torch's matrix products (= --threads); "
                        "torch's own threads and these add up, so try both with 2 cores")
    p.add_argument("--reps", type=int, default=3, help="timed repetitions, median reported (3)")
    p.add_argument("--train-batches", type=int, default=2,
                   help="training batches per repetition (2)")
    p.add_argument("--given", type=int, default=500, help="given pixels when completing (500)")
    p.add_argument("--complete-count", type=int, default=997,
                   help="test digits completed in one batch (997)")
    p.add_argument("--sgemm-size", type=int, default=2048,
                   help="side of the square torch.mm product (2048; 0 skips it)")
    p.add_argument("--data", default="data/mnist10k", help="directory of the MNIST files")
    args = p.parse_args()
    d = args.pixels_per_step
    if args.blas_threads is None:
        args.blas_threads = args.threads
    if min(args.hidden, args.layers, d, args.batch, args.threads, args.blas_threads, args.reps,
           args.train_batches, args.complete_count) < 1:
        p.error("sizes, counts and --threads must be >= 1")
    if IMAGE_PIXELS % d or args.given % d or not 0 < args.given < IMAGE_PIXELS:
        p.error("--pixels-per-step must divide 784 and --given, and 0 < --given < 784")
    return args


def train_flops_per_image(hidden, layers, d, steps):
    """The issue's count, 3 x T x (3H(H + D) + HD) x 2, summed over layers (a layer above the
    first reads H inputs): forward, input gradient and weight gradient each cost one product."""
    per_step = sum(3 * hidden * (hidden + (d if layer == 0 else hidden))
                   for layer in range(layers)) + hidden * d
    return 3 * steps * per_step * 2


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def print_json(result):
    print(json.dumps(result, sort_keys=False))


def load_images(path, count):
    """The first `count` images of an IDX3 file (gzip), binarised (byte > 127) into floats."""
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051 or rows * cols != IMAGE_PIXELS:
            sys.exit(f"{path}: not an IDX file of 28x28 images (magic {magic:#x})")
        count = min(count, n)
        raw = f.read(count * IMAGE_PIXELS)
        if len(raw) != count * IMAGE_PIXELS:
            sys.exit(f"{path}: truncated: {len(raw)} bytes of pixels, expected {count * 784}")
    return raw, count


def median_time(fn, reps):
    """Median wall time of fn() over `reps` runs, after one untimed warm-up run."""
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    args = parse_args()
    result = dict.fromkeys(JSON_KEYS)
    result.update(implementation="pytorch", threads=args.threads,
                  blas_threads=args.blas_threads, hidden=args.hidden,
                  batch=args.batch, layers=args.layers, pixels_per_step=args.pixels_per_step)
    # Debian's torch does its matrix products in OpenBLAS, which torch.set_num_threads does not
    # reach: OpenBLAS reads its thread count from the environment when it loads.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    try:
        import torch
        from torch import nn
    except ImportError:
        print("bench/pytorch_gru.py needs PyTorch: apt-get install -y python3-torch "
              "(Debian's package is seen by /usr/bin/python3); no measurements made.")
        result["error"] = "torch not importable"
        print_json(result)
        return 0

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    d, steps = args.pixels_per_step, IMAGE_PIXELS // args.pixels_per_step

    class PixelGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(input_size=d, hidden_size=args.hidden, num_layers=args.layers,
                              batch_first=True)
            self.out = nn.Linear(args.hidden, d)

        def forward(self, x, h=None):
            y, h = self.gru(x, h)
            return torch.sigmoid(self.out(y)), h

    model = PixelGRU()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    # (a) Training: inputs are steps 0..T-1, targets steps 1..T (T = steps - 1).
    raw, count = load_images(os.path.join(args.data, "train-images-idx3-ubyte.gz"),
                             args.batch * args.train_batches)
    train = (torch.frombuffer(bytearray(raw), dtype=torch.uint8) > 127).float()
    train = train.view(count, steps, d)
    batches = [train[i:i + args.batch] for i in range(0, count, args.batch)]
    batches = [b for b in batches if len(b) == args.batch]
    if not batches:
        sys.exit(f"fewer than --batch {args.batch} training images")

    def train_batches():
        for seq in batches:
            optimiser.zero_grad()
            prediction, _ = model(seq[:, :-1])
            loss = nn.functional.mse_loss(prediction, seq[:, 1:])
            loss.backward()
            optimiser.step()

    seconds = median_time(train_batches, args.reps)
    images_per_s = len(batches) * args.batch / seconds
    result["train_images_per_s"] = images_per_s
    result["train_gflops"] = images_per_s * train_flops_per_image(
        args.hidden, args.layers, d, steps - 1) / 1e9

    # (b) Completion: the first `given` pixels teacher-forced, the rest generated greedily.
    raw, count = load_images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"),
                             args.complete_count)
    test = (torch.frombuffer(bytearray(raw), dtype=torch.uint8) > 127).float()
    test = test.view(count, steps, d)
    given_steps = args.given // d

    def complete():
        with torch.no_grad():
            prediction, h = model(test[:, :given_steps])
            generated = [(prediction[:, -1:] >= 0.5).float()]
            for _ in range(steps - given_steps - 1):
                prediction, h = model(generated[-1], h)
                generated.append((prediction >= 0.5).float())
            return torch.cat(generated, dim=1)

    seconds = median_time(complete, args.reps)
    result["complete_per_s"] = count / seconds
    result["complete_count"] = count

    # (c) PyTorch's own matrix-product ceiling.
    if args.sgemm_size > 0:
        n = args.sgemm_size
        a, b = torch.rand(n, n), torch.rand(n, n)
        seconds = median_time(lambda: torch.mm(a, b), args.reps)
        result["sgemm_gflops"] = 2.0 * n ** 3 / seconds / 1e9

    result["peak_rss_mb"] = peak_rss_mb()
    result["torch_version"] = torch.__version__

    rows = [
        ("training", f"{result['train_images_per_s']:.1f} images/s",
         f"{result['train_gflops']:.2f} GFLOP/s (B={args.batch}, T={steps - 1})"),
        ("completion", f"{result['complete_per_s']:.1f} digits/s",
         f"({count} digits, {args.given} given, {IMAGE_PIXELS - args.given} generated)"),
        ("torch.mm", "-" if result["sgemm_gflops"] is None else
         f"{result['sgemm_gflops']:.1f} GFLOP/s", f"({args.sgemm_size}^3, float32)"),
        ("peak RSS", f"{result['peak_rss_mb']:.0f} MB", ""),
    ]
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s) + {args.blas_threads} "
          f"OpenBLAS thread(s), H={args.hidden}, "
          f"L={args.layers}, D={d}; median of {args.reps} after a warm-up")
    for name, value, note in rows:
        print(f"  {name:<11} {value:>18}  {note}")
    print_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
