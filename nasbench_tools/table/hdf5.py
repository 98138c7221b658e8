"""Reading and writing table files (HDF5, schema v1). The only module that imports h5py.

The layout is documented item by item in ``data/README.md``. Writes are atomic: the file is
written under a temporary name in the target directory, fsynced and then renamed over the
target, so a crash or an error never leaves a half-written table at ``path``::

    >>> from nasbench_tools.table.hdf5 import read_header, read_table, write_table
    >>> write_table(data, "data/t81-digits.h5")          # doctest: +SKIP
    >>> read_table("data/t81-digits.h5").shape           # doctest: +SKIP
    (81, 3, 20)
    >>> read_header("data/t81-digits.h5").dataset        # doctest: +SKIP
    'digits'
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench_tools.exceptions import DataNotFoundError, SchemaVersionError, TableFormatError
from nasbench_tools.protocol import Protocol
from nasbench_tools.spaces import CellSpace
from nasbench_tools.table.data import TableData, content_sha256, protocol_from_record
from nasbench_tools.table.schema import METRIC_DIMS, SCHEMA_VERSION, STORED_METRICS, Metric, Status

#: Root attributes that hold the table's structure; every other root attr is provenance.
STRUCTURAL_ATTRS = (
    "schema_version",
    "space",
    "dataset",
    "protocol",
    "seeds",
    "epochs",
    "content_sha256",
    "json_attrs",
)

STATUS_CODES = ", ".join(f"{s.value} {s.name.lower()}" for s in Status)

_UNITS = {"acc": "fraction", "loss": "nats", "time": "seconds"}


def metric_unit(metric: Metric) -> str:
    """Unit of a stored metric array: ``fraction``, ``nats`` or ``seconds``."""
    return _UNITS[metric.value.rsplit("_", 1)[1]]


# -- derived arrays (/final, /summary, /archs) ------------------------------------------------
@dataclass(frozen=True)
class DerivedArrays:
    """What ``/archs``, ``/final`` and ``/summary`` hold, all computable from a `TableData`.

    ``final_*`` are float32 ``[arch, seed]`` errors in percent at the last epoch (NaN where the
    run is not done); ``*_mean`` are float32 ``[arch]`` means over done seeds; ``argmin`` is -1
    and ``test_err_min`` NaN when no arch has a finite mean.
    """

    encoding: np.ndarray
    genotype: tuple[str, ...]
    final_valid_err: np.ndarray
    final_test_err: np.ndarray
    valid_err_mean: np.ndarray
    test_err_mean: np.ndarray
    test_err_min: float
    argmin: int
    content_sha256: str


def _final_err(data: TableData, metric: Metric) -> np.ndarray:
    acc = data.metrics[metric][:, :, -1].astype(np.float64)
    err = 100.0 * (1.0 - acc)
    return np.where(data.status == Status.DONE, err, np.nan).astype(np.float32)


def _nanmean_seeds(final: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, as wanted
        return np.nanmean(final.astype(np.float64), axis=1).astype(np.float32)


def encodings(space: CellSpace) -> np.ndarray:
    """uint8 ``[arch, edge]`` as stored in ``/archs/encoding`` (`CellSpace.encodings`)."""
    return space.encodings()


def derive(data: TableData) -> DerivedArrays:
    """Compute the arrays that are stored besides ``/metrics`` and ``/status``."""
    valid = _final_err(data, Metric.VALID_ACC)
    test = _final_err(data, Metric.TEST_ACC)
    test_mean = _nanmean_seeds(test)
    finite = np.isfinite(test_mean)
    argmin = int(np.flatnonzero(finite)[np.argmin(test_mean[finite])]) if finite.any() else -1
    return DerivedArrays(
        encoding=encodings(data.space),
        genotype=tuple(data.space.genotype(a) for a in data.space.archs()),
        final_valid_err=valid,
        final_test_err=test,
        valid_err_mean=_nanmean_seeds(valid),
        test_err_mean=test_mean,
        test_err_min=float(test_mean[argmin]) if argmin >= 0 else float("nan"),
        argmin=argmin,
        content_sha256=content_sha256(data.metrics, data.status),
    )


# -- writing ----------------------------------------------------------------------------------
def write_table(data: TableData, path: str | Path) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, ``os.replace``)."""
    _atomic_write(path, lambda f: _write_contents(f, data))


def _atomic_write(path: str | Path, fill: Callable[[h5py.File], None]) -> None:
    """Create an HDF5 file with ``fill`` under a temporary name, fsync it, rename it over
    ``path``; on any error the temporary file is removed and ``path`` is untouched."""
    target = Path(path)
    if not target.parent.is_dir():
        raise DataNotFoundError(f"output directory {str(target.parent)!r} does not exist")
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    try:
        with h5py.File(tmp, "w") as f:
            fill(f)
            f.flush()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)


def write_arrays(path: str | Path, arrays: Mapping[str, np.ndarray],
                 attrs: Mapping[str, str | int | float]) -> None:
    """Atomically write named arrays (``"group/name"`` paths; string arrays as vlen UTF-8) and
    root attributes: the generic container used by search traces."""

    def fill(f: h5py.File) -> None:
        for key, value in attrs.items():
            f.attrs[key] = str(value) if isinstance(value, str) else value
        for name, arr in arrays.items():
            a = np.asarray(arr)
            if a.dtype.kind in "OU":
                f.create_dataset(name, data=a.astype(object), dtype=h5py.string_dtype())
            else:
                f.create_dataset(name, data=a)

    _atomic_write(path, fill)


def read_arrays(path: str | Path, what: str = "table"
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Inverse of `write_arrays`: every dataset (by path) and the root attributes. ``what``
    names the kind of file in errors."""
    with _open(path, what) as f:
        attrs = {k: _scalar(v) for k, v in f.attrs.items()}
        arrays: dict[str, np.ndarray] = {}

        def visit(name: str, obj: object) -> None:
            if isinstance(obj, h5py.Dataset):
                if h5py.check_string_dtype(obj.dtype) is not None:
                    arrays[name] = obj.asstr()[...].astype(object)
                else:
                    arrays[name] = obj[...]

        f.visititems(visit)
    return arrays, attrs


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_contents(f: h5py.File, data: TableData) -> None:
    derived = derive(data)
    _write_root_attrs(f, data, derived.content_sha256)
    strings = h5py.string_dtype()
    archs = f.create_group("archs")
    archs.create_dataset("encoding", data=derived.encoding)
    archs.create_dataset("genotype", data=list(derived.genotype), dtype=strings)
    archs.create_dataset("n_params", data=np.asarray(data.n_params, dtype=np.int64))
    archs.create_dataset("flops", data=np.asarray(data.flops, dtype=np.int64))
    _write_metrics(f, data)
    final = f.create_group("final")
    final.create_dataset("valid_err", data=derived.final_valid_err)
    final.create_dataset("test_err", data=derived.final_test_err)
    summary = f.create_group("summary")
    summary.create_dataset("valid_err_mean", data=derived.valid_err_mean)
    summary.create_dataset("test_err_mean", data=derived.test_err_mean)
    summary.attrs["test_err_min"] = np.float32(derived.test_err_min)
    summary.attrs["argmin"] = np.int64(derived.argmin)
    status = f.create_dataset("status", data=np.asarray(data.status, dtype=np.int8))
    status.attrs["codes"] = STATUS_CODES
    reasons = np.array([str(r) for r in np.asarray(data.reasons).ravel()], dtype=object)
    f.create_dataset("status_reason", data=reasons.reshape(data.status.shape), dtype=strings)


def _write_metrics(f: h5py.File, data: TableData) -> None:
    group = f.create_group("metrics")
    for m in STORED_METRICS:
        arr = np.asarray(data.metrics[m], dtype=np.float32)
        opts: dict[str, Any] = {}
        if arr.size:  # HDF5 cannot chunk (hence compress) an empty dataset
            opts = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
        ds = group.create_dataset(m.value, data=arr, **opts)
        ds.attrs["dims"] = ",".join(METRIC_DIMS)
        ds.attrs["unit"] = metric_unit(m)


def _write_root_attrs(f: h5py.File, data: TableData, digest: str) -> None:
    clash = sorted(set(data.attrs) & set(STRUCTURAL_ATTRS))
    if clash:
        raise ValueError(f"TableData.attrs may not use the reserved names {clash}")
    f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
    f.attrs["space"] = data.space.to_json()
    f.attrs["dataset"] = str(data.dataset)
    f.attrs["protocol"] = json.dumps(dict(data.protocol_record), sort_keys=True)
    f.attrs["seeds"] = np.asarray(data.seeds, dtype=np.int64)
    f.attrs["epochs"] = np.int64(data.epochs)
    f.attrs["content_sha256"] = digest
    as_json = []
    for key, value in data.attrs.items():
        if isinstance(value, str):  # str subclasses (e.g. torch's version string) as plain str
            f.attrs[key] = str(value)
        elif isinstance(value, int | float | bool | np.integer | np.floating | np.bool_):
            f.attrs[key] = value
        else:
            f.attrs[key] = json.dumps(value, sort_keys=True)
            as_json.append(key)
    f.attrs["json_attrs"] = json.dumps(sorted(as_json))


# -- reading ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _open(path: str | Path, what: str = "table") -> Iterator[h5py.File]:
    """Open a table (or another file of ours: ``what`` names it) read-only, turning every
    low-level failure into a one-line error."""
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError(f"{what} file {str(p)!r} does not exist")
    if not p.is_file():
        raise TableFormatError(f"{what} file {str(p)!r} is not a regular file")
    if not h5py.is_hdf5(p):
        raise TableFormatError(f"{what} file {str(p)!r} is not an HDF5 file")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise TableFormatError(f"{what} file {str(p)!r} is truncated or corrupt ({exc})") from None
    try:
        with f:
            yield f
    except TableFormatError:
        raise
    except KeyError as exc:
        raise TableFormatError(f"{what} file {str(p)!r} lacks {exc.args[0]}") from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise TableFormatError(f"{what} file {str(p)!r} is truncated or corrupt ({exc})") from None


def _scalar(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attr(f: h5py.File | h5py.Group, name: str) -> Any:
    if name not in f.attrs:
        raise KeyError(f"attribute {name!r} on {f.name}")
    return _scalar(f.attrs[name])


def _dataset(f: h5py.File, name: str) -> h5py.Dataset:
    obj = f.get(name)
    if not isinstance(obj, h5py.Dataset):
        raise KeyError(f"dataset {name}")
    return obj


def _json_attr(f: h5py.File, name: str, path: str | Path) -> Any:
    try:
        return json.loads(_attr(f, name))
    except (TypeError, ValueError):
        raise TableFormatError(
            f"table file {str(path)!r}: attribute {name!r} is not JSON"
        ) from None


def _header(f: h5py.File, path: str | Path, check_version: bool) -> dict[str, Any]:
    version = _attr(f, "schema_version")
    if check_version and version != SCHEMA_VERSION:
        raise SchemaVersionError(
            f"table file {str(path)!r} has schema version {version}; "
            f"this code reads version {SCHEMA_VERSION}"
        )
    as_json = set(_json_attr(f, "json_attrs", path)) if "json_attrs" in f.attrs else set()
    header: dict[str, Any] = {
        "schema_version": version,
        "space": _json_attr(f, "space", path),
        "dataset": str(_attr(f, "dataset")),
        "protocol": _json_attr(f, "protocol", path),
        "seeds": tuple(int(s) for s in np.atleast_1d(_attr(f, "seeds"))),
        "epochs": int(_attr(f, "epochs")),
        "content_sha256": str(_attr(f, "content_sha256")),
    }
    for key in f.attrs:
        if key not in STRUCTURAL_ATTRS:
            header[key] = _json_attr(f, key, path) if key in as_json else _attr(f, key)
    return header


@dataclass(frozen=True)
class TableHeader:
    """A table's root attributes, decoded: what `read_header` returns. ``space`` and
    ``protocol_record`` are the stored dicts (as in `TableData`); ``attrs`` holds every other
    attribute (provenance). ``protocol`` is the `Protocol` value, as `Benchmark.protocol`."""

    schema_version: int
    space: Mapping[str, Any]
    dataset: str
    protocol_record: Mapping[str, Any]
    seeds: tuple[int, ...]
    epochs: int
    content_sha256: str
    attrs: Mapping[str, Any]

    @property
    def protocol(self) -> Protocol:
        """The stored protocol as a value; `TableFormatError` when it is not a complete one."""
        return protocol_from_record(self.protocol_record, f"header of a {self.dataset!r} table")


def read_header(path: str | Path, *, check_version: bool = True) -> TableHeader:
    """The root attributes, decoded. Cheap: no array is read. With ``check_version=False`` a
    table of another schema version is described instead of refused."""
    with _open(path) as f:
        h = _header(f, path, check_version)
    fields = ("schema_version", "space", "dataset", "seeds", "epochs", "content_sha256")
    return TableHeader(**{k: h.pop(k) for k in fields}, protocol_record=h.pop("protocol"),
                       attrs=h)


def read_table(path: str | Path) -> TableData:
    """Load a whole table into memory, refusing files that are not schema v1 tables."""
    with _open(path) as f:
        header = _header(f, path, check_version=True)
        try:
            space = CellSpace.from_dict(header["space"])
        except ValueError as exc:  # ConfigError and friends
            raise TableFormatError(f"table file {str(path)!r}: bad space ({exc})") from None
        metrics = {m: _dataset(f, f"metrics/{m.value}")[()] for m in STORED_METRICS}
        reasons = np.asarray(_dataset(f, "status_reason").asstr()[()], dtype=object)
        fields = dict(
            space=space,
            dataset=header.pop("dataset"),
            protocol_record=header.pop("protocol"),
            seeds=header.pop("seeds"),
            epochs=header.pop("epochs"),
            metrics=metrics,
            status=_dataset(f, "status")[()].astype(np.int8),
            reasons=reasons,
            n_params=_dataset(f, "archs/n_params")[()].astype(np.int64),
            flops=_dataset(f, "archs/flops")[()].astype(np.int64),
        )
    attrs = {k: v for k, v in header.items() if k not in STRUCTURAL_ATTRS}
    try:
        return TableData(**fields, attrs=attrs)
    except ValueError as exc:
        raise TableFormatError(f"table file {str(path)!r}: {exc}") from None


def read_stored_derived(path: str | Path) -> DerivedArrays:
    """The ``/archs``, ``/final`` and ``/summary`` arrays and the hash as stored in a file.

    `validate_table` compares them with `derive` of the loaded data.
    """
    with _open(path) as f:
        summary = f.get("summary")
        if not isinstance(summary, h5py.Group):
            raise KeyError("group /summary")
        return DerivedArrays(
            encoding=_dataset(f, "archs/encoding")[()],
            genotype=tuple(_dataset(f, "archs/genotype").asstr()[()]),
            final_valid_err=_dataset(f, "final/valid_err")[()],
            final_test_err=_dataset(f, "final/test_err")[()],
            valid_err_mean=_dataset(f, "summary/valid_err_mean")[()],
            test_err_mean=_dataset(f, "summary/test_err_mean")[()],
            test_err_min=float(_attr(summary, "test_err_min")),
            argmin=int(_attr(summary, "argmin")),
            content_sha256=str(_attr(f, "content_sha256")),
        )
