"""The epoch loop shared by every strategy, free of torch (a test drives it with a mock).

``run_loop`` asks the strategy for each epoch's settings, has the runner train the epoch and
analyse it, and applies the strategy's decision: go on, stop early and return an earlier
epoch, or restore the state saved at the end of an earlier epoch and train on from there (the
cosine schedule is indexed by the absolute epoch, so it continues unchanged).

The trace keeps every epoch that was trained, abandoned ones too, with the iteration number
(1 + rollbacks so far); the result is the latest record of the returned epoch.

A search can stop between epochs and go on later: ``after_epoch`` gets the `LoopState` once
every epoch's decision is applied (the engine saves it with the runner's and the strategy's
state), ``state`` starts the loop from such a saved state, and ``should_stop`` is asked before
each epoch (a time limit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from nasbench_tools.search.strategies.base import Action, EpochSettings, Strategy
from nasbench_tools.search.trace import EpochRecord


class EpochRunner(Protocol):
    """What the loop needs from a trainer (`nasbench_tools.search.engine.SupernetRunner`)."""

    def train_epoch(self, epoch: int, settings: EpochSettings) -> None: ...

    def analyse(self, epoch: int, settings: EpochSettings, *, hessian: bool) -> EpochRecord: ...

    def snapshot(self, epoch: int) -> None: ...

    def restore(self, epoch: int) -> None: ...


@dataclass
class LoopState:
    """Where a search stands between epochs: every record so far, the next epoch to train,
    the iteration, and the returned epoch once the search has finished (None before)."""

    records: list[EpochRecord] = field(default_factory=list)
    epoch: int = 0
    iteration: int = 1
    result_epoch: int | None = None


def run_loop(strategy: Strategy, runner: EpochRunner, epochs: int, *,
             callback: Callable[[EpochRecord], None] | None = None,
             state: LoopState | None = None,
             after_epoch: Callable[[LoopState], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             ) -> tuple[list[EpochRecord], int | None]:
    """Run (or go on with) the search; returns every record in training order and the result
    epoch, or None as the result when ``should_stop`` ended it before it finished."""
    s = state if state is not None else LoopState()
    while s.result_epoch is None:
        if s.epoch >= epochs:
            s.result_epoch = epochs - 1
            break
        if should_stop is not None and should_stop():
            return s.records, None
        _one_epoch(strategy, runner, s, callback)
        if after_epoch is not None:
            after_epoch(s)
    return s.records, s.result_epoch


def _one_epoch(strategy: Strategy, runner: EpochRunner, s: LoopState,
               callback: Callable[[EpochRecord], None] | None) -> None:
    settings = strategy.settings(s.epoch)
    runner.train_epoch(s.epoch, settings)
    record = runner.analyse(s.epoch, settings, hessian=strategy.needs_hessian(s.epoch))
    decision = strategy.on_epoch_end(s.epoch, record.lambda_max)
    record = dataclasses.replace(record, iteration=s.iteration, events=decision.event)
    s.records.append(record)
    if callback is not None:
        callback(record)
    if strategy.needs_snapshots:
        runner.snapshot(s.epoch)
    if decision.action is Action.STOP:
        s.result_epoch = decision.epoch
    elif decision.action is Action.ROLLBACK:
        runner.restore(decision.epoch)
        strategy.on_rollback(decision.epoch)
        s.epoch, s.iteration = decision.epoch + 1, s.iteration + 1
    else:
        s.epoch += 1
