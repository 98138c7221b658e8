"""The facts recorded for every shipped table, as one value: spread, seed agreement, the best
architectures, error by parameter-free ops, the uniform cells, and how rankings agree.

    facts = table_report(Benchmark.open("data/t81-digits.h5"))
    facts.valid_test_tau, facts.uniform_cells
    print(facts.format("data/t81-digits.h5"))     # the Markdown lines data/README.md quotes

Rank correlations are Kendall's tau over the architectures (seed means unless a field says
otherwise), over the architectures with a result when a table is partial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from nasbench_tools.spaces import Arch
from nasbench_tools.stats.agreement import (
    SeedAgreement,
    TableFacts,
    dead_archs,
    param_free_counts,
    seed_agreement,
    table_facts,
)
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.schema import Metric


def kendall(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b over the entries where both are finite (a partial table)."""
    both = np.isfinite(x) & np.isfinite(y)
    return float(stats.kendalltau(x[both], y[both]).statistic)


@dataclass(frozen=True)
class UniformCell:
    """An architecture with the same op on every edge: its error and rank (None: no result)."""

    op: str
    arch: int
    test_err: float | None
    rank: int | None


@dataclass(frozen=True)
class TableReport:
    facts: TableFacts
    agreement: SeedAgreement | None  # None with one seed
    valid_agreement_tau: float | None
    n_done: int
    n_archs: int
    live_tau: tuple[int, float] | None  # (dead archs left out, tau without them)
    best_six: tuple[tuple[int, float], ...]
    by_cell_param_free: tuple[tuple[int, int, float], ...]  # (normal k, reduce k, error %)
    uniform_cells: tuple[UniformCell, ...]
    valid_test_tau: float
    params_test_tau: float | None  # None when the table stores no parameter counts
    early_taus: tuple[tuple[int, float], ...]  # (epoch e, tau of epoch e's ranking vs final)
    seeds: tuple[int, ...]

    def format(self, title: str) -> str:
        """The Markdown lines `analysis/table_report.py` prints (and data/README.md quotes)."""
        return "\n".join(report_lines(self, title))


def _uniform_cells(bench: Benchmark, err: np.ndarray) -> tuple[UniformCell, ...]:
    space, done = bench.space, np.isfinite(err)
    out = []
    for k, op in enumerate(space.edges[0].ops):
        if all(e.ops[k] == op for e in space.edges if k < len(e.ops)):
            i = space.index(Arch(tuple([k] * space.n_edges)))
            if not done[i]:
                out.append(UniformCell(op, i, None, None))
            else:
                out.append(UniformCell(op, i, float(err[i]), int((err < err[i]).sum()) + 1))
    return tuple(out)


def _by_cells(bench: Benchmark, err: np.ndarray) -> tuple[tuple[int, int, float], ...]:
    if set(bench.space.cells) != {"normal", "reduce"}:
        return ()
    normal, reduce = param_free_counts(bench, "normal"), param_free_counts(bench, "reduce")
    pairs = sorted(set(zip(normal.tolist(), reduce.tolist(), strict=True)))
    return tuple((n, r, float(np.nanmean(err[(normal == n) & (reduce == r)])))
                 for n, r in pairs)


def _early_taus(bench: Benchmark, err: np.ndarray) -> tuple[tuple[int, float], ...]:
    ids = np.arange(bench.n_archs)
    epochs = [e for e in (1, 2, 3, 5, bench.epochs // 2, bench.epochs - 2, bench.epochs - 1)
              if 0 < e < bench.epochs]
    return tuple((e, kendall(np.asarray(bench.query(ids, Metric.TEST_ERR, epoch=e - 1)), err))
                 for e in sorted(set(epochs)))


def table_report(bench: Benchmark) -> TableReport:
    ids = np.arange(bench.n_archs)
    err = np.asarray(bench.query(ids, Metric.TEST_ERR))
    several = len(bench.seeds) > 1
    dead = dead_archs(bench)
    live = None
    if len(dead) and several:
        live = (len(dead), seed_agreement(bench, archs=np.setdiff1d(ids, dead)).mean_tau)
    n_params = np.asarray(bench.data.n_params, dtype=float)
    return TableReport(
        facts=table_facts(bench), agreement=seed_agreement(bench) if several else None,
        valid_agreement_tau=seed_agreement(bench, Metric.VALID_ERR).mean_tau if several
        else None,
        n_done=int(np.isfinite(err).sum()), n_archs=bench.n_archs, live_tau=live,
        best_six=tuple((int(i), float(err[i])) for i in np.argsort(err, kind="stable")[:6]),
        by_cell_param_free=_by_cells(bench, err), uniform_cells=_uniform_cells(bench, err),
        valid_test_tau=kendall(np.asarray(bench.query(ids, Metric.VALID_ERR)), err),
        params_test_tau=kendall(n_params, err) if (n_params > 1).all() else None,
        early_taus=_early_taus(bench, err), seeds=bench.seeds,
    )


def report_lines(r: TableReport, title: str) -> list[str]:
    f = r.facts
    lines = [
        f"## {title}",
        f"- mean test error over archs: min {f.test_err_min:.2f} %, "
        f"median {f.test_err_median:.2f} %, max {f.test_err_max:.2f} %",
        f"- best arch {f.best_arch}: `{f.best_genotype}`",
    ]
    if r.n_done < r.n_archs:
        lines.append(f"- partial table: {r.n_done} of {r.n_archs} archs have a "
                     "result; every figure here is over those")
    if r.agreement is not None:
        lines += [
            f"- best arch of each seed ({', '.join(map(str, r.seeds))}): "
            f"{', '.join(map(str, f.best_per_seed))}; seed std of the best arch "
            f"{f.best_seed_std:.2f} points",
            f"- seed-to-seed Kendall tau of final test error: mean {r.agreement.mean_tau:.3f} "
            f"(pairs: {', '.join(f'{a}-{b} {t:.3f}' for a, b, t in r.agreement.pairs)})",
            f"- mean std of test error across seeds: {f.seed_std_mean:.2f} points",
            f"- same for valid error: mean tau {r.valid_agreement_tau:.3f}",
        ]
    else:
        lines.append("- one seed: no seed agreement")
    if r.live_tau is not None:
        lines.append(f"- without the {r.live_tau[0]} dead archs (no input-dependent path to the "
                     f"head): tau {r.live_tau[1]:.3f}")
    lines.append("- best six on the mean (arch: error %): "
                 + ", ".join(f"{i}: {e:.2f}" for i, e in r.best_six))
    lines.append("- mean test error by number of parameter-free ops (k, archs, error %): "
                 + "; ".join(f"{k}: {n} archs {e:.2f}" for k, n, e in f.by_param_free))
    if r.by_cell_param_free:
        lines.append("- mean test error by parameter-free ops in the normal, reduction cell "
                     "(n, r: error %): " + "; ".join(f"{n}, {k}: {e:.2f}"
                                                     for n, k, e in r.by_cell_param_free))
    for u in r.uniform_cells:
        if u.test_err is None:
            lines.append(f"- all `{u.op}`: arch {u.arch}, no result yet")
        else:
            lines.append(f"- all `{u.op}`: arch {u.arch}, test error {u.test_err:.2f} %, rank "
                         f"{u.rank} of {r.n_done}")
    lines.append(f"- valid against test error of the same runs: tau {r.valid_test_tau:.3f}")
    if r.params_test_tau is not None:
        lines.append(f"- parameter count against test error: tau {r.params_test_tau:.3f}")
    lines.append("- test-error ranking after epoch e against the final one (e: tau): "
                 + ", ".join(f"{e}: {t:.3f}" for e, t in r.early_taus))
    return lines
