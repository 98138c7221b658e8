"""The training protocol as a value: every hyper-parameter of one table build (`Protocol`) and
the dataset split it names (`SplitSpec`); pure Python, so every layer can hold one, the table
layer included (a `Benchmark`'s ``protocol`` is a `Protocol`).

>>> from nasbench_tools.protocol import Protocol
>>> p = Protocol(dataset="digits", preset="mine", epochs=3, layers=3, channels=8, n_valid=300)
>>> p.split
SplitSpec(dataset='digits', n_valid=300, n_test=None, n_train=None, split_seed=0)
>>> Protocol.from_dict(p.to_dict()) == p
True

The named presets (`get_protocol`, `list_presets`) live in `nasbench_tools.train.protocol`;
loading a split's images is `nasbench_tools.data.source`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasbench_tools.exceptions import ConfigError

PRECISIONS = ("fp32", "bf16", "fp64")


@dataclass(frozen=True)
class SplitSpec:
    """A dataset and how it is split (a protocol's data fields)."""

    dataset: str
    n_valid: int
    n_test: int | None
    n_train: int | None = None
    split_seed: int = 0


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
        """The protocol a stored mapping describes (fields added since it was stored at their
        defaults); `ConfigError` names unknown and missing fields."""
        fields = dataclasses.fields(cls)
        names = {f.name for f in fields}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(
                f"unknown protocol fields {sorted(unknown)}; allowed: {sorted(names)}"
            )
        missing = [f.name for f in fields if f.name not in d
                   and f.default is dataclasses.MISSING]
        if missing:
            raise ConfigError(f"protocol lacks the required fields {missing}")
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
