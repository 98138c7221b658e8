"""Per-run seeds derived from the task alone, never from the worker or the schedule.

The data order (shuffling and augmentation) depends only on the table seed, so every
architecture of one seed sees the same sequence of batches (common random numbers, which the
fused trainer relies on); the weight initialisation depends on (seed, arch).

>>> data_seed(0) == data_seed(0), init_seed(0, 1) != init_seed(0, 2)
(True, True)
"""

from __future__ import annotations

import numpy as np

_DATA_STREAM = 0
_INIT_STREAM = 1


def _draw(seq: np.random.SeedSequence) -> int:
    return int(seq.generate_state(1, dtype=np.uint64)[0] & np.uint64(2**63 - 1))


def data_seed(seed: int) -> int:
    """Seed of the data-order generator of table seed ``seed``."""
    return _draw(np.random.SeedSequence(entropy=seed, spawn_key=(_DATA_STREAM,)))


def init_seed(seed: int, arch: int) -> int:
    """Seed of the weight initialisation (and drop-path masks) of run (arch, seed)."""
    return _draw(np.random.SeedSequence(entropy=seed, spawn_key=(_INIT_STREAM, arch)))
