"""`nasbench-tools search` and `grid`: bad input is one line and exit 2; grids select by the
table's validation error and resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_search import TINY, digits_bench

from nasbench_tools.cli import main
from nasbench_tools.search.grid import run_grid
from nasbench_tools.search.trace import SearchTrace
from nasbench_tools.table.hdf5 import write_table

SETS = [f"--set={k}={v}" for k, v in TINY.items()]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tables") / "digits.h5"
    write_table(digits_bench().data, path)
    return path


def test_search_writes_a_trace(capsys: pytest.CaptureFixture[str], table: Path,
                               tmp_path: Path) -> None:
    out = tmp_path / "es.h5"
    code = main(["search", "--table", str(table), "--method", "darts-es", "--seed", "0",
                 "--device", "cpu", "--out", str(out), "--no-progress", *SETS])
    assert code == 0
    text = capsys.readouterr().out
    assert text.count("epoch ") >= 3 and "lambda_max" in text and "regret" in text
    trace = SearchTrace.load(out)
    assert trace.method == "darts-es" and len(trace.records) == 3


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_unknown_method(capsys: pytest.CaptureFixture[str], table: Path, tmp_path: Path) -> None:
    err = _error(capsys, ["search", "--table", str(table), "--method", "darts-pro",
                          "--out", str(tmp_path / "x.h5")])
    assert "darts-pro" in err and "darts-es" in err
    assert not (tmp_path / "x.h5").exists()


def test_existing_trace_is_left_alone(capsys: pytest.CaptureFixture[str], table: Path,
                                      tmp_path: Path) -> None:
    out = tmp_path / "taken.h5"
    out.write_bytes(b"keep me")
    err = _error(capsys, ["search", "--table", str(table), "--out", str(out)])
    assert "already exists" in err and out.read_bytes() == b"keep me"


def test_table_of_an_unknown_dataset(capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    path = tmp_path / "odd.h5"
    write_table(dataclasses.replace(digits_bench().data, dataset="mnist-9000"), path)
    err = _error(capsys, ["search", "--table", str(path), "--out", str(tmp_path / "t.h5")])
    assert "mnist-9000" in err and "digits" in err


@pytest.mark.parametrize(("extra", "needle"), [
    (["--order", "3"], "order=3"),
    (["--set", "steps_per_epoch=0"], "steps_per_epoch"),
    (["--param", "factor=high"], "factor"),
    (["--set", "lr_max=1"], "lr_max"),
])
def test_bad_settings(capsys: pytest.CaptureFixture[str], table: Path, tmp_path: Path,
                      extra: list[str], needle: str) -> None:
    err = _error(capsys, ["search", "--table", str(table), "--method", "darts-es",
                          "--out", str(tmp_path / "t.h5"), *extra])
    assert needle in err


def test_missing_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _error(capsys, ["search", "--table", str(tmp_path / "none.h5")])
    assert "none.h5" in err


def test_grid_selects_by_validation_error_and_resumes(table: Path, tmp_path: Path) -> None:
    overrides = {**TINY, "epochs": 2, "hessian_every": 0}
    summary = run_grid("rdarts-l2", table, seeds=[0, 1], values=[3e-4, 2.43e-2],
                       out_dir=tmp_path, overrides=overrides, device="cpu")
    assert len(summary.runs) == 4 and len(list(tmp_path.glob("*.h5"))) == 4
    assert summary.selected.valid_err == min(r.valid_err for r in summary.runs)
    assert "selected by validation error" in summary.format()
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.h5")}
    again = run_grid("rdarts-l2", table, seeds=[0, 1], values=[3e-4, 2.43e-2],
                     out_dir=tmp_path, overrides=overrides, device="cpu")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.h5")} == stamps  # nothing re-run
    assert again.selected == summary.selected


def test_grid_on_two_workers_equals_one(table: Path, tmp_path: Path) -> None:
    overrides = {**TINY, "epochs": 1, "hessian_every": 0}
    one = run_grid("rdarts-dp", table, seeds=[0], values=[0.0, 0.4], out_dir=tmp_path / "a",
                   overrides=overrides, device="cpu")
    two = run_grid("rdarts-dp", table, seeds=[0], values=[0.0, 0.4], out_dir=tmp_path / "b",
                   overrides=overrides, device="cpu", jobs=2)
    key = [(r.value, r.seed, r.arch, r.valid_err) for r in one.runs]
    assert key == [(r.value, r.seed, r.arch, r.valid_err) for r in two.runs]
    for a, b in zip(one.runs, two.runs, strict=True):
        ra, rb = SearchTrace.load(a.path).records, SearchTrace.load(b.path).records
        assert all((x.alphas == y.alphas).all() for x, y in zip(ra, rb, strict=True))
