"""R-DARTS: stronger L2 on the weights, or ramped drop-path with cutout (docs/methods.md).

Both run without early stopping; a ``grid`` run sweeps the values below with several seeds and
keeps the architecture with the lowest table *validation* error.
"""

from __future__ import annotations

from typing import Any

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.search.config import SearchConfig
from nasbench_tools.search.strategies.base import EpochSettings, Strategy


class RDartsL2(Strategy):
    name = "rdarts-l2"
    grid = ("weight_decay", tuple(3e-4 * 3**k for k in range(5)))

    def __init__(self, config: SearchConfig, *, weight_decay: float = 3e-4) -> None:
        super().__init__(config)
        if weight_decay < 0:
            raise ConfigError(f"rdarts-l2 weight_decay={weight_decay} must be >= 0")
        self.value = weight_decay

    def params(self) -> dict[str, Any]:
        return {"weight_decay": self.value}

    def weight_decay(self, epoch: int) -> float:
        return self.value


class RDartsDP(Strategy):
    name = "rdarts-dp"
    grid = ("drop_path", (0.0, 0.2, 0.4, 0.6))

    def __init__(self, config: SearchConfig, *, drop_path: float = 0.2) -> None:
        super().__init__(config)
        if not 0.0 <= drop_path < 1.0:
            raise ConfigError(f"rdarts-dp drop_path={drop_path} must be in [0, 1)")
        self.value = drop_path

    def params(self) -> dict[str, Any]:
        return {"drop_path": self.value, "cutout": self.config.cutout}

    def settings(self, epoch: int) -> EpochSettings:
        ramp = self.config.ramp(epoch)
        return EpochSettings(lr=self.config.lr_at(epoch), weight_decay=self.config.weight_decay,
                             drop_path=self.value * ramp,
                             cutout_prob=ramp if self.value > 0 else 0.0)
