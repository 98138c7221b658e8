"""K discrete networks of one space trained as one: a fused multi-architecture network.

Model k owns channel group k of every activation (``[B, K * C, H, W]``). Because BatchNorm is
per channel, BN over the concatenated channels *is* per-model BN; convolutions become grouped
convolutions whose weight is the models' weights stacked; the shared input image feeds one
stem convolution with every model's filters. On each edge the models are grouped by the op they
use: one kernel runs per (edge, op) over the models that chose it (a gather on the model axis,
skipped when every model uses the op), and the outputs are put back in model order by the
inverse permutation. The head is a per-model linear map (``einsum``).

The result equals the K separate networks up to floating-point reassociation (tests: fp64
1e-10, fp32 1e-5), when built from them with `FusedNetwork(nets)`, which copies their weights.
Drop-path masks are drawn per model and sample, but not in the same order as K separate
networks would draw them.

>>> import torch
>>> from nasbench_tools.spaces import get_space
>>> from nasbench_tools.nn import Network
>>> space = get_space("t81")
>>> nets = [Network(space, space.arch(a), in_channels=1, n_classes=10, layers=3, channels=4)
...         for a in (0, 40, 80)]
>>> fused = FusedNetwork(nets).eval()
>>> x = torch.randn(2, 1, 8, 8)
>>> logits, _ = fused(x)                            # [batch, model, class]
>>> bool(torch.allclose(logits[:, 1], nets[1].eval()(x)[0], atol=1e-5))
True
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nasbench_tools.exceptions import ConfigError
from nasbench_tools.nn.network import AuxiliaryHead, Cell, Network
from nasbench_tools.nn.ops import FactorizedReduce, Identity, Zero
from nasbench_tools.spaces import Arch, CellSpace

_CHANNELWISE = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten, Identity,
                Zero)


def fuse_modules(mods: Sequence[nn.Module], *, shared_input: bool = False) -> nn.Module:
    """One module acting on K channel groups from K structurally identical modules.

    ``shared_input=True`` (only for a convolution) means every model reads the same input
    channels (the stem): the filters are stacked but the input is not grouped.
    """
    first = mods[0]
    if isinstance(first, nn.Conv2d):
        return _fuse_conv([m for m in mods if isinstance(m, nn.Conv2d)], shared_input)
    if isinstance(first, nn.BatchNorm2d):
        return _fuse_bn([m for m in mods if isinstance(m, nn.BatchNorm2d)])
    if isinstance(first, FactorizedReduce):
        return FusedFactorizedReduce([m for m in mods if isinstance(m, FactorizedReduce)])
    if isinstance(first, nn.Sequential):
        return nn.Sequential(*(fuse_modules([m[i] for m in mods])  # type: ignore[index]
                               for i in range(len(first))))
    if isinstance(first, _CHANNELWISE):
        return copy.deepcopy(first)
    raise ConfigError(f"cannot fuse a {type(first).__name__} op; build without --fuse")


def _fuse_conv(convs: Sequence[nn.Conv2d], shared_input: bool) -> nn.Module:
    c = convs[0]
    k = len(convs)
    if (not shared_input and c.kernel_size == (1, 1) and c.groups == 1 and c.bias is None
            and c.padding == (0, 0) and c.dilation == (1, 1) and c.stride[0] == c.stride[1]):
        return FusedPointwise(convs)
    groups = c.groups if shared_input else c.groups * k
    kh, kw = c.kernel_size
    fused = nn.Conv2d(c.in_channels * (1 if shared_input else k), c.out_channels * k, (kh, kw),
                      stride=c.stride, padding=c.padding,  # type: ignore[arg-type]
                      dilation=(c.dilation[0], c.dilation[1]), groups=groups,
                      bias=c.bias is not None, device=c.weight.device, dtype=c.weight.dtype)
    with torch.no_grad():
        fused.weight.copy_(torch.cat([m.weight for m in convs]))
        if fused.bias is not None:
            fused.bias.copy_(torch.cat([m.bias for m in convs]))  # type: ignore[misc]
    return fused


def _fuse_bn(bns: Sequence[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    b = bns[0]
    fused = nn.BatchNorm2d(b.num_features * len(bns), eps=b.eps, momentum=b.momentum,
                           affine=b.affine, device=b.running_mean.device,  # type: ignore[union-attr]
                           dtype=b.running_mean.dtype)  # type: ignore[union-attr]
    with torch.no_grad():
        for name in ("running_mean", "running_var"):
            getattr(fused, name).copy_(torch.cat([getattr(m, name) for m in bns]))
        if b.affine:
            fused.weight.copy_(torch.cat([m.weight for m in bns]))
            fused.bias.copy_(torch.cat([m.bias for m in bns]))
    return fused


class FusedPointwise(nn.Module):
    """K bias-free 1x1 convolutions (stride s) as one batched matrix multiply.

    A grouped 1x1 convolution over the concatenated channels computes the same thing, but is
    several times slower than ``matmul`` on CPU (and, per the probes of issue 5, with cuDNN).
    The weight keeps the grouped convolution's shape ``[K * c_out, c_in, 1, 1]``, so the model
    blocks of its dim 0 are the same.
    """

    def __init__(self, convs: Sequence[nn.Conv2d]) -> None:
        super().__init__()
        c = convs[0]
        self.k, self.c_in, self.stride = len(convs), c.in_channels, c.stride[0]
        self.weight = nn.Parameter(torch.cat([m.weight.detach() for m in convs]).clone())

    def forward(self, x: Tensor) -> Tensor:
        s = self.stride
        if s != 1:
            x = x[:, :, ::s, ::s]
        n, _, h, w = x.shape
        out = torch.matmul(self.weight.view(self.k, -1, self.c_in),
                           x.reshape(n, self.k, self.c_in, h * w))
        return out.view(n, -1, h, w)

    def extra_repr(self) -> str:
        return f"k={self.k}, c_in={self.c_in}, stride={self.stride}"


class FusedFactorizedReduce(nn.Module):
    """`FactorizedReduce` of K models: the two branch outputs are interleaved per model."""

    def __init__(self, mods: Sequence[FactorizedReduce]) -> None:
        super().__init__()
        self.k = len(mods)
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = _fuse_conv([m.conv_1 for m in mods], False)
        self.conv_2 = _fuse_conv([m.conv_2 for m in mods], False)
        self.bn = _fuse_bn([m.bn for m in mods])

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        a, b = self.conv_1(x), self.conv_2(shifted)
        n, _, h, w = a.shape
        out = torch.cat([a.view(n, self.k, -1, h, w), b.view(n, self.k, -1, h, w)], dim=2)
        return self.bn(out.view(n, -1, h, w))


class FusedEdge(nn.Module):
    """One edge of K cells: a kernel per op over the models that chose it."""

    def __init__(self, ops: Sequence[nn.Module], names: Sequence[str],
                 grid: tuple[tuple[int, ...], int] | None = None) -> None:
        """``grid = (shape, axis)``: the models form the product grid ``shape`` (C order) and
        this edge's op varies along ``axis`` (see `product_grid`); ``None``: gather."""
        super().__init__()
        self.k = len(ops)
        groups: dict[str, list[int]] = {}
        for model, name in enumerate(names):
            groups.setdefault(name, []).append(model)
        self.names = tuple(groups)
        self.members = tuple(tuple(v) for v in groups.values())
        self.grid = grid if grid is not None and len(self.members) > 1 else None
        if self.grid is not None:
            shape, axis = self.grid
            cells = torch.arange(self.k).view(shape).movedim(axis, 0)
            if shape[axis] != len(self.members) or any(
                    tuple(cells[i].flatten().tolist()) != m for i, m in enumerate(self.members)):
                raise ConfigError(f"the {self.k} models are not the product grid {shape}")
        self.ops = nn.ModuleList(fuse_modules([ops[m] for m in v]) for v in self.members)
        for i, v in enumerate(self.members):
            self.register_buffer(f"index_{i}", torch.tensor(v, dtype=torch.long),
                                 persistent=False)
        order = [m for v in self.members for m in v]
        self.register_buffer("inverse", torch.argsort(torch.tensor(order, dtype=torch.long)),
                             persistent=False)

    def forward(self, x: Tensor, drop_prob: float | Tensor,
                generator: torch.Generator | None) -> Tensor:
        """``drop_prob`` may be a 0-dim tensor (a compiled step: one graph for every epoch's
        value); then the masks are always drawn, which at 0 keeps everything."""
        n, _, h, w = x.shape
        x5 = x.view(n, self.k, -1, h, w)
        grid = self.grid
        outs = []
        for i, (op, members) in enumerate(zip(self.ops, self.members, strict=True)):
            if len(members) == self.k:
                sub = x
            elif grid is not None:  # the models of op i are one slice of the grid
                sub = x.view(n, *grid[0], -1, h, w).select(1 + grid[1], i).reshape(n, -1, h, w)
            else:
                sub = x5.index_select(1, getattr(self, f"index_{i}")).reshape(n, -1, h, w)
            out = op(sub)
            out5 = out.view(n, len(members), -1, out.shape[2], out.shape[3])
            if (isinstance(drop_prob, Tensor) or drop_prob > 0.0) and \
                    not isinstance(op, Identity | Zero):
                keep = torch.ones((n, len(members), 1, 1, 1), device=x.device,
                                  dtype=x.dtype) * (1.0 - drop_prob)
                out5 = out5 * torch.bernoulli(keep, generator=generator) / (1.0 - drop_prob)
            outs.append(out5)
        if len(outs) == 1:
            merged = outs[0]
        elif grid is not None:  # put the slices back: a stack along the edge's grid axis
            shape, axis = grid
            rest = shape[:axis] + shape[axis + 1:]
            merged = torch.stack([o.view(n, *rest, *o.shape[2:]) for o in outs], 1 + axis)
        else:
            inverse: Tensor = self.inverse  # type: ignore[assignment]
            merged = torch.cat(outs, 1).index_select(1, inverse)
        return merged.reshape(n, -1, *merged.shape[-2:])


class FusedCell(nn.Module):
    def __init__(self, cells: Sequence[Cell], names: Sequence[Sequence[str]],
                 grids: Sequence[tuple[tuple[int, ...], int] | None]) -> None:
        """``names[m][i]``: the op of model m on edge i of this cell; ``grids[i]``: the grid
        of edge i (`FusedEdge`)."""
        super().__init__()
        c = cells[0]
        self.k, self.nodes, self.multiplier, self.edges = len(cells), c.nodes, c.multiplier, \
            c.edges
        self.preprocess0 = fuse_modules([x.preprocess0 for x in cells])
        self.preprocess1 = fuse_modules([x.preprocess1 for x in cells])
        self.ops = nn.ModuleList(
            FusedEdge([x.ops[i] for x in cells], [n[i] for n in names], grids[i])
            for i in range(len(c.edges))
        )

    def forward(self, s0: Tensor, s1: Tensor, drop_prob: float | Tensor,
                generator: torch.Generator | None) -> Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(2, 2 + self.nodes):
            total: Tensor | None = None
            for i, e in enumerate(self.edges):
                if e.node == node:
                    out = self.ops[i](states[e.source], drop_prob, generator)
                    total = out if total is None else total + out
            assert total is not None
            states.append(total)
        last = states[-self.multiplier:]
        if len(last) == 1:
            return last[0]
        n, _, h, w = last[0].shape
        per_model = torch.stack([s.view(n, self.k, -1, h, w) for s in last], dim=2)
        return per_model.reshape(n, -1, h, w)


class FusedAuxiliaryHead(nn.Module):
    def __init__(self, heads: Sequence[AuxiliaryHead]) -> None:
        super().__init__()
        self.k = len(heads)
        self.features = fuse_modules([h.features[:-1] for h in heads])  # up to the flatten
        self.classifier = FusedLinear([h.classifier for h in heads])

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x)
        return self.classifier(f.reshape(f.shape[0], self.k, -1))


class FusedLinear(nn.Module):
    """K linear maps: ``[B, K, in] -> [B, K, out]``; weight ``[K, out, in]``."""

    def __init__(self, linears: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in linears]).clone())
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in linears]).clone())

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("bki,koi->bko", x, self.weight) + self.bias


class FusedNetwork(nn.Module):
    """K `Network` s of one space and macro (any archs) as one module; see the module doc.

    `forward` returns ``(logits [B, K, classes], aux [B, K, classes] or None)``.

    With ``slicing=True`` and archs that form a product grid (`product_grid`: all 81 of t81
    are 3x3x3x3), an edge takes the models of each op as a slice of the model axis viewed as
    that grid and puts the outputs back with a ``stack``; otherwise (any other subset, e.g. a
    resume) it gathers by index. ``None`` (default) slices on a GPU only: on the CPU gathers
    measured faster (benchmarks/README.md). The forward is bit-identical either way; the
    gradients differ only in the order autograd sums a tensor's contributions.
    """

    def __init__(self, nets: Sequence[Network], *, slicing: bool | None = None) -> None:
        super().__init__()
        if not nets:
            raise ConfigError("a fused network needs at least one network")
        first = nets[0]
        space = first.space
        self.k, self.space = len(nets), space
        self.archs = tuple(n.arch for n in nets)
        if slicing is None:
            slicing = next(first.parameters()).device.type == "cuda"
        self.grid = product_grid(space, self.archs) if slicing else None
        self.aux_index = first.aux_index
        self.stem = nn.Sequential(fuse_modules([n.stem[0] for n in nets], shared_input=True),
                                  fuse_modules([n.stem[1] for n in nets]))
        names = [space.op_names(n.arch) for n in nets]
        last = space.n_edges - 1
        cells = []
        for i, cell in enumerate(first.cells):
            assert isinstance(cell, Cell)
            ids = cell.edge_ids
            grids = [None if self.grid is None else (self.grid, last - e) for e in ids]
            cells.append(FusedCell([n.cells[i] for n in nets],  # type: ignore[misc]
                                   [[nm[e] for e in ids] for nm in names], grids))
        self.cells = nn.ModuleList(cells)
        heads = [n.auxiliary_head for n in nets]
        self.auxiliary_head = FusedAuxiliaryHead(heads) if heads[0] is not None else None  # type: ignore[arg-type]
        self.classifier = FusedLinear([n.classifier for n in nets])
        self.generator: torch.Generator | None = None
        # the edges' index buffers are made on the CPU: put them where the weights are
        self.to(next(first.parameters()).device)

    def forward(self, x: Tensor, drop_prob: float | Tensor = 0.0
                ) -> tuple[Tensor, Tensor | None]:
        s0 = s1 = self.stem(x)
        aux: Tensor | None = None
        p = drop_prob if self.training else 0.0
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, p, self.generator)
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        pooled = s1.mean(dim=(2, 3)).view(x.shape[0], self.k, -1)
        return self.classifier(pooled), aux

    def model_blocks(self) -> list[tuple[nn.Parameter, Tensor]]:
        """Every parameter with the models of its dim-0 blocks (for per-model norms)."""
        out: list[tuple[nn.Parameter, Tensor]] = []
        for module in self.modules():
            if isinstance(module, FusedEdge):
                for op, members in zip(module.ops, module.members, strict=True):
                    out.extend((p, torch.tensor(members, device=p.device))
                               for p in op.parameters())
        in_edges = {id(p) for p, _ in out}
        out.extend((p, torch.arange(self.k, device=p.device)) for p in self.parameters()
                   if id(p) not in in_edges)
        return out


def product_grid(space: CellSpace, archs: Sequence[Arch]) -> tuple[int, ...] | None:
    """The model axis as a grid, when ``archs`` are, in id order, every combination of the
    ops each edge takes among them: the shape in C order (last edge first), else ``None``.

    >>> from nasbench_tools.spaces import get_space
    >>> space = get_space("t81")
    >>> product_grid(space, list(space.archs()))
    (3, 3, 3, 3)
    >>> product_grid(space, [space.arch(a) for a in range(27, 54)])   # edge 3 fixed
    (1, 3, 3, 3)
    >>> product_grid(space, [space.arch(a) for a in (0, 1, 5)]) is None
    True
    """
    per_edge = [sorted({a.ops[e] for a in archs}) for e in range(space.n_edges)]
    combos = itertools.product(*reversed(per_edge))  # the last edge varies slowest
    if list(archs) != [Arch(tuple(reversed(c))) for c in combos]:
        return None
    return tuple(len(v) for v in reversed(per_edge))


@torch.no_grad()
def clip_per_model(blocks: Sequence[tuple[nn.Parameter, Tensor]], k: int, max_norm: float
                   ) -> Tensor:
    """Clip the gradient of each model to ``max_norm`` as ``clip_grad_norm_`` would; returns
    the per-model norms before clipping."""
    device = blocks[0][0].device
    sq = torch.zeros(k, dtype=torch.float64, device=device)
    for p, idx in blocks:
        if p.grad is not None:
            g = p.grad.reshape(len(idx), -1)
            sq.index_add_(0, idx.to(device), (g.double() ** 2).sum(1))
    norms = sq.sqrt()
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for p, idx in blocks:
        if p.grad is not None:
            p.grad.view(len(idx), -1).mul_(coef[idx.to(device)].to(p.grad.dtype)[:, None])
    return norms
