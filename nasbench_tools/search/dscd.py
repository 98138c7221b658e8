"""DSCD: doubly stochastic coordinate descent with Beta annealing, the global half of
"Making DARTS less local" (the optimiser half; no torch here, so it serves the search engine and
the synthetic benchmark alike).

The optimiser alternates two kinds of step on a parameter vector:

- a **local** step is the usual gradient step (Adam in a search);
- a **global** step draws one coordinate uniformly at random and proposes a new value for it
  from a Beta distribution on the bounded domain ``[-a, a]``; the proposal is kept only if the
  objective, on the same data, beats the best loss of the last ``window`` steps (a window, not
  the all-time best, so one lucky mini-batch does not block every later proposal).

The proposal anneals from global to local: with the current value at unit position ``u`` of
the domain and a concentration ``c`` going from 0 to 1 on a cosine schedule over the planned
search, the Beta's mean is ``(1 - c)/2 + c u`` and its standard deviation ``(1 - c)/sqrt(12)``,
linear interpolations between the uniform distribution (c = 0) and a point mass at ``u``
(c = 1); ``p = m k`` and ``q = (1 - m) k`` with ``k = m (1 - m) / s^2 - 1``.

Steps of one kind follow each other until ``switch_after`` of them have been taken in a row and
the loss did not improve from one step to the next; then the other kind takes over.

The paper states the scheme but not these constants; the defaults (window 100, switch after
10, domain 5, one coordinate per global step, concentration indexed by the fractional epoch and
capped at 1 - 1e-6) are ours, every one a parameter recorded in the trace.

>>> [round(v, 12) for v in beta_parameters(0.3, 0.0)]   # c = 0: uniform, wherever u is
[1.0, 1.0]
>>> p, q = beta_parameters(0.3, 0.5); round(p / (p + q), 3)   # mean (1 - c)/2 + c u
0.4
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_tools.exceptions import ConfigError

#: Largest concentration used: the Beta stays proper (its std never reaches 0).
MAX_CONCENTRATION = 1.0 - 1e-6


@dataclass(frozen=True)
class DSCDSettings:
    """The constants of DSCD (all recorded in a search trace)."""

    window: int = 100  # K: steps whose best loss a global proposal must beat
    switch_after: int = 10  # N: steps of one kind before a switch is considered
    domain: float = 5.0  # a: proposals on [-a, a] (sigmoid(5) = 0.993)
    coordinates: int = 1  # coordinates changed by one global step
    start: str = "local"  # the kind of the first step

    def __post_init__(self) -> None:
        if self.window < 1 or self.switch_after < 1 or self.coordinates < 1:
            raise ConfigError(f"dscd needs window, switch_after and coordinates >= 1, got "
                              f"{self.window}, {self.switch_after}, {self.coordinates}")
        if not self.domain > 0:
            raise ConfigError(f"dscd domain={self.domain} must be > 0")
        if self.start not in ("local", "global"):
            raise ConfigError(f"dscd start={self.start!r} is not allowed; use 'local' or "
                              "'global'")


def concentration(progress: float) -> float:
    """Cosine schedule from 0 (``progress`` 0) to 1 (``progress`` >= 1), capped just below 1."""
    t = min(max(progress, 0.0), 1.0)
    return min(0.5 * (1.0 - math.cos(math.pi * t)), MAX_CONCENTRATION)


def beta_parameters(u: float, c: float) -> tuple[float, float]:
    """``(p, q)`` of the Beta proposal for unit position ``u`` and concentration ``c``."""
    if not 0.0 <= c <= MAX_CONCENTRATION:
        raise ConfigError(f"concentration {c} must be in [0, {MAX_CONCENTRATION}]")
    u = min(max(u, 0.0), 1.0)
    mean = (1.0 - c) * 0.5 + c * u
    std = (1.0 - c) / math.sqrt(12.0)
    kappa = mean * (1.0 - mean) / (std * std) - 1.0
    return mean * kappa, (1.0 - mean) * kappa


def propose(value: float, c: float, domain: float, rng: np.random.Generator) -> float:
    """A new value on ``[-domain, domain]`` for a coordinate at ``value`` (values outside the
    domain are proposed around its nearer end)."""
    u = (min(max(value, -domain), domain) + domain) / (2.0 * domain)
    p, q = beta_parameters(u, c)
    return float(-domain + 2.0 * domain * rng.beta(p, q))


@dataclass
class DSCDState:
    """What the alternation and the acceptance rule remember between steps."""

    kind: str = "local"
    run_length: int = 0  # steps of the current kind taken in a row
    last_loss: float = math.inf
    window: deque[float] = field(default_factory=deque)
    local_steps: int = 0
    global_steps: int = 0
    accepted: int = 0
    loss_evals: int = 0  # objective evaluations DSCD added to the gradient steps


class DSCDController:
    """The decisions of DSCD, independent of what the parameters are.

    Per step: ask `kind`; for a global step draw `coordinates` and `proposal` values and
    `accepts` the new loss or not; then `record` the step's loss, which may switch the kind.
    """

    def __init__(self, settings: DSCDSettings, rng: np.random.Generator) -> None:
        self.settings, self.rng = settings, rng
        self.state = DSCDState(kind=settings.start, window=deque(maxlen=settings.window))

    @property
    def kind(self) -> str:
        return self.state.kind

    def coordinates(self, eligible: int) -> np.ndarray:
        """Distinct coordinates (indices into the ``eligible`` ones) for one global step."""
        k = min(self.settings.coordinates, eligible)
        return self.rng.choice(eligible, size=k, replace=False)

    def proposal(self, value: float, progress: float) -> float:
        return propose(value, concentration(progress), self.settings.domain, self.rng)

    def accepts(self, loss: float) -> bool:
        """A proposal's loss must beat the best of the last `window` recorded losses."""
        best = min(self.state.window) if self.state.window else math.inf
        return math.isfinite(loss) and loss < best

    def record(self, loss: float, *, accepted: bool = False) -> None:
        """The loss after this step; counts the step and applies the alternation rule."""
        s = self.state
        if s.kind == "local":
            s.local_steps += 1
        else:
            s.global_steps += 1
            s.accepted += int(accepted)
        s.run_length += 1
        improved = loss < s.last_loss
        s.window.append(loss)
        s.last_loss = loss
        if s.run_length >= self.settings.switch_after and not improved:
            s.kind = "global" if s.kind == "local" else "local"
            s.run_length = 0

    def counts(self) -> tuple[int, int, int, int]:
        """Local steps, global steps, accepted global steps, extra loss evaluations."""
        s = self.state
        return s.local_steps, s.global_steps, s.accepted, s.loss_evals

    def state_dict(self) -> dict[str, Any]:
        """The memory of DSCD as plain values (the generator's state as JSON text)."""
        s = self.state
        return {"kind": s.kind, "run_length": s.run_length, "last_loss": s.last_loss,
                "window": list(s.window), "local_steps": s.local_steps,
                "global_steps": s.global_steps, "accepted": s.accepted,
                "loss_evals": s.loss_evals, "rng": json.dumps(self.rng.bit_generator.state)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.state = DSCDState(
            kind=str(state["kind"]), run_length=int(state["run_length"]),
            last_loss=float(state["last_loss"]),
            window=deque(state["window"], maxlen=self.settings.window),
            local_steps=int(state["local_steps"]), global_steps=int(state["global_steps"]),
            accepted=int(state["accepted"]), loss_evals=int(state["loss_evals"]))
        self.rng.bit_generator.state = json.loads(state["rng"])
