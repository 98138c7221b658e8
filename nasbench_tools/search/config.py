"""Search settings as one frozen value, with presets per dataset (docs/methods.md).

The reference search (CIFAR-10, 25k/25k halves, batch 64, 50 epochs) makes ~390 architecture
updates per epoch, ~19,500 in all. A small dataset at the same batch size makes a handful per
epoch, too few for alpha to move. So an epoch is one pass over half A but at least
``min_steps_per_epoch`` steps (80: 4,000 updates in 50 epochs, a fifth of the reference, which
digits runs in a few CPU minutes); ``steps_per_epoch`` fixes the count outright. The halves are
streamed with reshuffling (sampling with replacement across passes). Every trace records the
update count per epoch.

>>> cfg = get_search_config("digits")
>>> cfg.epochs, cfg.batch_size, cfg.steps(n_a=498), cfg.steps(n_a=25_000), cfg.order
(50, 64, 80, 390, 1)
>>> get_search_config("digits", {"order": "2"}).order
2
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasbench_tools.config import apply_overrides
from nasbench_tools.exceptions import ConfigError, UnknownNameError

#: Layouts of the supernet's weights and images: ``channels_last`` computes the same network
#: (only float rounding differs) with faster CPU convolutions (benchmarks/README.md).
MEMORY_FORMATS = ("contiguous", "channels_last")


@dataclass(frozen=True)
class SearchConfig:
    """Every setting of one search; the network shape (layers, channels) comes from the table
    unless set here. ``weight_decay`` and ``drop_path`` are the strategy's starting values."""

    dataset: str
    epochs: int = 50
    batch_size: int = 64
    steps_per_epoch: int | None = None  # None: one pass over half A, >= min_steps_per_epoch
    min_steps_per_epoch: int = 80
    train_portion: float = 0.5
    order: int = 1
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_beta1: float = 0.5
    arch_beta2: float = 0.999
    arch_weight_decay: float = 1e-3
    init_scale: float = 1e-3
    layers: int | None = None
    channels: int | None = None
    cutout: int = 16  # cutout length when a strategy turns cutout on (R-DARTS(DP))
    hessian_every: int = 1  # 0: never (the last epoch still gets one unless this is 0)
    hessian_batches: int = 1
    hessian_method: str = "exact"
    hessian_bn: str = "train"  # "train": batch statistics (reference); "eval": running ones
    bn_recalibration: int = 20  # split-A batches to re-estimate BN before the discrete eval
    eval_batch_size: int = 256
    eval_subset: int | None = None  # half-B images for the one-shot/discrete errors (None: all)
    memory_format: str = "contiguous"  # or "channels_last" (same function, faster convs on CPU)
    threads: int = 1

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size", "threads", "hessian_batches"):
            if getattr(self, name) < 1:
                raise ConfigError(f"search {name}={getattr(self, name)} must be >= 1")
        if self.order not in (1, 2):
            raise ConfigError(f"search order={self.order} is not allowed; use 1 or 2")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ConfigError(f"search steps_per_epoch={self.steps_per_epoch} must be >= 1")
        if self.min_steps_per_epoch < 1:
            raise ConfigError(f"search min_steps_per_epoch={self.min_steps_per_epoch} must be >= 1")
        if not 0.0 < self.train_portion < 1.0:
            raise ConfigError(f"search train_portion={self.train_portion} must be in (0, 1)")
        if self.hessian_every < 0 or self.bn_recalibration < 0 or self.cutout < 0:
            raise ConfigError("search hessian_every, bn_recalibration and cutout must be >= 0")
        if self.hessian_method not in ("exact", "lanczos"):
            raise ConfigError(f"search hessian_method={self.hessian_method!r} is not allowed; "
                              "use 'exact' or 'lanczos'")
        if self.eval_subset is not None and self.eval_subset < 1:
            raise ConfigError(f"search eval_subset={self.eval_subset} must be >= 1 (or None: "
                              "all of half B)")
        if self.memory_format not in MEMORY_FORMATS:
            raise ConfigError(f"search memory_format={self.memory_format!r} is not allowed; "
                              f"use one of {', '.join(map(repr, MEMORY_FORMATS))}")
        if self.hessian_bn not in ("train", "eval"):
            raise ConfigError(f"search hessian_bn={self.hessian_bn!r} is not allowed; "
                              "use 'train' or 'eval'")
        if self.lr <= 0 or not 0 <= self.lr_min <= self.lr or self.arch_lr <= 0:
            raise ConfigError("search needs lr > 0, 0 <= lr_min <= lr and arch_lr > 0")

    def lr_at(self, epoch: int) -> float:
        """Cosine from ``lr`` to ``lr_min`` over ``epochs``, indexed by the absolute epoch."""
        return self.lr_min + 0.5 * (self.lr - self.lr_min) * (
            1.0 + math.cos(math.pi * epoch / self.epochs))

    def steps(self, n_a: int) -> int:
        """Alpha (and weight) steps per epoch for a half A of ``n_a`` images."""
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return max(self.min_steps_per_epoch, n_a // min(self.batch_size, n_a))

    def ramp(self, epoch: int) -> float:
        """``epoch / (epochs - 1)``: the search's drop-path and cutout ramp (R-DARTS(DP))."""
        return epoch / (self.epochs - 1) if self.epochs > 1 else 1.0

    def hessian_due(self, epoch: int) -> bool:
        """Every ``hessian_every`` epochs from epoch 0, and at the last epoch."""
        if self.hessian_every == 0:
            return False
        return epoch % self.hessian_every == 0 or epoch == self.epochs - 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_PRESETS: dict[str, SearchConfig] = {
    c.dataset: c
    for c in (
        # digits: halves of ~500 images give 7 batches a pass, so the 80-step minimum applies
        SearchConfig(dataset="digits", cutout=3, bn_recalibration=8),
        SearchConfig(dataset="fashion-mnist", cutout=8),
        # RGB tables: channels-last convolutions take about half the time on a CPU, and
        # evaluation batches of 128 stay in cache (benchmarks/README.md)
        *(SearchConfig(dataset=name, memory_format="channels_last", eval_batch_size=128)
          for name in ("cifar10", "cifar10-jpeg", "cifar100", "svhn")),
    )
}


def list_search_presets() -> list[str]:
    return sorted(_PRESETS)


def get_search_config(dataset: str, overrides: Mapping[str, Any] | None = None) -> SearchConfig:
    """The search preset of ``dataset`` with typed ``overrides`` (TOML values or strings)."""
    try:
        base = _PRESETS[dataset]
    except KeyError:
        raise UnknownNameError("search preset for dataset", dataset, _PRESETS) from None
    if overrides and "dataset" in overrides and overrides["dataset"] != dataset:
        raise ConfigError("the dataset of a search is the table's; it cannot be overridden")
    return apply_overrides(base, overrides) if overrides else base
