"""DARTS (Liu et al., 2019): first or second order is the config's ``order`` (docs/methods.md)."""

from __future__ import annotations

from nasbench_tools.search.strategies.base import Strategy


class Darts(Strategy):
    name = "darts"
