"""``nasbench-tools report``: the folder it writes, its refusals and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_t81_data, synthetic_trace

from nasbench_tools.cli import main
from nasbench_tools.table import Benchmark
from nasbench_tools.table.hdf5 import write_table


@pytest.fixture
def traces(tmp_path: Path) -> Path:
    table = tmp_path / "t81-synthetic.h5"
    write_table(synthetic_t81_data(), table)
    bench = Benchmark.open(table)
    rng = np.random.default_rng(1)
    folder = tmp_path / "traces"
    folder.mkdir()
    for seed in range(6):
        method = "darts" if seed < 3 else "rdarts-l2"
        params = {"weight_decay": 3e-4 * 3 ** seed} if method == "rdarts-l2" else None
        synthetic_trace(bench, method=method, seed=seed, epochs=8, every=2, params=params,
                        archs=rng.integers(0, 81, 8), table=str(table)).save(
            folder / f"{method}-s{seed}.h5")
    return folder


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nasbench-tools: error: ")
    return err[0]


def test_report_writes_figures_tables_and_findings(traces: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    assert main(["report", str(traces), "--out", str(out), "--resamples", "199",
                 "--permutations", "999"]) == 0
    captured = capsys.readouterr()
    assert "report: loaded 6 trace(s)" in captured.err  # progress on stderr
    assert str(out / "REPORT.md") in captured.out
    for stem in ("regret", "overfitting", "lambda", "lambda-scatter", "param-free-share",
                 "regularisation-rdarts-l2"):
        assert (out / f"{stem}.png").stat().st_size > 0
        assert (out / f"{stem}.pdf").stat().st_size > 0
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["seed"]) == list(range(6)) and "gen_gap" in runs.columns
    corr = pd.read_csv(out / "correlations.csv")
    for column in ("x", "y", "level", "method", "statistic", "ci_low", "ci_high", "p_value",
                   "p_holm", "n"):
        assert column in corr.columns
    across = corr[(corr["level"] == "across") & (corr["method"] == "all")]
    assert set(across["n"]) == {6}
    text = (out / "REPORT.md").read_text()
    assert "![Regret curves](regret.png)" in text
    assert "across 6 runs" in text and "95 % CI" in text
    row = across[(across["y"] == "test_regret") & (across["statistic"] == "spearman")].iloc[0]
    assert f"Spearman rho = {row['value']:.2f}, 95 % CI [{row['ci_low']:.2f}, " \
           f"{row['ci_high']:.2f}]" in text
    spans = row["ci_low"] <= 0 <= row["ci_high"]
    assert spans == ("no evidence" in text.split("test regret")[1].split("\n")[0].lower())


def test_an_existing_report_is_refused_unless_overwrite(traces: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["report", str(traces), "--out", str(out)]) == 2
    assert "--overwrite" in _one_line_error(capsys)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert main(["report", str(traces), "--out", str(out), "--overwrite", "--quiet",
                 "--resamples", "99", "--permutations", "99"]) == 0
    assert (out / "REPORT.md").exists() and not (out / "keep.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]


def test_bad_input_is_one_line_and_exit_2(traces: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "r")]) == 2
    assert "missing.h5" in _one_line_error(capsys)
    table = next(tmp_path.glob("*.h5"))
    assert main(["report", str(table), "--out", str(tmp_path / "r")]) == 2
    assert "not a nasbench-tools search trace" in _one_line_error(capsys)
    bench = Benchmark.open(table)
    synthetic_trace(bench, epochs=5, search={"order": 2}).save(traces / "other.h5")
    assert main(["report", str(traces), "--out", str(tmp_path / "r")]) == 2
    assert "--group" in _one_line_error(capsys)
    assert not (tmp_path / "r").exists()
    assert main(["report", str(traces), "--out", str(tmp_path / "r"), "--group", "--quiet",
                 "--resamples", "99", "--permutations", "99"]) == 0


def test_one_trace_gives_a_report_that_says_too_few_runs(traces: Path, tmp_path: Path) -> None:
    out = tmp_path / "one"
    assert main(["report", str(traces / "darts-s0.h5"), "--out", str(out), "--quiet",
                 "--permutations", "99"]) == 0
    text = (out / "REPORT.md").read_text()
    assert "With 1 run(s) no across-run interval can be computed" in text
    assert "over 8 epochs" not in text  # single runs are summarised, not listed one by one
