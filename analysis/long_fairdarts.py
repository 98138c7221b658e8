"""Long FairDARTS and FairDARTS + DSCD searches on t81-none-digits, resumable across sessions,
and the figure of their validity, argmax regret and mean sigmoid weights over the epochs.

    python analysis/long_fairdarts.py --epochs 500 --seeds 0,1,2 --jobs 2 --time-limit 100m
    python analysis/long_fairdarts.py --plot-only

Each search keeps its state in ``data/long-searches/NAME.h5.ckpt`` after every epoch and the
epochs so far in ``NAME.partial.h5``; running the same command again goes on from there.
The figure is drawn from whatever is there (finished and partial traces).
"""

from __future__ import annotations

import argparse
import sys

from nasbench_tools.build import parse_duration, parse_seeds
from nasbench_tools.plots import new_figure, plot_curves, plot_runs, save_figure
from nasbench_tools.search.study import SearchSpec, run_study
from nasbench_tools.stats import load_runs, mean_curves

from _script import run

TABLE = "data/t81-none-digits.h5"
OUT = "data/long-searches"
FIGURE = "figures/long-fairdarts"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--methods", default="fairdarts,fairdarts-dscd")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--time-limit", help="e.g. 100m: start no epoch after this (none)")
    p.add_argument("--out", default=OUT)
    p.add_argument("--figure", default=FIGURE, help="figure stem (PNG and PDF)")
    p.add_argument("--plot-only", action="store_true")
    args = p.parse_args(argv)
    return run("long_fairdarts", lambda: go(args))


def go(args: argparse.Namespace) -> None:
    if not args.plot_only:
        specs = [SearchSpec(m, s) for m in args.methods.split(",")
                 for s in parse_seeds(args.seeds)]
        limit = None if args.time_limit is None else parse_duration(args.time_limit)
        summary = run_study(specs, TABLE, args.out, jobs=args.jobs, time_limit=limit,
                            overrides={"epochs": args.epochs, "hessian_every": 0},
                            progress=lambda line: print(line, file=sys.stderr))
        print(summary.format())
    draw(args.out, args.figure)


def draw(folder: str, stem: str) -> None:
    runs = load_runs(folder)
    frame = runs.epochs_frame()
    frame = frame[frame["final"]].assign(
        valid=(frame["threshold_status"] == "valid").astype(float))
    fig, axes = new_figure(1, 3, figsize=(15.0, 4.0))
    plot_curves(mean_curves(frame, "valid"), ax=axes[0, 0], interval=False,
                ylabel="share of seeds: thresholded arch valid")
    axes[0, 0].set_ylim(-0.05, 1.05)
    plot_runs(frame, "test_regret", ax=axes[0, 1],
              ylabel="argmax arch: test regret (points)")
    plot_runs(frame, "sigma_normal", ax=axes[0, 2], label_suffix=" normal")
    plot_runs(frame, "sigma_reduce", ax=axes[0, 2], linestyle="--", label_suffix=" reduce")
    axes[0, 2].set_ylabel("mean sigma (solid: normal, dashed: reduce)")
    for path in save_figure(fig, stem):
        print(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
