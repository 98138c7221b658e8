"""DARTS-ES stopping rule: the synthetic fixtures of METHOD §5."""

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


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="evenly spaced"):
        early_stop([0, 2, 5], [1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="eigenvalues"):
        early_stop([0, 2], [1.0])
