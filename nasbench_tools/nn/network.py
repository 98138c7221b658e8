"""The DARTS cell and macro network (docs/methods.md, Networks), for any `CellSpace`.

`Cell` and `MacroNetwork` build the ops of every edge through an *edge factory*
``factory(edge, channels, stride) -> nn.Module``, so the discrete network (`Network`: the op
chosen by an `Arch` on each edge) and a search supernet (a mixed op with learnable weights on
each edge) share the same cell and macro code.

>>> import torch
>>> from nasbench_tools.spaces import get_space
>>> from nasbench_tools.nn import Network
>>> space = get_space("t81")
>>> net = Network(space, space.arch(5), in_channels=1, n_classes=10, layers=5, channels=8)
>>> logits, aux = net.eval()(torch.randn(2, 1, 8, 8))
>>> logits.shape, aux
(torch.Size([2, 10]), None)

Macro: stem Conv3x3 (``in_channels -> stem_multiplier * C``) + BN, then ``layers`` cells, then
global average pooling and a linear head. The reduction cells (stride 2 on the edges leaving the
two cell inputs, channels doubled) are at ``sorted({layers // 3, 2 * layers // 3})``; for
``layers`` of 1 or 2 that set has one or two entries starting at cell 0, and any ``layers >= 1``
builds.

Randomness: drop-path masks come from ``torch.bernoulli`` with ``net.generator`` when that is a
``torch.Generator`` (on the input's device), else from the global torch RNG; nothing else in
the forward pass draws random numbers except ``noise`` ops (see `set_generator`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.nn.ops import FactorizedReduce, Identity, Noise, ReLUConvBN, make_op
from nasbench_tools.spaces.space import Arch, CellSpace, Edge, reduction_indices

__all__ = [
    "AuxiliaryHead",
    "Cell",
    "EdgeFactory",
    "MacroNetwork",
    "Network",
    "drop_path",
    "reduction_indices",
]

EdgeFactory = Callable[[Edge, int, int], nn.Module]
"""``factory(edge, channels, stride) -> module`` that maps [B, C, H, W] to [B, C, H/s, W/s]."""



def drop_path(x: Tensor, p: float, generator: torch.Generator | None = None) -> Tensor:
    """Zero whole samples with probability ``p`` and rescale the rest by ``1 / (1 - p)``.

    The per-sample mask is drawn by ``torch.bernoulli`` from ``generator`` (global RNG if None).
    """
    if p <= 0.0:
        return x
    keep = torch.full((x.shape[0], 1, 1, 1), 1.0 - p, device=x.device, dtype=x.dtype)
    mask = torch.bernoulli(keep, generator=generator)
    return x * mask / (1.0 - p)


class Cell(nn.Module):
    """One DARTS cell: two preprocessed inputs, ``nodes`` summing nodes, a channel concat.

    ``edges`` are this cell's edges (in the order of ``space.edges``); ``edge_ids`` their
    positions in ``space.edges`` (default ``0..len(edges)-1``), kept for a supernet that indexes
    its architecture weights by them. In a reduction cell, edges leaving node 0 or 1 get
    stride 2. The output concatenates the last ``multiplier`` nodes: ``multiplier * c``
    channels.
    """

    def __init__(
        self,
        edges: Sequence[Edge],
        *,
        nodes: int,
        multiplier: int,
        c_pp: int,
        c_p: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
        edge_factory: EdgeFactory,
        affine: bool = True,
        edge_ids: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.reduction, self.nodes, self.multiplier = reduction, nodes, multiplier
        self.edges = tuple(edges)
        self.edge_ids = tuple(range(len(self.edges)) if edge_ids is None else edge_ids)
        missing = [n for n in range(2, 2 + nodes) if not any(e.node == n for e in self.edges)]
        if missing:
            raise ConfigError(f"cell nodes {missing} have no input edge")
        if reduction_prev:
            self.preprocess0: nn.Module = FactorizedReduce(c_pp, c, affine=affine)
        else:
            self.preprocess0 = ReLUConvBN(c_pp, c, 1, 1, 0, affine=affine)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0, affine=affine)
        self.ops = nn.ModuleList(
            edge_factory(e, c, 2 if reduction and e.source < 2 else 1) for e in self.edges
        )

    def run_edge(
        self,
        i: int,
        h: Tensor,
        weights: Tensor | None,
        drop_prob: float,
        generator: torch.Generator | None,
    ) -> Tensor:
        """Output of edge ``i`` on its source state ``h``; override to change drop-path.

        With ``weights`` (a supernet's per-edge op weights) the op is called as
        ``op(h, weights, drop_prob, generator)`` and applies drop-path to its candidates itself
        (``drop_prob`` is 0 outside training). Otherwise, in training with ``drop_prob > 0``,
        every non-identity output is passed through `drop_path`.
        """
        op = self.ops[i]
        if weights is not None:
            return op(h, weights, drop_prob if self.training else 0.0, generator)
        out = op(h)
        if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
            out = drop_path(out, drop_prob, generator)
        return out

    def forward(
        self,
        s0: Tensor,
        s1: Tensor,
        drop_prob: float = 0.0,
        edge_weights: Sequence[Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """``edge_weights[i]`` (if given) goes to edge ``i`` of this cell."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(2, 2 + self.nodes):
            total: Tensor | None = None
            for i, e in enumerate(self.edges):
                if e.node != node:
                    continue
                w = None if edge_weights is None else edge_weights[i]
                out = self.run_edge(i, states[e.source], w, drop_prob, generator)
                total = out if total is None else total + out
            assert total is not None  # checked in __init__: every node has an input edge
            states.append(total)
        return torch.cat(states[-self.multiplier :], dim=1)


class AuxiliaryHead(nn.Module):
    """Auxiliary classifier for small images: ReLU, pool to 2x2, 1x1 conv to 128, BN, ReLU,
    flatten, Linear(512 -> n_classes)."""

    def __init__(self, c_in: int, n_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(2),
            nn.Conv2d(c_in, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(128 * 4, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class MacroNetwork(nn.Module):
    """Stem, ``layers`` cells and a linear head, with each edge op made by ``edge_factory``.

    ``affine`` applies to the BNs of the cells' input preprocessing (False in a supernet).
    ``auxiliary=True`` adds `AuxiliaryHead` on the output of cell ``2 * layers // 3``; it runs
    only in training mode. `forward` returns ``(logits, aux_logits_or_None)``. Subclasses that
    give the edges extra inputs override `edge_weights`.
    """

    def __init__(
        self,
        space: CellSpace,
        edge_factory: EdgeFactory,
        *,
        in_channels: int,
        n_classes: int,
        layers: int,
        channels: int,
        stem_multiplier: int = 3,
        auxiliary: bool = False,
        affine: bool = True,
    ) -> None:
        super().__init__()
        self.space, self.layers = space, layers
        self.reductions = reduction_indices(layers)
        self.aux_index = 2 * layers // 3
        self.generator: torch.Generator | None = None
        c_curr = stem_multiplier * channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_pp, c_p, c_curr = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        self.auxiliary_head: AuxiliaryHead | None = None
        reduction_prev = False
        for i in range(layers):
            reduction = i in self.reductions
            c_curr = c_curr * 2 if reduction else c_curr
            ids = self._cell_edge_ids(reduction)
            cell = Cell(
                [space.edges[k] for k in ids], nodes=space.nodes, multiplier=space.multiplier,
                c_pp=c_pp, c_p=c_p, c=c_curr, reduction=reduction,
                reduction_prev=reduction_prev, edge_factory=edge_factory, affine=affine,
                edge_ids=ids,
            )
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, space.multiplier * c_curr
            if auxiliary and i == self.aux_index:
                self.auxiliary_head = AuxiliaryHead(c_p, n_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, n_classes)

    def _cell_edge_ids(self, reduction: bool) -> tuple[int, ...]:
        """Positions in ``space.edges`` of a cell's edges (shared spaces: the normal ones)."""
        cell = "reduce" if reduction and not self.space.shared else "normal"
        return tuple(k for k, e in enumerate(self.space.edges) if e.cell == cell)

    def edge_weights(self, cell: Cell) -> Sequence[Tensor] | None:
        """Per-edge extra input for the ops of ``cell`` (None: ops take only the state)."""
        return None

    def set_generator(self, generator: torch.Generator | None) -> None:
        """Draw drop-path masks and every ``noise`` op's values from ``generator``."""
        self.generator = generator
        for m in self.modules():
            if isinstance(m, Noise):
                m.generator = generator

    def forward(self, x: Tensor, drop_prob: float = 0.0) -> tuple[Tensor, Tensor | None]:
        """Logits ``[B, n_classes]`` and auxiliary logits (training with a head) or None."""
        s0 = s1 = self.stem(x)
        aux: Tensor | None = None
        for i, cell in enumerate(self.cells):
            assert isinstance(cell, Cell)
            out = cell(s0, s1, drop_prob, self.edge_weights(cell), self.generator)
            s0, s1 = s1, out
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(torch.flatten(self.global_pooling(s1), 1))
        return logits, aux


class Network(MacroNetwork):
    """The discrete network of ``arch`` in ``space``: the chosen op on every edge, affine BNs.

    ``edges`` whose op is ``none`` stay in the graph and contribute zeros, so a cell whose
    nodes only receive ``none`` outputs zeros and the network still runs (and trains to
    chance).
    """

    def __init__(
        self,
        space: CellSpace,
        arch: Arch,
        *,
        in_channels: int,
        n_classes: int,
        layers: int,
        channels: int,
        stem_multiplier: int = 3,
        auxiliary: bool = False,
    ) -> None:
        chosen = dict(zip(space.edges, space.op_names(arch), strict=True))

        def factory(edge: Edge, c: int, stride: int) -> nn.Module:
            return make_op(chosen[edge], c, stride, affine=True)

        super().__init__(
            space, factory, in_channels=in_channels, n_classes=n_classes, layers=layers,
            channels=channels, stem_multiplier=stem_multiplier, auxiliary=auxiliary,
            affine=True,
        )
        self.arch = arch
