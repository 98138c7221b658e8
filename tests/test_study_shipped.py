"""The committed CIFAR-10 RobustDARTS study: its traces are complete and in the recorded
setting, and its report reproduces from them exactly (``correlations.csv`` byte for byte,
``claims.csv`` value for value)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from conftest import study_report_args

from nasbench_tools.cli import main as cli_main
from nasbench_tools.search.trace import SearchTrace
from nasbench_tools.stats import load_runs
from nasbench_tools.stats.claims import claims_frame, robustdarts_claims

REPO = Path(__file__).resolve().parents[1]
TRACES = REPO / "data" / "traces" / "study-cifar10-cpu-l8"
REPORT = REPO / "figures" / "study-cifar10-cpu-l8"


@pytest.fixture
def command(tmp_path: Path) -> list[str]:
    """The ``nasbench-tools report`` call STUDY.md gives, writing into ``tmp_path/again``."""
    return study_report_args((REPORT / "STUDY.md").read_text(), tmp_path / "again")


def test_every_search_finished_in_the_recorded_setting(study) -> None:  # type: ignore[no-untyped-def]
    assert not list(TRACES.glob("*.ckpt")) and not list(TRACES.glob("*.partial.h5"))
    methods: Counter[str] = Counter()
    for spec in study.SPECS:
        trace = SearchTrace.load(TRACES / f"{spec.name}.h5")
        assert trace.method == spec.method and trace.seed == spec.seed
        for key, value in study.OVERRIDES.items():
            assert trace.config["search"][key] == value, (spec.name, key)
        assert trace.result_epoch is not None
        methods[spec.method] += 1
    assert methods["darts"] >= 5 and methods["darts-ada"] >= 3 and methods["rdarts-l2"] >= 12


def test_the_report_reproduces_from_the_committed_traces(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the command names the traces relative to the checkout
    assert cli_main(command) == 0
    for name in ("correlations.csv", "runs.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (REPORT / name).read_bytes(), name


def test_the_claims_reproduce(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    sources = command[1:command.index("--table")]
    runs = load_runs(sources, table=command[command.index("--table") + 1])
    again = claims_frame(robustdarts_claims(runs, seed=0))
    committed = pd.read_csv(REPORT / "claims.csv")
    for column in ("claim", "verdict"):
        assert list(again[column].astype(str)) == list(committed[column].astype(str))
    numeric = committed.select_dtypes("number").columns
    pd.testing.assert_frame_equal(again[numeric].reset_index(drop=True),
                                  committed[numeric], check_exact=False, rtol=1e-12)
