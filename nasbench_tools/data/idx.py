"""Reader for the IDX files of MNIST and Fashion-MNIST (plain or gzip-compressed).

IDX layout: two zero bytes, a type code (``0x08`` = uint8, ...), the number of dimensions,
then one big-endian int32 per dimension, then the values in C order, big-endian.

>>> from nasbench_tools.data.idx import read_idx
>>> images = read_idx("train-images-idx3-ubyte.gz", ndim=3)  # doctest: +SKIP
>>> images.shape                                            # doctest: +SKIP
(60000, 28, 28)
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from nasbench_tools.exceptions import ConfigError, DataNotFoundError

# type code -> big-endian numpy dtype
IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataNotFoundError(f"IDX file {str(path)!r} does not exist")
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise ConfigError(f"IDX file {str(path)!r} is not a readable gzip file: {exc}") from None


def parse_idx(data: bytes, *, where: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Decode the bytes of one IDX file into a native-endian array (shape from its header).

    ``ndim`` (if given) is the number of dimensions the caller expects. Raises ``ConfigError``,
    naming ``where``, on a bad magic number, an unknown type code or a size that does not match
    the header (a truncated or padded file).
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ConfigError(
            f"IDX file {where!r}: bad magic number {data[:4].hex() or '(empty)'}; "
            "expected two zero bytes, a type code and the number of dimensions"
        )
    code, nd = data[2], data[3]
    if code not in IDX_DTYPES:
        raise ConfigError(
            f"IDX file {where!r}: unknown type code 0x{code:02x}; "
            f"expected one of {', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}"
        )
    if ndim is not None and nd != ndim:
        raise ConfigError(f"IDX file {where!r}: has {nd} dimensions, expected {ndim}")
    header = 4 + 4 * nd
    if len(data) < header:
        raise ConfigError(
            f"IDX file {where!r}: truncated header ({len(data)} bytes, expected {header})"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=nd, offset=4))
    dtype = np.dtype(IDX_DTYPES[code])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "longer than its header says"
        raise ConfigError(
            f"IDX file {where!r}: {kind}: {len(data)} bytes, expected {expected} "
            f"for shape {dims} of {dtype.str}"
        )
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | Path, *, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (``.gz`` is decompressed); see ``parse_idx`` for the checks."""
    p = Path(path)
    return parse_idx(_read_bytes(p), where=str(p), ndim=ndim)
