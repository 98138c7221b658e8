"""Runs as data: per-run and per-epoch quantities from traces and their table, grouping,
curves over seeds, eigenvalue events and alpha weights."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_t81_data, synthetic_trace

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.search.trace import SearchTrace
from nasbench_tools.stats import (
    MixedRunsError,
    alpha_weights,
    default_correlations,
    eigen_trajectories,
    load_runs,
    mean_curves,
    param_free_share,
)
from nasbench_tools.table import Benchmark, Metric
from nasbench_tools.table.hdf5 import write_table


@pytest.fixture
def table(tmp_path: Path) -> tuple[Path, Benchmark]:
    path = tmp_path / "table.h5"
    write_table(synthetic_t81_data(), path)
    return path, Benchmark.open(path)


def _save(trace: SearchTrace, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    trace.save(folder / name)
    return folder / name


def test_per_run_quantities_equal_a_direct_computation(table, tmp_path: Path) -> None:
    path, bench = table
    archs = [5, 17, 42, 60, 61, 62, 63, 64, 65, 66]
    lambdas = [0.1, 0.2, 0.15, 0.3, 0.5, 0.4, 0.7, 0.6, 0.9, 1.1]
    trace = synthetic_trace(bench, archs=archs, lambdas=lambdas, epochs=10, table=str(path),
                            every=2)
    _save(trace, tmp_path / "tr", "darts-s0.h5")
    row = load_runs(tmp_path / "tr").runs_frame().iloc[0]
    evaluated = [(e, v) for e, v in enumerate(lambdas) if e % 2 == 0 or e == 9]  # 0,2,4,6,8,9
    tail = evaluated[-5:]
    assert row["lambda_end"] == pytest.approx(1.1)
    assert row["lambda_peak"] == pytest.approx(1.1)
    assert row["lambda_avg"] == pytest.approx(np.mean([v for _, v in tail]))
    assert row["lambda_slope"] == pytest.approx(np.polyfit(*zip(*tail, strict=True), 1)[0])
    assert row["n_lambda"] == 6
    last = trace.records[-1]
    assert row["gap_loss"] == pytest.approx(last.discrete_loss - last.oneshot_loss)
    gaps = [r.discrete_err - r.oneshot_err for r in trace.records[-5:]]
    assert row["gap_err_avg"] == pytest.approx(np.mean(gaps))
    assert row["arch"] == 66 and row["result_epoch"] == 9
    assert row["test_err"] == pytest.approx(bench.query(66, Metric.TEST_ERR))
    assert row["test_regret"] == pytest.approx(bench.regret(66))
    train = bench.query(66, Metric.TRAIN_ACC)
    assert row["gen_gap"] == pytest.approx(100 * (train - bench.query(66, Metric.TEST_ACC)))
    ops = bench.space.op_names(bench.space.arch(66))  # 66 = 0 + 1*3 + 1*9 + 2*27
    free = {"skip_connect", "max_pool_3x3"}
    assert row["param_free_normal"] == sum(o in free for o in ops[:2])
    assert row["param_free_reduce"] == sum(o in free for o in ops[2:])
    assert row["wall_time"] == pytest.approx(sum(r.wall_time for r in trace.records))


def test_epochs_frame_marks_the_final_trajectory_after_a_rollback(table, tmp_path) -> None:
    _, bench = table
    base = synthetic_trace(bench, epochs=6, method="darts-ada")
    recs = list(base.records)
    rolled = [dataclasses.replace(recs[2], events="es-fired at 4 (ratio 1.500); returns "
                                  "epoch 2; rollback to 2, weight_decay 0.0003 -> 0.003")]
    records = recs[:5] + [dataclasses.replace(r, iteration=2, arch=7) for r in recs[3:6]]
    records[4] = dataclasses.replace(records[4], events=rolled[0].events)
    trace = dataclasses.replace(base, records=tuple(records))
    _save(trace, tmp_path / "tr", "ada.h5")
    runs = load_runs(tmp_path / "tr")
    frame = runs.epochs_frame()
    assert len(frame) == 8 and frame["final"].sum() == 6
    assert frame[frame["final"]]["epoch"].tolist() == [0, 1, 2, 3, 4, 5]
    assert frame[~frame["final"]]["iteration"].tolist() == [1, 1]
    assert frame["elapsed"].is_monotonic_increasing
    assert runs.runs_frame().iloc[0]["rollbacks"] == 1
    events = eigen_trajectories(runs).events
    assert events[["kind", "epoch", "target"]].values.tolist() == [["rollback", 4, 2]]


def test_mixed_settings_are_refused_unless_grouped(table, tmp_path: Path) -> None:
    _, bench = table
    _save(synthetic_trace(bench, epochs=4), tmp_path / "tr", "a.h5")
    _save(synthetic_trace(bench, epochs=4, seed=1, search={"order": 2}), tmp_path / "tr",
          "b.h5")
    with pytest.raises(MixedRunsError, match=r"'a.h5' and 'b.h5' differ in search.*group"):
        load_runs(tmp_path / "tr")
    runs = load_runs(tmp_path / "tr", group=True)
    assert runs.groups == ("g0", "order=2")


def test_threads_do_not_split_a_set(table, tmp_path: Path) -> None:
    _, bench = table
    _save(synthetic_trace(bench, epochs=4), tmp_path / "tr", "a.h5")
    _save(synthetic_trace(bench, epochs=4, seed=1, search={"threads": 2}), tmp_path / "tr",
          "b.h5")
    assert len(load_runs(tmp_path / "tr")) == 2


def test_the_table_is_found_beside_the_traces_and_checked(table, tmp_path: Path) -> None:
    _, bench = table
    _save(synthetic_trace(bench, epochs=4, table="elsewhere/table.h5"), tmp_path, "t.h5")
    runs = load_runs(tmp_path / "t.h5")  # found by its name beside the trace
    assert runs.has_table and np.isfinite(runs.runs_frame()["gen_gap"]).all()
    other = synthetic_t81_data(seeds=(0, 1))
    write_table(other, tmp_path / "other.h5")
    with pytest.raises(ConfigError, match="another table"):
        load_runs(tmp_path / "t.h5", table=tmp_path / "other.h5")
    lost = tmp_path / "lost"
    _save(synthetic_trace(bench, epochs=4, table="nowhere.h5"), lost, "t.h5")
    alone = load_runs(lost)
    assert not alone.has_table and np.isnan(alone.runs_frame()["gen_gap"]).all()


def test_missing_or_empty_sources_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_runs(tmp_path / "nope.h5")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no trace files"):
        load_runs(tmp_path / "empty")
    with pytest.raises(ConfigError, match="no traces given"):
        load_runs([])


def test_mean_curves_over_seeds(table, tmp_path: Path) -> None:
    _, bench = table
    for seed in range(3):
        archs = [42 + seed + e for e in range(5)]
        _save(synthetic_trace(bench, seed=seed, epochs=5, archs=archs), tmp_path / "tr",
              f"s{seed}.h5")
    runs = load_runs(tmp_path / "tr")
    curves = mean_curves(runs, "test_regret")
    regrets = np.array([[bench.regret(42 + s + e) for e in range(5)] for s in range(3)])
    np.testing.assert_allclose(curves.frame["mean"], regrets.mean(0), rtol=1e-6)
    half = 4.302652729911275 * regrets.std(0, ddof=1) / np.sqrt(3)  # t(0.975, 2)
    np.testing.assert_allclose(curves.frame["ci_high"] - curves.frame["mean"], half,
                               rtol=1e-6)
    assert curves.frame["n"].tolist() == [3] * 5
    anytime = mean_curves(runs, "test_regret", x="elapsed")
    assert np.isnan(anytime.frame["mean"].iloc[0])  # nothing finished at t = 0
    assert anytime.frame["mean"].iloc[-1] == pytest.approx(regrets[:, -1].mean(), rel=1e-6)
    share = param_free_share(runs)
    assert share.frame["mean"].between(0, 1).all()


def test_alpha_weights_are_softmax_per_edge(table) -> None:
    _, bench = table
    trace = synthetic_trace(bench, epochs=3)
    w = alpha_weights(trace)
    assert w.weights.shape == (3, 4, 3) and w.relaxation == "softmax"
    np.testing.assert_allclose(w.weights.sum(axis=2), 1.0)
    a = trace.records[2].alphas[:3]
    np.testing.assert_allclose(w.weights[2, 0], np.exp(a) / np.exp(a).sum())
    sig = alpha_weights(trace, relaxation="sigmoid")
    np.testing.assert_allclose(sig.weights[2, 0], 1 / (1 + np.exp(-a)))


def test_default_correlations_cover_the_pairs_and_levels(table, tmp_path: Path) -> None:
    path, bench = table
    rng = np.random.default_rng(0)
    for seed in range(5):
        _save(synthetic_trace(bench, seed=seed, epochs=8, archs=rng.integers(0, 81, 8),
                              table=str(path)),
              tmp_path / "tr", f"s{seed}.h5")
    frame = default_correlations(load_runs(tmp_path / "tr"), n_resamples=199,
                                 within_resamples=99).to_frame()
    assert set(frame["level"]) == {"across", "within", "within-mean"}
    across = frame[frame["level"] == "across"]
    assert {"gap_loss_avg", "gap_err_avg", "test_err", "test_regret", "gen_gap",
            "oneshot_err"} == set(across["y"])
    assert (across["n"] == 5).all()
    # the synthetic gaps grow with lambda at every epoch: within-run rho is 1 in each run
    within = frame[(frame["level"] == "within") & (frame["y"] == "gap_loss")
                   & (frame["statistic"] == "spearman")]
    np.testing.assert_allclose(within["value"], 1.0)


def test_paths_stay_as_given_and_one_file_counts_once(table, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path, bench = table
    trace = synthetic_trace(bench, archs=[5, 17], lambdas=[0.1, 0.2], epochs=2, table=str(path))
    _save(trace, tmp_path / "tr", "darts-s0.h5")
    monkeypatch.chdir(tmp_path)
    runs = load_runs(["tr/darts-s0.h5", tmp_path / "tr", "tr/../tr/darts-s0.h5"])
    assert [r.path for r in runs.runs] == ["tr/darts-s0.h5"]  # the first name given
    assert list(load_runs("tr").runs_frame()["path"]) == ["tr/darts-s0.h5"]
