"""The search supernet: a mixed op on every edge, weighted by a relaxation of alpha.

See docs/methods.md (Networks).

>>> import torch
>>> from nasbench_tools.spaces import get_space
>>> net = Supernet(get_space("t81"), in_channels=1, n_classes=10, layers=5, channels=4,
...                init_scale=0.0)
>>> [tuple(a.shape) for a in net.arch_parameters()]   # alpha_normal, alpha_reduce
[(2, 3), (2, 3)]
>>> net.discretize().ops                              # argmax per edge (ties: first op)
(0, 0, 0, 0)

The alpha rows follow the space's edge order within each cell; flattened (Hessian, logs) the
order is ``concat(alpha_normal row-major, alpha_reduce row-major)``. Inside mixed ops every BN is
``affine=False`` and pooling ops are followed by a BN, as in DARTS. `one_hot` switches the
network to the *discretised* supernet of an architecture (same weights, one-hot op weights),
used for the discretisation gap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from nasbench_tools.exceptions import ConfigError, UnknownNameError
from nasbench_tools.nn.network import Cell, MacroNetwork, drop_path
from nasbench_tools.nn.ops import Identity, make_op
from nasbench_tools.spaces.space import Arch, CellSpace, Edge

RELAXATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "softmax": lambda a: torch.softmax(a, dim=-1),
    "sigmoid": torch.sigmoid,
}


class MixedOp(nn.Module):
    """``sum_k w_k * op_k(x)`` over the ops of one edge."""

    def __init__(self, edge: Edge, channels: int, stride: int) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(
            make_op(name, channels, stride, affine=False, pool_bn=True) for name in edge.ops
        )

    def forward(self, x: Tensor, weights: Tensor, drop_prob: float = 0.0,
                generator: torch.Generator | None = None) -> Tensor:
        """With ``drop_prob > 0`` every candidate except the identity gets its own drop-path
        mask (R-DARTS(DP), as in the reference search code)."""
        total = torch.zeros((), device=x.device, dtype=x.dtype)
        for w, op in zip(weights, self.candidates, strict=True):
            out = w * op(x)
            if drop_prob > 0.0 and not isinstance(op, Identity):
                out = drop_path(out, drop_prob, generator)
            total = total + out
        return total


class Supernet(MacroNetwork):
    """Every op of every edge at once; ``alpha_<cell>`` are the architecture parameters."""

    def __init__(self, space: CellSpace, *, in_channels: int, n_classes: int, layers: int,
                 channels: int, stem_multiplier: int = 3, relaxation: str = "softmax",
                 init_scale: float = 1e-3, generator: torch.Generator | None = None) -> None:
        if relaxation not in RELAXATIONS:
            raise UnknownNameError("relaxation", relaxation, RELAXATIONS)
        super().__init__(space, MixedOp, in_channels=in_channels, n_classes=n_classes,
                         layers=layers, channels=channels, stem_multiplier=stem_multiplier,
                         affine=False)
        self.relaxation = relaxation
        self._rows: dict[int, tuple[str, int]] = {}  # global edge id -> (cell, alpha row)
        self.alphas = nn.ParameterDict()
        for cell in space.cells:
            ids = [k for k, e in enumerate(space.edges) if e.cell == cell]
            widths = {len(space.edges[k].ops) for k in ids}
            if len(widths) != 1:
                raise ConfigError(f"a supernet needs the same number of ops on every {cell} edge")
            for row, k in enumerate(ids):
                self._rows[k] = (cell, row)
            init = torch.randn(len(ids), widths.pop(), generator=generator) * init_scale
            self.alphas[cell] = nn.Parameter(init)
        self._fixed: dict[str, Tensor] | None = None

    def arch_parameters(self) -> list[nn.Parameter]:
        """``[alpha_normal, alpha_reduce]`` (just ``[alpha_normal]`` for a shared cell)."""
        return [self.alphas[c] for c in self.space.cells]

    def weight_parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter except alpha (what the weight optimiser updates)."""
        alpha_ids = {id(p) for p in self.arch_parameters()}
        return (p for p in self.parameters() if id(p) not in alpha_ids)

    def mixing_weights(self) -> dict[str, Tensor]:
        """Relaxed op weights per cell type, ``[edges of the cell, ops]``."""
        if self._fixed is not None:
            return self._fixed
        relax = RELAXATIONS[self.relaxation]
        return {c: relax(self.alphas[c]) for c in self.space.cells}

    def edge_weights(self, cell: Cell) -> Sequence[Tensor]:
        weights = self.mixing_weights()
        return [weights[self._rows[k][0]][self._rows[k][1]] for k in cell.edge_ids]

    def discretize(self) -> Arch:
        """The DARTS genotype rule (docs/methods.md, Discretisation) as a table row of the space.

        On every edge the op of largest weight, leaving out ``none`` (ties: the first op).
        A node with more than two incoming edges keeps the two whose best non-``none`` weight
        is largest; its other edges get ``none`` when they offer it (otherwise they keep their
        op, since the table has no way to drop an edge). Per-edge op lists are indexed by the
        global edge id.
        """
        weights = {c: w.detach() for c, w in self.mixing_weights().items()}
        ops: list[int] = []
        strength: list[float] = []
        for k, edge in enumerate(self.space.edges):
            cell, row = self._rows[k]
            w = weights[cell][row]
            keep = [i for i, name in enumerate(edge.ops) if name != "none"] or \
                list(range(len(edge.ops)))
            best = max(keep, key=lambda i: (float(w[i]), -i))
            ops.append(best)
            strength.append(float(w[best]))
        for cell in self.space.cells:
            for node in {e.node for e in self.space.edges if e.cell == cell}:
                into = [k for k, e in enumerate(self.space.edges)
                        if e.cell == cell and e.node == node]
                ranked = sorted(into, key=lambda k: (-strength[k], k))
                for k in ranked[2:]:
                    if "none" in self.space.edges[k].ops:
                        ops[k] = self.space.edges[k].ops.index("none")
        return Arch(tuple(ops))

    def one_hot_weights(self, arch: Arch) -> dict[str, Tensor]:
        """The op weights of ``arch`` per cell type: 1 at its op of every edge, else 0."""
        fixed = {c: torch.zeros_like(self.alphas[c]).detach() for c in self.space.cells}
        for k, op in enumerate(arch.ops):
            cell, row = self._rows[k]
            fixed[cell][row, op] = 1.0
        return fixed

    @contextlib.contextmanager
    def one_hot(self, arch: Arch) -> Iterator[None]:
        """Within the block, edges mix with one-hot weights of ``arch`` instead of alpha."""
        self._fixed = self.one_hot_weights(arch)
        try:
            yield
        finally:
            self._fixed = None
