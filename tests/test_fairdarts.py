"""FairDARTS and DSCD: the zero-one loss, threshold readings, the Beta proposal, the
acceptance and alternation rules, a bimodal toy, and searches on a digits table."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from nasbench_tools.cli import main
from nasbench_tools.exceptions import ConfigError
from nasbench_tools.search.arch_step import AlphaStepper, zero_one_loss
from nasbench_tools.search.dscd import (
    DSCDController,
    DSCDSettings,
    beta_parameters,
    concentration,
    propose,
)
from nasbench_tools.search.fair import (
    INVALID,
    OFF_TABLE,
    VALID,
    cell_mean_sigma,
    d01,
    threshold_reading,
)
from nasbench_tools.search.trace import SearchTrace
from nasbench_tools.spaces import get_space


# -- zero-one loss ------------------------------------------------------------------------------
def test_zero_one_loss_value_and_gradient() -> None:
    a = torch.tensor([[0.0, 1.5, -2.0], [0.3, -0.7, 4.0]], dtype=torch.float64,
                     requires_grad=True)
    mask = torch.ones_like(a, dtype=torch.bool)
    loss = zero_one_loss([a], [mask])
    sigma = torch.sigmoid(a.detach())
    (grad,) = torch.autograd.grad(loss, [a])
    assert float(loss.detach()) == pytest.approx(float(-((sigma - 0.5) ** 2).mean()))
    expected = -(2 / 6) * (sigma - 0.5) * sigma * (1 - sigma)
    torch.testing.assert_close(grad, expected)
    l1 = zero_one_loss([a], [mask], "l1").detach()
    assert float(l1) == pytest.approx(float(-(sigma - 0.5).abs().mean()))


def test_zero_one_loss_limits_and_mask() -> None:
    zero = torch.zeros(2, 3, requires_grad=True)
    mask = torch.ones(2, 3, dtype=torch.bool)
    loss = zero_one_loss([zero], [mask])
    (grad,) = torch.autograd.grad(loss, [zero])
    assert float(loss.detach()) == 0.0 and float(grad.abs().max()) == 0.0
    far = torch.tensor([[40.0, -40.0, 40.0]])
    assert float(zero_one_loss([far], [mask[:1]])) == pytest.approx(-0.25)
    half = torch.tensor([[40.0, 0.0, 0.0]])  # only the first entry counts
    only_first = torch.tensor([[True, False, False]])
    assert float(zero_one_loss([half], [only_first])) == pytest.approx(-0.25)


# -- threshold readings -------------------------------------------------------------------------
def _sigma(*edges: tuple[float, float, float]) -> np.ndarray:
    return np.array([v for e in edges for v in e])


def test_threshold_reading_in_t81_none() -> None:
    space = get_space("t81-none")  # none, skip_connect, sep_conv_3x3 on 4 edges
    r = threshold_reading(space, _sigma((.5, .9, .2), (.5, .3, .86), (.5, .1, .95),
                                        (.5, .88, .4)))
    assert r.status == VALID and r.lost == "" and r.kept == (True, True, True, True)
    assert space.op_names(space.arch(r.arch)) == ("skip_connect", "sep_conv_3x3",
                                                  "sep_conv_3x3", "skip_connect")
    # one normal edge below the threshold becomes none: still a table row, still valid
    r = threshold_reading(space, _sigma((.5, .84, .2), (.5, .3, .86), (.5, .1, .95),
                                        (.5, .88, .4)))
    assert r.status == VALID and space.op_names(space.arch(r.arch))[:2] == ("none",
                                                                             "sep_conv_3x3")
    # every normal edge dropped: the dead all-none normal cell, a table row but invalid
    r = threshold_reading(space, _sigma((.9, .2, .3), (.5, .3, .6), (.5, .1, .95),
                                        (.5, .88, .4)))
    assert r.status == INVALID and r.lost == "normal" and r.arch >= 0
    assert space.op_names(space.arch(r.arch))[:2] == ("none", "none")


def test_threshold_reading_in_t81_is_off_table_or_invalid() -> None:
    space = get_space("t81")  # sep_conv_3x3, skip_connect, max_pool_3x3: no none
    ok = threshold_reading(space, _sigma((.9, .1, .1), (.1, .95, .1), (.1, .1, .99),
                                         (.9, .1, .1)))
    assert ok.status == VALID and ok.arch == space.index(space.parse(
        "normal=sep_conv_3x3~0+skip_connect~1,reduce=max_pool_3x3~0+sep_conv_3x3~1"))
    off = threshold_reading(space, _sigma((.9, .1, .1), (.1, .5, .1), (.1, .1, .99),
                                          (.9, .1, .1)))
    assert (off.status, off.arch, off.lost) == (OFF_TABLE, -1, "")
    dead = threshold_reading(space, _sigma((.9, .1, .1), (.1, .5, .1), (.1, .1, .2),
                                           (.3, .1, .1)))
    assert (dead.status, dead.arch, dead.lost) == (INVALID, -1, "reduce")


def test_threshold_sparse_keeps_the_two_strongest_edges_of_a_node() -> None:
    from nasbench_tools.spaces import CellSpace, dense_edges

    space = CellSpace("dense2", dense_edges(["none", "skip_connect", "sep_conv_3x3"], nodes=2),
                      nodes=2, multiplier=2)
    # normal node 3 has three inputs (edges 2, 3, 4) with best sigma 0.9, 0.8, 0.3
    sigma = np.full((10, 3), 0.5)
    sigma[:, 1] = 0.95
    sigma[2], sigma[3], sigma[4] = (.5, .9, .1), (.5, .8, .1), (.5, .3, .1)
    r = threshold_reading(space, sigma.ravel())
    assert r.kept[2:5] == (True, False, False)  # top two by strength, then the threshold
    edge = threshold_reading(space, sigma.ravel(), rule="threshold_edge")
    assert edge.kept[2:5] == (True, False, False)
    sigma[4] = (.5, .1, .97)
    assert threshold_reading(space, sigma.ravel()).kept[2:5] == (True, False, True)
    sigma[3] = (.5, .1, .96)
    assert threshold_reading(space, sigma.ravel()).kept[2:5] == (False, True, True)
    assert threshold_reading(space, sigma.ravel(), rule="threshold_edge").kept[2:5] == (
        True, True, True)


def test_sigma_summaries_leave_none_out() -> None:
    space = get_space("t81-none")
    sigma = _sigma((.5, 1.0, 0.0), (.5, .2, .8), (.5, .5, .5), (.5, .5, .5))
    assert cell_mean_sigma(space, sigma) == pytest.approx((0.5, 0.5))
    assert d01(space, sigma) == pytest.approx((0 + 0 + .2 + .2 + .5 * 4) / 8)


# -- the Beta proposal --------------------------------------------------------------------------
@pytest.mark.parametrize("u", [0.0, 0.2, 0.5, 1.0])
def test_zero_concentration_is_uniform(u: float) -> None:
    assert beta_parameters(u, 0.0) == pytest.approx((1.0, 1.0))
    rng = np.random.default_rng(0)
    draws = np.array([propose(-5 + 10 * u, 0.0, 5.0, rng) for _ in range(4000)])
    assert stats.kstest((draws + 5) / 10, "uniform").pvalue > 0.01


@pytest.mark.parametrize(("u", "c"), [(0.1, 0.3), (0.7, 0.6), (0.95, 0.9), (0.0, 0.5)])
def test_beta_meets_the_interpolated_mean_and_std(u: float, c: float) -> None:
    p, q = beta_parameters(u, c)
    draws = np.random.default_rng(1).beta(p, q, size=100_000)
    mean, std = (1 - c) * 0.5 + c * u, (1 - c) / math.sqrt(12)
    assert draws.mean() == pytest.approx(mean, rel=0.01, abs=1e-3)
    assert draws.std() == pytest.approx(std, rel=0.01)


def test_beta_stays_proper_and_proposals_stay_in_the_domain() -> None:
    for u in np.linspace(0, 1, 21):
        for c in np.linspace(0, 1 - 1e-6, 21):
            p, q = beta_parameters(float(u), float(c))
            assert p + q >= 2 - 1e-9 and p > 0 and q > 0
    rng = np.random.default_rng(2)
    for value in (-50.0, -5.0, 0.3, 5.0, 80.0):
        for c in (0.0, 0.5, 0.999999):
            v = propose(value, c, 5.0, rng)
            assert -5.0 <= v <= 5.0 and math.isfinite(v)
    near = [propose(2.0, concentration(1.0), 5.0, rng) for _ in range(200)]
    assert max(abs(v - 2.0) for v in near) < 0.01  # c -> 1 concentrates at the current value


def test_concentration_schedule() -> None:
    assert concentration(0.0) == 0.0
    assert concentration(0.5) == pytest.approx(0.5)
    assert concentration(2.0) == 1.0 - 1e-6  # capped: the Beta stays proper


# -- acceptance and alternation -----------------------------------------------------------------
def test_a_global_step_is_accepted_only_below_the_windows_best() -> None:
    c = DSCDController(DSCDSettings(window=3, switch_after=100), np.random.default_rng(0))
    for loss in (5.0, 2.0, 4.0):
        c.record(loss)
    assert not c.accepts(2.0) and c.accepts(1.999)
    c.record(3.0)  # the window is now 2, 4, 3
    c.record(3.5)  # 4, 3, 3.5: the 2.0 has left the window
    assert c.accepts(2.5) and not c.accepts(3.0)
    assert not c.accepts(float("nan"))


def test_alternation_switches_exactly_as_specified() -> None:
    c = DSCDController(DSCDSettings(switch_after=3), np.random.default_rng(0))
    kinds = []
    # losses: improving for 4 steps (no switch while improving), then a non-improvement
    for loss in (10, 9, 8, 7, 7.5, 7.4, 7.3, 7.35, 7.0):
        kinds.append(c.kind)
        c.record(loss)
    # steps 1-4 local (improving), step 5 does not improve after >= 3 -> switch to global;
    # global steps 6, 7 improve; step 8 is the third global and does not improve -> local
    assert kinds == ["local"] * 5 + ["global"] * 3 + ["local"]
    assert c.counts()[:2] == (6, 3)


def test_dscd_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="window"):
        DSCDSettings(window=0)
    with pytest.raises(ConfigError, match="domain"):
        DSCDSettings(domain=0)


# -- the bimodal toy ----------------------------------------------------------------------------
def _toy(x: torch.Tensor) -> torch.Tensor:
    """Double well: a worse minimum near x = +1 (0.3) and the better one near x = -1 (-0.3)."""
    return (x * x - 1) ** 2 + 0.15 * x


def _run_toy(seed: int, dscd: bool, steps: int = 600) -> float:
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([x], lr=0.01)
    settings = DSCDSettings(window=20, switch_after=10, domain=2.0) if dscd else None
    stepper = AlphaStepper([x], adam, settings, [torch.ones(1, dtype=torch.bool)],
                           np.random.default_rng(seed))
    for t in range(steps):
        (g,) = torch.autograd.grad(_toy(x).sum(), [x])
        stepper.step([g], lambda: float(_toy(x.detach()).sum()), t / steps)
    return float(x.detach())


def test_dscd_escapes_the_worse_basin_where_adam_does_not() -> None:
    adam = [_run_toy(seed, dscd=False) for seed in range(20)]
    assert all(x > 0 for x in adam)  # plain Adam stays in the worse basin every time
    escaped = sum(_run_toy(seed, dscd=True) < 0 for seed in range(20))
    assert escaped >= 18  # >= 90 % of seeds


# -- searches on a digits table -----------------------------------------------------------------
TINY = ["--epochs", "2", "--set", "steps_per_epoch=6", "--set", "layers=3", "--set",
        "channels=4", "--hessian-every", "0", "--device", "cpu", "--no-progress"]


def test_fairdarts_dscd_search_from_the_cli_records_every_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fd.h5"
    assert main(["search", "--table", "data/t81-none-digits.h5", "--method", "fairdarts-dscd",
                 "--out", str(out), *TINY]) == 0
    trace = SearchTrace.load(out)
    assert trace.config["search"]["lr"] == 0.005 and trace.config["search"]["init_scale"] == 0
    assert trace.config["params"]["dscd_window"] == 100
    assert trace.config["params"]["zero_one_weight"] == 10.0
    for r in trace.records:
        assert r.threshold_status in (VALID, OFF_TABLE, INVALID)
        assert 0 <= r.sigma_normal <= 1 and 0 <= r.sigma_reduce <= 1 and 0 <= r.d01 <= 0.5
        assert r.local_steps + r.global_steps == 6
        assert r.global_accepted <= r.global_steps
        assert r.loss_evals == r.local_steps + 2 * r.global_steps
        assert math.isfinite(r.test_regret)
        assert (r.threshold_arch >= 0) == math.isfinite(r.threshold_regret)
    again = tmp_path / "again.h5"
    assert main(["search", "--table", "data/t81-none-digits.h5", "--method", "fairdarts-dscd",
                 "--out", str(again), *TINY]) == 0
    a, b = SearchTrace.load(out), SearchTrace.load(again)
    for ra, rb in zip(a.records, b.records, strict=True):
        np.testing.assert_array_equal(ra.alphas, rb.alphas)
        assert (ra.arch, ra.threshold_arch, ra.global_accepted) == (
            rb.arch, rb.threshold_arch, rb.global_accepted)


@pytest.mark.parametrize(("param", "message"), [
    ("dscd_window=0", "window"), ("zero_one_form=cubic", "zero_one_form"),
    ("threshold=1.5", "threshold"), ("dscd_start=middle", "dscd start"),
    ("bogus=1", "has no parameter 'bogus'")])
def test_bad_fairdarts_parameters_are_one_line(param: str, message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--table", "data/t81-none-digits.h5", "--method", "fairdarts-dscd",
                 "--param", param, "--out", str(tmp_path / "x.h5"), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "x.h5").exists()
