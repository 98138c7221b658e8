"""The epoch loop shared by every strategy, free of torch (a test drives it with a mock).

``run_loop`` asks the strategy for each epoch's settings, has the runner train the epoch and
analyse it, and applies the strategy's decision: go on, stop early and return an earlier
epoch, or restore the state saved at the end of an earlier epoch and train on from there (the
cosine schedule is indexed by the absolute epoch, so it continues unchanged).

The trace keeps every epoch that was trained, abandoned ones too, with the iteration number
(1 + rollbacks so far); the result is the latest record of the returned epoch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from nasbench_tools.search.strategies.base import EpochSettings, Strategy
from nasbench_tools.search.trace import EpochRecord


class EpochRunner(Protocol):
    """What the loop needs from a trainer (`nasbench_tools.search.engine.SupernetRunner`)."""

    def train_epoch(self, epoch: int, settings: EpochSettings) -> None: ...

    def analyse(self, epoch: int, settings: EpochSettings, *, hessian: bool) -> EpochRecord: ...

    def snapshot(self, epoch: int) -> None: ...

    def restore(self, epoch: int) -> None: ...


def run_loop(strategy: Strategy, runner: EpochRunner, epochs: int, *,
             callback: Callable[[EpochRecord], None] | None = None
             ) -> tuple[list[EpochRecord], int]:
    """Run the search; returns every record in training order and the result epoch."""
    records: list[EpochRecord] = []
    epoch, iteration = 0, 1
    while epoch < epochs:
        settings = strategy.settings(epoch)
        runner.train_epoch(epoch, settings)
        record = runner.analyse(epoch, settings, hessian=strategy.needs_hessian(epoch))
        decision = strategy.on_epoch_end(epoch, record.lambda_max)
        record = dataclasses.replace(record, iteration=iteration, events=decision.event)
        records.append(record)
        if callback is not None:
            callback(record)
        if strategy.needs_snapshots:
            runner.snapshot(epoch)
        if decision.action == "stop":
            return records, decision.epoch
        if decision.action == "rollback":
            runner.restore(decision.epoch)
            strategy.on_rollback(decision.epoch)
            epoch, iteration = decision.epoch + 1, iteration + 1
            continue
        epoch += 1
    return records, epochs - 1
