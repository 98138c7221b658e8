"""Budget probes: the report's numbers on a hand-made case, the probe of recorded runs against
its table, and the probe journal (resume trains nothing twice; another probe is refused)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny4_space

from nasbench_tools.build import probe as probe_module
from nasbench_tools.build.journal import Journal
from nasbench_tools.build.probe import longer_protocol, probe_header, retrain
from nasbench_tools.exceptions import BuildMismatchError, ConfigError
from nasbench_tools.spaces import CellSpace
from nasbench_tools.stats import ProbeReport, ProbeResult, param_free_counts, probe_report
from nasbench_tools.table import Benchmark, Metric, Status
from nasbench_tools.table.benchmark import synthetic_data
from nasbench_tools.table.schema import STORED_METRICS
from nasbench_tools.train import Protocol, RunResult, get_protocol
from nasbench_tools.train.task import Task


def _hand_made() -> ProbeResult:
    """Table ranks 1 2 3 4; the longer runs rank 1 2 4 3; gains 2 8 5 20."""
    final = np.array([8.0, 12.0, 25.0, 20.0])
    curves = np.stack([final + 30.0, final + 10.0, final], axis=1)  # [arch, epoch], 3 epochs
    return ProbeResult(ids=(5, 1, 7, 2), seed=1, table_epochs=2,
                       table_err=np.array([10.0, 20.0, 30.0, 40.0]), curves=curves,
                       seconds=np.array([1.0, 2.0, 3.0, 4.0]), k_free=np.array([0, 1, 1, 2]),
                       names=("a", "b", "c", "d"))


def test_probe_report_of_a_hand_made_case() -> None:
    report = probe_report(_hand_made(), rng=np.random.default_rng(0), n_boot=200)
    assert report.rank_table.tolist() == [1, 2, 3, 4]
    assert report.rank_long.tolist() == [1, 2, 4, 3]
    assert report.gain.tolist() == [2.0, 8.0, 5.0, 20.0]
    assert report.at_table_epochs.tolist() == [18.0, 22.0, 35.0, 30.0]  # epoch 2 of 3
    # five concordant pairs of six, one discordant: (5 - 1) / 6
    assert report.agreement.tau == pytest.approx(4 / 6) and report.agreement.n == 4
    assert report.agreement.k == 3 and report.agreement.top_k_overlap == pytest.approx(2 / 3)
    # k_free 0 1 1 2 against the gains: five concordant pairs, one tied in k (tau-b)
    assert report.gain_tau == pytest.approx(5 / np.sqrt(5 * 6))
    assert 0.0 < report.gain_p < 1.0
    assert report.gain_by_ops == ((0, 1, 2.0), (1, 2, 6.5), (2, 1, 20.0))


def test_probe_report_text_carries_its_values() -> None:
    report = probe_report(_hand_made(), rng=np.random.default_rng(0), n_boot=200)
    lines = report.lines()
    assert report.format() == "\n".join(lines)
    assert lines[0].startswith("seed 1: test error (%) after the table's 2 epochs and after 3 ")
    rows = [line.split() for line in lines[2:6]]
    assert [r[0] for r in rows] == ["5", "1", "7", "2"] and [r[-1] for r in rows] == list("abcd")
    assert [float(r[3]) for r in rows] == [8.0, 12.0, 25.0, 20.0]
    assert [int(r[4]) for r in rows] == [1, 2, 4, 3]
    assert lines[-2] == f"table ranking against the 3-epoch ranking: {report.agreement.line()}"
    assert lines[-1].endswith(f"Kendall tau {report.gain_tau:.3f} (p = {report.gain_p:.3f}); "
                              "mean gain by ops: 0: 2.00 (n=1), 1: 6.50 (n=2), 2: 20.00 (n=1)")


def test_probe_report_is_reproducible_for_one_rng_seed() -> None:
    a, b = (probe_report(_hand_made(), rng=np.random.default_rng(3), n_boot=200)
            for _ in range(2))
    assert a.agreement == b.agreement and a.format() == b.format()


def test_probe_result_rejects_inconsistent_values() -> None:
    good = _hand_made()
    with pytest.raises(ConfigError, match="must exceed the table's 3"):
        replace(good, table_epochs=3)
    with pytest.raises(ConfigError, match="one value per arch"):
        replace(good, seconds=np.ones(3))


def _protocol() -> Protocol:
    return get_protocol("digits", "quick", {"epochs": 2, "layers": 2, "channels": 4})


def _bench(space: CellSpace, errors: list[float]) -> Benchmark:
    return Benchmark(synthetic_data(space, np.array(errors), seeds=(0, 1), epochs=2,
                                    dataset="digits", protocol=_protocol()))


def _run(arch: int, seed: int, epochs: int) -> RunResult:
    """A run whose test accuracy climbs to (60 + arch + seed) %, float32 like a trainer's."""
    acc = np.linspace(0.3, 0.6 + 0.01 * (arch + seed), epochs).astype(np.float32)
    metrics = {m: np.full(epochs, 0.5, dtype=np.float32) for m in STORED_METRICS}
    metrics[Metric.TEST_ACC] = acc
    metrics[Metric.EPOCH_TIME] = np.full(epochs, 1.5 + arch, dtype=np.float32)
    return RunResult(arch=arch, seed=seed, status=Status.DONE, metrics=metrics, n_params=10,
                     flops=100)


def test_probe_result_from_runs_reads_the_table_and_the_runs() -> None:
    space = tiny4_space()
    bench = _bench(space, [40.0, 41.0, 42.0, 43.0])
    runs = [_run(a, 1, 3) for a in (3, 0, 2)]
    probe = ProbeResult.from_runs(bench, runs)
    assert probe.ids == (3, 0, 2) and probe.seed == 1 and probe.table_epochs == 2
    assert probe.epochs == 3
    np.testing.assert_array_equal(probe.table_err, bench.query([3, 0, 2], Metric.TEST_ERR, seed=1))
    np.testing.assert_allclose(probe.table_err, [43.0, 40.0, 42.0], atol=1e-5)  # float32 acc
    for row, r in zip(probe.curves, runs, strict=True):  # float64 of the float32 values
        assert row.tolist() == [100.0 * (1.0 - float(v)) for v in r.metrics[Metric.TEST_ACC]]
    np.testing.assert_allclose(probe.seconds, [13.5, 4.5, 10.5])
    np.testing.assert_array_equal(probe.k_free, param_free_counts(bench)[[3, 0, 2]])
    assert probe.names == tuple(space.genotype(space.arch(a)) for a in (3, 0, 2))
    with pytest.raises(ConfigError, match="one seed and one length"):
        ProbeResult.from_runs(bench, [_run(3, 1, 3), _run(0, 0, 3), _run(2, 1, 3)])
    with pytest.raises(ConfigError, match="must exceed"):
        ProbeResult.from_runs(bench, [_run(a, 1, 2) for a in (3, 0, 2)])


def test_longer_protocol_stretches_only_the_epochs() -> None:
    bench = _bench(tiny4_space(), [40.0, 41.0, 42.0, 43.0])
    longer = longer_protocol(bench, 5)
    assert longer.epochs == 5
    assert {**longer.to_dict(), "epochs": 2} == _protocol().to_dict()
    with pytest.raises(ConfigError, match="--epochs 2 must exceed the table's 2"):
        longer_protocol(bench, 2)


def _probe_once(path: Path, bench: Benchmark, protocol: Protocol, ids: list[int],
                limit: int | None = None) -> tuple[list[int], ProbeReport | None]:
    """What analysis/budget_probe.py does: open, train the missing runs (the first ``limit``
    of them: a probe stopped early), report."""
    with Journal.open(path, probe_header(bench, protocol, 1)) as journal:
        todo = [Task(a, 1) for a in ids if (a, 1) not in journal.results][:limit]
        trained = [r.arch for r in retrain(journal, bench.space, protocol, todo)]
        runs = [journal.results.get((a, 1)) for a in ids]
    done = [r for r in runs if r is not None]
    if len(done) < len(ids):
        return trained, None
    return trained, probe_report(ProbeResult.from_runs(bench, done),
                                 rng=np.random.default_rng(0), n_boot=200)


def test_probe_journal_resumes_without_training_twice(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int, int]] = []

    def worker(tasks: list[Task], space: CellSpace, protocol: Protocol, device: str,
               data_root: str | None) -> list[RunResult]:  # stands in for the trainer
        calls.extend((t.arch, t.seed, protocol.epochs) for t in tasks)
        return [_run(t.arch, t.seed, protocol.epochs) for t in tasks]

    monkeypatch.setattr(probe_module, "run_group", worker)
    bench = _bench(tiny4_space(), [40.0, 41.0, 42.0, 43.0])
    protocol, ids, path = longer_protocol(bench, 3), [3, 0, 2], tmp_path / "p.journal"
    assert _probe_once(path, bench, protocol, ids, limit=2)[0] == [3, 0]  # stopped early
    trained, first = _probe_once(path, bench, protocol, ids)
    assert trained == [2] and calls == [(3, 1, 3), (0, 1, 3), (2, 1, 3)]
    stored = path.read_bytes()
    trained, again = _probe_once(path, bench, protocol, ids)
    assert trained == [] and len(calls) == 3 and path.read_bytes() == stored
    assert first is not None and again is not None
    assert again.format() == first.format() and again.agreement == first.agreement
    for field in ("table_err", "curves", "seconds", "k_free"):
        np.testing.assert_array_equal(getattr(again.probe, field), getattr(first.probe, field))
    np.testing.assert_array_equal(again.gain, first.gain)
    assert (again.gain_tau, again.gain_by_ops) == (first.gain_tau, first.gain_by_ops)
    # the journal holds exactly what the workers returned (float32 curves)
    with Journal.open(path, probe_header(bench, protocol, 1)) as journal:
        assert all(journal.results[(a, 1)].same_numbers(_run(a, 1, 3)) for a in ids)


def test_probe_journal_of_another_probe_is_refused(tmp_path: Path) -> None:
    space = tiny4_space()
    bench = _bench(space, [40.0, 41.0, 42.0, 43.0])
    path = tmp_path / "p.journal"
    Journal.open(path, probe_header(bench, longer_protocol(bench, 3), 1)).close()
    for other, differing in (
        (probe_header(bench, longer_protocol(bench, 4), 1), "different protocol"),
        (probe_header(bench, longer_protocol(bench, 3), 0), "different seeds"),
        (probe_header(_bench(space, [40.0, 41.0, 42.0, 44.0]), longer_protocol(bench, 3), 1),
         "different table_sha256"),
    ):
        with pytest.raises(BuildMismatchError, match=differing):
            Journal.open(path, other)
