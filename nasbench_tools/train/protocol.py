"""Named training protocols: the presets per dataset, with typed overrides.

The value itself, `Protocol` (every hyper-parameter of one table build), is defined in
`nasbench_tools.protocol` and re-exported here. Any field can be changed from TOML or ``--set``
without code. The full protocol is stored in every table, so a table says exactly how it was
made (`Benchmark.protocol`).

>>> from nasbench_tools.train.protocol import get_protocol
>>> p = get_protocol("digits", "quick")
>>> p.epochs, p.layers, p.channels
(3, 3, 8)
>>> get_protocol("digits", "quick", {"epochs": "2"}).epochs
2
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nasbench_tools.config import apply_overrides
from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.protocol import PRECISIONS, Protocol

__all__ = ["PRECISIONS", "Protocol", "get_protocol", "list_presets"]

_DIGITS: dict[str, Any] = dict(dataset="digits", n_valid=300, n_test=500, split_seed=0)
#: The DARTS evaluation network and regularisation of the CIFAR-sized presets (DARTS).
_DARTS_EVAL: dict[str, Any] = dict(layers=8, channels=16, n_valid=5000, crop_pad=4, flip=True,
                                   cutout=16, drop_path=0.2, aux_weight=0.4)

_PRESETS: dict[tuple[str, str], Protocol] = {
    (p.dataset, p.preset): p
    for p in (
        # quick: all 81 archs x 1 seed in well under 2 minutes on 2 cores (tests, README)
        Protocol(**_DIGITS, preset="quick", epochs=3, layers=3, channels=8, batch_size=64,
                 lr=0.05),
        # standard: the shipped digits tables (data/README.md records the measured agreement)
        Protocol(**_DIGITS, preset="standard", epochs=20, layers=5, channels=8, batch_size=64,
                 lr=0.05, crop_pad=1),
        Protocol(dataset="fashion-mnist", preset="quick", epochs=2, layers=3, channels=8,
                 n_valid=1000, n_train=5000, batch_size=128, lr=0.05),
        # cpu: the reduced protocol of the shipped t81-fashion.h5 (one seed in about 10 minutes
        # on 2 CPU cores); short, so it ranks learning speed as much as quality (docs/methods.md)
        Protocol(dataset="fashion-mnist", preset="cpu", epochs=5, layers=3, channels=8,
                 n_valid=1000, n_test=1000, n_train=2000, batch_size=128, lr=0.05, crop_pad=2),
        Protocol(dataset="fashion-mnist", preset="standard", epochs=20, layers=5, channels=16,
                 n_valid=5000, batch_size=128, lr=0.05, crop_pad=2),
        *(
            Protocol(**_DARTS_EVAL, dataset=name, preset="standard", epochs=50)
            for name in ("cifar10", "cifar10-jpeg", "cifar100", "svhn")
        ),
        # cpu: the reduced CIFAR-10 protocol of the shipped t81-cifar10-cpu.h5 (one seed in
        # about two hours on 2 CPU cores); like fashion-mnist/cpu it ranks early learning speed
        *(
            Protocol(dataset=name, preset="cpu", epochs=10, layers=3, channels=8,
                     n_train=5000, n_valid=1000, n_test=2000, batch_size=96, lr=0.05,
                     crop_pad=4, flip=True)
            for name in ("cifar10", "cifar10-jpeg")
        ),
        # short: standard's network (L=8, C=16), augmentation and regularisation on 10,000
        # training images for 20 epochs, bf16: sized so that all 81 archs of one seed train as
        # one fused group in about 7 min on one H200 (the build rate measured there,
        # benchmarks/README.md), i.e. in one short GPU job; not converged (docs/methods.md)
        *(
            Protocol(**_DARTS_EVAL, dataset=name, preset="short", epochs=20, n_train=10000,
                     n_test=5000, precision="bf16")
            for name in ("cifar10", "cifar10-jpeg")
        ),
        *(
            Protocol(**_DARTS_EVAL, dataset=name, preset="paper", epochs=600)
            for name in ("cifar10", "cifar10-jpeg", "cifar100", "svhn")
        ),
    )
}


def list_presets(dataset: str | None = None) -> list[str]:
    """Preset names, for one dataset or as ``dataset/preset`` for all."""
    if dataset is None:
        return sorted(f"{d}/{p}" for d, p in _PRESETS)
    return sorted(p for d, p in _PRESETS if d == dataset)


def get_protocol(
    dataset: str, preset: str = "standard", overrides: Mapping[str, Any] | None = None
) -> Protocol:
    """The named preset for ``dataset``, with typed ``overrides`` (TOML values or strings)."""
    try:
        base = _PRESETS[(dataset, preset)]
    except KeyError:
        allowed = list_presets(dataset) or list_presets()
        raise UnknownNameError(f"preset for dataset {dataset!r}", preset, allowed) from None
    if not overrides:
        return base
    if "dataset" in overrides and overrides["dataset"] != dataset:
        raise ConfigError("the dataset is chosen with --dataset, not as an override")
    return apply_overrides(base, overrides)
