"""The one-run trainer: determinism, seeds, failure handling, protocols."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.spaces import get_space
from nasbench_tools.table.schema import STORED_METRICS, Metric, Status
from nasbench_tools.train import get_protocol, list_presets
from nasbench_tools.train.seeding import data_seed, init_seed
from nasbench_tools.train.trainer import train_architecture

PROTOCOL = get_protocol("digits", "quick", {"epochs": 2, "layers": 2, "channels": 4})


def test_same_seed_same_numbers_and_global_rng_untouched() -> None:
    space = get_space("t81")
    state = torch.get_rng_state()
    a = train_architecture(space.arch(7), space, PROTOCOL, seed=3, device="cpu")
    b = train_architecture(space.arch(7), space, PROTOCOL, seed=3, device="cpu")
    assert torch.equal(state, torch.get_rng_state())
    assert a.same_numbers(b)
    c = train_architecture(space.arch(7), space, PROTOCOL, seed=4, device="cpu")
    assert not a.same_numbers(c)


def test_result_has_every_curve_in_range() -> None:
    space = get_space("t81")
    r = train_architecture(space.arch(0), space, PROTOCOL, seed=0, device="cpu")
    assert r.status is Status.DONE and r.reason == ""
    for m in STORED_METRICS:
        assert r.metrics[m].shape == (2,) and np.isfinite(r.metrics[m]).all()
    for m in (Metric.TRAIN_ACC, Metric.VALID_ACC, Metric.TEST_ACC):
        assert ((0 <= r.metrics[m]) & (r.metrics[m] <= 1)).all()
    assert r.n_params > 0 and r.flops > 0


def test_diverging_run_is_recorded_as_failed() -> None:
    space = get_space("t81")
    wild = get_protocol("digits", "quick", {"epochs": 3, "lr": 1e12, "grad_clip": 1e30,
                                             "layers": 2, "channels": 4})
    r = train_architecture(space.arch(0), space, wild, seed=0, device="cpu")
    assert r.status is Status.FAILED
    assert "non-finite" in r.reason
    assert np.isnan(r.metrics[Metric.TEST_ACC][-1])


def test_seeds_depend_on_the_task_only() -> None:
    assert data_seed(1) == data_seed(1) != data_seed(2)
    assert init_seed(1, 5) == init_seed(1, 5)
    assert len({init_seed(s, a) for s in range(3) for a in range(81)}) == 243


@pytest.mark.parametrize("dataset", ["cifar10", "cifar10-jpeg"])
def test_short_cifar_preset_is_standard_on_less_data_and_time(dataset: str) -> None:
    import dataclasses

    short, standard = get_protocol(dataset, "short"), get_protocol(dataset, "standard")
    changed = {f.name for f in dataclasses.fields(short)
               if getattr(short, f.name) != getattr(standard, f.name)}
    assert changed == {"preset", "epochs", "n_train", "n_test", "precision"}
    assert short.epochs < standard.epochs and short.precision == "bf16"
    assert short.n_train is not None and short.n_train < 45000


def test_protocol_presets_and_overrides() -> None:
    assert "quick" in list_presets("digits") and "standard" in list_presets("digits")
    p = get_protocol("digits", "standard", {"epochs": "7", "flip": "true", "n_train": "none"})
    assert (p.epochs, p.flip, p.n_train) == (7, True, None)
    assert p.lr_at(0) == pytest.approx(p.lr) and p.lr_at(p.epochs) == pytest.approx(p.lr_min)
    with pytest.raises(UnknownNameError, match="quick"):
        get_protocol("digits", "fast")
    with pytest.raises(ConfigError, match="epochs"):
        get_protocol("digits", "quick", {"epochs": "many"})
    with pytest.raises(ConfigError, match="allowed"):
        get_protocol("digits", "quick", {"epoch": "3"})
    with pytest.raises(ConfigError, match=">= 1"):
        get_protocol("digits", "quick", {"epochs": "0"})


def test_bf16_precision_is_reproducible_and_close_to_fp32() -> None:
    """Mixed precision changes the numbers a little (so a bf16 table is its own table) but
    stays deterministic on the CPU and trains as well as fp32."""
    space = get_space("t81")
    bf16 = get_protocol("digits", "quick", {"epochs": 2, "layers": 2, "channels": 4,
                                             "precision": "bf16"})
    a = train_architecture(space.arch(7), space, bf16, seed=3, device="cpu")
    b = train_architecture(space.arch(7), space, bf16, seed=3, device="cpu")
    ref = train_architecture(space.arch(7), space, PROTOCOL, seed=3, device="cpu")
    assert a.status is Status.DONE and a.same_numbers(b) and not a.same_numbers(ref)
    for m in (Metric.TRAIN_LOSS, Metric.VALID_LOSS):
        np.testing.assert_allclose(a.metrics[m], ref.metrics[m], rtol=0.1)


def test_unknown_precision_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"precision='fp16' is not one of fp32, bf16, fp64"):
        get_protocol("digits", "quick", {"precision": "fp16"})
