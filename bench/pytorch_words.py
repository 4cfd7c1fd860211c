#!/usr/bin/python3
"""bench/words.c's run in PyTorch: a character model of a word list, side by side (issue 22).

The words are read by libseqgen's rules (docs/symbols.md): UTF-8, one sequence per line (LF or
CRLF, a BOM skipped), empty lines skipped; id 0 is the end symbol, ids 1.. the distinct code
points of the whole file in increasing order; each word is its characters' ids then the end
symbol; non-empty lines k-1, 2k-1, ... (every k-th, counted from 0) are held out. The counts, V,
T and a checksum of the ids are printed (and put in the JSON line) as words.c prints them, so the
driver can check that both sides read the same symbols.

Model: nn.Embedding(V, E) -> nn.GRU(E, H, 1 layer) -> nn.Linear(H, V); a start step (a zero
input vector before the first symbol, so every symbol, the end symbol included, is predicted);
nn.CrossEntropyLoss over the real symbols (padding ignored); Adam. Batches of B words in a random
order each epoch (torch.randperm, seeded with --seed, as are the initial weights), each padded
to its own longest word, as libseqgen's pass stops at the batch's longest sequence; or, with
--packed, run as PyTorch's packed sequences (pack_padded_sequence: each step over only the words
that have not ended, the linear layer and the loss over the real symbols only), as libseqgen's
pass runs. Only the training loop is timed. Prints the held-out NLL in nats per symbol (per character, the end
symbol counted as one), the training time and symbols/s, and as its last line one JSON object.
"""
import argparse
import json
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="/usr/share/dict/words", help="one word per line")
    p.add_argument("--holdout", type=int, default=10, help="every K-th non-empty line held out")
    p.add_argument("--embedding", type=int, default=32, help="embedding width E (32)")
    p.add_argument("--hidden", type=int, default=128, help="GRU units H (128)")
    p.add_argument("--batch", type=int, default=64, help="training batch size (64)")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (2)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate (0.002)")
    p.add_argument("--seed", type=int, default=1, help="initial weights and shuffle (1)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="OpenBLAS threads under torch's matrix products (= --threads)")
    p.add_argument("--packed", action="store_true",
                   help="run each batch as packed sequences (no computation on padding)")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after this many training steps: a speed measurement only, whose "
                        "NLL is not the budget's (0: the whole budget)")
    args = p.parse_args()
    if args.blas_threads is None:
        args.blas_threads = args.threads
    if min(args.holdout - 1, args.embedding, args.hidden, args.batch, args.epochs, args.threads,
           args.blas_threads) < 1 or not 0 < args.lr < 1:
        p.error("sizes and counts must be >= 1, --holdout >= 2, --lr in (0, 1)")
    return args


def read_words(path, holdout):
    """libseqgen's text reader: (training sequences, held-out sequences, V), each sequence a list
    of ids ending with the end symbol 0."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [l[:-1] if l.endswith("\r") else l for l in text.split("\n")]
    lines = [l for l in lines if l]
    chars = sorted(set("".join(lines)))
    ids = {c: i + 1 for i, c in enumerate(chars)}
    seqs = [[ids[c] for c in l] + [0] for l in lines]
    train = [s for i, s in enumerate(seqs) if i % holdout != holdout - 1]
    test = [s for i, s in enumerate(seqs) if i % holdout == holdout - 1]
    return train, test, len(chars) + 1


def describe(seqs):
    """Symbols and the checksum of bench/words.c's describe()."""
    mod, total = (1 << 61) - 1, 0
    for i, s in enumerate(seqs):
        w = i % 1000 + 1
        total = (total + sum((x + 1) * (t + 1) for t, x in enumerate(s)) * w) % mod
    return sum(len(s) for s in seqs), total


def main():
    args = parse_args()
    # Debian's torch does its matrix products in OpenBLAS, which torch.set_num_threads does not
    # reach: OpenBLAS reads its thread count from the environment when it loads.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence

    torch.set_num_threads(args.threads)
    train, test, V = read_words(args.data, args.holdout)
    T = max(len(s) for s in train)
    (train_symbols, train_sum), (test_symbols, test_sum) = describe(train), describe(test)
    print(f"data {args.data}: V {V}, T {T}; training {len(train)} words, {train_symbols} symbols "
          f"(checksum {train_sum}); held out {len(test)} words, {test_symbols} symbols "
          f"(checksum {test_sum})")

    def padded(seqs):
        width = max(len(s) for s in seqs)
        data = torch.zeros(len(seqs), width, dtype=torch.long)
        for i, s in enumerate(seqs):
            data[i, :len(s)] = torch.tensor(s)
        return data, torch.tensor([len(s) for s in seqs])

    train_data, train_len = padded(train)
    test_data, test_len = padded(test)

    torch.manual_seed(args.seed)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, args.embedding)
            self.gru = nn.GRU(args.embedding, args.hidden, 1, batch_first=True)
            self.out = nn.Linear(args.hidden, V)

        def forward(self, symbols):
            """[B][L] symbols -> [B][L][V] logits; step t reads symbol t - 1, step 0 zeros."""
            x = self.embedding(symbols[:, :-1])
            x = torch.cat([x.new_zeros(x.shape[0], 1, x.shape[2]), x], dim=1)
            return self.out(self.gru(x)[0])

        def forward_packed(self, symbols, lengths):
            """The same over packed sequences: the logits of the real steps, in the order of
            pack_padded_sequence(..., enforce_sorted=False).data."""
            x = self.embedding(symbols[:, :-1])
            x = torch.cat([x.new_zeros(x.shape[0], 1, x.shape[2]), x], dim=1)
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            return self.out(self.gru(packed)[0].data)

    model = Model()
    optim = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100, reduction="sum")
    shuffle = torch.Generator().manual_seed(args.seed)
    positions = torch.arange(max(T, max(len(s) for s in test)))

    def batch(data, lengths, index):
        n = lengths[index]
        symbols = data[index, :int(n.max())]
        targets = symbols.masked_fill(positions[:symbols.shape[1]] >= n[:, None], -100)
        return symbols, targets, int(n.sum())

    def logits_and_targets(data, lengths, index):
        """[count][V] logits and [count] targets of a batch (count: the padded or the real
        steps), and the real symbols' count."""
        symbols, targets, n = batch(data, lengths, index)
        if args.packed:
            real = pack_padded_sequence(symbols, lengths[index], batch_first=True,
                                        enforce_sorted=False).data
            return model.forward_packed(symbols, lengths[index]), real, n
        return model(symbols).reshape(-1, V), targets.reshape(-1), n

    def evaluate():
        total, count = 0.0, 0
        with torch.no_grad():
            for first in range(0, len(test), 256):
                index = torch.arange(first, min(first + 256, len(test)))
                logits, targets, n = logits_and_targets(test_data, test_len, index)
                total += float(loss_fn(logits, targets))
                count += n
        return total / count

    print(f"PyTorch {torch.__version__}: E {args.embedding}, H {args.hidden}, V {V}, batch "
          f"{args.batch}, Adam lr {args.lr:g}, {args.epochs} epochs, seed {args.seed}, "
          f"{args.threads} torch + {args.blas_threads} OpenBLAS threads"
          f"{', packed sequences' if args.packed else ''}")
    train_seconds = train_cpu = 0.0
    steps = trained = 0
    for epoch in range(args.epochs):
        model.train()
        loss_sum, loss_count = 0.0, 0
        wall, cpu = time.perf_counter(), time.process_time()
        order = torch.randperm(len(train), generator=shuffle)
        for first in range(0, len(train), args.batch):
            logits, targets, n = logits_and_targets(train_data, train_len,
                                                    order[first:first + args.batch])
            loss = loss_fn(logits, targets)
            optim.zero_grad()
            (loss / n).backward()
            optim.step()
            loss_sum += float(loss)
            loss_count += n
            steps += 1
            if steps == args.max_steps:
                break
        train_seconds += time.perf_counter() - wall
        train_cpu += time.process_time() - cpu
        trained += loss_count
        last_loss = loss_sum / loss_count
        model.eval()
        test_nll = evaluate()
        if steps == args.max_steps:
            print(f"stopped after --max-steps {steps}: a speed measurement only")
            break
        print(f"epoch {epoch + 1}: training loss {last_loss:.4f} nats/symbol, held-out NLL "
              f"{test_nll:.4f} nats/symbol ({test_nll / 0.6931471805599453:.4f} bits), "
              f"{train_seconds:.1f} s of training so far", flush=True)
    print(f"test NLL {test_nll:.4f} nats per character (the end symbol counted as one character)")
    print(f"training {train_seconds:.2f} s ({train_cpu:.2f} s CPU), {steps} steps, "
          f"{trained / train_seconds:.0f} symbols/s")
    print(json.dumps({
        "implementation": "pytorch", "test_nll": round(test_nll, 6),
        "train_loss": round(last_loss, 6), "train_seconds": round(train_seconds, 3),
        "train_cpu_seconds": round(train_cpu, 3),
        "symbols_per_s": round(trained / train_seconds, 1), "steps": steps,
        "speed_only": steps == args.max_steps, "threads": args.threads, "blas_threads": args.blas_threads,
        "packed": args.packed, "seed": args.seed,
        "embedding": args.embedding, "hidden": args.hidden, "batch": args.batch,
        "epochs": args.epochs, "lr": args.lr, "vocab": V, "steps_T": T,
        "train_words": len(train), "test_words": len(test), "train_symbols": train_symbols,
        "test_symbols": test_symbols, "train_checksum": train_sum, "test_checksum": test_sum}))


if __name__ == "__main__":
    sys.exit(main())
