"""`RunResult`: what one training run returns (numpy only, so it pickles cheaply to a parent)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from nasbench_tools.table.schema import STORED_METRICS, Metric, Status


@dataclass(frozen=True)
class RunResult:
    """Per-epoch curves of one (arch, seed) run.

    ``metrics`` maps every stored `Metric` to a float32 array ``[epoch]``; epochs after a failure
    are NaN. ``status`` is `Status.DONE` or `Status.FAILED` (then ``reason`` says why).
    """

    arch: int
    seed: int
    status: Status
    metrics: Mapping[Metric, np.ndarray]
    n_params: int
    flops: int
    reason: str = ""
    device: str = "cpu"
    extra: Mapping[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int]:
        return (self.arch, self.seed)

    @property
    def epochs(self) -> int:
        return len(self.metrics[Metric.TRAIN_LOSS])

    def same_numbers(self, other: RunResult) -> bool:
        """Bit-identical deterministic metrics (wall-clock times ignored)."""
        return self.key == other.key and all(
            np.array_equal(self.metrics[m], other.metrics[m], equal_nan=True)
            for m in STORED_METRICS
            if m.deterministic
        )
