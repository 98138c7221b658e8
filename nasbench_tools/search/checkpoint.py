"""Search checkpoints: the complete state of a search between two epochs, in one file.

After every epoch the engine writes the supernet and both optimisers, the random generators
and batch streams, DSCD's memory, the strategy (its eigenvalue history, DARTS-ADA's weight
decay and saved states) and the trace so far, atomically (temporary file, then
``os.replace``), so a search killed at any moment goes on from its last finished epoch and
gives the same trace as one that was never stopped. A checkpoint records what search wrote
it; one of another search is refused rather than continued. A checkpoint holds tensors and
plain containers only and is read with ``torch.load(..., weights_only=True)``: loading one
never runs code. Torch is imported only to read or write one.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_tools.exceptions import BuildMismatchError, TableFormatError
from nasbench_tools.search.loop import LoopState
from nasbench_tools.search.trace import EpochRecord

CHECKPOINT_VERSION = 2


def checkpoint_path(trace_path: str | Path) -> Path:
    """Where the checkpoint of the search that writes ``trace_path`` lives."""
    p = Path(trace_path)
    return p.with_name(p.name + ".ckpt")


def save_checkpoint(path: str | Path, key: dict[str, Any], payload: dict[str, Any]) -> None:
    import torch

    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        torch.save({"version": CHECKPOINT_VERSION, "key": key, **payload}, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state at ``path`` (None when there is none); refuses another search's."""
    import torch

    p = Path(path)
    if not p.exists():
        return None
    try:
        saved = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which, never continue it
        raise TableFormatError(f"checkpoint {str(p)!r} cannot be read ({type(exc).__name__}); "
                               "delete it to start the search afresh") from None
    if not isinstance(saved, dict) or saved.get("version") != CHECKPOINT_VERSION:
        raise TableFormatError(f"checkpoint {str(p)!r} is not a search checkpoint of version "
                               f"{CHECKPOINT_VERSION}; delete it to start afresh")
    if saved["key"] != key:
        differ = sorted(k for k in set(key) | set(saved["key"])
                        if key.get(k) != saved["key"].get(k))
        raise BuildMismatchError(f"checkpoint {str(p)!r} belongs to another search (it differs "
                                 f"in {', '.join(differ)}); delete it or choose another --out")
    return saved


#: Search settings added to the key after checkpoints existed, with the value that gives the
#: earlier behaviour (one thread; the standard memory layout; all of half B evaluated).
LATER_SETTINGS: dict[str, Any] = {"threads": 1, "memory_format": "contiguous",
                                  "eval_subset": None}


def search_key(method: str, seed: int, table_sha256: str, search: dict[str, Any],
               params: dict[str, Any]) -> dict[str, Any]:
    """What identifies a search for resuming: every setting that changes its numbers. The
    thread count is one (CPU kernels split their sums by thread, and the trajectory follows).
    Settings that joined the key later (`LATER_SETTINGS`) are left out at the value that
    computes what searches computed before, so that their checkpoints still resume."""
    settings = {k: v for k, v in search.items()
                if not (k in LATER_SETTINGS and v == LATER_SETTINGS[k])}
    return {"method": method, "seed": seed, "table": table_sha256,
            "search": json.loads(json.dumps(settings, sort_keys=True)),
            "params": json.loads(json.dumps(params, sort_keys=True))}


def loop_to_plain(state: LoopState) -> dict[str, Any]:
    """A `LoopState` as plain values and tensors (alphas and spectra become tensors)."""
    import torch

    records = []
    for r in state.records:
        row = dataclasses.asdict(r)
        row["alphas"] = torch.from_numpy(np.asarray(r.alphas, dtype=np.float64))
        row["spectrum"] = None if r.spectrum is None else torch.from_numpy(
            np.asarray(r.spectrum, dtype=np.float64))
        records.append(row)
    return {"records": records, "epoch": state.epoch, "iteration": state.iteration,
            "result_epoch": state.result_epoch}


def loop_from_plain(plain: dict[str, Any]) -> LoopState:
    records = []
    for row in plain["records"]:
        row = dict(row)
        row["alphas"] = row["alphas"].numpy()
        row["spectrum"] = None if row["spectrum"] is None else row["spectrum"].numpy()
        records.append(EpochRecord(**row))
    return LoopState(records=records, epoch=int(plain["epoch"]),
                     iteration=int(plain["iteration"]), result_epoch=plain["result_epoch"])
