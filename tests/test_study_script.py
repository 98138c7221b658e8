"""analysis/study.py's last step on synthetic traces of a digits table: the replayed DARTS-ES
traces, the R-DARTS(L2) selection per seed, the report and STUDY.md (no search is run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import study_report_args

from nasbench_tools.cli import main as cli_main
from nasbench_tools.search.synthetic import synthetic_trace
from nasbench_tools.search.trace import SearchTrace
from nasbench_tools.table import Benchmark

TABLE = str(Path(__file__).resolve().parents[1] / "data" / "t81-digits.h5")


def test_finish_replays_selects_and_reports(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bench = Benchmark.open(TABLE)
    out, report = tmp_path / "traces", tmp_path / "report"
    out.mkdir()
    # eigenvalues flat up to epoch 30, then ten times larger: DARTS-ES fires at 32, returns 20
    lams = [0.1 if e <= 30 else 1.0 for e in range(50)]
    search = dict(study.OVERRIDES)
    for spec in study.SPECS:
        trace = synthetic_trace(bench, method=spec.method, seed=spec.seed, epochs=50, every=2,
                                lambdas=lams, params=spec.params, search=search)
        trace.save(out / f"{spec.name}.h5")
    status = study.status(out=out, table=TABLE)
    assert f"{len(study.SPECS)} of {len(study.SPECS)} searches finished" in status
    assert "darts-s0: stops after 33 epochs, returns epoch 20" in status
    study.finish(None, out=out, report=report, table=TABLE,
                 discrete_check=str(tmp_path / "absent.md"))
    replayed = SearchTrace.load(out / "replayed-es" / "darts-es-s0.h5")
    assert replayed.method == "darts-es" and len(replayed.records) == 33
    assert replayed.result_epoch == 20 and replayed.config["replayed_from"] == "darts-s0.h5"
    text = (report / "STUDY.md").read_text()
    assert "selected by validation error" in text and text.count("Seed ") == 3
    assert "(25 traces)" in text  # 5 DARTS, 5 replayed DARTS-ES, 3 DARTS-ADA, 12 R-DARTS(L2)
    runs = (report / "runs.csv").read_text().splitlines()
    assert len(runs) == 26
    assert (report / "correlations.csv").exists() and (report / "REPORT.md").exists()
    assert "## The RobustDARTS claims" in text and "| darts | 5 |" in text
    claims = (report / "claims.csv").read_text()
    assert all(f"\n{c}," in claims for c in "abcde")
    # the command STUDY.md gives reproduces the correlations exactly
    assert cli_main(study_report_args(text, tmp_path / "again")) == 0
    assert (tmp_path / "again" / "correlations.csv").read_bytes() == \
        (report / "correlations.csv").read_bytes()
    assert np.isfinite(replayed.result.test_regret)
