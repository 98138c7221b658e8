"""Do two tables of one space rank the architectures alike? Kendall tau and Spearman rho of
the seed-mean final error, with bootstrap confidence intervals, top-k overlap, and where each
table's best arch stands in the other. Per epoch of the first table too, with ``--per-epoch``:
how early the first table's ranking settles on the second's.

    python analysis/compare_tables.py data/t81-fashion.h5 data/t81-fashion-8k.h5 \
        --per-epoch --plot figures/fashion-rank-by-epoch.png
    python analysis/compare_tables.py data/t81-digits.h5 data/t81-fashion.h5 --metric valid_err
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from nasbench_tools.stats import RankAgreement, rank_agreement, table_agreement
from nasbench_tools.table import Benchmark, Metric

from _script import run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--metric", default="test_err", choices=[m.value for m in Metric],
                    help="the error to rank by (test_err)")
    ap.add_argument("--k", type=int, default=10, help="top-k overlap (10)")
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (2000)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    ap.add_argument("--per-epoch", action="store_true",
                    help="also the first table's every epoch against the second's last")
    ap.add_argument("--plot", metavar="PNG", help="with --per-epoch: draw tau by epoch")
    args = ap.parse_args(argv)
    return run("compare_tables", lambda: compare(args))


def compare(args: argparse.Namespace) -> None:
    a, b, metric = Benchmark.open(args.first), Benchmark.open(args.second), Metric(args.metric)
    for bench, path in ((a, args.first), (b, args.second)):
        print(f"{path}: {bench.dataset}, {bench.epochs} epochs, seeds "
              f"{','.join(map(str, bench.seeds))}, best arch {bench.best(metric)}")
    print(f"{metric.value}, {args.first} vs {args.second}:")
    r = table_agreement(a, b, metric, rng=np.random.default_rng(args.seed), k=args.k,
                        n_boot=args.boot)
    print("  " + r.line())
    print(f"  the second's best is #{r.best_rank_in_a} in the first")
    if args.per_epoch:
        ids = np.arange(a.n_archs)
        target = np.asarray(b.query(ids, metric))
        curve = []
        for epoch in range(a.epochs):
            e = rank_agreement(np.asarray(a.query(ids, metric, epoch=epoch)), target,
                               rng=np.random.default_rng(args.seed), k=args.k, n_boot=args.boot)
            curve.append(e)
            print(f"  epoch {epoch + 1} of the first: " + e.line())
        if args.plot:
            plot(curve, args.first, args.second, metric, args.plot)


def plot(curve: list[RankAgreement], first: str, second: str, metric: Metric,
         out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(curve) + 1)
    fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
    ax.fill_between(epochs, [c.tau_ci[0] for c in curve], [c.tau_ci[1] for c in curve],
                    alpha=0.25, label=f"{100 * curve[0].level:g} % bootstrap CI")
    ax.plot(epochs, [c.tau for c in curve], "o-", label="Kendall tau")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xticks(epochs)
    ax.set(xlabel=f"epoch of {Path(first).name}", ylim=(-1, 1),
           ylabel=f"tau vs final {metric.value} of {Path(second).name}")
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
