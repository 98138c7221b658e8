"""Table files and lookups: round trip, atomic writes, read errors, queries, validation."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import SYNTHETIC_BEST, synthetic_t81_data

from nasbench_tools.exceptions import (
    ConfigError,
    DataNotFoundError,
    IncompleteTableError,
    SchemaVersionError,
    TableFormatError,
    UnknownNameError,
)
from nasbench_tools.protocol import Protocol
from nasbench_tools.spaces import Arch, CellSpace
from nasbench_tools.table import STORED_METRICS, Benchmark, Metric, Status, TableData, hdf5
from nasbench_tools.table.hdf5 import read_header, read_stored_derived, read_table, write_table
from nasbench_tools.table.validate import validate_table

#: A complete protocol as a table of an older version stored it (without ``precision``).
PROTOCOL = Protocol(dataset="digits", preset="tiny", epochs=4, layers=2, channels=4, n_valid=30)
OLDER_RECORD = {k: v for k, v in PROTOCOL.to_dict().items() if k != "precision"}

ATTRS = {"package_version": "0.1.0", "n_workers": 4, "lr_scale": 0.5, "cuda": False,
         "provenance": {"torch": "2.3", "device": "cpu"}, "splits": [1, 2, 3]}


def copy_data(data: TableData, **changes: object) -> TableData:
    """A deep copy (arrays included) with some fields replaced."""
    fields = dict(
        metrics={m: a.copy() for m, a in data.metrics.items()},
        status=data.status.copy(),
        reasons=data.reasons.copy(),
        n_params=data.n_params.copy(),
        flops=data.flops.copy(),
    )
    fields.update(changes)
    return dataclasses.replace(data, **fields)  # type: ignore[arg-type]


def with_failure(data: TableData) -> TableData:
    out = copy_data(data, attrs=ATTRS)
    out.status[3, 1] = Status.FAILED
    out.reasons[3, 1] = "CUDA out of memory"
    for m in STORED_METRICS:
        out.metrics[m][3, 1] = np.nan
    return out


@pytest.fixture
def table_path(tmp_path: Path, t81_data: TableData) -> Path:
    path = tmp_path / "t81.h5"
    write_table(with_failure(t81_data), path)
    return path


# -- HDF5 round trip ---------------------------------------------------------------------------
def test_round_trip_keeps_everything(table_path: Path, t81_data: TableData) -> None:
    want, got = with_failure(t81_data), read_table(table_path)
    assert got.space == want.space and got.dataset == want.dataset
    assert got.seeds == want.seeds and got.epochs == want.epochs
    assert dict(got.protocol_record) == dict(want.protocol_record)
    assert dict(got.attrs) == ATTRS
    for m in STORED_METRICS:
        assert got.metrics[m].dtype == np.float32
        np.testing.assert_array_equal(got.metrics[m], want.metrics[m])
    np.testing.assert_array_equal(got.status, want.status)
    assert got.reasons.tolist() == want.reasons.tolist()
    np.testing.assert_array_equal(got.n_params, want.n_params)
    np.testing.assert_array_equal(got.flops, want.flops)


def test_stored_derived_arrays_match(table_path: Path) -> None:
    data, stored = read_table(table_path), read_stored_derived(table_path)
    want = hdf5.derive(data)
    assert stored.content_sha256 == want.content_sha256
    assert stored.argmin == SYNTHETIC_BEST == Benchmark(data).best()
    assert np.isnan(stored.final_test_err[3, 1]) and not np.isnan(stored.final_test_err[3, 0])
    np.testing.assert_array_equal(stored.encoding[5], [2, 1, 0, 0])
    assert stored.genotype[5] == data.space.genotype(data.space.arch(5))
    with h5py.File(table_path) as f:
        assert f["metrics/test_acc"].attrs["dims"] == "arch,seed,epoch"
        assert f["metrics/test_loss"].attrs["unit"] == "nats"
        assert f["metrics/test_acc"].compression == "gzip"
        assert f["status"].attrs["codes"] == "0 pending, 1 running, 2 done, 3 failed"


def test_read_header_decodes_root_attrs(table_path: Path) -> None:
    header = read_header(table_path)
    assert header.schema_version == 1 and header.seeds == (0, 1, 2)
    assert header.space["name"] == "t81" and header.protocol_record == {"synthetic": True}
    assert header.attrs["provenance"] == ATTRS["provenance"] and header.attrs["cuda"] is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        header.dataset = "other"  # type: ignore[misc]


def test_protocol_is_a_value_and_the_record_stays_as_stored(t81_data: TableData,
                                                            tmp_path: Path) -> None:
    data = dataclasses.replace(t81_data, protocol_record=OLDER_RECORD)
    bench = Benchmark(data)
    assert bench.protocol == PROTOCOL and bench.protocol.precision == "fp32"  # the default
    assert bench.protocol is bench.protocol  # parsed once
    assert dict(bench.protocol_record) == OLDER_RECORD  # as stored: no field added
    with pytest.raises(TypeError):
        bench.protocol_record["epochs"] = 9  # type: ignore[index]
    write_table(data, tmp_path / "p.h5")
    header = read_header(tmp_path / "p.h5")
    assert header.protocol == PROTOCOL and dict(header.protocol_record) == OLDER_RECORD
    opened = Benchmark.open(tmp_path / "p.h5")
    assert opened.protocol == PROTOCOL and dict(opened.protocol_record) == OLDER_RECORD


def test_partial_protocol_raises_one_clear_line(t81_data: TableData, table_path: Path) -> None:
    bench = Benchmark(t81_data)  # an in-memory test table: its record is {"synthetic": True}
    assert dict(bench.protocol_record) == {"synthetic": True}
    assert "protocol: synthetic=True" in bench.describe()  # what holds no protocol still reads
    with pytest.raises(TableFormatError, match="not a complete training protocol") as err:
        _ = bench.protocol
    assert "\n" not in str(err.value) and "'synthetic'" in str(err.value)
    partial = Benchmark(dataclasses.replace(t81_data, protocol_record={"layers": 5}))
    with pytest.raises(TableFormatError, match="lacks the required fields"):
        _ = partial.protocol
    invalid = Benchmark(dataclasses.replace(t81_data, protocol_record={**OLDER_RECORD,
                                                                       "epochs": 0}))
    with pytest.raises(TableFormatError, match="epochs=0"):
        _ = invalid.protocol
    with pytest.raises(TableFormatError, match="header of a 'synthetic' table"):
        _ = read_header(table_path).protocol
    assert Benchmark.from_arrays(t81_data.space, np.ones(81), protocol=PROTOCOL).protocol \
        == PROTOCOL


def test_failed_write_leaves_existing_file_untouched(
    table_path: Path, t81_data: TableData, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_path.read_bytes()

    def boom(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(hdf5, "_write_metrics", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_table(t81_data, table_path)
    with pytest.raises(RuntimeError):
        write_table(t81_data, table_path.parent / "new.h5")
    assert table_path.read_bytes() == before
    assert sorted(p.name for p in table_path.parent.iterdir()) == ["t81.h5"]


# -- read errors -------------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.h5"
    with pytest.raises(DataNotFoundError, match=r"absent\.h5"):
        read_table(path)


def test_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "notes.h5"
    path.write_text("arch,test_err\n0,12.5\n")
    with pytest.raises(TableFormatError, match=r"notes\.h5.*not an HDF5 file"):
        read_table(path)


def test_truncated_file(table_path: Path) -> None:
    raw = table_path.read_bytes()
    table_path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TableFormatError, match=str(table_path.name)):
        read_table(table_path)


def test_wrong_schema_version(table_path: Path) -> None:
    with h5py.File(table_path, "a") as f:
        f.attrs["schema_version"] = 7
    with pytest.raises(SchemaVersionError, match=r"t81\.h5.*version 7.*version 1"):
        read_table(table_path)
    assert read_header(table_path, check_version=False).schema_version == 7


def test_missing_dataset(table_path: Path) -> None:
    with h5py.File(table_path, "a") as f:
        del f["metrics/valid_loss"]
    with pytest.raises(TableFormatError, match=r"t81\.h5.*metrics/valid_loss"):
        read_table(table_path)


# -- queries -----------------------------------------------------------------------------------
def test_best_and_regret(t81_data: TableData) -> None:
    bench = Benchmark(t81_data)
    assert bench.best() == SYNTHETIC_BEST
    for metric in (Metric.TEST_ERR, Metric.VALID_ACC, Metric.TRAIN_LOSS, "test_acc"):
        best = bench.best(metric, epoch=1)
        regrets = bench.regret(np.arange(bench.n_archs), metric, epoch=1)
        assert isinstance(regrets, np.ndarray) and (regrets >= 0).all()
        assert bench.regret(best, metric, epoch=1) == 0.0
    assert bench.regret(0) == pytest.approx(0.5 * SYNTHETIC_BEST - 0.01 * SYNTHETIC_BEST, abs=1e-3)


def test_query_forms_agree(t81_data: TableData) -> None:
    bench = Benchmark(t81_data)
    arch = bench.space.arch(17)
    forms: list[int | np.integer | Arch | str] = [17, np.int64(17), arch, "17"]
    forms.append(bench.space.genotype(arch))
    values = {bench.query(a, "valid_err", epoch=2, seed=1) for a in forms}
    assert len(values) == 1
    vec = bench.query([17, 3, 17], Metric.VALID_ERR, epoch=2, seed=1)
    assert isinstance(vec, np.ndarray) and vec.shape == (3,)
    assert vec[0] == vec[2] == values.pop()
    assert bench.query(np.array([], dtype=int)).shape == (0,)


def test_mean_over_seeds_is_the_mean(t81_data: TableData) -> None:
    bench = Benchmark(t81_data)
    per_seed = [bench.query(9, seed=s) for s in bench.seeds]
    assert bench.query(9) == pytest.approx(np.mean(per_seed))
    assert bench.query(9) == pytest.approx(10 + 0.5 * (SYNTHETIC_BEST - 9) + 0.09, abs=1e-3)


def test_curve(t81_data: TableData) -> None:
    bench = Benchmark(t81_data)
    curve = bench.curve(5, Metric.TEST_ERR)
    assert curve.shape == (bench.epochs,)
    assert curve[-1] == bench.query(5) and curve[0] == bench.query(5, epoch=0)
    assert (np.diff(curve) < 0).all()  # the synthetic curves improve every epoch
    assert bench.curve([1, 2], seed=0).shape == (2, bench.epochs)


def test_bad_arguments_raise(t81_data: TableData) -> None:
    bench = Benchmark(t81_data)
    with pytest.raises(UnknownNameError, match=r"seed 5.*0, 1, 2"):
        bench.query(0, seed=5)
    with pytest.raises(ConfigError, match=r"epoch 4 .*0\.\.3"):
        bench.query(0, epoch=4)
    assert bench.query(0, epoch=-4) == bench.query(0, epoch=0)
    with pytest.raises(UnknownNameError, match="metric"):
        bench.query(0, "test_accuracy")


def test_incomplete_arch(t81_data: TableData) -> None:
    data = copy_data(t81_data)
    data.status[7] = Status.FAILED
    data.status[8, 0] = Status.PENDING
    bench = Benchmark(data)
    with pytest.raises(IncompleteTableError, match="architecture 7"):
        bench.query(7)
    with pytest.raises(IncompleteTableError, match=r"architecture 8.*seed 0"):
        bench.query(8, seed=0)
    values = bench.query([6, 7, 8])
    assert np.isnan(values[1]) and np.isfinite(values[[0, 2]]).all()
    assert np.isnan(bench.regret([7])).all()


def test_from_arrays_on_tiny_space(tiny4: CellSpace) -> None:
    bench = Benchmark.from_arrays(tiny4, [9.0, 4.0, 4.0, 7.5], seeds=(0, 1))
    assert bench.n_archs == 4 and bench.seeds == (0, 1) and bench.epochs == 1
    assert bench.best() == 1  # tie between 1 and 2 -> lowest id
    assert bench.best(Metric.TEST_ACC) == 1
    np.testing.assert_allclose(bench.regret([0, 1, 2, 3]), [5.0, 0.0, 0.0, 3.5], atol=1e-4)
    assert validate_table(bench.data).ok


def test_to_frame_and_summary(t81_data: TableData) -> None:
    bench = Benchmark(t81_data)
    frame = bench.to_frame()
    n, s, t = t81_data.shape
    assert frame.shape == (n * s * t, 5 + len(STORED_METRICS))
    assert list(frame.columns[:5]) == ["arch", "genotype", "seed", "epoch", "status"]
    assert (frame["status"] == "done").all()
    summary = bench.summary()
    assert summary.best_arch == SYNTHETIC_BEST and summary.n_done == n * s
    assert summary.test_err_min <= summary.test_err_median <= summary.test_err_max
    assert str(SYNTHETIC_BEST) in bench.describe()


# -- validation --------------------------------------------------------------------------------
def test_clean_table_validates(table_path: Path) -> None:
    report = validate_table(table_path)
    assert report.ok, report.format()
    assert "OK" in report.format()


def test_validation_reports_each_defect(t81_data: TableData) -> None:
    data = copy_data(t81_data)
    data.metrics[Metric.VALID_LOSS][2, 0, 1] = np.nan
    data.status[4, 2] = Status.PENDING
    data.metrics[Metric.TRAIN_ACC][6, 1, 0] = 1.5
    data.n_params[9] = 0
    report = validate_table(data)
    text = report.format()
    assert not report.ok and len(report.problems) == 4, text
    assert "valid_loss: NaN in a done run: 1 run(s), e.g. (2, 0)" in text
    assert "pending or running): 1 run(s), e.g. (4, 2)" in text
    assert "train_acc: accuracy outside [0, 1]" in text and "(6, 1)" in text
    assert "n_params <= 0" in text


def test_validation_of_files(table_path: Path, tmp_path: Path) -> None:
    with h5py.File(table_path, "a") as f:
        f.attrs["content_sha256"] = "0" * 64
    assert any("content_sha256" in p for p in validate_table(table_path).problems)
    with h5py.File(table_path, "a") as f:
        f["summary/test_err_mean"][0] = 99.0
    assert any("/summary/test_err_mean" in p for p in validate_table(table_path).problems)
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    report = validate_table(broken)
    assert not report.ok and "broken.h5" in report.problems[0]


# -- layering ----------------------------------------------------------------------------------
def test_table_import_does_not_pull_torch_or_matplotlib() -> None:
    """Nor a higher layer (train, data): a table's protocol value comes from L0."""
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, nasbench_tools, nasbench_tools.table, nasbench_tools.table.benchmark\n"
        "assert nasbench_tools.Benchmark.open('data/t81-digits.h5').protocol.layers == 5\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib')\n"
        "               or m.startswith(('nasbench_tools.train', 'nasbench_tools.data')))\n"
        "print(','.join(heavy))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_synthetic_fixture_is_deterministic() -> None:
    a, b = synthetic_t81_data(), synthetic_t81_data()
    assert hdf5.derive(a).content_sha256 == hdf5.derive(b).content_sha256


def test_cached_queries_equal_a_direct_computation() -> None:
    """The per-(metric, epoch) cache behind `query` and `regret` gives the numbers the arrays
    give: seed means over done runs, per seed, vectorised and single, at several epochs."""
    from nasbench_tools.table.schema import Metric as M

    bench = Benchmark.open("data/t81-digits.h5")
    raw = np.asarray(bench.data.metrics[M.TEST_ACC], dtype=np.float64)
    ids = np.arange(bench.n_archs)
    for epoch in (-1, 0, 7):
        err = 100.0 * (1.0 - raw[:, :, epoch])
        np.testing.assert_array_equal(bench.query(ids, M.TEST_ERR, epoch=epoch), err.mean(1))
        for k, seed in enumerate(bench.seeds):
            np.testing.assert_array_equal(bench.query(ids, M.TEST_ERR, epoch=epoch, seed=seed),
                                          err[:, k])
        best = int(np.argmin(err.mean(1)))
        assert bench.best(M.TEST_ERR, epoch=epoch) == best
        for a in (0, 17, best, 80):
            assert bench.query(a, M.TEST_ERR, epoch=epoch) == err.mean(1)[a]
            assert bench.query(int(a), "test_err", epoch=epoch) == err.mean(1)[a]
            assert bench.regret(a, M.TEST_ERR, epoch=epoch) == err.mean(1)[a] - err.mean(1)[best]
    acc = bench.query(ids, M.VALID_ACC)
    assert bench.regret(int(np.argmin(acc)), M.VALID_ACC) == acc.max() - acc.min()
