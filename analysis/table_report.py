"""Print the facts data/README.md records for a table: spread, seed agreement, best arch.

    python analysis/table_report.py data/t81-digits.h5 data/t81-none-digits.h5
"""

from __future__ import annotations

import sys

import numpy as np

from nasbench_tools.spaces import Arch
from nasbench_tools.stats import dead_archs, seed_agreement, table_facts
from nasbench_tools.table import Benchmark, Metric


def report(path: str) -> str:
    bench = Benchmark.open(path)
    facts, agree = table_facts(bench), seed_agreement(bench)
    lines = [
        f"## {path}",
        f"- mean test error over archs: min {facts.test_err_min:.2f} %, "
        f"median {facts.test_err_median:.2f} %, max {facts.test_err_max:.2f} %",
        f"- best arch {facts.best_arch}: `{facts.best_genotype}`",
    ]
    if len(bench.seeds) > 1:
        valid = seed_agreement(bench, Metric.VALID_ERR)
        lines += [
            f"- seed-to-seed Kendall tau of final test error: mean {agree.mean_tau:.3f} "
            f"(pairs: {', '.join(f'{a}-{b} {t:.3f}' for a, b, t in agree.pairs)})",
            f"- mean std of test error across seeds: {facts.seed_std_mean:.2f} points",
            f"- same for valid error: mean tau {valid.mean_tau:.3f}",
        ]
    else:
        lines.append("- one seed: no seed agreement")
    dead = dead_archs(bench)
    if len(dead) and len(bench.seeds) > 1:
        live = np.setdiff1d(np.arange(bench.n_archs), dead)
        lines.append(f"- without the {len(dead)} dead archs (no input-dependent path to the "
                     f"head): tau {seed_agreement(bench, archs=live).mean_tau:.3f}")
    lines.append("- mean test error by number of parameter-free ops (k, archs, error %): "
                 + "; ".join(f"{k}: {n} archs {e:.2f}" for k, n, e in facts.by_param_free))
    err = np.asarray(bench.query(np.arange(bench.n_archs), Metric.TEST_ERR))
    space = bench.space
    for k, op in enumerate(space.edges[0].ops):
        if all(e.ops[k] == op for e in space.edges if k < len(e.ops)):
            i = space.index(Arch(tuple([k] * space.n_edges)))
            rank = int((err < err[i]).sum()) + 1
            lines.append(f"- all `{op}`: arch {i}, test error {err[i]:.2f} %, rank {rank} of "
                         f"{bench.n_archs}")
    return "\n".join(lines)


if __name__ == "__main__":
    print("\n\n".join(report(p) for p in sys.argv[1:]))
