"""`Benchmark`: look architectures up in a table (numpy only; h5py only when opening a file).

An architecture is given as its id, its genotype string or an `Arch`; a sequence or array of
ids gives a vectorised answer (an ndarray, NaN for architectures without a done run)::

    from nasbench_tools import Benchmark, Metric
    bench = Benchmark.open("data/t81-digits.h5")
    bench.query(5, Metric.TEST_ERR)          # percent, mean over seeds, last epoch
    bench.query("normal=sep_conv_3x3~0+...", "valid_acc", epoch=9, seed=1)
    bench.curve(5)                           # valid error at every epoch
    bench.regret([0, 1, 2])                  # test-error regret of three archs
    bench.to_frame()                         # long pandas DataFrame
    bench.protocol.layers                    # the training protocol, a `Protocol` value

Errors (``*_ERR``) are in percent, ``100 * (1 - acc)``; regret is in the metric's own unit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from nasbench_tools.exceptions import (
    ConfigError,
    IncompleteTableError,
    OutOfSpaceError,
    UnknownNameError,
)
from nasbench_tools.protocol import Protocol
from nasbench_tools.spaces import Arch, CellSpace
from nasbench_tools.table.data import TableData, content_sha256, protocol_from_record
from nasbench_tools.table.schema import STORED_METRICS, Metric, Status

if TYPE_CHECKING:
    import pandas as pd

ArchLike = int | str | Arch | np.integer
ArchIds = Sequence[int] | np.ndarray
ArchQuery = ArchLike | ArchIds
SeedLike = int | str  # "mean", or one of the table's seed values


@dataclass(frozen=True)
class BenchmarkSummary:
    """Headline numbers of a table (what ``nasbench-tools info`` prints).

    ``best_*`` are None when no architecture has a done run; the test-error spread is over the
    per-arch means (percent) of the architectures that have one.
    """

    space: str
    dataset: str
    n_archs: int
    n_seeds: int
    epochs: int
    n_done: int
    n_failed: int
    n_unfinished: int
    best_arch: int | None
    best_genotype: str | None
    best_test_err: float | None
    test_err_min: float
    test_err_median: float
    test_err_max: float


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, as wanted
        return np.nanmean(values, axis=axis)


class Benchmark:
    """Queries on one `TableData` (never modified; arrays are ``[arch, seed, epoch]``)."""

    def __init__(self, data: TableData) -> None:
        self._data = data
        self._done = np.asarray(data.status) == Status.DONE
        # per (metric, epoch index): every arch's runs [arch, seed] and seed means [arch],
        # computed once (the data never changes), so a query is an index into an array
        self._at: dict[tuple[Metric, int], tuple[np.ndarray, np.ndarray]] = {}
        self._best: dict[tuple[Metric, int], int] = {}

    @classmethod
    def open(cls, path: str | Path) -> Benchmark:
        """Load a table file (see ``nasbench_tools.table.hdf5.read_table``)."""
        from nasbench_tools.table.hdf5 import read_table  # h5py only when a file is opened

        return cls(read_table(path))

    # -- properties -------------------------------------------------------------------------
    @property
    def data(self) -> TableData:
        return self._data

    @property
    def space(self) -> CellSpace:
        return self._data.space

    @property
    def dataset(self) -> str:
        return self._data.dataset

    @cached_property
    def protocol(self) -> Protocol:
        """How the table's runs were trained, as a value (fields added since the table was
        written at their defaults). A table whose stored record is no complete protocol (the
        partial ones of in-memory test tables) raises `TableFormatError`; `protocol_record`
        still gives what it holds."""
        return protocol_from_record(self._data.protocol_record, repr(self))

    @property
    def protocol_record(self) -> Mapping[str, Any]:
        """The protocol exactly as stored (read-only): what writers, merge checks and search
        traces keep, unchanged by this version's defaults."""
        return MappingProxyType(self._data.protocol_record)

    @property
    def seeds(self) -> tuple[int, ...]:
        return self._data.seeds

    @property
    def epochs(self) -> int:
        return self._data.epochs

    @property
    def n_archs(self) -> int:
        return self._data.space.size

    @cached_property
    def content_sha256(self) -> str:
        """SHA-256 of the deterministic metric arrays and the status (the hash a table file
        stores): what a search trace records to name the table it was searched on."""
        return content_sha256(self._data.metrics, self._data.status)

    def __repr__(self) -> str:
        n, s, t = self._data.shape
        return f"Benchmark(space={self.space.name!r}, dataset={self.dataset!r}, {n}x{s}x{t})"

    # -- argument handling ------------------------------------------------------------------
    def _ids(self, arch: ArchQuery) -> tuple[np.ndarray, bool]:
        """Arch ids as an int array, and whether the caller gave a single architecture."""
        if isinstance(arch, np.integer):
            arch = int(arch)
        if isinstance(arch, str | Arch | int) and not isinstance(arch, bool):
            return np.array([self.space.resolve(arch)]), True
        ids = np.asarray(arch)
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64), False
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise OutOfSpaceError(f"expected a 1-d sequence of architecture ids, got {arch!r}")
        bad = ids[(ids < 0) | (ids >= self.n_archs)]
        if bad.size:
            raise OutOfSpaceError(
                f"architecture id {int(bad[0])} is outside space {self.space.name!r} "
                f"(0..{self.n_archs - 1})"
            )
        return ids.astype(np.int64), False

    def _epoch(self, epoch: int) -> int:
        t = self.epochs
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer):
            raise ConfigError(f"epoch must be an integer index, got {epoch!r}")
        if not -t <= epoch < t:
            raise ConfigError(f"epoch {epoch} is outside 0..{t - 1} (or -{t}..-1 from the end)")
        return int(epoch) % t

    def _seed_index(self, seed: SeedLike) -> int | None:
        if isinstance(seed, str) and seed == "mean":
            return None
        if not isinstance(seed, bool) and isinstance(seed, int | np.integer):
            if int(seed) in self.seeds:
                return self.seeds.index(int(seed))
        raise UnknownNameError("seed", seed, ["mean", *(str(s) for s in self.seeds)])

    def _describe(self, arch_id: int) -> str:
        return f"architecture {arch_id} ({self.space.genotype(self.space.arch(arch_id))})"

    # -- the values -------------------------------------------------------------------------
    def _runs(self, ids: np.ndarray, metric: Metric, epoch: int | slice) -> np.ndarray:
        """float64 ``[arch, seed]`` (int epoch) or ``[arch, seed, epoch]`` (slice); NaN for
        runs that are not done."""
        raw = np.asarray(self._data.metrics[metric.source][ids, :, epoch], dtype=np.float64)
        values = 100.0 * (1.0 - raw) if not metric.stored else raw
        done = self._done[ids]
        return np.where(done if values.ndim == 2 else done[:, :, None], values, np.nan)

    def _reduce(self, ids: np.ndarray, runs: np.ndarray, seed: SeedLike, single: bool) -> Any:
        """Pick or average the seed axis (1); single archs without a done run raise."""
        index = self._seed_index(seed)
        out = _nanmean(runs, axis=1) if index is None else runs[:, index]
        if single:
            done = self._done[ids[0]]
            if not (done.any() if index is None else done[index]):
                which = "any seed" if index is None else f"seed {seed}"
                raise IncompleteTableError(f"{self._describe(int(ids[0]))} has no done run for "
                                           f"{which} in this table")
            return out[0]
        return out

    def _all_at(self, metric: Metric, e: int) -> tuple[np.ndarray, np.ndarray]:
        """Runs ``[arch, seed]`` and seed means ``[arch]`` of ``metric`` at epoch index ``e``
        (read-only; NaN where no run is done)."""
        cached = self._at.get((metric, e))
        if cached is None:
            runs = self._runs(np.arange(self.n_archs), metric, e)
            means = _nanmean(runs, axis=1)
            runs.flags.writeable = means.flags.writeable = False
            cached = self._at[(metric, e)] = (runs, means)
        return cached

    def _mean_all(self, metric: Metric, epoch: int) -> np.ndarray:
        return self._all_at(metric, self._epoch(epoch))[1]

    # -- the public queries -----------------------------------------------------------------
    @overload
    def query(
        self, arch: ArchLike, metric: Metric | str = ..., *, epoch: int = ..., seed: SeedLike = ...
    ) -> float: ...
    @overload
    def query(
        self, arch: ArchIds, metric: Metric | str = ..., *, epoch: int = ..., seed: SeedLike = ...
    ) -> np.ndarray: ...
    def query(
        self,
        arch: ArchQuery,
        metric: Metric | str = Metric.TEST_ERR,
        *,
        epoch: int = -1,
        seed: SeedLike = "mean",
    ) -> float | np.ndarray:
        """``metric`` of ``arch`` at ``epoch`` (index, negative from the end) for one seed or
        the mean over done seeds."""
        m = metric if type(metric) is Metric else Metric.parse(metric)
        runs, means = self._all_at(m, self._epoch(epoch))
        if type(arch) is int and isinstance(seed, str) and seed == "mean" \
                and 0 <= arch < len(means) and means[arch] == means[arch]:
            return float(means[arch])  # the common case: one arch, mean over seeds
        ids, single = self._ids(arch)
        if single:
            return float(self._reduce(ids, runs[ids], seed, single))
        index = self._seed_index(seed)
        return means[ids] if index is None else runs[ids, index]  # fancy indexing: a copy

    def curve(
        self, arch: ArchQuery, metric: Metric | str = Metric.VALID_ERR, *, seed: SeedLike = "mean"
    ) -> np.ndarray:
        """``metric`` at every epoch: ``[epoch]`` for one arch, ``[arch, epoch]`` for several."""
        m = Metric.parse(metric)
        ids, single = self._ids(arch)
        out = self._reduce(ids, self._runs(ids, m, slice(None)), seed, single)
        return np.asarray(out)

    def best(self, metric: Metric | str = Metric.TEST_ERR, *, epoch: int = -1) -> int:
        """Id of the arch with the best mean (lowest error/loss, highest acc); ties: lowest id."""
        m = Metric.parse(metric)
        e = self._epoch(epoch)
        if (m, e) not in self._best:
            means = self._all_at(m, e)[1]
            if not np.isfinite(means).any():
                raise IncompleteTableError(f"no architecture has a done run with a {m.value} "
                                           "value")
            scores = -means if m.higher_is_better else means
            self._best[(m, e)] = int(np.nanargmin(np.where(np.isfinite(scores), scores,
                                                           np.nan)))
        return self._best[(m, e)]

    @overload
    def regret(self, arch: ArchLike, metric: Metric | str = ..., *, epoch: int = ...) -> float: ...
    @overload
    def regret(
        self, arch: ArchIds, metric: Metric | str = ..., *, epoch: int = ...
    ) -> np.ndarray: ...
    def regret(
        self, arch: ArchQuery, metric: Metric | str = Metric.TEST_ERR, *, epoch: int = -1
    ) -> float | np.ndarray:
        """How much worse than `best` the mean ``metric`` of ``arch`` is (>= 0, 0 at best)."""
        m = metric if type(metric) is Metric else Metric.parse(metric)
        e = self._epoch(epoch)
        means = self._all_at(m, e)[1]
        best = self._best.get((m, e))
        best_value = means[best if best is not None else self.best(m, epoch=e)]
        if type(arch) is int and 0 <= arch < len(means) and means[arch] == means[arch]:
            v = means[arch]  # the common case, as in `query`
            return float(best_value - v if m.higher_is_better else v - best_value)
        value = self.query(arch, m, epoch=epoch)
        gap = best_value - value if m.higher_is_better else value - best_value
        return float(gap) if isinstance(value, float) else np.asarray(gap)

    # -- views ------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per (arch, seed, epoch): arch, genotype, seed, epoch, status and every stored
        metric (raw values: accuracies as fractions; NaN = missing)."""
        import pandas as pd

        n, s, t = self._data.shape
        arch, seed_pos, epoch = (a.ravel() for a in np.indices((n, s, t)))
        genotypes = np.array([self.space.genotype(a) for a in self.space.archs()], dtype=object)
        names = [st.name.lower() for st in Status]
        status = np.asarray(self._data.status, dtype=np.int64)[arch, seed_pos]
        columns: dict[str, Any] = {
            "arch": arch,
            "genotype": genotypes[arch],
            "seed": np.asarray(self.seeds, dtype=np.int64)[seed_pos],
            "epoch": epoch,
            "status": pd.Categorical.from_codes(status, categories=pd.Index(names)),
        }
        for m in STORED_METRICS:
            columns[m.value] = np.asarray(self._data.metrics[m]).ravel()
        return pd.DataFrame(columns)

    def summary(self) -> BenchmarkSummary:
        """Best arch, the spread of mean test errors and run counts."""
        status = np.asarray(self._data.status)
        means = self._mean_all(Metric.TEST_ERR, -1)
        finite = means[np.isfinite(means)]
        best = self.best(Metric.TEST_ERR) if finite.size else None
        spread = (
            (float(finite.min()), float(np.median(finite)), float(finite.max()))
            if finite.size else (float("nan"),) * 3
        )
        return BenchmarkSummary(
            space=self.space.name,
            dataset=self.dataset,
            n_archs=self.n_archs,
            n_seeds=len(self.seeds),
            epochs=self.epochs,
            n_done=int((status == Status.DONE).sum()),
            n_failed=int((status == Status.FAILED).sum()),
            n_unfinished=int(np.isin(status, (Status.PENDING, Status.RUNNING)).sum()),
            best_arch=best,
            best_genotype=None if best is None else self.space.genotype(self.space.arch(best)),
            best_test_err=None if best is None else float(means[best]),
            test_err_min=spread[0],
            test_err_median=spread[1],
            test_err_max=spread[2],
        )

    def describe(self) -> str:
        """A few readable lines built from `summary` (what ``nasbench-tools info`` prints)."""
        s = self.summary()
        lines = [
            f"space {s.space} ({s.n_archs} archs), dataset {s.dataset}, "
            f"{s.n_seeds} seed(s) {list(self.seeds)}, {s.epochs} epoch(s)",
            "protocol: " + ", ".join(f"{k}={v}" for k, v in sorted(self.protocol_record.items())),
            f"runs: {s.n_done} done, {s.n_failed} failed, {s.n_unfinished} unfinished",
        ]
        if s.best_arch is None:
            lines.append("no architecture has a done run yet")
        else:
            lines += [
                f"best arch {s.best_arch}: {s.best_genotype}  test error {s.best_test_err:.3f} %",
                f"mean test error over archs: min {s.test_err_min:.3f}  "
                f"median {s.test_err_median:.3f}  max {s.test_err_max:.3f} %",
            ]
        return "\n".join(lines)

    # -- in-memory construction ---------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        space: CellSpace,
        test_err: np.ndarray | Sequence[float],
        valid_err: np.ndarray | Sequence[float] | None = None,
        *,
        seeds: Sequence[int] | None = None,
        epochs: int | None = None,
        dataset: str = "synthetic",
        protocol: Protocol | Mapping[str, Any] | None = None,
    ) -> Benchmark:
        """A synthetic, fully built table from error values in percent (see `synthetic_data`)."""
        return cls(synthetic_data(space, test_err, valid_err, seeds=seeds, epochs=epochs,
                                  dataset=dataset, protocol=protocol))


def _broadcast(name: str, values: Any, shape: tuple[int, int, int]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr.reshape(arr.shape + (1,) * (3 - arr.ndim)) if arr.ndim < 3 else arr
    try:
        return np.broadcast_to(arr, shape).copy()
    except ValueError:
        raise ConfigError(
            f"{name} has shape {np.shape(values)}; need [arch], [arch, seed] or "
            f"[arch, seed, epoch] broadcastable to {list(shape)}"
        ) from None


def synthetic_data(
    space: CellSpace,
    test_err: np.ndarray | Sequence[float],
    valid_err: np.ndarray | Sequence[float] | None = None,
    *,
    seeds: Sequence[int] | None = None,
    epochs: int | None = None,
    dataset: str = "synthetic",
    protocol: Protocol | Mapping[str, Any] | None = None,
) -> TableData:
    """A `TableData` whose test (and valid) errors in percent are given.

    ``test_err`` is ``[arch]``, ``[arch, seed]`` or ``[arch, seed, epoch]`` and is broadcast
    to the full shape (seeds default to ``0..S-1``, epochs to the array's or 1). Train accuracy
    equals valid accuracy, losses are ``-log(acc)``, epoch times 0, ``n_params`` 1. A run with
    a NaN test error at any epoch is marked failed and left all-NaN. ``protocol`` (a `Protocol`
    or a stored mapping) is stored as the table's protocol record; without it the record is the
    partial ``{"synthetic": True}``, and `Benchmark.protocol` of such a table raises.
    """
    given = np.asarray(test_err)
    n_seeds = len(seeds) if seeds is not None else (given.shape[1] if given.ndim >= 2 else 1)
    n_epochs = epochs if epochs is not None else (given.shape[2] if given.ndim == 3 else 1)
    shape = (space.size, n_seeds, n_epochs)
    test = _broadcast("test_err", given, shape)
    valid = test if valid_err is None else _broadcast("valid_err", valid_err, shape)
    failed = np.isnan(test).any(axis=2) | np.isnan(valid).any(axis=2)
    record = protocol.to_dict() if isinstance(protocol, Protocol) else protocol
    data = TableData.empty(space, dataset, dict(record or {"synthetic": True}),
                           tuple(seeds) if seeds is not None else tuple(range(n_seeds)), n_epochs)
    acc = {"test": 1.0 - test / 100.0, "valid": 1.0 - valid / 100.0}
    acc["train"] = acc["valid"]
    keep = ~failed[:, :, None]
    for split, values in acc.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = -np.log(np.clip(values, 1e-6, 1.0)) + 0.0  # no -0.0
        data.metrics[Metric(f"{split}_acc")][...] = np.where(keep, values, np.nan)
        data.metrics[Metric(f"{split}_loss")][...] = np.where(keep, loss, np.nan)
    data.metrics[Metric.EPOCH_TIME][...] = np.where(keep, 0.0, np.nan)
    data.status[...] = np.where(failed, Status.FAILED, Status.DONE)
    data.reasons[failed] = "synthetic failure"
    data.n_params[...] = 1
    data.flops[...] = 0
    return data
