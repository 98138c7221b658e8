"""The RobustDARTS claims on synthetic traces whose answers are known: windows, pairing by
seed, across-run correlations without replays, verdicts, and the collapse counts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.report.words import claim_line
from nasbench_tools.search.replay import es_trace
from nasbench_tools.search.synthetic import synthetic_trace
from nasbench_tools.search.trace import SearchTrace
from nasbench_tools.stats import load_runs
from nasbench_tools.stats.claims import (
    ClaimTest,
    claims_frame,
    endings,
    independent_runs,
    regret_paths,
    robustdarts_claims,
)
from nasbench_tools.stats.correlation import Estimate
from nasbench_tools.table import Benchmark
from nasbench_tools.table.schema import Metric

TABLE = str(Path(__file__).resolve().parents[1] / "data" / "t81-digits.h5")
# digits table: 45 is the best architecture; 0, 9, 27, 54, 4 have sep_conv normal cells (4: all
# skip); 40, 76, 67, 43, 49 have all-parameter-free normal cells
START = (0, 9, 27, 54, 4)
END = (40, 76, 67, 43, 49)
WDS = (3e-4, 2.7e-3, 8.1e-3, 2.43e-2)


def _darts_archs(s: int) -> list[int]:
    return [START[s]] * 10 + [45] * 10 + [END[s]] * 30


def _lams(s: int, scale: float = 1.0) -> list[float]:
    return [scale * (0.1 + 0.01 * s if e < 20 else 1.0 + 0.1 * s) for e in range(50)]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Benchmark]:
    bench = Benchmark.open(TABLE)
    out = tmp_path_factory.mktemp("claims")
    for s in range(5):
        darts = synthetic_trace(bench, method="darts", seed=s, epochs=50, every=2,
                                archs=_darts_archs(s), lambdas=_lams(s))
        darts.save(out / f"darts-s{s}.h5")
        es_trace(darts, source=f"darts-s{s}.h5").save(out / f"darts-es-s{s}.h5")
    for s in range(3):
        for i, wd in enumerate(WDS):
            archs = [0] * 20 + [(40, 76, 49, 45)[i]] * 30
            synthetic_trace(bench, method="rdarts-l2", seed=s, epochs=50, every=2, archs=archs,
                            lambdas=_lams(s, scale=1.0 / (1 + i)), params={"weight_decay": wd}
                            ).save(out / f"rdarts-l2-wd{wd:g}-s{s}.h5")
    return out, bench


def _tests(study: tuple[Path, Benchmark]) -> list[ClaimTest]:
    out, _ = study
    return robustdarts_claims(load_runs(out, table=TABLE), n_resamples=999, seed=0)


def _one(tests: list[ClaimTest], claim: str, words: str) -> ClaimTest:
    found = [t for t in tests if t.claim == claim and words in t.statement]
    assert len(found) == 1, [t.statement for t in tests]
    return found[0]


def test_claim_a_uses_fixed_windows(study: tuple[Path, Benchmark]) -> None:
    _, bench = study
    tests = _tests(study)
    regret = [bench.regret(a, Metric.TEST_ERR) for a in range(bench.space.size)]
    fall = _one(tests, "a", "regret falls")
    rise = _one(tests, "a", "regret rises")
    # epochs 0-4 hold START, the middle window (10-19) the best arch (regret 0), 45-49 END
    assert fall.estimate.value == pytest.approx(np.mean([regret[a] for a in START]))
    assert rise.estimate.value == pytest.approx(np.mean([regret[a] for a in END]))
    assert fall.n == rise.n == 5 and fall.detail.startswith("5 of 5 runs above 0")
    # five runs all on one side: the smallest two-sided sign-flip p is 2 / 2^5
    assert rise.estimate.p_value == pytest.approx(2 / 32)
    assert rise.verdict == "direction only"
    oneshot = _one(tests, "a", "one-shot")
    # synthetic one-shot error 40 - 2e: mean of epochs 10-19 minus mean of epochs 45-49
    assert oneshot.estimate.value == pytest.approx(2.0 * (47 - 14.5))


def test_claim_b_and_e_within_runs(study: tuple[Path, Benchmark]) -> None:
    tests = _tests(study)
    within = _one(tests, "b", "within a run")
    # lambda jumps at epoch 20, when the normal cell turns all parameter-free (except seed 4,
    # whose start cell is all skip already): every rho is positive
    assert within.n == 5 and 0 < within.estimate.value <= 1
    gap = _one(tests, "e", "within a run")
    assert gap.estimate.value > 0.5


def test_claim_c_pairs_seeds_and_across_runs_skip_replays(study: tuple[Path, Benchmark]
                                                          ) -> None:
    out, _ = study
    runs = load_runs(out, table=TABLE)
    frame = runs.runs_frame().set_index("run")
    want = [frame.loc[f"darts-s{s}", "test_regret"] - frame.loc[f"darts-es-s{s}", "test_regret"]
            for s in range(5)]
    tests = robustdarts_claims(runs, n_resamples=999, seed=0)
    es = _one(tests, "c", "paired by seed")
    assert es.n == 5 and es.estimate.value == pytest.approx(np.mean(want))
    across = _one(tests, "b", "across runs")
    assert across.n == 5 + 12  # the five replayed DARTS-ES traces are not independent runs
    assert "17 independent runs" in across.runs


def test_claim_d_strength(study: tuple[Path, Benchmark]) -> None:
    tests = _tests(study)
    lam = _one(tests, "d", "lambda_max")
    regret = _one(tests, "d", "regret")
    assert lam.n == regret.n == 12
    assert lam.estimate.value < -0.9 and lam.verdict == "supported"
    assert regret.estimate.value < -0.9 and regret.verdict == "supported"


def test_results_are_reproducible_and_tabulated(study: tuple[Path, Benchmark]) -> None:
    a, b = claims_frame(_tests(study)), claims_frame(_tests(study))
    assert a.equals(b)
    assert list(dict.fromkeys(a["claim"])) == ["a", "b", "c", "d", "e"]
    assert list(a.columns[:4]) == ["claim", "statement", "runs", "kind"]


def test_verdicts() -> None:
    def claim(value: float, low: float, high: float, p: float, expected: int = 1) -> str:
        est = Estimate("mean", value, low, high, p)
        return ClaimTest("a", "x", "runs", "mean", est, 5, expected).verdict

    assert claim(1.0, 0.5, 1.5, 0.01) == "supported"
    assert claim(1.0, 0.5, 1.5, 0.2) == "direction only"
    assert claim(1.0, -0.5, 1.5, 0.01) == "not supported"
    assert claim(-1.0, -1.5, -0.5, 0.01) == "contradicted"
    assert claim(-1.0, -1.5, -0.5, 0.2) == "opposite direction"
    assert claim(-1.0, -1.5, -0.5, 0.01, expected=-1) == "supported"
    assert claim(float("nan"), float("nan"), float("nan"), float("nan")) == "not computable"
    line = claim_line(ClaimTest("c", "diff", "5 seeds", "mean",
                                Estimate("mean", 1.0, 0.5, 1.5, 0.01), 5, 1))
    assert "CI [0.50, 1.50]" in line and "n = 5" in line and "**supported**" in line


def test_endings_count_collapsed_normal_cells(study: tuple[Path, Benchmark]) -> None:
    out, _ = study
    frame = endings(load_runs(out, table=TABLE)).set_index("method")
    assert frame.loc["darts", "runs"] == 5 and frame.loc["darts", "all_free"] == 5
    # every run keeps an all-parameter-free normal cell from epoch 20 on (seed 4 also held
    # one in epochs 0-9, which does not count: it left it)
    assert frame.loc["darts", "median_settled"] == 20
    assert frame.loc["rdarts-l2", "all_free"] == 9  # the largest weight decay ends on arch 45


def test_two_runs_of_one_seed_cannot_be_paired(study: tuple[Path, Benchmark],
                                               tmp_path: Path) -> None:
    out, bench = study
    for name in ("darts-s0.h5", "darts-es-s0.h5"):
        (tmp_path / name).write_bytes((out / name).read_bytes())
    synthetic_trace(bench, method="darts-es", seed=0, epochs=50).save(tmp_path / "other.h5")
    with pytest.raises(ConfigError, match="several runs of one seed"):
        robustdarts_claims(load_runs(tmp_path, table=TABLE), n_resamples=99)


def test_a_repeated_search_counts_once_across_runs(study: tuple[Path, Benchmark],
                                                   tmp_path: Path) -> None:
    out, _ = study
    for name in ("darts-s0.h5", "darts-s1.h5", "darts-es-s0.h5"):
        (tmp_path / name).write_bytes((out / name).read_bytes())
    # R-DARTS(L2) at DARTS's own weight decay searches exactly as DARTS does
    darts = SearchTrace.load(out / "darts-s0.h5")
    same = dataclasses.replace(darts, method="rdarts-l2",
                               config={**darts.config, "params": {"weight_decay": 3e-4}})
    same.save(tmp_path / "rdarts-l2-s0.h5")
    runs = load_runs(tmp_path, table=TABLE)
    assert independent_runs(runs) == ["darts-s0", "darts-s1"]


def test_regret_paths_describe_each_darts_run(study: tuple[Path, Benchmark]) -> None:
    out, bench = study
    paths = regret_paths(load_runs(out, table=TABLE)).set_index("run")
    assert list(paths.index) == [f"darts-s{s}" for s in range(5)]
    for s in range(5):
        row = paths.loc[f"darts-s{s}"]
        assert row.regret_start == pytest.approx(bench.regret(START[s], Metric.TEST_ERR))
        assert row.regret_min == 0.0 and row.min_epoch == 10  # arch 45 from epoch 10 on
        assert row.regret_end == pytest.approx(bench.regret(END[s], Metric.TEST_ERR))
        assert row.oneshot_at_min == pytest.approx(40.0 - 2.0 * 10)
