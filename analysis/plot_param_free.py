"""Draw each table's seed-mean test error against the number of parameter-free ops per arch.

    python analysis/plot_param_free.py data/t81-fashion-8k.h5 data/t81-cifar10-cpu.h5 \
        --out figures/param-free-error.png

DARTS is said to collapse onto parameter-free ops (skip, pooling); this shows, table by table,
what such a cell costs on ground truth. One dot per arch (jittered sideways, the error bar is
its seed std), coloured by how many of the parameter-free ops sit in the reduction cell; the
group mean as a bar, the best arch circled.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from nasbench_tools.spaces import reduction_indices
from nasbench_tools.stats import param_free_counts
from nasbench_tools.table import Benchmark, Metric

from _script import run


def panel_data(bench: Benchmark) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per arch: parameter-free ops in all and in the reduction cell, seed-mean test error and
    its std across seeds."""
    ids = np.arange(bench.n_archs)
    per_seed = np.stack([np.asarray(bench.query(ids, Metric.TEST_ERR, seed=s))
                         for s in bench.seeds])
    std = (np.nanstd(per_seed, axis=0, ddof=1) if len(bench.seeds) > 1
           else np.zeros(bench.n_archs))
    return (param_free_counts(bench), param_free_counts(bench, "reduce"),
            np.nanmean(per_seed, axis=0), std)


def plot(paths: list[str], out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(paths), figsize=(3.3 * len(paths), 3.4),
                             layout="constrained", squeeze=False)
    jitter = np.random.default_rng(0)
    for ax, path in zip(axes[0], paths, strict=True):
        bench = Benchmark.open(path)
        k, in_reduce, err, std = panel_data(bench)
        x = k + jitter.uniform(-0.25, 0.25, size=k.size)
        for r in np.unique(in_reduce):
            m = in_reduce == r
            ax.errorbar(x[m], err[m], yerr=std[m], fmt="o", ms=3, lw=0.6, alpha=0.7,
                        color=plt.cm.viridis(r / max(1, in_reduce.max())),
                        label=f"{r} in the reduction cell")
        for j in np.unique(k):
            ax.hlines(err[k == j].mean(), j - 0.35, j + 0.35, color="black", lw=2)
        best = int(np.nanargmin(err))
        ax.plot(x[best], err[best], "o", ms=10, mfc="none", color="red", label=f"best: {best}")
        ax.set_xticks(np.unique(k))
        layers, n_seeds = bench.protocol.layers, len(bench.seeds)
        ax.set(title=f"{Path(path).name}\n(L={layers}: {len(reduction_indices(layers))} of "
                     f"{layers} cells reduce; {n_seeds} seed{'s' if n_seeds > 1 else ''})",
               xlabel="parameter-free ops in both cells")
        ax.legend(loc="upper left", fontsize=7)
    axes[0][0].set_ylabel("test error, mean over seeds (%)")
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tables", nargs="+", help="table files (.h5), one panel each")
    ap.add_argument("--out", required=True, metavar="PNG", help="figure to write")
    args = ap.parse_args(argv)
    return run("plot_param_free", lambda: plot(args.tables, args.out))


if __name__ == "__main__":
    sys.exit(main())
