"""The alpha side of one search step: the zero-one loss of FairDARTS and the optimiser that
updates alpha, Adam alone or Adam alternating with DSCD global steps.

>>> import torch
>>> a = [torch.zeros(2, 3)]
>>> abs(float(zero_one_loss(a, [torch.ones(2, 3, dtype=torch.bool)])))  # sigma = 1/2
0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from nasbench_tools.search.dscd import DSCDController, DSCDSettings


def zero_one_loss(alphas: Sequence[Tensor], masks: Sequence[Tensor], form: str = "squared"
                  ) -> Tensor:
    """``-mean((sigma - 1/2)^2)`` (``squared``) or ``-mean(|sigma - 1/2|)`` (``l1``) over the
    alpha entries where ``masks`` is True: 0 at alpha = 0, -1/4 (squared) or -1/2 (l1) when
    every sigmoid is 0 or 1."""
    dev = [torch.sigmoid(a)[m] - 0.5 for a, m in zip(alphas, masks, strict=True)]
    flat = torch.cat(dev)
    return -(flat.abs().mean() if form == "l1" else (flat * flat).mean())


class AlphaStepper:
    """Applies one alpha update per search step: Adam on the given gradient, or, with DSCD
    settings, either that Adam step or a global coordinate step, as DSCD alternates them.

    ``objective()`` evaluates the alpha objective on the step's validation batch at the
    current alpha (no gradient); DSCD calls it for the step's loss and for each proposal, and
    counts those calls as its extra loss evaluations.
    """

    def __init__(self, alphas: Sequence[Tensor], adam: torch.optim.Adam,
                 dscd: DSCDSettings | None, masks: Sequence[Tensor], rng: np.random.Generator
                 ) -> None:
        self.alphas, self.adam = list(alphas), adam
        self.controller = DSCDController(dscd, rng) if dscd is not None else None
        # flat indices (tensor, position) of the coordinates a global step may change
        self.eligible = [(t, int(i)) for t, m in enumerate(masks)
                         for i in torch.nonzero(m.reshape(-1)).reshape(-1).tolist()]

    def step(self, grads: Sequence[Tensor], objective: Callable[[], float],
             progress: float) -> None:
        c = self.controller
        if c is None:
            self._adam(grads)
            return
        loss = objective()
        c.state.loss_evals += 1
        if c.kind == "local":
            self._adam(grads)
            c.record(loss)
            return
        accepted, new_loss = self._global(objective, progress)
        c.record(new_loss if accepted else loss, accepted=accepted)

    def _adam(self, grads: Sequence[Tensor]) -> None:
        for a, g in zip(self.alphas, grads, strict=True):
            a.grad = g
        self.adam.step()

    @torch.no_grad()
    def _global(self, objective: Callable[[], float], progress: float) -> tuple[bool, float]:
        c = self.controller
        assert c is not None
        picks = [self.eligible[int(k)] for k in c.coordinates(len(self.eligible))]
        old = [float(self.alphas[t].reshape(-1)[i]) for t, i in picks]
        for (t, i), value in zip(picks, old, strict=True):
            self.alphas[t].reshape(-1)[i] = c.proposal(value, progress)
        loss = objective()
        c.state.loss_evals += 1
        if c.accepts(loss):
            for t, i in picks:
                self._reset_moments(t, i)
            return True, loss
        for (t, i), value in zip(picks, old, strict=True):
            self.alphas[t].reshape(-1)[i] = value
        return False, math.nan

    def _reset_moments(self, t: int, i: int) -> None:
        state = self.adam.state.get(self.alphas[t])
        if state:
            for key in ("exp_avg", "exp_avg_sq"):
                if key in state:
                    state[key].reshape(-1)[i] = 0.0

    def state_dict(self) -> dict[str, Any] | None:
        """DSCD's memory as plain values (None without DSCD)."""
        return self.controller.state_dict() if self.controller is not None else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.controller is not None and state is not None:
            self.controller.load_state_dict(state)

    def counts(self) -> tuple[int, int, int, int]:
        """Local, global and accepted global steps, extra loss evaluations (all zero without
        DSCD), cumulative over the search."""
        return self.controller.counts() if self.controller is not None else (0, 0, 0, 0)
