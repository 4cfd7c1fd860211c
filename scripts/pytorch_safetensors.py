#!/usr/bin/env python3
"""The original project's model in PyTorch, to and from safetensors files (docs/interop.md).

    fixture --out-dir DIR   build the original model (nn.GRU(1, H) as `rnn`, nn.Linear(H, 1) as
                            `linear`, then a sigmoid), train it briefly on the bundled digits,
                            save it as DIR/original-h32-l1.safetensors and write PyTorch's own
                            greedy completions of a few test digits to
                            DIR/original-h32-l1-completions.txt (tests/test_safetensors.c
                            checks that libseqgen completes them alike).
    check --model FILE --completions FILE
                            load a safetensors file written by libseqgen into the same class
                            with load_state_dict(strict=True), complete the digits of a
                            completions file (written by libseqgen) in PyTorch, and compare the
                            probabilities and pixels; exits 1 if a probability differs by more
                            than --tolerance or a pixel differs.

Debian's python3-torch 1.13 has no safetensors module, so the format (an 8-byte little-endian
header length, a JSON header, the raw little-endian data:
https://github.com/huggingface/safetensors#format) is read and written here with json and
struct. Completion follows seqgen_complete() (include/seqgen.h, "Completion") for one unit per
step without a start step: the model reads the K given pixels, then each next pixel is 1 iff its
probability is above 0.5 and is fed back; the probabilities of pixels K to 783 are recorded.
Digits are binarised as the library does: 1 iff the byte is above 127 (docs/dataset.md).
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist10k")
DIGITS = [(0, 100), (1, 300), (2, 392), (3, 500), (4, 650)]  # (test index, pixels given)
STEPS = 784


class Model(nn.Module):
    """The original project's model: a GRU over pixels, a linear layer, a sigmoid."""

    def __init__(self, hidden=32, layers=1):
        super().__init__()
        self.rnn = nn.GRU(input_size=1, hidden_size=hidden, num_layers=layers, batch_first=True)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, x, h=None):
        out, h = self.rnn(x, h)
        return torch.sigmoid(self.linear(out)), h


def save_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, at = [], 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, this script reads F32")
        begin, end = info["data_offsets"]
        values = np.frombuffer(blob[8 + n + begin:8 + n + end], dtype="<f4")
        tensors[name] = torch.from_numpy(values.copy().reshape(info["shape"]))
    return tensors, metadata


def read_idx(path):
    with gzip.open(path, "rb") as f:
        blob = f.read()
    magic, count = struct.unpack(">II", blob[:8])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, blob[4:4 + 4 * dims])
    return np.frombuffer(blob, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def binarised(split, count=None):
    images = read_idx(os.path.join(DATA, f"{split}-images-idx3-ubyte.gz"))
    if count is not None:
        images = images[:count]
    return (images.reshape(len(images), -1) > 127).astype(np.float32)


@torch.no_grad()
def complete(model, pixels, given):
    """PyTorch's greedy completion of one sequence from its first `given` pixels."""
    x = torch.tensor(pixels[:given], dtype=torch.float32).view(1, given, 1)
    p, h = model(x)
    prob = p[0, -1, 0]
    out, probs = list(pixels[:given]), []
    for t in range(given, STEPS):
        probs.append(float(prob))
        unit = 1.0 if prob.item() > 0.5 else 0.0
        out.append(unit)
        if t + 1 < STEPS:
            p, h = model(torch.tensor([[[unit]]], dtype=torch.float32), h)
            prob = p[0, 0, 0]
    return np.array(out, dtype=np.float32), np.array(probs, dtype=np.float32)


def write_completions(path, rows, comment):
    with open(path, "w") as f:
        f.write(f"# {comment}\n# index I given K pixels <784 0/1>, then probs <784-K values>\n")
        f.write(f"sequences {len(rows)} steps {STEPS}\n")
        for index, given, pixels, probs in rows:
            f.write(f"index {index} given {given} pixels ")
            f.write("".join(str(int(v)) for v in pixels) + "\nprobs")
            f.write("".join(f" {p:.9g}" for p in probs) + "\n")


def read_completions(path):
    rows = []
    with open(path) as f:
        lines = [line for line in f if not line.startswith("#")]
    for k in range(1, len(lines), 2):
        head = lines[k].split()
        probs = [float(v) for v in lines[k + 1].split()[1:]]
        rows.append((int(head[1]), int(head[3]), np.array([float(c) for c in head[5]]), np.array(probs)))
    return rows


def fixture(args):
    torch.manual_seed(args.seed)
    model = Model(args.hidden, 1)
    train = torch.from_numpy(binarised("train", 2000)).unsqueeze(-1)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    for step in range(args.train_steps):
        batch = train[torch.randint(len(train), (args.batch,), generator=gen)]
        p, _ = model(batch[:, :-1])
        loss = nn.functional.binary_cross_entropy(p, batch[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0 or step == args.train_steps - 1:
            print(f"step {step}: BCE {loss.item():.4f}")
    model.eval()
    os.makedirs(args.out_dir, exist_ok=True)
    model_path = os.path.join(args.out_dir, "original-h32-l1.safetensors")
    save_safetensors(model_path, model.state_dict(), {"format": "pt"})
    test = binarised("t10k", max(i for i, _ in DIGITS) + 1)
    rows, margin = [], 1.0
    for index, given in DIGITS:
        pixels, probs = complete(model, test[index], given)
        margin = min(margin, float(np.min(np.abs(probs - 0.5))))
        rows.append((index, given, pixels, probs))
    write_completions(os.path.join(args.out_dir, "original-h32-l1-completions.txt"), rows,
                      f"PyTorch {torch.__version__} greedy completions by scripts/pytorch_safetensors.py "
                      f"fixture (seed {args.seed}, {args.train_steps} Adam steps)")
    print(f"wrote {model_path} and its completions; closest probability to 0.5: {margin:.3g} away")


def check(args):
    tensors, metadata = load_safetensors(args.model)
    hidden = tensors["rnn.weight_hh_l0"].shape[1]
    layers = sum(1 for name in tensors if name.startswith("rnn.weight_ih_l"))
    model = Model(hidden, layers)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    worst, wrong, total = 0.0, 0, 0
    for index, given, pixels, probs in read_completions(args.completions):
        ours, our_probs = complete(model, pixels, given)
        worst = max(worst, float(np.max(np.abs(our_probs - probs))))
        wrong += int(np.sum(ours != pixels))
        total += len(probs)
    print(f"{args.model}: H {hidden}, L {layers}, metadata {metadata}")
    print(f"PyTorch {torch.__version__} reproduces {args.completions}: max |p_torch - p_libseqgen| = "
          f"{worst:.3g} over {total} probabilities, {wrong} pixels differ")
    if worst > args.tolerance or wrong:
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("fixture")
    f.add_argument("--out-dir", required=True)
    f.add_argument("--hidden", type=int, default=32)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--train-steps", type=int, default=400)
    f.add_argument("--batch", type=int, default=32)
    f.add_argument("--lr", type=float, default=0.01)
    c = sub.add_parser("check")
    c.add_argument("--model", required=True)
    c.add_argument("--completions", required=True)
    c.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    fixture(args) if args.mode == "fixture" else check(args)


if __name__ == "__main__":
    main()
