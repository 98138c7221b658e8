"""Append-only build journal: one JSON line per event, flushed and fsynced.

The parent process is its only writer. Lines are a header (what is being built), ``start``
records (a task was handed to a worker: status running) and ``result`` records (done or failed,
with every per-epoch curve). A build killed at any point leaves at worst one torn last line,
which is dropped on reopening; every result before it is kept, so a restart never recomputes a
finished run.

    journal = Journal.open("data/t81-digits.h5.journal", header)
    journal.append_start([task])
    journal.append_result(result)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from nasbench_tools.exceptions import BuildMismatchError, TableFormatError
from nasbench_tools.spaces.space import without_description
from nasbench_tools.table.schema import STORED_METRICS, Metric, Status
from nasbench_tools.train.protocol import Protocol
from nasbench_tools.train.result import RunResult
from nasbench_tools.train.task import Task

JOURNAL_KIND = "nasbench-tools build journal"
JOURNAL_VERSION = 1


class Journal:
    """An open journal: the results recorded so far plus an append handle."""

    def __init__(self, path: Path, header: Mapping[str, Any], handle: TextIO) -> None:
        self.path = path
        self.header = dict(header)
        self.results: dict[tuple[int, int], RunResult] = {}
        self.events: list[tuple[str, int, int]] = []  # (type, arch, seed), in file order
        self._handle = handle

    @classmethod
    def open(cls, path: str | Path, header: Mapping[str, Any]) -> Journal:
        """Open (creating if needed) and check that an existing journal has the same header."""
        path = Path(path)
        header = {"kind": JOURNAL_KIND, "version": JOURNAL_VERSION, **header}
        if path.exists() and path.stat().st_size > 0:
            lines, good_bytes = _read_lines(path)
            if not lines or lines[0].get("kind") != JOURNAL_KIND:
                raise TableFormatError(f"{str(path)!r} is not a nasbench-tools build journal")
            _check_header(path, lines[0], header)
            with open(path, "r+b") as raw:  # drop a torn last line left by a kill
                raw.truncate(good_bytes)
            journal = cls(path, header, open(path, "a", encoding="utf-8"))
            for rec in lines[1:]:
                journal._replay(rec)
            return journal
        journal = cls(path, header, open(path, "w", encoding="utf-8"))
        journal._write(header)
        return journal

    def _replay(self, rec: Mapping[str, Any]) -> None:
        key = (int(rec["arch"]), int(rec["seed"]))
        self.events.append((str(rec["type"]), *key))
        if rec["type"] == "result":
            self.results[key] = decode_result(rec)

    def _write(self, rec: Mapping[str, Any]) -> None:
        self._handle.write(json.dumps(rec, allow_nan=False, separators=(",", ":")) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def append_start(self, tasks: Iterable[Task]) -> None:
        for t in tasks:
            self._write({"type": "start", "arch": t.arch, "seed": t.seed})
            self.events.append(("start", t.arch, t.seed))

    def append_result(self, result: RunResult) -> None:
        self._write(encode_result(result))
        self.events.append(("result", result.arch, result.seed))
        self.results[result.key] = result

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_lines(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Parsed complete lines and the byte length they span (a torn tail is left out)."""
    data = path.read_bytes()
    records, good = [], 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
        good += len(line)
    return records, good


def _check_header(path: Path, found: Mapping[str, Any], wanted: Mapping[str, Any]) -> None:
    found = {**found, "space": without_description(found.get("space"))}
    if isinstance(found.get("protocol"), Mapping):  # a journal of an older version
        found = {**found, "protocol": Protocol.canonical(found["protocol"])}
    differing = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
    if differing:
        raise BuildMismatchError(
            f"{str(path)!r} belongs to a build with different {', '.join(differing)}; "
            "use another --out or remove the old journal and table"
        )


def _encode_curve(a: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in a.astype(np.float32).tolist()]


def encode_result(r: RunResult) -> dict[str, Any]:
    return {
        "type": "result",
        "arch": r.arch,
        "seed": r.seed,
        "status": Status(r.status).name.lower(),
        "reason": r.reason,
        "n_params": r.n_params,
        "flops": r.flops,
        "device": r.device,
        "metrics": {m.value: _encode_curve(r.metrics[m]) for m in STORED_METRICS},
    }


def decode_result(rec: Mapping[str, Any]) -> RunResult:
    metrics = {
        Metric(name): np.array([np.nan if v is None else v for v in values], dtype=np.float32)
        for name, values in rec["metrics"].items()
    }
    return RunResult(arch=int(rec["arch"]), seed=int(rec["seed"]),
                     status=Status[str(rec["status"]).upper()], metrics=metrics,
                     n_params=int(rec["n_params"]), flops=int(rec["flops"]),
                     reason=str(rec.get("reason", "")), device=str(rec.get("device", "cpu")))
