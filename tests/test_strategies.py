"""Strategies over the torch-free loop, driven by a mocked trainer (docs/methods.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.search.config import get_search_config
from nasbench_tools.search.loop import run_loop
from nasbench_tools.search.strategies import STRATEGIES, make_strategy, strategy_params
from nasbench_tools.search.strategies.base import EpochSettings
from nasbench_tools.search.trace import EpochRecord


class MockRunner:
    """The eigenvalue is 0.1 until a step after ``jump_after[iteration]``, then 1.0; the
    "state" is just the epoch, and every call is logged."""

    def __init__(self, jump_after: dict[int, int]) -> None:
        self.jump_after = jump_after
        self.iteration = 1
        self.trained: list[tuple[int, int, EpochSettings]] = []
        self.restored: list[int] = []
        self.snapshots: set[int] = set()

    def train_epoch(self, epoch: int, settings: EpochSettings) -> None:
        self.trained.append((self.iteration, epoch, settings))

    def value(self, iteration: int, epoch: int) -> float:
        return 1.0 if epoch > self.jump_after[iteration] else 0.1

    def analyse(self, epoch: int, settings: EpochSettings, *, hessian: bool) -> EpochRecord:
        lam = self.value(self.iteration, epoch) if hessian else math.nan
        return EpochRecord(epoch=epoch, alphas=np.zeros(2), arch=0, genotype="", lambda_max=lam,
                           lr=settings.lr, weight_decay=settings.weight_decay)

    def snapshot(self, epoch: int) -> None:
        self.snapshots.add(epoch)

    def restore(self, epoch: int) -> None:
        assert epoch in self.snapshots
        self.restored.append(epoch)
        self.iteration += 1


def _config():  # type: ignore[no-untyped-def]
    return get_search_config("cifar10", {"epochs": 50})


def test_darts_es_stops_online_and_returns_the_earlier_epoch() -> None:
    strategy = make_strategy("darts-es", _config())
    runner = MockRunner({1: 30})
    records, result = run_loop(strategy, runner, 50)
    assert (records[-1].epoch, result) == (32, 20)  # DARTS-ES fixture, online
    assert "es-fired at 32" in records[-1].events
    assert all(math.isfinite(r.lambda_max) for r in records if r.epoch % 2 == 0)


def test_darts_es_never_fires_on_a_constant_eigenvalue() -> None:
    records, result = run_loop(make_strategy("darts-es", _config()), MockRunner({1: 99}), 50)
    assert (len(records), result) == (50, 49)


def test_darts_ada_rolls_back_twice_and_ignores_es_at_the_final_decay() -> None:
    config = _config()
    strategy = make_strategy("darts-ada", config)
    runner = MockRunner({1: 24, 2: 36, 3: 44})
    records, result = run_loop(strategy, runner, 50)
    assert strategy.history == pytest.approx([3e-4, 3e-3, 3e-2])  # type: ignore[attr-defined]
    # ES fires at 26 (returns 14) and at 38 (returns 26): the rollback targets
    assert runner.restored == [14, 26]
    fired = [r for r in records if "es-fired" in r.events]
    assert [(r.iteration, r.epoch) for r in fired] == [(1, 26), (2, 38), (3, 46)]
    assert "ignored" in fired[-1].events and result == 49 and records[-1].epoch == 49
    # the schedule continues by absolute epoch after a rollback
    for iteration, epoch, settings in runner.trained:
        assert settings.lr == config.lr_at(epoch)
        assert settings.weight_decay == pytest.approx(3e-4 * 10 ** (iteration - 1))
    # after the rollbacks the eigenvalue history holds only the epochs of the final path
    mon = strategy.monitor  # type: ignore[attr-defined]
    assert mon.epochs == list(range(0, 49, 2))
    path_iteration = {e: 1 if e <= 14 else 2 if e <= 26 else 3 for e in mon.epochs}
    assert mon.values == [runner.value(path_iteration[e], e) for e in mon.epochs]


def test_rdarts_dp_ramps_drop_path_and_cutout() -> None:
    config = _config()
    s = make_strategy("rdarts-dp", config, {"drop_path": "0.4"})
    first, mid, last = s.settings(0), s.settings(24), s.settings(49)
    assert (first.drop_path, first.cutout_prob) == (0.0, 0.0)
    assert mid.drop_path == pytest.approx(0.4 * 24 / 49)
    assert mid.cutout_prob == pytest.approx(24 / 49)
    assert (last.drop_path, last.cutout_prob) == (pytest.approx(0.4), 1.0)
    assert make_strategy("rdarts-dp", config, {"drop_path": 0.0}).settings(49).cutout_prob == 0.0


def test_rdarts_l2_grid_is_the_reference_one() -> None:
    name, values = STRATEGIES["rdarts-l2"].grid
    assert name == "weight_decay"
    assert values == pytest.approx([3e-4, 9e-4, 2.7e-3, 8.1e-3, 2.43e-2])
    s = make_strategy("rdarts-l2", _config(), {"weight_decay": 8.1e-3})
    assert s.settings(10).weight_decay == 8.1e-3 and s.settings(10).drop_path == 0.0


def test_es_parameters_are_those_of_the_reference_code() -> None:
    assert strategy_params(STRATEGIES["darts-es"]) == {
        "every": 2, "window": 5, "lag": 4, "factor": 1.3, "start_epoch": 10}
    assert strategy_params(STRATEGIES["darts-ada"])["mul_factor"] == 10.0


@pytest.mark.parametrize(("name", "params", "error"), [
    ("darts-xl", {}, UnknownNameError),
    ("darts-es", {"patience": 3}, ConfigError),
    ("rdarts-l2", {"weight_decay": "lots"}, ConfigError),
    ("rdarts-dp", {"drop_path": 1.5}, ConfigError),
])
def test_bad_strategy_input(name: str, params: dict[str, object], error: type) -> None:
    with pytest.raises(error) as info:
        make_strategy(name, _config(), params)
    assert str(next(iter(params), name)) in str(info.value)
