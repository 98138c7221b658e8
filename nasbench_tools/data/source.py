"""Where a table's images come from: the dataset, its seeded split, the split's provenance, and
the tensors on the compute device (one dataset per process, reused across its tasks).

    spec = SplitSpec("digits", n_valid=300, n_test=500)
    load_split(spec).sha256()            # what a table records, to check data against it
    data = device_data(spec, "cpu")      # DeviceData: train / valid / test tensors

Loading and splitting are numpy only; `device_data` imports torch when called. `SplitSpec` is
defined in `nasbench_tools.protocol` (beside `Protocol`, whose ``split`` it is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nasbench_tools.data.loaders import load_dataset
from nasbench_tools.data.raw import RawDataset
from nasbench_tools.data.splits import SplitIndices, make_split
from nasbench_tools.protocol import SplitSpec  # defined beside `Protocol`; importable from here

if TYPE_CHECKING:
    import torch

    from nasbench_tools.data.device import DeviceData


# One dataset per worker process, reused across its tasks (loading and moving data to the
# device costs more than training a tiny network for an epoch).
_DATA_CACHE: dict[tuple[Any, ...], DeviceData] = {}


def raw_and_split(spec: SplitSpec, data_root: str | None = None
                  ) -> tuple[RawDataset, SplitIndices]:
    raw = load_dataset(spec.dataset, data_root)
    split = make_split(raw, n_valid=spec.n_valid, n_test=spec.n_test, n_train=spec.n_train,
                       seed=spec.split_seed)
    return raw, split


def load_split(spec: SplitSpec, *, data_root: str | None = None) -> SplitIndices:
    """The split indices (cheap to call in the parent for provenance)."""
    return raw_and_split(spec, data_root)[1]


def data_provenance(spec: SplitSpec, *, data_root: str | None = None) -> dict[str, str]:
    """What a table records about its data: the split's hash, where the images were read
    from, and any caveat that must travel with the numbers (e.g. a lossy JPEG re-encoding)."""
    raw, split = raw_and_split(spec, data_root)
    out = {"split_sha256": split.sha256(), "data_source": raw.source}
    if raw.note:
        out["data_note"] = raw.note
    return out


def device_data(spec: SplitSpec, device: str, *, dtype: torch.dtype | None = None,
                data_root: str | None = None) -> DeviceData:
    """The split dataset as tensors of ``dtype`` (float32 by default) on ``device``, cached:
    one dataset per process."""
    import torch

    from nasbench_tools.data.device import to_device

    dtype = dtype or torch.float32
    key = (spec, data_root, str(device), dtype)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        raw, split = raw_and_split(spec, data_root)
        _DATA_CACHE[key] = to_device(raw, split, device=device, dtype=dtype)
    return _DATA_CACHE[key]
