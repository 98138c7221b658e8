"""`TableData`: the in-memory content of one table file, as a frozen value.

The builder produces it, ``hdf5.write_table`` stores it, ``hdf5.read_table`` loads it and
`Benchmark` queries it. Arrays are indexed ``[arch, seed, epoch]`` with arch = the space's id and
seed = position in ``seeds``.

The protocol is held as stored, ``protocol_record`` (a JSON-able mapping, what the writer stores
and merge checks compare); `protocol_from_record` turns it into the `Protocol` value that
`Benchmark.protocol` and `TableHeader.protocol` give.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasbench_tools.exceptions import ConfigError, TableFormatError
from nasbench_tools.protocol import Protocol
from nasbench_tools.spaces import CellSpace
from nasbench_tools.table.schema import STORED_METRICS, Metric, Status


@dataclass(frozen=True)
class TableData:
    """Everything a table file holds.

    ``metrics`` maps every stored `Metric` to a float32 array ``[arch, seed, epoch]`` (NaN =
    missing); ``status`` is int8 ``[arch, seed]`` with `Status` values; ``reasons`` holds a
    failure reason per (arch, seed) ("" when none); ``protocol_record`` is the stored protocol,
    the JSON-able dict of every training setting (tables made in memory for tests may hold a
    partial one); ``attrs`` is provenance (versions, device, split hash, times).
    """

    space: CellSpace
    dataset: str
    protocol_record: Mapping[str, Any]
    seeds: tuple[int, ...]
    epochs: int
    metrics: Mapping[Metric, np.ndarray]
    status: np.ndarray
    reasons: np.ndarray
    n_params: np.ndarray
    flops: np.ndarray
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (self.space.size, len(self.seeds), self.epochs)
        for m in STORED_METRICS:
            if m not in self.metrics:
                raise ValueError(f"TableData lacks metric {m.value}")
            if self.metrics[m].shape != shape:
                raise ValueError(f"metric {m.value} has shape {self.metrics[m].shape}, not {shape}")
        if self.status.shape != shape[:2] or self.reasons.shape != shape[:2]:
            raise ValueError(f"status/reasons must have shape {shape[:2]}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_archs, n_seeds, n_epochs)``."""
        return (self.space.size, len(self.seeds), self.epochs)

    @classmethod
    def empty(
        cls,
        space: CellSpace,
        dataset: str,
        protocol_record: Mapping[str, Any],
        seeds: tuple[int, ...],
        epochs: int,
        attrs: Mapping[str, Any] | None = None,
    ) -> TableData:
        """A table with every run pending and every value NaN."""
        shape = (space.size, len(seeds), epochs)
        return cls(
            space=space,
            dataset=dataset,
            protocol_record=dict(protocol_record),
            seeds=tuple(seeds),
            epochs=epochs,
            metrics={m: np.full(shape, np.nan, dtype=np.float32) for m in STORED_METRICS},
            status=np.full(shape[:2], Status.PENDING, dtype=np.int8),
            reasons=np.full(shape[:2], "", dtype=object),
            n_params=np.full(space.size, -1, dtype=np.int64),
            flops=np.full(space.size, -1, dtype=np.int64),
            attrs=dict(attrs or {}),
        )


def protocol_from_record(record: Mapping[str, Any], where: str) -> Protocol:
    """The `Protocol` a stored protocol record describes (fields added since it was stored at
    their defaults). A record that is no complete, valid protocol, such as the partial ones of
    tables made in memory for tests, raises `TableFormatError` naming ``where`` and the fault."""
    try:
        return Protocol.from_dict(record)
    except (ConfigError, TypeError) as exc:
        raise TableFormatError(f"{where}: the stored protocol is not a complete training "
                               f"protocol ({exc}); the stored mapping is protocol_record") from None


def content_sha256(metrics: Mapping[Metric, np.ndarray], status: np.ndarray) -> str:
    """SHA-256 over the deterministic metric arrays (file order) and the status array.

    Wall-clock times are left out, so two builds of the same table hash the same.
    """
    h = hashlib.sha256()
    for m in STORED_METRICS:
        if m.deterministic:
            arr = np.ascontiguousarray(metrics[m], dtype="<f4")
            arr = np.where(np.isnan(arr), np.float32(np.nan), arr)  # one NaN bit pattern
            h.update(m.value.encode())
            h.update(arr.tobytes())
    h.update(np.ascontiguousarray(status, dtype=np.int8).tobytes())
    return h.hexdigest()
