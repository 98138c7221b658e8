"""Vocabulary and layout of table files (schema v1; the full layout is in data/README.md).

Metrics are an Enum, never free strings. Accuracies are stored as fractions in [0, 1]; the
derived ``*_ERR`` metrics are errors in percent (100 * (1 - acc)), the unit of regret.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from nasbench_tools.exceptions import UnknownNameError

SCHEMA_VERSION = 1

#: Axis names of every per-run metric array.
METRIC_DIMS = ("arch", "seed", "epoch")


class Metric(StrEnum):
    """A per-epoch quantity of one training run."""

    TRAIN_LOSS = "train_loss"
    TRAIN_ACC = "train_acc"
    VALID_LOSS = "valid_loss"
    VALID_ACC = "valid_acc"
    TEST_LOSS = "test_loss"
    TEST_ACC = "test_acc"
    EPOCH_TIME = "epoch_time"
    # derived from the accuracies, in percent
    TRAIN_ERR = "train_err"
    VALID_ERR = "valid_err"
    TEST_ERR = "test_err"

    @property
    def stored(self) -> bool:
        """Whether the metric is an array in the file (else derived from one)."""
        return self not in _DERIVED

    @property
    def source(self) -> Metric:
        """The stored metric this one is computed from (itself when stored)."""
        return _DERIVED.get(self, self)

    @property
    def higher_is_better(self) -> bool:
        return self in (Metric.TRAIN_ACC, Metric.VALID_ACC, Metric.TEST_ACC)

    @property
    def deterministic(self) -> bool:
        """False for wall-clock times, which are excluded from the content hash."""
        return self is not Metric.EPOCH_TIME

    @classmethod
    def parse(cls, value: str | Metric) -> Metric:
        if isinstance(value, Metric):
            return value
        try:
            return cls(value)
        except ValueError:
            raise UnknownNameError("metric", value, [m.value for m in cls]) from None


_DERIVED = {
    Metric.TRAIN_ERR: Metric.TRAIN_ACC,
    Metric.VALID_ERR: Metric.VALID_ACC,
    Metric.TEST_ERR: Metric.TEST_ACC,
}

#: Stored metrics, in file order.
STORED_METRICS: tuple[Metric, ...] = tuple(m for m in Metric if m.stored)


class Status(IntEnum):
    """State of one (arch, seed) run in ``/status``."""

    PENDING = 0
    RUNNING = 1
    DONE = 2
    FAILED = 3
