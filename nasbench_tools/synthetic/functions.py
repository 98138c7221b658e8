"""Test functions of global optimisation on a box ``[-a, a]^d``, as frozen values in a registry.

Each evaluates on numpy arrays and on torch tensors (for autograd), one point or a batch (the
last axis is the dimension); torch is imported only when a tensor comes in.

    from nasbench_tools.synthetic.functions import get_function
    f = get_function("styblinski-tang")
    f(f.optimum(5))            # f* = -39.16617 * 5, at x_i = -2.903534
    f(np.zeros((10, 5)))       # ten values

>>> f = get_function("styblinski-tang")
>>> round(float(f(f.optimum(2))), 4), f.half_width
(-78.3323, 5.0)
>>> round(float(get_function("schwefel").minimum(3)), 4)
0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from nasbench_tools.exceptions import ConfigError, UnknownNameError

if TYPE_CHECKING:
    import torch


def _namespace(x: Any) -> ModuleType:
    """``torch`` for a tensor, ``numpy`` for anything else."""
    if type(x).__module__.split(".")[0] == "torch":
        import torch

        return torch
    return np


@dataclass(frozen=True)
class SyntheticFunction:
    """A test function on ``[-half_width, half_width]^d`` whose minimum is at
    ``x_i = optimum_coordinate`` in every coordinate."""

    name: str
    half_width: float  # a: the domain is [-a, a]^d
    optimum_coordinate: float  # x*_i
    formula: Callable[[Any, ModuleType], Any]  # (points, numpy or torch) -> values
    description: str = ""

    @overload
    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    @overload
    def __call__(self, x: np.ndarray) -> np.ndarray: ...

    def __call__(self, x: Any) -> Any:
        """f at ``x`` (last axis = dimension): an array (tensor) of shape ``x.shape[:-1]``."""
        xp = _namespace(x)
        if xp is np:
            x = np.asarray(x, dtype=np.float64)
        if x.ndim < 1 or x.shape[-1] < 1:
            raise ConfigError(f"{self.name} needs points with a last axis of length >= 1, got "
                              f"shape {tuple(x.shape)}")
        return self.formula(x, xp)

    @property
    def bounds(self) -> tuple[float, float]:
        return -self.half_width, self.half_width

    def optimum(self, dim: int) -> np.ndarray:
        """x*: the global minimiser in ``dim`` dimensions."""
        if dim < 1:
            raise ConfigError(f"dimension {dim} is not allowed; use an integer >= 1")
        return np.full(dim, self.optimum_coordinate, dtype=np.float64)

    def minimum(self, dim: int) -> float:
        """f* = f(x*) in ``dim`` dimensions, computed from the function."""
        return float(self(self.optimum(dim)))


def _styblinski_tang(x: Any, xp: ModuleType) -> Any:
    return 0.5 * (x**4 - 16.0 * x**2 + 5.0 * x).sum(-1)


def _schwefel(x: Any, xp: ModuleType) -> Any:
    # the 1e-300 keeps the gradient of sqrt|x| finite at x = 0 (0 * huge, not 0 * inf) and
    # changes no value that float64 can tell apart
    root = xp.sqrt(xp.abs(x) + 1e-300)
    return 418.9829 * x.shape[-1] - (x * xp.sin(root)).sum(-1)


#: Root of 4x^3 - 32x + 5 in the left basin (f'(x) = 0), to float64 precision.
_ST_OPTIMUM = -2.903534027771177
#: Root of sin(sqrt x) + sqrt(x) cos(sqrt x) / 2 near 421, to float64 precision.
_SCHWEFEL_OPTIMUM = 420.9687463599821

FUNCTIONS: dict[str, SyntheticFunction] = {
    "styblinski-tang": SyntheticFunction(
        "styblinski-tang", 5.0, _ST_OPTIMUM, _styblinski_tang,
        "1/2 sum(x^4 - 16 x^2 + 5 x) on [-5, 5]^d; f* = -39.16617 d at x_i = -2.903534; "
        "per coordinate a second, worse basin at +2.7468 (14.14 higher)"),
    "schwefel": SyntheticFunction(
        "schwefel", 500.0, _SCHWEFEL_OPTIMUM, _schwefel,
        "418.9829 d - sum(x sin(sqrt|x|)) on [-500, 500]^d; f* ~ 0 at x_i = 420.9687; "
        "per coordinate eight local minima, the next best about 119 higher"),
}


def get_function(name: str) -> SyntheticFunction:
    """The registered function ``name``; `UnknownNameError` lists the others."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise UnknownNameError("function", name, FUNCTIONS) from None


def list_functions() -> list[str]:
    return sorted(FUNCTIONS)


def wrong_basin_cost(function: SyntheticFunction) -> float:
    """How much higher the best local minimum that is not global lies, per coordinate (the
    least a run pays for one coordinate left in a wrong basin): found on a fine 1-d grid."""
    grid = np.linspace(-function.half_width, function.half_width, 200_001)
    values = function(grid[:, None])
    inner = (values[1:-1] < values[:-2]) & (values[1:-1] < values[2:])
    minima = np.sort(values[1:-1][inner])
    return float(minima[1] - minima[0]) if minima.size > 1 else math.inf
