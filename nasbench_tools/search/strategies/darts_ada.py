"""DARTS-ADA: on each DARTS-ES signal roll back and multiply the weight decay (docs/methods.md).

Script values: r0 = 3e-4, factor 10, r_max = 3e-2, so at most two rollbacks. The two defects
of the reference code are fixed by construction: the eigenvalue history is truncated to the
rollback epoch (no abandoned epochs), and the weight decay of every step, the unrolled virtual
step included, is read from this strategy at that step.
"""

from __future__ import annotations

import math
from typing import Any

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.search.config import SearchConfig
from nasbench_tools.search.strategies.base import CONTINUE, Action, Decision
from nasbench_tools.search.strategies.darts_es import DartsES


class DartsADA(DartsES):
    name = "darts-ada"
    needs_snapshots = True

    def __init__(self, config: SearchConfig, *, mul_factor: float = 10.0,
                 max_weight_decay: float = 3e-2, **es: Any) -> None:
        super().__init__(config, **es)
        if mul_factor <= 1.0 or max_weight_decay < config.weight_decay:
            raise ConfigError("darts-ada needs mul_factor > 1 and max_weight_decay >= the "
                              f"initial weight decay {config.weight_decay}")
        self.mul_factor, self.max_weight_decay = mul_factor, max_weight_decay
        self.current = config.weight_decay
        self.history = [config.weight_decay]  # r of each iteration

    def params(self) -> dict[str, Any]:
        return {**super().params(), "mul_factor": self.mul_factor,
                "max_weight_decay": self.max_weight_decay}

    @property
    def final(self) -> bool:
        """The reference's test ``round(log r_max / log r, 1) == 1``."""
        return round(math.log(self.max_weight_decay) / math.log(self.current), 1) == 1

    def weight_decay(self, epoch: int) -> float:
        return self.current

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "current": self.current, "history": list(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.current = float(state["current"])
        self.history = [float(r) for r in state["history"]]

    def on_epoch_end(self, epoch: int, lambda_max: float) -> Decision:
        fired = self.monitor.add(epoch, lambda_max)
        if fired is None:
            return CONTINUE
        if self.final:
            return Decision(Action.CONTINUE, -1,
                            fired.event() + "; ignored (final weight decay)")
        old, self.current = self.current, self.current * self.mul_factor
        self.history.append(self.current)
        return Decision(Action.ROLLBACK, fired.return_epoch,
                        f"{fired.event()}; rollback to {fired.return_epoch}, "
                        f"weight_decay {old:g} -> {self.current:g}")
