"""Built-in spaces (docs/methods.md, Cell spaces) and spaces defined by users in TOML files.

>>> from nasbench_tools.spaces import get_space, list_spaces
>>> list_spaces()
['t16', 't256', 't81', 't81-none']

A TOML space file::

    name = "my-space"
    nodes = 1                 # intermediate nodes per cell
    multiplier = 1            # how many of the last nodes the cell output concatenates
    shared = false            # true: one genotype for normal and reduction cells
    ops = ["sep_conv_3x3", "skip_connect"]   # op list of every edge ...
    # ... or list the edges one by one:
    # [[edges]]
    # cell = "normal"; node = 2; source = 0; ops = ["skip_connect", "dil_conv_3x3"]
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from nasbench_tools.exceptions import ConfigError, DataNotFoundError, UnknownNameError
from nasbench_tools.spaces.space import CellSpace, dense_edges


def _builtin(name: str, ops: list[str], description: str) -> CellSpace:
    return CellSpace(name=name, edges=dense_edges(ops), description=description)


_SPACES: dict[str, CellSpace] = {
    s.name: s
    for s in (
        # descriptions are stored with every table but are not part of a space's identity
        # (CellSpace.identity), so rewording one leaves built tables mergeable and resumable
        _builtin(
            "t81",
            ["sep_conv_3x3", "skip_connect", "max_pool_3x3"],
            "3^4 archs: one node per cell, separate normal/reduce genotypes (docs/methods.md)",
        ),
        _builtin(
            "t81-none",
            ["none", "skip_connect", "sep_conv_3x3"],
            "t81 cell with the S3 op set [none, skip, sep3]",
        ),
        _builtin("t16", ["sep_conv_3x3", "skip_connect"], "t81 cell with the S2 op set"),
        _builtin(
            "t256",
            ["sep_conv_3x3", "skip_connect", "max_pool_3x3", "dil_conv_3x3"],
            "t81 cell with four ops per edge",
        ),
    )
}


def list_spaces() -> list[str]:
    """Names of the registered spaces, sorted."""
    return sorted(_SPACES)


def register_space(space: CellSpace) -> None:
    """Add a space to the registry (replacing one of the same name)."""
    _SPACES[space.name] = space


def get_space(name_or_path: str | Path) -> CellSpace:
    """A registered space by name, or a space read from a ``.toml`` file."""
    text = str(name_or_path)
    if text.endswith(".toml"):
        return load_space_toml(text)
    try:
        return _SPACES[text]
    except KeyError:
        raise UnknownNameError("space", text, [*_SPACES, "<path to a .toml file>"]) from None


def load_space_toml(path: str | Path) -> CellSpace:
    """Read a user space from a TOML file (format in this module's docstring)."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"space file {str(p)!r} does not exist")
    try:
        d = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"space file {str(p)!r} is not valid TOML: {exc}") from None
    d.setdefault("name", p.stem)
    if "edges" not in d:
        if "ops" not in d:
            raise ConfigError(f"space file {str(p)!r} needs either 'ops' or [[edges]]")
        d["edges"] = [
            {"cell": e.cell, "node": e.node, "source": e.source, "ops": list(e.ops)}
            for e in dense_edges(
                d["ops"], nodes=int(d.get("nodes", 1)), shared=bool(d.get("shared", False))
            )
        ]
    return CellSpace.from_dict(d)
