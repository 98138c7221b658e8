"""DARTS-ES: stop when the smoothed dominant eigenvalue grows too fast (docs/methods.md).

The monitor feeds the eigenvalues of its evaluation epochs (every ``every`` epochs, the
reference's 2 by default, whatever the engine's ``hessian_every``) to the pure rule
`nasbench_tools.search.early_stop`; when it fires the search stops and returns the
architecture of the epoch the rule names.
"""

from __future__ import annotations

import math
from typing import Any

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.search.config import SearchConfig
from nasbench_tools.search.early_stop import EarlyStop, early_stop
from nasbench_tools.search.strategies.base import CONTINUE, Action, Decision, Strategy


class EigenvalueMonitor:
    """The eigenvalue history of one search and the ES rule on it (resettable on rollback)."""

    def __init__(self, *, every: int, window: int, lag: int, factor: float, start_epoch: int,
                 last_epoch: int) -> None:
        if every < 1:
            raise ConfigError(f"early-stopping every={every} must be >= 1")
        self.every, self.last_epoch = every, last_epoch
        self.rule: dict[str, Any] = dict(window=window, lag=lag, factor=factor,
                                         start_epoch=start_epoch)
        self.epochs: list[int] = []
        self.values: list[float] = []

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def add(self, epoch: int, value: float) -> EarlyStop | None:
        """Record the eigenvalue of ``epoch``; the firing rule if it fires now, else None."""
        if not self.due(epoch) or epoch >= self.last_epoch:
            return None
        if not math.isfinite(value):
            raise ConfigError(f"early stopping needs an eigenvalue at epoch {epoch}")
        self.epochs.append(epoch)
        self.values.append(value)
        fired = early_stop(self.epochs, self.values, last_epoch=self.last_epoch, **self.rule)
        return fired if fired is not None and fired.stop_epoch == epoch else None

    def truncate(self, epoch: int) -> None:
        """Forget every evaluation after ``epoch`` (a rollback: no abandoned epoch stays)."""
        keep = [i for i, e in enumerate(self.epochs) if e <= epoch]
        self.epochs = [self.epochs[i] for i in keep]
        self.values = [self.values[i] for i in keep]


class DartsES(Strategy):
    name = "darts-es"

    def __init__(self, config: SearchConfig, *, every: int = 2, window: int = 5, lag: int = 4,
                 factor: float = 1.3, start_epoch: int = 10) -> None:
        super().__init__(config)
        self.monitor = EigenvalueMonitor(every=every, window=window, lag=lag, factor=factor,
                                         start_epoch=start_epoch, last_epoch=config.epochs - 1)

    def params(self) -> dict[str, Any]:
        return {"every": self.monitor.every, **self.monitor.rule}

    def needs_hessian(self, epoch: int) -> bool:
        return super().needs_hessian(epoch) or self.monitor.due(epoch)

    def on_epoch_end(self, epoch: int, lambda_max: float) -> Decision:
        fired = self.monitor.add(epoch, lambda_max)
        if fired is None:
            return CONTINUE
        return Decision(Action.STOP, fired.return_epoch, fired.event())

    def on_rollback(self, epoch: int) -> None:
        self.monitor.truncate(epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": list(self.monitor.epochs), "values": list(self.monitor.values)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.monitor.epochs = [int(e) for e in state["epochs"]]
        self.monitor.values = [float(v) for v in state["values"]]
