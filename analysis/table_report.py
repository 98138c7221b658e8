"""Print the facts data/README.md records for a table: spread, seed agreement, best arch.

    python analysis/table_report.py data/t81-digits.h5 data/t81-none-digits.h5

Rank correlations are Kendall tau over the archs, on seed means unless a line says otherwise.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy import stats

from nasbench_tools.spaces import Arch
from nasbench_tools.stats import dead_archs, param_free_counts, seed_agreement, table_facts
from nasbench_tools.table import Benchmark, Metric

from _script import run


def _tau(x: np.ndarray, y: np.ndarray) -> float:
    both = np.isfinite(x) & np.isfinite(y)  # a partial table: archs without a result
    return float(stats.kendalltau(x[both], y[both]).statistic)


def report(path: str) -> str:
    bench = Benchmark.open(path)
    facts, agree = table_facts(bench), seed_agreement(bench)
    ids = np.arange(bench.n_archs)
    err = np.asarray(bench.query(ids, Metric.TEST_ERR))
    lines = [
        f"## {path}",
        f"- mean test error over archs: min {facts.test_err_min:.2f} %, "
        f"median {facts.test_err_median:.2f} %, max {facts.test_err_max:.2f} %",
        f"- best arch {facts.best_arch}: `{facts.best_genotype}`",
    ]
    done = np.isfinite(err)
    if not done.all():
        lines.append(f"- partial table: {int(done.sum())} of {bench.n_archs} archs have a "
                     "result; every figure here is over those")
    if len(bench.seeds) > 1:
        valid = seed_agreement(bench, Metric.VALID_ERR)
        lines += [
            f"- best arch of each seed ({', '.join(map(str, bench.seeds))}): "
            f"{', '.join(map(str, facts.best_per_seed))}; seed std of the best arch "
            f"{facts.best_seed_std:.2f} points",
            f"- seed-to-seed Kendall tau of final test error: mean {agree.mean_tau:.3f} "
            f"(pairs: {', '.join(f'{a}-{b} {t:.3f}' for a, b, t in agree.pairs)})",
            f"- mean std of test error across seeds: {facts.seed_std_mean:.2f} points",
            f"- same for valid error: mean tau {valid.mean_tau:.3f}",
        ]
    else:
        lines.append("- one seed: no seed agreement")
    dead = dead_archs(bench)
    if len(dead) and len(bench.seeds) > 1:
        live = np.setdiff1d(ids, dead)
        lines.append(f"- without the {len(dead)} dead archs (no input-dependent path to the "
                     f"head): tau {seed_agreement(bench, archs=live).mean_tau:.3f}")
    top = np.argsort(err, kind="stable")[:6]  # NaN (no result) sorts last
    lines.append("- best six on the mean (arch: error %): "
                 + ", ".join(f"{i}: {err[i]:.2f}" for i in top))
    lines.append("- mean test error by number of parameter-free ops (k, archs, error %): "
                 + "; ".join(f"{k}: {n} archs {e:.2f}" for k, n, e in facts.by_param_free))
    if set(bench.space.cells) == {"normal", "reduce"}:
        normal, reduce = param_free_counts(bench, "normal"), param_free_counts(bench, "reduce")
        pairs = sorted(set(zip(normal.tolist(), reduce.tolist(), strict=True)))
        lines.append("- mean test error by parameter-free ops in the normal, reduction cell "
                     "(n, r: error %): " + "; ".join(
                         f"{n}, {r}: {np.nanmean(err[(normal == n) & (reduce == r)]):.2f}"
                         for n, r in pairs))
    space = bench.space
    for k, op in enumerate(space.edges[0].ops):
        if all(e.ops[k] == op for e in space.edges if k < len(e.ops)):
            i = space.index(Arch(tuple([k] * space.n_edges)))
            if not done[i]:
                lines.append(f"- all `{op}`: arch {i}, no result yet")
                continue
            rank = int((err < err[i]).sum()) + 1
            lines.append(f"- all `{op}`: arch {i}, test error {err[i]:.2f} %, rank {rank} of "
                         f"{int(done.sum())}")
    valid_err = np.asarray(bench.query(ids, Metric.VALID_ERR))
    lines.append(f"- valid against test error of the same runs: tau {_tau(valid_err, err):.3f}")
    n_params = np.asarray(bench.data.n_params, dtype=float)
    if (n_params > 1).all():
        lines.append(f"- parameter count against test error: tau {_tau(n_params, err):.3f}")
    epochs = [e for e in (1, 2, 3, 5, bench.epochs // 2, bench.epochs - 2, bench.epochs - 1)
              if 0 < e < bench.epochs]
    early = [(e, _tau(np.asarray(bench.query(ids, Metric.TEST_ERR, epoch=e - 1)), err))
             for e in sorted(set(epochs))]
    lines.append("- test-error ranking after epoch e against the final one (e: tau): "
                 + ", ".join(f"{e}: {t:.3f}" for e, t in early))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tables", nargs="+", help="table files (.h5)")
    args = ap.parse_args(argv)
    return run("table_report", lambda: print("\n\n".join(report(p) for p in args.tables)))


if __name__ == "__main__":
    sys.exit(main())
