"""The offline CIFAR-10 copy: one HDF5 file of JPEG bytes (how to get one: docs/datasets.md).

Groups ``/train`` and ``/test`` each hold ``jpeg_bytes`` (every image's JPEG file,
concatenated), ``offsets`` int64 ``[N + 1]`` and ``label`` uint8 ``[N]``; the root attrs hold
``classes`` (JSON), ``source``, ``note`` and ``format_version``. The images are a third party's
lossy JPEG re-encoding, so the returned ``RawDataset.note`` says so and numbers computed on it
must carry that label. The file is given as ``path`` (``--data-root``) or by
``$NASBENCH_CIFAR10_JPEG``; there is no default place.

Rows in the file are sorted by class. The loader interleaves them (row ``i`` of a split becomes
the ``i // 10``-th image of class ``i % 10`` when classes are balanced), so any prefix of the
rows, and in particular the first and second halves used by the search, is class-balanced as
in the official shuffled batches.

Decoding all 60,000 images takes a few seconds; the decoded arrays are cached as ``.npz``
under ``$XDG_CACHE_HOME/nasbench-tools`` (default ``~/.cache/nasbench-tools``), keyed by the
file's name, size and mtime. Pillow is needed (``pip install pillow``).

>>> from nasbench_tools.data.jpeg import load_cifar10_jpeg
>>> raw = load_cifar10_jpeg("cifar10-jpeg.h5")     # doctest: +SKIP
>>> raw.x_train.shape, raw.x_test.shape            # doctest: +SKIP
((50000, 32, 32, 3), (10000, 32, 32, 3))
"""

from __future__ import annotations

import io
import itertools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_tools.data.raw import RawDataset
from nasbench_tools.exceptions import ConfigError, DataNotFoundError, NasbenchError

JPEG_NOTE = "JPEG re-encoding of CIFAR-10, not the official release"
ENV_VAR = "NASBENCH_CIFAR10_JPEG"
_SPLITS = ("train", "test")


class MissingDependencyError(NasbenchError, ImportError):
    """An optional package (Pillow) that this loader needs is not installed."""


def resolve_jpeg_path(path: str | Path | None = None) -> Path:
    """The file to read: ``path``, else ``$NASBENCH_CIFAR10_JPEG``; nothing else is searched."""
    if path is None and os.environ.get(ENV_VAR):
        path = os.environ[ENV_VAR]
    if path is None:
        raise DataNotFoundError(
            f"no CIFAR-10 JPEG file given: pass --data-root FILE or set ${ENV_VAR}"
        )
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"CIFAR-10 JPEG file {str(p)!r} does not exist")
    return p


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_file(path: Path, *, with_bytes: bool) -> tuple[dict[str, str], dict[str, Any]]:
    """Root attrs as text, and per split ``(jpeg_bytes | None, offsets, label)``."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            attrs = {k: _text(v) for k, v in f.attrs.items()}
            splits: dict[str, Any] = {}
            for split in _SPLITS:
                if split not in f or not all(
                    k in f[split] for k in ("jpeg_bytes", "offsets", "label")
                ):
                    raise ConfigError(
                        f"CIFAR-10 JPEG file {str(path)!r}: expected group /{split} with "
                        "datasets jpeg_bytes, offsets and label"
                    )
                g = f[split]
                data = g["jpeg_bytes"][:] if with_bytes else None
                splits[split] = (data, g["offsets"][:], g["label"][:])
    except OSError as exc:
        raise ConfigError(f"CIFAR-10 JPEG file {str(path)!r} is not readable HDF5: {exc}") from None
    return attrs, splits


def _check_offsets(path: Path, split: str, n_bytes: int, offsets: np.ndarray, n: int) -> None:
    if offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != n_bytes:
        raise ConfigError(
            f"CIFAR-10 JPEG file {str(path)!r}: /{split}/offsets must be [N + 1] = [{n + 1}] "
            f"from 0 to {n_bytes}, got shape {offsets.shape}"
        )
    if np.any(np.diff(offsets) <= 0):
        raise ConfigError(f"CIFAR-10 JPEG file {str(path)!r}: /{split}/offsets is not increasing")


def _decode(path: Path, split: str, data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Decode every image of one split to uint8 ``[N, H, W, 3]``."""
    try:
        from PIL import Image
    except ImportError:
        raise MissingDependencyError(
            "reading the CIFAR-10 JPEG file needs Pillow: pip install pillow"
        ) from None
    _check_offsets(path, split, data.shape[0], offsets, offsets.shape[0] - 1)
    images = []
    for i, (a, b) in enumerate(itertools.pairwise(offsets)):
        try:
            with Image.open(io.BytesIO(data[a:b].tobytes())) as im:
                images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
        except OSError as exc:
            raise ConfigError(
                f"CIFAR-10 JPEG file {str(path)!r}: image {i} of /{split} does not decode: {exc}"
            ) from None
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ConfigError(f"CIFAR-10 JPEG file {str(path)!r}: /{split} mixes image sizes {shapes}")
    return np.stack(images) if images else np.zeros((0, 32, 32, 3), np.uint8)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nasbench-tools``, by default ``~/.cache/nasbench-tools``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nasbench-tools"


def _cache_file(path: Path, cache_dir: Path) -> Path:
    st = path.stat()
    return cache_dir / f"{path.stem}-{st.st_size}-{st.st_mtime_ns}.npz"


def _load_cache(file: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when absent or unreadable (then they are decoded again)."""
    try:
        with np.load(file, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError):
        return None


def _save_cache(file: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically; a cache that cannot be written is simply skipped."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, file)
    except OSError:
        return


def class_interleaved_order(labels: np.ndarray) -> np.ndarray:
    """Row order visiting the classes round-robin, keeping file order within each class."""
    by_class = np.argsort(labels, kind="stable")
    counts = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(labels.shape[0], dtype=np.int64)
    rank[by_class] = np.arange(labels.shape[0]) - starts[labels[by_class]]
    return np.lexsort((labels, rank))  # primary key: rank within class, then class


def _decoded_arrays(path: Path, cache: bool, cache_dir: Path | None) -> dict[str, np.ndarray]:
    cache_file = _cache_file(path, cache_dir or default_cache_dir()) if cache else None
    arrays = _load_cache(cache_file) if cache_file is not None else None
    expected = {f"{w}_{s}" for w in ("x", "y") for s in _SPLITS}
    if arrays is not None and set(arrays) == expected:
        return arrays
    _, splits = _read_file(path, with_bytes=True)
    arrays = {}
    for split, (data, offsets, label) in splits.items():
        arrays[f"x_{split}"] = _decode(path, split, data, offsets)
        arrays[f"y_{split}"] = np.asarray(label, dtype=np.int64)
    if cache_file is not None:
        _save_cache(cache_file, arrays)
    return arrays


def load_cifar10_jpeg(
    path: str | Path | None = None,
    *,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    interleave: bool = True,
) -> RawDataset:
    """The offline CIFAR-10 JPEG copy as a ``RawDataset`` (see the module docstring)."""
    p = resolve_jpeg_path(path)
    attrs, _ = _read_file(p, with_bytes=False)
    try:
        classes = tuple(str(c) for c in json.loads(attrs["classes"]))
    except (KeyError, ValueError, TypeError):
        msg = f"CIFAR-10 JPEG file {str(p)!r}: attr 'classes' is not a JSON list"
        raise ConfigError(msg) from None
    arrays = _decoded_arrays(p, cache, Path(cache_dir) if cache_dir is not None else None)
    for split in _SPLITS:
        if interleave:
            order = class_interleaved_order(arrays[f"y_{split}"])
            arrays[f"x_{split}"] = arrays[f"x_{split}"][order]
            arrays[f"y_{split}"] = arrays[f"y_{split}"][order]
    source = f"{p} (from {attrs['source']})" if "source" in attrs else str(p)
    note = JPEG_NOTE + ("; rows interleaved by class" if interleave else "; rows in file order")
    return RawDataset(
        name="cifar10-jpeg",
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        classes=classes,
        source=source,
        note=note,
    )
