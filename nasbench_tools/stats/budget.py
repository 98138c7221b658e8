"""Does a table's ranking survive a longer budget? The numbers of a budget probe: a few archs of
a table retrained with more epochs under the table's protocol and seed, compared with the table.

    probe = ProbeResult.from_runs(bench, [journal.results[(a, 0)] for a in ids])
    report = probe_report(probe, rng=np.random.default_rng(0))
    report.agreement.tau, report.gain_tau, report.gain_by_ops
    print(report.format())                    # the text analysis/budget_probe.py prints

Errors are in percent; every array is in the order of ``probe.ids``. Ranks are among the probed
archs only (1 = lowest error). The gain is the table's final error minus the longer run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.stats.agreement import param_free_counts
from nasbench_tools.stats.compare import RankAgreement, rank_agreement
from nasbench_tools.table.benchmark import Benchmark
from nasbench_tools.table.schema import Metric

if TYPE_CHECKING:
    from nasbench_tools.train.result import RunResult


@dataclass(frozen=True)
class ProbeResult:
    """The probed archs' numbers, in the order of ``ids``.

    ``table_err`` ``[arch]``: the table's final test error of ``seed`` (after ``table_epochs``);
    ``curves`` ``[arch, epoch]``: the longer runs' test error per epoch; ``seconds`` ``[arch]``:
    wall time of each longer run (train + eval); ``k_free`` ``[arch]``: parameter-free ops;
    ``names``: the genotype strings.
    """

    ids: tuple[int, ...]
    seed: int
    table_epochs: int
    table_err: np.ndarray
    curves: np.ndarray
    seconds: np.ndarray
    k_free: np.ndarray
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.ids)
        shapes = [np.shape(a) for a in (self.table_err, self.seconds, self.k_free)]
        if (np.ndim(self.curves) != 2 or len(self.curves) != n or len(self.names) != n
                or any(s != (n,) for s in shapes)):
            raise ConfigError(f"a budget probe needs one value per arch of {n} archs and "
                              f"curves [arch, epoch]; got curves {np.shape(self.curves)}, "
                              f"table_err/seconds/k_free {shapes}, {len(self.names)} names")
        if self.epochs <= self.table_epochs:
            raise ConfigError(f"the longer runs have {self.epochs} epochs; they must exceed "
                              f"the table's {self.table_epochs}")

    @classmethod
    def from_runs(cls, bench: Benchmark, runs: Sequence[RunResult]) -> ProbeResult:
        """The probe of ``runs`` (one per arch, all of one seed and one length) against
        ``bench``, the table they retrain; the order of ``runs`` is the order of ``ids``."""
        if not runs:
            raise ConfigError("a budget probe needs at least one run")
        seeds, lengths = {r.seed for r in runs}, {r.epochs for r in runs}
        if len(seeds) != 1 or len(lengths) != 1:
            raise ConfigError(f"a budget probe's runs must share one seed and one length; got "
                              f"seeds {sorted(seeds)}, epochs {sorted(lengths)}")
        ids = tuple(r.arch for r in runs)
        (seed,) = seeds
        space = bench.space
        # float64 of the stored float32 values, as the journal holds them
        acc = np.stack([np.asarray(r.metrics[Metric.TEST_ACC], dtype=np.float64) for r in runs])
        return cls(ids=ids, seed=seed, table_epochs=bench.epochs,
                   table_err=np.asarray(bench.query(list(ids), Metric.TEST_ERR, seed=seed),
                                        dtype=np.float64),
                   curves=100.0 * (1.0 - acc),
                   seconds=np.array([np.asarray(r.metrics[Metric.EPOCH_TIME],
                                                dtype=np.float64).sum() for r in runs]),
                   k_free=param_free_counts(bench)[list(ids)],
                   names=tuple(space.genotype(space.arch(a)) for a in ids))

    @property
    def epochs(self) -> int:
        """Length of the longer runs."""
        return int(np.shape(self.curves)[1])

    @property
    def long_err(self) -> np.ndarray:
        """``[arch]`` the longer runs' final test error."""
        return self.curves[:, -1]


@dataclass(frozen=True)
class ProbeReport:
    """What the probe says, arrays in the order of ``probe.ids``.

    ``rank_table`` / ``rank_long``: rank (1 = best) among the probed archs by the table's error
    and by the longer run's; ``gain``: table error minus the longer run's; ``at_table_epochs``:
    the longer run's error at the table's last epoch (its learning rate still high there);
    ``agreement``: the table ranking against the longer one (Kendall tau with its bootstrap
    interval, top-3 overlap); ``gain_tau``/``gain_p``: Kendall tau (and p-value) of the number
    of parameter-free ops against the gain; ``gain_by_ops``: (k ops, n archs, mean gain).
    """

    probe: ProbeResult
    rank_table: np.ndarray
    rank_long: np.ndarray
    gain: np.ndarray
    at_table_epochs: np.ndarray
    agreement: RankAgreement
    gain_tau: float
    gain_p: float
    gain_by_ops: tuple[tuple[int, int, float], ...]

    def lines(self) -> list[str]:
        """The report as text lines: one row per arch, then the two rank correlations."""
        p = self.probe
        out = [f"seed {p.seed}: test error (%) after the table's {p.table_epochs} epochs and "
               f"after {p.epochs} (rank among the {len(p.ids)} probed archs)",
               f"{'arch':>5} {'table':>8} {'rank':>5} {'long':>8} {'rank':>5}  {'gain':>6}  "
               f"{'long run at epoch ' + str(p.table_epochs):>22} {'time s':>7}  name"]
        for i, a in enumerate(p.ids):
            out.append(f"{a:>5} {p.table_err[i]:8.2f} {self.rank_table[i]:5d} "
                       f"{p.long_err[i]:8.2f} {self.rank_long[i]:5d}  {self.gain[i]:6.2f}  "
                       f"{self.at_table_epochs[i]:22.2f} {p.seconds[i]:7.0f}  {p.names[i]}")
        by_ops = ", ".join(f"{k}: {g:.2f} (n={n})" for k, n, g in self.gain_by_ops)
        return [
            *out,
            "",
            f"table ranking against the {p.epochs}-epoch ranking: {self.agreement.line()}",
            f"gain against the number of parameter-free ops: Kendall tau {self.gain_tau:.3f} "
            f"(p = {self.gain_p:.3f}); mean gain by ops: {by_ops}",
        ]

    def format(self) -> str:
        return "\n".join(self.lines())


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 = lowest; ties in the order of the items (NaN last)."""
    return np.argsort(np.argsort(values, kind="stable"), kind="stable") + 1


def probe_report(probe: ProbeResult, *, rng: np.random.Generator, k: int = 3,
                 n_boot: int = 2000) -> ProbeReport:
    """Ranks, gains and rank correlations of ``probe``; ``rng`` draws the bootstrap resamples
    of the table-against-longer agreement (``k``: its top-k overlap)."""
    short, long_ = probe.table_err, probe.long_err
    gain = short - long_
    tau = stats.kendalltau(probe.k_free, gain)
    return ProbeReport(
        probe=probe, rank_table=_ranks(short), rank_long=_ranks(long_), gain=gain,
        at_table_epochs=probe.curves[:, probe.table_epochs - 1],
        agreement=rank_agreement(short, long_, rng=rng, k=min(k, len(probe.ids)),
                                 n_boot=n_boot),
        gain_tau=float(tau.statistic), gain_p=float(tau.pvalue),
        gain_by_ops=tuple((int(kf), int(np.sum(probe.k_free == kf)),
                           float(np.mean(gain[probe.k_free == kf])))
                          for kf in np.unique(probe.k_free)))
