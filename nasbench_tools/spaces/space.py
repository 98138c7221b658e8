"""Cell search spaces as plain values: `CellSpace`, `Edge` and `Arch`.

A space is a pair of DARTS-style cells (normal and reduction; or one cell shared by both). Each
cell has two inputs (node 0 = c_{k-2}, node 1 = c_{k-1}) and ``nodes`` intermediate nodes; every
edge carries one op chosen from its own op list. An architecture is one op index per edge, and
its id is the mixed-radix number of those indices with edge 0 least significant::

    >>> from nasbench_tools.spaces import get_space
    >>> space = get_space("t81")
    >>> arch = space.arch(5)          # 5 = 2*3^0 + 1*3^1
    >>> arch.ops
    (2, 1, 0, 0)
    >>> space.genotype(arch)
    'normal=max_pool_3x3~0+skip_connect~1,reduce=sep_conv_3x3~0+sep_conv_3x3~1'
    >>> space.index(space.parse(space.genotype(arch)))
    5
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from nasbench_tools.exceptions import ConfigError, OutOfSpaceError, UnknownNameError

#: Every op name the network layer knows how to build (see ``nasbench_tools.nn.ops``).
KNOWN_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "max_pool_3x3",
    "avg_pool_3x3",
    "conv_1x1",
    "conv_3x3",
    "noise",
)

CELL_TYPES: tuple[str, ...] = ("normal", "reduce")

#: Ops without parameters: what DARTS drifts to when it collapses.
PARAMETER_FREE_OPS = frozenset({"none", "skip_connect", "max_pool_3x3", "avg_pool_3x3"})


def reduction_indices(layers: int) -> tuple[int, ...]:
    """Indices of the reduction cells of an ``layers``-cell network: ``sorted({layers // 3,
    2 * layers // 3})`` (the DARTS macro network; every other cell is a normal cell)."""
    if layers < 1:
        raise ConfigError(f"a network needs layers >= 1, got {layers}")
    return tuple(sorted({layers // 3, 2 * layers // 3}))


@dataclass(frozen=True)
class Edge:
    """One edge of a cell: ``node`` receives ``ops[k](x_source)`` for the chosen ``k``."""

    cell: str
    node: int
    source: int
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.cell not in CELL_TYPES:
            raise UnknownNameError("cell type", self.cell, CELL_TYPES)
        if not 0 <= self.source < self.node:
            raise ConfigError(
                f"edge {self.cell} {self.source}->{self.node}: source must be in [0, node)"
            )
        if len(self.ops) < 1:
            raise ConfigError(f"edge {self.cell} {self.source}->{self.node} has no ops")
        for op in self.ops:
            if op not in KNOWN_OPS:
                raise UnknownNameError("op", op, KNOWN_OPS)
        if len(set(self.ops)) != len(self.ops):
            raise ConfigError(f"edge {self.cell} {self.source}->{self.node} repeats an op")


@dataclass(frozen=True)
class Arch:
    """An architecture: the chosen op index on every edge of its space, in edge order."""

    ops: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(int(o) for o in self.ops))


@dataclass(frozen=True)
class CellSpace:
    """A search space of DARTS-style cells.

    ``edges`` fixes the order of everything else: the architecture encoding, the rows of the
    architecture parameters alpha and the digits of the id. With ``shared=True`` there are only
    normal-cell edges and the reduction cells use the same genotype.
    """

    name: str
    edges: tuple[Edge, ...]
    nodes: int = 1
    multiplier: int = 1
    shared: bool = False
    description: str = field(default="", compare=False)  # words for people, not identity
    _radices: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.edges:
            raise ConfigError(f"space {self.name!r} has no edges")
        if self.nodes < 1 or not 1 <= self.multiplier <= self.nodes:
            raise ConfigError(
                f"space {self.name!r}: need nodes >= 1 and 1 <= multiplier <= nodes, "
                f"got nodes={self.nodes}, multiplier={self.multiplier}"
            )
        cells = ("normal",) if self.shared else CELL_TYPES
        for cell in cells:
            for node in range(2, 2 + self.nodes):
                if not any(e.cell == cell and e.node == node for e in self.edges):
                    raise ConfigError(f"space {self.name!r}: {cell} node {node} has no input edge")
        for e in self.edges:
            if e.cell not in cells or e.node >= 2 + self.nodes:
                raise ConfigError(
                    f"space {self.name!r}: edge {e.cell} {e.source}->{e.node} is outside the cells"
                )
        keys = [(e.cell, e.node, e.source) for e in self.edges]
        if len(set(keys)) != len(keys):
            raise ConfigError(f"space {self.name!r} lists an edge twice")
        object.__setattr__(self, "_radices", tuple(len(e.ops) for e in self.edges))

    # -- size and bijection -------------------------------------------------------------
    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def radices(self) -> tuple[int, ...]:
        """Number of ops on each edge, in edge order."""
        return self._radices

    @property
    def size(self) -> int:
        """Number of architectures: the product of the radices."""
        return math.prod(self._radices)

    @property
    def cells(self) -> tuple[str, ...]:
        return ("normal",) if self.shared else CELL_TYPES

    def index(self, arch: Arch) -> int:
        """The id of ``arch``: sum of ``ops[e] * prod(radices[:e])`` (edge 0 least significant)."""
        self._check(arch)
        idx, scale = 0, 1
        for op, radix in zip(arch.ops, self._radices, strict=True):
            idx += op * scale
            scale *= radix
        return idx

    def arch(self, index: int) -> Arch:
        """The architecture with id ``index`` (inverse of :meth:`index`)."""
        if isinstance(index, bool) or not isinstance(index, int | _np_int()):
            raise OutOfSpaceError(f"architecture id must be an integer, got {index!r}")
        index = int(index)
        if not 0 <= index < self.size:
            raise OutOfSpaceError(
                f"architecture id {index} is outside space {self.name!r} (0..{self.size - 1})"
            )
        ops = []
        for radix in self._radices:
            index, op = divmod(index, radix)
            ops.append(op)
        return Arch(tuple(ops))

    def encodings(self) -> np.ndarray:
        """uint8 ``[arch, edge]``: the op index on every edge, row = arch id (the same mixed
        radix as `index`, for all architectures at once)."""
        import numpy as np

        ids = np.arange(self.size, dtype=np.int64)
        out = np.empty((self.size, self.n_edges), dtype=np.uint8)
        for e, radix in enumerate(self._radices):
            ids, out[:, e] = np.divmod(ids, radix)
        return out

    def archs(self) -> Iterator[Arch]:
        """Every architecture, in id order."""
        for i in range(self.size):
            yield self.arch(i)

    def _check(self, arch: Arch) -> None:
        if len(arch.ops) != self.n_edges or any(
            not 0 <= o < r for o, r in zip(arch.ops, self._radices, strict=False)
        ):
            raise OutOfSpaceError(
                f"encoding {list(arch.ops)} is not in space {self.name!r} "
                f"(needs {self.n_edges} op indices below {list(self._radices)})"
            )

    # -- names --------------------------------------------------------------------------
    def op_names(self, arch: Arch) -> tuple[str, ...]:
        """The chosen op name on every edge."""
        self._check(arch)
        return tuple(e.ops[o] for e, o in zip(self.edges, arch.ops, strict=True))

    def genotype(self, arch: Arch) -> str:
        """Readable, shell-safe string: ``normal=op~src+op~src,reduce=op~src+op~src``."""
        names = self.op_names(arch)
        parts = []
        for cell in self.cells:
            items = [f"{n}~{e.source}" for e, n in zip(self.edges, names, strict=True)
                     if e.cell == cell]
            parts.append(f"{cell}=" + "+".join(items))
        return ",".join(parts)

    def parse(self, genotype: str) -> Arch:
        """Inverse of :meth:`genotype`."""
        try:
            cells = dict(part.split("=", 1) for part in genotype.strip().split(","))
        except ValueError:
            raise OutOfSpaceError(self._bad_genotype(genotype)) from None
        if set(cells) != set(self.cells):
            raise OutOfSpaceError(self._bad_genotype(genotype))
        ops: list[int] = []
        counters = {cell: iter(cells[cell].split("+")) for cell in self.cells}
        for e in self.edges:
            item = next(counters[e.cell], None)
            if item is None or "~" not in item:
                raise OutOfSpaceError(self._bad_genotype(genotype))
            name, source = item.rsplit("~", 1)
            if source != str(e.source) or name not in e.ops:
                raise OutOfSpaceError(self._bad_genotype(genotype))
            ops.append(e.ops.index(name))
        if any(next(it, None) is not None for it in counters.values()):
            raise OutOfSpaceError(self._bad_genotype(genotype))
        return Arch(tuple(ops))

    def _bad_genotype(self, genotype: str) -> str:
        example = self.genotype(self.arch(0))
        return f"genotype {genotype!r} is not in space {self.name!r} (expected e.g. {example!r})"

    def resolve(self, arch: int | str | Arch | Sequence[int]) -> int:
        """Turn an id, a genotype string, an `Arch` or an encoding into an id."""
        if isinstance(arch, Arch):
            return self.index(arch)
        if isinstance(arch, str):
            text = arch.strip()
            if text.lstrip("-").isdigit():
                return self.index(self.arch(int(text)))
            return self.index(self.parse(text))
        if isinstance(arch, bool):
            raise OutOfSpaceError(f"cannot read {arch!r} as an architecture of {self.name!r}")
        if isinstance(arch, Sequence):
            return self.index(Arch(tuple(int(o) for o in arch)))
        if isinstance(arch, int | _np_int()):
            return self.index(self.arch(int(arch)))
        raise OutOfSpaceError(f"cannot read {arch!r} as an architecture of {self.name!r}")

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "nodes": self.nodes,
            "multiplier": self.multiplier,
            "shared": self.shared,
            "description": self.description,
            "edges": [
                {"cell": e.cell, "node": e.node, "source": e.source, "ops": list(e.ops)}
                for e in self.edges
            ],
        }

    def identity(self) -> dict[str, Any]:
        """`to_dict` without the description: what makes two spaces the same space (builds,
        journals and merges compare this, so rewording a description changes nothing)."""
        return without_description(self.to_dict())

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellSpace:
        try:
            edges = tuple(
                Edge(str(e["cell"]), int(e["node"]), int(e["source"]), tuple(e["ops"]))
                for e in d["edges"]
            )
            return cls(
                name=str(d["name"]),
                edges=edges,
                nodes=int(d.get("nodes", 1)),
                multiplier=int(d.get("multiplier", 1)),
                shared=bool(d.get("shared", False)),
                description=str(d.get("description", "")),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"malformed space description: missing or bad field {exc}") from None


def _np_int() -> type:
    import numpy as np

    return np.integer


def dense_edges(ops: Sequence[str], *, nodes: int = 1, shared: bool = False) -> tuple[Edge, ...]:
    """Every (source -> node) edge of DARTS cells with ``nodes`` intermediate nodes, node-major
    then source-minor (the DARTS alpha row order), all carrying the same op list."""
    cells = ("normal",) if shared else CELL_TYPES
    return tuple(
        Edge(cell, node, source, tuple(ops))
        for cell in cells
        for node in range(2, 2 + nodes)
        for source in range(node)
    )


def without_description(space: Any) -> Any:
    """A space dict (as stored in tables and journals) without its ``description``; anything
    else unchanged."""
    if isinstance(space, dict):
        return {k: v for k, v in space.items() if k != "description"}
    return space
