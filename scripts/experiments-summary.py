#!/usr/bin/env python3
"""Summarises the study of scripts/experiments.sh: reads each run's config.txt, results.csv
(one row per epoch, written by seqgen-train) and metrics.csv (rows appended by seqgen-complete
--metrics-csv), and writes DIR/summary.md (the table of docs/results.md) and, when gnuplot is
installed, the learning curves as SVG into DIR/curves/.

Usage: python3 scripts/experiments-summary.py DIR
Runs are listed by pixels per step, then units per layer, then name. Runs named NAME-s1,
NAME-s2, ... (and NAME itself) are also summarised together as NAME (mean +- spread). The
curves come in two sets: the runs that read one pixel per step, and those that read more
(their first seed only).
"""
import csv
import os
import re
import statistics
import subprocess
import sys


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_config(path):
    """config.txt: the command line as a comment, then one 'key value' per line."""
    settings = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            key, _, value = line.strip().partition(" ")
            settings[key] = value
    if "units-per-step" in settings:  # config.txt's name since sequences of units
        settings.setdefault("pixels-per-step", settings["units-per-step"])
    return settings


BASELINE = {"hidden": "128", "layers": "1", "pixels-per-step": "1", "loss": "mse",
            "schedule": "constant", "binarize": "threshold", "lr": "0.001", "batch-size": "64",
            "optim": "adam", "clip": "0", "head": "independent"}


def changes(settings):
    """What a run changes from the original configuration, in seqgen-train's option names."""
    out = [f"--{k} {settings[k]}" for k in BASELINE if settings.get(k, BASELINE[k]) != BASELINE[k]]
    if settings.get("schedule", "constant") != "constant":
        out += [f"--sched-{k} {float(settings['sched-' + k]):.6g}" for k in ("k", "c", "eps")]
        out.append(f"--feedback {settings['feedback']}")
    if settings.get("head") == "made-ar":
        out.append(f"--head-hidden {settings['head-hidden']}")
    if settings.get("professor", "0") == "1":
        out.append(f"--professor --pf-lambda {float(settings['pf-lambda']):.6g}")
        out += [f"--pf-{k} {settings['pf-' + k]}" for k in ("disc-hidden", "disc-layers", "given")]
        out.append("--pf-band " + ",".join(f"{float(v):.6g}" for v in settings["pf-band"].split(",")))
    return " ".join(out) if out else "(the original)"


def load_run(top, name):
    run_dir = os.path.join(top, name)
    epochs = read_rows(os.path.join(run_dir, "results.csv"))
    metrics = read_rows(os.path.join(run_dir, "metrics.csv"))
    images = sum(float(r["sequences_per_s"]) * float(r["seconds"]) for r in epochs)
    # The speed phase measured every configuration side by side; without it, the run's own.
    speed = os.path.join(top, "speed", name, "results.csv")
    images_per_s = (float(read_rows(speed)[-1]["sequences_per_s"]) if os.path.isfile(speed)
                    else statistics.median(float(r["sequences_per_s"]) for r in epochs))
    run = {
        "epochs": len(epochs),
        "train_seconds": images / images_per_s,
        "images_per_s": images_per_s,
        "settings": read_config(os.path.join(run_dir, "config.txt")),
        "curve": epochs,
    }
    for row in metrics:
        if row["binarize"] == "stochastic":
            run["nll_stochastic"] = float(row["test_nll_nats"])
            continue
        run["nll"] = float(row["test_nll_nats"])
        run["mse"] = float(row["test_mse"])
        decode = "greedy" if row["decode"] == "greedy" else "t" + row["temperature"]
        key = (int(row["given"]), decode)
        run.setdefault(key, []).append((float(row["label_kept"]), float(row["unit_error"])))
        run[("bounds", int(row["given"]))] = (float(row["label_kept_truth"]),
                                              float(row["label_kept_blank"]))
    return run


def mean_spread(values):
    """'m' for one value; 'm ± s' (s the sample standard deviation) for several."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def cells(runs):
    """Table cells for one run, or for a group of seeds of one configuration (mean ± spread)."""
    def over_runs(get, fmt):
        values = [get(r) for r in runs]
        if len(values) == 1:
            return fmt.format(values[0])
        return (fmt + " ± " + fmt).format(statistics.mean(values), statistics.stdev(values))

    out = [over_runs(lambda r: r["nll"], "{:.1f}"),
           over_runs(lambda r: r.get("nll_stochastic", float("nan")), "{:.1f}"),
           over_runs(lambda r: r["mse"], "{:.4f}"),
           over_runs(lambda r: r[(500, "greedy")][0][1], "{:.3f}")]
    for given in (500, 300):
        for decode in ("greedy", "t0.5", "t1"):
            # sampled: every seed of every run together, so the spread covers both
            out.append(mean_spread([kept for r in runs for kept, _ in r[(given, decode)]]))
    out.append(over_runs(lambda r: r["train_seconds"] / 60, "{:.1f}"))
    out.append(over_runs(lambda r: r["images_per_s"], "{:.0f}"))
    return out


HEADER = ["run", "epochs", "changes from the original", "NLL (threshold)", "NLL (stochastic)", "MSE",
          "pixel error 500 greedy",
          "kept 500 greedy", "kept 500 T 0.5", "kept 500 T 1",
          "kept 300 greedy", "kept 300 T 0.5", "kept 300 T 1",
          "training min (at images/s)", "images/s"]


def family(run):
    """Sort key: pixels per step, then units per layer: the original and its variants first."""
    settings = run["settings"]
    return int(settings.get("pixels-per-step", 1)), int(settings.get("hidden", 128))


def table(runs, groups):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for name, run in runs.items():
        lines.append("| " + " | ".join([name, str(run["epochs"]), changes(run["settings"])]
                                       + cells([run])) + " |")
    for name, members in groups.items():
        label = f"**{name}** ({len(members)} seeds)"
        first = runs[members[0]]
        lines.append("| " + " | ".join([label, str(first["epochs"]), changes(first["settings"])]
                                       + cells([runs[m] for m in members])) + " |")
    some = next(iter(runs.values()))
    for given in (500, 300):
        truth, blank = some[("bounds", given)]
        lines.append(f"\nDigit kept with {given} given: true digits {truth:.3f}, "
                     f"blank completion {blank:.3f}.")
    return "\n".join(lines) + "\n"


def professor_table(runs):
    """The professor-forcing runs over training: per epoch, the discriminator's accuracy (before
    its updates, the mean over the epoch's batches) and the fraction of batches whose
    adversarial gradient reached the generator (the accuracy in the band)."""
    names = [n for n, r in runs.items() if r["settings"].get("professor", "0") == "1"]
    if not names:
        return ""
    epochs = max(runs[n]["epochs"] for n in names)
    lines = ["| run | " + " | ".join(f"epoch {e}" for e in range(1, epochs + 1)) + " |",
             "|" + "---|" * (epochs + 1)]
    for n in names:
        cells = [f"{float(r['disc_accuracy']):.2f} / {float(r['adv_passed']):.2f}"
                 for r in runs[n]["curve"]]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return ("\nDiscriminator accuracy / fraction of batches passing its gradient, per epoch:\n\n"
            + "\n".join(lines) + "\n")


def plot(runs, out_dir):
    """Learning curves (test NLL, per-epoch digit kept, teacher-forcing p) as SVG via gnuplot."""
    os.makedirs(out_dir, exist_ok=True)
    for stale in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, stale))
    for name, run in runs.items():
        with open(os.path.join(out_dir, name + ".dat"), "w") as f:
            for r in run["curve"]:
                f.write(f"{r['epoch']} {r['test_nll_nats']} {r['label_kept']} {r['teacher_p']}\n")
    one_pixel = lambda n: family(runs[n])[0] == 1
    wider = lambda n: family(runs[n])[0] > 1 and not re.fullmatch(r".+-s\d+", n)
    scheduled = lambda n: runs[n]["settings"].get("schedule") != "constant"
    panels = [("nll-d1", 2, "test NLL (nats/image, threshold-binarised)", one_pixel),
              ("nll-wide", 2, "test NLL (nats/image, threshold-binarised)", wider),
              ("kept-d1", 3, "digit kept, 500 given, greedy", one_pixel),
              ("kept-wide", 3, "digit kept, 500 given, greedy", wider),
              ("teacher-p", 4, "p (probability of feeding the true pixel)", scheduled)]
    for stem, column, ylabel, shown in panels:
        names = [n for n in runs if shown(n)]
        if not names:
            continue
        # gnuplot has 8 line colours: past them, lines differ by dash and point type too
        plots = ", ".join(f"'{os.path.join(out_dir, n + '.dat')}' using 1:{column} with linespoints "
                          f"lc {i % 8 + 1} dt {i // 8 + 1} pt {i // 8 * 2 + 1} title '{n}'"
                          for i, n in enumerate(names))
        script = (f"set terminal svg size 900,560 dynamic font 'sans,12'\n"
                  f"set output '{os.path.join(out_dir, stem + '.svg')}'\n"
                  f"set xlabel 'epoch'\nset ylabel '{ylabel}'\nset key outside right\n"
                  f"set grid\nplot {plots}\n")
        done = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if done.returncode != 0:  # its warnings (e.g. a flat curve) are not worth showing
            sys.exit(f"experiments-summary: gnuplot failed:\n{done.stderr}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: experiments-summary.py DIR")
    top = sys.argv[1]
    runs = {}
    for name in sorted(os.listdir(top)):
        run_dir = os.path.join(top, name)
        if os.path.isfile(os.path.join(run_dir, "metrics.csv.done")):
            runs[name] = load_run(top, name)
    if not runs:
        sys.exit(f"experiments-summary: no evaluated run in {top}")
    runs = dict(sorted(runs.items(), key=lambda item: family(item[1])))  # stable: names within
    groups = {}
    for name in runs:
        m = re.fullmatch(r"(.+)-s\d+", name)
        if m:
            groups.setdefault(m.group(1), []).append(name)
    for g, members in groups.items():  # NAME itself, if it exists, is the first seed
        if g in runs:
            members.insert(0, g)
    groups = {g: members for g, members in groups.items() if len(members) > 1}
    with open(os.path.join(top, "summary.md"), "w") as f:
        f.write(table(runs, groups))
        f.write(professor_table(runs))
    print(f"experiments: the table is {os.path.join(top, 'summary.md')}")
    if subprocess.run(["sh", "-c", "command -v gnuplot"], capture_output=True).returncode == 0:
        plot(runs, os.path.join(top, "curves"))
        print(f"experiments: the curves are in {os.path.join(top, 'curves')}/")
    else:
        print("experiments: gnuplot is not installed, no curves (apt-get install gnuplot-nox)")


if __name__ == "__main__":
    main()
