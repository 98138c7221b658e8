"""FairDARTS readings of alpha in a table space (torch-free): the thresholded architecture and
its validity, mean sigmoid weights per cell and the distance from a zero-one solution.

FairDARTS (Chu et al., "Fair DARTS", ECCV 2020) weights every op by its own sigmoid, so ops do
not compete, and keeps an op on an edge only when its weight reaches a threshold (0.85). In a
table space two readings of the same alpha are recorded every epoch:

- *thresholded* (the method's own): ``threshold_sparse`` ranks each node's incoming edges by
  their best weight, keeps the top two, and keeps an edge's best op only if its weight is at
  least the threshold; ``threshold_edge`` applies the threshold to every edge without the
  ranking. A dropped edge becomes ``none`` where the edge offers it (in ``t81-none`` the
  reading is then always a table row); where it does not (``t81``) the architecture is
  *off-table*. A cell with every edge dropped passes no signal: the architecture is *invalid*
  (the failure reported for long FairDARTS searches), whether or not the table has its row;
- *argmax*: the best non-``none`` op of every edge, always a table row (the reading DARTS uses;
  the sigmoid is monotone, so it equals the softmax argmax).

``none`` carries no signal whatever its weight, so its alpha entries are left out of the
zero-one loss, the mean weights and d01 (they never receive a gradient from the data).

>>> from nasbench_tools.spaces import get_space
>>> space = get_space("t81-none")       # ops: none, skip_connect, sep_conv_3x3
>>> sigma = np.array([.5, .9, .2,  .5, .3, .8,  .5, .1, .95,  .5, .88, .4])
>>> r = threshold_reading(space, sigma)
>>> r.status, space.op_names(space.arch(r.arch))
('valid', ('skip_connect', 'none', 'sep_conv_3x3', 'skip_connect'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.spaces import Arch, CellSpace

THRESHOLD_RULES = ("threshold_sparse", "threshold_edge")
#: Validity of a thresholded architecture.
VALID, OFF_TABLE, INVALID = "valid", "off-table", "invalid"


@dataclass(frozen=True)
class ThresholdReading:
    """``arch`` is the table row (-1 when off-table); ``lost`` names the cells whose every
    edge was dropped (``"normal"``, ``"reduce"`` or ``"normal+reduce"``; empty when none);
    ``kept`` says per edge whether an op survived."""

    arch: int
    status: str
    lost: str
    kept: tuple[bool, ...]


def op_mask(space: CellSpace) -> np.ndarray:
    """True for the flat alpha entries (edge-major, op-minor) of ops other than ``none``."""
    return np.array([name != "none" for e in space.edges for name in e.ops], dtype=bool)


def _per_edge(space: CellSpace, flat: np.ndarray) -> list[np.ndarray]:
    sizes = [len(e.ops) for e in space.edges]
    if flat.size != sum(sizes):
        raise ConfigError(f"{flat.size} alpha weights, but space {space.name!r} has "
                          f"{sum(sizes)} (edge x op)")
    return np.split(np.asarray(flat, dtype=np.float64), np.cumsum(sizes)[:-1])


def _best(edge_ops: tuple[str, ...], w: np.ndarray) -> int:
    """The op of largest weight other than ``none`` (ties: the first)."""
    keep = [i for i, n in enumerate(edge_ops) if n != "none"] or list(range(len(edge_ops)))
    return max(keep, key=lambda i: (float(w[i]), -i))


def threshold_reading(space: CellSpace, sigma: np.ndarray, *, threshold: float = 0.85,
                      rule: str = "threshold_sparse") -> ThresholdReading:
    """The thresholded architecture of sigmoid weights ``sigma`` (flat, edge-major)."""
    if rule not in THRESHOLD_RULES:
        raise UnknownNameError("threshold rule", rule, THRESHOLD_RULES)
    weights = _per_edge(space, sigma)
    best = [_best(e.ops, w) for e, w in zip(space.edges, weights, strict=True)]
    strength = [float(w[b]) for w, b in zip(weights, best, strict=True)]
    kept = [s >= threshold for s in strength]
    if rule == "threshold_sparse":
        for cell in space.cells:
            for node in {e.node for e in space.edges if e.cell == cell}:
                into = [k for k, e in enumerate(space.edges) if e.cell == cell and e.node == node]
                for k in sorted(into, key=lambda k: (-strength[k], k))[2:]:
                    kept[k] = False
    lost = [c for c in space.cells if not any(k for k, e in zip(kept, space.edges, strict=True)
                                             if e.cell == c)]
    ops, on_table = [], True
    for e, b, keep in zip(space.edges, best, kept, strict=True):
        if keep:
            ops.append(b)
        elif "none" in e.ops:
            ops.append(e.ops.index("none"))
        else:
            on_table = False
    status = INVALID if lost else (VALID if on_table else OFF_TABLE)
    arch = space.index(Arch(tuple(ops))) if on_table else -1
    return ThresholdReading(arch=arch, status=status, lost="+".join(lost), kept=tuple(kept))


def cell_mean_sigma(space: CellSpace, sigma: np.ndarray) -> tuple[float, float]:
    """Mean sigmoid weight of the non-``none`` ops of the normal and of the reduction cell
    (a shared cell gives the same value twice)."""
    mask = op_mask(space)
    cells = np.array([e.cell for e in space.edges for _ in e.ops])
    flat = np.asarray(sigma, dtype=np.float64)
    normal = float(flat[mask & (cells == "normal")].mean())
    reduce = float(flat[mask & (cells == "reduce")].mean()) if not space.shared else normal
    return normal, reduce


def d01(space: CellSpace, sigma: np.ndarray) -> float:
    """Distance from a zero-one solution: mean of ``min(sigma, 1 - sigma)`` over the
    non-``none`` entries (0 when every weight is 0 or 1, 0.5 at sigma = 1/2)."""
    flat = np.asarray(sigma, dtype=np.float64)[op_mask(space)]
    return float(np.minimum(flat, 1.0 - flat).mean())
