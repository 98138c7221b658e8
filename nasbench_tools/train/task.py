"""`Task`: one (arch, seed) unit of a build (plain value, no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Task:
    """Train architecture ``arch`` (an id of the space) with table seed ``seed``."""

    arch: int
    seed: int
