"""Pictures of a search trace: draw only (compute, then draw; saving is the caller's).

    fig, axes = plt.subplots(3, 1, sharex=True)
    plot_trace(trace, axes=axes)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from nasbench_tools.search.trace import SearchTrace

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_trace(trace: SearchTrace, *, axes: Sequence[Axes] | None = None) -> Sequence[Axes]:
    """Three panels over the epochs: test/valid regret; lambda_max (with its interval when
    there is one); one-shot and discretised error. Rolled-back epochs are drawn faded; the
    returned epoch is marked."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(3, 1, sharex=True, figsize=(7, 7))
    final = trace.records[-1].iteration
    for it in sorted({r.iteration for r in trace.records}):
        rows = [r for r in trace.records if r.iteration == it]
        alpha = 1.0 if it == final else 0.35
        ep = np.array([r.epoch for r in rows])
        axes[0].plot(ep, [r.test_regret for r in rows], color="C0", alpha=alpha,
                     label="test regret" if it == final else None)
        axes[0].plot(ep, [r.valid_regret for r in rows], color="C1", alpha=alpha, ls="--",
                     label="valid regret" if it == final else None)
        lam = np.array([r.lambda_max for r in rows])
        ok = np.isfinite(lam)
        axes[1].plot(ep[ok], lam[ok], "o-", ms=3, color="C3", alpha=alpha)
        lo = np.array([r.lambda_ci_low for r in rows])
        hi = np.array([r.lambda_ci_high for r in rows])
        if np.isfinite(lo).any():
            axes[1].fill_between(ep, lo, hi, color="C3", alpha=0.15 * alpha)
        axes[2].plot(ep, [r.oneshot_err for r in rows], color="C2", alpha=alpha,
                     label="one-shot" if it == final else None)
        axes[2].plot(ep, [r.discrete_err for r in rows], color="C4", alpha=alpha,
                     label="discretised" if it == final else None)
    result = trace.result
    for ax in axes:
        ax.axvline(result.epoch, color="grey", lw=0.8, ls=":")
    axes[0].set_ylabel("regret (points)")
    axes[1].set_ylabel("lambda_max")
    axes[2].set_ylabel("error on split B (%)")
    axes[2].set_xlabel("epoch")
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    axes[0].set_title(f"{trace.method}, seed {trace.seed}: returns epoch {result.epoch}, "
                      f"arch {result.arch}, regret {result.test_regret:.2f}", fontsize=9)
    return axes
