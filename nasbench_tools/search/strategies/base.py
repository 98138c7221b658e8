"""The strategy surface: per-epoch settings and an end-of-epoch decision.

A strategy never touches tensors. The engine asks it for the settings of each epoch
(`EpochSettings`) and, after the epoch's analysis, for a `Decision`: go on, stop and return an
earlier epoch's architecture (DARTS-ES), or roll the search back to an earlier epoch's saved
state (DARTS-ADA). Every hook has a do-nothing default, so plain DARTS is almost empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from nasbench_tools.search.config import SearchConfig
from nasbench_tools.search.dscd import DSCDSettings


@dataclass(frozen=True)
class EpochSettings:
    """What one epoch trains with: weight lr and decay, drop-path probability, cutout."""

    lr: float
    weight_decay: float
    drop_path: float = 0.0
    cutout_prob: float = 0.0


class Action(StrEnum):
    """What the loop does after an epoch."""

    CONTINUE = "continue"
    STOP = "stop"  # return the architecture of the decision's epoch
    ROLLBACK = "rollback"  # restore the state saved at the end of that epoch, go on from there


@dataclass(frozen=True)
class Decision:
    """An `Action`, the epoch it refers to, and ``event``: the text logged in the trace."""

    action: Action = Action.CONTINUE
    epoch: int = -1
    event: str = ""


CONTINUE = Decision()


class Strategy:
    """Base class: DARTS with the config's constant weight decay and no drop-path or cutout."""

    name: ClassVar[str] = ""
    relaxation: ClassVar[str] = "softmax"
    needs_snapshots: ClassVar[bool] = False
    #: parameter name and the values a ``grid`` run sweeps (R-DARTS); empty: seeds only
    grid: ClassVar[tuple[str, tuple[float, ...]]] = ("", ())
    #: search settings the method brings (applied over the dataset preset, under overrides)
    config_defaults: ClassVar[dict[str, Any]] = {}
    #: weight of the zero-one loss added to the alpha objective (FairDARTS), and its form
    zero_one_weight: float = 0.0
    zero_one_form: str = "squared"
    #: threshold reading of the sigmoid weights (FairDARTS); None: argmax only
    threshold: float | None = None
    threshold_rule: str = "threshold_sparse"
    #: DSCD settings when DSCD replaces the alpha optimiser; None: Adam alone
    dscd: DSCDSettings | None = None

    def __init__(self, config: SearchConfig) -> None:
        self.config = config

    def params(self) -> dict[str, Any]:
        """The strategy's own hyper-parameters (stored in the trace)."""
        return {}

    def weight_decay(self, epoch: int) -> float:
        return self.config.weight_decay

    def settings(self, epoch: int) -> EpochSettings:
        return EpochSettings(lr=self.config.lr_at(epoch), weight_decay=self.weight_decay(epoch))

    def needs_hessian(self, epoch: int) -> bool:
        """Whether the dominant eigenvalue must be computed at the end of ``epoch``."""
        return self.config.hessian_due(epoch)

    def on_epoch_end(self, epoch: int, lambda_max: float) -> Decision:
        """Called after each epoch with its dominant eigenvalue (NaN when not computed)."""
        return CONTINUE

    def on_rollback(self, epoch: int) -> None:
        """The engine restored the state saved at the end of ``epoch``."""

    def state_dict(self) -> dict[str, Any]:
        """What the strategy learnt during the search, as plain values (for checkpoints)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take up a search from `state_dict`'s values."""
