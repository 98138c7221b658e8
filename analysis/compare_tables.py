"""Do two tables of one space rank the architectures alike? Kendall tau and Spearman rho of
the seed-mean final error, with bootstrap confidence intervals, top-k overlap, and where each
table's best arch stands in the other. Per epoch of the first table too, with ``--per-epoch``:
how early the first table's ranking settles on the second's.

    python analysis/compare_tables.py data/t81-fashion.h5 data/t81-fashion-8k.h5
    python analysis/compare_tables.py data/t81-digits.h5 data/t81-fashion.h5 --metric valid_err
"""

from __future__ import annotations

import argparse

import numpy as np

from nasbench_tools.stats import rank_agreement, table_agreement
from nasbench_tools.table import Benchmark, Metric


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--metric", default="test_err", help="test_err, valid_err, ... (test_err)")
    ap.add_argument("--k", type=int, default=10, help="top-k overlap (10)")
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (2000)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    ap.add_argument("--per-epoch", action="store_true",
                    help="also the first table's every epoch against the second's last")
    args = ap.parse_args()
    a, b, metric = Benchmark.open(args.first), Benchmark.open(args.second), Metric(args.metric)
    for bench, path in ((a, args.first), (b, args.second)):
        print(f"{path}: {bench.dataset}, {bench.epochs} epochs, seeds "
              f"{','.join(map(str, bench.seeds))}, best arch {bench.best(metric)}")
    print(f"{metric.value}, {args.first} vs {args.second}:")
    r = table_agreement(a, b, metric, rng=np.random.default_rng(args.seed), k=args.k,
                        n_boot=args.boot)
    print("  " + r.line())
    back = table_agreement(b, a, metric, rng=np.random.default_rng(args.seed), k=args.k,
                           n_boot=args.boot)
    print(f"  the second's best is #{back.best_rank_in_b} in the first")
    if args.per_epoch:
        ids = np.arange(a.n_archs)
        target = np.asarray(b.query(ids, metric))
        for epoch in range(a.epochs):
            e = rank_agreement(np.asarray(a.query(ids, metric, epoch=epoch)), target,
                               rng=np.random.default_rng(args.seed), k=args.k, n_boot=args.boot)
            print(f"  epoch {epoch + 1} of the first: " + e.line())


if __name__ == "__main__":
    main()
