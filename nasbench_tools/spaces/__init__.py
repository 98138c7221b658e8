"""Search spaces: `CellSpace`, `Arch`, the id <-> architecture bijection and a registry."""

from nasbench_tools.spaces.registry import get_space, list_spaces, load_space_toml, register_space
from nasbench_tools.spaces.space import (
    KNOWN_OPS,
    PARAMETER_FREE_OPS,
    Arch,
    CellSpace,
    Edge,
    dense_edges,
    reduction_indices,
)

__all__ = [
    "KNOWN_OPS",
    "PARAMETER_FREE_OPS",
    "Arch",
    "CellSpace",
    "Edge",
    "dense_edges",
    "get_space",
    "list_spaces",
    "load_space_toml",
    "reduction_indices",
    "register_space",
]
