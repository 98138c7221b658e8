"""DARTS-ES: stop when the smoothed dominant Hessian eigenvalue grows too fast (docs/methods.md).

Pure Python/numpy, so logged eigenvalue sequences can be replayed offline without torch.
Defaults are the reference implementation's constants: evaluations every 2 epochs, local
averages over 5 evaluations, a lag of 4 evaluations, factor 1.3, earliest returned epoch 10.

>>> epochs = list(range(0, 50, 2))
>>> early_stop(epochs, [1.035 ** e for e in epochs], last_epoch=49).return_epoch
10
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nasbench_tools.exceptions import ConfigError


@dataclass(frozen=True)
class EarlyStop:
    """The rule fired when the eigenvalue of ``stop_epoch`` arrived; the search returns the
    architecture (and state) of ``return_epoch``; ``ratio`` is the local-average ratio."""

    stop_epoch: int
    return_epoch: int
    ratio: float

    def event(self) -> str:
        """The event a trace records where the rule fired (``es-fired at ...``)."""
        return (f"es-fired at {self.stop_epoch} (ratio {self.ratio:.3f}); "
                f"returns epoch {self.return_epoch}")


def local_averages(values: Sequence[float], window: int = 5) -> np.ndarray:
    """Centred moving average over ``window`` evaluations, truncated at the start.

    Entry j averages evaluations ``j - h .. j + h`` (h = window // 2) that exist; entries whose
    window is not complete at the end are NaN (they are not known yet during a search).
    """
    lam = np.asarray(values, dtype=np.float64)
    h = window // 2
    out = np.full(len(lam), np.nan)
    for j in range(len(lam) - h):
        out[j] = lam[max(0, j - h): j + h + 1].mean()
    return out


def early_stop(
    epochs: Sequence[int], eigenvalues: Sequence[float], *, window: int = 5, lag: int = 4,
    factor: float = 1.3, start_epoch: int = 10, last_epoch: int | None = None,
) -> EarlyStop | None:
    """Replay the DARTS-ES decision on evaluations ``(epochs[i], eigenvalues[i])``.

    The evaluations must lie on a regular epoch grid. When evaluation n arrives, the newest
    complete local average is at c = n - window // 2; the rule fires at the first n with
    ``epoch[c - lag] >= start_epoch`` and ``avg[c] / avg[c - lag] > factor``, returning
    ``epoch[c - lag]``. Evaluations at ``last_epoch`` or later never fire (the search ends
    there anyway). Returns None when the rule never fires.

    Without ``last_epoch``, a final evaluation that comes sooner than the regular step (a
    search evaluates its last epoch too: 0, 2, ..., 48 and 49) is taken as the search's last
    epoch, so it never fires. Any other irregular spacing raises `ConfigError`.

    >>> lam = [1.0, 1.0, 1.0, 1.0, 5.0]  # the jump comes at the last epoch, 19: too late
    >>> print(early_stop([0, 5, 10, 15, 19], lam, window=1, lag=1, start_epoch=0))
    None
    """
    ep = [int(e) for e in epochs]
    if len(ep) != len(eigenvalues):
        raise ConfigError(f"{len(ep)} epochs but {len(eigenvalues)} eigenvalues")
    if window < 1 or lag < 1 or factor <= 0:
        raise ConfigError(f"early_stop needs window >= 1, lag >= 1 and factor > 0, got "
                          f"window={window}, lag={lag}, factor={factor}")
    if last_epoch is None:
        last_epoch = _short_final_step(ep)
    if last_epoch is not None:
        keep = [i for i, e in enumerate(ep) if e < last_epoch]
        ep, eigenvalues = [ep[i] for i in keep], [eigenvalues[i] for i in keep]
    steps = set(np.diff(ep).tolist())
    if len(steps) > 1:
        raise ConfigError(f"evaluation epochs must be evenly spaced, got steps {sorted(steps)}")
    h = window // 2
    for n in range(len(ep)):
        c = n - h
        if c - lag < 0 or ep[c - lag] < start_epoch:
            continue
        avg = local_averages(eigenvalues[: n + 1], window)
        ratio = float(avg[c] / avg[c - lag])
        if ratio > factor:
            return EarlyStop(stop_epoch=ep[n], return_epoch=ep[c - lag], ratio=ratio)
    return None


def _short_final_step(epochs: Sequence[int]) -> int | None:
    """The last epoch when the steps are regular except a shorter final one, else None."""
    steps = np.diff(epochs).tolist()
    if len(steps) >= 2 and len(set(steps[:-1])) == 1 and 0 < steps[-1] < steps[0]:
        return int(epochs[-1])
    return None
