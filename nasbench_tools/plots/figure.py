"""Figures: make Axes, save a figure as PNG and PDF, close it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure


def new_axes(ax: Axes | None = None, *, figsize: tuple[float, float] = (6.0, 3.8)) -> Axes:
    """``ax`` itself, or the Axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").add_subplot()


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (6.0, 3.8),
               **kwargs: Any) -> tuple[Figure, Any]:
    """A new figure (not registered with pyplot, so nothing leaks) and its Axes grid."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def save_figure(fig: Figure | SubFigure | None, stem: str | Path, *,
                formats: tuple[str, ...] = ("png", "pdf"), dpi: int = 130) -> list[Path]:
    """Write ``fig`` (or the figure a sub-figure belongs to; ``ax.figure`` of a plot) as
    ``stem.png`` and ``stem.pdf``; returns the paths written."""
    from matplotlib.figure import Figure

    if fig is not None and not isinstance(fig, Figure):
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise TypeError(f"save_figure needs a matplotlib Figure, got {type(fig).__name__}")
    out = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        # no creation date in a PDF: the same data give the same bytes
        fig.savefig(path, dpi=dpi, metadata={"CreationDate": None} if fmt == "pdf" else None)
        out.append(path)
    return out


def close_figure(fig: Figure) -> None:
    """Free a figure made by pyplot (figures made here are freed with their last reference)."""
    import matplotlib.pyplot as plt

    plt.close(fig)
