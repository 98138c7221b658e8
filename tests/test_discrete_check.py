"""The discretised-error check: five readings of one supernet, none of which changes it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_search import TINY, digits_bench

from nasbench_tools.search.config import get_search_config
from nasbench_tools.search.discrete_check import (
    discrete_readings,
    readings_frame,
    run_discrete_check,
    sharp_alpha,
)
from nasbench_tools.search.engine import SupernetRunner
from nasbench_tools.search.strategies import make_strategy


@pytest.fixture(scope="module")
def runner() -> SupernetRunner:
    config = get_search_config("digits", TINY)
    strategy = make_strategy("darts", config)
    r = SupernetRunner(digits_bench(), config, strategy, seed=0, device="cpu")
    r.train_epoch(0, strategy.settings(0))
    return r


def test_sharp_alpha_is_the_one_hot_network_and_is_undone(runner: SupernetRunner) -> None:
    net = runner.net
    arch = net.space.arch(40)
    before = [a.detach().clone() for a in net.arch_parameters()]
    x = runner.xb_eval[:32]
    net.eval()
    with torch.no_grad(), sharp_alpha(net, arch, 50.0):
        weights = net.mixing_weights()
        sharp = net(x)[0]
    with torch.no_grad(), net.one_hot(arch):
        one_hot = net(x)[0]
    for cell, w in weights.items():
        assert torch.equal(w.round(), w.round().clamp(0, 1))
        assert torch.allclose(w, net.one_hot_weights(arch)[cell], atol=1e-30, rtol=0)
    torch.testing.assert_close(sharp, one_hot, rtol=1e-6, atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(net.arch_parameters(), before, strict=True))


def test_readings_leave_the_supernet_as_it_was(runner: SupernetRunner) -> None:
    net = runner.net
    state = {k: v.clone() for k, v in net.state_dict().items()}
    arch = net.discretize()
    oneshot, discrete, running, batch, sharp = discrete_readings(
        net, arch, runner.calibration_batches(), runner.xb_eval, runner.yb_eval, 64)
    assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items())
    assert sharp == running  # one-hot through the relaxation = Supernet.one_hot
    for err in (oneshot, discrete, running, batch):
        assert 0.0 <= err <= 100.0
    again = discrete_readings(net, arch, runner.calibration_batches(), runner.xb_eval,
                              runner.yb_eval, 64)
    assert again[0] == oneshot and again[2:] == (running, batch, sharp)


def test_run_discrete_check_reads_the_chosen_epochs() -> None:
    readings = run_discrete_check(digits_bench(), epochs=[1, 0], seed=0, overrides=TINY)
    frame = readings_frame(readings)
    assert list(frame["epoch"]) == [0, 1]
    config = get_search_config("digits", TINY)
    labels = SupernetRunner(digits_bench(), config, make_strategy("darts", config), seed=0,
                            device="cpu").yb_eval.numpy()
    chance = 100.0 * (1.0 - np.bincount(labels).max() / len(labels))
    assert (frame["chance_err"] == chance).all() and 0 < chance < 100
    assert (frame["sharp_err"] == frame["discrete_err_running"]).all()


def test_readings_markdown_has_one_row_per_reading() -> None:
    from nasbench_tools.search.discrete_check import DiscreteReadings, readings_markdown

    frame = readings_frame([DiscreteReadings(0, 30, 7.85, 76.0, 86.5, 89.7, 86.54, 89.7, 88.4),
                            DiscreteReadings(29, 40, 13.5167, 44.9, 82.4, 90.2, 82.3, 90.2,
                                             88.4)])
    lines = readings_markdown(frame).splitlines()
    assert len(lines) == 4 and lines[0].count("|") == lines[2].count("|") == 10
    assert lines[2] == "| 0 | 30 | 7.8 | 76.0 | 86.5 | 86.5 | 89.7 | 89.7 | 88.4 |"
