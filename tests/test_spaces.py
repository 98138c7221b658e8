"""Search spaces: bijection, genotype round trips, registry and TOML spaces."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_tools.exceptions import ConfigError, OutOfSpaceError, UnknownNameError
from nasbench_tools.spaces import Arch, CellSpace, dense_edges, get_space, list_spaces


@pytest.mark.parametrize("name,size", [("t81", 81), ("t81-none", 81), ("t16", 16), ("t256", 256)])
def test_builtin_sizes_and_bijection(name: str, size: int) -> None:
    space = get_space(name)
    assert space.size == size
    assert [space.index(space.arch(i)) for i in range(size)] == list(range(size))
    assert len({space.arch(i) for i in range(size)}) == size


def test_t81_id_is_mixed_radix_with_edge0_least_significant() -> None:
    space = get_space("t81")
    for i in range(81):
        ops = space.arch(i).ops
        assert i == sum(o * 3**e for e, o in enumerate(ops))
    assert space.op_names(space.arch(1)) == ("skip_connect", "sep_conv_3x3", "sep_conv_3x3",
                                             "sep_conv_3x3")
    assert [(e.cell, e.node, e.source) for e in space.edges] == [
        ("normal", 2, 0), ("normal", 2, 1), ("reduce", 2, 0), ("reduce", 2, 1)]


@pytest.mark.parametrize("name", list_spaces())
def test_genotype_round_trip(name: str) -> None:
    space = get_space(name)
    for arch in space.archs():
        g = space.genotype(arch)
        assert space.parse(g) == arch
        assert space.resolve(g) == space.index(arch)
        assert " " not in g and ";" not in g  # shell-safe


def test_resolve_accepts_every_form() -> None:
    space = get_space("t81")
    arch = space.arch(42)
    assert space.resolve(42) == space.resolve("42") == space.resolve(arch) == 42
    assert space.resolve(list(arch.ops)) == 42


@pytest.mark.parametrize("bad", [-1, 81, "81", "normal=foo~0", "nonsense", [0, 0, 0], [3, 0, 0, 0]])
def test_out_of_space_inputs_raise(bad: object) -> None:
    with pytest.raises(OutOfSpaceError):
        get_space("t81").resolve(bad)  # type: ignore[arg-type]


def test_unknown_space_lists_allowed() -> None:
    with pytest.raises(UnknownNameError, match="t81-none"):
        get_space("t82")


def test_unknown_op_is_rejected() -> None:
    with pytest.raises(UnknownNameError, match="sep_conv_3x3"):
        CellSpace(name="bad", edges=dense_edges(["sep_conv_9x9"]))


def test_space_json_round_trip() -> None:
    for name in list_spaces():
        space = get_space(name)
        assert CellSpace.from_dict(space.to_dict()) == space


def test_toml_space(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "two.toml"
    path.write_text('name = "two"\nnodes = 2\nmultiplier = 2\nshared = true\n'
                    'ops = ["skip_connect", "dil_conv_3x3"]\n')
    space = get_space(str(path))
    # shared cell, nodes 2 and 3: inputs (0,1) + (0,1,2) = 5 edges of 2 ops
    assert (space.n_edges, space.size, space.cells) == (5, 32, ("normal",))
    explicit = tmp_path / "explicit.toml"
    explicit.write_text(
        'name = "mixed"\n'
        '[[edges]]\ncell = "normal"\nnode = 2\nsource = 0\nops = ["skip_connect", "noise"]\n'
        '[[edges]]\ncell = "reduce"\nnode = 2\nsource = 1\nops = ["max_pool_3x3"]\n'
    )
    assert get_space(str(explicit)).size == 2


def test_toml_space_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        get_space(str(bad))
    missing = tmp_path / "none.toml"
    missing.write_text('name = "x"\n')
    with pytest.raises(ConfigError, match="ops"):
        get_space(str(missing))
    holes = tmp_path / "holes.toml"
    holes.write_text('name = "h"\n[[edges]]\ncell = "normal"\nnode = 2\nsource = 0\n'
                     'ops = ["skip_connect"]\n')
    with pytest.raises(ConfigError, match="reduce node 2 has no input"):
        get_space(str(holes))


def test_arch_is_a_value() -> None:
    assert Arch((1, 2)) == Arch([1, 2])  # type: ignore[arg-type]
    assert hash(Arch((1, 2))) == hash(Arch((1, 2)))


@pytest.mark.parametrize("name", ["t81", "t81-none", "t16", "t256"])
def test_encodings_are_the_id_map_for_every_arch(name: str) -> None:
    space = get_space(name)
    enc = space.encodings()
    assert enc.shape == (space.size, space.n_edges) and enc.dtype == np.uint8
    assert [tuple(int(v) for v in row) for row in enc] == [space.arch(i).ops
                                                           for i in range(space.size)]
