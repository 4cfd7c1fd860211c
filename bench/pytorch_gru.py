#!/usr/bin/python3
"""The libseqgen benchmark task done with PyTorch on the CPU, for comparison.

Same model (nn.GRU + nn.Linear + sigmoid), loss (MSE), optimiser (Adam, lr 1e-3), sizes and
completion task as bench/bench.c; prints a table and, as its last line, one JSON object with the
same keys.

--head linear-ar and made-ar (issue 17) put libseqgen's autoregressive heads on the GRU: the model
is tests/fixtures/make_ar_head.py's Model (imported, the code that wrote the fixtures `make
refcheck` holds the library to), trained by teacher forcing (the step's own targets feed the
head), and completion decodes the units of a step one after another, greedily, as
seqgen_complete() does. --check-head checks that decoding and the imported model against the
committed MADE fixture, then exits. Needs Debian's python3-torch (seen by /usr/bin/python3); without it, it says so and
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
HEADS = ("independent", "linear-ar", "made-ar")
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, os.pardir, "tests", "fixtures")
# make_ar_head.py's fixtures of whole sequences (the pass of make_ar_head.Model as it is).
CHECK_FIXTURES = ("ar-d5-h8-l2.txt", "made-d5-h8-m7-l2.txt")


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
    p.add_argument("--head", choices=HEADS, default="independent",
                   help="the output head, as libseqgen's (independent)")
    p.add_argument("--head-hidden", type=int, default=None,
                   help="the MADE head's hidden units, made-ar only (256)")
    p.add_argument("--train-only", action="store_true",
                   help="measure training alone (no completion, no torch.mm)")
    p.add_argument("--check-head", action="store_true",
                   help="check the head model and its unit-by-unit decoding against "
                        "tests/fixtures/" + " and ".join(CHECK_FIXTURES) + ", print the worst "
                        "differences and exit (1 if above 1e-9)")
    args = p.parse_args()
    d = args.pixels_per_step
    if args.blas_threads is None:
        args.blas_threads = args.threads
    if min(args.hidden, args.layers, d, args.batch, args.threads, args.blas_threads, args.reps,
           args.train_batches, args.complete_count) < 1:
        p.error("sizes, counts and --threads must be >= 1")
    if IMAGE_PIXELS % d or not d <= args.given < IMAGE_PIXELS:
        p.error("--pixels-per-step must divide 784, and D <= --given < 784")
    if args.head_hidden is not None and args.head != "made-ar":
        p.error("--head-hidden goes with --head made-ar only")
    if args.head == "made-ar":
        args.head_hidden = args.head_hidden or 256
        if not 1 <= args.head_hidden <= 4096 or d < 2:
            p.error("--head made-ar needs --head-hidden in 1..4096 and --pixels-per-step >= 2")
    else:
        args.head_hidden = 0
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


def head_model_class():
    """tests/fixtures/make_ar_head.py's Model: nn.GRU and libseqgen's autoregressive head (its
    docstring gives the equations), the module whose fixtures the library is checked against.
    Model(D, H, L, M) (M = 0: the linear head); model(x, units) gives the logits of a
    teacher-forced pass, `units` being the predicted steps' own units."""
    sys.path.insert(0, FIXTURES)
    from make_ar_head import Model
    return Model


def new_head_model(d, hidden, layers, head_hidden):
    """A model with the autoregressive head, its masked entries 0 as libseqgen keeps them."""
    import torch
    model = head_model_class()(d, hidden, layers, head_hidden)
    if head_hidden:
        with torch.no_grad():
            model.made_in.weight.mul_(model.mask_in)
            model.made_out.weight.mul_(model.mask_out)
    return model


def decode_step(model, h, units, given):
    """The logits [B][D] of one step's units decoded one after another, as seqgen_complete()
    does: from the top layer's states h [B][H], unit d's logit reads units 0..d-1 of `units`
    [B][D], which holds the step's first `given` units; each later unit is set greedily
    (logit > 0: probability > 0.5) before the next is computed."""
    import torch
    base = model.out(h)
    weight_ar = model.ar_weight * model.mask
    if model.M:
        cond = model.made_cond(h)
        weight_in = model.made_in.weight * model.mask_in
        weight_out = model.made_out.weight * model.mask_out
    logits = torch.empty_like(base)
    for d in range(units.shape[1]):
        a = base[:, d] + units[:, :d] @ weight_ar[d, :d]
        if model.M:
            # A hidden unit of degree m < d reads units 0..m only, all decided; those of degree
            # >= d are incomplete here but E[d] is 0 for them.
            z = torch.relu(units[:, :d] @ weight_in[:, :d].t() + cond)
            a = a + z @ weight_out[d]
        logits[:, d] = a
        if d >= given:
            units[:, d] = (a > 0).to(units.dtype)
    return logits


def read_fixture(path):
    """The records of a fixture file (tests/fixtures/README.md): name -> list of floats."""
    records, lines = {}, [l for l in open(path) if not l.startswith("#")]
    for header, values in zip(lines[0::2], lines[1::2]):
        name, count = header.split()
        records[name] = [float(v) for v in values.split()]
        assert len(records[name]) == int(count), name
    return records


def check_head():
    """The head model and decode_step() against the committed fixtures of make_ar_head.py (the
    probabilities libseqgen's `make refcheck` matches), in float64: (1) the imported model's
    teacher-forced pass, (2) decode_step() with every unit given, unit by unit, (3) greedy
    decoding of every step from the true history against the pass run on the decoded units.
    Returns the worst absolute difference of the probabilities."""
    import torch
    worst = 0.0
    for name in CHECK_FIXTURES:
        path = os.path.join(FIXTURES, name)
        rec = read_fixture(path)
        D, H, L, B, T, start = (int(v) for v in rec["config"])
        M = len(rec.get("out.made_cond.bias", []))
        model = head_model_class()(D, H, L, M).double()
        with torch.no_grad():
            for pname, p in model.gru.named_parameters():
                p.copy_(torch.tensor(rec[pname]).view_as(p))
            for pname, p in (("out.weight", model.out.weight), ("out.bias", model.out.bias),
                             ("out.ar_weight", model.ar_weight)):
                p.copy_(torch.tensor(rec[pname]).view_as(p))
            for part in ("made_in.weight", "made_cond.weight", "made_cond.bias",
                         "made_out.weight") if M else ():
                module, attr = part.split(".")
                p = getattr(getattr(model, module), attr)
                p.copy_(torch.tensor(rec["out." + part]).view_as(p))
            seq = torch.tensor(rec["sequences"], dtype=torch.float64).view(B, T + 1, D)
            prob = torch.tensor(rec["prob"], dtype=torch.float64).view(B, T, D)
            x, y = seq[:, :-1], seq[:, 1:]
            pass_prob = torch.sigmoid(model(x, y))
            top, _ = model.gru(x)
            given = torch.stack([torch.sigmoid(decode_step(model, top[:, t], y[:, t].clone(), D))
                                 for t in range(T)], 1)
            decoded = torch.zeros(B, T, D, dtype=torch.float64)
            greedy = torch.stack([torch.sigmoid(decode_step(model, top[:, t], decoded[:, t], 0))
                                  for t in range(T)], 1)
            repass = torch.sigmoid(model(x, decoded))
        diffs = [(pass_prob - prob).abs().max().item(), (given - prob).abs().max().item(),
                 (greedy - repass).abs().max().item()]
        print(f"{name} (D={D}, H={H}, L={L}, M={M}): worst |difference| of probabilities: "
              f"model's pass vs fixture {diffs[0]:.2e}, unit-by-unit decoding (units given) vs "
              f"fixture {diffs[1]:.2e}, greedy decoding vs the pass on its decoded units "
              f"{diffs[2]:.2e}")
        worst = max([worst] + diffs)
    return worst


def main():
    args = parse_args()
    result = dict.fromkeys(JSON_KEYS)
    result.update(implementation="pytorch", threads=args.threads,
                  blas_threads=args.blas_threads, hidden=args.hidden,
                  batch=args.batch, layers=args.layers, pixels_per_step=args.pixels_per_step,
                  head=args.head, head_hidden=args.head_hidden)
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
    if args.check_head:
        worst = check_head()
        print(f"worst {worst:.2e} (tolerance 1e-9): {'ok' if worst <= 1e-9 else 'FAILED'}")
        return 0 if worst <= 1e-9 else 1
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

    autoregressive = args.head != "independent"
    if autoregressive:
        model = new_head_model(d, args.hidden, args.layers, args.head_hidden)
    else:
        model = PixelGRU()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    # (a) Training: inputs are steps 0..T-1, targets steps 1..T (T = steps - 1); an
    # autoregressive head also reads the targets (teacher forcing within the step).
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
            if autoregressive:
                prediction = torch.sigmoid(model(seq[:, :-1], seq[:, 1:]))
            else:
                prediction, _ = model(seq[:, :-1])
            loss = nn.functional.mse_loss(prediction, seq[:, 1:])
            loss.backward()
            optimiser.step()

    seconds = median_time(train_batches, args.reps)
    images_per_s = len(batches) * args.batch / seconds
    result["train_images_per_s"] = images_per_s
    result["train_gflops"] = images_per_s * train_flops_per_image(
        args.hidden, args.layers, d, steps - 1) / 1e9

    # (b) Completion: the first `given` pixels teacher-forced, the rest generated greedily; a
    # partly given step keeps its given pixels (and, with an autoregressive head, its other
    # units are decoded given them).
    count = 0
    if not args.train_only:
        raw, count = load_images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"),
                                 args.complete_count)
        test = (torch.frombuffer(bytearray(raw), dtype=torch.uint8) > 127).float()
        test = test.view(count, steps, d)
    given_steps, given_rest = divmod(args.given, d)

    def complete():
        with torch.no_grad():
            prediction, h = model(test[:, :given_steps])
            first = (prediction[:, -1:] >= 0.5).float()
            first[:, 0, :given_rest] = test[:, given_steps, :given_rest]
            generated = [first]
            for _ in range(steps - given_steps - 1):
                prediction, h = model(generated[-1], h)
                generated.append((prediction >= 0.5).float())
            return torch.cat(generated, dim=1)

    def complete_ar():
        with torch.no_grad():
            top, h = model.gru(test[:, :given_steps])
            step = torch.zeros(count, d)
            step[:, :given_rest] = test[:, given_steps, :given_rest]
            decode_step(model, top[:, -1], step, given_rest)
            generated = [step]
            for _ in range(steps - given_steps - 1):
                top, h = model.gru(generated[-1].unsqueeze(1), h)
                step = torch.zeros(count, d)
                decode_step(model, top[:, 0], step, 0)
                generated.append(step)
            return torch.stack(generated, dim=1)

    if not args.train_only:
        seconds = median_time(complete_ar if autoregressive else complete, args.reps)
        result["complete_per_s"] = count / seconds
        result["complete_count"] = count

    # (c) PyTorch's own matrix-product ceiling.
    if args.sgemm_size > 0 and not args.train_only:
        n = args.sgemm_size
        a, b = torch.rand(n, n), torch.rand(n, n)
        seconds = median_time(lambda: torch.mm(a, b), args.reps)
        result["sgemm_gflops"] = 2.0 * n ** 3 / seconds / 1e9

    result["peak_rss_mb"] = peak_rss_mb()
    result["torch_version"] = torch.__version__

    rows = [
        ("training", f"{result['train_images_per_s']:.1f} images/s",
         f"{result['train_gflops']:.2f} GFLOP/s (B={args.batch}, T={steps - 1})"),
        ("completion", "-" if result["complete_per_s"] is None else
         f"{result['complete_per_s']:.1f} digits/s",
         "(not measured: --train-only)" if args.train_only else
         f"({count} digits, {args.given} given, {IMAGE_PIXELS - args.given} generated)"),
        ("torch.mm", "-" if result["sgemm_gflops"] is None else
         f"{result['sgemm_gflops']:.1f} GFLOP/s",
         f"({args.sgemm_size}^3, float32)" if result["sgemm_gflops"] else "(not measured)"),
        ("peak RSS", f"{result['peak_rss_mb']:.0f} MB", ""),
    ]
    head = args.head + (f" (M={args.head_hidden})" if args.head_hidden else "")
    print(f"PyTorch {torch.__version__}, {args.threads} thread(s) + {args.blas_threads} "
          f"OpenBLAS thread(s), H={args.hidden}, "
          f"L={args.layers}, D={d}, head {head}; median of {args.reps} after a warm-up")
    for name, value, note in rows:
        print(f"  {name:<11} {value:>18}  {note}")
    print_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
