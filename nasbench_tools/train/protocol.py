"""Training protocols: every hyper-parameter of one table build, as a frozen value.

Named presets exist per dataset; any field can be changed from TOML or ``--set`` without code.
The full protocol is stored in every table, so a table says exactly how it was made.

>>> from nasbench_tools.train.protocol import get_protocol
>>> p = get_protocol("digits", "quick")
>>> p.epochs, p.layers, p.channels
(3, 3, 8)
>>> get_protocol("digits", "quick", {"epochs": "2"}).epochs
2
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasbench_tools.config import apply_overrides
from nasbench_tools.data.source import SplitSpec
from nasbench_tools.exceptions import ConfigError, UnknownNameError

PRECISIONS = ("fp32", "bf16", "fp64")


@dataclass(frozen=True)
class Protocol:
    """How every (arch, seed) of a table is trained and evaluated (docs/methods.md).

    Split sizes are in images: ``n_valid`` is a stratified hold-out of the official training
    split; ``n_test`` is, for datasets without an official test split (digits), a second
    stratified hold-out, and for the others a stratified subset of the official test split
    (``None``: all of it); ``n_train=None`` trains on all the rest.

    Randomness: the batch order and augmentation of a run depend on its table seed only, so
    every architecture of one seed sees the same batches (common random numbers across
    architectures; each seed has its own order), and the initial weights on (seed, arch); see
    `nasbench_tools.train.seeding`. Fused and unfused builds share this.

    ``precision``: ``fp32``, or ``bf16`` for mixed precision (forward and backward under
    bfloat16 autocast, weights, optimiser state and the loss in float32): half the bytes per
    activation, for networks that are memory-bound on a GPU. A bf16 table is a table of
    its own: its numbers are not those of an fp32 build. ``fp64`` trains in double precision
    throughout (weights, images, optimiser): slow, and meant for reference checks, where
    fp32 rounding, grown over many SGD steps, would hide a real difference between two
    builds (in fp64 a fused and an unfused build of the test space store the same float32
    curves; in fp32 they differ by up to a few per cent after 32 steps).
    """

    dataset: str
    preset: str
    epochs: int
    layers: int
    channels: int
    n_valid: int
    n_test: int | None = None
    n_train: int | None = None
    split_seed: int = 0
    batch_size: int = 96
    lr: float = 0.025
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    stem_multiplier: int = 3
    crop_pad: int = 0
    flip: bool = False
    cutout: int = 0
    drop_path: float = 0.0
    aux_weight: float = 0.0
    eval_batch_size: int = 1024
    threads: int = 1
    precision: str = "fp32"

    def __post_init__(self) -> None:
        positive = ("epochs", "layers", "channels", "batch_size", "eval_batch_size", "threads")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"protocol {name}={getattr(self, name)} must be >= 1")
        if self.n_valid < 1:
            raise ConfigError(f"protocol n_valid={self.n_valid} must be >= 1")
        if not 0.0 <= self.drop_path < 1.0:
            raise ConfigError(f"protocol drop_path={self.drop_path} must be in [0, 1)")
        if self.lr <= 0 or self.lr_min < 0 or self.lr_min > self.lr:
            raise ConfigError(f"protocol needs 0 <= lr_min <= lr and lr > 0 (lr={self.lr})")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"protocol precision={self.precision!r} is not one of "
                              f"{', '.join(PRECISIONS)}")
        if self.grad_clip <= 0 or self.weight_decay < 0 or self.aux_weight < 0:
            raise ConfigError("protocol grad_clip must be > 0, weight_decay and aux_weight >= 0")

    @property
    def split(self) -> SplitSpec:
        """The dataset and how it is split (what `nasbench_tools.data.source` loads)."""
        return SplitSpec(self.dataset, n_valid=self.n_valid, n_test=self.n_test,
                         n_train=self.n_train, split_seed=self.split_seed)

    def lr_at(self, epoch: int) -> float:
        """Cosine schedule from ``lr`` to ``lr_min`` over ``epochs``, indexed by absolute epoch."""
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (
            1.0 + math.cos(math.pi * epoch / self.epochs)
        )

    def drop_prob_at(self, epoch: int) -> float:
        """Drop-path probability ramped linearly: ``drop_path * epoch / epochs`` (eval rule)."""
        return self.drop_path * epoch / self.epochs

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Protocol:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(
                f"unknown protocol fields {sorted(unknown)}; allowed: {sorted(names)}"
            )
        return cls(**dict(d))

    @classmethod
    def canonical(cls, d: Mapping[str, Any]) -> dict[str, Any]:
        """A stored protocol as this version writes it: fields added since it was stored
        (such as ``precision``) at their defaults, so older journals and tables still match
        a build of the same protocol. A dict that is no valid protocol comes back as it is."""
        try:
            return cls.from_dict(d).to_dict()
        except (ConfigError, TypeError):
            return dict(d)


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
