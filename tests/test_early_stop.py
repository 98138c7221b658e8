"""DARTS-ES stopping rule: the synthetic fixtures of docs/methods.md (DARTS-ES)."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.search import early_stop, local_averages

GRID = [*range(0, 50, 2), 49]  # evaluations at 0, 2, ..., 48 and the last epoch


def replay(lam: list[float]) -> tuple[int, int] | None:
    result = early_stop(GRID, lam, last_epoch=49)
    return None if result is None else (result.stop_epoch, result.return_epoch)


def test_jump_after_30() -> None:
    result = early_stop(GRID, [0.1 if e <= 30 else 1.0 for e in GRID], last_epoch=49)
    assert result is not None
    assert (result.stop_epoch, result.return_epoch) == (32, 20)
    assert result.ratio == pytest.approx(2.8)


@pytest.mark.parametrize("step,expected", [(24, (26, 14)), (36, (38, 26)), (44, (46, 34))])
def test_steps(step: int, expected: tuple[int, int]) -> None:
    assert replay([0.1 if e <= step else 1.0 for e in GRID]) == expected


def test_constant_never_stops() -> None:
    assert replay([0.5] * len(GRID)) is None


def test_exponential_growth() -> None:
    result = early_stop(GRID, [1.035**e for e in GRID], last_epoch=49)
    assert result is not None and (result.stop_epoch, result.return_epoch) == (22, 10)
    assert result.ratio == pytest.approx(1.035**8, abs=1e-4)  # 1.3168
    assert replay([1.03**e for e in GRID]) is None  # ratio 1.267 < 1.3


def test_truncated_windows_at_the_start() -> None:
    lam = np.arange(1.0, 8.0)
    avg = local_averages(lam)
    assert avg[0] == pytest.approx(np.mean(lam[:3])) and avg[1] == pytest.approx(np.mean(lam[:4]))
    assert np.isnan(avg[-2:]).all()


JUMP = [0.1 if e <= 30 else 1.0 for e in GRID]


@pytest.mark.parametrize("lam,expected", [
    (JUMP, (32, 20)),
    *[([0.1 if e <= step else 1.0 for e in GRID], stop) for step, stop in
      [(24, (26, 14)), (36, (38, 26)), (44, (46, 34))]],
    ([0.5] * len(GRID), None),
    ([1.035**e for e in GRID], (22, 10)),
    ([1.03**e for e in GRID], None),
])
def test_final_off_grid_evaluation_is_the_last_epoch(
        lam: list[float], expected: tuple[int, int] | None) -> None:
    result = early_stop(GRID, lam)  # no last_epoch: 49 comes after a shorter step
    assert (None if result is None else (result.stop_epoch, result.return_epoch)) == expected
    assert result == early_stop(GRID, lam, last_epoch=49)


def test_final_off_grid_ratios() -> None:
    jump = early_stop(GRID, JUMP)
    growth = early_stop(GRID, [1.035**e for e in GRID])
    assert jump is not None and jump.ratio == pytest.approx(2.8)
    assert growth is not None and growth.ratio == pytest.approx(1.3168, abs=1e-4)


def test_final_evaluation_never_fires() -> None:
    grid = [*range(0, 50, 5), 49]  # a search with hessian_every=5
    lam = [1.0] * (len(grid) - 1) + [100.0]
    assert early_stop(grid, lam, window=1, lag=1) is None
    on_grid = early_stop([*grid[:-1], 50], lam, window=1, lag=1)  # regular: 50 may fire
    assert on_grid is not None and on_grid.stop_epoch == 50


@pytest.mark.parametrize("epochs", [[0, 2, 4, 7, 8], [0, 2, 4, 7], [0, 2, 3, 4], [0, 4, 2]])
def test_other_irregular_spacing_raises(epochs: list[int]) -> None:
    steps = ", ".join(str(s) for s in sorted(set(np.diff(epochs).tolist())))
    with pytest.raises(ConfigError, match=rf"evenly spaced, got steps \[{steps}\]"):
        early_stop(epochs, [1.0] * len(epochs))


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="evenly spaced"):
        early_stop([0, 2, 5], [1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="eigenvalues"):
        early_stop([0, 2], [1.0])
