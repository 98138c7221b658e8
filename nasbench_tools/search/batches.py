"""Endless reshuffled batches and the seeded generators of a search (its data streams).

A `BatchStream` is DARTS's reshuffling loader as one iterator that is never rebuilt: a fresh
permutation per pass, the remainder of a pass dropped; its position is part of a search's
state, so a resumed search draws the same batches.
"""

from __future__ import annotations

import torch
from torch import Tensor


class BatchStream:
    """Endless batches of indices into ``n`` items: a fresh permutation per pass, the remainder
    of a pass dropped (DARTS's reshuffling loader, as one iterator that is never rebuilt)."""

    def __init__(self, n: int, batch: int, generator: torch.Generator) -> None:
        self.n, self.batch, self.gen = n, min(batch, n), generator
        self.perm = torch.empty(0, dtype=torch.long, device=generator.device)
        self.pos = 0

    def next(self) -> Tensor:
        if self.pos + self.batch > len(self.perm):
            self.perm = torch.randperm(self.n, generator=self.gen, device=self.gen.device)
            self.pos = 0
        out = self.perm[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return out

    def state(self) -> tuple[Tensor, int]:
        return self.perm.clone(), self.pos

    def set_state(self, state: tuple[Tensor, int]) -> None:
        self.perm, self.pos = state[0].clone(), state[1]


def generator(device: torch.device, seed: int) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def stream_to(stream_state: tuple[Tensor, int], device: torch.device) -> tuple[Tensor, int]:
    return stream_state[0].to(device), stream_state[1]
